//! settings: the organisation's MFA settings for administrators.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use shared::flows::admin;
use shared::http::{JsonBody, bearer, finish};
use shared::store::settings::Settings;
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/settings", get(get_settings).put(put_settings))
            .with_state(app),
    )
}

fn settings_json(s: &Settings) -> Response {
    shared::http::json(
        StatusCode::OK,
        json!({
            "mfa_enabled": s.mfa_enabled,
            "org_default_email": s.org_default_email,
            "org_name": s.org_name,
        }),
    )
}

async fn get_settings(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    admin::require_admin(&app, bearer(&headers)).await?;
    Ok(settings_json(&app.store.get_settings().await?))
}

/// A partial update: fields left out keep their value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    mfa_enabled: Option<bool>,
    org_default_email: Option<String>,
    org_name: Option<String>,
}

async fn put_settings(
    State(app): State<App>,
    headers: HeaderMap,
    JsonBody(change): JsonBody<SettingsChange>,
) -> Result<Response, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let saved = admin::change_settings(
        &app,
        &admin.username,
        admin::SettingsChange {
            mfa_enabled: change.mfa_enabled,
            org_default_email: change.org_default_email,
            org_name: change.org_name,
        },
    )
    .await?;
    Ok(settings_json(&saved))
}
