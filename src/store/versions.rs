//! Data versions: a counter per tree (hashed into a fixed set of slots), bumped after each
//! apply. A reader takes the version of the trees it reads *before* reading, so an answer
//! rendered from data that changed meanwhile is filed under a version nobody asks for again:
//! a shared answer can be needlessly re-rendered, never served stale. A slot collision only
//! costs an extra invalidation.

use std::sync::atomic::{AtomicU64, Ordering};

const SLOTS: usize = 64;

pub struct Versions([AtomicU64; SLOTS]);

impl Default for Versions {
    fn default() -> Self {
        Self(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

fn slot(tree: &str) -> usize {
    // FNV-1a: stable, cheap, good enough to spread a few dozen tree names.
    let mut h: u32 = 0x811c_9dc5;
    for b in tree.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h as usize % SLOTS
}

impl Versions {
    pub fn bump<'a>(&self, trees: impl Iterator<Item = &'a str>) {
        let mut seen = 0u64;
        for t in trees {
            let s = slot(t);
            if seen & (1 << s) == 0 {
                seen |= 1 << s;
                self.0[s].fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Sum of the trees' slots (each slot only grows, so any write changes the sum).
    pub fn of(&self, trees: &[&str]) -> u64 {
        let mut seen = 0u64;
        let mut sum = 0u64;
        for t in trees {
            let s = slot(t);
            if seen & (1 << s) == 0 {
                seen |= 1 << s;
                sum = sum.wrapping_add(self.0[s].load(Ordering::Acquire));
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_to_any_tree_read_changes_the_version() {
        let v = Versions::default();
        let a = v.of(&["labourers", "firms"]);
        v.bump(["sessions"].into_iter());
        let b = v.of(&["labourers", "firms"]);
        v.bump(["firms", "firms"].into_iter());
        let c = v.of(&["labourers", "firms"]);
        assert!(c > b && b >= a);
        assert_ne!(v.of(&["firms"]), 0);
    }
}
