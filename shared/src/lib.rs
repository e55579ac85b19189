//! Staff MFA's common crate. Pure rules (`policy`, `totp`, `password`, `token`, `email`,
//! `crypto`, `limits`) know nothing of HTTP or AWS; `store`, `mail` and `keys` are the AWS
//! adapters; `flows` combines them per route family; `http` is the web edge.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod account;
pub mod app;
pub mod audit;
pub mod audit_csv;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod email;
pub mod error;
pub mod federation;
pub mod flows;
pub mod http;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod messages;
pub mod metrics;
pub mod oidc;
pub mod origin;
pub mod outbound;
pub mod pages;
pub mod passkey;
pub mod password;
pub mod policy;
pub mod recovery;
pub mod runtime;
pub mod signing;
pub mod softlock;
pub mod store;
pub mod token;
pub mod totp;

pub use app::App;
pub use error::{Error, Result};
