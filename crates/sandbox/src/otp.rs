//! One-time passwords: issue and verify.
//!
//! An OTP lives 5 minutes, allows 5 attempts and is single use. Each attempt is counted
//! *before* the comparison, inside the store's atomic update, so concurrent guesses cannot
//! race past the limit, and the sixth attempt is refused even with the right code. The
//! comparison is constant time.
//!
//! ```
//! use login_sandbox::otp::{OtpPolicy, OtpVerdict};
//! use login_sandbox::time::Timestamp;
//!
//! let policy = OtpPolicy { fixed: Some("123456".into()), ..OtpPolicy::default() };
//! let now = Timestamp(0);
//! let mut otp = policy.issue(now);
//! assert_eq!(otp.verify("000000", &policy, now), OtpVerdict::Wrong { attempts_left: 4 });
//! assert_eq!(otp.verify("123456", &policy, now), OtpVerdict::Accepted);
//! assert_eq!(otp.verify("123456", &policy, now), OtpVerdict::Spent);
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, ct_eq};
use crate::time::Timestamp;
use crate::tokens::random_bytes;

/// How OTPs are made and checked.
#[derive(Clone, Debug)]
pub struct OtpPolicy {
    /// Attempts allowed, counting the right one (default 5).
    pub max_attempts: u32,
    /// Lifetime (default 5 minutes).
    pub lifetime: Duration,
    /// Digits in a code (default 6).
    pub digits: u32,
    /// Test mode: every code is this value.
    pub fixed: Option<String>,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        OtpPolicy {
            max_attempts: 5,
            lifetime: Duration::from_secs(300),
            digits: 6,
            fixed: None,
        }
    }
}

/// An issued OTP: the code, the reference shown beside it, attempts so far and expiry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtpState {
    /// The code.
    pub code: Secret,
    /// The reference a user sees beside the code (`refId`).
    pub ref_id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
    /// Whether it was accepted once already.
    pub used: bool,
}

/// The outcome of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtpVerdict {
    /// The code was right: the OTP is now used.
    Accepted,
    /// The code was wrong.
    Wrong {
        /// Attempts still allowed.
        attempts_left: u32,
    },
    /// The attempt limit was already reached: refused whatever the code.
    Exhausted,
    /// The OTP has expired.
    Expired,
    /// The OTP was already accepted once.
    Spent,
}

impl OtpPolicy {
    /// Issues a fresh OTP (the fixed code in test mode) with a fresh reference.
    pub fn issue(&self, now: Timestamp) -> OtpState {
        let code = match &self.fixed {
            Some(code) => code.clone(),
            None => random_digits(self.digits),
        };
        OtpState {
            code: Secret::new(code),
            ref_id: random_ref_id(),
            attempts: 0,
            expires_at: now.plus(self.lifetime),
            used: false,
        }
    }
}

impl OtpState {
    /// One attempt with `input`: counts it, then compares in constant time.
    pub fn verify(&mut self, input: &str, policy: &OtpPolicy, now: Timestamp) -> OtpVerdict {
        if self.used {
            return OtpVerdict::Spent;
        }
        if now >= self.expires_at {
            return OtpVerdict::Expired;
        }
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts > policy.max_attempts {
            return OtpVerdict::Exhausted;
        }
        if ct_eq(self.code.expose().as_bytes(), input.as_bytes()) {
            self.used = true;
            OtpVerdict::Accepted
        } else {
            OtpVerdict::Wrong {
                attempts_left: policy.max_attempts - self.attempts,
            }
        }
    }
}

/// `n` uniformly random decimal digits.
fn random_digits(n: u32) -> String {
    (0..n)
        .map(|_| {
            loop {
                // Rejection sampling keeps the digits uniform: 250 = 25 * 10.
                let [b] = random_bytes::<1>();
                if b < 250 {
                    break char::from(b'0' + b % 10);
                }
            }
        })
        .collect()
}

/// A short reference such as `R7K2QD`, from an alphabet without look-alike characters.
fn random_ref_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<6>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OtpPolicy {
        OtpPolicy {
            fixed: Some("123456".into()),
            ..OtpPolicy::default()
        }
    }

    #[test]
    fn sixth_attempt_is_refused_even_with_the_right_code() {
        let p = policy();
        let mut otp = p.issue(Timestamp(0));
        for left in (0..5).rev() {
            assert_eq!(
                otp.verify("999999", &p, Timestamp(0)),
                OtpVerdict::Wrong {
                    attempts_left: left
                }
            );
        }
        assert_eq!(
            otp.verify("123456", &p, Timestamp(0)),
            OtpVerdict::Exhausted
        );
    }

    #[test]
    fn fifth_attempt_may_be_right() {
        let p = policy();
        let mut otp = p.issue(Timestamp(0));
        for _ in 0..4 {
            otp.verify("999999", &p, Timestamp(0));
        }
        assert_eq!(otp.verify("123456", &p, Timestamp(0)), OtpVerdict::Accepted);
    }

    #[test]
    fn otp_expires_after_five_minutes() {
        let p = policy();
        let mut otp = p.issue(Timestamp(0));
        assert_eq!(
            otp.verify("123456", &p, Timestamp(300_000)),
            OtpVerdict::Expired
        );
        assert_eq!(otp.attempts, 0);
    }

    #[test]
    fn random_codes_have_the_right_shape() {
        let p = OtpPolicy::default();
        let otp = p.issue(Timestamp(0));
        assert_eq!(otp.code.expose().len(), 6);
        assert!(otp.code.expose().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(otp.ref_id.len(), 6);
    }
}
