//! Our access tokens checked for our own routes (`/userinfo`, `/session`): signature, type, issuer,
//! expiry, and the sign-in session behind them.

use crate::app::App;
use crate::email::setup_recipient;
use crate::error::{Error, Result};
use crate::flows::sessions::{self, ActiveSession};
use crate::oidc::{ACCESS_TOKEN_TYPE, AccessClaims};

/// An access token of ours (RFC 9068: typ `at+jwt`, our issuer, not expired) whose sign-in
/// session still lives.
pub async fn access_token_session(
    app: &App,
    token: &str,
    issuer: &str,
) -> Result<(AccessClaims, ActiveSession)> {
    let ring = app.key_ring().await?;
    let claims: AccessClaims = ring
        .verify(token, ACCESS_TOKEN_TYPE, issuer, app.now(), false)
        .map_err(|_| Error::Unauthenticated)?;
    let session = sessions::by_hash(app, claims.sid.clone()).await?;
    if session.subject != claims.sub {
        return Err(Error::Unauthenticated);
    }
    Ok((claims, session))
}

/// OIDC Core 5.3: the claims the access token's scope allows.
pub async fn userinfo(app: &App, token: &str, issuer: &str) -> Result<serde_json::Value> {
    let (claims, session) = access_token_session(app, token, issuer).await?;
    let mut info = serde_json::json!({
        "sub": claims.sub,
        "preferred_username": session.username,
    });
    if claims.scope.split(' ').any(|s| s == "email")
        && let Some(record) = app.store.load_account(&session.username).await?
        && let Ok(email) = setup_recipient(
            record.account.name_email.as_deref(),
            record.account.address_email.as_deref(),
        )
    {
        info["email"] = serde_json::json!(email);
        // Addresses come from the organisation's directory; we have not proved them.
        info["email_verified"] = serde_json::json!(false);
    }
    Ok(info)
}
