//! A user's recovery codes (`ACCOUNT#<username>` / `RECOVERY`): the set's id, the enrolment it was
//! made beside, when it was made, and the keyed hashes of the codes not yet used, as a string set.
//! A set is written only while that enrolment is active and the session's epoch is current, so one
//! made as an administrator resets the account cannot outlive the reset. A use deletes its hash from
//! the set in the sign-in's transaction, conditioned on the hash being there and the set being
//! the one checked, so each code signs in once however many requests race.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};

use super::keys::{self, MFA, PROFILE, RECOVERY};
use super::schema::build_err;
use super::{Item, Store, cancelled_conditions, get_n, get_s, n, s, unavailable};
use crate::error::{Error, Result};
use crate::recovery::RecoverySet;

pub(crate) fn parse_recovery(item: &Item) -> RecoverySet {
    RecoverySet {
        set_id: get_s(item, "set_id").unwrap_or_default().to_owned(),
        enrolment_id: get_s(item, "enrolment_id").unwrap_or_default().to_owned(),
        created_at: get_n(item, "created_at").unwrap_or(0),
        // DynamoDB drops a string set once its last member is deleted.
        unused: item
            .get("codes")
            .and_then(|v| v.as_ss().ok())
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default(),
    }
}

/// The write that uses up the code whose hash is `hash`, in a factor's transaction.
pub(crate) fn use_code_update(
    table: &str,
    username: &str,
    set_id: &str,
    hash: &str,
) -> Result<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, RECOVERY)))
        .update_expression("DELETE codes :h")
        .condition_expression("set_id = :sid AND contains(codes, :code)")
        .expression_attribute_values(":h", AttributeValue::Ss(vec![hash.to_owned()]))
        .expression_attribute_values(":code", s(hash))
        .expression_attribute_values(":sid", s(set_id))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Store {
    /// Stores a new set for `username`, replacing any earlier one whole, on the condition that the
    /// enrolment it names is still active and the account's epoch is still `epoch` (no reset,
    /// new password or disabling since the session was checked). Unauthenticated otherwise.
    pub async fn put_recovery_set(
        &self,
        username: &str,
        set: &RecoverySet,
        epoch: u64,
    ) -> Result<()> {
        let mut item = keys::account(username, RECOVERY);
        item.insert("set_id".into(), s(&set.set_id));
        item.insert("enrolment_id".into(), s(&set.enrolment_id));
        item.insert("created_at".into(), n(set.created_at));
        let codes: BTreeSet<&String> = set.unused.iter().collect();
        item.insert(
            "codes".into(),
            AttributeValue::Ss(codes.into_iter().cloned().collect()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_err)?;
        let app = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, MFA)))
            .condition_expression("enrolment_id = :eid AND #status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":eid", s(&set.enrolment_id))
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(build_err)?;
        let account = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .condition_expression("session_epoch = :epoch")
            .expression_attribute_values(":epoch", n(epoch))
            .build()
            .map_err(build_err)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().condition_check(app).build())
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(account)
                    .build(),
            )
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // The app was reset or replaced, or the account moved on: the session is over.
            Err(e) if cancelled_conditions(&e).is_some() => Err(Error::Unauthenticated),
            Err(e) => Err(unavailable("put recovery codes")(e)),
        }
    }
}
