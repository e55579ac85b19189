//! The HTTP edge shared by the four functions: the one mapping from `Error` to status and JSON,
//! body extraction with the contract's 400/413 answers, and the headers every answer carries.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::Error;

/// A response's own `Cache-Control` (public metadata such as discovery and keys); everything
/// else gets `no-store`.
#[derive(Clone, Debug)]
pub struct CacheControl(pub HeaderValue);

/// Requests here are a few hundred bytes; anything much larger is refused unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::BadRequest { .. }
            | Error::InvalidGrant(_)
            | Error::UnauthorizedClient
            | Error::UnsupportedGrantType(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::InvalidCredentials
            | Error::InvalidChallenge
            | Error::InvalidCode { .. }
            | Error::InvalidPasskey { .. }
            | Error::Unauthenticated
            | Error::InvalidToken
            | Error::InvalidClient => StatusCode::UNAUTHORIZED,
            Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::AlreadyEnrolled
            | Error::NoEmailOnFile(_)
            | Error::OrgEmailRequired
            | Error::NoAdminCanEnrol
            | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::SetupLinkExpired | Error::LinkExpired => StatusCode::GONE,
            Error::Forbidden
            | Error::PasskeyRequired
            | Error::ReauthenticationRequired
            | Error::SocialSignInDisabled
            | Error::IdpMfaRequired => StatusCode::FORBIDDEN,
            Error::EmailUnavailable(_) | Error::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match &self {
            Error::Unavailable { context } => tracing::error!(%context, "dependency failed"),
            Error::Internal(context) => tracing::error!(%context, "internal error"),
            _ => {}
        }
        let mut body = json!({ "error": self.code(), "message": self.to_string() });
        match &self {
            Error::InvalidCode { attempts_left } | Error::InvalidPasskey { attempts_left } => {
                body["attempts_left"] = json!(attempts_left)
            }
            Error::Throttled { retry_after_secs } => body["retry_after"] = json!(retry_after_secs),
            Error::NoEmailOnFile(problem) => body["reason"] = json!(problem.as_str()),
            // RFC 6749 section 5.2 names the description field.
            Error::InvalidGrant(_)
            | Error::InvalidClient
            | Error::UnauthorizedClient
            | Error::UnsupportedGrantType(_) => body["error_description"] = json!(self.to_string()),
            _ => {}
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Error::Throttled { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        // RFC 6749 section 5.2: a failed client authentication names the scheme to use.
        if let Error::InvalidClient = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}

/// A JSON 200 (or other status) answer.
pub fn json(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A JSON request body, sent as `application/json`; the errors are the contract's.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        // Only JSON declared as such: an HTML form on another site can send text/plain shaped like
        // JSON without a CORS preflight, and these routes set the session cookie (login CSRF).
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Error::bad_request(
                "invalid_request",
                "Send the body as JSON, with Content-Type: application/json.",
            ));
        }
        let bytes = read_body(req, state).await?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let message = match e.classify() {
                serde_json::error::Category::Data => {
                    format!("The request body is not as expected: {e}.")
                }
                _ => "The request body is not valid JSON.".into(),
            };
            Error::bad_request("invalid_request", message)
        })
    }
}

/// A form-encoded body (`application/x-www-form-urlencoded`), as OAuth 2.0 clients send.
pub struct FormBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = read_body(req, state).await?;
        serde_urlencoded_from_bytes(&bytes).map(FormBody)
    }
}

fn serde_urlencoded_from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{}", String::from_utf8_lossy(bytes))
            .parse()
            .map_err(|_| Error::bad_request("invalid_request", "The form body is malformed."))?,
    )
    .map(|q| q.0)
    .map_err(|_| {
        Error::bad_request(
            "invalid_request",
            "The form body is missing a field or malformed.",
        )
    })
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else {
            Error::bad_request("invalid_request", "The request body could not be read.")
        }
    })
}

/// Who is calling, as API Gateway saw it: the source address from `requestContext.http.sourceIp`
/// (never a header the client sets, such as `X-Forwarded-For`) and the request's host.
#[derive(Clone, Debug)]
pub struct Caller {
    pub address: String,
    /// `https://<domain>` of the API as API Gateway names it.
    pub api_base: Option<String>,
}

/// Without a request context (a handler called outside Lambda) every caller is one address.
const NO_ADDRESS: &str = "unknown";

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        use lambda_http::request::RequestContext;
        let (address, api_base) = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(c)) => (
                c.http.source_ip.clone(),
                c.domain_name.as_ref().map(|d| format!("https://{d}")),
            ),
            _ => (None, None),
        };
        Ok(Caller {
            address: address
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| NO_ADDRESS.into()),
            api_base,
        })
    }
}

/// The sign-in session cookie: `__Host-` (Secure, Path=/, no Domain: host-only), HttpOnly (no
/// script reads it), SameSite=Lax (sent on a site's top-level redirect to `/authorize`, not on
/// another site's form posts or fetches).
pub const SESSION_COOKIE: &str = "__Host-mfa_session";

/// `Set-Cookie` for a new sign-in session, living as long as the session can.
pub fn session_cookie(token: &str, max_age_secs: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Lax"
    ))
    .unwrap_or_else(|_| clear_session_cookie())
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-mfa_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
    )
}

/// The value of the cookie `name`, if the browser sent one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The session token from the session cookie, if the browser sent one.
pub fn cookie_session(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// CSRF defence for state-changing requests authenticated by the cookie: the browser's `Origin`
/// (or, without one, `Sec-Fetch-Site`) must say the request comes from our own pages.
pub fn same_origin(headers: &HeaderMap, issuer: &str) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == issuer,
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|s| s == "same-origin"),
    }
}

/// The session a request carries: `Authorization: Bearer`, or else the session cookie. A request
/// that changes something (`change`) with the cookie must come from our own pages (CSRF): the
/// cookie rides along with any site's request.
pub async fn session_of(
    app: &crate::App,
    caller: &Caller,
    headers: &HeaderMap,
    change: bool,
) -> Result<crate::flows::sessions::ActiveSession, Error> {
    let token = match bearer(headers) {
        Some(token) => Some(token),
        None => {
            let cookie = cookie_session(headers).ok_or(Error::Unauthenticated)?;
            if change && !same_origin(headers, &app.issuer(caller.api_base.as_deref())?) {
                return Err(Error::Forbidden);
            }
            Some(cookie)
        }
    };
    crate::flows::sessions::authenticate(app, token).await
}

/// The session token from `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The `client_id` and `client_secret` of `Authorization: Basic` (RFC 6749 2.3.1: each
/// form-urlencoded before base64).
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded = data_encoding::BASE64.decode(encoded.as_bytes()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// An HTML page with a strict Content-Security-Policy.
pub fn html(page: String, csp: &str) -> Response {
    let mut response = (StatusCode::OK, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// Finishes a function's router: JSON 404 and 405, the body limit, security headers and one
/// structured log line per request.
pub fn finish(router: Router) -> Router {
    router
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(edge))
}

/// The Lambda function's name, as Lambda sets it; `local` outside Lambda and `cargo lambda watch`
/// (a metric's dimension is never empty).
fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "local".into())
    })
}

/// Headers on every answer: auth answers are never cached by a browser or a proxy (unless a
/// route says otherwise), never sniffed, never framed, and never pass a URL on as a Referer.
pub(crate) fn secure_headers(response: &mut Response) {
    let cache = response
        .extensions()
        .get::<CacheControl>()
        .map(|c| c.0.clone())
        .unwrap_or(HeaderValue::from_static("no-store"));
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, cache);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Setup links carry a token in the query: never send it on as a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Counts an answer made before any router exists (a cold start still waiting for its keys answers
/// 503 until Secrets Manager answers): every answer has its request line, so the alarms on server
/// errors and failing dependencies see these too. Route `unready`.
pub(crate) fn count_unrouted(
    method: &str,
    request_id: &str,
    status: u16,
    started: std::time::Instant,
) {
    let done = crate::metrics::RequestDone {
        function: function_name(),
        method,
        route: "unready",
        status,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        request_id,
    };
    crate::metrics::emit(&crate::metrics::request_line(
        &done,
        crate::clock::Clock::system().now_ms(),
    ));
}

async fn edge(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let request_id = req
        .extensions()
        .get::<lambda_http::Context>()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    // Audit entries name where the request came from: API Gateway's view of the caller, never a
    // header the caller sets (X-Forwarded-For), but the User-Agent it sent, bounded.
    let (source, user_agent) = match req
        .extensions()
        .get::<lambda_http::request::RequestContext>()
    {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => (
            c.http.source_ip.clone().unwrap_or_default(),
            c.http.user_agent.clone(),
        ),
        _ => (String::new(), None),
    };
    let user_agent = user_agent
        .or_else(|| {
            req.headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let origin = crate::origin::Origin::new(&source, &user_agent, &request_id);
    let mut response = origin.scope(next.run(req)).await;
    secure_headers(&mut response);
    // The request's log line, in CloudWatch's embedded metric format: requests, server errors,
    // dependency failures and latency by function, at no AWS call.
    let done = crate::metrics::RequestDone {
        function: function_name(),
        method: method.as_str(),
        route: &route,
        status: response.status().as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        request_id: &request_id,
    };
    crate::metrics::emit(&crate::metrics::request_line(
        &done,
        crate::clock::Clock::system().now_ms(),
    ));
    response
}
