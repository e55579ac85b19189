//! Every item's key in the one table, in one place: what `pk` and `sk` are for each kind of item,
//! and the index partitions (`gsi1pk`). docs/architecture.md's storage table lists the same. Hashes are keyed
//! hashes of tokens or of typed text: nothing a caller sent is a key as it was sent.

use super::{Item, key};

// An account's partition: its profile and everything that belongs to it.
pub(crate) fn account_pk(username: &str) -> String {
    format!("ACCOUNT#{username}")
}
pub(crate) const PROFILE: &str = "PROFILE";
pub(crate) const MFA: &str = "MFA";
pub(crate) const CODE_LOCK: &str = "CODE_LOCK";
pub(crate) const PASSWORD_LOCK: &str = "PASSWORD_LOCK";
pub(crate) const SETUP_MAIL: &str = "SETUP_MAIL";
pub(crate) const RECOVERY: &str = "RECOVERY";
/// A new app replacing the active one, until a code from it confirms it (`MFA` until then).
pub(crate) const NEXT_APP: &str = "MFA_NEXT";
/// When the rollout campaign last mailed the account.
pub(crate) const CAMPAIGN_MAIL: &str = "CAMPAIGN_MAIL";

pub(crate) fn account(username: &str, sk: &str) -> Item {
    key(account_pk(username), sk)
}

// Index partitions (`gsi1pk`): staff profiles, enrolments, account locks (code and password),
// every other account (members, API users), clients, the accounts the campaign mailed.
pub(crate) const STAFF_INDEX: &str = "STAFF";
pub(crate) const ENROLMENT_INDEX: &str = "ENROLMENT";
pub(crate) const LOCKED_INDEX: &str = "LOCKED";
pub(crate) const OTHER_INDEX: &str = "ACCOUNT";
pub(crate) const CLIENT_INDEX: &str = "CLIENTS";
pub(crate) const CAMPAIGN_INDEX: &str = "CAMPAIGN";

// Items that live on their own, under a keyed hash of their token.
pub(crate) fn session(hash: &str) -> Item {
    key(format!("SESSION#{hash}"), "SESSION")
}
pub(crate) fn setup_link(hash: &str) -> Item {
    key(format!("SETUP#{hash}"), "SETUP")
}
pub(crate) fn password_link(hash: &str) -> Item {
    key(format!("PWLINK#{hash}"), "PWLINK")
}
/// A refresh token (`tag`: `REFRESH`), also the record of the use of the code that issued it.
pub(crate) fn grant(tag: &str, hash: &str) -> Item {
    key(format!("{tag}#{hash}"), tag)
}
pub(crate) fn family(family: &str) -> Item {
    key(format!("FAMILY#{family}"), "FAMILY")
}
pub(crate) fn federated_state(hash: &str) -> Item {
    key(format!("FEDSTATE#{hash}"), "FEDSTATE")
}
pub(crate) fn nonce(hash: &str) -> Item {
    key(format!("NONCE#{hash}"), "NONCE")
}
pub(crate) fn client(id: &str) -> Item {
    key(format!("CLIENT#{id}"), "CLIENT")
}

// The organisation's partition: settings, providers, signing keys.
pub(crate) const ORG: &str = "ORG";
pub(crate) const SETTINGS: &str = "SETTINGS";
pub(crate) const SIGNING_KEY_PREFIX: &str = "SIGNING_KEY#";
/// The signing keys' version: every rotation moves it on, conditioned on the one it planned from.
pub(crate) const SIGNING_KEY_RING: &str = "SIGNING_KEYS";
pub(crate) const PROVIDER_PREFIX: &str = "PROVIDER#";
pub(crate) fn settings() -> Item {
    key(ORG, SETTINGS)
}
pub(crate) fn provider(id: &str) -> Item {
    key(ORG, &format!("{PROVIDER_PREFIX}{id}"))
}
pub(crate) fn signing_key(kid: &str) -> Item {
    key(ORG, &format!("{SIGNING_KEY_PREFIX}{kid}"))
}

/// Links live under the provider and its issuer: a link made for a social login never signs in
/// through the organisation's SSO (which skips our MFA), and re-pointing a provider at another
/// issuer leaves its old links unreachable (`drop_links` removes them).
pub(crate) fn link_pk(provider: &str, issuer: &str) -> String {
    format!("LINK#{provider}#{issuer}")
}
pub(crate) fn link_sk(subject: &str) -> String {
    format!("SUB#{subject}")
}

// Throttles, under a keyed hash of what they count (a typed username, a source address).
pub(crate) fn throttle_pk(hash: &str) -> String {
    format!("THROTTLE#{hash}")
}
/// Passwords for a name that is no account: its count, and its per-address counts.
pub(crate) fn throttle_unknown_account(username_hash: &str) -> Item {
    key(throttle_pk(username_hash), "ACCOUNT")
}
/// A source address's requests of a kind (`counter`) in its window.
pub(crate) fn throttle_window(address_hash: &str, counter: &str) -> Item {
    key(throttle_pk(address_hash), counter)
}

/// The audit trail: a day's shard (`day`: yyyymmdd).
pub(crate) fn audit_pk(day: u32, shard: u32) -> String {
    format!("AUDIT#{day}#{shard}")
}
