//! Who must give a security code, and who may use which way in. Pure functions: no clock, no I/O,
//! so every row of the contract's policy is a table test below.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// Staff users.
    Staff,
    /// System administrators, MANAGER accounts included.
    Sysadmin,
    /// Public web users.
    Member,
    /// Integrations using `POST /token`.
    Api,
}

impl AccountKind {
    pub const ALL: [AccountKind; 4] = [
        AccountKind::Staff,
        AccountKind::Sysadmin,
        AccountKind::Member,
        AccountKind::Api,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Staff => "staff",
            AccountKind::Sysadmin => "sysadmin",
            AccountKind::Member => "member",
            AccountKind::Api => "api",
        }
    }

    /// Staff in the contract's sense: the kinds the MFA setting applies to.
    pub fn is_staff(self) -> bool {
        matches!(self, AccountKind::Staff | AccountKind::Sysadmin)
    }
}

/// How a session satisfied MFA; shown by `GET /session`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaState {
    Verified,
    NotRequired,
    Delegated,
}

impl MfaState {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaState::Verified => "verified",
            MfaState::NotRequired => "not_required",
            MfaState::Delegated => "delegated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MfaState::Verified,
            MfaState::NotRequired,
            MfaState::Delegated,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// Whether multi-factor authentication applies to one account: the organisation's switch is on,
/// or the account has an authenticator app of its own accord (`AccountRecord::has_app`). Staff may
/// enrol while the switch is off, and are asked for their code from then on: an app once set up
/// is never skipped. Pass the result as `mfa_enabled` below.
pub fn mfa_applies(mfa_enabled: bool, enrolled: bool) -> bool {
    mfa_enabled || enrolled
}

/// After a correct password: is a security code required? There are no per-user exemptions.
pub fn code_required(kind: AccountKind, mfa_enabled: bool) -> bool {
    mfa_enabled && kind.is_staff()
}

/// May this account get a bearer token from `POST /token` (the password grant)? Staff may not while
/// MFA is on, or the API would be a way around the code.
pub fn token_grant_allowed(kind: AccountKind, mfa_enabled: bool) -> bool {
    !code_required(kind, mfa_enabled)
}

/// Who must use a passkey once they have one (`phishing_resistant_required_for`): a code from the
/// app, which a look-alike site can relay, is then refused to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhishingResistant {
    /// Nobody: a code from the app is always accepted (the default).
    #[default]
    None,
    /// System administrators (MANAGER accounts included).
    Sysadmin,
    /// Every staff user and system administrator.
    AllStaff,
}

impl PhishingResistant {
    pub const ALL: [PhishingResistant; 3] = [
        PhishingResistant::None,
        PhishingResistant::Sysadmin,
        PhishingResistant::AllStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhishingResistant::None => "none",
            PhishingResistant::Sysadmin => "sysadmin",
            PhishingResistant::AllStaff => "all_staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Must this account sign in with its passkey (a code from the app refused)? Only once it has
/// one: the policy never locks out someone who has not registered a passkey yet.
pub fn passkey_required(kind: AccountKind, policy: PhishingResistant, has_passkey: bool) -> bool {
    has_passkey
        && match policy {
            PhishingResistant::None => false,
            PhishingResistant::Sysadmin => kind == AccountKind::Sysadmin,
            PhishingResistant::AllStaff => kind.is_staff(),
        }
}

/// Kinds of external identity provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// A login offered on the sign-in page and linked to an account: social media, any OIDC login.
    Social,
    /// The organisation's own identity provider, which owns MFA for its users.
    Sso,
}

/// The outcome of a verified federated sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FederatedDecision {
    SignIn(MfaState),
    SocialRefused,
}

pub fn federated_sign_in(
    provider: ProviderKind,
    kind: AccountKind,
    mfa_enabled: bool,
) -> FederatedDecision {
    match provider {
        ProviderKind::Sso => FederatedDecision::SignIn(MfaState::Delegated),
        ProviderKind::Social if code_required(kind, mfa_enabled) => {
            FederatedDecision::SocialRefused
        }
        ProviderKind::Social => FederatedDecision::SignIn(MfaState::NotRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::AccountKind::*;
    use super::*;

    #[test]
    fn code_is_required_exactly_for_staff_and_sysadmins_while_mfa_is_on() {
        let rows = [
            (Staff, true, true),
            (Sysadmin, true, true),
            (Member, true, false),
            (Api, true, false),
            (Staff, false, false),
            (Sysadmin, false, false),
            (Member, false, false),
            (Api, false, false),
        ];
        for (kind, on, expected) in rows {
            assert_eq!(code_required(kind, on), expected, "{kind:?} with MFA {on}");
        }
    }

    #[test]
    fn an_app_set_up_while_the_switch_is_off_is_asked_for() {
        for (on, enrolled, applies) in [
            (true, true, true),
            (true, false, true),
            (false, true, true),
            (false, false, false),
        ] {
            assert_eq!(
                mfa_applies(on, enrolled),
                applies,
                "on {on}, enrolled {enrolled}"
            );
        }
        assert!(code_required(Staff, mfa_applies(false, true)));
        assert!(!token_grant_allowed(Sysadmin, mfa_applies(false, true)));
        assert!(!code_required(Member, mfa_applies(false, true)));
    }

    #[test]
    fn token_grant_is_refused_to_staff_only_while_mfa_is_on() {
        let rows = [
            (Staff, true, false),
            (Sysadmin, true, false),
            (Member, true, true),
            (Api, true, true),
            (Staff, false, true),
            (Sysadmin, false, true),
            (Member, false, true),
            (Api, false, true),
        ];
        for (kind, on, expected) in rows {
            assert_eq!(
                token_grant_allowed(kind, on),
                expected,
                "{kind:?} with MFA {on}"
            );
        }
    }

    #[test]
    fn federated_rows() {
        use FederatedDecision::*;
        use ProviderKind::*;
        let rows = [
            (Social, Staff, true, SocialRefused),
            (Social, Sysadmin, true, SocialRefused),
            (Social, Member, true, SignIn(MfaState::NotRequired)),
            (Social, Staff, false, SignIn(MfaState::NotRequired)),
            (Sso, Staff, true, SignIn(MfaState::Delegated)),
            (Sso, Sysadmin, true, SignIn(MfaState::Delegated)),
            (Sso, Member, false, SignIn(MfaState::Delegated)),
        ];
        for (provider, kind, on, expected) in rows {
            assert_eq!(federated_sign_in(provider, kind, on), expected);
        }
    }

    #[test]
    fn kinds_round_trip_and_unknown_kinds_are_refused() {
        for kind in AccountKind::ALL {
            assert_eq!(AccountKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AccountKind::parse("bogus"), None);
        assert_eq!(AccountKind::parse("Staff"), None);
    }
}
