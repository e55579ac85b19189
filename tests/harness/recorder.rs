//! Records which AWS actions a function's clients call, by their IAM names
//! (`dynamodb:GetItem`), by wrapping the SDK's HTTP client: production code knows nothing of it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The actions called, in order, one entry per request (a transaction lists its item actions),
/// the partition key of every item written, and each request's read units.
#[derive(Clone, Debug, Default)]
pub struct Calls(
    Arc<Mutex<Vec<Vec<String>>>>,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<f64>>>,
);

impl Calls {
    /// Every distinct action called.
    pub fn actions(&self) -> BTreeSet<String> {
        self.0.lock().unwrap().iter().flatten().cloned().collect()
    }

    /// The requests made, each as the actions it needed.
    pub fn requests(&self) -> Vec<Vec<String>> {
        self.0.lock().unwrap().clone()
    }

    /// The partition key of each item written (put, updated or deleted), in order.
    pub fn written_keys(&self) -> Vec<String> {
        self.1.lock().unwrap().clone()
    }

    /// The read units of each request, in the order of `requests`, by DynamoDB's rules for
    /// small items: a strongly consistent read (GetItem, or a Query of one partition's few items)
    /// 1, an eventually consistent one half that; anything else 0.
    pub fn read_units(&self) -> Vec<f64> {
        self.2.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
        self.1.lock().unwrap().clear();
        self.2.lock().unwrap().clear();
    }

    fn record(&self, request: &HttpRequest) {
        self.0.lock().unwrap().push(iam_actions(request));
        self.1.lock().unwrap().extend(written_keys(request));
        self.2.lock().unwrap().push(read_units(request));
    }
}

/// `sdk` with every request's action recorded into `calls`.
pub fn recording(sdk: &SdkConfig, calls: &Calls) -> SdkConfig {
    let inner = sdk
        .http_client()
        .unwrap_or_else(|| shared::app::http_client().unwrap());
    sdk.to_builder()
        .http_client(Recording {
            inner,
            calls: calls.clone(),
        })
        .build()
}

#[derive(Debug)]
struct Recording {
    inner: SharedHttpClient,
    calls: Calls,
}

impl HttpClient for Recording {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            calls: self.calls.clone(),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    calls: Calls,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.calls.record(&request);
        self.inner.call(request)
    }
}

/// The IAM actions a request needs. A DynamoDB transaction is authorised per item, as the
/// item-level actions; SES v2 is a REST API, named by method and path.
pub(crate) fn iam_actions(request: &HttpRequest) -> Vec<String> {
    if let Some(target) = request.headers().get("x-amz-target") {
        let (prefix, op) = target.split_once('.').unwrap_or((target, ""));
        if prefix.starts_with("DynamoDB") {
            if op == "TransactWriteItems" {
                let body: serde_json::Value = request
                    .body()
                    .bytes()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or_default();
                return body["TransactItems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item.as_object()?.keys().next().cloned())
                    .map(|kind| match kind.as_str() {
                        "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
                        other => format!("dynamodb:{other}Item"),
                    })
                    .collect();
            }
            return vec![format!("dynamodb:{op}")];
        }
        return vec![format!("{}:{op}", prefix.to_lowercase())];
    }
    let path = request
        .uri()
        .split("://")
        .nth(1)
        .and_then(|r| r.split_once('/'))
        .map(|(_, p)| p)
        .unwrap_or("");
    match (request.method(), path) {
        ("POST", p) if p.starts_with("v2/email/outbound-emails") => vec!["ses:SendEmail".into()],
        ("GET", p) if p.starts_with("v2/email/identities/") => vec!["ses:GetEmailIdentity".into()],
        (method, p) => vec![format!("unknown:{method} /{p}")],
    }
}

fn read_units(request: &HttpRequest) -> f64 {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.split_once('.'))
        .map(|(_, op)| op);
    if !matches!(target, Some("GetItem" | "Query")) {
        return 0.0;
    }
    let body: serde_json::Value = request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    if body["ConsistentRead"] == serde_json::Value::Bool(true) {
        1.0
    } else {
        0.5
    }
}

/// The partition keys a DynamoDB write request touches.
pub(crate) fn written_keys(request: &HttpRequest) -> Vec<String> {
    let Some(target) = request.headers().get("x-amz-target") else {
        return vec![];
    };
    let body: serde_json::Value = request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let pk = |v: &serde_json::Value| {
        v.get("Item")
            .or_else(|| v.get("Key"))
            .and_then(|i| i["pk"]["S"].as_str())
            .map(str::to_owned)
    };
    match target.split_once('.').map(|(_, op)| op) {
        Some("PutItem" | "UpdateItem" | "DeleteItem") => pk(&body).into_iter().collect(),
        Some("TransactWriteItems") => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.values().next().and_then(pk))
            .collect(),
        _ => vec![],
    }
}
