//! What one complete TOTP sign-in costs in AWS requests: password step (`POST /sign-in`) and code
//! step (`POST /mfa/verify`) for an enrolled staff user, with every request recorded per function.
//! DynamoDB units follow DynamoDB's rules for items under 1 KB: a strongly consistent read or a
//! one-partition Query 1 RRU, a write 1 WRU, each item of a transaction 2 WRU. Part of `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::{Stack, address};
use shared::policy::AccountKind::*;

#[tokio::main]
async fn main() {
    let (s, calls) = Stack::recorded().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    s.set_mfa(true).await;
    let secret = s.enrol_by_email("jane").await;
    let c = s.challenge("jane").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);
    s.app.clock.advance(30);
    calls.values().for_each(|c| c.clear());

    let c = s.challenge("jane").await;
    assert_eq!(s.verify(&c, &s.code(&secret)).await.status, 200);

    let (mut rru, mut wru, mut requests) = (0.0, 0.0, 0);
    for (function, recorded) in &calls {
        let log = recorded.requests();
        if log.is_empty() {
            continue;
        }
        println!("{function}: {} AWS requests", log.len());
        for actions in &log {
            requests += 1;
            let (r, w) = match actions.as_slice() {
                [one] if one == "dynamodb:GetItem" || one == "dynamodb:Query" => (1.0, 0.0),
                [one] if one.starts_with("dynamodb:") => (0.0, 1.0),
                many if many.len() > 1 => (0.0, 2.0 * many.len() as f64),
                _ => (0.0, 0.0),
            };
            rru += r;
            wru += w;
            println!("  {}", actions.join(" + "));
        }
    }
    println!(
        "one complete TOTP sign-in: {requests} AWS requests, {rru} read request units, {wru} write request units"
    );
}
