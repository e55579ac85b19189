//! Passkeys (WebAuthn), driven by a software authenticator (`webauthn-authenticator-rs`'s
//! SoftPasskey, which signs as a real authenticator does): registered from the account page with
//! a recent code, listed and removed; offered at the code step, signing in with `amr`
//! `["pwd","hwk","mfa"]` and counting as a recent code; every ceremony good once however many
//! requests race; a replayed assertion, another origin or RP ID, another user's challenge, a
//! credential registered elsewhere and a counter that goes back all refused, changing nothing, and
//! audited; an admin reset removes them; the policy holds chosen accounts to them.

use std::sync::Arc;

use harness::{Stack, address, latest_mail_to};
use serde_json::{Value, json};
use shared::policy::AccountKind::{self, *};
use webauthn_authenticator_rs::prelude::{Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// Where the harness serves: the issuer, the one origin passkeys are accepted from.
const ORIGIN: &str = "http://localhost:9000";

fn origin(url: &str) -> Url {
    Url::parse(url).unwrap()
}

/// A user's authenticator: a soft passkey that reports user verification (a PIN or biometric).
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// MFA on; `name` (of `kind`) enrolled and signed in with a code a moment ago. Returns the
/// session and the app's secret.
async fn signed_in(s: &Stack, name: &str, kind: AccountKind) -> (String, Vec<u8>) {
    s.add(name, kind, Some(&address(name)), None).await;
    let secret = s.enrolled(name).await;
    let c = s.challenge(name).await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    (r.body["session"].as_str().unwrap().to_owned(), secret)
}

async fn stack() -> Stack {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s
}

/// Starts a registration for the session's account and has `key` answer it: the credential the
/// browser would send to finish it.
async fn new_credential(s: &Stack, session: &str, key: &mut SoftPasskey) -> Value {
    let options = s
        .post_as(session, "/mfa/passkeys/register/start", json!({}))
        .await;
    assert_eq!(options.status, 200, "{options:?}");
    let credential = key
        .do_registration(
            origin(ORIGIN),
            serde_json::from_value(options.body).unwrap(),
        )
        .unwrap();
    serde_json::to_value(credential).unwrap()
}

/// Registers a passkey named `name` with `key` for the session's account.
async fn register(s: &Stack, session: &str, key: &mut SoftPasskey, name: &str) -> harness::Resp {
    let credential = new_credential(s, session, key).await;
    s.post_as(
        session,
        "/mfa/passkeys/register/finish",
        json!({ "name": name, "credential": credential }),
    )
    .await
}

/// The request options for signing in with a passkey against `challenge`.
async fn passkey_options(s: &Stack, challenge: &str) -> Value {
    let r = s
        .post("/mfa/passkey/start", json!({ "challenge": challenge }))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// The authenticator's answer to `options`, as the browser would give it from `at`.
fn assert_with(key: &mut SoftPasskey, at: &str, options: Value) -> Value {
    let answer = key
        .do_authentication(origin(at), serde_json::from_value(options).unwrap())
        .unwrap();
    serde_json::to_value(answer).unwrap()
}

async fn verify_passkey(s: &Stack, challenge: &str, assertion: &Value) -> harness::Resp {
    s.post(
        "/mfa/verify",
        json!({ "challenge": challenge, "passkey": assertion }),
    )
    .await
}

/// Signs in with password and passkey; the response.
async fn passkey_sign_in(s: &Stack, name: &str, key: &mut SoftPasskey) -> harness::Resp {
    let c = s.challenge(name).await;
    let options = passkey_options(s, &c).await;
    let assertion = assert_with(key, ORIGIN, options);
    verify_passkey(s, &c, &assertion).await
}

async fn sessions_of(s: &Stack, name: &str) -> usize {
    s.items()
        .await
        .iter()
        .filter(|((pk, _), v)| pk.starts_with("SESSION#") && v.contains(name))
        .count()
}

#[tokio::test]
async fn a_passkey_registered_from_the_account_page_signs_in_and_counts_as_a_recent_code() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    let r = register(&s, &session, &mut key, "  Work laptop ").await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["name"], "Work laptop");
    let list = s.get("/mfa/passkeys", Some(&session)).await;
    assert_eq!(
        list.body["passkeys"].as_array().unwrap().len(),
        1,
        "{list:?}"
    );
    assert_eq!(list.body["passkeys"][0]["name"], "Work laptop");
    assert!(list.body["passkeys"][0]["last_used_at"].is_null());
    let notice = latest_mail_to(&s.account_email("jane").await).unwrap();
    assert!(notice.subject.contains("passkey was added"), "{notice:?}");
    assert_eq!(s.audit_count("jane", "passkey_add", "created").await, 1);

    // At the code step the sign-in answer says a passkey is there to offer.
    let r = s.sign_in("jane", harness::PASSWORD).await;
    assert_eq!(r.body["passkey"], true, "{r:?}");

    let r = passkey_sign_in(&s, "jane", &mut key).await;
    assert_eq!(r.status, 200, "{r:?}");
    let me = shared::flows::sessions::authenticate(&s.app, r.body["session"].as_str())
        .await
        .unwrap();
    assert_eq!(me.amr, ["pwd", "hwk", "mfa"], "a device-bound key");
    // A passkey counts as a code for what needs a recent one.
    let codes = s
        .post_as(
            r.body["session"].as_str().unwrap(),
            "/mfa/recovery-codes",
            json!({}),
        )
        .await;
    assert_eq!(codes.status, 200, "{codes:?}");
    let list = s.get("/mfa/passkeys", Some(&session)).await;
    assert!(list.body["passkeys"][0]["last_used_at"].is_string());
    // The enrolment's first code, the code sign-in, and the passkey's.
    assert_eq!(s.audit_count("jane", "mfa_verify", "success").await, 3);
}

#[tokio::test]
async fn adding_or_removing_a_passkey_needs_a_recent_code_and_removal_ends_its_use() {
    let s = stack().await;
    let (session, secret) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "Phone").await.status, 201);
    let id = s.get("/mfa/passkeys", Some(&session)).await.body["passkeys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    s.app.clock.advance(11 * 60);
    let r = s
        .post_as(&session, "/mfa/passkeys/register/start", json!({}))
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.error(), "reauthentication_required");
    let path = format!("/mfa/passkeys/{id}");
    let r = s
        .send(axum::http::Method::DELETE, &path, None, Some(&session))
        .await;
    assert_eq!(r.status, 403, "{r:?}");

    let fresh = s
        .post_as(
            &session,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&secret) }),
        )
        .await;
    assert_eq!(fresh.status, 200, "{fresh:?}");
    let r = s
        .send(axum::http::Method::DELETE, &path, None, Some(&session))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(s.audit_count("jane", "passkey_remove", "deleted").await, 1);
    let r = s
        .send(axum::http::Method::DELETE, &path, None, Some(&session))
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(
        !s.dump().await.iter().any(|i| i.contains("CREDENTIAL#")),
        "the credential's claim went with it"
    );
    // No passkey to offer any more.
    let c = s.challenge("jane").await;
    let r = s
        .post("/mfa/passkey/start", json!({ "challenge": c }))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.error(), "no_passkey");
}

#[tokio::test]
async fn an_assertion_is_good_once() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "Key").await.status, 201);
    let c = s.challenge("jane").await;
    let assertion = assert_with(&mut key, ORIGIN, passkey_options(&s, &c).await);
    assert_eq!(verify_passkey(&s, &c, &assertion).await.status, 200);
    let before = sessions_of(&s, "jane").await;
    // The same answer again, on its own challenge and on a new one.
    let again = verify_passkey(&s, &c, &assertion).await;
    assert_eq!(again.status, 401, "{again:?}");
    let c2 = s.challenge("jane").await;
    passkey_options(&s, &c2).await;
    let replayed = verify_passkey(&s, &c2, &assertion).await;
    assert_eq!(replayed.status, 401, "{replayed:?}");
    assert_eq!(replayed.error(), "invalid_passkey");
    assert_eq!(sessions_of(&s, "jane").await, before, "no session made");
    assert_eq!(
        s.audit_count("jane", "mfa_verify", "invalid_passkey").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_assertion_sent_eight_times_at_once_signs_in_once() {
    let s = Arc::new(stack().await);
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "Key").await.status, 201);
    let before = sessions_of(&s, "jane").await;
    let c = s.challenge("jane").await;
    let assertion = assert_with(&mut key, ORIGIN, passkey_options(&s, &c).await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (s, c, a) = (s.clone(), c.clone(), assertion.clone());
            tokio::spawn(async move { verify_passkey(&s, &c, &a).await.status })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "one sign-in from one ceremony");
    assert_eq!(sessions_of(&s, "jane").await, before + 1);
}

#[tokio::test]
async fn another_origin_or_rp_id_is_refused_and_counted() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "Key").await.status, 201);
    let before = sessions_of(&s, "jane").await;
    let c = s.challenge("jane").await;
    // A look-alike on another port, and on a subdomain (the RP ID still ours).
    for at in ["http://localhost:9001", "https://evil.localhost"] {
        let assertion = assert_with(&mut key, at, passkey_options(&s, &c).await);
        let r = verify_passkey(&s, &c, &assertion).await;
        assert_eq!(r.status, 401, "{at}: {r:?}");
        assert_eq!(r.error(), "invalid_passkey");
    }
    // A site that asks in its own name (its own RP ID): the key signs for that site.
    let mut options = passkey_options(&s, &c).await;
    options["publicKey"]["rpId"] = json!("evil.localhost");
    let assertion = key
        .do_authentication(
            origin("https://evil.localhost"),
            serde_json::from_value(options).unwrap(),
        )
        .map(|a| serde_json::to_value(a).unwrap());
    if let Ok(assertion) = assertion {
        let r = verify_passkey(&s, &c, &assertion).await;
        assert_eq!(r.status, 401, "{r:?}");
    }
    assert_eq!(sessions_of(&s, "jane").await, before);
    assert!(s.audit_count("jane", "mfa_verify", "invalid_passkey").await >= 2);
    // Each counted against the challenge (5 each): the fourth try leaves one.
    let assertion = assert_with(
        &mut key,
        "http://localhost:9001",
        passkey_options(&s, &c).await,
    );
    let r = verify_passkey(&s, &c, &assertion).await;
    assert!(r.body["attempts_left"].as_u64().unwrap() <= 2, "{r:?}");
}

#[tokio::test]
async fn an_assertion_for_another_users_challenge_is_refused() {
    let s = stack().await;
    let (jane, _) = signed_in(&s, "jane", Staff).await;
    let (bob, _) = signed_in(&s, "bob", Staff).await;
    let mut janes = authenticator();
    let mut bobs = authenticator();
    assert_eq!(register(&s, &jane, &mut janes, "Jane's").await.status, 201);
    assert_eq!(register(&s, &bob, &mut bobs, "Bob's").await.status, 201);
    let jc = s.challenge("jane").await;
    let bc = s.challenge("bob").await;
    let janes_answer = assert_with(&mut janes, ORIGIN, passkey_options(&s, &jc).await);
    passkey_options(&s, &bc).await;
    let before = sessions_of(&s, "bob").await;
    let r = verify_passkey(&s, &bc, &janes_answer).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(sessions_of(&s, "bob").await, before);
    assert_eq!(
        s.audit_count("bob", "mfa_verify", "invalid_passkey").await,
        1
    );
    // Jane's own sign-in is untouched by it.
    assert_eq!(verify_passkey(&s, &jc, &janes_answer).await.status, 200);
}

#[tokio::test]
async fn a_credential_registered_to_another_account_is_refused() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    let credential = new_credential(&s, &session, &mut key).await;
    // The credential already belongs to bob.
    let id = credential["id"].as_str().unwrap();
    let mut claim = std::collections::HashMap::new();
    use aws_sdk_dynamodb::types::AttributeValue::S;
    claim.insert("pk".to_owned(), S(format!("CREDENTIAL#{id}")));
    claim.insert("sk".to_owned(), S("CREDENTIAL".into()));
    claim.insert("username".to_owned(), S("bob".into()));
    s.put_raw(&[claim]).await;
    let r = s
        .post_as(
            &session,
            "/mfa/passkeys/register/finish",
            json!({ "name": "Stolen", "credential": credential }),
        )
        .await;
    assert_eq!(r.status, 409, "{r:?}");
    let list = s.get("/mfa/passkeys", Some(&session)).await;
    assert!(list.body["passkeys"].as_array().unwrap().is_empty());
    assert_eq!(
        s.audit_count("jane", "passkey_add", "credential_in_use")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_finishes_once_and_only_for_the_session_that_started_it() {
    let s = Arc::new(stack().await);
    let (session, secret) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    let credential = new_credential(&s, &session, &mut key).await;
    let body = json!({ "name": "Key", "credential": credential });
    // Another session of the same account cannot finish it.
    let c = s.challenge("jane").await;
    s.app.clock.advance(30);
    let other = s.verify(&c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .post_as(&other, "/mfa/passkeys/register/finish", body.clone())
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.error(), "ceremony_expired");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (s, session, body) = (s.clone(), session.clone(), body.clone());
            tokio::spawn(async move {
                s.post_as(&session, "/mfa/passkeys/register/finish", body)
                    .await
                    .status
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == 201 {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let list = s.get("/mfa/passkeys", Some(&session)).await;
    assert_eq!(list.body["passkeys"].as_array().unwrap().len(), 1);
}

/// Sets the stored counter of `name`'s passkey to `count`, as if a copy of the key had been used
/// that many times.
async fn counted_to(s: &Stack, name: &str, count: u64) {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let items = s.items().await;
    let ((pk, sk), _) = items
        .iter()
        .find(|((pk, sk), _)| pk == &format!("ACCOUNT#{name}") && sk.starts_with("PASSKEY#"))
        .unwrap();
    let mut item = s
        .app
        .store
        .client()
        .get_item()
        .table_name(&s.table)
        .key("pk", S(pk.clone()))
        .key("sk", S(sk.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut passkey: Value = serde_json::from_str(item["passkey"].as_s().unwrap()).unwrap();
    passkey["cred"]["counter"] = json!(count);
    item.insert("passkey".into(), S(passkey.to_string()));
    item.insert("sign_count".into(), N(count.to_string()));
    s.put_raw(&[item]).await;
}

#[tokio::test]
async fn a_counter_that_goes_back_is_refused_and_the_passkey_kept() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "Key").await.status, 201);
    assert_eq!(passkey_sign_in(&s, "jane", &mut key).await.status, 200);
    let before = sessions_of(&s, "jane").await;
    // The table has seen this credential count to 100 (a copy of the key was used meanwhile):
    // the authenticator's next count, 2, goes back.
    counted_to(&s, "jane", 100).await;
    let r = passkey_sign_in(&s, "jane", &mut key).await;
    assert_eq!(r.status, 401, "{r:?}");
    // The same once the ceremony has started: the count is compared with the one kept now, not
    // only with the one the ceremony started with.
    counted_to(&s, "jane", 1).await;
    let c = s.challenge("jane").await;
    let options = passkey_options(&s, &c).await;
    counted_to(&s, "jane", 100).await;
    let assertion = assert_with(&mut key, ORIGIN, options);
    let r = verify_passkey(&s, &c, &assertion).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(sessions_of(&s, "jane").await, before);
    assert_eq!(
        s.audit_count("jane", "mfa_verify", "counter_regressed")
            .await,
        2
    );
    let list = s.get("/mfa/passkeys", Some(&session)).await;
    assert_eq!(list.body["passkeys"].as_array().unwrap().len(), 1, "kept");
}

#[tokio::test]
async fn a_new_passkey_sign_in_replaces_the_last_and_the_partition_stays_small() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "Key").await.status, 201);
    let first = s.challenge("jane").await;
    let first_options = passkey_options(&s, &first).await;
    for _ in 0..5 {
        let c = s.challenge("jane").await;
        passkey_options(&s, &c).await;
    }
    let ceremonies = s
        .items()
        .await
        .keys()
        .filter(|(pk, sk)| pk == "ACCOUNT#jane" && sk.starts_with("PASSKEY_CEREMONY#"))
        .count();
    assert_eq!(
        ceremonies, 1,
        "one sign-in ceremony kept, however many were started"
    );
    // The first sign-in's options were replaced: its answer is refused, and audited.
    let assertion = assert_with(&mut key, ORIGIN, first_options);
    let r = verify_passkey(&s, &first, &assertion).await;
    assert_eq!(r.status, 401, "{r:?}");
    // Asked again, it signs in.
    let assertion = assert_with(&mut key, ORIGIN, passkey_options(&s, &first).await);
    assert_eq!(verify_passkey(&s, &first, &assertion).await.status, 200);
    // Replayed after the sign-in: refused and audited as a replay.
    let again = verify_passkey(&s, &first, &assertion).await;
    assert_eq!(again.status, 401, "{again:?}");
    assert_eq!(
        s.audit_count("jane", "mfa_verify", "replay_refused").await,
        1
    );
}

#[tokio::test]
async fn an_admin_reset_removes_the_passkeys() {
    let s = stack().await;
    let (session, _) = signed_in(&s, "jane", Staff).await;
    let mut key = authenticator();
    assert_eq!(register(&s, &session, &mut key, "One").await.status, 201);
    assert_eq!(register(&s, &session, &mut key, "Two").await.status, 201);
    let people = s.app.store.staff_accounts().await.unwrap();
    let jane = people
        .staff
        .iter()
        .find(|p| p.account.username == "jane")
        .unwrap();
    assert_eq!(jane.account.passkeys, 2, "the people table's count");
    s.tick().await;
    let ready = shared::flows::admin::readiness(&s.app).await.unwrap();
    assert_eq!(ready.tally.with_passkey, 1, "the readiness report's");
    shared::flows::admin::reset_mfa(
        &s.app,
        &shared::flows::guard::Actor::Operator("test"),
        "jane",
    )
    .await
    .unwrap();
    let dump = s.dump().await;
    assert!(
        !dump
            .iter()
            .any(|i| i.contains("PASSKEY") || i.contains("CREDENTIAL#")),
        "{dump:?}"
    );
    let people = s.app.store.staff_accounts().await.unwrap();
    let jane = people
        .staff
        .iter()
        .find(|p| p.account.username == "jane")
        .unwrap();
    assert_eq!(jane.account.passkeys, 0);
}

#[tokio::test]
async fn the_policy_holds_sysadmins_with_a_passkey_to_it() {
    let s = Stack::new().await;
    let (admin, admin_secret) = signed_in(&s, "root", Sysadmin).await;
    let (jane, jane_secret) = signed_in(&s, "jane", Staff).await;
    let mut admins = authenticator();
    let mut janes = authenticator();
    assert_eq!(
        register(&s, &admin, &mut admins, "Admin key").await.status,
        201
    );
    assert_eq!(
        register(&s, &jane, &mut janes, "Jane key").await.status,
        201
    );
    let r = s
        .send(
            axum::http::Method::PUT,
            "/settings",
            Some(&json!({ "phishing_resistant_required_for": "sysadmin" })),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["phishing_resistant_required_for"], "sysadmin");
    let bad = s
        .send(
            axum::http::Method::PUT,
            "/settings",
            Some(&json!({ "phishing_resistant_required_for": "everyone" })),
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");

    // The sysadmin's code is refused before it is counted, with a clear message.
    s.app.clock.advance(30);
    let c = s.challenge("root").await;
    let r = s.verify(&c, &s.code(&admin_secret)).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.error(), "passkey_required");
    assert!(r.body["message"].as_str().unwrap().contains("passkey"));
    assert_eq!(
        s.audit_count("root", "mfa_verify", "passkey_required")
            .await,
        1
    );
    let r = s
        .post_as(
            &admin,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&admin_secret) }),
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    // The passkey signs in, on the same challenge.
    let assertion = assert_with(&mut admins, ORIGIN, passkey_options(&s, &c).await);
    assert_eq!(verify_passkey(&s, &c, &assertion).await.status, 200);
    // Staff are not held to it under `sysadmin`.
    let c = s.challenge("jane").await;
    assert_eq!(s.verify(&c, &s.code(&jane_secret)).await.status, 200);
}
