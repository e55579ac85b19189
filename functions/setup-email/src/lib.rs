//! setup-email: `POST /mfa/setup-email` (the "I don't have a security code" mail),
//! `GET /mfa/setup` (the page its link opens) and `POST /mfa/setup/key` (the key that page shows).

mod page;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use shared::flows::{sessions, setup};
use shared::http::{Caller, JsonBody, bearer, cookie_session, finish, same_origin};
use shared::totp::{DIGITS, PERIOD, grouped};
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/mfa/setup-email", post(send_setup_email))
            .route("/mfa/setup", get(page::setup_page))
            .route("/mfa/setup/key", post(setup_key))
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
            let token = match bearer(&headers) {
                Some(token) => Some(token),
                None => {
                    let cookie = cookie_session(&headers).ok_or(Error::Unauthenticated)?;
                    // A cookie rides along with any site's request: only this origin's count.
                    if !same_origin(&headers, &app.issuer(caller.api_base.as_deref())?) {
                        return Err(Error::Forbidden);
                    }
                    Some(cookie)
                }
            };
            session = sessions::authenticate(&app, token).await?;
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
            "digits": DIGITS,
            "period": PERIOD,
            "algorithm": "SHA1",
        }),
    ))
}
