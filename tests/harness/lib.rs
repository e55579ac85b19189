//! The test harness: a fresh table and key secret per test on the local moto (no in-memory
//! fakes), the four functions' routers behind a small gateway that routes like API Gateway, a
//! switchable TCP proxy for outage drills, and the SES outbox read back from moto.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod faults;
pub mod hook;
pub mod idp;
pub mod proxy;
pub mod recorder;

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use lambda_http::request::RequestContext;
use serde_json::Value;
use shared::App;
use shared::clock::Clock;
use shared::config::Config;
use shared::policy::AccountKind;
use tower::ServiceExt;

pub const SENDER: &str = "mfa@example.org";
pub const PASSWORD: &str = "correct horse battery staple";
/// PKCE for the tests' sites: RFC 7636 appendix B's verifier, and BASE64URL(SHA-256(verifier)).
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must name the local moto server: run the tests with `make test`")
}

// Tests need real time here: unique names, and tokens an identity provider would sign now.
#[allow(clippy::disallowed_methods)]
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    // The whole time, not just its nanoseconds: a long-lived moto keeps earlier runs' tables.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The functions, by their names in template.yaml.
pub const FUNCTIONS: [&str; 5] = ["sign-in", "setup-email", "verify-code", "settings", "oidc"];

pub struct Stack {
    pub app: App,
    pub sdk: SdkConfig,
    pub table: String,
    pub secret: String,
    sign_in: Router,
    setup_email: Router,
    verify_code: Router,
    settings: Router,
    /// The settings function's own instance, which also runs the rollout's schedule.
    settings_app: App,
    oidc: Router,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

impl Stack {
    pub async fn new() -> Stack {
        let sdk = shared::app::sdk_config().await.unwrap();
        Self::with_sdk(sdk.clone(), sdk).await
    }

    /// A stack whose five functions each have their own clients, recording the AWS actions they
    /// call (for checking template.yaml's policies against the code).
    pub async fn recorded() -> (
        Stack,
        std::collections::BTreeMap<&'static str, recorder::Calls>,
    ) {
        let calls: std::collections::BTreeMap<&'static str, recorder::Calls> = FUNCTIONS
            .into_iter()
            .map(|f| (f, recorder::Calls::default()))
            .collect();
        let stack = Self::rewired(|name, sdk| recorder::recording(sdk, &calls[name])).await;
        (stack, calls)
    }

    /// A stack whose five functions reach AWS through an outage drill (`faults`); the test's own
    /// setup (`app`, scans) does not.
    pub async fn faulty() -> (Stack, faults::Faults) {
        let drill = faults::Faults::default();
        let stack = Self::rewired(|_, sdk| faults::through(sdk, &drill)).await;
        drill.reset();
        (stack, drill)
    }

    /// A stack whose five functions reach AWS through `hook`, which lands a test's change just
    /// before a chosen request; the test's own setup (`app`, scans) does not.
    pub async fn hooked() -> (Stack, hook::Hook) {
        let hook = hook::Hook::default();
        let stack = Self::rewired(|_, sdk| hook::through(sdk, &hook)).await;
        (stack, hook)
    }

    /// `hooked` and `recorded` at once: the hook runs first, so what its action sends is recorded
    /// before the request it held up.
    pub async fn hooked_and_recorded() -> (
        Stack,
        hook::Hook,
        std::collections::BTreeMap<&'static str, recorder::Calls>,
    ) {
        let hook = hook::Hook::default();
        let calls: std::collections::BTreeMap<&'static str, recorder::Calls> = FUNCTIONS
            .into_iter()
            .map(|f| (f, recorder::Calls::default()))
            .collect();
        let stack = Self::rewired(|name, sdk| {
            hook::through(&recorder::recording(sdk, &calls[name]), &hook)
        })
        .await;
        (stack, hook, calls)
    }

    /// New instances of the five functions, through `drill`: as after a cold start, nothing
    /// cached, so a request makes the same AWS calls each time.
    pub async fn restart_functions(&mut self, drill: &faults::Faults) {
        let sdk = shared::app::sdk_config().await.unwrap();
        self.rewire(
            &|_: &str, sdk: &SdkConfig| faults::through(sdk, drill),
            &sdk,
        )
        .await;
        drill.reset();
    }

    /// A stack whose functions each get clients built from `wire(function, sdk)`.
    async fn rewired(wire: impl Fn(&str, &SdkConfig) -> SdkConfig) -> Stack {
        let sdk = shared::app::sdk_config().await.unwrap();
        let mut stack = Self::with_sdk(sdk.clone(), sdk.clone()).await;
        stack.rewire(&wire, &sdk).await;
        stack
    }

    async fn rewire(&mut self, wire: &impl Fn(&str, &SdkConfig) -> SdkConfig, sdk: &SdkConfig) {
        let clock = self.app.clock.clone();
        let config = (*self.app.config).clone();
        let connect = async |name: &str| {
            App::connect(config.clone(), &wire(name, sdk), clock.clone())
                .await
                .unwrap()
        };
        self.sign_in = sign_in::router(connect("sign-in").await);
        self.setup_email = setup_email::router(connect("setup-email").await);
        self.verify_code = verify_code::router(connect("verify-code").await);
        self.settings_app = connect("settings").await;
        self.settings = settings::router(self.settings_app.clone());
        self.oidc = oidc::router(connect("oidc").await);
    }

    /// `admin_sdk` sets the stack up; the functions talk through `function_sdk` (a proxy, say).
    pub async fn with_sdk(admin_sdk: SdkConfig, function_sdk: SdkConfig) -> Stack {
        let table = unique("mfa");
        let secret = unique("mfa-keys");
        mfa_admin::bootstrap(&admin_sdk, &table, &secret, Some(SENDER))
            .await
            .unwrap_or_else(|e| panic!("bootstrap: {e:?}"));
        let config = Config {
            table_name: table.clone(),
            keys_secret_id: secret.clone(),
            public_base_url: Some("http://localhost:9000".into()),
            session_idle_secs: 1800,
            session_max_secs: 43200,
            // moto has no send rate: the campaign's pacing is not what the tests are about.
            ses_send_rate: 1000,
        };
        let app = App::connect(config, &function_sdk, Clock::system())
            .await
            .unwrap();
        Stack {
            sign_in: sign_in::router(app.clone()),
            setup_email: setup_email::router(app.clone()),
            verify_code: verify_code::router(app.clone()),
            settings: settings::router(app.clone()),
            settings_app: app.clone(),
            oidc: oidc::router(app.clone()),
            app,
            sdk: admin_sdk,
            table,
            secret,
        }
    }

    /// Which function API Gateway sends a path to (the same table as template.yaml).
    fn function_for(&self, path: &str) -> &Router {
        let path = path.split('?').next().unwrap_or(path);
        if [
            "/token",
            "/authorize",
            "/userinfo",
            "/end-session",
            "/jwks.json",
            "/.well-known/openid-configuration",
        ]
        .contains(&path)
        {
            &self.oidc
        } else if path == "/mfa/verify"
            || path == "/mfa/reauthenticate"
            || path == "/mfa/recovery-codes"
            || path == "/mfa/passkey/start"
            || path == "/mfa/passkeys"
            || path.starts_with("/mfa/passkeys/")
        {
            &self.verify_code
        } else if path.starts_with("/mfa/setup") {
            &self.setup_email
        } else if path.starts_with("/settings")
            || path.starts_with("/accounts/")
            || path == "/accounts"
            || path == "/audit"
            || path == "/account/activity"
            || path == "/admin"
        {
            &self.settings
        } else {
            &self.sign_in
        }
    }

    /// Sends a request as API Gateway would deliver it from 127.0.0.1, unless the request carries
    /// a request context of its own (`from_address`).
    pub async fn raw(&self, mut req: Request<Body>) -> Resp {
        if req.extensions().get::<RequestContext>().is_none() {
            req.extensions_mut().insert(context_from("127.0.0.1"));
        }
        let router = self.function_for(req.uri().path()).clone();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.raw(req.body(body).unwrap()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(&body), None).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Resp {
        self.send(Method::GET, path, None, bearer).await
    }

    pub async fn form(&self, path: &str, form: &str) -> Resp {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.raw(req).await
    }

    /// Adds an account the way `mfa-admin account add` does.
    pub async fn add(
        &self,
        username: &str,
        kind: AccountKind,
        name_email: Option<&str>,
        address_email: Option<&str>,
    ) {
        mfa_admin::add_account(
            &self.app.store,
            &self.app.clock,
            mfa_admin::AccountSpec {
                username,
                kind,
                name_email,
                address_email,
                password: Some(PASSWORD),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("add {username}: {e:?}"));
    }

    /// How many of the newest 1,000 audit entries are about `target` with this action and outcome.
    pub async fn audit_count(&self, target: &str, action: &str, outcome: &str) -> usize {
        self.app
            .recent_audit(1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.target == target && e.action == action && e.outcome == outcome)
            .count()
    }

    /// Writes items into the table as they are, 25 to a batch (seeding at scale, past the flows).
    pub async fn put_raw(
        &self,
        items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
    ) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in items.chunks(25) {
            let writes: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            self.app
                .store
                .client()
                .batch_write_item()
                .request_items(self.table.clone(), writes)
                .send()
                .await
                .unwrap();
        }
    }

    /// One run of the rollout's schedule, as EventBridge fires it in the settings function.
    pub async fn tick(&self) -> shared::flows::rollout::Tick {
        shared::flows::rollout::tick(&self.settings_app)
            .await
            .unwrap_or_else(|e| panic!("tick: {e:?}"))
    }

    /// Sets the organisation email and switches MFA on or off (through the admin flow).
    pub async fn set_mfa(&self, enabled: bool) {
        shared::flows::admin::change_settings(
            &self.app,
            &shared::flows::guard::Actor::Operator("test"),
            shared::flows::admin::SettingsChange {
                mfa_enabled: Some(enabled),
                org_default_email: Some(SENDER.into()),
                org_name: Some("Acme".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("settings: {e:?}"));
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Resp {
        self.post(
            "/sign-in",
            serde_json::json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Signs in with the password and returns the challenge (MFA must be required).
    pub async fn challenge(&self, username: &str) -> String {
        let r = self.sign_in(username, PASSWORD).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body["status"], "mfa_required", "{r:?}");
        r.body["challenge"].as_str().unwrap().to_owned()
    }

    /// The whole first-time path: challenge, setup email, link, key. Returns the raw secret.
    pub async fn enrol_by_email(&self, username: &str) -> Vec<u8> {
        let challenge = self.challenge(username).await;
        let r = self
            .post(
                "/mfa/setup-email",
                serde_json::json!({ "challenge": challenge }),
            )
            .await;
        assert_eq!(r.status, 202, "{r:?}");
        let to = self.account_email(username).await;
        let mail = latest_mail_to(&to).expect("a setup mail");
        let token = link_token(&mail.body).expect("a setup link in the mail");
        let key = self
            .post("/mfa/setup/key", serde_json::json!({ "token": token }))
            .await;
        assert_eq!(key.status, 200, "{key:?}");
        data_encoding::BASE32_NOPAD
            .decode(key.body["secret"].as_str().unwrap().as_bytes())
            .unwrap()
    }

    /// 100 wrong passwords for `username` from 25 addresses, four each: the per-address back-off
    /// never starts, the account-wide ceiling is reached. Each is answered 401.
    pub async fn hundred_wrong_passwords(&self, username: &str) {
        for i in 0..25 {
            let from = format!("203.0.113.{i}");
            for _ in 0..4 {
                let r = self
                    .post_from(
                        &from,
                        "/sign-in",
                        serde_json::json!({ "username": username, "password": "guess" }),
                    )
                    .await;
                assert_eq!(r.status, 401, "{r:?}");
            }
        }
    }

    /// The set-up most flows start from: MFA on, `username` enrolled through the setup mail and
    /// signed in once with a code (which activates the enrolment), and the clock a time step on,
    /// so the next code is good. The account must exist. Returns the raw secret.
    pub async fn enrolled(&self, username: &str) -> Vec<u8> {
        self.set_mfa(true).await;
        let secret = self.enrol_by_email(username).await;
        let c = self.challenge(username).await;
        let r = self.verify(&c, &self.code(&secret)).await;
        assert_eq!(r.status, 200, "{r:?}");
        self.app.clock.advance(30);
        secret
    }

    /// Leaves `username` where following the setup mail's link would (a pending enrolment, its
    /// key known), without the mail: for tests that need many enrolled accounts quickly.
    pub async fn enrol_directly(&self, username: &str) -> Vec<u8> {
        use shared::token::{Purpose, new_token};
        let secret = shared::totp::new_secret().unwrap();
        let sealed = self
            .app
            .keys
            .secrets
            .seal(&secret, username.as_bytes())
            .unwrap();
        let link = self
            .app
            .keys
            .tokens
            .hash(Purpose::SetupLink, &new_token().unwrap());
        let now = self.app.now();
        let enrolment_id = unique("enrolment");
        self.app
            .store
            .put_pending_enrolment(&shared::store::enrolments::PendingEnrolment {
                username,
                enrolment_id: &enrolment_id,
                sealed_secret: &sealed,
                link_hash: &link,
                now,
                link_expires_at: now + 3600,
                replaces_shown: true,
                replacing: None,
            })
            .await
            .unwrap();
        // The key was shown, as the setup page shows it.
        assert!(
            self.app
                .store
                .record_key_reveal(&link, username, &enrolment_id, false, now)
                .await
                .unwrap()
        );
        secret.to_vec()
    }

    /// The address setup mail to `username` goes to.
    pub async fn account_email(&self, username: &str) -> String {
        let rec = self
            .app
            .store
            .load_account(username)
            .await
            .unwrap()
            .unwrap();
        rec.account
            .name_email
            .filter(|e| !e.is_empty())
            .or(rec.account.address_email)
            .unwrap()
    }

    /// The current code for `secret` by this stack's clock.
    pub fn code(&self, secret: &[u8]) -> String {
        shared::totp::code_at(secret, self.app.now(), 6)
    }

    /// The code for the step `steps` away from now.
    pub fn code_at_step_offset(&self, secret: &[u8], steps: i64) -> String {
        let t = (self.app.now() as i64 + steps * 30) as u64;
        shared::totp::code_at(secret, t, 6)
    }

    pub async fn verify(&self, challenge: &str, code: &str) -> Resp {
        self.post(
            "/mfa/verify",
            serde_json::json!({ "challenge": challenge, "code": code }),
        )
        .await
    }

    /// Every item in the table but the audit's, for "nothing changed" assertions.
    pub async fn dump(&self) -> Vec<String> {
        self.items().await.into_values().collect()
    }

    /// The items in the table but the audit's, by key (`pk`, `sk`), each as its sorted fields.
    pub async fn items(&self) -> std::collections::BTreeMap<(String, String), String> {
        let mut out = std::collections::BTreeMap::new();
        let mut start = None;
        loop {
            let page = self
                .app
                .store
                .client()
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                let (pk, sk) = (text("pk").unwrap(), text("sk").unwrap_or_default());
                if !pk.starts_with("AUDIT#") {
                    let mut fields: Vec<String> = item
                        .iter()
                        .map(|(k, v)| format!("{k}={}", canonical(v)))
                        .collect();
                    fields.sort();
                    out.insert((pk, sk), fields.join(","));
                }
            }
            start = page.last_evaluated_key().map(|k| k.to_owned());
            if start.is_none() {
                return out;
            }
        }
    }
}

/// API Gateway's request context for a caller at `address` (`requestContext.http.sourceIp`).
pub fn context_from(address: &str) -> RequestContext {
    let mut c = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    c.http.source_ip = Some(address.to_owned());
    RequestContext::ApiGatewayV2(c)
}

impl Stack {
    /// `POST path` with a JSON body from the given source address.
    pub async fn post_from(&self, address: &str, path: &str, body: Value) -> Resp {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut().insert(context_from(address));
        self.raw(req).await
    }

    /// `POST path` with a JSON body and a session.
    pub async fn post_as(&self, bearer: &str, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(&body), Some(bearer))
            .await
    }
}

/// A mail as moto recorded it.
#[derive(Clone, Debug)]
pub struct SentMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Every mail moto's SES has accepted, oldest first.
pub fn outbox() -> Vec<SentMail> {
    let url = format!("{}/moto-api/data.json", endpoint());
    let data: Value = ureq::get(&url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| SentMail {
            from: m["source"].as_str().unwrap_or("").into(),
            to: m["destinations"]["ToAddresses"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            subject: m["subject"].as_str().unwrap_or("").into(),
            body: m["body"].as_str().unwrap_or("").into(),
        })
        .collect()
}

pub fn mails_to(address: &str) -> Vec<SentMail> {
    outbox()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .collect()
}

pub fn latest_mail_to(address: &str) -> Option<SentMail> {
    mails_to(address).pop()
}

/// The token in a mail's setup link.
pub fn link_token(body: &str) -> Option<String> {
    let start = body.find("/mfa/setup?token=")? + "/mfa/setup?token=".len();
    Some(
        body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// A unique address per test, since moto's outbox is shared by all of them.
pub fn address(name: &str) -> String {
    format!("{}@example.org", unique(name))
}

/// An attribute value as text, maps in key order at every depth (a map's own `Debug` follows its
/// hash order, which differs from one read to the next).
fn canonical(v: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    match v {
        V::M(m) => {
            let mut fields: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", canonical(v)))
                .collect();
            fields.sort();
            format!("{{{}}}", fields.join(","))
        }
        V::L(l) => format!(
            "[{}]",
            l.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => format!("{other:?}"),
    }
}
