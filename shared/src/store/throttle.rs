//! Consecutive password failures per username (existing or not), counted with atomic adds.

use super::{Store, get_n, key, n, unavailable};
use crate::error::Result;
use crate::limits::password_lock_secs;

pub(crate) fn throttle_pk(username: &str) -> String {
    format!("THROTTLE#{username}")
}
pub(crate) const PASSWORD: &str = "PASSWORD";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PasswordThrottle {
    pub failures: u64,
    pub locked_until: u64,
}

impl PasswordThrottle {
    pub(crate) fn from_item(item: &super::Item) -> Self {
        Self {
            failures: get_n(item, "failures").unwrap_or(0),
            locked_until: get_n(item, "locked_until").unwrap_or(0),
        }
    }
}

impl Store {
    pub async fn password_throttle(&self, username: &str) -> Result<PasswordThrottle> {
        let item = self
            .get(
                key(throttle_pk(username), PASSWORD),
                "get password throttle",
            )
            .await?;
        Ok(item
            .as_ref()
            .map(PasswordThrottle::from_item)
            .unwrap_or_default())
    }

    /// Counts one more wrong password and sets the lock the new count calls for.
    pub async fn record_password_failure(
        &self,
        username: &str,
        now: u64,
    ) -> Result<PasswordThrottle> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(throttle_pk(username), PASSWORD)))
            .update_expression("ADD failures :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(now + 24 * 3600))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable("count password failure"))?;
        let failures = out
            .attributes()
            .and_then(|a| get_n(a, "failures"))
            .unwrap_or(1);
        let lock = password_lock_secs(failures);
        if lock == 0 {
            return Ok(PasswordThrottle {
                failures,
                locked_until: 0,
            });
        }
        let locked_until = now + lock;
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(throttle_pk(username), PASSWORD)))
            .update_expression("SET locked_until = :u")
            .expression_attribute_values(":u", n(locked_until))
            .send()
            .await
            .map_err(unavailable("lock password"))?;
        Ok(PasswordThrottle {
            failures,
            locked_until,
        })
    }

    /// A correct password resets the count.
    pub async fn clear_password_failures(&self, username: &str) -> Result<()> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(throttle_pk(username), PASSWORD)))
            .send()
            .await
            .map_err(unavailable("clear password failures"))?;
        Ok(())
    }
}
