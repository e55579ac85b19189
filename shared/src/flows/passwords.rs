//! Setting a password by a mailed link: "Forgot your password?" (`POST /password/forgot`, a
//! 30-minute link) and invitations (`mfa-admin account add --invite`, 7 days), both opening the
//! same page (`GET /password/reset?token=`, which consumes nothing) and set by
//! `POST /password/reset`. A mailbox alone never takes over an account with MFA: an active
//! enrolment also needs a current code. Every session of the account ends; a notice is mailed.

use crate::account::{Account, AccountRecord, normalise_username};
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::email::setup_recipient;
use crate::error::{Error, Result};
use crate::flows::factor::{self, Completes, Factor, Verdict};
use crate::flows::notices::{deliver, notify, sender};
use crate::limits::{FORGOT_ANSWER_MS, FORGOT_PER_ADDRESS};
use crate::messages;
use crate::password;
use crate::store::password_links::{LinkPurpose, PasswordLink};
use crate::token::{Purpose, is_well_formed, new_token};
use crate::totp::Code;
use std::time::Duration;

/// A reset link lives 30 minutes (contract); an invitation a week.
pub const RESET_LINK_SECS: u64 = 30 * 60;
pub const INVITE_LINK_SECS: u64 = 7 * 24 * 3600;
/// Reset mails per account per hour (the setup mail's rule).
const RESET_MAIL_COUNTER: &str = "RESET_MAIL";

fn link_hash(app: &App, token: &str) -> String {
    app.keys.tokens.hash(Purpose::PasswordLink, token)
}

/// `POST /password/forgot`: the same 202 whether or not the account exists, in content and in
/// time (so nobody learns which usernames exist), throttled per source address (429, in windows
/// that end) and per account (silently: a 429 there would tell that the account exists).
pub async fn forgot(app: &App, typed: &str, source: &str, base: &str) -> Result<()> {
    let started = tokio::time::Instant::now();
    let answered = forgot_now(app, typed, source, base).await;
    if answered.is_ok() {
        tokio::time::sleep_until(started + Duration::from_millis(FORGOT_ANSWER_MS)).await;
    }
    answered
}

async fn forgot_now(app: &App, typed: &str, source: &str, base: &str) -> Result<()> {
    let now = app.now();
    // Per address, whatever was typed: an address cannot mail-bomb a list of accounts.
    let address_hash = app.keys.tokens.hash(Purpose::ThrottleAddress, source);
    if let Err(wait) = app
        .store
        .take_address_slot(&address_hash, "FORGOT", FORGOT_PER_ADDRESS, now)
        .await?
    {
        app.audit(
            crate::audit::ANONYMOUS,
            Action::PasswordForgot,
            "(address)",
            Outcome::Throttled,
        )
        .await;
        return Err(Error::Throttled {
            retry_after_secs: wait,
        });
    }
    let record = match normalise_username(typed) {
        Some(u) => app.store.load_account(&u).await?,
        None => None,
    };
    let Some(record) = record.filter(|r| !r.account.disabled) else {
        app.audit(
            crate::audit::UNKNOWN_USER,
            Action::PasswordForgot,
            crate::audit::UNKNOWN_USER,
            Outcome::NoAccount,
        )
        .await;
        return Ok(());
    };
    let account = &record.account;
    let outcome = match mail_link(app, account, false, base).await {
        Ok(()) => Outcome::Sent,
        Err(Error::Throttled { .. }) => Outcome::Throttled,
        Err(Error::NoEmailOnFile(_)) => Outcome::NoEmail,
        Err(e) => return Err(e),
    };
    app.audit(
        &account.username,
        Action::PasswordForgot,
        &account.username,
        outcome,
    )
    .await;
    Ok(())
}

/// Mails `account` a link to set its password: a reset (30 minutes, at most 3 an hour) or an
/// invitation (7 days). From the organisation's default email, to the setup-mail address.
pub async fn mail_link(app: &App, account: &Account, invite: bool, base: &str) -> Result<()> {
    let now = app.now();
    let to = setup_recipient(
        account.name_email.as_deref(),
        account.address_email.as_deref(),
    )
    .map_err(Error::NoEmailOnFile)?;
    let settings = app.store.get_settings().await?;
    let from = sender(&settings)?;
    if !invite
        && let Err(wait) = app
            .store
            .take_mail_slot(&account.username, RESET_MAIL_COUNTER, now)
            .await?
    {
        return Err(Error::Throttled {
            retry_after_secs: wait,
        });
    }
    let token = new_token()?;
    let expires_at = now
        + if invite {
            INVITE_LINK_SECS
        } else {
            RESET_LINK_SECS
        };
    app.store
        .put_password_link(
            &link_hash(app, &token),
            &PasswordLink {
                username: account.username.clone(),
                purpose: if invite {
                    LinkPurpose::Invite
                } else {
                    LinkPurpose::Reset
                },
                expires_at,
                epoch: account.session_epoch,
            },
        )
        .await?;
    let link = format!(
        "{}/password/reset?token={token}",
        base.trim_end_matches('/')
    );
    let body = messages::password_link_email(settings.issuer(), &link, expires_at, invite);
    deliver(app, from, to, &body).await
}

/// What the page shows for a link: whose it is and whether a code will be asked. Reading it
/// consumes nothing.
pub struct LinkInfo {
    pub link: PasswordLink,
    /// The account as it is now.
    pub record: AccountRecord,
    pub code_required: bool,
    pub invite: bool,
}

pub async fn link_info(app: &App, token: &str) -> Result<LinkInfo> {
    if !is_well_formed(token) {
        return Err(Error::LinkExpired);
    }
    let link = app
        .store
        .get_password_link(&link_hash(app, token), app.now())
        .await?
        .ok_or(Error::LinkExpired)?;
    // Dead once the account moved on (a new password, email, kind or enrolment) or is disabled.
    let record = app
        .store
        .load_account(&link.username)
        .await?
        .filter(|r| r.account.session_epoch == link.epoch && !r.account.disabled)
        .ok_or(Error::LinkExpired)?;
    Ok(LinkInfo {
        code_required: record.active_enrolment().is_some(),
        invite: link.purpose == LinkPurpose::Invite,
        link,
        record,
    })
}

/// `POST /password/reset`: the new password (the policy for new passwords), and a current code
/// when the account has an active enrolment (under the account's code limits, single use).
pub async fn reset(app: &App, token: &str, new_password: &str, code: Option<&str>) -> Result<()> {
    password::check_new(new_password)
        .map_err(|m| Error::bad_request("invalid_password", format!("The new password: {m}.")))?;
    let info = link_info(app, token).await?;
    let now = app.now();
    let username = info.link.username.as_str();
    let record = &info.record;
    let link_hash = link_hash(app, token);
    // A code is checked for form before the (costly) hash; it is evaluated with the password change.
    let code = match record.active_enrolment() {
        Some(_) => Some(Code::parse(code.ok_or_else(|| {
            Error::bad_request(
                "code_required",
                "This account uses an authenticator app: enter a current code too.",
            )
        })?)?),
        None => None,
    };
    let phc = password::hash(new_password)?;
    match code {
        Some(code) => {
            // The code's step, the link and the new password change together or not at all.
            let completes = Completes::PasswordReset {
                link_hash: &link_hash,
                link: &info.link,
                phc: &phc,
            };
            match factor::accept(app, record, &Factor::Totp(code), None, &completes, now).await? {
                Verdict::Accepted { .. } => {}
                Verdict::Refused { lock, .. } => {
                    app.audit(
                        username,
                        Action::PasswordReset,
                        username,
                        Outcome::InvalidCode,
                    )
                    .await;
                    return Err(factor::refusal(&lock, now, None));
                }
                Verdict::Gone { .. } => return Err(Error::LinkExpired),
            }
        }
        None => {
            if !app
                .store
                .set_password_by_link(&link_hash, &info.link, &phc, now)
                .await?
            {
                return Err(Error::LinkExpired);
            }
        }
    }
    let outcome = if info.invite {
        Outcome::InvitationAccepted
    } else {
        Outcome::Success
    };
    app.audit(username, Action::PasswordReset, username, outcome)
        .await;
    notify(app, &record.account, messages::password_changed_notice).await;
    Ok(())
}
