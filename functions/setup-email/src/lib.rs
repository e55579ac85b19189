//! setup-email: `POST /mfa/setup-email` (the "I don't have a security code" mail),
//! `GET /mfa/setup` (the page its link opens) and `POST /mfa/setup/key` (the key that page shows);
//! `POST /mfa/setup/replace` (a new app's mail, from the account page) and `POST /mfa/setup/confirm`
//! (a code from the new app, on its setup page).

mod page;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use shared::flows::setup;
use shared::http::{Caller, JsonBody, finish};
use shared::totp::{DIGITS, PERIOD, grouped};
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/mfa/setup-email", post(send_setup_email))
            .route("/mfa/setup", get(page::setup_page))
            .route("/mfa/setup/key", post(setup_key))
            .route("/mfa/setup/replace", post(replace_app))
            .route("/mfa/setup/confirm", post(confirm_new_app))
            .with_state(app),
    )
}

/// A sign-in challenge's, or none: then the caller's session asks (signed in without a code
/// while MFA is off), by `Authorization: Bearer` or by the cookie from this origin.
#[derive(Deserialize)]
struct SetupMailBody {
    challenge: Option<String>,
}

async fn send_setup_email(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SetupMailBody>,
) -> Result<Response, Error> {
    let session;
    let asker = match req.challenge.as_deref() {
        Some(challenge) => setup::Asker::Challenge(challenge),
        None => {
            // With the cookie, only from this origin: it rides along with any site's request.
            session = shared::http::session_of(&app, &caller, &headers, true).await?;
            setup::Asker::Session(&session)
        }
    };
    let sent = setup::send_setup_email(&app, asker, caller.api_base.as_deref()).await?;
    Ok(shared::http::json(
        StatusCode::ACCEPTED,
        json!({ "status": "sent", "sent_to": sent.sent_to }),
    ))
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn setup_key(
    State(app): State<App>,
    JsonBody(req): JsonBody<TokenBody>,
) -> Result<Response, Error> {
    let key = setup::setup_key(&app, &req.token).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "otpauth_uri": key.otpauth_uri,
            "secret_grouped": grouped(&key.secret),
            "secret": key.secret,
            "qr_svg": key.qr_svg,
            "issuer": key.issuer,
            "account_name": key.account_name,
            "confirm_here": key.confirm_here,
            "digits": DIGITS,
            "period": PERIOD,
            "algorithm": "SHA1",
        }),
    ))
}

/// `POST /mfa/setup/replace` with the session: the setup mail for a new app, beside the active one
/// (the account page's "Replace your app"; the cookie only from this origin).
async fn replace_app(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = shared::http::session_of(&app, &caller, &headers, true).await?;
    let sent = setup::replace_app(&app, &session, caller.api_base.as_deref()).await?;
    Ok(shared::http::json(
        StatusCode::ACCEPTED,
        json!({ "status": "sent", "sent_to": sent.sent_to }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    token: String,
    code: String,
}

/// `POST /mfa/setup/confirm`: a code from the new app behind a replacement link puts it in the old
/// app's place; every session of the account ends.
async fn confirm_new_app(
    State(app): State<App>,
    JsonBody(req): JsonBody<ConfirmBody>,
) -> Result<Response, Error> {
    setup::confirm_new_app(&app, &req.token, &req.code).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "status": "confirmed", "message": "Your new app is set up, and your old one no longer works. Every session of your account has ended: sign in again with a code from the new app." }),
    ))
}
