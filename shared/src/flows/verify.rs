//! Security codes: `POST /mfa/verify` (a code against a sign-in challenge) and
//! `POST /mfa/reauthenticate` (a fresh code for a live session, before sensitive administration).
//! Both accept the code through `flows::factor`; a sign-in's wrong codes also count against its
//! challenge (5 per challenge).

use crate::account::EnrolmentStatus;
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::challenge;
use crate::flows::factor::{self, Completes, Factor, Verdict, Why};
use crate::flows::notices;
use crate::flows::sessions::ActiveSession;
use crate::limits::CHALLENGE_MAX_FAILURES;
use crate::policy::MfaState;
use crate::softlock::CODES_PER_ACCOUNT;
use crate::store::sessions::NewSession;
use crate::token::{Purpose, new_token};
use crate::totp::Code;

pub struct Verified {
    pub session: String,
    pub expires_at: u64,
    pub username: String,
    pub kind: crate::policy::AccountKind,
    /// When the session was made (OIDC `auth_time`).
    pub auth_time: u64,
    /// The pending OpenID Connect authorization the challenge carried, if any.
    pub authorization: Option<String>,
    /// How the sign-in was made (RFC 8176), as the session keeps it.
    pub amr: Vec<String>,
    /// After a recovery code: how many of the set are left.
    pub recovery_codes_left: Option<usize>,
}

/// What the user gave at the code step.
pub enum Given<'a> {
    /// A code from the authenticator app.
    Code(&'a str),
    /// One of their recovery codes.
    RecoveryCode(&'a str),
    /// A passkey's assertion: how to check it, and whether it says its key may be backed up
    /// (`passkey::claimed_backup_eligible`, for the session's `amr`).
    Passkey {
        check: &'a crate::passkey::AssertionCheck<'a>,
        backup_eligible: bool,
    },
}

/// `amr` after a recovery code. RFC 8176 has no value for one; `rec` says which second factor it
/// was, so a site that wants to tell it from a code from the app (`otp`) can, and `mfa` still says
/// two factors were given (the password, and a code only the user was given).
pub const RECOVERY_AMR: &str = "rec";

pub async fn verify_code(app: &App, challenge: &str, given: Given<'_>) -> Result<Verified> {
    // A recovery code signs in, but is no recent code: making a new set, or anything else
    // sensitive, needs a code from the app (a phished recovery code must not mint ten more).
    // A passkey counts as a code for what needs a recent one (it is the stronger factor).
    let passkey = matches!(given, Given::Passkey { .. });
    let (factor, amr, recent_code) = match given {
        Given::Code(code) => (
            Factor::Totp(Code::parse(code)?),
            crate::oidc::amr(MfaState::Verified, None),
            true,
        ),
        // However it is written, a recovery code is checked (and counted) like any code.
        Given::RecoveryCode(typed) => (
            Factor::Recovery(typed.to_owned()),
            vec!["pwd".into(), RECOVERY_AMR.into(), "mfa".into()],
            false,
        ),
        Given::Passkey {
            check,
            backup_eligible,
        } => (
            Factor::Passkey(check),
            crate::passkey::amr(backup_eligible),
            true,
        ),
    };
    let now = app.now();
    let live = challenge::open(app, challenge, now)?;
    let username = live.username.as_str();
    // A new password, an admin reset or a disabled account since the password ends the challenge.
    let record = app
        .store
        .load_account(username)
        .await?
        .filter(|r| !r.account.disabled && r.account.session_epoch == live.epoch)
        .ok_or(Error::InvalidChallenge)?;
    if !passkey {
        refuse_code_if_passkey_required(app, &record).await?;
    }

    let session = new_token()?;
    let new = NewSession {
        username,
        kind: record.account.kind,
        mfa: MfaState::Verified,
        now,
        epoch: record.account.session_epoch,
        code_at: recent_code.then_some(now),
        amr: &amr,
    };
    let completes = Completes::SignIn {
        session_hash: &app.keys.tokens.hash(Purpose::Session, &session),
        session: &new,
        session_max_secs: app.config.session_max_secs,
    };
    let against = Some((live.id.as_str(), live.expires_at));
    let verdict = factor::accept(app, &record, &factor, against, &completes, now).await?;
    let (enrolment, recovery_codes_left) = match verdict {
        Verdict::Accepted {
            enrolment,
            recovery_left,
        } => (enrolment, recovery_left),
        Verdict::Gone { .. } => {
            // A passkey's answer for a sign-in that is over: a replay (the one that won the race
            // signed in). Audited, as a refused passkey is.
            if passkey {
                app.audit(
                    username,
                    Action::MfaVerify,
                    username,
                    Outcome::ReplayRefused,
                )
                .await;
            }
            return Err(Error::InvalidChallenge);
        }
        Verdict::Refused {
            lock,
            why,
            challenge_failures,
        } => {
            // RFC 6238 section 5.2: a step is good once; the loser of a race lands here too.
            let outcome = match why {
                Why::Replayed => Outcome::ReplayRefused,
                Why::ClonedKey => Outcome::CounterRegressed,
                Why::Wrong if passkey => Outcome::InvalidPasskey,
                Why::Wrong => Outcome::InvalidCode,
            };
            app.audit(username, Action::MfaVerify, username, outcome)
                .await;
            // The fewer of the challenge's and the account's: either ends the sign-in.
            let attempts_left = CHALLENGE_MAX_FAILURES
                .saturating_sub(challenge_failures)
                .min(
                    CODES_PER_ACCOUNT
                        .free_failures
                        .saturating_sub(lock.failures),
                );
            let refusal = factor::refusal(&lock, now, Some(attempts_left));
            return Err(match refusal {
                Error::InvalidCode { attempts_left } if passkey => {
                    Error::InvalidPasskey { attempts_left }
                }
                other => other,
            });
        }
    };
    if let Some(left) = recovery_codes_left {
        app.audit(
            username,
            Action::MfaVerify,
            username,
            Outcome::RecoveryCodeUsed,
        )
        .await;
        notices::notify_recovery_used(app, &record.account, left).await;
    } else {
        app.audit(username, Action::MfaVerify, username, Outcome::Success)
            .await;
    }
    if enrolment.status == EnrolmentStatus::Pending && recovery_codes_left.is_none() {
        app.audit(
            username,
            Action::EnrolmentActivated,
            username,
            Outcome::Success,
        )
        .await;
        notices::notify_activation(app, &record.account, &enrolment.key_shown).await;
    }
    Ok(Verified {
        session,
        expires_at: now + app.config.session_idle_secs,
        username: record.account.username.clone(),
        kind: record.account.kind,
        auth_time: now,
        authorization: live.authorization,
        amr,
        recovery_codes_left,
    })
}

/// The organisation's policy may hold an account with a passkey to it
/// (`phishing_resistant_required_for`): a code from the app (or a recovery code) is then refused,
/// before anything is counted. Settings are read only for an account with a passkey.
async fn refuse_code_if_passkey_required(
    app: &App,
    record: &crate::account::AccountRecord,
) -> Result<()> {
    if record.passkeys.passkeys.is_empty() {
        return Ok(());
    }
    let settings = app.store.get_settings().await?;
    if crate::policy::passkey_required(
        record.account.kind,
        settings.phishing_resistant_required_for,
        true,
    ) {
        let username = record.account.username.as_str();
        app.audit(
            username,
            Action::MfaVerify,
            username,
            Outcome::PasskeyRequired,
        )
        .await;
        return Err(Error::PasskeyRequired);
    }
    Ok(())
}

/// A fresh code for the session's own account: sensitive administration is allowed for the next
/// few minutes (`sessions::require_recent_code`).
pub async fn reauthenticate(app: &App, session: &ActiveSession, code: &str) -> Result<()> {
    let code = Code::parse(code)?;
    let now = app.now();
    let username = session.username.as_str();
    let record = session.account(app).await?;
    if record.active_enrolment().is_none() {
        return Err(Error::bad_request(
            "not_enrolled",
            "This account has no authenticator app set up, so it cannot give a code.",
        ));
    }
    refuse_code_if_passkey_required(app, &record).await?;
    let completes = Completes::StepUp {
        session_hash: &session.token_hash,
    };
    match factor::accept(app, &record, &Factor::Totp(code), None, &completes, now).await? {
        Verdict::Accepted { .. } => {
            app.audit(username, Action::Reauthenticate, username, Outcome::Success)
                .await;
            Ok(())
        }
        // A wrong or used code, or a session that ended meanwhile.
        Verdict::Refused { lock, .. } | Verdict::Gone { lock } => {
            app.audit(
                username,
                Action::Reauthenticate,
                username,
                Outcome::InvalidCode,
            )
            .await;
            Err(factor::refusal(&lock, now, None))
        }
    }
}
