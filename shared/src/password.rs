//! Passwords: argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1) in PHC strings, and the
//! rules for new passwords (NIST SP 800-63B: length, no composition rules, common ones refused).

use std::cell::RefCell;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

fn params(output_len: Option<usize>) -> Result<Params> {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, output_len)
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))
}

thread_local! {
    /// One argon2 work area per thread (a Lambda instance has one), reused by every hash and
    /// check. A fresh 19 MiB allocation per check made glibc raise its mmap threshold to that
    /// size and then serve the blocks from a fragmenting heap: the load run saw a warm sign-in
    /// instance grow from 9 MiB to over 2 GiB in a few hundred sign-ins.
    static WORK: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// `argon` over `password` and `salt` into `out`, in this thread's work area.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<()> {
    WORK.with_borrow_mut(|work| {
        let blocks = argon.params().block_count();
        if work.len() < blocks {
            work.resize(blocks, Block::new());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut work[..blocks])
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
}

pub fn hash(password: &str) -> Result<String> {
    let salt = random_bytes::<16>()?;
    let params = params(None)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        &Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
        password.as_bytes(),
        &salt,
        &mut out,
    )?;
    let internal = |e: password_hash::Error| Error::Internal(format!("argon2: {e}"));
    let salt = SaltString::encode_b64(&salt).map_err(internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
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
    let stored = |e: password_hash::Error| Error::Internal(format!("stored hash: {e}"));
    let parsed = PasswordHash::new(phc).map_err(stored)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(Error::Internal("stored hash: no salt or hash".into()));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(stored)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| Error::Internal(format!("stored hash: {e}")))?
        .unwrap_or_default();
    let their = Params::try_from(&parsed).map_err(stored)?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(stored)?;
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, their.clone());
    if compute(&argon, password.as_bytes(), salt_bytes, &mut out).is_err() {
        return Ok(Check::Wrong);
    }
    // `Output`'s equality is constant-time.
    if Output::new(&out).map_err(stored)? != expected {
        return Ok(Check::Wrong);
    }
    let rehash = algorithm != Algorithm::Argon2id
        || their.m_cost() != MEMORY_KIB
        || their.t_cost() != ITERATIONS
        || their.p_cost() != PARALLELISM;
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
    use argon2::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        let ours = hash("a reused work area").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params(None).unwrap());
        assert!(
            argon
                .verify_password(b"a reused work area", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"fedcba9876543210").unwrap();
        let theirs = argon
            .hash_password(b"a reused work area", &salt)
            .unwrap()
            .to_string();
        // Twice: the second check runs in the work area the first one left.
        for _ in 0..2 {
            assert_eq!(
                verify("a reused work area", &theirs).unwrap(),
                Check::Right { rehash: false }
            );
            assert_eq!(verify("another password", &theirs).unwrap(), Check::Wrong);
        }
    }

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
