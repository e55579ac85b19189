//! Reading the audit trail (`GET /audit`): the query checked (each filter one word, times RFC 3339,
//! a cursor this service gave, a limit of 1 to 500), then one page of the trail. The handler only
//! renders it (JSON or CSV) and links the next page.

use serde::Deserialize;

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::store::audit::{AuditEntry, AuditQuery, is_cursor};

/// `GET /audit`'s query as received.
#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    pub limit: Option<String>,
    pub user: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub cursor: Option<String>,
    pub format: Option<String>,
}

fn bad(message: &str) -> Error {
    Error::bad_request("invalid_request", message)
}

/// RFC 3339 to Unix seconds.
fn time_param(value: Option<&str>, name: &str) -> Result<Option<u64>> {
    value
        .map(|v| {
            crate::clock::parse_rfc3339(v).ok_or_else(|| {
                bad(&format!(
                    "{name} must be an RFC 3339 time, like 2026-11-29T09:00:00Z."
                ))
            })
        })
        .transpose()
}

/// A filter value: what a username, an action or an outcome can be, nothing else.
fn word_param(value: Option<String>, name: &str) -> Result<Option<String>> {
    match value {
        Some(v)
            if (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._@-+()".contains(&b)) =>
        {
            Ok(Some(v))
        }
        Some(_) => Err(bad(&format!(
            "{name} must be 1 to 64 letters, digits or ._@-+()."
        ))),
        None => Ok(None),
    }
}

/// A filter from a closed list: a value not in it is a 400 (a typo must not find nothing quietly).
fn one_of<T>(
    value: Option<&str>,
    name: &str,
    parse: fn(&str) -> Option<T>,
    as_str: fn(T) -> &'static str,
) -> Result<Option<String>> {
    value
        .map(|v| {
            parse(v).map(|w| as_str(w).to_owned()).ok_or_else(|| {
                bad(&format!(
                    "{name} is not one of the audit trail's {name}s (see /openapi.json)."
                ))
            })
        })
        .transpose()
}

/// A checked audit request: the query, and whether CSV was asked for.
pub struct AuditRequest {
    pub query: AuditQuery,
    pub csv: bool,
}

impl AuditRequest {
    pub fn parse(p: &AuditParams, now: u64) -> Result<AuditRequest> {
        let limit = match p.limit.as_deref() {
            None => 50,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| bad("limit must be a number from 1 to 500."))?,
        };
        let csv = match p.format.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(_) => return Err(bad("format must be json or csv.")),
        };
        if let Some(c) = &p.cursor
            && !is_cursor(c)
        {
            return Err(bad("cursor is not one this service gave."));
        }
        let query = AuditQuery {
            user: word_param(p.user.clone(), "user")?,
            action: one_of(p.action.as_deref(), "action", Action::parse, Action::as_str)?,
            outcome: one_of(
                p.outcome.as_deref(),
                "outcome",
                Outcome::parse,
                Outcome::as_str,
            )?,
            since: time_param(p.since.as_deref(), "since")?.unwrap_or(0),
            until: time_param(p.until.as_deref(), "until")?.unwrap_or(now),
            before: p.cursor.clone(),
            limit,
        };
        if query.since > query.until {
            return Err(bad("since must not be after until."));
        }
        Ok(AuditRequest { query, csv })
    }
}

/// One page of the trail, newest first, and the cursor of the next (older) page.
pub async fn page(app: &App, query: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<String>)> {
    app.store.audit_page(query).await
}
