//! RP-initiated logout (`/end-session`, OpenID Connect RP-Initiated Logout 1.0).

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::Result;
use crate::flows::sessions;
use crate::oidc::{ID_TOKEN_TYPE, IdClaims, with_query};
use crate::token::{Purpose, is_well_formed};

/// `/end-session` parameters (OIDC RP-Initiated Logout 1.0).
#[derive(Debug, Default, serde::Deserialize)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

pub enum EndSession {
    /// Signed out; go to the client's registered post-logout URI.
    Redirect(String),
    /// Signed out; show our page.
    SignedOut,
    /// Nothing proves the request came from the user's site: ask before signing out.
    Confirm,
    Refused(&'static str),
}

/// Ends the sign-in session named by a valid `id_token_hint` (even an expired one), which must be
/// the browser's own when it has one. Redirects only to a URI registered for the hint's client.
pub async fn end_session(
    app: &App,
    p: &EndSessionParams,
    cookie_session: Option<&str>,
    issuer: &str,
) -> Result<EndSession> {
    let Some(hint) = p.id_token_hint.as_deref() else {
        return Ok(
            if cookie_session.is_some() && p.post_logout_redirect_uri.is_none() {
                EndSession::Confirm
            } else if p.post_logout_redirect_uri.is_some() {
                EndSession::Refused("A return address needs an id_token_hint.")
            } else {
                EndSession::SignedOut
            },
        );
    };
    let ring = app.key_ring().await?;
    let Ok(claims) = ring.verify::<IdClaims>(hint, ID_TOKEN_TYPE, issuer, app.now(), true) else {
        app.audit(
            crate::audit::ANONYMOUS,
            Action::EndSession,
            "(invalid hint)",
            Outcome::Refused,
        )
        .await;
        return Ok(EndSession::Refused("The id_token_hint is not valid."));
    };
    if p.client_id.as_deref().is_some_and(|c| c != claims.aud) {
        return Ok(EndSession::Refused(
            "client_id does not match the id_token_hint.",
        ));
    }
    let redirect = match p.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => {
            let client = app.store.get_client(&claims.aud).await?;
            if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri)) {
                return Ok(EndSession::Refused(
                    "The return address is not registered for this application.",
                ));
            }
            let mut params = vec![];
            if let Some(state) = p.state.as_deref() {
                params.push(("state", state));
            }
            Some(with_query(uri, &params))
        }
    };
    // A hint proves which session the site means; it is no licence to end it. Only the browser
    // that holds the session's cookie ends it at once; anyone else is asked first (a link with
    // somebody's hint, even an expired one, must not sign them out).
    let cookie = cookie_session
        .filter(|t| is_well_formed(t))
        .map(|t| app.keys.tokens.hash(Purpose::Session, t));
    if cookie.as_ref() != Some(&claims.sid) {
        return Ok(EndSession::Confirm);
    }
    app.store.delete_session(&claims.sid).await?;
    app.audit(
        &claims.preferred_username,
        Action::SignOut,
        &claims.aud,
        Outcome::Success,
    )
    .await;
    Ok(match redirect {
        Some(r) => EndSession::Redirect(r),
        None => EndSession::SignedOut,
    })
}

/// The sign-in session behind the browser's cookie ends (the confirmation page's button).
pub async fn end_cookie_session(app: &App, cookie_session: Option<&str>) -> Result<()> {
    if let Ok(s) = sessions::authenticate(app, cookie_session).await {
        app.store.delete_session(&s.token_hash).await?;
        app.audit(&s.username, Action::SignOut, &s.username, Outcome::Success)
            .await;
    }
    Ok(())
}
