//! verify-code: `POST /mfa/verify`, a security code against a sign-in challenge, and
//! `POST /mfa/reauthenticate`, a fresh code for a live session.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use shared::clock::rfc3339;
use shared::flows::{oidc, sessions, verify};
use shared::http::{Caller, JsonBody, bearer, finish, session_cookie};
use shared::policy::MfaState;
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

/// A correct code signs in: the session cookie is set, and when the sign-in was for a site
/// (the challenge carries its authorization), `redirect_to` sends the browser back with a code.
async fn verify_code(
    State(app): State<App>,
    caller: Caller,
    JsonBody(req): JsonBody<CodeSubmission>,
) -> Result<Response, Error> {
    let verified = verify::verify_code(&app, &req.challenge, &req.code).await?;
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let amr = shared::oidc::amr(MfaState::Verified, None);
    let done = oidc::SignInDone {
        username: &verified.username,
        kind: verified.kind,
        mfa: MfaState::Verified,
        amr: &amr,
        auth_time: verified.auth_time,
        session: &verified.session,
    };
    let redirect =
        oidc::after_sign_in(&app, verified.authorization.as_deref(), &done, &issuer).await?;
    let mut body = json!({
        "status": "signed_in",
        "session": verified.session,
        "expires_at": rfc3339(verified.expires_at),
    });
    if let Some(to) = redirect {
        body["redirect_to"] = json!(to);
    }
    let mut response = shared::http::json(StatusCode::OK, body);
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(&verified.session, app.config.session_max_secs),
    );
    Ok(response)
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
