//! Security codes: RFC 6238 windows, single use per step (also under races), challenge and
//! account limits, bad input that changes nothing, and a DynamoDB outage mid-verification.

use harness::proxy::Proxy;
use harness::{Stack, address};
use serde_json::json;
use shared::policy::AccountKind::*;

/// A stack with MFA on and `alice` enrolled through the setup email. Returns the secret.
async fn enrolled() -> (Stack, Vec<u8>) {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("alice", Staff, Some(&address("alice")), None).await;
    s.set_mfa(true).await;
    let secret = s.enrol_by_email("alice").await;
    let c = s.challenge("alice").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "first code activates: {r:?}");
    // Move to the next step so tests start with a fresh, unused code.
    s.app.clock.advance(30);
    (s, secret)
}

#[tokio::test]
async fn a_correct_code_signs_in_with_mfa_verified() {
    let (s, secret) = enrolled().await;
    let c = s.challenge("alice").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "signed_in");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let me = s.get("/session", r.body["session"].as_str()).await;
    assert_eq!(me.body["mfa"], "verified");
    assert_eq!(me.body["username"], "alice");
}

#[tokio::test]
async fn replayed_code_is_refused() {
    let (s, secret) = enrolled().await;
    let code = s.code(&secret);
    let c1 = s.challenge("alice").await;
    assert_eq!(s.verify(&c1, &code).await.status, 200);
    let c2 = s.challenge("alice").await;
    let r = s.verify(&c2, &code).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "invalid_code"),
        "same step twice"
    );
}

#[tokio::test]
async fn an_older_code_is_refused_after_a_newer_one_was_accepted() {
    let (s, secret) = enrolled().await;
    let older = s.code_at_step_offset(&secret, -1);
    let c1 = s.challenge("alice").await;
    assert_eq!(s.verify(&c1, &s.code(&secret)).await.status, 200);
    let c2 = s.challenge("alice").await;
    assert_eq!(s.verify(&c2, &older).await.error(), "invalid_code");
}

#[tokio::test]
async fn codes_one_step_off_are_accepted_two_steps_off_are_not() {
    let (s, secret) = enrolled().await;
    s.app.clock.advance(120);
    let c = s.challenge("alice").await;
    assert_eq!(
        s.verify(&c, &s.code_at_step_offset(&secret, -2))
            .await
            .error(),
        "invalid_code"
    );
    assert_eq!(
        s.verify(&c, &s.code_at_step_offset(&secret, 2))
            .await
            .error(),
        "invalid_code"
    );
    assert_eq!(
        s.verify(&c, &s.code_at_step_offset(&secret, -1))
            .await
            .status,
        200,
        "the step before"
    );
    s.app.clock.advance(120);
    let c = s.challenge("alice").await;
    assert_eq!(
        s.verify(&c, &s.code_at_step_offset(&secret, 1))
            .await
            .status,
        200,
        "the step after"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_verifications_of_one_code_give_exactly_one_success() {
    let (s, secret) = enrolled().await;
    let mut challenges = vec![];
    for _ in 0..8 {
        challenges.push(s.challenge("alice").await);
    }
    let code = s.code(&secret);
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = challenges
        .into_iter()
        .map(|c| {
            let (s, code) = (s.clone(), code.clone());
            tokio::spawn(async move { s.verify(&c, &code).await.status })
        })
        .collect();
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|st| **st == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|st| *st == 200 || *st == 401),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_challenge_is_single_use() {
    let (s, secret) = enrolled().await;
    let c = s.challenge("alice").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
    s.app.clock.advance(30);
    assert_eq!(
        s.verify(&c, &s.code(&secret)).await.error(),
        "invalid_challenge"
    );
}

#[tokio::test]
async fn a_challenge_expires_after_five_minutes() {
    let (s, secret) = enrolled().await;
    let c = s.challenge("alice").await;
    s.app.clock.advance(5 * 60 + 1);
    assert_eq!(
        s.verify(&c, &s.code(&secret)).await.error(),
        "invalid_challenge"
    );
}

#[tokio::test]
async fn five_wrong_codes_end_a_challenge() {
    let (s, secret) = enrolled().await;
    let c = s.challenge("alice").await;
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (0..5).rev() {
        let r = s.verify(&c, wrong).await;
        assert_eq!((r.status, r.error()), (401, "invalid_code"));
        assert_eq!(r.body["attempts_left"], left);
    }
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(
        r.error(),
        "invalid_challenge",
        "dead even for the right code"
    );
}

#[tokio::test]
async fn ten_wrong_codes_across_challenges_lock_code_entry() {
    let (s, secret) = enrolled().await;
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut last = None;
    for i in 0..10 {
        let c = s.challenge("alice").await;
        last = Some(s.verify(&c, wrong).await);
        if i < 9 {
            assert_eq!(last.as_ref().unwrap().status, 401);
        }
    }
    let r = last.unwrap();
    assert_eq!(r.status, 429, "{r:?}");
    let c = s.challenge("alice").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 429, "locked even for the right code");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 800);
    s.app.clock.advance(15 * 60 + 1);
    let c = s.challenge("alice").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
}

/// A right code ends the account's count of wrong ones, even the lock its own attempt set (the
/// tenth in a row): the next wrong codes start from one, and neither the readiness figures nor the
/// accounts page show the account as locked.
#[tokio::test]
async fn a_right_code_ends_the_count_even_the_lock_its_own_attempt_set() {
    let (s, secret) = enrolled().await;
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..9 {
        let c = s.challenge("alice").await;
        assert_eq!(s.verify(&c, wrong).await.status, 401);
    }
    let c = s.challenge("alice").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "the tenth attempt, right: {r:?}");
    let staff = s.app.store.staff_accounts().await.unwrap().staff;
    let alice = staff
        .iter()
        .find(|a| a.account.username == "alice")
        .unwrap();
    assert_eq!(alice.code_locked_until, None, "readiness: not locked");
    let (rows, _) = s
        .app
        .store
        .list_accounts(
            &shared::store::accounts::AccountFilter {
                kinds: &[Staff],
                prefix: "alice",
                enrolment: None,
                locked: None,
            },
            None,
            10,
            s.app.now(),
        )
        .await
        .unwrap();
    assert_eq!(rows[0].locked_until, None, "the accounts page: not locked");
    s.app.clock.advance(30);
    for _ in 0..9 {
        let c = s.challenge("alice").await;
        let r = s.verify(&c, wrong).await;
        assert_eq!(r.status, 401, "counted from one again: {r:?}");
    }
    let c = s.challenge("alice").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
}

#[tokio::test]
async fn bad_codes_and_bodies_are_400_and_change_nothing() {
    let (s, _) = enrolled().await;
    let c = s.challenge("alice").await;
    let before = s.dump().await;
    for body in [
        json!({ "challenge": c, "code": "1234567" }),
        json!({ "challenge": c, "code": "12345" }),
        json!({ "challenge": c, "code": "12a456" }),
        json!({ "challenge": c, "code": 123456 }),
        json!({ "challenge": c }),
        json!({ "code": "123456" }),
        json!([]),
    ] {
        let r = s.post("/mfa/verify", body.clone()).await;
        assert_eq!((r.status, r.error()), (400, "invalid_request"), "{body}");
    }
    let r = s
        .post(
            "/mfa/verify",
            json!({ "challenge": c, "code": "1".repeat(20_000) }),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(s.dump().await, before, "no item changed");
}

#[tokio::test]
async fn a_dynamodb_outage_during_verify_is_a_503_and_leaves_no_trace() {
    let (admin_stack, secret) = enrolled().await;
    let proxy = Proxy::start(&harness::endpoint()).await;
    let through_proxy = proxy.sdk_config(&admin_stack.sdk);
    // Same table and keys, but the functions reach AWS through the proxy.
    let config = (*admin_stack.app.config).clone();
    let app = shared::App::connect(config, &through_proxy, admin_stack.app.clock.clone())
        .await
        .unwrap();
    let router = verify_code::router(app);

    let c = admin_stack.challenge("alice").await;
    let code = admin_stack.code(&secret);
    let before = admin_stack.dump().await;
    let call = |router: axum::Router| {
        let body = json!({ "challenge": c, "code": code }).to_string();
        async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post("/mfa/verify")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            )
        }
    };
    proxy.down();
    let (status, body) = call(router.clone()).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "service_unavailable");
    assert!(
        !body["message"].as_str().unwrap().contains("dynamodb"),
        "no internals: {body}"
    );
    assert_eq!(admin_stack.dump().await, before, "nothing half-written");
    proxy.up();
    let (status, body) = call(router).await;
    assert_eq!(
        status, 200,
        "the same challenge and code work once it is back: {body}"
    );
}
