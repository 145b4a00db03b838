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

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-12-03T10:11:12.345Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        // Every u64 of milliseconds before the year 9999 formats; past it, say so plainly.
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&RFC3339_MILLIS).ok())
            .unwrap_or_else(|| "9999-12-31T23:59:59.999Z".to_owned())
    }

    /// Parses an RFC 3339 date-time (any offset) into milliseconds since the epoch.
    ///
    /// # Errors
    /// When `text` is not RFC 3339 or lies before 1970.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("not an RFC 3339 date-time: {e}"))?;
        u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .map(Timestamp)
            .map_err(|_| "a date-time before 1970".to_owned())
    }
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ`: fixed width, so the outbox's times line up and sort as text.
const RFC3339_MILLIS: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Serde for a [`Timestamp`] written as RFC 3339 text (`#[serde(with = "crate::time::rfc3339")]`).
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    /// Writes `t` as [`Timestamp::to_rfc3339`].
    ///
    /// # Errors
    /// As the serializer's.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    /// Reads RFC 3339 text.
    ///
    /// # Errors
    /// When the text is not RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
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

    #[test]
    fn rfc3339_has_fixed_width_milliseconds_and_round_trips() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        let t = Timestamp(1_764_756_672_005);
        assert_eq!(t.to_rfc3339(), "2025-12-03T10:11:12.005Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2025-12-03T12:11:12.005+02:00"),
            Ok(t)
        );
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
        assert!(Timestamp::parse_rfc3339("1969-12-31T23:59:59Z").is_err());
    }
}
