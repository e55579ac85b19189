//! settings: what administrators do. `GET`/`PUT /settings`, `GET /settings/mfa-readiness`,
//! `PUT /settings/providers/{id}`, `POST /accounts/{username}/mfa/reset`,
//! `POST /accounts/{username}/unlock`, `GET /audit`, and the OpenID Connect clients:
//! `GET /settings/clients`, `PUT`/`DELETE /settings/clients/{id}`, `POST /settings/clients/{id}/secret`.

mod page;

use axum::Router;
use axum::extract::State;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;
use shared::account::normalise_username;
use shared::clock::rfc3339;
use shared::flows::admin::{self, Actor};
use shared::flows::{clients, providers};
use shared::http::{JsonBody, bearer, finish};
use shared::store::settings::Settings;
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/admin", get(page::admin_page))
            .route("/settings", get(get_settings).put(put_settings))
            .route("/settings/mfa-readiness", get(readiness))
            .route("/settings/providers/{id}", put(put_provider))
            .route("/accounts/{username}/mfa/reset", post(reset))
            .route("/accounts/{username}/unlock", post(unlock))
            .route("/audit", get(audit))
            .route("/settings/clients", get(list_clients))
            .route(
                "/settings/clients/{id}",
                put(put_client).delete(delete_client),
            )
            .route("/settings/clients/{id}/secret", post(rotate_client_secret))
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
        &Actor::Admin(&admin),
        admin::SettingsChange {
            mfa_enabled: change.mfa_enabled,
            org_default_email: change.org_default_email,
            org_name: change.org_name,
        },
    )
    .await?;
    Ok(settings_json(&saved))
}

async fn readiness(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    admin::require_admin(&app, bearer(&headers)).await?;
    let r = admin::readiness(&app).await?;
    let cannot: Vec<_> = r
        .cannot_receive_setup_mail
        .iter()
        .map(|(username, reason)| json!({ "username": username, "reason": reason.as_str() }))
        .collect();
    let locks = |list: &[(String, u64)]| -> Vec<_> {
        list.iter()
            .map(|(username, until)| json!({ "username": username, "until": rfc3339(*until) }))
            .collect()
    };
    let sender_verified = match app.store.get_settings().await?.org_default_email {
        Some(sender) => Some(app.mailer.sender_verified(&sender).await?),
        None => None,
    };
    tracing::info!(
        read_units = r.read_units,
        staff = r.enrolled + r.pending + r.not_enrolled,
        "readiness"
    );
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "staff": { "enrolled": r.enrolled, "pending": r.pending, "not_enrolled": r.not_enrolled },
            "cannot_receive_setup_mail": cannot,
            "code_entry_locked": locks(&r.locked),
            "password_locked": locks(&r.password_locked),
            "sender_verified": sender_verified,
        }),
    ))
}

async fn reset(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let Path(username) = username.map_err(|_| Error::NotFound)?;
    let username = normalise_username(&username).ok_or(Error::NotFound)?;
    admin::reset_mfa(&app, &Actor::Admin(&admin), &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /accounts/{username}/unlock`: ends the account's password and code locks.
async fn unlock(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let Path(username) = username.map_err(|_| Error::NotFound)?;
    let username = normalise_username(&username).ok_or(Error::NotFound)?;
    admin::unlock(&app, &Actor::Admin(&admin), &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<String>,
}

async fn audit(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, Error> {
    admin::require_admin(&app, bearer(&headers)).await?;
    let Query(q) = query
        .map_err(|_| Error::bad_request("invalid_request", "The query string is malformed."))?;
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(v) => v
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                Error::bad_request("invalid_request", "limit must be a number from 1 to 500.")
            })?,
    };
    let entries: Vec<_> = app
        .store
        .recent_audit(limit)
        .await?
        .into_iter()
        .map(|e| {
            json!({ "at": rfc3339(e.at), "actor": e.actor, "action": e.action, "target": e.target, "outcome": e.outcome })
        })
        .collect();
    Ok(shared::http::json(StatusCode::OK, json!(entries)))
}

/// Creates or replaces an identity provider (sensitive: a recent code). The answer never holds
/// the client secret.
async fn put_provider(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    JsonBody(spec): JsonBody<providers::ProviderSpec>,
) -> Result<Response, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let Path(id) = id.map_err(|_| Error::NotFound)?;
    let saved = providers::put(&app, &Actor::Admin(&admin), &id, spec).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        providers::describe(&saved),
    ))
}

async fn list_clients(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    admin::require_admin(&app, bearer(&headers)).await?;
    let clients: Vec<_> = app
        .store
        .list_clients()
        .await?
        .iter()
        .map(clients::describe)
        .collect();
    Ok(shared::http::json(StatusCode::OK, json!(clients)))
}

fn client_id(id: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(id) = id.map_err(|_| Error::NotFound)?;
    if !shared::oidc::is_client_id(&id) {
        return Err(Error::bad_request(
            "invalid_client_metadata",
            "The client id must be 1 to 64 letters, digits, dots, underscores or hyphens.",
        ));
    }
    Ok(id)
}

/// Creates or replaces a client; a new confidential client's secret is in the answer, once.
async fn put_client(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    JsonBody(spec): JsonBody<clients::ClientSpec>,
) -> Result<Response, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let id = client_id(id)?;
    let secret = clients::put(&app, &Actor::Admin(&admin), &id, spec).await?;
    let client = app.store.get_client(&id).await?.ok_or(Error::NotFound)?;
    let mut body = clients::describe(&client);
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
    }
    Ok(shared::http::json(StatusCode::OK, body))
}

async fn delete_client(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let id = client_id(id)?;
    clients::delete(&app, &Actor::Admin(&admin), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_client_secret(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let admin = admin::require_admin(&app, bearer(&headers)).await?;
    let id = client_id(id)?;
    let secret = clients::rotate_secret(&app, &Actor::Admin(&admin), &id).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "client_id": id, "client_secret": secret }),
    ))
}
