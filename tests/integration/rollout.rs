//! Rolling MFA out before the switch: the campaign (setup mails to everyone without an app, at
//! most once a day each, reminders, never twice however many batches race), its progress, and the
//! scheduled switch-on with the sign-in page's notice until then.

use std::collections::HashMap;
use std::sync::Arc;

use harness::{PASSWORD, Stack, address, latest_mail_to, link_token, mails_to};
use serde_json::json;
use shared::policy::AccountKind::*;

/// MFA off; `admin` (sysadmin) signed in; five staff, one member, one disabled staff member and one
/// without an email address. Returns the admin session, and each account's address by name.
async fn organisation() -> (Stack, String, HashMap<&'static str, String>) {
    let s = Stack::new().await;
    let mut to = HashMap::new();
    for (u, kind) in [
        ("admin", Sysadmin),
        ("ann", Staff),
        ("bob", Staff),
        ("cat", Staff),
        ("dan", Staff),
        ("eve", Staff),
        ("mem", Member),
        ("gone", Staff),
    ] {
        let a = address(u);
        s.add(u, kind, Some(&a), None).await;
        to.insert(u, a);
    }
    s.add("nomail", Staff, None, None).await;
    s.set_mfa(false).await;
    s.app.store.set_disabled("gone", true).await.unwrap();
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    (s, admin, to)
}

async fn start(s: &Stack, admin: &str, body: serde_json::Value) -> harness::Resp {
    s.send(
        axum::http::Method::POST,
        "/settings/campaign",
        Some(&body),
        Some(admin),
    )
    .await
}

#[tokio::test]
async fn a_campaign_mails_everyone_without_an_app_once_and_reminds_them() {
    let (s, admin, to) = organisation().await;
    // ann is setting her app up of her own accord already (its key shown): she is not mailed.
    s.enrol_directly("ann").await;

    let r = start(&s, &admin, json!({ "reminder_days": 2 })).await;
    assert_eq!(r.status, 202, "{r:?}");
    // admin, bob, cat, dan, eve: the staff and sysadmins without an app who can be mailed.
    assert_eq!(r.body["sent_now"], 5, "{r:?}");
    for u in ["admin", "bob", "cat", "dan", "eve"] {
        assert_eq!(mails_to(&to[u]).len(), 1, "{u}");
    }
    for u in ["ann", "mem", "gone"] {
        assert!(mails_to(&to[u]).is_empty(), "{u} is not mailed");
    }

    // Started again, and the schedule running the same minute: nobody is mailed twice.
    assert_eq!(start(&s, &admin, json!({})).await.body["sent_now"], 0);
    assert_eq!(s.tick().await.mailed, 0);
    // A day later: still inside the two days between reminders.
    s.app.clock.advance(86_400);
    assert_eq!(s.tick().await.mailed, 0);

    // bob opens his link and sets his app up; the others are reminded after two days.
    let mail = latest_mail_to(&to["bob"]).unwrap();
    assert!(
        mail.body.contains("in 3 days"),
        "a campaign link lives 3 days"
    );
    let token = link_token(&mail.body).unwrap();
    let key = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!(key.status, 200, "{key:?}");
    s.app.clock.advance(86_400);
    assert_eq!(s.tick().await.mailed, 4, "admin, cat, dan, eve");
    assert_eq!(mails_to(&to["bob"]).len(), 1, "bob is setting up");
    assert_eq!(mails_to(&to["cat"]).len(), 2);

    // Two days on, the administrator signs in again (sessions last 12 hours at most).
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = s.get("/settings/campaign?limit=2", Some(&admin)).await;
    assert_eq!(p.status, 200, "{p:?}");
    // Seven who can sign in (gone is disabled): ann and bob with an app.
    assert_eq!(
        (
            &p.body["total"],
            &p.body["enrolled"],
            &p.body["pending"],
            &p.body["mailed"]
        ),
        (&json!(7), &json!(2), &json!(5), &json!(4)),
        "{p:?}"
    );
    assert_eq!(p.body["by_kind"]["sysadmin"]["total"], 1);
    assert_eq!(p.body["by_kind"]["staff"]["enrolled"], 2);
    assert_eq!(p.body["campaign"]["reminder_days"], 2);
    let names = |r: &harness::Resp| -> Vec<String> {
        r.body["not_enrolled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&p), ["admin", "cat"]);
    assert_eq!(p.body["not_enrolled"][1]["mails"], 2);
    let next = p.body["next"].as_str().unwrap();
    let p2 = s
        .get(
            &format!("/settings/campaign?limit=2&cursor={next}"),
            Some(&admin),
        )
        .await;
    assert_eq!(names(&p2), ["dan", "eve"]);
    let p3 = s
        .get(
            &format!(
                "/settings/campaign?limit=2&cursor={}",
                p2.body["next"].as_str().unwrap()
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(names(&p3), ["nomail"]);
    assert_eq!(p3.body["not_enrolled"][0]["cannot_mail"], "no_email");
    assert_eq!(p3.body["next"], json!(null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_started_twice_at_once_mails_nobody_twice() {
    let (s, admin, to) = organisation().await;
    let s = Arc::new(s);
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let (s, admin) = (s.clone(), admin.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    start(&s, &admin, json!({})).await.body["sent_now"]
                        .as_u64()
                        .unwrap()
                } else {
                    s.tick().await.mailed as u64
                }
            })
        })
        .collect();
    let mut sent = 0;
    for r in runs {
        sent += r.await.unwrap();
    }
    assert_eq!(sent, 6, "admin and the five staff, each once");
    for u in ["admin", "ann", "bob", "cat", "dan", "eve"] {
        assert_eq!(mails_to(&to[u]).len(), 1, "{u}");
    }
}

#[tokio::test]
async fn campaign_requests_are_checked() {
    let (s, admin, to) = organisation().await;
    for bad in [
        json!({ "reminder_days": 0 }),
        json!({ "reminder_days": 31 }),
        json!({ "x": 1 }),
    ] {
        let r = start(&s, &admin, bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}: {r:?}");
    }
    assert!(mails_to(&to["bob"]).is_empty(), "nothing sent");
    assert_eq!(s.get("/settings/campaign", None).await.status, 401);
    let staff = s.sign_in("bob", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(start(&s, &staff, json!({})).await.status, 403);
    let r = s.get("/settings/campaign?limit=0", Some(&admin)).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn mfa_switches_on_at_the_time_set_and_the_sign_in_page_says_when_until_then() {
    let (s, admin, _) = organisation().await;
    let put = async |body: serde_json::Value| {
        s.send(
            axum::http::Method::PUT,
            "/settings",
            Some(&body),
            Some(&admin),
        )
        .await
    };
    let at = s.app.now() + 2 * 86_400;
    let when = shared::clock::rfc3339(at);
    for bad in [
        json!({ "enforce_at": "tomorrow" }),
        json!({ "enforce_at": shared::clock::rfc3339(s.app.now() - 60) }),
    ] {
        assert_eq!(put(bad.clone()).await.status, 400, "{bad}");
    }
    let r = put(json!({ "enforce_at": when })).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["enforce_at"], when);
    assert_eq!(r.body["mfa_enabled"], false);

    // Until then: staff without an app are told the date; the tick changes nothing.
    let r = s.sign_in("bob", PASSWORD).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["mfa_from"].as_str()),
        (Some("signed_in"), Some(when.as_str()))
    );
    let r = s.sign_in("mem", PASSWORD).await;
    assert!(
        r.body.get("mfa_from").is_none(),
        "members are not asked: {r:?}"
    );
    assert!(!s.tick().await.switched_on);

    // At the time: switched on by the schedule, audited as such; staff are asked for a code.
    s.app.clock.advance(2 * 86_400);
    assert!(s.tick().await.switched_on);
    let settings = s.app.store.get_settings().await.unwrap();
    assert!(settings.mfa_enabled);
    assert_eq!(settings.enforce_at, None, "nothing left to schedule");
    let r = s.sign_in("bob", PASSWORD).await;
    assert_eq!(r.body["status"], "mfa_required", "{r:?}");
    let entries = s.app.recent_audit(50).await.unwrap();
    assert!(
        entries.iter().any(|e| e.actor == "schedule"
            && e.action == "settings_change"
            && e.detail.contains("mfa_enabled=true")),
        "{entries:?}"
    );
    assert!(!s.tick().await.switched_on, "once");
}

async fn remind(s: &Stack, admin: Option<&str>, who: &str) -> harness::Resp {
    s.send(
        axum::http::Method::POST,
        &format!("/accounts/{who}/setup-email"),
        None,
        admin,
    )
    .await
}

#[tokio::test]
async fn an_administrator_mails_one_person_their_setup_email_at_most_once_a_day() {
    let (s, admin, to) = organisation().await;
    let r = remind(&s, Some(&admin), "bob").await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.body["sent_to"], shared::email::mask(&to["bob"]), "{r:?}");
    let mail = latest_mail_to(&to["bob"]).unwrap();
    assert!(mail.body.contains("in 3 days"), "the campaign's link");
    // The audit trail names the administrator who sent it.
    let entries = s
        .get("/audit?user=bob&action=setup_email", Some(&admin))
        .await;
    assert_eq!(entries.body[0]["actor"], "admin", "{entries:?}");
    assert_eq!(entries.body[0]["outcome"], "sent");

    // Again the same day: refused, nothing sent; and the campaign counts it as bob's mail of today.
    let again = remind(&s, Some(&admin), "bob").await;
    assert_eq!(again.status, 409, "{again:?}");
    assert!(
        again.body["message"]
            .as_str()
            .unwrap()
            .contains("less than a day ago")
    );
    assert_eq!(mails_to(&to["bob"]).len(), 1);
    let r = start(&s, &admin, json!({})).await;
    assert_eq!(
        r.body["sent_now"], 5,
        "admin, cat, dan, eve and ann; not bob"
    );
    assert_eq!(mails_to(&to["bob"]).len(), 1);
    // A day on, a reminder goes again.
    s.app.clock.advance(86_400);
    let admin = s.sign_in("admin", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(remind(&s, Some(&admin), "bob").await.status, 202);
    assert_eq!(mails_to(&to["bob"]).len(), 2);
}

#[tokio::test]
async fn a_reminder_is_refused_where_it_cannot_or_need_not_go() {
    let (s, admin, to) = organisation().await;
    s.enrol_directly("ann").await;
    for (who, status, why) in [
        ("ann", 409, "already_enrolled"),
        ("mem", 409, "conflict"),
        ("gone", 409, "conflict"),
        ("nomail", 409, "no_email_on_file"),
        ("nobody", 404, "not_found"),
        // A name that cannot be a username is no account, as on every account route.
        ("Bad%20Name", 404, "not_found"),
    ] {
        let r = remind(&s, Some(&admin), who).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (status, Some(why)),
            "{who}: {r:?}"
        );
    }
    for u in ["ann", "mem", "gone"] {
        assert!(mails_to(&to[u]).is_empty(), "{u}");
    }
    // Only administrators.
    assert_eq!(remind(&s, None, "bob").await.status, 401);
    let staff = s.sign_in("bob", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(remind(&s, Some(&staff), "cat").await.status, 403);
    assert!(mails_to(&to["cat"]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reminders_sent_at_once_mail_one_person_once() {
    let (s, admin, to) = organisation().await;
    let s = Arc::new(s);
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let (s, admin) = (s.clone(), admin.clone());
            tokio::spawn(async move { remind(&s, Some(&admin), "cat").await.status })
        })
        .collect();
    let mut statuses = vec![];
    for r in runs {
        statuses.push(r.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409, 409, 409, 409, 409]);
    assert_eq!(mails_to(&to["cat"]).len(), 1);
}

/// The overview's figures are a count kept in one item: the first view counts, later views show
/// that count (with its time) until the schedule or an administrator counts again, while the list
/// of people without an app and the locks are read as they are now.
#[tokio::test]
async fn the_overview_shows_the_last_count_and_counting_again_moves_it() {
    let (s, admin, _) = organisation().await;
    let figures = |r: &harness::Resp| (r.body["total"].clone(), r.body["enrolled"].clone());
    let p = s.get("/settings/campaign", Some(&admin)).await;
    assert_eq!(p.status, 200, "{p:?}");
    // admin, ann, bob, cat, dan, eve, nomail can sign in (gone is disabled, mem is no staff).
    assert_eq!(figures(&p), (json!(7), json!(0)));
    let counted_at = p.body["counted_at"].clone();
    let ready = s.get("/settings/mfa-readiness", Some(&admin)).await;
    assert_eq!(ready.body["counted_at"], counted_at, "one count for both");
    assert_eq!(
        ready.body["staff"],
        json!({ "enrolled": 0, "pending": 0, "not_enrolled": 8, "with_passkey": 0 })
    );

    // ann sets up an app: the list leaves her out at once; the figures wait for the next count.
    s.enrol_directly("ann").await;
    s.app.clock.advance(30);
    let p = s.get("/settings/campaign", Some(&admin)).await;
    assert_eq!(figures(&p), (json!(7), json!(0)));
    assert_eq!(p.body["counted_at"], counted_at);
    let listed: Vec<&str> = p.body["not_enrolled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["admin", "bob", "cat", "dan", "eve", "nomail"]);

    // The administrator counts again.
    let r = s
        .send(
            axum::http::Method::POST,
            "/settings/mfa-readiness/recount",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["staff"]["pending"], 1, "{r:?}");
    assert_ne!(r.body["counted_at"], counted_at);
    let p = s.get("/settings/campaign", Some(&admin)).await;
    assert_eq!(figures(&p), (json!(7), json!(1)));

    // bob is disabled: the schedule's next run counts it.
    s.app.store.set_disabled("bob", true).await.unwrap();
    s.app.clock.advance(60);
    s.tick().await;
    let p = s.get("/settings/campaign", Some(&admin)).await;
    assert_eq!(figures(&p), (json!(6), json!(1)));
    assert_eq!(p.body["by_kind"]["staff"]["total"], 5);

    // Counting needs an administrator.
    let staff = s.sign_in("cat", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for who in [None, Some(staff.as_str())] {
        let r = s
            .send(
                axum::http::Method::POST,
                "/settings/mfa-readiness/recount",
                None,
                who,
            )
            .await;
        assert!(matches!(r.status, 401 | 403), "{r:?}");
    }
}

/// Two counts at once: the one counted later is the one kept, whichever finishes last.
#[tokio::test]
async fn a_count_never_replaces_a_later_one() {
    let (s, _, _) = organisation().await;
    let later = shared::flows::tally::recount(&s.app).await.unwrap();
    let mut earlier = later.clone();
    earlier.counted_at -= 60;
    earlier.figures.total = 999;
    s.app
        .store
        .put_tally(
            earlier.counted_at,
            &serde_json::to_string(&earlier).unwrap(),
        )
        .await
        .unwrap();
    let kept = shared::flows::tally::current(&s.app).await.unwrap();
    assert_eq!(kept, later);
}

/// `mfa-admin readiness recount` prints the count and how each figure moved since the last one.
#[tokio::test]
async fn a_recount_reports_what_changed_since_the_count_before() {
    let (s, _, _) = organisation().await;
    let before = shared::flows::tally::recount(&s.app).await.unwrap();
    s.enrol_directly("ann").await;
    s.app.clock.advance(60);
    let now = shared::flows::tally::recount(&s.app).await.unwrap();
    let lines = mfa_admin::recount_report(Some(&before), &now);
    assert!(lines.contains(&"pending: 1 (+1)".to_owned()), "{lines:?}");
    assert!(
        lines.contains(&"not enrolled: 7 (-1)".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"with an app: 1 (+1)".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"cannot be mailed: 1 (+0)".to_owned()),
        "{lines:?}"
    );
    let first = mfa_admin::recount_report(None, &now);
    assert_eq!(first.last().unwrap(), "no earlier count");
}

/// Late in a rollout, when few are left without an app, a page of them reads at most 500 staff:
/// it may come back short, and the next page starts where it stopped reading, until the last
/// page says there is no more. Nobody is skipped or listed twice.
#[tokio::test]
async fn the_people_without_an_app_page_through_a_mostly_enrolled_directory_in_bounded_steps() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = Stack::new().await;
    let str_ = |v: &str| AttributeValue::S(v.to_owned());
    let mut items = vec![];
    for i in 0..620 {
        let user = format!("late{i:04}");
        items.push(HashMap::from([
            ("pk".to_owned(), str_(&format!("ACCOUNT#{user}"))),
            ("sk".to_owned(), str_("PROFILE")),
            ("username".to_owned(), str_(&user)),
            ("kind".to_owned(), str_("staff")),
            ("session_epoch".to_owned(), AttributeValue::N("0".into())),
            ("gsi1pk".to_owned(), str_("STAFF")),
            ("gsi1sk".to_owned(), str_(&user)),
        ]));
        // All but every 40th of the first 600 have an app; the last 20 have none.
        if i < 600 && i % 40 != 7 {
            items.push(HashMap::from([
                ("pk".to_owned(), str_(&format!("ACCOUNT#{user}"))),
                ("sk".to_owned(), str_("MFA")),
                ("status".to_owned(), str_("active")),
                ("enrolment_id".to_owned(), str_("e")),
                ("secret".to_owned(), AttributeValue::B(vec![1u8; 49].into())),
            ]));
        }
    }
    s.put_raw(&items).await;
    let mut seen: Vec<String> = vec![];
    let mut sizes = vec![];
    let mut after: Option<String> = None;
    loop {
        let p = shared::flows::rollout::progress(&s.app, after.as_deref(), 25)
            .await
            .unwrap();
        sizes.push(p.not_enrolled.len());
        seen.extend(p.not_enrolled.iter().map(|w| w.username.clone()));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
        assert!(sizes.len() < 10, "{sizes:?}");
    }
    let want: Vec<String> = (0..620)
        .filter(|i| *i >= 600 || i % 40 == 7)
        .map(|i| format!("late{i:04}"))
        .collect();
    assert_eq!(seen, want);
    // The first page stopped after 500 staff with the 13 it had found.
    assert_eq!(sizes, [13, 22]);
}
