//! Time as a seam: the node reads the time from a [`Clock`], which tests can set.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant in UTC.
    fn now(&self) -> OffsetDateTime;

    /// The current instant as an `xsd:dateTime` in UTC with second precision.
    fn now_string(&self) -> String {
        format_instant(self.now())
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until it is set or advanced: for tests.
#[derive(Debug, Clone)]
pub struct FixedClock {
    unix_seconds: Arc<AtomicI64>,
}

impl FixedClock {
    /// A clock showing `at` (to the second).
    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            unix_seconds: Arc::new(AtomicI64::new(at.unix_timestamp())),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        self.unix_seconds
            .fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        let seconds = self.unix_seconds.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The clock a node uses unless told otherwise.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// An instant as an `xsd:dateTime` in UTC with second precision.
pub fn format_instant(instant: OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(0)
        .unwrap_or(utc)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Now, from the system clock, as an `xsd:dateTime` in UTC with second precision.
pub fn now() -> String {
    SystemClock.now_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(time::macros::datetime!(2026-01-02 03:04:05.678 UTC));
        assert_eq!(clock.now_string(), "2026-01-02T03:04:05Z");
        clock.advance(time::Duration::hours(1));
        assert_eq!(clock.now_string(), "2026-01-02T04:04:05Z");
    }
}
