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
use shared::http::{Caller, JsonBody, finish, session_cookie, session_of};
use shared::policy::MfaState;
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/mfa/verify", post(verify_code))
            .route("/mfa/reauthenticate", post(reauthenticate))
            .route(
                "/mfa/recovery-codes",
                axum::routing::get(recovery_standing).post(new_recovery_codes),
            )
            .with_state(app),
    )
}

/// The code step: a code from the app, or one of the user's recovery codes (exactly one).
#[derive(Deserialize)]
struct CodeSubmission {
    challenge: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// A correct code signs in: the session cookie is set, and when the sign-in was for a site
/// (the challenge carries its authorization), `redirect_to` sends the browser back with a code.
async fn verify_code(
    State(app): State<App>,
    caller: Caller,
    JsonBody(req): JsonBody<CodeSubmission>,
) -> Result<Response, Error> {
    let given = match (&req.code, &req.recovery_code) {
        (Some(code), None) => verify::Given::Code(code),
        (None, Some(code)) => verify::Given::RecoveryCode(code),
        _ => {
            return Err(Error::bad_request(
                "invalid_request",
                "Give either code or recovery_code.",
            ));
        }
    };
    let verified = verify::verify_code(&app, &req.challenge, given).await?;
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let done = oidc::SignInDone {
        username: &verified.username,
        kind: verified.kind,
        mfa: MfaState::Verified,
        amr: &verified.amr,
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
    if let Some(left) = verified.recovery_codes_left {
        body["recovery_codes_left"] = json!(left);
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
    caller: Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReauthenticateBody>,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, true).await?;
    verify::reauthenticate(&app, &session, &req.code).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "status": "reauthenticated", "valid_for": sessions::RECENT_CODE_SECS }),
    ))
}

/// `POST /mfa/recovery-codes` with the session, a code from the last 10 minutes given: a new set
/// of ten, shown this once; the earlier set stops working.
async fn new_recovery_codes(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, true).await?;
    let codes = shared::flows::recovery::create(&app, &session).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "codes": codes }),
    ))
}

/// `GET /mfa/recovery-codes` with the session: how many are left, and since when.
async fn recovery_standing(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, false).await?;
    let s = shared::flows::recovery::standing(&app, &session).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "remaining": s.remaining, "created_at": s.created_at.map(rfc3339) }),
    ))
}
