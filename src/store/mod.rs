//! Storage: sled behind the `Engine` trait, typed records, one serialized write path with
//! atomic multi-tree commits, group-committed durability, idempotency records, blobs on disk,
//! backup/restore and `check`.
//!
//! The write path: `Store::begin()` takes the writer lock and returns a `Tx`; a service reads,
//! decides, stages puts/deletes on the `Tx`; `Tx::commit()` applies them in one transaction,
//! releases the lock, and waits for the shared flush. Reads never take the lock.

pub mod backup;
pub mod blobs;
pub mod codec;
pub mod commit;
pub mod counters;
pub mod engine;
pub mod fault;
pub mod hot;
pub mod idempotency;
pub mod known_keys;
pub mod migrate_sled;
pub mod outbox;
pub mod overlay;
pub mod reads;
pub mod redb_engine;
pub mod schema;
pub mod sync;
pub mod tables;
pub mod versions;
pub mod wal;
pub mod wal_sled;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

pub use blobs::{BlobId, Blobs};
pub use codec::Record;
pub use engine::{Engine, KvIter, Op, SledEngine};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store: {0}")]
    Open(String),
    #[error("storage engine: {0}")]
    Engine(String),
    #[error("undecodable value: {0}")]
    Decode(String),
    #[error("{0}")]
    Schema(String),
    #[error("i/o: {0}")]
    Io(String),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store's directory under the state directory: redb's file and the log.
pub const STORE_DIR: &str = "store";

/// A free name under `state_dir` for a store set aside (a restore's, a moved sled store):
/// `<prefix>-<UTC time>`, then `-2`, `-3`… when two fall in one second (none replaces another).
pub(crate) fn aside_path(state_dir: &Path, prefix: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
    let mut path = state_dir.join(format!("{prefix}-{stamp}"));
    let mut n = 2;
    while path.exists() {
        path = state_dir.join(format!("{prefix}-{stamp}-{n}"));
        n += 1;
    }
    path
}

pub struct StoreOptions {
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 64 << 20,
        }
    }
}

struct Inner {
    engine: Arc<dyn Engine>,
    commit: commit::GroupCommit,
    writer: Arc<Mutex<()>>,
    blobs: Blobs,
    dir: PathBuf,
    /// Data versions per tree, bumped after every apply: shared answers (service::answers)
    /// and hot records (`get_hot`) are keyed by the versions of the trees they read.
    versions: versions::Versions,
    /// Decoded sign-in records, good while their tree's version holds (see `get_hot`).
    hot: hot::HotCache,
    /// The keys the idempotency tree may hold (see `known_keys`).
    idempotency_keys: known_keys::KnownKeys,
}

/// Cheap to clone; every clone is the same store.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

impl Store {
    /// Opens (or creates) the store under `state_dir`, and brings its schema up to date.
    pub fn open(state_dir: &Path, opts: StoreOptions) -> Result<Self> {
        std::fs::create_dir_all(state_dir)
            .map_err(|e| StoreError::Open(format!("{}: {e}", state_dir.display())))?;
        let dir = state_dir.join(STORE_DIR);
        migrate_sled::run(state_dir, &dir, opts.cache_bytes)?;
        let redb = Arc::new(redb_engine::RedbEngine::open(&dir, opts.cache_bytes)?);
        let engine: Arc<dyn Engine> = Arc::new(wal::WalEngine::open(redb, &dir.join("wal"))?);
        let store = Self::with_engine(engine, state_dir)?;
        schema::migrate(&store)?;
        Ok(store)
    }

    /// Bytes the store's files hold under `state_dir` (a sled store not moved yet counted the
    /// same; 0 for a new state): what the cache is sized from before the store is opened
    /// (`Config::cache_bytes_for`).
    pub fn db_bytes(state_dir: &Path) -> u64 {
        fn walk(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&state_dir.join(STORE_DIR)) + walk(&state_dir.join("db"))
    }

    /// Whether `state_dir` holds a store (this release's, or a sled store it will move).
    pub fn exists(state_dir: &Path) -> bool {
        state_dir.join(STORE_DIR).join(redb_engine::FILE).exists()
            || migrate_sled::pending(state_dir)
    }

    pub fn with_engine(engine: Arc<dyn Engine>, state_dir: &Path) -> Result<Self> {
        // Every read is counted (/metrics: gatehouse_store_records_read_total).
        let engine: Arc<dyn Engine> = Arc::new(reads::Counted(engine));
        let blobs = Blobs::open(&state_dir.join("blobs"))?;
        let commit = commit::GroupCommit::start(engine.clone());
        Ok(Self(Arc::new(Inner {
            engine,
            commit,
            writer: Arc::new(Mutex::new(())),
            blobs,
            dir: state_dir.to_path_buf(),
            versions: versions::Versions::default(),
            hot: hot::HotCache::default(),
            idempotency_keys: known_keys::KnownKeys::default(),
        })))
    }

    pub fn engine(&self) -> &dyn Engine {
        self.0.engine.as_ref()
    }

    pub fn blobs(&self) -> &Blobs {
        &self.0.blobs
    }

    pub fn state_dir(&self) -> &Path {
        &self.0.dir
    }

    /// Idempotency looks answered "new" without a read (see `known_keys`).
    pub fn idempotency_known_new(&self) -> u64 {
        self.0.idempotency_keys.answered_absent()
    }

    pub fn flush_stats(&self) -> &commit::FlushStats {
        &self.0.commit.stats
    }

    pub fn get<R: Record>(&self, key: &[u8]) -> Result<Option<R>> {
        self.0
            .engine
            .get(R::TREE, key)?
            .map(|v| codec::decode::<R>(&v))
            .transpose()
    }

    /// `get` of many keys of one tree, read together (`Engine::get_many`): a page of a list.
    pub fn get_many<R: Record>(&self, keys: &[&[u8]]) -> Result<Vec<Option<R>>> {
        self.0
            .engine
            .get_many(R::TREE, keys)?
            .into_iter()
            .map(|v| v.map(|v| codec::decode::<R>(&v)).transpose())
            .collect()
    }

    /// `get` through the cache of hot records (`hot`): for the small trees every request reads
    /// to sign its caller in. A copy of the cached record (`get_shared` for big ones).
    pub fn get_hot<R: Record + Clone + 'static>(&self, key: &[u8]) -> Result<Option<R>> {
        Ok(self.get_shared::<R>(key)?.map(|r| R::clone(&r)))
    }

    /// `get` through the cache of hot records, the cached record itself, shared. The version is
    /// taken before the read, so a record read while its tree was written is filed under a
    /// version nobody asks for again.
    pub fn get_shared<R: Record + 'static>(&self, key: &[u8]) -> Result<Option<Arc<R>>> {
        let version = self.0.versions.of(&[R::TREE]);
        if let Some(r) = self.0.hot.get::<R>(R::TREE, key, version) {
            return Ok(Some(r));
        }
        let Some(r) = self.get::<R>(key)? else {
            return Ok(None);
        };
        let r = Arc::new(r);
        self.0.hot.put(R::TREE, key, version, r.clone());
        Ok(Some(r))
    }

    /// Every record of a small tree (one whose size is capped on write), read whole once per
    /// data version and shared through the cache of hot records: the allowed locations every
    /// punch checks. A write to the tree makes the next call read it again.
    pub fn all_shared<R: Record + Send + Sync + 'static>(&self) -> Result<Arc<Vec<R>>> {
        // No record has an empty key, and the entry holds a `Vec<R>`, never an `R`.
        const WHOLE_TREE: &[u8] = b"";
        let version = self.0.versions.of(&[R::TREE]);
        if let Some(all) = self.0.hot.get::<Vec<R>>(R::TREE, WHOLE_TREE, version) {
            return Ok(all);
        }
        let all = Arc::new(
            self.scan_iter::<R>(b"")?
                .map(|r| r.map(|(_, v)| v))
                .collect::<Result<Vec<R>>>()?,
        );
        self.0.hot.put(R::TREE, WHOLE_TREE, version, all.clone());
        Ok(all)
    }

    /// Every record whose key starts with `prefix`, in key order.
    pub fn scan<R: Record>(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, R)>> {
        self.scan_iter::<R>(prefix)?.collect()
    }

    pub fn scan_iter<R: Record>(
        &self,
        prefix: &[u8],
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, R)>> + '_> {
        Ok(self.0.engine.scan(R::TREE, prefix)?.map(|r| {
            let (k, v) = r?;
            Ok((k, codec::decode::<R>(&v)?))
        }))
    }

    /// At most `limit` records from key `start` on, in key order: one page of an admin list.
    pub fn page<R: Record>(&self, start: &[u8], limit: usize) -> Result<Vec<R>> {
        let mut out = Vec::with_capacity(limit.min(256));
        for item in self.0.engine.range(R::TREE, start, &[0xff; 64])? {
            if out.len() >= limit {
                break;
            }
            out.push(codec::decode::<R>(&item?.1)?);
        }
        Ok(out)
    }

    /// Primary keys listed under `prefix` in an index tree (key = prefix ++ primary key).
    pub fn index_keys(&self, index_tree: &str, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.0
            .engine
            .scan(index_tree, prefix)?
            .map(|r| r.map(|(k, _)| k[prefix.len()..].to_vec()))
            .collect()
    }

    /// Primary keys listed under `prefix` in an index tree, in reverse key order, read as the
    /// caller goes (a newest-first list that stops at its limit reads no further).
    pub fn index_keys_rev<'a>(
        &'a self,
        index_tree: &str,
        prefix: &'a [u8],
    ) -> Result<impl Iterator<Item = Result<Vec<u8>>> + 'a> {
        Ok(self
            .0
            .engine
            .scan_rev(index_tree, prefix)?
            .map(move |r| r.map(|(k, _)| k[prefix.len()..].to_vec())))
    }

    /// Takes the writer lock. Hold it only for reads-then-writes, never across slow I/O.
    pub async fn begin(&self) -> Tx {
        let guard = self.0.writer.clone().lock_owned().await;
        Tx {
            store: self.clone(),
            _guard: guard,
            pending: HashMap::new(),
            undo: None,
        }
    }

    /// Waits until everything applied so far is durable (shared flush).
    pub async fn durable(&self) -> Result<()> {
        self.0.commit.durable().await
    }

    /// Applies ops directly, outside a Tx; for maintenance (sweeps, restore).
    pub fn apply(&self, ops: &[Op]) -> Result<()> {
        let applied = self.0.engine.apply(ops);
        // Even after a failed apply: part of it may be in the tree.
        self.note_idempotency_keys(ops);
        applied?;
        self.0.versions.bump(ops.iter().map(|o| o.tree.as_str()));
        Ok(())
    }

    /// Adds the idempotency keys `ops` put to the filter of known keys, once they were applied
    /// (so a rebuild that began before either sees them in the tree or gets them here).
    fn note_idempotency_keys(&self, ops: &[Op]) {
        for op in ops {
            if op.value.is_some() && op.tree == idempotency::IdempotencyRecord::TREE {
                self.0.idempotency_keys.add(&op.key);
            }
        }
    }

    /// The data version of the given trees: changes whenever any of them is written.
    pub fn version_of(&self, trees: &[&str]) -> u64 {
        self.0.versions.of(trees)
    }

    /// Moves the engine's recovery point up (see `Engine::checkpoint`), holding the writer lock
    /// (bench-fill's "checkpointed" start; the log checkpoints by itself otherwise).
    pub async fn checkpoint(&self) -> Result<std::time::Duration> {
        let _writer = self.0.writer.clone().lock_owned().await;
        let engine = self.0.engine.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            engine.checkpoint().map(|()| started.elapsed())
        })
        .await
        .map_err(|e| StoreError::Engine(format!("checkpoint task: {e}")))?
    }

    pub fn flush_blocking(&self) -> Result<()> {
        self.0.engine.flush()
    }
}

/// A write transaction: staged changes plus the writer lock. Dropping it without `commit`
/// discards every staged change, so an operation that fails half-way writes nothing.
pub struct Tx {
    store: Store,
    _guard: OwnedMutexGuard<()>,
    pending: HashMap<(String, Vec<u8>), Option<Vec<u8>>>,
    /// Previous staged state of each key changed since the first savepoint (None = not logging).
    undo: Option<Vec<UndoEntry>>,
}

type UndoEntry = ((String, Vec<u8>), Option<Option<Vec<u8>>>);

/// A point a `Tx` can roll back to, so one refused line of a batch leaves nothing behind while
/// the rest of the batch commits.
#[derive(Debug, Clone, Copy)]
pub struct Savepoint(usize);

impl Tx {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reads through the staged changes.
    pub fn get<R: Record>(&self, key: &[u8]) -> Result<Option<R>> {
        match self.pending.get(&(R::TREE.to_string(), key.to_vec())) {
            Some(Some(v)) => Ok(Some(codec::decode::<R>(v)?)),
            Some(None) => Ok(None),
            None => self.store.get::<R>(key),
        }
    }

    /// True when `key` is present in a raw (index) tree, staged changes included.
    pub fn contains_raw(&self, tree: &str, key: &[u8]) -> Result<bool> {
        match self.pending.get(&(tree.to_string(), key.to_vec())) {
            Some(v) => Ok(v.is_some()),
            None => Ok(self.store.engine().get(tree, key)?.is_some()),
        }
    }

    pub fn get_raw(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending.get(&(tree.to_string(), key.to_vec())) {
            Some(v) => Ok(v.clone()),
            None => self.store.engine().get(tree, key),
        }
    }

    pub fn put<R: Record>(&mut self, key: &[u8], value: &R) {
        self.put_raw(R::TREE, key, codec::encode(value));
    }

    pub fn delete<R: Record>(&mut self, key: &[u8]) {
        self.delete_raw(R::TREE, key);
    }

    fn stage(&mut self, tree: &str, key: &[u8], value: Option<Vec<u8>>) {
        let k = (tree.to_string(), key.to_vec());
        let prev = self.pending.insert(k.clone(), value);
        if let Some(log) = self.undo.as_mut() {
            log.push((k, prev));
        }
    }

    /// Marks the current staged state; see `rollback_to`.
    pub fn savepoint(&mut self) -> Savepoint {
        let log = self.undo.get_or_insert_with(Vec::new);
        Savepoint(log.len())
    }

    /// Undoes everything staged since `sp` (later savepoints become invalid).
    pub fn rollback_to(&mut self, sp: Savepoint) {
        let Some(log) = self.undo.as_mut() else {
            return;
        };
        while log.len() > sp.0 {
            let (k, prev) = log.pop().expect("non-empty undo log");
            match prev {
                Some(v) => {
                    self.pending.insert(k, v);
                }
                None => {
                    self.pending.remove(&k);
                }
            }
        }
    }

    /// Whether this transaction has staged a put or delete of `key`.
    pub fn has_staged(&self, tree: &str, key: &[u8]) -> bool {
        self.pending.contains_key(&(tree.to_string(), key.to_vec()))
    }

    pub fn put_raw(&mut self, tree: &str, key: &[u8], value: Vec<u8>) {
        self.stage(tree, key, Some(value));
    }

    pub fn delete_raw(&mut self, tree: &str, key: &[u8]) {
        self.stage(tree, key, None);
    }

    /// Adds an index entry (`key` is the index key, usually term ++ primary key).
    pub fn index(&mut self, tree: &str, key: &[u8]) {
        self.put_raw(tree, key, codec::INDEX_VALUE.to_vec());
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Applies everything atomically, releases the writer lock, then waits for durability.
    pub async fn commit(self) -> Result<()> {
        let Tx {
            store,
            _guard,
            pending,
            ..
        } = self;
        if pending.is_empty() {
            // Nothing new, but what this answer relies on may still be in flight (a replay
            // read the first write before its flush ended): an acknowledgement implies durable.
            drop(_guard);
            return store.durable().await;
        }
        let mut ops: Vec<Op> = pending
            .into_iter()
            .map(|((tree, key), value)| Op { tree, key, value })
            .collect();
        // Domain changes get their outbox entries in this same apply, numbered under the lock.
        outbox::stage(store.0.engine.as_ref(), &mut ops)?;
        let applied = store.0.engine.apply(&ops);
        // Before the lock goes, so a look under the lock is never told such a key is absent;
        // even after a failed apply, part of which may be in the tree.
        store.note_idempotency_keys(&ops);
        applied?;
        store.0.versions.bump(ops.iter().map(|o| o.tree.as_str()));
        drop(_guard);
        store.durable().await
    }
}

/// Builds composite keys: parts joined by 0x00 (parts must not contain 0x00; ids never do).
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(p);
    }
    out
}

/// `key(parts)` followed by the separator, for prefix scans.
pub fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = key(parts);
    k.push(0);
    k
}

#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod redb_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ack;
#[cfg(test)]
mod wal_tests;
