//! Sign-in challenges: proof of a correct password, waiting for a security code. A challenge is
//! not an item: it is sealed (AES-256-GCM under the data key) and names its account, a random id,
//! its expiry (5 minutes) and the account's session epoch, so a new password, an admin reset or a
//! disabled account ends it. What changes during its life is kept with the account it names: its
//! code attempts (5 at most), reserved in the same write as the account's code count, and its use,
//! written with the TOTP step it used (`store::challenges`): a challenge costs no item of its own.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{Error, Result};
use crate::limits::CHALLENGE_SECS;
use crate::token::random_bytes;
use data_encoding::BASE64URL_NOPAD;

/// Associated data: a sealed challenge opens as nothing else, and nothing else opens as one.
const AAD: &[u8] = b"sign-in challenge v1";
/// Longest challenge accepted; one carrying an OpenID Connect request is under 2 KB.
const MAX_CHARS: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    #[serde(rename = "u")]
    pub username: String,
    /// What the account's items know the challenge by.
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "x")]
    pub expires_at: u64,
    #[serde(rename = "e")]
    pub epoch: u64,
    /// The pending OpenID Connect authorization (sealed) the sign-in will complete.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
}

/// A new challenge for `username` at `epoch`: the token to hand out, and when it expires.
pub fn issue(
    app: &App,
    username: &str,
    epoch: u64,
    now: u64,
    authorization: Option<&str>,
) -> Result<(String, u64)> {
    let challenge = Challenge {
        username: username.to_owned(),
        id: BASE64URL_NOPAD.encode(&random_bytes::<16>()?),
        expires_at: now + CHALLENGE_SECS,
        epoch,
        authorization: authorization.map(str::to_owned),
    };
    let json = serde_json::to_vec(&challenge)
        .map_err(|e| Error::Internal(format!("encode challenge: {e}")))?;
    let sealed = app.keys.secrets.seal(&json, AAD)?;
    Ok((BASE64URL_NOPAD.encode(&sealed), challenge.expires_at))
}

/// The challenge `token` stands for, if it is one of ours and has not expired. Whether it is
/// still alive for its account (used, out of codes, the account moved on) is the account's to
/// say.
pub fn open(app: &App, token: &str, now: u64) -> Result<Challenge> {
    if token.is_empty() || token.len() > MAX_CHARS {
        return Err(Error::InvalidChallenge);
    }
    let sealed = BASE64URL_NOPAD
        .decode(token.as_bytes())
        .map_err(|_| Error::InvalidChallenge)?;
    let json = app
        .keys
        .secrets
        .open(&sealed, AAD)
        .map_err(|_| Error::InvalidChallenge)?;
    let challenge: Challenge =
        serde_json::from_slice(&json).map_err(|_| Error::InvalidChallenge)?;
    if challenge.expires_at <= now {
        return Err(Error::InvalidChallenge);
    }
    Ok(challenge)
}
