//! The one HTTP client for calls to identity providers (discovery, keys, code exchange): hyper with
//! rustls on ring, the TLS stack the AWS clients already use, and Mozilla's root certificates
//! compiled in (`webpki-roots`): the system's trust store (some 300 files) is never read, which
//! took 3 ms of every cold start. It is built on first use, not at start-up: only the
//! relying-party routes call a provider. Every call is bounded in time and in size, so a provider that hangs or
//! answers 50 MB never holds a function past its timeout or its memory.

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::{Error, Result};

/// A whole call, connect to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest answer read: discovery documents and key sets are a few KB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

#[derive(Clone)]
pub struct Outbound {
    /// Built by the first call that needs it (shared by every clone).
    client: std::sync::Arc<std::sync::OnceLock<HttpsClient>>,
    /// Whether a provider may live on this machine: only for a local stack (our own issuer on
    /// loopback). Deployed, a discovery document naming `http://127.0.0.1:9001` (the Lambda
    /// Runtime API) or any other loopback address is refused: no server-side request forgery.
    allow_loopback: bool,
}

impl Outbound {
    pub fn new(allow_loopback: bool) -> Outbound {
        Outbound {
            client: std::sync::Arc::default(),
            allow_loopback,
        }
    }

    /// The client, built on the first call.
    fn client(&self) -> Result<&HttpsClient> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| Error::Internal(format!("TLS: {e}")))?
            // Plain http is refused before any call unless the host is loopback (`is_fetchable`).
            .https_or_http()
            .enable_http1()
            .build();
        // Two first calls at once may both build one; either is kept.
        Ok(self
            .client
            .get_or_init(|| Client::builder(TokioExecutor::new()).build(https)))
    }

    /// May this URL be called: https to a host not on this machine, or anything on loopback for a
    /// local stack.
    pub fn fetchable(&self, url: &str) -> bool {
        is_fetchable(url, self.allow_loopback)
    }

    pub async fn get_json(&self, url: &str) -> Result<Value> {
        let req = axum::http::Request::get(url)
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| fetch_error(url, "bad request"))?;
        self.json(url, req).await
    }

    /// A form POST (an OAuth 2.0 token request), with HTTP Basic client authentication.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: (&str, &str),
    ) -> Result<Value> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        // RFC 6749 2.3.1: each part form-urlencoded, then base64.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials =
            data_encoding::BASE64.encode(format!("{}:{}", enc(basic.0), enc(basic.1)).as_bytes());
        let req = axum::http::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("authorization", format!("Basic {credentials}"))
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| fetch_error(url, "bad request"))?;
        self.json(url, req).await
    }

    async fn json(&self, url: &str, req: axum::http::Request<Full<Bytes>>) -> Result<Value> {
        if !self.fetchable(url) {
            return Err(fetch_error(url, "not an https URL"));
        }
        let client = self.client()?;
        let call = async {
            let res = client
                .request(req)
                .await
                .map_err(|e| fetch_error(url, &e.to_string()))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|_| fetch_error(url, "answer too large or cut off"))?
                .to_bytes();
            let value: Value = serde_json::from_slice(&body)
                .map_err(|_| fetch_error(url, &format!("status {status}, not JSON")))?;
            Ok::<_, Error>((status, value))
        };
        let (status, value) = tokio::time::timeout(FETCH_TIMEOUT, call)
            .await
            .map_err(|_| fetch_error(url, "timed out"))??;
        if !status.is_success() {
            return Err(fetch_error(url, &format!("status {status}")));
        }
        Ok(value)
    }
}

/// https to a host that is not this machine; loopback (http or https) only when `allow_loopback`.
pub fn is_fetchable(url: &str, allow_loopback: bool) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return false;
    }
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return false,
    };
    if loopback {
        return allow_loopback && matches!(u.scheme(), "http" | "https");
    }
    u.scheme() == "https"
}

/// Is `base` (our own public base URL) on this machine: a local stack?
pub fn is_local(base: Option<&str>) -> bool {
    base.is_some_and(|b| is_fetchable(b, true) && !is_fetchable(b, false))
}

/// An identity provider that cannot be reached or answers nonsense: a 503 for the caller, the
/// details in the log only.
fn fetch_error(url: &str, why: &str) -> Error {
    Error::unavailable(format!("identity provider call to {url}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_fetchable_only_for_a_local_stack() {
        assert!(is_fetchable(
            "https://idp.example.org/.well-known/openid-configuration",
            false
        ));
        assert!(
            !is_fetchable("http://idp.example.org/", false),
            "plain http"
        );
        for local in [
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "https://localhost/x",
            "http://[::1]/",
            "http://0.0.0.0/",
        ] {
            assert!(!is_fetchable(local, false), "{local}");
            assert!(is_fetchable(local, true), "{local}");
        }
        assert!(is_local(Some("http://127.0.0.1:9000")));
        assert!(!is_local(Some(
            "https://abc.execute-api.eu-west-1.amazonaws.com"
        )));
        assert!(!is_local(None));
    }
}
