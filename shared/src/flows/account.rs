//! A user's own account (`/account`): their recent activity from the audit trail, changing the
//! password, and signing out everywhere. Recovery codes are `flows::recovery`.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::sessions::ActiveSession;
use crate::store::audit::{AuditEntry, AuditQuery};

/// How many entries the account page shows.
pub const ACTIVITY_ENTRIES: usize = 20;
/// How far back it looks: a bound on the trail it reads (one query per day and shard).
pub const ACTIVITY_DAYS: u64 = 7;
/// Entries read before the ones that are not about the account are left out.
const READ_ENTRIES: usize = 100;

/// Things others do to an account, which its owner sees (without their address or browser).
const DONE_TO_THE_ACCOUNT: [Action; 10] = [
    Action::AccountAdd,
    Action::AccountDisable,
    Action::AccountEnable,
    Action::AccountImport,
    Action::AccountLink,
    Action::MfaReset,
    Action::Unlock,
    Action::SetupEmail,
    Action::PasswordForgot,
    Action::PasswordReset,
];

/// Sign-ins and changes of the account itself; not a site's token refreshes, which would push
/// them out of the page.
const SHOWN: [Action; 15] = [
    Action::SignIn,
    Action::PasswordChange,
    Action::SetupEmail,
    Action::PasswordForgot,
    Action::PasswordReset,
    Action::MfaVerify,
    Action::FederatedSignIn,
    Action::SignOut,
    Action::RecoveryCodes,
    Action::Reauthenticate,
    Action::KeyReveal,
    Action::EnrolmentActivated,
    Action::EndSession,
    Action::PasskeyAdd,
    Action::PasskeyRemove,
];

/// One entry as its owner sees it.
pub struct Activity {
    pub at: u64,
    pub action: String,
    pub outcome: String,
    /// Who did it: the owner, "an administrator", "the campaign" or "someone not signed in".
    pub by: String,
    /// Where from and with what browser, for what the owner's sessions did (or someone who typed
    /// their name did); empty for what an administrator did.
    pub source: String,
    pub user_agent: String,
}

/// What the owner may see of an entry naming them, if anything: their own actions (sign-ins,
/// codes, sign-outs, including attempts by someone who typed their name), and what others did to
/// the account without the others' address or browser. A target that only happens to equal the
/// username (a site's id, a word such as `everywhere`) shows nothing.
fn as_owner_sees(e: &AuditEntry, username: &str) -> Option<Activity> {
    let action = Action::parse(&e.action)?;
    let own = e.actor == username && SHOWN.contains(&action);
    let done_to =
        e.actor != username && e.target == username && DONE_TO_THE_ACCOUNT.contains(&action);
    if !own && !done_to {
        return None;
    }
    Some(Activity {
        at: e.at,
        action: e.action.clone(),
        outcome: e.outcome.clone(),
        by: match (own, e.actor.as_str()) {
            (true, _) => username.to_owned(),
            (false, "campaign") => "the campaign".into(),
            (false, crate::audit::ANONYMOUS) => "someone not signed in".into(),
            (false, _) => "an administrator".into(),
        },
        source: if own { e.source.clone() } else { String::new() },
        user_agent: if own {
            e.user_agent.clone()
        } else {
            String::new()
        },
    })
}

/// The account's last entries in the audit trail (at most 20, from the last 7 days), newest
/// first, as its owner may see them.
pub async fn activity(app: &App, session: &ActiveSession) -> Result<Vec<Activity>> {
    let now = app.now();
    let query = AuditQuery {
        user: Some(session.username.clone()),
        action: None,
        outcome: None,
        since: now.saturating_sub(ACTIVITY_DAYS * 86_400),
        until: now,
        before: None,
        limit: READ_ENTRIES,
    };
    Ok(app
        .store
        .audit_page(&query)
        .await?
        .0
        .iter()
        .filter_map(|e| as_owner_sees(e, &session.username))
        .take(ACTIVITY_ENTRIES)
        .collect())
}

/// Ends every session of the account, this one too, and what depends on them (refresh tokens,
/// pending sign-ins).
pub async fn sign_out_everywhere(app: &App, session: &ActiveSession) -> Result<()> {
    app.store.end_sessions(&session.username).await?;
    let detail = serde_json::json!({ "everywhere": true });
    app.audit_detail(
        &session.username,
        Action::SignOut,
        &session.username,
        Outcome::Success,
        Some(&detail),
    )
    .await;
    Ok(())
}

/// The signed-in user sets a new password, giving the current one (counted against the account's
/// password limits, as a sign-in's) and, for an account with an app, having given a code in the
/// last 10 minutes. Every session of the account ends, this one too; a notice is mailed.
pub async fn change_password(
    app: &App,
    session: &ActiveSession,
    current: &str,
    new: &str,
    source: &str,
) -> Result<()> {
    let username = session.username.as_str();
    let refused = |outcome| app.audit(username, Action::PasswordChange, username, outcome);
    crate::password::check_new(new)
        .map_err(|m| Error::bad_request("invalid_password", format!("The new password: {m}.")))?;
    let record = session.account(app).await?;
    if record.active_enrolment().is_some()
        && let Err(e) = session.require_recent_code(app.now())
    {
        refused(Outcome::ReauthenticationRequired).await;
        return Err(e);
    }
    if let Err(e) =
        crate::flows::sign_in::check_current_password(app, &record, current, source).await
    {
        refused(match e {
            Error::Throttled { .. } => Outcome::Throttled,
            _ => Outcome::InvalidCredentials,
        })
        .await;
        return Err(e);
    }
    let phc = crate::password::hash(new)?;
    // Written only while the account is as the session knew it: a reset or a sign-out
    // everywhere since then ended this session, and with it the right to change the password.
    if !app
        .store
        .change_password(username, session.epoch, &phc)
        .await?
    {
        return Err(Error::Unauthenticated);
    }
    app.audit(username, Action::PasswordChange, username, Outcome::Success)
        .await;
    crate::flows::notices::notify(
        app,
        &record.account,
        crate::messages::password_changed_notice,
    )
    .await;
    Ok(())
}
