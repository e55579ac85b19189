//! Outage drills: for each route's AWS calls (DynamoDB, SES, Secrets Manager), the service goes
//! down at that call, before it reaches the service or after it applied (the reply lost), and
//! stays down for the rest of the request. Every drill must end in the contract's 503 JSON (or,
//! when only the audit copy in the table was lost, the normal answer: the log line is the other
//! copy), leave no half state by a table scan, and work again once the service is back.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{Method, Request, header};
use data_encoding::BASE64;
use harness::faults::{Call, Cut, Faults};
use harness::{PASSWORD, Resp, Stack, address, latest_mail_to, link_token, unique};
use serde_json::{Value, json};
use shared::flows::clients::{self, ClientSpec};
use shared::flows::guard::Actor;
use shared::policy::AccountKind::{self, *};

/// A request that can be sent more than once, from an address of its own (limits per address
/// would otherwise count every drill's requests together).
#[derive(Clone, Debug)]
struct Req {
    from: String,
    method: Method,
    uri: String,
    headers: Vec<(header::HeaderName, String)>,
    body: String,
}

impl Req {
    fn json(method: Method, uri: &str, body: Value) -> Req {
        Req {
            from: source(),
            method,
            uri: uri.to_owned(),
            headers: vec![(header::CONTENT_TYPE, "application/json".into())],
            body: body.to_string(),
        }
    }

    fn get(uri: &str) -> Req {
        Req {
            from: source(),
            method: Method::GET,
            uri: uri.to_owned(),
            headers: vec![],
            body: String::new(),
        }
    }

    fn form(uri: &str, body: String) -> Req {
        Req {
            from: source(),
            method: Method::POST,
            uri: uri.to_owned(),
            headers: vec![(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".into(),
            )],
            body,
        }
    }

    fn with(mut self, name: header::HeaderName, value: String) -> Req {
        self.headers.push((name, value));
        self
    }

    fn bearer(self, token: &str) -> Req {
        self.with(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    fn build(&self) -> Request<Body> {
        let mut r = Request::builder()
            .method(self.method.clone())
            .uri(&self.uri);
        for (name, value) in &self.headers {
            r = r.header(name, value);
        }
        let mut r = r.body(Body::from(self.body.clone())).unwrap();
        r.extensions_mut().insert(harness::context_from(&self.from));
        r
    }
}

fn source() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

type Prepared = Pin<Box<dyn Future<Output = Req> + Send>>;

/// A route under drill: what it needs set up (on a fresh stack, and again on the same stack for
/// the recovery check, so it names new accounts each time), and its answer when nothing fails.
struct Drill {
    name: &'static str,
    prepare: fn(Arc<Stack>) -> Prepared,
    ok: u16,
}

/// A fresh stack: `root` (sysadmin) and MFA on.
async fn fresh() -> (Arc<Stack>, Faults) {
    let (s, faults) = Stack::faulty().await;
    s.add("root", Sysadmin, Some(&address("root")), None).await;
    s.set_mfa(true).await;
    faults.reset();
    (Arc::new(s), faults)
}

async fn account(s: &Stack, kind: AccountKind) -> String {
    let u = unique("u");
    s.add(&u, kind, Some(&address("u")), None).await;
    u
}

/// A new account of `kind`, enrolled, signed in with a code: (username, secret, session).
async fn signed_in(s: &Stack, kind: AccountKind) -> (String, Vec<u8>, String) {
    let u = account(s, kind).await;
    let secret = s.enrol_directly(&u).await;
    let c = s.challenge(&u).await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The next request's code is a new one.
    s.app.clock.advance(30);
    (u, secret, r.body["session"].as_str().unwrap().to_owned())
}

/// The items in the table but the audit's, by key: what an outage must not leave half-written.
type Items = BTreeMap<(String, String), String>;

/// What changed between two scans, by the kind of item (`CHALLENGE/CHALLENGE added`): runs of
/// the same request differ in tokens and names, never in the kinds of item they touch.
fn changes(before: &Items, after: &Items) -> BTreeSet<String> {
    let kind = |(pk, sk): &(String, String)| {
        let head = |k: &str| k.split('#').next().unwrap_or("").to_owned();
        format!("{}/{}", head(pk), head(sk))
    };
    let mut out = BTreeSet::new();
    for (k, v) in after {
        match before.get(k) {
            None => out.insert(format!("{} added", kind(k))),
            Some(old) if old != v => out.insert(format!("{} changed", kind(k))),
            _ => false,
        };
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        out.insert(format!("{} removed", kind(k)));
    }
    out
}

/// Changes that stand even when the request then fails: an attempt or a mail is counted before
/// it is made (limits hold under races), so a failed request may have used one up; and the
/// caller's session is touched as it authenticates (the idle timeout slides).
fn stands_after_failure(change: &str) -> bool {
    [
        "THROTTLE/ADDRESS ",
        "ACCOUNT/CODE_LOCK ",
        "ACCOUNT/PASSWORD_LOCK ",
        "CHALLENGE/CHALLENGE changed",
        "ACCOUNT/SETUP_MAIL ",
        "ACCOUNT/RESET_MAIL ",
        "SESSION/SESSION changed",
    ]
    .iter()
    .any(|p| change.starts_with(p))
}

/// Calls a request may lose once its work is done and still answer as usual: the audit copy in
/// the table (the JSON log line is the other) and the reads it is written with, and notices
/// mailed after the change (an outage of SES must not undo a sign-in).
fn is_best_effort(call: &Call) -> bool {
    call.writes.iter().all(|k| k.starts_with("AUDIT#"))
        && (call.service == "ses"
            || call.actions == ["dynamodb:GetItem"]
            || !call.writes.is_empty())
}

fn assert_unavailable(what: &str, r: &Resp) {
    assert_eq!(r.status, 503, "{what}: {r:?}");
    assert!(
        ["service_unavailable", "email_unavailable"].contains(&r.error()),
        "{what}: {r:?}"
    );
    let message = r.body["message"].as_str().unwrap_or("");
    assert!(!message.is_empty(), "{what}: a message: {r:?}");
    for internal in [
        "dynamodb",
        "DynamoDB",
        "SES",
        "sesv2",
        "secretsmanager",
        "outage",
        "drill",
    ] {
        assert!(
            !r.text.contains(internal),
            "{what}: the answer names no internals: {r:?}"
        );
    }
}

/// Runs `d` once to learn its AWS calls, then once per call and cut. One table serves every
/// run (each prepares new accounts), but each run gets new instances of the functions, so the
/// calls it makes are the ones learnt.
async fn drill(d: Drill) -> BTreeMap<String, usize> {
    let (mut s, faults) = fresh().await;
    let run = async |s: &mut Arc<Stack>, arm: Option<(usize, Cut)>| {
        Arc::get_mut(s).unwrap().restart_functions(&faults).await;
        let req = (d.prepare)(s.clone()).await;
        let before = s.items().await;
        match arm {
            Some((k, cut)) => faults.arm(k, cut),
            None => faults.reset(),
        }
        let r = s.raw(req.build()).await;
        if arm.is_some() {
            assert!(faults.fired(), "{}: run {arm:?} took another path", d.name);
        }
        faults.heal();
        let changed = changes(&before, &s.items().await);
        (req, r, before, changed)
    };
    let (_, r, _, done) = run(&mut s, None).await;
    assert_eq!(r.status, d.ok, "{}: with every service up: {r:?}", d.name);
    let calls = faults.calls();

    let mut runs = BTreeMap::new();
    for (k, call) in calls.iter().enumerate() {
        for cut in [Cut::Before, Cut::After] {
            if cut == Cut::After && !call.is_write() {
                continue;
            }
            *runs.entry(format!("{} {cut:?}", call.service)).or_default() += 1;
            let what = format!(
                "{}: {} down from call {k} ({}), {cut:?}",
                d.name,
                call.service,
                call.actions.join("+")
            );
            let (req, r, before, changed) = run(&mut s, Some((k, cut))).await;
            let committed = changed == done;
            if r.status == d.ok {
                assert!(
                    committed && calls[k..].iter().all(is_best_effort),
                    "{what}: answered {} although a call it needs failed: {r:?}",
                    r.status
                );
            } else {
                assert_unavailable(&what, &r);
            }
            // Once the service is back: the same request, unless it was done (a single-use
            // thing it used up then stays used), else a new one.
            let again = if committed {
                let next = (d.prepare)(s.clone()).await;
                s.raw(next.build()).await
            } else {
                s.raw(req.build()).await
            };
            assert_eq!(again.status, d.ok, "{what}: after recovery: {again:?}");
            // No half state: nothing changed but attempts, or all of it, or a part that the same
            // request, asked again, completes (deleting an account disables it first).
            if !committed && !changed.iter().all(|c| stands_after_failure(c)) {
                let completed = changes(&before, &s.items().await);
                assert!(
                    completed == done,
                    "{what}: half state: {changed:?}, and asking again left {completed:?} (a complete request changes {done:?})"
                );
            }
        }
    }
    runs
}

macro_rules! drills {
    ($($name:ident: $ok:expr, $prepare:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let runs = drill(Drill {
                name: stringify!($name),
                prepare: |s| Box::pin($prepare(s)),
                ok: $ok,
            })
            .await;
            assert!(!runs.is_empty());
            println!("{}: outages survived: {runs:?}", stringify!($name));
        }
    )*};
}

drills! {
    sign_in_with_a_password: 200, async |s: Arc<Stack>| {
        let u = account(&s, Staff).await;
        Req::json(Method::POST, "/sign-in", json!({ "username": u, "password": PASSWORD }))
    };
    verify_a_code: 200, async |s: Arc<Stack>| {
        let (u, secret, _) = signed_in(&s, Staff).await;
        let c = s.challenge(&u).await;
        Req::json(Method::POST, "/mfa/verify", json!({ "challenge": c, "code": s.code(&secret) }))
    };
    verify_the_first_code_which_activates: 200, async |s: Arc<Stack>| {
        let u = account(&s, Staff).await;
        let secret = s.enrol_directly(&u).await;
        let c = s.challenge(&u).await;
        Req::json(Method::POST, "/mfa/verify", json!({ "challenge": c, "code": s.code(&secret) }))
    };
    send_the_setup_email: 202, async |s: Arc<Stack>| {
        let u = account(&s, Staff).await;
        let c = s.challenge(&u).await;
        Req::json(Method::POST, "/mfa/setup-email", json!({ "challenge": c }))
    };
    reveal_the_setup_key: 200, async |s: Arc<Stack>| {
        let to = address("k");
        let u = unique("k");
        s.add(&u, Staff, Some(&to), None).await;
        let c = s.challenge(&u).await;
        let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
        assert_eq!(r.status, 202, "{r:?}");
        let token = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
        Req::json(Method::POST, "/mfa/setup/key", json!({ "token": token }))
    };
    step_up_with_a_code: 200, async |s: Arc<Stack>| {
        let (_, secret, session) = signed_in(&s, Sysadmin).await;
        Req::json(Method::POST, "/mfa/reauthenticate", json!({ "code": s.code(&secret) }))
            .bearer(&session)
    };
    read_the_session: 200, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Staff).await;
        Req::get("/session").bearer(&session)
    };
    sign_out: 204, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Staff).await;
        Req::json(Method::POST, "/sign-out", json!({})).bearer(&session)
    };
    ask_for_a_password_reset: 202, async |s: Arc<Stack>| {
        let u = account(&s, Staff).await;
        Req::json(Method::POST, "/password/forgot", json!({ "username": u }))
    };
    reset_a_password: 200, async |s: Arc<Stack>| {
        let to = address("p");
        let u = unique("p");
        s.add(&u, Staff, Some(&to), None).await;
        let r = s.raw(Req::json(Method::POST, "/password/forgot", json!({ "username": u })).build()).await;
        assert_eq!(r.status, 202, "{r:?}");
        let body = latest_mail_to(&to).unwrap().body;
        let start = body.find("/password/reset?token=").unwrap() + "/password/reset?token=".len();
        let token: String = body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        Req::json(
            Method::POST,
            "/password/reset",
            json!({ "token": token, "password": "a brand new passphrase 2026" }),
        )
    };
    change_a_setting: 200, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        Req::json(Method::PUT, "/settings", json!({ "org_name": unique("Org") })).bearer(&session)
    };
    disable_an_account: 204, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        let (u, _, _) = signed_in(&s, Staff).await;
        Req::json(Method::POST, &format!("/accounts/{u}/disable"), json!({})).bearer(&session)
    };
    reset_an_accounts_mfa: 204, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        let (u, _, _) = signed_in(&s, Staff).await;
        Req::json(Method::POST, &format!("/accounts/{u}/mfa/reset"), json!({})).bearer(&session)
    };
    delete_an_account: 204, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        let (u, _, _) = signed_in(&s, Staff).await;
        let mut r = Req::get(&format!("/accounts/{u}")).bearer(&session);
        r.method = Method::DELETE;
        r
    };
    list_accounts: 200, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        Req::get("/accounts?limit=5").bearer(&session)
    };
    register_a_site: 201, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        Req::json(
            Method::POST,
            "/settings/clients",
            json!({ "client_id": unique("site"), "redirect_uris": [REDIRECT] }),
        )
        .bearer(&session)
    };
    an_api_user_takes_a_token_with_its_password: 200, async |s: Arc<Stack>| {
        let u = unique("api");
        s.add(&u, Api, None, None).await;
        let password: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
        Req::form("/token", format!("grant_type=password&username={u}&password={password}"))
    };
    read_the_audit: 200, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Sysadmin).await;
        // Today's entries only: one day's shards, whatever earlier runs wrote.
        let since = time::OffsetDateTime::from_unix_timestamp(s.app.now() as i64 - 1)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        Req::get(&format!("/audit?limit=500&since={since}")).bearer(&session)
    };
    authorize_a_site_by_cookie: 302, async |s: Arc<Stack>| {
        let (_, _, session) = signed_in(&s, Staff).await;
        let client = site(&s).await.0;
        Req::get(&authorize_url(&client))
            .with(header::COOKIE, format!("__Host-mfa_session={session}"))
    };
    redeem_an_authorization_code: 200, async |s: Arc<Stack>| {
        let (code, client, secret) = authorization_code(&s).await;
        exchange(&code, &client, &secret)
    };
    refresh_tokens: 200, async |s: Arc<Stack>| {
        let (code, client, secret) = authorization_code(&s).await;
        let r = s.raw(exchange(&code, &client, &secret).build()).await;
        assert_eq!(r.status, 200, "{r:?}");
        let refresh = r.body["refresh_token"].as_str().unwrap();
        Req::form(
            "/token",
            format!("grant_type=refresh_token&refresh_token={refresh}&client_id={client}&client_secret={secret}"),
        )
    };
    read_userinfo: 200, async |s: Arc<Stack>| {
        let (code, client, secret) = authorization_code(&s).await;
        let r = s.raw(exchange(&code, &client, &secret).build()).await;
        assert_eq!(r.status, 200, "{r:?}");
        Req::get("/userinfo").bearer(r.body["access_token"].as_str().unwrap())
    };
}

const REDIRECT: &str = "https://wiki.example.org/callback";
use harness::{PKCE_CHALLENGE as CHALLENGE, PKCE_VERIFIER as VERIFIER};

/// A new confidential client: (id, secret).
async fn site(s: &Stack) -> (String, String) {
    let id = unique("site");
    let secret = clients::put(
        &s.app,
        &Actor::Operator("test"),
        &id,
        ClientSpec {
            name: Some("Wiki".into()),
            redirect_uris: vec![REDIRECT.into()],
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    (id, secret)
}

fn authorize_url(client: &str) -> String {
    let redirect: String = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    format!(
        "/authorize?response_type=code&client_id={client}&redirect_uri={redirect}&scope=openid%20email&state=s&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256"
    )
}

/// A code for a new client, from a signed-in browser: (code, client, client secret).
async fn authorization_code(s: &Stack) -> (String, String, String) {
    let (_, _, session) = signed_in(s, Staff).await;
    let (client, secret) = site(s).await;
    let r = s
        .raw(
            Req::get(&authorize_url(&client))
                .with(header::COOKIE, format!("__Host-mfa_session={session}"))
                .build(),
        )
        .await;
    assert_eq!(r.status, 302, "{r:?}");
    let to = url::Url::parse(r.header("location").unwrap()).unwrap();
    let code = to
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    (code, client, secret)
}

fn exchange(code: &str, client: &str, secret: &str) -> Req {
    let redirect: String = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    Req::form(
        "/token",
        format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={VERIFIER}"),
    )
    .with(
        header::AUTHORIZATION,
        format!("Basic {}", BASE64.encode(format!("{client}:{secret}").as_bytes())),
    )
}

/// Secrets Manager is read once per cold start. Down then, the function starts anyway and
/// answers 503 JSON; the first request after it is back starts it for good.
#[tokio::test]
async fn a_cold_start_without_secrets_manager_answers_503_until_it_is_back() {
    let s = Stack::new().await;
    let faults = Faults::default();
    let sdk = harness::faults::through(&s.sdk, &faults);
    faults.down("secretsmanager");
    let router = shared::runtime::start(
        (*s.app.config).clone(),
        sdk,
        s.app.clock.clone(),
        sign_in::router,
        shared::app::Preload::SETTINGS,
    )
    .await
    .expect("the cold start does not fail");
    let call = |router: axum::Router| async move {
        use tower::ServiceExt;
        let res = router
            .oneshot(Req::get("/sign-in/sites").build())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status,
            headers: Default::default(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    };
    for _ in 0..2 {
        assert_unavailable(
            "cold start, secrets manager down",
            &call(router.clone()).await,
        );
    }
    faults.heal();
    let r = call(router.clone()).await;
    assert_eq!(
        r.status, 401,
        "signed out, so 401 from the real router: {r:?}"
    );
    let calls = faults.calls();
    assert!(calls.iter().any(|c| c.service == "secretsmanager"));
}
