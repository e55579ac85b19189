//! Start-up shared by the five binaries: JSON logs, configuration, clients and keys once per cold
//! start, then the Lambda loop. A bad configuration ends the cold start with a message naming it;
//! an unreachable Secrets Manager does not (see `start`).

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use tokio::sync::OnceCell;
use tower::ServiceExt;

use crate::app::{App, Preload, function_sdk_config};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .try_init();
}

/// The start of every cold start: JSON logs, the configuration, the AWS settings. A bad
/// configuration ends it with a message naming the variable.
async fn configure() -> Result<(Config, SdkConfig), lambda_http::Error> {
    init_tracing();
    let config = Config::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed: configuration");
        eprintln!("cold start failed: {e}");
    })?;
    let sdk = function_sdk_config().await.inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed: AWS configuration");
    })?;
    Ok((config, sdk))
}

/// `preload`: what the function's first request needs, read during init beside the keys.
pub async fn run(build: fn(App) -> Router, preload: Preload) -> Result<(), lambda_http::Error> {
    let (config, sdk) = configure().await?;
    let router = start(config, sdk, Clock::system(), build, preload)
        .await
        .inspect_err(|e| tracing::error!(error = ?e, "cold start failed: keys or clients"))?;
    lambda_http::run(router).await
}

/// What a function does when its schedule fires.
pub type OnSchedule =
    fn(App) -> futures_util::future::BoxFuture<'static, Result<serde_json::Value>>;

/// `run`, for a function that also runs on a schedule: EventBridge's scheduled events go to
/// `on_schedule`, everything else to the router. API Gateway cannot send a scheduled event (what
/// it sends is always a request in its own envelope), so nobody on the internet can fire one.
pub async fn run_scheduled(
    build: fn(App) -> Router,
    preload: Preload,
    on_schedule: OnSchedule,
) -> Result<(), lambda_http::Error> {
    let (config, sdk) = configure().await?;
    let clock = Clock::system();
    let ready: Arc<OnceCell<App>> = Arc::default();
    let router = match App::connect_preloading(config.clone(), &sdk, clock.clone(), preload).await {
        Ok(app) => {
            let router = build(app.clone());
            let _ = ready.set(app);
            router
        }
        Err(Error::Unavailable { context }) => {
            tracing::error!(%context, "cold start without keys: requests will retry");
            deferred(config.clone(), sdk.clone(), clock.clone(), build)
        }
        Err(e) => {
            tracing::error!(error = ?e, "cold start failed: keys or clients");
            return Err(e.into());
        }
    };
    let handler = move |event: lambda_http::LambdaEvent<serde_json::Value>| {
        let (router, ready, config, sdk, clock) = (
            router.clone(),
            ready.clone(),
            config.clone(),
            sdk.clone(),
            clock.clone(),
        );
        async move {
            let (payload, context) = event.into_parts();
            if is_scheduled(&payload) {
                let app = ready
                    .get_or_try_init(|| App::connect(config, &sdk, clock))
                    .await?
                    .clone();
                let done = on_schedule(app).await.inspect_err(|e| {
                    tracing::error!(error = ?e, "scheduled run failed; the next one tries again");
                })?;
                tracing::info!(%done, "scheduled run");
                return Ok::<_, lambda_http::Error>(done);
            }
            let request: lambda_http::request::LambdaRequest = serde_json::from_value(payload)?;
            let response = lambda_http::Adapter::from(router)
                .oneshot(lambda_http::LambdaEvent::new(request, context))
                .await?;
            Ok(serde_json::to_value(response)?)
        }
    };
    lambda_http::lambda_runtime::run(lambda_http::service_fn(handler)).await
}

/// EventBridge's scheduled event: `{"source": "aws.events", "detail-type": "Scheduled Event", ..}`.
fn is_scheduled(event: &serde_json::Value) -> bool {
    event.get("source").and_then(|s| s.as_str()) == Some("aws.events")
        && event.get("detail-type").and_then(|s| s.as_str()) == Some("Scheduled Event")
}

/// The function's router. When the keys cannot be fetched at cold start because Secrets Manager
/// is unreachable, the instance starts anyway and each request tries again, answering 503 JSON
/// until one succeeds: a failed cold start would reach the caller as API Gateway's bare 500.
/// Anything else (a malformed key secret, say) still fails the cold start, loudly.
pub async fn start(
    config: Config,
    sdk: SdkConfig,
    clock: Clock,
    build: fn(App) -> Router,
    preload: Preload,
) -> Result<Router> {
    match App::connect_preloading(config.clone(), &sdk, clock.clone(), preload).await {
        Ok(app) => Ok(build(app)),
        Err(Error::Unavailable { context }) => {
            tracing::error!(%context, "cold start without keys: requests will retry");
            Ok(deferred(config, sdk, clock, build))
        }
        Err(e) => Err(e),
    }
}

/// A router that builds the real one on the first request that can fetch the keys.
fn deferred(config: Config, sdk: SdkConfig, clock: Clock, build: fn(App) -> Router) -> Router {
    let ready: Arc<OnceCell<Router>> = Arc::default();
    Router::new().fallback(move |request: Request| {
        let (ready, config, sdk, clock) =
            (ready.clone(), config.clone(), sdk.clone(), clock.clone());
        async move {
            let started = std::time::Instant::now();
            let router = ready
                .get_or_try_init(|| async { App::connect(config, &sdk, clock).await.map(build) })
                .await;
            match router {
                // The real router's edge counts the request.
                Ok(router) => match router.clone().oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                Err(e) => {
                    let mut response = e.into_response();
                    crate::http::secure_headers(&mut response);
                    let request_id = request
                        .extensions()
                        .get::<lambda_http::Context>()
                        .map(|c| c.request_id.clone())
                        .unwrap_or_default();
                    crate::http::count_unrouted(
                        request.method().as_str(),
                        &request_id,
                        response.status().as_u16(),
                        started,
                    );
                    response
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_eventbridges_scheduled_event_runs_the_schedule() {
        let scheduled = serde_json::json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
            "time": "2026-12-07T15:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/staff-mfa-rollout"],
            "detail": {}
        });
        assert!(is_scheduled(&scheduled));
        // What API Gateway delivers is a request, whatever its body or headers say.
        let request = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/settings",
            "headers": { "source": "aws.events" },
            "body": "{\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\"}",
            "requestContext": { "http": { "method": "POST", "path": "/settings", "sourceIp": "192.0.2.1" } }
        });
        assert!(!is_scheduled(&request));
    }
}
