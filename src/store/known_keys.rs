//! Which keys the idempotency tree may hold: a Bloom filter, so a new client request id (nearly
//! every Daily Activity write) is known new without walking down sled's tree twice (the look
//! before the operation and the one under the writer lock).
//!
//! The invariant: once a `rebuild` has finished, every key in the tree is in the filter. Until
//! then (a fresh start, before the first sweep's walk) the filter knows nothing and every
//! question is answered "maybe", which means: read the tree.
//! - `Tx::commit` (and `Store::apply`) add each idempotency key they put right after the apply,
//!   failed or not, and before the writer lock is released: a look under the lock is never told
//!   "absent" for a key in the tree. A look without the lock may be, in the moment between the
//!   apply and the add; that look is only the early one, and the look under the lock decides.
//!   Adding after the apply (not before) is what keeps a rebuild complete: a key is either in
//!   the tree when the rebuild's walk starts, or added once the rebuild has begun.
//! - The hourly sweep walks the whole tree anyway: it `rebuild`s the filter from the keys it
//!   keeps, while keys put meanwhile go into both the old filter and the one being built. Deleted
//!   keys stay in the old filter until then; that only costs a read.
//!
//! 2^23 bits (1 MiB), three probes: about 1 % false "maybe" at 600 k records, 2.5 % at 1 M. A
//! site's 48 h of Daily Activity writes is tens of thousands; past a few million the filter
//! answers "maybe" to everything and the writes read the tree as they did without it. The hash
//! is SipHash with a key drawn per filter, so request ids cannot be chosen to collide.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const BITS_LOG2: u32 = 23;
const WORDS: usize = (1 << BITS_LOG2) / 64;
const PROBES: u64 = 3;

struct Bloom {
    words: Box<[AtomicU64]>,
    hasher: RandomState,
}

impl Bloom {
    fn new() -> Self {
        Bloom {
            words: (0..WORDS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
    }

    /// The bit positions of `key` (double hashing from one 64-bit hash).
    fn probes(&self, key: &[u8]) -> impl Iterator<Item = usize> {
        let h = self.hasher.hash_one(key);
        let (a, b) = (h & 0xffff_ffff, (h >> 32) | 1);
        (0..PROBES)
            .map(move |i| (a.wrapping_add(i.wrapping_mul(b)) & ((1 << BITS_LOG2) - 1)) as usize)
    }

    fn add(&self, key: &[u8]) {
        for p in self.probes(key) {
            self.words[p / 64].fetch_or(1 << (p % 64), Ordering::Relaxed);
        }
    }

    fn may_hold(&self, key: &[u8]) -> bool {
        self.probes(key)
            .all(|p| self.words[p / 64].load(Ordering::Relaxed) & (1 << (p % 64)) != 0)
    }
}

#[derive(Default)]
struct Filters {
    /// Complete for the tree (see the module doc); None until the first rebuild ends.
    current: Option<Arc<Bloom>>,
    /// Being built by a sweep's walk.
    building: Option<Arc<Bloom>>,
}

/// The idempotency tree's key filter (see the module doc).
#[derive(Default)]
pub struct KnownKeys {
    filters: Mutex<Filters>,
    /// Questions answered "absent" (/metrics: `gatehouse_idempotency_known_new_total`).
    absent: AtomicU64,
}

/// A rebuild in progress: what the walk adds the keys it keeps to.
pub struct Rebuild(Arc<Bloom>);

impl Rebuild {
    pub fn add(&self, key: &[u8]) {
        self.0.add(key);
    }
}

impl KnownKeys {
    fn filters(&self) -> std::sync::MutexGuard<'_, Filters> {
        // A panic while holding it left at worst a bit unset in a filter being replaced.
        self.filters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A key now in the tree.
    pub fn add(&self, key: &[u8]) {
        let f = self.filters();
        if let Some(c) = &f.current {
            c.add(key);
        }
        if let Some(b) = &f.building {
            b.add(key);
        }
    }

    /// False only when the tree certainly does not hold `key`.
    pub fn may_hold(&self, key: &[u8]) -> bool {
        let current = self.filters().current.clone();
        let maybe = current.is_none_or(|c| c.may_hold(key));
        if !maybe {
            self.absent.fetch_add(1, Ordering::Relaxed);
        }
        maybe
    }

    /// How many questions were answered "absent" (each a read spared).
    pub fn answered_absent(&self) -> u64 {
        self.absent.load(Ordering::Relaxed)
    }

    /// Starts a rebuild: from now on every added key also goes into the new filter. Call before
    /// the walk's iterator is made, so each key is either in the tree when the walk starts or
    /// added to the new filter.
    pub fn begin_rebuild(&self) -> Rebuild {
        let b = Arc::new(Bloom::new());
        self.filters().building = Some(b.clone());
        Rebuild(b)
    }

    /// The walk saw every key it kept: the new filter replaces the old one.
    pub fn finish_rebuild(&self, r: Rebuild) {
        let mut f = self.filters();
        if f.building.as_ref().is_some_and(|b| Arc::ptr_eq(b, &r.0)) {
            f.current = f.building.take();
        }
    }

    /// The walk failed: the old filter (if any) stays, still complete.
    pub fn abandon_rebuild(&self, r: Rebuild) {
        let mut f = self.filters();
        if f.building.as_ref().is_some_and(|b| Arc::ptr_eq(b, &r.0)) {
            f.building = None;
        }
    }

    /// Whether a rebuild has ended (the filter answers "absent" at all).
    pub fn is_complete(&self) -> bool {
        self.filters().current.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_nothing_until_a_rebuild_ends() {
        let k = KnownKeys::default();
        assert!(k.may_hold(b"anything"));
        k.add(b"a");
        let r = k.begin_rebuild();
        assert!(
            k.may_hold(b"anything"),
            "a rebuild in progress decides nothing"
        );
        r.add(b"kept");
        k.add(b"put meanwhile");
        k.finish_rebuild(r);
        assert!(k.is_complete());
        assert!(k.may_hold(b"kept"));
        assert!(k.may_hold(b"put meanwhile"));
        assert!(!k.may_hold(b"a"), "a key the walk did not keep is gone");
        assert!(!k.may_hold(b"never"));
    }

    #[test]
    fn an_abandoned_rebuild_keeps_the_old_filter() {
        let k = KnownKeys::default();
        let r = k.begin_rebuild();
        r.add(b"one");
        k.finish_rebuild(r);
        let r = k.begin_rebuild();
        k.add(b"two");
        k.abandon_rebuild(r);
        assert!(k.may_hold(b"one") && k.may_hold(b"two"));
        assert!(!k.may_hold(b"three"));
    }

    #[test]
    fn no_key_added_is_ever_absent_and_few_others_are_present() {
        let k = KnownKeys::default();
        let r = k.begin_rebuild();
        for i in 0..100_000u32 {
            r.add(format!("da:app:{i}").as_bytes());
        }
        k.finish_rebuild(r);
        for i in 0..100_000u32 {
            assert!(k.may_hold(format!("da:app:{i}").as_bytes()));
        }
        let false_maybe = (0..100_000u32)
            .filter(|i| k.may_hold(format!("other:{i}").as_bytes()))
            .count();
        // 100 k keys in 2^23 bits with 3 probes: ~0.004 % expected.
        assert!(false_maybe < 100, "{false_maybe} false maybes in 100 k");
    }
}
