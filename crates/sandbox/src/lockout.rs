//! Lockout after repeated wrong passwords.
//!
//! Counted per username, whether or not the user exists, so the answers (401, then 423) never
//! tell which usernames are real. `threshold` wrong passwords within `window` lock the name for
//! `window`; while locked every attempt gets 423 `locked` without the password being checked.
//! A right password clears the count.
//!
//! ```
//! use login_sandbox::lockout::{LockoutCounter, LockoutPolicy};
//! use login_sandbox::time::Timestamp;
//! use std::time::Duration;
//!
//! let policy = LockoutPolicy { threshold: 2, window: Duration::from_secs(60) };
//! let mut c = LockoutCounter::default();
//! let t = Timestamp(0);
//! c.record_failure(&policy, t);
//! assert_eq!(c.locked_for(t), None);
//! c.record_failure(&policy, t);
//! assert_eq!(c.locked_for(t), Some(60));
//! assert_eq!(c.locked_for(Timestamp(60_000)), None); // the lock lifts after the window
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// When to lock and for how long.
#[derive(Clone, Debug)]
pub struct LockoutPolicy {
    /// Wrong passwords within `window` that lock the account (default 5).
    pub threshold: u32,
    /// The counting window and the lock duration (default 5 minutes).
    pub window: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: 5,
            window: Duration::from_secs(300),
        }
    }
}

/// Wrong-password count of one username.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LockoutCounter {
    /// Wrong passwords counted in the current window.
    pub failures: u32,
    /// When the current counting window started.
    pub window_start: Option<Timestamp>,
    /// Locked until this instant.
    pub locked_until: Option<Timestamp>,
    /// When the counter may be forgotten: the end of the lock or of the counting window.
    pub forget_at: Option<Timestamp>,
}

impl LockoutCounter {
    /// Seconds the lock still holds (rounded up), or `None` when not locked.
    pub fn locked_for(&self, now: Timestamp) -> Option<u64> {
        self.locked_until
            .filter(|until| now < *until)
            .map(|until| now.secs_until(until).max(1))
    }

    /// Counts a wrong password; locks when the threshold is reached.
    pub fn record_failure(&mut self, policy: &LockoutPolicy, now: Timestamp) {
        if self.locked_until.is_some_and(|until| now >= until) {
            *self = LockoutCounter::default();
        }
        if self
            .window_start
            .is_none_or(|start| now >= start.plus(policy.window))
        {
            self.window_start = Some(now);
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.forget_at = self.window_start.map(|start| start.plus(policy.window));
        if self.failures >= policy.threshold {
            let until = now.plus(policy.window);
            *self = LockoutCounter {
                locked_until: Some(until),
                forget_at: Some(until),
                ..Self::default()
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let p = LockoutPolicy {
            threshold: 3,
            window: Duration::from_secs(10),
        };
        let mut c = LockoutCounter::default();
        c.record_failure(&p, Timestamp(0));
        c.record_failure(&p, Timestamp(1_000));
        c.record_failure(&p, Timestamp(20_000));
        assert_eq!(c.locked_for(Timestamp(20_000)), None);
        c.record_failure(&p, Timestamp(21_000));
        c.record_failure(&p, Timestamp(22_000));
        assert_eq!(c.locked_for(Timestamp(22_000)), Some(10));
    }
}
