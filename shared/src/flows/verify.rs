//! Security codes: `POST /mfa/verify` (a code against a sign-in challenge) and
//! `POST /mfa/reauthenticate` (a fresh code for a live session, before sensitive administration).
//!
//! Every code is evaluated only after an attempt was reserved with a conditional write, on the
//! challenge (5) and on the account (10 consecutive, then 15 minutes): however many instances race,
//! no more codes are evaluated than the contract allows. A correct code is one transaction.

use crate::account::{AccountRecord, Enrolment, EnrolmentStatus};
use crate::app::App;
use crate::error::{Error, Result};
use crate::flows::sessions::ActiveSession;
use crate::flows::setup;
use crate::limits::CHALLENGE_MAX_FAILURES;
use crate::policy::MfaState;
use crate::softlock::{CODES_PER_ACCOUNT, SoftLock};
use crate::store::challenges::{Completion, Verification};
use crate::store::locks::LockSite;
use crate::store::sessions::NewSession;
use crate::token::{Purpose, is_well_formed, new_token};
use crate::totp::{self, Code};

pub struct Verified {
    pub session: String,
    pub expires_at: u64,
    pub username: String,
    pub kind: crate::policy::AccountKind,
    /// When the session was made (OIDC `auth_time`).
    pub auth_time: u64,
    /// The pending OpenID Connect authorization the challenge carried, if any.
    pub authorization: Option<String>,
}

pub async fn verify_code(app: &App, challenge: &str, code: &str) -> Result<Verified> {
    let code = Code::parse(code)?;
    if !is_well_formed(challenge) {
        return Err(Error::InvalidChallenge);
    }
    let now = app.now();
    let challenge_hash = app.keys.tokens.hash(Purpose::Challenge, challenge);
    let live = app
        .store
        .get_challenge(&challenge_hash, now)
        .await?
        .ok_or(Error::InvalidChallenge)?;
    let username = live.username.as_str();
    let record = app
        .store
        .load_account(username)
        .await?
        .filter(|r| !r.account.disabled)
        .ok_or(Error::InvalidChallenge)?;
    let counted = app
        .store
        .reserve_challenge_attempt(&challenge_hash, now)
        .await?
        .ok_or(Error::InvalidChallenge)?;
    let account_lock = reserve_account_attempt(app, &record, now).await?;
    let attempts_left = CHALLENGE_MAX_FAILURES.saturating_sub(counted);

    let Some((enrolment, step)) = matching(app, &record, &code, now)? else {
        app.audit(username, "mfa_verify", username, "invalid_code")
            .await;
        return Err(wrong_code(now, &account_lock, attempts_left));
    };

    let session = new_token()?;
    let amr = crate::oidc::amr(MfaState::Verified, None);
    let new = NewSession {
        username,
        kind: record.account.kind,
        mfa: MfaState::Verified,
        now,
        epoch: record.account.session_epoch,
        code_at: Some(now),
        amr: &amr,
    };
    let completion = app
        .store
        .complete_verification(&Verification {
            challenge_hash: &challenge_hash,
            enrolment_id: &enrolment.enrolment_id,
            step,
            now,
            session_hash: &app.keys.tokens.hash(Purpose::Session, &session),
            session: &new,
            session_max_secs: app.config.session_max_secs,
        })
        .await?;
    match completion {
        Completion::Done => {}
        Completion::ChallengeGone => return Err(Error::InvalidChallenge),
        // RFC 6238 section 5.2: a step is good once; the loser of a race lands here too.
        Completion::StepRefused => {
            app.audit(username, "mfa_verify", username, "replay_refused")
                .await;
            return Err(wrong_code(now, &account_lock, attempts_left));
        }
    }
    app.audit(username, "mfa_verify", username, "success").await;
    if enrolment.status == EnrolmentStatus::Pending {
        app.audit(username, "enrolment_activated", username, "success")
            .await;
        setup::notify_activation(app, &record.account, &enrolment.key_shown).await;
    }
    Ok(Verified {
        session,
        expires_at: now + app.config.session_idle_secs,
        username: record.account.username,
        kind: record.account.kind,
        auth_time: now,
        authorization: live.authorization,
    })
}

/// A fresh code for the session's own account: sensitive administration is allowed for the next
/// few minutes (`sessions::require_recent_code`).
pub async fn reauthenticate(app: &App, session: &ActiveSession, code: &str) -> Result<()> {
    let code = Code::parse(code)?;
    let now = app.now();
    let username = session.username.as_str();
    let record = app
        .store
        .load_account(username)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if record.active_enrolment().is_none() {
        return Err(Error::bad_request(
            "not_enrolled",
            "This account has no authenticator app set up, so it cannot give a code.",
        ));
    }
    let account_lock = reserve_account_attempt(app, &record, now).await?;
    let matched = matching(app, &record, &code, now)?;
    let done = match matched {
        Some((enrolment, step)) => {
            app.store
                .complete_reauthentication(
                    username,
                    &enrolment.enrolment_id,
                    step,
                    &session.token_hash,
                    now,
                )
                .await?
        }
        None => false,
    };
    if !done {
        app.audit(username, "reauthenticate", username, "invalid_code")
            .await;
        let left = CODES_PER_ACCOUNT
            .free_failures
            .saturating_sub(account_lock.failures);
        return Err(wrong_code(now, &account_lock, left));
    }
    app.audit(username, "reauthenticate", username, "success")
        .await;
    Ok(())
}

/// Reserves a code attempt on the account: the state after it (locked when this very attempt was
/// the last one allowed, which is still evaluated), or 429 when code entry is locked.
pub(crate) async fn reserve_account_attempt(
    app: &App,
    record: &AccountRecord,
    now: u64,
) -> Result<SoftLock> {
    let username = record.account.username.as_str();
    let site = LockSite::CodeEntry { username };
    match app
        .store
        .reserve_attempt(&site, Some(record.code_lock), now)
        .await?
    {
        Ok(state) => Ok(state),
        Err(wait) => {
            app.audit(username, "mfa_verify", username, "locked").await;
            Err(Error::Throttled {
                retry_after_secs: wait,
            })
        }
    }
}

/// The enrolment and the time step `code` matches, if any.
pub(crate) fn matching<'a>(
    app: &App,
    record: &'a AccountRecord,
    code: &Code,
    now: u64,
) -> Result<Option<(&'a Enrolment, u64)>> {
    let Some(enrolment) = &record.enrolment else {
        return Ok(None);
    };
    let secret = app
        .keys
        .secrets
        .open(&enrolment.sealed_secret, record.account.username.as_bytes())?;
    Ok(totp::matching_step(&secret, code, now, enrolment.last_step).map(|step| (enrolment, step)))
}

/// The answer to a wrong code: 429 when it was the one that locked code entry.
fn wrong_code(now: u64, account_lock: &SoftLock, attempts_left: u64) -> Error {
    match account_lock.wait(now) {
        Some(wait) => Error::Throttled {
            retry_after_secs: wait,
        },
        None => Error::InvalidCode {
            attempts_left: attempts_left as u32,
        },
    }
}
