//! The account partition `ACCOUNT#<username>`: the profile, the MFA enrolment, the per-account
//! code lock and the setup-mail counter. One consistent Query reads all of them.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{
    self, CODE_LOCK, ENROLMENT_INDEX, LOCKED_INDEX, MFA, OTHER_INDEX, PASSWORD_LOCK, PROFILE,
    STAFF_INDEX, account_pk,
};
use super::locks::parse_code_count;
use super::{Item, Store, get_b, get_n, get_s, key, n, s, unavailable};
use crate::account::{
    Account, AccountRecord, CodeCount, Enrolment, EnrolmentStatus, NewAccount, StaffDirectory,
    StaffSummary,
};
use crate::error::{Error, Result};
use crate::policy::AccountKind;

/// Which index partition lists a profile: staff apart, for readiness.
fn index_of(kind: AccountKind) -> &'static str {
    if kind.is_staff() {
        STAFF_INDEX
    } else {
        OTHER_INDEX
    }
}

/// A new account's profile item (staff are listed in the sparse index). Its session epoch starts
/// at random: a session of an earlier, deleted account of the same name (sessions live on until
/// they expire) must not match the new account's epoch.
fn profile_item(new: &NewAccount<'_>) -> Result<Item> {
    let mut item = keys::account(new.username, PROFILE);
    item.insert("username".into(), s(new.username));
    item.insert("kind".into(), s(new.kind.as_str()));
    item.insert("created_at".into(), n(new.created_at));
    let epoch = u32::from_le_bytes(crate::token::random_bytes::<4>()?);
    item.insert("session_epoch".into(), n(u64::from(epoch)));
    item.insert("sub".into(), s(crate::account::new_subject()?));
    item.insert("gsi1pk".into(), s(index_of(new.kind)));
    item.insert("gsi1sk".into(), s(new.username));
    for (name, value) in [
        ("name_email", new.name_email),
        ("address_email", new.address_email),
        ("password_hash", new.password_hash),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            item.insert(name.into(), s(v));
        }
    }
    Ok(item)
}

pub(crate) fn parse_profile(item: &Item) -> Result<Account> {
    let corrupt = |what: &str| Error::Internal(format!("account item: {what}"));
    Ok(Account {
        username: get_s(item, "username")
            .ok_or_else(|| corrupt("username"))?
            .to_owned(),
        kind: get_s(item, "kind")
            .and_then(AccountKind::parse)
            .ok_or_else(|| corrupt("kind"))?,
        name_email: get_s(item, "name_email").map(str::to_owned),
        address_email: get_s(item, "address_email").map(str::to_owned),
        password_hash: get_s(item, "password_hash").map(str::to_owned),
        session_epoch: get_n(item, "session_epoch").unwrap_or(0),
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        subject: get_s(item, "sub").map(str::to_owned),
        passkeys: super::passkeys::passkey_count(item),
    })
}

pub(crate) fn parse_enrolment(item: &Item) -> Result<Enrolment> {
    let corrupt = |what: &str| Error::Internal(format!("enrolment item: {what}"));
    Ok(Enrolment {
        status: match get_s(item, "status") {
            Some("pending") => EnrolmentStatus::Pending,
            Some("active") => EnrolmentStatus::Active,
            _ => return Err(corrupt("status")),
        },
        enrolment_id: get_s(item, "enrolment_id")
            .ok_or_else(|| corrupt("enrolment_id"))?
            .to_owned(),
        sealed_secret: get_b(item, "secret")
            .ok_or_else(|| corrupt("secret"))?
            .to_vec(),
        last_step: get_n(item, "last_step"),
        created_at: get_n(item, "created_at").unwrap_or(0),
        used_challenges: super::challenges::parse_used(item),
        recovery_uses: get_n(item, "recovery_uses").unwrap_or(0),
        passkey_uses: get_n(item, "passkey_uses").unwrap_or(0),
        asked_in_epoch: get_n(item, "asked_in_epoch"),
        key_shown: item
            .get("key_shown")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Store {
    /// The account's enrolment, if any.
    pub async fn get_enrolment(&self, username: &str) -> Result<Option<Enrolment>> {
        let item = self
            .get(keys::account(username, MFA), "get enrolment")
            .await?;
        item.as_ref().map(parse_enrolment).transpose()
    }

    /// The profile and everything else in the account's partition, read consistently in one call.
    pub async fn load_account(&self, username: &str) -> Result<Option<AccountRecord>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(account_pk(username)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("query account"))?;
        let mut account = None;
        let mut enrolment = None;
        let mut code_count = CodeCount::default();
        let mut challenge_failures = Default::default();
        let mut recovery = None;
        let mut replacement = None;
        let mut passkeys = crate::passkey::PasskeyItems::default();
        for item in out.items() {
            let sk = get_s(item, "sk").unwrap_or_default();
            if super::passkeys::take(&mut passkeys, sk, item)? {
                continue;
            }
            match get_s(item, "sk") {
                Some(PROFILE) => account = Some(parse_profile(item)?),
                Some(MFA) => enrolment = Some(parse_enrolment(item)?),
                Some(CODE_LOCK) => {
                    code_count = parse_code_count(item);
                    challenge_failures = super::challenges::parse_failures(item);
                }
                Some(keys::RECOVERY) => recovery = Some(super::recovery::parse_recovery(item)),
                Some(keys::NEXT_APP) => replacement = Some(parse_enrolment(item)?),
                _ => {}
            }
        }
        Ok(account.map(|account| AccountRecord {
            account,
            enrolment,
            code_count,
            challenge_failures,
            recovery,
            replacement,
            passkeys,
        }))
    }

    /// Creates an account; false when the username is taken (nothing is overwritten).
    pub async fn create_account(&self, new: NewAccount<'_>) -> Result<bool> {
        let item = profile_item(&new)?;
        let put = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if super::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("put account")(e)),
        }
    }

    /// The subject of an account made before subjects were kept: set once, and the same for
    /// every racer (the first write wins, the others read it back).
    pub(crate) async fn give_subject(&self, username: &str) -> Result<String> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .update_expression("SET #sub = if_not_exists(#sub, :sub)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#sub", "sub")
            .expression_attribute_values(":sub", s(crate::account::new_subject()?))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable("give subject"))?;
        out.attributes()
            .and_then(|a| get_s(a, "sub"))
            .map(str::to_owned)
            .ok_or_else(|| Error::Internal("account item: sub".into()))
    }

    /// Replaces a password hash (rehash on sign-in after a parameter change).
    /// The same password hashed with today's parameters, in place of `old`: only while `old` is
    /// still the stored hash (a password changed meanwhile is never put back).
    pub async fn rehash_password(&self, username: &str, old: &str, phc: &str) -> Result<()> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .update_expression("SET password_hash = :h")
            .condition_expression("password_hash = :old")
            .expression_attribute_values(":h", s(phc))
            .expression_attribute_values(":old", s(old))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if super::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable("update password hash")(e)),
        }
    }
}

pub(crate) fn bytes(v: &[u8]) -> AttributeValue {
    AttributeValue::B(aws_smithy_types::Blob::new(v))
}

impl Store {
    /// All items of one partition of the sparse index, page by page.
    pub(crate) async fn index_partition(&self, partition: &str) -> Result<(Vec<Item>, f64)> {
        let mut items = vec![];
        let mut units = 0.0;
        let mut pages = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(super::schema::GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(partition))
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable("query staff index"))?;
            units += page
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            items.extend(page.items().iter().cloned());
        }
        Ok((items, units))
    }

    /// Every staff and sysadmin account with its enrolment state and code lock: three queries of
    /// the sparse index, so the cost grows with the number of staff, not with the table.
    pub async fn staff_accounts(&self) -> Result<StaffDirectory> {
        let ((profiles, a), (enrolments, b), (locks, c)) = tokio::try_join!(
            self.index_partition(STAFF_INDEX),
            self.index_partition(ENROLMENT_INDEX),
            self.index_partition(LOCKED_INDEX),
        )?;
        let by_user = |items: &[Item]| -> std::collections::HashMap<String, Item> {
            items
                .iter()
                .filter_map(|i| get_s(i, "gsi1sk").map(|u| (u.to_owned(), i.clone())))
                .collect()
        };
        let enrolments = by_user(&enrolments);
        let locks_of = |sk: &str| {
            let of_kind: Vec<Item> = locks
                .iter()
                .filter(|i| get_s(i, "sk") == Some(sk))
                .cloned()
                .collect();
            by_user(&of_kind)
        };
        let (code_locks, password_locks) = (locks_of(CODE_LOCK), locks_of(PASSWORD_LOCK));
        let mut staff = vec![];
        for item in &profiles {
            let account = parse_profile(item)?;
            let (enrolment, last_step, key_shown) = match enrolments.get(&account.username) {
                Some(e) => {
                    let e = parse_enrolment(e)?;
                    (Some(e.status), e.last_step, !e.key_shown.is_empty())
                }
                None => (None, None, false),
            };
            let until = |locks: &std::collections::HashMap<String, Item>| {
                locks
                    .get(&account.username)
                    .and_then(|l| get_n(l, "locked_until"))
            };
            // A code accepted since the count was written ended it (`CodeCount`).
            let code_locked_until = code_locks
                .get(&account.username)
                .map(|l| parse_code_count(l).in_effect(last_step).locked_until)
                .filter(|until| *until > 0);
            staff.push(StaffSummary {
                has_app: enrolment == Some(EnrolmentStatus::Active) || key_shown,
                code_locked_until,
                password_locked_until: until(&password_locks),
                account,
                enrolment,
            });
        }
        Ok(StaffDirectory {
            staff,
            read_units: a + b + c,
        })
    }
}

impl Store {
    /// Ends every session of the account (the epoch moves on). False when there is no account.
    pub async fn end_sessions(&self, username: &str) -> Result<bool> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .condition_expression("attribute_exists(pk)")
            .update_expression("ADD session_epoch :one")
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if super::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("end sessions")(e)),
        }
    }

    /// Disables or enables an account; disabling ends every session (the epoch moves on). False
    /// when there is no such account.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool> {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled));
        update = if disabled {
            update
                .update_expression("SET disabled = :d ADD session_epoch :one")
                .expression_attribute_values(":one", n(1))
        } else {
            update.update_expression("SET disabled = :d")
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if super::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("set disabled")(e)),
        }
    }

    /// Deletes an account. First it is disabled (from then on nothing signs in as it, and every
    /// session and token of it fails its epoch check), then its links, enrolment, locks and
    /// counters go, and the profile last: an outage part way leaves a disabled account whose
    /// deletion can simply be asked again, never an enrolment without its account, which a new
    /// account of the same name would inherit. False when there was no such account.
    pub async fn delete_account(&self, username: &str) -> Result<bool> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET disabled = :d ADD session_epoch :one")
            .expression_attribute_values(":d", AttributeValue::Bool(true))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let profile = match out {
            Ok(o) => o.attributes.unwrap_or_default(),
            Err(e) if super::is_condition_failure(&e) => return Ok(false),
            Err(e) => return Err(unavailable("delete account")(e)),
        };
        let links: Vec<String> = profile
            .get("links")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        for link in links {
            if let Some((pk, subject)) = link.split_once('\n') {
                // Only while the link is still this account's: one dropped with its provider and
                // made again for another account since is that account's.
                let out = self
                    .db
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, &keys::link_sk(subject))))
                    .condition_expression("username = :u")
                    .expression_attribute_values(":u", s(username))
                    .send()
                    .await;
                match out {
                    Ok(_) => {}
                    Err(e) if super::is_condition_failure(&e) => {}
                    Err(e) => return Err(unavailable("delete link")(e)),
                }
            }
        }
        let rest = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(account_pk(username)))
            .projection_expression("pk, sk")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("query account"))?;
        let sks = rest
            .items()
            .iter()
            .filter_map(|item| get_s(item, "sk"))
            .filter(|sk| *sk != PROFILE)
            .chain([PROFILE]);
        for sk in sks {
            if let Some(id) = sk.strip_prefix(super::passkeys::PASSKEY_PREFIX) {
                // The claim on the credential goes first: a passkey left without one is harmless
                // (its account is going), a claim left without its passkey would keep the
                // credential from ever being registered again.
                super::passkeys::drop_claim(self, username, id).await?;
            }
            self.db
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(keys::account(username, sk)))
                .send()
                .await
                .map_err(unavailable("delete account item"))?;
        }
        Ok(true)
    }
}

impl Store {
    /// The profiles of `usernames` that exist, 100 to a request (a bulk import's first look).
    pub async fn get_profiles(&self, usernames: &[String]) -> Result<Vec<Account>> {
        let keys: Vec<Item> = usernames
            .iter()
            .map(|u| keys::account(u, PROFILE))
            .collect();
        self.batch_get(keys, "batch get profiles")
            .await?
            .iter()
            .map(parse_profile)
            .collect()
    }

    /// Creates accounts 25 to a request. Each item is one whole account, so no row is ever half
    /// written; the caller has checked that none exists.
    pub async fn create_accounts(&self, new: &[NewAccount<'_>]) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in new.chunks(25) {
            let mut writes: Vec<WriteRequest> = chunk
                .iter()
                .map(|a| {
                    PutRequest::builder()
                        .set_item(Some(profile_item(a)?))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(super::schema::build_err)
                })
                .collect::<Result<_>>()?;
            while !writes.is_empty() {
                let out = self
                    .db
                    .batch_write_item()
                    .request_items(&self.table, writes)
                    .send()
                    .await
                    .map_err(unavailable("batch write accounts"))?;
                writes = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    /// Updates an account's kind and emails (an import; called only for a real change); the sparse
    /// index follows the kind, and the account's sessions and links end.
    pub async fn update_profile(
        &self,
        username: &str,
        kind: AccountKind,
        name_email: Option<&str>,
        address_email: Option<&str>,
    ) -> Result<()> {
        let mut sets = vec!["kind = :k"];
        let mut removes = vec![];
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":k", s(kind.as_str()));
        for (name, value, placeholder) in [
            ("name_email", name_email, ":ne"),
            ("address_email", address_email, ":ae"),
        ] {
            match value.filter(|v| !v.is_empty()) {
                Some(v) => {
                    sets.push(if name == "name_email" {
                        "name_email = :ne"
                    } else {
                        "address_email = :ae"
                    });
                    update = update.expression_attribute_values(placeholder, s(v));
                }
                None => removes.push(name),
            }
        }
        sets.push("gsi1pk = :idx, gsi1sk = :user");
        update = update
            .expression_attribute_values(":idx", s(index_of(kind)))
            .expression_attribute_values(":user", s(username));
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        // A new kind or address ends every session, refresh token and password link of the
        // account: they were granted to the account as it was.
        expression.push_str(" ADD session_epoch :one");
        update = update.expression_attribute_values(":one", n(1));
        update
            .update_expression(expression)
            .send()
            .await
            .map_err(unavailable("update profile"))?;
        Ok(())
    }
}

/// One account as the admin page's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AccountRow {
    pub username: String,
    pub kind: AccountKind,
    pub disabled: bool,
    /// `active`, `pending` or none.
    pub enrolment: Option<&'static str>,
    /// When password or code entry is locked, until when.
    pub locked_until: Option<u64>,
    /// How many passkeys the account holds.
    pub passkeys: usize,
}

/// Which accounts by enrolment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrolmentFilter {
    None,
    Pending,
    Active,
}

/// What the accounts list keeps: kinds, a username prefix, and optionally an enrolment state and
/// whether password or code entry is locked now.
#[derive(Clone, Debug)]
pub struct AccountFilter<'a> {
    pub kinds: &'a [AccountKind],
    pub prefix: &'a str,
    pub enrolment: Option<EnrolmentFilter>,
    pub locked: Option<bool>,
}

impl AccountFilter<'_> {
    fn keeps(&self, row: &AccountRow, now: u64) -> bool {
        let enrolment = match self.enrolment {
            None => true,
            Some(EnrolmentFilter::None) => row.enrolment.is_none(),
            Some(EnrolmentFilter::Pending) => row.enrolment == Some("pending"),
            Some(EnrolmentFilter::Active) => row.enrolment == Some("active"),
        };
        let locked = self
            .locked
            .is_none_or(|l| l == row.locked_until.is_some_and(|u| u > now));
        self.kinds.contains(&row.kind)
            && row.username.starts_with(self.prefix)
            && enrolment
            && locked
    }

    /// The index partitions whose sort keys are usernames and which hold every account kept: the
    /// smallest that will do.
    fn sources(&self) -> Vec<&'static str> {
        if self.locked == Some(true) {
            return vec![LOCKED_INDEX];
        }
        if matches!(
            self.enrolment,
            Some(EnrolmentFilter::Pending | EnrolmentFilter::Active)
        ) {
            return vec![ENROLMENT_INDEX];
        }
        let mut partitions: Vec<&str> = self.kinds.iter().map(|k| index_of(*k)).collect();
        partitions.sort_unstable();
        partitions.dedup();
        partitions
    }
}

/// An account's row from its items (profile, enrolment, password and code counts).
fn account_row(
    profile: &Item,
    mfa: Option<&Item>,
    password_lock: Option<&Item>,
    code_lock: Option<&Item>,
    now: u64,
) -> Result<AccountRow> {
    let a = parse_profile(profile)?;
    let enrolment = mfa.and_then(|m| match get_s(m, "status") {
        Some("active") => Some("active"),
        Some("pending") => Some("pending"),
        _ => None,
    });
    let last_step = mfa.and_then(|m| get_n(m, "last_step"));
    let code = code_lock.map(|l| parse_code_count(l).in_effect(last_step).locked_until);
    let password = password_lock.and_then(|l| get_n(l, "locked_until"));
    let locked_until = [code, password]
        .into_iter()
        .flatten()
        .filter(|until| *until > now)
        .max();
    Ok(AccountRow {
        username: a.username,
        kind: a.kind,
        disabled: a.disabled,
        enrolment,
        locked_until,
        passkeys: a.passkeys,
    })
}

impl Store {
    /// A page of accounts in username order after `after` that `filter` keeps, with their
    /// enrolment and locks. Index queries and batch reads only: never a scan. Each source
    /// partition is read page by page, each page's accounts read in full and filtered, until it
    /// has given `limit + 1` (so a next page is known to exist), ended, or passed the prefix: a
    /// page is short only at the end.
    pub async fn list_accounts(
        &self,
        filter: &AccountFilter<'_>,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> Result<(Vec<AccountRow>, Option<String>)> {
        let prefix = filter.prefix;
        let mut rows: Vec<AccountRow> = vec![];
        for partition in filter.sources() {
            let mut matched = 0;
            let mut start = None;
            let mut seen = std::collections::HashSet::new();
            loop {
                let page_size = (limit + 1).clamp(25, 100);
                let mut query = self
                    .db
                    .query()
                    .table_name(&self.table)
                    .index_name(super::schema::GSI1)
                    .expression_attribute_values(":p", s(partition))
                    .limit(i32::try_from(page_size).unwrap_or(100))
                    .set_exclusive_start_key(start.take());
                query = match after {
                    Some(a) => query
                        .key_condition_expression("gsi1pk = :p AND gsi1sk > :after")
                        .expression_attribute_values(":after", s(a)),
                    // A key condition may not test an empty string.
                    None if prefix.is_empty() => query.key_condition_expression("gsi1pk = :p"),
                    None => query
                        .key_condition_expression("gsi1pk = :p AND begins_with(gsi1sk, :prefix)")
                        .expression_attribute_values(":prefix", s(prefix)),
                };
                let out = query.send().await.map_err(unavailable("query accounts"))?;
                let mut past_prefix = false;
                let mut names = vec![];
                for item in out.items() {
                    let Some(name) = get_s(item, "gsi1sk") else {
                        continue;
                    };
                    if !name.starts_with(prefix) && name > prefix {
                        past_prefix = true;
                        break;
                    }
                    // The locked index lists an account once per lock.
                    if name.starts_with(prefix) && seen.insert(name.to_owned()) {
                        names.push(name.to_owned());
                    }
                }
                for row in self.account_rows(&names, now).await? {
                    if matched <= limit && filter.keeps(&row, now) {
                        rows.push(row);
                        matched += 1;
                    }
                }
                start = out.last_evaluated_key().cloned();
                if matched > limit || past_prefix || start.is_none() {
                    break;
                }
            }
        }
        rows.sort_by(|a, b| a.username.cmp(&b.username));
        rows.dedup_by(|a, b| a.username == b.username);
        let next = (rows.len() > limit).then(|| rows[limit - 1].username.clone());
        rows.truncate(limit);
        Ok((rows, next))
    }

    /// The rows of `usernames` (those that are accounts), in the order given.
    async fn account_rows(&self, usernames: &[String], now: u64) -> Result<Vec<AccountRow>> {
        let found = self
            .state_of(usernames, &[PROFILE, MFA, PASSWORD_LOCK, CODE_LOCK])
            .await?;
        let mut rows = vec![];
        for u in usernames {
            let get = |sk: &str| found.get(&(account_pk(u), sk.to_owned()));
            if let Some(profile) = get(PROFILE) {
                rows.push(account_row(
                    profile,
                    get(MFA),
                    get(PASSWORD_LOCK),
                    get(CODE_LOCK),
                    now,
                )?);
            }
        }
        Ok(rows)
    }
}
