//! Tokens mean what they say: sessions and everything granted from them follow the account as it
//! is now; a client's policy decides which sign-ins get its codes and tokens; `sub` is opaque and
//! never reused; a pending authorization re-checks its client; links die with the account's
//! changes; and the conformance points of OpenID Connect Core 3.1.2.1 (POST, `id_token_hint`)
//! and 2 (`auth_time`). Each test here failed on the code before these rules.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, header};
use harness::{PASSWORD, Stack, address, latest_mail_to};
use serde_json::json;
use shared::flows::clients::{self, ClientSpec};
use shared::flows::guard::Actor;
use shared::policy::AccountKind::{self, *};

use crate::oidc::{
    ISSUER, REDIRECT, VERIFIER, authorize_url, challenge, cookie_of, get_with_cookie, provider,
    query_param, urlencode, verify_as_rp,
};

/// Mails `username` an invitation (as `mfa-admin account add --invite` does) and returns its
/// link's token, read from the mail to `to`.
async fn invite(s: &Stack, username: &str, to: &str) -> String {
    let rec = s.app.store.load_account(username).await.unwrap().unwrap();
    shared::flows::passwords::mail_link(&s.app, &rec.account, true, ISSUER)
        .await
        .unwrap();
    password_link(to)
}

/// The token of the newest password link mailed to `to`.
fn password_link(to: &str) -> String {
    let body = latest_mail_to(to).expect("a mail").body;
    let start =
        body.find("/password/reset?token=").expect("a link") + "/password/reset?token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// What an import does to an account whose row changed.
async fn change_kind(s: &Stack, username: &str, kind: AccountKind) {
    let rec = s.app.store.load_account(username).await.unwrap().unwrap();
    s.app
        .store
        .update_profile(
            username,
            kind,
            rec.account.name_email.as_deref(),
            rec.account.address_email.as_deref(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_demoted_sysadmin_stops_administering_at_once() {
    let s = Stack::new().await;
    s.add("boss", Sysadmin, Some(&address("boss")), None).await;
    s.set_mfa(true).await;
    let secret = s.enrol_by_email("boss").await;
    let c = s.challenge("boss").await;
    let session = s.verify(&c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.get("/settings", Some(&session)).await.status, 200);
    change_kind(&s, "boss", Staff).await;
    assert_eq!(
        s.get("/settings", Some(&session)).await.status,
        401,
        "the session was made for a sysadmin; the account is staff now"
    );
}

#[tokio::test]
async fn a_member_promoted_to_staff_loses_the_code_less_session_and_its_single_sign_on() {
    let o = provider().await;
    let member = o.s.sign_in("mem", PASSWORD).await;
    assert_eq!(member.body["status"], "signed_in");
    let cookie = cookie_of(&member);
    change_kind(&o.s, "mem", Staff).await;
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        401
    );
    let r = get_with_cookie(&o.s, &authorize_url("wiki", REDIRECT, ""), Some(&cookie)).await;
    let to = r.header("location").unwrap();
    assert!(
        to.starts_with(&format!("{ISSUER}/sign-in?authorization=")),
        "no code from the old session: {to}"
    );
}

#[tokio::test]
async fn the_write_that_redeems_a_token_refuses_an_account_that_changed_meanwhile() {
    let o = provider().await;
    let t = o.tokens().await;
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    // The check happened; the kind changes before the redemption's write lands.
    let before = o.s.app.store.account_now("jane").await.unwrap().unwrap();
    change_kind(&o.s, "jane", Member).await;
    let hash =
        o.s.app
            .keys
            .tokens
            .hash(shared::token::Purpose::RefreshToken, &refresh);
    let grant = match o
        .s
        .app
        .store
        .peek_grant(
            shared::store::oidc::GrantKind::Refresh,
            &hash,
            o.s.app.now(),
        )
        .await
    {
        Ok(shared::store::oidc::Redeemed::Fresh(g)) => g,
        other => panic!("{other:?}"),
    };
    let next = shared::store::oidc::Successor {
        hash: "successor",
        grant: &grant,
        expires_at: o.s.app.now() + 60,
        username: "jane",
        epoch: before.epoch,
    };
    let r =
        o.s.app
            .store
            .redeem_grant_issuing(
                shared::store::oidc::GrantKind::Refresh,
                &hash,
                grant.family.as_deref(),
                o.s.app.now(),
                Some(next),
            )
            .await
            .unwrap();
    assert!(
        matches!(r, shared::store::oidc::Redeemed::AccountChanged),
        "{r:?}"
    );
}

/// What an import does to an account whose row changed, on its own (for a hook to run).
async fn change_kind_of(app: shared::App, username: &'static str, kind: AccountKind) {
    let rec = app.store.load_account(username).await.unwrap().unwrap();
    app.store
        .update_profile(
            username,
            kind,
            rec.account.name_email.as_deref(),
            rec.account.address_email.as_deref(),
        )
        .await
        .unwrap();
}

/// The write that redeems a code: the Put of the refresh token derived from it.
fn redeems_a_code(actions: &[String], writes: &[String]) -> bool {
    actions == ["dynamodb:PutItem"] && writes.iter().any(|k| k.starts_with("REFRESH#"))
}

#[tokio::test]
async fn a_code_redeemed_while_the_account_changes_is_refused_by_the_read_after_its_write() {
    let (s, hook) = Stack::hooked().await;
    let o = crate::oidc::provider_on(s).await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    // The session was checked; the kind changes before the redemption's write lands.
    hook.before(
        redeems_a_code,
        change_kind_of(o.s.app.clone(), "jane", Member),
    );
    let r = o.exchange(&code, VERIFIER).await;
    assert!(hook.fired());
    assert_eq!((r.status, r.error()), (400, "invalid_grant"), "{r:?}");
    assert!(r.body.get("access_token").is_none());
    // The write landed, so the refresh token it stored exists: its family is revoked, and it
    // does not refresh.
    let sealed = shared::oidc::AuthorizationCode::open(&o.s.app.keys.secrets, &code).unwrap();
    let refresh = sealed.refresh_token(&o.s.app.keys.tokens);
    let hash =
        o.s.app
            .keys
            .tokens
            .hash(shared::token::Purpose::RefreshToken, &refresh);
    let grant = match o
        .s
        .app
        .store
        .peek_grant(
            shared::store::oidc::GrantKind::Refresh,
            &hash,
            o.s.app.now(),
        )
        .await
    {
        Ok(shared::store::oidc::Redeemed::Fresh(g)) => g,
        other => panic!("{other:?}"),
    };
    assert!(
        o.s.app
            .store
            .family_revoked(grant.family.as_deref().unwrap())
            .await
            .unwrap()
    );
    assert_eq!(o.refresh(&refresh).await.error(), "invalid_grant");
    // Nor does the code work a second time.
    assert_eq!(o.exchange(&code, VERIFIER).await.error(), "invalid_grant");
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        401,
        "the change ended the session"
    );
}

#[tokio::test]
async fn a_change_just_after_a_codes_redemption_ends_its_refresh_tokens_at_their_next_use() {
    let (s, hook) = Stack::hooked().await;
    let o = crate::oidc::provider_on(s).await;
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    // The kind changes after the redemption read the account again (as its audit entry is
    // written): the tokens were issued to the account as it was, like a demotion a moment after a
    // sign-in.
    hook.before(
        |actions, writes| {
            actions == ["dynamodb:PutItem"] && writes.iter().any(|k| k.starts_with("AUDIT#"))
        },
        change_kind_of(o.s.app.clone(), "jane", Member),
    );
    let r = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await;
    assert!(hook.fired());
    assert_eq!(r.status, 200, "{r:?}");
    let at = verify_as_rp(&o.s, r.body["access_token"].as_str().unwrap(), "wiki").await;
    assert_eq!(at["kind"], "staff", "issued before the change");
    let again = o.refresh(r.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(again.error(), "invalid_grant", "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kind_change_racing_a_codes_redemption_never_leaves_a_token_that_refreshes() {
    let o = Arc::new(provider().await);
    for round in 0..4 {
        if round > 0 {
            change_kind(&o.s, "jane", Staff).await;
            o.s.app.clock.advance(30);
        }
        let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
        let code = query_param(&to, "code").unwrap();
        let (a, b) = (o.clone(), o.clone());
        let redeeming = tokio::spawn(async move { a.exchange(&code, VERIFIER).await });
        let changing = tokio::spawn(async move { change_kind(&b.s, "jane", Member).await });
        let r = redeeming.await.unwrap();
        changing.await.unwrap();
        if r.status == 200 {
            let at = verify_as_rp(&o.s, r.body["access_token"].as_str().unwrap(), "wiki").await;
            assert_eq!(at["kind"], "staff", "issued before the change landed");
            let again = o.refresh(r.body["refresh_token"].as_str().unwrap()).await;
            assert_eq!(again.error(), "invalid_grant", "round {round}: {again:?}");
        } else {
            assert_eq!(r.error(), "invalid_grant", "round {round}: {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kind_change_racing_a_refresh_never_leaves_a_token_that_refreshes() {
    let o = Arc::new(provider().await);
    for round in 0..4 {
        if round > 0 {
            change_kind(&o.s, "jane", Staff).await;
            o.s.app.clock.advance(30);
        }
        let t = o.tokens().await;
        let refresh = t["refresh_token"].as_str().unwrap().to_owned();
        let (a, b) = (o.clone(), o.clone());
        let refreshing = tokio::spawn(async move { a.refresh(&refresh).await });
        let changing = tokio::spawn(async move { change_kind(&b.s, "jane", Member).await });
        let r = refreshing.await.unwrap();
        changing.await.unwrap();
        if r.status == 200 {
            let at = verify_as_rp(&o.s, r.body["access_token"].as_str().unwrap(), "wiki").await;
            assert_eq!(at["kind"], "staff", "issued before the change landed");
            let again = o.refresh(r.body["refresh_token"].as_str().unwrap()).await;
            assert_eq!(again.error(), "invalid_grant", "round {round}: {again:?}");
        } else {
            assert_eq!(r.error(), "invalid_grant", "round {round}: {r:?}");
        }
    }
}

#[tokio::test]
async fn a_client_gives_its_codes_and_tokens_only_to_the_kinds_and_factors_it_allows() {
    let o = provider().await;
    // A member completing /authorize for a staff site: access_denied to the site, no code.
    let r = o.s.get(&authorize_url("wiki", REDIRECT, ""), None).await;
    let authorization = query_param(r.header("location").unwrap(), "authorization").unwrap();
    let r =
        o.s.post(
            "/sign-in",
            json!({ "username": "mem", "password": PASSWORD, "authorization": authorization }),
        )
        .await;
    let to = r.body["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(to, "state").as_deref(), Some("st4te"));
    assert!(query_param(to, "code").is_none());
    // The password grant naming a public staff site: no token with its audience, for anyone.
    for user in ["mem", "robot"] {
        let r =
            o.s.form(
                "/token",
                &format!(
                    "grant_type=password&username={user}&password={}&client_id=spa",
                    urlencode(PASSWORD)
                ),
            )
            .await;
        assert_eq!(r.error(), "unauthorized_client", "{user}: {r:?}");
    }
    // A confidential integration client that allows the password grant for api accounts.
    let secret = clients::put(
        &o.s.app,
        &Actor::Operator("test"),
        "batch",
        ClientSpec {
            redirect_uris: vec!["https://batch.example.org/cb".into()],
            allowed_kinds: Some(vec![Api]),
            grant_types: Some(vec![shared::oidc::GrantType::Password]),
            require_code: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    let grant = |user: &str| {
        format!(
            "grant_type=password&username={user}&password={}&client_id=batch&client_secret={secret}",
            urlencode(PASSWORD)
        )
    };
    let r = o.s.form("/token", &grant("robot")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = verify_as_rp(&o.s, r.body["access_token"].as_str().unwrap(), "batch").await;
    assert_eq!(
        (at["acr"].as_str(), at["kind"].as_str()),
        (Some("pwd"), Some("api"))
    );
    assert_eq!(at["scope"], "openid");
    assert_eq!(
        o.s.form("/token", &grant("mem")).await.error(),
        "unauthorized_client",
        "a member is not an api account"
    );
    // A public client may never have the password grant.
    let refused = clients::put(
        &o.s.app,
        &Actor::Operator("test"),
        "leaky",
        ClientSpec {
            redirect_uris: vec!["https://leaky.example.org/cb".into()],
            public: true,
            allowed_kinds: Some(vec![Api]),
            grant_types: Some(vec![shared::oidc::GrantType::Password]),
            require_code: Some(false),
            ..Default::default()
        },
    )
    .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_client_that_requires_a_code_refuses_a_code_less_staff_session() {
    let o = provider().await;
    o.s.set_mfa(false).await;
    // A staff member without an app (jane has one, and is asked for its code even now).
    o.s.add("joe", Staff, Some(&address("joe")), None).await;
    let r = o.s.get(&authorize_url("wiki", REDIRECT, ""), None).await;
    let authorization = query_param(r.header("location").unwrap(), "authorization").unwrap();
    let r =
        o.s.post(
            "/sign-in",
            json!({ "username": "joe", "password": PASSWORD, "authorization": authorization }),
        )
        .await;
    assert_eq!(r.body["status"], "signed_in", "no code while MFA is off");
    let to = r.body["redirect_to"].as_str().unwrap();
    assert_eq!(query_param(to, "error").as_deref(), Some("access_denied"));
    // The same session at /authorize (single sign-on) is refused too.
    let cookie = cookie_of(&r);
    let r = get_with_cookie(&o.s, &authorize_url("wiki", REDIRECT, ""), Some(&cookie)).await;
    let to = r.header("location").unwrap();
    assert_eq!(
        query_param(to, "error").as_deref(),
        Some("access_denied"),
        "{to}"
    );
}

#[tokio::test]
async fn a_pending_authorization_rechecks_its_client_when_it_completes_and_is_redeemed() {
    let o = provider().await;
    // Deleted while the user signs in: no redirect to it.
    let r =
        o.s.get(&authorize_url("spa", "http://127.0.0.1:7777/cb", ""), None)
            .await;
    let authorization = query_param(r.header("location").unwrap(), "authorization").unwrap();
    clients::delete(&o.s.app, &Actor::Operator("test"), "spa")
        .await
        .unwrap();
    let r =
        o.s.post(
            "/sign-in",
            json!({ "username": "jane", "password": PASSWORD, "authorization": authorization }),
        )
        .await;
    let c = r.body["challenge"].as_str().unwrap().to_owned();
    o.s.app.clock.advance(30);
    let v = o.s.verify(&c, &o.s.code(&o.secret)).await;
    assert_eq!(v.status, 200, "{v:?}");
    assert!(v.body.get("redirect_to").is_none(), "{v:?}");
    // Re-registered without the redirect URI between the code and its redemption.
    o.s.app.clock.advance(30);
    let (to, _) = o.sign_in_for("wiki", REDIRECT, "").await;
    clients::put(
        &o.s.app,
        &Actor::Operator("test"),
        "wiki",
        ClientSpec {
            redirect_uris: vec!["https://wiki.example.org/other".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await;
    assert_eq!(r.error(), "invalid_grant", "{r:?}");
}

#[tokio::test]
async fn sub_is_opaque_stable_and_never_given_to_a_later_account_of_the_same_name() {
    let o = provider().await;
    let first = o.tokens().await;
    let id = verify_as_rp(&o.s, first["id_token"].as_str().unwrap(), "wiki").await;
    let sub = id["sub"].as_str().unwrap().to_owned();
    assert_ne!(sub, "jane");
    o.s.app.clock.advance(30);
    let again = o.tokens().await;
    let id2 = verify_as_rp(&o.s, again["id_token"].as_str().unwrap(), "wiki").await;
    assert_eq!(id2["sub"], sub.as_str(), "stable across sign-ins");
    shared::flows::admin::change_account(
        &o.s.app,
        &Actor::Operator("test"),
        "jane",
        shared::flows::admin::AccountChange::Delete,
    )
    .await
    .unwrap();
    o.s.add("jane", Staff, Some(&address("jane")), None).await;
    let now = o.s.app.store.account_now("jane").await.unwrap().unwrap();
    assert_ne!(
        now.subject, sub,
        "a new account of the same name is someone else"
    );
}

#[tokio::test]
async fn a_code_shown_with_the_wrong_verifier_does_not_end_the_rightful_session() {
    let o = provider().await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let code = query_param(&to, "code").unwrap();
    let leaked = o
        .exchange(&code, "wrong-verifier-wrong-verifier-wrong-verifier-00")
        .await;
    assert_eq!(leaked.error(), "invalid_grant");
    let rightful = o.exchange(&code, VERIFIER).await;
    assert_eq!(rightful.error(), "invalid_grant", "the code is used up");
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        200,
        "the user is still signed in"
    );
}

#[tokio::test]
async fn end_session_by_a_link_without_the_sessions_cookie_asks_first() {
    let o = provider().await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let t = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await;
    let hint = t.body["id_token"].as_str().unwrap();
    let r =
        o.s.get(&format!("/end-session?id_token_hint={hint}"), None)
            .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("Sign out?"), "asked first: {}", r.text);
    assert_eq!(
        get_with_cookie(&o.s, "/session", Some(&cookie))
            .await
            .status,
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn authorize_accepts_a_form_post() {
    let o = provider().await;
    let query = authorize_url("wiki", REDIRECT, "");
    let form = query.trim_start_matches("/authorize?").to_owned();
    let r = o.s.form("/authorize", &form).await;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(
        r.header("location")
            .unwrap()
            .starts_with(&format!("{ISSUER}/sign-in?authorization="))
    );
}

#[tokio::test]
async fn auth_time_is_the_sign_in_time_in_every_token_of_the_session() {
    let o = provider().await;
    let (to, cookie) = o.sign_in_for("wiki", REDIRECT, "").await;
    let first = o
        .exchange(&query_param(&to, "code").unwrap(), VERIFIER)
        .await;
    let first = verify_as_rp(&o.s, first.body["id_token"].as_str().unwrap(), "wiki").await;
    o.s.app.clock.advance(5);
    let r = get_with_cookie(
        &o.s,
        &authorize_url("spa", "http://127.0.0.1:7777/cb", ""),
        Some(&cookie),
    )
    .await;
    let code = query_param(r.header("location").unwrap(), "code").unwrap();
    let t = o
        .s
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id=spa",
                urlencode("http://127.0.0.1:7777/cb")
            ),
        )
        .await;
    let later = verify_as_rp(&o.s, t.body["id_token"].as_str().unwrap(), "spa").await;
    assert_eq!(first["auth_time"], later["auth_time"]);
}

#[tokio::test]
async fn an_id_token_hint_for_another_user_is_login_required() {
    let o = provider().await;
    let jane = o.tokens().await;
    let hint = jane["id_token"].as_str().unwrap();
    // Another user's browser session.
    let mem = o.s.sign_in("mem", PASSWORD).await;
    let cookie = cookie_of(&mem);
    let r = get_with_cookie(
        &o.s,
        &authorize_url("wiki", REDIRECT, &format!("&id_token_hint={hint}")),
        Some(&cookie),
    )
    .await;
    let to = r.header("location").unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(to, "error").as_deref(), Some("login_required"));
    assert!(query_param(to, "code").is_none());
    let _ = challenge();
}

#[tokio::test]
async fn password_and_invitation_links_die_with_the_accounts_changes() {
    let s = Stack::new().await;
    let (old_address, new_address) = (address("kim-old"), address("kim"));
    s.add("kim", Staff, Some(&old_address), None).await;
    s.set_mfa(false).await;
    let invitation = invite(&s, "kim", &old_address).await;
    // The address was wrong; an import corrects it.
    s.app
        .store
        .update_profile("kim", Staff, Some(&new_address), None)
        .await
        .unwrap();
    let set = |token: String| {
        let s = &s;
        async move {
            s.post(
                "/password/reset",
                json!({ "token": token, "password": "a brand new passphrase" }),
            )
            .await
        }
    };
    assert_eq!(
        set(invitation).await.status,
        410,
        "the old invitation is dead"
    );
    // Two live links; a disabled account uses neither.
    let a = invite(&s, "kim", &new_address).await;
    s.app.store.set_disabled("kim", true).await.unwrap();
    assert_eq!(set(a.clone()).await.status, 410);
    s.app.store.set_disabled("kim", false).await.unwrap();
    assert_eq!(set(a).await.status, 410, "disabling moved the account on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_links_of_one_account_used_at_once_set_the_password_once() {
    let s = Arc::new(Stack::new().await);
    let kim = address("kim");
    s.add("kim", Staff, Some(&kim), None).await;
    s.set_mfa(false).await;
    let mut tokens = vec![];
    for _ in 0..2 {
        tokens.push(invite(&s, "kim", &kim).await);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let s = s.clone();
            tokio::spawn(async move {
                s.post(
                    "/password/reset",
                    json!({ "token": token, "password": format!("passphrase number {i}!") }),
                )
                .await
                .status
            })
        })
        .collect();
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 410], "{statuses:?}");
}

#[tokio::test]
async fn forgot_password_takes_the_same_time_for_real_and_unknown_names_and_its_throttle_decays() {
    let s = Stack::new().await;
    s.add("kim", Staff, Some(&address("kim")), None).await;
    s.set_mfa(false).await;
    let timed = |name: &'static str, from: &'static str| {
        let s = &s;
        async move {
            let t = std::time::Instant::now();
            let r = s
                .post_from(from, "/password/forgot", json!({ "username": name }))
                .await;
            (r.status, t.elapsed())
        }
    };
    let (a, known) = timed("kim", "198.51.100.1").await;
    let (b, unknown) = timed("nobody-here", "198.51.100.2").await;
    assert_eq!((a, b), (202, 202));
    let floor = std::time::Duration::from_millis(shared::limits::FORGOT_ANSWER_MS);
    assert!(known >= floor && unknown >= floor, "{known:?} {unknown:?}");
    // An office behind one address: a window's worth, then 429, then a new window.
    for _ in 0..shared::limits::FORGOT_PER_ADDRESS.max {
        let r = s
            .post_from(
                "203.0.113.9",
                "/password/forgot",
                json!({ "username": "x" }),
            )
            .await;
        assert_eq!(r.status, 202);
    }
    let r = s
        .post_from(
            "203.0.113.9",
            "/password/forgot",
            json!({ "username": "x" }),
        )
        .await;
    assert_eq!(r.status, 429);
    s.app
        .clock
        .advance(shared::limits::FORGOT_PER_ADDRESS.secs as i64);
    for _ in 0..3 {
        let r = s
            .post_from(
                "203.0.113.9",
                "/password/forgot",
                json!({ "username": "x" }),
            )
            .await;
        assert_eq!(r.status, 202, "the window ended: {r:?}");
    }
}

#[tokio::test]
async fn a_hundred_failures_lock_an_unknown_name_alike() {
    let s = Stack::new().await;
    s.hundred_wrong_passwords("no-such-user").await;
    let r = s
        .post_from(
            "198.51.100.1",
            "/sign-in",
            json!({ "username": "no-such-user", "password": "guess" }),
        )
        .await;
    assert_eq!(r.status, 429, "as a real account would be: {r:?}");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 3500);
}

#[tokio::test]
async fn anonymous_noise_writes_a_bounded_number_of_audit_entries() {
    let s = Stack::new().await;
    for _ in 0..45 {
        assert_eq!(s.get("/settings", None).await.status, 401);
    }
    let entries = s.app.recent_audit(100).await.unwrap();
    let noise = entries
        .iter()
        .filter(|e| e.action == "admin_call" && e.outcome == "unauthenticated")
        .count();
    assert!((1..=20).contains(&noise), "{noise} entries for 45 requests");
}

#[tokio::test]
async fn the_redirect_uri_of_a_post_authorize_is_checked_like_a_get() {
    let o = provider().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/authorize")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "response_type=code&client_id=wiki&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
            urlencode("https://evil.example/cb"),
            challenge()
        )))
        .unwrap();
    let r = o.s.raw(req).await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgot_password_requests_racing_from_one_address_take_exactly_the_window() {
    let s = Arc::new(Stack::new().await);
    let max = shared::limits::FORGOT_PER_ADDRESS.max as usize;
    let tasks: Vec<_> = (0..max + 10)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.post_from(
                    "203.0.113.50",
                    "/password/forgot",
                    json!({ "username": "x" }),
                )
                .await
                .status
            })
        })
        .collect();
    let (mut accepted, mut throttled) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            202 => accepted += 1,
            429 => throttled += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((accepted, throttled), (max, 10));
}
