//! What the functions do, one flow per contract route family. Flows combine the pure rules
//! (policy, totp, password, email) with storage and mail; they know nothing of HTTP.

pub mod account;
pub mod admin;
pub mod audit;
pub mod challenge;
pub mod clients;
pub mod factor;
pub mod federated;
pub mod guard;
pub mod notices;
pub mod oidc;
pub mod passkeys;
pub mod passwords;
pub mod providers;
pub mod recovery;
pub mod rollout;
pub mod sessions;
pub mod setup;
pub mod sign_in;
pub mod signing_keys;
pub mod tally;
pub mod verify;
