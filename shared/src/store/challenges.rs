//! Sign-in challenges: proof of a correct password, waiting for a security code. Single use,
//! 5 minutes, at most 5 codes evaluated; all three enforced by the conditions of the writes.

use aws_sdk_dynamodb::types::{Delete, ReturnValue, TransactWriteItem, Update};

use super::accounts::{CODE_LOCK, MFA, account_pk};
use super::schema::build_err;
use super::sessions::{NewSession, SESSION, session_item, session_pk};
use super::{Store, cancelled_conditions, get_n, get_s, key, n, s, unavailable};
use crate::error::Result;
use crate::limits::{CHALLENGE_MAX_FAILURES, CHALLENGE_SECS};

pub(crate) fn challenge_pk(hash: &str) -> String {
    format!("CHALLENGE#{hash}")
}
const CHALLENGE: &str = "CHALLENGE";
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

/// Everything a correct code changes, for `complete_verification`.
pub struct Verification<'a> {
    pub challenge_hash: &'a str,
    pub enrolment_id: &'a str,
    /// The time step the code matched.
    pub step: u64,
    pub now: u64,
    pub session_hash: &'a str,
    pub session: &'a NewSession<'a>,
    pub session_max_secs: u64,
}

/// How a verification that matched a code ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    Done,
    /// The challenge was used, expired or exhausted meanwhile.
    ChallengeGone,
    /// The step was accepted already (replay, or a concurrent request won), or the enrolment
    /// changed under us.
    StepRefused,
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
        let mut item = key(challenge_pk(hash), CHALLENGE);
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
        let item = self
            .get(key(challenge_pk(hash), CHALLENGE), "get challenge")
            .await?;
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
            .set_key(Some(key(challenge_pk(hash), CHALLENGE)))
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

    /// One transaction for a correct code: consume the challenge, record the accepted step (and
    /// activate a pending enrolment), create the session, and clear the account's code failures if any.
    /// Either all of it happens or none of it.
    pub async fn complete_verification(&self, v: &Verification<'_>) -> Result<Completion> {
        let (challenge_hash, enrolment_id, step, now) =
            (v.challenge_hash, v.enrolment_id, v.step, v.now);
        let (session_hash, session, session_max_secs) =
            (v.session_hash, v.session, v.session_max_secs);
        // The attempt was reserved (counted) before the code was evaluated, so the count may now
        // stand at the maximum: existence and expiry are what single use needs here.
        let consume = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(challenge_pk(challenge_hash), CHALLENGE)))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_err)?;
        // RFC 6238 section 5.2: the step must be newer than the last one accepted.
        let advance = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(account_pk(session.username), MFA)))
            .update_expression(
                "SET #status = :active, last_step = :step, activated_at = if_not_exists(activated_at, :now)",
            )
            .condition_expression(
                "enrolment_id = :eid AND (attribute_not_exists(last_step) OR last_step < :step)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":eid", s(enrolment_id))
            .build()
            .map_err(build_err)?;
        let new_session =
            self.put_new_in_transaction(session_item(session_hash, session, session_max_secs))?;
        // The reservation made before evaluating counted this attempt; a success clears the count.
        let clear_lock = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(account_pk(session.username), CODE_LOCK)))
            .build()
            .map_err(build_err)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(consume).build())
            .transact_items(TransactWriteItem::builder().update(advance).build())
            .transact_items(new_session)
            .transact_items(TransactWriteItem::builder().delete(clear_lock).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(Completion::Done),
            Err(e) => match cancelled_conditions(&e) {
                Some(failed) if failed.first() == Some(&true) => Ok(Completion::ChallengeGone),
                Some(failed) if failed.get(1) == Some(&true) => Ok(Completion::StepRefused),
                _ => Err(unavailable("complete verification")(e)),
            },
        }
    }

    /// A correct code given outside a sign-in (a password reset): its step is used up (single
    /// use, RFC 6238 5.2). False when the step was used already or the enrolment changed.
    pub async fn accept_code_step(
        &self,
        username: &str,
        enrolment_id: &str,
        step: u64,
    ) -> Result<bool> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_pk(username), MFA)))
            .update_expression("SET last_step = :step")
            .condition_expression(
                "enrolment_id = :eid AND #status = :active AND (attribute_not_exists(last_step) OR last_step < :step)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":eid", s(enrolment_id))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if super::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("accept code step")(e)),
        }
    }

    /// A correct code for a live session (step-up): record the step (single use, RFC 6238 5.2),
    /// clear the account's code count, and mark the session as having given a code now, in one
    /// transaction. False when the step was used already or the session is gone.
    pub async fn complete_reauthentication(
        &self,
        username: &str,
        enrolment_id: &str,
        step: u64,
        session_hash: &str,
        now: u64,
    ) -> Result<bool> {
        let advance = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(account_pk(username), MFA)))
            .update_expression("SET last_step = :step")
            .condition_expression(
                "enrolment_id = :eid AND #status = :active AND (attribute_not_exists(last_step) OR last_step < :step)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":eid", s(enrolment_id))
            .build()
            .map_err(build_err)?;
        let clear_lock = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(account_pk(username), CODE_LOCK)))
            .build()
            .map_err(build_err)?;
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(session_pk(session_hash), SESSION)))
            .update_expression("SET code_at = :now, last_seen = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_err)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(advance).build())
            .transact_items(TransactWriteItem::builder().delete(clear_lock).build())
            .transact_items(TransactWriteItem::builder().update(mark).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().any(|x| *x)) => Ok(false),
            Err(e) => Err(unavailable("complete reauthentication")(e)),
        }
    }
}
