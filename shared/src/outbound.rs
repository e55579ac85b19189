//! The one HTTP client for calls to identity providers (discovery, keys, code exchange): hyper with
//! rustls on ring, the TLS stack the AWS clients already use, and the system's root certificates.
//! Every call is bounded in time and in size, so a provider that hangs or answers 50 MB never holds
//! a function past its timeout or its memory.

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

#[derive(Clone)]
pub struct Outbound {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Outbound {
    pub fn new() -> Result<Outbound> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| Error::Internal(format!("TLS roots: {e}")))?
            // Plain http is refused before any call unless the host is loopback (`is_fetchable`).
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Outbound {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
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
        if !is_fetchable(url) {
            return Err(fetch_error(url, "not an https URL"));
        }
        let call = async {
            let res = self
                .client
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

/// https, or http on a loopback host (a provider run beside us, as in the tests).
pub fn is_fetchable(url: &str) -> bool {
    crate::oidc::is_redirect_uri(url) && !url.contains('#')
}

/// An identity provider that cannot be reached or answers nonsense: a 503 for the caller, the
/// details in the log only.
fn fetch_error(url: &str, why: &str) -> Error {
    Error::unavailable(format!("identity provider call to {url}: {why}"))
}
