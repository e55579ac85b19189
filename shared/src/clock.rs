//! The one place the service reads the wall clock. Everything else takes `now` as a parameter;
//! tests and drills move this clock instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Seconds since the Unix epoch.
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    pub fn now(&self) -> u64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        wall.saturating_add_signed(self.offset.load(Ordering::Relaxed))
    }

    /// Nanoseconds within the current second: orders events that share a second.
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    pub fn subsec_nanos(&self) -> u32 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    }

    /// Milliseconds since the Unix epoch (a metric line's timestamp).
    pub fn now_ms(&self) -> u64 {
        self.now()
            .saturating_mul(1000)
            .saturating_add(u64::from(self.subsec_nanos() / 1_000_000))
    }

    /// Moves this clock (and every clone of it) by `secs`: expiry tests without sleeping.
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

/// An RFC 3339 time (as `rfc3339` writes them, or with an offset) as Unix seconds; None when it
/// is not one, or is before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
}

/// RFC 3339 in UTC, as the API shows times.
pub fn rfc3339(unix: u64) -> String {
    let t = i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let a = Clock::system();
        let b = a.clone();
        let before = b.now();
        a.advance(3600);
        assert!(b.now() >= before + 3600);
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_234_567_890), "2009-02-13T23:31:30Z");
    }
}
