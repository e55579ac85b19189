//! settings: what administrators do. `GET`/`PUT /settings`, `GET /settings/mfa-readiness`,
//! `GET /settings/providers`, `PUT`/`DELETE /settings/providers/{id}`, the accounts
//! (`GET /accounts`, reset, unlock, disable, enable, delete), `GET /audit`, and the OpenID Connect
//! clients: `GET`/`POST /settings/clients`, `PUT`/`DELETE /settings/clients/{id}`,
//! `POST /settings/clients/{id}/secret`.

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
use shared::flows::admin;
use shared::flows::guard::{self, Actor};
use shared::flows::{clients, providers, rollout};
use shared::http::{Caller, JsonBody, bearer, finish};
use shared::store::settings::Settings;
use shared::{App, Error};

pub fn router(app: App) -> Router {
    finish(
        Router::new()
            .route("/admin", get(page::admin_page))
            .route("/settings", get(get_settings).put(put_settings))
            .route("/settings/mfa-readiness", get(readiness))
            .route("/settings/mfa-readiness/recount", post(recount))
            .route("/settings/campaign", get(campaign).post(start_campaign))
            .route("/settings/providers", get(list_providers))
            .route(
                "/settings/providers/{id}",
                put(put_provider).delete(delete_provider),
            )
            .route("/accounts/{username}/mfa/reset", post(reset))
            .route("/accounts", get(list_accounts))
            .route("/accounts/{username}/unlock", post(unlock))
            .route("/accounts/{username}/disable", post(disable))
            .route("/accounts/{username}/enable", post(enable))
            .route("/accounts/{username}/setup-email", post(remind))
            .route(
                "/accounts/{username}",
                axum::routing::delete(delete_account),
            )
            .route("/audit", get(audit))
            .route("/account/activity", get(account_activity))
            .route("/settings/clients", get(list_clients).post(create_client))
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
            "audit_retention_days": s.audit_retention_days(),
            "enforce_at": s.enforce_at.map(rfc3339),
            "phishing_resistant_required_for": s.phishing_resistant_required_for.as_str(),
        }),
    )
}

async fn get_settings(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    Ok(settings_json(&app.store.get_settings().await?))
}

/// A partial update: fields left out keep their value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    mfa_enabled: Option<bool>,
    org_default_email: Option<String>,
    org_name: Option<String>,
    audit_retention_days: Option<u32>,
    /// An RFC 3339 time to switch MFA on at, or null to call it off.
    #[serde(default, deserialize_with = "present")]
    enforce_at: Option<Option<String>>,
    /// `none`, `sysadmin` or `all_staff`: who must sign in with a passkey once they have one.
    phishing_resistant_required_for: Option<String>,
}

/// A field given as null is `Some(None)`, told apart from a field left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn put_settings(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<JsonBody<SettingsChange>, Error>,
) -> Result<Response, Error> {
    // Who asks comes first: a caller without a session learns nothing from how the body is read.
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let JsonBody(change) = body?;
    let enforce_at = match change.enforce_at {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(shared::clock::parse_rfc3339(&text).ok_or_else(
            || bad("enforce_at must be an RFC 3339 time, like 2026-12-01T09:00:00Z, or null."),
        )?)),
    };
    let phishing_resistant_required_for =
        match change.phishing_resistant_required_for {
            None => None,
            Some(text) => Some(shared::policy::PhishingResistant::parse(&text).ok_or_else(
                || bad("phishing_resistant_required_for must be none, sysadmin or all_staff."),
            )?),
        };
    let saved = admin::change_settings(
        &app,
        &Actor::Admin(&admin),
        admin::SettingsChange {
            mfa_enabled: change.mfa_enabled,
            org_default_email: change.org_default_email,
            org_name: change.org_name,
            audit_retention_days: change.audit_retention_days,
            enforce_at,
            scheduled_for: None,
            phishing_resistant_required_for,
        },
    )
    .await?;
    Ok(settings_json(&saved))
}

async fn readiness(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    readiness_json(&app, admin::readiness(&app).await?).await
}

/// `POST /settings/mfa-readiness/recount`: counts every staff account now (the schedule does
/// every minute) and answers the readiness report with the new count.
async fn recount(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    let tally = shared::flows::tally::recount(&app).await?;
    tracing::info!(
        read_units = tally.read_units,
        staff = tally.enrolled + tally.pending + tally.not_enrolled,
        "recount"
    );
    let mut r = admin::readiness(&app).await?;
    r.tally = tally;
    readiness_json(&app, r).await
}

async fn readiness_json(app: &App, r: admin::Readiness) -> Result<Response, Error> {
    let t = &r.tally;
    let cannot: Vec<_> = t
        .cannot_mail
        .iter()
        .map(|(username, reason)| json!({ "username": username, "reason": reason }))
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
    Ok(shared::http::json(
        StatusCode::OK,
        json!({
            "staff": { "enrolled": t.enrolled, "pending": t.pending, "not_enrolled": t.not_enrolled, "with_passkey": t.with_passkey },
            "counted_at": rfc3339(t.counted_at),
            "cannot_receive_setup_mail": cannot,
            "cannot_receive_setup_mail_total": t.cannot_mail_total,
            "code_entry_locked": locks(&r.locked),
            "password_locked": locks(&r.password_locked),
            "sender_verified": sender_verified,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignStart {
    reminder_days: Option<u64>,
}

/// `POST /settings/campaign`: mails the setup email to every staff member and system
/// administrator without an app (within SES's send rate; the schedule sends the rest), and
/// reminders every `reminder_days` (default 3) until they set one up. Sensitive: a recent code.
async fn start_campaign(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<JsonBody<CampaignStart>, Error>,
) -> Result<Response, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let JsonBody(start) = body?;
    // Where people reach the API, for the links in the mail: the issuer.
    let base = app.issuer(caller.api_base.as_deref())?;
    let sent =
        rollout::start_campaign(&app, &Actor::Admin(&admin), start.reminder_days, &base).await?;
    let mut body = progress_json(&rollout::progress(&app, None, 50).await?)?;
    body["sent_now"] = json!(sent);
    Ok(shared::http::json(StatusCode::ACCEPTED, body))
}

#[derive(Deserialize)]
struct CampaignQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /settings/campaign`: the rollout's figures (total, enrolled, mailed, pending, by kind)
/// and the accounts without an app, paged by username.
async fn campaign(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<CampaignQuery>, QueryRejection>,
) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    let Query(q) = query.map_err(|_| bad("The query string is malformed."))?;
    let limit = page_limit(q.limit.as_deref())?;
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            Some(normalise_username(c).ok_or_else(|| bad("cursor is not one this service gave."))?)
        }
    };
    let body = progress_json(&rollout::progress(&app, cursor.as_deref(), limit).await?)?;
    Ok(shared::http::json(StatusCode::OK, body))
}

fn page_limit(limit: Option<&str>) -> Result<usize, Error> {
    match limit {
        None => Ok(50),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| bad("limit must be a number from 1 to 200.")),
    }
}

fn progress_json(p: &rollout::Progress) -> Result<serde_json::Value, Error> {
    let figures = |f: shared::flows::tally::Figures| json!({ "total": f.total, "enrolled": f.enrolled, "mailed": f.mailed, "pending": f.pending });
    let mut by_kind = serde_json::Map::new();
    for kind in [
        shared::policy::AccountKind::Staff,
        shared::policy::AccountKind::Sysadmin,
    ] {
        by_kind.insert(kind.as_str().to_owned(), figures(p.tally.of_kind(kind)));
    }
    let page: Vec<_> = p
        .not_enrolled
        .iter()
        .map(|s| {
            json!({
                "username": s.username, "kind": s.kind.as_str(), "enrolment": s.enrolment,
                "mailed_at": s.mailed_at.map(rfc3339), "mails": s.mails,
                "cannot_mail": s.cannot_mail,
            })
        })
        .collect();
    let mut body = figures(p.tally.figures);
    body["counted_at"] = json!(rfc3339(p.tally.counted_at));
    body["campaign"] = match &p.campaign {
        Some(c) => json!({
            "started_at": rfc3339(c.started_at),
            "started_by": c.started_by,
            "reminder_days": c.reminder_days,
        }),
        None => json!(null),
    };
    body["by_kind"] = serde_json::Value::Object(by_kind);
    body["not_enrolled"] = json!(page);
    body["next"] = json!(p.next);
    Ok(body)
}

async fn reset(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let username = account_in_path(username)?;
    admin::reset_mfa(&app, &Actor::Admin(&admin), &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account a path names; a name that could not be an account is no such account (404).
fn account_in_path(username: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(username) = username.map_err(|_| Error::NotFound)?;
    normalise_username(&username).ok_or(Error::NotFound)
}

async fn account_change(
    app: &App,
    headers: &HeaderMap,
    username: Result<Path<String>, PathRejection>,
    change: admin::AccountChange,
) -> Result<StatusCode, Error> {
    let admin = guard::require_admin(app, bearer(headers)).await?;
    let username = account_in_path(username)?;
    admin::change_account(app, &Actor::Admin(&admin), &username, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /accounts/{username}/disable`: the account cannot sign in, and its sessions end.
async fn disable(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    account_change(&app, &headers, username, admin::AccountChange::Disable).await
}

async fn enable(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    account_change(&app, &headers, username, admin::AccountChange::Enable).await
}

/// `DELETE /accounts/{username}`: the account and its enrolment, sessions, links and tokens.
async fn delete_account(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    account_change(&app, &headers, username, admin::AccountChange::Delete).await
}

/// `POST /accounts/{username}/unlock`: ends the account's password and code locks.
async fn unlock(
    State(app): State<App>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let username = account_in_path(username)?;
    admin::unlock(&app, &Actor::Admin(&admin), &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /accounts/{username}/setup-email`: mails one person without an app their setup email
/// now (at most one a day, as the campaign's), and answers where it went, masked.
async fn remind(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let username = account_in_path(username)?;
    // Where people reach the API, for the links in the mail: the issuer.
    let base = app.issuer(caller.api_base.as_deref())?;
    let to = rollout::remind(&app, &Actor::Admin(&admin), &username, &base).await?;
    Ok(shared::http::json(
        StatusCode::ACCEPTED,
        json!({ "sent_to": to }),
    ))
}

fn bad(message: &str) -> Error {
    Error::bad_request("invalid_request", message)
}

/// `GET /audit`: newest first, filtered by `user` (actor or target), `action`, `outcome`,
/// `since`, `until`; pages by `cursor` (the `Link: rel="next"` of the previous page);
/// `format=csv` downloads the page as RFC 4180 CSV.
async fn audit(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<shared::flows::audit::AuditParams>, QueryRejection>,
) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    let Query(p) = query.map_err(|_| bad("The query string is malformed."))?;
    let request = shared::flows::audit::AuditRequest::parse(&p, app.now())?;
    let (q, csv, limit) = (&request.query, request.csv, request.query.limit);
    let (entries, next) = shared::flows::audit::page(&app, q).await?;
    let mut response = if csv {
        let body = shared::audit_csv::to_csv(&entries)?;
        let mut r = axum::response::IntoResponse::into_response(body);
        let h = r.headers_mut();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        h.insert(
            axum::http::header::CONTENT_DISPOSITION,
            axum::http::HeaderValue::from_static("attachment; filename=\"audit.csv\""),
        );
        r
    } else {
        let list: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "at": rfc3339(e.at), "actor": e.actor, "action": e.action, "target": e.target,
                    "outcome": e.outcome, "source": e.source, "user_agent": e.user_agent,
                    "request_id": e.request_id,
                    "detail": (!e.detail.is_empty()).then(|| serde_json::from_str::<serde_json::Value>(&e.detail).unwrap_or(json!(e.detail))),
                })
            })
            .collect();
        shared::http::json(StatusCode::OK, json!(list))
    };
    if let Some(next) = next {
        // RFC 8288: the same query, one page older.
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("limit", Some(limit.to_string())),
            ("user", p.user),
            ("action", p.action),
            ("outcome", p.outcome),
            ("since", p.since),
            ("until", p.until),
            ("format", p.format),
            ("cursor", Some(next.clone())),
        ] {
            if let Some(v) = v {
                link.append_pair(k, &v);
            }
        }
        if let Ok(v) =
            axum::http::HeaderValue::from_str(&format!("</audit?{}>; rel=\"next\"", link.finish()))
        {
            response.headers_mut().insert(axum::http::header::LINK, v);
        }
        if let Ok(v) = axum::http::HeaderValue::from_str(&next) {
            response.headers_mut().insert("audit-next-cursor", v);
        }
    }
    Ok(response)
}

/// Creates or replaces an identity provider (sensitive: a recent code). The answer never holds
/// the client secret.
async fn put_provider(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<JsonBody<providers::ProviderSpec>, Error>,
) -> Result<Response, Error> {
    // Who asks comes first: a caller without a session learns nothing from how the body is read.
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let JsonBody(spec) = body?;
    let Path(id) = id.map_err(|_| Error::NotFound)?;
    let saved = providers::put(&app, &Actor::Admin(&admin), &id, spec).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        providers::describe(&saved),
    ))
}

async fn list_providers(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    let list: Vec<_> = app
        .store
        .list_providers()
        .await?
        .iter()
        .map(providers::describe)
        .collect();
    Ok(shared::http::json(StatusCode::OK, json!(list)))
}

/// Removes a provider and its links (sensitive: a recent code).
async fn delete_provider(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let Path(id) = id.map_err(|_| Error::NotFound)?;
    if !shared::federation::is_provider_id(&id) {
        return Err(Error::NotFound);
    }
    providers::delete(&app, &Actor::Admin(&admin), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_clients(State(app): State<App>, headers: HeaderMap) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
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
        return Err(bad_client_id());
    }
    Ok(id)
}

fn bad_client_id() -> Error {
    Error::bad_request(
        "invalid_client_metadata",
        "The client id must be 1 to 64 letters, digits, dots, underscores or hyphens.",
    )
}

/// `POST /settings/clients`: a new client (`client_id` and the rest of its description); 409
/// when the id is taken. A confidential client's secret is in the answer, once.
async fn create_client(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<JsonBody<serde_json::Map<String, serde_json::Value>>, Error>,
) -> Result<Response, Error> {
    // Who asks comes first: a caller without a session learns nothing from how the body is read.
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let JsonBody(mut body) = body?;
    let id = match body.remove("client_id") {
        Some(serde_json::Value::String(id)) if shared::oidc::is_client_id(&id) => id,
        _ => return Err(bad_client_id()),
    };
    let spec: clients::ClientSpec = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|e| {
            Error::bad_request("invalid_request", format!("The body is not a site: {e}."))
        })?;
    save_client(&app, &admin, &id, spec, clients::Save::Create).await
}

/// `PUT /settings/clients/{id}`: changes an existing client (404 when there is none).
async fn put_client(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<JsonBody<clients::ClientSpec>, Error>,
) -> Result<Response, Error> {
    // Who asks comes first: a caller without a session learns nothing from how the body is read.
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let JsonBody(spec) = body?;
    let id = client_id(id)?;
    save_client(&app, &admin, &id, spec, clients::Save::Update).await
}

async fn save_client(
    app: &App,
    admin: &shared::flows::sessions::ActiveSession,
    id: &str,
    spec: clients::ClientSpec,
    how: clients::Save,
) -> Result<Response, Error> {
    let secret = clients::save(app, &Actor::Admin(admin), id, spec, how).await?;
    let client = app.store.get_client(id).await?.ok_or(Error::NotFound)?;
    let mut body = clients::describe(&client);
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
    }
    let status = match how {
        clients::Save::Create => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok(shared::http::json(status, body))
}

async fn delete_client(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let id = client_id(id)?;
    clients::delete(&app, &Actor::Admin(&admin), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_client_secret(
    State(app): State<App>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let admin = guard::require_admin(&app, bearer(&headers)).await?;
    let id = client_id(id)?;
    let secret = clients::rotate_secret(&app, &Actor::Admin(&admin), &id).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "client_id": id, "client_secret": secret }),
    ))
}

#[derive(Deserialize)]
struct AccountsQuery {
    search: Option<String>,
    kind: Option<String>,
    enrolment: Option<String>,
    locked: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /accounts`: the accounts list of the admin page, by username, with their kind,
/// enrolment, lock and whether disabled; `search` is a username prefix, `kind`, `enrolment`
/// (`none`, `pending`, `active`) and `locked` (`true`, `false`) filter; pages by `cursor`, exactly
/// under every filter.
async fn list_accounts(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<AccountsQuery>, QueryRejection>,
) -> Result<Response, Error> {
    guard::require_admin(&app, bearer(&headers)).await?;
    let Query(q) = query.map_err(|_| bad("The query string is malformed."))?;
    let limit = page_limit(q.limit.as_deref())?;
    let kinds: Vec<shared::policy::AccountKind> = match q.kind.as_deref() {
        None | Some("") => shared::policy::AccountKind::ALL.to_vec(),
        Some(k) => vec![
            shared::policy::AccountKind::parse(k)
                .ok_or_else(|| bad("kind must be staff, sysadmin, member or api."))?,
        ],
    };
    let prefix = match q.search.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(s) => normalise_username(s).ok_or_else(|| {
            bad("search is the start of a username: letters, digits and . _ @ - +.")
        })?,
    };
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            Some(normalise_username(c).ok_or_else(|| bad("cursor is not one this service gave."))?)
        }
    };
    use shared::store::accounts::{AccountFilter, EnrolmentFilter};
    let enrolment = match q.enrolment.as_deref() {
        None | Some("") => None,
        Some("none") => Some(EnrolmentFilter::None),
        Some("pending") => Some(EnrolmentFilter::Pending),
        Some("active") => Some(EnrolmentFilter::Active),
        Some(_) => return Err(bad("enrolment must be none, pending or active.")),
    };
    let locked = match q.locked.as_deref() {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(bad("locked must be true or false.")),
    };
    let filter = AccountFilter {
        kinds: &kinds,
        prefix: &prefix,
        enrolment,
        locked,
    };
    let (rows, next) = app
        .store
        .list_accounts(&filter, cursor.as_deref(), limit, app.now())
        .await?;
    let accounts: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "username": r.username, "kind": r.kind.as_str(), "disabled": r.disabled,
                "enrolment": r.enrolment, "locked_until": r.locked_until.map(rfc3339),
                "passkeys": r.passkeys,
            })
        })
        .collect();
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "accounts": accounts, "next": next }),
    ))
}

/// `GET /account/activity` with the session (any account's own): its last entries in the audit
/// trail, as `flows::account` lets its owner see them. Here because this function is the one that
/// may read the trail.
async fn account_activity(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = shared::http::session_of(&app, &caller, &headers, false).await?;
    let entries: Vec<serde_json::Value> = shared::flows::account::activity(&app, &session)
        .await?
        .iter()
        .map(|e| {
            json!({
                "at": rfc3339(e.at), "action": e.action, "outcome": e.outcome, "by": e.by,
                "source": e.source, "user_agent": e.user_agent,
            })
        })
        .collect();
    Ok(shared::http::json(
        StatusCode::OK,
        json!({ "entries": entries }),
    ))
}
