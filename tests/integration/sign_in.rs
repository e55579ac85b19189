//! Password sign-in, the token endpoint and sessions: the contract's policy rows, uniform
//! failures, throttling.

use harness::{PASSWORD, Stack};
use shared::policy::AccountKind::{self, *};

async fn stack_with_everyone() -> Stack {
    let s = Stack::new().await;
    s.add("staff1", Staff, Some("staff1@example.org"), None)
        .await;
    s.add("admin1", Sysadmin, Some("admin1@example.org"), None)
        .await;
    s.add("manager", Sysadmin, Some("manager@example.org"), None)
        .await;
    s.add("member1", Member, None, None).await;
    s.add("api1", Api, None, None).await;
    s
}

const ROWS: [(&str, AccountKind); 5] = [
    ("staff1", Staff),
    ("admin1", Sysadmin),
    ("manager", Sysadmin),
    ("member1", Member),
    ("api1", Api),
];

#[tokio::test]
async fn mfa_is_off_by_default_and_nobody_is_asked_for_a_code() {
    let s = stack_with_everyone().await;
    assert!(!s.app.store.get_settings().await.unwrap().mfa_enabled);
    for (user, _) in ROWS {
        let r = s.sign_in(user, PASSWORD).await;
        assert_eq!(r.status, 200, "{user}: {r:?}");
        assert_eq!(r.body["status"], "signed_in", "{user}");
        let session = s.get("/session", r.body["session"].as_str()).await;
        assert_eq!(session.body["mfa"], "not_required");
    }
}

#[tokio::test]
async fn with_mfa_on_staff_and_sysadmins_including_managers_must_give_a_code() {
    let s = stack_with_everyone().await;
    s.set_mfa(true).await;
    for (user, kind) in ROWS {
        let r = s.sign_in(user, PASSWORD).await;
        assert_eq!(r.status, 200, "{user}: {r:?}");
        let expected = if kind.is_staff() {
            "mfa_required"
        } else {
            "signed_in"
        };
        assert_eq!(r.body["status"], expected, "{user}");
        if kind.is_staff() {
            assert_eq!(r.body["enrolled"], false);
            assert!(
                r.body.get("session").is_none(),
                "no session before the code"
            );
        }
    }
}

#[tokio::test]
async fn token_endpoint_refuses_staff_only_while_mfa_is_on() {
    let s = stack_with_everyone().await;
    for on in [false, true] {
        s.set_mfa(on).await;
        for (user, kind) in ROWS {
            let r = s
                .form(
                    "/token",
                    &format!(
                        "grant_type=password&username={user}&password=correct+horse+battery+staple"
                    ),
                )
                .await;
            if on && kind.is_staff() {
                assert_eq!(
                    (r.status, r.error()),
                    (400, "unauthorized_client"),
                    "{user} mfa={on}"
                );
            } else {
                assert_eq!(r.status, 200, "{user} mfa={on}: {r:?}");
                assert_eq!(r.body["token_type"], "Bearer");
                assert!(r.body["expires_in"].as_u64().unwrap() > 0);
                let who = s.get("/session", r.body["access_token"].as_str()).await;
                assert_eq!(who.body["username"], user);
            }
        }
    }
    let r = s
        .form(
            "/token",
            "grant_type=password&username=api1&password=wrong+password+here",
        )
        .await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"));
    let r = s
        .form(
            "/token",
            "grant_type=client_credentials&username=api1&password=x",
        )
        .await;
    assert_eq!(r.error(), "unsupported_grant_type");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let s = stack_with_everyone().await;
    let unknown = s.sign_in("no-such-user", "some password here").await;
    let wrong = s.sign_in("staff1", "some password here").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(unknown.error(), "invalid_credentials");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_with_retry_after() {
    let s = stack_with_everyone().await;
    for _ in 0..5 {
        assert_eq!(s.sign_in("staff1", "wrong password 123").await.status, 401);
    }
    let r = s.sign_in("staff1", PASSWORD).await;
    assert_eq!(r.status, 429, "even the right password waits: {r:?}");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    // Unknown usernames are throttled the same way, so a 429 says nothing about existence.
    for _ in 0..5 {
        s.sign_in("ghost", "wrong password 123").await;
    }
    assert_eq!(s.sign_in("ghost", "wrong password 123").await.status, 429);
    // After the wait, the right password works and resets the count.
    s.app.clock.advance(31);
    assert_eq!(s.sign_in("staff1", PASSWORD).await.status, 200);
    assert_eq!(s.sign_in("staff1", "wrong password 123").await.status, 401);
    assert_eq!(s.sign_in("staff1", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn sessions_end_on_sign_out_and_when_idle() {
    let s = stack_with_everyone().await;
    let token = s.sign_in("member1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = s.get("/session", Some(&token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        (me.body["username"].as_str(), me.body["kind"].as_str()),
        (Some("member1"), Some("member"))
    );
    let out = s
        .send(axum::http::Method::POST, "/sign-out", None, Some(&token))
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(s.get("/session", Some(&token)).await.status, 401);

    let token = s.sign_in("member1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    s.app.clock.advance(29 * 60);
    assert_eq!(
        s.get("/session", Some(&token)).await.status,
        200,
        "used within 30 minutes"
    );
    s.app.clock.advance(29 * 60);
    assert_eq!(
        s.get("/session", Some(&token)).await.status,
        200,
        "the last use restarted the idle clock"
    );
    s.app.clock.advance(31 * 60);
    assert_eq!(
        s.get("/session", Some(&token)).await.status,
        401,
        "idle for 31 minutes"
    );
    assert_eq!(s.get("/session", None).await.status, 401);
    assert_eq!(s.get("/session", Some("garbage")).await.status, 401);
}

#[tokio::test]
async fn sessions_end_after_twelve_hours_however_active() {
    let s = stack_with_everyone().await;
    let token = s.sign_in("member1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..40 {
        s.app.clock.advance(25 * 60);
        if s.get("/session", Some(&token)).await.status == 401 {
            return;
        }
    }
    panic!("session outlived 12 hours");
}

#[tokio::test]
async fn staff_sessions_without_a_code_end_when_mfa_is_switched_on() {
    let s = stack_with_everyone().await;
    let staff = s.sign_in("staff1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = s
        .form(
            "/token",
            "grant_type=password&username=admin1&password=correct+horse+battery+staple",
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = s.sign_in("member1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for t in [&staff, &token, &member] {
        assert_eq!(s.get("/session", Some(t)).await.status, 200);
    }
    s.set_mfa(true).await;
    assert_eq!(
        s.get("/session", Some(&staff)).await.status,
        401,
        "staff password-only session"
    );
    assert_eq!(
        s.get("/session", Some(&token)).await.status,
        401,
        "sysadmin /token session"
    );
    assert_eq!(
        s.get("/session", Some(&member)).await.status,
        200,
        "members are not affected"
    );
}
