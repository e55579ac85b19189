//! The OpenID Connect provider, against moto: discovery and keys, the authorization code flow
//! with PKCE through the real sign-in routes, single sign-on by cookie, every refusal the RFCs
//! name, single use under races, refresh rotation and reuse detection, logout, key rotation.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, header};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use harness::{PASSWORD, Resp, Stack, address};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::flows::clients::{self, ClientSpec};
use shared::flows::guard::Actor;
use shared::policy::AccountKind::*;

pub(crate) const ISSUER: &str = "http://localhost:9000";
pub(crate) const REDIRECT: &str = "https://wiki.example.org/callback";
pub(crate) const LOGOUT: &str = "https://wiki.example.org/bye";
pub(crate) const VERIFIER: &str = harness::PKCE_VERIFIER;

pub(crate) fn challenge() -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(VERIFIER.as_bytes()))
}

pub(crate) struct Oidc {
    pub(crate) s: Stack,
    pub(crate) secret: Vec<u8>,
    pub(crate) client_secret: String,
}

/// MFA on; `jane` (staff) enrolled; `wiki` a confidential client, `spa` a public one.
pub(crate) async fn provider() -> Oidc {
    provider_on(Stack::new().await).await
}

/// `provider()` on a stack of the caller's (recorded, hooked).
pub(crate) async fn provider_on(s: Stack) -> Oidc {
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    s.add("mem", Member, Some(&address("mem")), None).await;
    s.add("robot", Api, None, None).await;
    let secret = s.enrolled("jane").await;
    let operator = Actor::Operator("test");
    let client_secret = clients::put(
        &s.app,
        &operator,
        "wiki",
        ClientSpec {
            name: Some("Staff wiki".into()),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![LOGOUT.into()],
            public: false,
            home_url: Some("https://wiki.example.org/".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    clients::put(
        &s.app,
        &operator,
        "spa",
        ClientSpec {
            name: Some("Rota".into()),
            redirect_uris: vec!["http://127.0.0.1:7777/cb".into()],
            public: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Oidc {
        s,
        secret,
        client_secret,
    }
}

pub(crate) fn authorize_url(client: &str, redirect: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid%20email%20profile&state=st4te&nonce=n0nce&code_challenge={}&code_challenge_method=S256{extra}",
        urlencode(redirect),
        challenge()
    )
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) async fn get_with_cookie(s: &Stack, path: &str, cookie: Option<&str>) -> Resp {
    let mut req = Request::builder().method(Method::GET).uri(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("__Host-mfa_session={c}"));
    }
    s.raw(req.body(Body::empty()).unwrap()).await
}

pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The session token in a response's `Set-Cookie`.
pub(crate) fn cookie_of(r: &Resp) -> String {
    let c = r.header("set-cookie").expect("a session cookie");
    c.trim_start_matches("__Host-mfa_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

impl Oidc {
    /// `/authorize` without a session, then password and code on the sign-in routes. Returns the
    /// code's redirect and the cookie.
    pub(crate) async fn sign_in_for(
        &self,
        client: &str,
        redirect: &str,
        extra: &str,
    ) -> (String, String) {
        let s = &self.s;
        let r = s.get(&authorize_url(client, redirect, extra), None).await;
        assert_eq!(r.status, 302, "{r:?}");
        let to = r.header("location").unwrap().to_owned();
        assert!(
            to.starts_with(&format!("{ISSUER}/sign-in?authorization=")),
            "{to}"
        );
        let authorization = query_param(&to, "authorization").unwrap();
        let page = s.get(&to[ISSUER.len()..], None).await;
        assert!(
            page.text.contains("Sign in to continue to"),
            "the page names the site"
        );
        let r = s
            .post(
                "/sign-in",
                json!({ "username": "jane", "password": PASSWORD, "authorization": authorization }),
            )
            .await;
        assert_eq!(r.body["status"], "mfa_required", "{r:?}");
        s.app.clock.advance(30);
        let v = s
            .verify(r.body["challenge"].as_str().unwrap(), &s.code(&self.secret))
            .await;
        assert_eq!(v.status, 200, "{v:?}");
        let redirect_to = v.body["redirect_to"]
            .as_str()
            .expect("redirect_to")
            .to_owned();
        (redirect_to, cookie_of(&v))
    }

    pub(crate) async fn exchange(&self, code: &str, verifier: &str) -> Resp {
        let basic = BASE64.encode(format!("wiki:{}", self.client_secret).as_bytes());
        let req = Request::builder()
            .method(Method::POST)
            .uri("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .body(Body::from(format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
                urlencode(REDIRECT)
            )))
            .unwrap();
        self.s.raw(req).await
    }

    pub(crate) async fn refresh(&self, token: &str) -> Resp {
        self.s
            .form(
                "/token",
                &format!(
                    "grant_type=refresh_token&refresh_token={token}&client_id=wiki&client_secret={}",
                    self.client_secret
                ),
            )
            .await
    }

    pub(crate) async fn tokens(&self) -> Value {
        let (to, _) = self.sign_in_for("wiki", REDIRECT, "").await;
        let r = self
            .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body
    }
}

/// Verifies a token as a relying party (or API Gateway) would: our JWKS, RS256, iss, aud, exp.
pub(crate) async fn verify_as_rp(s: &Stack, token: &str, audience: &str) -> Value {
    let jwks: JwkSet = serde_json::from_value(s.get("/jwks.json", None).await.body).unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let key = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[audience]);
    v.validate_exp = false;
    decode::<Value>(token, &DecodingKey::from_jwk(key).unwrap(), &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn discovery_names_our_endpoints_and_rs256_keys_with_kid() {
    let o = provider().await;
    let d = o.s.get("/.well-known/openid-configuration", None).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["issuer"], ISSUER);
    assert_eq!(d.body["jwks_uri"], format!("{ISSUER}/jwks.json"));
    assert_eq!(d.body["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        d.body["authorization_response_iss_parameter_supported"],
        true
    );
    let keys = o.s.get("/jwks.json", None).await;
    let keys = keys.body["keys"].as_array().unwrap().clone();
    assert_eq!(
        keys.len(),
        2,
        "the current key and the next, published ahead"
    );
    for k in keys {
        assert_eq!(
            (k["kty"].as_str(), k["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        assert!(k["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert!(k.get("d").is_none(), "no private part");
    }
}

#[tokio::test]
async fn code_flow_with_pkce_gives_tokens_that_prove_the_code() {
    let o = provider().await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    assert!(to.starts_with(REDIRECT));
    assert_eq!(query_param(&to, "state").as_deref(), Some("st4te"));
    assert_eq!(query_param(&to, "iss").as_deref(), Some(ISSUER), "RFC 9207");
    assert!(!cookie.is_empty());
    let r = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_u64().unwrap() <= 900);
    assert!(r.body["refresh_token"].as_str().is_some());
    let id = verify_as_rp(&o.s, r.body["id_token"].as_str().unwrap(), "wiki").await;
    assert_eq!(id["preferred_username"], "jane");
    let sub = id["sub"].as_str().unwrap();
    assert!(
        sub.len() >= 32 && !sub.contains("jane"),
        "sub is opaque: {sub}"
    );
    assert_eq!(
        (id["acr"].as_str(), id["kind"].as_str()),
        (Some("mfa"), Some("staff"))
    );
    assert_eq!(id["nonce"], "n0nce");
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(id["auth_time"].as_u64().is_some());
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        decode_header(access).unwrap().typ.as_deref(),
        Some("at+jwt")
    );
    let at = verify_as_rp(&o.s, access, "wiki").await;
    assert_eq!(at["client_id"], "wiki");
    assert_eq!(at["sub"], id["sub"]);
    assert_eq!(
        at["scope"], "openid profile email mfa",
        "mfa: a code was given"
    );
    assert_eq!(
        (at["acr"].as_str(), at["kind"].as_str()),
        (Some("mfa"), Some("staff"))
    );
    assert!(at["exp"].as_u64().unwrap() - at["iat"].as_u64().unwrap() <= 900);
    let me = o.s.get("/userinfo", Some(access)).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["sub"], id["sub"]);
    assert_eq!(me.body["preferred_username"], "jane");
    assert!(me.body["email"].as_str().unwrap().ends_with("@example.org"));
}

#[tokio::test]
async fn a_second_site_signs_in_without_a_second_password_or_code() {
    let o = provider().await;
    let (_, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let r = get_with_cookie(
        &o.s,
        &authorize_url("spa", "http://127.0.0.1:7777/cb", ""),
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 302);
    let to = r.header("location").unwrap();
    assert!(to.starts_with("http://127.0.0.1:7777/cb?code="), "{to}");
    // The public client redeems with PKCE alone.
    let code = query_param(to, "code").unwrap();
    let t = o
        .s
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id=spa",
                urlencode("http://127.0.0.1:7777/cb")
            ),
        )
        .await;
    assert_eq!(t.status, 200, "{t:?}");
    let id = verify_as_rp(&o.s, t.body["id_token"].as_str().unwrap(), "spa").await;
    assert_eq!(
        id["amr"],
        json!(["pwd", "otp", "mfa"]),
        "the code given at the first site"
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_again_and_prompt_none_never_shows_a_page() {
    let o = provider().await;
    let (_, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let to_sign_in = |r: &Resp| {
        r.header("location")
            .unwrap()
            .starts_with(&format!("{ISSUER}/sign-in?authorization="))
    };
    let r = get_with_cookie(
        &o.s,
        &authorize_url("wiki", REDIRECT, "&prompt=login"),
        Some(&cookie),
    )
    .await;
    assert!(to_sign_in(&r), "{r:?}");
    o.s.app.clock.advance(120);
    let r = get_with_cookie(
        &o.s,
        &authorize_url("wiki", REDIRECT, "&max_age=60"),
        Some(&cookie),
    )
    .await;
    assert!(to_sign_in(&r), "{r:?}");
    let r = get_with_cookie(
        &o.s,
        &authorize_url("wiki", REDIRECT, "&max_age=3600"),
        Some(&cookie),
    )
    .await;
    assert!(r.header("location").unwrap().starts_with(REDIRECT));
    let r = get_with_cookie(&o.s, &authorize_url("wiki", REDIRECT, "&prompt=none"), None).await;
    let to = r.header("location").unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(to, "state").as_deref(), Some("st4te"));
    assert_eq!(query_param(to, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn unknown_clients_and_inexact_redirect_uris_get_a_page_never_a_redirect() {
    let o = provider().await;
    for path in [
        authorize_url("nobody", REDIRECT, ""),
        authorize_url("wiki", "https://wiki.example.org/callbacK", ""),
        authorize_url("wiki", "https://wiki.example.org/callback/", ""),
        authorize_url("wiki", "https://evil.example/callback", ""),
        "/authorize?client_id=wiki".into(),
    ] {
        let r = o.s.get(&path, None).await;
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(r.header("location").is_none(), "{path}");
        assert!(r.text.contains("cannot be used"));
    }
}

#[tokio::test]
async fn other_authorization_errors_redirect_with_the_oauth_error_state_and_iss() {
    let o = provider().await;
    let base = format!(
        "/authorize?response_type=code&client_id=wiki&redirect_uri={}&scope=openid&state=s",
        urlencode(REDIRECT)
    );
    for (path, error) in [
        (base.clone(), "invalid_request"),
        (
            format!(
                "{base}&code_challenge={}&code_challenge_method=plain",
                challenge()
            ),
            "invalid_request",
        ),
        (
            base.replace("scope=openid", "scope=email")
                + &format!("&code_challenge={}&code_challenge_method=S256", challenge()),
            "invalid_scope",
        ),
        (
            base.replace("response_type=code", "response_type=token")
                + &format!("&code_challenge={}&code_challenge_method=S256", challenge()),
            "unsupported_response_type",
        ),
        // Each within its length, but too long together to carry through the sign-in.
        (
            format!(
                "{base}&code_challenge={}&code_challenge_method=S256&nonce={}&login_hint={}",
                challenge(),
                "%01".repeat(512),
                "%01".repeat(512)
            ),
            "invalid_request",
        ),
    ] {
        let r = o.s.get(&path, None).await;
        assert_eq!(r.status, 302, "{path}");
        let to = r.header("location").unwrap();
        assert!(to.starts_with(REDIRECT));
        assert_eq!(query_param(to, "error").as_deref(), Some(error), "{path}");
        assert_eq!(query_param(to, "state").as_deref(), Some("s"));
        assert_eq!(query_param(to, "iss").as_deref(), Some(ISSUER));
    }
}

#[tokio::test]
async fn a_code_is_bound_to_its_verifier_client_and_redirect_and_lives_sixty_seconds() {
    let o = provider().await;
    // Wrong verifier.
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    let r = o
        .exchange(&query_param(&to, "code").unwrap(), &"x".repeat(43))
        .await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"));
    // Another client's code.
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let _ = cookie;
    let r = o
        .s
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}&client_id=spa",
                query_param(&to, "code").unwrap(),
                urlencode(REDIRECT)
            ),
        )
        .await;
    assert_eq!(r.error(), "invalid_grant");
    // Expired.
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    o.s.app.clock.advance(61);
    let r = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await;
    assert_eq!(r.error(), "invalid_grant");
    // A wrong client secret.
    let r = o
        .s
        .form(
            "/token",
            "grant_type=authorization_code&code=x&redirect_uri=x&code_verifier=x&client_id=wiki&client_secret=wrong",
        )
        .await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    assert!(r.header("www-authenticate").is_some());
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_its_first_use_issued() {
    let o = provider().await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let first = o.exchange(&code, VERIFIER).await;
    assert_eq!(first.status, 200);
    let second = o.exchange(&code, VERIFIER).await;
    assert_eq!((second.status, second.error()), (400, "invalid_grant"));
    let r = o
        .refresh(first.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        r.error(),
        "invalid_grant",
        "the first use's refresh token is revoked"
    );
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        200,
        "the user's own sign-in is not the code's to end (a leaked code must not sign them out)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_code_redeemed_eight_times_at_once_succeeds_exactly_once() {
    let o = Arc::new(provider().await);
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (o, code) = (o.clone(), code.clone());
            tokio::spawn(async move { o.exchange(&code, VERIFIER).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 200 {
            ok += 1;
        } else {
            assert_eq!((r.status, r.error()), (400, "invalid_grant"), "{r:?}");
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_code_used_again_after_it_expired_still_revokes_what_its_first_use_issued() {
    let o = provider().await;
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let first = o.exchange(&code, VERIFIER).await;
    assert_eq!(first.status, 200, "{first:?}");
    o.s.app.clock.advance(61);
    let again = o.exchange(&code, VERIFIER).await;
    assert_eq!((again.status, again.error()), (400, "invalid_grant"));
    let r = o
        .refresh(first.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r.error(), "invalid_grant", "the family is revoked: {r:?}");
}

#[tokio::test]
async fn a_tampered_or_foreign_code_is_invalid_grant_and_leaves_the_real_one_usable() {
    let o = provider().await;
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let mut forged = vec![];
    for i in [0, 1, code.len() / 2, code.len() - 2, code.len() - 1] {
        let mut c = code.clone().into_bytes();
        c[i] = if c[i] == b'A' { b'B' } else { b'A' };
        forged.push(String::from_utf8(c).unwrap());
    }
    forged.push(code[..code.len() - 1].to_owned());
    forged.push(format!("{code}A"));
    forged.push(format!("{code}{}", "A".repeat(10_000)));
    forged.push(shared::token::new_token().unwrap());
    forged.push("%00".into());
    // A sealed authorization request is sealed under the same key, for another purpose.
    let r = o.s.get(&authorize_url("wiki", REDIRECT, ""), None).await;
    forged.push(query_param(r.header("location").unwrap(), "authorization").unwrap());
    for f in &forged {
        let r = o.exchange(f, VERIFIER).await;
        assert_eq!((r.status, r.error()), (400, "invalid_grant"), "{f}: {r:?}");
    }
    let r = o.exchange(&code, VERIFIER).await;
    assert_eq!(r.status, 200, "a forgery burns nothing: {r:?}");
}

#[tokio::test]
async fn issuing_a_code_writes_nothing() {
    let (s, calls) = Stack::recorded().await;
    let o = provider_on(s).await;
    // A plain sign-in, then one for a site: the code costs the code step no write.
    let kinds = |function: &str| -> Vec<String> {
        calls[function]
            .written_keys()
            .iter()
            .map(|k| k.split('#').next().unwrap().to_owned())
            .collect()
    };
    calls.values().for_each(|c| c.clear());
    let c = o.s.challenge("jane").await;
    o.s.app.clock.advance(30);
    assert_eq!(o.s.verify(&c, &o.s.code(&o.secret)).await.status, 200);
    let plain = kinds("verify-code");
    let r = o.s.get(&authorize_url("wiki", REDIRECT, ""), None).await;
    let authorization = query_param(r.header("location").unwrap(), "authorization").unwrap();
    let r =
        o.s.post(
            "/sign-in",
            json!({ "username": "jane", "password": PASSWORD, "authorization": authorization }),
        )
        .await;
    calls.values().for_each(|c| c.clear());
    o.s.app.clock.advance(30);
    let v =
        o.s.verify(r.body["challenge"].as_str().unwrap(), &o.s.code(&o.secret))
            .await;
    assert!(
        v.body["redirect_to"].as_str().unwrap().contains("code="),
        "{v:?}"
    );
    assert_eq!(kinds("verify-code"), plain, "the code was written nowhere");
    // Single sign-on at a second site: the code is all /authorize gives, and it writes nothing.
    let cookie = cookie_of(&v);
    calls.values().for_each(|c| c.clear());
    let r = get_with_cookie(
        &o.s,
        &authorize_url("spa", "http://127.0.0.1:7777/cb", ""),
        Some(&cookie),
    )
    .await;
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("http://127.0.0.1:7777/cb?code="),
        "{r:?}"
    );
    for (function, c) in &calls {
        assert_eq!(c.written_keys(), Vec::<String>::new(), "{function}");
    }
}

#[tokio::test]
async fn a_client_without_the_refresh_grant_gets_no_refresh_token_and_its_code_is_used_once() {
    let o = provider().await;
    let secret = clients::put(
        &o.s.app,
        &Actor::Operator("test"),
        "kiosk",
        ClientSpec {
            redirect_uris: vec![REDIRECT.into()],
            grant_types: Some(vec![shared::oidc::GrantType::AuthorizationCode]),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    let (to, _) = o.sign_in_for("kiosk", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let exchange = async || {
        o.s.form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id=kiosk&client_secret={secret}",
                urlencode(REDIRECT)
            ),
        )
        .await
    };
    let first = exchange().await;
    assert_eq!(first.status, 200, "{first:?}");
    assert!(first.body.get("refresh_token").is_none(), "{first:?}");
    verify_as_rp(&o.s, first.body["access_token"].as_str().unwrap(), "kiosk").await;
    let again = exchange().await;
    assert_eq!((again.status, again.error()), (400, "invalid_grant"));
    // The refresh token its use would have issued does not exist as one that refreshes.
    let sealed = shared::oidc::AuthorizationCode::open(&o.s.app.keys.secrets, &code).unwrap();
    let would_be = sealed.refresh_token(&o.s.app.keys.tokens);
    for client in [
        format!("client_id=kiosk&client_secret={secret}"),
        format!("client_id=wiki&client_secret={}", o.client_secret),
    ] {
        let r =
            o.s.form(
                "/token",
                &format!("grant_type=refresh_token&refresh_token={would_be}&{client}"),
            )
            .await;
        assert_eq!((r.status, r.error()), (400, "invalid_grant"), "{r:?}");
    }
}

#[tokio::test]
async fn a_code_the_clients_policy_refuses_at_redemption_is_used_up() {
    let o = provider().await;
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let policy = |kinds: Vec<shared::policy::AccountKind>| ClientSpec {
        redirect_uris: vec![REDIRECT.into()],
        allowed_kinds: Some(kinds),
        ..Default::default()
    };
    let put = async |spec| {
        clients::put(&o.s.app, &Actor::Operator("test"), "wiki", spec)
            .await
            .unwrap();
    };
    put(policy(vec![Sysadmin])).await;
    let r = o.exchange(&code, VERIFIER).await;
    assert_eq!((r.status, r.error()), (400, "unauthorized_client"), "{r:?}");
    put(policy(vec![Staff, Sysadmin])).await;
    let r = o.exchange(&code, VERIFIER).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "invalid_grant"),
        "burnt: {r:?}"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let o = provider().await;
    let t = o.tokens().await;
    let first = t["refresh_token"].as_str().unwrap().to_owned();
    let r = o.refresh(&first).await;
    assert_eq!(r.status, 200, "{r:?}");
    let second = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let again = o.refresh(&first).await;
    assert_eq!(again.error(), "invalid_grant", "rotated out");
    let r = o.refresh(&second).await;
    assert_eq!(
        r.error(),
        "invalid_grant",
        "the reuse revoked the whole family"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_used_twice_at_once_revokes_the_family() {
    let o = Arc::new(provider().await);
    let t = o.tokens().await;
    let token = t["refresh_token"].as_str().unwrap().to_owned();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (o, token) = (o.clone(), token.clone());
            tokio::spawn(async move { o.refresh(&token).await })
        })
        .collect();
    let mut winners = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 200 {
            winners.push(r.body["refresh_token"].as_str().unwrap().to_owned());
        }
    }
    assert!(winners.len() <= 1);
    for w in winners {
        assert_eq!(
            o.refresh(&w).await.error(),
            "invalid_grant",
            "family revoked"
        );
    }
}

#[tokio::test]
async fn everything_granted_dies_with_the_sign_in_session() {
    let o = provider().await;
    let t = o.tokens().await;
    let access = t["access_token"].as_str().unwrap();
    // An admin's reset of jane's MFA ends her sessions, and with them the refresh token.
    shared::flows::admin::reset_mfa(&o.s.app, &Actor::Operator("test"), "jane")
        .await
        .unwrap();
    assert_eq!(
        o.refresh(t["refresh_token"].as_str().unwrap())
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(o.s.get("/userinfo", Some(access)).await.status, 401);
    // Idle: 30 minutes without use.
    let o = provider().await;
    let t = o.tokens().await;
    o.s.app.clock.advance(31 * 60);
    assert_eq!(
        o.refresh(t["refresh_token"].as_str().unwrap())
            .await
            .error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn sign_out_by_cookie_needs_our_own_origin() {
    let o = provider().await;
    let (_, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let post = |origin: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/sign-out")
            .header(header::COOKIE, format!("__Host-mfa_session={cookie}"))
            .header(header::ORIGIN, origin)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(o.s.raw(post("https://evil.example")).await.status, 403);
    // With no session at all there is nothing to protect: the answer is "sign in first".
    let nothing = Request::post("/sign-out").body(Body::empty()).unwrap();
    let r = o.s.raw(nothing).await;
    assert_eq!((r.status, r.error()), (401, "unauthenticated"), "{r:?}");
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        200
    );
    let r = o.s.raw(post(ISSUER)).await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn the_session_cookie_is_host_only_secure_http_only_and_lax() {
    let o = provider().await;
    let r = o.s.sign_in("mem", PASSWORD).await;
    let c = r.header("set-cookie").unwrap();
    assert!(c.starts_with("__Host-mfa_session="), "{c}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(c.contains(attr), "{c}");
    }
    assert!(!c.contains("Domain"), "host-only");
}

#[tokio::test]
async fn end_session_signs_out_and_returns_only_to_a_registered_uri() {
    let o = provider().await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let t = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await
        .body;
    let hint = t["id_token"].as_str().unwrap();
    let r = get_with_cookie(
        &o.s,
        &format!(
            "/end-session?id_token_hint={hint}&post_logout_redirect_uri={}",
            urlencode("https://evil.example/")
        ),
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    let r = get_with_cookie(
        &o.s,
        &format!(
            "/end-session?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
            urlencode(LOGOUT)
        ),
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("{LOGOUT}?state=bye").as_str())
    );
    assert_eq!(
        o.refresh(t["refresh_token"].as_str().unwrap())
            .await
            .error(),
        "invalid_grant"
    );
    // A forged hint (alg none) is refused.
    let parts: Vec<&str> = hint.split('.').collect();
    let forged = format!(
        "{}.{}.",
        BASE64URL_NOPAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let r =
        o.s.get(&format!("/end-session?id_token_hint={forged}"), None)
            .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn api_users_get_a_jwt_access_token_and_staff_never_get_one_without_a_code() {
    let o = provider().await;
    let r =
        o.s.form(
            "/token",
            &format!(
                "grant_type=password&username=robot&password={}",
                urlencode(PASSWORD)
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        decode_header(access).unwrap().typ.as_deref(),
        Some("at+jwt")
    );
    let claims = verify_as_rp(&o.s, access, "api").await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(
        o.s.get("/session", Some(access)).await.body["username"],
        "robot"
    );
    let r =
        o.s.form(
            "/token",
            &format!(
                "grant_type=password&username=jane&password={}",
                urlencode(PASSWORD)
            ),
        )
        .await;
    assert_eq!(r.error(), "unauthorized_client");
}

#[tokio::test]
async fn a_member_signing_in_for_a_site_that_admits_members_gets_amr_and_acr_pwd() {
    let o = provider().await;
    // The wiki, re-registered to admit members without a code.
    clients::put(
        &o.s.app,
        &Actor::Operator("test"),
        "wiki",
        ClientSpec {
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![LOGOUT.into()],
            allowed_kinds: Some(vec![Staff, Sysadmin, Member]),
            require_code: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = o.s.get(&authorize_url("wiki", REDIRECT, ""), None).await;
    let authorization = query_param(r.header("location").unwrap(), "authorization").unwrap();
    let r =
        o.s.post(
            "/sign-in",
            json!({ "username": "mem", "password": PASSWORD, "authorization": authorization }),
        )
        .await;
    let to = r.body["redirect_to"].as_str().unwrap();
    let t = o
        .exchange(&query_param(to, "code").unwrap(), VERIFIER)
        .await;
    let id = verify_as_rp(&o.s, t.body["id_token"].as_str().unwrap(), "wiki").await;
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(
        (id["acr"].as_str(), id["kind"].as_str()),
        (Some("pwd"), Some("member"))
    );
    let at = verify_as_rp(&o.s, t.body["access_token"].as_str().unwrap(), "wiki").await;
    assert_eq!(
        at["scope"], "openid profile email",
        "no mfa scope without a code"
    );
}

#[tokio::test]
async fn a_key_rotation_fails_no_verification() {
    let o = provider().await;
    let before = o.tokens().await;
    let token = before["access_token"].as_str().unwrap().to_owned();
    let next_kid = {
        let keys = o.s.get("/jwks.json", None).await.body["keys"].clone();
        let signing = decode_header(&token).unwrap().kid.unwrap();
        keys.as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .find(|k| *k != signing)
            .unwrap()
    };
    // Refused until the next key has been published for two hours.
    assert!(
        shared::flows::signing_keys::rotate(&o.s.app.store, &o.s.app.keys, o.s.app.now())
            .await
            .is_err()
    );
    o.s.app.clock.advance(2 * 3600);
    shared::flows::signing_keys::rotate(&o.s.app.store, &o.s.app.keys, o.s.app.now())
        .await
        .unwrap();
    o.s.app.clock.advance(301); // past every instance's key cache
    // The old token still verifies (its key is retired, still published) ...
    verify_as_rp(&o.s, &token, "wiki").await;
    // ... and new tokens are signed by the key that was published ahead.
    let after = o.tokens().await;
    let kid = decode_header(after["access_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(kid, next_kid);
    assert_eq!(
        o.s.get("/jwks.json", None).await.body["keys"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

/// The schedule (EventBridge every minute, which the settings function answers with
/// `rollout::tick`, as here) rotates the keys 30 days after the last rotation, with the same publish-ahead rule: tokens
/// signed before still verify, new ones use the key published a month ahead; two runs at once
/// rotate once.
#[tokio::test]
async fn the_schedule_rotates_the_signing_keys_every_thirty_days() {
    let o = provider().await;
    let token = o.tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kids = |keys: &serde_json::Value| -> Vec<String> {
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = kids(&o.s.get("/jwks.json", None).await.body);
    assert_eq!(o.s.tick().await.rotated, Vec::<String>::new(), "not due");
    o.s.app.clock.advance(29 * 86_400);
    assert!(o.s.tick().await.rotated.is_empty(), "29 days: not due");
    o.s.app.clock.advance(86_400);
    let (a, b) = tokio::join!(o.s.tick(), o.s.tick());
    let rotated: Vec<&Vec<String>> = [&a.rotated, &b.rotated]
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(
        rotated.len(),
        1,
        "two runs at once rotate once: {a:?} {b:?}"
    );
    assert!(
        rotated[0].iter().any(|l| l.starts_with("retired ")),
        "{rotated:?}"
    );
    assert!(
        o.s.tick().await.rotated.is_empty(),
        "done for another 30 days"
    );
    o.s.app.clock.advance(301); // past every instance's key cache
    let after = kids(&o.s.get("/jwks.json", None).await.body);
    assert_eq!(after.len(), 3, "retired, current and a new next: {after:?}");
    assert!(
        before.iter().all(|k| after.contains(k)),
        "both old keys still published"
    );
    // The 30-day-old token's key is still published (its signature checks; it has expired).
    let kid = decode_header(&token).unwrap().kid.unwrap();
    assert!(after.contains(&kid));
    // New tokens are signed by the key that was `next` before.
    let fresh = o.tokens().await;
    let signing = decode_header(fresh["access_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert!(
        before.contains(&signing) && signing != kid,
        "{signing} {kid}"
    );
    verify_as_rp(&o.s, fresh["access_token"].as_str().unwrap(), "wiki").await;
}

/// Two rotations at once write once, even one that only adds a key (no state to condition on):
/// the key ring's version is.
#[tokio::test]
async fn two_rotations_that_only_add_a_key_add_one() {
    let o = provider().await;
    let store = &o.s.app.store;
    // The next key gone (as after a failed first rotation): a rotation adds one.
    let next = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.state == shared::signing::KeyState::Next)
        .unwrap();
    store
        .client()
        .delete_item()
        .table_name(&o.s.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("ORG".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("SIGNING_KEY#{}", next.kid)),
        )
        .send()
        .await
        .unwrap();
    let now = o.s.app.now();
    let (a, b) = tokio::join!(
        shared::flows::signing_keys::rotate(store, &o.s.app.keys, now),
        shared::flows::signing_keys::rotate(store, &o.s.app.keys, now)
    );
    assert!(a.is_ok() != b.is_ok(), "one writes: {a:?} {b:?}");
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(loser, Err(shared::Error::Conflict(_))),
        "{loser:?}"
    );
    let nexts = store
        .signing_keys()
        .await
        .unwrap()
        .iter()
        .filter(|k| k.state == shared::signing::KeyState::Next)
        .count();
    assert_eq!(nexts, 1);
}

#[tokio::test]
async fn the_sign_in_page_lists_the_organisations_sites_for_a_signed_in_user() {
    let o = provider().await;
    let r = o.s.sign_in("mem", PASSWORD).await;
    let cookie = cookie_of(&r);
    let sites = get_with_cookie(&o.s, "/sign-in/sites", Some(&cookie)).await;
    assert_eq!(sites.status, 200);
    assert_eq!(
        sites.body["sites"],
        json!([{ "client_id": "wiki", "name": "Staff wiki", "home_url": "https://wiki.example.org/" }])
    );
    // The signed-in page names the organisation.
    assert_eq!(sites.body["org_name"], "Acme");
    assert_eq!(
        get_with_cookie(&o.s, "/sign-in/sites", None).await.status,
        401
    );
}

#[tokio::test]
async fn a_hint_for_someone_elses_session_does_not_sign_the_browser_out() {
    let o = provider().await;
    let attacker = o.tokens().await;
    let hint = attacker["id_token"].as_str().unwrap();
    // The victim's browser, signed in on its own.
    let victim = o.s.sign_in("mem", PASSWORD).await;
    let cookie = cookie_of(&victim);
    let r = get_with_cookie(
        &o.s,
        &format!("/end-session?id_token_hint={hint}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("Sign out?"), "asked first");
    assert!(r.header("set-cookie").is_none());
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn userinfo_without_a_valid_token_names_the_bearer_scheme() {
    let o = provider().await;
    let r = o.s.get("/userinfo", Some("not.a.token")).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
}
