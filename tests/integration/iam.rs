//! template.yaml's least privilege, checked against what the code really calls: every function
//! runs a tour of its routes with recording clients, and its policy must name exactly the actions
//! it called, no more and no fewer. And the audit trail: no role may change or delete an entry in
//! the table, and each may only add to its own log group, which keeps the record.

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
    let kay_email = address("kay");
    s.add("kay", Member, Some(&kay_email), None).await;
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
    assert_eq!(s.get("/settings/providers", Some(&admin)).await.status, 200);
    let nonce = s
        .post("/sign-in/federated/nonce", json!({ "provider": "corp" }))
        .await;
    assert_eq!(nonce.status, 200, "{nonce:?}");
    assert_eq!(s.get("/sign-in/federated/corp", None).await.status, 404);
    assert_eq!(
        s.get("/sign-in/federated/corp/callback?state=x&code=y", None)
            .await
            .status,
        401
    );
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
    // sign-in: "Forgot your password?" (mail), the page, and a reset; settings: disable, enable,
    // delete.
    assert_eq!(
        s.post("/password/forgot", json!({ "username": "kay" }))
            .await
            .status,
        202
    );
    let mail = harness::latest_mail_to(&kay_email).unwrap();
    let start = mail.body.find("token=").unwrap() + 6;
    let token: String = mail.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(
        s.get(&format!("/password/reset?token={token}"), None)
            .await
            .status,
        200
    );
    let reset = s
        .post(
            "/password/reset",
            json!({ "token": token, "password": "another long passphrase" }),
        )
        .await;
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_eq!(s.get("/accounts?limit=2", Some(&admin)).await.status, 200);
    for path in ["/accounts/api1/disable", "/accounts/api1/enable"] {
        assert_eq!(
            s.send(axum::http::Method::POST, path, None, Some(&admin))
                .await
                .status,
            204
        );
    }
    assert_eq!(
        s.send(
            axum::http::Method::DELETE,
            "/accounts/api1",
            None,
            Some(&admin)
        )
        .await
        .status,
        204
    );
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
    // verify-code: a set of recovery codes, and a sign-in with one (its notice mail).
    let codes = s.post_as(&admin, "/mfa/recovery-codes", json!({})).await;
    assert_eq!(codes.status, 200, "{codes:?}");
    assert_eq!(s.get("/mfa/recovery-codes", Some(&admin)).await.status, 200);
    let c = s.challenge("admin").await;
    let r = s
        .post(
            "/mfa/verify",
            json!({ "challenge": c, "recovery_code": codes.body["codes"][0] }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // settings: clients.
    let client = s
        .send(
            axum::http::Method::POST,
            "/settings/clients",
            Some(&json!({ "client_id": "wiki", "redirect_uris": ["https://wiki.example.org/cb"] })),
            Some(&admin),
        )
        .await;
    assert_eq!(client.status, 201, "{client:?}");
    let client_secret = client.body["client_secret"].as_str().unwrap().to_owned();
    let client = put(
        "/settings/clients/wiki",
        json!({ "redirect_uris": ["https://wiki.example.org/cb"], "home_url": "https://wiki.example.org/" }),
    )
    .await;
    assert_eq!(client.status, 200, "{client:?}");
    assert_eq!(s.get("/settings/clients", Some(&admin)).await.status, 200);

    // oidc: discovery, keys, authorize (to the sign-in page), the code flow through sign-in and
    // verify-code, token, refresh, userinfo, end-session; sign-in: the sites list.
    assert_eq!(
        s.get("/.well-known/openid-configuration", None)
            .await
            .status,
        200
    );
    assert_eq!(s.get("/jwks.json", None).await.status, 200);
    let verifier = harness::PKCE_VERIFIER;
    let authorize = &format!(
        "/authorize?response_type=code&client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&scope=openid%20email&state=s&code_challenge={}&code_challenge_method=S256",
        harness::PKCE_CHALLENGE
    );
    let r = s.get(authorize, None).await;
    let to = r.header("location").unwrap().to_owned();
    let authorization = to.split("authorization=").nth(1).unwrap().to_owned();
    assert_eq!(
        s.get(&format!("/sign-in?authorization={authorization}"), None)
            .await
            .status,
        200
    );
    let c = s
        .post(
            "/sign-in",
            json!({ "username": "admin", "password": PASSWORD, "authorization": authorization }),
        )
        .await;
    s.app.clock.advance(30);
    let v = s
        .verify(c.body["challenge"].as_str().unwrap(), &s.code(&secret))
        .await;
    let redirect = v.body["redirect_to"].as_str().unwrap().to_owned();
    let code = redirect
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let tokens = s
        .form(
            "/token",
            &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&code_verifier={verifier}&client_id=wiki&client_secret={client_secret}"),
        )
        .await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let refreshed = s
        .form(
            "/token",
            &format!(
                "grant_type=refresh_token&refresh_token={}&client_id=wiki&client_secret={client_secret}",
                tokens.body["refresh_token"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let access = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(s.get("/userinfo", Some(access)).await.status, 200);
    // A reused code revokes the family it issued; the user's sign-in lives on.
    s.form(
        "/token",
        &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fwiki.example.org%2Fcb&code_verifier={verifier}&client_id=wiki&client_secret={client_secret}"),
    )
    .await;
    assert_eq!(s.get("/userinfo", Some(access)).await.status, 200);
    assert_eq!(s.get("/sign-in/sites", Some(&admin)).await.status, 200);
    // Logout from the browser that holds the session's cookie ends it.
    let cookie = v
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let hint = refreshed.body["id_token"].as_str().unwrap();
    let logout = s
        .raw(
            axum::http::Request::builder()
                .uri(format!("/end-session?id_token_hint={hint}"))
                .header(axum::http::header::COOKIE, cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(logout.status, 200);
    assert_eq!(s.get("/userinfo", Some(access)).await.status, 401);
    let rotated = s
        .send(
            axum::http::Method::POST,
            "/settings/clients/wiki/secret",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(rotated.status, 200);
    let removed = s
        .send(
            axum::http::Method::DELETE,
            "/settings/clients/wiki",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(removed.status, 204);
    let removed = s
        .send(
            axum::http::Method::DELETE,
            "/settings/providers/corp",
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(removed.status, 204);

    // settings: the rollout campaign, and its schedule (EventBridge runs it in this function).
    s.app.clock.advance(30);
    let again = s
        .post_as(
            &admin,
            "/mfa/reauthenticate",
            json!({ "code": s.code(&secret) }),
        )
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    let started = s
        .send(
            axum::http::Method::POST,
            "/settings/campaign",
            Some(&json!({ "reminder_days": 1 })),
            Some(&admin),
        )
        .await;
    assert_eq!(started.status, 202, "{started:?}");
    assert_eq!(s.get("/settings/campaign", Some(&admin)).await.status, 200);
    s.tick().await;

    // setup-email when SES refuses: the pending enrolment is withdrawn.
    let unverified = put(
        "/settings",
        json!({ "org_default_email": address("unverified") }),
    )
    .await;
    assert_eq!(unverified.status, 200, "{unverified:?}");
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

#[test]
fn no_function_can_change_delete_or_aim_at_an_audit_entry() {
    let facts = template_facts();
    let audit = facts["audit"].as_object().unwrap();
    assert_eq!(audit.len(), 5, "{audit:?}");
    for (function, may) in audit {
        assert_eq!(may["PutItem"], true, "{function} must add entries");
        assert_eq!(
            may["UpdateItem"], false,
            "{function} may change an audit entry"
        );
        assert_eq!(
            may["DeleteItem"], false,
            "{function} may delete an audit entry"
        );
        for action in ["BatchWriteItem", "PartiQLUpdate", "PartiQLDelete"] {
            assert_eq!(
                may[action], false,
                "{function} may {action}: change or delete an audit entry"
            );
        }
        let reads = function == "settings";
        assert_eq!(may["Query"], reads, "{function}: reading the trail");
        assert_eq!(may["GetItem"], reads, "{function}: reading an entry");
    }
}

/// The longest audit retention the settings allow (`audit_retention_days`: 30 to 3650 days, in
/// shared/src/flows/admin.rs; `the_longest_audit_retention_is_what_the_settings_allow` holds the
/// code to it). The log groups hold the audit record, so they must keep it at least this long.
const LONGEST_AUDIT_RETENTION_DAYS: u32 = 3650;

/// The log groups are the audit record (docs/security.md, "Audit trail"): a function's role may add lines
/// to its own log group, and nothing else: no other group, no deleting a group or a stream, no
/// retention change, no subscription or export that sends lines away, no key or policy change.
#[test]
fn each_function_may_only_add_to_its_own_log_group() {
    let facts = template_facts();
    let logs = facts["logs"].as_object().unwrap();
    assert_eq!(logs.len(), 5, "{logs:?}");
    let groups = facts["log_groups"].as_object().unwrap();
    let mut owners = BTreeMap::new();
    for (function, role) in logs {
        let group = role["group"].as_str().unwrap_or_else(|| {
            panic!("{function}: no log group of its own (LoggingConfig: LogGroup)")
        });
        assert!(
            groups.contains_key(group),
            "{function}: {group} is not a log group of the template"
        );
        if let Some(other) = owners.insert(group.to_owned(), function.clone()) {
            panic!("{function} and {other} share the log group {group}");
        }
        assert_eq!(
            role["managed_policies"],
            json!([]),
            "{function}: managed policies (SAM's AWSLambdaBasicExecutionRole may create and write every log group)"
        );
        assert_eq!(
            role["wildcards"],
            json!([]),
            "{function}: wildcard actions cover CloudWatch Logs"
        );
        assert_eq!(
            role["not_action"], false,
            "{function}: NotAction or NotResource"
        );
        let own = json!([format!("{group}.Arn")]);
        for (action, resources) in role["may"].as_object().unwrap() {
            match action.as_str() {
                "CreateLogStream" | "PutLogEvents" => assert_eq!(
                    resources, &own,
                    "{function}: {action} on its own log group ({group}) only"
                ),
                _ => assert_eq!(
                    resources,
                    &json!([]),
                    "{function} may {action} on {resources}"
                ),
            }
        }
    }
}

/// Every log group outlives the table's copy of any entry, survives the stack and is protected
/// from deletion. 3653 days is the template's choice (the longest finite retention CloudWatch
/// offers); leaving the retention out (never expire) would pass too.
#[test]
fn every_log_group_is_retained_at_least_as_long_as_the_longest_audit_retention() {
    let facts = template_facts();
    let groups = facts["log_groups"].as_object().unwrap();
    assert_eq!(groups.len(), 5, "{groups:?}");
    for (name, group) in groups {
        assert_eq!(group["deletion"], "Retain", "{name}: DeletionPolicy");
        assert_eq!(group["replace"], "Retain", "{name}: UpdateReplacePolicy");
        assert_eq!(
            group["deletion_protection"], true,
            "{name}: DeletionProtectionEnabled"
        );
        // null: never expires.
        if let Some(days) = group["retention_days"].as_u64() {
            assert!(
                days >= u64::from(LONGEST_AUDIT_RETENTION_DAYS),
                "{name}: kept {days} days, but audit entries may be kept {LONGEST_AUDIT_RETENTION_DAYS}"
            );
        }
    }
}

#[tokio::test]
async fn the_longest_audit_retention_is_what_the_settings_allow() {
    use shared::flows::admin::{SettingsChange, change_settings};
    use shared::flows::guard::Actor;
    let s = Stack::new().await;
    let set = async |days: u32| {
        change_settings(
            &s.app,
            &Actor::Operator("iam-test"),
            SettingsChange {
                audit_retention_days: Some(days),
                ..Default::default()
            },
        )
        .await
    };
    assert!(set(LONGEST_AUDIT_RETENTION_DAYS).await.is_ok());
    assert!(
        set(LONGEST_AUDIT_RETENTION_DAYS + 1).await.is_err(),
        "the settings allow a longer audit retention than LONGEST_AUDIT_RETENTION_DAYS"
    );
}

/// Every alarm on our own metrics watches a metric the functions write, under a dimension set
/// they write it with (`shared::metrics::DOCUMENTED`): an alarm on a name nothing writes would
/// never fire, or, treating missing data as breaching, never stop.
#[test]
fn every_alarm_watches_a_metric_the_functions_write() {
    let facts = template_facts();
    let alarms = facts["alarms"].as_object().unwrap();
    assert!(alarms.len() >= 4, "{alarms:?}");
    for (name, alarm) in alarms {
        let metric = alarm["metric"].as_str().unwrap();
        let dimensions: Vec<&str> = alarm["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let written = shared::metrics::DOCUMENTED
            .iter()
            .find(|(m, _)| *m == metric)
            .unwrap_or_else(|| panic!("{name} watches {metric}, which nothing writes"));
        assert!(
            written.1.contains(&dimensions.as_slice()),
            "{name} watches {metric} by {dimensions:?}, which is not how it is written"
        );
    }
}
