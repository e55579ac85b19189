//! Configuring identity providers (`GET /settings/providers`, `PUT`/`DELETE
//! /settings/providers/{id}`): sensitive administration, audited with before and after. A provider is configured by its issuer, whose discovery document
//! is fetched (and must name exactly that issuer), our `client_id` and `client_secret` there (sealed
//! at rest, never shown again), `kind`, `display_name` and `require_amr`. A provider given an
//! inline JWK set instead is for raw ID tokens only (`POST /sign-in/federated`).

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::federation::{Provider, endpoints_from_discovery, is_provider_id, parse_jwks};
use crate::flows::guard::{Actor, require_step_up};
use crate::policy::ProviderKind;

/// A provider as an administrator gives it.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    pub kind: ProviderKind,
    pub issuer: String,
    /// Our client id at the provider (the contract's earlier name for it: `audience`).
    #[serde(alias = "audience")]
    pub client_id: String,
    pub client_secret: Option<String>,
    pub display_name: Option<String>,
    /// Inline keys: a provider without discovery, for raw ID tokens only.
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub require_amr: Vec<String>,
}

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request("invalid_request", message)
}

/// What the admin API echoes: never the secret.
pub fn describe(p: &Provider) -> serde_json::Value {
    serde_json::json!({
        "id": p.id,
        "kind": p.kind,
        "issuer": p.issuer,
        "client_id": p.audience,
        "display_name": p.display_name,
        "require_amr": p.require_amr,
        "discovery": p.endpoints.is_some(),
        "client_secret_set": p.sealed_secret.is_some(),
    })
}

pub async fn put(app: &App, actor: &Actor<'_>, id: &str, spec: ProviderSpec) -> Result<Provider> {
    if !is_provider_id(id) {
        return Err(bad(
            "The provider id must be 1 to 32 lowercase letters, digits or hyphens.",
        ));
    }
    if spec.issuer.trim().is_empty() || spec.client_id.trim().is_empty() {
        return Err(bad("issuer and client_id are required."));
    }
    let display_name = spec.display_name.clone().unwrap_or_else(|| id.to_owned());
    if display_name.trim().is_empty() || display_name.chars().count() > 64 {
        return Err(bad("display_name must be 1 to 64 characters."));
    }
    require_step_up(app, actor, Action::ProviderChange, id).await?;
    let before = app.store.get_provider(id).await?;
    let (jwks, endpoints, sealed_secret) = match &spec.jwks {
        Some(inline) => {
            let jwks = parse_jwks(inline).map_err(|e| bad(format!("{e}.")))?;
            (jwks, None, None)
        }
        None => {
            if !app.outbound.fetchable(&spec.issuer) {
                return Err(bad(
                    "The issuer must be an https URL of another host (loopback only for a local stack).",
                ));
            }
            let discovery = format!(
                "{}/.well-known/openid-configuration",
                spec.issuer.trim_end_matches('/')
            );
            let doc = app
                .outbound
                .get_json(&discovery)
                .await
                .map_err(|_| bad("The provider's discovery document could not be fetched."))?;
            let endpoints =
                endpoints_from_discovery(&doc, &spec.issuer, |u| app.outbound.fetchable(u))
                    .map_err(|e| bad(format!("{e}.")))?;
            let keys = app
                .outbound
                .get_json(&endpoints.jwks_uri)
                .await
                .map_err(|_| bad("The provider's keys could not be fetched."))?;
            let jwks = parse_jwks(&keys).map_err(|e| bad(format!("The provider's {e}.")))?;
            let sealed = match (&spec.client_secret, &before) {
                (Some(secret), _) => Some(app.keys.secrets.seal(secret.as_bytes(), id.as_bytes())?),
                (None, Some(b)) if b.sealed_secret.is_some() => b.sealed_secret.clone(),
                (None, _) => return Err(bad("client_secret is required for a new provider.")),
            };
            (jwks, Some(endpoints), sealed)
        }
    };
    let provider = Provider {
        id: id.to_owned(),
        kind: spec.kind,
        issuer: spec.issuer.clone(),
        audience: spec.client_id.clone(),
        display_name,
        jwks,
        require_amr: spec.require_amr.clone(),
        endpoints,
        sealed_secret,
    };
    // Links are keyed by issuer: a provider re-pointed at another issuer loses them, so an admin
    // cannot make an old subject sign in as someone through a new identity provider. A change of
    // kind drops them too: a personal social link must not become an SSO login that skips MFA.
    // Dropped first: if saving then fails, nothing can sign in that could not before.
    let mut dropped = 0;
    if let Some(b) = &before
        && (b.issuer != provider.issuer || b.kind != provider.kind)
    {
        dropped = app.store.drop_links(id, &b.issuer).await?;
    }
    app.store.put_provider(&provider).await?;
    let change = serde_json::json!({
        "before": before.as_ref().map(describe),
        "after": describe(&provider),
        "links_dropped": dropped,
    });
    let outcome = if before.is_some() {
        Outcome::Updated
    } else {
        Outcome::Created
    };
    app.audit_detail(
        actor.name(),
        Action::ProviderChange,
        id,
        outcome,
        Some(&change),
    )
    .await;
    Ok(provider)
}

/// Removes a provider and every link to it: nobody signs in through it any more, and a provider
/// added later under the same id starts with no links.
pub async fn delete(app: &App, actor: &Actor<'_>, id: &str) -> Result<()> {
    let before = app.store.get_provider(id).await?.ok_or(Error::NotFound)?;
    require_step_up(app, actor, Action::ProviderChange, id).await?;
    // Links first: if removing the provider then fails, nothing can sign in that could not before.
    let dropped = app.store.drop_links(id, &before.issuer).await?;
    if !app.store.delete_provider(id).await? {
        return Err(Error::NotFound);
    }
    let change = serde_json::json!({
        "before": describe(&before),
        "after": null,
        "links_dropped": dropped,
    });
    app.audit_detail(
        actor.name(),
        Action::ProviderChange,
        id,
        Outcome::Deleted,
        Some(&change),
    )
    .await;
    Ok(())
}
