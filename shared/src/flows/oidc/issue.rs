//! What a grant issues: the access token and the ID token, signed for the session's account as it
//! is now, and (when a code or refresh token is redeemed) the refresh token it issues, stored in the
//! write that redeems it.

use crate::app::App;
use crate::error::{Error, Result};
use crate::flows::sessions::{self, ActiveSession};
use crate::oidc::{
    ACCESS_TOKEN_TYPE, AccessClaims, Grant, ID_TOKEN_TYPE, IdClaims, TOKEN_SECS, acr, token_scope,
};
use crate::store::oidc::{GrantKind, Redeemed, Successor};
use crate::token::{Purpose, new_token};

use super::form::Tokens;

pub(in crate::flows::oidc) const SESSION_ENDED: &str =
    "The sign-in this grant came from has ended.";

/// The sign-in session a grant came from, if it still lives (idle, 12 hours, sign-out, reset).
pub(in crate::flows::oidc) async fn live_session(
    app: &App,
    grant: &Grant,
) -> Result<ActiveSession> {
    match sessions::by_hash(app, grant.session_hash.clone()).await {
        Ok(s) => Ok(s),
        Err(Error::Unauthenticated) => Err(Error::InvalidGrant(SESSION_ENDED)),
        Err(e) => Err(e),
    }
}

/// A grant used again (RFC 6749 4.1.2, RFC 9700 4.14.2): what its first use issued, the refresh
/// family, is revoked. The user's sign-in session is left alone.
pub(in crate::flows::oidc) async fn revoke_issued(app: &App, family: Option<String>) -> Result<()> {
    let now = app.now();
    if let Some(f) = family {
        app.store
            .revoke_family(&f, now, now + app.config.session_max_secs)
            .await?;
    }
    Ok(())
}

/// A code or refresh token being redeemed.
pub(in crate::flows::oidc) enum Redemption<'a> {
    /// A code's first use stores the refresh token derived from it (`refresh`, whose item is
    /// `hash`): live in a new `family`, or used up when the client may not refresh (None).
    Code {
        refresh: &'a str,
        hash: &'a str,
        family: Option<&'a str>,
        /// When the code expires: its record of use must outlive it.
        code_exp: u64,
    },
    /// A refresh token (its item is `hash`) rotates within the family it was issued in.
    Refresh { hash: &'a str, family: &'a str },
}

/// Signs the access token and the ID token for the session's account as it is now (its subject
/// and kind); when a code or refresh token is redeemed, uses it up and stores the refresh token its
/// use issues in one write.
pub(in crate::flows::oidc) async fn issue(
    app: &App,
    grant: &Grant,
    session: &ActiveSession,
    issuer: &str,
    redeem: Option<Redemption<'_>>,
) -> Result<Redeemed<Tokens>> {
    let now = app.now();
    let ring = app.key_ring().await?;
    let exp = now + TOKEN_SECS;
    let scope = token_scope(&grant.scope, session.mfa);
    let access = AccessClaims {
        iss: issuer.to_owned(),
        sub: session.subject.clone(),
        aud: grant.client_id.clone(),
        exp,
        iat: now,
        nbf: now,
        jti: new_token()?,
        client_id: grant.client_id.clone(),
        scope: scope.clone(),
        auth_time: session.auth_time,
        amr: grant.amr.clone(),
        acr: acr(session.mfa).to_owned(),
        kind: session.kind,
        sid: grant.session_hash.clone(),
    };
    let id = IdClaims {
        iss: issuer.to_owned(),
        sub: session.subject.clone(),
        aud: grant.client_id.clone(),
        exp,
        iat: now,
        auth_time: session.auth_time,
        nonce: grant.nonce.clone(),
        amr: grant.amr.clone(),
        acr: acr(session.mfa).to_owned(),
        kind: session.kind,
        azp: grant.client_id.clone(),
        sid: grant.session_hash.clone(),
        preferred_username: session.username.clone(),
    };
    let access_token = ring.sign(ACCESS_TOKEN_TYPE, &access)?;
    let id_token = ring.sign(ID_TOKEN_TYPE, &id)?;
    // A refresh token cannot outlive the sign-in session it came from.
    let session_end = session.auth_time + app.config.session_max_secs;
    let refresh_token = match redeem {
        None => None,
        Some(Redemption::Code {
            refresh,
            hash,
            family,
            code_exp,
        }) => {
            let record = Grant {
                redirect_uri: None,
                code_challenge: None,
                nonce: None,
                family: family.map(str::to_owned),
                ..grant.clone()
            };
            // Live, it lasts as long as the session may; used up, as long as the code could be
            // shown again. Either way at least as long as the code.
            let expires_at = match family {
                Some(_) => session_end.max(code_exp),
                None => code_exp,
            };
            match app
                .store
                .redeem_code(hash, &record, expires_at, now)
                .await?
            {
                Redeemed::Fresh(()) => {}
                Redeemed::Reused { family } => return Ok(Redeemed::Reused { family }),
                Redeemed::Missing => return Ok(Redeemed::Missing),
                Redeemed::AccountChanged => return Ok(Redeemed::AccountChanged),
            }
            // The session was checked against the account before the write; the write cannot
            // check it too (that took a transaction), so the account is read again after it. A
            // change that landed before this read (a demotion, a reset, disabling) refuses the
            // redemption and revokes the family it just issued. One that lands after it is ordered
            // after the issuance, like a demotion a moment after a sign-in: the tokens were issued
            // to the account as it was, the access token lives out its 15 minutes, and the family
            // dies at its next refresh, which checks the session's epoch again.
            let now_account = match app.store.account_now(&session.username).await {
                Ok(a) => a,
                Err(e) => {
                    // Nothing was handed out: take the write back, so that the client's retry
                    // redeems the code instead of looking like a stolen copy of it. (A code that
                    // issues no refresh token stays used: a retry is refused, and revokes nothing.)
                    if let Some(f) = family
                        && let Err(undo) = app.store.undo_code_redemption(hash, f).await
                    {
                        tracing::warn!(error = ?undo, "code redemption not taken back");
                    }
                    return Err(e);
                }
            };
            let unchanged = now_account.is_some_and(|a| a.epoch == session.epoch && !a.disabled);
            if !unchanged {
                revoke_issued(app, family.map(str::to_owned)).await?;
                return Ok(Redeemed::AccountChanged);
            }
            family.map(|_| refresh.to_owned())
        }
        Some(Redemption::Refresh { hash, family }) => {
            let token = new_token()?;
            let refresh = Grant {
                redirect_uri: None,
                code_challenge: None,
                nonce: None,
                family: Some(family.to_owned()),
                ..grant.clone()
            };
            let refresh_hash = app.keys.tokens.hash(Purpose::RefreshToken, &token);
            // The account must still be as the session saw it when the write lands: a change of
            // kind (or anything else that moves its epoch) between the check and the write
            // refuses it.
            let next = Successor {
                hash: &refresh_hash,
                grant: &refresh,
                expires_at: session_end.max(now + 1),
                username: &session.username,
                epoch: session.epoch,
            };
            match app
                .store
                .redeem_grant_issuing(GrantKind::Refresh, hash, Some(family), now, Some(next))
                .await?
            {
                Redeemed::Fresh(()) => Some(token),
                Redeemed::Reused { family } => return Ok(Redeemed::Reused { family }),
                Redeemed::Missing => return Ok(Redeemed::Missing),
                Redeemed::AccountChanged => return Ok(Redeemed::AccountChanged),
            }
        }
    };
    Ok(Redeemed::Fresh(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: TOKEN_SECS,
        scope,
        id_token: Some(id_token),
        refresh_token,
    }))
}
