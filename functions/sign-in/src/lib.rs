//! sign-in: `GET /sign-in` (the page), `POST /sign-in`, `POST /sign-in/federated`, `POST /token`,
//! `GET /session`,
//! `POST /sign-out`. Each handler parses, calls a shared flow, and answers.

mod page;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use shared::clock::rfc3339;
use shared::flows::sign_in::{self, SignIn};
use shared::flows::{federated, sessions};
use shared::http::{Caller, FormBody, JsonBody, bearer, finish};
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/sign-in", get(page::sign_in_page).post(password_sign_in))
            .route("/sign-in/federated", post(federated_sign_in))
            .route("/token", post(token))
            .route("/session", get(session))
            .route("/sign-out", post(sign_out))
            .with_state(app),
    )
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn password_sign_in(
    State(app): State<App>,
    caller: Caller,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, Error> {
    let body =
        match sign_in::password_sign_in(&app, &c.username, &c.password, &caller.address).await? {
            SignIn::SignedIn {
                session,
                expires_at,
            } => json!({
                "status": "signed_in",
                "session": session,
                "expires_at": rfc3339(expires_at),
            }),
            SignIn::MfaRequired {
                challenge,
                expires_at,
                enrolled,
                setup_email_to,
            } => json!({
                "status": "mfa_required",
                "challenge": challenge,
                "expires_at": rfc3339(expires_at),
                "enrolled": enrolled,
                "setup_email_to": setup_email_to,
            }),
        };
    Ok(shared::http::json(StatusCode::OK, body))
}

/// RFC 6749 section 4.3.2: `grant_type=password&username=..&password=..`, form-encoded.
#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    username: String,
    password: String,
}

async fn token(
    State(app): State<App>,
    caller: Caller,
    FormBody(req): FormBody<TokenRequest>,
) -> Result<Response, Error> {
    if req.grant_type != "password" {
        return Err(Error::UnsupportedGrantType(
            "Only grant_type=password is supported.".into(),
        ));
    }
    let grant = sign_in::token_grant(&app, &req.username, &req.password, &caller.address).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": grant.expires_in,
        }),
    ))
}

async fn session(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    let s = sessions::authenticate(&app, bearer(&headers)).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "username": s.username,
            "kind": s.kind.as_str(),
            "mfa": s.mfa.as_str(),
            "expires_at": rfc3339(s.expires_at),
        }),
    ))
}

async fn sign_out(State(app): State<App>, headers: HeaderMap) -> Result<StatusCode, Error> {
    sessions::end(&app, bearer(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct FederatedBody {
    provider: String,
    id_token: String,
}

async fn federated_sign_in(
    State(app): State<App>,
    JsonBody(req): JsonBody<FederatedBody>,
) -> Result<Response, Error> {
    let done = federated::federated_sign_in(&app, &req.provider, &req.id_token).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "status": "signed_in",
            "session": done.session,
            "expires_at": rfc3339(done.expires_at),
            "mfa": done.mfa.as_str(),
        }),
    ))
}
