//! Administration: who may, settings rules, readiness, reset, audit.

use harness::{PASSWORD, Stack, address, latest_mail_to};
use serde_json::json;
use shared::policy::AccountKind::*;

/// A stack with MFA on and `admin` signed in with a code. Returns the admin session.
async fn with_admin() -> (Stack, String) {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.set_mfa(true).await;
    let secret = s.enrol_by_email("admin").await;
    let c = s.challenge("admin").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    (s, r.body["session"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn settings_need_an_admin_session() {
    let s = Stack::new().await;
    s.add("member1", Member, None, None).await;
    assert_eq!(s.get("/settings", None).await.status, 401);
    let member = s.sign_in("member1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.get("/settings", Some(&member)).await.status, 403);
}

#[tokio::test]
async fn admin_changes_ask_who_is_asking_before_reading_the_body() {
    let s = Stack::new().await;
    for path in [
        "/settings",
        "/settings/providers/corp",
        "/settings/clients/wiki",
    ] {
        let bad = json!({ "kind": 7, "mfa_enabled": "yes" });
        let r = s
            .send(axum::http::Method::PUT, path, Some(&bad), None)
            .await;
        assert_eq!(
            (r.status, r.error()),
            (401, "unauthenticated"),
            "{path}: {r:?}"
        );
    }
}

#[tokio::test]
async fn mfa_cannot_be_enabled_without_a_valid_org_email() {
    let s = Stack::new().await;
    s.add("root", Sysadmin, Some(&address("root")), None).await;
    let admin = s.sign_in("root", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();

    let put = async |body: serde_json::Value| {
        s.send(
            axum::http::Method::PUT,
            "/settings",
            Some(&body),
            Some(&admin),
        )
        .await
    };
    let r = put(json!({ "mfa_enabled": true })).await;
    assert_eq!((r.status, r.error()), (409, "org_email_required"));
    let r = put(json!({ "org_default_email": "not an address" })).await;
    assert_eq!((r.status, r.error()), (400, "invalid_email"));
    let r = put(json!({ "org_default_email": "mfa@example.org", "mfa_enabled": true })).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["mfa_enabled"], true);
}

#[tokio::test]
async fn mfa_cannot_be_enabled_when_no_admin_could_sign_in() {
    let s = Stack::new().await;
    s.add("root", Sysadmin, None, None).await;
    let admin = s.sign_in("root", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "org_default_email": "mfa@example.org", "mfa_enabled": true });
    let r = s
        .send(
            axum::http::Method::PUT,
            "/settings",
            Some(&body),
            Some(&admin),
        )
        .await;
    assert_eq!((r.status, r.error()), (409, "no_admin_can_enrol"));
}

#[tokio::test]
async fn readiness_lists_who_cannot_receive_setup_mail() {
    let (s, admin) = with_admin().await;
    s.add("ok", Staff, Some(&address("ok")), None).await;
    s.add(
        "bad",
        Staff,
        Some("bad-address"),
        Some(&address("fallback")),
    )
    .await;
    s.add("none", Staff, None, None).await;
    s.add("member1", Member, None, None).await;
    let r = s.get("/settings/mfa-readiness", Some(&admin)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["staff"],
        json!({ "enrolled": 1, "pending": 0, "not_enrolled": 3, "with_passkey": 0 })
    );
    assert_eq!(r.body["sender_verified"], true);
    assert_eq!(r.body["code_entry_locked"], json!([]));
    assert_eq!(
        r.body["cannot_receive_setup_mail"],
        json!([{ "username": "bad", "reason": "invalid_email" }, { "username": "none", "reason": "no_email" }])
    );
}

#[tokio::test]
async fn reset_then_sign_in_enrols_again_and_the_audit_log_shows_who() {
    let (s, admin) = with_admin().await;
    let to = address("kim");
    s.add("kim", Staff, Some(&to), None).await;
    let secret = s.enrol_by_email("kim").await;
    let c = s.challenge("kim").await;
    let kim_session = s.verify(&c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.get("/session", Some(&kim_session)).await.status, 200);

    let r = s
        .send(
            axum::http::Method::POST,
            "/accounts/kim/mfa/reset",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        s.get("/session", Some(&kim_session)).await.status,
        401,
        "the reset ended kim's sessions"
    );
    assert!(latest_mail_to(&to).unwrap().subject.contains("reset"));

    let r = s.sign_in("kim", PASSWORD).await;
    assert_eq!(r.body["enrolled"], false);
    s.enrol_by_email("kim").await;

    let log = s.get("/audit?limit=100", Some(&admin)).await;
    assert_eq!(log.status, 200);
    let entries = log.body.as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "mfa_reset" && e["actor"] == "admin" && e["target"] == "kim")
    );
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let r = s
        .send(
            axum::http::Method::POST,
            "/accounts/nobody/mfa/reset",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn two_concurrent_settings_changes_both_survive() {
    let (s, admin) = with_admin().await;
    let a = json!({ "org_name": "Renamed Org" });
    let b = json!({ "org_default_email": "other@example.org" });
    let (ra, rb) = tokio::join!(
        s.send(axum::http::Method::PUT, "/settings", Some(&a), Some(&admin)),
        s.send(axum::http::Method::PUT, "/settings", Some(&b), Some(&admin)),
    );
    assert_eq!((ra.status, rb.status), (200, 200));
    let now = s.get("/settings", Some(&admin)).await;
    assert_eq!(now.body["org_name"], "Renamed Org");
    assert_eq!(now.body["org_default_email"], "other@example.org");
}

#[tokio::test]
async fn readiness_shows_who_is_locked_out_of_code_entry() {
    let (s, admin) = with_admin().await;
    s.add("lou", Staff, Some(&address("lou")), None).await;
    for _ in 0..10 {
        let c = s.challenge("lou").await;
        s.verify(&c, "000000").await;
    }
    let r = s.get("/settings/mfa-readiness", Some(&admin)).await;
    let locked = r.body["code_entry_locked"].as_array().unwrap();
    assert_eq!(locked.len(), 1, "{r:?}");
    assert_eq!(locked[0]["username"], "lou");
    let reset = s
        .send(
            axum::http::Method::POST,
            "/accounts/lou/mfa/reset",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(reset.status, 204);
    let r = s.get("/settings/mfa-readiness", Some(&admin)).await;
    assert_eq!(
        r.body["code_entry_locked"],
        json!([]),
        "a reset clears the lock"
    );
}

#[tokio::test]
async fn a_staff_session_is_not_an_admin_session() {
    let s = Stack::new().await;
    s.add("staff1", Staff, None, None).await;
    let staff = s.sign_in("staff1", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in ["/settings", "/settings/mfa-readiness", "/audit"] {
        let r = s.get(path, Some(&staff)).await;
        assert_eq!((r.status, r.error()), (403, "forbidden"), "{path}");
    }
    let r = s
        .send(
            axum::http::Method::POST,
            "/accounts/staff1/mfa/reset",
            None,
            Some(&staff),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn a_malformed_query_is_a_json_400() {
    let (s, admin) = with_admin().await;
    for path in [
        "/audit?limit=1&limit=2",
        "/audit?limit=abc",
        "/audit?limit=0",
    ] {
        let r = s.get(path, Some(&admin)).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "invalid_request"),
            "{path}: {r:?}"
        );
    }
}

/// `POST /settings/clients` creates and never overwrites (409, however many administrators race);
/// `PUT` changes an existing site and never creates one (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_is_created_once_and_changed_only_where_it_exists() {
    let (s, admin) = with_admin().await;
    let s = std::sync::Arc::new(s);
    let site = |name: &str| json!({ "client_id": "wiki", "name": name, "redirect_uris": ["https://wiki.example.org/cb"] });
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let (s, admin, body) = (s.clone(), admin.clone(), site(&format!("Wiki {i}")));
            tokio::spawn(async move {
                s.send(
                    axum::http::Method::POST,
                    "/settings/clients",
                    Some(&body),
                    Some(&admin),
                )
                .await
            })
        })
        .collect();
    let mut answers = vec![];
    for r in racers {
        answers.push(r.await.unwrap());
    }
    let created: Vec<_> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert!(created[0].body["client_secret"].is_string());
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_eq!((r.status, r.error()), (409, "conflict"), "{r:?}");
        assert!(r.body["message"].as_str().unwrap().contains("wiki"));
    }
    let name = created[0].body["name"].clone();
    let list = s.get("/settings/clients", Some(&admin)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["name"], name, "the first write stands");

    let put = async |id: &str, body: serde_json::Value| {
        s.send(
            axum::http::Method::PUT,
            &format!("/settings/clients/{id}"),
            Some(&body),
            Some(&admin),
        )
        .await
    };
    let changed = put(
        "wiki",
        json!({ "name": "The wiki", "redirect_uris": ["https://wiki.example.org/cb"] }),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.body["name"], "The wiki");
    assert!(
        changed.body.get("client_secret").is_none(),
        "kept, not shown"
    );
    let missing = put(
        "blog",
        json!({ "redirect_uris": ["https://blog.example.org/cb"] }),
    )
    .await;
    assert_eq!(missing.status, 404, "{missing:?}");
    for bad in [
        json!({ "redirect_uris": ["https://wiki.example.org/cb"] }),
        json!({ "client_id": "not an id", "redirect_uris": ["https://x.example.org/cb"] }),
        json!({ "client_id": "x", "redirect_uris": "nope" }),
    ] {
        let r = s
            .send(
                axum::http::Method::POST,
                "/settings/clients",
                Some(&bad),
                Some(&admin),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {r:?}");
    }
    assert_eq!(
        s.get("/settings/clients", Some(&admin))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing else was made"
    );
}
