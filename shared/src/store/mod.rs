//! DynamoDB storage: one table, items keyed `pk`/`sk` (docs/architecture.md has the table of item kinds).
//! Every rule that must hold under concurrency (single use, expiry, replay) is a condition on a
//! write here, never a read followed by a write.

pub mod accounts;
pub mod audit;
pub mod challenges;
pub mod enrolments;
pub mod factors;
pub mod keys;
pub mod locks;
pub mod oidc;
pub mod passkeys;
pub mod password_links;
pub mod providers;
pub mod recovery;
pub mod rollout;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod tally;

use std::collections::HashMap;
use std::fmt::Debug;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::Error;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Client,
    pub(crate) table: String,
}

impl Store {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.db
    }

    /// One item by key. Always a strongly consistent read: these reads decide who may sign in,
    /// and must see the write that came just before.
    pub(crate) async fn get(
        &self,
        key: Item,
        op: &'static str,
    ) -> crate::error::Result<Option<Item>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable(op))?;
        Ok(out.item)
    }

    /// Writes `item`, which must be new: its key is random or hashed from a fresh token, so a
    /// clash is a failure like any other, never an overwrite.
    pub(crate) async fn put_new(&self, item: Item, op: &'static str) -> crate::error::Result<()> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable(op))?;
        Ok(())
    }

    /// `put_new` as one item of a transaction.
    pub(crate) fn put_new_in_transaction(
        &self,
        item: Item,
    ) -> crate::error::Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(schema::build_err)?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(put)
            .build())
    }

    /// The items of `keys` that exist, read 100 to a request, strongly consistent.
    pub(crate) async fn batch_get(
        &self,
        keys: Vec<Item>,
        op: &'static str,
    ) -> crate::error::Result<Vec<Item>> {
        let mut found = vec![];
        for chunk in keys.chunks(100) {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(schema::build_err)?;
                let out = self
                    .db
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable(op))?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    /// Writes an item unconditionally (for items whose last write simply wins).
    pub(crate) async fn put(&self, item: Item, op: &'static str) -> crate::error::Result<()> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable(op))?;
        Ok(())
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn get_b<'a>(item: &'a Item, name: &str) -> Option<&'a [u8]> {
    item.get(name)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref())
}

/// A failed call to DynamoDB: the caller answers 503 and the details go to the log only.
pub(crate) fn unavailable<E, R>(op: &'static str) -> impl FnOnce(SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    move |e| Error::unavailable(format!("dynamodb {op}: {}", DisplayErrorContext(&e)))
}

/// Was this write refused by its condition (as opposed to failing)?
pub(crate) fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(e, SdkError::ServiceError(_))
        && e.as_service_error()
            .and_then(|se| se.code())
            .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// For a cancelled transaction: which of its items failed their condition or lost to a
/// concurrent transaction.
pub(crate) fn cancelled_conditions<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Option<Vec<bool>> {
    let se = e.as_service_error()?;
    let tce = match se {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => t,
        _ => return None,
    };
    Some(
        tce.cancellation_reasons()
            .iter()
            // A concurrent transaction on the same item is the same loss as a failed condition:
            // DynamoDB cancels one of two overlapping transactions with TransactionConflict.
            .map(|r| {
                matches!(
                    r.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            })
            .collect(),
    )
}
