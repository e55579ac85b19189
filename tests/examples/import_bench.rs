//! `mfa-admin account import` at the size of a large organisation: 10,000 rows into a fresh
//! table on the local moto, then the same file again (all unchanged). Prints the times; part of
//! `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let sdk = shared::app::sdk_config().await.unwrap();
    let suffix = std::process::id();
    let (table, secret) = (
        format!("import-bench-{suffix}"),
        format!("import-bench-keys-{suffix}"),
    );
    mfa_admin::bootstrap(&sdk, &table, &secret, None)
        .await
        .unwrap();
    let store = shared::store::Store::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let mut csv = String::from("username,kind,name_email,address_email\n");
    for i in 0..10_000 {
        let kind = if i % 50 == 0 { "sysadmin" } else { "staff" };
        writeln!(csv, "user{i:05},{kind},user{i:05}@example.org,").unwrap();
    }
    let started = Instant::now();
    let report = mfa_admin::import::import(&store, 1_796_000_000, csv.as_bytes(), false)
        .await
        .unwrap();
    let first = started.elapsed();
    assert_eq!(report.added.len(), 10_000);
    let started = Instant::now();
    let again = mfa_admin::import::import(&store, 1_796_000_000, csv.as_bytes(), false)
        .await
        .unwrap();
    assert_eq!(again.unchanged.len(), 10_000);
    println!(
        "import of 10,000 rows: {:.1} s (added 10,000); again: {:.1} s (unchanged 10,000)",
        first.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
