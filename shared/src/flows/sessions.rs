//! Sessions: started after full authentication, checked on every authenticated request.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::limits::SESSION_TOUCH_SECS;
use crate::policy::{AccountKind, MfaState};
use crate::store::sessions::{NewSession, SessionRecord};
use crate::token::{Purpose, is_well_formed, new_token};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveSession {
    pub username: String,
    /// The account's kind now (not when the session was made).
    pub kind: AccountKind,
    /// The account's OpenID Connect `sub`.
    pub subject: String,
    pub mfa: MfaState,
    pub expires_at: u64,
    /// When a code was last given in this session.
    pub code_at: Option<u64>,
    /// When the sign-in happened (OIDC `auth_time`).
    pub auth_time: u64,
    /// How the sign-in was made (RFC 8176).
    pub amr: Vec<String>,
    /// The stored form of the session's token, to update or end it.
    pub token_hash: String,
    /// The account's session epoch the session belongs to (writes made for the session check it).
    pub epoch: u64,
}

/// Contract: sensitive administration needs a code given in the last 10 minutes.
pub const RECENT_CODE_SECS: u64 = 10 * 60;

impl ActiveSession {
    /// The session's account as it is now, everything it holds; `Unauthenticated` when it is gone.
    pub async fn account(&self, app: &App) -> Result<crate::account::AccountRecord> {
        app.store
            .load_account(&self.username)
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Sensitive administration (switching MFA off, identity providers and clients, resetting a
    /// sysadmin, unlocking) needs a recent code, so a session left open, or stolen, cannot do it.
    pub fn require_recent_code(&self, now: u64) -> Result<()> {
        match self.code_at {
            Some(at) if at + RECENT_CODE_SECS > now => Ok(()),
            _ => Err(Error::ReauthenticationRequired),
        }
    }
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
    amr: &[String],
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
        code_at: None,
        amr,
    };
    app.store
        .put_session(
            &app.keys.tokens.hash(Purpose::Session, &token),
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
    by_hash(app, app.keys.tokens.hash(Purpose::Session, token)).await
}

/// The live session stored under `hash` (what tokens granted by a sign-in carry as `sid`), with
/// every rule `authenticate` applies; using it counts as activity.
pub async fn by_hash(app: &App, hash: String) -> Result<ActiveSession> {
    let now = app.now();
    let record = app
        .store
        .get_session(&hash)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if expires_at(app, &record) <= now {
        return Err(Error::Unauthenticated);
    }
    // Every change that matters to what a session may do (kind, email, password, enrolment,
    // disabled) moves the account's epoch on, ending sessions made before it; and what the
    // session may do is decided by the account as it is now, never the kind it was made with.
    let account = app
        .store
        .account_now(&record.username)
        .await?
        .filter(|a| a.epoch == record.epoch && !a.disabled)
        .ok_or(Error::Unauthenticated)?;
    // A staff session that gave no code (made while MFA was off, by password or /token) ends once
    // MFA applies to the account: when the switch goes on, or when the account gets an app of its
    // own accord. Otherwise it would outlive either by up to 12 hours (a password thief's session
    // outliving the owner's setting an app up).
    if account.kind.is_staff() && record.mfa == MfaState::NotRequired {
        let applies = app.store.get_settings().await?.mfa_enabled
            || app
                .store
                .get_enrolment(&record.username)
                .await?
                .is_some_and(|e| e.is_app());
        if applies {
            return Err(Error::Unauthenticated);
        }
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
        kind: account.kind,
        subject: account.subject,
        mfa: record.mfa,
        code_at: record.code_at,
        auth_time: record.created_at,
        amr: if record.amr.is_empty() {
            crate::oidc::amr(record.mfa, None)
        } else {
            record.amr.clone()
        },
        token_hash: hash,
        epoch: record.epoch,
    })
}

/// Ends a live session (sign-out): tokens granted from it stop working too.
pub async fn end_by_hash(app: &App, session: &ActiveSession) -> Result<()> {
    app.store.delete_session(&session.token_hash).await?;
    app.audit(
        &session.username,
        Action::SignOut,
        &session.username,
        Outcome::Success,
    )
    .await;
    Ok(())
}
