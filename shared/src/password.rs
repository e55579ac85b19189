//! Passwords: argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1) in PHC strings, and the
//! rules for new passwords (NIST SP 800-63B: length, no composition rules, common ones refused).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};
use crate::token::random_bytes;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// A hash of a password nobody knows, made with the same parameters. Unknown usernames are checked
/// against it so that they cost the same time as a wrong password for a real account.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3RhZmYtbWZhLWR1bW15IQ$7l8CZrSmo2fdQbxjTj+tEVpeT1MHUFCM4nbV/hVJQ+A";

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| Error::Internal(format!("salt: {e}")))?;
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

/// The result of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Wrong,
    /// Correct; `rehash` when the stored hash used other parameters than today's.
    Right {
        rehash: bool,
    },
}

pub fn verify(password: &str, phc: &str) -> Result<Check> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
    let argon = hasher()?;
    if argon.verify_password(password.as_bytes(), &parsed).is_err() {
        return Ok(Check::Wrong);
    }
    let current = Params::try_from(&parsed).ok();
    let rehash = parsed.algorithm.as_str() != "argon2id"
        || current.is_none_or(|p| {
            p.m_cost() != MEMORY_KIB || p.t_cost() != ITERATIONS || p.p_cost() != PARALLELISM
        });
    Ok(Check::Right { rehash })
}

/// Spend the time of a real verification, for a username that does not exist.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, DUMMY_HASH);
}

/// Common passwords long enough to pass the length rule; refused outright.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopasdf",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "qazwsxedcrfv",
    "zaq12wsxcde3",
    "abcdefghijkl",
    "abc123abc123",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "administrator",
    "administrator1",
    "changeme1234",
    "trustno1trustno1",
    "football1234",
    "baseball1234",
    "superman1234",
    "monkey123456",
    "dragon123456",
    "sunshine1234",
    "princess1234",
    "111111111111",
    "000000000000",
    "123123123123",
    "987654321098",
    "aaaaaaaaaaaa",
    "asdfghjkl123",
    "asdfasdfasdf",
    "qwertyqwerty",
    "passw0rd1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "password!234",
    "mypassword123",
    "correcthorsebatterystaple",
    "thisismypassword",
    "letmeinletmein",
    "welcomewelcome",
    "iloveyouiloveyou",
    "q1w2e3r4t5y6",
    "1234qwerasdf",
    "qwerty123456",
    "123456qwerty",
    "starwars1234",
    "michael12345",
    "secret123456",
    "master123456",
    "computer1234",
];

/// Rules for a password set through `mfa-admin`; the message says what to change.
pub fn check_new(password: &str) -> std::result::Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(format!(
            "the password must be at least {MIN_CHARS} characters"
        ));
    }
    if chars > MAX_CHARS {
        return Err(format!(
            "the password must be at most {MAX_CHARS} characters"
        ));
    }
    let lower = password.to_lowercase();
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 || COMMON.contains(&lower.as_str()) {
        return Err("this password is too common; choose another".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify("correct horse battery", &h).unwrap(),
            Check::Right { rehash: false }
        );
        assert_eq!(verify("wrong horse battery", &h).unwrap(), Check::Wrong);
    }

    #[test]
    fn salts_differ() {
        assert_ne!(
            hash("same password!").unwrap(),
            hash("same password!").unwrap()
        );
    }

    #[test]
    fn old_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let h = weak
            .hash_password(b"some long password", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            verify("some long password", &h).unwrap(),
            Check::Right { rehash: true }
        );
    }

    #[test]
    fn dummy_hash_has_the_real_parameters() {
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify("anything at all", DUMMY_HASH).unwrap(), Check::Wrong);
    }

    #[test]
    fn new_password_rules() {
        assert!(check_new("short").is_err());
        assert!(check_new(&"x".repeat(129)).is_err());
        assert!(
            check_new("Password1234").is_err(),
            "common, case-insensitively"
        );
        assert!(check_new("aaaaaaaaaaaaaaa").is_err());
        assert!(
            check_new("plain lowercase words ok").is_ok(),
            "no composition rules"
        );
        assert!(check_new(&"ab3".repeat(42)).is_ok(), "126 chars");
    }
}
