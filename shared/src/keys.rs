//! The service's keys, one JSON secret in Secrets Manager fetched once per cold start:
//! `data_key` seals TOTP secrets, `token_key` hashes bearer tokens. A secret that holds only a
//! random `seed` (what CloudFormation's GenerateSecretString can make) has both derived from it
//! with HKDF-SHA-256, so a deployment never needs a hand-made key.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use data_encoding::BASE64;
use serde::{Deserialize, Serialize};

use crate::crypto::SecretBox;
use crate::error::{Error, Result};
use crate::token::{TokenHasher, random_bytes};

#[derive(Clone)]
pub struct Keys {
    pub secrets: SecretBox,
    pub tokens: TokenHasher,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    data_key: String,
    token_key: String,
}

#[derive(Deserialize)]
struct Seeded {
    seed: String,
}

/// Shortest seed accepted: 43 characters of base62 carry over 256 bits.
const MIN_SEED_CHARS: usize = 43;

fn derive(seed: &str, purpose: &[u8]) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b"staff-mfa keys v1"), seed.as_bytes())
        .expand(purpose, &mut out)
        .map_err(|_| Error::Internal("key derivation failed".into()))?;
    Ok(out)
}

fn key32(b64: &str, name: &str) -> Result<[u8; 32]> {
    BASE64
        .decode(b64.as_bytes())
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| Error::Internal(format!("key secret: {name} is not 32 bytes of base64")))
}

impl Keys {
    pub fn from_json(json: &str) -> Result<Self> {
        if let Ok(Seeded { seed }) = serde_json::from_str::<Seeded>(json) {
            if seed.chars().count() < MIN_SEED_CHARS {
                return Err(Error::Internal("key secret: seed is too short".into()));
            }
            return Ok(Keys {
                secrets: SecretBox::new(&derive(&seed, b"data_key")?),
                tokens: TokenHasher::new(derive(&seed, b"token_key")?),
            });
        }
        let stored: Stored = serde_json::from_str(json)
            .map_err(|_| Error::Internal("key secret is not the expected JSON".into()))?;
        Ok(Keys {
            secrets: SecretBox::new(&key32(&stored.data_key, "data_key")?),
            tokens: TokenHasher::new(key32(&stored.token_key, "token_key")?),
        })
    }

    pub async fn load(client: &Client, secret_id: &str) -> Result<Self> {
        let out = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                Error::unavailable(format!(
                    "secretsmanager get_secret_value: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        let json = out
            .secret_string()
            .ok_or_else(|| Error::Internal("key secret has no string value".into()))?;
        Self::from_json(json)
    }

    /// A new secret value with fresh random keys (for `mfa-admin bootstrap`).
    pub fn generate_json() -> Result<String> {
        let stored = Stored {
            data_key: BASE64.encode(&random_bytes::<32>()?),
            token_key: BASE64.encode(&random_bytes::<32>()?),
        };
        serde_json::to_string(&stored).map_err(|e| Error::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load() {
        let json = Keys::generate_json().unwrap();
        assert!(Keys::from_json(&json).is_ok());
    }

    #[test]
    fn a_seed_derives_distinct_stable_keys() {
        let json = format!(r#"{{"seed":"{}"}}"#, "a".repeat(64));
        let a = Keys::from_json(&json).unwrap();
        let b = Keys::from_json(&json).unwrap();
        assert_eq!(
            a.tokens.hash(crate::token::Purpose::Session, "t"),
            b.tokens.hash(crate::token::Purpose::Session, "t")
        );
        let sealed = a.secrets.seal(b"x", b"u").unwrap();
        assert_eq!(b.secrets.open(&sealed, b"u").unwrap(), b"x");
        assert!(Keys::from_json(r#"{"seed":"short"}"#).is_err());
    }

    #[test]
    fn short_or_malformed_keys_are_refused() {
        assert!(Keys::from_json("{}").is_err());
        assert!(Keys::from_json(r#"{"data_key":"AAAA","token_key":"AAAA"}"#).is_err());
    }
}
