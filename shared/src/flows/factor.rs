//! One home for accepting a second factor, whatever it completes (a sign-in, a step-up, a password
//! reset):
//!
//! ```text
//!   reserve an attempt on the account's code count (and on the sign-in challenge, if any)
//!        |--locked-->  429 (nothing checked)      |--challenge out of codes-->  Gone
//!   check the factor  --wrong-->  Refused (the attempt stays counted)
//!        |
//!   one transaction: use the factor up (conditioned on the step as read; the step moving on
//!   ends the count) + complete
//!        |--the enrolment changed meanwhile-->  read it again and check again (still reserved)
//!        |--session or link gone------------>  Gone
//!        '---------------------------------->  Accepted
//! ```
//!
//! However many instances race, no more factors are checked than the counts allow (an attempt is
//! counted before it is checked, so a burst of guesses gets no more tries than a sequence), a
//! factor is good once, and a success changes all or nothing. A recovery code and a passkey's
//! assertion are other `Factor`s (and other `store::factors::Use`s), not other copies of this
//! sequence.

use crate::account::{AccountRecord, Enrolment};
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::softlock::{CODES_PER_ACCOUNT, SoftLock};
use crate::store::factors::Use;
pub use crate::store::factors::{Completes, Written};
use crate::store::locks::CodeCount;
use crate::token::Purpose;
use crate::totp::{self, Code};

/// A second factor as the user gave it.
pub enum Factor<'a> {
    /// A code from the authenticator app (RFC 6238).
    Totp(Code),
    /// A recovery code as typed (`recovery`): good once, at the code step of a sign-in.
    Recovery(String),
    /// A passkey's assertion, answering the sign-in ceremony kept for the challenge (at the code
    /// step of a sign-in): how to check it against the ceremony's state and the passkeys.
    Passkey(&'a crate::passkey::AssertionCheck<'a>),
}

/// Why a factor was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Wrong: not the code, not a recovery code of the set, not a valid assertion.
    Wrong,
    /// Right once, but used already (it lost a race, or was replayed).
    Replayed,
    /// A passkey whose signature counter went backwards: the authenticator may be cloned.
    ClonedKey,
}

/// What became of a factor.
pub enum Verdict {
    /// Accepted and used up; what it completes happened in the same write. The enrolment as it
    /// was before (a pending one was activated by this code); for a recovery code, how many of
    /// the set are left.
    Accepted {
        enrolment: Enrolment,
        recovery_left: Option<usize>,
    },
    /// Refused (`why`); the attempt stays counted in `lock`, and against the challenge
    /// (`challenge_failures`, 0 without one).
    Refused {
        lock: SoftLock,
        why: Why,
        challenge_failures: u64,
    },
    /// What it was to complete is gone: the challenge used or out of codes, the session ended, the
    /// link used (`lock`: the count as it stands).
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

/// Rounds of check-and-write before giving up: each lost round means another code landed on the
/// same enrolment, so this only runs out under a flood on one account, answered 429.
const MAX_ROUNDS: usize = 16;

/// Accepts `factor` for `record`'s account and completes `completes` with it (see the module).
/// `challenge`: the sign-in challenge (id, expiry) the factor is given against, if any.
pub async fn accept(
    app: &App,
    record: &AccountRecord,
    factor: &Factor<'_>,
    challenge: Option<(&str, u64)>,
    completes: &Completes<'_>,
    now: u64,
) -> Result<Verdict> {
    let username = record.account.username.as_str();
    // A recovery code is looked up by its keyed hash; what was typed is never compared as is.
    let recovery_hash = match factor {
        Factor::Recovery(typed) => Some(
            app.keys
                .tokens
                .hash(Purpose::RecoveryCode, &crate::recovery::normalise(typed)),
        ),
        Factor::Totp(_) | Factor::Passkey(_) => None,
    };
    if challenge.is_some_and(|(id, _)| !record.challenge_alive(id)) {
        return Ok(Verdict::Gone {
            lock: record.code_lock(),
        });
    }
    let reserved = app
        .store
        .reserve_code_attempt(username, record, challenge, now)
        .await?;
    let (lock, challenge_failures, mut count_now) = match reserved {
        CodeCount::Reserved {
            lock,
            challenge_failures,
            written,
        } => (lock, challenge_failures, written),
        CodeCount::Locked(wait) => return locked(app, username, wait).await,
        CodeCount::ChallengeSpent => {
            return Ok(Verdict::Gone {
                lock: record.code_lock(),
            });
        }
    };
    let mut record = record.clone();
    // Set once a code that matched lost its write: if it no longer matches, it was replayed.
    let mut raced = false;
    for _ in 0..MAX_ROUNDS {
        let mut why = if raced { Why::Replayed } else { Why::Wrong };
        let used_passkey;
        if challenge.is_some_and(|(id, _)| {
            record
                .enrolment
                .as_ref()
                .is_some_and(|e| e.used_challenges.contains_key(id))
        }) {
            return Ok(Verdict::Gone { lock });
        }
        let found = match (factor, recovery_hash.as_deref()) {
            (Factor::Totp(code), _) => {
                matching(app, &record, code, now)?.map(|(enrolment, step)| {
                    let used = Use::TotpStep {
                        username,
                        enrolment,
                        step,
                        challenge,
                    };
                    (used, enrolment, None)
                })
            }
            // At a sign-in only, beside the active app the set was made with.
            (Factor::Recovery(_), Some(hash)) => {
                match (record.active_enrolment(), &record.recovery, challenge) {
                    (Some(enrolment), Some(set), Some(challenge))
                        if set.enrolment_id == enrolment.enrolment_id
                            && set.unused.contains(hash) =>
                    {
                        let used = Use::RecoveryCode {
                            username,
                            enrolment,
                            set_id: &set.set_id,
                            hash,
                            challenge,
                            count: &count_now,
                        };
                        Some((used, enrolment, Some(set.unused.len() - 1)))
                    }
                    _ => None,
                }
            }
            (Factor::Recovery(_), None) => None,
            // At a sign-in only, beside an active app (a reset removes both).
            (Factor::Passkey(check), _) => {
                let ceremony = challenge.and_then(|(id, _)| {
                    record
                        .passkeys
                        .ceremony(crate::passkey::CeremonyFor::SignIn(id), now)
                });
                match (record.active_enrolment(), ceremony, challenge) {
                    (Some(enrolment), Some(ceremony), Some(challenge)) => {
                        match check(&ceremony.state, &record.passkeys.passkeys) {
                            Ok((passkey, counter_as_read)) => {
                                used_passkey = passkey;
                                let used = Use::Passkey {
                                    username,
                                    enrolment,
                                    ceremony,
                                    passkey: &used_passkey,
                                    counter_as_read,
                                    challenge,
                                    count: &count_now,
                                };
                                Some((used, enrolment, None))
                            }
                            Err(crate::passkey::AssertionRefused::ClonedKey) => {
                                why = Why::ClonedKey;
                                None
                            }
                            Err(crate::passkey::AssertionRefused::Invalid) => None,
                        }
                    }
                    _ => None,
                }
            }
        };
        let Some((used, enrolment, recovery_left)) = found else {
            return Ok(Verdict::Refused {
                lock,
                why,
                challenge_failures,
            });
        };
        match app.store.accept_factor(&used, completes, now).await? {
            Written::Done => {
                return Ok(Verdict::Accepted {
                    enrolment: enrolment.clone(),
                    recovery_left,
                });
            }
            Written::CompletionGone => return Ok(Verdict::Gone { lock }),
            Written::Conflict => {
                raced = true;
                let epoch = record.account.session_epoch;
                // An account that moved on (disabled, or a new epoch) meanwhile ends the attempt.
                match app.store.load_account(username).await? {
                    Some(r) if !r.account.disabled && r.account.session_epoch == epoch => {
                        count_now = r.code_count;
                        record = r;
                    }
                    _ => return Ok(Verdict::Gone { lock }),
                }
            }
        }
    }
    Err(Error::Throttled {
        retry_after_secs: 1,
    })
}

async fn locked(app: &App, username: &str, wait: u64) -> Result<Verdict> {
    app.audit(username, Action::MfaVerify, username, Outcome::Locked)
        .await;
    Err(Error::Throttled {
        retry_after_secs: wait,
    })
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
