//! Rotating the provider's signing keys (`mfa-admin signing-key rotate`, the schedule every 30
//! days, and the first keys at bootstrap or the schedule's first run). The plan is
//! `signing::rotation`; here the keys are sealed and written in one transaction, conditioned on
//! the key ring's version as read, so two rotations at once write once.

use crate::error::Result;
use crate::keys::Keys;
use crate::signing::{KeyState, StoredKey, rotation};
use crate::store::Store;
use crate::store::oidc::SealedKey;

/// What a rotation did, one line each, for the operator.
pub async fn rotate(store: &Store, keys: &Keys, now: u64) -> Result<Vec<String>> {
    let (sealed, version) = store.signing_keys_and_version().await?;
    rotate_from(store, keys, open(sealed, keys)?, version, now).await
}

/// `rotate`, planned from `existing` as read at the ring's `version`.
async fn rotate_from(
    store: &Store,
    keys: &Keys,
    existing: Vec<StoredKey>,
    version: u64,
    now: u64,
) -> Result<Vec<String>> {
    let (changes, added) = rotation(&existing, now)?;
    let mut sealed = vec![];
    for k in &added {
        sealed.push(SealedKey {
            kid: k.kid.clone(),
            sealed: keys.secrets.seal(&k.der, &signing_key_aad(&k.kid))?,
            state: k.state,
            created_at: k.created_at,
        });
    }
    store
        .rotate_signing_keys(&changes, &sealed, version)
        .await?;
    let mut lines: Vec<String> = changes
        .iter()
        .map(|(kid, state)| match state {
            KeyState::Retired { retire_at } => format!(
                "retired {kid} (published until {})",
                crate::clock::rfc3339(*retire_at)
            ),
            other => format!("{kid} is now {}", other.as_str()),
        })
        .collect();
    lines.extend(
        added
            .iter()
            .map(|k| format!("added {} as {}", k.kid, k.state.as_str())),
    );
    Ok(lines)
}

/// The schedule's rotation: `rotate` when `signing::rotation_due` says so, else nothing. Two runs
/// at once (EventBridge may deliver an event twice) rotate once: the rotation's write is
/// conditioned on the states it was planned from, and the loser finds nothing due.
pub async fn rotate_if_due(store: &Store, keys: &Keys, now: u64) -> Result<Vec<String>> {
    let (sealed, version) = store.signing_keys_and_version().await?;
    let existing = open(sealed, keys)?;
    if !crate::signing::rotation_due(&existing, now) {
        return Ok(vec![]);
    }
    rotate_from(store, keys, existing, version, now).await
}

/// The first keys of a new deployment; nothing when keys exist.
pub async fn ensure(store: &Store, keys: &Keys, now: u64) -> Result<Vec<String>> {
    if store.signing_keys().await?.is_empty() {
        rotate(store, keys, now).await
    } else {
        Ok(vec![])
    }
}

/// Every stored key, opened (sealed with the data key, the key id as associated data).
pub(crate) async fn open_all(store: &Store, keys: &Keys) -> Result<Vec<StoredKey>> {
    open(store.signing_keys().await?, keys)
}

/// Keys as read from the table, opened.
pub(crate) fn open(sealed: Vec<SealedKey>, keys: &Keys) -> Result<Vec<StoredKey>> {
    let mut out = vec![];
    for k in sealed {
        out.push(StoredKey {
            der: keys.secrets.open(&k.sealed, &signing_key_aad(&k.kid))?,
            kid: k.kid,
            state: k.state,
            created_at: k.created_at,
        });
    }
    Ok(out)
}

/// Ids, states and creation times, for `mfa-admin signing-key list`.
pub async fn list(store: &Store) -> Result<Vec<(String, KeyState, u64)>> {
    Ok(store
        .signing_keys()
        .await?
        .into_iter()
        .map(|k| (k.kid, k.state, k.created_at))
        .collect())
}

/// Associated data that binds a sealed signing key to its id.
fn signing_key_aad(kid: &str) -> Vec<u8> {
    format!("signing-key:{kid}").into_bytes()
}
