//! Integration tests against the local stack: moto's DynamoDB, SES v2 and Secrets Manager.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod admin;
mod audit;
mod docs;
mod edge;
mod faults;
mod federated;
mod iam;
mod limits;
mod new_app;
mod oidc;
mod own_account;
mod passkeys;
mod recovery;
mod relying_party;
mod rollout;
mod routes;
mod setup;
mod sign_in;
mod trust;
mod verify;
