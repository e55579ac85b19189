//! `mfa-admin account import FILE.csv`: the organisation's directory in bulk. RFC 4180 CSV (the
//! `csv` crate), header `username,kind,name_email,address_email`, a byte-order mark allowed.
//! Every row is checked before anything is written; the report says what was (or, with
//! `--dry-run`, would be) added, updated or left unchanged, and which rows were refused and why.
//! Running it again changes nothing. Each row is one item, so no row is ever half-applied.

use std::collections::{HashMap, HashSet};

use shared::account::{Account, NewAccount, normalise_username};
use shared::email::is_valid;
use shared::policy::AccountKind;
use shared::store::Store;

use crate::AdminResult;

/// Larger files are refused whole: a directory of 10,000 staff is well under 2 MB.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct Report {
    pub added: Vec<String>,
    pub updated: Vec<(String, Vec<&'static str>)>,
    pub unchanged: Vec<String>,
    /// (line, reason)
    pub refused: Vec<(u64, String)>,
}

#[derive(Clone, Debug)]
struct Row {
    username: String,
    kind: AccountKind,
    name_email: Option<String>,
    address_email: Option<String>,
}

/// Text from the file, safe to print in one report line.
fn shown(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).take(64).collect();
    format!("{clean:?}")
}

/// Checks every row; returns the good ones and the refusals.
fn parse(bytes: &[u8]) -> (Vec<Row>, Vec<(u64, String)>) {
    let mut refused = vec![];
    if bytes.len() > MAX_FILE_BYTES {
        refused.push((
            0,
            format!(
                "the file is {} bytes; the limit is {MAX_FILE_BYTES}: nothing imported",
                bytes.len()
            ),
        ));
        return (vec![], refused);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let expected = ["username", "kind", "name_email", "address_email"];
    match reader.headers() {
        Ok(h)
            if h.iter()
                .map(str::to_lowercase)
                .eq(expected.iter().map(|s| s.to_string())) => {}
        _ => {
            refused.push((
                1,
                "the header must be exactly username,kind,name_email,address_email: nothing imported".into(),
            ));
            return (vec![], refused);
        }
    }
    let mut rows = vec![];
    let mut first_line: HashMap<String, u64> = HashMap::new();
    // Line numbers as a spreadsheet shows them: the header is line 1.
    for (line, record) in (2u64..).zip(reader.records()) {
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                refused.push((line, "not valid CSV (or not UTF-8)".into()));
                continue;
            }
        };
        if record.len() != 4 {
            refused.push((line, format!("{} fields, not 4", record.len())));
            continue;
        }
        let Some(username) = normalise_username(&record[0]) else {
            refused.push((
                line,
                format!(
                    "invalid username {}: 1-64 of letters, digits and . _ @ - +",
                    shown(&record[0])
                ),
            ));
            continue;
        };
        let Some(kind) = AccountKind::parse(&record[1].to_lowercase()) else {
            refused.push((
                line,
                format!(
                    "unknown kind {}: staff, sysadmin, member or api",
                    shown(&record[1])
                ),
            ));
            continue;
        };
        let email = |i: usize| Some(record[i].to_owned()).filter(|e| !e.is_empty());
        let (name_email, address_email) = (email(2), email(3));
        if let Some(bad) = [
            ("name_email", &name_email),
            ("address_email", &address_email),
        ]
        .into_iter()
        .find(|(_, e)| e.as_deref().is_some_and(|e| !is_valid(e)))
        {
            refused.push((
                line,
                format!(
                    "invalid {} {}",
                    bad.0,
                    shown(bad.1.as_deref().unwrap_or(""))
                ),
            ));
            continue;
        }
        if let Some(first) = first_line.get(&username) {
            refused.push((line, format!("duplicate of line {first} ({username})")));
            continue;
        }
        first_line.insert(username.clone(), line);
        rows.push(Row {
            username,
            kind,
            name_email,
            address_email,
        });
    }
    (rows, refused)
}

fn changes(row: &Row, account: &Account) -> Vec<&'static str> {
    let mut changed = vec![];
    if row.kind != account.kind {
        changed.push("kind");
    }
    if row.name_email != account.name_email {
        changed.push("name_email");
    }
    if row.address_email != account.address_email {
        changed.push("address_email");
    }
    changed
}

pub async fn import(store: &Store, now: u64, bytes: &[u8], dry_run: bool) -> AdminResult<Report> {
    let (rows, refused) = parse(bytes);
    let mut report = Report {
        refused,
        ..Default::default()
    };
    let names: Vec<String> = rows.iter().map(|r| r.username.clone()).collect();
    let existing: HashMap<String, Account> = store
        .get_profiles(&names)
        .await?
        .into_iter()
        .map(|a| (a.username.clone(), a))
        .collect();
    let mut new = vec![];
    for row in &rows {
        match existing.get(&row.username) {
            None => new.push(row.clone()),
            Some(account) => {
                let changed = changes(row, account);
                if changed.is_empty() {
                    report.unchanged.push(row.username.clone());
                } else {
                    if !dry_run {
                        store
                            .update_profile(
                                &row.username,
                                row.kind,
                                row.name_email.as_deref(),
                                row.address_email.as_deref(),
                            )
                            .await?;
                    }
                    report.updated.push((row.username.clone(), changed));
                }
            }
        }
    }
    if !dry_run {
        let accounts: Vec<NewAccount<'_>> = new
            .iter()
            .map(|r| NewAccount {
                username: &r.username,
                kind: r.kind,
                name_email: r.name_email.as_deref(),
                address_email: r.address_email.as_deref(),
                password_hash: None,
                created_at: now,
            })
            .collect();
        store.create_accounts(&accounts).await?;
    }
    let seen: HashSet<&str> = new.iter().map(|r| r.username.as_str()).collect();
    report.added = rows
        .iter()
        .filter(|r| seen.contains(r.username.as_str()))
        .map(|r| r.username.clone())
        .collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_row_is_a_line_in_the_report() {
        let csv = "\u{feff}username,kind,name_email,address_email\r\n\
                   jane,staff,jane@example.org,\r\n\
                   \"smith, john\",staff,,\r\n\
                   bob,wizard,,\r\n\
                   carl,staff,not an email,\r\n\
                   JANE,member,,\r\n\
                   dora,member,\"dora@example.org\",d2@example.org\r\n\
                   \"bad\u{7}name\",staff,,\r\n\
                   two,fields\r\n";
        let (rows, refused) = parse(csv.as_bytes());
        let names: Vec<&str> = rows.iter().map(|r| r.username.as_str()).collect();
        assert_eq!(names, ["jane", "dora"]);
        let reasons: Vec<&str> = refused.iter().map(|(_, r)| r.as_str()).collect();
        assert!(
            reasons[0].starts_with("invalid username \"smith, john\""),
            "{reasons:?}"
        );
        assert!(reasons[1].starts_with("unknown kind"));
        assert!(reasons[2].starts_with("invalid name_email"));
        assert!(reasons[3].starts_with("duplicate of line 2"), "{reasons:?}");
        assert!(
            reasons[4].starts_with("invalid username \"badname\""),
            "control characters never reach the report"
        );
        assert!(reasons[5].contains("2 fields"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_129),
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn any_file_is_read_without_panicking_and_every_row_is_accounted_for(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)
        ) {
            let mut file = b"username,kind,name_email,address_email\n".to_vec();
            file.extend(body);
            let (rows, refused) = parse(&file);
            // CR, LF and CRLF all end a record.
            let lines = file.iter().filter(|b| **b == b'\n' || **b == b'\r').count() + 1;
            proptest::prop_assert!(rows.len() + refused.len() <= lines);
        }
    }

    #[test]
    fn a_wrong_header_or_a_huge_file_imports_nothing() {
        assert!(parse(b"user,kind\nx,staff\n").0.is_empty());
        let huge = vec![b'a'; MAX_FILE_BYTES + 1];
        let (rows, refused) = parse(&huge);
        assert!(rows.is_empty());
        assert!(refused[0].1.contains("limit"));
    }
}
