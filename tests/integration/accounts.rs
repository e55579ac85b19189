//! Accounts over their life: "Forgot your password?" (the same answer for everyone, a single-use
//! 30-minute link, a code too when the account has MFA, every session ended, a notice),
//! invitations, and disabling, enabling and deleting accounts.

use std::time::{Duration, Instant};

use harness::{PASSWORD, Stack, address, latest_mail_to, mails_to};
use serde_json::json;
use shared::policy::AccountKind::*;

const NEW_PASSWORD: &str = "a brand new passphrase 2026";

fn reset_token(body: &str) -> String {
    let start = body.find("/password/reset?token=").unwrap() + "/password/reset?token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn stack() -> Stack {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.set_mfa(false).await;
    s
}

#[tokio::test]
async fn forgot_password_answers_alike_for_everyone_and_mails_only_real_accounts() {
    let s = stack().await;
    let to = address("kim");
    s.add("kim", Staff, Some(&to), None).await;
    let known = s
        .post("/password/forgot", json!({ "username": "kim" }))
        .await;
    let unknown = s
        .post("/password/forgot", json!({ "username": "nobody-here" }))
        .await;
    assert_eq!(known.status, 202);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(mails_to(&to).len(), 1);
    let mail = latest_mail_to(&to).unwrap();
    assert_eq!(mail.from, harness::SENDER);
    assert!(mail.body.contains("/password/reset?token="));

    // About the same time: medians of five, from fresh addresses (no throttle in play).
    let times = |name: &'static str| {
        let s = &s;
        async move {
            let mut t = vec![];
            for i in 0..5 {
                let started = Instant::now();
                let r = s
                    .post_from(
                        &format!("192.0.2.{i}"),
                        "/password/forgot",
                        json!({ "username": name }),
                    )
                    .await;
                assert_eq!(r.status, 202, "{r:?}");
                t.push(started.elapsed());
            }
            t.sort();
            t[2]
        }
    };
    let (k, u) = (times("kim").await, times("nobody-here").await);
    let ratio = k.max(u).as_secs_f64() / k.min(u).max(Duration::from_micros(1)).as_secs_f64();
    assert!(ratio < 3.0, "known {k:?} vs unknown {u:?}");
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let s = stack().await;
    let to = address("lee");
    s.add("lee", Staff, Some(&to), None).await;
    let session = s.sign_in("lee", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    s.post("/password/forgot", json!({ "username": "lee" }))
        .await;
    let token = reset_token(&latest_mail_to(&to).unwrap().body);
    // The page consumes nothing: a mail scanner may open it first.
    for _ in 0..2 {
        let page = s.get(&format!("/password/reset?token={token}"), None).await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("data-user=\"lee\""));
    }
    let short = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": "short" }),
        )
        .await;
    assert_eq!((short.status, short.error()), (400, "invalid_password"));
    let r = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        s.get("/session", Some(&session)).await.status,
        401,
        "sessions end"
    );
    assert_eq!(s.sign_in("lee", PASSWORD).await.status, 401);
    assert_eq!(s.sign_in("lee", NEW_PASSWORD).await.status, 200);
    assert!(
        latest_mail_to(&to)
            .unwrap()
            .subject
            .contains("password was changed")
    );
    let again = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(
        (again.status, again.error()),
        (410, "link_expired"),
        "single use"
    );
    let tampered = s
        .get(&format!("/password/reset?token={}x", &token[..42]), None)
        .await;
    assert_eq!(tampered.status, 410);
}

#[tokio::test]
async fn a_reset_link_expires_after_thirty_minutes() {
    let s = stack().await;
    let to = address("max");
    s.add("max", Staff, Some(&to), None).await;
    s.post("/password/forgot", json!({ "username": "max" }))
        .await;
    let token = reset_token(&latest_mail_to(&to).unwrap().body);
    s.app.clock.advance(30 * 60 + 1);
    let r = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!((r.status, r.error()), (410, "link_expired"));
    assert_eq!(
        s.sign_in("max", PASSWORD).await.status,
        200,
        "nothing changed"
    );
}

#[tokio::test]
async fn a_mailbox_alone_never_takes_over_an_account_with_mfa() {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let to = address("ned");
    s.add("ned", Staff, Some(&to), None).await;
    s.set_mfa(true).await;
    let secret = s.enrol_by_email("ned").await;
    let c = s.challenge("ned").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
    s.app.clock.advance(30);
    s.post("/password/forgot", json!({ "username": "ned" }))
        .await;
    let token = reset_token(&latest_mail_to(&to).unwrap().body);
    let page = s.get(&format!("/password/reset?token={token}"), None).await;
    assert!(page.text.contains("data-code=\"1\""));
    let r = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!((r.status, r.error()), (400, "code_required"));
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD, "code": wrong }),
        )
        .await;
    assert_eq!((r.status, r.error()), (401, "invalid_code"));
    let r = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD, "code": s.code(&secret) }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = s.sign_in("ned", NEW_PASSWORD).await;
    assert_eq!(r.body["status"], "mfa_required", "still asked for a code");
}

#[tokio::test]
async fn forgot_password_is_throttled_per_address() {
    let s = stack().await;
    let window = shared::limits::FORGOT_PER_ADDRESS.max as usize;
    let mut statuses = vec![];
    for _ in 0..window + 2 {
        statuses.push(
            s.post_from("192.0.2.99", "/password/forgot", json!({ "username": "x" }))
                .await
                .status,
        );
    }
    assert!(statuses[..window].iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(statuses[window + 1], 429, "{statuses:?}");
}

#[tokio::test]
async fn an_invitation_lets_a_new_user_choose_a_password() {
    let s = stack().await;
    let to = address("ola");
    mfa_admin::add_account(
        &s.app.store,
        &s.app.clock,
        mfa_admin::AccountSpec {
            username: "ola",
            kind: Staff,
            name_email: Some(&to),
            address_email: None,
            password: None,
        },
    )
    .await
    .unwrap();
    let account = s
        .app
        .store
        .load_account("ola")
        .await
        .unwrap()
        .unwrap()
        .account;
    shared::flows::passwords::mail_link(&s.app, &account, true, "http://localhost:9000")
        .await
        .unwrap();
    let mail = latest_mail_to(&to).unwrap();
    assert!(mail.subject.contains("choose a password"));
    let token = reset_token(&mail.body);
    let page = s.get(&format!("/password/reset?token={token}"), None).await;
    assert!(page.text.contains("data-invite=\"1\""));
    s.app.clock.advance(6 * 24 * 3600);
    let r = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "an invitation lasts a week: {r:?}");
    assert_eq!(s.sign_in("ola", NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_and_its_sessions_end() {
    let s = stack().await;
    s.add("pat", Member, None, None).await;
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = s.sign_in("pat", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.post_as(&admin, "/accounts/pat/disable", json!({})).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(s.get("/session", Some(&session)).await.status, 401);
    let r = s.sign_in("pat", PASSWORD).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "invalid_credentials"),
        "the same answer as a wrong password"
    );
    assert_eq!(
        s.post_as(&admin, "/accounts/pat/enable", json!({}))
            .await
            .status,
        204
    );
    assert_eq!(s.sign_in("pat", PASSWORD).await.status, 200);
    assert_eq!(
        s.post_as(&admin, "/accounts/nobody/disable", json!({}))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn deleting_an_account_removes_its_enrolment_sessions_and_links() {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let to = address("quin");
    s.add("quin", Staff, Some(&to), None).await;
    let jwks = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] });
    shared::flows::providers::put(
        &s.app,
        &shared::flows::guard::Actor::Operator("test"),
        "corp",
        serde_json::from_value(json!({ "kind": "sso", "issuer": "https://idp.example.org", "audience": "a", "jwks": jwks })).unwrap(),
    )
    .await
    .unwrap();
    mfa_admin::link_account(&s.app.store, "quin", "corp", "sub-quin")
        .await
        .unwrap();
    s.set_mfa(true).await;
    s.enrol_by_email("quin").await;
    let admin_secret = s.enrol_by_email("admin").await;
    let c = s.challenge("admin").await;
    let admin = s.verify(&c, &s.code(&admin_secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .send(
            axum::http::Method::DELETE,
            "/accounts/quin",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // The account's partition and its links are gone. (Its session, challenge and setup-link
    // items stop working at once, their account gone, and expire by TTL.)
    let left: Vec<String> = s
        .dump()
        .await
        .into_iter()
        .filter(|i| i.contains("ACCOUNT#quin") || i.contains("SUB#sub-quin"))
        .collect();
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(s.sign_in("quin", PASSWORD).await.status, 401);
}

#[tokio::test]
async fn the_admin_list_finds_accounts_by_kind_and_name_with_their_state_page_by_page() {
    let s = stack().await;
    for (name, kind) in [
        ("ann", Staff),
        ("anton", Member),
        ("bea", Staff),
        ("api1", Api),
    ] {
        s.add(name, kind, Some(&address(name)), None).await;
    }
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        s.post_as(&admin, "/accounts/bea/disable", json!({}))
            .await
            .status,
        204
    );
    for _ in 0..5 {
        s.sign_in("anton", "wrong").await;
    }
    let r = s.get("/accounts?search=an", Some(&admin)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let names: Vec<&str> = r.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "anton"]);
    let r = s.get("/accounts?kind=staff", Some(&admin)).await;
    let staff = r.body["accounts"]
        .as_array()
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(staff.len(), 2, "{r:?}");
    assert_eq!(staff[1]["username"], "bea");
    assert_eq!(staff[1]["disabled"], true);
    // Two at a time, in username order, every account once.
    let mut seen = vec![];
    let mut path = "/accounts?limit=2".to_owned();
    loop {
        let r = s.get(&path, Some(&admin)).await;
        for a in r.body["accounts"].as_array().unwrap() {
            seen.push(a["username"].as_str().unwrap().to_owned());
        }
        match r.body["next"].as_str() {
            Some(next) => path = format!("/accounts?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["admin", "ann", "anton", "api1", "bea"]);
    for bad in ["?kind=wizard", "?limit=0", "?search=a%20b"] {
        assert_eq!(
            s.get(&format!("/accounts{bad}"), Some(&admin)).await.status,
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_session_of_a_deleted_account_does_not_sign_in_a_new_account_of_the_same_name() {
    let s = stack().await;
    s.add("sam", Staff, Some(&address("sam")), None).await;
    let r = s.sign_in("sam", PASSWORD).await;
    let old = r.body["session"].as_str().unwrap().to_owned();
    assert_eq!(s.get("/session", Some(&old)).await.status, 200);
    assert!(s.app.store.delete_account("sam").await.unwrap());
    s.add("sam", Staff, Some(&address("sam")), None).await;
    let r = s.get("/session", Some(&old)).await;
    assert_eq!(r.status, 401, "{r:?}");
}

#[tokio::test]
async fn a_filtered_accounts_list_pages_exactly_through_every_match() {
    let s = stack().await;
    // Ten sysadmins among ten staff, names interleaved, so a kind filter drops half of each page
    // the index gives.
    for i in 0..10 {
        s.add(&format!("u{i:02}a"), Sysadmin, Some(&address("a")), None)
            .await;
        s.add(&format!("u{i:02}b"), Staff, Some(&address("b")), None)
            .await;
    }
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, want) in [
        ("kind=sysadmin&limit=2", 11),
        ("kind=staff&limit=3", 10),
        ("kind=sysadmin&search=u0&limit=2", 10),
    ] {
        let seen = every_page(&s, &admin, query).await;
        assert_eq!(seen.len(), want, "{query}: {seen:?}");
    }
}

/// Every page of `GET /accounts?{query}` (which gives `limit`), checking that only the last is
/// short and that names come in order, each once.
async fn every_page(s: &Stack, admin: &str, query: &str) -> Vec<String> {
    let limit: usize = query
        .split("limit=")
        .nth(1)
        .and_then(|l| l.split('&').next())
        .unwrap()
        .parse()
        .unwrap();
    let mut seen = vec![];
    let mut path = format!("/accounts?{query}");
    loop {
        let r = s.get(&path, Some(admin)).await;
        assert_eq!(r.status, 200, "{query}: {r:?}");
        let page = r.body["accounts"].as_array().unwrap().clone();
        let next = r.body["next"].as_str().map(str::to_owned);
        if next.is_some() {
            assert_eq!(page.len(), limit, "{query}: a short page before the end");
        }
        seen.extend(
            page.iter()
                .map(|a| a["username"].as_str().unwrap().to_owned()),
        );
        match next {
            Some(next) => path = format!("/accounts?{query}&cursor={next}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "{query}: in order, each once");
    seen
}

#[tokio::test]
async fn accounts_filter_by_enrolment_and_lock_and_page_exactly() {
    let s = stack().await;
    for i in 0..10 {
        s.add(&format!("u{i:02}a"), Sysadmin, Some(&address("a")), None)
            .await;
        s.add(&format!("u{i:02}b"), Staff, Some(&address("b")), None)
            .await;
    }
    // Four staff set an app up; two of them have given their first code.
    for u in ["u00b", "u02b", "u04b", "u06b"] {
        let secret = s.enrol_directly(u).await;
        if u == "u00b" || u == "u02b" {
            let c = s.challenge(u).await;
            assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
        }
    }
    // A hundred wrong passwords (counted as the sign-in does, from 25 addresses) lock a name.
    let now = s.app.now();
    for u in ["u01a", "u03b", "u05a"] {
        let site = shared::store::locks::LockSite::PasswordAccount { username: u };
        for i in 0..100 {
            let from = format!("address-{:02}", i / 4);
            let r = s
                .app
                .store
                .count_password_attempt(&site, &from, now, || Ok(false), |right| *right)
                .await;
            assert!(matches!(r, Ok(Ok(false))), "{r:?}");
        }
    }
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, want) in [
        ("enrolment=active&limit=1", vec!["u00b", "u02b"]),
        ("enrolment=pending&limit=1", vec!["u04b", "u06b"]),
        (
            "enrolment=none&kind=staff&limit=3",
            vec!["u01b", "u03b", "u05b", "u07b", "u08b", "u09b"],
        ),
        ("locked=true&limit=1", vec!["u01a", "u03b", "u05a"]),
        ("locked=true&kind=sysadmin&limit=1", vec!["u01a", "u05a"]),
        (
            "locked=false&kind=sysadmin&search=u0&limit=4",
            vec![
                "u00a", "u02a", "u03a", "u04a", "u06a", "u07a", "u08a", "u09a",
            ],
        ),
        (
            "locked=true&enrolment=none&kind=staff&limit=2",
            vec!["u03b"],
        ),
    ] {
        let seen = every_page(&s, &admin, query).await;
        assert_eq!(seen, want, "{query}");
    }
    for bad in ["enrolment=some", "locked=yes"] {
        let r = s.get(&format!("/accounts?{bad}"), Some(&admin)).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "invalid_request"),
            "{bad}: {r:?}"
        );
    }
}
