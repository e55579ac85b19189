//! The OpenID Connect provider's items: clients, refresh tokens and their families, and the sealed
//! signing keys. Records are stored as a versioned JSON `data` attribute beside the attributes that
//! conditions test; single use is a conditional write, never a read followed by a write.
//! Authorization codes have no item: a code is sealed, and its single use is the conditional Put of
//! the refresh token derived from it (`redeem_code`).

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::accounts::bytes;
use super::keys::{self, CLIENT_INDEX, ORG, PROFILE};
use super::schema::build_err;
use super::{
    Item, Store, cancelled_conditions, get_b, get_n, get_s, is_condition_failure, n, s, unavailable,
};
use crate::error::{Error, Result};
use crate::oidc::{Client, Grant};
use crate::signing::KeyState;

const DATA_VERSION: u64 = 1;

/// The single-use items a redemption takes. Only refresh tokens now: an authorization code is
/// sealed, not stored, and the item of the refresh token it issues is its record of use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKind {
    Refresh,
}

impl GrantKind {
    /// The item's key prefix and sort key.
    fn tag(self) -> &'static str {
        match self {
            GrantKind::Refresh => "REFRESH",
        }
    }
}

fn parse_sealed_key(i: &Item) -> Result<SealedKey> {
    let corrupt = || Error::Internal("signing key item".into());
    Ok(SealedKey {
        kid: get_s(i, "kid").ok_or_else(corrupt)?.to_owned(),
        sealed: get_b(i, "sealed").ok_or_else(corrupt)?.to_vec(),
        created_at: get_n(i, "created_at").ok_or_else(corrupt)?,
        state: match get_s(i, "state") {
            Some("next") => KeyState::Next,
            Some("current") => KeyState::Current,
            Some("retired") => KeyState::Retired {
                retire_at: get_n(i, "retire_at").ok_or_else(corrupt)?,
            },
            _ => return Err(corrupt()),
        },
    })
}

fn grant_key(kind: GrantKind, hash: &str) -> Item {
    keys::grant(kind.tag(), hash)
}

/// How a single-use item's redemption went.
#[derive(Debug)]
pub enum Redeemed<T> {
    Fresh(T),
    /// Used before: the family of what the first use issued, to revoke it (None when the first
    /// use issued nothing: a code shown with the wrong verifier is burnt, not redeemed).
    Reused {
        family: Option<String>,
    },
    /// Unknown or expired.
    Missing,
    /// The account changed (its epoch moved on, or it was disabled) before the redemption was
    /// done: a refresh token's transaction found it so, or a code's read after its write did.
    AccountChanged,
}

/// The refresh token a redemption issues, and the account state it was issued for.
pub struct Successor<'a> {
    pub hash: &'a str,
    pub grant: &'a Grant,
    pub expires_at: u64,
    pub username: &'a str,
    /// The account's session epoch as the session saw it.
    pub epoch: u64,
}

/// A sealed signing key as stored.
pub struct SealedKey {
    pub kid: String,
    pub sealed: Vec<u8>,
    pub state: KeyState,
    pub created_at: u64,
}

fn data<T: Serialize>(value: &T) -> Result<aws_sdk_dynamodb::types::AttributeValue> {
    serde_json::to_string(value)
        .map(s)
        .map_err(|e| Error::Internal(format!("encode record: {e}")))
}

fn parse<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    if get_n(item, "v") != Some(DATA_VERSION) {
        return Err(Error::Internal(format!("{what}: unknown record version")));
    }
    get_s(item, "data")
        .and_then(|d| serde_json::from_str(d).ok())
        .ok_or_else(|| Error::Internal(format!("{what}: corrupt record")))
}

fn grant_item(kind: GrantKind, hash: &str, grant: &Grant, expires_at: u64) -> Result<Item> {
    let mut item = grant_key(kind, hash);
    item.extend(record_fields(grant, expires_at)?);
    if let Some(family) = &grant.family {
        item.insert("issued_family".into(), s(family));
    }
    Ok(item)
}

/// A used grant: what its first use issued, for revoking.
fn reused<T>(item: &Item) -> Redeemed<T> {
    Redeemed::Reused {
        family: get_s(item, "issued_family").map(str::to_owned),
    }
}

/// A versioned record's attributes: its JSON `data`, and when it expires.
fn record_fields<T: Serialize>(value: &T, expires_at: u64) -> Result<Item> {
    let mut item = Item::new();
    item.insert("v".into(), n(DATA_VERSION));
    item.insert("data".into(), data(value)?);
    item.insert("expires_at".into(), n(expires_at));
    item.insert("ttl".into(), n(expires_at));
    Ok(item)
}

fn client_item(client: &Client) -> Result<Item> {
    let mut item = keys::client(&client.id);
    item.insert("v".into(), n(DATA_VERSION));
    item.insert("data".into(), data(client)?);
    item.insert("gsi1pk".into(), s(CLIENT_INDEX));
    item.insert("gsi1sk".into(), s(&client.id));
    Ok(item)
}

impl Store {
    /// Creates or replaces a client (`mfa-admin client add`).
    pub async fn put_client(&self, client: &Client) -> Result<()> {
        self.put(client_item(client)?, "put client").await
    }

    /// Creates a client, or replaces it: `new` true only creates (false back when the id is
    /// taken), false only replaces (false back when there is no such client). Either way the
    /// condition is part of the write, so two administrators racing never overwrite each other's
    /// new client, and a client deleted meanwhile is not brought back.
    pub async fn put_client_if(&self, client: &Client, new: bool) -> Result<bool> {
        let out = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_item(client)?))
            .condition_expression(if new {
                "attribute_not_exists(pk)"
            } else {
                "attribute_exists(pk)"
            })
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("put client")(e)),
        }
    }

    pub async fn get_client(&self, id: &str) -> Result<Option<Client>> {
        let item = self.get(keys::client(id), "get client").await?;
        item.as_ref().map(|i| parse(i, "client")).transpose()
    }

    /// False when there was no such client.
    pub async fn delete_client(&self, id: &str) -> Result<bool> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::client(id)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("delete client")(e)),
        }
    }

    /// Every client, by id (the sparse index; no scan).
    pub async fn list_clients(&self) -> Result<Vec<Client>> {
        let mut clients = vec![];
        let mut pages = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(super::schema::GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(CLIENT_INDEX))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable("query clients"))?;
            for item in page.items() {
                clients.push(parse(item, "client")?);
            }
        }
        Ok(clients)
    }

    /// Records an authorization code's first use: one Put of the item of the refresh token derived
    /// from it (`hash`), on the condition that the item is new. With a family, `grant` is that
    /// refresh token, live; without one the item is stored used, so it records the use and
    /// refreshes nothing (a burnt code, or a client that may not refresh). A second use of the
    /// same code derives the same token and finds its item: `Reused` with the family the first
    /// use issued.
    pub async fn redeem_code(
        &self,
        hash: &str,
        grant: &Grant,
        expires_at: u64,
        now: u64,
    ) -> Result<Redeemed<()>> {
        let mut item = grant_item(GrantKind::Refresh, hash, grant, expires_at)?;
        if grant.family.is_none() {
            item.insert("used_at".into(), n(now));
        }
        let out = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(Redeemed::Fresh(())),
            Err(e) if is_condition_failure(&e) => Ok(Redeemed::Reused {
                // Marked first: a first use that is taken back (`undo_code_redemption`) after a
                // second one was seen leaves the code dead, not redeemable again. (If the item is
                // gone already, its TTL passed after the condition failed: used all the same.)
                family: {
                    self.mark_code_reused(hash, now).await?;
                    self.code_used(hash).await?.flatten()
                },
            }),
            Err(e) => Err(unavailable("redeem code")(e)),
        }
    }

    /// Records that a code was shown again (on its refresh-token item, made if it is gone).
    async fn mark_code_reused(&self, hash: &str, now: u64) -> Result<()> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(grant_key(GrantKind::Refresh, hash)))
            .update_expression(
                "SET reused_at = :now, used_at = if_not_exists(used_at, :now), #ttl = if_not_exists(#ttl, :ttl)",
            )
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ttl", n(now + 24 * 3600))
            .send()
            .await
            .map_err(unavailable("mark code reused"))?;
        Ok(())
    }

    /// Takes back a code's redemption that issued `family` and whose tokens were never handed out
    /// (the account could not be read after it): the code is unused again until it expires. Not
    /// when another use of the code was seen meanwhile: that one revoked the family, and the code
    /// stays dead.
    pub async fn undo_code_redemption(&self, hash: &str, family: &str) -> Result<()> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(grant_key(GrantKind::Refresh, hash)))
            .condition_expression("issued_family = :f AND attribute_not_exists(reused_at)")
            .expression_attribute_values(":f", s(family))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable("undo code redemption")(e)),
        }
    }

    /// Whether the code whose refresh token hashes to `hash` was used: Some with the family its
    /// first use issued (None if it issued none), or None when it never was.
    pub async fn code_used(&self, hash: &str) -> Result<Option<Option<String>>> {
        let item = self
            .get(grant_key(GrantKind::Refresh, hash), "get code use")
            .await?;
        Ok(item.map(|i| get_s(&i, "issued_family").map(str::to_owned)))
    }

    /// A refresh token's grant as it stands, without using it up.
    pub async fn peek_grant(
        &self,
        kind: GrantKind,
        hash: &str,
        now: u64,
    ) -> Result<Redeemed<Grant>> {
        let item = self.get(grant_key(kind, hash), "get grant").await?;
        Ok(match item {
            Some(item) if get_n(&item, "used_at").is_some() => reused(&item),
            Some(item) if get_n(&item, "expires_at").is_some_and(|e| e > now) => {
                Redeemed::Fresh(parse(&item, "grant")?)
            }
            _ => Redeemed::Missing,
        })
    }

    /// Redeems a refresh token once (marks it used and records its family; None would use it up
    /// issuing nothing) and stores the refresh token its use issues, in one transaction, on the
    /// condition that the account is still as the session saw it: whatever fails, the token is
    /// either still unused or used with its successor stored, never used up for nothing (a
    /// client's retry would then look like a stolen copy). A second use learns the family the
    /// first one issued.
    pub async fn redeem_grant_issuing(
        &self,
        kind: GrantKind,
        hash: &str,
        family: Option<&str>,
        now: u64,
        issued: Option<Successor<'_>>,
    ) -> Result<Redeemed<()>> {
        let mut redeem = Update::builder()
            .table_name(&self.table)
            .set_key(Some(grant_key(kind, hash)))
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :now",
            )
            .expression_attribute_values(":now", n(now));
        redeem = match family {
            Some(f) => redeem
                .update_expression(
                    "SET used_at = :now, issued_family = if_not_exists(issued_family, :f)",
                )
                .expression_attribute_values(":f", s(f)),
            None => redeem.update_expression("SET used_at = :now"),
        };
        let mut tx = self.db.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(redeem.build().map_err(build_err)?)
                .build(),
        );
        if let Some(next) = &issued {
            let item = grant_item(GrantKind::Refresh, next.hash, next.grant, next.expires_at)?;
            tx = tx.transact_items(self.put_new_in_transaction(item)?);
            let unchanged = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(keys::account(next.username, PROFILE)))
                .condition_expression(
                    "session_epoch = :epoch AND (attribute_not_exists(disabled) OR disabled = :no)",
                )
                .expression_attribute_values(":epoch", n(next.epoch))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .build()
                .map_err(build_err)?;
            tx = tx.transact_items(
                TransactWriteItem::builder()
                    .condition_check(unchanged)
                    .build(),
            );
        }
        match tx.send().await {
            Ok(_) => Ok(Redeemed::Fresh(())),
            Err(e) => match cancelled_conditions(&e) {
                Some(c) if c.first() == Some(&true) => {
                    // Another use won (or it expired meanwhile): what it issued is in the item now.
                    Ok(match self.peek_grant(kind, hash, now).await? {
                        Redeemed::Reused { family } => Redeemed::Reused { family },
                        _ => Redeemed::Missing,
                    })
                }
                Some(c) if c.get(2) == Some(&true) => Ok(Redeemed::AccountChanged),
                _ => Err(unavailable("redeem grant")(e)),
            },
        }
    }

    /// Revokes a refresh token family: no token of it refreshes again.
    pub async fn revoke_family(&self, family: &str, now: u64, keep_until: u64) -> Result<()> {
        let mut item = keys::family(family);
        item.insert("revoked_at".into(), n(now));
        item.insert("ttl".into(), n(keep_until));
        self.put(item, "revoke family").await
    }

    pub async fn family_revoked(&self, family: &str) -> Result<bool> {
        Ok(self
            .get(keys::family(family), "get family")
            .await?
            .is_some())
    }

    pub async fn signing_keys(&self) -> Result<Vec<SealedKey>> {
        Ok(self.signing_keys_and_version().await?.0)
    }

    /// The sealed signing keys and the key ring's version (0: never rotated), in one Query: what a
    /// rotation plans from.
    pub async fn signing_keys_and_version(&self) -> Result<(Vec<SealedKey>, u64)> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(ORG))
            // Both the keys (`SIGNING_KEY#...`) and the ring's version (`SIGNING_KEYS`).
            .expression_attribute_values(":prefix", s("SIGNING_KEY"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("query signing keys"))?;
        let mut sealed = vec![];
        let mut version = 0;
        for item in out.items() {
            match get_s(item, "sk") {
                Some(keys::SIGNING_KEY_RING) => version = get_n(item, "version").unwrap_or(0),
                Some(sk) if sk.starts_with(keys::SIGNING_KEY_PREFIX) => {
                    sealed.push(parse_sealed_key(item)?);
                }
                _ => {}
            }
        }
        Ok((sealed, version))
    }

    /// The organisation's settings and its sealed signing keys in one Query of its partition:
    /// what the OpenID Connect function reads at init (one request instead of two).
    pub async fn settings_and_signing_keys(
        &self,
    ) -> Result<(super::settings::Settings, Vec<SealedKey>)> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(ORG))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("query organisation"))?;
        let mut settings = super::settings::Settings::default();
        let mut sealed = vec![];
        for item in out.items() {
            match get_s(item, "sk") {
                Some(keys::SETTINGS) => settings = super::settings::Settings::from_item(item),
                Some(sk) if sk.starts_with(keys::SIGNING_KEY_PREFIX) => {
                    sealed.push(parse_sealed_key(item)?);
                }
                _ => {}
            }
        }
        Ok((settings, sealed))
    }

    /// Applies a rotation in one transaction: new keys added, states changed (each on the condition
    /// that it is still in the state the rotation was planned from), and keys whose publication
    /// ended deleted (by TTL).
    pub async fn rotate_signing_keys(
        &self,
        changes: &[(String, KeyState)],
        added: &[SealedKey],
        version_seen: u64,
    ) -> Result<()> {
        // Every rotation moves the ring's version on from the one it planned from: of two at once
        // (the schedule's event delivered twice, the schedule and an operator), one writes, even
        // when neither changes a key's state (the first keys, a missing next key).
        let ring = Update::builder()
            .table_name(&self.table)
            .set_key(Some(super::key(ORG, keys::SIGNING_KEY_RING)))
            .update_expression("SET version = :next")
            .expression_attribute_values(":next", n(version_seen + 1));
        let ring = if version_seen == 0 {
            ring.condition_expression("attribute_not_exists(version)")
        } else {
            ring.condition_expression("version = :seen")
                .expression_attribute_values(":seen", n(version_seen))
        };
        let mut tx = self.db.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(ring.build().map_err(build_err)?)
                .build(),
        );
        for (kid, state) in changes {
            // Two rotations at once: the second finds the states changed and fails whole.
            let previous = match state {
                KeyState::Retired { .. } => "current",
                _ => "next",
            };
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::signing_key(kid)))
                .condition_expression("#state = :previous")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":previous", s(previous))
                .expression_attribute_values(":state", s(state.as_str()));
            update = match state {
                KeyState::Retired { retire_at } => update
                    .update_expression("SET #state = :state, retire_at = :r, #ttl = :r")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":r", n(*retire_at)),
                _ => update.update_expression("SET #state = :state"),
            };
            tx = tx.transact_items(
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_err)?)
                    .build(),
            );
        }
        for k in added {
            let mut item = keys::signing_key(&k.kid);
            item.insert("kid".into(), s(&k.kid));
            item.insert("sealed".into(), bytes(&k.sealed));
            item.insert("state".into(), s(k.state.as_str()));
            item.insert("created_at".into(), n(k.created_at));
            tx = tx.transact_items(self.put_new_in_transaction(item)?);
        }
        match tx.send().await {
            Ok(_) => Ok(()),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().any(|x| *x)) => {
                Err(Error::Conflict(
                    "The signing keys changed meanwhile (another rotation): nothing was written."
                        .into(),
                ))
            }
            Err(e) => Err(unavailable("rotate signing keys")(e)),
        }
    }
}
