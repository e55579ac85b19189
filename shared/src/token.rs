//! Bearer secrets: challenges, sessions, setup links, refresh tokens. 256 random bits (or, for the
//! refresh token an authorization code issues, 256 bits derived from the code under the same key),
//! shown once to the user and stored only as a keyed hash, so a copy of the table is not a set of
//! working tokens.

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Length of an encoded token: 32 bytes in unpadded base64url.
pub const TOKEN_LEN: usize = 43;

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("OS RNG failed: {e}")))?;
    Ok(buf)
}

/// A fresh token for the user to hold.
pub fn new_token() -> Result<String> {
    Ok(BASE64URL_NOPAD.encode(&random_bytes::<32>()?))
}

/// Is this string shaped like one of our tokens? Cheap refusal before any lookup.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && BASE64URL_NOPAD
            .decode(token.as_bytes())
            .is_ok_and(|b| b.len() == 32)
}

/// What a hashed value is for. The purpose is part of the hash, so a value of one kind can never
/// match an item of another (a session token is no challenge, a setup link no refresh token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Session,
    SetupLink,
    /// A normalised username in a throttle key: the typed text itself is never stored.
    ThrottleUser,
    /// A source address in a throttle key.
    ThrottleAddress,
    RefreshToken,
    /// The refresh token an authorization code's first use issues, derived from the code's id:
    /// each code has exactly one, so its item is also the code's record of being used.
    CodeRefreshToken,
    ClientSecret,
    /// A sign-in through an identity provider, between redirect and callback.
    FederatedState,
    /// A nonce issued for a raw ID token.
    FederatedNonce,
    /// The cookie that binds a federated sign-in to the browser that started it.
    BrowserBinding,
    /// A link that sets a password (reset or invitation).
    PasswordLink,
    /// A recovery code (`recovery`).
    RecoveryCode,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Session => "session",
            Purpose::SetupLink => "setup-link",
            Purpose::ThrottleUser => "throttle-user",
            Purpose::ThrottleAddress => "throttle-address",
            Purpose::RefreshToken => "refresh-token",
            Purpose::CodeRefreshToken => "code-refresh-token",
            Purpose::ClientSecret => "client-secret",
            Purpose::FederatedState => "federated-state",
            Purpose::FederatedNonce => "federated-nonce",
            Purpose::BrowserBinding => "browser-binding",
            Purpose::PasswordLink => "password-link",
            Purpose::RecoveryCode => "recovery-code",
        }
    }
}

/// Hashes tokens with HMAC-SHA-256 under a key from Secrets Manager.
#[derive(Clone)]
pub struct TokenHasher {
    key: [u8; 32],
}

impl TokenHasher {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The stored form of `token`; the purpose keeps a session token from ever matching a
    /// challenge or setup link item.
    pub fn hash(&self, purpose: Purpose, token: &str) -> String {
        HEXLOWER.encode(&self.mac(purpose, token))
    }

    /// A token derived from `input`, shaped like `new_token`'s (43 characters), so that nobody
    /// holding it can tell it from a random one, and nobody without the key can compute it.
    pub fn derive(&self, purpose: Purpose, input: &str) -> String {
        BASE64URL_NOPAD.encode(&self.mac(purpose, input))
    }

    fn mac(&self, purpose: Purpose, input: &str) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        mac.update(purpose.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // Hmac::new_from_slice only fails for fixed-size-key MACs; SHA-256 HMAC has none.
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(is_well_formed(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"!".repeat(TOKEN_LEN)));
    }

    #[test]
    fn hash_depends_on_key_and_purpose() {
        let t = new_token().unwrap();
        let h1 = TokenHasher::new([1; 32]);
        let h2 = TokenHasher::new([2; 32]);
        assert_eq!(h1.hash(Purpose::Session, &t), h1.hash(Purpose::Session, &t));
        assert_ne!(h1.hash(Purpose::Session, &t), h2.hash(Purpose::Session, &t));
        assert_ne!(
            h1.hash(Purpose::Session, &t),
            h1.hash(Purpose::SetupLink, &t)
        );
        assert!(!h1.hash(Purpose::Session, &t).contains(&t));
    }

    #[test]
    fn derived_tokens_look_like_random_ones_and_depend_on_key_purpose_and_input() {
        let h = TokenHasher::new([1; 32]);
        let d = h.derive(Purpose::CodeRefreshToken, "code id");
        assert!(is_well_formed(&d));
        assert_eq!(d, h.derive(Purpose::CodeRefreshToken, "code id"));
        assert_ne!(d, h.derive(Purpose::CodeRefreshToken, "another id"));
        assert_ne!(d, h.derive(Purpose::RefreshToken, "code id"));
        assert_ne!(
            d,
            TokenHasher::new([2; 32]).derive(Purpose::CodeRefreshToken, "code id")
        );
    }
}
