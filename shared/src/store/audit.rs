//! The audit log: one item per event under the `AUDIT` partition, sorted by time so that the
//! newest come first from a Query (no scan). Every entry is also a structured log line.

use super::{Store, get_n, get_s, key, n, s, unavailable};
use crate::error::Result;
use crate::token::random_bytes;

const AUDIT: &str = "AUDIT";

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: u64,
    /// Orders entries within the same second.
    #[serde(skip)]
    pub at_nanos: u32,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
}

impl Store {
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        let suffix = data_encoding::HEXLOWER.encode(&random_bytes::<6>()?);
        // Zero-padded seconds and nanoseconds sort as numbers do, so a Query returns entries in
        // time order; the random suffix keeps simultaneous entries apart.
        let mut item = key(
            AUDIT,
            &format!("{:012}.{:09}#{suffix}", entry.at, entry.at_nanos),
        );
        item.insert("at".into(), n(entry.at));
        item.insert("actor".into(), s(&entry.actor));
        item.insert("action".into(), s(&entry.action));
        item.insert("target".into(), s(&entry.target));
        item.insert("outcome".into(), s(&entry.outcome));
        self.put(item, "put audit").await
    }

    /// The newest `limit` entries, newest first.
    pub async fn recent_audit(&self, limit: i32) -> Result<Vec<AuditEntry>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(AUDIT))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(unavailable("query audit"))?;
        Ok(out
            .items()
            .iter()
            .map(|i| AuditEntry {
                at: get_n(i, "at").unwrap_or(0),
                at_nanos: 0,
                actor: get_s(i, "actor").unwrap_or_default().to_owned(),
                action: get_s(i, "action").unwrap_or_default().to_owned(),
                target: get_s(i, "target").unwrap_or_default().to_owned(),
                outcome: get_s(i, "outcome").unwrap_or_default().to_owned(),
            })
            .collect())
    }
}
