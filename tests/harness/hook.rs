//! Lands a test's change at an exact point inside a request: the action runs just before the
//! first AWS request of the functions that matches, and that request waits for it. Wraps the SDK's
//! HTTP client, like the recorder: production code knows nothing of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::recorder::{iam_actions, written_keys};

type Matcher = Box<dyn Fn(&[String], &[String]) -> bool + Send + Sync>;
type Action = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Default)]
struct State {
    armed: Option<(Matcher, Action)>,
    fired: bool,
}

#[derive(Clone, Default)]
pub struct Hook(Arc<Mutex<State>>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

impl Hook {
    /// Runs `action` once, before the first request for which `when(actions, written keys)` holds
    /// (its IAM actions, `dynamodb:PutItem`, and the partition keys it writes).
    pub fn before(
        &self,
        when: impl Fn(&[String], &[String]) -> bool + Send + Sync + 'static,
        action: impl Future<Output = ()> + Send + 'static,
    ) {
        let mut s = self.0.lock().unwrap();
        s.armed = Some((Box::new(when), Box::pin(action)));
        s.fired = false;
    }

    /// Whether the action ran.
    pub fn fired(&self) -> bool {
        self.0.lock().unwrap().fired
    }

    fn take(&self, request: &HttpRequest) -> Option<Action> {
        let mut s = self.0.lock().unwrap();
        let (when, _) = s.armed.as_ref()?;
        if !when(&iam_actions(request), &written_keys(request)) {
            return None;
        }
        s.fired = true;
        s.armed.take().map(|(_, action)| action)
    }
}

/// `sdk` with its requests passing `hook` first.
pub fn through(sdk: &SdkConfig, hook: &Hook) -> SdkConfig {
    let inner = sdk
        .http_client()
        .unwrap_or_else(|| shared::app::http_client().unwrap());
    sdk.to_builder()
        .http_client(Hooked {
            inner,
            hook: hook.clone(),
        })
        .build()
}

#[derive(Debug)]
struct Hooked {
    inner: SharedHttpClient,
    hook: Hook,
}

impl HttpClient for Hooked {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(HookedConnector {
            inner: self.inner.http_connector(settings, components),
            hook: self.hook.clone(),
        })
    }
}

#[derive(Debug)]
struct HookedConnector {
    inner: SharedHttpConnector,
    hook: Hook,
}

impl HttpConnector for HookedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match self.hook.take(&request) {
            None => self.inner.call(request),
            Some(action) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    action.await;
                    inner.call(request).await
                })
            }
        }
    }
}
