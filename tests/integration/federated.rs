//! Federated sign-in: social logins refused to staff while MFA is on, the organisation's SSO
//! delegating MFA (with `amr` proof when asked), and every kind of bad token refused.

use harness::{PASSWORD, Stack, address};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use shared::policy::AccountKind::*;

const ISSUER: &str = "https://idp.example.org";
const AUDIENCE: &str = "staff-mfa";

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(&pem("idp-rsa.pem")).unwrap()
}

fn ec() -> EncodingKey {
    EncodingKey::from_ec_pem(&pem("idp-ec.pem")).unwrap()
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

// Tests need real time here: unique names, and tokens an identity provider would sign now.
#[allow(clippy::disallowed_methods)]
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(sub: &str, nonce: &str) -> Value {
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now() + 300, "iat": now(), "nbf": now() - 5, "nonce": nonce })
}

/// A nonce we issued for a raw token from `provider`.
async fn nonce(s: &Stack, provider: &str) -> String {
    let r = s
        .post("/sign-in/federated/nonce", json!({ "provider": provider }))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["nonce"].as_str().unwrap().to_owned()
}

fn sign(key: &EncodingKey, alg: Algorithm, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    encode(&header, claims, key).unwrap()
}

fn rs256(claims: &Value) -> String {
    sign(&rsa(), Algorithm::RS256, "rsa-1", claims)
}

/// A stack with a social and an sso provider, accounts linked to both, and an admin session.
async fn stack(mfa_on: bool, require_amr: &[&str]) -> Stack {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("staff1", Staff, Some(&address("staff1")), None).await;
    s.add("member1", Member, None, None).await;
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwks = json!({ "keys": [jwk(&rsa(), Algorithm::RS256, "rsa-1"), jwk(&ec(), Algorithm::ES256, "ec-1")] });
    for (id, kind, amr) in [
        ("social", "social", vec![]),
        ("corp-sso", "sso", require_amr.to_vec()),
    ] {
        let body = json!({ "kind": kind, "issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks, "require_amr": amr });
        let r = s
            .send(
                axum::http::Method::PUT,
                &format!("/settings/providers/{id}"),
                Some(&body),
                Some(&admin),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    for (user, sub) in [("staff1", "sub-staff"), ("member1", "sub-member")] {
        for provider in ["social", "corp-sso"] {
            mfa_admin::link_account(&s.app.store, user, provider, sub)
                .await
                .unwrap();
        }
    }
    s.set_mfa(mfa_on).await;
    s
}

async fn federated(s: &Stack, provider: &str, token: &str) -> harness::Resp {
    s.post(
        "/sign-in/federated",
        json!({ "provider": provider, "id_token": token }),
    )
    .await
}

async fn sessions(s: &Stack) -> usize {
    s.dump()
        .await
        .iter()
        .filter(|i| i.contains("SESSION#"))
        .count()
}

#[tokio::test]
async fn social_login_is_refused_to_staff_while_mfa_is_on() {
    let s = stack(true, &[]).await;
    let n = nonce(&s, "social").await;
    let r = federated(&s, "social", &rs256(&claims("sub-staff", &n))).await;
    assert_eq!((r.status, r.error()), (403, "social_sign_in_disabled"));
    assert!(r.body["message"].as_str().unwrap().contains("password"));
    let n = nonce(&s, "social").await;
    let r = federated(&s, "social", &rs256(&claims("sub-member", &n))).await;
    assert_eq!(r.status, 200, "members may still use it: {r:?}");
    assert_eq!(r.body["mfa"], "not_required");
}

#[tokio::test]
async fn social_login_works_for_staff_while_mfa_is_off() {
    let s = stack(false, &[]).await;
    let n = nonce(&s, "social").await;
    let token = rs256(&claims("sub-staff", &n));
    let r = federated(&s, "social", &token).await;
    assert_eq!(r.status, 200, "{r:?}");
    let again = federated(&s, "social", &token).await;
    assert_eq!(
        (again.status, again.error()),
        (401, "invalid_token"),
        "a nonce is good once"
    );
}

#[tokio::test]
async fn a_raw_token_without_a_nonce_we_issued_is_refused() {
    let s = stack(false, &[]).await;
    for n in ["", "made-up-nonce-0000000000000000000000000000"] {
        let r = federated(&s, "social", &rs256(&claims("sub-member", n))).await;
        assert_eq!((r.status, r.error()), (401, "invalid_token"), "{n:?}");
    }
    // A nonce issued for another provider does not do either.
    let other = nonce(&s, "corp-sso").await;
    let r = federated(&s, "social", &rs256(&claims("sub-member", &other))).await;
    assert_eq!((r.status, r.error()), (401, "invalid_token"));
}

#[tokio::test]
async fn the_organisations_sso_bypasses_mfa_and_is_audited() {
    let s = stack(true, &[]).await;
    let n = nonce(&s, "corp-sso").await;
    let es = sign(&ec(), Algorithm::ES256, "ec-1", &claims("sub-staff", &n));
    let r = federated(&s, "corp-sso", &es).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["mfa"], "delegated");
    let me = s.get("/session", r.body["session"].as_str()).await;
    assert_eq!(
        (me.body["username"].as_str(), me.body["mfa"].as_str()),
        (Some("staff1"), Some("delegated"))
    );
    let log = s.app.recent_audit(50).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.outcome == "signed_in_mfa_delegated" && e.actor == "staff1")
    );
}

#[tokio::test]
async fn sso_without_the_required_amr_is_refused() {
    let s = stack(true, &["mfa"]).await;
    let mut c = claims("sub-staff", &nonce(&s, "corp-sso").await);
    c["amr"] = json!(["pwd"]);
    let r = federated(&s, "corp-sso", &rs256(&c)).await;
    assert_eq!((r.status, r.error()), (403, "idp_mfa_required"));
    let c2 = claims("sub-staff", &nonce(&s, "corp-sso").await);
    federated(&s, "corp-sso", &rs256(&c2)).await;
    c = claims("sub-staff", &nonce(&s, "corp-sso").await);
    c["amr"] = json!(["pwd", "mfa"]);
    let r = federated(&s, "corp-sso", &rs256(&c)).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn bad_tokens_are_refused_audited_and_make_no_session() {
    let s = stack(false, &[]).await;
    let t = now();
    // Each case carries a nonce we issued, so the one defect it names is why it is refused.
    let mut nonces = vec![];
    for _ in 0..16 {
        nonces.push(nonce(&s, "social").await);
    }
    let next = std::cell::Cell::new(0);
    let fresh = || {
        let i = next.get();
        next.set(i + 1);
        nonces[i].clone()
    };
    let with = |k: &str, v: Value| {
        let mut c = claims("sub-member", &fresh());
        c[k] = v;
        c
    };
    let good = rs256(&claims("sub-member", &fresh()));
    let payload = good.split('.').nth(1).unwrap();
    let b64 = |v: Value| data_encoding::BASE64URL_NOPAD.encode(v.to_string().as_bytes());
    let cases: Vec<(&str, String)> = vec![
        ("expired", rs256(&with("exp", json!(t - 3600)))),
        ("not yet valid", rs256(&with("nbf", json!(t + 3600)))),
        ("issued in the future", rs256(&with("iat", json!(t + 3600)))),
        (
            "another audience",
            rs256(&with("aud", json!("someone-else"))),
        ),
        (
            "another issuer",
            rs256(&with("iss", json!("https://evil.example"))),
        ),
        (
            "another key",
            sign(
                &EncodingKey::from_rsa_pem(&pem("other-rsa.pem")).unwrap(),
                Algorithm::RS256,
                "rsa-1",
                &claims("sub-member", &fresh()),
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{payload}.",
                b64(json!({ "alg": "none", "kid": "rsa-1" }))
            ),
        ),
        (
            "hmac with the public key",
            sign(
                &EncodingKey::from_secret(&pem("idp-rsa.pub.pem")),
                Algorithm::HS256,
                "rsa-1",
                &claims("sub-member", &fresh()),
            ),
        ),
        (
            "ES256 header on an RSA key",
            format!(
                "{}.{payload}.{}",
                b64(json!({ "alg": "ES256", "kid": "rsa-1" })),
                good.rsplit('.').next().unwrap()
            ),
        ),
        ("truncated", good[..good.len() - 10].to_owned()),
        ("garbage", "not.a.token".into()),
        (
            "unknown kid",
            sign(
                &rsa(),
                Algorithm::RS256,
                "nope",
                &claims("sub-member", &fresh()),
            ),
        ),
        ("unlinked subject", rs256(&claims("sub-nobody", &fresh()))),
        ("another azp", rs256(&with("azp", json!("someone-else")))),
        (
            "several audiences, no azp",
            rs256(&with("aud", json!([AUDIENCE, "someone-else"]))),
        ),
        ("no subject", rs256(&with("sub", json!("")))),
    ];
    let before = sessions(&s).await;
    for (what, token) in &cases {
        let r = federated(&s, "social", token).await;
        assert_eq!(
            (r.status, r.error()),
            (401, "invalid_token"),
            "{what}: {r:?}"
        );
    }
    let r = federated(&s, "no-such-provider", &good).await;
    assert_eq!((r.status, r.error()), (401, "invalid_token"));
    assert_eq!(sessions(&s).await, before, "no session was made");
    let log = s.app.recent_audit(100).await.unwrap();
    let refusals = log
        .iter()
        .filter(|e| e.action == "federated_sign_in" && e.outcome != "signed_in")
        .count();
    assert!(
        refusals >= cases.len(),
        "{refusals} audit entries for {} refusals",
        cases.len()
    );
    assert_eq!(
        federated(&s, "social", &good).await.status,
        200,
        "the good token still works"
    );
}

#[tokio::test]
async fn provider_settings_are_validated() {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = async |id: &str, body: Value| {
        s.send(
            axum::http::Method::PUT,
            &format!("/settings/providers/{id}"),
            Some(&body),
            Some(&admin),
        )
        .await
    };
    let jwks = json!({ "keys": [jwk(&rsa(), Algorithm::RS256, "rsa-1")] });
    let ok = json!({ "kind": "sso", "issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks });
    assert_eq!(put("corp", ok.clone()).await.status, 200);
    assert_eq!(put("Bad_Id", ok.clone()).await.status, 400);
    let mut bad = ok.clone();
    bad["kind"] = json!("magic");
    assert_eq!(put("corp", bad).await.status, 400);
    let mut hmac = ok.clone();
    hmac["jwks"] = json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] });
    assert_eq!(
        put("corp", hmac).await.status,
        400,
        "symmetric keys are refused"
    );
}

#[tokio::test]
async fn a_removed_provider_signs_nobody_in_and_takes_its_links_with_it() {
    let s = stack(false, &[]).await;
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = s.get("/settings/providers", Some(&admin)).await;
    assert_eq!(list.status, 200, "{list:?}");
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["corp-sso", "social"]);
    assert_eq!(list.body[1]["kind"], "social");
    assert_eq!(
        s.get("/settings/providers", None).await.status,
        401,
        "administrators only"
    );

    let pending = nonce(&s, "social").await;
    let delete = async |id: &str| {
        s.send(
            axum::http::Method::DELETE,
            &format!("/settings/providers/{id}"),
            None,
            Some(&admin),
        )
        .await
    };
    assert_eq!(delete("social").await.status, 204);
    assert_eq!(delete("social").await.status, 404, "gone already");
    assert_eq!(delete("Not_An_Id").await.status, 404);
    let r = federated(&s, "social", &rs256(&claims("sub-staff", &pending))).await;
    assert_ne!(r.status, 200, "nobody signs in through it: {r:?}");
    let list = s.get("/settings/providers", Some(&admin)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    // Added again under the same id and issuer, it starts with no links.
    let jwks = json!({ "keys": [jwk(&rsa(), Algorithm::RS256, "rsa-1")] });
    let body = json!({ "kind": "social", "issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks });
    let r = s
        .send(
            axum::http::Method::PUT,
            "/settings/providers/social",
            Some(&body),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let n = nonce(&s, "social").await;
    let r = federated(&s, "social", &rs256(&claims("sub-staff", &n))).await;
    assert_ne!(r.status, 200, "the old link went with the provider: {r:?}");
    let entries = s.app.recent_audit(100).await.unwrap();
    assert!(
        entries.iter().any(|e| e.action == "provider_change"
            && e.target == "social"
            && e.outcome == "deleted"),
        "audited"
    );
}
