//! redb under the log, and sled stores moved into it: on real databases and real files.

use std::path::Path;
use std::sync::{Arc, RwLock};

use super::engine::{Op, SledEngine};
use super::redb_engine::{RedbEngine, FILE};
use super::wal::{self, LogBase, WalEngine};
use super::{Engine, Store, StoreOptions};

fn put(tree: &str, k: &str, v: &str) -> Op {
    Op {
        tree: tree.into(),
        key: k.as_bytes().to_vec(),
        value: Some(v.as_bytes().to_vec()),
    }
}

fn val(e: &dyn Engine, tree: &str, k: &str) -> Option<String> {
    e.get(tree, k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

fn log_file(path: &Path, records: &[(u64, Vec<Op>)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    super::wal_tests::write_file(path, records);
}

fn opts() -> StoreOptions {
    StoreOptions {
        cache_bytes: 4 << 20,
    }
}

/// Records 1..=5, each setting k to its number (and record 4 also j).
fn five() -> Vec<(u64, Vec<Op>)> {
    (1..=5u64)
        .map(|n| {
            let mut ops = vec![put("t", "k", &n.to_string())];
            if n == 4 {
                ops.push(put("t", "j", "4"));
            }
            (n, ops)
        })
        .collect()
}

#[test]
fn replay_starts_after_the_change_redb_holds() {
    let d = tempfile::tempdir().unwrap();
    let redb = RedbEngine::open(d.path(), 4 << 20).unwrap();
    let visible = RwLock::new(());
    for (lsn, ops) in &five()[..3] {
        redb.apply_change(*lsn, ops, &visible).unwrap();
    }
    log_file(&d.path().join("wal/0000000000000001.wal"), &five());
    let r = wal::recover(&redb, &wal::files(&d.path().join("wal")).unwrap()).unwrap();
    assert_eq!((r.skipped, r.applied, r.last_lsn), (3, 2, 5));
    assert_eq!(val(&redb, "t", "k").as_deref(), Some("5"));
    assert_eq!(val(&redb, "t", "j").as_deref(), Some("4"));
}

/// A group of changes commits only each key's last op: what shows is what the last change
/// of the group left, a removal included, and nothing of an op a later one replaced.
#[test]
fn a_group_of_changes_leaves_each_keys_last_op() {
    let d = tempfile::tempdir().unwrap();
    let redb = RedbEngine::open(d.path(), 4 << 20).unwrap();
    let del = |tree: &str, k: &str| Op {
        tree: tree.into(),
        key: k.as_bytes().to_vec(),
        value: None,
    };
    let visible = RwLock::new(());
    redb.apply_change(1, &[put("t", "gone", "0"), put("u", "k", "0")], &visible)
        .unwrap();
    let group = vec![
        (
            2,
            vec![
                put("t", "k", "2"),
                put("t", "back", "2"),
                put("u", "k", "2"),
            ],
        ),
        (
            3,
            vec![del("t", "k"), del("t", "back"), put("t", "gone", "3")],
        ),
        (
            4,
            vec![put("t", "back", "4"), del("t", "gone"), put("t", "n", "4")],
        ),
        (5, vec![put("t", "n", "5")]),
    ];
    redb.apply_changes(&group, &visible).unwrap();
    assert_eq!(
        val(&redb, "t", "k"),
        None,
        "removed by the group's last op on it"
    );
    assert_eq!(val(&redb, "t", "back").as_deref(), Some("4"));
    assert_eq!(val(&redb, "t", "gone"), None);
    assert_eq!(val(&redb, "t", "n").as_deref(), Some("5"));
    assert_eq!(
        val(&redb, "u", "k").as_deref(),
        Some("2"),
        "same key, other tree"
    );
    // Numbered like its last change.
    let r = wal::recover(&redb, &[]).unwrap();
    assert_eq!(r.last_lsn, 5);
}

/// A start after a crash replays up to a checkpoint's worth of log: in groups of
/// `REPLAY_BATCH_BYTES`, one redb transaction each, not one per record; every record lands,
/// numbered, and the next start replays none of them again.
#[test]
fn a_long_replay_goes_into_redb_in_few_transactions() {
    let d = tempfile::tempdir().unwrap();
    let value = "v".repeat(4000);
    // 2,600 records of ~4 KB: ~10.4 MB, several groups.
    let records: Vec<(u64, Vec<Op>)> = (1..=2600u64)
        .map(|n| {
            let v = format!("{n}:{value}");
            (
                n,
                vec![
                    put("t", &format!("k{n:05}"), &v),
                    put("t", "last", &n.to_string()),
                ],
            )
        })
        .collect();
    log_file(&d.path().join("wal/0000000000000001.wal"), &records);
    let redb = RedbEngine::open(d.path(), 4 << 20).unwrap();
    let before = redb.commits();
    let r = wal::recover(&redb, &wal::files(&d.path().join("wal")).unwrap()).unwrap();
    assert_eq!((r.skipped, r.applied, r.last_lsn), (0, 2600, 2600));
    let bytes: usize = records
        .iter()
        .map(|(_, ops)| super::overlay::change_bytes(ops))
        .sum();
    // Each group is at least REPLAY_BATCH_BYTES but the last.
    let most = bytes.div_ceil(wal::REPLAY_BATCH_BYTES) as u64;
    let commits = redb.commits() - before;
    assert!(
        (2..=most).contains(&commits),
        "{commits} transactions, at most {most}"
    );
    assert_eq!(val(&redb, "t", "last").as_deref(), Some("2600"));
    for n in [1u64, 1300, 2048, 2600] {
        let got = val(&redb, "t", &format!("k{n:05}")).unwrap();
        assert!(got.starts_with(&format!("{n}:")), "k{n}");
    }
    // Numbered like its last record: a second recovery skips them all.
    let r = wal::recover(&redb, &wal::files(&d.path().join("wal")).unwrap()).unwrap();
    assert_eq!((r.skipped, r.applied), (2600, 0));
}

/// A checkpoint can make durable a change our log never synced (never acknowledged, but
/// whole): the older records must not be replayed over it, nor its number reused.
#[test]
fn a_change_redb_holds_beyond_the_log_is_kept_whole() {
    let d = tempfile::tempdir().unwrap();
    let redb = RedbEngine::open(d.path(), 4 << 20).unwrap();
    let visible = RwLock::new(());
    for (lsn, ops) in &five() {
        redb.apply_change(*lsn, ops, &visible).unwrap();
    }
    redb.apply_change(6, &[put("t", "k", "6"), put("t", "j", "6")], &visible)
        .unwrap();
    log_file(&d.path().join("wal/0000000000000001.wal"), &five());
    let r = wal::recover(&redb, &wal::files(&d.path().join("wal")).unwrap()).unwrap();
    assert_eq!((r.skipped, r.applied, r.last_lsn), (5, 0, 6));
    assert_eq!(val(&redb, "t", "k").as_deref(), Some("6"));
    assert_eq!(val(&redb, "t", "j").as_deref(), Some("6"));
    // The log goes on numbering after it.
    let e = WalEngine::open(Arc::new(redb), &d.path().join("wal")).unwrap();
    e.apply(&[put("t", "k", "7")]).unwrap();
    e.flush().unwrap();
    drop(e);
    let mut top = 0;
    for (_, p) in wal::files(&d.path().join("wal")).unwrap() {
        let bytes = std::fs::read(p).unwrap();
        let mut r = bytes.as_slice();
        while let Some((lsn, _)) = wal::read_record(&mut r) {
            top = top.max(lsn);
        }
    }
    assert_eq!(top, 7);
    // The files it replayed were settled away, so the next open sees no gap.
    let e = WalEngine::open(
        Arc::new(RedbEngine::open(d.path(), 4 << 20).unwrap()),
        &d.path().join("wal"),
    )
    .unwrap();
    assert_eq!(val(&e, "t", "k").as_deref(), Some("7"));
    drop(e);
    let damaged = std::fs::read_dir(d.path().join("wal"))
        .unwrap()
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().ends_with("damaged"))
        .count();
    assert_eq!(damaged, 0);
}

/// A log over redb in `dir` that checkpoints only when told.
fn logged(dir: &Path) -> WalEngine<RedbEngine> {
    WalEngine::open_with(
        Arc::new(RedbEngine::open(dir, 4 << 20).unwrap()),
        &dir.join("wal"),
        (u64::MAX, std::time::Duration::from_secs(3600)),
    )
    .unwrap()
}

/// What a crash now would leave of `dir`: its database file and log files, copied.
fn crash_copy(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join(FILE), copy.path().join(FILE)).unwrap();
    std::fs::create_dir(copy.path().join("wal")).unwrap();
    for (_, p) in wal::files(&dir.join("wal")).unwrap() {
        std::fs::copy(&p, copy.path().join("wal").join(p.file_name().unwrap())).unwrap();
    }
    copy
}

/// Three changes, each flushed, to key "k" of tree "t".
fn write_three(e: &WalEngine<RedbEngine>) {
    for n in 1..=3 {
        e.apply(&[put("t", "k", &n.to_string())]).unwrap();
        e.flush().unwrap();
    }
}

/// A start that replays makes the replay durable in redb before its files go: redb alone, as a
/// crash right after the start leaves it, holds the replay.
#[test]
fn a_replay_is_made_durable_before_its_files_go() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    drop(RedbEngine::open(d.path(), 4 << 20).unwrap());
    // Logged and synced, not in redb: what a crash before the drain leaves.
    log_file(&wal_dir.join("0000000000000005.wal"), &five());
    let e = logged(d.path());
    assert_eq!(val(&e, "t", "k").as_deref(), Some("5"));
    let files = wal::files(&wal_dir).unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].0 > 5, "the replayed file is gone");
    let crashed = crash_copy(d.path());
    let redb = RedbEngine::open(crashed.path(), 4 << 20).unwrap();
    assert_eq!(val(&redb, "t", "k").as_deref(), Some("5"));
    assert_eq!(val(&redb, "t", "j").as_deref(), Some("4"));
}

/// A start finds the files of a clean stop (every record in redb, durably): they go, and the
/// starts after it find one file and write on in it. Kept, every start read them again and
/// added a file, so a service failing after the store opened (its port taken, restarted every
/// 5 s) grew the log by 256 KiB a start.
#[test]
fn a_start_removes_files_whose_records_redb_holds() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    write_three(&logged(d.path()));
    let first = wal::files(&wal_dir).unwrap();
    assert_eq!(first.len(), 1);
    for _ in 0..4 {
        let e = logged(d.path());
        assert_eq!(val(&e, "t", "k").as_deref(), Some("3"));
        let now = wal::files(&wal_dir).unwrap();
        assert_eq!(now.len(), 1, "{now:?}");
        assert!(now[0].0 > first[0].0, "the stop's file is gone");
    }
    // Numbering goes on after the removed files: a crash after a write replays it.
    let e = logged(d.path());
    e.apply(&[put("t", "k", "4")]).unwrap();
    e.flush().unwrap();
    let crashed = crash_copy(d.path());
    drop(e);
    let redb = RedbEngine::open(crashed.path(), 4 << 20).unwrap();
    assert_eq!(val(&redb, "t", "k").as_deref(), Some("3"));
    let r = wal::recover(&redb, &wal::files(&crashed.path().join("wal")).unwrap()).unwrap();
    assert!(!r.gap && r.changes == 1, "{r:?}");
    assert_eq!(val(&redb, "t", "k").as_deref(), Some("4"));
}

/// `Engine::checkpoint` (bench-fill's "checkpointed" start) is the log's checkpoint too: the
/// files before it go, and the next start reads none of them.
#[test]
fn an_explicit_checkpoint_removes_the_files_before_it() {
    let d = tempfile::tempdir().unwrap();
    let wal_dir = d.path().join("wal");
    let e = logged(d.path());
    write_three(&e);
    let before = wal::files(&wal_dir).unwrap();
    e.checkpoint().unwrap();
    let after = wal::files(&wal_dir).unwrap();
    assert_eq!(after.len(), 1);
    assert!(after[0].0 > before.last().unwrap().0);
    e.apply(&[put("t", "k", "4")]).unwrap();
    e.flush().unwrap();
    drop(e);
    assert_eq!(val(&logged(d.path()), "t", "k").as_deref(), Some("4"));
}

#[test]
fn the_log_numbers_are_not_a_tree() {
    let d = tempfile::tempdir().unwrap();
    let e = WalEngine::open(
        Arc::new(RedbEngine::open(d.path(), 4 << 20).unwrap()),
        &d.path().join("wal"),
    )
    .unwrap();
    e.apply(&[put("t", "k", "1")]).unwrap();
    assert_eq!(e.tree_names(), vec!["t".to_string()]);
}

fn keys(it: super::engine::KvIter<'_>) -> Vec<Vec<u8>> {
    it.map(|r| r.unwrap().0).collect()
}

/// Every tree shares one redb table under its id: no scan, range or get crosses into the
/// tree whose id comes next, even at the edges of the key space (empty keys, 0xff keys).
#[test]
fn trees_share_one_table_without_crossing() {
    let d = tempfile::tempdir().unwrap();
    let e = RedbEngine::open(d.path(), 4 << 20).unwrap();
    let raw = |tree: &str, k: &[u8]| Op {
        tree: tree.into(),
        key: k.to_vec(),
        value: Some(tree.as_bytes().to_vec()),
    };
    let ff: &[u8] = &[0xff, 0xff];
    // a, b and c get ids in one change; a's last key is all 0xff, b has the empty key.
    e.apply(&[
        raw("a", b"k1"),
        raw("a", ff),
        raw("b", b""),
        raw("b", b"k1"),
        raw("c", &[0]),
        raw("a", b"k2"),
    ])
    .unwrap();
    let a = vec![b"k1".to_vec(), b"k2".to_vec(), ff.to_vec()];
    assert_eq!(keys(e.scan("a", b"").unwrap()), a);
    assert_eq!(keys(e.scan("a", &[0xff]).unwrap()), vec![ff.to_vec()]);
    let mut a_rev = a.clone();
    a_rev.reverse();
    assert_eq!(keys(e.scan_rev("a", b"").unwrap()), a_rev);
    assert_eq!(
        keys(e.scan("b", b"").unwrap()),
        vec![b"".to_vec(), b"k1".to_vec()]
    );
    assert_eq!(
        keys(e.scan_rev("b", b"").unwrap()),
        vec![b"k1".to_vec(), b"".to_vec()]
    );
    assert_eq!(keys(e.range("b", b"", b"k1").unwrap()), vec![b"".to_vec()]);
    assert_eq!(
        keys(e.range("a", b"k2", &[0xff, 0xff, 0]).unwrap()),
        vec![b"k2".to_vec(), ff.to_vec()]
    );
    assert_eq!(keys(e.scan("c", b"").unwrap()), vec![vec![0u8]]);
    assert_eq!(e.get("b", b"").unwrap(), Some(b"b".to_vec()));
    assert_eq!(e.get("c", b"k1").unwrap(), None);
    assert_eq!(e.get("nothing", b"k1").unwrap(), None);
    assert!(keys(e.scan("nothing", b"").unwrap()).is_empty());
    // A delete in one tree leaves the same key in another.
    e.apply(&[Op {
        tree: "a".into(),
        key: b"k1".to_vec(),
        value: None,
    }])
    .unwrap();
    assert_eq!(e.get("a", b"k1").unwrap(), None);
    assert_eq!(e.get("b", b"k1").unwrap(), Some(b"b".to_vec()));
    let mut names = e.tree_names();
    names.sort();
    assert_eq!(names, vec!["a", "b", "c"]);
}

/// A tree's id is dealt once and kept: after a reopen the same names find their keys, and a
/// tree first written after it gets an id of its own.
#[test]
fn tree_ids_outlive_a_reopen_and_are_never_dealt_twice() {
    let d = tempfile::tempdir().unwrap();
    {
        let e = RedbEngine::open(d.path(), 4 << 20).unwrap();
        e.apply(&[
            put("people", "p1", "ann"),
            put("people_by_name", "ann", "p1"),
        ])
        .unwrap();
        e.flush().unwrap();
    }
    let e = RedbEngine::open(d.path(), 4 << 20).unwrap();
    // Read before any write: the ids come from the store, not from this handle's cache.
    assert_eq!(val(&e, "people", "p1").as_deref(), Some("ann"));
    e.apply(&[put("gates", "g1", "north"), put("people", "p2", "bo")])
        .unwrap();
    assert_eq!(val(&e, "people", "p2").as_deref(), Some("bo"));
    assert_eq!(val(&e, "people_by_name", "ann").as_deref(), Some("p1"));
    assert_eq!(keys(e.scan("gates", b"").unwrap()), vec![b"g1".to_vec()]);
    assert_eq!(val(&e, "gates", "p1"), None);
    let mut names = e.tree_names();
    names.sort();
    assert_eq!(names, vec!["gates", "people", "people_by_name"]);
}

/// Reads share one snapshot between commits: every commit is seen by the next read (the
/// overlay's proptest drives this through drains and reopens too), and a reopen starts over
/// on the new handle.
#[test]
fn reads_share_a_snapshot_until_the_next_commit() {
    let d = tempfile::tempdir().unwrap();
    let e = RedbEngine::open(d.path(), 4 << 20).unwrap();
    e.apply(&[put("gates", "g1", "north")]).unwrap();
    assert_eq!(val(&e, "gates", "g1").as_deref(), Some("north"));
    e.apply(&[put("gates", "g1", "south"), put("gates", "g2", "east")])
        .unwrap();
    assert_eq!(val(&e, "gates", "g1").as_deref(), Some("south"));
    assert_eq!(
        e.get_many("gates", &[b"g1", b"g2"]).unwrap(),
        vec![Some(b"south".to_vec()), Some(b"east".to_vec())]
    );
    e.apply(&[Op {
        tree: "gates".into(),
        key: b"g2".to_vec(),
        value: None,
    }])
    .unwrap();
    assert_eq!(val(&e, "gates", "g2"), None);
    assert_eq!(keys(e.scan("gates", b"").unwrap()), vec![b"g1".to_vec()]);
    e.reopen_now();
    assert_eq!(val(&e, "gates", "g1").as_deref(), Some("south"));
    e.apply(&[put("gates", "g3", "west")]).unwrap();
    assert_eq!(
        keys(e.scan("gates", b"").unwrap()),
        vec![b"g1".to_vec(), b"g3".to_vec()]
    );
}

/// A sled store of an earlier release, its log holding changes sled never flushed.
fn sled_store(state: &Path) {
    let sled = Arc::new(SledEngine::open(&state.join("db"), 4 << 20).unwrap());
    let e = WalEngine::open(sled, &state.join("wal")).unwrap();
    for n in 0..300 {
        e.apply(&[
            put("people", &format!("p{n:04}"), &format!("v{n}")),
            put("people_by_name", &format!("n{n:04}"), ""),
        ])
        .unwrap();
    }
    e.flush().unwrap();
    // Dropped without a checkpoint: its log files are still there for the move to replay.
}

fn kept_dirs(state: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(state)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("sled.migrated-")
        })
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_sled_store_moves_into_redb_once_and_is_kept_aside() {
    let d = tempfile::tempdir().unwrap();
    sled_store(d.path());
    let store = Store::open(d.path(), opts()).unwrap();
    assert_eq!(
        val(store.engine(), "people", "p0299").as_deref(),
        Some("v299")
    );
    assert_eq!(
        val(store.engine(), "people_by_name", "n0000").as_deref(),
        Some("")
    );
    assert_eq!(store.engine().scan("people", b"").unwrap().count(), 300);
    assert!(!d.path().join("db").exists() && !d.path().join("wal").exists());
    let kept = kept_dirs(d.path());
    assert_eq!(kept.len(), 1);
    assert!(kept[0].join("db").is_dir() && kept[0].join("wal").is_dir());
    store.apply(&[put("people", "p0000", "changed")]).unwrap();
    store.flush_blocking().unwrap();
    drop(store);
    let again = Store::open(d.path(), opts()).unwrap();
    assert_eq!(
        val(again.engine(), "people", "p0000").as_deref(),
        Some("changed")
    );
    assert_eq!(kept_dirs(d.path()).len(), 1, "moved once");
}

#[test]
fn a_migration_cut_short_starts_over_from_the_sled_store() {
    let d = tempfile::tempdir().unwrap();
    sled_store(d.path());
    // What a cut during the copy leaves: a partial database beside the untouched sled store.
    let partial = RedbEngine::open(&d.path().join("store.migrating"), 4 << 20).unwrap();
    partial.apply(&[put("people", "zz", "partial")]).unwrap();
    partial.flush().unwrap();
    drop(partial);
    let store = Store::open(d.path(), opts()).unwrap();
    assert_eq!(store.engine().scan("people", b"").unwrap().count(), 300);
    assert_eq!(val(store.engine(), "people", "zz"), None);
    assert!(!d.path().join("store.migrating").exists());
}

#[test]
fn a_migration_cut_after_its_rename_only_moves_the_sled_store_aside() {
    let d = tempfile::tempdir().unwrap();
    sled_store(d.path());
    let store = Store::open(d.path(), opts()).unwrap();
    store.apply(&[put("people", "p0001", "newer")]).unwrap();
    store.flush_blocking().unwrap();
    drop(store);
    // The cut came after the rename, before the sled store was moved: put it back.
    let kept = kept_dirs(d.path()).pop().unwrap();
    std::fs::rename(kept.join("db"), d.path().join("db")).unwrap();
    std::fs::rename(kept.join("wal"), d.path().join("wal")).unwrap();
    std::fs::remove_dir(&kept).unwrap();
    let store = Store::open(d.path(), opts()).unwrap();
    assert_eq!(
        val(store.engine(), "people", "p0001").as_deref(),
        Some("newer")
    );
    assert!(!d.path().join("db").exists());
    assert_eq!(kept_dirs(d.path()).len(), 1);
}
