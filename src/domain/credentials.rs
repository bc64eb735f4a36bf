//! Password hashing (PBKDF2-HMAC-SHA256, per-user salt) and the password policy.

use std::num::NonZeroU32;

use ring::pbkdf2;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PasswordHash(pbkdf2-sha256, {} iterations)",
            self.iterations
        )
    }
}

impl PasswordHash {
    pub fn new(password: &str, salt: [u8; 16], iterations: u32) -> Self {
        let mut hash = vec![0u8; 32];
        let iters = NonZeroU32::new(iterations.max(1)).expect("non-zero");
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iters,
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        Self {
            salt: salt.to_vec(),
            iterations,
            hash,
        }
    }

    /// Constant-time (ring's pbkdf2::verify).
    pub fn verify(&self, password: &str) -> bool {
        let Some(iters) = NonZeroU32::new(self.iterations) else {
            return false;
        };
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iters,
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

/// Constant-time equality of two byte strings (ring's comparison; ring marks it deprecated
/// for outside use, but it is still the constant-time primitive it ships).
#[allow(deprecated)]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    ring::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Why a password is refused by the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    TooShort { min: usize },
    TooLong { max: usize },
}

/// The configurable policy: at least `min_len` characters (default 8), at most 64 (the
/// Codelayer auth page's limit, so a password set here can always be sent there).
pub fn check_policy(password: &str, min_len: usize) -> Result<(), PolicyError> {
    let n = password.chars().count();
    if n < min_len {
        return Err(PolicyError::TooShort { min: min_len });
    }
    if n > 64 {
        return Err(PolicyError::TooLong { max: 64 });
    }
    Ok(())
}

/// Failed sign-ins of one subject (a user, or a device / IMEI / client system). Failures slow the
/// subject down, then lock it out for a while; they are forgotten once a lockout period passes
/// without a new failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailures {
    pub failures: u32,
    pub last_failure_unix: i64,
    pub locked_until_unix: i64,
}

impl LoginFailures {
    /// Seconds of lockout left, if locked at `now`.
    pub fn locked_for(&self, now_unix: i64) -> Option<i64> {
        (self.locked_until_unix > now_unix).then(|| self.locked_until_unix - now_unix)
    }

    /// Counts one failure; the `after`-th failure within `lock_secs` of the previous one locks
    /// the subject for `lock_secs`.
    pub fn record_failure(&mut self, now_unix: i64, after: u32, lock_secs: i64) {
        if now_unix - self.last_failure_unix > lock_secs {
            self.failures = 0;
        }
        self.failures += 1;
        self.last_failure_unix = now_unix;
        if after > 0 && self.failures >= after {
            self.locked_until_unix = now_unix + lock_secs;
            self.failures = 0;
        }
    }

    /// How long to hold back the answer to this failure: nothing for the first, then 250 ms more
    /// per failure (at most 2 s), so guessing gets slow well before the lockout.
    pub fn delay_ms(&self) -> u64 {
        (u64::from(self.failures.saturating_sub(1)) * 250).min(2000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_password() {
        let h = PasswordHash::new("SupportMe", [7; 16], 1000);
        assert!(h.verify("SupportMe"));
        assert!(!h.verify("supportme"));
        assert!(!h.verify(""));
        let h2 = PasswordHash::new("SupportMe", [8; 16], 1000);
        assert_ne!(h.hash, h2.hash, "salt must change the hash");
    }

    #[test]
    fn failures_slow_then_lock_then_are_forgotten() {
        let mut f = LoginFailures::default();
        f.record_failure(1000, 3, 900);
        assert_eq!(f.delay_ms(), 0);
        f.record_failure(1001, 3, 900);
        assert_eq!(f.delay_ms(), 250);
        assert_eq!(f.locked_for(1001), None);
        f.record_failure(1002, 3, 900);
        assert_eq!(f.locked_for(1002), Some(900));
        assert_eq!(f.locked_for(1902), None);
        // A failure long after the last one starts counting afresh.
        let mut g = LoginFailures::default();
        g.record_failure(0, 3, 900);
        g.record_failure(10, 3, 900);
        g.record_failure(2000, 3, 900);
        assert_eq!(g.failures, 1);
        assert_eq!(g.locked_for(2000), None);
    }

    #[test]
    fn policy_accepts_the_seed_samples() {
        // Seeds: `testpassword` (Codelayer), `SupportMe` (Authorize API).
        assert!(check_policy("testpassword", 8).is_ok());
        assert!(check_policy("SupportMe", 8).is_ok());
        assert_eq!(
            check_policy("short", 8),
            Err(PolicyError::TooShort { min: 8 })
        );
        assert_eq!(
            check_policy(&"x".repeat(65), 8),
            Err(PolicyError::TooLong { max: 64 })
        );
    }
}
