//! A count of the records read from the store (`gatehouse_store_records_read_total` in
//! /metrics), so "this request reads O(page), not O(rows)" can be checked from outside: every
//! `get` that finds a value and every key a scan yields adds one. The engine every `Store` uses
//! is wrapped in `Counted`, so services that reach the engine directly are counted too.
//!
//! One relaxed atomic add per record: cheap next to a sled lookup. The count is per process
//! (one store per server process).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::engine::{Engine, KvIter, Op};
use super::StoreError;

static RECORDS_READ: AtomicU64 = AtomicU64::new(0);

/// Records read since the process started.
pub fn total() -> u64 {
    RECORDS_READ.load(Ordering::Relaxed)
}

fn add(n: u64) {
    RECORDS_READ.fetch_add(n, Ordering::Relaxed);
}

/// An engine that counts what is read through it.
pub struct Counted(pub Arc<dyn Engine>);

fn counted(it: KvIter<'_>) -> KvIter<'_> {
    Box::new(it.inspect(|r| {
        if r.is_ok() {
            add(1)
        }
    }))
}

impl Engine for Counted {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let v = self.0.get(tree, key)?;
        if v.is_some() {
            add(1);
        }
        Ok(v)
    }
    fn get_many(&self, tree: &str, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let v = self.0.get_many(tree, keys)?;
        add(v.iter().filter(|v| v.is_some()).count() as u64);
        Ok(v)
    }
    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(counted(self.0.scan(tree, prefix)?))
    }
    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(counted(self.0.scan_rev(tree, prefix)?))
    }
    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(counted(self.0.range(tree, start, end)?))
    }
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        self.0.apply(ops)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.0.flush()
    }
    fn tree_names(&self) -> Vec<String> {
        self.0.tree_names()
    }
    fn size_on_disk(&self) -> u64 {
        self.0.size_on_disk()
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        self.0.checkpoint()
    }

    fn drain(&self) -> Result<(), StoreError> {
        self.0.drain()
    }
}
