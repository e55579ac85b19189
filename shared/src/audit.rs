//! The audit trail's vocabularies: every action and every outcome an entry can name, as closed
//! lists. They are API too (`GET /audit?action=&outcome=`, published as enums in `/openapi.json`,
//! offered by the admin page's filters), so a typo is a compile error here and a 400 there, never
//! a filter that silently finds nothing. Stored and shown as the snake_case strings below.

use serde::{Deserialize, Serialize};

/// Who an entry names when no account made the request (these are never usernames: a username
/// has no parentheses). Anonymous entries are bounded per instance (`App::audit_detail`).
pub const ANONYMOUS: &str = "(anonymous)";
/// A sign-in attempt for a name that is no account: what was typed is never recorded.
pub const UNKNOWN_USER: &str = "(unknown user)";
/// A client at the token endpoint, before it is known which account the grant is for.
pub const CLIENT: &str = "(client)";
/// A sign-in through an identity provider, before it is known which account it is for.
pub const FEDERATED: &str = "federated";
/// Every actor that names nobody.
pub const ANONYMOUS_ACTORS: [&str; 4] = [ANONYMOUS, UNKNOWN_USER, CLIENT, FEDERATED];

/// Declares a closed vocabulary: the enum, its strings, and the list of all of them.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

vocabulary! {
    /// What happened.
    Action {
        AccountAdd => "account_add",
        AccountDelete => "account_delete",
        AccountDisable => "account_disable",
        AccountEnable => "account_enable",
        AccountImport => "account_import",
        AccountLink => "account_link",
        AdminCall => "admin_call",
        Authorize => "authorize",
        Campaign => "campaign",
        ClientAuth => "client_auth",
        ClientChange => "client_change",
        EndSession => "end_session",
        EnrolmentActivated => "enrolment_activated",
        FederatedSignIn => "federated_sign_in",
        Invitation => "invitation",
        KeyReveal => "key_reveal",
        MfaReset => "mfa_reset",
        MfaVerify => "mfa_verify",
        PasskeyAdd => "passkey_add",
        PasskeyRemove => "passkey_remove",
        PasswordChange => "password_change",
        PasswordForgot => "password_forgot",
        PasswordReset => "password_reset",
        ProviderChange => "provider_change",
        Reauthenticate => "reauthenticate",
        RecoveryCodes => "recovery_codes",
        Refresh => "refresh",
        SettingsChange => "settings_change",
        SetupEmail => "setup_email",
        SignIn => "sign_in",
        SignOut => "sign_out",
        Token => "token",
        Unlock => "unlock",
    }
}

vocabulary! {
    /// How it ended.
    Outcome {
        AccessDenied => "access_denied",
        AccountDisabled => "account_disabled",
        AlreadyEnrolled => "already_enrolled",
        ClientGone => "client_gone",
        CodeExchangeFailed => "code_exchange_failed",
        CodeReused => "code_reused",
        CounterRegressed => "counter_regressed",
        Created => "created",
        CredentialInUse => "credential_in_use",
        Deleted => "deleted",
        Forbidden => "forbidden",
        IdpMfaRequired => "idp_mfa_required",
        InvalidClient => "invalid_client",
        InvalidCode => "invalid_code",
        InvalidCredentials => "invalid_credentials",
        InvalidGrant => "invalid_grant",
        InvalidPasskey => "invalid_passkey",
        InvalidRequest => "invalid_request",
        InvalidScope => "invalid_scope",
        InvalidState => "invalid_state",
        InvalidToken => "invalid_token",
        InvitationAccepted => "invitation_accepted",
        Issued => "issued",
        IssuerMismatch => "issuer_mismatch",
        Locked => "locked",
        LoginRequired => "login_required",
        MfaRequired => "mfa_required",
        NoAccount => "no_account",
        NoEmail => "no_email",
        NonceRefused => "nonce_refused",
        NotConfigured => "not_configured",
        OtherBrowser => "other_browser",
        PasskeyRequired => "passkey_required",
        ProviderRefused => "provider_refused",
        ReauthenticationRequired => "reauthentication_required",
        RecoveryCodeUsed => "recovery_code_used",
        Refused => "refused",
        ReplayRefused => "replay_refused",
        RequestNotSupported => "request_not_supported",
        RequestUriNotSupported => "request_uri_not_supported",
        ReuseRevokedFamily => "reuse_revoked_family",
        SecretRotated => "secret_rotated",
        SendFailed => "send_failed",
        Sent => "sent",
        SignedIn => "signed_in",
        SignedInMfaDelegated => "signed_in_mfa_delegated",
        SocialSignInDisabled => "social_sign_in_disabled",
        Success => "success",
        Throttled => "throttled",
        Unauthenticated => "unauthenticated",
        UnauthorizedClient => "unauthorized_client",
        UnknownAccount => "unknown_account",
        UnknownProvider => "unknown_provider",
        UnlinkedSubject => "unlinked_subject",
        UnsupportedResponseType => "unsupported_response_type",
        Updated => "updated",
        WrongCallback => "wrong_callback",
    }
}

impl Outcome {
    /// An OAuth error code we answer `/authorize` with, as an outcome.
    pub fn of_oauth_error(error: &str) -> Outcome {
        Outcome::parse(error).unwrap_or(Outcome::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back_and_is_unique() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        assert_eq!(Action::parse("sign_inn"), None);
    }
}
