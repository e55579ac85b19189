//! A user's own account: their recent activity, signing out everywhere, and recovery codes with
//! the session cookie, which only our own pages may use to change anything (CSRF).

use axum::body::Body;
use axum::http::{Method, Request, header};
use harness::{PASSWORD, Stack, address};
use serde_json::json;
use shared::policy::AccountKind::*;

/// MFA on, jane enrolled and signed in with a code: her session and her app's secret.
async fn jane() -> (Stack, String, Vec<u8>) {
    let s = Stack::new().await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    s.add("bob", Staff, Some(&address("bob")), None).await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let secret = s.enrolled("jane").await;
    let c = s.challenge("jane").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    (s, r.body["session"].as_str().unwrap().to_owned(), secret)
}

/// A request with the session cookie, from `origin` (None: no Origin header at all).
async fn with_cookie(
    s: &Stack,
    method: Method,
    path: &str,
    session: &str,
    origin: Option<&str>,
) -> harness::Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, format!("__Host-mfa_session={session}"));
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    s.raw(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn activity_lists_the_accounts_own_entries_newest_first() {
    let (s, session, _) = jane().await;
    s.sign_in("bob", "a wrong password 1").await;
    let r = s.get("/account/activity", Some(&session)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let entries = r.body["entries"].as_array().unwrap();
    assert!(!entries.is_empty() && entries.len() <= 20);
    assert!(
        entries.iter().all(|e| e["by"] == "jane"),
        "only jane's: {entries:?}"
    );
    assert!(entries.iter().any(|e| e["action"] == "mfa_verify"));
    // What an administrator does to her account is there, without the administrator's address
    // or browser.
    shared::flows::admin::unlock(
        &s.app,
        &shared::flows::guard::Actor::Operator("helpdesk"),
        "jane",
    )
    .await
    .unwrap();
    let r = s.get("/account/activity", Some(&session)).await;
    let unlock = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "unlock")
        .cloned()
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(unlock["by"], "an administrator");
    assert_eq!(
        (unlock["source"].as_str(), unlock["user_agent"].as_str()),
        (Some(""), Some(""))
    );
    assert_eq!(s.get("/account/activity", None).await.status, 401);
    // With the cookie too (reading needs no origin check).
    let r = with_cookie(&s, Method::GET, "/account/activity", &session, None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_only_from_our_pages() {
    let (s, first, secret) = jane().await;
    s.app.clock.advance(30);
    let c = s.challenge("jane").await;
    let second = s.verify(&c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let issuer = s.app.issuer(None).unwrap();
    // The cookie from another site's page, or with no origin: refused, nothing ends.
    for origin in [Some("https://evil.example"), None] {
        let r = with_cookie(
            &s,
            Method::POST,
            "/account/sign-out-everywhere",
            &first,
            origin,
        )
        .await;
        assert_eq!(r.status, 403, "{origin:?}: {r:?}");
    }
    assert_eq!(s.get("/session", Some(&second)).await.status, 200);
    let r = with_cookie(
        &s,
        Method::POST,
        "/account/sign-out-everywhere",
        &first,
        Some(&issuer),
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the browser's cookie goes too: {r:?}"
    );
    for session in [&first, &second] {
        assert_eq!(s.get("/session", Some(session)).await.status, 401);
    }
    let log = s.app.recent_audit(50).await.unwrap();
    assert!(log.iter().any(|e| e.action == "sign_out"
        && e.target == "jane"
        && e.actor == "jane"
        && e.detail.contains("everywhere")));
    // Without a session, nothing.
    let r = s
        .send(Method::POST, "/account/sign-out-everywhere", None, None)
        .await;
    assert_eq!(r.status, 401);
    let _ = PASSWORD;
}

#[tokio::test]
async fn recovery_codes_with_the_cookie_only_from_our_pages() {
    let (s, session, _) = jane().await;
    let issuer = s.app.issuer(None).unwrap();
    let r = with_cookie(
        &s,
        Method::POST,
        "/mfa/recovery-codes",
        &session,
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(r.status, 403, "{r:?}");
    // Nor a step-up code from another site's page (it would spend the account's attempts).
    let req = Request::builder()
        .method(Method::POST)
        .uri("/mfa/reauthenticate")
        .header(header::COOKIE, format!("__Host-mfa_session={session}"))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/json");
    let r = s
        .raw(req.body(Body::from(r#"{"code":"123456"}"#)).unwrap())
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    let standing = with_cookie(&s, Method::GET, "/mfa/recovery-codes", &session, None).await;
    assert_eq!(standing.body["remaining"], 0, "nothing was made");
    let r = with_cookie(
        &s,
        Method::POST,
        "/mfa/recovery-codes",
        &session,
        Some(&issuer),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["codes"].as_array().unwrap().len(), 10);
    // The page itself, for anyone (it asks with the cookie).
    let page = s.get("/account", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Your account"));
    let _ = json!({});
}

const NEW_PASSWORD: &str = "a brand new passphrase";

fn change(current: &str, new: &str) -> serde_json::Value {
    json!({ "current_password": current, "new_password": new })
}

#[tokio::test]
async fn changing_the_password_takes_the_current_one_and_a_recent_code_and_ends_every_session() {
    let (s, session, secret) = jane().await;
    s.app.clock.advance(30);
    let c = s.challenge("jane").await;
    let other = s.verify(&c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();

    // A new password against the policy, or a wrong current one: 400, nothing changed.
    let r = s
        .post_as(&session, "/account/password", change(PASSWORD, "short"))
        .await;
    assert_eq!((r.status, r.error()), (400, "invalid_password"), "{r:?}");
    let r = s
        .post_as(
            &session,
            "/account/password",
            change("not my password", NEW_PASSWORD),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (400, "invalid_current_password"),
        "{r:?}"
    );
    assert_eq!(
        s.audit_count("jane", "password_change", "invalid_credentials")
            .await,
        1
    );
    let r = s
        .post_as(
            &session,
            "/account/password",
            json!({ "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 400, "a field missing: {r:?}");

    // Eleven minutes after her code, a code is asked for again.
    s.app.clock.advance(11 * 60);
    let r = s
        .post_as(
            &session,
            "/account/password",
            change(PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (403, "reauthentication_required"),
        "{r:?}"
    );
    s.app.clock.advance(30);
    let r = s
        .post_as(
            &session,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&secret) }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let r = s
        .post_as(
            &session,
            "/account/password",
            change(PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], "password_changed");
    assert!(
        r.header("set-cookie").unwrap().contains("Max-Age=0"),
        "{r:?}"
    );
    for token in [&session, &other] {
        assert_eq!(s.get("/session", Some(token)).await.status, 401);
    }
    assert_eq!(s.sign_in("jane", PASSWORD).await.status, 401);
    let signed = s.sign_in("jane", NEW_PASSWORD).await;
    assert_eq!(signed.status, 200, "{signed:?}");
    let to = s.app.store.load_account("jane").await.unwrap().unwrap();
    let notice = harness::latest_mail_to(&to.account.name_email.unwrap()).unwrap();
    assert!(
        notice.subject.contains("password was changed"),
        "{notice:?}"
    );
    assert_eq!(s.audit_count("jane", "password_change", "success").await, 1);
    // Her own page lists it.
    s.app.clock.advance(30);
    let c = signed.body["challenge"].as_str().unwrap();
    let fresh = s.verify(c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.get("/account/activity", Some(&fresh)).await;
    assert!(
        r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "password_change" && e["outcome"] == "success"),
        "{r:?}"
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_accounts_password_limits() {
    let (s, session, _) = jane().await;
    for _ in 0..5 {
        let r = s
            .post_as(&session, "/account/password", change("guess", NEW_PASSWORD))
            .await;
        assert_eq!(r.status, 400, "{r:?}");
    }
    // The address waits now, here and at the sign-in, even with the right password.
    let r = s
        .post_as(
            &session,
            "/account/password",
            change(PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some());
    assert_eq!(s.sign_in("jane", PASSWORD).await.status, 429);
    assert_eq!(
        s.audit_count("jane", "password_change", "throttled").await,
        1
    );
}

#[tokio::test]
async fn an_account_without_an_app_changes_its_password_with_the_current_one_alone() {
    let (s, _, _) = jane().await;
    s.set_mfa(false).await;
    let bob = s.sign_in("bob", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .post_as(&bob, "/account/password", change(PASSWORD, NEW_PASSWORD))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(s.sign_in("bob", NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_password_change_with_the_cookie_only_from_our_pages() {
    let (s, session, _) = jane().await;
    let issuer = s.app.issuer(None).unwrap();
    let with = |origin: Option<&str>| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/account/password")
            .header(header::COOKIE, format!("__Host-mfa_session={session}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        req.body(Body::from(change(PASSWORD, NEW_PASSWORD).to_string()))
            .unwrap()
    };
    for origin in [None, Some("https://evil.example")] {
        let r = s.raw(with(origin)).await;
        assert_eq!(r.status, 403, "{origin:?}: {r:?}");
    }
    assert_eq!(s.sign_in("jane", PASSWORD).await.status, 200, "unchanged");
    let r = s.raw(with(Some(&issuer))).await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// The write is conditioned on the session's epoch: an account that moved on since (a reset, a
/// sign-out everywhere) keeps its password.
#[tokio::test]
async fn a_password_change_behind_a_sign_out_everywhere_is_refused() {
    let (s, session, _) = jane().await;
    let active = shared::flows::sessions::authenticate(&s.app, Some(&session))
        .await
        .unwrap();
    s.app.store.end_sessions("jane").await.unwrap();
    let phc = shared::password::hash(NEW_PASSWORD).unwrap();
    assert!(
        !s.app
            .store
            .change_password("jane", active.epoch, &phc)
            .await
            .unwrap()
    );
    assert_eq!(s.sign_in("jane", PASSWORD).await.status, 200);
}

/// The staff help page is docs/staff-help.md, linked from the sign-in page: the apps it names are
/// the setup mail's, and it runs no script.
#[tokio::test]
async fn the_help_page_is_the_staff_help_document() {
    let s = Stack::new().await;
    let r = s.get("/help", None).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        r.text.contains("<h1>Help with signing in</h1>"),
        "{}",
        r.text
    );
    for app in shared::messages::APPS {
        assert!(
            r.text.contains(app),
            "the help names {app}, as the setup mail does"
        );
    }
    assert!(r.text.contains("<script></script>"), "no script of its own");
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'"));
    let sign_in = s.get("/sign-in", None).await;
    assert!(sign_in.text.contains("href=\"/help\""));
}
