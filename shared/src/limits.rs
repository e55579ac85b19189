//! Lifetimes and attempt limits, and the back-off rule for password failures. Pure: callers
//! pass the counts and the time.

/// A sign-in challenge lives 5 minutes.
pub const CHALLENGE_SECS: u64 = 5 * 60;
/// Wrong codes a challenge survives; the next sign-in starts over.
pub const CHALLENGE_MAX_FAILURES: u64 = 5;
/// Consecutive wrong codes across challenges that lock code entry for an account...
pub const ACCOUNT_MAX_CODE_FAILURES: u64 = 10;
/// ...for this long.
pub const CODE_LOCK_SECS: u64 = 15 * 60;
/// A setup link lives 30 minutes.
pub const SETUP_LINK_SECS: u64 = 30 * 60;
/// Setup emails per account per hour.
pub const SETUP_MAILS_PER_HOUR: u64 = 3;
pub const SETUP_MAIL_WINDOW_SECS: u64 = 60 * 60;
/// Password failures allowed before back-off starts.
pub const PASSWORD_FREE_FAILURES: u64 = 5;
const PASSWORD_FIRST_LOCK_SECS: u64 = 30;
const PASSWORD_MAX_LOCK_SECS: u64 = 15 * 60;
/// `GET /session` refreshes the idle clock at most this often, so reads stay cheap.
pub const SESSION_TOUCH_SECS: u64 = 60;

/// How long a username is locked after `failures` consecutive wrong passwords: nothing for the
/// first few, then 30 s doubling per further failure, capped at 15 minutes.
pub fn password_lock_secs(failures: u64) -> u64 {
    if failures < PASSWORD_FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - PASSWORD_FREE_FAILURES).min(16) as u32;
    PASSWORD_FIRST_LOCK_SECS
        .saturating_mul(1 << doublings)
        .min(PASSWORD_MAX_LOCK_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_back_off_starts_after_five_failures_doubles_and_is_capped() {
        assert_eq!(password_lock_secs(0), 0);
        assert_eq!(password_lock_secs(4), 0);
        assert_eq!(password_lock_secs(5), 30);
        assert_eq!(password_lock_secs(6), 60);
        assert_eq!(password_lock_secs(7), 120);
        assert_eq!(password_lock_secs(10), 900);
        assert_eq!(password_lock_secs(u64::MAX), 900);
    }
}
