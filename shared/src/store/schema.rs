//! The table's definition, shared by `mfa-admin bootstrap` and checked against `template.yaml`.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::{Store, unavailable};
use crate::error::{Error, Result};

/// Key attributes: (name, type, role).
pub const KEYS: [(&str, &str, &str); 2] = [("pk", "S", "HASH"), ("sk", "S", "RANGE")];
/// The sparse index that lists staff profiles, enrolments and code locks without a table scan
/// (the readiness report and the lock-out guard): name, and its key attributes.
pub const GSI1: &str = "gsi1";
pub const GSI1_KEYS: [(&str, &str, &str); 2] = [("gsi1pk", "S", "HASH"), ("gsi1sk", "S", "RANGE")];
/// Attribute DynamoDB's TTL deletes expired items by (late: reads check expiry themselves).
pub const TTL_ATTRIBUTE: &str = "ttl";

impl Store {
    /// Creates the table with its TTL setting, unless it already exists.
    pub async fn create_table_if_missing(&self) -> Result<bool> {
        let exists = self
            .db
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        match exists {
            Ok(_) => {
                // A rerun finishes a bootstrap that stopped between creating the table and
                // switching TTL on.
                self.enable_ttl_if_off().await?;
                return Ok(false);
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) => {}
            Err(e) => return Err(unavailable("describe_table")(e)),
        }
        let mut create = self
            .db
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest);
        let element = |(name, _, role): (&str, &str, &str)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(role))
                .build()
                .map_err(build_err)
        };
        for (name, ty, role) in KEYS.into_iter().chain(GSI1_KEYS) {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(ty))
                    .build()
                    .map_err(build_err)?,
            );
            if KEYS.iter().any(|k| k.0 == name) {
                create = create.key_schema(element((name, ty, role))?);
            }
        }
        let index = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(element(GSI1_KEYS[0])?)
            .key_schema(element(GSI1_KEYS[1])?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build_err)?;
        create = create.global_secondary_indexes(index);
        create.send().await.map_err(unavailable("create_table"))?;
        self.enable_ttl_if_off().await?;
        Ok(true)
    }
}

impl Store {
    async fn enable_ttl_if_off(&self) -> Result<()> {
        let ttl = self
            .db
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(unavailable("describe_time_to_live"))?;
        let on = ttl
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .is_some_and(|s| s.as_str() == "ENABLED" || s.as_str() == "ENABLING");
        if on {
            return Ok(());
        }
        self.db
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(build_err)?,
            )
            .send()
            .await
            .map_err(unavailable("update_time_to_live"))?;
        Ok(())
    }
}

pub(crate) fn build_err(e: aws_smithy_types::error::operation::BuildError) -> Error {
    Error::Internal(format!("request build: {e}"))
}
