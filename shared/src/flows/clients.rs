//! The organisation's OpenID Connect clients (its staff sites): registered by `mfa-admin client`
//! and the admin API. Secrets are 256-bit, shown once, stored as a keyed hash. Changing a client is
//! sensitive administration (a recent code).

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::guard::{Actor, require_step_up};
use crate::oidc::{Client, ClientPolicy, GrantType, check_client};
use crate::policy::AccountKind;
use crate::token::{Purpose, new_token};

/// A client as an administrator describes it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub public: bool,
    pub home_url: Option<String>,
    /// The client's policy; a part not given keeps its value (or the default for a new client).
    pub allowed_kinds: Option<Vec<AccountKind>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub require_code: Option<bool>,
}

/// How a client is saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Save {
    /// `POST /settings/clients`: a new id only (409 when it is taken).
    Create,
    /// `PUT /settings/clients/{id}`: an existing client only (404 when there is none).
    Update,
    /// `mfa-admin client add`: either.
    CreateOrReplace,
}

/// Creates or replaces a client (`put`), as `how` allows. A new confidential client gets a
/// secret, returned once; a replaced one keeps its secret (rotate it with `rotate_secret`).
pub async fn save(
    app: &App,
    actor: &Actor<'_>,
    id: &str,
    spec: ClientSpec,
    how: Save,
) -> Result<Option<String>> {
    let existing = app.store.get_client(id).await?;
    match (how, &existing) {
        (Save::Create, Some(_)) => return Err(taken(id)),
        (Save::Update, None) => return Err(Error::NotFound),
        _ => {}
    }
    let mut client = Client {
        id: id.to_owned(),
        name: spec.name.clone().unwrap_or_else(|| id.to_owned()),
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: spec.post_logout_redirect_uris,
        public: spec.public,
        secret_hash: None,
        home_url: spec.home_url,
        created_at: existing.as_ref().map_or(app.now(), |c| c.created_at),
        allowed_kinds: vec![],
        grant_types: vec![],
        require_code: true,
    };
    ClientPolicy {
        allowed_kinds: spec.allowed_kinds,
        grant_types: spec.grant_types,
        require_code: spec.require_code,
    }
    .apply(&mut client, existing.as_ref());
    check_client(&client).map_err(|m| Error::bad_request("invalid_client_metadata", m))?;
    require_step_up(app, actor, Action::ClientChange, id).await?;
    let mut secret = None;
    if !client.public {
        match existing.as_ref().and_then(|c| c.secret_hash.clone()) {
            Some(kept) => client.secret_hash = Some(kept),
            None => {
                let s = new_token()?;
                client.secret_hash = Some(app.keys.tokens.hash(Purpose::ClientSecret, &s));
                secret = Some(s);
            }
        }
    }
    // The write checks again what was read: a client created or deleted meanwhile is neither
    // overwritten nor brought back.
    let saved = match how {
        Save::CreateOrReplace => {
            app.store.put_client(&client).await?;
            true
        }
        Save::Create => app.store.put_client_if(&client, true).await?,
        Save::Update => app.store.put_client_if(&client, false).await?,
    };
    if !saved {
        return Err(match how {
            Save::Create => taken(id),
            _ => Error::NotFound,
        });
    }
    let outcome = if existing.is_some() {
        Outcome::Updated
    } else {
        Outcome::Created
    };
    app.audit(actor.name(), Action::ClientChange, id, outcome)
        .await;
    Ok(secret)
}

/// Creates or replaces a client (`mfa-admin client add`); see `save`.
pub async fn put(
    app: &App,
    actor: &Actor<'_>,
    id: &str,
    spec: ClientSpec,
) -> Result<Option<String>> {
    save(app, actor, id, spec, Save::CreateOrReplace).await
}

fn taken(id: &str) -> Error {
    Error::Conflict(format!(
        "A site with the id {id} exists already: edit it, or choose another id."
    ))
}

/// A new secret for a confidential client; the old one stops working at once.
pub async fn rotate_secret(app: &App, actor: &Actor<'_>, id: &str) -> Result<String> {
    let mut client = app.store.get_client(id).await?.ok_or(Error::NotFound)?;
    if client.public {
        return Err(Error::bad_request(
            "invalid_request",
            "A public client has no secret.",
        ));
    }
    require_step_up(app, actor, Action::ClientChange, id).await?;
    let secret = new_token()?;
    client.secret_hash = Some(app.keys.tokens.hash(Purpose::ClientSecret, &secret));
    if !app.store.put_client_if(&client, false).await? {
        return Err(Error::NotFound);
    }
    app.audit(
        actor.name(),
        Action::ClientChange,
        id,
        Outcome::SecretRotated,
    )
    .await;
    Ok(secret)
}

pub async fn delete(app: &App, actor: &Actor<'_>, id: &str) -> Result<()> {
    require_step_up(app, actor, Action::ClientChange, id).await?;
    if !app.store.delete_client(id).await? {
        return Err(Error::NotFound);
    }
    app.audit(actor.name(), Action::ClientChange, id, Outcome::Deleted)
        .await;
    Ok(())
}

/// A client as the admin API shows it: never its secret hash.
pub fn describe(c: &Client) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.id,
        "name": c.name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "public": c.public,
        "home_url": c.home_url,
        "created_at": crate::clock::rfc3339(c.created_at),
        "allowed_kinds": c.allowed_kinds,
        "grant_types": c.grant_types,
        "require_code": c.require_code,
    })
}
