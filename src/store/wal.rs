//! Our own write-ahead log in front of the engine: what a durable write waits for.
//!
//! sled 0.34's `flush()` hands its log buffer to sled's IO thread pool, waits for it, and still
//! needs our `fdatasync` of its log and a look at its directories afterwards (`store::sync`):
//! ~18 thread switches and ~365 µs of CPU per durable request under load (issue 15); redb's
//! durable commit holds its write lock through its `fdatasync`, so no change is applied
//! meanwhile. Here `apply()` numbers the change, adds it to the *overlay* (`store::overlay`,
//! which readers see at once) and appends it, as one checksummed, length-prefixed record, to an
//! in-memory buffer, under one mutex so log order is apply order. The group flush writes that
//! buffer to ONE file and `fdatasync`s it, on the flusher's own thread; after waking the
//! writers, the flusher *drains* the overlay: every change in it goes into the engine under the
//! log (the *base*, `LogBase`) in one `apply_changes`, not durably — one redb transaction for
//! the whole group instead of one per change.
//!
//! How a base applies changes so that a crash or a reader never sees half of one is its own
//! business (`LogBase::apply_changes`): sled stores an *intent* first (`store::wal_sled`); redb's
//! commits are atomic and it records the last change's number with them
//! (`store::redb_engine`).
//!
//! The rules of the drain: one at a time, in log order; a key stays readable in the overlay
//! until the base shows it; and nothing goes into a base whose generation the log was not
//! applied to yet (a reopen after a storage fault rolled it back: `catch_up` first). A
//! checkpoint drains, makes the base durable, and removes files only if the base's generation
//! was the log's before and is still after: a reopen in between may have rolled back what the
//! files hold (tests in `store::overlay_tests`).
//!
//! A checkpoint (every `CHECKPOINT_BYTES` or `CHECKPOINT_SECS`) starts a new file, makes the
//! base durable (`Engine::flush`), then deletes the older files. Each file begins with an
//! *anchor*, an empty record numbered like the last record of the older files: every record up
//! to the highest number in the log (anchors included) is durable, in the base or in a file.
//! `open` replays the files after the base opened (from where `LogBase::recover_start` says),
//! then checkpoints if they held any change. Records hold absolute puts/deletes, so replaying
//! what the base already has is harmless.
//!
//! Replay stops at the first torn or bad record of a file (a write cut by the crash), and at a
//! gap in the numbering (a record lost in the middle is damage: nothing after it is applied).
//! Files: `<state>/wal/<seq, 16 hex>.wal`, outside the base's directory; the directory is
//! fsynced whenever a file is created or removed. A file is kept zero-filled `ZERO_AHEAD` past
//! its records, so most syncs overwrite blocks already on disk and write no inode; a zero length
//! ends the records like a clean end of file. An open that finds nothing to replay (one file,
//! its anchor, then zeros) writes on in that file: no sync at all.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::engine::{KvIter, Op, SledEngine};
use super::overlay::{Change, Merged, Overlay};
use super::{Engine, StoreError};

#[cfg(test)]
pub(crate) use super::wal_sled::INTENT_KEY;
pub use super::wal_sled::META_TREE;

/// A checkpoint is started once the current file holds this much...
pub const CHECKPOINT_BYTES: u64 = 32 << 20;
/// ...or is this old (and not empty), so a restart replays little.
pub const CHECKPOINT_SECS: u64 = 60;
/// A log file is zero-filled this far ahead of its records (see `Io::zeroed`).
pub const ZERO_AHEAD: u64 = 256 << 10;
/// Past this many bytes of changes waiting in the overlay (`overlay::change_bytes`: what they
/// hold), `apply` drains it itself (a bulk fill, a migration: no flusher calls `drain`). 12 MiB
/// is what the 8 MiB of the weight before held: drains two thirds that size left a 10 M-row
/// fill reading 4× slower from redb's cache (bench-fill, "read again" p99 7.8 → 31 µs)...
pub const OVERLAY_DRAIN_BYTES: usize = 12 << 20;
/// ...and past this, with the engine refusing them (a storage fault), it refuses new changes
/// rather than grow without bound.
pub const OVERLAY_MAX_BYTES: usize = 64 << 20;
/// Past this many bytes of records not yet written to the log, `apply` writes them out itself:
/// a bulk writer that never waits for a flush (a schema step) held all it wrote in memory until
/// its end: ~200 MiB of schema 8's 498 MiB peak at 10 M punches (the unit allows 512 MiB).
pub const PENDING_FLUSH_BYTES: usize = 8 << 20;
/// Records replayed together (`LogBase::replay_changes`): a start after a crash replays up to
/// `CHECKPOINT_BYTES` of log, and one redb transaction per record took seconds of it. 8 MiB was
/// no faster and added ~10 MiB to the start's peak (the group's records, decoded).
pub const REPLAY_BATCH_BYTES: usize = 2 << 20;
/// Larger than any record we write (a muster batch is a few MiB): a length beyond it is damage.
const MAX_RECORD: u32 = 1 << 30;

/// What the log needs of the engine under it, beyond `Engine`'s reads: sled
/// (`store::wal_sled`) and redb (`store::redb_engine`).
pub trait LogBase: Engine {
    /// Applies one change, not durably (the log is what makes it durable), so that a reader
    /// holding `visible` for reading sees all of it or none.
    fn apply_change(&self, lsn: u64, ops: &[Op], visible: &RwLock<()>) -> Result<(), StoreError>;
    /// Applies changes in order, as one when the base can (redb: one transaction, numbered
    /// like the last). A crash may leave a prefix of them, never a part of one.
    fn apply_changes(&self, changes: &[Change], visible: &RwLock<()>) -> Result<(), StoreError> {
        for (lsn, ops) in changes {
            self.apply_change(*lsn, ops, visible)?;
        }
        Ok(())
    }
    /// Before replay at open, with `top` the highest record number in the files: where replay
    /// starts and what the base itself knows of the log.
    fn recover_start(&self, top: u64, has_files: bool) -> Result<Start, StoreError>;
    /// Applies a record again (at open, or after the base was reopened). Records hold absolute
    /// puts and deletes, so a repeat is harmless.
    fn replay(&self, lsn: u64, ops: &[Op]) -> Result<(), StoreError>;
    /// Applies records again in order, as one when the base can (redb: one transaction,
    /// numbered like the last; a crash leaves a prefix of them). `recover` and `catch_up` hand
    /// them over in groups of up to `REPLAY_BATCH_BYTES`.
    fn replay_changes(&self, changes: &[Change]) -> Result<(), StoreError> {
        for (lsn, ops) in changes {
            self.replay(*lsn, ops)?;
        }
        Ok(())
    }
    /// After a replay: forgets what `recover_start` used and makes the base durable, so the
    /// replayed files can go.
    fn settle(&self) -> Result<(), StoreError>;
    /// Whether `open` settles even when it replayed nothing. A base whose state at open is
    /// durable (redb) needs no settle to let those files go.
    fn settles_at_open(&self) -> bool {
        true
    }
    /// Bumped when the base lost what it had not made durable (a reopen after a storage
    /// fault): the log is applied again (`WalEngine::catch_up`).
    fn generation(&self) -> u64 {
        0
    }
}

/// Where replay starts (`LogBase::recover_start`).
#[derive(Debug, Default)]
pub struct Start {
    /// Records numbered below it are skipped (u64::MAX: none is applied).
    pub from: u64,
    /// The highest record number the base knows durable.
    pub last: u64,
    /// The base put back a change the log lacks.
    pub undone: bool,
}

pub struct WalEngine<B: LogBase = SledEngine> {
    base: Arc<B>,
    dir: PathBuf,
    /// Records applied but not yet written out; taken by `flush`. Held across the apply, so
    /// log order is apply order.
    pending: Mutex<Pending>,
    /// What the checkpoint's thread shares: the overlay and the rules of its drain.
    shared: Arc<Shared>,
    io: Mutex<Io>,
    sync: bool,
    checkpointing: Arc<AtomicBool>,
    checkpoint: Mutex<Option<std::thread::JoinHandle<()>>>,
    limits: (u64, Duration),
}

/// The overlay and how it goes into the base (see "drain" below).
pub(super) struct Shared {
    overlay: RwLock<Overlay>,
    /// One drain at a time, so batches go into the base in log order.
    draining: Mutex<()>,
    /// Readers of the base share it; a base's multi-op apply may hold it alone (sled).
    visible: RwLock<()>,
    /// The base's generation our log was last applied to (see `catch_up`). Nothing goes into a
    /// base of another generation, and no checkpoint makes one durable: it may have lost what
    /// the log files hold.
    seen_generation: AtomicU64,
}

/// The file new records go to, and where in it.
struct Tail {
    file: File,
    seq: u64,
    bytes: u64,
    zeroed: u64,
}

struct Pending {
    buf: Vec<u8>,
    next_lsn: u64,
}

struct Io {
    /// None after a failed write or sync: the next flush starts a new file (the old one may end
    /// in a torn record, after which nothing of it would be replayed).
    file: Option<File>,
    seq: u64,
    /// Where the next record goes (the records' end).
    bytes: u64,
    /// The file's length: written zeros from `bytes` up to here. A record written over zeros
    /// that are already on disk changes no file size, so its `fdatasync` writes the data block
    /// alone; an append also writes the inode (a second device write, on ext4 with a journal
    /// a journal commit). The zeros also end the log cleanly for `read_record` (length 0).
    zeroed: u64,
    since: Instant,
    /// The highest record number known durable (written and synced).
    synced: u64,
    /// Records not known durable because a write or sync failed; rewritten into the next file.
    carry: Vec<u8>,
    /// The previous buffer, kept for its capacity.
    spare: Vec<u8>,
}

fn wal_err(e: std::io::Error) -> StoreError {
    let e = StoreError::Io(format!("write-ahead log: {e}"));
    super::fault::note(&e.to_string());
    e
}

fn file_name(seq: u64) -> String {
    format!("{seq:016x}.wal")
}

/// The log files under `dir`, oldest first.
pub fn files(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    match fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                let e = e?;
                let name = e.file_name();
                let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else {
                    continue;
                };
                if let Ok(seq) = u64::from_str_radix(stem, 16) {
                    out.push((seq, e.path()));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    out.sort();
    Ok(out)
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Appends one record: u32 payload length, u32 CRC-32 of the payload, payload =
/// u64 lsn, u32 op count, per op: u8 (1 put, 0 delete), u16 tree, u32 key, [u32 value], bytes.
pub fn encode(buf: &mut Vec<u8>, lsn: u64, ops: &[Op]) {
    // The record's exact size up front: one allocation, not a realloc per doubling.
    let len: usize = 20
        + ops
            .iter()
            .map(|op| {
                7 + op.tree.len() + op.key.len() + op.value.as_ref().map_or(0, |v| 4 + v.len())
            })
            .sum::<usize>();
    buf.reserve(len);
    let start = buf.len();
    buf.extend_from_slice(&[0u8; 8]);
    buf.extend_from_slice(&lsn.to_le_bytes());
    buf.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        buf.push(op.value.is_some() as u8);
        buf.extend_from_slice(&(op.tree.len() as u16).to_le_bytes());
        buf.extend_from_slice(op.tree.as_bytes());
        buf.extend_from_slice(&(op.key.len() as u32).to_le_bytes());
        buf.extend_from_slice(&op.key);
        if let Some(v) = &op.value {
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            buf.extend_from_slice(v);
        }
    }
    debug_assert_eq!(
        buf.len() - start,
        len,
        "the record's size worked out up front"
    );
    let payload_len = (buf.len() - start - 8) as u32;
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// One record, or None at a clean end of file, a torn tail, or a bad checksum.
pub(crate) fn read_record(r: &mut impl Read) -> Option<(u64, Vec<Op>)> {
    let mut payload = Vec::new();
    read_payload(r, &mut payload)?;
    decode(&payload)
}

/// The next record's payload into `payload` (its buffer reused), its checksum checked; None as
/// for `read_record`.
fn read_payload(r: &mut impl Read, payload: &mut Vec<u8>) -> Option<()> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head).ok()?;
    let len = u32::from_le_bytes(head[..4].try_into().ok()?);
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    if !(12..=MAX_RECORD).contains(&len) {
        return None;
    }
    // Grown as bytes arrive: a damaged header's length (up to MAX_RECORD) allocates no more
    // than the file holds (a 1 GiB allocation up front is refused on a 1 GB box).
    payload.clear();
    r.take(u64::from(len)).read_to_end(payload).ok()?;
    (payload.len() == len as usize && crc32fast::hash(payload) == crc).then_some(())
}

fn decode(p: &[u8]) -> Option<(u64, Vec<Op>)> {
    // The op count (after the 8-byte number), for one allocation; `parse` checks it.
    let n = p
        .get(8..12)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let mut ops = Vec::with_capacity((n as usize).min(4096));
    let lsn = parse(p, &mut |tree, key, value| {
        ops.push(Op {
            tree: tree.to_string(),
            key: key.to_vec(),
            value: value.map(<[u8]>::to_vec),
        })
    })?;
    Some((lsn, ops))
}

/// What `parse` hands each op to: its tree, key and value (None: a delete), borrowed.
type OnOp<'a> = dyn FnMut(&str, &[u8], Option<&[u8]>) + 'a;

/// Reads a payload's number and hands over its ops as borrowed slices; None if it is malformed.
/// The numbering pass of `recover` checks records with it and builds nothing.
fn parse(p: &[u8], on: &mut OnOp<'_>) -> Option<u64> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = p.get(at..at.checked_add(n)?)?;
        at += n;
        Some(s)
    };
    let lsn = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let n = u32::from_le_bytes(take(4)?.try_into().ok()?);
    for _ in 0..n {
        let put = take(1)?[0] == 1;
        let tl = u16::from_le_bytes(take(2)?.try_into().ok()?) as usize;
        let tree = std::str::from_utf8(take(tl)?).ok()?;
        let kl = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let key = take(kl)?;
        let value = if put {
            let vl = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            Some(take(vl)?)
        } else {
            None
        };
        on(tree, key, value);
    }
    Some(lsn)
}

/// Walks the records of `files` in order, up to the first torn record of each file, and up to
/// a gap in the numbering across files. Returns whether a gap was met.
fn walk(
    files: &[(u64, PathBuf)],
    on: &mut dyn FnMut(u64, Vec<Op>) -> Result<(), StoreError>,
) -> Result<bool, StoreError> {
    walk_with(files, decode, on)
}

/// The record numbers `walk` would hand over, each record checked but its ops not built (what
/// the numbering pass of `recover` needs: one decode per record, not two).
fn walk_numbers(
    files: &[(u64, PathBuf)],
    mut on: impl FnMut(u64) -> Result<(), StoreError>,
) -> Result<bool, StoreError> {
    let check = |p: &[u8]| parse(p, &mut |_, _, _| ()).map(|lsn| (lsn, ()));
    walk_with(files, check, |lsn, ()| on(lsn))
}

/// `walk`, reading each checked payload with `read` (None: a malformed record, the end).
fn walk_with<T>(
    files: &[(u64, PathBuf)],
    read: impl Fn(&[u8]) -> Option<(u64, T)>,
    mut on: impl FnMut(u64, T) -> Result<(), StoreError>,
) -> Result<bool, StoreError> {
    let mut seen: Option<u64> = None;
    let mut payload = Vec::new();
    for (_, path) in files {
        let mut rd = BufReader::with_capacity(256 << 10, File::open(path)?);
        while let Some((lsn, record)) =
            read_payload(&mut rd, &mut payload).and_then(|()| read(&payload))
        {
            if seen.is_some_and(|s| lsn > s + 1) {
                return Ok(true);
            }
            seen = Some(seen.map_or(lsn, |s| s.max(lsn)));
            on(lsn, record)?;
        }
    }
    Ok(false)
}

/// Gathers records for `LogBase::replay_changes`, up to `REPLAY_BATCH_BYTES` at a time.
struct Replayer<'a, B: LogBase> {
    base: &'a B,
    batch: Vec<Change>,
    bytes: usize,
}

impl<'a, B: LogBase> Replayer<'a, B> {
    fn new(base: &'a B) -> Self {
        Self {
            base,
            batch: Vec::new(),
            bytes: 0,
        }
    }

    fn push(&mut self, lsn: u64, ops: Vec<Op>) -> Result<(), StoreError> {
        self.bytes += super::overlay::change_bytes(&ops);
        self.batch.push((lsn, ops));
        if self.bytes >= REPLAY_BATCH_BYTES {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        if !self.batch.is_empty() {
            self.base.replay_changes(&self.batch)?;
            self.batch.clear();
            self.bytes = 0;
        }
        Ok(())
    }
}

/// What `recover` did, for the log and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    pub applied: u64,
    pub skipped: u64,
    /// The newest multi-op change was half in the base and not in the log: put back as it was.
    pub undone: bool,
    /// A record was missing in the middle: later ones were not applied.
    pub gap: bool,
    /// The highest record number durable (log or intent).
    pub last_lsn: u64,
    /// Records applied that hold changes (anchors hold none).
    pub changes: u64,
    /// The base holds changes numbered past every record in the files (made durable by a
    /// checkpoint before their records were): the files must go before new ones are numbered
    /// after them, or the next replay would see a gap.
    pub base_ahead: bool,
}

impl Replayed {
    /// Whether the base may now hold something it has not made durable itself.
    fn changed_base(&self) -> bool {
        self.changes > 0 || self.undone || self.gap
    }
}

/// Brings the base to the newest durable state the log and the base hold together (see the
/// module doc).
pub fn recover<B: LogBase>(base: &B, files: &[(u64, PathBuf)]) -> Result<Replayed, StoreError> {
    let mut r = Replayed::default();
    // Pass 1: how far the log is durable.
    let mut top = 0u64;
    r.gap = walk_numbers(files, |lsn| {
        top = top.max(lsn);
        Ok(())
    })?;
    let start = base.recover_start(top, !files.is_empty())?;
    r.undone = start.undone;
    r.base_ahead = start.last > top;
    r.last_lsn = start.last;
    // Pass 2: everything from the start on, in order.
    let mut replayer = Replayer::new(base);
    walk(files, &mut |lsn, ops| {
        if lsn < start.from {
            r.skipped += 1;
            return Ok(());
        }
        r.applied += 1;
        r.changes += !ops.is_empty() as u64;
        replayer.push(lsn, ops)
    })?;
    replayer.finish()?;
    r.last_lsn = r.last_lsn.max(top);
    Ok(r)
}

impl<B: LogBase> WalEngine<B> {
    /// Opens the log in `dir` over `base`: recovers from what is there, checkpoints it (so the
    /// files replayed are gone before new ones are written), and starts a new file.
    pub fn open(base: Arc<B>, dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(
            base,
            dir,
            (CHECKPOINT_BYTES, Duration::from_secs(CHECKPOINT_SECS)),
        )
    }

    pub fn open_with(
        base: Arc<B>,
        dir: &Path,
        limits: (u64, Duration),
    ) -> Result<Self, StoreError> {
        let sync = !std::env::var(super::sync::DISABLE_ENV).is_ok_and(|v| v == "1");
        let created = !dir.exists();
        fs::create_dir_all(dir)?;
        if created {
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        let existing = files(dir)?;
        let r = recover(&*base, &existing)?;
        if r.applied > 0 || r.undone {
            tracing::info!(
                files = existing.len(),
                applied = r.applied,
                skipped = r.skipped,
                undone = r.undone,
                "write-ahead log replayed"
            );
        }
        let last = r.last_lsn;
        if let Some(reused) = Self::reuse(&r, &existing)? {
            return Ok(Self::new(base, dir, limits, sync, last, reused));
        }
        // A replay is made durable before its files go. Left to the first checkpoint (to spare
        // a start its durable commit, 60 ms at 10 M rows), a server killed again before one (an
        // OOM kill in a loop) replayed them at every start and added a file each time.
        let settle = r.applied > 0 || r.undone || r.gap || r.base_ahead || base.settles_at_open();
        if (!existing.is_empty() || r.undone) && settle {
            // Make the recovered state durable in the base, then the files can go (a damaged
            // log is kept, renamed, for whoever investigates).
            base.settle()?;
            for (_, p) in &existing {
                if r.gap {
                    fs::rename(p, p.with_extension("wal-damaged"))?;
                } else {
                    fs::remove_file(p)?;
                }
            }
            sync_dir(dir)?;
            if r.gap {
                tracing::error!(
                    dir = %dir.display(),
                    "write-ahead log has a gap (a damaged record): changes after it were not replayed; files kept as *.wal-damaged"
                );
            }
        } else if !existing.is_empty() {
            // Nothing replayed: the base already holds every record of the files, durably (what
            // redb shows at open is durable: a crash takes it back to its last durable commit, a
            // clean close makes everything durable). Kept, they were read again at every start,
            // and a start that kept failing (its port taken) added a file each time.
            for (_, p) in &existing {
                fs::remove_file(p)?;
            }
            sync_dir(dir)?;
        }
        let seq = existing.last().map(|(s, _)| s + 1).unwrap_or(1);
        let (file, bytes, zeroed) = create(dir, seq, last, sync)?;
        Ok(Self::new(
            base,
            dir,
            limits,
            sync,
            last,
            Tail {
                file,
                seq,
                bytes,
                zeroed,
            },
        ))
    }

    /// Nothing was written since the last open or checkpoint (the log is one file holding its
    /// anchor, then zeros): that file is written on, so an idle store opens without a single
    /// sync (an admin command, a restart of a quiet box).
    fn reuse(r: &Replayed, existing: &[(u64, PathBuf)]) -> Result<Option<Tail>, StoreError> {
        let [(seq, path)] = existing else {
            return Ok(None);
        };
        if r.changed_base() {
            return Ok(None);
        }
        let bytes = fs::read(path)?;
        let mut rd = bytes.as_slice();
        if !matches!(read_record(&mut rd), Some((lsn, ops)) if ops.is_empty() && lsn == r.last_lsn)
        {
            return Ok(None);
        }
        let end = bytes.len() - rd.len();
        if rd.iter().any(|&b| b != 0) {
            return Ok(None);
        }
        let file = OpenOptions::new().write(true).open(path)?;
        Ok(Some(Tail {
            file,
            seq: *seq,
            bytes: end as u64,
            zeroed: bytes.len() as u64,
        }))
    }

    fn new(
        base: Arc<B>,
        dir: &Path,
        limits: (u64, Duration),
        sync: bool,
        last: u64,
        tail: Tail,
    ) -> Self {
        let Tail {
            file,
            seq,
            bytes,
            zeroed,
        } = tail;
        let generation = base.generation();
        Self {
            base,
            dir: dir.to_path_buf(),
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(64 << 10),
                next_lsn: last + 1,
            }),
            shared: Arc::new(Shared {
                overlay: RwLock::new(Overlay::default()),
                draining: Mutex::new(()),
                visible: RwLock::new(()),
                seen_generation: AtomicU64::new(generation),
            }),
            io: Mutex::new(Io {
                file: Some(file),
                seq,
                bytes,
                zeroed,
                since: Instant::now(),
                synced: last,
                carry: Vec::new(),
                spare: Vec::with_capacity(64 << 10),
            }),
            sync,
            checkpointing: Arc::new(AtomicBool::new(false)),
            checkpoint: Mutex::new(None),
            limits,
        }
    }

    #[cfg(test)]
    pub fn base(&self) -> &B {
        &self.base
    }

    /// The overlay and its drain's rules, and the number of the file written now.
    #[cfg(test)]
    pub(super) fn for_checkpoint(&self) -> (&Shared, u64) {
        (&self.shared, self.io.lock().expect("io").seq)
    }

    /// Writes `chunk` (after any carried records, into a new file if the last write failed)
    /// and syncs it.
    fn write_out(&self, io: &mut Io, chunk: &[u8]) -> std::io::Result<()> {
        if io.file.is_none() {
            let (f, n, z) = create(&self.dir, io.seq + 1, io.synced, self.sync)?;
            io.seq += 1;
            io.bytes = n;
            io.zeroed = z;
            io.since = Instant::now();
            io.file = Some(f);
        }
        let f = io.file.as_ref().expect("file just ensured");
        let mut at = io.bytes;
        for part in [&io.carry[..], chunk] {
            f.write_all_at(part, at)?;
            at += part.len() as u64;
        }
        if at > io.zeroed {
            // Past the zeros: this sync changes the size anyway, so it also lays the next
            // zeros, and the following syncs overwrite in place.
            // Best effort: on a nearly full disk the records still go, without zeros ahead.
            let end = (at + ZERO_AHEAD).next_multiple_of(64 << 10);
            io.zeroed = match write_zeros(f, at, end) {
                Ok(()) => end,
                Err(_) => at,
            };
        }
        if self.sync {
            f.sync_data()?;
        }
        io.bytes = at;
        io.carry.clear();
        Ok(())
    }

    /// Starts a new file, anchored at the last record synced; returns the number of the last
    /// file before it. Every record in those files is in the base (applied before it was
    /// logged), so a checkpoint may remove them once the base is durable.
    fn rotate(&self, io: &mut Io) -> std::io::Result<u64> {
        let (f, n, z) = create(&self.dir, io.seq + 1, io.synced, self.sync)?;
        let old = io.seq;
        io.seq += 1;
        io.bytes = n;
        io.zeroed = z;
        io.since = Instant::now();
        io.file = Some(f);
        Ok(old)
    }

    /// Starts a new file and, on a thread of its own, makes the base durable and removes the
    /// older files. Called with `io` held, right after a successful sync.
    fn start_checkpoint(&self, io: &mut Io) -> std::io::Result<()> {
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let old = match self.rotate(io) {
            Ok(old) => old,
            Err(e) => {
                self.checkpointing.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let (base, dir, flag, shared) = (
            self.base.clone(),
            self.dir.clone(),
            self.checkpointing.clone(),
            self.shared.clone(),
        );
        let handle = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                if let Err(e) = checkpoint(&shared, &*base, &dir, old) {
                    tracing::warn!(error = %e, "write-ahead log checkpoint failed; retried later");
                }
                flag.store(false, Ordering::Release);
            })?;
        let prev = self
            .checkpoint
            .lock()
            .expect("checkpoint handle")
            .replace(handle);
        if let Some(h) = prev {
            let _ = h.join();
        }
        Ok(())
    }

    /// The log's checkpoint, here and now: the files before a new one go once the base is
    /// durable, as `start_checkpoint` does on its thread (after a running one has ended).
    fn checkpoint_now(&self) -> Result<(), StoreError> {
        while self.checkpointing.swap(true, Ordering::AcqRel) {
            let running = self.checkpoint.lock().expect("checkpoint handle").take();
            match running {
                Some(h) => {
                    let _ = h.join();
                }
                None => std::thread::yield_now(),
            }
        }
        let rotated = self.rotate(&mut self.io.lock().expect("write-ahead log io poisoned"));
        let result = rotated
            .map_err(wal_err)
            .and_then(|old| checkpoint(&self.shared, &*self.base, &self.dir, old));
        self.checkpointing.store(false, Ordering::Release);
        result
    }

    /// After the base was reopened (a storage fault, `SledEngine`), what it had not flushed is
    /// gone: everything since the last checkpoint is applied again from the log files, the
    /// records carried after a failed write and the ones not written yet, in order.
    fn catch_up(&self) -> Result<(), StoreError> {
        let seen = self.shared.seen_generation.load(Ordering::Acquire);
        if self.base.generation() == seen {
            return Ok(());
        }
        // The order `flush` takes them in.
        let io = self.io.lock().expect("write-ahead log io poisoned");
        let p = self.pending.lock().expect("write-ahead log poisoned");
        let _w = self
            .shared
            .visible
            .write()
            .expect("write-ahead log visibility poisoned");
        let now = self.base.generation();
        if now == self.shared.seen_generation.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut n = 0u64;
        let mut replayer = Replayer::new(&*self.base);
        walk(&files(&self.dir)?, &mut |lsn, ops| {
            n += 1;
            replayer.push(lsn, ops)
        })?;
        for buf in [&io.carry, &p.buf] {
            let mut r = buf.as_slice();
            while let Some((lsn, ops)) = read_record(&mut r) {
                n += 1;
                replayer.push(lsn, ops)?;
            }
        }
        replayer.finish()?;
        tracing::warn!(records = n, "store reopened: write-ahead log applied again");
        self.shared.seen_generation.store(now, Ordering::Release);
        Ok(())
    }

    /// Moves every change waiting in the overlay into the base, as one (see `drain`).
    pub fn drain_overlay(&self) -> Result<(), StoreError> {
        self.catch_up()?;
        drain(&self.shared, &*self.base)
    }

    /// Bounds the overlay: drained here past `OVERLAY_DRAIN_BYTES`; past `OVERLAY_MAX_BYTES`
    /// (the base refusing it) a new change is refused.
    fn bound_overlay(&self) -> Result<(), StoreError> {
        let bytes = self
            .shared
            .overlay
            .read()
            .expect("overlay poisoned")
            .bytes();
        if bytes < OVERLAY_DRAIN_BYTES {
            return Ok(());
        }
        match self.drain_overlay() {
            Ok(()) => Ok(()),
            Err(e) if bytes >= OVERLAY_MAX_BYTES => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "changes not yet moved into the store; retried");
                Ok(())
            }
        }
    }
}

/// Moves the overlay's waiting changes into the base in one `apply_changes`, then lets their
/// keys leave the overlay. Readers see each key in the overlay until the base shows it.
///
/// Not into a base whose generation our log was not applied to yet (`catch_up`): it lost what
/// the log files hold, and a later checkpoint must not take it for whole. A failed drain puts
/// its changes back; they are still in the log.
fn drain<B: LogBase>(shared: &Shared, base: &B) -> Result<(), StoreError> {
    let _one = shared.draining.lock().expect("drain poisoned");
    if base.generation() != shared.seen_generation.load(Ordering::Acquire) {
        return Ok(());
    }
    let batch = {
        let mut o = shared.overlay.write().expect("overlay poisoned");
        if o.nothing_to_take() {
            return Ok(());
        }
        o.take()
    };
    match base.apply_changes(&batch, &shared.visible) {
        Ok(()) => {
            shared
                .overlay
                .write()
                .expect("overlay poisoned")
                .drained(&batch);
            Ok(())
        }
        Err(e) => {
            shared
                .overlay
                .write()
                .expect("overlay poisoned")
                .put_back(batch);
            Err(e)
        }
    }
}

/// Writes zeros over `from..to` of `f`.
fn write_zeros(f: &File, from: u64, to: u64) -> std::io::Result<()> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let mut at = from;
    while at < to {
        let n = (to - at).min(ZEROS.len() as u64) as usize;
        f.write_all_at(&ZEROS[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// A new log file beginning with its anchor (an empty record numbered `last`) and zeros up to
/// `ZERO_AHEAD`, synced, and its directory entry synced. Returns the file, where the next
/// record goes and the file's length.
fn create(dir: &Path, seq: u64, last: u64, sync: bool) -> std::io::Result<(File, u64, u64)> {
    // Truncated, not `create_new`: a file of this number left by an attempt that failed (a
    // full disk) holds at most part of its anchor, nothing acknowledged.
    let path = dir.join(file_name(seq));
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let mut anchor = Vec::new();
    encode(&mut anchor, last, &[]);
    let n = anchor.len() as u64;
    let mut zeroed = ZERO_AHEAD;
    let done = f
        .write_all_at(&anchor, 0)
        .map(|_| {
            // Best effort, as in `write_out`.
            if write_zeros(&f, n, ZERO_AHEAD).is_err() {
                zeroed = n;
            }
        })
        .and_then(|_| if sync { f.sync_data() } else { Ok(()) })
        .and_then(|_| sync_dir(dir));
    if let Err(e) = done {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok((f, n, zeroed))
}

/// Everything applied into the base, the base durable, then every log file up to `upto`
/// removed — unless the base is not of the generation our log was applied to, before or after
/// (a reopen after a storage fault rolls it back to its last durable state: made durable then,
/// it lacks what those files hold, which a later `catch_up` applies again from them).
pub(super) fn checkpoint<B: LogBase>(
    shared: &Shared,
    base: &B,
    dir: &Path,
    upto: u64,
) -> Result<(), StoreError> {
    let generation = base.generation();
    if generation != shared.seen_generation.load(Ordering::Acquire) {
        return Err(StoreError::Engine(
            "store reopened and not yet caught up; log files kept".into(),
        ));
    }
    drain(shared, base)?;
    base.flush()?;
    if base.generation() != generation {
        return Err(StoreError::Engine(
            "store reopened during the checkpoint; log files kept".into(),
        ));
    }
    let mut removed = false;
    for (seq, p) in files(dir)? {
        if seq <= upto {
            fs::remove_file(p)?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(())
}

impl<B: LogBase> Drop for WalEngine<B> {
    /// Writes out what is pending (a maintenance command that applied without waiting for a
    /// flush), then waits for a running checkpoint.
    fn drop(&mut self) {
        if let Err(e) = Engine::flush(self) {
            tracing::warn!(error = %e, "write-ahead log not written at close");
        }
        if let Err(e) = self.drain_overlay() {
            tracing::warn!(error = %e, "changes left to the log at close");
        }
        if let Some(h) = self.checkpoint.lock().ok().and_then(|mut h| h.take()) {
            let _ = h.join();
        }
    }
}

/// A scan whose every step waits for a multi-op apply in progress.
struct Guarded<'a> {
    inner: KvIter<'a>,
    visible: &'a RwLock<()>,
}

impl Iterator for Guarded<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        let _r = self
            .visible
            .read()
            .expect("write-ahead log visibility poisoned");
        self.inner.next()
    }
}

impl<B: LogBase> WalEngine<B> {
    /// `[start, end)` of `tree` (None: to its end), the overlay laid over the base's scan. Both
    /// are taken under the overlay's lock, which a drain needs to take a batch: so the base
    /// can show no change newer than the overlay's copy (a scan never sees a change torn).
    fn merged<'a>(
        &'a self,
        tree: &str,
        start: &[u8],
        end: Option<&[u8]>,
        rev: bool,
        base: impl FnOnce() -> Result<KvIter<'a>, StoreError>,
    ) -> Result<KvIter<'a>, StoreError> {
        self.catch_up()?;
        let o = self.shared.overlay.read().expect("overlay poisoned");
        let over = o.range(tree, start, end);
        let inner: KvIter<'a> = Box::new(Guarded {
            inner: base()?,
            visible: &self.shared.visible,
        });
        drop(o);
        if over.is_empty() {
            return Ok(inner);
        }
        Ok(Box::new(Merged::new(inner, over, rev)))
    }
}

impl<B: LogBase> Engine for WalEngine<B> {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.catch_up()?;
        {
            let o = self.shared.overlay.read().expect("overlay poisoned");
            if let Some(v) = o.get(tree, key) {
                return Ok(v.map(<[u8]>::to_vec));
            }
        }
        // Not in the overlay: the base shows its newest value (a drain lets a key go only
        // once the base shows it).
        let _r = self
            .shared
            .visible
            .read()
            .expect("write-ahead log visibility poisoned");
        self.base.get(tree, key)
    }

    /// The overlay's keys from it, the rest from the base in one read (each key as `get` reads
    /// it: the overlay first, then the base, which shows whatever a drain let go).
    fn get_many(&self, tree: &str, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.catch_up()?;
        let mut out: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        let mut missed: Vec<usize> = Vec::new();
        {
            let o = self.shared.overlay.read().expect("overlay poisoned");
            for (i, k) in keys.iter().enumerate() {
                match o.get(tree, k) {
                    Some(v) => out[i] = v.map(<[u8]>::to_vec),
                    None => missed.push(i),
                }
            }
        }
        if missed.is_empty() {
            return Ok(out);
        }
        let _r = self
            .shared
            .visible
            .read()
            .expect("write-ahead log visibility poisoned");
        let ask: Vec<&[u8]> = missed.iter().map(|&i| keys[i]).collect();
        for (i, v) in missed.into_iter().zip(self.base.get_many(tree, &ask)?) {
            out[i] = v;
        }
        Ok(out)
    }

    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        let end = super::engine::prefix_end(prefix);
        self.merged(tree, prefix, end.as_deref(), false, || {
            self.base.scan(tree, prefix)
        })
    }

    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        let end = super::engine::prefix_end(prefix);
        self.merged(tree, prefix, end.as_deref(), true, || {
            self.base.scan_rev(tree, prefix)
        })
    }

    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError> {
        self.merged(tree, start, Some(end), false, || {
            self.base.range(tree, start, end)
        })
    }

    /// Numbers the change, adds it to the overlay (readers see it at once) and to the log's
    /// buffer; the base gets it with the next drain.
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.catch_up()?;
        self.bound_overlay()?;
        let mut p = self.pending.lock().expect("write-ahead log poisoned");
        let lsn = p.next_lsn;
        self.shared
            .overlay
            .write()
            .expect("overlay poisoned")
            .add(lsn, ops);
        p.next_lsn += 1;
        encode(&mut p.buf, lsn, ops);
        let full = p.buf.len() >= PENDING_FLUSH_BYTES;
        drop(p);
        if full {
            // Applied either way; a failed write stays in `carry` for the next flush, and the
            // caller's own flush reports it.
            if let Err(e) = self.flush() {
                tracing::warn!(error = %e, "write-ahead log: records not yet written; retried");
            }
        }
        Ok(())
    }

    fn drain(&self) -> Result<(), StoreError> {
        self.drain_overlay()
    }

    /// Moves the base's own recovery point up (a reopen, see `SledEngine::swap_reopen`); our log
    /// is written out first and applied again after the reopen (a harmless repeat).
    fn checkpoint(&self) -> Result<(), StoreError> {
        self.flush()?;
        self.drain_overlay()?;
        self.base.checkpoint()?;
        if self.base.generation() != self.shared.seen_generation.load(Ordering::Acquire) {
            // A base that reopened to checkpoint (sled) takes the log again first
            // (`catch_up`): its files go at the next checkpoint of the log's own.
            return Ok(());
        }
        self.checkpoint_now()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.catch_up()?;
        let mut io = self.io.lock().expect("write-ahead log io poisoned");
        let mut chunk = std::mem::take(&mut io.spare);
        let last = {
            let mut p = self.pending.lock().expect("write-ahead log poisoned");
            std::mem::swap(&mut p.buf, &mut chunk);
            p.next_lsn - 1
        };
        if chunk.is_empty() && io.carry.is_empty() {
            io.spare = chunk;
            return Ok(());
        }
        match self.write_out(&mut io, &chunk) {
            Ok(()) => {
                chunk.clear();
                if chunk.capacity() > 1 << 20 {
                    // A big batch (Post Muster) grew it: do not keep that for the process's life.
                    chunk = Vec::with_capacity(64 << 10);
                }
                io.spare = chunk;
                io.synced = last;
                super::fault::clear();
                let (max_bytes, max_age) = self.limits;
                if io.bytes >= max_bytes || io.since.elapsed() >= max_age {
                    if let Err(e) = self.start_checkpoint(&mut io) {
                        tracing::warn!(error = %e, "write-ahead log checkpoint not started");
                    }
                }
                Ok(())
            }
            Err(e) => {
                io.carry.extend_from_slice(&chunk);
                io.file = None;
                Err(wal_err(e))
            }
        }
    }

    fn tree_names(&self) -> Vec<String> {
        let mut names = self.base.tree_names();
        let o = self.shared.overlay.read().expect("overlay poisoned");
        for t in o.trees() {
            if !names.iter().any(|n| n == t) {
                names.push(t.to_string());
            }
        }
        names
    }

    fn size_on_disk(&self) -> u64 {
        let wal: u64 = files(&self.dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, p)| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        self.base.size_on_disk() + wal
    }
}
