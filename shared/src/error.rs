//! The one error type of the service. Each variant is something a caller can act on; `http.rs`
//! maps them to statuses and JSON in one place, so no handler invents its own error shape.

use thiserror::Error;

/// Why a user cannot be sent a setup email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailProblem {
    /// Neither Name.Email nor Name_Address.Email is populated.
    NoEmail,
    /// Name.Email (or, when it is empty, Name_Address.Email) is populated but not an address.
    InvalidEmail,
}

impl MailProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            MailProblem::NoEmail => "no_email",
            MailProblem::InvalidEmail => "invalid_email",
        }
    }
}

#[derive(Debug, Error)]
pub enum Error {
    /// Malformed or invalid input: `code` is the contract's snake_case error.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("The request body is too large.")]
    PayloadTooLarge,
    #[error("There is nothing at this address.")]
    NotFound,
    #[error("This method is not allowed here.")]
    MethodNotAllowed,

    /// Unknown user and wrong password alike: the answer must not tell them apart.
    #[error("The username or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again later.")]
    Throttled { retry_after_secs: u64 },
    #[error("This sign-in has expired or was already used. Sign in again.")]
    InvalidChallenge,
    #[error("That security code is not correct.")]
    InvalidCode { attempts_left: u32 },
    #[error(
        "That passkey was not accepted. Try it again, or enter a code from your authenticator app."
    )]
    InvalidPasskey { attempts_left: u32 },
    /// The organisation holds this account to its passkey (`phishing_resistant_required_for`).
    #[error(
        "Your organisation requires you to sign in with your passkey. Use your passkey instead of a code."
    )]
    PasskeyRequired,
    #[error(
        "Multi-factor authentication is already set up for this account. Ask an administrator to reset it if you lost your device."
    )]
    AlreadyEnrolled,
    #[error("{}", no_email_message(*.0))]
    NoEmailOnFile(MailProblem),
    /// Mail cannot be sent; the message is for an administrator and names no internals.
    #[error("{0}")]
    EmailUnavailable(String),
    #[error("This setup link has expired or was already used. Sign in again to get a new one.")]
    SetupLinkExpired,
    #[error("This link has expired or was already used. Ask for a new one.")]
    LinkExpired,

    #[error("Sign in first.")]
    Unauthenticated,
    #[error("You are not allowed to do this.")]
    Forbidden,
    /// Sensitive administration without a code in the last 10 minutes.
    #[error("Enter a current security code to confirm this change.")]
    ReauthenticationRequired,
    #[error("Set a valid organisation default email before enabling multi-factor authentication.")]
    OrgEmailRequired,
    #[error(
        "No system administrator could sign in with multi-factor authentication on: enrol one, or give one a valid email address first."
    )]
    NoAdminCanEnrol,
    #[error("{0}")]
    Conflict(String),

    /// OAuth 2.0 token endpoint errors (RFC 6749 section 5.2).
    /// The grant (password, code, refresh token) is not good; the sentence says which.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// Client authentication failed (RFC 6749 section 5.2): unknown client, wrong secret.
    #[error("The client could not be authenticated.")]
    InvalidClient,
    #[error("This account may not use the token endpoint while multi-factor authentication is on.")]
    UnauthorizedClient,
    #[error("{0}")]
    UnsupportedGrantType(String),

    #[error("The sign-in token could not be verified.")]
    InvalidToken,
    #[error(
        "Staff must sign in with username, password and security code while multi-factor authentication is on."
    )]
    SocialSignInDisabled,
    #[error("Your identity provider did not confirm multi-factor authentication for this sign-in.")]
    IdpMfaRequired,

    /// A dependency (DynamoDB, SES, Secrets Manager) failed; `context` is logged, never shown.
    #[error("The service is temporarily unavailable. Try again shortly.")]
    Unavailable { context: String },
    #[error("Something went wrong on our side.")]
    Internal(String),
}

fn no_email_message(problem: MailProblem) -> &'static str {
    match problem {
        MailProblem::NoEmail => {
            "There is no email address on file for this account. Ask an administrator to add one."
        }
        MailProblem::InvalidEmail => {
            "The email address on file for this account is not valid. Ask an administrator to correct it."
        }
    }
}

impl Error {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(context: impl Into<String>) -> Self {
        Error::Unavailable {
            context: context.into(),
        }
    }

    /// The contract's snake_case error code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest { code, .. } => code,
            Error::PayloadTooLarge => "payload_too_large",
            Error::NotFound => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::InvalidCredentials => "invalid_credentials",
            Error::Throttled { .. } => "too_many_requests",
            Error::InvalidChallenge => "invalid_challenge",
            Error::InvalidCode { .. } => "invalid_code",
            Error::InvalidPasskey { .. } => "invalid_passkey",
            Error::PasskeyRequired => "passkey_required",
            Error::AlreadyEnrolled => "already_enrolled",
            Error::NoEmailOnFile(_) => "no_email_on_file",
            Error::EmailUnavailable(_) => "email_unavailable",
            Error::SetupLinkExpired => "setup_link_expired",
            Error::LinkExpired => "link_expired",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden => "forbidden",
            Error::ReauthenticationRequired => "reauthentication_required",
            Error::OrgEmailRequired => "org_email_required",
            Error::NoAdminCanEnrol => "no_admin_can_enrol",
            Error::Conflict(_) => "conflict",
            Error::InvalidGrant(_) => "invalid_grant",
            Error::InvalidClient => "invalid_client",
            Error::UnauthorizedClient => "unauthorized_client",
            Error::UnsupportedGrantType(_) => "unsupported_grant_type",
            Error::InvalidToken => "invalid_token",
            Error::SocialSignInDisabled => "social_sign_in_disabled",
            Error::IdpMfaRequired => "idp_mfa_required",
            Error::Unavailable { .. } => "service_unavailable",
            Error::Internal(_) => "internal_error",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
