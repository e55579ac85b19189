//! What one complete TOTP sign-in costs in AWS requests: password step (`POST /sign-in`) and code
//! step (`POST /mfa/verify`) for an enrolled staff user, with every request recorded per function;
//! then the same for a complete OpenID Connect sign-in (authorize, the page, password, code, token)
//! and for single sign-on at a second site (authorize with the cookie, token), with the cost per
//! million at list prices.
//! DynamoDB units follow DynamoDB's rules for items under 1 KB: a strongly consistent read or a
//! one-partition Query 1 RRU (an eventually consistent one 0.5), a write 1 WRU, each item of a
//! transaction 2 WRU. Part of `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::{Stack, address};
use shared::policy::AccountKind::*;

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

    let totp = report("one complete TOTP sign-in", &calls);

    // OpenID Connect: a confidential client, one warm-up flow (the instance reads its signing keys
    // once per 5 minutes), then the measured one.
    let client_secret = shared::flows::clients::put(
        &s.app,
        &shared::flows::guard::Actor::Operator("bench"),
        "wiki",
        shared::flows::clients::ClientSpec {
            redirect_uris: vec!["https://wiki.example.org/cb".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    let verifier = harness::PKCE_VERIFIER;
    let authorize = &format!(
        "/authorize?response_type=code&client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&scope=openid&state=s&nonce=n&code_challenge={}&code_challenge_method=S256",
        harness::PKCE_CHALLENGE
    );
    let mut cookie = String::new();
    for _ in 0..2 {
        s.app.clock.advance(30);
        calls.values().for_each(|c| c.clear());
        let r = s.get(authorize, None).await;
        let page = r.header("location").unwrap().to_owned();
        let authorization = page.split("authorization=").nth(1).unwrap().to_owned();
        assert_eq!(
            s.get(&format!("/sign-in?authorization={authorization}"), None)
                .await
                .status,
            200
        );
        let c = s
            .post(
                "/sign-in",
                serde_json::json!({ "username": "jane", "password": harness::PASSWORD, "authorization": authorization }),
            )
            .await;
        let v = s
            .verify(c.body["challenge"].as_str().unwrap(), &s.code(&secret))
            .await;
        cookie = v
            .header("set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let to = v.body["redirect_to"].as_str().unwrap();
        let code = to.split("code=").nth(1).unwrap().split('&').next().unwrap();
        let t = s
            .form(
                "/token",
                &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&code_verifier={verifier}&client_id=wiki&client_secret={client_secret}"),
            )
            .await;
        assert_eq!(t.status, 200, "{t:?}");
    }
    let oidc = report(
        "one complete OpenID Connect sign-in (authorize, page, password, code, token)",
        &calls,
    );

    calls.values().for_each(|c| c.clear());
    let req = axum::http::Request::builder()
        .uri(authorize)
        .header("cookie", &cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let r = s.raw(req).await;
    let to = r.header("location").unwrap();
    let code = to.split("code=").nth(1).unwrap().split('&').next().unwrap();
    let t = s
        .form(
            "/token",
            &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&code_verifier={verifier}&client_id=wiki&client_secret={client_secret}"),
        )
        .await;
    assert_eq!(t.status, 200);
    let sso = report(
        "single sign-on at a second site (authorize with the cookie, token)",
        &calls,
    );

    // List prices, us-east-1, arm64. Lambda compute is estimated from the CPU measured by
    // `make bench` (sign-in: argon2id; token: two RS256 signatures), scaled to the vCPU share.
    const API: f64 = 1.00;
    const LAMBDA_REQUEST: f64 = 0.20;
    const GB_SECOND: f64 = 0.0000133334 * 1e6;
    const RRU: f64 = 0.125;
    const WRU: f64 = 0.625;
    let figures = std::cell::RefCell::new(serde_json::Map::new());
    let cost = |name: &str, (requests, rru, wru): (u32, f64, f64), http: u32, gb_seconds: f64| {
        let dollars = f64::from(http) * (API + LAMBDA_REQUEST)
            + gb_seconds * GB_SECOND
            + rru * RRU
            + wru * WRU;
        println!(
            "{name}: {http} HTTP requests, {requests} AWS requests, {rru} RRU, {wru} WRU -> ${dollars:.2} per 1M \
             (API Gateway ${:.2}, Lambda ${:.2}, DynamoDB reads ${:.2}, writes ${:.2})",
            f64::from(http) * API,
            f64::from(http) * LAMBDA_REQUEST + gb_seconds * GB_SECOND,
            rru * RRU,
            wru * WRU
        );
        figures.borrow_mut().insert(
            name.to_owned(),
            serde_json::json!({
                "http_requests": http, "aws_requests": requests, "read_units": rru,
                "write_units": wru, "dollars_per_million": (dollars * 100.0).round() / 100.0,
            }),
        );
    };
    println!();
    cost("TOTP sign-in", totp, 2, 0.095 + 0.035 * 0.25);
    // authorize and token on oidc (1 GB, ~10 and ~20 ms), the page and the password on sign-in
    // (1 GB, ~5 and ~95 ms), the code on verify-code (0.25 GB, ~35 ms).
    cost(
        "OpenID Connect sign-in",
        oidc,
        5,
        0.010 + 0.005 + 0.095 + 0.035 * 0.25 + 0.020,
    );
    cost("single sign-on, second site", sso, 2, 0.010 + 0.020);
    // For the budget check (infra/bench/budget.py) and the figures page.
    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into())
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let json = serde_json::Value::Object(figures.into_inner());
    std::fs::write(
        dir.join("cost.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}

/// Prints the recorded requests per function and returns (requests, RRU, WRU).
fn report(
    name: &str,
    calls: &std::collections::BTreeMap<&'static str, harness::recorder::Calls>,
) -> (u32, f64, f64) {
    let (mut rru, mut wru, mut requests) = (0.0, 0.0, 0);
    for (function, recorded) in calls {
        let log = recorded.requests();
        if log.is_empty() {
            continue;
        }
        println!("{function}: {} AWS requests", log.len());
        for (actions, read) in log.iter().zip(recorded.read_units()) {
            requests += 1;
            let w = match actions.as_slice() {
                _ if read > 0.0 => 0.0,
                [one] if one.starts_with("dynamodb:") => 1.0,
                many if many.len() > 1 => 2.0 * many.len() as f64,
                _ => 0.0,
            };
            rru += read;
            wru += w;
            let eventually = if read == 0.5 {
                " (eventually consistent)"
            } else {
                ""
            };
            println!("  {}{eventually}", actions.join(" + "));
        }
    }
    println!(
        "{name}: {requests} AWS requests, {rru} read request units, {wru} write request units\n"
    );
    (requests, rru, wru)
}
