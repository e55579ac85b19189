//! verify-code: `POST /mfa/verify`, a security code (or a recovery code, or a passkey) against a
//! sign-in challenge; `POST /mfa/reauthenticate`, a fresh code for a live session; recovery codes;
//! and passkeys (`/mfa/passkey/start` at the code step, `/mfa/passkeys` on the account page).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use shared::clock::rfc3339;
use shared::flows::{oidc, passkeys, sessions, verify};
use shared::http::{Caller, JsonBody, finish, session_cookie, session_of};
use shared::passkey;
use shared::policy::MfaState;
use shared::store::settings::DEFAULT_ISSUER;
use shared::{App, Error};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/mfa/verify", post(verify_code))
            .route("/mfa/reauthenticate", post(reauthenticate))
            .route(
                "/mfa/recovery-codes",
                axum::routing::get(recovery_standing).post(new_recovery_codes),
            )
            .route("/mfa/passkey/start", post(passkey_sign_in_start))
            .route("/mfa/passkeys", axum::routing::get(list_passkeys))
            .route("/mfa/passkeys/register/start", post(register_start))
            .route("/mfa/passkeys/register/finish", post(register_finish))
            .route("/mfa/passkeys/{id}", axum::routing::delete(remove_passkey))
            .with_state(app),
    )
}

/// The code step: a code from the app, one of the user's recovery codes, or a passkey's
/// assertion (exactly one).
#[derive(Deserialize)]
struct CodeSubmission {
    challenge: String,
    code: Option<String>,
    recovery_code: Option<String>,
    passkey: Option<PublicKeyCredential>,
}

/// A correct code signs in: the session cookie is set, and when the sign-in was for a site
/// (the challenge carries its authorization), `redirect_to` sends the browser back with a code.
async fn verify_code(
    State(app): State<App>,
    caller: Caller,
    JsonBody(req): JsonBody<CodeSubmission>,
) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let check;
    let given = match (&req.code, &req.recovery_code, &req.passkey) {
        (Some(code), None, None) => verify::Given::Code(code),
        (None, Some(code), None) => verify::Given::RecoveryCode(code),
        (None, None, Some(credential)) => {
            let rp = passkey::relying_party(&issuer, DEFAULT_ISSUER)?;
            check = move |state: &str, keys: &[passkey::StoredPasskey]| {
                passkey::check_assertion(&rp, state, keys, credential)
            };
            verify::Given::Passkey {
                check: &check,
                backup_eligible: passkey::claimed_backup_eligible(credential),
            }
        }
        _ => {
            return Err(Error::bad_request(
                "invalid_request",
                "Give one of code, recovery_code or passkey.",
            ));
        }
    };
    let verified = verify::verify_code(&app, &req.challenge, given).await?;
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

#[derive(Deserialize)]
struct PasskeyStart {
    challenge: String,
}

/// `POST /mfa/passkey/start {"challenge"}`: the request options for signing in with one of the
/// challenge's account's passkeys.
async fn passkey_sign_in_start(
    State(app): State<App>,
    caller: Caller,
    JsonBody(req): JsonBody<PasskeyStart>,
) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let options = passkeys::sign_in_start(&app, &req.challenge, &issuer).await?;
    Ok(shared::http::json(StatusCode::OK, options))
}

/// `GET /mfa/passkeys` with the session: the account's passkeys.
async fn list_passkeys(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, false).await?;
    let list = passkeys::list(&app, &session).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "passkeys": list }),
    ))
}

/// `POST /mfa/passkeys/register/start` with the session, a code from the last 10 minutes given:
/// the creation options for a new passkey.
async fn register_start(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, true).await?;
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let options = passkeys::register_start(&app, &session, &issuer).await?;
    Ok(shared::http::json(StatusCode::OK, options))
}

#[derive(Deserialize)]
struct RegisterFinish {
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// `POST /mfa/passkeys/register/finish {"name","credential"}` with the session that started it.
async fn register_finish(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<RegisterFinish>,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, true).await?;
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let added =
        passkeys::register_finish(&app, &session, &issuer, &req.name, &req.credential).await?;
    Ok(shared::http::json(StatusCode::CREATED, json!(added)))
}

/// `DELETE /mfa/passkeys/{id}` with the session, a code from the last 10 minutes given.
async fn remove_passkey(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, Error> {
    let session = session_of(&app, &caller, &headers, true).await?;
    passkeys::remove(&app, &session, &id).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "status": "removed" }),
    ))
}
