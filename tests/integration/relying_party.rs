//! We as the relying party of the organisation's identity provider and of social logins: the
//! redirect flow with state, nonce and PKCE, the seed's rules after it, and every refusal (forged
//! state, replayed callback, another browser, wrong nonce, another audience, a provider that
//! rotates, hangs or answers 50 MB), against a provider on loopback (`harness::idp`).

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Method, Request, header};
use harness::idp::{Idp, Login};
use harness::{PASSWORD, Resp, Stack, address};
use serde_json::{Value, json};
use shared::policy::AccountKind::*;

struct Rp {
    s: Stack,
    idp: Idp,
    admin: String,
}

async fn put_provider(s: &Stack, admin: &str, id: &str, body: Value) -> Resp {
    s.send(
        Method::PUT,
        &format!("/settings/providers/{id}"),
        Some(&body),
        Some(admin),
    )
    .await
}

/// `corp` (sso) and `social` configured by discovery; staff1 and member1 linked to both.
async fn rp(mfa_on: bool) -> Rp {
    let s = Stack::new().await;
    let idp = Idp::start().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("staff1", Staff, Some(&address("staff1")), None).await;
    s.add("member1", Member, None, None).await;
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for (id, kind, name) in [("corp", "sso", "Corp"), ("social", "social", "Chirp")] {
        let r = put_provider(
            &s,
            &admin,
            id,
            json!({ "kind": kind, "issuer": idp.issuer, "client_id": idp.client_id,
                    "client_secret": idp.client_secret, "display_name": name }),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body.get("client_secret").is_none(), "never shown again");
    }
    for (user, sub) in [("staff1", "sub-staff"), ("member1", "sub-member")] {
        mfa_admin::link_account(&s.app.store, user, "corp", sub)
            .await
            .unwrap();
    }
    mfa_admin::link_account(&s.app.store, "member1", "social", "sub-member")
        .await
        .unwrap();
    s.set_mfa(mfa_on).await;
    Rp { s, idp, admin }
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn get(s: &Stack, path: &str, cookies: &[String]) -> Resp {
    let mut req = Request::builder().method(Method::GET).uri(path);
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies.join("; "));
    }
    s.raw(req.body(Body::empty()).unwrap()).await
}

/// The `name=value` pairs a response sets.
fn set_cookies(r: &Resp) -> Vec<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_owned())
        .filter(|c| !c.ends_with('='))
        .collect()
}

struct Started {
    provider: String,
    state: String,
    nonce: String,
    challenge: String,
    binding: Vec<String>,
}

impl Rp {
    async fn start(&self, provider: &str, authorization: Option<&str>) -> Started {
        let path = match authorization {
            Some(a) => format!("/sign-in/federated/{provider}?authorization={a}"),
            None => format!("/sign-in/federated/{provider}"),
        };
        let r = get(&self.s, &path, &[]).await;
        assert_eq!(r.status, 302, "{r:?}");
        let to = r.header("location").unwrap();
        assert!(
            to.starts_with(&format!("{}/auth?", self.idp.issuer)),
            "{to}"
        );
        assert_eq!(query(to, "code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(query(to, "client_id").as_deref(), Some("staff-mfa"));
        Started {
            provider: provider.to_owned(),
            state: query(to, "state").unwrap(),
            nonce: query(to, "nonce").unwrap(),
            challenge: query(to, "code_challenge").unwrap(),
            binding: set_cookies(&r),
        }
    }

    fn login(&self, st: &Started, sub: &str, amr: &[&str]) -> String {
        self.idp.login(Login {
            sub: sub.into(),
            amr: amr.iter().map(|a| a.to_string()).collect(),
            nonce: st.nonce.clone(),
            code_challenge: st.challenge.clone(),
            aud: None,
        })
    }

    /// The provider's answer on `provider`'s own redirect URI.
    async fn callback(&self, provider: &str, code: &str, state: &str, cookies: &[String]) -> Resp {
        get(
            &self.s,
            &format!("/sign-in/federated/{provider}/callback?code={code}&state={state}"),
            cookies,
        )
        .await
    }

    /// A whole sign-in through `provider` as `sub`.
    async fn through(&self, provider: &str, sub: &str, amr: &[&str]) -> Resp {
        let st = self.start(provider, None).await;
        let code = self.login(&st, sub, amr);
        self.callback(&st.provider, &code, &st.state, &st.binding)
            .await
    }
}

async fn session_of(s: &Stack, r: &Resp) -> Resp {
    get(s, "/session", &set_cookies(r)).await
}

#[tokio::test]
async fn the_sign_in_page_has_a_button_per_provider() {
    let o = rp(true).await;
    let page = o.s.get("/sign-in", None).await;
    assert!(page.text.contains("Sign in with Corp"), "{}", page.text);
    assert!(page.text.contains("href=\"/sign-in/federated/corp\""));
}

#[tokio::test]
async fn the_organisations_sso_signs_staff_in_with_mfa_delegated() {
    let o = rp(true).await;
    let r = o.through("corp", "sub-staff", &["pwd", "mfa"]).await;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(r.header("location").unwrap().ends_with("/sign-in"));
    let me = session_of(&o.s, &r).await;
    assert_eq!(me.body["username"], "staff1");
    assert_eq!(me.body["mfa"], "delegated");
}

#[tokio::test]
async fn a_social_login_is_refused_to_staff_while_mfa_is_on_with_a_page_that_says_what_to_do() {
    let o = rp(true).await;
    mfa_admin::link_account(&o.s.app.store, "staff1", "social", "sub-staff")
        .await
        .unwrap();
    let r = o.through("social", "sub-staff", &[]).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.text.contains("username, password and security code"));
    assert!(
        r.header("set-cookie")
            .is_none_or(|c| !c.contains("mfa_session="))
    );
    // A member may.
    let r = o.through("social", "sub-member", &[]).await;
    assert_eq!(session_of(&o.s, &r).await.body["mfa"], "not_required");
}

#[tokio::test]
async fn require_amr_is_enforced() {
    let o = rp(true).await;
    let r = put_provider(
        &o.s,
        &o.admin,
        "corp",
        json!({ "kind": "sso", "issuer": o.idp.issuer, "client_id": o.idp.client_id, "require_amr": ["mfa"] }),
    )
    .await;
    // Sensitive: the admin session gave no code (MFA was off at its sign-in), and MFA is on now.
    assert!(r.status == 401 || r.status == 403, "{r:?}");
    let o = rp(false).await;
    let r = put_provider(
        &o.s,
        &o.admin,
        "corp",
        json!({ "kind": "sso", "issuer": o.idp.issuer, "client_id": o.idp.client_id, "require_amr": ["mfa"] }),
    )
    .await;
    assert_eq!(r.status, 200, "the secret is kept: {r:?}");
    o.s.set_mfa(true).await;
    let r = o.through("corp", "sub-staff", &["pwd"]).await;
    assert_eq!(r.status, 403);
    let r = o.through("corp", "sub-staff", &["pwd", "mfa"]).await;
    assert_eq!(session_of(&o.s, &r).await.body["mfa"], "delegated");
}

#[tokio::test]
async fn forged_replayed_and_cross_browser_callbacks_are_refused() {
    let o = rp(false).await;
    let st = o.start("corp", None).await;
    let code = o.login(&st, "sub-member", &[]);
    let forged = o
        .callback(
            &st.provider,
            &code,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &st.binding,
        )
        .await;
    assert_eq!(forged.status, 401);
    let other_browser = o.callback(&st.provider, &code, &st.state, &[]).await;
    assert_eq!(other_browser.status, 401, "the state is used up too");
    let st = o.start("corp", None).await;
    let code = o.login(&st, "sub-member", &[]);
    assert_eq!(
        o.callback(&st.provider, &code, &st.state, &st.binding)
            .await
            .status,
        302
    );
    let code = o.login(&st, "sub-member", &[]);
    let replay = o
        .callback(&st.provider, &code, &st.state, &st.binding)
        .await;
    assert_eq!(replay.status, 401, "a state is good once");
    let log = o.s.app.recent_audit(100).await.unwrap();
    assert!(log.iter().any(|e| e.outcome == "invalid_state"));
    assert!(log.iter().any(|e| e.outcome == "other_browser"));
}

#[tokio::test]
async fn a_token_with_another_nonce_or_for_another_audience_is_refused() {
    let o = rp(false).await;
    for bad in [
        Login {
            sub: "sub-member".into(),
            amr: vec![],
            nonce: "not-the-nonce-we-sent".into(),
            code_challenge: String::new(),
            aud: None,
        },
        Login {
            sub: "sub-member".into(),
            amr: vec![],
            nonce: String::new(),
            code_challenge: String::new(),
            aud: Some("someone-else".into()),
        },
    ] {
        let st = o.start("corp", None).await;
        let mut login = bad.clone();
        login.code_challenge = st.challenge.clone();
        if login.nonce.is_empty() {
            login.nonce = st.nonce.clone();
        }
        let code = o.idp.login(login);
        let r = o
            .callback(&st.provider, &code, &st.state, &st.binding)
            .await;
        assert_eq!(r.status, 401, "{bad:?}");
    }
}

#[tokio::test]
async fn the_provider_rotates_its_key_and_sign_in_keeps_working() {
    let o = rp(false).await;
    assert_eq!(o.through("corp", "sub-member", &[]).await.status, 302);
    o.idp.knobs.rotated.store(true, Ordering::Relaxed);
    assert_eq!(
        o.through("corp", "sub-member", &[]).await.status,
        302,
        "the unknown kid fetched the new keys"
    );
}

#[tokio::test]
async fn an_unknown_kid_flood_fetches_the_keys_at_most_once_a_minute() {
    let o = rp(false).await;
    o.idp.knobs.rotated.store(true, Ordering::Relaxed);
    let before = o.idp.knobs.jwks_fetches.load(Ordering::Relaxed);
    // The provider now signs with a key we do not hold; each token names it.
    assert_eq!(o.through("corp", "sub-member", &[]).await.status, 302);
    o.idp.knobs.rotated.store(false, Ordering::Relaxed);
    for _ in 0..5 {
        o.through("corp", "sub-member", &[]).await;
    }
    let fetched = o.idp.knobs.jwks_fetches.load(Ordering::Relaxed) - before;
    assert!(fetched <= 1, "{fetched} key fetches within a minute");
}

#[tokio::test]
async fn a_provider_that_hangs_or_answers_50_mb_is_bounded_and_refused() {
    let o = rp(false).await;
    o.idp.knobs.huge.store(true, Ordering::Relaxed);
    let r = put_provider(
        &o.s,
        &o.admin,
        "big",
        json!({ "kind": "sso", "issuer": o.idp.issuer, "client_id": "x", "client_secret": "y" }),
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    o.idp.knobs.huge.store(false, Ordering::Relaxed);
    o.idp.knobs.hang.store(true, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let r = put_provider(
        &o.s,
        &o.admin,
        "slow",
        json!({ "kind": "sso", "issuer": o.idp.issuer, "client_id": "x", "client_secret": "y" }),
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    // The code exchange of a sign-in in flight hangs too: a page, well inside a Lambda timeout.
    let st = o.start("corp", None).await;
    let code = o.login(&st, "sub-member", &[]);
    let r = o
        .callback(&st.provider, &code, &st.state, &st.binding)
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    assert!(
        o.s.app.store.get_provider("slow").await.unwrap().is_none(),
        "nothing stored"
    );
}

#[tokio::test]
async fn an_answer_on_another_providers_callback_is_refused_the_idp_mix_up() {
    let o = rp(false).await;
    // The victim starts at the social login; its (malicious) provider bounces the browser to
    // the organisation's SSO with the victim's state, and the SSO answers on its own callback.
    let st = o.start("social", None).await;
    let code = o.login(&st, "sub-member", &[]);
    let r = o.callback("corp", &code, &st.state, &st.binding).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("__Host-mfa_session"))
    );
    let log = o.s.app.recent_audit(100).await.unwrap();
    assert!(log.iter().any(|e| e.outcome == "wrong_callback"));
    // RFC 9207: an answer naming another issuer is refused on the right callback too.
    let st = o.start("corp", None).await;
    let code = o.login(&st, "sub-member", &[]);
    let r = get(
        &o.s,
        &format!(
            "/sign-in/federated/corp/callback?code={code}&state={}&iss=https%3A%2F%2Fevil.example",
            st.state
        ),
        &st.binding,
    )
    .await;
    assert_eq!(r.status, 401, "{r:?}");
    let st = o.start("corp", None).await;
    let code = o.login(&st, "sub-member", &[]);
    let r = get(
        &o.s,
        &format!(
            "/sign-in/federated/corp/callback?code={code}&state={}&iss={}",
            st.state,
            url::form_urlencoded::byte_serialize(o.idp.issuer.as_bytes()).collect::<String>()
        ),
        &st.binding,
    )
    .await;
    assert_eq!(r.status, 302, "its own issuer: {r:?}");
}

#[tokio::test]
async fn switching_a_provider_from_social_to_sso_drops_its_links() {
    let o = rp(false).await;
    let r = put_provider(
        &o.s,
        &o.admin,
        "social",
        json!({ "kind": "sso", "issuer": o.idp.issuer, "client_id": o.idp.client_id }),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        o.s.app
            .store
            .linked_username("social", &o.idp.issuer, "sub-member")
            .await
            .unwrap()
            .is_none(),
        "a personal social link must not become an SSO login that skips MFA"
    );
    let r = o.through("social", "sub-member", &[]).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn re_pointing_a_provider_at_another_issuer_drops_its_links() {
    let o = rp(false).await;
    let other = Idp::start().await;
    let r = put_provider(
        &o.s,
        &o.admin,
        "corp",
        json!({ "kind": "sso", "issuer": other.issuer, "client_id": other.client_id, "client_secret": other.client_secret }),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        o.s.app
            .store
            .linked_username("corp", &o.idp.issuer, "sub-member")
            .await
            .unwrap()
            .is_none()
    );
    let o2 = Rp {
        s: o.s,
        idp: other,
        admin: o.admin,
    };
    let r = o2.through("corp", "sub-member", &[]).await;
    assert_eq!(r.status, 401, "the subject is not linked at the new issuer");
}

#[tokio::test]
async fn a_pending_authorize_continues_after_the_provider_with_amr_passed_on() {
    let o = rp(true).await;
    let operator = shared::flows::guard::Actor::Operator("test");
    shared::flows::clients::put(
        &o.s.app,
        &operator,
        "wiki",
        shared::flows::clients::ClientSpec {
            redirect_uris: vec!["https://wiki.example.org/cb".into()],
            public: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let verifier = harness::PKCE_VERIFIER;
    let r = o.s.get(&format!("/authorize?response_type=code&client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&scope=openid&state=s&code_challenge={}&code_challenge_method=S256", harness::PKCE_CHALLENGE), None).await;
    let authorization = query(r.header("location").unwrap(), "authorization").unwrap();
    let page =
        o.s.get(&format!("/sign-in?authorization={authorization}"), None)
            .await;
    assert!(page.text.contains(&format!(
        "/sign-in/federated/corp?authorization={authorization}"
    )));
    let st = o.start("corp", Some(&authorization)).await;
    let code = o.login(&st, "sub-staff", &["pwd", "mfa"]);
    let r = o
        .callback(&st.provider, &code, &st.state, &st.binding)
        .await;
    let to = r.header("location").unwrap();
    assert!(to.starts_with("https://wiki.example.org/cb?code="), "{to}");
    let t = o
        .s
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&code_verifier={verifier}&client_id=wiki",
                query(to, "code").unwrap()
            ),
        )
        .await;
    assert_eq!(t.status, 200, "{t:?}");
    let id = t.body["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(id.split('.').nth(1).unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["amr"],
        json!(["pwd", "mfa", "fed"]),
        "the provider's amr, marked federated"
    );
}

#[tokio::test]
async fn a_link_made_for_a_social_login_never_signs_in_through_the_organisations_sso() {
    let o = rp(true).await;
    // "corp" (sso, skips our MFA) and "social" share an issuer here; staff1 is linked through the
    // social login only as "sub-social".
    mfa_admin::link_account(&o.s.app.store, "staff1", "social", "sub-social")
        .await
        .unwrap();
    let r = o.through("corp", "sub-social", &["mfa"]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("set-cookie")
            .is_none_or(|c| !c.contains("mfa_session="))
    );
}
