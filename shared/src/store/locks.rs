//! Lock-out states (`softlock::SoftLock`) as items. An attempt is counted by writing the state
//! `SoftLock::reserve` computes, on the condition that the stored state is still the one it was
//! computed from (compare-and-swap): of many Lambda instances racing, each attempt is counted
//! exactly once, and no more outcomes are given than the policy allows (a code's count is written
//! before it is checked, a password's after; see `Store::count_password_attempt`).

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::challenges;
use super::keys::{self, CODE_LOCK, LOCKED_INDEX, PASSWORD_LOCK};
use super::{Item, Store, get_n, is_condition_failure, n, s, unavailable};
use crate::account::{AccountRecord, ChallengeFailures, CodeCount as StoredCodeCount};
use crate::error::{Error, Result};
use crate::limits::CHALLENGE_MAX_FAILURES;
use crate::softlock::{
    AddressCount, CODES_PER_ACCOUNT, LockPolicy, PASSWORD_PER_ACCOUNT, PASSWORD_PER_ADDRESS,
    PasswordCounts, SoftLock,
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
}

impl LockSite<'_> {
    fn key(&self) -> Item {
        match self {
            LockSite::CodeEntry { username } => keys::account(username, CODE_LOCK),
            LockSite::PasswordAccount { username } => keys::account(username, PASSWORD_LOCK),
            LockSite::PasswordUnknown { username_hash } => {
                keys::throttle_unknown_account(username_hash)
            }
        }
    }

    pub fn policy(&self) -> &'static LockPolicy {
        match self {
            LockSite::CodeEntry { .. } => &CODES_PER_ACCOUNT,
            LockSite::PasswordAccount { .. } | LockSite::PasswordUnknown { .. } => {
                &PASSWORD_PER_ACCOUNT
            }
        }
    }

    /// Account locks are listed (readiness, the admin page) through the sparse index.
    fn listed_as(&self) -> Option<&str> {
        match self {
            LockSite::CodeEntry { username } | LockSite::PasswordAccount { username } => {
                Some(username)
            }
            LockSite::PasswordUnknown { .. } => None,
        }
    }
}

/// How a code attempt's reservation went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCount {
    /// Reserved (counted as a failure in advance, until a success ends the count): the account's
    /// code count after it, and the challenge's attempts.
    Reserved {
        lock: SoftLock,
        challenge_failures: u64,
        /// The count as this reservation wrote it (for a factor that must end it itself).
        written: StoredCodeCount,
    },
    /// Code entry is locked: seconds to wait.
    Locked(u64),
    /// The challenge has no codes to spare.
    ChallengeSpent,
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
        since_step: get_n(item, "since_step"),
    }
}

/// A name's password counts as read: whether the item exists, and its version (0: never written
/// with one), on which the compare-and-swap is conditioned.
#[derive(Debug, Default)]
struct SeenCounts {
    counts: PasswordCounts,
    version: u64,
    exists: bool,
}

/// A name's password counts as stored (`addresses`: address key -> {f, l, t}), and the version
/// the compare-and-swap is conditioned on (0: never written with one).
fn parse_password_counts(item: &Item) -> (PasswordCounts, u64) {
    let number = |v: &AttributeValue| v.as_n().ok().and_then(|n| n.parse::<u64>().ok());
    let addresses = match item.get("addresses").map(AttributeValue::as_m) {
        Some(Ok(map)) => map
            .iter()
            .filter_map(|(k, v)| {
                let m = v.as_m().ok()?;
                let field = |f: &str| m.get(f).and_then(number).unwrap_or(0);
                Some((
                    k.clone(),
                    AddressCount {
                        lock: SoftLock {
                            failures: field("f"),
                            locked_until: field("l"),
                        },
                        last_try: field("t"),
                    },
                ))
            })
            .collect(),
        _ => Default::default(),
    };
    let counts = PasswordCounts {
        name: parse_lock(item),
        addresses,
    };
    (counts, get_n(item, "version").unwrap_or(0))
}

fn addresses_value(counts: &PasswordCounts) -> AttributeValue {
    AttributeValue::M(
        counts
            .addresses
            .iter()
            .map(|(k, c)| {
                let entry = [
                    ("f".to_owned(), n(c.lock.failures)),
                    ("l".to_owned(), n(c.lock.locked_until)),
                    ("t".to_owned(), n(c.last_try)),
                ];
                (k.clone(), AttributeValue::M(entry.into_iter().collect()))
            })
            .collect(),
    )
}

/// The key of a source address in a name's counts: half of its keyed hash (128 bits) is plenty
/// to tell a name's addresses apart, and keeps each entry near 55 bytes: under 1 KB (one write
/// unit) for the dozen or so addresses a name sees in a day; about 2 KB at the cap, under attack.
fn address_key(address_hash: &str) -> &str {
    address_hash.get(..32).unwrap_or(address_hash)
}

impl Store {
    /// Counts a password attempt on the name at `site` from the source address `address_hash`,
    /// and gives its outcome only once it is counted: Ok(outcome of `check`), or Err(seconds to
    /// wait). The name's count and the address's live in one item.
    ///
    /// The item is read first, and a name or address that is locked out is refused without
    /// running `check` (argon2). Then `check` runs, and its outcome is counted by one
    /// compare-and-swap on the counts as read: a wrong one as `PasswordCounts::reserve` counts
    /// it, a right one (`right`) as `after_success` ends the counts. When another attempt was
    /// counted meanwhile, the counts are read again and the outcome counted from them, or
    /// withheld if they now refuse it. So of a burst of guesses, however many are checked at
    /// once, no more outcomes are given than the policy allows, a right one included.
    ///
    /// The steps after the check are the same for both outcomes, a right password with nothing
    /// to end included (its write changes only the version): a read in their place would be
    /// quicker than a write, and a refusal's timing would then tell a right guess from a wrong one.
    pub async fn count_password_attempt<C>(
        &self,
        site: &LockSite<'_>,
        address_hash: &str,
        now: u64,
        check: impl FnOnce() -> Result<C>,
        right: impl Fn(&C) -> bool,
    ) -> Result<Result<C, u64>> {
        let address = address_key(address_hash);
        let count = |counts: &PasswordCounts| {
            counts.reserve(
                site.policy(),
                &PASSWORD_PER_ADDRESS,
                address,
                now,
                KEEP_SECS,
            )
        };
        let mut seen = self.password_counts(site).await?;
        if let Err(wait) = count(&seen.counts) {
            return Ok(Err(wait));
        }
        let outcome = check()?;
        let right = right(&outcome);
        for _ in 0..MAX_ROUNDS {
            let next = match count(&seen.counts) {
                Ok(failed) if !right => failed,
                Ok(_) => seen.counts.after_success(address),
                Err(wait) => return Ok(Err(wait)),
            };
            if self.swap_password_counts(site, &seen, &next, now).await? {
                return Ok(Ok(outcome));
            }
            seen = self.password_counts(site).await?;
        }
        Err(Error::Throttled {
            retry_after_secs: 1,
        })
    }

    /// A name's password counts as stored, read consistently.
    async fn password_counts(&self, site: &LockSite<'_>) -> Result<SeenCounts> {
        let item = self.get(site.key(), "get password counts").await?;
        Ok(match item {
            Some(item) => {
                let (counts, version) = parse_password_counts(&item);
                SeenCounts {
                    counts,
                    version,
                    exists: true,
                }
            }
            None => SeenCounts::default(),
        })
    }

    /// Writes `next` if the stored counts are still `seen` (with their version); false when
    /// another writer won.
    async fn swap_password_counts(
        &self,
        site: &LockSite<'_>,
        seen: &SeenCounts,
        next: &PasswordCounts,
        now: u64,
    ) -> Result<bool> {
        let latest = next
            .addresses
            .values()
            .map(|c| c.lock.locked_until.max(c.last_try))
            .chain([next.name.locked_until, now])
            .max()
            .unwrap_or(now);
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(site.key()))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":nf", n(next.name.failures))
            .expression_attribute_values(":nl", n(next.name.locked_until))
            .expression_attribute_values(":a", addresses_value(next))
            .expression_attribute_values(":nv", n(seen.version + 1))
            .expression_attribute_values(":ttl", n(latest.saturating_add(KEEP_SECS)));
        update = if !seen.exists {
            update.condition_expression("attribute_not_exists(pk)")
        } else if seen.version == 0 {
            // Written before counts carried a version: pinned by the name's count instead.
            update
                .condition_expression(
                    "attribute_not_exists(version) AND failures = :f AND locked_until = :l",
                )
                .expression_attribute_values(":f", n(seen.counts.name.failures))
                .expression_attribute_values(":l", n(seen.counts.name.locked_until))
        } else {
            update
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(seen.version))
        };
        let mut set =
            "SET failures = :nf, locked_until = :nl, addresses = :a, version = :nv, #ttl = :ttl"
                .to_owned();
        let mut remove = vec![];
        update = with_listing(update, site, &next.name, now, &mut set, &mut remove);
        match update
            .update_expression(expression(set, &remove))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("count password attempt")(e)),
        }
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
            let since_step = count.since_step.max(last_step).unwrap_or(0);
            let challenges = challenges::failures_value(&written, now);
            if self
                .swap_code_count(&site, &count, &next, since_step, challenges, now)
                .await?
            {
                return Ok(CodeCount::Reserved {
                    lock: next,
                    challenge_failures: before + 1,
                    written: StoredCodeCount {
                        stored: next,
                        since_step: Some(since_step),
                    },
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

    /// Writes the code count `next` (counted against `since_step`, with the per-challenge
    /// failures `challenges`) if the stored item is still `current`; false when another writer won.
    async fn swap_code_count(
        &self,
        site: &LockSite<'_>,
        current: &StoredCodeCount,
        next: &SoftLock,
        since_step: u64,
        challenges: Option<AttributeValue>,
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
            .expression_attribute_values(":ns", n(since_step))
            .expression_attribute_values(":ttl", n(ttl));
        // Every write counts at least one failure: a stored state of none is an absent item.
        update = if current.stored == SoftLock::default() {
            update.condition_expression("attribute_not_exists(failures)")
        } else {
            let update = update
                .expression_attribute_values(":f", n(current.stored.failures))
                .expression_attribute_values(":l", n(current.stored.locked_until));
            match current.since_step {
                Some(since) => update
                    .condition_expression(
                        "failures = :f AND locked_until = :l AND since_step = :ps",
                    )
                    .expression_attribute_values(":ps", n(since)),
                // Written before counts carried their step.
                None => update.condition_expression(
                    "failures = :f AND locked_until = :l AND attribute_not_exists(since_step)",
                ),
            }
        };
        let mut set =
            "SET failures = :nf, locked_until = :nl, since_step = :ns, #ttl = :ttl".to_owned();
        let mut remove = vec![];
        match challenges {
            Some(map) => {
                set.push_str(", challenges = :ch");
                update = update.expression_attribute_values(":ch", map);
            }
            None => remove.push("challenges"),
        }
        update = with_listing(update, site, next, now, &mut set, &mut remove);
        match update
            .update_expression(expression(set, &remove))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("count attempt")(e)),
        }
    }

    /// An administrator's unlock of code entry: the count, and any lock, end.
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

    /// An administrator's unlock of a name's passwords: its count and lock end; each address's
    /// back-off stays (it only ever slows the address that earned it). The version moves on, so a
    /// reservation computed before the unlock is computed again.
    pub async fn unlock_name(&self, site: &LockSite<'_>) -> Result<()> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(site.key()))
            .update_expression(
                "SET failures = :z, locked_until = :z ADD version :one REMOVE gsi1pk, gsi1sk",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":z", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable("unlock passwords")(e)),
        }
    }
}

/// While an account's lock runs it is listed (readiness, the admin page) through the sparse index:
/// adds the index keys to the update (`set`), or their removal (`remove`).
fn with_listing(
    update: UpdateItemFluentBuilder,
    site: &LockSite<'_>,
    state: &SoftLock,
    now: u64,
    set: &mut String,
    remove: &mut Vec<&'static str>,
) -> UpdateItemFluentBuilder {
    match site.listed_as() {
        Some(username) if state.is_locked(now) => {
            set.push_str(", gsi1pk = :idx, gsi1sk = :user");
            update
                .expression_attribute_values(":idx", s(LOCKED_INDEX))
                .expression_attribute_values(":user", s(username))
        }
        Some(_) => {
            remove.extend(["gsi1pk", "gsi1sk"]);
            update
        }
        None => update,
    }
}

/// `SET ...` and `REMOVE ...` as one update expression.
fn expression(set: String, remove: &[&str]) -> String {
    if remove.is_empty() {
        set
    } else {
        format!("{set} REMOVE {}", remove.join(", "))
    }
}

/// In a factor's transaction: ends the account's code count as it stands (`current`), keeping the
/// per-challenge counts, for a factor that moves no step on (a recovery code). Conditioned on the
/// count being `current`: a wrong code counted meanwhile makes the transaction fail, and the
/// factor is checked again against the count with it. None when there is no count to end.
pub(crate) fn end_code_count(
    table: &str,
    username: &str,
    current: &StoredCodeCount,
) -> Result<Option<aws_sdk_dynamodb::types::TransactWriteItem>> {
    if current.stored == SoftLock::default() {
        return Ok(None);
    }
    let site = LockSite::CodeEntry { username };
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .set_key(Some(site.key()))
        .update_expression("REMOVE failures, locked_until, since_step, gsi1pk, gsi1sk")
        .expression_attribute_values(":f", n(current.stored.failures))
        .expression_attribute_values(":l", n(current.stored.locked_until));
    let update = match current.since_step {
        Some(since) => update
            .condition_expression("failures = :f AND locked_until = :l AND since_step = :ps")
            .expression_attribute_values(":ps", n(since)),
        None => update.condition_expression(
            "failures = :f AND locked_until = :l AND attribute_not_exists(since_step)",
        ),
    }
    .build()
    .map_err(super::schema::build_err)?;
    Ok(Some(
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(update)
            .build(),
    ))
}
