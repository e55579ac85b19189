//! Replacing the authenticator app from the account page: the setup mail for a new app goes out
//! beside the active one (asked with a recent code, or in a session signed in with a recovery code
//! in the last 10 minutes), and only a code from the new app, given on its setup page, puts it in
//! the old one's place: the old app's codes stop working then, every session ends, and the
//! recovery codes carry over.

use harness::{PASSWORD, Stack, address, latest_mail_to, link_token};
use serde_json::json;
use shared::policy::AccountKind::*;

/// MFA on; jane enrolled and signed in with a code; her session and her app's secret.
async fn jane() -> (Stack, String, Vec<u8>) {
    let s = Stack::new().await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let secret = s.enrolled("jane").await;
    let c = s.challenge("jane").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    (s, r.body["session"].as_str().unwrap().to_owned(), secret)
}

async fn replace(s: &Stack, session: &str) -> harness::Resp {
    s.post_as(session, "/mfa/setup/replace", json!({})).await
}

/// The link of the latest setup mail to jane, and the new app's secret its page shows.
async fn new_key(s: &Stack) -> (String, Vec<u8>) {
    let to = s.account_email("jane").await;
    let token = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    let key = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!(key.status, 200, "{key:?}");
    assert_eq!(key.body["confirm_here"], true, "{key:?}");
    let secret = data_encoding::BASE32_NOPAD
        .decode(key.body["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    (token, secret)
}

async fn confirm(s: &Stack, token: &str, code: &str) -> harness::Resp {
    s.post(
        "/mfa/setup/confirm",
        json!({ "token": token, "code": code }),
    )
    .await
}

/// A set of recovery codes for the session (which gave a code just now).
async fn recovery_codes(s: &Stack, session: &str) -> Vec<String> {
    let r = s.post_as(session, "/mfa/recovery-codes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_new_app_takes_the_old_ones_place_only_when_a_code_from_it_confirms_it() {
    let (s, session, old) = jane().await;
    let codes = recovery_codes(&s, &session).await;
    let r = replace(&s, &session).await;
    assert_eq!(r.status, 202, "{r:?}");
    assert!(r.body["sent_to"].as_str().unwrap().contains('*'), "masked");
    let (token, new) = new_key(&s).await;

    // Until it is confirmed the old app signs in, and the new one does not.
    s.app.clock.advance(30);
    let c = s.challenge("jane").await;
    assert_eq!(s.verify(&c, &s.code(&new)).await.status, 401);
    s.app.clock.advance(30);
    let c = s.challenge("jane").await;
    let r = s.verify(&c, &s.code(&old)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let second = r.body["session"].as_str().unwrap().to_owned();

    // A code from the old app, or a wrong one, does not confirm it (and counts as a wrong code).
    let r = confirm(&s, &token, &s.code(&old)).await;
    assert_eq!((r.status, r.error()), (401, "invalid_code"), "{r:?}");
    assert_eq!(r.body["attempts_left"], 9, "{r:?}");
    let r = confirm(&s, &token, "12345").await;
    assert_eq!(r.status, 400, "malformed: {r:?}");

    let r = confirm(&s, &token, &s.code(&new)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], "confirmed");
    // Every session ended; the link is used up.
    for token in [&session, &second] {
        assert_eq!(s.get("/session", Some(token)).await.status, 401);
    }
    assert_eq!(confirm(&s, &token, &s.code(&new)).await.status, 410);

    // The old app's codes are refused now; the new app's sign in.
    s.app.clock.advance(30);
    let c = s.challenge("jane").await;
    let r = s.verify(&c, &s.code(&old)).await;
    assert_eq!((r.status, r.error()), (401, "invalid_code"), "{r:?}");
    // The confirming code ended the count the old code had started: this is the one wrong code.
    let record = s.app.store.load_account("jane").await.unwrap().unwrap();
    assert_eq!(record.code_lock().failures, 1);
    let r = s.verify(&c, &s.code(&new)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The recovery codes carried over to the new app.
    let c = s.challenge("jane").await;
    let r = s
        .post(
            "/mfa/verify",
            json!({ "challenge": c, "recovery_code": codes[0] }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let log = s.app.recent_audit(200).await.unwrap();
    assert!(log.iter().any(|e| e.action == "enrolment_activated"
        && e.outcome == "success"
        && e.target == "jane"
        && e.detail.contains("replaced")));
    assert!(log.iter().any(|e| e.action == "setup_email"
        && e.outcome == "sent"
        && e.detail.contains("replacing")));
}

#[tokio::test]
async fn replacing_the_app_needs_a_recent_code_or_a_recovery_sign_in() {
    let (s, session, secret) = jane().await;
    let codes = recovery_codes(&s, &session).await;
    s.app.clock.advance(11 * 60);
    let r = replace(&s, &session).await;
    assert_eq!(
        (r.status, r.error()),
        (403, "reauthentication_required"),
        "{r:?}"
    );
    // Her phone is gone: she signs in with a recovery code, and may replace the app at once.
    let c = s.challenge("jane").await;
    let r = s
        .post(
            "/mfa/verify",
            json!({ "challenge": c, "recovery_code": codes[1] }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let recovered = r.body["session"].as_str().unwrap().to_owned();
    assert_eq!(replace(&s, &recovered).await.status, 202);
    // Not ten minutes later.
    s.app.clock.advance(11 * 60);
    let r = replace(&s, &recovered).await;
    assert_eq!(r.status, 403, "{r:?}");
    // Without a session: nothing.
    assert_eq!(s.post("/mfa/setup/replace", json!({})).await.status, 401);
    let _ = secret;
}

#[tokio::test]
async fn a_reset_while_a_new_app_is_pending_ends_it() {
    let (s, session, _) = jane().await;
    assert_eq!(replace(&s, &session).await.status, 202);
    let (token, new) = new_key(&s).await;
    shared::flows::admin::reset_mfa(
        &s.app,
        &shared::flows::guard::Actor::Operator("helpdesk"),
        "jane",
    )
    .await
    .unwrap();
    let r = confirm(&s, &token, &s.code(&new)).await;
    assert_eq!(r.status, 410, "{r:?}");
    let record = s.app.store.load_account("jane").await.unwrap().unwrap();
    assert!(record.enrolment.is_none() && record.replacement.is_none());
}

#[tokio::test]
async fn a_new_app_confirmed_twice_at_once_is_confirmed_once() {
    let (s, session, _) = jane().await;
    assert_eq!(replace(&s, &session).await.status, 202);
    let (token, new) = new_key(&s).await;
    let code = s.code(&new);
    let (a, b) = tokio::join!(confirm(&s, &token, &code), confirm(&s, &token, &code));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses[0], 200, "{a:?} {b:?}");
    assert_ne!(statuses[1], 200, "{a:?} {b:?}");
    let replaced = s
        .app
        .recent_audit(200)
        .await
        .unwrap()
        .iter()
        .filter(|e| {
            e.action == "enrolment_activated"
                && e.outcome == "success"
                && e.detail.contains("replaced")
        })
        .count();
    assert_eq!(replaced, 1);
}

#[tokio::test]
async fn a_first_app_link_is_not_confirmed_on_its_page_and_no_app_has_nothing_to_replace() {
    let s = Stack::new().await;
    s.add("bob", Staff, Some(&address("bob")), None).await;
    s.set_mfa(false).await;
    let bob = s.sign_in("bob", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = replace(&s, &bob).await;
    assert_eq!((r.status, r.error()), (400, "not_enrolled"), "{r:?}");
    // His first app's setup mail: its page is confirmed at sign-in, not here.
    let r = s.post_as(&bob, "/mfa/setup-email", json!({})).await;
    assert_eq!(r.status, 202, "{r:?}");
    let to = s.account_email("bob").await;
    let token = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    let key = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!(key.body["confirm_here"], false);
    let r = confirm(&s, &token, "123456").await;
    assert_eq!(r.status, 400, "{r:?}");
}

/// A new app asked for before the account's sessions ended (a new password, a sign-out
/// everywhere) is ended with them: the person who noticed a stranger in their account is not
/// overtaken by the stranger's new app.
#[tokio::test]
async fn a_new_app_asked_before_every_session_ended_is_not_confirmed() {
    let (s, session, _) = jane().await;
    assert_eq!(replace(&s, &session).await.status, 202);
    let (token, new) = new_key(&s).await;
    s.app.store.end_sessions("jane").await.unwrap();
    let r = confirm(&s, &token, &s.code(&new)).await;
    assert_eq!(r.status, 410, "{r:?}");
    let record = s.app.store.load_account("jane").await.unwrap().unwrap();
    assert_ne!(
        record.active_enrolment().unwrap().enrolment_id,
        record.replacement.as_ref().unwrap().enrolment_id,
        "the old app stays"
    );
}

/// The confirmation is conditioned on the recovery codes as read: a set made in between (beside
/// the old app) makes it try again rather than leave that set tied to an app that is gone.
#[tokio::test]
async fn a_confirmation_racing_a_new_recovery_set_changes_nothing() {
    let (s, session, _) = jane().await;
    assert_eq!(replace(&s, &session).await.status, 202);
    let (token, new) = new_key(&s).await;
    let record = s.app.store.load_account("jane").await.unwrap().unwrap();
    // A set made after the read the confirmation works from.
    recovery_codes(&s, &session).await;
    let link_hash = s
        .app
        .keys
        .tokens
        .hash(shared::token::Purpose::SetupLink, &token);
    let next = record.replacement.as_ref().unwrap();
    let secret = s
        .app
        .keys
        .secrets
        .open(&next.sealed_secret, b"jane")
        .unwrap();
    assert_eq!(secret, new);
    let step = s.app.now() / 30;
    let out = s
        .app
        .store
        .confirm_new_app(&shared::store::enrolments::Confirmation {
            username: "jane",
            link_hash: &link_hash,
            next,
            active_id: &record.active_enrolment().unwrap().enrolment_id,
            epoch: record.account.session_epoch,
            step,
            recovery: shared::store::enrolments::RecoverySet::None,
            count: &record.code_count,
            now: s.app.now(),
        })
        .await
        .unwrap();
    assert_eq!(out, shared::store::enrolments::Confirmed::Changed);
    // Through the route, reading again: confirmed, and the new set moves with it.
    let r = confirm(&s, &token, &s.code(&new)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let after = s.app.store.load_account("jane").await.unwrap().unwrap();
    assert_eq!(
        after.recovery.as_ref().unwrap().enrolment_id,
        after.active_enrolment().unwrap().enrolment_id
    );
}

/// The mail for a new app says what it is for, and that the current app keeps working.
#[tokio::test]
async fn the_new_app_mail_says_it_replaces_the_app() {
    let (s, session, _) = jane().await;
    assert_eq!(replace(&s, &session).await.status, 202);
    let to = s.account_email("jane").await;
    let mail = latest_mail_to(&to).unwrap();
    assert!(
        mail.subject.starts_with("Replace your authenticator app"),
        "{mail:?}"
    );
    assert!(
        mail.body.contains("keeps working until you finish"),
        "{mail:?}"
    );
}
