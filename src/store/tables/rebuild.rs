//! What a schema step writes for the records that predate a new index or counter: index
//! entries and counter values, applied in batches so a migration never holds a whole tree's
//! entries in memory. Every op is an absolute put, so a step cut short is simply run again.

use std::collections::BTreeMap;

use crate::store::{codec, counters::Counter, Op, Record, Result, Store};

/// Ops applied together (one sled transaction each).
const BATCH: usize = 4096;

pub struct Rebuild<'a> {
    store: &'a Store,
    ops: Vec<Op>,
}

impl<'a> Rebuild<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            ops: Vec::new(),
        }
    }

    /// One record.
    pub fn put<R: Record>(&mut self, key: &[u8], value: &R) -> Result<()> {
        self.push(Op {
            tree: R::TREE.into(),
            key: key.to_vec(),
            value: Some(codec::encode(value)),
        })
    }

    /// One index entry of `tree`.
    pub fn index(&mut self, tree: &str, key: Vec<u8>) -> Result<()> {
        self.push(Op {
            tree: tree.into(),
            key,
            value: Some(codec::INDEX_VALUE.to_vec()),
        })
    }

    /// One entry of `tree` removed (an index a schema step replaces).
    pub fn remove(&mut self, tree: &str, key: Vec<u8>) -> Result<()> {
        self.push(Op {
            tree: tree.into(),
            key,
            value: None,
        })
    }

    /// Each counter set to its count.
    pub fn counters(&mut self, counts: BTreeMap<String, u64>) -> Result<()> {
        for (k, n) in counts {
            self.push(Op {
                tree: Counter::TREE.into(),
                key: k.into_bytes(),
                value: Some(codec::encode(&Counter { n })),
            })?;
        }
        Ok(())
    }

    /// Applies what is left.
    pub fn finish(self) -> Result<()> {
        self.store.apply(&self.ops)
    }

    fn push(&mut self, op: Op) -> Result<()> {
        self.ops.push(op);
        if self.ops.len() >= BATCH {
            self.store.apply(&std::mem::take(&mut self.ops))?;
        }
        Ok(())
    }
}
