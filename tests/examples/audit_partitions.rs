//! The busiest partition key at 10,000 complete sign-ins a minute, from recorded requests: one
//! complete TOTP sign-in (password, code) is run for real against moto with every write's partition key
//! recorded; then 10,000 of them spread evenly over 60 seconds are simulated by generating, for
//! each recorded write, the key the code would write at that moment (per-user keys for a user of
//! its own, audit keys from the real sharding function). Part of `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use harness::{Stack, address};
use shared::policy::AccountKind::*;

const SIGN_INS: u64 = 10_000;
const SECONDS: u64 = 60;

#[tokio::main]
async fn main() {
    let (s, calls) = Stack::recorded().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    let secret = s.enrolled("jane").await;
    calls.values().for_each(|c| c.clear());

    let c = s.challenge("jane").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
    let recorded: Vec<String> = calls.values().flat_map(|c| c.written_keys()).collect();
    let audit_writes = recorded.iter().filter(|k| k.starts_with("AUDIT#")).count();
    println!(
        "one complete sign-in writes {} items: {}",
        recorded.len(),
        recorded
            .iter()
            .map(|k| k.split('#').next().unwrap_or(k).to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 10,000 sign-ins, each by its own user, evenly over a minute.
    let start = 1_796_000_000u64;
    let mut per_key_second: HashMap<(String, u64), u64> = HashMap::new();
    let mut shard = 0u32;
    for i in 0..SIGN_INS {
        let at = start + i * SECONDS / SIGN_INS;
        for key in &recorded {
            let simulated = if key.starts_with("AUDIT#") {
                // The code picks a shard at random per entry; a round robin is its average.
                shard = (shard + 1) % shared::store::audit::SHARDS;
                shared::store::audit::audit_pk(at, shard)
            } else {
                // Every other key written by a sign-in belongs to that user, challenge or session.
                format!("{key}#user{i}")
            };
            *per_key_second.entry((simulated, at)).or_default() += 1;
        }
    }
    let ((busiest, _), most) = per_key_second
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, n)| (k.clone(), *n))
        .unwrap();
    println!(
        "10,000 sign-ins in a minute: {} writes, {audit_writes} audit entries per sign-in over {} shards a day; busiest partition key {busiest}: {most} writes/s (DynamoDB allows 1,000; budget 500)",
        SIGN_INS * recorded.len() as u64,
        shared::store::audit::SHARDS,
    );
    assert!(
        most < 500,
        "the busiest partition key takes {most} writes/s"
    );
}
