//! Passkeys and their ceremonies, kept with the account (`ACCOUNT#<username>`), so the one query
//! that reads an account for a sign-in reads them too:
//!
//! - `PASSKEY#<credential id>`: the credential as `webauthn-rs` keeps it (JSON), its name, when it
//!   was made and last used, and its signature counter (a use is conditioned on it as read).
//! - `PASSKEY_CEREMONY#REGISTER`: the registration under way, bound to the session that started it.
//! - `PASSKEY_CEREMONY#SIGN_IN`: the sign-in with a passkey under way, bound to its challenge.
//!   One of each per account: a new one replaces the last, so however many are started the
//!   account's partition (read whole at every sign-in) stays small.
//!
//! A ceremony is used up by deleting it, conditioned on the ceremony id as read, in the same
//! transaction as what it completes: one finish per start, however many requests race. Expired
//! ones are refused by their `expires_at` (TTL only tidies up).
//!
//! `CREDENTIAL#<credential id>` / `CREDENTIAL` names the account a credential belongs to, written
//! with `attribute_not_exists` in the registration's transaction: a credential is never registered
//! to two accounts. The profile's `passkeys` counts them (the people table and the readiness
//! report read it from the staff index, without reading the passkeys).

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::keys::{self, PROFILE, account_pk};
use super::schema::build_err;
use super::{Item, Store, cancelled_conditions, get_n, get_s, key, n, s, unavailable};
use crate::error::{Error, Result};
use crate::passkey::{Ceremony, CeremonyFor, MAX_PER_ACCOUNT, PasskeyItems, StoredPasskey};

pub(crate) const PASSKEY_PREFIX: &str = "PASSKEY#";
pub(crate) const CEREMONY_PREFIX: &str = "PASSKEY_CEREMONY#";

fn ceremony_sk(what: CeremonyFor<'_>) -> String {
    format!("{CEREMONY_PREFIX}{}", what.tail())
}

/// Takes the item into `into` if it is a passkey's or a ceremony's.
pub(crate) fn take(into: &mut PasskeyItems, sk: &str, item: &Item) -> Result<bool> {
    if sk.starts_with(PASSKEY_PREFIX) {
        into.passkeys.push(parse_passkey(item)?);
        Ok(true)
    } else if let Some(tail) = sk.strip_prefix(CEREMONY_PREFIX) {
        into.ceremonies.insert(
            tail.to_owned(),
            Ceremony {
                id: get_s(item, "ceremony_id").unwrap_or_default().to_owned(),
                state: get_s(item, "state").unwrap_or_default().to_owned(),
                bound_to: get_s(item, "bound_to").unwrap_or_default().to_owned(),
                expires_at: get_n(item, "expires_at").unwrap_or(0),
            },
        );
        Ok(true)
    } else {
        Ok(false)
    }
}

fn parse_passkey(item: &Item) -> Result<StoredPasskey> {
    let corrupt = |what: &str| Error::Internal(format!("passkey item: {what}"));
    let credential = get_s(item, "passkey")
        .ok_or_else(|| corrupt("passkey"))?
        .to_owned();
    Ok(StoredPasskey {
        id: get_s(item, "credential_id")
            .ok_or_else(|| corrupt("credential_id"))?
            .to_owned(),
        name: get_s(item, "name").unwrap_or_default().to_owned(),
        created_at: get_n(item, "created_at").unwrap_or(0),
        last_used_at: get_n(item, "last_used_at"),
        credential,
    })
}

fn passkey_key(username: &str, id: &str) -> Item {
    keys::account(username, &format!("{PASSKEY_PREFIX}{id}"))
}

fn credential_key(id: &str) -> Item {
    key(format!("CREDENTIAL#{id}"), "CREDENTIAL")
}

fn counter(passkey: &StoredPasskey) -> u64 {
    crate::passkey::counter(&passkey.credential)
}

/// How adding a passkey went.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Done,
    /// The ceremony was finished already, replaced, or ran out of time.
    CeremonyGone,
    /// The credential is registered (to this account or another).
    CredentialTaken,
    /// The account holds the most it may, or moved on (a new epoch: a reset, a new password).
    Refused,
}

/// The writes that use a passkey up at a sign-in (`store::factors`): the ceremony deleted as
/// read, and the passkey's counter and last use, conditioned on the counter as read.
pub(crate) fn use_items(
    table: &str,
    username: &str,
    ceremony: (&str, &Ceremony),
    passkey: &StoredPasskey,
    counter_as_read: u64,
    now: u64,
) -> Result<Vec<TransactWriteItem>> {
    let (challenge, ceremony) = ceremony;
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(keys::account(
            username,
            &ceremony_sk(CeremonyFor::SignIn(challenge)),
        )))
        .condition_expression("ceremony_id = :cid AND bound_to = :challenge")
        .expression_attribute_values(":cid", s(&ceremony.id))
        .expression_attribute_values(":challenge", s(challenge))
        .build()
        .map_err(build_err)?;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(passkey_key(username, &passkey.id)))
        .update_expression("SET passkey = :json, sign_count = :count, last_used_at = :now")
        .condition_expression(
            "attribute_exists(pk) AND (sign_count = :was OR attribute_not_exists(sign_count))",
        )
        .expression_attribute_values(":json", s(&passkey.credential))
        .expression_attribute_values(":count", n(counter(passkey)))
        .expression_attribute_values(":was", n(counter_as_read))
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(build_err)?;
    Ok(vec![
        TransactWriteItem::builder().delete(delete).build(),
        TransactWriteItem::builder().update(update).build(),
    ])
}

impl Store {
    /// Keeps a ceremony's state for `what` until `ceremony.expires_at`, replacing any earlier one
    /// for the same thing.
    pub async fn put_ceremony(
        &self,
        username: &str,
        what: CeremonyFor<'_>,
        ceremony: &Ceremony,
    ) -> Result<()> {
        let mut item = keys::account(username, &ceremony_sk(what));
        item.insert("ceremony_id".into(), s(&ceremony.id));
        item.insert("state".into(), s(&ceremony.state));
        item.insert("bound_to".into(), s(&ceremony.bound_to));
        item.insert("expires_at".into(), n(ceremony.expires_at));
        item.insert("ttl".into(), n(ceremony.expires_at));
        self.put(item, "put passkey ceremony").await
    }

    /// Registers `passkey` to `username`, finishing the registration `ceremony` as it was read,
    /// while the account's epoch is still `epoch` and it holds fewer than the most it may.
    pub async fn add_passkey(
        &self,
        username: &str,
        ceremony: &Ceremony,
        passkey: &StoredPasskey,
        epoch: u64,
        now: u64,
    ) -> Result<Added> {
        let finish = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(
                username,
                &ceremony_sk(CeremonyFor::Register(&ceremony.bound_to)),
            )))
            .condition_expression(
                "ceremony_id = :cid AND bound_to = :session AND expires_at > :now",
            )
            .expression_attribute_values(":session", s(&ceremony.bound_to))
            .expression_attribute_values(":cid", s(&ceremony.id))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_err)?;
        let mut item = passkey_key(username, &passkey.id);
        item.insert("credential_id".into(), s(&passkey.id));
        item.insert("name".into(), s(&passkey.name));
        item.insert("created_at".into(), n(passkey.created_at));
        item.insert("passkey".into(), s(&passkey.credential));
        item.insert("sign_count".into(), n(counter(passkey)));
        let keep = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_err)?;
        let mut owner = credential_key(&passkey.id);
        owner.insert("username".into(), s(username));
        let claim = Put::builder()
            .table_name(&self.table)
            .set_item(Some(owner))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_err)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .update_expression("ADD passkeys :one")
            .condition_expression(
                "session_epoch = :epoch AND (attribute_not_exists(passkeys) OR passkeys < :max)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":epoch", n(epoch))
            .expression_attribute_values(":max", n(MAX_PER_ACCOUNT))
            .build()
            .map_err(build_err)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(finish).build())
            .transact_items(TransactWriteItem::builder().put(keep).build())
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(Added::Done),
            Err(e) => match cancelled_conditions(&e) {
                Some(failed) if failed.first() == Some(&true) => Ok(Added::CeremonyGone),
                Some(failed) if failed.get(1) == Some(&true) || failed.get(2) == Some(&true) => {
                    Ok(Added::CredentialTaken)
                }
                Some(failed) if failed.iter().any(|f| *f) => Ok(Added::Refused),
                // Cancelled for another reason (throttled, say): a failing dependency.
                _ => Err(unavailable("add passkey")(e)),
            },
        }
    }

    /// Removes the passkey `id` from `username` (its owner's claim on the credential with it).
    /// False when the account has no such passkey.
    pub async fn remove_passkey(&self, username: &str, id: &str) -> Result<bool> {
        let out = self
            .db
            .transact_write_items()
            .set_transact_items(Some(remove_items(&self.table, username, id)?))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().any(|f| *f)) => Ok(false),
            Err(e) => Err(unavailable("remove passkey")(e)),
        }
    }

    /// The ids of `username`'s passkeys (an admin reset removes exactly these, conditioned on
    /// the count its profile keeps).
    pub(crate) async fn passkey_ids(&self, username: &str) -> Result<Vec<String>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(account_pk(username)))
            .expression_attribute_values(":prefix", s(PASSKEY_PREFIX))
            .projection_expression("credential_id")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("query passkeys"))?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| get_s(i, "credential_id").map(str::to_owned))
            .collect())
    }
}

/// The writes that remove one passkey: the passkey, the account's claim on the credential, and
/// one off the profile's count.
pub(crate) fn remove_items(
    table: &str,
    username: &str,
    id: &str,
) -> Result<Vec<TransactWriteItem>> {
    let mut items = removal_deletes(table, username, id)?;
    let count = Update::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, PROFILE)))
        .update_expression("ADD passkeys :minus")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":minus", n(-1i64))
        .build()
        .map_err(build_err)?;
    items.push(TransactWriteItem::builder().update(count).build());
    Ok(items)
}

/// The passkey's item and the account's claim on its credential (only while it is this account's).
pub(crate) fn removal_deletes(
    table: &str,
    username: &str,
    id: &str,
) -> Result<Vec<TransactWriteItem>> {
    let passkey = Delete::builder()
        .table_name(table)
        .set_key(Some(passkey_key(username, id)))
        .condition_expression("attribute_exists(pk)")
        .build()
        .map_err(build_err)?;
    let claim = Delete::builder()
        .table_name(table)
        .set_key(Some(credential_key(id)))
        .condition_expression("attribute_not_exists(pk) OR username = :u")
        .expression_attribute_values(":u", AttributeValue::S(username.to_owned()))
        .build()
        .map_err(build_err)?;
    Ok(vec![
        TransactWriteItem::builder().delete(passkey).build(),
        TransactWriteItem::builder().delete(claim).build(),
    ])
}

/// Drops `username`'s claim on the credential `id` (a deleted account's).
pub(crate) async fn drop_claim(store: &Store, username: &str, id: &str) -> Result<()> {
    let out = store
        .db
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(credential_key(id)))
        .condition_expression("username = :u")
        .expression_attribute_values(":u", s(username))
        .send()
        .await;
    match out {
        Ok(_) => Ok(()),
        Err(e) if super::is_condition_failure(&e) => Ok(()),
        Err(e) => Err(unavailable("drop credential claim")(e)),
    }
}

/// The profile's count of passkeys.
pub(crate) fn passkey_count(item: &Item) -> usize {
    get_n(item, "passkeys").unwrap_or(0) as usize
}
