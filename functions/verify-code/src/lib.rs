//! verify-code: `POST /mfa/verify`, a security code against a sign-in challenge.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use shared::clock::rfc3339;
use shared::flows::verify;
use shared::http::{JsonBody, finish};
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/mfa/verify", post(verify_code))
            .with_state(app),
    )
}

#[derive(Deserialize)]
struct CodeSubmission {
    challenge: String,
    code: String,
}

async fn verify_code(
    State(app): State<App>,
    JsonBody(req): JsonBody<CodeSubmission>,
) -> Result<Response, Error> {
    let verified = verify::verify_code(&app, &req.challenge, &req.code).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "status": "signed_in",
            "session": verified.session,
            "expires_at": rfc3339(verified.expires_at),
        }),
    ))
}
