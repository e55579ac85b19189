//! The writes that accept a second factor: the factor used up, the account's code count cleared,
//! and what the factor was given for, in one transaction (all or nothing). One builder per write;
//! `flows::factor` is the only caller.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::challenges::consume_challenge_delete;
use super::keys::{self, CODE_LOCK, MFA};
use super::password_links::{PasswordLink, set_password_update, take_link_delete};
use super::schema::build_err;
use super::sessions::{NewSession, session_item};
use super::{Store, cancelled_conditions, n, s, unavailable};
use crate::error::Result;

/// How a factor is used up. A recovery code or a passkey becomes another variant here.
pub enum Use<'a> {
    /// RFC 6238 section 5.2: a TOTP time step is good once, so the accepted step must be newer
    /// than the last one. `activate`: a pending enrolment's first code activates it; otherwise the
    /// enrolment must already be active.
    TotpStep {
        username: &'a str,
        enrolment_id: &'a str,
        step: u64,
        activate: bool,
    },
}

impl Use<'_> {
    fn username(&self) -> &str {
        match self {
            Use::TotpStep { username, .. } => username,
        }
    }
}

/// What a correct factor completes, in the same transaction.
pub enum Completes<'a> {
    /// A sign-in: the challenge is consumed and the session created.
    SignIn {
        challenge_hash: &'a str,
        session_hash: &'a str,
        session: &'a NewSession<'a>,
        session_max_secs: u64,
    },
    /// Step-up: the session is marked as having given a code now.
    StepUp { session_hash: &'a str },
    /// A password reset by link: the link is taken and the password set.
    PasswordReset {
        link_hash: &'a str,
        link: &'a PasswordLink,
        phc: &'a str,
    },
}

/// How the transaction went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The factor was used already (a replay, or a concurrent request won) or its enrolment
    /// changed meanwhile.
    FactorRefused,
    /// What it was to complete is gone: the challenge used or expired, the session ended, the
    /// link used, expired or outlived by a change of the account.
    CompletionGone,
}

fn use_update(table: &str, used: &Use<'_>, now: u64) -> Result<TransactWriteItem> {
    let Use::TotpStep {
        username,
        enrolment_id,
        step,
        activate,
    } = used;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, MFA)))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":step", n(*step))
        .expression_attribute_values(":eid", s(*enrolment_id));
    let update = if *activate {
        update
            .update_expression(
                "SET #status = :active, last_step = :step, activated_at = if_not_exists(activated_at, :now)",
            )
            .condition_expression(
                "enrolment_id = :eid AND (attribute_not_exists(last_step) OR last_step < :step)",
            )
            .expression_attribute_values(":now", n(now))
    } else {
        update
            .update_expression("SET last_step = :step")
            .condition_expression(
                "enrolment_id = :eid AND #status = :active AND (attribute_not_exists(last_step) OR last_step < :step)",
            )
    };
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(build_err)?)
        .build())
}

/// The reservation made before the factor was checked counted this attempt; a success clears it.
fn clear_code_lock(table: &str, username: &str) -> Result<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, CODE_LOCK)))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl Store {
    fn completion_items(
        &self,
        completes: &Completes<'_>,
        now: u64,
    ) -> Result<Vec<TransactWriteItem>> {
        Ok(match completes {
            Completes::SignIn {
                challenge_hash,
                session_hash,
                session,
                session_max_secs,
            } => vec![
                TransactWriteItem::builder()
                    .delete(consume_challenge_delete(&self.table, challenge_hash, now)?)
                    .build(),
                self.put_new_in_transaction(session_item(
                    session_hash,
                    session,
                    *session_max_secs,
                ))?,
            ],
            Completes::StepUp { session_hash } => {
                let mark = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::session(session_hash)))
                    .update_expression("SET code_at = :now, last_seen = :now")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":now", n(now))
                    .build()
                    .map_err(build_err)?;
                vec![TransactWriteItem::builder().update(mark).build()]
            }
            Completes::PasswordReset {
                link_hash,
                link,
                phc,
            } => vec![
                TransactWriteItem::builder()
                    .delete(take_link_delete(&self.table, link_hash, link, now)?)
                    .build(),
                TransactWriteItem::builder()
                    .update(set_password_update(&self.table, link, phc)?)
                    .build(),
            ],
        })
    }

    /// Uses the factor up, clears the account's code count and completes `completes`, in one
    /// transaction.
    pub async fn accept_factor(
        &self,
        used: &Use<'_>,
        completes: &Completes<'_>,
        now: u64,
    ) -> Result<Written> {
        let mut tx = self
            .db
            .transact_write_items()
            .transact_items(use_update(&self.table, used, now)?)
            .transact_items(clear_code_lock(&self.table, used.username())?);
        for item in self.completion_items(completes, now)? {
            tx = tx.transact_items(item);
        }
        match tx.send().await {
            Ok(_) => Ok(Written::Done),
            Err(e) => match cancelled_conditions(&e) {
                // What was to be completed is checked first: a used challenge is an invalid
                // challenge, whatever the code.
                Some(failed) if failed.iter().skip(2).any(|f| *f) => Ok(Written::CompletionGone),
                Some(failed) if failed.first() == Some(&true) => Ok(Written::FactorRefused),
                _ => Err(unavailable("accept factor")(e)),
            },
        }
    }
}
