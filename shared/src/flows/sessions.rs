//! Sessions: started after full authentication, checked on every authenticated request.

use crate::app::App;
use crate::error::{Error, Result};
use crate::limits::SESSION_TOUCH_SECS;
use crate::policy::{AccountKind, MfaState};
use crate::store::sessions::{NewSession, SessionRecord};
use crate::token::{is_well_formed, new_token};

pub(crate) const PURPOSE: &str = "session";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveSession {
    pub username: String,
    pub kind: AccountKind,
    pub mfa: MfaState,
    pub expires_at: u64,
}

/// Idle and absolute limits, whichever comes first.
fn expires_at(app: &App, record: &SessionRecord) -> u64 {
    (record.created_at + app.config.session_max_secs)
        .min(record.last_seen + app.config.session_idle_secs)
}

/// A new session for `username`: the token to give the user and when it expires if left idle.
pub async fn start(
    app: &App,
    username: &str,
    kind: AccountKind,
    mfa: MfaState,
    epoch: u64,
    now: u64,
) -> Result<(String, u64)> {
    let token = new_token()?;
    let new = NewSession {
        username,
        kind,
        mfa,
        now,
        epoch,
    };
    app.store
        .put_session(
            &app.keys.tokens.hash(PURPOSE, &token),
            &new,
            app.config.session_max_secs,
        )
        .await?;
    Ok((token, now + app.config.session_idle_secs))
}

/// The session behind a bearer token; `Unauthenticated` for anything not a live session.
pub async fn authenticate(app: &App, bearer: Option<&str>) -> Result<ActiveSession> {
    let token = bearer
        .filter(|t| is_well_formed(t))
        .ok_or(Error::Unauthenticated)?;
    let hash = app.keys.tokens.hash(PURPOSE, token);
    let now = app.now();
    let record = app
        .store
        .get_session(&hash)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if expires_at(app, &record) <= now {
        return Err(Error::Unauthenticated);
    }
    // An admin's MFA reset bumps the account's epoch, ending sessions made before it.
    let epoch = app.store.session_epoch(&record.username).await?;
    if epoch != Some(record.epoch) {
        return Err(Error::Unauthenticated);
    }
    // A staff session that gave no code (made while MFA was off, by password or /token) ends when
    // MFA is switched on: otherwise it would outlive the switch by up to 12 hours.
    if record.kind.is_staff()
        && record.mfa == MfaState::NotRequired
        && app.store.get_settings().await?.mfa_enabled
    {
        return Err(Error::Unauthenticated);
    }
    let mut last_seen = record.last_seen;
    if now >= record.last_seen + SESSION_TOUCH_SECS {
        app.store.touch_session(&hash, now).await?;
        last_seen = now;
    }
    Ok(ActiveSession {
        expires_at: expires_at(
            app,
            &SessionRecord {
                last_seen,
                ..record.clone()
            },
        ),
        username: record.username,
        kind: record.kind,
        mfa: record.mfa,
    })
}

/// Ends the session behind `bearer`; `Unauthenticated` if there was none.
pub async fn end(app: &App, bearer: Option<&str>) -> Result<()> {
    authenticate(app, bearer).await?;
    let token = bearer.ok_or(Error::Unauthenticated)?;
    app.store
        .delete_session(&app.keys.tokens.hash(PURPOSE, token))
        .await
}
