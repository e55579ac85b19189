//! The first sign-in with MFA on: setup email, setup page and key, first code, and the rules
//! about who gets mail, from whom, and what it may contain.

use harness::{PASSWORD, SENDER, Stack, address, latest_mail_to, link_token, mails_to};
use serde_json::json;
use shared::policy::AccountKind::*;

async fn stack() -> Stack {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.set_mfa(true).await;
    s
}

#[tokio::test]
async fn the_whole_first_sign_in() {
    let s = stack().await;
    let to = address("jane");
    s.add("jane", Staff, Some(&to), None).await;

    let r = s.sign_in("jane", PASSWORD).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["enrolled"].as_bool()),
        (Some("mfa_required"), Some(false))
    );
    let challenge = r.body["challenge"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["setup_email_to"].as_str().unwrap(),
        format!("j***@{}", to.split('@').nth(1).unwrap())
    );

    let sent = s
        .post("/mfa/setup-email", json!({ "challenge": challenge }))
        .await;
    assert_eq!(sent.status, 202, "{sent:?}");
    assert_eq!(sent.body["status"], "sent");
    assert!(sent.body["sent_to"].as_str().unwrap().starts_with("j***@"));

    let mail = latest_mail_to(&to).unwrap();
    assert_eq!(mail.from, SENDER, "from the organisation's default email");
    let token = link_token(&mail.body).unwrap();
    for app in [
        "Google Authenticator",
        "Microsoft Authenticator",
        "Zoho OneAuth",
        "1Password",
    ] {
        assert!(mail.body.contains(app), "{app}");
    }

    let page = s.get(&format!("/mfa/setup?token={token}"), None).await;
    assert_eq!(page.status, 200);
    let key = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!(key.status, 200);
    let secret_b32 = key.body["secret"].as_str().unwrap();
    assert_eq!(secret_b32.len(), 32, "20 bytes in base32");
    assert_eq!(key.body["issuer"], "Acme");
    assert_eq!(key.body["account_name"], "jane");
    assert_eq!(
        (key.body["digits"].as_u64(), key.body["period"].as_u64()),
        (Some(6), Some(30))
    );
    assert_eq!(key.body["algorithm"], "SHA1");
    assert_eq!(
        key.body["otpauth_uri"],
        format!(
            "otpauth://totp/Acme:jane?secret={secret_b32}&issuer=Acme&algorithm=SHA1&digits=6&period=30"
        )
    );
    assert!(key.body["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .unwrap();

    // The mail holds neither the secret nor a code.
    assert!(!mail.body.contains(secret_b32));
    for steps in -2..=2 {
        assert!(!mail.body.contains(&s.code_at_step_offset(&secret, steps)));
    }

    // Back on the sign-in page: password, then the code from the app.
    let c = s.challenge("jane").await;
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let notice = latest_mail_to(&to).unwrap();
    assert!(notice.subject.contains("was set up"), "{notice:?}");

    // Next time: enrolled, and the code from the same key is needed.
    s.app.clock.advance(30);
    let r = s.sign_in("jane", PASSWORD).await;
    assert_eq!(r.body["enrolled"], true);
    let c = r.body["challenge"].as_str().unwrap();
    assert_eq!(s.verify(c, &s.code(&secret)).await.status, 200);

    // The link died with the activation.
    let used = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!((used.status, used.error()), (410, "setup_link_expired"));
}

#[tokio::test]
async fn name_email_wins_over_address_email() {
    let s = stack().await;
    let (name, addr) = (address("name"), address("addr"));
    s.add("bob", Staff, Some(&name), Some(&addr)).await;
    let c = s.challenge("bob").await;
    assert_eq!(
        s.post("/mfa/setup-email", json!({ "challenge": c }))
            .await
            .status,
        202
    );
    assert_eq!(mails_to(&name).len(), 1);
    assert!(mails_to(&addr).is_empty());
}

#[tokio::test]
async fn address_email_is_used_when_name_email_is_empty() {
    let s = stack().await;
    let addr = address("fallback");
    s.add("carol", Staff, None, Some(&addr)).await;
    let c = s.challenge("carol").await;
    assert_eq!(
        s.post("/mfa/setup-email", json!({ "challenge": c }))
            .await
            .status,
        202
    );
    assert_eq!(mails_to(&addr).len(), 1);
}

#[tokio::test]
async fn invalid_name_email_is_refused_not_skipped() {
    let s = stack().await;
    let addr = address("unused");
    s.add("dave", Staff, Some("dave-at-nowhere"), Some(&addr))
        .await;
    let c = s.challenge("dave").await;
    let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    assert_eq!((r.status, r.error()), (409, "no_email_on_file"));
    assert_eq!(r.body["reason"], "invalid_email");
    assert!(mails_to(&addr).is_empty());
}

#[tokio::test]
async fn no_email_on_file_is_refused() {
    let s = stack().await;
    s.add("erin", Staff, None, None).await;
    let c = s.challenge("erin").await;
    let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    assert_eq!((r.status, r.error()), (409, "no_email_on_file"));
    assert_eq!(r.body["reason"], "no_email");
}

#[tokio::test]
async fn an_enrolled_user_gets_no_setup_email() {
    let s = stack().await;
    let to = address("frank");
    s.add("frank", Staff, Some(&to), None).await;
    let secret = s.enrol_by_email("frank").await;
    let c = s.challenge("frank").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
    let mails = mails_to(&to).len();
    let c = s.challenge("frank").await;
    let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    assert_eq!((r.status, r.error()), (409, "already_enrolled"));
    assert_eq!(mails_to(&to).len(), mails, "no mail");
}

#[tokio::test]
async fn the_setup_page_can_be_loaded_twice_and_links_expire() {
    let s = stack().await;
    let to = address("gina");
    s.add("gina", Staff, Some(&to), None).await;
    let c = s.challenge("gina").await;
    s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    let token = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    for _ in 0..2 {
        assert_eq!(
            s.get(&format!("/mfa/setup?token={token}"), None)
                .await
                .status,
            200
        );
        assert_eq!(
            s.post("/mfa/setup/key", json!({ "token": token }))
                .await
                .status,
            200
        );
    }
    s.app.clock.advance(30 * 60 + 1);
    let r = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!((r.status, r.error()), (410, "setup_link_expired"));
    let r = s
        .post("/mfa/setup/key", json!({ "token": "not-a-token" }))
        .await;
    assert_eq!(r.status, 410);
}

#[tokio::test]
async fn a_new_setup_email_replaces_the_earlier_link() {
    let s = stack().await;
    let to = address("hank");
    s.add("hank", Staff, Some(&to), None).await;
    let c = s.challenge("hank").await;
    s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    let first = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    let second = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    assert_eq!(
        s.post("/mfa/setup/key", json!({ "token": first }))
            .await
            .status,
        410
    );
    assert_eq!(
        s.post("/mfa/setup/key", json!({ "token": second }))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn at_most_three_setup_emails_an_hour() {
    let s = stack().await;
    let to = address("ivy");
    s.add("ivy", Staff, Some(&to), None).await;
    let c = s.challenge("ivy").await;
    for _ in 0..3 {
        assert_eq!(
            s.post("/mfa/setup-email", json!({ "challenge": c }))
                .await
                .status,
            202
        );
    }
    let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(mails_to(&to).len(), 3);
}

#[tokio::test]
async fn an_unverified_sender_is_a_503_and_leaves_no_usable_link() {
    let s = stack().await;
    let to = address("jack");
    s.add("jack", Staff, Some(&to), None).await;
    shared::flows::admin::change_settings(
        &s.app,
        &shared::flows::guard::Actor::Operator("test"),
        shared::flows::admin::SettingsChange {
            org_default_email: Some(address("unverified-sender")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = s.challenge("jack").await;
    let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    assert_eq!((r.status, r.error()), (503, "email_unavailable"));
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("administrator")
    );
    let record = s.app.store.load_account("jack").await.unwrap().unwrap();
    assert!(
        record.enrolment.is_none(),
        "the pending enrolment was withdrawn"
    );
    assert!(mails_to(&to).is_empty());
}

#[tokio::test]
async fn a_setup_email_needs_a_live_challenge() {
    let s = stack().await;
    let r = s
        .post("/mfa/setup-email", json!({ "challenge": "x".repeat(43) }))
        .await;
    assert_eq!((r.status, r.error()), (401, "invalid_challenge"));
}

#[tokio::test]
async fn a_failed_send_keeps_the_earlier_link_and_gives_the_mail_slot_back() {
    let s = stack().await;
    let to = address("kay");
    s.add("kay", Staff, Some(&to), None).await;
    let c = s.challenge("kay").await;
    assert_eq!(
        s.post("/mfa/setup-email", json!({ "challenge": c }))
            .await
            .status,
        202
    );
    let first = link_token(&latest_mail_to(&to).unwrap().body).unwrap();
    let sender = async |address: String| {
        shared::flows::admin::change_settings(
            &s.app,
            &shared::flows::guard::Actor::Operator("test"),
            shared::flows::admin::SettingsChange {
                org_default_email: Some(address),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    };
    sender(address("unverified-sender")).await;
    for _ in 0..3 {
        let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
        assert_eq!(r.status, 503, "{r:?}");
    }
    let key = s.post("/mfa/setup/key", json!({ "token": first })).await;
    assert_eq!(
        key.status, 200,
        "the link the user already has still works: {key:?}"
    );
    sender(SENDER.into()).await;
    for _ in 0..2 {
        assert_eq!(
            s.post("/mfa/setup-email", json!({ "challenge": c }))
                .await
                .status,
            202
        );
    }
    assert_eq!(
        s.post("/mfa/setup-email", json!({ "challenge": c }))
            .await
            .status,
        429,
        "3 sent this hour"
    );
}

/// Rolling out: while MFA is off, staff signed in without a code may set up an app of their own
/// accord (the same setup mail, asked for by their session), and are asked for their code from
/// then on: at sign-in, and by the password grant and social sign-in, which would skip it.
#[tokio::test]
async fn staff_may_enrol_while_mfa_is_off_and_are_asked_for_their_code_from_then_on() {
    let s = Stack::new().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    let to = address("jane");
    s.add("jane", Staff, Some(&to), None).await;
    s.add("mo", Member, Some(&address("mo")), None).await;
    s.set_mfa(false).await;

    let r = s.sign_in("jane", PASSWORD).await;
    assert_eq!(
        r.body["status"], "signed_in",
        "no code while MFA is off: {r:?}"
    );
    let session = r.body["session"].as_str().unwrap().to_owned();
    let ask = async |bearer: Option<&str>| {
        s.send(
            axum::http::Method::POST,
            "/mfa/setup-email",
            Some(&json!({})),
            bearer,
        )
        .await
    };
    assert_eq!(
        ask(None).await.status,
        401,
        "a session asks, or a challenge"
    );
    let member = s.sign_in("mo", PASSWORD).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ask(Some(&member)).await.status,
        403,
        "members have no code to set up"
    );
    let r = ask(Some(&session)).await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.body["status"], "sent");
    let mail = latest_mail_to(&to).expect("the setup mail");
    assert!(!mail.body.contains(PASSWORD));
    let token = link_token(&mail.body).expect("a setup link");
    let r = s.sign_in("jane", PASSWORD).await;
    assert_eq!(
        r.body["status"], "signed_in",
        "a mail nobody opened asks nothing: {r:?}"
    );
    let key = s.post("/mfa/setup/key", json!({ "token": token })).await;
    assert_eq!(key.status, 200, "{key:?}");
    let secret = data_encoding::BASE32_NOPAD
        .decode(key.body["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    // The session she (or a thief of her password) made without a code ends with it.
    assert_eq!(s.get("/session", Some(&session)).await.status, 401);
    // Someone with only her password cannot undo it: a new setup mail would replace the app being
    // set up, so it is refused, and a code is still asked.
    let c = s.challenge("jane").await;
    let r = s.post("/mfa/setup-email", json!({ "challenge": c })).await;
    assert_eq!((r.status, r.error()), (409, "already_enrolled"), "{r:?}");

    // The next sign-in asks for the code, which activates the app.
    let r = s.sign_in("jane", PASSWORD).await;
    assert_eq!(r.body["status"], "mfa_required", "{r:?}");
    let c = r.body["challenge"].as_str().unwrap().to_owned();
    let r = s.verify(&c, &s.code(&secret)).await;
    assert_eq!(r.status, 200, "{r:?}");
    s.app.clock.advance(30);
    let r = s.sign_in("jane", PASSWORD).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["enrolled"].as_bool()),
        (Some("mfa_required"), Some(true)),
        "and every time after: {r:?}"
    );
    let r = s
        .form(
            "/token",
            &format!(
                "grant_type=password&username=jane&password={}",
                url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect::<String>()
            ),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "the password grant would skip the code: {r:?}"
    );
    let r = ask(Some(&session)).await;
    assert_ne!(
        r.status, 202,
        "enrolled already, or the old session ended: {r:?}"
    );
}
