//! sign-in: `GET /` (to the sign-in page), `GET /sign-in` (the page), `POST /sign-in`, `POST /sign-in/federated`,
//! `GET /sign-in/sites`, `GET /session`, `POST /sign-out`. Each handler parses, calls a shared
//! flow, and answers. A completed sign-in sets the session cookie and, when a site asked for it
//! (`authorization`), answers with `redirect_to`: the site's redirect with a code.

mod page;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::clock::rfc3339;
use shared::flows::sign_in::{self, SignIn};
use shared::flows::{federated, oidc, sessions};
use shared::http::{
    Caller, JsonBody, bearer, clear_session_cookie, cookie_session, finish, same_origin,
    session_cookie,
};
use shared::policy::MfaState;
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/", get(front_door))
            .route("/sign-in", get(sign_in_page).post(password_sign_in))
            .route("/sign-in/federated", post(federated_sign_in))
            .route("/sign-in/federated/nonce", post(federated_nonce))
            .route("/sign-in/federated/{id}", get(federated_start))
            .route("/sign-in/federated/{id}/callback", get(federated_callback))
            .route("/sign-in/sites", get(sites))
            .route("/openapi.json", get(openapi))
            .route("/password/forgot", post(password_forgot))
            .route("/password/reset", get(password_page).post(password_reset))
            .route("/session", get(session))
            .route("/sign-out", post(sign_out))
            .route("/account", get(account_page))
            .route("/help", get(help_page))
            .route("/account/sign-out-everywhere", post(sign_out_everywhere))
            .route("/account/password", post(change_password))
            .with_state(app),
    )
}

/// `/`: people who type the service's address land on the sign-in page.
async fn front_door() -> Response {
    let mut r = axum::response::IntoResponse::into_response(StatusCode::SEE_OTHER);
    r.headers_mut().insert(
        header::LOCATION,
        axum::http::HeaderValue::from_static("/sign-in"),
    );
    r
}

#[derive(Deserialize)]
struct PageQuery {
    authorization: Option<String>,
    login_hint: Option<String>,
}

async fn sign_in_page(
    State(app): State<App>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(q) = query
        .map_err(|_| Error::bad_request("invalid_request", "The query string is malformed."))?;
    let site = q
        .authorization
        .as_deref()
        .and_then(|id| oidc::pending_site(&app, id));
    // A button per provider that can be signed in through (discovery configured).
    let authorization = oidc::valid_authorization(&app, q.authorization.as_deref());
    let buttons: Vec<(String, String)> = app
        .store
        .list_providers()
        .await?
        .into_iter()
        .filter(|p| p.endpoints.is_some())
        .map(|p| {
            let mut href = format!("/sign-in/federated/{}", p.id);
            if let Some(a) = &authorization {
                href = format!("{href}?authorization={a}");
            }
            (href, p.display_name)
        })
        .collect();
    Ok(page::sign_in_page(
        site.as_deref(),
        q.login_hint.as_deref(),
        &buttons,
    ))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    authorization: Option<String>,
}

/// A signed-in answer: the JSON (with `redirect_to` when a site is waiting) and the cookie.
fn signed_in(app: &App, session: &str, mut body: Value, redirect_to: Option<String>) -> Response {
    if let Some(to) = redirect_to {
        body["redirect_to"] = json!(to);
    }
    let mut response = shared::http::json(StatusCode::OK, body);
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(session, app.config.session_max_secs),
    );
    response
}

async fn password_sign_in(
    State(app): State<App>,
    caller: Caller,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, Error> {
    let authorization = oidc::valid_authorization(&app, c.authorization.as_deref());
    let outcome = sign_in::password_sign_in(
        &app,
        &c.username,
        &c.password,
        &caller.address,
        authorization.as_deref(),
    )
    .await?;
    match outcome {
        SignIn::SignedIn {
            session,
            expires_at,
            username,
            kind,
            auth_time,
            mfa_from,
        } => {
            let issuer = app.issuer(caller.api_base.as_deref())?;
            let amr = shared::oidc::amr(MfaState::NotRequired, None);
            let done = oidc::SignInDone {
                username: &username,
                kind,
                mfa: MfaState::NotRequired,
                amr: &amr,
                auth_time,
                session: &session,
            };
            let redirect =
                oidc::after_sign_in(&app, authorization.as_deref(), &done, &issuer).await?;
            let mut body = json!({
                "status": "signed_in",
                "session": session,
                "expires_at": rfc3339(expires_at),
            });
            if let Some(at) = mfa_from {
                body["mfa_from"] = json!(rfc3339(at));
            }
            Ok(signed_in(&app, &session, body, redirect))
        }
        SignIn::MfaRequired {
            challenge,
            expires_at,
            enrolled,
            setup_email_to,
            passkey,
            passkey_required,
        } => Ok(shared::http::json(
            StatusCode::OK,
            json!({
                "status": "mfa_required",
                "challenge": challenge,
                "expires_at": rfc3339(expires_at),
                "enrolled": enrolled,
                "setup_email_to": setup_email_to,
                "passkey": passkey,
                "passkey_required": passkey_required,
            }),
        )),
    }
}

/// The session of a request: `Authorization: Bearer` (a session token, or one of our access
/// tokens), else the session cookie.
async fn any_session(
    app: &App,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<sessions::ActiveSession, Error> {
    match bearer(headers) {
        Some(token) if token.contains('.') => {
            let issuer = app.issuer(caller.api_base.as_deref())?;
            Ok(oidc::access_token_session(app, token, &issuer).await?.1)
        }
        Some(token) => sessions::authenticate(app, Some(token)).await,
        None => sessions::authenticate(app, cookie_session(headers)).await,
    }
}

async fn session(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = any_session(&app, &caller, &headers).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "username": s.username,
            "kind": s.kind.as_str(),
            "mfa": s.mfa.as_str(),
            "amr": s.amr,
            "expires_at": rfc3339(s.expires_at),
        }),
    ))
}

/// Ends the session. With the cookie (no bearer), only a request from our own pages may: a
/// cross-site form cannot sign anyone out (CSRF).
async fn sign_out(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    if bearer(&headers).is_none() {
        if cookie_session(&headers).is_none() {
            return Err(Error::Unauthenticated);
        }
        if !same_origin(&headers, &app.issuer(caller.api_base.as_deref())?) {
            return Err(Error::Forbidden);
        }
    }
    let s = any_session(&app, &caller, &headers).await?;
    sessions::end_by_hash(&app, &s).await?;
    let mut response = axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT);
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

/// The organisation's sites (clients with a home URL), for a signed-in user.
async fn sites(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    any_session(&app, &caller, &headers).await?;
    let (clients, settings) = tokio::try_join!(app.store.list_clients(), app.store.get_settings())?;
    let sites: Vec<Value> = clients
        .into_iter()
        .filter_map(|c| {
            c.home_url
                .map(|home| json!({ "client_id": c.id, "name": c.name, "home_url": home }))
        })
        .collect();
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "org_name": settings.org_name, "sites": sites }),
    ))
}

#[derive(Deserialize)]
struct FederatedBody {
    provider: String,
    id_token: String,
    authorization: Option<String>,
}

async fn federated_sign_in(
    State(app): State<App>,
    caller: Caller,
    JsonBody(req): JsonBody<FederatedBody>,
) -> Result<Response, Error> {
    let done = federated::federated_sign_in(&app, &req.provider, &req.id_token).await?;
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let authorization = oidc::valid_authorization(&app, req.authorization.as_deref());
    let redirect =
        oidc::after_sign_in(&app, authorization.as_deref(), &done.signed_in(), &issuer).await?;
    let body = json!({
        "status": "signed_in",
        "session": done.session,
        "expires_at": rfc3339(done.expires_at),
        "mfa": done.mfa.as_str(),
    });
    Ok(signed_in(&app, &done.session, body, redirect))
}

#[derive(Deserialize)]
struct NonceBody {
    provider: String,
}

/// A nonce for a raw ID token: the token must carry it, once.
async fn federated_nonce(
    State(app): State<App>,
    JsonBody(req): JsonBody<NonceBody>,
) -> Result<Response, Error> {
    let (nonce, expires_at) = federated::issue_nonce(&app, &req.provider).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "nonce": nonce, "expires_at": rfc3339(expires_at) }),
    ))
}

#[derive(Deserialize)]
struct StartQuery {
    authorization: Option<String>,
}

/// The binding cookie of a federated sign-in: the callback must come back to this browser.
const BINDING_COOKIE: &str = "__Host-mfa_federated";

async fn federated_start(
    State(app): State<App>,
    caller: Caller,
    id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let axum::extract::Path(id) = id.map_err(|_| Error::NotFound)?;
    let Query(q) = query
        .map_err(|_| Error::bad_request("invalid_request", "The query string is malformed."))?;
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let authorization = oidc::valid_authorization(&app, q.authorization.as_deref());
    let started = match federated::start(&app, &id, authorization, &issuer).await {
        Ok(s) => s,
        Err(Error::InvalidToken | Error::NotFound) => {
            return Ok(page::problem("There is no such way to sign in.", 404));
        }
        Err(e) => return Err(e),
    };
    let mut response = redirect(&started.redirect);
    let cookie = format!(
        "{BINDING_COOKIE}={}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Lax",
        started.binding,
        federated::STATE_SECS
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

fn redirect(to: &str) -> Response {
    let mut r = axum::response::IntoResponse::into_response(StatusCode::FOUND);
    if let Ok(v) = axum::http::HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The provider sends the browser back here. Signed in: the session cookie, then the site that was
/// waiting (with a code) or our own page. Refused: a page that says why and what to do instead.
async fn federated_callback(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<federated::CallbackParams>, QueryRejection>,
) -> Result<Response, Error> {
    let axum::extract::Path(id) = id.map_err(|_| Error::NotFound)?;
    let Query(params) = query.unwrap_or_default();
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let binding = shared::http::cookie(&headers, BINDING_COOKIE);
    let done = match federated::callback(&app, &id, &params, binding, &issuer).await {
        Ok(done) => done,
        Err(Error::SocialSignInDisabled) => {
            return Ok(page::problem(
                "Staff must sign in with their username, password and security code while multi-factor authentication is on. Sign in with your username and password instead.",
                403,
            ));
        }
        Err(Error::IdpMfaRequired) => {
            return Ok(page::problem(
                "Your organisation's sign-in did not confirm multi-factor authentication. Sign in there again with it, or sign in with your username, password and security code.",
                403,
            ));
        }
        Err(Error::InvalidToken) => {
            return Ok(page::problem(
                "This sign-in could not be completed (it expired, was already used, or the provider's answer could not be verified). Start again.",
                401,
            ));
        }
        Err(e) => return Err(e),
    };
    let s = &done.sign_in;
    let to = oidc::after_sign_in(&app, done.authorization.as_deref(), &s.signed_in(), &issuer)
        .await?
        .unwrap_or_else(|| format!("{issuer}/sign-in"));
    let mut response = redirect(&to);
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        session_cookie(&s.session, app.config.session_max_secs),
    );
    headers.append(
        header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "__Host-mfa_federated=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct ForgotBody {
    username: String,
}

/// `POST /password/forgot`: 202 alike whether or not the account exists.
async fn password_forgot(
    State(app): State<App>,
    caller: Caller,
    JsonBody(req): JsonBody<ForgotBody>,
) -> Result<Response, Error> {
    let base = app.issuer(caller.api_base.as_deref())?;
    shared::flows::passwords::forgot(&app, &req.username, &caller.address, &base).await?;
    Ok(shared::http::json(
        StatusCode::ACCEPTED,
        json!({ "status": "accepted", "message": "If an account has that username, a link to reset its password is on its way to the email address on file." }),
    ))
}

#[derive(Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

/// The page a reset or invitation link opens. Reading it consumes nothing.
async fn password_page(
    State(app): State<App>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    match shared::flows::passwords::link_info(&app, &token).await {
        Ok(info) => Ok(page::password_page(
            &info.link.username,
            info.code_required,
            info.invite,
        )),
        Err(Error::LinkExpired) => Ok(page::problem(
            "This link has expired or was already used. On the sign-in page, choose \"Forgot your password?\" for a new one.",
            410,
        )),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    password: String,
    code: Option<String>,
}

async fn password_reset(
    State(app): State<App>,
    JsonBody(req): JsonBody<ResetBody>,
) -> Result<Response, Error> {
    shared::flows::passwords::reset(&app, &req.token, &req.password, req.code.as_deref()).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "status": "password_set", "message": "Your password is set. Sign in with it." }),
    ))
}

/// The OpenAPI 3.1 description of every route (kept beside the code; a test checks it against
/// the routers, template.yaml and the local router).
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    let mut r = axum::response::IntoResponse::into_response(OPENAPI);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

/// `GET /help`: help with signing in, for staff (docs/staff-help.md).
async fn help_page() -> Response {
    page::help_page()
}

/// `GET /account`: the signed-in user's own page (its script asks the routes below, with the
/// session cookie).
async fn account_page() -> Response {
    page::account_page()
}

/// `POST /account/sign-out-everywhere` with the session: every session of the account ends, this
/// one too (from our own pages only, with the cookie).
async fn sign_out_everywhere(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = shared::http::session_of(&app, &caller, &headers, true).await?;
    shared::flows::account::sign_out_everywhere(&app, &session).await?;
    let mut response = axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT);
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /account/password` with the session: a new password, given the current one (and a code
/// from the last 10 minutes, for an account with an app). Every session of the account ends,
/// this one too, so the cookie goes.
async fn change_password(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<JsonBody<PasswordChange>, Error>,
) -> Result<Response, Error> {
    let session = shared::http::session_of(&app, &caller, &headers, true).await?;
    let JsonBody(c) = body?;
    shared::flows::account::change_password(
        &app,
        &session,
        &c.current_password,
        &c.new_password,
        &caller.address,
    )
    .await?;
    let mut response = shared::http::json(
        StatusCode::OK,
        json!({ "status": "password_changed", "message": "Your password is changed, and every session of your account has ended: sign in again with the new one." }),
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}
