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

fn claims(sub: &str) -> Value {
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now() + 300, "iat": now(), "nbf": now() - 5 })
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
    let r = federated(&s, "social", &rs256(&claims("sub-staff"))).await;
    assert_eq!((r.status, r.error()), (403, "social_sign_in_disabled"));
    assert!(r.body["message"].as_str().unwrap().contains("password"));
    let r = federated(&s, "social", &rs256(&claims("sub-member"))).await;
    assert_eq!(r.status, 200, "members may still use it: {r:?}");
    assert_eq!(r.body["mfa"], "not_required");
}

#[tokio::test]
async fn social_login_works_for_staff_while_mfa_is_off() {
    let s = stack(false, &[]).await;
    let r = federated(&s, "social", &rs256(&claims("sub-staff"))).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn the_organisations_sso_bypasses_mfa_and_is_audited() {
    let s = stack(true, &[]).await;
    let es = sign(&ec(), Algorithm::ES256, "ec-1", &claims("sub-staff"));
    let r = federated(&s, "corp-sso", &es).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["mfa"], "delegated");
    let me = s.get("/session", r.body["session"].as_str()).await;
    assert_eq!(
        (me.body["username"].as_str(), me.body["mfa"].as_str()),
        (Some("staff1"), Some("delegated"))
    );
    let log = s.app.store.recent_audit(50).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.outcome == "signed_in_mfa_delegated" && e.actor == "staff1")
    );
}

#[tokio::test]
async fn sso_without_the_required_amr_is_refused() {
    let s = stack(true, &["mfa"]).await;
    let mut c = claims("sub-staff");
    c["amr"] = json!(["pwd"]);
    let r = federated(&s, "corp-sso", &rs256(&c)).await;
    assert_eq!((r.status, r.error()), (403, "idp_mfa_required"));
    federated(&s, "corp-sso", &rs256(&claims("sub-staff"))).await;
    c["amr"] = json!(["pwd", "mfa"]);
    let r = federated(&s, "corp-sso", &rs256(&c)).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn bad_tokens_are_refused_audited_and_make_no_session() {
    let s = stack(false, &[]).await;
    let t = now();
    let with = |k: &str, v: Value| {
        let mut c = claims("sub-member");
        c[k] = v;
        c
    };
    let good = rs256(&claims("sub-member"));
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
                &claims("sub-member"),
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
                &claims("sub-member"),
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
            sign(&rsa(), Algorithm::RS256, "nope", &claims("sub-member")),
        ),
        ("unlinked subject", rs256(&claims("sub-nobody"))),
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
    let log = s.app.store.recent_audit(100).await.unwrap();
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
