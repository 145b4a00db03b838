//! Wall-clock instants as plain numbers, so every policy takes the time as a parameter
//! (`now`) and a persistent store can keep records as they are.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// This instant plus `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Whole seconds from `self` until `later`, rounded up; zero when `later` has passed.
    pub fn secs_until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0).div_ceil(1000)
    }
}

/// Something that stops being valid at an instant: `now >= expires_at` means expired.
pub fn is_expired(expires_at: Timestamp, now: Timestamp) -> bool {
    now >= expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_until_rounds_up_and_saturates() {
        let t = Timestamp(10_000);
        assert_eq!(t.secs_until(Timestamp(10_001)), 1);
        assert_eq!(t.secs_until(Timestamp(12_000)), 2);
        assert_eq!(t.secs_until(Timestamp(9_000)), 0);
        assert_eq!(t.plus(Duration::from_secs(3)), Timestamp(13_000));
    }
}
