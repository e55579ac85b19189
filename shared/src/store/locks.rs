//! Lock-out states (`softlock::SoftLock`) as items. An attempt is reserved by writing the state
//! `SoftLock::reserve` computes, on the condition that the stored state is still the one it was
//! computed from (compare-and-swap): of many Lambda instances racing, each reservation is counted
//! exactly once, and no more attempts are evaluated than the policy allows.

use super::challenges;
use super::keys::{self, CODE_LOCK, LOCKED_INDEX, PASSWORD_LOCK};
use super::{Item, Store, get_n, is_condition_failure, n, s, unavailable};
use crate::account::{AccountRecord, ChallengeFailures, CodeCount as StoredCodeCount};
use crate::error::{Error, Result};
use crate::limits::CHALLENGE_MAX_FAILURES;
use crate::softlock::{
    CODES_PER_ACCOUNT, LockPolicy, PASSWORD_PER_ACCOUNT, PASSWORD_PER_ADDRESS, SoftLock,
};

/// How long an idle lock-out state is kept after its last attempt (or the end of its lock).
const KEEP_SECS: u64 = 24 * 3600;
/// Compare-and-swap rounds before giving up: each round some racer wins, so this only runs out
/// under a flood on one key, which is then answered 429.
const MAX_ROUNDS: usize = 32;

/// Where a lock-out state lives.
#[derive(Clone, Debug)]
pub enum LockSite<'a> {
    /// Codes for an account.
    CodeEntry { username: &'a str },
    /// Passwords for an account, from every address.
    PasswordAccount { username: &'a str },
    /// Passwords for a name that is no account, from every address (a keyed hash): the 100-failure
    /// lock answers alike whether or not the name is an account.
    PasswordUnknown { username_hash: &'a str },
    /// Passwords for a (username, source address) pair. Both are keyed hashes: what was typed
    /// into the username box is never stored, account or not.
    PasswordAddress {
        username_hash: &'a str,
        address_hash: &'a str,
    },
}

impl LockSite<'_> {
    fn key(&self) -> Item {
        match self {
            LockSite::CodeEntry { username } => keys::account(username, CODE_LOCK),
            LockSite::PasswordAccount { username } => keys::account(username, PASSWORD_LOCK),
            LockSite::PasswordUnknown { username_hash } => {
                keys::throttle_unknown_account(username_hash)
            }
            LockSite::PasswordAddress {
                username_hash,
                address_hash,
            } => keys::throttle_address(username_hash, address_hash),
        }
    }

    pub fn policy(&self) -> &'static LockPolicy {
        match self {
            LockSite::CodeEntry { .. } => &CODES_PER_ACCOUNT,
            LockSite::PasswordAccount { .. } | LockSite::PasswordUnknown { .. } => {
                &PASSWORD_PER_ACCOUNT
            }
            LockSite::PasswordAddress { .. } => &PASSWORD_PER_ADDRESS,
        }
    }

    /// Account locks are listed (readiness, the admin page) through the sparse index.
    fn listed_as(&self) -> Option<&str> {
        match self {
            LockSite::CodeEntry { username } | LockSite::PasswordAccount { username } => {
                Some(username)
            }
            LockSite::PasswordAddress { .. } | LockSite::PasswordUnknown { .. } => None,
        }
    }
}

/// How a code attempt's reservation went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCount {
    /// Reserved (counted as a failure in advance, until a success clears it): the account's code
    /// count after it, and the challenge's attempts.
    Reserved {
        lock: SoftLock,
        challenge_failures: u64,
    },
    /// Code entry is locked: seconds to wait.
    Locked(u64),
    /// The challenge has no codes to spare.
    ChallengeSpent,
}

/// What a count writes beside the lock state.
enum Extra {
    None,
    /// The code-count item's: the per-challenge failures (None: none left), and the enrolment's
    /// last accepted step as it was before (`was`) and as read now (`now`).
    CodeCount {
        challenges: Option<aws_sdk_dynamodb::types::AttributeValue>,
        was: u64,
        now: u64,
    },
}

pub(crate) fn parse_lock(item: &Item) -> SoftLock {
    SoftLock {
        failures: get_n(item, "failures").unwrap_or(0),
        locked_until: get_n(item, "locked_until").unwrap_or(0),
    }
}

pub(crate) fn parse_code_count(item: &Item) -> StoredCodeCount {
    StoredCodeCount {
        stored: parse_lock(item),
        since_step: get_n(item, "since_step").unwrap_or(0),
    }
}

impl Store {
    pub async fn lock_state(&self, site: &LockSite<'_>) -> Result<SoftLock> {
        let item = self.get(site.key(), "get lock state").await?;
        Ok(item.as_ref().map(parse_lock).unwrap_or_default())
    }

    /// Reserves one attempt at `site`: Ok(the new state) to go ahead and evaluate it, or
    /// Err(seconds to wait). `known` is the stored state if the caller has just read it.
    pub async fn reserve_attempt(
        &self,
        site: &LockSite<'_>,
        known: Option<SoftLock>,
        now: u64,
    ) -> Result<Result<SoftLock, u64>> {
        let mut current = match known {
            Some(state) => state,
            None => self.lock_state(site).await?,
        };
        for _ in 0..MAX_ROUNDS {
            let next = match current.reserve(site.policy(), now) {
                Ok(next) => next,
                Err(wait) => return Ok(Err(wait)),
            };
            if self.swap_lock(site, &current, &next, now).await? {
                return Ok(Ok(next));
            }
            current = self.lock_state(site).await?;
        }
        Err(Error::Throttled {
            retry_after_secs: 1,
        })
    }

    /// Reserves a code attempt on `username`'s account before the code is checked, starting from
    /// `seen` (the code count, the per-challenge failures and the enrolment's last accepted step,
    /// read with the account), and on `challenge` (its id and expiry) when it is given for a
    /// sign-in: both in one compare-and-swap of the code-count item, so however many requests race,
    /// no more codes are checked than the account's count and the challenge's allow.
    pub async fn reserve_code_attempt(
        &self,
        username: &str,
        seen: &AccountRecord,
        challenge: Option<(&str, u64)>,
        now: u64,
    ) -> Result<CodeCount> {
        let site = LockSite::CodeEntry { username };
        let (mut count, mut map, mut last_step) = (
            seen.code_count,
            seen.challenge_failures.clone(),
            seen.last_step(),
        );
        for _ in 0..MAX_ROUNDS {
            let before = challenge
                .and_then(|(id, _)| map.get(id))
                .map_or(0, |c| c.failures);
            if before >= CHALLENGE_MAX_FAILURES {
                return Ok(CodeCount::ChallengeSpent);
            }
            let next = match count.in_effect(last_step).reserve(site.policy(), now) {
                Ok(next) => next,
                Err(wait) => return Ok(CodeCount::Locked(wait)),
            };
            let mut written = map.clone();
            if let Some((id, expires_at)) = challenge {
                written.insert(
                    id.to_owned(),
                    ChallengeFailures {
                        failures: before + 1,
                        expires_at,
                    },
                );
            }
            let extra = Extra::CodeCount {
                challenges: challenges::failures_value(&written, now),
                was: count.since_step,
                now: count.since_step.max(last_step.unwrap_or(0)),
            };
            if self
                .swap_lock_with(&site, &count.stored, &next, now, extra)
                .await?
            {
                return Ok(CodeCount::Reserved {
                    lock: next,
                    challenge_failures: before + 1,
                });
            }
            // Read the count and the enrolment's step together again: a code accepted meanwhile
            // ended the count.
            match self.load_account(username).await? {
                Some(r) => {
                    (count, map, last_step) =
                        (r.code_count, r.challenge_failures.clone(), r.last_step());
                }
                None => return Err(Error::InvalidChallenge),
            }
        }
        Err(Error::Throttled {
            retry_after_secs: 1,
        })
    }

    async fn swap_lock(
        &self,
        site: &LockSite<'_>,
        current: &SoftLock,
        next: &SoftLock,
        now: u64,
    ) -> Result<bool> {
        self.swap_lock_with(site, current, next, now, Extra::None)
            .await
    }

    /// Writes `next` if the stored state is still `current`; false when another writer won.
    async fn swap_lock_with(
        &self,
        site: &LockSite<'_>,
        current: &SoftLock,
        next: &SoftLock,
        now: u64,
        extra: Extra,
    ) -> Result<bool> {
        let ttl = next.locked_until.max(now) + KEEP_SECS;
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(site.key()))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":nf", n(next.failures))
            .expression_attribute_values(":nl", n(next.locked_until))
            .expression_attribute_values(":ttl", n(ttl));
        // A state of nothing is an absent item: a success deletes rather than writing zeros.
        update = if *current == SoftLock::default() {
            update.condition_expression("attribute_not_exists(failures)")
        } else {
            update
                .condition_expression("failures = :f AND locked_until = :l")
                .expression_attribute_values(":f", n(current.failures))
                .expression_attribute_values(":l", n(current.locked_until))
        };
        let mut set = "SET failures = :nf, locked_until = :nl, #ttl = :ttl".to_owned();
        let mut remove = vec![];
        if let Extra::CodeCount {
            challenges,
            was,
            now: step,
        } = extra
        {
            set.push_str(", since_step = :ns");
            update = update.expression_attribute_values(":ns", n(step));
            if *current != SoftLock::default() {
                // Counts written before this field existed have none: they were counted against
                // no step.
                update = update
                    .condition_expression(format!(
                        "failures = :f AND locked_until = :l AND {}",
                        if was == 0 {
                            "(attribute_not_exists(since_step) OR since_step = :ps)"
                        } else {
                            "since_step = :ps"
                        }
                    ))
                    .expression_attribute_values(":ps", n(was));
            }
            match challenges {
                Some(map) => {
                    set.push_str(", challenges = :ch");
                    update = update.expression_attribute_values(":ch", map);
                }
                None => remove.push("challenges"),
            }
        }
        match site.listed_as() {
            Some(username) if next.is_locked(now) => {
                set.push_str(", gsi1pk = :idx, gsi1sk = :user");
                update = update
                    .expression_attribute_values(":idx", s(LOCKED_INDEX))
                    .expression_attribute_values(":user", s(username));
            }
            Some(_) => remove.extend(["gsi1pk", "gsi1sk"]),
            None => {}
        }
        let expression = if remove.is_empty() {
            set
        } else {
            format!("{set} REMOVE {}", remove.join(", "))
        };
        match update.update_expression(expression).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("count attempt")(e)),
        }
    }

    /// A success (or an administrator's unlock) ends the count and any lock.
    pub async fn clear_lock(&self, site: &LockSite<'_>) -> Result<()> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(site.key()))
            .send()
            .await
            .map_err(unavailable("clear lock"))?;
        Ok(())
    }
}
