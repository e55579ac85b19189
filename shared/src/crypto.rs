//! Encryption of TOTP secrets at rest: AES-256-GCM under the data key from Secrets Manager, with
//! the account name as associated data so a ciphertext copied onto another account will not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::error::{Error, Result};
use crate::token::random_bytes;

/// Version byte of the stored form, so the format can change without guessing.
const V1: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// `version || nonce || ciphertext+tag`. A random 96-bit nonce per message is safe far beyond
    /// the number of enrolments this service will ever write under one key.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::Internal("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let (version, rest) = sealed
            .split_first()
            .ok_or_else(|| Error::Internal("empty ciphertext".into()))?;
        if *version != V1 || rest.len() < NONCE_LEN {
            return Err(Error::Internal("unknown ciphertext format".into()));
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| Error::Internal("stored secret failed to decrypt".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b = SecretBox::new(&[7; 32]);
        let sealed = b.seal(b"twenty byte secret!!", b"alice").unwrap();
        assert_eq!(b.open(&sealed, b"alice").unwrap(), b"twenty byte secret!!");
    }

    #[test]
    fn another_account_cannot_open_it() {
        let b = SecretBox::new(&[7; 32]);
        let sealed = b.seal(b"secret", b"alice").unwrap();
        assert!(b.open(&sealed, b"mallory").is_err());
    }

    #[test]
    fn another_key_or_a_flipped_bit_cannot_open_it() {
        let sealed = SecretBox::new(&[7; 32]).seal(b"secret", b"alice").unwrap();
        assert!(SecretBox::new(&[8; 32]).open(&sealed, b"alice").is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(SecretBox::new(&[7; 32]).open(&tampered, b"alice").is_err());
        assert!(SecretBox::new(&[7; 32]).open(&[], b"alice").is_err());
    }

    #[test]
    fn plaintext_is_not_in_the_stored_form() {
        let sealed = SecretBox::new(&[7; 32])
            .seal(b"SECRETSECRET", b"a")
            .unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"SECRETSECRET"));
    }
}
