//! Outage drills at the level of single AWS calls: from a chosen call of a request on, one service
//! (DynamoDB, SES or Secrets Manager) is unreachable, either before that call reaches it or after
//! (the call applied, its reply lost), until the drill heals it. Wraps the SDK's HTTP client, like
//! the recorder: production code knows nothing of it, and retries run as in production.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::recorder::{iam_actions, written_keys};

/// Where the outage starts relative to the call it is armed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The call never reaches the service.
    Before,
    /// The call reaches the service and is applied; its reply is lost.
    After,
}

/// One AWS request as the functions made it.
#[derive(Clone, Debug)]
pub struct Call {
    /// `dynamodb`, `ses` or `secretsmanager`.
    pub service: String,
    /// The IAM actions it needed (`dynamodb:PutItem`).
    pub actions: Vec<String>,
    /// Partition keys it writes.
    pub writes: Vec<String>,
}

impl Call {
    pub fn is_write(&self) -> bool {
        !self.writes.is_empty() || self.service == "ses"
    }
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    armed: Option<(usize, Cut)>,
    down: Option<String>,
    fired: bool,
}

#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<State>>);

impl Faults {
    /// Calls made since the last `reset`, retries included.
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().calls.clone()
    }

    /// Forgets the calls made so far: the next call is number 0.
    pub fn reset(&self) {
        let mut s = self.0.lock().unwrap();
        s.calls.clear();
        s.armed = None;
        s.down = None;
        s.fired = false;
    }

    /// The service of call number `at` (counted from the last `reset`) goes down there.
    pub fn arm(&self, at: usize, cut: Cut) {
        self.reset();
        self.0.lock().unwrap().armed = Some((at, cut));
    }

    /// Whether the call armed at was made (a request that took another path never reaches it).
    pub fn fired(&self) -> bool {
        self.0.lock().unwrap().fired
    }

    /// Takes a whole service down now.
    pub fn down(&self, service: &str) {
        self.0.lock().unwrap().down = Some(service.to_owned());
    }

    /// Ends the outage.
    pub fn heal(&self) {
        let mut s = self.0.lock().unwrap();
        s.armed = None;
        s.down = None;
    }

    /// What the connector does with `request`: pass it, refuse it, or pass it and lose the reply.
    fn decide(&self, request: &HttpRequest) -> Option<Cut> {
        let actions = iam_actions(request);
        let service = actions
            .first()
            .and_then(|a| a.split_once(':'))
            .map(|(s, _)| s.to_owned())
            .unwrap_or_default();
        let mut s = self.0.lock().unwrap();
        let n = s.calls.len();
        s.calls.push(Call {
            service: service.clone(),
            actions,
            writes: written_keys(request),
        });
        if s.down.as_deref() == Some(service.as_str()) {
            return Some(Cut::Before);
        }
        if let Some((at, cut)) = s.armed
            && at == n
        {
            s.down = Some(service);
            s.armed = None;
            s.fired = true;
            return Some(cut);
        }
        None
    }
}

/// `sdk` with its calls passing through `faults`. Retries are the production count with a short
/// backoff, so a drill that exhausts them takes milliseconds, not seconds.
pub fn through(sdk: &SdkConfig, faults: &Faults) -> SdkConfig {
    let inner = sdk
        .http_client()
        .unwrap_or_else(|| shared::app::http_client().unwrap());
    sdk.to_builder()
        .http_client(Faulty {
            inner,
            faults: faults.clone(),
        })
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build()
}

#[derive(Debug)]
struct Faulty {
    inner: SharedHttpClient,
    faults: Faults,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faults")
    }
}

impl HttpClient for Faulty {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: Faults,
}

fn outage() -> ConnectorError {
    ConnectorError::io("outage drill: connection refused".into())
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match self.faults.decide(&request) {
            None => self.inner.call(request),
            Some(Cut::Before) => HttpConnectorFuture::ready(Err(outage())),
            Some(Cut::After) => {
                let sent = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    let _ = sent.await;
                    Err(outage())
                })
            }
        }
    }
}
