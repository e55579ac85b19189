//! Lock-out states (`softlock::SoftLock`) as items. An attempt is reserved by writing the state
//! `SoftLock::reserve` computes, on the condition that the stored state is still the one it was
//! computed from (compare-and-swap): of many Lambda instances racing, each reservation is counted
//! exactly once, and no more attempts are evaluated than the policy allows.

use super::keys::{self, CODE_LOCK, LOCKED_INDEX, PASSWORD_LOCK};
use super::{Item, Store, get_n, is_condition_failure, n, s, unavailable};
use crate::error::{Error, Result};
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

pub(crate) fn parse_lock(item: &Item) -> SoftLock {
    SoftLock {
        failures: get_n(item, "failures").unwrap_or(0),
        locked_until: get_n(item, "locked_until").unwrap_or(0),
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

    /// Writes `next` if the stored state is still `current`; false when another writer won.
    async fn swap_lock(
        &self,
        site: &LockSite<'_>,
        current: &SoftLock,
        next: &SoftLock,
        now: u64,
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
        // A state of nothing is an absent item: `clear_lock` deletes rather than writing zeros.
        update = if *current == SoftLock::default() {
            update.condition_expression("attribute_not_exists(failures)")
        } else {
            update
                .condition_expression("failures = :f AND locked_until = :l")
                .expression_attribute_values(":f", n(current.failures))
                .expression_attribute_values(":l", n(current.locked_until))
        };
        let set = "SET failures = :nf, locked_until = :nl, #ttl = :ttl";
        update = match site.listed_as() {
            Some(username) if next.is_locked(now) => update
                .update_expression(format!("{set}, gsi1pk = :idx, gsi1sk = :user"))
                .expression_attribute_values(":idx", s(LOCKED_INDEX))
                .expression_attribute_values(":user", s(username)),
            Some(_) => update.update_expression(format!("{set} REMOVE gsi1pk, gsi1sk")),
            None => update.update_expression(set),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("reserve attempt")(e)),
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
