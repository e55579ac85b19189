//! Readiness at scale: seeds N staff accounts (default 10,000; `STAFF=n` to change) into a fresh
//! table on the local stack, counts them from scratch as the schedule does (timed, with the
//! DynamoDB read units it consumed), then times what the console's overview asks: the readiness
//! report and the rollout's figures with its first page of people without an app. Run with
//! `make bench-readiness`.
//!
//! The seed mix: 60 % enrolled, 10 % pending, 30 % not enrolled; of all, 5 % have an invalid
//! Name.Email and 5 % no email (all among the not enrolled); plus 2,000 members the report must
//! not read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use harness::Stack;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("STAFF")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // moto answers a page of an index query far slower than DynamoDB (it walks the whole table
    // in Python), so the service's 2 s attempt timeout is lifted here.
    let sdk = shared::app::sdk_config()
        .await
        .unwrap()
        .to_builder()
        .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
        .build();
    let stack = Stack::with_sdk(sdk.clone(), sdk).await;
    let db = stack.app.store.client().clone();
    let started = Instant::now();
    let mut requests = vec![];
    for i in 0..n + n / 5 {
        let user = format!("user{i:06}");
        let staff = i < n;
        let mut profile = std::collections::HashMap::from([
            ("pk".to_owned(), s(format!("ACCOUNT#{user}"))),
            ("sk".to_owned(), s("PROFILE")),
            ("username".to_owned(), s(&user)),
            ("kind".to_owned(), s(if staff { "staff" } else { "member" })),
            ("session_epoch".to_owned(), AttributeValue::N("0".into())),
        ]);
        // Defects fall on accounts that are not enrolled (i % 10 is 7 or 8 there), where they count.
        match i % 20 {
            7 => {}
            8 => drop(profile.insert("name_email".into(), s("not-an-address"))),
            _ => drop(profile.insert("name_email".into(), s(format!("{user}@example.org")))),
        }
        if staff {
            profile.insert("gsi1pk".into(), s("STAFF"));
            profile.insert("gsi1sk".into(), s(&user));
        }
        requests.push(profile);
        if staff && i % 10 < 7 {
            let status = if i % 10 < 6 { "active" } else { "pending" };
            requests.push(std::collections::HashMap::from([
                ("pk".to_owned(), s(format!("ACCOUNT#{user}"))),
                ("sk".to_owned(), s("MFA")),
                ("status".to_owned(), s(status)),
                ("enrolment_id".to_owned(), s("bench")),
                ("secret".to_owned(), AttributeValue::B(vec![1u8; 49].into())),
                ("gsi1pk".to_owned(), s("ENROLMENT")),
                ("gsi1sk".to_owned(), s(&user)),
            ]));
        }
    }
    let items = requests.len();
    stack.put_raw(&requests).await;
    println!(
        "seeded {items} items ({n} staff) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The count from scratch (the schedule's, every minute): the directory read in full.
    let t = Instant::now();
    let tally = shared::flows::tally::recount(&stack.app).await.unwrap();
    let counted_ms = t.elapsed().as_secs_f64() * 1000.0;

    // What the console's overview asks: the readiness report and the rollout's first page.
    let mut times = vec![];
    let mut report = None;
    for _ in 0..5 {
        let t = Instant::now();
        let (r, p) = tokio::try_join!(
            shared::flows::admin::readiness(&stack.app),
            shared::flows::rollout::progress(&stack.app, None, 25)
        )
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        report = Some((r, p));
    }
    times.sort_by(f64::total_cmp);
    let (r, p) = report.unwrap();
    let t = &r.tally;
    println!(
        "readiness over {} staff: enrolled {}, pending {}, not enrolled {}, cannot receive mail {}; first page of those without an app: {} (more: {})",
        t.enrolled + t.pending + t.not_enrolled,
        t.enrolled,
        t.pending,
        t.not_enrolled,
        t.cannot_mail_total,
        p.not_enrolled.len(),
        p.next.is_some()
    );
    assert_eq!(t.enrolled + t.pending + t.not_enrolled, n);
    println!(
        "overview (readiness and rollout progress): median {:.0} ms, min {:.0} ms, max {:.0} ms (5 runs, against moto on loopback)",
        times[2], times[0], times[4]
    );
    println!(
        "count from scratch (the schedule's, once a minute): {counted_ms:.0} ms; read units as moto reports them: {:.1}",
        tally.read_units
    );

    // moto's consumed-capacity figures for queries are not DynamoDB's, so also apply DynamoDB's
    // rule to what the report reads: per page, the items' bytes rounded up to 4 KB units, halved
    // for an eventually consistent index read.
    let mut units = 0.0;
    let mut bytes = 0usize;
    for partition in ["STAFF", "ENROLMENT", "LOCKED"] {
        let mut pages = db
            .query()
            .table_name(&stack.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(partition))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page_bytes: usize = page.unwrap().items().iter().map(item_size).sum();
            bytes += page_bytes;
            units += (page_bytes.div_ceil(4096)) as f64 * 0.5;
        }
    }
    println!(
        "the count from scratch, by DynamoDB's rule: {units:.1} read units ({:.2} MB read; at DynamoDB's ~1 MB per page the three queries need {} pages, run in parallel)",
        bytes as f64 / 1e6,
        bytes.div_ceil(1 << 20).max(3)
    );
}

/// An item's size as DynamoDB counts it: attribute names plus values.
fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                    AttributeValue::B(b) => b.as_ref().len(),
                    _ => 1,
                }
        })
        .sum()
}
