//! What administrators do: change settings (with the lock-out guard), reset a user's MFA, unlock
//! an account, configure identity providers. Sensitive changes need a recent code (step-up).

use crate::account::EnrolmentStatus;
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::email::{is_valid, setup_recipient};
use crate::error::{Error, Result};
use crate::flows::guard::{Actor, require_step_up};
use crate::flows::notices;
use crate::policy::AccountKind;
use crate::store::locks::LockSite;
use crate::store::settings::Settings;

#[derive(Clone, Debug, Default)]
pub struct SettingsChange {
    pub mfa_enabled: Option<bool>,
    pub org_default_email: Option<String>,
    pub org_name: Option<String>,
    pub audit_retention_days: Option<u32>,
    /// Some(Some(t)): switch MFA on at `t` (by the schedule); Some(None): cancel that.
    pub enforce_at: Option<Option<u64>>,
    /// The schedule's switch-on: made only while the switch-on scheduled is still this one (an
    /// administrator may call it off or move it at the same moment).
    pub scheduled_for: Option<u64>,
    /// Who must sign in with their passkey once they have one.
    pub phishing_resistant_required_for: Option<crate::policy::PhishingResistant>,
}

/// The settings as an audit entry's before and after show them.
fn settings_json(s: &Settings) -> serde_json::Value {
    serde_json::json!({
        "mfa_enabled": s.mfa_enabled,
        "org_default_email": s.org_default_email,
        "org_name": s.org_name,
        "audit_retention_days": s.audit_retention_days(),
        "enforce_at": s.enforce_at.map(crate::clock::rfc3339),
        "phishing_resistant_required_for": s.phishing_resistant_required_for.as_str(),
    })
}

/// Applies a partial change. Re-reads and retries when another writer got in between, so two
/// administrators changing different fields at once both keep their change.
pub async fn change_settings(
    app: &App,
    actor: &Actor<'_>,
    change: SettingsChange,
) -> Result<Settings> {
    if let Some(email) = &change.org_default_email
        && !is_valid(email)
    {
        return Err(Error::bad_request(
            "invalid_email",
            "The organisation default email is not a valid email address.",
        ));
    }
    if let Some(name) = &change.org_name
        && (name.trim().is_empty() || name.len() > 64 || name.contains(':'))
    {
        return Err(Error::bad_request(
            "invalid_request",
            "The organisation name must be 1 to 64 characters and contain no colon.",
        ));
    }
    if let Some(Some(at)) = change.enforce_at
        && at <= app.now()
    {
        return Err(Error::bad_request(
            "invalid_request",
            "enforce_at must be in the future: to switch MFA on now, set mfa_enabled.",
        ));
    }
    if change
        .audit_retention_days
        .is_some_and(|d| !(30..=3650).contains(&d))
    {
        return Err(Error::bad_request(
            "invalid_request",
            "The audit retention must be 30 to 3650 days.",
        ));
    }
    // Shortening what the trail keeps, or calling off a scheduled switch-on, is as sensitive as
    // switching MFA off (a recent code, while MFA is on: a switch-on is only ever scheduled
    // while it is off, so calling one off asks for no code).
    if change.mfa_enabled == Some(false)
        || change.audit_retention_days.is_some()
        || change.enforce_at == Some(None)
        || change.phishing_resistant_required_for.is_some()
    {
        // Holding fewer people to their passkeys weakens sign-in as switching MFA off does;
        // holding more to them can lock the console's own user out of a code: both need one.
        require_step_up(app, actor, Action::SettingsChange, "settings").await?;
    }
    for _ in 0..5 {
        let current = app.store.get_settings().await?;
        if let Some(at) = change.scheduled_for
            && current.enforce_at != Some(at)
        {
            return Ok(current);
        }
        if matches!(change.enforce_at, Some(Some(_)))
            && change.mfa_enabled.unwrap_or(current.mfa_enabled)
        {
            return Err(Error::bad_request(
                "invalid_request",
                "Multi-factor authentication is on already: there is no switch-on to schedule.",
            ));
        }
        let next = Settings {
            mfa_enabled: change.mfa_enabled.unwrap_or(current.mfa_enabled),
            org_default_email: change
                .org_default_email
                .clone()
                .or(current.org_default_email.clone()),
            org_name: change.org_name.clone().or(current.org_name.clone()),
            audit_retention_days: change.audit_retention_days.or(current.audit_retention_days),
            enforce_at: change.enforce_at.unwrap_or(current.enforce_at),
            phishing_resistant_required_for: change
                .phishing_resistant_required_for
                .unwrap_or(current.phishing_resistant_required_for),
            version: current.version,
        };
        // Once MFA is on there is nothing left to schedule.
        let next = Settings {
            enforce_at: next.enforce_at.filter(|_| !next.mfa_enabled),
            ..next
        };
        // A scheduled switch-on must be able to happen: the same checks as switching on now.
        let switching_on = next.mfa_enabled && !current.mfa_enabled;
        let scheduling = next.enforce_at.is_some() && next.enforce_at != current.enforce_at;
        if switching_on || scheduling {
            if !next.org_default_email.as_deref().is_some_and(is_valid) {
                return Err(Error::OrgEmailRequired);
            }
            if !an_admin_can_sign_in(app).await? {
                return Err(Error::NoAdminCanEnrol);
            }
        }
        match app.store.put_settings(&next).await {
            Ok(saved) => {
                let detail = serde_json::json!({
                    "before": settings_json(&current),
                    "after": settings_json(&saved),
                    "change": describe(&current, &saved),
                });
                app.audit_detail(
                    actor.name(),
                    Action::SettingsChange,
                    "settings",
                    Outcome::Updated,
                    Some(&detail),
                )
                .await;
                return Ok(saved);
            }
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(
        "The settings are being changed by others. Try again.".into(),
    ))
}

fn describe(before: &Settings, after: &Settings) -> String {
    let mut parts = vec![];
    if before.mfa_enabled != after.mfa_enabled {
        parts.push(format!("mfa_enabled={}", after.mfa_enabled));
    }
    if before.org_default_email != after.org_default_email {
        parts.push("org_default_email changed".to_owned());
    }
    if before.org_name != after.org_name {
        parts.push("org_name changed".to_owned());
    }
    if before.enforce_at != after.enforce_at {
        parts.push(match after.enforce_at {
            Some(at) => format!("enforce_at={}", crate::clock::rfc3339(at)),
            None => "enforce_at cleared".to_owned(),
        });
    }
    if before.audit_retention_days != after.audit_retention_days {
        parts.push(format!(
            "audit_retention_days={}",
            after.audit_retention_days()
        ));
    }
    if before.phishing_resistant_required_for != after.phishing_resistant_required_for {
        parts.push(format!(
            "phishing_resistant_required_for={}",
            after.phishing_resistant_required_for.as_str()
        ));
    }
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(", ")
    }
}

/// With MFA on, could at least one system administrator sign in: enrolled already, or able to
/// receive a setup email?
async fn an_admin_can_sign_in(app: &App) -> Result<bool> {
    Ok(app.store.staff_accounts().await?.staff.iter().any(|s| {
        s.account.kind == AccountKind::Sysadmin
            && (s.enrolment == Some(EnrolmentStatus::Active)
                || setup_recipient(
                    s.account.name_email.as_deref(),
                    s.account.address_email.as_deref(),
                )
                .is_ok())
    }))
}

/// Removes a user's enrolment (lost phone), ends their sessions, and tells them by email.
pub async fn reset_mfa(app: &App, actor: &Actor<'_>, username: &str) -> Result<()> {
    let record = app
        .store
        .load_account(username)
        .await?
        .ok_or(Error::NotFound)?;
    if record.account.kind == AccountKind::Sysadmin {
        require_step_up(app, actor, Action::MfaReset, username).await?;
    }
    if !app.store.reset_mfa(username).await? {
        return Err(Error::NotFound);
    }
    app.audit(actor.name(), Action::MfaReset, username, Outcome::Success)
        .await;
    notices::notify_reset(app, &record.account).await;
    Ok(())
}

/// Ends an account's password and code locks (after 100 wrong passwords, or 10 wrong codes).
/// The per-address back-off is left alone: it only ever slows the address that earned it.
pub async fn unlock(app: &App, actor: &Actor<'_>, username: &str) -> Result<()> {
    if app.store.load_account(username).await?.is_none() {
        return Err(Error::NotFound);
    }
    require_step_up(app, actor, Action::Unlock, username).await?;
    let (passwords, codes) = (
        LockSite::PasswordAccount { username },
        LockSite::CodeEntry { username },
    );
    tokio::try_join!(
        app.store.unlock_name(&passwords),
        app.store.clear_lock(&codes)
    )?;
    app.audit(actor.name(), Action::Unlock, username, Outcome::Success)
        .await;
    Ok(())
}

/// What an administrator can do to an account over its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    Disable,
    Enable,
    Delete,
}

/// Disables (every session ends), enables, or deletes an account (its enrolment, locks, links,
/// sessions and tokens go with it). Sensitive when it touches a system administrator.
pub async fn change_account(
    app: &App,
    actor: &Actor<'_>,
    username: &str,
    change: AccountChange,
) -> Result<()> {
    let record = app
        .store
        .load_account(username)
        .await?
        .ok_or(Error::NotFound)?;
    let action = match change {
        AccountChange::Disable => Action::AccountDisable,
        AccountChange::Enable => Action::AccountEnable,
        AccountChange::Delete => Action::AccountDelete,
    };
    if record.account.kind == AccountKind::Sysadmin {
        require_step_up(app, actor, action, username).await?;
    }
    let done = match change {
        AccountChange::Disable => app.store.set_disabled(username, true).await?,
        AccountChange::Enable => app.store.set_disabled(username, false).await?,
        AccountChange::Delete => app.store.delete_account(username).await?,
    };
    if !done {
        return Err(Error::NotFound);
    }
    let detail = serde_json::json!({
        "before": { "kind": record.account.kind.as_str(), "disabled": record.account.disabled },
        "after": match change {
            AccountChange::Delete => serde_json::Value::Null,
            other => serde_json::json!({ "disabled": other == AccountChange::Disable }),
        },
    });
    app.audit_detail(
        actor.name(),
        action,
        username,
        Outcome::Success,
        Some(&detail),
    )
    .await;
    Ok(())
}

/// What an administrator reads before switching MFA on: the figures as last counted
/// (`flows::tally`), and who is locked out now.
pub struct Readiness {
    pub tally: crate::flows::tally::Tally,
    /// Staff whose code entry is locked now, and until when.
    pub locked: Vec<(String, u64)>,
    /// Staff whose password entry is locked now (100 failures in a row), and until when.
    pub password_locked: Vec<(String, u64)>,
}

pub async fn readiness(app: &App) -> Result<Readiness> {
    let (tally, locked) = tokio::try_join!(
        crate::flows::tally::current(app),
        app.store.staff_locked_now(app.now())
    )?;
    Ok(Readiness {
        tally,
        locked: locked.code,
        password_locked: locked.password,
    })
}
