//! The rollout campaign (`ORG` / `CAMPAIGN`) and, per account, when the campaign last mailed it
//! (`ACCOUNT#<username>` / `CAMPAIGN_MAIL`, listed under `CAMPAIGN` in `gsi1`). A mail is claimed
//! by a write conditioned on the mark as it was read, before it is sent: however many batches run
//! at once (two starts, a start and the schedule), an account is mailed once per claim.

use std::collections::HashMap;

use super::keys::{self, CAMPAIGN_INDEX, CAMPAIGN_MAIL, ORG};
use super::{Item, Store, get_n, get_s, is_condition_failure, key, n, s, unavailable};
use crate::error::Result;

/// The campaign as an administrator started it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    pub started_at: u64,
    pub started_by: String,
    /// Days between reminders to an account that has not set up its app.
    pub reminder_days: u64,
    /// Where people reach the API, for the links in its mail (from the request that started it).
    pub link_base: String,
}

/// When the campaign last mailed an account, and how many times it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub mailed_at: u64,
    pub mails: u64,
}

const CAMPAIGN: &str = "CAMPAIGN";

impl Store {
    pub async fn get_campaign(&self) -> Result<Option<Campaign>> {
        let item = self.get(key(ORG, CAMPAIGN), "get campaign").await?;
        Ok(item.map(|i| Campaign {
            started_at: get_n(&i, "started_at").unwrap_or(0),
            started_by: get_s(&i, "started_by").unwrap_or_default().to_owned(),
            reminder_days: get_n(&i, "reminder_days").unwrap_or(3),
            link_base: get_s(&i, "link_base").unwrap_or_default().to_owned(),
        }))
    }

    /// Starts the campaign, or changes its reminders (the start time stays the first one's).
    pub async fn put_campaign(&self, c: &Campaign) -> Result<()> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(ORG, CAMPAIGN)))
            .update_expression(
                "SET started_at = if_not_exists(started_at, :at), started_by = if_not_exists(started_by, :by), reminder_days = :days, link_base = :base",
            )
            .expression_attribute_values(":at", n(c.started_at))
            .expression_attribute_values(":by", s(&c.started_by))
            .expression_attribute_values(":days", n(c.reminder_days))
            .expression_attribute_values(":base", s(&c.link_base))
            .send()
            .await
            .map_err(unavailable("put campaign"))?;
        Ok(())
    }

    /// Every account the campaign has mailed, by username (the sparse index; no scan).
    pub async fn campaign_marks(&self) -> Result<HashMap<String, Mark>> {
        let (items, _) = self.index_partition(CAMPAIGN_INDEX).await?;
        Ok(items
            .iter()
            .filter_map(|item| Some((get_s(item, "gsi1sk")?.to_owned(), parse_mark(item))))
            .collect())
    }

    /// When the campaign (or an administrator's reminder) last mailed `username`.
    pub async fn campaign_mark(&self, username: &str) -> Result<Option<Mark>> {
        let item = self
            .get(keys::account(username, CAMPAIGN_MAIL), "get campaign mark")
            .await?;
        Ok(item.as_ref().map(parse_mark))
    }

    /// Claims a campaign mail to `username`: true when this caller is to send it. The write is
    /// conditioned on the mark being `seen` (none: no mark), so of any number of batches racing,
    /// one claims each mail.
    pub async fn claim_campaign_mail(
        &self,
        username: &str,
        seen: Option<Mark>,
        now: u64,
    ) -> Result<bool> {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, CAMPAIGN_MAIL)))
            .update_expression(
                "SET mailed_at = :now, mails = :mails, gsi1pk = :idx, gsi1sk = :user",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":mails", n(seen.map_or(0, |m| m.mails) + 1))
            .expression_attribute_values(":idx", s(CAMPAIGN_INDEX))
            .expression_attribute_values(":user", s(username));
        update = match seen {
            None => update.condition_expression("attribute_not_exists(mailed_at)"),
            Some(m) => update
                .condition_expression("mailed_at = :seen")
                .expression_attribute_values(":seen", n(m.mailed_at)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("claim campaign mail")(e)),
        }
    }

    /// Gives back a claim whose mail could not be sent: the mark is what it was (`seen`), if it
    /// is still this claim's.
    pub async fn release_campaign_mail(
        &self,
        username: &str,
        seen: Option<Mark>,
        claimed_at: u64,
    ) -> Result<()> {
        let key = keys::account(username, CAMPAIGN_MAIL);
        let claimed = n(claimed_at);
        let failed = match seen {
            None => self
                .db
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("mailed_at = :claimed")
                .expression_attribute_values(":claimed", claimed)
                .send()
                .await
                .err()
                .filter(|e| !is_condition_failure(e))
                .map(unavailable("release campaign mail")),
            Some(m) => self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("SET mailed_at = :was, mails = :mails")
                .condition_expression("mailed_at = :claimed")
                .expression_attribute_values(":was", n(m.mailed_at))
                .expression_attribute_values(":mails", n(m.mails))
                .expression_attribute_values(":claimed", claimed)
                .send()
                .await
                .err()
                .filter(|e| !is_condition_failure(e))
                .map(unavailable("release campaign mail")),
        };
        failed.map_or(Ok(()), Err)
    }
}

pub(crate) fn parse_mark(item: &Item) -> Mark {
    Mark {
        mailed_at: get_n(item, "mailed_at").unwrap_or(0),
        mails: get_n(item, "mails").unwrap_or(0),
    }
}
