//! Links that set a password: "Forgot your password?" (30 minutes) and invitations (7 days).
//! Stored as a keyed hash; the page they open reads without consuming (mail scanners prefetch);
//! setting the password takes the link once, in the same transaction that changes the password
//! and ends every session of the account. A link belongs to the account's session epoch when it
//! was made: a new password, email, kind or enrolment, or disabling the account, moves the epoch
//! on, and every outstanding link of the account dies with it.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::keys::{self, PROFILE};
use super::schema::build_err;
use super::{Store, cancelled_conditions, get_n, get_s, n, s, unavailable};
use crate::error::Result;

/// Why a link was mailed: a forgotten password (30 minutes) or an invitation (7 days).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    Reset,
    Invite,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Reset => "reset",
            LinkPurpose::Invite => "invite",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LinkPurpose::Reset, LinkPurpose::Invite]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordLink {
    pub username: String,
    pub purpose: LinkPurpose,
    pub expires_at: u64,
    /// The account's session epoch when the link was made.
    pub epoch: u64,
}

impl Store {
    pub async fn put_password_link(&self, hash: &str, link: &PasswordLink) -> Result<()> {
        let mut item = keys::password_link(hash);
        item.insert("username".into(), s(&link.username));
        item.insert("purpose".into(), s(link.purpose.as_str()));
        item.insert("expires_at".into(), n(link.expires_at));
        item.insert("epoch".into(), n(link.epoch));
        item.insert("ttl".into(), n(link.expires_at));
        self.put(item, "put password link").await
    }

    /// A live link, left in place.
    pub async fn get_password_link(&self, hash: &str, now: u64) -> Result<Option<PasswordLink>> {
        let item = self
            .get(keys::password_link(hash), "get password link")
            .await?;
        Ok(item.as_ref().and_then(|i| {
            let link = PasswordLink {
                username: get_s(i, "username")?.to_owned(),
                purpose: LinkPurpose::parse(get_s(i, "purpose")?)?,
                expires_at: get_n(i, "expires_at")?,
                epoch: get_n(i, "epoch")?,
            };
            (link.expires_at > now).then_some(link)
        }))
    }

    /// Takes the link and sets the password in one transaction, ending every session and every
    /// other link of the account (its epoch moves on), on the condition that the account is still
    /// in the epoch the link was made in and not disabled. False when the link was used or expired
    /// meanwhile, or the account changed.
    pub async fn set_password_by_link(
        &self,
        hash: &str,
        link: &PasswordLink,
        phc: &str,
        now: u64,
    ) -> Result<bool> {
        let take = take_link_delete(&self.table, hash, link, now)?;
        let set = set_password_update(&self.table, &link.username, link.epoch, phc)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(take).build())
            .transact_items(TransactWriteItem::builder().update(set).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().any(|x| *x)) => Ok(false),
            Err(e) => Err(unavailable("set password")(e)),
        }
    }
}

impl Store {
    /// A signed-in user's new password (`set_password_update`): false when the account has moved
    /// on from the session's epoch meanwhile (a reset, a sign-out everywhere, another change).
    pub async fn change_password(&self, username: &str, epoch: u64, phc: &str) -> Result<bool> {
        let set = set_password_update(&self.table, username, epoch, phc)?;
        let out = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(set).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some_and(|f| f.iter().any(|x| *x)) => Ok(false),
            Err(e) => Err(unavailable("change password")(e)),
        }
    }
}

/// Takes a link: it must still be there, for its account, unexpired.
pub(crate) fn take_link_delete(
    table: &str,
    hash: &str,
    link: &PasswordLink,
    now: u64,
) -> Result<Delete> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(keys::password_link(hash)))
        .condition_expression("username = :u AND expires_at > :now")
        .expression_attribute_values(":u", s(&link.username))
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(build_err)
}

/// Sets the password and moves the session epoch on (every session ends), on the condition that the
/// account is still in `epoch` (the link's, or the session's that asked) and not disabled.
pub(crate) fn set_password_update(
    table: &str,
    username: &str,
    epoch: u64,
    phc: &str,
) -> Result<Update> {
    Update::builder()
        .table_name(table)
        .set_key(Some(keys::account(username, PROFILE)))
        .update_expression("SET password_hash = :h ADD session_epoch :one")
        .condition_expression(
            "session_epoch = :epoch AND (attribute_not_exists(disabled) OR disabled = :no)",
        )
        .expression_attribute_values(":h", s(phc))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":epoch", n(epoch))
        .expression_attribute_values(":no", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .build()
        .map_err(build_err)
}
