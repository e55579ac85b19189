//! `POST /mfa/verify`: a security code against a sign-in challenge. At most two reads and two
//! writes on the common paths; a correct code is one transaction (see `complete_verification`).

use crate::app::App;
use crate::error::{Error, Result};
use crate::flows::{sessions, setup, sign_in::CHALLENGE_PURPOSE};
use crate::limits::CHALLENGE_MAX_FAILURES;
use crate::policy::MfaState;
use crate::store::accounts::EnrolmentStatus;
use crate::store::challenges::{Completion, Verification};
use crate::store::sessions::NewSession;
use crate::token::{is_well_formed, new_token};
use crate::totp::{self, Code};

pub struct Verified {
    pub session: String,
    pub expires_at: u64,
}

pub async fn verify_code(app: &App, challenge: &str, code: &str) -> Result<Verified> {
    let code = Code::parse(code)?;
    if !is_well_formed(challenge) {
        return Err(Error::InvalidChallenge);
    }
    let now = app.now();
    let challenge_hash = app.keys.tokens.hash(CHALLENGE_PURPOSE, challenge);
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
        .ok_or(Error::InvalidChallenge)?;
    if record.code_lock.locked_until > now {
        app.audit(username, "mfa_verify", username, "locked").await;
        return Err(Error::Throttled {
            retry_after_secs: record.code_lock.locked_until - now,
        });
    }

    let matched = match &record.enrolment {
        Some(enrolment) => {
            let secret = app
                .keys
                .secrets
                .open(&enrolment.sealed_secret, username.as_bytes())?;
            totp::matching_step(&secret, &code, now, enrolment.last_step)
                .map(|step| (enrolment, step))
        }
        None => None,
    };
    let Some((enrolment, step)) = matched else {
        return wrong_code(app, &challenge_hash, username, now, "invalid_code").await;
    };

    let session = new_token()?;
    let new = NewSession {
        username,
        kind: record.account.kind,
        mfa: MfaState::Verified,
        now,
        epoch: record.account.session_epoch,
    };
    let completion = app
        .store
        .complete_verification(&Verification {
            challenge_hash: &challenge_hash,
            enrolment_id: &enrolment.enrolment_id,
            step,
            now,
            session_hash: &app.keys.tokens.hash(sessions::PURPOSE, &session),
            session: &new,
            session_max_secs: app.config.session_max_secs,
            clear_code_failures: record.code_lock.failures > 0 || record.code_lock.locked_until > 0,
        })
        .await?;
    match completion {
        Completion::Done => {}
        Completion::ChallengeGone => return Err(Error::InvalidChallenge),
        // RFC 6238 section 5.2: a step is good once; the loser of a race lands here too.
        Completion::StepRefused => {
            return wrong_code(app, &challenge_hash, username, now, "replay_refused").await;
        }
    }
    app.audit(username, "mfa_verify", username, "success").await;
    if enrolment.status == EnrolmentStatus::Pending {
        app.audit(username, "enrolment_activated", username, "success")
            .await;
        setup::notify_activation(app, &record.account).await;
    }
    Ok(Verified {
        session,
        expires_at: now + app.config.session_idle_secs,
    })
}

async fn wrong_code(
    app: &App,
    challenge_hash: &str,
    username: &str,
    now: u64,
    outcome: &str,
) -> Result<Verified> {
    app.audit(username, "mfa_verify", username, outcome).await;
    let failures = app.store.record_wrong_code(challenge_hash, now).await?;
    let locked_until = app.store.record_account_code_failure(username, now).await?;
    if let Some(until) = locked_until {
        return Err(Error::Throttled {
            retry_after_secs: until - now,
        });
    }
    match failures {
        Some(f) => Err(Error::InvalidCode {
            attempts_left: CHALLENGE_MAX_FAILURES.saturating_sub(f) as u32,
        }),
        None => Err(Error::InvalidChallenge),
    }
}
