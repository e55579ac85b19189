//! The metric lines a run of the local stack wrote, checked as CloudWatch will read them: every
//! line of `cargo lambda watch`'s log that carries `_aws` must be a well-formed embedded-metric
//! document with documented metrics and dimensions (`shared::metrics::check`), and the run must
//! have written the request lines and the sign-in, code and token counts. Run by `infra/e2e.sh`
//! after the browser suites and the load run: `cargo run --example emf_check -- LOG`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

fn main() {
    let path = std::env::args().nth(1).expect("usage: emf_check LOG");
    let log = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut bad = vec![];
    for line in log.lines() {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if doc.get("_aws").is_none() {
            continue;
        }
        match shared::metrics::check(&doc) {
            Ok(()) => {
                let directives = doc["_aws"]["CloudWatchMetrics"].as_array().cloned();
                for m in directives
                    .into_iter()
                    .flatten()
                    .flat_map(|d| d["Metrics"].as_array().cloned().unwrap_or_default())
                {
                    *seen
                        .entry(m["Name"].as_str().unwrap_or("").to_owned())
                        .or_default() += 1;
                }
            }
            Err(e) => bad.push(e),
        }
    }
    println!("EMF lines by metric: {seen:?}");
    for e in bad.iter().take(5) {
        eprintln!("malformed metric line: {e}");
    }
    let missing: Vec<&str> = [
        "Requests",
        "Latency",
        "SignIns",
        "CodesAccepted",
        "TokensIssued",
    ]
    .into_iter()
    .filter(|m| !seen.contains_key(*m))
    .collect();
    if !missing.is_empty() {
        eprintln!("no metric line for {missing:?}");
    }
    if !bad.is_empty() || !missing.is_empty() {
        std::process::exit(1);
    }
}
