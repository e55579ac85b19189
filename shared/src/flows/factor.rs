//! One home for accepting a second factor, whatever it completes (a sign-in, a step-up, a password
//! reset):
//!
//! ```text
//!   reserve an attempt on the account's code lock  --locked-->  429 (nothing evaluated)
//!        |
//!   check the factor  --wrong-->  Refused (the attempt stays counted)
//!        |
//!   one transaction: use the factor up + clear the count + complete
//!        |--factor used already / enrolment changed-->  Refused (replay)
//!        |--challenge, session or link gone--------->  Gone
//!        '--------------------------------------------> Accepted
//! ```
//!
//! However many instances race, no more factors are evaluated than the lock allows, a factor is
//! good once, and a success changes all or nothing. A recovery code or a passkey assertion is
//! another `Factor` (and another `store::factors::Use`), not another copy of this sequence.

use crate::account::{AccountRecord, Enrolment, EnrolmentStatus};
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::softlock::{CODES_PER_ACCOUNT, SoftLock};
use crate::store::factors::Use;
pub use crate::store::factors::{Completes, Written};
use crate::store::locks::LockSite;
use crate::totp::{self, Code};

/// A second factor as the user gave it.
pub enum Factor {
    /// A code from the authenticator app (RFC 6238).
    Totp(Code),
}

/// What became of a factor.
pub enum Verdict<'a> {
    /// Accepted and used up; what it completes happened in the same write.
    Accepted { enrolment: &'a Enrolment },
    /// Wrong, or used already (`replay`); the attempt stays counted in `lock`.
    Refused { lock: SoftLock, replay: bool },
    /// What it was to complete is gone (nothing changed but the counted attempt, in `lock`).
    Gone { lock: SoftLock },
}

/// The answer to a refused factor: 429 when this attempt locked code entry, else a wrong code
/// with the attempts left (by default, the account's).
pub fn refusal(lock: &SoftLock, now: u64, attempts_left: Option<u64>) -> Error {
    match lock.wait(now) {
        Some(wait) => Error::Throttled {
            retry_after_secs: wait,
        },
        None => Error::InvalidCode {
            attempts_left: attempts_left.unwrap_or(
                CODES_PER_ACCOUNT
                    .free_failures
                    .saturating_sub(lock.failures),
            ) as u32,
        },
    }
}

/// Accepts `factor` for `record`'s account and completes `completes` with it (see the module).
pub async fn accept<'a>(
    app: &App,
    record: &'a AccountRecord,
    factor: &Factor,
    completes: &Completes<'_>,
    now: u64,
) -> Result<Verdict<'a>> {
    let lock = reserve_attempt(app, record, now).await?;
    let Factor::Totp(code) = factor;
    let Some((enrolment, step)) = matching(app, record, code, now)? else {
        return Ok(Verdict::Refused {
            lock,
            replay: false,
        });
    };
    let used = Use::TotpStep {
        username: &record.account.username,
        enrolment_id: &enrolment.enrolment_id,
        step,
        activate: enrolment.status == EnrolmentStatus::Pending,
    };
    Ok(
        match app.store.accept_factor(&used, completes, now).await? {
            Written::Done => Verdict::Accepted { enrolment },
            Written::FactorRefused => Verdict::Refused { lock, replay: true },
            Written::CompletionGone => Verdict::Gone { lock },
        },
    )
}

/// Reserves a code attempt on the account: the state after it (locked when this very attempt was
/// the last one allowed, which is still evaluated), or 429 when code entry is locked.
async fn reserve_attempt(app: &App, record: &AccountRecord, now: u64) -> Result<SoftLock> {
    let username = record.account.username.as_str();
    let site = LockSite::CodeEntry { username };
    match app
        .store
        .reserve_attempt(&site, Some(record.code_lock), now)
        .await?
    {
        Ok(state) => Ok(state),
        Err(wait) => {
            app.audit(username, Action::MfaVerify, username, Outcome::Locked)
                .await;
            Err(Error::Throttled {
                retry_after_secs: wait,
            })
        }
    }
}

/// The enrolment and the time step `code` matches, if any.
fn matching<'a>(
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
