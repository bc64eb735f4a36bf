//! The narrow storage trait and its sled implementation.
//!
//! Everything above this file talks to `dyn Engine`, so another embedded engine could replace sled
//! (DESIGN.md §2 lists sled's known risks) without touching services.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

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
    /// The values of `keys` in one tree, in their order: a page of a list read together (redb:
    /// one read transaction, which is half the cost of a lone `get`).
    fn get_many(&self, tree: &str, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| self.get(tree, k)).collect()
    }
    /// Keys starting with `prefix`, in key order.
    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError>;
    /// Keys starting with `prefix`, newest-first lists' order: reverse key order.
    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError>;
    /// Keys in `[start, end)`, in key order.
    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError>;
    /// Applies every op or none (one transaction across the trees involved).
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError>;
    /// Makes everything applied so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    fn tree_names(&self) -> Vec<String>;
    fn size_on_disk(&self) -> u64;
    /// Bounds the next start's recovery: makes everything durable and records where recovery
    /// may begin. No default: a wrapper must pass it on.
    fn checkpoint(&self) -> Result<(), StoreError>;
    /// Moves changes an engine holds in memory in front of its own store into it (the log's
    /// overlay, `store::wal`). The flusher calls it after waking the writers it made durable.
    fn drain(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The smallest key above every key starting with `prefix` (None: there is none).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

pub struct SledEngine {
    dir: std::path::PathBuf,
    cache_bytes: u64,
    /// None only while the database is being reopened after a storage fault.
    open: RwLock<Option<Arc<OpenDb>>>,
    /// Set when sled hit a storage fault (disk full, read-only): sled 0.34 then refuses every
    /// later write for the life of the handle (its global error), even once space returns. So
    /// the database is reopened — at most every `REOPEN_EVERY` — until a reopen succeeds.
    faulted: Mutex<Option<Instant>>,
    /// `faulted.is_some()`, readable without the lock on every operation.
    faulted_flag: std::sync::atomic::AtomicBool,
    /// Bumped by every reopen: sled's unflushed changes are then gone, and `store::wal` applies
    /// its log again.
    generation: std::sync::atomic::AtomicU64,
}

const REOPEN_EVERY: Duration = Duration::from_secs(1);

struct OpenDb {
    db: sled::Db,
    trees: RwLock<HashMap<String, sled::Tree>>,
    /// fdatasync of sled's files after each flush (power loss, see `store::sync`).
    sync: Option<super::sync::FileSync>,
}

impl SledEngine {
    pub fn open(dir: &std::path::Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = Self::open_db(dir, cache_bytes)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cache_bytes,
            open: RwLock::new(Some(Arc::new(db))),
            faulted: Mutex::new(None),
            faulted_flag: std::sync::atomic::AtomicBool::new(false),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn open_db(dir: &std::path::Path, cache_bytes: u64) -> Result<OpenDb, StoreError> {
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
                    return Ok(OpenDb {
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

    /// The open database, reopening it first if a storage fault poisoned it and it is time
    /// to try again.
    fn db(&self) -> Result<Arc<OpenDb>, StoreError> {
        self.maybe_reopen();
        self.open
            .read()
            .expect("engine state poisoned")
            .clone()
            .ok_or_else(|| {
                let fault = super::fault::current()
                    .map(|(f, _)| f)
                    .unwrap_or(super::fault::Fault::Full);
                StoreError::Engine(format!("{} (store reopening)", fault.describe()))
            })
    }

    /// Keeps the error; marks the engine for a reopen when it is a storage fault.
    fn failed(&self, e: StoreError) -> StoreError {
        if super::fault::note(&e.to_string()).is_some() {
            let mut f = self.faulted.lock().expect("engine fault state poisoned");
            if f.is_none() {
                *f = Some(Instant::now());
                self.faulted_flag
                    .store(true, std::sync::atomic::Ordering::Release);
            }
        }
        e
    }

    fn maybe_reopen(&self) {
        if !self.faulted_flag.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        {
            let mut f = self.faulted.lock().expect("engine fault state poisoned");
            match *f {
                Some(at) if at.elapsed() >= REOPEN_EVERY => *f = Some(Instant::now()),
                _ => return,
            }
        }
        // Reopening replays sled's log (seconds on a big store) while every reader waits:
        // only once a probe write shows the directory takes writes again.
        if let Err(e) = probe_write(&self.dir) {
            tracing::debug!(error = %e, "storage still refuses writes; store not reopened yet");
            return;
        }
        if self.swap_reopen().is_ok() {
            tracing::warn!(dir = %self.dir.display(), "store reopened after a storage fault");
        }
    }

    /// Closes sled and opens it again. sled 0.34 writes its recovery snapshot (the page table
    /// and the log position to replay from) only when it opens, and replays its whole log since
    /// the last snapshot on the next open: on a box that runs for months that is every write
    /// since the last start. A reopen moves the snapshot up. Every reader waits meanwhile.
    /// On failure the engine stays marked faulted, so `maybe_reopen` keeps trying.
    fn swap_reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.open.write().expect("engine state poisoned");
        if let Some(old) = slot.take() {
            // Wait for readers still holding the old handle (sled's lock goes with it).
            let weak = Arc::downgrade(&old);
            drop(old);
            let deadline = Instant::now() + Duration::from_secs(5);
            while weak.strong_count() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        match Self::open_db(&self.dir, self.cache_bytes) {
            Ok(db) => {
                *slot = Some(Arc::new(db));
                self.generation
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                *self.faulted.lock().expect("engine fault state poisoned") = None;
                self.faulted_flag
                    .store(false, std::sync::atomic::Ordering::Release);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "store reopen failed; retrying");
                *self.faulted.lock().expect("engine fault state poisoned") = Some(Instant::now());
                self.faulted_flag
                    .store(true, std::sync::atomic::Ordering::Release);
                Err(e)
            }
        }
    }
}

/// Writes, syncs and removes a small file in `dir`: Ok when the filesystem has room and is
/// writable.
fn probe_write(dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(".write-probe");
    let written = (|| {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&[0u8; 256 << 10])?;
        f.sync_data()
    })();
    let _ = std::fs::remove_file(&path);
    written
}

impl OpenDb {
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

fn iter_of(
    it: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>> + Send + 'static,
) -> KvIter<'static> {
    Box::new(it.map(|r| {
        r.map(|(k, v)| (k.to_vec(), v.to_vec()))
            .map_err(StoreError::from)
    }))
}

impl Engine for SledEngine {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.db()?;
        Ok(db.tree(tree)?.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(iter_of(self.db()?.tree(tree)?.scan_prefix(prefix)))
    }

    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(iter_of(self.db()?.tree(tree)?.scan_prefix(prefix).rev()))
    }

    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError> {
        Ok(iter_of(
            self.db()?.tree(tree)?.range(start.to_vec()..end.to_vec()),
        ))
    }

    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let db = self.db()?;
        apply_ops(&db, ops, None).map_err(|e| self.failed(e))?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        let flushed = db
            .db
            .flush()
            .map_err(StoreError::from)
            .and_then(|_| match &db.sync {
                Some(sync) => sync.after_flush(),
                None => Ok(()),
            });
        match flushed {
            Ok(()) => {
                super::fault::clear();
                Ok(())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    fn tree_names(&self) -> Vec<String> {
        let Ok(db) = self.db() else {
            return Vec::new();
        };
        db.db
            .tree_names()
            .into_iter()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .filter(|n| n != "__sled__default" && n != super::wal::META_TREE)
            .collect()
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        self.flush()?;
        self.swap_reopen()
    }

    fn size_on_disk(&self) -> u64 {
        self.db()
            .ok()
            .and_then(|db| db.db.size_on_disk().ok())
            .unwrap_or(0)
    }
}

impl SledEngine {
    /// Applies `ops` one by one, each a plain insert or remove: no sled batch or transaction,
    /// which would make sled seal and write its log buffer (`pin_log`), a synchronous write and
    /// `sync_file_range` on its IO thread for every commit. Atomicity is then the caller's
    /// (`store::wal`). Stops at the first failure and returns how many ops were applied.
    pub fn apply_each<'a>(
        &self,
        ops: impl IntoIterator<Item = &'a Op>,
    ) -> Result<(), (usize, StoreError)> {
        let db = self.db().map_err(|e| (0, e))?;
        let mut last: Option<(&str, sled::Tree)> = None;
        for (i, op) in ops.into_iter().enumerate() {
            let t = match &last {
                Some((name, t)) if *name == op.tree => t.clone(),
                _ => {
                    let t = db.tree(&op.tree).map_err(|e| (i, self.failed(e)))?;
                    last = Some((op.tree.as_str(), t.clone()));
                    t
                }
            };
            let r = match &op.value {
                Some(v) => t.insert(op.key.as_slice(), v.as_slice()).map(|_| ()),
                None => t.remove(op.key.as_slice()).map(|_| ()),
            };
            r.map_err(|e| (i, self.failed(e.into())))?;
        }
        Ok(())
    }
}

impl SledEngine {
    /// How many times the database was reopened after a storage fault.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// `ops` and then `extra`, all or nothing (one sled batch or transaction).
    pub fn apply_atomic(&self, ops: &[Op], extra: &Op) -> Result<(), StoreError> {
        let db = self.db()?;
        apply_ops(&db, ops, Some(extra)).map_err(|e| self.failed(e))
    }
}

fn apply_ops(db: &OpenDb, ops: &[Op], extra: Option<&Op>) -> Result<(), StoreError> {
    if let ([op], None) = (ops, extra) {
        // One key: sled's plain insert/remove is atomic and takes only a shared lock, where
        // a batch or a transaction takes sled's exclusive concurrency-control lock.
        let t = db.tree(&op.tree)?;
        match &op.value {
            Some(v) => t.insert(op.key.as_slice(), v.as_slice())?,
            None => t.remove(op.key.as_slice())?,
        };
        return Ok(());
    }
    // Group ops by tree; one sled transaction over all involved trees.
    let mut by_tree: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in ops.iter().chain(extra) {
        by_tree.entry(op.tree.as_str()).or_default().push(op);
    }
    let names: Vec<&str> = by_tree.keys().copied().collect();
    let trees = names
        .iter()
        .map(|n| db.tree(n))
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

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Engine(e.to_string())
    }
}
