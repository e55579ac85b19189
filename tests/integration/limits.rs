//! Limits under concurrency, as many Lambda instances would run them: an attempt's outcome is only
//! given once a conditional write has counted it (codes are counted before they are checked,
//! passwords after, from the counts as they then are), so no race gets more outcomes than the
//! contract allows. Outcomes are counted from the audit trail (one entry per outcome given).

use std::sync::Arc;

use harness::{PASSWORD, Stack, address, latest_mail_to};
use serde_json::json;
use shared::policy::AccountKind::*;

/// MFA on, `alice` (staff) and `admin` (sysadmin) enrolled. Returns the two secrets.
async fn enrolled() -> (Stack, Vec<u8>, Vec<u8>) {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("alice", Staff, Some(&address("alice")), None).await;
    s.set_mfa(true).await;
    let mut secrets = vec![];
    for user in ["alice", "admin"] {
        let secret = s.enrol_by_email(user).await;
        let c = s.challenge(user).await;
        assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
        secrets.push(secret);
    }
    s.app.clock.advance(30);
    let admin = secrets.pop().unwrap();
    (s, secrets.pop().unwrap(), admin)
}

/// How many times the audit trail says `action` ended in `outcome` for `user`.
fn wrong_code(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_wrong_codes_on_eight_challenges_evaluate_at_most_ten() {
    let (s, secret, _) = enrolled().await;
    let mut challenges = vec![];
    for _ in 0..8 {
        challenges.push(s.challenge("alice").await);
    }
    let wrong = wrong_code(&s.code(&secret));
    let s = Arc::new(s);
    let tasks: Vec<_> = challenges
        .iter()
        .flat_map(|c| std::iter::repeat_n(c.clone(), 5))
        .map(|c| {
            let s = s.clone();
            tokio::spawn(async move { s.verify(&c, wrong).await.status })
        })
        .collect();
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let evaluated = s.audit_count("alice", "mfa_verify", "invalid_code").await;
    assert!(evaluated <= 10, "{evaluated} codes evaluated: {statuses:?}");
    assert!(
        statuses.iter().all(|st| *st == 401 || *st == 429),
        "{statuses:?}"
    );
    assert!(statuses.iter().filter(|st| **st == 429).count() >= 30);
    // The lock holds against the right code too.
    let c = s.challenge("alice").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 429, "a correct code during the lock: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_passwords_from_one_address_evaluate_at_most_five() {
    let s = Arc::new(Stack::new().await);
    s.add("bob", Staff, Some(&address("bob")), None).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.sign_in("bob", "wrong password").await.status })
        })
        .collect();
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let evaluated = s.audit_count("bob", "sign_in", "invalid_credentials").await;
    assert!(evaluated <= 5, "{evaluated} passwords evaluated");
    assert_eq!(statuses.iter().filter(|st| **st == 401).count(), evaluated);
    assert_eq!(
        statuses.iter().filter(|st| **st == 429).count(),
        50 - evaluated
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_is_never_shortened_by_later_failures() {
    let s = Arc::new(Stack::new().await);
    s.add("carol", Staff, Some(&address("carol")), None).await;
    for _ in 0..6 {
        s.sign_in("carol", "wrong").await;
        s.app.clock.advance(31);
    }
    // Six failures: the sixth set 60 s. Twenty more at once must all wait, none shortening it.
    s.app.clock.advance(-31);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.sign_in("carol", PASSWORD).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 429, "{r:?}");
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((55..=60).contains(&wait), "{wait}");
    }
    s.app.clock.advance(60);
    assert_eq!(s.sign_in("carol", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn guesses_from_one_address_never_lock_the_owner_out_from_another() {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let attacker = "203.0.113.7";
    for _ in 0..10 {
        let r = s
            .post_from(
                attacker,
                "/sign-in",
                json!({ "username": "admin", "password": "guess" }),
            )
            .await;
        assert!(r.status == 401 || r.status == 429, "{r:?}");
    }
    let r = s
        .post_from(
            attacker,
            "/sign-in",
            json!({ "username": "admin", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        r.status, 429,
        "the guessing address waits, even with the password"
    );
    let r = s
        .post_from(
            "198.51.100.20",
            "/sign-in",
            json!({ "username": "admin", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "the owner signs in from elsewhere: {r:?}");
}

/// An address that is locked out spends nothing of the account's 100: its requests are refused
/// before the account's count is touched, so it cannot lock the owner out everywhere by sending a
/// hundred requests in a few seconds.
#[tokio::test]
async fn a_locked_out_address_spends_nothing_of_the_accounts_hundred() {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let attacker = "203.0.113.9";
    let mut statuses = vec![];
    for _ in 0..105 {
        let r = s
            .post_from(
                attacker,
                "/sign-in",
                json!({ "username": "admin", "password": "guess" }),
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(
        statuses.iter().filter(|st| **st == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|st| **st == 429).count(), 100);
    let r = s
        .post_from(
            "198.51.100.21",
            "/sign-in",
            json!({ "username": "admin", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "the owner signs in from elsewhere: {r:?}");
}

#[tokio::test]
async fn a_hundred_wrong_passwords_lock_the_account_until_an_admin_unlocks() {
    let (s, _, admin_secret) = enrolled().await;
    // 25 addresses, four guesses each: the per-address back-off never starts, the ceiling does.
    s.hundred_wrong_passwords("alice").await;
    let r = s
        .post_from(
            "198.51.100.1",
            "/sign-in",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 429, "locked from every address: {r:?}");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 3500);

    let c = s.challenge("admin").await;
    let admin = s.verify(&c, &s.code(&admin_secret)).await;
    let admin = admin.body["session"].as_str().unwrap().to_owned();
    let ready = s.get("/settings/mfa-readiness", Some(&admin)).await;
    assert_eq!(
        ready.body["password_locked"][0]["username"], "alice",
        "{ready:?}"
    );

    let r = s.post_as(&admin, "/accounts/alice/unlock", json!({})).await;
    assert_eq!(r.status, 204, "{r:?}");
    // Each address's back-off outlives the unlock: 203.0.113.0 had four wrong passwords before
    // it, so its fifth locks it.
    let wrong = json!({ "username": "alice", "password": "guess" });
    let r = s.post_from("203.0.113.0", "/sign-in", wrong).await;
    assert_eq!(r.status, 401, "{r:?}");
    let r = s
        .post_from(
            "203.0.113.0",
            "/sign-in",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 429, "that address waits: {r:?}");
    let r = s
        .post_from(
            "198.51.100.1",
            "/sign-in",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let ready = s.get("/settings/mfa-readiness", Some(&admin)).await;
    assert_eq!(ready.body["password_locked"], json!([]));
    assert_eq!(s.audit_count("alice", "unlock", "success").await, 1);
}

#[tokio::test]
async fn a_table_scan_after_an_unknown_username_holds_no_trace_of_it() {
    let s = Stack::new().await;
    let typed = "my-secret-passphrase-typed-in-the-wrong-box";
    for _ in 0..3 {
        assert_eq!(s.sign_in(typed, "whatever").await.status, 401);
    }
    let out = s
        .app
        .store
        .client()
        .scan()
        .table_name(&s.table)
        .send()
        .await
        .unwrap();
    let all = format!("{:?}", out.items());
    assert!(!all.contains(typed), "the typed text is in the table");
    assert!(!all.to_lowercase().contains("passphrase"));
}

#[tokio::test]
async fn sensitive_administration_needs_a_code_from_the_last_ten_minutes() {
    let (s, _, admin_secret) = enrolled().await;
    let c = s.challenge("admin").await;
    let admin = s.verify(&c, &s.code(&admin_secret)).await;
    let admin = admin.body["session"].as_str().unwrap().to_owned();
    s.app.clock.advance(11 * 60);
    let off = json!({ "mfa_enabled": false });
    let r = s
        .send(
            axum::http::Method::PUT,
            "/settings",
            Some(&off),
            Some(&admin),
        )
        .await;
    assert_eq!((r.status, r.error()), (403, "reauthentication_required"));
    assert_eq!(
        s.post_as(&admin, "/accounts/admin/mfa/reset", json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        s.post_as(&admin, "/accounts/alice/unlock", json!({}))
            .await
            .status,
        403
    );
    // Everyday reads and a staff user's reset are not sensitive.
    assert_eq!(s.get("/settings", Some(&admin)).await.status, 200);

    let wrong = wrong_code(&s.code(&admin_secret));
    let r = s
        .post_as(&admin, "/mfa/reauthenticate", json!({ "code": wrong }))
        .await;
    assert_eq!((r.status, r.error()), (401, "invalid_code"));
    let r = s
        .post_as(
            &admin,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&admin_secret) }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = s
        .send(
            axum::http::Method::PUT,
            "/settings",
            Some(&off),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["mfa_enabled"], false);
    assert_eq!(
        s.audit_count("settings", "settings_change", "reauthentication_required")
            .await,
        1
    );
}

#[tokio::test]
async fn a_reauthentication_code_is_single_use() {
    let (s, _, admin_secret) = enrolled().await;
    let c = s.challenge("admin").await;
    let code = s.code(&admin_secret);
    let admin = s.verify(&c, &code).await;
    let admin = admin.body["session"].as_str().unwrap().to_owned();
    let r = s
        .post_as(&admin, "/mfa/reauthenticate", json!({ "code": code }))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (401, "invalid_code"),
        "replayed step"
    );
}

#[tokio::test]
async fn codes_are_accepted_as_apps_display_them() {
    let (s, secret, _) = enrolled().await;
    let code = s.code(&secret);
    let c = s.challenge("alice").await;
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(s.verify(&c, &spaced).await.status, 200);
    s.app.clock.advance(30);
    let code = s.code(&secret);
    let c = s.challenge("alice").await;
    let dashed = format!("{}-{}", &code[..3], &code[3..]);
    assert_eq!(s.verify(&c, &dashed).await.status, 200);
}

#[tokio::test]
async fn the_setup_key_is_shown_at_most_three_times_and_each_showing_is_audited() {
    let s = Stack::new().await;
    let to = address("dave");
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("dave", Staff, Some(&to), None).await;
    s.set_mfa(true).await;
    let c = s.challenge("dave").await;
    assert_eq!(
        s.post("/mfa/setup-email", json!({ "challenge": c }))
            .await
            .status,
        202
    );
    let token = harness::link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    let mut secret = None;
    for _ in 0..3 {
        let r = s.post("/mfa/setup/key", json!({ "token": token })).await;
        assert_eq!(r.status, 200);
        secret = r.body["secret"].as_str().map(str::to_owned);
    }
    let r = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!((r.status, r.error()), (410, "setup_link_expired"));
    assert_eq!(s.audit_count("dave", "key_reveal", "success").await, 3);
    assert_eq!(s.audit_count("dave", "key_reveal", "refused").await, 1);

    let secret = data_encoding::BASE32_NOPAD
        .decode(secret.unwrap().as_bytes())
        .unwrap();
    let c = s.challenge("dave").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
    let notice = latest_mail_to(&to).unwrap();
    assert!(
        notice.body.contains("showed your key at"),
        "{}",
        notice.body
    );
}

/// A right password's outcome is only given once it is counted, from the counts as they are after
/// argon2 ran: when a burst locks the address while it is being checked, it waits like the rest
/// (otherwise a burst of guesses would all be checked, and a right one among them accepted
/// whatever the others counted); when the burst leaves room, it is counted and ends the count. A
/// wrong password in its place makes the same requests, so the refusal's timing does not tell
/// them apart.
#[tokio::test]
async fn a_password_checked_while_a_burst_is_counted_is_refused_alike_right_or_wrong_once_the_burst_locks()
 {
    let mut after_the_check = vec![];
    for (password, burst, want) in [(PASSWORD, 5, 429), ("guess", 5, 429), (PASSWORD, 2, 200)] {
        let (s, hook, calls) = Stack::hooked_and_recorded().await;
        let s = Arc::new(s);
        s.add("dave", Staff, Some(&address("dave")), None).await;
        // The burst lands while the password is checked: just before its count is written.
        let (burster, recorded) = (s.clone(), calls["sign-in"].clone());
        hook.before(
            |actions, writes| {
                actions == ["dynamodb:UpdateItem"] && writes.iter().any(|k| k == "ACCOUNT#dave")
            },
            async move {
                for _ in 0..burst {
                    let r = dave_signs_in(&burster, "guess").await;
                    assert_eq!(r.status, 401, "{r:?}");
                }
                recorded.clear();
            },
        );
        let r = dave_signs_in(&s, password).await;
        assert!(hook.fired());
        assert_eq!(
            r.status, want,
            "{password:?} after {burst} wrong passwords: {r:?}"
        );
        assert_eq!(
            s.audit_count("dave", "sign_in", "invalid_credentials")
                .await,
            burst
        );
        if want == 429 {
            after_the_check.push(calls["sign-in"].requests());
            s.app.clock.advance(30);
        } else {
            // Counted as a success: the address has its five tries back.
            for _ in 0..4 {
                let r = dave_signs_in(&s, "guess").await;
                assert_eq!(r.status, 401, "{r:?}");
            }
        }
        let r = dave_signs_in(&s, PASSWORD).await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(
        after_the_check[0], after_the_check[1],
        "a right and a wrong password refused after the check make the same requests"
    );
}

/// `dave` signs in with `password`, always from the same address.
async fn dave_signs_in(s: &Stack, password: &str) -> harness::Resp {
    s.post_from(
        "203.0.113.40",
        "/sign-in",
        json!({ "username": "dave", "password": password }),
    )
    .await
}
