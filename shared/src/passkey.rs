//! Passkeys (WebAuthn Level 2) as the rules see them: who the relying party is, what a stored
//! passkey holds, the names users give them, and the `amr` a passkey sign-in earns. The ceremony
//! itself (challenges, signatures, origins, counters) is `webauthn-rs`'s; nothing here re-does it.
//!
//! - The RP ID is the host people reach us at (the issuer's), and the only origin accepted is the
//!   issuer's own, port and scheme included: a look-alike site cannot ask for an assertion that
//!   passes here, which is what makes a passkey phishing-resistant where a code is not.
//! - `webauthn-rs`'s passkey profile requires user verification (a PIN or biometric on the
//!   device), stricter than "preferred": an assertion without it is refused.
//! - A signature counter that does not move forward (a cloned authenticator, WebAuthn section
//!   6.1.1) is refused and audited; the passkey is kept, so its owner can remove it or an
//!   administrator can reset the account.

use std::sync::Arc;

use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use crate::error::{Error, Result};

/// Passkeys one account may hold: enough for a phone, a laptop and two security keys with room to
/// spare, few enough that an admin reset removes them all in one transaction.
pub const MAX_PER_ACCOUNT: usize = 10;
/// How long a registration or sign-in ceremony's state is kept (the browser's own timeout is the
/// same): one attempt's worth of time, as for a sign-in challenge.
pub const CEREMONY_SECS: u64 = 5 * 60;
/// The longest credential id taken, in bytes (WebAuthn allows 1023; authenticators use 16 to 64,
/// and a key longer than this would not fit DynamoDB's limit on a sort key).
pub const MAX_CREDENTIAL_ID_BYTES: usize = 512;
/// The longest name a user may give a passkey, in characters.
pub const NAME_MAX_CHARS: usize = 64;

/// A passkey registered to an account.
#[derive(Clone, Debug)]
pub struct StoredPasskey {
    /// The credential id, base64url without padding: how the user's browser names it, and how
    /// the account page and `DELETE /mfa/passkeys/{id}` do.
    pub id: String,
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    /// The credential as `webauthn-rs` keeps it (public key, counter, backup flags), as JSON:
    /// read into `webauthn-rs`'s types only where a passkey is used (`parse`), so the functions
    /// that merely load an account carry none of its code.
    pub credential: String,
}

/// A stored credential as `webauthn-rs` uses it.
pub fn parse(credential: &str) -> Result<Passkey> {
    serde_json::from_str(credential).map_err(|e| Error::Internal(format!("stored passkey: {e}")))
}

/// A credential as stored.
pub fn to_json(key: &Passkey) -> Result<String> {
    serde_json::to_string(key).map_err(|e| Error::Internal(format!("passkey json: {e}")))
}

/// A passkey's answer checked against a sign-in ceremony's state and the account's passkeys
/// (`check_assertion`, for one credential): what a `Factor::Passkey` carries into
/// `flows::factor`, so that only the function that verifies assertions links the verifier.
pub type AssertionCheck<'a> = dyn Fn(&str, &[StoredPasskey]) -> std::result::Result<(StoredPasskey, u64), AssertionRefused>
    + Send
    + Sync
    + 'a;

/// What a ceremony (a registration or a sign-in with a passkey) is bound to.
#[derive(Clone, Copy, Debug)]
pub enum CeremonyFor<'a> {
    /// Registering a passkey from the account page, bound to the session (the keyed hash of its
    /// token) that started it.
    Register(&'a str),
    /// Signing in, bound to the sign-in challenge's id.
    SignIn(&'a str),
}

impl CeremonyFor<'_> {
    /// Names the ceremony among the account's: one of each kind at a time, a new one replacing
    /// the last, so an account's partition holds two at most however many are started (each is a
    /// few hundred bytes of the account's keys, read with the account at every sign-in).
    pub fn tail(&self) -> &'static str {
        match self {
            CeremonyFor::Register(_) => "REGISTER",
            CeremonyFor::SignIn(_) => "SIGN_IN",
        }
    }

    /// What it is bound to.
    pub fn binding(&self) -> &str {
        match self {
            CeremonyFor::Register(session) | CeremonyFor::SignIn(session) => session,
        }
    }
}

/// A ceremony's state as kept between its start and its finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ceremony {
    /// Random; a finish is conditioned on it, so a ceremony replaced meanwhile is not finished.
    pub id: String,
    /// `webauthn-rs`'s state (JSON), which holds the challenge it was started with.
    pub state: String,
    /// What it is bound to (`CeremonyFor::binding`): the session's keyed hash, or the challenge.
    pub bound_to: String,
    pub expires_at: u64,
}

/// An account's passkeys and the ceremonies under way.
#[derive(Clone, Debug, Default)]
pub struct PasskeyItems {
    pub passkeys: Vec<StoredPasskey>,
    /// By `CeremonyFor::tail`.
    pub ceremonies: std::collections::BTreeMap<String, Ceremony>,
}

impl PasskeyItems {
    /// The live ceremony for `what` (bound to what it names), if any.
    pub fn ceremony(&self, what: CeremonyFor<'_>, now: u64) -> Option<&Ceremony> {
        self.ceremonies
            .get(what.tail())
            .filter(|c| c.expires_at > now && c.bound_to == what.binding())
    }
}

/// The relying party for `issuer` (`https://host[:port]`): RP ID the host, the issuer the one
/// origin accepted. Refused for an issuer without a host name (an IP address: browsers refuse
/// one as an RP ID).
pub fn relying_party(issuer: &str, org_name: &str) -> Result<Arc<Webauthn>> {
    let origin = Url::parse(issuer).map_err(|_| not_configured())?;
    let rp_id = origin.domain().ok_or_else(not_configured)?.to_owned();
    let webauthn = WebauthnBuilder::new(&rp_id, &origin)
        .map_err(|_| not_configured())?
        .rp_name(org_name)
        .timeout(std::time::Duration::from_secs(CEREMONY_SECS))
        .build()
        .map_err(|_| not_configured())?;
    Ok(Arc::new(webauthn))
}

fn not_configured() -> Error {
    Error::bad_request(
        "passkeys_unavailable",
        "Passkeys need the service to be reached by a host name over HTTPS (or at localhost).",
    )
}

/// The credential id as the API shows it.
pub fn credential_id(key: &Passkey) -> String {
    data_encoding::BASE64URL_NOPAD.encode(key.cred_id().as_ref())
}

/// The user handle given to authenticators: the account's OpenID Connect subject (128 random
/// bits), so a passkey carries nothing that names the person.
pub fn user_handle(subject: &str) -> Uuid {
    let bytes = data_encoding::HEXLOWER
        .decode(subject.as_bytes())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok());
    match bytes {
        Some(b) => Uuid::from_bytes(b),
        // A subject in another form (none is made so): its digest, still naming nobody.
        None => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(subject.as_bytes());
            let mut b = [0u8; 16];
            b.copy_from_slice(&digest[..16]);
            Uuid::from_bytes(b)
        }
    }
}

/// A name for a passkey as the user typed it: trimmed, 1 to 64 characters, no control characters.
pub fn check_name(typed: &str) -> Result<String> {
    let name = typed.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "invalid_name",
            format!(
                "Name the passkey in 1 to {NAME_MAX_CHARS} characters (for example, \"Work laptop\")."
            ),
        ));
    }
    Ok(name.to_owned())
}

/// RFC 8176 for a sign-in with a password and a passkey. A passkey the authenticator says may be
/// backed up (the BE flag: synced through a password manager or a platform account) is a key held
/// in software that can leave the device: `swk`. One that cannot (a security key, a device-bound
/// platform key) is held by hardware: `hwk`. Either way two factors were given: `mfa`.
pub fn amr(backup_eligible: bool) -> Vec<String> {
    let key = if backup_eligible { "swk" } else { "hwk" };
    vec!["pwd".into(), key.into(), "mfa".into()]
}

/// A stored passkey's signature counter (0 for an authenticator without one).
pub fn counter(credential: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(credential)
        .ok()
        .and_then(|v| v["cred"]["counter"].as_u64())
        .unwrap_or(0)
}

/// Whether the assertion's authenticator data says its key may be backed up (the BE flag, bit 3
/// of the flags byte after the 32-byte RP ID hash). Read before the check, so the session a
/// sign-in writes can carry its `amr`: the check that follows verifies the signature over these
/// very bytes, and a failed check writes no session.
pub fn claimed_backup_eligible(credential: &PublicKeyCredential) -> bool {
    const BACKUP_ELIGIBLE: u8 = 0x08;
    let data: &[u8] = credential.response.authenticator_data.as_ref();
    data.get(32)
        .is_some_and(|flags| flags & BACKUP_ELIGIBLE != 0)
}

/// Why an assertion was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionRefused {
    /// Not a valid answer to this ceremony: another challenge, origin or RP ID, a passkey not
    /// this account's, no user verification, a bad signature.
    Invalid,
    /// Its signature counter did not move past the one kept: the authenticator may be cloned.
    ClonedKey,
}

/// Checks `credential` against the sign-in ceremony's `state` and the account's `passkeys`:
/// the passkey it used, as it is after this use, and its counter before.
pub fn check_assertion(
    rp: &Webauthn,
    state: &str,
    passkeys: &[StoredPasskey],
    credential: &PublicKeyCredential,
) -> Result<(StoredPasskey, u64), AssertionRefused> {
    let state: PasskeyAuthentication =
        serde_json::from_str(state).map_err(|_| AssertionRefused::Invalid)?;
    let result = rp
        .finish_passkey_authentication(credential, &state)
        .map_err(|e| match e {
            WebauthnError::CredentialPossibleCompromise => AssertionRefused::ClonedKey,
            _ => AssertionRefused::Invalid,
        })?;
    let id = data_encoding::BASE64URL_NOPAD.encode(result.cred_id().as_ref());
    let mut used = passkeys
        .iter()
        .find(|p| p.id == id)
        .cloned()
        .ok_or(AssertionRefused::Invalid)?;
    let mut key = parse(&used.credential).map_err(|_| AssertionRefused::Invalid)?;
    let before = counter(&used.credential);
    // `webauthn-rs` compared the counter with the one the ceremony started with; the passkey may
    // have been used since (another sign-in), so it is compared again with the one kept now.
    let now = u64::from(result.counter());
    if (now > 0 || before > 0) && now <= before {
        return Err(AssertionRefused::ClonedKey);
    }
    key.update_credential(&result);
    used.credential = to_json(&key).map_err(|_| AssertionRefused::Invalid)?;
    Ok((used, before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_id_is_the_issuers_host_and_an_address_is_refused() {
        assert!(relying_party("https://mfa.example.org", "Acme").is_ok());
        assert!(relying_party("http://localhost:9000", "Acme").is_ok());
        assert!(relying_party("http://127.0.0.1:9000", "Acme").is_err());
        assert!(relying_party("not a url", "Acme").is_err());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  Work laptop ").unwrap(), "Work laptop");
        assert!(check_name("").is_err());
        assert!(check_name("a\u{7}b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn amr_says_where_the_key_is_held() {
        assert_eq!(amr(false), ["pwd", "hwk", "mfa"]);
        assert_eq!(amr(true), ["pwd", "swk", "mfa"]);
    }

    #[test]
    fn the_user_handle_is_the_subject() {
        let subject = "00112233445566778899aabbccddeeff";
        assert_eq!(
            user_handle(subject).as_bytes(),
            &data_encoding::HEXLOWER.decode(subject.as_bytes()).unwrap()[..]
        );
        assert_ne!(user_handle("someone"), user_handle("someone else"));
    }
}
