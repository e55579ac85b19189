//! The refresh token grant (RFC 6749 6): rotated on every use within its family; a token used
//! twice revokes the family (RFC 9700 4.14.2).

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::oidc::{Client, GrantType};
use crate::store::oidc::{GrantKind, Redeemed};
use crate::token::{Purpose, is_well_formed};

use super::super::form::{TokenForm, Tokens, missing};
use super::super::issue::{Redemption, SESSION_ENDED, issue, live_session, revoke_issued};

const REFRESH_REFUSED: &str = "The refresh token is invalid, expired, used or revoked.";

pub(in crate::flows::oidc) async fn grant(
    app: &App,
    form: &TokenForm,
    client: &Client,
    issuer: &str,
) -> Result<Tokens> {
    let token = form
        .refresh_token
        .as_deref()
        .ok_or(missing("refresh_token is required."))?;
    if !is_well_formed(token) {
        return Err(Error::InvalidGrant(REFRESH_REFUSED));
    }
    let now = app.now();
    let hash = app.keys.tokens.hash(Purpose::RefreshToken, token);
    let grant = match app.store.peek_grant(GrantKind::Refresh, &hash, now).await? {
        Redeemed::Fresh(g) => g,
        Redeemed::Reused { family } => return refresh_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(REFRESH_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    // The family is the one the token was issued in; its successor keeps it.
    let Some(family) = grant.family.clone() else {
        return Err(Error::InvalidGrant(REFRESH_REFUSED));
    };
    if grant.client_id != client.id || app.store.family_revoked(&family).await? {
        app.audit(
            &grant.username,
            Action::Refresh,
            &client.id,
            Outcome::InvalidGrant,
        )
        .await;
        return Err(Error::InvalidGrant(REFRESH_REFUSED));
    }
    let session = live_session(app, &grant).await?;
    if !client.admits(GrantType::RefreshToken, session.kind, session.mfa) {
        app.audit(
            &grant.username,
            Action::Refresh,
            &client.id,
            Outcome::UnauthorizedClient,
        )
        .await;
        return Err(Error::UnauthorizedClient);
    }
    let redemption = Redemption::Refresh {
        hash: &hash,
        family: &family,
    };
    let tokens = match issue(app, &grant, &session, issuer, Some(redemption)).await? {
        Redeemed::Fresh(t) => t,
        Redeemed::Reused { family } => return refresh_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(REFRESH_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    app.audit(
        &grant.username,
        Action::Refresh,
        &client.id,
        Outcome::Issued,
    )
    .await;
    Ok(tokens)
}

/// RFC 9700 4.14.2: a rotated-out token used again means a copy exists; the whole family goes,
/// the legitimate holder's newest token included.
async fn refresh_reused(app: &App, client: &Client, family: Option<String>) -> Result<Tokens> {
    revoke_issued(app, family).await?;
    app.audit(
        crate::audit::CLIENT,
        Action::Refresh,
        &client.id,
        Outcome::ReuseRevokedFamily,
    )
    .await;
    Err(Error::InvalidGrant(REFRESH_REFUSED))
}
