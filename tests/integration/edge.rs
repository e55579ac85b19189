//! What every function answers at its edge: 404, 405, 400, 413 as JSON, and the headers.

use axum::body::Body;
use axum::http::{Method, Request};
use harness::Stack;
use serde_json::json;

#[tokio::test]
async fn unknown_path_is_a_404_json_error() {
    let s = Stack::new().await;
    let r = s.get("/no-such-route", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
    assert!(r.body["message"].is_string());
}

#[tokio::test]
async fn wrong_method_is_a_405_json_error() {
    let s = Stack::new().await;
    let r = s.send(Method::DELETE, "/sign-in", None, None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error(), "method_not_allowed");
}

#[tokio::test]
async fn oversized_body_is_a_413_json_error() {
    let s = Stack::new().await;
    let big = json!({ "username": "x".repeat(20_000), "password": "y" });
    let r = s.post("/sign-in", big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error(), "payload_too_large");
}

#[tokio::test]
async fn malformed_json_missing_fields_and_wrong_types_are_400() {
    let s = Stack::new().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sign-in")
        .body(Body::from("{not json"))
        .unwrap();
    let r = s.raw(req).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    let r = s.post("/sign-in", json!({ "username": "a" })).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    let r = s
        .post("/sign-in", json!({ "username": 5, "password": "p" }))
        .await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn auth_answers_are_not_cached_and_pages_are_not_framed() {
    let s = Stack::new().await;
    let r = s.sign_in("nobody", "whatever password").await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let page = s.get("/sign-in", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(page.text.contains("I don't have a security code"));
}

#[tokio::test]
async fn bodies_that_are_not_utf8_or_not_declared_json_are_a_json_400() {
    let s = Stack::new().await;
    // Bytes a fuzzer sends (schemathesis's first run): API Gateway passes them base64-encoded.
    for path in [
        "/sign-in",
        "/mfa/verify",
        "/password/forgot",
        "/sign-in/federated/nonce",
    ] {
        let req = axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(vec![0xff, 0xfe, 0x0c, 0x80]))
            .unwrap();
        let r = s.raw(req).await;
        assert_eq!((r.status, r.error()), (400, "invalid_request"), "{path}");
    }
    // JSON sent as text/plain (what a cross-site form can send) is refused.
    let req = axum::http::Request::post("/sign-in")
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(
            json!({ "username": "a", "password": "b" }).to_string(),
        ))
        .unwrap();
    let r = s.raw(req).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn the_front_door_leads_to_the_sign_in_page() {
    let s = Stack::new().await;
    let r = s.get("/", None).await;
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some("/sign-in"));
}
