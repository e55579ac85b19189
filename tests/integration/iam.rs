//! template.yaml's least privilege, checked against what the code really calls: every function
//! runs a tour of its routes with recording clients, and its policy must name exactly the actions
//! it called, no more and no fewer.

use std::collections::{BTreeMap, BTreeSet};

use harness::{PASSWORD, Stack, address};
use serde_json::{Value, json};
use shared::policy::AccountKind::*;

fn template_facts() -> Value {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = std::process::Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/infra/template_facts.py"))
        .arg(format!("{root}/template.yaml"))
        .output()
        .expect("the pinned tools in .venv (make test installs them)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn each_function_policy_names_exactly_the_actions_its_code_calls() {
    let (s, calls) = Stack::recorded().await;
    s.add("admin", Sysadmin, Some(&address("admin")), None)
        .await;
    s.add("jane", Staff, Some(&address("jane")), None).await;
    s.add("api1", Api, None, None).await;
    s.set_mfa(true).await;

    // sign-in, setup-email, verify-code: a failed password, the first sign-in with a wrong and a
    // right code (activation mail), and ten wrong codes (the account lock).
    s.sign_in("jane", "wrong password 123").await;
    let secret = s.enrol_by_email("admin").await;
    let c = s.challenge("admin").await;
    let wrong = if s.code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    s.verify(&c, wrong).await;
    let admin = s.verify(&c, &s.code(&secret)).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..10 {
        let c = s.challenge("jane").await;
        s.verify(&c, "000000").await;
    }
    let api = s
        .form(
            "/token",
            "grant_type=password&username=api1&password=correct+horse+battery+staple",
        )
        .await;
    let api = api.body["access_token"].as_str().unwrap().to_owned();
    s.app.clock.advance(61);
    assert_eq!(s.get("/session", Some(&api)).await.status, 200);
    assert_eq!(
        s.send(axum::http::Method::POST, "/sign-out", None, Some(&api))
            .await
            .status,
        204
    );
    s.post(
        "/sign-in/federated",
        json!({ "provider": "nobody", "id_token": "x.y.z" }),
    )
    .await;

    // settings: every route.
    let put = async |path: &str, body: Value| {
        s.send(axum::http::Method::PUT, path, Some(&body), Some(&admin))
            .await
    };
    assert_eq!(s.get("/settings", Some(&admin)).await.status, 200);
    assert_eq!(
        put("/settings", json!({ "org_name": "Tour" })).await.status,
        200
    );
    assert_eq!(
        s.get("/settings/mfa-readiness", Some(&admin)).await.status,
        200
    );
    let jwks = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] });
    let provider =
        json!({ "kind": "sso", "issuer": "https://idp.example", "audience": "a", "jwks": jwks });
    assert_eq!(put("/settings/providers/corp", provider).await.status, 200);
    let reset = s
        .send(
            axum::http::Method::POST,
            "/accounts/jane/mfa/reset",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(reset.status, 204);
    let unlock = s
        .send(
            axum::http::Method::POST,
            "/accounts/jane/unlock",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(unlock.status, 204);
    assert_eq!(s.get("/audit?limit=5", Some(&admin)).await.status, 200);
    // verify-code: a step-up code for the admin session.
    s.app.clock.advance(30);
    let again = s
        .post_as(
            &admin,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&secret) }),
        )
        .await;
    assert_eq!(again.status, 200, "{again:?}");

    // setup-email when SES refuses: the pending enrolment is withdrawn.
    put(
        "/settings",
        json!({ "org_default_email": address("unverified") }),
    )
    .await;
    s.app.clock.advance(15 * 60);
    let c = s.challenge("jane").await;
    assert_eq!(
        s.post("/mfa/setup-email", json!({ "challenge": c }))
            .await
            .status,
        503
    );

    let facts = template_facts();
    let mut mismatches = BTreeMap::new();
    for (function, recorded) in &calls {
        let called = recorded.actions();
        let allowed: BTreeSet<String> = facts["functions"][*function]
            .as_array()
            .unwrap_or_else(|| panic!("template.yaml has no function with Binary: {function}"))
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let missing: Vec<_> = called.difference(&allowed).cloned().collect();
        let unused: Vec<_> = allowed.difference(&called).cloned().collect();
        if !missing.is_empty() || !unused.is_empty() {
            mismatches.insert(
                *function,
                json!({ "called_but_not_allowed": missing, "allowed_but_not_called": unused }),
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "template.yaml policies differ from the code: {mismatches:#?}"
    );
}

#[tokio::test]
async fn the_template_table_is_the_one_bootstrap_creates() {
    let facts = template_facts();
    let table = &facts["table"];
    let keys = |k: &[(&str, &str, &str)]| {
        json!(
            k.iter()
                .map(|(n, t, r)| json!([n, t, r]))
                .collect::<Vec<_>>()
        )
    };
    use shared::store::schema::{GSI1, GSI1_KEYS, KEYS, TTL_ATTRIBUTE};
    assert_eq!(table["keys"], keys(&KEYS));
    assert_eq!(table["indexes"], json!({ GSI1: keys(&GSI1_KEYS) }));
    assert_eq!(table["ttl"], TTL_ATTRIBUTE);
    assert_eq!(table["billing"], "PAY_PER_REQUEST");

    // And bootstrap really creates that on the local stack.
    let s = Stack::new().await;
    let described = s
        .app
        .store
        .client()
        .describe_table()
        .table_name(&s.table)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    let got: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("pk".to_owned(), "HASH".to_owned()),
            ("sk".to_owned(), "RANGE".to_owned())
        ]
    );
    assert_eq!(t.global_secondary_indexes().len(), 1);
    let _ = PASSWORD;
}

#[test]
fn every_table_secret_and_key_survives_stack_deletion_and_replacement() {
    let facts = template_facts();
    let stateful = facts["stateful"].as_object().unwrap();
    assert!(stateful.len() >= 2, "{stateful:?}");
    for (name, kept) in stateful {
        assert_eq!(kept["deletion"], "Retain", "{name}: DeletionPolicy");
        assert_eq!(kept["replace"], "Retain", "{name}: UpdateReplacePolicy");
    }
}
