//! Passkeys for a signed-in user (`/mfa/passkeys`: register, list, remove) and the start of a
//! sign-in with one (`POST /mfa/passkey/start`). Registering or removing one needs a code (or a
//! passkey sign-in) from the last 10 minutes, as recovery codes do: a session left open, or
//! stolen, cannot add a way in or take one away. Signing in with one is a factor like a code
//! (`flows::factor`), at the code step (`flows::verify`).
//!
//! Each ceremony's state is kept with the account between its start and its finish (5 minutes),
//! bound to what started it (the session, or the sign-in challenge), and used up by the write
//! that finishes it (`store::passkeys`).

use serde::Serialize;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::challenge;
use crate::flows::notices;
use crate::flows::sessions::ActiveSession;
use crate::passkey::{self, CEREMONY_SECS, Ceremony, CeremonyFor, MAX_PER_ACCOUNT, StoredPasskey};
use crate::store::passkeys::Added;
use crate::token::random_bytes;

/// A passkey as the account page lists it.
#[derive(Serialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&StoredPasskey> for PasskeyView {
    fn from(p: &StoredPasskey) -> Self {
        PasskeyView {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: crate::clock::rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(crate::clock::rfc3339),
        }
    }
}

fn ceremony_id() -> Result<String> {
    Ok(data_encoding::HEXLOWER.encode(&random_bytes::<16>()?))
}

fn state_json<T: Serialize>(state: &T) -> Result<String> {
    serde_json::to_string(state).map_err(|e| Error::Internal(format!("ceremony state: {e}")))
}

fn options_json<T: Serialize>(options: &T) -> Result<serde_json::Value> {
    serde_json::to_value(options).map_err(|e| Error::Internal(format!("ceremony options: {e}")))
}

async fn recent_code(app: &App, session: &ActiveSession, action: Action, now: u64) -> Result<()> {
    if let Err(e) = session.require_recent_code(now) {
        app.audit(
            &session.username,
            action,
            &session.username,
            Outcome::ReauthenticationRequired,
        )
        .await;
        return Err(e);
    }
    Ok(())
}

/// Starts registering a passkey for the session's account: the creation options for the
/// browser (`navigator.credentials.create`).
pub async fn register_start(
    app: &App,
    session: &ActiveSession,
    issuer: &str,
) -> Result<serde_json::Value> {
    let now = app.now();
    recent_code(app, session, Action::PasskeyAdd, now).await?;
    let record = session.account(app).await?;
    if record.passkeys.passkeys.len() >= MAX_PER_ACCOUNT {
        return Err(Error::Conflict(format!(
            "An account can have {MAX_PER_ACCOUNT} passkeys. Remove one you no longer use first."
        )));
    }
    let settings = app.store.get_settings().await?;
    let rp = passkey::relying_party(issuer, settings.issuer())?;
    // The authenticator is told which of the account's passkeys it holds already, so it does
    // not make a second for the same account.
    let known = record
        .passkeys
        .passkeys
        .iter()
        .map(|p| passkey::parse(&p.credential).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>>>()?;
    let (options, state) = rp
        .start_passkey_registration(
            passkey::user_handle(&session.subject),
            &session.username,
            &session.username,
            Some(known),
        )
        .map_err(|e| Error::Internal(format!("start passkey registration: {e}")))?;
    let ceremony = Ceremony {
        id: ceremony_id()?,
        state: state_json(&state)?,
        bound_to: session.token_hash.clone(),
        expires_at: now + CEREMONY_SECS,
    };
    app.store
        .put_ceremony(
            &session.username,
            CeremonyFor::Register(&session.token_hash),
            &ceremony,
        )
        .await?;
    options_json(&options)
}

/// Finishes the registration the session started: the new passkey, named `name`.
pub async fn register_finish(
    app: &App,
    session: &ActiveSession,
    issuer: &str,
    name: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<PasskeyView> {
    let name = passkey::check_name(name)?;
    let now = app.now();
    // Still within 10 minutes of the code (or passkey) the start was allowed by.
    recent_code(app, session, Action::PasskeyAdd, now).await?;
    let username = session.username.as_str();
    let record = session.account(app).await?;
    let gone = || {
        Error::bad_request(
            "ceremony_expired",
            "This passkey registration has expired or was finished already. Start again.",
        )
    };
    let ceremony = record
        .passkeys
        .ceremony(CeremonyFor::Register(&session.token_hash), now)
        .ok_or_else(gone)?;
    let state = serde_json::from_str(&ceremony.state).map_err(|_| gone())?;
    let rp = passkey::relying_party(issuer, crate::store::settings::DEFAULT_ISSUER)?;
    // A credential that will not do: audited, and nothing written.
    let invalid = |message: &'static str| async move {
        app.audit(
            username,
            Action::PasskeyAdd,
            username,
            Outcome::InvalidPasskey,
        )
        .await;
        Error::bad_request("invalid_passkey", message)
    };
    let key = match rp.finish_passkey_registration(credential, &state) {
        Ok(key) => key,
        Err(e) => {
            tracing::info!(reason = %e, "passkey registration refused");
            return Err(invalid(
                "The passkey could not be registered: the browser's answer did not match this site or this registration. Start again.",
            )
            .await);
        }
    };
    if key.cred_id().len() > passkey::MAX_CREDENTIAL_ID_BYTES {
        return Err(invalid(
            "This authenticator's passkey is not supported (its id is too long). Choose another authenticator.",
        )
        .await);
    }
    let stored = StoredPasskey {
        id: passkey::credential_id(&key),
        name,
        created_at: now,
        last_used_at: None,
        credential: passkey::to_json(&key)?,
    };
    match app
        .store
        .add_passkey(username, ceremony, &stored, session.epoch, now)
        .await?
    {
        Added::Done => {}
        Added::CeremonyGone => return Err(gone()),
        Added::CredentialTaken => {
            app.audit(
                username,
                Action::PasskeyAdd,
                username,
                Outcome::CredentialInUse,
            )
            .await;
            return Err(Error::Conflict(
                "This passkey is registered already. Choose another authenticator.".into(),
            ));
        }
        Added::Refused => {
            app.audit(username, Action::PasskeyAdd, username, Outcome::Refused)
                .await;
            return Err(Error::Conflict(format!(
                "The passkey was not added: the account changed meanwhile, or has {MAX_PER_ACCOUNT} passkeys already."
            )));
        }
    }
    app.audit(username, Action::PasskeyAdd, username, Outcome::Created)
        .await;
    notices::notify(app, &record.account, |org| {
        crate::messages::passkey_notice(org, &stored.name, true)
    })
    .await;
    Ok(PasskeyView::from(&stored))
}

/// The session's account's passkeys, oldest first.
pub async fn list(app: &App, session: &ActiveSession) -> Result<Vec<PasskeyView>> {
    let mut passkeys = app
        .store
        .load_account(&session.username)
        .await?
        .map(|r| r.passkeys.passkeys)
        .unwrap_or_default();
    passkeys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(passkeys.iter().map(PasskeyView::from).collect())
}

/// Removes one of the session's account's passkeys.
pub async fn remove(app: &App, session: &ActiveSession, id: &str) -> Result<()> {
    let now = app.now();
    recent_code(app, session, Action::PasskeyRemove, now).await?;
    let username = session.username.as_str();
    let record = session.account(app).await?;
    let Some(found) = record.passkeys.passkeys.iter().find(|p| p.id == id) else {
        return Err(Error::NotFound);
    };
    if !app.store.remove_passkey(username, id).await? {
        return Err(Error::NotFound);
    }
    app.audit(username, Action::PasskeyRemove, username, Outcome::Deleted)
        .await;
    notices::notify(app, &record.account, |org| {
        crate::messages::passkey_notice(org, &found.name, false)
    })
    .await;
    Ok(())
}

/// Starts a sign-in with a passkey at the code step: the request options for the browser
/// (`navigator.credentials.get`), for the challenge's account's passkeys.
pub async fn sign_in_start(app: &App, challenge: &str, issuer: &str) -> Result<serde_json::Value> {
    let now = app.now();
    let live = challenge::open(app, challenge, now)?;
    let record = app
        .store
        .load_account(&live.username)
        .await?
        .filter(|r| !r.account.disabled && r.account.session_epoch == live.epoch)
        .filter(|r| r.challenge_alive(&live.id))
        .ok_or(Error::InvalidChallenge)?;
    if record.passkeys.passkeys.is_empty() {
        return Err(Error::bad_request(
            "no_passkey",
            "This account has no passkey. Enter a code from your authenticator app.",
        ));
    }
    let keys = record
        .passkeys
        .passkeys
        .iter()
        .map(|p| passkey::parse(&p.credential))
        .collect::<Result<Vec<_>>>()?;
    let rp = passkey::relying_party(issuer, crate::store::settings::DEFAULT_ISSUER)?;
    let (options, state) = rp
        .start_passkey_authentication(&keys)
        .map_err(|e| Error::Internal(format!("start passkey sign-in: {e}")))?;
    let ceremony = Ceremony {
        id: ceremony_id()?,
        state: state_json(&state)?,
        bound_to: live.id.clone(),
        expires_at: (now + CEREMONY_SECS).min(live.expires_at),
    };
    app.store
        .put_ceremony(&live.username, CeremonyFor::SignIn(&live.id), &ceremony)
        .await?;
    options_json(&options)
}
