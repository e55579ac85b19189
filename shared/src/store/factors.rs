//! The writes that accept a second factor: the factor used up (with the sign-in challenge it
//! completes, if any) and what the factor was given for, in one transaction (all or nothing). The
//! account's code count (the attempt was reserved on it before the factor was checked) is not
//! written: the step this writes moves past the one the count was written against, which ends it
//! (`account::CodeCount`).
//! The factor's write is conditioned on the state it was checked against (compare-and-swap), so a
//! lost race is reported, never half-applied. One builder per write; `flows::factor` is the only
//! caller.

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::challenges::used_value;
use super::keys::{self, MFA};
use super::password_links::{PasswordLink, set_password_update, take_link_delete};
use super::schema::build_err;
use super::sessions::{NewSession, session_item};
use super::{Store, cancelled_conditions, n, s, unavailable};
use crate::account::{Enrolment, EnrolmentStatus};
use crate::error::Result;

/// How a factor is used up.
pub enum Use<'a> {
    /// RFC 6238 section 5.2: a TOTP time step is good once, so the accepted step must be newer
    /// than the last one; the write is conditioned on the last step as it was read (and on the
    /// enrolment being the one checked), so two codes racing on one enrolment land one at a time.
    /// A pending enrolment's first code activates it. `challenge`: the sign-in challenge (id,
    /// expiry) the code completes, recorded as used in the same write.
    TotpStep {
        username: &'a str,
        enrolment: &'a Enrolment,
        step: u64,
        challenge: Option<(&'a str, u64)>,
    },
    /// A recovery code is good once: its hash leaves the set (`store::recovery`), conditioned on
    /// being there and on the set being `set_id`. The sign-in challenge it completes is recorded on
    /// the enrolment, conditioned on the enrolment as read (its step and its recovery uses), so a
    /// code from the app and a recovery code cannot both complete one challenge.
    /// Moving no step on, it ends the account's code count itself: `count`, as it stands.
    /// Only at a sign-in: `challenge` is always recorded, so the enrolment's write serialises it
    /// against every other factor on the account.
    RecoveryCode {
        username: &'a str,
        enrolment: &'a Enrolment,
        set_id: &'a str,
        hash: &'a str,
        challenge: (&'a str, u64),
        count: &'a crate::account::CodeCount,
    },
    /// A passkey's assertion (WebAuthn) is good once: the sign-in ceremony it answers is deleted
    /// as read, so one ceremony completes one sign-in however many requests race, and the
    /// passkey's signature counter moves on, conditioned on the counter as read. Like a recovery
    /// code, it records the challenge on the enrolment (moving `passkey_uses` on) and ends the
    /// account's code count itself. Only at a sign-in.
    Passkey {
        username: &'a str,
        enrolment: &'a Enrolment,
        /// The sign-in ceremony, as read.
        ceremony: &'a crate::passkey::Ceremony,
        /// The passkey as it is after this use (its counter moved on).
        passkey: &'a crate::passkey::StoredPasskey,
        counter_as_read: u64,
        challenge: (&'a str, u64),
        count: &'a crate::account::CodeCount,
    },
}

/// The enrolment's state as it was read, as a condition: its step, and its recovery uses.
fn as_read(enrolment: &Enrolment, update: UpdateBuilder, condition: &mut String) -> UpdateBuilder {
    let update = match enrolment.last_step {
        Some(prev) => {
            condition.push_str(" AND last_step = :prev");
            update.expression_attribute_values(":prev", n(prev))
        }
        None => {
            condition.push_str(" AND attribute_not_exists(last_step)");
            update
        }
    };
    let update = if enrolment.recovery_uses == 0 {
        condition.push_str(" AND attribute_not_exists(recovery_uses)");
        update
    } else {
        condition.push_str(" AND recovery_uses = :ruses");
        update.expression_attribute_values(":ruses", n(enrolment.recovery_uses))
    };
    if enrolment.passkey_uses == 0 {
        condition.push_str(" AND attribute_not_exists(passkey_uses)");
        update
    } else {
        condition.push_str(" AND passkey_uses = :puses");
        update.expression_attribute_values(":puses", n(enrolment.passkey_uses))
    }
}

/// Records the sign-in challenge `(id, expires_at)` on the active enrolment as read, moving the
/// factor's own count of uses (`counter`: `recovery_uses` or `passkey_uses`) on, so that every
/// factor's write on the enrolment conflicts with every other's.
fn record_challenge(
    table: &str,
    username: &str,
    enrolment: &Enrolment,
    (id, expires_at): (&str, u64),
    counter: &str,
    now: u64,
) -> Result<TransactWriteItem> {
    let next = match counter {
        "passkey_uses" => enrolment.passkey_uses,
        _ => enrolment.recovery_uses,
    } + 1;
    let mut condition = "enrolment_id = :eid AND #status = :active".to_owned();
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, MFA)))
        .update_expression(format!("SET used_challenges = :used, {counter} = :next"))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":eid", s(&enrolment.enrolment_id))
        .expression_attribute_values(
            ":used",
            used_value(&enrolment.used_challenges, id, expires_at, now),
        )
        .expression_attribute_values(":next", n(next));
    let update = as_read(enrolment, update, &mut condition)
        .condition_expression(condition)
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A recovery code's writes: the code out of the set, the account's code count ended, and the
/// challenge it completes recorded.
#[allow(clippy::too_many_arguments)]
fn recovery_items(
    table: &str,
    username: &str,
    enrolment: &Enrolment,
    set_id: &str,
    hash: &str,
    (id, expires_at): (&str, u64),
    count: &crate::account::CodeCount,
    now: u64,
) -> Result<Vec<TransactWriteItem>> {
    let mut items = vec![super::recovery::use_code_update(
        table, username, set_id, hash,
    )?];
    items.extend(super::locks::end_code_count(table, username, count)?);
    // The active enrolment the set was made beside, as it was read.
    items.push(record_challenge(
        table,
        username,
        enrolment,
        (id, expires_at),
        "recovery_uses",
        now,
    )?);
    Ok(items)
}

/// What a correct factor completes, in the same transaction.
pub enum Completes<'a> {
    /// A sign-in: the session is created (the challenge is used up with the factor).
    SignIn {
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
    /// The enrolment changed since it was read (another code landed, or it was replaced): read
    /// it again and check the code again (its attempt is already reserved).
    Conflict,
    /// What it was to complete is gone: the session ended, the link used, expired or outlived
    /// by a change of the account.
    CompletionGone,
}

fn use_items(table: &str, used: &Use<'_>, now: u64) -> Result<Vec<TransactWriteItem>> {
    match used {
        Use::TotpStep {
            username,
            enrolment,
            step,
            challenge,
        } => Ok(vec![totp_update(
            table, username, enrolment, *step, *challenge, now,
        )?]),
        Use::RecoveryCode {
            username,
            enrolment,
            set_id,
            hash,
            challenge,
            count,
        } => recovery_items(
            table, username, enrolment, set_id, hash, *challenge, count, now,
        ),
        Use::Passkey {
            username,
            enrolment,
            ceremony,
            passkey,
            counter_as_read,
            challenge,
            count,
        } => {
            let mut items = super::passkeys::use_items(
                table,
                username,
                (challenge.0, ceremony),
                passkey,
                *counter_as_read,
                now,
            )?;
            items.extend(super::locks::end_code_count(table, username, count)?);
            items.push(record_challenge(
                table,
                username,
                enrolment,
                *challenge,
                "passkey_uses",
                now,
            )?);
            Ok(items)
        }
    }
}

fn totp_update(
    table: &str,
    username: &str,
    enrolment: &Enrolment,
    step: u64,
    challenge: Option<(&str, u64)>,
    now: u64,
) -> Result<TransactWriteItem> {
    let mut set = vec!["last_step = :step"];
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, MFA)))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":step", n(step))
        .expression_attribute_values(":eid", s(&enrolment.enrolment_id));
    let mut condition = "enrolment_id = :eid".to_owned();
    update = as_read(enrolment, update, &mut condition);
    if enrolment.status == EnrolmentStatus::Pending {
        set.extend([
            "#status = :active",
            "activated_at = if_not_exists(activated_at, :now)",
        ]);
        update = update
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", n(now));
    } else {
        condition.push_str(" AND #status = :active");
        update = update.expression_attribute_values(":active", s("active"));
    }
    if let Some((id, expires_at)) = challenge {
        set.push("used_challenges = :used");
        update = update.expression_attribute_values(
            ":used",
            used_value(&enrolment.used_challenges, id, expires_at, now),
        );
    }
    let update = update
        .update_expression(format!("SET {}", set.join(", ")))
        .condition_expression(condition)
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Store {
    fn completion_items(
        &self,
        completes: &Completes<'_>,
        now: u64,
    ) -> Result<Vec<TransactWriteItem>> {
        Ok(match completes {
            Completes::SignIn {
                session_hash,
                session,
                session_max_secs,
            } => vec![self.put_new_in_transaction(session_item(
                session_hash,
                session,
                *session_max_secs,
            ))?],
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
                    .update(set_password_update(
                        &self.table,
                        &link.username,
                        link.epoch,
                        phc,
                    )?)
                    .build(),
            ],
        })
    }

    /// Uses the factor up (a code from the app also ends the account's code count) and completes
    /// `completes`, in one transaction.
    pub async fn accept_factor(
        &self,
        used: &Use<'_>,
        completes: &Completes<'_>,
        now: u64,
    ) -> Result<Written> {
        let mut items = use_items(&self.table, used, now)?;
        let fixed = items.len();
        items.extend(self.completion_items(completes, now)?);
        match self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Written::Done),
            Err(e) => match cancelled_conditions(&e) {
                // What was to be completed is checked first: a session that ended or a link
                // that was used is gone, whatever the code.
                Some(failed) if failed.iter().skip(fixed).any(|f| *f) => {
                    Ok(Written::CompletionGone)
                }
                Some(failed) if failed.iter().take(fixed).any(|f| *f) => Ok(Written::Conflict),
                _ => Err(unavailable("accept factor")(e)),
            },
        }
    }
}
