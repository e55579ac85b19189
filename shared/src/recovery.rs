//! Recovery codes: ten single-use codes a user keeps somewhere safe (printed, or in a password
//! manager) for the day their phone is lost, wiped or replaced.
//!
//! Each code is 60 random bits from the operating system's CSPRNG, written as 12 base32
//! characters in three groups of four (`abcd-efgh-ijkl`). Only a keyed hash of each is stored
//! (HMAC-SHA-256 under the token key, `Purpose::RecoveryCode`): a fast keyed hash is enough for a
//! random secret of 60 bits, because nobody can test a guess without the key, and online guesses
//! are held to the code-entry limits every factor shares. A new set replaces the old one whole.
//! What the user types is normalised (case, spaces and dashes ignored) before it is hashed; a code
//! that is malformed is simply a code that matches nothing, so it is answered and counted like
//! any wrong code.

use std::collections::BTreeSet;

use data_encoding::BASE32_NOPAD;

use crate::error::Result;
use crate::token::random_bytes;

/// A user's set as stored: the hashes of the codes not yet used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoverySet {
    /// Names this set: a use is conditioned on it, so a code of a replaced set never passes.
    pub set_id: String,
    /// The app it was made beside: a set outlives neither a reset nor a replaced app.
    pub enrolment_id: String,
    pub created_at: u64,
    pub unused: BTreeSet<String>,
}

/// Codes in a set.
pub const CODES_PER_SET: usize = 10;
/// Base32 characters in a code: 60 bits.
const CODE_CHARS: usize = 12;
/// Longest input normalised; anything longer cannot be a code.
const MAX_INPUT: usize = 64;

/// A new set: the codes to show the user once, in the form they are shown.
pub fn generate() -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut codes = Vec::with_capacity(CODES_PER_SET);
    while codes.len() < CODES_PER_SET {
        let raw = BASE32_NOPAD
            .encode(&random_bytes::<8>()?)
            .to_ascii_lowercase();
        let code = &raw[..CODE_CHARS];
        // Two equal codes in one set would make one of them unusable: drawn again.
        if seen.insert(code.to_owned()) {
            codes.push(format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]));
        }
    }
    Ok(codes)
}

/// What is hashed: the code without case, spaces or dashes. Input too long to be a code is cut
/// (it matches nothing either way).
pub fn normalise(input: &str) -> String {
    input
        .chars()
        .take(MAX_INPUT)
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_of_sixty_bits_in_three_groups() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 14, "{c}");
            let bare = normalise(c);
            assert_eq!(bare.len(), 12);
            assert!(
                bare.chars().all(|ch| matches!(ch, 'a'..='z' | '2'..='7')),
                "{c}"
            );
        }
        assert_ne!(generate().unwrap(), codes, "each set is new");
    }

    #[test]
    fn typing_is_forgiven_case_spaces_and_dashes() {
        assert_eq!(normalise("ABCD-efgh ijkl"), "abcdefghijkl");
        assert_eq!(normalise(" abcd efgh-ijkl\n"), "abcdefghijkl");
        assert_eq!(normalise(&"x".repeat(1000)).len(), 64);
    }
}
