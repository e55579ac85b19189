//! Accounts and their credentials as the rules see them: the profile, the MFA enrolment, and the
//! lock-out states. Pure types, no storage: `store::accounts` maps them to items.

use std::collections::BTreeMap;

use crate::policy::AccountKind;
use crate::softlock::SoftLock;

/// Usernames are case-insensitive: stored and looked up in lower case. Returns None for a name
/// that could never be an account (so no lookup is made for it).
pub fn normalise_username(input: &str) -> Option<String> {
    let name = input.trim().to_lowercase();
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-+".contains(&b));
    ok.then_some(name)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub kind: AccountKind,
    /// Name.Email
    pub name_email: Option<String>,
    /// Name_Address.Email
    pub address_email: Option<String>,
    pub password_hash: Option<String>,
    /// Sessions carry the epoch they were made in; bumping it ends them all.
    pub session_epoch: u64,
    /// A disabled account cannot sign in, and its sessions have ended.
    pub disabled: bool,
    /// The OpenID Connect `sub`: random, made with the account, never given to another (None for
    /// an account made before it was kept, until its first session uses it).
    pub subject: Option<String>,
    /// How many passkeys the account holds (kept on the profile with every add and removal).
    pub passkeys: usize,
}

/// What every use of a session reads of its account, so that authorisation follows the account
/// as it is now (its kind, disabled state, epoch), never the copy the session was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountNow {
    pub kind: AccountKind,
    pub disabled: bool,
    pub epoch: u64,
    pub subject: String,
}

/// A new account's subject: 128 random bits, in lower-case hex. Opaque: it says nothing of the
/// username, and a later account of the same name gets another.
pub fn new_subject() -> crate::error::Result<String> {
    Ok(data_encoding::HEXLOWER.encode(&crate::token::random_bytes::<16>()?))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrolmentStatus {
    Pending,
    Active,
}

impl Enrolment {
    /// An app: set up (active), or being set up (pending, its key shown by the setup page).
    pub fn is_app(&self) -> bool {
        self.status == EnrolmentStatus::Active || !self.key_shown.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    pub status: EnrolmentStatus,
    pub enrolment_id: String,
    /// The TOTP secret, sealed by `crypto::SecretBox` with the username as associated data.
    pub sealed_secret: Vec<u8>,
    /// The time step of the last accepted code.
    pub last_step: Option<u64>,
    /// When it was made (its setup mail sent).
    pub created_at: u64,
    /// When the setup page showed the key (pending enrolments).
    pub key_shown: Vec<u64>,
    /// Sign-in challenges a code from this enrolment completed, by id, with their expiry: a
    /// challenge is good for one sign-in.
    pub used_challenges: BTreeMap<String, u64>,
    /// Sign-ins completed with a recovery code: each moves it on, so that it and `last_step`
    /// together say whether `used_challenges` changed since it was read.
    pub recovery_uses: u64,
    /// Sign-ins completed with a passkey: like `recovery_uses`, each moves it on.
    pub passkey_uses: u64,
    /// A new app replacing the active one: the account's session epoch it was asked in. A change
    /// that ends the sessions (a new password, sign out everywhere, a reset) ends it too.
    pub asked_in_epoch: Option<u64>,
}

/// Code attempts reserved against one sign-in challenge, and when the challenge expires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChallengeFailures {
    pub failures: u64,
    pub expires_at: u64,
}

/// The account's code count as stored, with the enrolment's last accepted step when it was
/// written. An accepted code ends the count without writing it: it moves the enrolment's step past
/// `since_step`, and a count from before the step moved reads as none. So the code step's
/// transaction need not touch the count (a third of its writes). A count written before this rule
/// (no `since_step`) stays in effect until its next write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeCount {
    pub stored: SoftLock,
    pub since_step: Option<u64>,
}

impl CodeCount {
    /// The count in effect, given the enrolment's last accepted step.
    pub fn in_effect(&self, last_step: Option<u64>) -> SoftLock {
        match (self.since_step, last_step) {
            (Some(since), Some(last)) if last > since => SoftLock::default(),
            _ => self.stored,
        }
    }
}

#[derive(Clone, Debug)]
pub struct AccountRecord {
    pub account: Account,
    pub enrolment: Option<Enrolment>,
    /// Code entry for the account (10 consecutive wrong codes lock it), as stored: see
    /// `code_lock` for the count in effect.
    pub code_count: CodeCount,
    /// Code attempts per live sign-in challenge (5 each), kept with the code count.
    pub challenge_failures: BTreeMap<String, ChallengeFailures>,
    /// The recovery codes not yet used, if the user made a set.
    pub recovery: Option<crate::recovery::RecoverySet>,
    /// A new app being set up to replace the active one (`MFA_NEXT`), until a code from it
    /// confirms it.
    pub replacement: Option<Enrolment>,
    /// The account's passkeys, and the passkey ceremonies under way.
    pub passkeys: crate::passkey::PasskeyItems,
}

impl AccountRecord {
    /// The enrolment's last accepted step, if a code was ever accepted.
    pub fn last_step(&self) -> Option<u64> {
        self.enrolment.as_ref().and_then(|e| e.last_step)
    }

    /// Code entry's count and lock in effect.
    pub fn code_lock(&self) -> SoftLock {
        self.code_count.in_effect(self.last_step())
    }

    /// Whether the account has an authenticator app: an active enrolment, or a pending one whose
    /// key the setup page has shown (the user is setting it up). A pending enrolment nobody opened
    /// (a setup mail unread) is not an app.
    pub fn has_app(&self) -> bool {
        self.enrolment.as_ref().is_some_and(Enrolment::is_app)
    }

    pub fn active_enrolment(&self) -> Option<&Enrolment> {
        self.enrolment
            .as_ref()
            .filter(|e| e.status == EnrolmentStatus::Active)
    }

    /// Whether the sign-in challenge `id` may still be given a code: not used for a sign-in, and
    /// wrong codes to spare. (Its expiry and epoch are checked where it is opened.)
    pub fn challenge_alive(&self, id: &str) -> bool {
        let used = self
            .enrolment
            .as_ref()
            .is_some_and(|e| e.used_challenges.contains_key(id));
        let failures = self.challenge_failures.get(id).map_or(0, |c| c.failures);
        !used && failures < crate::limits::CHALLENGE_MAX_FAILURES
    }
}

pub struct NewAccount<'a> {
    pub username: &'a str,
    pub kind: AccountKind,
    pub name_email: Option<&'a str>,
    pub address_email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub created_at: u64,
}

/// A staff account as the readiness report and the lock-out guard see it.
#[derive(Clone, Debug)]
pub struct StaffSummary {
    pub account: Account,
    pub enrolment: Option<EnrolmentStatus>,
    /// An app set up, or being set up (`AccountRecord::has_app`).
    pub has_app: bool,
    /// When code entry is locked for the account, until when.
    pub code_locked_until: Option<u64>,
    /// When password entry is locked for the account (from every address), until when.
    pub password_locked_until: Option<u64>,
}

/// Every staff account, and what reading them cost.
pub struct StaffDirectory {
    pub staff: Vec<StaffSummary>,
    pub read_units: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_code_ends_the_count_written_before_it() {
        let locked = SoftLock {
            failures: 10,
            locked_until: 900,
        };
        let count = |since_step| CodeCount {
            stored: locked,
            since_step,
        };
        assert_eq!(count(Some(7)).in_effect(Some(8)), SoftLock::default());
        assert_eq!(count(Some(7)).in_effect(Some(7)), locked, "no code since");
        assert_eq!(count(Some(0)).in_effect(None), locked, "never a code");
        assert_eq!(
            count(None).in_effect(Some(8)),
            locked,
            "a count written before counts carried their step stays"
        );
    }

    #[test]
    fn usernames_are_case_insensitive_and_checked() {
        assert_eq!(normalise_username(" J.Doe "), Some("j.doe".into()));
        assert_eq!(
            normalise_username("manager@acme"),
            Some("manager@acme".into())
        );
        assert_eq!(normalise_username(""), None);
        assert_eq!(normalise_username("a b"), None);
        assert_eq!(normalise_username("ACCOUNT#x"), None);
        assert_eq!(normalise_username(&"a".repeat(65)), None);
    }
}
