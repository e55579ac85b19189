//! Time-based one-time passwords (RFC 6238) as the contract fixes them: HMAC-SHA-1, 6 digits,
//! 30-second steps, one step of clock drift either way. Time is a parameter here: callers pass
//! `now`, so every window edge is testable.

use data_encoding::BASE32_NOPAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::error::{Error, Result};
use crate::token::random_bytes;

pub const DIGITS: usize = 6;
pub const PERIOD: u64 = 30;
pub const SECRET_LEN: usize = 20;
/// Steps accepted either side of the current one.
pub const SKEW: u64 = 1;

/// A fresh 160-bit secret (RFC 4226 section 4 recommends 160 bits) from the OS RNG.
pub fn new_secret() -> Result<[u8; SECRET_LEN]> {
    random_bytes::<SECRET_LEN>()
}

fn totp(secret: &[u8], digits: usize) -> TOTP {
    // new_unchecked: the secret length is ours to guarantee, and RFC test seeds are shorter
    // than totp-rs's 128-bit floor would allow for other algorithms.
    TOTP::new_unchecked(Algorithm::SHA1, digits, 0, PERIOD, secret.to_vec())
}

/// The time step that `unix` seconds fall in.
pub fn step_at(unix: u64) -> u64 {
    unix / PERIOD
}

/// The code for a given time, with `digits` digits (6 in the product; 8 for RFC vectors).
pub fn code_at(secret: &[u8], unix: u64, digits: usize) -> String {
    totp(secret, digits).generate(unix)
}

/// A submitted code, checked for shape only: exactly six ASCII digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// Accepts a code as apps display it and people paste it: "123456", "123 456", "123-456",
    /// with spaces around. Anything else (letters, other lengths) is refused.
    pub fn parse(input: &str) -> Result<Self> {
        let digits: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}' | '\u{2009}'))
            .collect();
        // At most one separator group, so "1-2-3-4-5-6" style noise is not silently accepted.
        let separators = input.trim().chars().count() - digits.chars().count();
        if digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) && separators <= 1 {
            Ok(Code(digits))
        } else {
            Err(Error::bad_request(
                "invalid_request",
                "The security code must be exactly 6 digits.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The newest step in the accepted window whose code is `code` and which is later than
/// `last_step`, the step of the account's previous success. RFC 6238 section 5.2: a step is
/// accepted at most once, so an equal or older step is never returned.
pub fn matching_step(secret: &[u8], code: &Code, now: u64, last_step: Option<u64>) -> Option<u64> {
    let current = step_at(now);
    let t = totp(secret, DIGITS);
    let mut found = None;
    // Compare every candidate (no early exit) so timing says nothing about which step matched.
    for step in current.saturating_sub(SKEW)..=current.saturating_add(SKEW) {
        let candidate = t.generate(step * PERIOD);
        let matches: bool = candidate.as_bytes().ct_eq(code.as_str().as_bytes()).into();
        let fresh = last_step.is_none_or(|last| step > last);
        if matches && fresh {
            found = Some(step);
        }
    }
    found
}

/// The key as people type it: base32 without padding.
pub fn secret_base32(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// Groups of four for manual entry: `JBSW Y3DP ...`.
pub fn grouped(base32: &str) -> String {
    base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Characters left alone in the label and issuer: unreserved ones (RFC 3986 section 2.3).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Key Uri Format that Google Authenticator documents, with every parameter explicit.
pub fn key_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
    let account = utf8_percent_encode(account, COMPONENT);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        secret_base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1 column.
    const VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ];

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        for (t, expected) in VECTORS {
            assert_eq!(code_at(RFC_SEED, t, 8), expected, "T = {t}");
        }
    }

    #[test]
    fn rfc6238_vectors_in_six_digit_form() {
        for (t, expected) in VECTORS {
            let six = &expected[2..];
            assert_eq!(code_at(RFC_SEED, t, 6), six, "T = {t}");
            let code = Code::parse(six).unwrap();
            assert_eq!(matching_step(RFC_SEED, &code, t, None), Some(step_at(t)));
        }
    }

    #[test]
    fn no_panic_at_or_near_time_zero() {
        for now in [0, 1, 29, 30, 31, 59] {
            let code = Code::parse(&code_at(RFC_SEED, now, 6)).unwrap();
            assert_eq!(
                matching_step(RFC_SEED, &code, now, None),
                Some(step_at(now))
            );
        }
    }

    #[test]
    fn previous_and_next_step_are_accepted_two_steps_off_are_not() {
        let now = 1_700_000_015;
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let t = (now as i64 + offset) as u64;
            let code = Code::parse(&code_at(RFC_SEED, t, 6)).unwrap();
            assert_eq!(
                matching_step(RFC_SEED, &code, now, None).is_some(),
                accepted,
                "code from {offset:+} s"
            );
        }
    }

    #[test]
    fn a_step_at_or_before_the_last_accepted_one_is_refused() {
        let now = 1_700_000_015;
        let s = step_at(now);
        let code = Code::parse(&code_at(RFC_SEED, now, 6)).unwrap();
        assert_eq!(matching_step(RFC_SEED, &code, now, Some(s - 1)), Some(s));
        assert_eq!(matching_step(RFC_SEED, &code, now, Some(s)), None);
        assert_eq!(matching_step(RFC_SEED, &code, now, Some(s + 1)), None);
    }

    #[test]
    fn code_shape_is_checked() {
        for bad in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "\t123456x"] {
            assert!(Code::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Code::parse("012345").is_ok());
    }

    #[test]
    fn codes_are_accepted_as_apps_display_them() {
        for shown in ["123456", "123 456", "123-456", " 123 456 ", "123\u{a0}456"] {
            assert_eq!(Code::parse(shown).unwrap().as_str(), "123456", "{shown:?}");
        }
        for bad in [
            "12 34 56",
            "1-2-3-4-5-6",
            "123 45",
            "1234567",
            "12a456",
            "",
            "--",
        ] {
            assert!(Code::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_uri_follows_the_key_uri_format() {
        let uri = key_uri("Acme Ltd", "j.doe", RFC_SEED);
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Ltd:j.doe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Ltd&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn key_is_grouped_in_fours() {
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
