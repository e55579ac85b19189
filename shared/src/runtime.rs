//! Start-up shared by the four binaries: JSON logs, configuration, clients and keys once per cold
//! start, then the Lambda loop. A bad configuration ends the cold start with a message naming it.

use axum::Router;

use crate::app::{App, sdk_config};
use crate::clock::Clock;
use crate::config::Config;

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

pub async fn run(build: fn(App) -> Router) -> Result<(), lambda_http::Error> {
    init_tracing();
    let config = Config::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed: configuration");
        eprintln!("cold start failed: {e}");
    })?;
    let app = App::connect(config, &sdk_config().await, Clock::system())
        .await
        .inspect_err(|e| tracing::error!(error = ?e, "cold start failed: keys or clients"))?;
    app.warm_up().await;
    lambda_http::run(build(app)).await
}
