//! Data versions: a counter per tree, bumped after each apply. A reader takes the version of
//! the trees it reads *before* reading, so an answer rendered from data that changed meanwhile
//! is filed under a version nobody asks for again: a shared answer (or a cached sign-in
//! record) can be needlessly re-read, never served stale.
//!
//! One counter per tree name, not per hashed slot: with ~100 trees, 64 slots put the punches,
//! the tokens and the users in one slot, so every Clock In threw away every cached sign-in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub struct Versions(RwLock<HashMap<Box<str>, Arc<AtomicU64>>>);

impl Versions {
    pub fn bump<'a>(&self, trees: impl Iterator<Item = &'a str>) {
        let mut last: Option<&str> = None;
        for t in trees {
            // Ops come grouped by tree (a Tx's staged map is ordered): skip repeats cheaply.
            if last == Some(t) {
                continue;
            }
            last = Some(t);
            let known = self
                .0
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(t)
                .cloned();
            let counter = match known {
                Some(c) => c,
                None => self
                    .0
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(t.into())
                    .or_default()
                    .clone(),
            };
            counter.fetch_add(1, Ordering::Release);
        }
    }

    /// Sum of the trees' counters (each only grows, so any write to any of them changes the
    /// sum; a tree never written counts 0).
    pub fn of(&self, trees: &[&str]) -> u64 {
        let map = self.0.read().unwrap_or_else(|p| p.into_inner());
        trees.iter().fold(0u64, |sum, t| {
            sum.wrapping_add(map.get(*t).map_or(0, |c| c.load(Ordering::Acquire)))
        })
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

    #[test]
    fn a_write_to_another_tree_leaves_the_version_alone() {
        // These three shared one hashed slot before: a Clock In (punches) dropped every
        // cached token and user.
        let v = Versions::default();
        let before = v.of(&["tokens"]);
        v.bump(["punches", "users", "work_tasks_by_assignee", "outbox"].into_iter());
        assert_eq!(v.of(&["tokens"]), before);
        assert_ne!(v.of(&["users"]), 0);
        v.bump(["tokens"].into_iter());
        assert_ne!(v.of(&["tokens"]), before);
    }
}
