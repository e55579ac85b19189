//! Sign-in challenges: proof of a correct password, waiting for a security code. Single use,
//! 5 minutes, at most 5 codes evaluated; all three enforced by the conditions of the writes (the
//! consuming write is part of `store::factors`' transaction).

use aws_sdk_dynamodb::types::{Delete, ReturnValue};

use super::keys;
use super::schema::build_err;
use super::{Store, get_n, get_s, n, s, unavailable};
use crate::error::Result;
use crate::limits::{CHALLENGE_MAX_FAILURES, CHALLENGE_SECS};

/// A challenge is alive while it exists, has not expired and has wrong codes to spare.
const ALIVE: &str = "attribute_exists(pk) AND expires_at > :now AND failures < :max";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub username: String,
    pub expires_at: u64,
    pub failures: u64,
    /// The pending OpenID Connect authorization (sealed) the sign-in will complete.
    pub authorization: Option<String>,
}

impl Store {
    pub async fn put_challenge(
        &self,
        hash: &str,
        username: &str,
        now: u64,
        authorization: Option<&str>,
    ) -> Result<u64> {
        let expires_at = now + CHALLENGE_SECS;
        let mut item = keys::challenge(hash);
        item.insert("username".into(), s(username));
        if let Some(a) = authorization {
            item.insert("authorization".into(), s(a));
        }
        item.insert("expires_at".into(), n(expires_at));
        item.insert("failures".into(), n(0));
        item.insert("ttl".into(), n(expires_at));
        self.put_new(item, "put challenge").await?;
        Ok(expires_at)
    }

    /// A live challenge, or None (unknown, expired, or out of attempts).
    pub async fn get_challenge(&self, hash: &str, now: u64) -> Result<Option<Challenge>> {
        let item = self.get(keys::challenge(hash), "get challenge").await?;
        Ok(item.as_ref().and_then(|item| {
            let c = Challenge {
                username: get_s(item, "username")?.to_owned(),
                expires_at: get_n(item, "expires_at")?,
                failures: get_n(item, "failures").unwrap_or(0),
                authorization: get_s(item, "authorization").map(str::to_owned),
            };
            (c.expires_at > now && c.failures < CHALLENGE_MAX_FAILURES).then_some(c)
        }))
    }

    /// Reserves one attempt on the challenge before its code is evaluated, so that however many
    /// requests race, at most five codes are ever evaluated against it. Returns the attempts
    /// counted so far (this one included), or None when the challenge is no longer alive.
    pub async fn reserve_challenge_attempt(&self, hash: &str, now: u64) -> Result<Option<u64>> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::challenge(hash)))
            .update_expression("ADD failures :one")
            .condition_expression(ALIVE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(CHALLENGE_MAX_FAILURES))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match out {
            Ok(o) => Ok(o.attributes().and_then(|a| get_n(a, "failures"))),
            Err(e) if super::is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable("reserve code attempt")(e)),
        }
    }
}

/// Consumes a challenge (a correct code's sign-in). The attempt was reserved (counted) before the
/// code was evaluated, so the count may now stand at the maximum: existence and expiry are what
/// single use needs here.
pub(crate) fn consume_challenge_delete(table: &str, hash: &str, now: u64) -> Result<Delete> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(keys::challenge(hash)))
        .condition_expression("attribute_exists(pk) AND expires_at > :now")
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(build_err)
}
