//! How throttled calls are repeated: the one retry decision, made by the [`Runner`](crate::runner::Runner).

use std::time::{Duration, SystemTime};

use crate::Response;

/// How 429 responses are retried: the server did not process the call, so repeating it after
/// `Retry-After` is safe. No other failure is retried.
///
/// ```
/// use std::time::Duration;
/// use login_core::Response;
/// use login_core::RetryPolicy;
///
/// let policy = RetryPolicy::default(); // one retry, at most 10 s of waiting
/// let now = std::time::SystemTime::now();
/// let throttled = Response::new(429, Vec::new()).with_header("Retry-After", "3");
/// assert_eq!(policy.delay_before_retry(&throttled, 0, Duration::ZERO, now), Some(Duration::from_secs(3)));
/// assert_eq!(policy.delay_before_retry(&throttled, 1, Duration::from_secs(3), now), None);
/// let too_long = Response::new(429, Vec::new()).with_header("Retry-After", "60");
/// assert_eq!(policy.delay_before_retry(&too_long, 0, Duration::ZERO, now), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 1,
            max_total_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delay used when a 429 carries no usable `Retry-After`.
    pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

    /// At most `max_retries` repeats of a throttled call, waiting at most `max_total_wait` in all.
    pub fn new(max_retries: u32, max_total_wait: Duration) -> Self {
        Self {
            max_retries,
            max_total_wait,
        }
    }

    /// Never retry: every 429 is reported at once.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            max_total_wait: Duration::ZERO,
        }
    }

    /// The most repeats of one call.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest total wait for one call.
    pub fn max_total_wait(&self) -> Duration {
        self.max_total_wait
    }

    /// How long to wait before repeating the call that got `response` (received at `now`, which
    /// an HTTP-date `Retry-After` is counted from), or `None` when it must not be repeated: not
    /// a 429, no retries left, or the wait would pass the total bound. `retries_done` and
    /// `waited` count what this call already used.
    pub fn delay_before_retry(
        &self,
        response: &Response,
        retries_done: u32,
        waited: Duration,
        now: SystemTime,
    ) -> Option<Duration> {
        if response.status() != 429 || retries_done >= self.max_retries {
            return None;
        }
        let delay = response
            .retry_after()
            .map_or(Self::DEFAULT_DELAY, |r| r.delay_from(now));
        (waited.checked_add(delay)? <= self.max_total_wait).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn an_http_date_is_waited_for_from_the_receipt_instant() {
        let p = RetryPolicy::new(1, Duration::from_secs(10));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        // Seven seconds before the date; a date already past means no wait at all.
        let r = Response::new(429, Vec::new())
            .with_header("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            p.delay_before_retry(&r, 0, Duration::ZERO, now),
            Some(Duration::from_secs(7))
        );
        let later = now + Duration::from_secs(60);
        assert_eq!(
            p.delay_before_retry(&r, 0, Duration::ZERO, later),
            Some(Duration::ZERO)
        );
        // A date further off than the bound is not waited for.
        let early = now - Duration::from_secs(60);
        assert_eq!(p.delay_before_retry(&r, 0, Duration::ZERO, early), None);
    }

    #[test]
    fn retry_policy_bounds_count_and_wait() {
        let p = RetryPolicy::new(3, Duration::from_secs(5));
        let r = |s: &str| Response::new(429, Vec::new()).with_header("Retry-After", s);
        assert_eq!(
            p.delay_before_retry(&r("2"), 0, Duration::ZERO, NOW),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay_before_retry(&r("2"), 1, Duration::from_secs(2), NOW),
            Some(Duration::from_secs(2))
        );
        // A third 2 s wait would make 6 s > 5 s.
        assert_eq!(
            p.delay_before_retry(&r("2"), 2, Duration::from_secs(4), NOW),
            None
        );
        assert_eq!(p.delay_before_retry(&r("1"), 3, Duration::ZERO, NOW), None);
        assert_eq!(
            p.delay_before_retry(&Response::new(429, Vec::new()), 0, Duration::ZERO, NOW),
            Some(RetryPolicy::DEFAULT_DELAY)
        );
        assert_eq!(
            p.delay_before_retry(&Response::new(503, Vec::new()), 0, Duration::ZERO, NOW),
            None
        );
        assert_eq!(
            RetryPolicy::none().delay_before_retry(&r("0"), 0, Duration::ZERO, NOW),
            None
        );
    }
}
