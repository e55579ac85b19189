//! The audit trail: every event kind with its fields (source address, user agent, request id,
//! before and after), filters and cursor paging that return exactly the matching entries across
//! shards and pages, CSV safe for spreadsheets, retention, and bad filters refused.

use axum::body::Body;
use axum::http::{Method, Request, header};
use harness::{PASSWORD, Resp, Stack, address, context_from};
use serde_json::{Value, json};
use shared::audit::{Action, Outcome};
use shared::policy::AccountKind::*;

/// MFA on, `admin` enrolled and signed in with a code. Returns the admin session and secret.
async fn with_admin() -> (Stack, String, Vec<u8>) {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    s.set_mfa(true).await;
    let secret = s.enrol_by_email("admin").await;
    let c = s.challenge("admin").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    (s, r.body["session"].as_str().unwrap().to_owned(), secret)
}

async fn audit(s: &Stack, admin: &str, query: &str) -> Resp {
    s.get(&format!("/audit{query}"), Some(admin)).await
}

fn entries(r: &Resp) -> Vec<Value> {
    r.body.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn each_event_is_recorded_with_where_it_came_from() {
    let (s, admin, _) = with_admin().await;
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/sign-in")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "Mozilla/5.0 (audit test)")
        .body(Body::from(
            json!({ "username": "jane", "password": "wrong" }).to_string(),
        ))
        .unwrap();
    req.extensions_mut().insert(context_from("198.51.100.7"));
    assert_eq!(s.raw(req).await.status, 401);
    let r = audit(&s, &admin, "?user=jane&action=sign_in").await;
    let e = &entries(&r)[0];
    assert_eq!(e["outcome"], "invalid_credentials");
    assert_eq!(e["source"], "198.51.100.7");
    assert_eq!(e["user_agent"], "Mozilla/5.0 (audit test)");

    // A change records before and after.
    let r = s
        .send(
            Method::PUT,
            "/settings",
            Some(&json!({ "org_name": "Acme Two" })),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = audit(&s, &admin, "?action=settings_change").await;
    let e = &entries(&r)[0];
    assert_eq!(e["actor"], "admin");
    assert_eq!(e["detail"]["before"]["org_name"], "Acme");
    assert_eq!(e["detail"]["after"]["org_name"], "Acme Two");

    // A refused admin call, a sign-out, a key reveal and a setup mail are all there.
    let jane = s.sign_in("jane", PASSWORD).await;
    let _ = jane;
    assert_eq!(s.get("/settings", Some("not-a-session")).await.status, 401);
    let r = audit(&s, &admin, "?action=admin_call").await;
    assert_eq!(entries(&r)[0]["outcome"], "unauthenticated");
    for action in [
        "setup_email",
        "key_reveal",
        "mfa_verify",
        "enrolment_activated",
    ] {
        let r = audit(&s, &admin, &format!("?action={action}&user=admin")).await;
        assert!(!entries(&r).is_empty(), "{action}: {r:?}");
    }
    let out = s.send(Method::POST, "/sign-out", None, Some(&admin)).await;
    assert_eq!(out.status, 204);
    let log = s.app.recent_audit(100).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "sign_out" && e.actor == "admin")
    );
}

#[tokio::test]
async fn filters_and_paging_return_exactly_the_matching_entries_across_shards_and_pages() {
    let (s, admin, _) = with_admin().await;
    // 23 failures for jane spread over eight shards, and noise around them.
    for i in 0..23 {
        s.app
            .audit("jane", Action::SignIn, "jane", Outcome::InvalidCredentials)
            .await;
        if i % 3 == 0 {
            s.app
                .audit(
                    "(unknown user)",
                    Action::SignIn,
                    "(unknown user)",
                    Outcome::InvalidCredentials,
                )
                .await;
        }
    }
    let mut seen = vec![];
    let mut query = "?user=jane&action=sign_in&outcome=invalid_credentials&limit=5".to_owned();
    for _ in 0..10 {
        let r = audit(&s, &admin, &query).await;
        assert_eq!(r.status, 200, "{r:?}");
        let page = entries(&r);
        assert!(page.len() <= 5);
        seen.extend(page.clone());
        match r.header("link") {
            Some(link) => {
                let next = link.split('<').nth(1).unwrap().split('>').next().unwrap();
                query = next.trim_start_matches("/audit").to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 23, "every entry once");
    assert!(
        seen.iter()
            .all(|e| e["actor"] == "jane" && e["outcome"] == "invalid_credentials")
    );
    let times: Vec<&str> = seen.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first across pages");

    // A time window: nothing before the epoch's first second, everything until now.
    let r = audit(&s, &admin, "?user=jane&until=1970-01-02T00:00:00Z").await;
    assert_eq!(entries(&r).len(), 0);
}

#[tokio::test]
async fn bad_filters_are_a_json_400_and_read_nothing() {
    let (s, admin, _) = with_admin().await;
    for q in [
        "?since=yesterday",
        "?until=2026-13-01T00:00:00Z",
        "?limit=0",
        "?limit=501",
        "?cursor=abc",
        "?format=xml",
        "?user=a%20b",
        "?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
    ] {
        let r = audit(&s, &admin, q).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "invalid_request"),
            "{q}: {r:?}"
        );
    }
}

#[tokio::test]
async fn csv_opens_in_a_spreadsheet_with_formulas_neutralised() {
    let (s, admin, _) = with_admin().await;
    // Written straight to the table: the trail's own vocabularies never start with a formula
    // character, but an entry of any origin must still open safely.
    s.app
        .store
        .append_audit(
            &shared::store::audit::AuditEntry {
                at: s.app.now(),
                at_nanos: 0,
                actor: "=cmd|' /C calc'!A0".into(),
                action: "sign_in".into(),
                target: "+x".into(),
                outcome: "@sum".into(),
                source: "test".into(),
                user_agent: String::new(),
                request_id: String::new(),
                detail: String::new(),
            },
            86_400,
        )
        .await
        .unwrap();
    let r = audit(&s, &admin, "?format=csv&limit=500").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("audit.csv")
    );
    let mut rows = csv_rows(&r.text);
    assert_eq!(
        rows.remove(0)[..5],
        ["at", "actor", "action", "target", "outcome"]
    );
    let row = rows
        .iter()
        .find(|r| r[2] == "sign_in" && r[1].contains("cmd"))
        .unwrap();
    assert_eq!(row[1], "'=cmd|' /C calc'!A0");
    assert_eq!(row[3], "'+x");
    assert_eq!(row[4], "'@sum");
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn entries_expire_after_the_retention_setting() {
    let (s, admin, secret) = with_admin().await;
    let r = s
        .send(
            Method::PUT,
            "/settings",
            Some(&json!({ "audit_retention_days": 10 })),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 400, "below 30 days: {r:?}");
    let _ = secret;
    let r = s
        .send(
            Method::PUT,
            "/settings",
            Some(&json!({ "audit_retention_days": 90 })),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["audit_retention_days"], 90);
    s.app.clock.advance(301); // past the instance's cached setting
    s.app
        .audit(
            "admin",
            Action::AdminCall,
            "retention-probe",
            Outcome::Success,
        )
        .await;
    let out = s
        .app
        .store
        .client()
        .scan()
        .table_name(&s.table)
        .send()
        .await
        .unwrap();
    let probe = out
        .items()
        .iter()
        .find(|i| {
            i.get("target")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("retention-probe")
        })
        .unwrap();
    let at: u64 = probe["at"].as_n().unwrap().parse().unwrap();
    let ttl: u64 = probe["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl - at, 90 * 86_400);
    assert!(
        probe["pk"].as_s().unwrap().starts_with("AUDIT#"),
        "sharded by day"
    );
}
