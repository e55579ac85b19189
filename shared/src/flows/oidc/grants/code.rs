//! The authorization code grant (RFC 6749 4.1.3, RFC 7636): single use, 60 s, bound to the client,
//! the redirect URI (as registered now) and the PKCE verifier; the client's policy decides.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::oidc::{Client, GrantType, pkce_matches};
use crate::store::oidc::{GrantKind, Redeemed};
use crate::token::{Purpose, is_well_formed, new_token};

use super::super::form::{TokenForm, Tokens, missing};
use super::super::issue::{Redemption, SESSION_ENDED, issue, live_session, revoke_issued};

const CODE_REFUSED: &str = "The authorization code is invalid, expired, used, or was issued to another client or redirect URI.";

pub(in crate::flows::oidc) async fn grant(
    app: &App,
    form: &TokenForm,
    client: &Client,
    issuer: &str,
) -> Result<Tokens> {
    let code = form.code.as_deref().ok_or(missing("code is required."))?;
    let redirect_uri = form
        .redirect_uri
        .as_deref()
        .ok_or(missing("redirect_uri is required."))?;
    let verifier = form
        .code_verifier
        .as_deref()
        .ok_or(missing("code_verifier is required (PKCE)."))?;
    if !is_well_formed(code) {
        return Err(Error::InvalidGrant(CODE_REFUSED));
    }
    let now = app.now();
    let family = new_token()?;
    let hash = app.keys.tokens.hash(Purpose::AuthorizationCode, code);
    let grant = match app.store.peek_grant(GrantKind::Code, &hash, now).await? {
        Redeemed::Fresh(g) => g,
        Redeemed::Reused { family } => return code_reused(app, client, family).await,
        Redeemed::Missing | Redeemed::AccountChanged => {
            app.audit(
                crate::audit::CLIENT,
                Action::Token,
                &client.id,
                Outcome::InvalidGrant,
            )
            .await;
            return Err(Error::InvalidGrant(CODE_REFUSED));
        }
    };
    let bound = grant.client_id == client.id
        && grant.redirect_uri.as_deref() == Some(redirect_uri)
        && grant
            .code_challenge
            .as_deref()
            .is_some_and(|c| pkce_matches(verifier, c));
    // The redirect URI must still be registered: the client may have changed since the code.
    let bound = bound
        && client
            .redirect_uris
            .iter()
            .any(|u| Some(u) == grant.redirect_uri.as_ref());
    if !bound {
        // Shown with the wrong verifier, client or redirect, the code is used up all the same:
        // whoever holds it without its verifier gets no second try. It issues nothing, so the
        // rightful client's later attempt revokes nothing and ends no session.
        burn(app, &hash, now).await?;
        app.audit(
            &grant.username,
            Action::Token,
            &client.id,
            Outcome::InvalidGrant,
        )
        .await;
        return Err(Error::InvalidGrant(CODE_REFUSED));
    }
    let session = live_session(app, &grant).await?;
    if !client.admits(GrantType::AuthorizationCode, session.kind, session.mfa) {
        burn(app, &hash, now).await?;
        app.audit(
            &grant.username,
            Action::Token,
            &client.id,
            Outcome::UnauthorizedClient,
        )
        .await;
        return Err(Error::UnauthorizedClient);
    }
    let redemption = Redemption {
        kind: GrantKind::Code,
        hash: &hash,
        family: &family,
    };
    let tokens = match issue(app, &grant, &session, issuer, Some(redemption)).await? {
        Redeemed::Fresh(t) => t,
        Redeemed::Reused { family } => return code_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(CODE_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    app.audit(&grant.username, Action::Token, &client.id, Outcome::Issued)
        .await;
    Ok(tokens)
}

/// Uses a code up without issuing anything.
async fn burn(app: &App, hash: &str, now: u64) -> Result<()> {
    app.store
        .redeem_grant_issuing(GrantKind::Code, hash, None, now, None)
        .await?;
    Ok(())
}

/// RFC 6749 4.1.2: a code used twice revokes what its first use issued (the refresh family). The
/// user's sign-in session is not the code's to end: a leaked code shown by someone else must not
/// sign the rightful user out.
async fn code_reused(app: &App, client: &Client, family: Option<String>) -> Result<Tokens> {
    revoke_issued(app, family).await?;
    app.audit(
        crate::audit::CLIENT,
        Action::Token,
        &client.id,
        Outcome::CodeReused,
    )
    .await;
    Err(Error::InvalidGrant(CODE_REFUSED))
}
