//! What the console's overview reads without walking every staff account: the last count of the
//! rollout (`ROLLOUT` / `TALLY`, one item), the accounts locked now (the sparse `LOCKED` index,
//! which lists only locked accounts), and the people without an app a page at a time.

use super::accounts::{parse_enrolment, parse_profile};
use super::keys::{self, CAMPAIGN_MAIL, CODE_LOCK, LOCKED_INDEX, MFA, PASSWORD_LOCK, PROFILE};
use super::locks::parse_code_count;
use super::rollout::{Mark, parse_mark};
use super::{Item, Store, get_n, get_s, key, s, unavailable};
use crate::account::{Account, Enrolment};
use crate::error::{Error, Result};

const TALLY_PK: &str = "ROLLOUT";
/// Accounts a page of the people without an app reads at most.
pub const SCAN_PER_PAGE: usize = 500;
const TALLY_SK: &str = "TALLY";

/// An account without an app, as the rollout's list shows it.
pub struct WithoutApp {
    pub account: Account,
    /// A pending enrolment (a setup mail whose page was not opened).
    pub enrolment: Option<Enrolment>,
    pub mark: Option<Mark>,
}

/// Staff and system administrators locked out now: (username, until), code entry and password.
#[derive(Default)]
pub struct LockedNow {
    pub code: Vec<(String, u64)>,
    pub password: Vec<(String, u64)>,
}

impl Store {
    /// The last count, as JSON (`flows::tally` gives it its shape).
    pub async fn get_tally(&self) -> Result<Option<String>> {
        let item = self.get(key(TALLY_PK, TALLY_SK), "get tally").await?;
        Ok(item.and_then(|i| get_s(&i, "tally").map(str::to_owned)))
    }

    /// Keeps a count, unless one counted later is already kept (two counts at once: the later
    /// one's figures stay).
    pub async fn put_tally(&self, counted_at: u64, json: &str) -> Result<()> {
        let out = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some({
                let mut item = key(TALLY_PK, TALLY_SK);
                item.insert("tally".into(), s(json));
                item.insert("counted_at".into(), super::n(counted_at));
                item
            }))
            .condition_expression("attribute_not_exists(counted_at) OR counted_at <= :at")
            .expression_attribute_values(":at", super::n(counted_at))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if super::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable("put tally")(e)),
        }
    }

    /// Staff and system administrators whose code or password entry is locked at `now`: the
    /// locked index, and the profiles and enrolments of the few it names.
    pub async fn staff_locked_now(&self, now: u64) -> Result<LockedNow> {
        let (locks, _) = self.index_partition(LOCKED_INDEX).await?;
        let mut names: Vec<String> = locks
            .iter()
            .filter_map(|i| get_s(i, "gsi1sk").map(str::to_owned))
            .collect();
        names.sort_unstable();
        names.dedup();
        let found = self.state_of(&names, &[PROFILE, MFA]).await?;
        let mut out = LockedNow::default();
        for lock in &locks {
            let Some(user) = get_s(lock, "gsi1sk") else {
                continue;
            };
            let get = |sk: &str| found.get(&(keys::account_pk(user), sk.to_owned()));
            let Some(profile) = get(PROFILE) else {
                continue;
            };
            if !parse_profile(profile)?.kind.is_staff() {
                continue;
            }
            match get_s(lock, "sk") {
                Some(CODE_LOCK) => {
                    // A code accepted since the count was written ended it.
                    let last_step = get(MFA).and_then(|m| get_n(m, "last_step"));
                    let until = parse_code_count(lock).in_effect(last_step).locked_until;
                    if until > now {
                        out.code.push((user.to_owned(), until));
                    }
                }
                Some(PASSWORD_LOCK) => {
                    if let Some(until) = get_n(lock, "locked_until").filter(|u| *u > now) {
                        out.password.push((user.to_owned(), until));
                    }
                }
                _ => {}
            }
        }
        out.code.sort();
        out.password.sort();
        Ok(out)
    }

    /// Staff and system administrators who can sign in and have no app, in username order after
    /// `after`: up to `limit`, and where the next page starts (None: no more). The staff index is
    /// read a page at a time (its rows are the profiles: the index projects every attribute), with
    /// each page's enrolments and campaign marks, until `limit` are found and one more is seen, or
    /// `SCAN_PER_PAGE` accounts were read: late in a rollout, when few have no app, a page may then
    /// hold fewer than `limit`, and the next starts where this one stopped reading.
    pub async fn without_app_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<WithoutApp>, Option<String>)> {
        let mut rows: Vec<WithoutApp> = vec![];
        let mut start = None;
        let mut scanned = 0;
        loop {
            let mut query = self
                .db
                .query()
                .table_name(&self.table)
                .index_name(super::schema::GSI1)
                .expression_attribute_values(":p", s(keys::STAFF_INDEX))
                .limit(100)
                .set_exclusive_start_key(start.take());
            query = match after {
                Some(a) => query
                    .key_condition_expression("gsi1pk = :p AND gsi1sk > :after")
                    .expression_attribute_values(":after", s(a)),
                None => query.key_condition_expression("gsi1pk = :p"),
            };
            let out = query
                .send()
                .await
                .map_err(unavailable("query staff index"))?;
            let profiles = out
                .items()
                .iter()
                .map(parse_profile)
                .collect::<Result<Vec<_>>>()?;
            let names: Vec<String> = profiles.iter().map(|p| p.username.clone()).collect();
            let found = self.state_of(&names, &[MFA, CAMPAIGN_MAIL]).await?;
            for account in profiles {
                let get =
                    |sk: &str| found.get(&(keys::account_pk(&account.username), sk.to_owned()));
                let enrolment = get(MFA).map(parse_enrolment).transpose()?;
                let mark = get(CAMPAIGN_MAIL).map(parse_mark);
                scanned += 1;
                // The index follows a change of kind a moment late: the profile says.
                let listed = account.kind.is_staff()
                    && !account.disabled
                    && !enrolment.as_ref().is_some_and(Enrolment::is_app);
                if listed && rows.len() == limit {
                    let next = rows.last().map(|r| r.account.username.clone());
                    return Ok((rows, next));
                }
                if listed {
                    rows.push(WithoutApp {
                        account,
                        enrolment,
                        mark,
                    });
                } else if scanned >= SCAN_PER_PAGE {
                    return Ok((rows, Some(account.username)));
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok((rows, None));
            }
        }
    }

    /// The items `sks` of each account in `usernames`, by (pk, sk).
    pub(crate) async fn state_of(
        &self,
        usernames: &[String],
        sks: &[&str],
    ) -> Result<std::collections::HashMap<(String, String), Item>> {
        let keys = usernames
            .iter()
            .flat_map(|u| sks.iter().map(move |sk| keys::account(u, sk)))
            .collect();
        let mut found = std::collections::HashMap::new();
        for item in self.batch_get(keys, "batch get account state").await? {
            let (Some(pk), Some(sk)) = (get_s(&item, "pk"), get_s(&item, "sk")) else {
                return Err(Error::Internal("account item without a key".into()));
            };
            found.insert((pk.to_owned(), sk.to_owned()), item.clone());
        }
        Ok(found)
    }
}
