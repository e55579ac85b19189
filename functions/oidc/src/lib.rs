//! oidc: the OpenID Connect provider's endpoints. `GET /.well-known/openid-configuration`,
//! `GET /jwks.json`, `GET`/`POST /authorize`, `POST /token`, `GET`/`POST /userinfo`,
//! `GET`/`POST /end-session`. The rules are in `shared::oidc` and `shared::flows::oidc`.

mod page;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::flows::oidc::{self, Authorize, EndSession, EndSessionParams, TokenForm};
use shared::http::{
    Caller, FormBody, basic_credentials, bearer, clear_session_cookie, cookie_session, finish,
    same_origin,
};
use shared::oidc::AuthorizeParams;
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .route("/authorize", get(authorize).post(authorize_form))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", get(userinfo).post(userinfo))
            .route("/end-session", get(end_session).post(confirm_end_session))
            .with_state(app),
    )
}

/// Public metadata: caches may keep it a little (the edge sets `no-store` on everything else).
fn public_json(value: serde_json::Value, max_age: u32) -> Response {
    let mut r = shared::http::json(StatusCode::OK, value);
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        r.extensions_mut().insert(shared::http::CacheControl(v));
    }
    r
}

async fn discovery(State(app): State<App>, caller: Caller) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    Ok(public_json(oidc::discovery(&issuer), 3600))
}

/// Every published key. Kept briefly by caches: a rotation publishes the next key hours ahead.
async fn jwks(State(app): State<App>) -> Result<Response, Error> {
    let ring = app.key_ring().await?;
    Ok(public_json(ring.jwks(app.now()), 300))
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn authorize(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Result<Response, Error> {
    // A query that does not even parse cannot be trusted to name a redirect: a page.
    let Ok(Query(params)) = query else {
        return Ok(page::error("The sign-in request is malformed."));
    };
    authorize_with(&app, &caller, &headers, &params).await
}

/// OIDC Core 3.1.2.1: the authorization endpoint takes the same parameters as a form POST.
async fn authorize_form(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    form: Result<axum::extract::Form<AuthorizeParams>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Error> {
    let Ok(axum::extract::Form(params)) = form else {
        return Ok(page::error("The sign-in request is malformed."));
    };
    authorize_with(&app, &caller, &headers, &params).await
}

async fn authorize_with(
    app: &App,
    caller: &Caller,
    headers: &HeaderMap,
    params: &AuthorizeParams,
) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    match oidc::authorize(app, params, cookie_session(headers), &issuer).await? {
        Authorize::Redirect(to) => Ok(redirect(&to)),
        Authorize::Page(why) => Ok(page::error(why)),
    }
}

async fn token(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let tokens = oidc::token(
        &app,
        &form,
        basic_credentials(&headers),
        &issuer,
        &caller.address,
    )
    .await?;
    let mut r = shared::http::json(StatusCode::OK, serde_json::json!(tokens));
    // RFC 6749 5.1.
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(r)
}

async fn userinfo(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let info = match bearer(&headers) {
        Some(token) => oidc::userinfo(&app, token, &issuer).await,
        None => Err(Error::Unauthenticated),
    };
    match info {
        Ok(info) => Ok(shared::http::json(StatusCode::OK, info)),
        // RFC 6750 3.1: the scheme, and why.
        Err(Error::Unauthenticated) => {
            let mut r = Error::Unauthenticated.into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn end_session(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<EndSessionParams>, QueryRejection>,
) -> Result<Response, Error> {
    let Ok(Query(params)) = query else {
        return Ok(page::error("The sign-out request is malformed."));
    };
    let issuer = app.issuer(caller.api_base.as_deref())?;
    let outcome = oidc::end_session(&app, &params, cookie_session(&headers), &issuer).await?;
    let mut response = match outcome {
        EndSession::Redirect(to) => redirect(&to),
        EndSession::SignedOut => page::signed_out(),
        EndSession::Confirm => return Ok(page::confirm_sign_out()),
        EndSession::Refused(why) => return Ok(page::error(why)),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

/// The confirmation page's button: the cookie's session ends, if the form came from our page.
async fn confirm_end_session(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let issuer = app.issuer(caller.api_base.as_deref())?;
    if !same_origin(&headers, &issuer) {
        return Err(Error::Forbidden);
    }
    oidc::end_cookie_session(&app, cookie_session(&headers)).await?;
    let mut response = page::signed_out();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}
