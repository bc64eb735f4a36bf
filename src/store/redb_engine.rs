//! redb under the write-ahead log (`store::wal`): the store's engine. Both live in
//! `<state>/store`: the database file `FILE` and the log's `wal/` (a store moved aside by a
//! restore takes its log with it).
//!
//! Every tree lives in one redb table, `DATA`, its keys prefixed by the tree's 2-byte id (the
//! names and ids are in `TREES`): redb's commit does work for every table a transaction
//! touched (the table's new root written into redb's table of tables, the checksums of its
//! dirty pages), and a change touched up to eight trees — 18 % of the server's CPU under
//! Gatepass Save went there (README, fourteenth scale stop).
//!
//! A drain of the log's overlay (`store::overlay`: many changes) is one redb write transaction
//! committed with `Durability::None`: atomic across trees, visible at once, not on disk. It
//! also records its last change's log number under `META_TREE`'s id, so after a crash redb's
//! state is whole changes up to a known number and replay starts after it (a replay at open
//! commits its records in groups the same way). `flush` commits an empty transaction with
//! `Durability::Immediate`, which makes every earlier one durable: the log's checkpoint calls
//! it, off the writers' path (a durable write waits for our log's `fdatasync`, never for
//! redb's, which holds redb's write lock).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::engine::{prefix_end, KvIter, Op};
use super::wal::{LogBase, Start, META_TREE};
use super::{Engine, StoreError};

/// The database file in the store's directory.
pub const FILE: &str = "gatehouse.redb";

/// The key in `META_TREE` holding the number of the newest change applied.
const LSN_KEY: &[u8] = b"lsn";

/// Every tree's keys and values: `TreeId ‖ key` → value.
const DATA: TableDefinition<'static, &'static [u8], &'static [u8]> = TableDefinition::new("data");
/// Tree name → its `TreeId` (big-endian). Written only when a tree is first used.
const TREES: TableDefinition<'static, &'static str, u16> = TableDefinition::new("trees");
/// `META_TREE`'s id, fixed, so the log number needs no look-up.
const META_ID: TreeId = TreeId(0);

/// A tree's prefix in `DATA`: ids are dealt in order, never reused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct TreeId(u16);

impl TreeId {
    fn key(self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + key.len());
        self.key_into(&mut k, key);
        k
    }

    /// `key` under this tree's prefix, in `buf` (cleared first): one buffer for a change's ops.
    fn key_into(self, buf: &mut Vec<u8>, key: &[u8]) {
        buf.clear();
        buf.extend_from_slice(&self.0.to_be_bytes());
        buf.extend_from_slice(key);
    }

    /// The first key past every key of this tree.
    fn end(self) -> Vec<u8> {
        // Ids stop below u16::MAX (`id_in_write`), so the next one exists.
        (self.0 + 1).to_be_bytes().to_vec()
    }
}

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
    /// Ids of the trees known so far: a cache of `TREES`, which stays the authority (a miss
    /// reads it). Emptied by a reopen, which may roll ids back.
    ids: RwLock<HashMap<String, TreeId>>,
    /// Write transactions committed since open (tests: a replay's are few).
    commits: AtomicU64,
    /// `DATA` as the newest commit left it, opened once and shared by every read until the
    /// next commit: a read transaction's start and `open_table` were half the cost of a lone
    /// `get` (README, Get Task List's profile).
    snapshot: RwLock<Snapshot>,
}

/// `DATA` in a read transaction, shared.
type DataTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// The shared snapshot, and how many commits (and reopens) have passed: a snapshot opened
/// before one of them is not kept (`RedbEngine::read_tree`).
#[derive(Default)]
struct Snapshot {
    epoch: u64,
    table: Option<Arc<DataTable>>,
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

/// `DATA` in a read transaction, and a tree's id in it.
type TreeRead = (Arc<DataTable>, TreeId);

/// A key or value read from a range, owning its page.
type Guard = redb::OwnedAccessGuard<&'static [u8]>;

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
            commits: AtomicU64::new(0),
            ids: RwLock::new(HashMap::new()),
            snapshot: RwLock::new(Snapshot::default()),
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
        // The shared snapshot keeps the old file open: it goes first. After the handle's lock
        // is taken: a read that got the old handle took its epoch before this, so it keeps
        // no snapshot of it.
        self.new_epoch();
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
                // Ids dealt by commits the reopen rolled back may be dealt again, to others.
                self.ids.write().expect("tree ids poisoned").clear();
                *slot = Some(Arc::new(db));
                *self.faulted.lock().expect("engine fault state poisoned") = None;
                self.faulted_flag.store(false, Ordering::Release);
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::warn!("store reopened after a storage fault");
            }
            Err(e) => tracing::warn!(error = %e, "store not reopened yet"),
        }
    }

    /// Reopens now, as after a storage fault: redb goes back to its last durable commit.
    #[cfg(test)]
    pub(crate) fn reopen_now(&self) {
        let past = Instant::now()
            .checked_sub(REOPEN_EVERY)
            .unwrap_or_else(Instant::now);
        *self.faulted.lock().expect("engine fault state poisoned") = Some(past);
        self.faulted_flag.store(true, Ordering::Release);
        self.maybe_reopen();
        assert!(!self.faulted_flag.load(Ordering::Acquire), "reopened");
    }

    /// The id of `tree` as `rtx` sees it (None: the tree was never written).
    fn id_in_read(
        &self,
        rtx: &redb::ReadTransaction,
        tree: &str,
    ) -> Result<Option<TreeId>, StoreError> {
        if tree == META_TREE {
            return Ok(Some(META_ID));
        }
        if let Some(id) = self.ids.read().expect("tree ids poisoned").get(tree) {
            return Ok(Some(*id));
        }
        let table = match rtx.open_table(TREES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let id = table.get(tree).map_err(err)?.map(|g| TreeId(g.value()));
        if let Some(id) = id {
            self.ids
                .write()
                .expect("tree ids poisoned")
                .insert(tree.to_string(), id);
        }
        Ok(id)
    }

    /// A commit (or a reopen) happened: the shared snapshot is out of date, and one opened
    /// before now is not kept.
    fn new_epoch(&self) {
        let mut s = self.snapshot.write().expect("snapshot poisoned");
        s.epoch += 1;
        s.table = None;
    }

    /// `DATA` as of the newest commit, with `tree`'s id (None: nothing to read): the shared
    /// snapshot when there is one and the id is known, else a new read transaction, kept as the
    /// shared snapshot unless a commit came in between.
    fn read_tree(&self, tree: &str) -> Result<Option<TreeRead>, StoreError> {
        if !self.faulted_flag.load(Ordering::Acquire) {
            // Under the snapshot's lock: a reopen drops the snapshot before it empties the
            // ids, so a snapshot seen here and an id cached beside it are of one handle.
            let s = self.snapshot.read().expect("snapshot poisoned");
            if let Some(t) = &s.table {
                let id = if tree == META_TREE {
                    Some(META_ID)
                } else {
                    self.ids
                        .read()
                        .expect("tree ids poisoned")
                        .get(tree)
                        .copied()
                };
                if let Some(id) = id {
                    return Ok(Some((t.clone(), id)));
                }
            }
        }
        let epoch = self.snapshot.read().expect("snapshot poisoned").epoch;
        // Held while the id is looked up and cached: a reopen (which empties the cache) waits
        // for every holder, so no id of the handle before it lands in the cache after it.
        let db = self.db()?;
        let rtx = db.begin_read().map_err(err)?;
        let Some(id) = self.id_in_read(&rtx, tree)? else {
            return Ok(None);
        };
        let table = match rtx.open_table(DATA) {
            Ok(t) => Arc::new(t),
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let mut s = self.snapshot.write().expect("snapshot poisoned");
        if s.epoch == epoch {
            s.table = Some(table.clone());
        }
        Ok(Some((table, id)))
    }

    /// Every key in `[start, end)` (None: to the tree's end), forwards or backwards, on a
    /// snapshot.
    fn range_of(
        &self,
        tree: &str,
        start: &[u8],
        end: Option<&[u8]>,
        rev: bool,
    ) -> Result<KvIter<'_>, StoreError> {
        let Some((table, id)) = self.read_tree(tree)? else {
            return Ok(Box::new(std::iter::empty()));
        };
        let from = id.key(start);
        let to = end.map_or_else(|| id.end(), |e| id.key(e));
        use std::ops::Bound;
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (
            Bound::Included(from.as_slice()),
            Bound::Excluded(to.as_slice()),
        );
        let range = table.range_owned(bounds).map_err(err)?;
        let map = |r: Result<(Guard, Guard), redb::StorageError>| {
            r.map(|(k, v)| (k.value()[2..].to_vec(), v.value().to_vec()))
                .map_err(err)
        };
        if rev {
            Ok(Box::new(range.rev().map(map)))
        } else {
            Ok(Box::new(range.map(map)))
        }
    }
}

impl Engine for RedbEngine {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((table, id)) = self.read_tree(tree)? else {
            return Ok(None);
        };
        let value = table
            .get(id.key(key).as_slice())
            .map_err(err)?
            .map(|v| v.value().to_vec());
        Ok(value)
    }

    fn get_many(&self, tree: &str, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let Some((table, id)) = self.read_tree(tree)? else {
            return Ok(vec![None; keys.len()]);
        };
        let mut full = Vec::with_capacity(64);
        keys.iter()
            .map(|k| {
                id.key_into(&mut full, k);
                Ok(table
                    .get(full.as_slice())
                    .map_err(err)?
                    .map(|v| v.value().to_vec()))
            })
            .collect()
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
        self.commit(None, &[ops])
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
        let Ok(table) = rtx.open_table(TREES) else {
            return Vec::new();
        };
        let Ok(names) = table.iter() else {
            return Vec::new();
        };
        names
            .filter_map(|r| r.ok().map(|(name, _)| name.value().to_string()))
            .collect()
    }

    fn size_on_disk(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        self.flush()
    }
}

/// The ops of `changes` that show once they commit together: a key's last op, in the order of
/// those. Every change of a drain's group moves the outbox's counter on, and most an id counter
/// too: one insert each instead of one per change (an insert is most of a drain's cost).
fn last_of_each_key<'a>(changes: &[&'a [Op]]) -> Vec<&'a Op> {
    let all = changes.iter().flat_map(|ops| ops.iter());
    if changes.len() < 2 {
        return all.collect();
    }
    let mut seen: std::collections::HashSet<(&str, &[u8])> = Default::default();
    let mut kept: Vec<&Op> = all
        .rev()
        .filter(|op| seen.insert((op.tree.as_str(), op.key.as_slice())))
        .collect();
    kept.reverse();
    kept
}

impl RedbEngine {
    /// One write transaction, not durable: the changes' ops in order and, for logged changes,
    /// the number of the last.
    fn commit(&self, lsn: Option<u64>, changes: &[&[Op]]) -> Result<(), StoreError> {
        if changes.iter().all(|ops| ops.is_empty()) && lsn.is_none() {
            return Ok(());
        }
        self.write(lsn, changes).map_err(|e| self.failed(e))
    }

    /// Write transactions committed since open.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Changes in one transaction, numbered like the last.
    fn commit_changes(&self, changes: &[super::overlay::Change]) -> Result<(), StoreError> {
        let Some((last, _)) = changes.last() else {
            return Ok(());
        };
        let ops: Vec<&[Op]> = changes.iter().map(|(_, ops)| ops.as_slice()).collect();
        self.commit(Some(*last), &ops)
    }

    fn write(&self, lsn: Option<u64>, changes: &[&[Op]]) -> Result<(), StoreError> {
        // Held to the end, as in `read_tree`.
        let db = self.db()?;
        // Dropped on an error: aborted, nothing of it applied.
        let mut wtx = db.begin_write().map_err(err)?;
        wtx.set_durability(Durability::None).map_err(err)?;
        // Ids dealt in this transaction: known to others only once it commits.
        let mut dealt: Vec<(String, TreeId)> = Vec::new();
        {
            let mut table = wtx.open_table(DATA).map_err(err)?;
            let mut key = Vec::with_capacity(64);
            // A change's ops come grouped by tree: the id is looked up once per run.
            let mut current: Option<(&str, TreeId)> = None;
            for op in last_of_each_key(changes) {
                let id = match current {
                    Some((name, id)) if name == op.tree => id,
                    _ => {
                        let id = self.id_for_write(&wtx, &op.tree, &mut dealt)?;
                        current = Some((op.tree.as_str(), id));
                        id
                    }
                };
                id.key_into(&mut key, &op.key);
                match &op.value {
                    Some(v) => {
                        table.insert(key.as_slice(), v.as_slice()).map_err(err)?;
                    }
                    None => {
                        table.remove(key.as_slice()).map_err(err)?;
                    }
                }
            }
            if let Some(lsn) = lsn {
                table
                    .insert(
                        META_ID.key(LSN_KEY).as_slice(),
                        lsn.to_be_bytes().as_slice(),
                    )
                    .map_err(err)?;
            }
        }
        wtx.commit().map_err(err)?;
        // Before the caller goes on (a drain lets the changes leave the overlay next), so no
        // read after that is answered from the snapshot before this commit.
        self.new_epoch();
        self.commits.fetch_add(1, Ordering::Relaxed);
        if !dealt.is_empty() {
            self.ids.write().expect("tree ids poisoned").extend(dealt);
        }
        Ok(())
    }

    /// `name`'s id for a write in `wtx`: dealt earlier in it, cached, or from `TREES` (dealt
    /// now if it has none, and then added to `dealt`).
    fn id_for_write(
        &self,
        wtx: &redb::WriteTransaction,
        name: &str,
        dealt: &mut Vec<(String, TreeId)>,
    ) -> Result<TreeId, StoreError> {
        if let Some((_, id)) = dealt.iter().find(|(n, _)| n == name) {
            return Ok(*id);
        }
        if let Some(id) = self.ids.read().expect("tree ids poisoned").get(name) {
            return Ok(*id);
        }
        let (id, new) = self.id_in_write(wtx, name)?;
        if new {
            dealt.push((name.to_string(), id));
        }
        Ok(id)
    }

    /// `name`'s id in `TREES`, dealt now if it has none (true). Serialized by redb's write lock.
    fn id_in_write(
        &self,
        wtx: &redb::WriteTransaction,
        name: &str,
    ) -> Result<(TreeId, bool), StoreError> {
        if name == META_TREE {
            return Ok((META_ID, false));
        }
        let mut trees = wtx.open_table(TREES).map_err(err)?;
        if let Some(id) = trees.get(name).map_err(err)? {
            return Ok((TreeId(id.value()), false));
        }
        let mut top = META_ID.0;
        for r in trees.iter().map_err(err)? {
            top = top.max(r.map_err(err)?.1.value());
        }
        if top >= u16::MAX - 1 {
            return Err(StoreError::Engine("redb: too many trees".into()));
        }
        let id = TreeId(top + 1);
        trees.insert(name, id.0).map_err(err)?;
        Ok((id, true))
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
        self.commit(Some(lsn), &[ops])
    }

    /// One transaction for them all, numbered like the last: redb's commit costs the same for
    /// one change or a hundred (store::overlay).
    fn apply_changes(
        &self,
        changes: &[super::overlay::Change],
        _visible: &RwLock<()>,
    ) -> Result<(), StoreError> {
        self.commit_changes(changes)
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
        self.commit(Some(lsn), &[ops])
    }

    /// As `apply_changes`: a start after a crash replays its log in a few transactions.
    fn replay_changes(&self, changes: &[super::overlay::Change]) -> Result<(), StoreError> {
        self.commit_changes(changes)
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
