//! A store of an earlier release (sled 0.34 in `<state>/db`, its log in `<state>/wal`) moved
//! into redb (`<state>/store`) at the first start of this one.
//!
//! The copy is built in `<state>/store.migrating`, made durable, then renamed into place: a
//! start cut anywhere before the rename begins again from the sled store, which is untouched; a
//! start cut after it finds both and only moves the sled store aside. The sled store is kept as
//! `<state>/sled.migrated-<time>/` (its `db` and `wal`) for a technician to go back with the
//! previous release, and deleted by hand once the new one is trusted.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::engine::{Op, SledEngine};
use super::redb_engine::RedbEngine;
use super::wal::{sync_dir, WalEngine};
use super::{Engine, StoreError};

/// Ops per redb transaction while copying: bounds the copy's memory, whatever the store's size.
const BATCH: usize = 4096;
/// A progress line every this many records (a big store takes minutes on the box).
const PROGRESS_EVERY: u64 = 1_000_000;

/// Whether `state_dir` holds a sled store the next open moves (the server tells systemd the
/// start takes longer).
pub fn pending(state_dir: &Path) -> bool {
    state_dir.join("db").is_dir()
}

/// What a migration did, for the log and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    pub trees: usize,
    pub records: u64,
    /// Where the sled store was moved.
    pub kept: Option<PathBuf>,
}

/// Moves a sled store under `state_dir` into `store_dir` if there is one to move (see the
/// module doc). Returns None when there was nothing to do.
pub fn run(
    state_dir: &Path,
    store_dir: &Path,
    cache_bytes: u64,
) -> Result<Option<Migrated>, StoreError> {
    let sled_dir = state_dir.join("db");
    if !pending(state_dir) {
        return Ok(None);
    }
    let mut m = Migrated::default();
    if !store_dir.join(super::redb_engine::FILE).exists() {
        let staging = state_dir.join("store.migrating");
        if staging.exists() {
            // A migration cut short: its copy may be partial. The sled store is whole.
            fs::remove_dir_all(&staging)?;
        }
        {
            let sled = Arc::new(SledEngine::open(&sled_dir, cache_bytes)?);
            // Replays sled's own log, so the copy has every acknowledged change.
            let old = WalEngine::open(sled, &state_dir.join("wal"))?;
            let new = RedbEngine::open(&staging, cache_bytes)?;
            let mut ops = Vec::with_capacity(BATCH);
            // Without the log's own tree: `tree_names` never lists it.
            for tree in old.tree_names() {
                m.trees += 1;
                for kv in old.scan(&tree, &[])? {
                    let (key, value) = kv?;
                    ops.push(Op {
                        tree: tree.clone(),
                        key,
                        value: Some(value),
                    });
                    m.records += 1;
                    if m.records.is_multiple_of(PROGRESS_EVERY) {
                        tracing::info!(records = m.records, "moving the store from sled to redb");
                    }
                    if ops.len() == BATCH {
                        new.apply(&ops)?;
                        ops.clear();
                    }
                }
            }
            new.apply(&ops)?;
            new.flush()?;
        }
        fs::rename(&staging, store_dir)?;
        sync_dir(state_dir)?;
    }
    let kept = super::aside_path(state_dir, "sled.migrated");
    fs::create_dir(&kept)?;
    for part in ["wal", "db"] {
        let from = state_dir.join(part);
        if from.exists() {
            fs::rename(&from, kept.join(part))?;
        }
    }
    sync_dir(state_dir)?;
    tracing::warn!(
        trees = m.trees,
        records = m.records,
        kept = %kept.display(),
        "store moved from sled to redb; the sled store is kept for the previous release and can be deleted once this one is trusted"
    );
    m.kept = Some(kept);
    Ok(Some(m))
}
