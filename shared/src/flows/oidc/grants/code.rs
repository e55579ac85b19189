//! The authorization code grant (RFC 6749 4.1.3, RFC 7636): single use, 60 s, bound to the client,
//! the redirect URI (as registered now) and the PKCE verifier; the client's policy decides.
//!
//! A code is sealed, not stored (`oidc::AuthorizationCode`), so everything but its single use is
//! checked from the code itself. Its single use is the item of the refresh token derived from it:
//! every outcome that uses the code up (redeemed, or burnt by a wrong verifier, client or redirect
//! URI, or by the client's policy) is one conditional Put of that item, and a Put that finds it is
//! a second use.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::oidc::{AuthorizationCode, Client, GrantType, pkce_matches};
use crate::store::oidc::Redeemed;
use crate::token::{Purpose, new_token};

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
    let Some(code) = AuthorizationCode::open(&app.keys.secrets, code) else {
        return refused(app, client).await;
    };
    let now = app.now();
    let refresh = code.refresh_token(&app.keys.tokens);
    let hash = app.keys.tokens.hash(Purpose::RefreshToken, &refresh);
    if code.exp <= now {
        // Expired: refused without a write. One used before still revokes what its first use
        // issued, as long as that use's record lives.
        return match app.store.code_used(&hash).await? {
            Some(family) => code_reused(app, client, family).await,
            None => refused(app, client).await,
        };
    }
    let grant = &code.grant;
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
        if let Some(family) = burn(app, &code, &hash, now).await? {
            return code_reused(app, client, family).await;
        }
        app.audit(
            &grant.username,
            Action::Token,
            &client.id,
            Outcome::InvalidGrant,
        )
        .await;
        return Err(Error::InvalidGrant(CODE_REFUSED));
    }
    let session = live_session(app, grant).await?;
    if !client.admits(GrantType::AuthorizationCode, session.kind, session.mfa) {
        if let Some(family) = burn(app, &code, &hash, now).await? {
            return code_reused(app, client, family).await;
        }
        app.audit(
            &grant.username,
            Action::Token,
            &client.id,
            Outcome::UnauthorizedClient,
        )
        .await;
        return Err(Error::UnauthorizedClient);
    }
    // A client that may not refresh gets no refresh token; the code's use is recorded all the same.
    let family = if client.admits(GrantType::RefreshToken, session.kind, session.mfa) {
        Some(new_token()?)
    } else {
        None
    };
    let redemption = Redemption::Code {
        refresh: &refresh,
        hash: &hash,
        family: family.as_deref(),
        code_exp: code.exp,
    };
    let tokens = match issue(app, grant, &session, issuer, Some(redemption)).await? {
        Redeemed::Fresh(t) => t,
        Redeemed::Reused { family } => return code_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(CODE_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    app.audit(&grant.username, Action::Token, &client.id, Outcome::Issued)
        .await;
    Ok(tokens)
}

/// A code that is not one of ours, or expired unused.
async fn refused(app: &App, client: &Client) -> Result<Tokens> {
    app.audit(
        crate::audit::CLIENT,
        Action::Token,
        &client.id,
        Outcome::InvalidGrant,
    )
    .await;
    Err(Error::InvalidGrant(CODE_REFUSED))
}

/// Uses a code up without issuing anything: its record of use, stored used. Some(family) when it
/// had been used already (the family its first use issued, if any).
async fn burn(
    app: &App,
    code: &AuthorizationCode,
    hash: &str,
    now: u64,
) -> Result<Option<Option<String>>> {
    let record = crate::oidc::Grant {
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        family: None,
        ..code.grant.clone()
    };
    Ok(
        match app.store.redeem_code(hash, &record, code.exp, now).await? {
            Redeemed::Reused { family } => Some(family),
            _ => None,
        },
    )
}

/// RFC 6749 4.1.2: a code used twice revokes what its first use issued (the refresh family). The
/// user's sign-in session is not the code's to end: a leaked code must not sign the rightful user
/// out.
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
