//! Recovery codes: ten single-use codes made by a signed-in user with a recent code, accepted at
//! the code step instead of a code from the app, under the same attempt limits, each good once
//! however many requests race; a notice mail on each use; a new set replaces the old; an admin
//! reset removes them.

use std::sync::Arc;

use harness::{Stack, address, latest_mail_to};
use serde_json::json;
use shared::policy::AccountKind::*;

/// MFA on; jane (staff) enrolled and signed in with a code a moment ago. Returns her session, her
/// app's secret and her address.
async fn jane() -> (Stack, String, Vec<u8>, String) {
    let s = Stack::new().await;
    let to = address("jane");
    s.add("jane", Staff, Some(&to), None).await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let secret = s.enrolled("jane").await;
    let c = s.challenge("jane").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let session = r.body["session"].as_str().unwrap().to_owned();
    (s, session, secret, to)
}

async fn new_codes(s: &Stack, session: &str) -> Vec<String> {
    let r = s.post_as(session, "/mfa/recovery-codes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn with_recovery(s: &Stack, challenge: &str, code: &str) -> harness::Resp {
    s.post(
        "/mfa/verify",
        json!({ "challenge": challenge, "recovery_code": code }),
    )
    .await
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_says_how_many_are_left() {
    let (s, session, _, to) = jane().await;
    let codes = new_codes(&s, &session).await;
    assert_eq!(codes.len(), 10);
    let standing = s.get("/mfa/recovery-codes", Some(&session)).await;
    assert_eq!(standing.body["remaining"], 10, "{standing:?}");
    assert!(standing.body["created_at"].is_string());
    // Stored hashed: no code appears in the table.
    let items = format!("{:?}", s.dump().await);
    for c in &codes {
        assert!(!items.contains(&c.replace('-', "")) && !items.contains(c.as_str()));
    }

    // Typed in capitals with spaces: the same code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let c = s.challenge("jane").await;
    let r = with_recovery(&s, &c, &typed).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["recovery_codes_left"], 9);
    let new_session = r.body["session"].as_str().unwrap();
    let me = shared::flows::sessions::authenticate(&s.app, Some(new_session))
        .await
        .unwrap();
    assert_eq!(
        me.amr,
        ["pwd", "rec", "mfa"],
        "a site can tell it from a code (otp)"
    );
    // A notice mail, with how many are left.
    let notice = latest_mail_to(&to).unwrap();
    assert!(notice.subject.contains("recovery code"), "{notice:?}");
    assert!(notice.body.contains("9 of your recovery codes are left"));
    // Audited as a recovery code, not as a code from the app.
    let log = s.app.recent_audit(100).await.unwrap();
    assert!(log.iter().any(|e| e.action == "mfa_verify"
        && e.actor == "jane"
        && e.outcome == "recovery_code_used"));
    assert!(
        log.iter()
            .any(|e| e.action == "recovery_codes" && e.outcome == "created")
    );

    // The same code again: a wrong code, counted.
    let c = s.challenge("jane").await;
    let again = with_recovery(&s, &c, &codes[3]).await;
    assert_eq!(again.status, 401, "{again:?}");
    assert_eq!(again.body["error"], "invalid_code");
    assert_eq!(
        s.get("/mfa/recovery-codes", Some(&session)).await.body["remaining"],
        9
    );
    // The challenge a recovery code completed is used: not even the app's code completes it.
    let c = s.challenge("jane").await;
    assert_eq!(with_recovery(&s, &c, &codes[0]).await.status, 200);
    assert_eq!(with_recovery(&s, &c, &codes[1]).await.status, 401);
}

#[tokio::test]
async fn each_of_ten_codes_works_once_and_an_eleventh_does_not_exist() {
    let (s, session, _, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    for (i, code) in codes.iter().enumerate() {
        let c = s.challenge("jane").await;
        let r = with_recovery(&s, &c, code).await;
        assert_eq!(r.status, 200, "code {i}: {r:?}");
        assert_eq!(r.body["recovery_codes_left"], 9 - i);
    }
    let c = s.challenge("jane").await;
    let r = with_recovery(&s, &c, &codes[0]).await;
    assert_eq!(r.status, 401, "none is left: {r:?}");
    assert_eq!(
        s.get("/mfa/recovery-codes", Some(&session)).await.body["remaining"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_code_sent_twice_at_once_signs_in_once() {
    let (s, session, _, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    let s = Arc::new(s);
    let mut runs = vec![];
    for _ in 0..4 {
        let c = s.challenge("jane").await;
        let (s, code) = (s.clone(), codes[5].clone());
        runs.push(tokio::spawn(async move {
            with_recovery(&s, &c, &code).await.status
        }));
    }
    let mut statuses = vec![];
    for r in runs {
        statuses.push(r.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401, 401, 401]);
}

#[tokio::test]
async fn recovery_codes_share_the_attempt_limit_with_codes_from_the_app() {
    let (s, session, secret, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    // Five wrong app codes and four malformed or unknown recovery codes: nine in a row.
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let c = s.challenge("jane").await;
        assert_eq!(s.verify(&c, wrong).await.status, 401);
    }
    for bad in ["not a code", "aaaa-bbbb-cccc", "", &"z".repeat(200)] {
        let c = s.challenge("jane").await;
        let r = with_recovery(&s, &c, bad).await;
        assert_eq!((r.status, r.error()), (401, "invalid_code"), "{bad}: {r:?}");
    }
    // The tenth locks code entry: then even a good recovery code waits.
    let c = s.challenge("jane").await;
    assert_eq!(with_recovery(&s, &c, "aaaa-bbbb-cccd").await.status, 429);
    let c = s.challenge("jane").await;
    let r = with_recovery(&s, &c, &codes[0]).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(
        s.get("/mfa/recovery-codes", Some(&session)).await.body["remaining"],
        10,
        "nothing was used"
    );
}

#[tokio::test]
async fn a_set_needs_a_recent_code_and_a_new_one_ends_the_old() {
    let (s, session, secret, _) = jane().await;
    let first = new_codes(&s, &session).await;
    // Eleven minutes on, the session's code is not recent: no set is made.
    s.app.clock.advance(11 * 60);
    let r = s.post_as(&session, "/mfa/recovery-codes", json!({})).await;
    assert_eq!((r.status, r.error()), (403, "reauthentication_required"));
    let r = s
        .post_as(
            &session,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&secret) }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let second = new_codes(&s, &session).await;
    assert!(first.iter().all(|c| !second.contains(c)));
    // The first set's codes no longer sign in; the second's do.
    let c = s.challenge("jane").await;
    assert_eq!(with_recovery(&s, &c, &first[0]).await.status, 401);
    let c = s.challenge("jane").await;
    assert_eq!(with_recovery(&s, &c, &second[0]).await.status, 200);
    // Without a session, nothing.
    assert_eq!(s.get("/mfa/recovery-codes", None).await.status, 401);
    assert_eq!(s.post("/mfa/recovery-codes", json!({})).await.status, 401);
    // Both a code and a recovery code, or neither: a bad request.
    let c = s.challenge("jane").await;
    for body in [
        json!({ "challenge": c, "code": "123456", "recovery_code": second[1] }),
        json!({ "challenge": c }),
    ] {
        assert_eq!(s.post("/mfa/verify", body).await.status, 400);
    }
}

#[tokio::test]
async fn an_admin_reset_removes_the_recovery_codes() {
    let (s, session, _, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    s.set_mfa(true).await;
    let admin_secret = s.enrolled("admin").await;
    let c = s.challenge("admin").await;
    let admin = s.verify(&c, &s.code(&admin_secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .post_as(&admin, "/accounts/jane/mfa/reset", json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // No app and no recovery codes: the code step has nothing to accept.
    let c = s.challenge("jane").await;
    assert_eq!(with_recovery(&s, &c, &codes[0]).await.status, 401);
    assert!(
        !s.items()
            .await
            .keys()
            .any(|(pk, sk)| pk == "ACCOUNT#jane" && sk == "RECOVERY")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_challenge_completes_one_sign_in_whichever_factors_race_on_it() {
    let (s, session, secret, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    let s = Arc::new(s);
    for round in 0..3 {
        s.app.clock.advance(30);
        let c = s.challenge("jane").await;
        let code = s.code(&secret);
        let runs = vec![
            {
                let (s, c) = (s.clone(), c.clone());
                tokio::spawn(async move { s.verify(&c, &code).await.status })
            },
            {
                let (s, c, r) = (s.clone(), c.clone(), codes[2 * round].clone());
                tokio::spawn(async move { with_recovery(&s, &c, &r).await.status })
            },
            {
                let (s, c, r) = (s.clone(), c.clone(), codes[2 * round + 1].clone());
                tokio::spawn(async move { with_recovery(&s, &c, &r).await.status })
            },
        ];
        let mut statuses = vec![];
        for r in runs {
            statuses.push(r.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn a_recovery_sign_in_ends_the_count_of_wrong_codes_but_is_no_recent_code() {
    let (s, session, secret, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut wrong_answer = None;
    for _ in 0..9 {
        let c = s.challenge("jane").await;
        wrong_answer = Some(s.verify(&c, wrong).await);
    }
    let c = s.challenge("jane").await;
    let r = with_recovery(&s, &c, &codes[0]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let recovered = r.body["session"].as_str().unwrap().to_owned();
    // The streak ended: nine more wrong codes, and still not locked.
    for i in 0..9 {
        let c = s.challenge("jane").await;
        let r = s.verify(&c, wrong).await;
        assert_eq!(r.status, 401, "wrong code {i} after the recovery: {r:?}");
    }
    // A used recovery code is answered as a wrong code is, the last before the lock.
    let c = s.challenge("jane").await;
    let used = with_recovery(&s, &c, &codes[0]).await;
    assert_eq!(used.status, 429, "the tenth wrong in a row locks: {used:?}");
    let _ = wrong_answer;
    // The recovery sign-in's session may not make a new set: that needs a code from the app.
    let r = s
        .post_as(&recovered, "/mfa/recovery-codes", json!({}))
        .await;
    assert_eq!((r.status, r.error()), (403, "reauthentication_required"));
}

#[tokio::test]
async fn a_used_recovery_code_is_answered_exactly_as_a_wrong_code() {
    let (s, session, _, _) = jane().await;
    let codes = new_codes(&s, &session).await;
    let c = s.challenge("jane").await;
    assert_eq!(with_recovery(&s, &c, &codes[0]).await.status, 200);
    let c = s.challenge("jane").await;
    let used = with_recovery(&s, &c, &codes[0]).await;
    let c = s.challenge("jane").await;
    let unknown = with_recovery(&s, &c, "abcd-efgh-ijkl").await;
    assert_eq!(used.status, 401);
    assert_eq!(unknown.status, 401);
    for field in ["error", "message", "attempts_left"] {
        assert_eq!(used.body[field], unknown.body[field], "{field}");
    }
}

#[tokio::test]
async fn a_set_asked_for_as_the_account_is_reset_does_not_outlive_the_reset() {
    let (s, _, _, _) = jane().await;
    let before = s.app.store.load_account("jane").await.unwrap().unwrap();
    let set = shared::recovery::RecoverySet {
        set_id: "set".into(),
        enrolment_id: before.active_enrolment().unwrap().enrolment_id.clone(),
        created_at: s.app.now(),
        unused: ["a".to_owned()].into(),
    };
    // The reset lands between the session's check and the set's write: the write is refused.
    s.app.store.reset_mfa("jane").await.unwrap();
    let r = s
        .app
        .store
        .put_recovery_set("jane", &set, before.account.session_epoch)
        .await;
    assert!(matches!(r, Err(shared::Error::Unauthenticated)), "{r:?}");
    assert!(
        !s.items()
            .await
            .keys()
            .any(|(pk, sk)| pk == "ACCOUNT#jane" && sk == "RECOVERY")
    );
}
