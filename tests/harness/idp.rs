//! A small OpenID provider on loopback for the relying-party tests: discovery, keys, and a token
//! endpoint that checks PKCE and signs ID tokens with the test-only fixture keys. Knobs make it
//! rotate its key, hang, answer 50 MB, or sign tokens with the wrong nonce or audience. (The
//! browser test runs the certified `oidc-provider` instead; this one lets Rust tests reach every
//! refusal.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, State};
use axum::routing::{get, post};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// What the user signs in as at the provider, for the next code.
#[derive(Clone, Debug)]
pub struct Login {
    pub sub: String,
    pub amr: Vec<String>,
    pub nonce: String,
    pub code_challenge: String,
    /// Overrides for refusal tests.
    pub aud: Option<String>,
}

#[derive(Default)]
pub struct Knobs {
    pub hang: AtomicBool,
    pub huge: AtomicBool,
    /// Sign with the second fixture key (kid `rsa-2`), as after a rotation.
    pub rotated: AtomicBool,
    pub jwks_fetches: AtomicUsize,
}

pub struct Idp {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub knobs: Arc<Knobs>,
    codes: Arc<Mutex<HashMap<String, Login>>>,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    client: (String, String),
    knobs: Arc<Knobs>,
    codes: Arc<Mutex<HashMap<String, Login>>>,
}

fn key(rotated: bool) -> (EncodingKey, &'static str) {
    if rotated {
        (
            EncodingKey::from_rsa_pem(&pem("other-rsa.pem")).unwrap(),
            "rsa-2",
        )
    } else {
        (
            EncodingKey::from_rsa_pem(&pem("idp-rsa.pem")).unwrap(),
            "rsa-1",
        )
    }
}

async fn stall(knobs: &Knobs) {
    if knobs.hang.load(Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

impl Idp {
    pub async fn start() -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            issuer: issuer.clone(),
            client: ("staff-mfa".into(), "idp client secret".into()),
            knobs: Arc::default(),
            codes: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Idp {
            issuer,
            client_id: shared.client.0,
            client_secret: shared.client.1,
            knobs: shared.knobs,
            codes: shared.codes,
        }
    }

    /// The user signs in at the provider; the returned code is what it redirects back with.
    pub fn login(&self, login: Login) -> String {
        let code = format!("code-{}", self.codes.lock().unwrap().len() + 1);
        self.codes.lock().unwrap().insert(code.clone(), login);
        code
    }
}

async fn discovery(State(s): State<Shared>) -> axum::response::Response {
    stall(&s.knobs).await;
    axum::Json(json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{}/auth", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
    }))
    .into_response_json()
}

trait IntoResponseJson {
    fn into_response_json(self) -> axum::response::Response;
}
impl IntoResponseJson for axum::Json<Value> {
    fn into_response_json(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self)
    }
}

async fn jwks(State(s): State<Shared>) -> axum::response::Response {
    s.knobs.jwks_fetches.fetch_add(1, Ordering::Relaxed);
    stall(&s.knobs).await;
    if s.knobs.huge.load(Ordering::Relaxed) {
        return axum::response::IntoResponse::into_response(" ".repeat(50 * 1024 * 1024));
    }
    let (k, kid) = key(s.knobs.rotated.load(Ordering::Relaxed));
    let mut jwk = Jwk::from_encoding_key(&k, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.into());
    axum::Json(json!({ "keys": [jwk] })).into_response_json()
}

#[allow(clippy::disallowed_methods)] // a provider signs with real time
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn token(
    State(s): State<Shared>,
    headers: axum::http::HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> axum::response::Response {
    stall(&s.knobs).await;
    let refuse = |e: &str| {
        axum::response::IntoResponse::into_response((
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": e })),
        ))
    };
    let expected = format!(
        "Basic {}",
        data_encoding::BASE64.encode(
            format!(
                "{}:{}",
                s.client.0,
                url::form_urlencoded::byte_serialize(s.client.1.as_bytes()).collect::<String>()
            )
            .as_bytes()
        )
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return refuse("invalid_client");
    }
    let Some(login) = form
        .get("code")
        .and_then(|c| s.codes.lock().unwrap().remove(c))
    else {
        return refuse("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let computed = data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
    if computed != login.code_challenge {
        return refuse("invalid_grant");
    }
    let (k, kid) = key(s.knobs.rotated.load(Ordering::Relaxed));
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let t = now();
    let claims = json!({
        "iss": s.issuer, "sub": login.sub, "aud": login.aud.unwrap_or(s.client.0.clone()),
        "exp": t + 300, "iat": t, "nonce": login.nonce, "amr": login.amr,
    });
    let id_token = encode(&header, &claims, &k).unwrap();
    axum::Json(json!({ "access_token": "opaque", "token_type": "Bearer", "id_token": id_token }))
        .into_response_json()
}
