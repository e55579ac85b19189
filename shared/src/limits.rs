//! Lifetimes and per-item attempt limits. The lock-out rules for passwords and codes are in
//! `softlock`.

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
/// `GET /session` refreshes the idle clock at most this often, so reads stay cheap.
pub const SESSION_TOUCH_SECS: u64 = 60;
