//! redb under the write-ahead log (`store::wal`): the store's engine. Both live in
//! `<state>/store`: the database file `FILE` and the log's `wal/` (a store moved aside by a
//! restore takes its log with it).
//!
//! One change is one redb write transaction committed with `Durability::None`: atomic across
//! trees, visible at once, not on disk. It also records the change's log number in `META_TREE`,
//! so after a crash redb's state is whole changes up to a known number and replay starts after
//! it. `flush` commits an empty transaction with `Durability::Immediate`, which makes every
//! earlier one durable: the log's checkpoint calls it, off the writers' path (a durable write
//! waits for our log's `fdatasync`, never for redb's, which holds redb's write lock).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::engine::{KvIter, Op};
use super::wal::{LogBase, Start, META_TREE};
use super::{Engine, StoreError};

/// The database file in the store's directory.
pub const FILE: &str = "gatehouse.redb";

/// The key in `META_TREE` holding the number of the newest change applied.
const LSN_KEY: &[u8] = b"lsn";

pub struct RedbEngine {
    /// None only while the database is being reopened after a storage fault.
    db: RwLock<Option<Arc<Database>>>,
    path: std::path::PathBuf,
    cache_bytes: u64,
    /// Since when a storage fault (disk full, read-only) stands: after a failed commit redb
    /// refuses every later write (`PreviousIo`) until it is reopened, which rolls it back to
    /// its last durable commit. So it is reopened — at most every `REOPEN_EVERY` — and the
    /// log applies itself again (`generation`, `WalEngine::catch_up`).
    faulted: Mutex<Option<Instant>>,
    faulted_flag: AtomicBool,
    generation: AtomicU64,
}

const REOPEN_EVERY: Duration = Duration::from_secs(1);

fn current_fault() -> &'static str {
    super::fault::current()
        .map(|(f, _)| f)
        .unwrap_or(super::fault::Fault::Full)
        .describe()
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(format!("redb: {e}"))
}

/// A key or value read from a range, owning its page.
type Guard = redb::OwnedAccessGuard<&'static [u8]>;

fn def(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

impl RedbEngine {
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let open_err =
            |e: &dyn std::fmt::Display| StoreError::Open(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        let path = dir.join(FILE);
        let new = !path.exists();
        let db = Self::open_db(&path, cache_bytes).map_err(|e| open_err(&e))?;
        if new {
            // redb syncs the file; its name must outlive a power cut too.
            for d in [Some(dir), dir.parent()].into_iter().flatten() {
                super::wal::sync_dir(d).map_err(|e| open_err(&e))?;
            }
        }
        Ok(RedbEngine {
            db: RwLock::new(Some(Arc::new(db))),
            path,
            cache_bytes,
            faulted: Mutex::new(None),
            faulted_flag: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        })
    }

    fn open_db(path: &Path, cache_bytes: u64) -> Result<Database, String> {
        Database::builder()
            .set_cache_size(cache_bytes as usize)
            .create(path)
            .map_err(|e| format!("redb: {e}"))
    }

    /// The open database, reopened first if a storage fault stands and it is time to try.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        if self.faulted_flag.load(Ordering::Acquire) {
            self.maybe_reopen();
        }
        self.db
            .read()
            .expect("engine state poisoned")
            .clone()
            .ok_or_else(|| StoreError::Engine(format!("{} (store reopening)", current_fault())))
    }

    /// Keeps the error, in the words of the fault behind it; marks the engine for a reopen
    /// when it is a storage fault.
    fn failed(&self, e: StoreError) -> StoreError {
        let text = e.to_string();
        let previous = text.contains("Previous I/O error");
        if super::fault::note(&text).is_none() && !previous {
            return e;
        }
        let mut f = self.faulted.lock().expect("engine fault state poisoned");
        if f.is_none() {
            *f = Some(Instant::now());
            self.faulted_flag.store(true, Ordering::Release);
        }
        if previous {
            StoreError::Engine(format!("{} (store reopening)", current_fault()))
        } else {
            e
        }
    }

    fn maybe_reopen(&self) {
        {
            let mut f = self.faulted.lock().expect("engine fault state poisoned");
            match *f {
                Some(since) if since.elapsed() >= REOPEN_EVERY => *f = Some(Instant::now()),
                _ => return,
            }
        }
        let mut slot = self.db.write().expect("engine state poisoned");
        if let Some(db) = slot.take() {
            match Arc::try_unwrap(db) {
                // Dropped here, so its file lock is free for the new handle.
                Ok(db) => drop(db),
                Err(shared) => {
                    // A reader still holds it: next time.
                    *slot = Some(shared);
                    return;
                }
            }
        }
        match Self::open_db(&self.path, self.cache_bytes) {
            Ok(db) => {
                *slot = Some(Arc::new(db));
                *self.faulted.lock().expect("engine fault state poisoned") = None;
                self.faulted_flag.store(false, Ordering::Release);
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::warn!("store reopened after a storage fault");
            }
            Err(e) => tracing::warn!(error = %e, "store not reopened yet"),
        }
    }

    /// Every key in `[start, end)` (None: to the end), forwards or backwards, on a snapshot.
    fn range_of(
        &self,
        tree: &str,
        start: &[u8],
        end: Option<&[u8]>,
        rev: bool,
    ) -> Result<KvIter<'_>, StoreError> {
        let rtx = self.db()?.begin_read().map_err(err)?;
        let table = match rtx.open_table(def(tree)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Box::new(std::iter::empty())),
            Err(e) => return Err(err(e)),
        };
        use std::ops::Bound;
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (
            Bound::Included(start),
            end.map_or(Bound::Unbounded, Bound::Excluded),
        );
        let range = table.range_owned(bounds).map_err(err)?;
        let map = |r: Result<(Guard, Guard), redb::StorageError>| {
            r.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                .map_err(err)
        };
        if rev {
            Ok(Box::new(range.rev().map(map)))
        } else {
            Ok(Box::new(range.map(map)))
        }
    }
}

/// The smallest key above every key starting with `prefix` (None: there is none).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Engine for RedbEngine {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let rtx = self.db()?.begin_read().map_err(err)?;
        let table = match rtx.open_table(def(tree)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let value = table.get(key).map_err(err)?.map(|v| v.value().to_vec());
        Ok(value)
    }

    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        let end = prefix_end(prefix);
        self.range_of(tree, prefix, end.as_deref(), false)
    }

    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        let end = prefix_end(prefix);
        self.range_of(tree, prefix, end.as_deref(), true)
    }

    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError> {
        if start >= end {
            return Ok(Box::new(std::iter::empty()));
        }
        self.range_of(tree, start, Some(end), false)
    }

    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        self.commit(None, ops)
    }

    fn flush(&self) -> Result<(), StoreError> {
        let durable = || -> Result<(), StoreError> {
            let mut wtx = self.db()?.begin_write().map_err(err)?;
            wtx.set_durability(Durability::Immediate).map_err(err)?;
            // Without it, a start after a crash rebuilds the allocator from every tree (0.5 s
            // per million rows); with it each durable commit saves that state and commits in
            // two phases.
            wtx.set_quick_repair(true);
            wtx.commit().map_err(err)
        };
        durable().map_err(|e| self.failed(e))
    }

    fn tree_names(&self) -> Vec<String> {
        let Some(rtx) = self.db().ok().and_then(|db| db.begin_read().ok()) else {
            return Vec::new();
        };
        let Ok(tables) = rtx.list_tables() else {
            return Vec::new();
        };
        tables
            .map(|t| t.name().to_string())
            .filter(|n| n != META_TREE)
            .collect()
    }

    fn size_on_disk(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        self.flush()
    }
}

impl RedbEngine {
    /// One write transaction, not durable: the ops in order and, for a logged change, its number.
    fn commit(&self, lsn: Option<u64>, ops: &[Op]) -> Result<(), StoreError> {
        if ops.is_empty() && lsn.is_none() {
            return Ok(());
        }
        self.write(lsn, ops).map_err(|e| self.failed(e))
    }

    fn write(&self, lsn: Option<u64>, ops: &[Op]) -> Result<(), StoreError> {
        // Dropped on an error: aborted, nothing of it applied.
        let mut wtx = self.db()?.begin_write().map_err(err)?;
        wtx.set_durability(Durability::None).map_err(err)?;
        {
            let mut i = 0;
            while i < ops.len() {
                let name = ops[i].tree.as_str();
                let mut table = wtx.open_table(def(name)).map_err(err)?;
                while i < ops.len() && ops[i].tree == name {
                    let op = &ops[i];
                    match &op.value {
                        Some(v) => {
                            table.insert(op.key.as_slice(), v.as_slice()).map_err(err)?;
                        }
                        None => {
                            table.remove(op.key.as_slice()).map_err(err)?;
                        }
                    }
                    i += 1;
                }
            }
            if let Some(lsn) = lsn {
                let mut meta = wtx.open_table(def(META_TREE)).map_err(err)?;
                meta.insert(LSN_KEY, lsn.to_be_bytes().as_slice())
                    .map_err(err)?;
            }
        }
        wtx.commit().map_err(err)
    }

    /// The number of the newest change applied (0: none, or a store the log never wrote).
    fn applied_lsn(&self) -> Result<u64, StoreError> {
        Ok(match self.get(META_TREE, LSN_KEY)? {
            None => 0,
            Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| {
                StoreError::Decode("redb: the stored log number is unreadable".into())
            })?),
        })
    }
}

impl LogBase for RedbEngine {
    fn apply_change(&self, lsn: u64, ops: &[Op], _visible: &RwLock<()>) -> Result<(), StoreError> {
        self.commit(Some(lsn), ops)
    }

    fn recover_start(&self, _top: u64, _has_files: bool) -> Result<Start, StoreError> {
        // After a crash redb is back at its last durable commit: whole changes up to `last`
        // (a checkpoint may have made a few durable that the log never synced: they were
        // never acknowledged, but whole, and newer than every record a file can hold).
        let last = self.applied_lsn()?;
        Ok(Start {
            from: last + 1,
            last,
            undone: false,
        })
    }

    fn replay(&self, lsn: u64, ops: &[Op]) -> Result<(), StoreError> {
        self.commit(Some(lsn), ops)
    }

    fn settle(&self) -> Result<(), StoreError> {
        self.flush()
    }

    fn settles_at_open(&self) -> bool {
        false
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
