//! The provider's token signing keys: RSA 2048, RS256 with `kid` (API Gateway's JWT authorizers
//! accept only RSA). Pure: keys come in as private DER (opened from the store by the caller) and
//! times as parameters.
//!
//! A key's life: `next` (published in the JWKS, not yet signing), `current` (published, signing),
//! `retired` (published until `retire_at`, no longer signing). A rotation promotes `next`, so
//! every key is in every cache (API Gateway keeps a JWKS for up to 2 hours) before the first token
//! it signs, and a retired key stays published longer than any token it signed can live.

use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs1::der::Decode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// A `next` key must be published this long before it may sign (API Gateway's JWKS cache).
pub const PUBLISH_AHEAD_SECS: u64 = 2 * 3600;
/// A retired key stays published this long: past every token it signed (15 minutes), every cache
/// (2 hours), and an `id_token_hint` kept for a working day.
pub const RETIRED_PUBLISHED_SECS: u64 = 24 * 3600;
/// The schedule rotates the keys this long after the last rotation (when the `next` key was
/// made): a key signs for about 30 days, so a key copied unnoticed is good for a month at most.
pub const ROTATE_EVERY_SECS: u64 = 30 * 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired { retire_at: u64 },
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired { .. } => "retired",
        }
    }
}

/// A private key as stored (DER, PKCS#1), with its id and state.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub der: Vec<u8>,
    pub state: KeyState,
    pub created_at: u64,
}

struct LoadedKey {
    kid: String,
    state: KeyState,
    created_at: u64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
}

/// Every key of the provider, ready to sign and verify.
pub struct KeyRing {
    keys: Vec<LoadedKey>,
}

/// A new RSA 2048 key, as DER, and a fresh key id.
pub fn generate(now: u64) -> Result<StoredKey> {
    let mut rng = rsa::rand_core::OsRng;
    let key = RsaPrivateKey::new(&mut rng, 2048)
        .map_err(|e| Error::Internal(format!("rsa key generation: {e}")))?;
    let der = key
        .to_pkcs1_der()
        .map_err(|e| Error::Internal(format!("rsa key encoding: {e}")))?;
    let suffix = crate::token::random_bytes::<6>()?;
    Ok(StoredKey {
        kid: format!("{now}-{}", data_encoding::HEXLOWER.encode(&suffix)),
        der: der.as_bytes().to_vec(),
        state: KeyState::Next,
        created_at: now,
    })
}

impl KeyRing {
    pub fn new(stored: &[StoredKey]) -> Result<KeyRing> {
        let mut keys = Vec::with_capacity(stored.len());
        for k in stored {
            // The published half is read from the DER as it is, without the big-number checks
            // of a full key load (some milliseconds per key, at every cold start of the OIDC
            // function): the key was made here and comes out of authenticated encryption.
            let private = rsa::pkcs1::RsaPrivateKey::from_der(&k.der)
                .map_err(|e| Error::Internal(format!("signing key {}: {e}", k.kid)))?;
            let n = BASE64URL_NOPAD.encode(private.modulus.as_bytes());
            let e = BASE64URL_NOPAD.encode(private.public_exponent.as_bytes());
            let decoding = DecodingKey::from_rsa_components(&n, &e)
                .map_err(|e| Error::Internal(format!("signing key {}: {e}", k.kid)))?;
            keys.push(LoadedKey {
                kid: k.kid.clone(),
                state: k.state,
                created_at: k.created_at,
                encoding: EncodingKey::from_rsa_der(&k.der),
                decoding,
                n,
                e,
            });
        }
        Ok(KeyRing { keys })
    }

    fn published(&self, now: u64) -> impl Iterator<Item = &LoadedKey> {
        self.keys.iter().filter(move |k| match k.state {
            KeyState::Retired { retire_at } => retire_at > now,
            _ => true,
        })
    }

    /// The JWK set to publish: every key a token may be checked against, now or soon.
    pub fn jwks(&self, now: u64) -> Value {
        let keys: Vec<Value> = self
            .published(now)
            .map(|k| {
                json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": k.n, "e": k.e })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Signs `claims` with the current key; `typ` is the JWT header's type (`at+jwt` for access
    /// tokens, RFC 9068 section 2.1).
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String> {
        let key = self
            .keys
            .iter()
            .filter(|k| k.state == KeyState::Current)
            .max_by_key(|k| k.created_at)
            .ok_or_else(|| {
                Error::unavailable("no current signing key: run `mfa-admin signing-key rotate`")
            })?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| Error::Internal(format!("signing: {e}")))
    }

    /// Verifies one of our own tokens: RS256 only, a published key, the header type, the issuer,
    /// and `exp` against `now` unless `allow_expired` (an `id_token_hint` may be old). The
    /// audience is the caller's to check.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        now: u64,
        allow_expired: bool,
    ) -> Result<T> {
        let header = decode_header(token).map_err(|_| Error::InvalidToken)?;
        if header.alg != Algorithm::RS256
            || !header
                .typ
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(Error::InvalidToken);
        }
        let kid = header.kid.ok_or(Error::InvalidToken)?;
        let key = self
            .published(now)
            .find(|k| k.kid == kid)
            .ok_or(Error::InvalidToken)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data =
            decode::<Value>(token, &key.decoding, &validation).map_err(|_| Error::InvalidToken)?;
        let exp = data.claims["exp"].as_u64().ok_or(Error::InvalidToken)?;
        if !allow_expired && exp <= now {
            return Err(Error::InvalidToken);
        }
        serde_json::from_value(data.claims).map_err(|_| Error::InvalidToken)
    }

    /// Ids and states, for `mfa-admin signing-key list`.
    pub fn describe(&self) -> Vec<(String, KeyState, u64)> {
        self.keys
            .iter()
            .map(|k| (k.kid.clone(), k.state, k.created_at))
            .collect()
    }
}

/// A rotation: the state changes to write (by key id), and the keys to add.
pub type Rotation = (Vec<(String, KeyState)>, Vec<StoredKey>);

/// Whether the schedule rotates at `now`: no keys yet, no `next` key, or a `next` key made
/// `ROTATE_EVERY_SECS` ago or more (long past its `PUBLISH_AHEAD_SECS`).
pub fn rotation_due(existing: &[StoredKey], now: u64) -> bool {
    let current = existing.iter().any(|k| k.state == KeyState::Current);
    match existing.iter().find(|k| k.state == KeyState::Next) {
        Some(next) => !current || now >= next.created_at + ROTATE_EVERY_SECS,
        None => true,
    }
}

/// What a rotation at `now` does to the stored keys: the states to write (by kid) and the new key
/// to add. Refused while the `next` key has been published for less than `PUBLISH_AHEAD_SECS`,
/// unless there is no current key yet (a new deployment).
pub fn rotation(existing: &[StoredKey], now: u64) -> Result<Rotation> {
    let current = existing.iter().find(|k| k.state == KeyState::Current);
    let next = existing.iter().find(|k| k.state == KeyState::Next);
    let mut changes = vec![];
    let mut added = vec![];
    match (current, next) {
        (None, _) => {
            // First keys: one signing now (nothing can have cached a JWKS yet), one published ahead.
            let mut first = generate(now)?;
            first.state = KeyState::Current;
            added.push(first);
            if next.is_none() {
                added.push(generate(now)?);
            }
        }
        (Some(current), Some(next)) => {
            let ready_at = next.created_at + PUBLISH_AHEAD_SECS;
            if now < ready_at {
                return Err(Error::Conflict(format!(
                    "The next key has been published for less than {} hours; rotate after {} so every cached JWKS holds it.",
                    PUBLISH_AHEAD_SECS / 3600,
                    crate::clock::rfc3339(ready_at)
                )));
            }
            changes.push((
                current.kid.clone(),
                KeyState::Retired {
                    retire_at: now + RETIRED_PUBLISHED_SECS,
                },
            ));
            changes.push((next.kid.clone(), KeyState::Current));
            added.push(generate(now)?);
        }
        (Some(_), None) => added.push(generate(now)?),
    }
    Ok((changes, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(states: &[KeyState]) -> (Vec<StoredKey>, KeyRing) {
        let stored: Vec<StoredKey> = states
            .iter()
            .map(|s| {
                let mut k = generate(100).unwrap();
                k.state = *s;
                k
            })
            .collect();
        let ring = KeyRing::new(&stored).unwrap();
        (stored, ring)
    }

    #[test]
    fn signs_with_the_current_key_and_publishes_next_and_retired_ones() {
        let (stored, ring) = ring(&[
            KeyState::Current,
            KeyState::Next,
            KeyState::Retired { retire_at: 500 },
        ]);
        let token = ring
            .sign(
                "at+jwt",
                &json!({ "iss": "https://i", "sub": "jane", "exp": 1000 }),
            )
            .unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(stored[0].kid.as_str()));
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(ring.jwks(400)["keys"].as_array().unwrap().len(), 3);
        assert_eq!(ring.jwks(500)["keys"].as_array().unwrap().len(), 2);
        let claims: Value = ring
            .verify(&token, "at+jwt", "https://i", 999, false)
            .unwrap();
        assert_eq!(claims["sub"], "jane");
    }

    #[test]
    fn verification_refuses_expiry_other_issuers_types_and_unpublished_keys() {
        let (_, ring) = ring(&[KeyState::Current]);
        let token = ring
            .sign(
                "at+jwt",
                &json!({ "iss": "https://i", "sub": "jane", "exp": 1000 }),
            )
            .unwrap();
        let check =
            |t: &str, typ, iss, now, old| ring.verify::<Value>(t, typ, iss, now, old).is_ok();
        assert!(
            !check(&token, "at+jwt", "https://i", 1000, false),
            "expired"
        );
        assert!(
            check(&token, "at+jwt", "https://i", 5000, true),
            "expiry allowed for hints"
        );
        assert!(
            !check(&token, "JWT", "https://i", 10, false),
            "an access token is no ID token"
        );
        assert!(!check(&token, "at+jwt", "https://other", 10, false));
        let (_, other) = super::tests::ring(&[KeyState::Current]);
        assert!(
            other
                .verify::<Value>(&token, "at+jwt", "https://i", 10, false)
                .is_err()
        );
        // alg: none with a valid kid.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = BASE64URL_NOPAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        let forged = format!("{none_header}.{}.", parts[1]);
        assert!(!check(&forged, "at+jwt", "https://i", 10, false));
    }

    #[test]
    fn rotation_publishes_ahead_and_retires_late() {
        let (first, added) = rotation(&[], 0).unwrap();
        assert!(first.is_empty());
        assert_eq!(added.len(), 2);
        assert_eq!(added[0].state, KeyState::Current);
        assert_eq!(added[1].state, KeyState::Next);
        assert!(
            rotation(&added, PUBLISH_AHEAD_SECS - 1).is_err(),
            "next not cached everywhere yet"
        );
        let (changes, more) = rotation(&added, PUBLISH_AHEAD_SECS).unwrap();
        assert_eq!(
            changes,
            vec![
                (
                    added[0].kid.clone(),
                    KeyState::Retired {
                        retire_at: PUBLISH_AHEAD_SECS + RETIRED_PUBLISHED_SECS
                    }
                ),
                (added[1].kid.clone(), KeyState::Current),
            ]
        );
        assert_eq!(more.len(), 1);
        assert_eq!(more[0].state, KeyState::Next);
    }

    #[test]
    fn the_schedule_rotates_thirty_days_after_the_last_rotation_and_not_before() {
        let (mut stored, _) = ring(&[KeyState::Current, KeyState::Next]);
        let made = stored[1].created_at;
        assert!(!rotation_due(&stored, made + ROTATE_EVERY_SECS - 1));
        assert!(rotation_due(&stored, made + ROTATE_EVERY_SECS));
        // Long past the publish-ahead rule, so the rotation it asks for is allowed.
        assert!(rotation(&stored, made + ROTATE_EVERY_SECS).is_ok());
        stored.retain(|k| k.state == KeyState::Current);
        assert!(rotation_due(&stored, made), "no next key: one is added");
        assert!(rotation_due(&[], made), "no keys: the first pair");
    }
}
