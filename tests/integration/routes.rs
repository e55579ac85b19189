//! The route table lives in four places: the functions' routers, `template.yaml` (API Gateway),
//! the `cargo lambda watch` router in Cargo.toml, and the OpenAPI description at `/openapi.json`.
//! This test fails when they disagree on any route: which function serves it, and whether it exists.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request};
use harness::Stack;
use serde_json::Value;

fn template_routes() -> BTreeMap<String, Vec<String>> {
    let root = env!("CARGO_MANIFEST_DIR").trim_end_matches("/tests");
    let out = std::process::Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/infra/template_facts.py"))
        .arg(format!("{root}/template.yaml"))
        .output()
        .unwrap();
    let facts: Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::from_value(facts["routes"].clone()).unwrap()
}

/// `[workspace.metadata.lambda.watch.router]`: path pattern -> function.
fn watch_router() -> Vec<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR").trim_end_matches("/tests");
    let text = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    let section = text
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .unwrap();
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((
                k.trim().trim_matches('"').to_owned(),
                v.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

/// Does the route pattern match the path? `{x}` is one segment, `{*x}` the rest.
fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (
        pattern.trim_matches('/').split('/').collect(),
        path.trim_matches('/').split('/').collect(),
    );
    for (i, seg) in p.iter().enumerate() {
        if seg.starts_with("{*") {
            return q.len() > i;
        }
        match q.get(i) {
            Some(s) if seg.starts_with('{') || seg == s => {}
            _ => return false,
        }
    }
    p.len() == q.len()
}

/// The most specific pattern that matches (most literal segments, then no catch-all).
fn best<'a>(patterns: impl Iterator<Item = (&'a str, &'a str)>, path: &str) -> Option<&'a str> {
    patterns
        .filter(|(p, _)| *p != "$default" && matches(p, path))
        .max_by_key(|(p, _)| {
            let literal = p
                .split('/')
                .filter(|s| !s.is_empty() && !s.starts_with('{'))
                .count();
            (literal, !p.contains("{*"))
        })
        .map(|(_, f)| f)
}

#[tokio::test]
async fn the_routers_the_template_the_local_router_and_openapi_agree() {
    let s = Stack::new().await;
    let r = s.get("/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = r.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (path.clone(), m.to_uppercase()))
        })
        .collect();
    let template = template_routes();
    let by_template: Vec<(&str, &str)> = template
        .iter()
        .flat_map(|(f, paths)| paths.iter().map(move |p| (p.as_str(), f.as_str())))
        .collect();
    let watch = watch_router();
    let mut problems = vec![];
    for (path, method) in &documented {
        // Concrete values for path parameters.
        let concrete = path.replace("{id}", "x1").replace("{username}", "x1");
        let Some(api_gateway) = best(by_template.iter().copied(), &concrete) else {
            problems.push(format!("{method} {path}: no route in template.yaml"));
            continue;
        };
        let local = best(
            watch.iter().map(|(p, f)| (p.as_str(), f.as_str())),
            &concrete,
        );
        if local != Some(api_gateway) {
            problems.push(format!(
                "{method} {path}: template.yaml sends it to {api_gateway}, cargo lambda watch to {local:?}"
            ));
        }
        // The function itself (through the harness, which routes like API Gateway) knows it:
        // not its JSON 404 fallback, not 405.
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&concrete)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let res = s.raw(req).await;
        let fallback = res.status == 404 && res.error() == "not_found";
        if fallback || res.status == 405 {
            problems.push(format!(
                "{method} {path}: the function answers {}",
                res.status
            ));
        }
    }
    // And nothing routed that is not described.
    let documented_paths: BTreeSet<&str> = documented.iter().map(|(p, _)| p.as_str()).collect();
    for (path, function) in &by_template {
        if *path != "$default" && !documented_paths.contains(path) {
            problems.push(format!(
                "template.yaml routes {path} to {function}; OpenAPI does not describe it"
            ));
        }
    }
    for (path, function) in &watch {
        if path != "/" && !path.contains("{*") && !documented_paths.contains(path.as_str()) {
            problems.push(format!(
                "cargo lambda watch routes {path} to {function}; OpenAPI does not describe it"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_audit_filters_published_are_the_closed_lists_and_nothing_else_is_accepted() {
    use shared::audit::{Action, Outcome};
    let s = Stack::new().await;
    let doc = s.get("/openapi.json", None).await.body;
    let params = doc["paths"]["/audit"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let published = |name: &str| -> Vec<String> {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        p["schema"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let actions: Vec<String> = Action::ALL.iter().map(|a| a.as_str().to_owned()).collect();
    let outcomes: Vec<String> = Outcome::ALL.iter().map(|o| o.as_str().to_owned()).collect();
    assert_eq!(published("action"), actions);
    assert_eq!(published("outcome"), outcomes);
    // A word outside the lists is a 400, not an empty page.
    let q = shared::flows::audit::AuditRequest::parse(
        &shared::flows::audit::AuditParams {
            action: Some("sign_inn".into()),
            ..Default::default()
        },
        0,
    );
    assert!(matches!(q, Err(shared::Error::BadRequest { .. })));
    let q = shared::flows::audit::AuditRequest::parse(
        &shared::flows::audit::AuditParams {
            outcome: Some("sucess".into()),
            ..Default::default()
        },
        0,
    );
    assert!(matches!(q, Err(shared::Error::BadRequest { .. })));
}
