//! Changes the log holds but the engine under it does not yet: what lets many changes go into
//! the engine as ONE transaction.
//!
//! A durable write used to commit its change into redb on its own (`Durability::None`, not on
//! disk): 39 % of the server's CPU under Gatepass Save, most of it redb's per-commit work
//! (README, fourteenth scale stop). Now `WalEngine::apply` only numbers the change, logs it and
//! adds it here; the flusher moves everything here into the engine in one transaction after it
//! has woken the writers (`WalEngine::drain`). Reads look here first: a key's newest value is
//! here while its change waits, and in the engine once it has gone in.
//!
//! Plain data, no locks: `WalEngine` holds it behind a `RwLock` and keeps the rules on when a
//! batch may go in and leave (store::wal, "drain").

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

use super::engine::Op;

/// For /metrics (`gatehouse_store_drains_total`, `…_drained_changes_total`,
/// `gatehouse_store_overlay_bytes`): per process, like `store::reads` (one store per server).
static DRAINS: AtomicU64 = AtomicU64::new(0);
static DRAINED_CHANGES: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// Drains so far, the changes they moved into the engine, and the bytes waiting now.
pub fn stats() -> (u64, u64, u64) {
    (
        DRAINS.load(Ordering::Relaxed),
        DRAINED_CHANGES.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    )
}

/// A change as the log numbered it.
pub type Change = (u64, Vec<Op>);

/// A key and its value in the overlay (`None`: removed).
pub type Slot = (Vec<u8>, Option<Vec<u8>>);

/// A key's newest value here and the change that wrote it (`None`: removed).
struct Entry {
    lsn: u64,
    value: Option<Vec<u8>>,
}

#[derive(Default)]
pub struct Overlay {
    /// Changes not yet taken by a drain, oldest first.
    changes: Vec<Change>,
    /// Every key of the changes still here (taken or not): tree → key → newest value.
    index: HashMap<String, BTreeMap<Vec<u8>, Entry>>,
    /// What the changes here hold in memory (`op_bytes`): what `WalEngine` bounds.
    bytes: usize,
}

/// What malloc (glibc's) takes for a `n`-byte allocation: a chunk of at least 32 bytes, its
/// 8-byte header included, rounded up to 16. An empty `Vec` allocates nothing. The lib tests'
/// counting allocator (`test_alloc`) takes allocations at the same size.
pub(crate) fn chunk(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ((n + 8 + 15) & !15).max(32)
    }
}

/// An index entry's share of its B-tree's nodes: its key and `Entry`, twice (a node is about
/// half full after splits, and the branch nodes over the leaves).
const INDEX_SLOT: usize = 2 * (size_of::<Vec<u8>>() + size_of::<Entry>());

/// An op's weight against the overlay's and a replay's byte bounds: what holding it takes in
/// malloc's chunks. The change keeps the `Op` and its tree name, key and value; the index a
/// second key and value and its slot. A schema step's ops are index entries of ~16 bytes: a
/// bound of key and value bytes alone let "8 MiB" hold 86 MiB (heaptrack), and a flat 160 bytes
/// per op still counted ~2/3 of what they hold (`overlay_tests`, the lib tests' allocator).
fn op_bytes(op: &Op) -> usize {
    let value = op.value.as_ref().map_or(0, |v| chunk(v.len()));
    size_of::<Op>() + chunk(op.tree.len()) + 2 * (chunk(op.key.len()) + value) + INDEX_SLOT
}

/// A change's weight: its ops', and its slot in the list of changes (which grows by doubling)
/// with its own allocation's header.
pub(super) fn change_bytes(ops: &[Op]) -> usize {
    2 * size_of::<Change>() + 16 + ops.iter().map(op_bytes).sum::<usize>()
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether no change waits to be taken (a drain would have nothing to do).
    pub fn nothing_to_take(&self) -> bool {
        self.changes.is_empty()
    }

    /// Adds change `lsn`, newer than every change here.
    pub fn add(&mut self, lsn: u64, ops: &[Op]) {
        self.bytes += change_bytes(ops);
        for op in ops {
            let tree = match self.index.get_mut(op.tree.as_str()) {
                Some(t) => t,
                None => self.index.entry(op.tree.clone()).or_default(),
            };
            tree.insert(
                op.key.clone(),
                Entry {
                    lsn,
                    value: op.value.clone(),
                },
            );
        }
        self.changes.push((lsn, ops.to_vec()));
        BYTES.store(self.bytes as u64, Ordering::Relaxed);
    }

    /// `Some(value)` when the key's newest value is here (`Some(None)`: removed); `None` when
    /// the engine holds it.
    pub fn get(&self, tree: &str, key: &[u8]) -> Option<Option<&[u8]>> {
        let e = self.index.get(tree)?.get(key)?;
        Some(e.value.as_deref())
    }

    pub fn trees(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// The keys of `tree` in `[start, end)` (`end` None: to the tree's end), copied in key
    /// order, removals included: a scan merges them over the engine's (`Merged`).
    pub fn range(&self, tree: &str, start: &[u8], end: Option<&[u8]>) -> Vec<Slot> {
        let Some(t) = self.index.get(tree) else {
            return Vec::new();
        };
        let hi = end.map_or(Bound::Unbounded, Bound::Excluded);
        if end.is_some_and(|e| e <= start) {
            return Vec::new();
        }
        t.range::<[u8], _>((Bound::Included(start), hi))
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }

    /// Every change not yet taken, oldest first, for one drain. Their keys stay readable here
    /// until `drained` (the engine may not show them yet) or `put_back` (it failed).
    pub fn take(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// A drain failed: its changes go back in front of the ones added meanwhile.
    pub fn put_back(&mut self, mut batch: Vec<Change>) {
        batch.append(&mut self.changes);
        self.changes = batch;
    }

    /// The engine now shows `batch`: its keys leave, unless a newer change wrote them again.
    pub fn drained(&mut self, batch: &[Change]) {
        let Some(top) = batch.last().map(|(lsn, _)| *lsn) else {
            return;
        };
        DRAINS.fetch_add(1, Ordering::Relaxed);
        DRAINED_CHANGES.fetch_add(batch.len() as u64, Ordering::Relaxed);
        for (_, ops) in batch {
            self.bytes = self.bytes.saturating_sub(change_bytes(ops));
            for op in ops {
                let Some(tree) = self.index.get_mut(op.tree.as_str()) else {
                    continue;
                };
                if tree.get(&op.key).is_some_and(|e| e.lsn <= top) {
                    tree.remove(&op.key);
                    if tree.is_empty() {
                        self.index.remove(op.tree.as_str());
                    }
                }
            }
        }
        BYTES.store(self.bytes as u64, Ordering::Relaxed);
    }
}

/// A scan of the engine with the overlay's copy of the same range laid over it: a key here
/// replaces the engine's, a removal hides it.
pub struct Merged<'a> {
    base: std::iter::Peekable<super::engine::KvIter<'a>>,
    over: std::iter::Peekable<std::vec::IntoIter<Slot>>,
    rev: bool,
}

impl<'a> Merged<'a> {
    /// `over` in key order; `rev`: both are walked from the top.
    pub fn new(base: super::engine::KvIter<'a>, mut over: Vec<Slot>, rev: bool) -> Self {
        if rev {
            over.reverse();
        }
        Self {
            base: base.peekable(),
            over: over.into_iter().peekable(),
            rev,
        }
    }
}

impl Iterator for Merged<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), super::StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering::*;
        loop {
            let order = match (self.base.peek(), self.over.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (Some(_), None) => return self.base.next(),
                (None, Some(_)) => Greater,
                (Some(Ok((b, _))), Some((o, _))) => {
                    let c = b.as_slice().cmp(o.as_slice());
                    if self.rev {
                        c.reverse()
                    } else {
                        c
                    }
                }
            };
            match order {
                Less => return self.base.next(),
                Equal | Greater => {
                    if order == Equal {
                        self.base.next();
                    }
                    let (k, v) = self.over.next().expect("peeked");
                    if let Some(v) = v {
                        return Some(Ok((k, v)));
                    }
                }
            }
        }
    }
}
