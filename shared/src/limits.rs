//! Lifetimes and per-item attempt limits. The lock-out rules for passwords and codes are in
//! `softlock`.

/// At most `max` of something per `secs`, counted in windows that start with the first one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub max: u64,
    pub secs: u64,
}

/// A sign-in challenge lives 5 minutes.
pub const CHALLENGE_SECS: u64 = 5 * 60;
/// Codes evaluated against one challenge; the next sign-in starts over.
pub const CHALLENGE_MAX_FAILURES: u64 = 5;
/// A setup link lives 30 minutes.
pub const SETUP_LINK_SECS: u64 = 30 * 60;
/// Times the setup page may show the key behind one link (a reload or two; never a harvest).
pub const SETUP_KEY_REVEALS: u64 = 3;
/// Setup emails per account per hour.
pub const SETUP_MAILS_PER_HOUR: u64 = 3;
pub const SETUP_MAIL_WINDOW_SECS: u64 = 60 * 60;
/// "Forgot your password?" requests per source address per window. A window, not a lock-out:
/// the count starts over when the window ends, so an office behind one address is slowed for at
/// most a quarter of an hour, however many requests came before.
pub const FORGOT_PER_ADDRESS: Window = Window {
    max: 20,
    secs: 15 * 60,
};
/// "Forgot your password?" answers no sooner than this after the request arrived, whether or not
/// the name is an account: the mail and the link are written only for accounts, and the time
/// they take must not tell which names are.
pub const FORGOT_ANSWER_MS: u64 = 600;
/// `GET /session` refreshes the idle clock at most this often, so reads stay cheap.
pub const SESSION_TOUCH_SECS: u64 = 60;
