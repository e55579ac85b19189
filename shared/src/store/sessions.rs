//! Sessions after full authentication: stored under a keyed hash of the token, ended by idle
//! time, absolute time, sign-out, or a bump of the account's session epoch (an admin reset).

use super::keys::{self, PROFILE};
use super::{Item, Store, get_n, get_s, n, s, unavailable};
pub use crate::account::AccountNow;
use crate::error::{Error, Result};
use crate::policy::{AccountKind, MfaState};

pub struct NewSession<'a> {
    pub username: &'a str,
    pub kind: AccountKind,
    pub mfa: MfaState,
    pub now: u64,
    pub epoch: u64,
    /// When a security code was last given in this session (None: never).
    pub code_at: Option<u64>,
    /// How the sign-in was made (RFC 8176), as tokens from this session will say.
    pub amr: &'a [String],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub username: String,
    pub kind: AccountKind,
    pub mfa: MfaState,
    pub created_at: u64,
    pub last_seen: u64,
    pub epoch: u64,
    pub code_at: Option<u64>,
    /// Empty for sessions made before it was kept.
    pub amr: Vec<String>,
}

pub(crate) fn session_item(hash: &str, new: &NewSession<'_>, max_secs: u64) -> Item {
    let mut item = keys::session(hash);
    item.insert("username".into(), s(new.username));
    item.insert("kind".into(), s(new.kind.as_str()));
    item.insert("mfa".into(), s(new.mfa.as_str()));
    item.insert("created_at".into(), n(new.now));
    item.insert("last_seen".into(), n(new.now));
    item.insert("epoch".into(), n(new.epoch));
    item.insert("ttl".into(), n(new.now + max_secs));
    if let Some(at) = new.code_at {
        item.insert("code_at".into(), n(at));
    }
    if !new.amr.is_empty() {
        item.insert(
            "amr".into(),
            aws_sdk_dynamodb::types::AttributeValue::L(new.amr.iter().map(s).collect()),
        );
    }
    item
}

impl Store {
    pub async fn put_session(&self, hash: &str, new: &NewSession<'_>, max_secs: u64) -> Result<()> {
        self.put_new(session_item(hash, new, max_secs), "put session")
            .await
    }

    pub async fn get_session(&self, hash: &str) -> Result<Option<SessionRecord>> {
        let item = self.get(keys::session(hash), "get session").await?;
        let Some(item) = item.as_ref() else {
            return Ok(None);
        };
        let corrupt = || Error::Internal("session item".into());
        Ok(Some(SessionRecord {
            username: get_s(item, "username").ok_or_else(corrupt)?.to_owned(),
            kind: get_s(item, "kind")
                .and_then(AccountKind::parse)
                .ok_or_else(corrupt)?,
            mfa: get_s(item, "mfa")
                .and_then(MfaState::parse)
                .ok_or_else(corrupt)?,
            created_at: get_n(item, "created_at").ok_or_else(corrupt)?,
            last_seen: get_n(item, "last_seen").ok_or_else(corrupt)?,
            epoch: get_n(item, "epoch").unwrap_or(0),
            code_at: get_n(item, "code_at"),
            amr: item
                .get("amr")
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                .unwrap_or_default(),
        }))
    }

    /// The account as it is now, for a session's every use: its kind, whether it is disabled, its
    /// session epoch and its subject. None when the account is gone. An account made before
    /// subjects were kept is given one here, once (`if_not_exists`: racing readers agree).
    pub async fn account_now(&self, username: &str) -> Result<Option<AccountNow>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .projection_expression("kind, disabled, session_epoch, #sub")
            .expression_attribute_names("#sub", "sub")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("get account"))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let subject = match get_s(item, "sub") {
            Some(sub) => sub.to_owned(),
            None => self.give_subject(username).await?,
        };
        Ok(Some(AccountNow {
            kind: get_s(item, "kind")
                .and_then(AccountKind::parse)
                .ok_or_else(|| Error::Internal("account item: kind".into()))?,
            disabled: item
                .get("disabled")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            epoch: get_n(item, "session_epoch").unwrap_or(0),
            subject,
        }))
    }

    pub async fn touch_session(&self, hash: &str, now: u64) -> Result<()> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::session(hash)))
            .update_expression("SET last_seen = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // Signed out meanwhile: nothing to refresh.
            Err(e) if super::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable("touch session")(e)),
        }
    }

    pub async fn delete_session(&self, hash: &str) -> Result<()> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::session(hash)))
            .send()
            .await
            .map_err(unavailable("delete session"))?;
        Ok(())
    }
}
