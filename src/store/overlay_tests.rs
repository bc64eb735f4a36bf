//! The overlay (store::overlay) over redb under the log: reads merge it right, drains keep
//! log order, and no checkpoint makes a rolled-back redb durable (a reopen after a storage
//! fault) and drops the log files that still hold what it lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use proptest::prelude::*;

use super::engine::{KvIter, Op};
use super::overlay::{Change, Merged, Overlay};
use super::redb_engine::RedbEngine;
use super::wal::{self, LogBase, Start, WalEngine};
use super::{Engine, StoreError};

fn op(tree: &str, k: &[u8], v: Option<&[u8]>) -> Op {
    Op {
        tree: tree.into(),
        key: k.to_vec(),
        value: v.map(<[u8]>::to_vec),
    }
}

fn all(it: KvIter<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    it.map(Result::unwrap).collect()
}

fn kv(k: &[u8], v: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (k.to_vec(), v.to_vec())
}

#[test]
fn a_scan_takes_the_overlays_value_and_its_removals_both_ways() {
    let base: Vec<_> = vec![kv(b"a", b"1"), kv(b"c", b"1"), kv(b"e", b"1")];
    let over = vec![
        (b"b".to_vec(), Some(b"2".to_vec())),
        (b"c".to_vec(), None),
        (b"e".to_vec(), Some(b"2".to_vec())),
        (b"f".to_vec(), None),
    ];
    let fwd = |b: Vec<(Vec<u8>, Vec<u8>)>| -> KvIter<'static> { Box::new(b.into_iter().map(Ok)) };
    let got = all(Box::new(Merged::new(
        fwd(base.clone()),
        over.clone(),
        false,
    )));
    assert_eq!(got, vec![kv(b"a", b"1"), kv(b"b", b"2"), kv(b"e", b"2")]);
    let rev: Vec<_> = base.into_iter().rev().collect();
    let got = all(Box::new(Merged::new(fwd(rev), over, true)));
    assert_eq!(got, vec![kv(b"e", b"2"), kv(b"b", b"2"), kv(b"a", b"1")]);
}

#[test]
fn a_drained_batch_leaves_only_the_keys_no_newer_change_wrote() {
    let mut o = Overlay::default();
    o.add(1, &[op("t", b"a", Some(b"1")), op("t", b"b", Some(b"1"))]);
    let batch = o.take();
    // Written again after the batch was taken: stays when the batch is drained.
    o.add(2, &[op("t", b"b", None)]);
    o.drained(&batch);
    assert_eq!(o.get("t", b"a"), None);
    assert_eq!(o.get("t", b"b"), Some(None));
    let batch = o.take();
    assert_eq!(batch.len(), 1);
    o.drained(&batch);
    assert!(o.is_empty());
    assert_eq!(o.bytes(), 0);
}

#[test]
fn a_failed_drain_goes_back_before_the_changes_added_meanwhile() {
    let mut o = Overlay::default();
    o.add(1, &[op("t", b"a", Some(b"1"))]);
    let batch = o.take();
    o.add(2, &[op("t", b"a", Some(b"2"))]);
    o.put_back(batch);
    let lsns: Vec<u64> = o.take().iter().map(|(l, _)| *l).collect();
    assert_eq!(lsns, vec![1, 2]);
    assert_eq!(o.get("t", b"a"), Some(Some(&b"2"[..])));
}

fn no_checkpoint() -> (u64, std::time::Duration) {
    (u64::MAX, std::time::Duration::from_secs(3600))
}

fn open(dir: &Path) -> WalEngine<RedbEngine> {
    WalEngine::open_with(
        Arc::new(RedbEngine::open(dir, 4 << 20).unwrap()),
        &dir.join("wal"),
        no_checkpoint(),
    )
    .unwrap()
}

/// What a crash now leaves: the files as the OS holds them, opened elsewhere.
fn crash_copy(from: &Path, to: &Path) -> WalEngine<RedbEngine> {
    std::fs::create_dir_all(to.join("wal")).unwrap();
    std::fs::copy(
        from.join(super::redb_engine::FILE),
        to.join(super::redb_engine::FILE),
    )
    .unwrap();
    for (_, p) in wal::files(&from.join("wal")).unwrap() {
        std::fs::copy(&p, to.join("wal").join(p.file_name().unwrap())).unwrap();
    }
    open(to)
}

fn val(e: &dyn Engine, k: &str) -> Option<String> {
    e.get("t", k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

/// Three changes in the log and drained into redb, not durable there; then a reopen rolls
/// redb back to empty. A checkpoint now, before the log was applied again, must not make that
/// empty redb durable and remove the files.
#[test]
fn a_checkpoint_before_the_log_is_applied_again_keeps_its_files() {
    let d = tempfile::tempdir().unwrap();
    let live = d.path().join("live");
    let e = open(&live);
    for n in 1..=3 {
        e.apply(&[op("t", format!("k{n}").as_bytes(), Some(b"v"))])
            .unwrap();
    }
    e.flush().unwrap();
    e.drain().unwrap();
    e.base().reopen_now();
    let (shared, seq) = e.for_checkpoint();
    let files = wal::files(&live.join("wal")).unwrap().len();
    assert!(wal::checkpoint(shared, e.base(), &live.join("wal"), seq).is_err());
    assert_eq!(wal::files(&live.join("wal")).unwrap().len(), files);
    let after = crash_copy(&live, &d.path().join("crash"));
    for n in 1..=3 {
        assert_eq!(val(&after, &format!("k{n}")).as_deref(), Some("v"), "k{n}");
    }
    // The live engine applies its log again at its next read.
    assert_eq!(val(&e, "k2").as_deref(), Some("v"));
}

/// redb under the log, reopened (as after a storage fault) inside the durable commit of a
/// checkpoint: between the drain and the commit.
struct ReopenedInFlush(RedbEngine);

impl Engine for ReopenedInFlush {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(tree, key)
    }
    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        self.0.scan(tree, prefix)
    }
    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>, StoreError> {
        self.0.scan_rev(tree, prefix)
    }
    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>, StoreError> {
        self.0.range(tree, start, end)
    }
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        self.0.apply(ops)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.0.reopen_now();
        self.0.flush()
    }
    fn tree_names(&self) -> Vec<String> {
        self.0.tree_names()
    }
    fn size_on_disk(&self) -> u64 {
        self.0.size_on_disk()
    }
    fn checkpoint(&self) -> Result<(), StoreError> {
        self.flush()
    }
}

impl LogBase for ReopenedInFlush {
    fn apply_change(&self, lsn: u64, ops: &[Op], v: &RwLock<()>) -> Result<(), StoreError> {
        self.0.apply_change(lsn, ops, v)
    }
    fn apply_changes(&self, changes: &[Change], v: &RwLock<()>) -> Result<(), StoreError> {
        self.0.apply_changes(changes, v)
    }
    fn recover_start(&self, top: u64, has_files: bool) -> Result<Start, StoreError> {
        self.0.recover_start(top, has_files)
    }
    fn replay(&self, lsn: u64, ops: &[Op]) -> Result<(), StoreError> {
        self.0.replay(lsn, ops)
    }
    fn replay_changes(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.0.replay_changes(changes)
    }
    fn settle(&self) -> Result<(), StoreError> {
        self.0.settle()
    }
    fn settles_at_open(&self) -> bool {
        self.0.settles_at_open()
    }
    fn generation(&self) -> u64 {
        self.0.generation()
    }
}

#[test]
fn a_reopen_during_a_checkpoints_commit_keeps_its_files() {
    let d = tempfile::tempdir().unwrap();
    let live = d.path().join("live");
    let e = WalEngine::open_with(
        Arc::new(ReopenedInFlush(RedbEngine::open(&live, 4 << 20).unwrap())),
        &live.join("wal"),
        no_checkpoint(),
    )
    .unwrap();
    for n in 1..=3 {
        e.apply(&[op("t", format!("k{n}").as_bytes(), Some(b"v"))])
            .unwrap();
    }
    e.flush().unwrap();
    let (shared, seq) = e.for_checkpoint();
    assert!(wal::checkpoint(shared, e.base(), &live.join("wal"), seq).is_err());
    let after = crash_copy(&live, &d.path().join("crash"));
    for n in 1..=3 {
        assert_eq!(val(&after, &format!("k{n}")).as_deref(), Some("v"), "k{n}");
    }
}

#[derive(Debug, Clone)]
enum Step {
    Put(u8, u8, u8),
    Del(u8, u8),
    Drain,
    Flush,
    Reopen,
    Scan(u8, bool),
    Range(u8, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..2u8, 0..12u8, any::<u8>()).prop_map(|(t, k, v)| Step::Put(t, k, v)),
        3 => (0..2u8, 0..12u8).prop_map(|(t, k)| Step::Del(t, k)),
        2 => Just(Step::Drain),
        1 => Just(Step::Flush),
        1 => Just(Step::Reopen),
        2 => (0..3u8, any::<bool>()).prop_map(|(p, r)| Step::Scan(p, r)),
        2 => (0..12u8, 0..12u8).prop_map(|(a, b)| Step::Range(a, b)),
    ]
}

const TREES: [&str; 2] = ["t", "u"];

/// Keys "k0".."k11": a prefix "k1" holds k1, k10, k11.
fn key(k: u8) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

type Model = BTreeMap<(usize, Vec<u8>), Vec<u8>>;

fn model_tree(m: &Model, t: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    m.iter()
        .filter(|((mt, _), _)| *mt == t)
        .map(|((_, k), v)| (k.clone(), v.clone()))
        .collect()
}

fn check_all(e: &dyn Engine, m: &Model) {
    for (t, name) in TREES.iter().enumerate() {
        assert_eq!(
            all(e.scan(name, b"").unwrap()),
            model_tree(m, t),
            "tree {name}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any mix of changes, drains, flushes and reopens reads like a plain map, and a crash at
    /// the end (after a flush) loses nothing.
    #[test]
    fn the_overlay_over_redb_reads_like_a_map(steps in proptest::collection::vec(step(), 1..60)) {
        let d = tempfile::tempdir().unwrap();
        let live = d.path().join("live");
        let e = open(&live);
        let mut m = Model::new();
        for s in &steps {
            match s {
                Step::Put(t, k, v) => {
                    let (t, k) = (*t as usize, key(*k));
                    // Every change touches both trees: a torn change would show.
                    let other = 1 - t;
                    e.apply(&[
                        op(TREES[t], &k, Some(&[*v])),
                        op(TREES[other], b"last", Some(&[*v])),
                    ]).unwrap();
                    m.insert((t, k), vec![*v]);
                    m.insert((other, b"last".to_vec()), vec![*v]);
                }
                Step::Del(t, k) => {
                    let (t, k) = (*t as usize, key(*k));
                    e.apply(&[op(TREES[t], &k, None)]).unwrap();
                    m.remove(&(t, k));
                }
                Step::Drain => e.drain().unwrap(),
                Step::Flush => e.flush().unwrap(),
                Step::Reopen => {
                    e.flush().unwrap();
                    e.base().reopen_now();
                }
                Step::Scan(p, rev) => {
                    let prefix = match p { 0 => &b""[..], 1 => &b"k1"[..], _ => &b"l"[..] };
                    let want: Vec<_> = model_tree(&m, 0).into_iter()
                        .filter(|(k, _)| k.starts_with(prefix)).collect();
                    if *rev {
                        let mut want = want;
                        want.reverse();
                        prop_assert_eq!(all(e.scan_rev("t", prefix).unwrap()), want);
                    } else {
                        prop_assert_eq!(all(e.scan("t", prefix).unwrap()), want);
                    }
                }
                Step::Range(a, b) => {
                    let (a, b) = (key(*a), key(*b));
                    let want: Vec<_> = model_tree(&m, 1).into_iter()
                        .filter(|(k, _)| *k >= a && *k < b).collect();
                    prop_assert_eq!(all(e.range("u", &a, &b).unwrap()), want);
                }
            }
            for ((t, k), v) in m.iter().take(3) {
                prop_assert_eq!(e.get(TREES[*t], k).unwrap(), Some(v.clone()));
            }
            // A page read together: keys in the overlay, in redb, removed in either, never
            // written (k12..) and "last", each as the map holds it.
            let keys: Vec<Vec<u8>> = (0..14u8).map(key).chain([b"last".to_vec()]).collect();
            let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            for (t, name) in TREES.iter().enumerate() {
                let want: Vec<Option<Vec<u8>>> =
                    keys.iter().map(|k| m.get(&(t, k.clone())).cloned()).collect();
                prop_assert_eq!(e.get_many(name, &refs).unwrap(), want);
            }
        }
        check_all(&e, &m);
        e.flush().unwrap();
        let after = crash_copy(&live, &d.path().join("crash"));
        check_all(&after, &m);
        drop(after);
        drop(e);
        check_all(&open(&live), &m);
    }
}

/// Readers scanning while changes are applied and drained at once never see one torn: change
/// n sets "a" to n and adds "k<n>", so every scan must find "a" = n with exactly k0..=kn.
#[test]
fn scans_during_drains_never_see_a_change_torn() {
    const CHANGES: u32 = 3_000;
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let k = |n: u32| format!("k{n:08}").into_bytes();
    std::thread::scope(|sc| {
        let (e, stop) = (&e, &stop);
        sc.spawn(move || {
            for n in 0..CHANGES {
                let v = n.to_be_bytes();
                e.apply(&[op("t", b"a", Some(&v)), op("t", &k(n), Some(&v))])
                    .unwrap();
                if n % 7 == 0 {
                    e.flush().unwrap();
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        sc.spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                e.drain().unwrap();
                std::thread::yield_now();
            }
        });
        for rev in [false, true] {
            sc.spawn(move || {
                let mut seen = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let it = if rev {
                        e.scan_rev("t", b"")
                    } else {
                        e.scan("t", b"")
                    };
                    let mut rows = all(it.unwrap());
                    if rev {
                        rows.reverse();
                    }
                    let Some((first, a)) = rows.first() else {
                        continue;
                    };
                    assert_eq!(first, b"a");
                    let a = u32::from_be_bytes(a.as_slice().try_into().unwrap());
                    let ks: Vec<Vec<u8>> = rows[1..].iter().map(|(key, _)| key.clone()).collect();
                    let want: Vec<Vec<u8>> = (0..=a).map(k).collect();
                    assert!(
                        ks == want,
                        "a change seen torn: a = {a}, {} k keys",
                        ks.len()
                    );
                    seen += 1;
                }
                assert!(seen > 0, "no scan ran");
            });
        }
    });
    assert_eq!(
        e.get("t", b"a").unwrap(),
        Some((CHANGES - 1).to_be_bytes().to_vec())
    );
}

/// What `Overlay::add` makes the overlay hold (`test_alloc`), and what it counts, for
/// `changes` added in order.
fn held_and_counted(changes: &[Change]) -> (usize, usize) {
    let mut o = Overlay::default();
    let before = crate::test_alloc::held();
    for (lsn, ops) in changes {
        o.add(*lsn, ops);
    }
    let held = crate::test_alloc::held() - before;
    (held as usize, o.bytes())
}

/// The overlay's bound counts what it holds (`overlay::change_bytes`), in malloc's chunks as the
/// lib tests' allocator counts them. A schema step's index entries of ~16 bytes hold ~19× their
/// key and value bytes; a flat 160 bytes an op (the bound before) counted 0.65 of it. Counted
/// may be above held (a key written by many changes is indexed once), but not far, or the
/// overlay drains for nothing.
#[test]
fn the_overlays_bound_counts_what_it_holds() {
    let n = |i: u64| i.to_be_bytes();
    // A schema step: index entries of 16-byte keys, 1-byte values, 500 to a change.
    let index: Vec<Change> = (0..40u64)
        .map(|c| {
            let ops = (0..500u64)
                .map(|i| {
                    op(
                        "gatepasses_by_day",
                        &[n(c), n(i * 7919 % 500)].concat(),
                        Some(&[1]),
                    )
                })
                .collect();
            (c + 1, ops)
        })
        .collect();
    // Clock Ins as the server writes them (sizes from one): an idempotency record, the punch,
    // its index entry, the employee's state (256 employees), the day's figures and two
    // counters written by every change, and the outbox entry.
    let big = vec![7u8; 573];
    let clock: Vec<Change> = (0..2_000u64)
        .map(|c| {
            let emp = format!("BC{:04}", c % 256);
            let ops = vec![
                op(
                    "idempotency",
                    &[&[b'd'; 100][..], &n(c)[..]].concat(),
                    Some(&big),
                ),
                op(
                    "punches_by_day",
                    &[emp.as_bytes(), &n(c)[..]].concat(),
                    Some(&[1]),
                ),
                op("punches_day_figures", b"2026-12-05", Some(&[3; 35])),
                op("punch_state", emp.as_bytes(), Some(&[4; 133])),
                op("counters", b"punch", Some(&[5; 4])),
                op(
                    "punches",
                    &[emp.as_bytes(), &n(c)[..]].concat(),
                    Some(&[6; 99]),
                ),
                op("upstream_outbox", &n(c), Some(&[8; 145])),
                op("upstream_outbox", b"\xffcounter", Some(&[9; 10])),
            ];
            (c + 1, ops)
        })
        .collect();
    // A muster batch: few ops, large values.
    let muster: Vec<Change> = (0..100u64)
        .map(|c| {
            (
                c + 1,
                vec![op("muster_lines", &n(c), Some(&vec![2u8; 20_000]))],
            )
        })
        .collect();
    for (name, changes) in [("index", &index), ("clock", &clock), ("muster", &muster)] {
        let (held, counted) = held_and_counted(changes);
        let ratio = counted as f64 / held as f64;
        assert!(
            (1.0..1.3).contains(&ratio),
            "{name}: {held} bytes held, {counted} counted"
        );
    }
}
