//! The table's definition, shared by `mfa-admin bootstrap` and checked against `template.yaml`.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use super::{Store, unavailable};
use crate::error::{Error, Result};

/// Key attributes: (name, type, role).
pub const KEYS: [(&str, &str, &str); 2] = [("pk", "S", "HASH"), ("sk", "S", "RANGE")];
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
            Ok(_) => return Ok(false),
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
        for (name, ty, role) in KEYS {
            create = create
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::from(ty))
                        .build()
                        .map_err(build_err)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(KeyType::from(role))
                        .build()
                        .map_err(build_err)?,
                );
        }
        create.send().await.map_err(unavailable("create_table"))?;
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
        Ok(true)
    }
}

pub(crate) fn build_err(e: aws_smithy_types::error::operation::BuildError) -> Error {
    Error::Internal(format!("request build: {e}"))
}
