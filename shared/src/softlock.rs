//! The one lock-out rule, as a pure state machine (after kanidm's `credential/softlock.rs`): a
//! counter of consecutive failures and a time before which no attempt is evaluated. Used for
//! passwords per (name, address), passwords per name, and codes per account.
//!
//! Limits must hold however many Lambda instances evaluate at once, so no attempt's outcome is
//! acted on before it is counted: `reserve` gives the state with the attempt counted as a failure,
//! and the store writes it with a condition on the state it was computed from (compare-and-swap).
//! Codes are reserved before they are checked and a success ends the count. A password is checked
//! first and its outcome then counted by one write, whatever it is (`after_success` for a right
//! one), so that a reservation and its clearing are not two: whatever the concurrency, no more
//! outcomes are given than the policy allows, and because every write is computed from the state
//! it replaces, a lock is never shortened.

/// How many consecutive failures are free, and how long the lock that follows lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockPolicy {
    /// Failures allowed before the first lock; the attempt that makes this many sets it.
    pub free_failures: u64,
    pub first_lock_secs: u64,
    /// Each further failure after a lock doubles it up to this; equal to `first_lock_secs` for a
    /// flat lock, after which the count starts over.
    pub max_lock_secs: u64,
}

/// Contract: 5 consecutive wrong passwords from one address, then 30 s, doubling up to 15 minutes.
pub const PASSWORD_PER_ADDRESS: LockPolicy = LockPolicy {
    free_failures: 5,
    first_lock_secs: 30,
    max_lock_secs: 15 * 60,
};

/// Contract (NIST SP 800-63B 5.2.2): 100 consecutive wrong passwords across all addresses lock
/// password entry for the account for an hour; an administrator can unlock.
pub const PASSWORD_PER_ACCOUNT: LockPolicy = LockPolicy {
    free_failures: 100,
    first_lock_secs: 60 * 60,
    max_lock_secs: 60 * 60,
};

/// Contract: 10 consecutive wrong codes lock code entry for the account for 15 minutes.
pub const CODES_PER_ACCOUNT: LockPolicy = LockPolicy {
    free_failures: 10,
    first_lock_secs: 15 * 60,
    max_lock_secs: 15 * 60,
};

impl LockPolicy {
    fn doubles(&self) -> bool {
        self.max_lock_secs > self.first_lock_secs
    }

    /// The lock that the `failures`-th consecutive failure calls for (0: none).
    pub fn lock_secs(&self, failures: u64) -> u64 {
        if failures < self.free_failures {
            return 0;
        }
        let doublings = (failures - self.free_failures).min(32) as u32;
        self.first_lock_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_lock_secs)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftLock {
    /// Consecutive failures, counting attempts reserved and not yet cleared by a success.
    pub failures: u64,
    /// No attempt is evaluated before this time (Unix seconds); 0 for none.
    pub locked_until: u64,
}

impl SoftLock {
    /// Seconds until an attempt may be made at `now`; None when one may be made now.
    pub fn wait(&self, now: u64) -> Option<u64> {
        (self.locked_until > now).then(|| self.locked_until - now)
    }

    pub fn is_locked(&self, now: u64) -> bool {
        self.wait(now).is_some()
    }

    /// Reserves one attempt at `now`: the state to write (the attempt counted as a failure in
    /// advance), or the seconds to wait.
    pub fn reserve(&self, policy: &LockPolicy, now: u64) -> Result<SoftLock, u64> {
        if let Some(wait) = self.wait(now) {
            return Err(wait);
        }
        // A flat lock that has run out starts a fresh count; a doubling one keeps counting, so
        // each failure after the first lock doubles the next.
        let start = if !policy.doubles() && self.failures >= policy.free_failures {
            0
        } else {
            self.failures
        };
        let failures = start.saturating_add(1);
        let lock = policy.lock_secs(failures);
        let locked_until = if lock == 0 {
            self.locked_until
        } else {
            self.locked_until.max(now.saturating_add(lock))
        };
        Ok(SoftLock {
            failures,
            locked_until,
        })
    }
}

/// Source addresses whose password counts one name keeps; past this, the one that tried least
/// recently (a lock still running is kept over one that is not) is forgotten. The name's own count
/// still holds for every address, so forgetting one only gives that address its five free tries
/// back, each of which still counts towards the name's 100.
pub const MAX_ADDRESSES_PER_NAME: usize = 32;

/// One source address's password count for a name, and when it last tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressCount {
    pub lock: SoftLock,
    pub last_try: u64,
}

/// A typed name's password counts: its own, across every address, and one per source address
/// (keyed hashes), kept together so that one compare-and-swap reserves an attempt on both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasswordCounts {
    pub name: SoftLock,
    pub addresses: std::collections::BTreeMap<String, AddressCount>,
}

impl PasswordCounts {
    /// Reserves a password attempt from `address` at `now`: the counts to write, or the seconds to
    /// wait. The address is asked first, so an address that is locked out spends nothing of the
    /// name's count (which would lock its owner out everywhere). `idle_secs`: how long a count is
    /// kept after its last try or the end of its lock.
    pub fn reserve(
        &self,
        name_policy: &LockPolicy,
        address_policy: &LockPolicy,
        address: &str,
        now: u64,
        idle_secs: u64,
    ) -> Result<PasswordCounts, u64> {
        let seen = self.addresses.get(address).copied().unwrap_or_default();
        let lock = seen.lock.reserve(address_policy, now)?;
        let name = self.name.reserve(name_policy, now)?;
        let mut addresses: std::collections::BTreeMap<String, AddressCount> = self
            .addresses
            .iter()
            .filter(|(_, c)| {
                c.last_try
                    .max(c.lock.locked_until)
                    .saturating_add(idle_secs)
                    > now
            })
            .map(|(k, c)| (k.clone(), *c))
            .collect();
        addresses.remove(address);
        while addresses.len() >= MAX_ADDRESSES_PER_NAME {
            let oldest = addresses
                .iter()
                .min_by_key(|(_, c)| (c.lock.is_locked(now), c.lock.locked_until, c.last_try))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => addresses.remove(&k),
                None => break,
            };
        }
        addresses.insert(
            address.to_owned(),
            AddressCount {
                lock,
                last_try: now,
            },
        );
        Ok(PasswordCounts { name, addresses })
    }

    /// The counts after a right password from `address`: the name's count ends, and the
    /// address's; other addresses keep theirs (an attacker's count elsewhere is not wiped by the
    /// owner signing in). Equal to `self` when there was nothing to end.
    pub fn after_success(&self, address: &str) -> PasswordCounts {
        let mut next = self.clone();
        next.addresses.remove(address);
        if next.name.failures > 0 {
            next.name = SoftLock::default();
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail_n(policy: &LockPolicy, n: u64, now: u64) -> SoftLock {
        let mut s = SoftLock::default();
        for _ in 0..n {
            s = s.reserve(policy, now).unwrap();
        }
        s
    }

    #[test]
    fn five_password_failures_from_an_address_then_thirty_seconds_doubling_to_fifteen_minutes() {
        let p = PASSWORD_PER_ADDRESS;
        let s = fail_n(&p, 4, 1000);
        assert!(!s.is_locked(1000));
        let s = s.reserve(&p, 1000).unwrap();
        assert_eq!(s.wait(1000), Some(30), "the fifth attempt sets 30 s");
        assert_eq!(s.reserve(&p, 1029), Err(1));
        let s = s.reserve(&p, 1030).unwrap();
        assert_eq!(s.wait(1030), Some(60), "doubling");
        let mut s = s;
        let mut now = 1030;
        for _ in 0..20 {
            now = s.locked_until;
            s = s.reserve(&p, now).unwrap();
        }
        assert_eq!(s.wait(now), Some(900), "capped at 15 minutes");
    }

    #[test]
    fn ten_wrong_codes_lock_for_fifteen_minutes_and_the_eleventh_is_not_evaluated() {
        let p = CODES_PER_ACCOUNT;
        let s = fail_n(&p, 9, 0);
        assert!(!s.is_locked(0));
        let s = s.reserve(&p, 0).unwrap();
        assert_eq!(s.wait(0), Some(900));
        assert_eq!(s.reserve(&p, 899), Err(1));
        let after = s.reserve(&p, 900).unwrap();
        assert_eq!(
            after.failures, 1,
            "a flat lock that ran out starts a fresh count"
        );
        assert!(!after.is_locked(900));
    }

    #[test]
    fn a_hundred_password_failures_lock_the_account_for_an_hour() {
        let p = PASSWORD_PER_ACCOUNT;
        let s = fail_n(&p, 99, 0);
        assert!(!s.is_locked(0));
        let s = s.reserve(&p, 0).unwrap();
        assert_eq!(s.wait(0), Some(3600));
    }

    #[test]
    fn a_lock_is_never_shortened() {
        let p = PASSWORD_PER_ADDRESS;
        let long = SoftLock {
            failures: 3,
            locked_until: 5000,
        };
        // A state whose lock has passed keeps the longer one it had.
        let s = SoftLock {
            failures: 4,
            locked_until: 0,
        }
        .reserve(&p, 100)
        .unwrap();
        assert_eq!(s.locked_until, 130);
        let kept = SoftLock {
            failures: 4,
            locked_until: long.locked_until,
        };
        assert_eq!(kept.reserve(&p, 100), Err(4900));
        let later = SoftLock {
            failures: 4,
            locked_until: 120,
        }
        .reserve(&p, 120)
        .unwrap();
        assert!(later.locked_until >= 120);
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let s = SoftLock {
            failures: u64::MAX,
            locked_until: 0,
        };
        let r = s.reserve(&PASSWORD_PER_ADDRESS, u64::MAX - 10).unwrap();
        assert_eq!(r.locked_until, u64::MAX);
    }

    const DAY: u64 = 86_400;

    fn attempt(c: &PasswordCounts, address: &str, now: u64) -> Result<PasswordCounts, u64> {
        c.reserve(
            &PASSWORD_PER_ACCOUNT,
            &PASSWORD_PER_ADDRESS,
            address,
            now,
            DAY,
        )
    }

    #[test]
    fn a_locked_out_address_spends_nothing_of_the_names_count() {
        let mut c = PasswordCounts::default();
        for _ in 0..5 {
            c = attempt(&c, "a", 0).unwrap();
        }
        assert_eq!(c.name.failures, 5);
        assert_eq!(attempt(&c, "a", 0), Err(30));
        // Another address is not held up, and counts on the name.
        let other = attempt(&c, "b", 0).unwrap();
        assert_eq!(other.name.failures, 6);
        assert_eq!(other.addresses["b"].lock.failures, 1);
    }

    #[test]
    fn a_locked_name_refuses_every_address() {
        let mut c = PasswordCounts::default();
        for i in 0..100 {
            c = attempt(&c, &format!("a{}", i / 4), 0).unwrap();
        }
        assert_eq!(attempt(&c, "new", 0), Err(3600));
    }

    #[test]
    fn idle_addresses_are_forgotten_and_a_full_list_keeps_running_locks() {
        let mut c = PasswordCounts::default();
        c = attempt(&c, "old", 0).unwrap();
        c = attempt(&c, "new", DAY).unwrap();
        assert!(!c.addresses.contains_key("old"), "a day idle");
        let mut c = PasswordCounts::default();
        for _ in 0..5 {
            c = attempt(&c, "locked", 1000).unwrap();
        }
        for i in 0..MAX_ADDRESSES_PER_NAME + 5 {
            c.name = SoftLock::default();
            c = attempt(&c, &format!("x{i}"), 1000 + i as u64).unwrap();
        }
        assert_eq!(c.addresses.len(), MAX_ADDRESSES_PER_NAME);
        assert!(c.addresses.contains_key("locked"), "its lock still runs");
        assert!(!c.addresses.contains_key("x0"), "the least recent went");
    }

    #[test]
    fn a_right_password_ends_the_names_count_and_its_addresss_only() {
        let mut c = PasswordCounts::default();
        for address in ["owner", "attacker", "attacker"] {
            c = attempt(&c, address, 0).unwrap();
        }
        let after = c.after_success("owner");
        assert_eq!(after.name, SoftLock::default());
        assert!(!after.addresses.contains_key("owner"));
        assert_eq!(after.addresses["attacker"].lock.failures, 2);
        // Nothing counted: the counts stay as they are.
        assert_eq!(after.after_success("owner"), after);
        assert_eq!(
            PasswordCounts::default().after_success("owner"),
            PasswordCounts::default()
        );
    }
}
