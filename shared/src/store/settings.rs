//! The organisation's settings item, written with an optimistic version check so that two
//! administrators saving at once cannot silently undo each other.

use super::keys;
use super::{Store, get_n, get_s, n, s, unavailable};
use crate::error::{Error, Result};

/// Shown in authenticator apps when no organisation name is set.
pub const DEFAULT_ISSUER: &str = "Staff MFA";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// "Enable multi-factor authentication for staff users": off by default.
    pub mfa_enabled: bool,
    pub org_default_email: Option<String>,
    pub org_name: Option<String>,
    /// How long audit entries are kept (days; `DEFAULT_AUDIT_RETENTION_DAYS` when unset).
    pub audit_retention_days: Option<u32>,
    /// When MFA is to be switched on by the schedule (Unix seconds), while it is off.
    pub enforce_at: Option<u64>,
    /// Who must sign in with their passkey once they have one.
    pub phishing_resistant_required_for: crate::policy::PhishingResistant,
    /// Bumped by every write; 0 means never written.
    pub version: u64,
}

/// Audit entries are kept about 13 months by default: a year's reviews and the month after.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;

impl Settings {
    pub(crate) fn from_item(item: &super::Item) -> Self {
        Settings {
            mfa_enabled: item
                .get("mfa_enabled")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            org_default_email: get_s(item, "org_default_email").map(str::to_owned),
            org_name: get_s(item, "org_name").map(str::to_owned),
            audit_retention_days: get_n(item, "audit_retention_days")
                .and_then(|d| u32::try_from(d).ok()),
            enforce_at: get_n(item, "enforce_at"),
            phishing_resistant_required_for: get_s(item, "phishing_resistant_required_for")
                .and_then(crate::policy::PhishingResistant::parse)
                .unwrap_or_default(),
            version: get_n(item, "version").unwrap_or(0),
        }
    }

    pub fn audit_retention_days(&self) -> u32 {
        self.audit_retention_days
            .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS)
    }

    /// The issuer shown in authenticator apps.
    pub fn issuer(&self) -> &str {
        self.org_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(DEFAULT_ISSUER)
    }
}

impl Store {
    pub async fn get_settings(&self) -> Result<Settings> {
        let item = self.get(keys::settings(), "get settings").await?;
        Ok(item.as_ref().map(Settings::from_item).unwrap_or_default())
    }

    /// Writes `new` if the stored version is still `new.version`; returns the stored settings.
    /// A lost race is `Error::Conflict`, and the caller may re-read and apply its change again.
    pub async fn put_settings(&self, new: &Settings) -> Result<Settings> {
        let mut item = keys::settings();
        item.insert(
            "mfa_enabled".into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(new.mfa_enabled),
        );
        if let Some(e) = &new.org_default_email {
            item.insert("org_default_email".into(), s(e));
        }
        if let Some(name) = &new.org_name {
            item.insert("org_name".into(), s(name));
        }
        if let Some(days) = new.audit_retention_days {
            item.insert("audit_retention_days".into(), n(days));
        }
        if let Some(at) = new.enforce_at {
            item.insert("enforce_at".into(), n(at));
        }
        item.insert(
            "phishing_resistant_required_for".into(),
            s(new.phishing_resistant_required_for.as_str()),
        );
        item.insert("version".into(), n(new.version + 1));
        let mut put = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        put = if new.version == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :v")
                .expression_attribute_values(":v", n(new.version))
        };
        match put.send().await {
            Ok(_) => Ok(Settings {
                version: new.version + 1,
                ..new.clone()
            }),
            Err(e) if super::is_condition_failure(&e) => Err(Error::Conflict(
                "The settings were changed by someone else at the same time. Try again.".into(),
            )),
            Err(e) => Err(unavailable("put settings")(e)),
        }
    }
}
