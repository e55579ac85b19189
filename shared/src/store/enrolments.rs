//! MFA enrolments and their setup links. A pending enrolment holds a sealed secret until the
//! first accepted code activates it; a setup link shows that secret, and dies with activation,
//! replacement or expiry.

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::accounts::bytes;
use super::keys::{
    self, CODE_LOCK, ENROLMENT_INDEX, MFA, NEXT_APP, PROFILE, RECOVERY, SETUP_MAIL, account_pk,
};
use super::schema::build_err;
use super::{Item, Store, cancelled_conditions, get_n, get_s, key, n, s, unavailable};
use crate::account::Enrolment;
use crate::error::{Error, Result};
use crate::limits::{SETUP_KEY_REVEALS, SETUP_MAIL_WINDOW_SECS, SETUP_MAILS_PER_HOUR, Window};

pub struct PendingEnrolment<'a> {
    pub username: &'a str,
    pub enrolment_id: &'a str,
    pub sealed_secret: &'a [u8],
    pub link_hash: &'a str,
    pub now: u64,
    pub link_expires_at: u64,
    /// Whether it may replace a pending enrolment whose key the setup page has shown (the
    /// person asked for a new mail themselves), or only one nobody opened (the campaign).
    pub replaces_shown: bool,
    /// A new app for an account with an active one: kept beside it (`MFA_NEXT`) until a code from
    /// the new app confirms it; the active one works until then.
    pub replacing: Option<Replacing<'a>>,
}

/// What a new app is asked beside: the active app, and the session epoch of the asking session.
#[derive(Clone, Copy, Debug)]
pub struct Replacing<'a> {
    pub active_id: &'a str,
    pub epoch: u64,
}

/// What confirming a new app (`confirm_new_app`) writes, and what it is conditioned on.
pub struct Confirmation<'a> {
    pub username: &'a str,
    pub link_hash: &'a str,
    /// The new app, as read.
    pub next: &'a Enrolment,
    /// The active app it replaces.
    pub active_id: &'a str,
    /// The session epoch the new app was asked in (the account's still, as read).
    pub epoch: u64,
    /// The time step of the code that confirmed it.
    pub step: u64,
    /// The account's recovery set as read.
    pub recovery: RecoverySet<'a>,
    /// The account's code count as the confirming code's reservation wrote it: ended here.
    pub count: &'a crate::account::CodeCount,
    pub now: u64,
}

/// The account's recovery codes, as a confirmation read them.
#[derive(Clone, Copy, Debug)]
pub enum RecoverySet<'a> {
    /// None: none may be made meanwhile (it would stand in for the old app).
    None,
    /// The set made beside the active app (its id): it moves to the new app.
    OfTheActiveApp(&'a str),
    /// A set made beside an earlier app (its id), dead: it stays dead, and unchanged.
    Dead(&'a str),
}

/// How a confirmation's write went.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    Done,
    /// The link was used, or ran out, meanwhile.
    LinkGone,
    /// Something else it was conditioned on changed (the apps, the epoch, the recovery set, the
    /// code count): checking again may succeed.
    Changed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLink {
    pub username: String,
    pub enrolment_id: String,
    pub expires_at: u64,
    /// The link is for a new app replacing the active one (`MFA_NEXT`).
    pub replacing: bool,
}

/// Where a pending enrolment lives: the account's first app, or a new one beside the active one.
fn slot(replacing: bool) -> &'static str {
    if replacing { NEXT_APP } else { MFA }
}

impl Store {
    /// Stores a new pending enrolment (replacing any earlier pending one, whose link then stops
    /// working) and its setup link, in one transaction. Refused if an enrolment is active.
    pub async fn put_pending_enrolment(&self, p: &PendingEnrolment<'_>) -> Result<()> {
        let mut mfa = keys::account(p.username, slot(p.replacing.is_some()));
        mfa.insert("status".into(), s("pending"));
        mfa.insert("enrolment_id".into(), s(p.enrolment_id));
        mfa.insert("secret".into(), bytes(p.sealed_secret));
        mfa.insert("created_at".into(), n(p.now));
        match p.replacing {
            // Not listed as an enrolment (the active one is), and gone with its link.
            Some(r) => {
                mfa.insert("ttl".into(), n(p.link_expires_at));
                mfa.insert("asked_in_epoch".into(), n(r.epoch));
            }
            None => {
                mfa.insert("gsi1pk".into(), s(ENROLMENT_INDEX));
                mfa.insert("gsi1sk".into(), s(p.username));
            }
        }
        let enrolment = Put::builder()
            .table_name(&self.table)
            .set_item(Some(mfa))
            .condition_expression(if p.replaces_shown || p.replacing.is_some() {
                "attribute_not_exists(pk) OR #status = :pending"
            } else {
                "attribute_not_exists(pk) OR (#status = :pending AND attribute_not_exists(key_shown))"
            })
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .build()
            .map_err(build_err)?;
        let mut link = keys::setup_link(p.link_hash);
        link.insert("username".into(), s(p.username));
        link.insert("enrolment_id".into(), s(p.enrolment_id));
        link.insert("expires_at".into(), n(p.link_expires_at));
        link.insert("ttl".into(), n(p.link_expires_at));
        if p.replacing.is_some() {
            link.insert("slot".into(), s(NEXT_APP));
        }
        let link = Put::builder()
            .table_name(&self.table)
            .set_item(Some(link))
            .build()
            .map_err(build_err)?;
        let mut tx = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(enrolment).build())
            .transact_items(TransactWriteItem::builder().put(link).build());
        if let Some(r) = p.replacing {
            // Only beside the active app it was asked with, and while the asking session's epoch
            // holds: a reset, a new password or a sign-out everywhere meanwhile refuses it.
            let app = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(keys::account(p.username, MFA)))
                .condition_expression("enrolment_id = :eid AND #status = :active")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":eid", s(r.active_id))
                .expression_attribute_values(":active", s("active"))
                .build()
                .map_err(build_err)?;
            let epoch = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(keys::account(p.username, PROFILE)))
                .condition_expression("session_epoch = :epoch")
                .expression_attribute_values(":epoch", n(r.epoch))
                .build()
                .map_err(build_err)?;
            tx = tx
                .transact_items(TransactWriteItem::builder().condition_check(app).build())
                .transact_items(TransactWriteItem::builder().condition_check(epoch).build());
        }
        match tx.send().await {
            Ok(_) => Ok(()),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.first() == Some(&true)) => {
                Err(Error::AlreadyEnrolled)
            }
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().skip(2).any(|x| *x)) => {
                Err(Error::Conflict(
                    "Your account changed meanwhile: reload the page.".into(),
                ))
            }
            Err(e) => Err(unavailable("put pending enrolment")(e)),
        }
    }

    /// Undoes `put_pending_enrolment` when the mail could not be sent: the unsent link goes, and
    /// the enrolment is what it was before (the earlier pending one, whose app setup and link keep
    /// working, or none), so a failed send leaves nothing usable and takes nothing away.
    pub async fn withdraw_pending_enrolment(
        &self,
        username: &str,
        enrolment_id: &str,
        link_hash: &str,
        previous: Option<&Enrolment>,
        replacing: bool,
    ) -> Result<()> {
        let link = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::setup_link(link_hash)))
            .build()
            .map_err(build_err)?;
        let only_ours = "enrolment_id = :eid AND #status = :pending";
        let enrolment = match previous {
            Some(before) => {
                let mut item = keys::account(username, slot(replacing));
                item.insert("status".into(), s("pending"));
                item.insert("enrolment_id".into(), s(&before.enrolment_id));
                item.insert("secret".into(), bytes(&before.sealed_secret));
                item.insert("created_at".into(), n(before.created_at));
                if !before.key_shown.is_empty() {
                    item.insert(
                        "key_shown".into(),
                        AttributeValue::L(before.key_shown.iter().map(|t| n(*t)).collect()),
                    );
                }
                if replacing {
                    if let Some(epoch) = before.asked_in_epoch {
                        item.insert("asked_in_epoch".into(), n(epoch));
                    }
                    // Its link, made with it, lived this long.
                    item.insert(
                        "ttl".into(),
                        n(before.created_at + crate::limits::SETUP_LINK_SECS),
                    );
                } else {
                    item.insert("gsi1pk".into(), s(ENROLMENT_INDEX));
                    item.insert("gsi1sk".into(), s(username));
                }
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(only_ours)
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":eid", s(enrolment_id))
                    .expression_attribute_values(":pending", s("pending"))
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().put(put).build()
            }
            None => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::account(username, slot(replacing))))
                    .condition_expression(only_ours)
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":eid", s(enrolment_id))
                    .expression_attribute_values(":pending", s("pending"))
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().delete(delete).build()
            }
        };
        self.db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(link).build())
            .transact_items(enrolment)
            .send()
            .await
            .map_err(unavailable("withdraw pending enrolment"))?;
        Ok(())
    }

    /// A code from a new app confirmed it: in one transaction, the link goes, the new app takes
    /// the active one's place (its step the code's), the account's recovery codes move to it, and
    /// every session ends, and the code count ends; each on the condition that it is still as read
    /// (the link live, the new app and the active one those it was checked against, the account in
    /// the epoch the new app was asked in and not disabled, the recovery set and the count those
    /// read).
    pub async fn confirm_new_app(&self, c: &Confirmation<'_>) -> Result<Confirmed> {
        let link = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::setup_link(c.link_hash)))
            .condition_expression("expires_at > :now AND enrolment_id = :eid")
            .expression_attribute_values(":now", n(c.now))
            .expression_attribute_values(":eid", s(&c.next.enrolment_id))
            .build()
            .map_err(build_err)?;
        let next = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(c.username, NEXT_APP)))
            .condition_expression("enrolment_id = :eid")
            .expression_attribute_values(":eid", s(&c.next.enrolment_id))
            .build()
            .map_err(build_err)?;
        let mut mfa = keys::account(c.username, MFA);
        mfa.insert("status".into(), s("active"));
        mfa.insert("enrolment_id".into(), s(&c.next.enrolment_id));
        mfa.insert("secret".into(), bytes(&c.next.sealed_secret));
        mfa.insert("created_at".into(), n(c.next.created_at));
        mfa.insert("last_step".into(), n(c.step));
        mfa.insert("gsi1pk".into(), s(ENROLMENT_INDEX));
        mfa.insert("gsi1sk".into(), s(c.username));
        let active = Put::builder()
            .table_name(&self.table)
            .set_item(Some(mfa))
            .condition_expression("enrolment_id = :old AND #status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":old", s(c.active_id))
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(build_err)?;
        let end_sessions = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(c.username, PROFILE)))
            .update_expression("ADD session_epoch :one")
            .condition_expression(
                "session_epoch = :epoch AND (attribute_not_exists(disabled) OR disabled = :no)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":epoch", n(c.epoch))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .map_err(build_err)?;
        let mut tx = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(link).build())
            .transact_items(TransactWriteItem::builder().delete(next).build())
            .transact_items(TransactWriteItem::builder().put(active).build())
            .transact_items(TransactWriteItem::builder().update(end_sessions).build());
        let recovery = keys::account(c.username, RECOVERY);
        let item = match c.recovery {
            RecoverySet::OfTheActiveApp(set_id) => {
                // The codes stand in for whichever app is active: the printed sheet outlives a
                // phone.
                let moved = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(recovery))
                    .update_expression("SET enrolment_id = :eid")
                    .condition_expression("set_id = :sid AND enrolment_id = :old")
                    .expression_attribute_values(":eid", s(&c.next.enrolment_id))
                    .expression_attribute_values(":sid", s(set_id))
                    .expression_attribute_values(":old", s(c.active_id))
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().update(moved).build()
            }
            RecoverySet::Dead(set_id) => TransactWriteItem::builder()
                .condition_check(
                    aws_sdk_dynamodb::types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(recovery))
                        .condition_expression("set_id = :sid")
                        .expression_attribute_values(":sid", s(set_id))
                        .build()
                        .map_err(build_err)?,
                )
                .build(),
            RecoverySet::None => TransactWriteItem::builder()
                .condition_check(
                    aws_sdk_dynamodb::types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(recovery))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(build_err)?,
                )
                .build(),
        };
        tx = tx.transact_items(item);
        // The confirming code ends the account's code count, as an accepted code does.
        if let Some(end) = super::locks::end_code_count(&self.table, c.username, c.count)? {
            tx = tx.transact_items(end);
        }
        match tx.send().await {
            Ok(_) => Ok(Confirmed::Done),
            Err(e) => match cancelled_conditions(&e) {
                Some(f) if f.first() == Some(&true) => Ok(Confirmed::LinkGone),
                Some(f) if f.iter().any(|x| *x) => Ok(Confirmed::Changed),
                _ => Err(unavailable("confirm new app")(e)),
            },
        }
    }

    /// Gives back a setup-mail slot taken for a mail that could not be sent.
    pub async fn refund_setup_mail_slot(&self, username: &str) -> Result<()> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, SETUP_MAIL)))
            .update_expression("ADD sent :minus_one")
            .condition_expression("sent > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if super::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable("refund setup mail")(e)),
        }
    }

    /// A setup link that exists and has not expired.
    pub async fn get_setup_link(&self, link_hash: &str, now: u64) -> Result<Option<SetupLink>> {
        let item = self
            .get(keys::setup_link(link_hash), "get setup link")
            .await?;
        Ok(item.as_ref().and_then(|item| {
            let link = SetupLink {
                username: get_s(item, "username")?.to_owned(),
                enrolment_id: get_s(item, "enrolment_id")?.to_owned(),
                expires_at: get_n(item, "expires_at")?,
                replacing: get_s(item, "slot") == Some(NEXT_APP),
            };
            (link.expires_at > now).then_some(link)
        }))
    }

    /// Counts one showing of the key behind a setup link, and records when it was shown on the
    /// pending enrolment, in one transaction. False when the link has been used up, has expired,
    /// or no longer belongs to the pending enrolment.
    pub async fn record_key_reveal(
        &self,
        link_hash: &str,
        username: &str,
        enrolment_id: &str,
        replacing: bool,
        now: u64,
    ) -> Result<bool> {
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::setup_link(link_hash)))
            .update_expression("ADD reveals :one")
            .condition_expression(
                "attribute_exists(pk) AND expires_at > :now AND (attribute_not_exists(reveals) OR reveals < :max)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(SETUP_KEY_REVEALS))
            .build()
            .map_err(build_err)?;
        let note = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, slot(replacing))))
            .update_expression("SET key_shown = list_append(if_not_exists(key_shown, :empty), :at)")
            .condition_expression("enrolment_id = :eid AND #status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":at", AttributeValue::L(vec![n(now)]))
            .expression_attribute_values(":eid", s(enrolment_id))
            .expression_attribute_values(":pending", s("pending"))
            .build()
            .map_err(build_err)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(count).build())
            .transact_items(TransactWriteItem::builder().update(note).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().any(|x| *x)) => Ok(false),
            Err(e) => Err(unavailable("record key reveal")(e)),
        }
    }

    /// Takes one of the account's setup emails for this hour; Err(seconds to wait) when none is left.
    pub async fn take_setup_mail_slot(&self, username: &str, now: u64) -> Result<Result<(), u64>> {
        self.take_mail_slot(username, SETUP_MAIL, now).await
    }

    /// Takes one of the account's mails of a kind (`sk`: its counter) for this hour.
    pub async fn take_mail_slot(
        &self,
        username: &str,
        counter: &str,
        now: u64,
    ) -> Result<Result<(), u64>> {
        let window = Window {
            max: SETUP_MAILS_PER_HOUR,
            secs: SETUP_MAIL_WINDOW_SECS,
        };
        self.take_slot(keys::account(username, counter), window, now)
            .await
    }

    /// Takes one of a source address's requests of a kind (`counter`) in its window; the item is
    /// keyed by the address's keyed hash and expires with its window.
    pub async fn take_address_slot(
        &self,
        address_hash: &str,
        counter: &str,
        window: Window,
        now: u64,
    ) -> Result<Result<(), u64>> {
        self.take_slot(keys::throttle_window(address_hash, counter), window, now)
            .await
    }

    /// Takes one of `window.max` slots in the window that started at the item's `window_start`,
    /// or starts a new window when that one has ended: conditional writes, no read, so racing
    /// instances never hand out more slots than the window has. A request that loses the race to
    /// open a window tries again in the window the winner opened (else the losers of that race
    /// would be refused while the window still had room). Err: seconds to wait.
    async fn take_slot(&self, at: Item, window: Window, now: u64) -> Result<Result<(), u64>> {
        let floor = now.saturating_sub(window.secs);
        let mut wait = 1;
        for _ in 0..3 {
            let within = self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(at.clone()))
                .update_expression("ADD sent :one")
                .condition_expression("window_start > :floor AND sent < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":floor", n(floor))
                .expression_attribute_values(":max", n(window.max))
                .send()
                .await;
            match within {
                Ok(_) => return Ok(Ok(())),
                Err(e) if super::is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable("count in window")(e)),
            }
            let fresh = self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(at.clone()))
                .update_expression("SET sent = :one, window_start = :now, #ttl = :end")
                .condition_expression("attribute_not_exists(pk) OR window_start <= :floor")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":end", n(now + window.secs))
                .expression_attribute_values(":floor", n(floor))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let current = match fresh {
                Ok(_) => return Ok(Ok(())),
                Err(e) if super::is_condition_failure(&e) => e
                    .as_service_error()
                    .and_then(|se| match se {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
                        _ => None,
                    }),
                Err(e) => return Err(unavailable("open window")(e)),
            };
            let start = current
                .as_ref()
                .and_then(|item| get_n(item, "window_start"))
                .unwrap_or(now);
            let sent = current
                .as_ref()
                .and_then(|item| get_n(item, "sent"))
                .unwrap_or(window.max);
            wait = (start + window.secs).saturating_sub(now).max(1);
            // A full window: wait for its end. Room left (another request opened it just now):
            // take a slot in it.
            if sent >= window.max {
                return Ok(Err(wait));
            }
        }
        Ok(Err(wait))
    }

    /// An administrator's reset: the enrolment (active or pending), the code lock, the mail
    /// counter, the recovery codes and the passkeys go, and every session of the account ends.
    /// False when there is no such account.
    pub async fn reset_mfa(&self, username: &str) -> Result<bool> {
        // The passkeys are read first and removed conditioned on the count as read: one
        // registered or removed meanwhile fails the write, and the reset reads them again.
        for _ in 0..4 {
            let passkeys = self.passkey_ids(username).await?;
            match self.reset_mfa_once(username, &passkeys).await? {
                Some(done) => return Ok(done),
                None => continue,
            }
        }
        Err(Error::Conflict(
            "The account's passkeys kept changing during the reset. Try again.".into(),
        ))
    }

    /// One try at the reset with `passkeys` as read: None when they changed meanwhile.
    async fn reset_mfa_once(&self, username: &str, passkeys: &[String]) -> Result<Option<bool>> {
        let pk = account_pk(username);
        let mut items = Vec::new();
        // The recovery codes too: they were a way past the app being reset.
        // The passkey ceremonies under way too (bound to the sessions and challenges it ends).
        let ceremonies = [
            crate::passkey::CeremonyFor::Register(""),
            crate::passkey::CeremonyFor::SignIn(""),
        ]
        .map(|c| format!("{}{}", super::passkeys::CEREMONY_PREFIX, c.tail()));
        for sk in [MFA, NEXT_APP, CODE_LOCK, SETUP_MAIL, RECOVERY]
            .into_iter()
            .chain(ceremonies.iter().map(String::as_str))
        {
            let d = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk.clone(), sk)))
                .build()
                .map_err(build_err)?;
            items.push(TransactWriteItem::builder().delete(d).build());
        }
        for id in passkeys {
            items.extend(super::passkeys::removal_deletes(&self.table, username, id)?);
        }
        let profile_at = items.len();
        let end_sessions = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), PROFILE)))
            .update_expression("ADD session_epoch :one REMOVE passkeys")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(passkeys) OR passkeys = :n)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":n", n(passkeys.len()))
            .build()
            .map_err(build_err)?;
        items.push(TransactWriteItem::builder().update(end_sessions).build());
        let out = self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match out {
            Ok(_) => Ok(Some(true)),
            Err(e) => match cancelled_conditions(&e) {
                Some(failed) if failed.get(profile_at) == Some(&true) => {
                    let exists = self.get(key(pk, PROFILE), "get profile").await?.is_some();
                    Ok(if exists { None } else { Some(false) })
                }
                Some(failed) if failed.iter().any(|f| *f) => Ok(None),
                // Cancelled for another reason (throttled, say): a failing dependency.
                _ => Err(unavailable("reset mfa")(e)),
            },
        }
    }
}
