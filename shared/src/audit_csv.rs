//! The audit trail as CSV (RFC 4180, written by the `csv` crate), safe to open in a spreadsheet:
//! a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return would be taken for a
//! formula (CSV injection), so it is prefixed with an apostrophe, which spreadsheets show as text.

use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::store::audit::AuditEntry;

/// A cell as a spreadsheet will read it: never a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

pub fn to_csv(entries: &[AuditEntry]) -> Result<String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(vec![]);
    let fail = |e: csv::Error| Error::Internal(format!("csv: {e}"));
    w.write_record([
        "at",
        "actor",
        "action",
        "target",
        "outcome",
        "source",
        "user_agent",
        "request_id",
        "detail",
    ])
    .map_err(fail)?;
    for e in entries {
        let at = rfc3339(e.at);
        let row = [
            &at,
            &e.actor,
            &e.action,
            &e.target,
            &e.outcome,
            &e.source,
            &e.user_agent,
            &e.request_id,
            &e.detail,
        ]
        .map(|c| neutralise(c));
        w.write_record(&row).map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(format!("csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_follows_rfc_4180() {
        let e = AuditEntry {
            at: 0,
            actor: "=HYPERLINK(\"http://evil\")".into(),
            action: "sign_in".into(),
            target: "a,b".into(),
            outcome: "+1".into(),
            source: "-2".into(),
            user_agent: "@x".into(),
            request_id: "line\nbreak".into(),
            ..Default::default()
        };
        let csv = to_csv(&[e]).unwrap();
        let mut lines = csv.split("\r\n");
        assert_eq!(
            lines.next().unwrap(),
            "at,actor,action,target,outcome,source,user_agent,request_id,detail"
        );
        let row = lines.collect::<Vec<_>>().join("\r\n");
        assert!(row.starts_with("1970-01-01T00:00:00Z,\"'=HYPERLINK(\"\"http://evil\"\")\",sign_in,\"a,b\",'+1,'-2,'@x,\"line\nbreak\","), "{row}");
    }
}
