//! The narrow storage trait and its sled implementation.
//!
//! Everything above this file talks to `dyn Engine`, so another embedded engine could replace sled
//! (DESIGN.md §2 lists sled's known risks) without touching services.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::StoreError;

/// One pending change: `value: None` removes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub tree: String,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

pub type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + Send + 'a>;

pub trait Engine: Send + Sync + 'static {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keys starting with `prefix`, in key order.
    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError>;
    /// Keys in `[start, end)`, in key order.
    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError>;
    /// Applies every op or none (one transaction across the trees involved).
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError>;
    /// Makes everything applied so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    fn tree_names(&self) -> Vec<String>;
    fn size_on_disk(&self) -> u64;
}

pub struct SledEngine {
    db: sled::Db,
    trees: RwLock<HashMap<String, sled::Tree>>,
    /// fdatasync of sled's files after each flush (power loss, see `store::sync`).
    sync: Option<super::sync::FileSync>,
}

impl SledEngine {
    pub fn open(dir: &std::path::Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            // We flush explicitly before acknowledging (group commit); the background flush
            // only bounds what an un-acknowledged write could lose.
            .flush_every_ms(Some(1000))
            .mode(sled::Mode::LowSpace);
        // sled releases its file lock a moment after the last handle is dropped (its own
        // threads wind down), so a reopen right after a close — restore, a restart — may find
        // it still held. Wait briefly instead of failing; a lock held by a live server stays
        // an error.
        let mut attempts = 0;
        loop {
            match config.open() {
                Ok(db) => {
                    let sync = super::sync::FileSync::open(dir)?;
                    return Ok(Self {
                        db,
                        trees: RwLock::new(HashMap::new()),
                        sync,
                    });
                }
                Err(e) if attempts < 60 && e.to_string().contains("could not acquire lock") => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(StoreError::Open(format!("{}: {e}", dir.display()))),
            }
        }
    }

    fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        if let Some(t) = self.trees.read().expect("tree cache poisoned").get(name) {
            return Ok(t.clone());
        }
        let t = self.db.open_tree(name)?;
        self.trees
            .write()
            .expect("tree cache poisoned")
            .insert(name.to_string(), t.clone());
        Ok(t)
    }
}

fn iter_of(it: sled::Iter) -> KvIter<'static> {
    Box::new(it.map(|r| {
        r.map(|(k, v)| (k.to_vec(), v.to_vec()))
            .map_err(StoreError::from)
    }))
}

impl Engine for SledEngine {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(tree)?.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(iter_of(self.tree(tree)?.scan_prefix(prefix)))
    }

    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(iter_of(
            self.tree(tree)?.range(start.to_vec()..end.to_vec()),
        ))
    }

    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        if let [op] = ops {
            // One key: sled's plain insert/remove is atomic and takes only a shared lock, where
            // a batch or a transaction takes sled's exclusive concurrency-control lock.
            let t = self.tree(&op.tree)?;
            match &op.value {
                Some(v) => t.insert(op.key.as_slice(), v.as_slice())?,
                None => t.remove(op.key.as_slice())?,
            };
            return Ok(());
        }
        // Group ops by tree; one sled transaction over all involved trees.
        let mut by_tree: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
        for op in ops {
            by_tree.entry(op.tree.as_str()).or_default().push(op);
        }
        let names: Vec<&str> = by_tree.keys().copied().collect();
        let trees = names
            .iter()
            .map(|n| self.tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        if trees.len() == 1 {
            // A single-tree change is atomic as a sled batch, and much cheaper than a transaction.
            let mut batch = sled::Batch::default();
            for op in &by_tree[names[0]] {
                match &op.value {
                    Some(v) => batch.insert(op.key.as_slice(), v.as_slice()),
                    None => batch.remove(op.key.as_slice()),
                }
            }
            trees[0].apply_batch(batch)?;
            return Ok(());
        }
        let refs: Vec<&sled::Tree> = trees.iter().collect();
        use sled::Transactional;
        refs.as_slice()
            .transaction(|txs| {
                for (i, name) in names.iter().enumerate() {
                    for op in &by_tree[name] {
                        match &op.value {
                            Some(v) => {
                                txs[i].insert(op.key.as_slice(), v.as_slice())?;
                            }
                            None => {
                                txs[i].remove(op.key.as_slice())?;
                            }
                        }
                    }
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Engine(format!("transaction: {e:?}")))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        if let Some(sync) = &self.sync {
            sync.after_flush()?;
        }
        Ok(())
    }

    fn tree_names(&self) -> Vec<String> {
        self.db
            .tree_names()
            .into_iter()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .filter(|n| n != "__sled__default")
            .collect()
    }

    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Engine(e.to_string())
    }
}
