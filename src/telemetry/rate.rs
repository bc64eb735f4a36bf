//! Requests per second over the last minute (the console's dashboard), counted per request
//! without a lock or a wall-clock read: one atomic per second of a 64-second ring.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const SLOTS: usize = 64;

/// Each slot holds `second << 32 | count` for one second since `epoch` (second mod 64), so a
/// slot left from an older lap is recognised and restarted, not added to.
pub struct SecondRing {
    epoch: Instant,
    slots: [AtomicU64; SLOTS],
}

impl Default for SecondRing {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl SecondRing {
    fn second(&self, at: Instant) -> u32 {
        // Seconds since start (plus one, so no slot's initial zero looks like second 0's);
        // u32 laps after 136 years.
        at.saturating_duration_since(self.epoch).as_secs() as u32 + 1
    }

    /// Counts one request answered at `at`.
    pub fn add(&self, at: Instant) {
        let sec = self.second(at);
        let slot = &self.slots[sec as usize % SLOTS];
        let mut cur = slot.load(Ordering::Relaxed);
        loop {
            let next = if (cur >> 32) as u32 == sec {
                cur + 1
            } else {
                (u64::from(sec) << 32) | 1
            };
            match slot.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Requests answered in the `window` seconds up to and including `now`'s (window ≤ 63).
    pub fn sum(&self, now: Instant, window: u32) -> u64 {
        let now = self.second(now);
        self.slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|v| {
                let sec = (v >> 32) as u32;
                sec <= now && now - sec < window.min(SLOTS as u32 - 1)
            })
            .map(|v| v & 0xffff_ffff)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_the_last_window_and_forgets_older_laps() {
        let r = SecondRing::default();
        let t0 = r.epoch;
        let at = |s: u64| t0 + Duration::from_millis(s * 1000 + 500);
        for _ in 0..3 {
            r.add(at(0));
        }
        r.add(at(59));
        r.add(at(59));
        assert_eq!(r.sum(at(59), 60), 5);
        // Second 0 is out of the window at second 60; second 64 reuses its slot.
        assert_eq!(r.sum(at(60), 60), 2);
        r.add(at(64));
        assert_eq!(r.sum(at(64), 60), 3, "the old lap's 3 are not added to");
        assert_eq!(r.sum(at(200), 60), 0);
        // A request dated before the ring started counts as its first second.
        r.add(t0 - Duration::from_secs(5));
        assert_eq!(r.sum(at(0), 60), 1);
    }

    #[test]
    fn concurrent_adds_are_all_counted() {
        let r = std::sync::Arc::new(SecondRing::default());
        let now = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        r.add(now);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(r.sum(now, 60), 40_000);
    }
}
