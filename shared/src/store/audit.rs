//! The audit trail. Entries are spread over write shards, `AUDIT#<yyyymmdd>#<shard>`, so no
//! partition key takes more than a fraction of the writes however busy the morning (DynamoDB allows
//! about 1,000 writes a second per partition key); the sort key is the time to the nanosecond plus a
//! random suffix, so reading merges the shards of a day in time order. Reads are Queries by day and
//! shard with the filters as filter expressions: never a scan. Items expire by `ttl` after the
//! configured retention. The functions' IAM may add entries and nothing else (template.yaml).

use futures_util::future::try_join_all;

use super::keys;
use super::{Item, Store, get_n, get_s, n, s, unavailable};
use crate::error::Result;
use crate::token::random_bytes;

/// Write shards per day.
pub const SHARDS: u32 = 8;
/// Days one request walks back at most; its cursor continues from where it stopped.
pub const DAYS_PER_PAGE: u64 = 31;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: u64,
    /// Orders entries within the same second.
    #[serde(skip)]
    pub at_nanos: u32,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    /// The caller's address as API Gateway saw it (or `command-line`).
    pub source: String,
    pub user_agent: String,
    pub request_id: String,
    /// For changes: what was before and what is after, as JSON.
    pub detail: String,
}

/// What to read: newest first, `limit` entries at most, older than `before` (a cursor).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub since: u64,
    pub until: u64,
    pub before: Option<String>,
    pub limit: usize,
}

/// `yyyymmdd` of a Unix time, UTC.
pub fn day_of(at: u64) -> u32 {
    let days = (at / 86_400) as i64;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y * 10_000 + m * 100 + d) as u32
}

pub fn audit_pk(at: u64, shard: u32) -> String {
    keys::audit_pk(day_of(at), shard)
}

/// The sort key: seconds and nanoseconds zero-padded (they sort as numbers do), then a random
/// suffix that keeps simultaneous entries apart and makes keys unguessable.
fn audit_sk(at: u64, nanos: u32, suffix: &str) -> String {
    format!("{at:012}.{nanos:09}#{suffix}")
}

/// Is `cursor` one of ours: a sort key, or a bare day start? (A cursor comes back from the caller.)
pub fn is_cursor(cursor: &str) -> bool {
    if cursor.len() == 12 && cursor.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    let Some((time, suffix)) = cursor.split_once('#') else {
        return false;
    };
    let Some((secs, nanos)) = time.split_once('.') else {
        return false;
    };
    secs.len() == 12
        && nanos.len() == 9
        && secs
            .bytes()
            .chain(nanos.bytes())
            .all(|b| b.is_ascii_digit())
        && suffix.len() == 12
        && suffix.bytes().all(|b| b.is_ascii_hexdigit())
}

fn entry_of(i: &Item) -> AuditEntry {
    let text = |name: &str| get_s(i, name).unwrap_or_default().to_owned();
    AuditEntry {
        at: get_n(i, "at").unwrap_or(0),
        at_nanos: 0,
        actor: text("actor"),
        action: text("action"),
        target: text("target"),
        outcome: text("outcome"),
        source: text("source"),
        user_agent: text("user_agent"),
        request_id: text("request_id"),
        detail: text("detail"),
    }
}

impl Store {
    /// Appends an entry that expires `retention_secs` after it happened. Only ever a new item: the
    /// key's random suffix is never reused.
    pub async fn append_audit(&self, entry: &AuditEntry, retention_secs: u64) -> Result<()> {
        let suffix = data_encoding::HEXLOWER.encode(&random_bytes::<6>()?);
        let shard = u32::from(random_bytes::<1>()?[0]) % SHARDS;
        let mut item = super::key(
            audit_pk(entry.at, shard),
            &audit_sk(entry.at, entry.at_nanos, &suffix),
        );
        item.insert("at".into(), n(entry.at));
        for (name, value) in [
            ("actor", &entry.actor),
            ("action", &entry.action),
            ("target", &entry.target),
            ("outcome", &entry.outcome),
            ("source", &entry.source),
            ("user_agent", &entry.user_agent),
            ("request_id", &entry.request_id),
            ("detail", &entry.detail),
        ] {
            if !value.is_empty() {
                item.insert(name.into(), s(value));
            }
        }
        item.insert("ttl".into(), n(entry.at.saturating_add(retention_secs)));
        self.put_new(item, "put audit").await
    }

    /// A page of entries matching `q`, newest first, and the cursor for the next (older) page when
    /// there may be more: the shards of each day are read in parallel and merged in time order.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<String>)> {
        let upper = match q.before.as_deref() {
            Some(c) => c.to_owned(),
            // Just past `until`: every key of that second sorts below it.
            None => format!("{:012}.999999999#~", q.until),
        };
        let lower = format!("{:012}", q.since);
        let start = upper
            .get(..12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(q.until)
            .min(q.until);
        let mut day_start = start - start % 86_400;
        let mut found: Vec<(String, AuditEntry)> = vec![];
        let mut stopped_at = None;
        for days in 1..=DAYS_PER_PAGE {
            let day = day_of(day_start);
            let shards = try_join_all(
                (0..SHARDS)
                    .map(|shard| self.audit_shard(keys::audit_pk(day, shard), &lower, &upper, q)),
            )
            .await?;
            found.extend(shards.into_iter().flatten());
            if found.len() >= q.limit || day_start <= q.since || day_start == 0 {
                break;
            }
            if days == DAYS_PER_PAGE {
                stopped_at = Some(day_start);
            }
            day_start -= 86_400;
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let next = if found.len() >= q.limit {
            found.truncate(q.limit);
            found.last().map(|(sk, _)| sk.clone())
        } else {
            // Every key of an earlier day sorts below this bare day start.
            stopped_at.map(|day| format!("{day:012}"))
        };
        Ok((found.into_iter().map(|(_, e)| e).collect(), next))
    }

    /// One shard of one day, newest first, up to `q.limit` matches (filters applied by DynamoDB).
    async fn audit_shard(
        &self,
        pk: String,
        lower: &str,
        upper: &str,
        q: &AuditQuery,
    ) -> Result<Vec<(String, AuditEntry)>> {
        let mut filters = vec![];
        let mut query = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s(lower))
            .expression_attribute_values(":hi", s(upper))
            .scan_index_forward(false);
        if let Some(user) = &q.user {
            filters.push("(actor = :user OR target = :user)");
            query = query.expression_attribute_values(":user", s(user));
        }
        if let Some(action) = &q.action {
            filters.push("#action = :action");
            query = query
                .expression_attribute_names("#action", "action")
                .expression_attribute_values(":action", s(action));
        }
        if let Some(outcome) = &q.outcome {
            filters.push("outcome = :outcome");
            query = query.expression_attribute_values(":outcome", s(outcome));
        }
        if !filters.is_empty() {
            query = query.filter_expression(filters.join(" AND "));
        }
        // Pages no longer than the answer needs: unbounded, each of a day's eight queries would
        // read a whole 1 MB page for `limit=1`. With a filter, DynamoDB counts items read, not
        // matches, so pages stay a few hundred long and the loop below reads on.
        let page = if filters.is_empty() {
            q.limit
        } else {
            q.limit.max(200)
        };
        query = query.limit(i32::try_from(page).unwrap_or(i32::MAX));
        let mut out = vec![];
        let mut pages = query.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable("query audit"))?;
            for item in page.items() {
                let Some(sk) = get_s(item, "sk") else {
                    continue;
                };
                // BETWEEN is inclusive; a cursor is exclusive.
                if sk == upper {
                    continue;
                }
                out.push((sk.to_owned(), entry_of(item)));
            }
            if out.len() >= q.limit {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), 19_700_101);
        assert_eq!(day_of(1_234_567_890), 20_090_213);
        assert_eq!(day_of(951_782_400), 20_000_229, "a leap day");
        assert_eq!(day_of(1_798_675_199), 20_261_230);
        assert_eq!(day_of(1_798_675_200), 20_261_231);
    }

    #[test]
    fn cursors_are_our_sort_keys_only() {
        assert!(is_cursor(&audit_sk(1_700_000_000, 12, "0123456789ab")));
        assert!(is_cursor("001700000000"), "a day start");
        for bad in [
            "",
            "1#2",
            "x00000000000.000000000#0123456789ab",
            "000000000001.000000000#zz",
            "0017000000001",
        ] {
            assert!(!is_cursor(bad), "{bad}");
        }
    }
}
