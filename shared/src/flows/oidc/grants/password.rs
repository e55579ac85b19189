//! The password grant (RFC 6749 4.3), for `api` accounts: a JWT access token, no ID or refresh
//! token.

use crate::app::App;
use crate::error::{Error, Result};
use crate::flows::sign_in;
use crate::oidc::{Grant, GrantType, amr};
use crate::policy::{AccountKind, MfaState};
use crate::store::oidc::Redeemed;

use super::super::form::{TokenForm, Tokens, authenticate_client, missing};
use super::super::issue::{issue, live_session};

/// The password grant, for `api` users (RFC 6749 4.3): a JWT access token like the others, for
/// the client that authenticated (if any) or the audience `api`. No ID or refresh token.
pub(in crate::flows::oidc) async fn grant(
    app: &App,
    form: &TokenForm,
    basic: Option<(String, String)>,
    issuer: &str,
    source: &str,
) -> Result<Tokens> {
    let username = form
        .username
        .as_deref()
        .ok_or(missing("username is required."))?;
    let password = form
        .password
        .as_deref()
        .ok_or(missing("password is required."))?;
    // A named client must be one whose policy allows the password grant for the account.
    let client = if basic.is_some() || form.client_id.is_some() {
        Some(authenticate_client(app, form, basic).await?)
    } else {
        None
    };
    let admits = |kind: AccountKind| {
        client
            .as_ref()
            .is_none_or(|c| c.admits(GrantType::Password, kind, MfaState::NotRequired))
    };
    let granted = sign_in::token_grant(app, username, password, source, admits).await?;
    let client_id = client.map_or_else(|| PASSWORD_GRANT_AUDIENCE.to_owned(), |c| c.id);
    let grant = Grant {
        client_id,
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        scope: "openid".into(),
        username: granted.username,
        auth_time: granted.auth_time,
        amr: amr(MfaState::NotRequired, None),
        session_hash: granted.session_hash,
        family: None,
    };
    let session = live_session(app, &grant).await?;
    let Redeemed::Fresh(mut tokens) = issue(app, &grant, &session, issuer, None).await? else {
        return Err(Error::Internal("a password grant redeems nothing".into()));
    };
    tokens.id_token = None;
    Ok(tokens)
}

/// The audience of a password-grant token that named no client.
pub const PASSWORD_GRANT_AUDIENCE: &str = "api";
