//! The write-ahead log's replay rules, on real sled databases and real files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::engine::{Op, SledEngine};
use super::wal::{self, WalEngine};
use super::Engine;

fn put(tree: &str, k: &str, v: &str) -> Op {
    Op {
        tree: tree.into(),
        key: k.as_bytes().to_vec(),
        value: Some(v.as_bytes().to_vec()),
    }
}

fn del(tree: &str, k: &str) -> Op {
    Op {
        tree: tree.into(),
        key: k.as_bytes().to_vec(),
        value: None,
    }
}

fn sled(dir: &Path) -> Arc<SledEngine> {
    Arc::new(SledEngine::open(dir, 4 << 20).unwrap())
}

fn val(e: &dyn Engine, tree: &str, k: &str) -> Option<String> {
    e.get(tree, k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

/// Writes records `(lsn, ops)` into one log file, as the engine would.
pub(super) fn write_file(path: &Path, records: &[(u64, Vec<Op>)]) -> Vec<usize> {
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    for (lsn, ops) in records {
        wal::encode(&mut buf, *lsn, ops);
        ends.push(buf.len());
    }
    std::fs::write(path, &buf).unwrap();
    ends
}

/// Stores an intent as `WalEngine` does before a multi-op change: its number and the keys'
/// previous values.
fn set_intent(s: &SledEngine, lsn: u64, before: &[Op]) {
    let mut rec = Vec::new();
    wal::encode(&mut rec, lsn, before);
    s.apply(&[Op {
        tree: wal::META_TREE.into(),
        key: wal::INTENT_KEY.to_vec(),
        value: Some(rec),
    }])
    .unwrap();
}

/// The log files of `from`, copied into `to`.
fn copy_log(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (_, p) in wal::files(from).unwrap() {
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn no_checkpoint() -> (u64, Duration) {
    (u64::MAX, Duration::from_secs(3600))
}

#[test]
fn a_flushed_write_survives_losing_everything_sled_had_not_flushed() {
    let a = tempfile::tempdir().unwrap();
    let wal_dir = a.path().join("wal");
    {
        let e =
            WalEngine::open_with(sled(&a.path().join("db")), &wal_dir, no_checkpoint()).unwrap();
        e.apply(&[put("t", "k1", "v1")]).unwrap();
        e.apply(&[put("t", "k2", "v2"), put("u", "x", "1")])
            .unwrap();
        e.apply(&[del("t", "k1")]).unwrap();
        e.flush().unwrap();
        // Copy the log as a power cut would leave it: sled's own files are not kept.
        copy_log(&wal_dir, &a.path().join("copy"));
    }
    let fresh = tempfile::tempdir().unwrap();
    let e = WalEngine::open_with(
        sled(&fresh.path().join("db")),
        &a.path().join("copy"),
        no_checkpoint(),
    )
    .unwrap();
    assert_eq!(val(&e, "t", "k1"), None);
    assert_eq!(val(&e, "t", "k2").as_deref(), Some("v2"));
    assert_eq!(val(&e, "u", "x").as_deref(), Some("1"));
    // Replayed and checkpointed: the old files are gone; the new one holds its anchor alone.
    let left = wal::files(&a.path().join("copy")).unwrap();
    assert_eq!(left.len(), 1);
    let bytes = std::fs::read(&left[0].1).unwrap();
    assert_eq!(bytes.len() as u64, wal::ZERO_AHEAD);
    assert!(bytes[..20].iter().any(|&b| b != 0), "the anchor");
    assert!(
        bytes[20..].iter().all(|&b| b == 0),
        "zeros after the anchor"
    );
}

#[test]
fn a_bulk_writer_that_never_flushes_has_its_records_written_past_the_bound() {
    let a = tempfile::tempdir().unwrap();
    let wal_dir = a.path().join("wal");
    let big = "x".repeat(1 << 20);
    let e = WalEngine::open_with(sled(&a.path().join("db")), &wal_dir, no_checkpoint()).unwrap();
    // The n-th record takes the waiting bytes past the bound (each is a little over 1 MiB).
    let n = wal::PENDING_FLUSH_BYTES / big.len();
    for i in 0..n {
        e.apply(&[put("t", &format!("k{i}"), &big)]).unwrap();
    }
    e.apply(&[put("t", "last", "1")]).unwrap();
    // No flush: what a power cut now leaves of the log.
    copy_log(&wal_dir, &a.path().join("copy"));
    let fresh = tempfile::tempdir().unwrap();
    let r = WalEngine::open_with(
        sled(&fresh.path().join("db")),
        &a.path().join("copy"),
        no_checkpoint(),
    )
    .unwrap();
    for i in 0..n {
        assert_eq!(
            val(&r, "t", &format!("k{i}")).map(|v| v.len()),
            Some(big.len()),
            "k{i}"
        );
    }
    assert_eq!(
        val(&r, "t", "last"),
        None,
        "under the bound: still only in memory"
    );
}

#[test]
fn records_overwrite_the_zeros_in_place_and_the_zeros_move_ahead() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    let e = WalEngine::open_with(sled(&d.path().join("db")), &wal_dir, no_checkpoint()).unwrap();
    let file = || wal::files(&wal_dir).unwrap().pop().unwrap().1;
    let len = || std::fs::metadata(file()).unwrap().len();
    assert_eq!(len(), wal::ZERO_AHEAD);
    for i in 0..50 {
        e.apply(&[put("t", &format!("k{i}"), "v")]).unwrap();
        e.flush().unwrap();
    }
    // 50 small flushes: written over the zeros, the file's length (its inode) unchanged.
    assert_eq!(len(), wal::ZERO_AHEAD);
    // One record bigger than what is left: the file grows past it, zeros ahead again.
    let big = "x".repeat(300 << 10);
    e.apply(&[put("t", "big", &big)]).unwrap();
    e.flush().unwrap();
    let grown = len();
    assert!(grown >= (300 << 10) + wal::ZERO_AHEAD, "{grown}");
    assert_eq!(grown % (64 << 10), 0);
    let bytes = std::fs::read(file()).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
    assert!(
        grown - end as u64 >= wal::ZERO_AHEAD - 8,
        "zeros ahead of the last record"
    );
    drop(e);
    // Everything replays from a file full of zeros after its records.
    let fresh = tempfile::tempdir().unwrap();
    let s = sled(&fresh.path().join("db"));
    let r = wal::recover(&*s, &wal::files(&wal_dir).unwrap()).unwrap();
    assert!(!r.gap);
    assert_eq!(val(s.as_ref(), "t", "k49").as_deref(), Some("v"));
    assert_eq!(
        val(s.as_ref(), "t", "big").map(|v| v.len()),
        Some(300 << 10)
    );
}

#[test]
fn a_record_torn_over_the_zeros_ends_the_log() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    {
        let e =
            WalEngine::open_with(sled(&d.path().join("db")), &wal_dir, no_checkpoint()).unwrap();
        e.apply(&[put("t", "a", "1")]).unwrap();
        e.flush().unwrap();
        e.apply(&[put("t", "b", "2")]).unwrap();
        e.flush().unwrap();
    }
    // The crash cut the second record's write: its second half never left the cache, so the
    // zeros laid before it are still there (the file's length tells nothing here).
    let f = wal::files(&wal_dir).unwrap().pop().unwrap().1;
    let mut bytes = std::fs::read(&f).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
    let first_end = 20 + (end - 20) / 2; // anchor, then two records of equal size
    for b in &mut bytes[first_end + (end - first_end) / 2..end] {
        *b = 0;
    }
    std::fs::write(&f, &bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let s = sled(&fresh.path().join("db"));
    let r = wal::recover(&*s, &wal::files(&wal_dir).unwrap()).unwrap();
    assert_eq!((r.gap, r.last_lsn), (false, 1));
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("1"));
    assert_eq!(val(s.as_ref(), "t", "b"), None);
}

/// A damaged header may claim a record of up to a gigabyte: reading it allocates what the file
/// holds after it, not what it claims. A 1 GiB allocation is refused outright on a 1 GB box
/// without swap (the kernel's overcommit check), and the start aborted, at every restart.
#[test]
fn a_torn_header_claiming_a_huge_record_costs_only_what_follows_it() {
    let mut bytes = Vec::new();
    wal::encode(&mut bytes, 1, &[put("t", "k", "v")]);
    bytes.extend_from_slice(&(1u32 << 30).to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend(std::iter::repeat_n(7u8, 64 << 10));
    let mut r = bytes.as_slice();
    assert!(matches!(wal::read_record(&mut r), Some((1, ops)) if ops.len() == 1));
    crate::test_alloc::reset_peak();
    let before = crate::test_alloc::held();
    assert!(wal::read_record(&mut r).is_none());
    let grew = crate::test_alloc::peak() - before;
    assert!(grew < 1 << 20, "reading the torn record took {grew} bytes");
}

#[test]
fn replay_stops_at_a_torn_tail() {
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    let f = d.path().join("0000000000000001.wal");
    let ends = write_file(
        &f,
        &[
            (1, vec![put("t", "a", "1")]),
            (2, vec![put("t", "b", "2")]),
            (3, vec![put("t", "c", "3")]),
        ],
    );
    // The last record cut in the middle (the write the crash interrupted).
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..ends[1] + 5]).unwrap();
    let r = wal::recover(&*s, &wal::files(d.path()).unwrap()).unwrap();
    assert_eq!((r.applied, r.gap, r.last_lsn), (2, false, 2));
    assert_eq!(val(s.as_ref(), "t", "b").as_deref(), Some("2"));
    assert_eq!(val(s.as_ref(), "t", "c"), None);
}

#[test]
fn a_bad_checksum_ends_the_file_and_a_later_gap_applies_nothing_more() {
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    let f1 = d.path().join("0000000000000001.wal");
    let ends = write_file(
        &f1,
        &[
            (1, vec![put("t", "a", "1")]),
            (2, vec![put("t", "b", "2")]),
            (3, vec![put("t", "c", "3")]),
        ],
    );
    let mut bytes = std::fs::read(&f1).unwrap();
    bytes[ends[0] + 12] ^= 0x40; // inside record 2's payload
    std::fs::write(&f1, &bytes).unwrap();
    // A later file continuing at 4: record 2 and 3 are missing before it.
    write_file(
        &d.path().join("0000000000000002.wal"),
        &[(4, vec![put("t", "d", "4")])],
    );
    let r = wal::recover(&*s, &wal::files(d.path()).unwrap()).unwrap();
    assert_eq!((r.applied, r.gap), (1, true));
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("1"));
    for k in ["b", "c", "d"] {
        assert_eq!(val(s.as_ref(), "t", k), None, "{k}");
    }
}

#[test]
fn records_rewritten_after_a_failed_write_replay_once_in_order() {
    // After a failed write the engine starts a new file with the records not known durable:
    // the old file may hold some of them too. Overlap is not a gap.
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    write_file(
        &d.path().join("0000000000000001.wal"),
        &[(1, vec![put("t", "a", "1")]), (2, vec![put("t", "a", "2")])],
    );
    write_file(
        &d.path().join("0000000000000002.wal"),
        &[(2, vec![put("t", "a", "2")]), (3, vec![put("t", "a", "3")])],
    );
    let r = wal::recover(&*s, &wal::files(d.path()).unwrap()).unwrap();
    assert!(!r.gap);
    assert_eq!(r.last_lsn, 3);
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("3"));
}

#[test]
fn replay_is_idempotent() {
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    write_file(
        &d.path().join("0000000000000001.wal"),
        &[
            (0, vec![]),
            (1, vec![put("t", "a", "1"), put("u", "b", "1")]),
            (2, vec![put("t", "a", "2"), del("u", "b")]),
        ],
    );
    let files = wal::files(d.path()).unwrap();
    for _ in 0..3 {
        let r = wal::recover(&*s, &files).unwrap();
        assert!(!r.gap && !r.undone);
        assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("2"));
        assert_eq!(val(s.as_ref(), "u", "b"), None);
    }
}

#[test]
fn a_half_applied_change_the_log_lacks_is_put_back() {
    // sled's files reached the disk with the intent of change 2 and part of it (a=2, not c=2);
    // the log was durable only up to change 1: change 2 was never acknowledged.
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    write_file(
        &d.path().join("0000000000000001.wal"),
        &[
            (0, vec![]),
            (1, vec![put("t", "a", "1"), put("u", "b", "1")]),
        ],
    );
    s.apply(&[put("t", "a", "1"), put("u", "b", "1")]).unwrap();
    set_intent(&s, 2, &[put("t", "a", "1"), del("v", "c")]);
    s.apply(&[put("t", "a", "2")]).unwrap();
    let r = wal::recover(&*s, &wal::files(d.path()).unwrap()).unwrap();
    assert!(r.undone);
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("1"));
    assert_eq!(val(s.as_ref(), "u", "b").as_deref(), Some("1"));
    assert_eq!(val(s.as_ref(), "v", "c"), None);
    assert_eq!(r.last_lsn, 2, "the number is not handed out again");
}

#[test]
fn a_half_applied_change_the_log_holds_is_completed() {
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    write_file(
        &d.path().join("0000000000000001.wal"),
        &[
            (0, vec![]),
            (1, vec![put("t", "a", "1")]),
            (2, vec![put("t", "a", "2"), put("v", "c", "2")]),
            (3, vec![put("t", "a", "3")]),
        ],
    );
    s.apply(&[put("t", "a", "1")]).unwrap();
    set_intent(&s, 2, &[put("t", "a", "1"), del("v", "c")]);
    s.apply(&[put("t", "a", "2")]).unwrap();
    let r = wal::recover(&*s, &wal::files(d.path()).unwrap()).unwrap();
    assert!(!r.undone);
    assert_eq!((r.skipped, r.applied, r.last_lsn), (2, 2, 3));
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("3"));
    assert_eq!(val(s.as_ref(), "v", "c").as_deref(), Some("2"));
}

#[test]
fn without_any_log_file_nothing_is_undone() {
    // A log directory emptied by hand says nothing about the newest change: it stays.
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    set_intent(&s, 7, &[del("t", "a")]);
    s.apply(&[put("t", "a", "7")]).unwrap();
    let r = wal::recover(&*s, &[]).unwrap();
    assert!(!r.undone);
    assert_eq!(r.last_lsn, 7);
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("7"));
}

#[test]
fn a_multi_op_apply_leaves_its_intent_and_a_reopen_clears_it() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let wal_dir = d.path().join("wal");
    {
        let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
        e.apply(&[put("t", "a", "1")]).unwrap();
        e.apply(&[put("t", "a", "2"), put("u", "b", "2")]).unwrap();
        e.flush().unwrap();
    }
    {
        // The intent: number 2 and the values before it (a was 1, b absent).
        let s = sled(&db);
        let mut rec = Vec::new();
        wal::encode(&mut rec, 2, &[put("t", "a", "1"), del("u", "b")]);
        assert_eq!(s.get(wal::META_TREE, wal::INTENT_KEY).unwrap(), Some(rec));
    }
    let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
    assert_eq!(val(&e, "t", "a").as_deref(), Some("2"));
    assert_eq!(val(&e, "u", "b").as_deref(), Some("2"));
    assert_eq!(e.base().get(wal::META_TREE, wal::INTENT_KEY).unwrap(), None);
    assert!(!e.tree_names().iter().any(|n| n == wal::META_TREE));
}

#[test]
fn checkpoints_rotate_and_remove_old_files_and_every_write_survives_a_reopen() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    {
        // A checkpoint after every flush of at least 1 KiB.
        let e = WalEngine::open_with(
            sled(&d.path().join("db")),
            &wal_dir,
            (1024, Duration::from_secs(3600)),
        )
        .unwrap();
        for i in 0..200 {
            let k = format!("k{i:03}");
            e.apply(&[put("t", &k, &"x".repeat(64)), put("i", &k, "1")])
                .unwrap();
            if i % 10 == 9 {
                e.flush().unwrap();
            }
        }
        e.apply(&[del("t", "k000")]).unwrap();
        e.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        // Old files are removed by the checkpoints: never more than a few left.
        assert!(wal::files(&wal_dir).unwrap().len() <= 3);
    }
    let e = WalEngine::open(sled(&d.path().join("db")), &wal_dir).unwrap();
    assert_eq!(val(&e, "t", "k000"), None);
    assert_eq!(val(&e, "t", "k199").as_deref(), Some(&*"x".repeat(64)));
    assert_eq!(val(&e, "i", "k150").as_deref(), Some("1"));
    assert!(!e.tree_names().iter().any(|n| n == wal::META_TREE));
}

#[test]
fn a_crash_between_checkpoint_and_file_removal_replays_harmlessly() {
    // Old files still there after sled was flushed: replaying them, then the newer file,
    // ends in the newest state.
    let d = tempfile::tempdir().unwrap();
    let s = sled(&d.path().join("db"));
    write_file(
        &d.path().join("0000000000000001.wal"),
        &[
            (0, vec![]),
            (1, vec![put("t", "a", "1")]),
            (2, vec![put("t", "a", "2"), put("u", "b", "2")]),
        ],
    );
    s.apply(&[put("t", "a", "1")]).unwrap();
    set_intent(&s, 2, &[put("t", "a", "1"), del("u", "b")]);
    s.apply(&[put("t", "a", "2"), put("u", "b", "2")]).unwrap();
    s.apply(&[put("t", "a", "3")]).unwrap();
    s.flush().unwrap();
    write_file(
        &d.path().join("0000000000000002.wal"),
        &[
            (2, vec![]),
            (3, vec![put("t", "a", "3")]),
            (4, vec![del("u", "b")]),
        ],
    );
    let r = wal::recover(&*s, &wal::files(d.path()).unwrap()).unwrap();
    assert!(!r.gap && !r.undone);
    assert_eq!(val(s.as_ref(), "t", "a").as_deref(), Some("3"));
    assert_eq!(val(s.as_ref(), "u", "b"), None);
}

#[test]
fn restore_never_replays_the_old_log_over_the_restored_database() {
    use super::{backup, redb_engine::RedbEngine, Store, StoreOptions};
    let opts = || StoreOptions {
        cache_bytes: 4 << 20,
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.ghb");
    {
        let store = Store::open(dir.path(), opts()).unwrap();
        store.apply(&[put("t", "k", "1")]).unwrap();
        store.flush_blocking().unwrap();
        backup::backup(&store, &file).unwrap();
        // Newer than the backup, durable only in the log so far.
        store
            .apply(&[put("t", "k", "2"), put("u", "k", "2")])
            .unwrap();
        store.flush_blocking().unwrap();
    }
    let logged: u64 = wal::files(&dir.path().join("store/wal"))
        .unwrap()
        .iter()
        .map(|(_, p)| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(logged > 0, "the newer change is in the log");
    backup::restore(&file, dir.path(), opts()).unwrap();
    let store = Store::open(dir.path(), opts()).unwrap();
    assert_eq!(val(store.engine(), "t", "k").as_deref(), Some("1"));
    assert_eq!(val(store.engine(), "u", "k"), None);
    drop(store);
    // The store kept aside took its log along: opened, it is complete.
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("store.before-restore-")
        })
        .unwrap()
        .path();
    let old = WalEngine::open(
        Arc::new(RedbEngine::open(&kept, 4 << 20).unwrap()),
        &kept.join("wal"),
    )
    .unwrap();
    assert_eq!(val(&old, "t", "k").as_deref(), Some("2"));
    assert_eq!(val(&old, "u", "k").as_deref(), Some("2"));
}

#[test]
fn a_big_change_goes_as_one_sled_transaction_and_clears_the_intent() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let wal_dir = d.path().join("wal");
    {
        let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
        e.apply(&[put("t", "a", "1"), put("u", "b", "1")]).unwrap();
        // The base gets a change when the overlay drains (store::overlay).
        e.drain().unwrap();
        assert!(e
            .base()
            .get(wal::META_TREE, wal::INTENT_KEY)
            .unwrap()
            .is_some());
        let big: Vec<Op> = (0..super::wal_sled::BIG_CHANGE + 1)
            .map(|i| put(if i % 2 == 0 { "t" } else { "m" }, &format!("k{i:04}"), "x"))
            .collect();
        e.apply(&big).unwrap();
        e.drain().unwrap();
        // Undoing the older change over this one could tear it: no intent is left.
        assert_eq!(e.base().get(wal::META_TREE, wal::INTENT_KEY).unwrap(), None);
        e.flush().unwrap();
    }
    let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
    assert_eq!(val(&e, "m", "k0001").as_deref(), Some("x"));
    assert_eq!(
        val(&e, "t", &format!("k{:04}", super::wal_sled::BIG_CHANGE)).as_deref(),
        Some("x")
    );
    assert_eq!(val(&e, "u", "b").as_deref(), Some("1"));
}

#[test]
fn an_idle_reopen_writes_on_in_the_same_file_and_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    let db = d.path().join("db");
    let only = || {
        let f = wal::files(&wal_dir).unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        f[0].0
    };
    {
        let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
        e.apply(&[put("t", "a", "1"), put("u", "a", "1")]).unwrap();
        e.flush().unwrap();
    }
    // Changes in the log: replayed, checkpointed, a new file.
    drop(WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap());
    let after_replay = only();
    // Nothing written since: the same file, twice.
    drop(WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap());
    assert_eq!(only(), after_replay);
    {
        let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
        assert_eq!(only(), after_replay);
        e.apply(&[put("t", "b", "2")]).unwrap();
        e.flush().unwrap();
        // Keep only what the log holds: a copy of the log over a database without it.
        copy_log(&wal_dir, &d.path().join("copy"));
    }
    let fresh = tempfile::tempdir().unwrap();
    let s = sled(&fresh.path().join("db"));
    let r = wal::recover(&*s, &wal::files(&d.path().join("copy")).unwrap()).unwrap();
    assert_eq!((r.changes, r.gap), (1, false));
    assert_eq!(val(s.as_ref(), "t", "b").as_deref(), Some("2"));
    // The record written into the reused file follows its anchor's number.
    let e = WalEngine::open_with(sled(&db), &wal_dir, no_checkpoint()).unwrap();
    assert_eq!(val(&e, "t", "a").as_deref(), Some("1"));
    assert_eq!(val(&e, "t", "b").as_deref(), Some("2"));
    assert!(only() > after_replay, "the change was replayed: a new file");
}
