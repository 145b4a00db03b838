//! Throttling: at most `limit` events per key in a fixed window; past it, 429 with
//! `Retry-After` (the seconds until the window ends). A refused event is not counted and
//! nothing else is done for it, so repeating after `Retry-After` is safe.
//!
//! The sandbox throttles credential attempts per username, OTP sends per username and,
//! when configured, all requests per client IP address.
//!
//! ```
//! use login_sandbox::throttle::{ThrottlePolicy, ThrottleWindow};
//! use login_sandbox::time::Timestamp;
//! use std::time::Duration;
//!
//! let policy = ThrottlePolicy { limit: 1, window: Duration::from_secs(2) };
//! let mut w = ThrottleWindow::default();
//! assert_eq!(w.hit(&policy, Timestamp(0)), Ok(()));
//! assert_eq!(w.hit(&policy, Timestamp(500)), Err(2)); // retry after 2 s (rounded up)
//! assert_eq!(w.hit(&policy, Timestamp(2_000)), Ok(()));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A limit per window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Events allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

/// The counter of one key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ThrottleWindow {
    /// When the current window started.
    pub start: Option<Timestamp>,
    /// Events counted in it.
    pub count: u32,
    /// When the record may be dropped.
    pub ends: Option<Timestamp>,
}

impl ThrottleWindow {
    /// Counts one event, or refuses it with the seconds to wait (at least 1).
    pub fn hit(&mut self, policy: &ThrottlePolicy, now: Timestamp) -> Result<(), u64> {
        let ends = match self.start {
            Some(start) if now < start.plus(policy.window) => start.plus(policy.window),
            _ => {
                self.start = Some(now);
                self.count = 0;
                now.plus(policy.window)
            }
        };
        self.ends = Some(ends);
        if self.count >= policy.limit {
            return Err(now.secs_until(ends).max(1));
        }
        self.count += 1;
        Ok(())
    }
}
