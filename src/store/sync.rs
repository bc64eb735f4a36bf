//! What sled 0.34's flush leaves to chance on a power cut, made durable after each flush.
//!
//! sled writes its log with `pwrite` + `sync_file_range` (sled#1452): that starts writeback of
//! the range but flushes neither the file's size (appends) nor the drive's write cache, so an
//! acknowledged write can vanish in a power cut although it survives kill -9. It writes large
//! values as files under `db/blobs/` and its `conf` without any fsync, and never fsyncs the
//! directory after creating files. The power-loss campaign (scripts/power-loss.sh, on a FUSE
//! filesystem that drops everything not fsynced) showed acknowledged writes lost on a cut.
//!
//! So after each sled flush (once per group commit, shared by every writer it covers) we
//! `fdatasync` the log file, any new file under `db/blobs/`, and the directories whose entries
//! changed. Cost: one fdatasync per group commit (README, "Reliability campaigns").

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::StoreError;

/// Set to `1` only to measure or demonstrate the unsafe behaviour (power-loss campaign, store
/// bench): acknowledged writes may then be lost on a power cut.
pub const DISABLE_ENV: &str = "UNSAFE_GATEHOUSE_NO_FDATASYNC";

pub struct FileSync {
    dir: PathBuf,
    log: File,
    state: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Names in `db/` at the last directory fsync.
    dir_entries: HashSet<std::ffi::OsString>,
    /// Files under `db/blobs/` already synced (sled never rewrites one in place).
    blobs: HashSet<std::ffi::OsString>,
    first_done: bool,
}

impl FileSync {
    /// None when disabled by `DISABLE_ENV`.
    pub fn open(dir: &Path) -> Result<Option<Self>, StoreError> {
        if std::env::var(DISABLE_ENV).is_ok_and(|v| v == "1") {
            tracing::warn!(
                "{DISABLE_ENV}=1: the store's files are not fdatasynced after flushes; acknowledged writes may be lost on a power cut"
            );
            return Ok(None);
        }
        // fsync works on a read-only descriptor: it syncs the inode, whoever wrote it.
        let log = File::open(dir.join("db"))?;
        Ok(Some(Self {
            dir: dir.to_path_buf(),
            log,
            state: Mutex::new(Seen::default()),
        }))
    }

    /// Called after sled's own flush returned.
    pub fn after_flush(&self) -> Result<(), StoreError> {
        self.log.sync_data()?;
        let mut seen = self.state.lock().expect("file sync state poisoned");
        if !seen.first_done {
            // sled writes `conf` once, unsynced; without it the store does not open.
            File::open(self.dir.join("conf"))?.sync_all()?;
            if let Some(parent) = self.dir.parent() {
                File::open(parent)?.sync_all()?;
            }
            seen.first_done = true;
        }
        let blobs_dir = self.dir.join("blobs");
        let mut new_blob = false;
        if let Ok(rd) = std::fs::read_dir(&blobs_dir) {
            let mut present = HashSet::new();
            for e in rd.flatten() {
                let name = e.file_name();
                if !seen.blobs.contains(&name) {
                    File::open(e.path())?.sync_data()?;
                    new_blob = true;
                }
                present.insert(name);
            }
            // Forget removed blobs, so the set stays the size of the directory.
            if present.len() != seen.blobs.len() || new_blob {
                seen.blobs = present;
            }
        }
        if new_blob {
            File::open(&blobs_dir)?.sync_all()?;
        }
        let entries: HashSet<_> = std::fs::read_dir(&self.dir)?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        if entries != seen.dir_entries {
            File::open(&self.dir)?.sync_all()?;
            seen.dir_entries = entries;
        }
        Ok(())
    }
}
