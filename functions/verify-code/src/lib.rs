//! verify-code: `POST /mfa/verify`, a security code against a sign-in challenge, and
//! `POST /mfa/reauthenticate`, a fresh code for a live session.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use shared::clock::rfc3339;
use shared::flows::{sessions, verify};
use shared::http::{JsonBody, bearer, finish};
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/mfa/verify", post(verify_code))
            .route("/mfa/reauthenticate", post(reauthenticate))
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

#[derive(Deserialize)]
struct ReauthenticateBody {
    code: String,
}

/// `POST /mfa/reauthenticate {"code"}` with the session: sensitive administration is allowed for
/// the next 10 minutes.
async fn reauthenticate(
    State(app): State<App>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReauthenticateBody>,
) -> Result<Response, Error> {
    let session = sessions::authenticate(&app, bearer(&headers)).await?;
    verify::reauthenticate(&app, &session, &req.code).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "status": "reauthenticated", "valid_for": sessions::RECENT_CODE_SECS }),
    ))
}
