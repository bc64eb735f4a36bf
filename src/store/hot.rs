//! Decoded records of the few trees every request reads to sign its caller in (tokens, users,
//! client apps, handheld sessions and devices), and the employee and shift every attendance
//! request of the app reads, and the schema record /healthz reads, kept between requests. An
//! entry is served only
//! while its tree's data version (`versions`) is the one taken before the record was read, so
//! a write to that tree — a revocation, a deactivated user, a new token — is seen by the next
//! request, as without the cache; a tree's write only costs its entries a re-read.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

/// Enough for every signed-in handheld, employee and client of an estate; past it the cache
/// starts over (bounded memory, at worst the reads it saved).
const MAX_ENTRIES: usize = 4096;

struct Entry {
    tree: &'static str,
    key: Box<[u8]>,
    version: u64,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub struct HotCache {
    hasher: RandomState,
    map: Mutex<HashMap<u64, Entry>>,
}

impl HotCache {
    fn slot(&self, tree: &str, key: &[u8]) -> u64 {
        self.hasher.hash_one((tree, key))
    }

    /// The record cached for `key` if it was read at data version `version`: the cached record
    /// itself, shared (an employee carries its pay and leave history, too big to copy per
    /// request; `Store::get_hot` copies the small ones out).
    pub fn get<R: Send + Sync + 'static>(
        &self,
        tree: &str,
        key: &[u8],
        version: u64,
    ) -> Option<Arc<R>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(&self.slot(tree, key))?;
        if e.version != version || e.tree != tree || *e.key != *key {
            return None;
        }
        e.value.clone().downcast::<R>().ok()
    }

    /// Keeps `value`, read after taking data version `version`.
    pub fn put<R: Send + Sync + 'static>(
        &self,
        tree: &'static str,
        key: &[u8],
        version: u64,
        value: Arc<R>,
    ) {
        let slot = self.slot(tree, key);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES && !map.contains_key(&slot) {
            map.clear();
        }
        map.insert(
            slot,
            Entry {
                tree,
                key: key.into(),
                version,
                value,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_at_its_version_and_key() {
        let c = HotCache::default();
        c.put("tokens", b"a", 7, Arc::new(String::from("first")));
        assert_eq!(
            c.get::<String>("tokens", b"a", 7)
                .as_deref()
                .map(String::as_str),
            Some("first")
        );
        assert_eq!(c.get::<String>("tokens", b"a", 8), None);
        assert_eq!(c.get::<String>("tokens", b"b", 7), None);
        assert_eq!(c.get::<String>("users", b"a", 7), None);
        // Another type under the same key is a miss, not a wrong answer.
        assert_eq!(c.get::<u32>("tokens", b"a", 7), None);
        c.put("tokens", b"a", 8, Arc::new(String::from("second")));
        assert_eq!(c.get::<String>("tokens", b"a", 7), None);
        assert_eq!(
            c.get::<String>("tokens", b"a", 8)
                .as_deref()
                .map(String::as_str),
            Some("second")
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = HotCache::default();
        for i in 0..(MAX_ENTRIES as u32 * 3) {
            c.put("tokens", &i.to_be_bytes(), 1, Arc::new(i));
            assert!(c.len() <= MAX_ENTRIES);
        }
        let last = MAX_ENTRIES as u32 * 3 - 1;
        assert_eq!(
            c.get::<u32>("tokens", &last.to_be_bytes(), 1).as_deref(),
            Some(&last)
        );
    }
}
