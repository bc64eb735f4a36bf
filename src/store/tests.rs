//! The store's rules, proven on the real sled engine in a temporary directory.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    id: u64,
    name: String,
    weight: f64,
    tags: Vec<String>,
    flag: Option<bool>,
}

impl Record for Sample {
    const TREE: &'static str = "test_samples";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SampleV2 {
    id: u64,
    name: String,
}

impl Record for SampleV2 {
    const TREE: &'static str = "test_samples";
    const VERSION: u8 = 2;
    fn upgrade(version: u8, body: &[u8]) -> Result<Self> {
        assert_eq!(version, 1);
        let old: Sample = codec::decode_body("test_samples", body)?;
        Ok(SampleV2 {
            id: old.id,
            name: old.name,
        })
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            cache_bytes: 8 << 20,
        },
    )
    .unwrap();
    (dir, store)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #[test]
    fn codec_round_trips(id in any::<u64>(), name in ".{0,40}", weight in any::<f64>().prop_filter("finite", |w| w.is_finite()),
                         tags in proptest::collection::vec(".{0,8}", 0..5), flag in any::<Option<bool>>()) {
        let v = Sample { id, name, weight, tags, flag };
        let bytes = codec::encode(&v);
        prop_assert_eq!(bytes[0], Sample::VERSION);
        prop_assert_eq!(codec::decode::<Sample>(&bytes).unwrap(), v);
    }

    #[test]
    fn garbage_never_panics_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = codec::decode::<Sample>(&bytes);
    }
}

#[test]
fn older_values_are_upgraded_and_newer_refused() {
    let v1 = Sample {
        id: 7,
        name: "lama".into(),
        weight: 1.5,
        tags: vec![],
        flag: None,
    };
    let bytes = codec::encode(&v1);
    assert_eq!(
        codec::decode::<SampleV2>(&bytes).unwrap(),
        SampleV2 {
            id: 7,
            name: "lama".into()
        }
    );
    let mut newer = codec::encode(&SampleV2 {
        id: 1,
        name: "x".into(),
    });
    newer[0] = 9;
    assert!(codec::decode::<SampleV2>(&newer).is_err());
}

#[test]
fn commit_is_atomic_across_trees_and_drop_discards() {
    let (_d, store) = open();
    rt().block_on(async {
        let mut tx = store.begin().await;
        tx.put(
            b"a",
            &Sample {
                id: 1,
                name: "a".into(),
                weight: 0.0,
                tags: vec![],
                flag: None,
            },
        );
        tx.index("test_index", b"term\0a");
        assert!(
            tx.get::<Sample>(b"a").unwrap().is_some(),
            "reads see staged writes"
        );
        assert!(
            store.get::<Sample>(b"a").unwrap().is_none(),
            "nothing visible before commit"
        );
        tx.commit().await.unwrap();
        assert_eq!(store.get::<Sample>(b"a").unwrap().unwrap().id, 1);
        assert_eq!(
            store.index_keys("test_index", b"term\0").unwrap(),
            vec![b"a".to_vec()]
        );

        let mut tx = store.begin().await;
        tx.put(
            b"b",
            &Sample {
                id: 2,
                name: "b".into(),
                weight: 0.0,
                tags: vec![],
                flag: None,
            },
        );
        drop(tx);
        assert!(
            store.get::<Sample>(b"b").unwrap().is_none(),
            "a dropped Tx writes nothing"
        );
    });
}

#[test]
fn savepoints_roll_back_one_line_and_keep_the_rest() {
    let (_d, store) = open();
    rt().block_on(async {
        let mut tx = store.begin().await;
        let s = |id| Sample {
            id,
            name: String::new(),
            weight: 0.0,
            tags: vec![],
            flag: None,
        };
        tx.put(b"1", &s(1));
        let sp = tx.savepoint();
        tx.put(b"1", &s(100));
        tx.put(b"2", &s(2));
        tx.delete::<Sample>(b"1");
        tx.rollback_to(sp);
        tx.put(b"3", &s(3));
        tx.commit().await.unwrap();
        assert_eq!(store.get::<Sample>(b"1").unwrap().unwrap().id, 1);
        assert!(store.get::<Sample>(b"2").unwrap().is_none());
        assert_eq!(store.get::<Sample>(b"3").unwrap().unwrap().id, 3);
    });
}

#[test]
fn writers_are_serialized_and_concurrent_commits_share_flushes() {
    let (_d, store) = open();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    // Read-modify-write of one counter: lost updates would show as a short count.
                    let mut tx = store.begin().await;
                    let n = tx
                        .get::<tables::identity::Counter>(b"c")
                        .unwrap()
                        .map(|c| c.0)
                        .unwrap_or(0);
                    tx.put(b"c", &tables::identity::Counter(n + 1));
                    tx.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(
        store
            .get::<tables::identity::Counter>(b"c")
            .unwrap()
            .unwrap()
            .0,
        640
    );
    let st = store.flush_stats();
    let flushes = st.flushes.load(std::sync::atomic::Ordering::Relaxed);
    let waiters = st.waiters.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(waiters, 640);
    assert!(
        flushes <= waiters,
        "{flushes} flushes for {waiters} commits"
    );
}

#[test]
fn idempotency_records_replay_conflict_and_expire() {
    let (_d, store) = open();
    rt().block_on(async {
        let h1 = idempotency::request_hash(&[b"POST", b"/x", b"{}"]);
        let h2 = idempotency::request_hash(&[b"POST", b"/x", b"{ }"]);
        let mut tx = store.begin().await;
        assert!(matches!(
            idempotency::check(&tx, "da:k", "r1", &h1).unwrap(),
            idempotency::Seen::New
        ));
        let rec = idempotency::IdempotencyRecord {
            created_unix: 100,
            request_sha256: h1.clone(),
            status: 200,
            body: b"first".to_vec(),
        };
        idempotency::remember(&mut tx, "da:k", "r1", &rec);
        tx.commit().await.unwrap();
        let tx = store.begin().await;
        match idempotency::check(&tx, "da:k", "r1", &h1).unwrap() {
            idempotency::Seen::Replay(r) => assert_eq!(r.body, b"first"),
            _ => panic!("expected a replay"),
        }
        assert!(matches!(
            idempotency::check(&tx, "da:k", "r1", &h2).unwrap(),
            idempotency::Seen::Conflict
        ));
        assert!(
            matches!(
                idempotency::check(&tx, "da:other", "r1", &h1).unwrap(),
                idempotency::Seen::New
            ),
            "ids are per client"
        );
        drop(tx);
        assert_eq!(
            idempotency::sweep(&store, 100).unwrap(),
            0,
            "kept until its time"
        );
        assert_eq!(idempotency::sweep(&store, 101).unwrap(), 1);
        let tx = store.begin().await;
        assert!(matches!(
            idempotency::check(&tx, "da:k", "r1", &h1).unwrap(),
            idempotency::Seen::New
        ));
    });
}

/// Any number of expired records go, a batch at a time, and the kept ones stay.
#[test]
fn the_idempotency_sweep_removes_in_batches() {
    let (_d, store) = open();
    rt().block_on(async {
        let rec = |created_unix: i64| idempotency::IdempotencyRecord {
            created_unix,
            request_sha256: vec![1; 32],
            status: 200,
            body: vec![b'x'; 100],
        };
        let mut tx = store.begin().await;
        // 2,500 expired, interleaved in key order with 1,500 kept.
        for i in 0..4_000i64 {
            let created = if i % 8 < 5 { 1_000 } else { 9_000 };
            idempotency::remember(&mut tx, "da:k", &format!("r{i:05}"), &rec(created));
        }
        tx.commit().await.unwrap();
        assert_eq!(idempotency::sweep(&store, 5_000).unwrap(), 2_500);
        let left: Vec<i64> = store
            .scan_iter::<idempotency::IdempotencyRecord>(b"")
            .unwrap()
            .map(|r| r.unwrap().1.created_unix)
            .collect();
        assert_eq!(left.len(), 1_500);
        assert!(left.iter().all(|&c| c == 9_000));
        assert_eq!(idempotency::sweep(&store, 5_000).unwrap(), 0);
    });
}

#[test]
fn backup_restore_round_trip_with_blobs_and_check() {
    let (dir, store) = open();
    rt().block_on(async {
        let mut tx = store.begin().await;
        for i in 0..500u64 {
            tx.put(
                &i.to_be_bytes(),
                &Sample {
                    id: i,
                    name: format!("n{i}"),
                    weight: i as f64,
                    tags: vec![],
                    flag: Some(true),
                },
            );
        }
        tx.commit().await.unwrap();
    });
    let blob = store.blobs().put(b"face template bytes").unwrap();
    std::fs::write(dir.path().join("master.key"), [7u8; 32]).unwrap();
    let file = dir.path().join("b.ghb");
    let summary = backup::backup(&store, &file).unwrap();
    assert!(summary.entries >= 500);
    assert_eq!(summary.blobs, 1);
    drop(store);

    let target = tempfile::tempdir().unwrap();
    let report = backup::restore(
        &file,
        target.path(),
        StoreOptions {
            cache_bytes: 8 << 20,
        },
    )
    .unwrap();
    // test_samples is not a registered tree: check reports it, which is what it must do.
    assert!(
        report.errors.iter().all(|e| e.contains("unknown tree")),
        "{:?}",
        report.errors
    );
    let restored = Store::open(
        target.path(),
        StoreOptions {
            cache_bytes: 8 << 20,
        },
    );
    // restore() opened it once already; sled allows reopening after that handle dropped.
    let restored = restored.unwrap();
    assert_eq!(restored.scan::<Sample>(b"").unwrap().len(), 500);
    assert_eq!(restored.blobs().get(&blob).unwrap(), b"face template bytes");
    assert_eq!(
        std::fs::read(target.path().join("master.key")).unwrap(),
        vec![7u8; 32]
    );
}

#[test]
fn a_store_from_a_newer_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(
            dir.path(),
            StoreOptions {
                cache_bytes: 8 << 20,
            },
        )
        .unwrap();
        let meta = schema::SchemaMeta {
            version: schema::SCHEMA_VERSION + 1,
            created_unix: 0,
            migrated_unix: 0,
        };
        store
            .apply(&[Op {
                tree: "meta".into(),
                key: b"schema".to_vec(),
                value: Some(codec::encode(&meta)),
            }])
            .unwrap();
        store.flush_blocking().unwrap();
    }
    let err = Store::open(
        dir.path(),
        StoreOptions {
            cache_bytes: 8 << 20,
        },
    )
    .err()
    .expect("must refuse");
    assert!(err.to_string().contains("refusing to downgrade"), "{err}");
}

#[test]
fn check_finds_undecodable_values_and_bad_blobs() {
    let (dir, store) = open();
    store
        .apply(&[Op {
            tree: "users".into(),
            key: b"x".to_vec(),
            value: Some(vec![1, 0xff, 0xff]),
        }])
        .unwrap();
    let id = store.blobs().put(b"abc").unwrap();
    std::fs::write(store.blobs().path(&id), b"tampered").unwrap();
    let report = schema::check(&store).unwrap();
    assert!(
        report.errors.iter().any(|e| e.starts_with("users[x]")),
        "{:?}",
        report.errors
    );
    assert!(
        report.errors.iter().any(|e| e.contains("does not match")),
        "{:?}",
        report.errors
    );
    drop(dir);
}

/// sled's checkpoint is a reopen (its recovery snapshot is written only at open): tested on a
/// sled store, as `migrate_sled` still opens them.
#[test]
fn a_sled_checkpoint_keeps_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let sled_store = |dir: &std::path::Path| {
        let sled = Arc::new(super::SledEngine::open(&dir.join("db"), 8 << 20).unwrap());
        let wal = super::wal::WalEngine::open(sled, &dir.join("wal")).unwrap();
        Store::with_engine(Arc::new(wal), dir).unwrap()
    };
    let store = sled_store(dir.path());
    let rt = rt();
    let put = |id: u64| {
        rt.block_on(async {
            let mut tx = store.begin().await;
            tx.put(
                &id.to_be_bytes(),
                &Sample {
                    id,
                    name: format!("n{id}"),
                    weight: 1.0,
                    tags: vec![],
                    flag: None,
                },
            );
            tx.commit().await.unwrap();
        })
    };
    for id in 0..50 {
        put(id);
    }
    rt.block_on(store.checkpoint()).unwrap();
    // The reopened engine serves the old records and takes new ones.
    assert_eq!(
        store
            .get::<Sample>(&7u64.to_be_bytes())
            .unwrap()
            .unwrap()
            .id,
        7
    );
    put(50);
    drop(store);
    let again = sled_store(dir.path());
    let all = again.scan::<Sample>(b"").unwrap();
    assert_eq!(all.len(), 51);
    assert_eq!(all[50].1.name, "n50");
}

#[test]
fn hot_reads_see_every_committed_write_at_once() {
    let (_d, store) = open();
    let sample = |name: &str| Sample {
        id: 1,
        name: name.into(),
        weight: 0.0,
        tags: vec![],
        flag: None,
    };
    rt().block_on(async {
        assert_eq!(store.get_hot::<Sample>(b"k").unwrap(), None);
        let mut tx = store.begin().await;
        tx.put(b"k", &sample("first"));
        tx.commit().await.unwrap();
        assert_eq!(
            store.get_hot::<Sample>(b"k").unwrap(),
            Some(sample("first"))
        );
        assert_eq!(
            store.get_hot::<Sample>(b"k").unwrap(),
            Some(sample("first"))
        );
        // A write to the tree (here another key of it) is seen by the next read.
        let mut tx = store.begin().await;
        tx.put(b"k", &sample("second"));
        tx.commit().await.unwrap();
        assert_eq!(
            store.get_hot::<Sample>(b"k").unwrap(),
            Some(sample("second"))
        );
        let mut tx = store.begin().await;
        tx.delete::<Sample>(b"k");
        tx.commit().await.unwrap();
        assert_eq!(store.get_hot::<Sample>(b"k").unwrap(), None);
        // Maintenance applies outside a Tx are seen too.
        store
            .apply(&[Op {
                tree: Sample::TREE.into(),
                key: b"k".to_vec(),
                value: Some(codec::encode(&sample("third"))),
            }])
            .unwrap();
        assert_eq!(
            store.get_hot::<Sample>(b"k").unwrap(),
            Some(sample("third"))
        );
    });
}

/// A small tree read whole is shared while unwritten, and read again after any write to it,
/// whether a new key, a changed one or a deletion; a `get_hot` of a key beside it is unharmed.
#[test]
fn a_whole_small_tree_is_shared_until_it_is_written() {
    let (_d, store) = open();
    let sample = |id: u64| Sample {
        id,
        name: format!("n{id}"),
        weight: 0.0,
        tags: vec![],
        flag: None,
    };
    let ids = |all: &[Sample]| all.iter().map(|s| s.id).collect::<Vec<_>>();
    rt().block_on(async {
        assert!(store.all_shared::<Sample>().unwrap().is_empty());
        let mut tx = store.begin().await;
        tx.put(b"a", &sample(1));
        tx.put(b"b", &sample(2));
        tx.commit().await.unwrap();
        let first = store.all_shared::<Sample>().unwrap();
        assert_eq!(ids(&first), [1, 2]);
        assert!(Arc::ptr_eq(&first, &store.all_shared::<Sample>().unwrap()));
        assert_eq!(store.get_hot::<Sample>(b"a").unwrap(), Some(sample(1)));
        assert!(Arc::ptr_eq(&first, &store.all_shared::<Sample>().unwrap()));
        let mut tx = store.begin().await;
        tx.put(b"c", &sample(3));
        tx.commit().await.unwrap();
        assert_eq!(ids(&store.all_shared::<Sample>().unwrap()), [1, 2, 3]);
        let mut tx = store.begin().await;
        tx.put(b"a", &sample(4));
        tx.delete::<Sample>(b"b");
        tx.commit().await.unwrap();
        assert_eq!(ids(&store.all_shared::<Sample>().unwrap()), [4, 3]);
        // The first answer is unchanged for whoever still holds it.
        assert_eq!(ids(&first), [1, 2]);
    });
}

#[test]
fn the_filter_of_known_ids_never_hides_a_record() {
    let (_d, store) = open();
    rt().block_on(async {
        let h = idempotency::request_hash(&[b"POST", b"/x", b"{}"]);
        let rec = |at| idempotency::IdempotencyRecord {
            created_unix: at,
            request_sha256: h.clone(),
            status: 200,
            body: b"first".to_vec(),
        };
        let is_replay = |s: idempotency::Seen| matches!(s, idempotency::Seen::Replay(_));
        let is_new = |s: idempotency::Seen| matches!(s, idempotency::Seen::New);
        for i in 0..50 {
            let mut tx = store.begin().await;
            idempotency::remember(&mut tx, "da:k", &format!("r{i}"), &rec(100 + i));
            tx.commit().await.unwrap();
        }
        // Before the first sweep the filter knows nothing: every look reads.
        assert!(is_new(
            idempotency::check_store(&store, "da:k", "fresh", &h).unwrap()
        ));
        assert_eq!(store.idempotency_known_new(), 0);

        // The sweep's walk rebuilds it from the records it keeps (r10.. from time 110 on).
        assert_eq!(idempotency::sweep(&store, 110).unwrap(), 10);
        for i in 0..50 {
            let id = format!("r{i}");
            let s = idempotency::check_store(&store, "da:k", &id, &h).unwrap();
            assert_eq!(is_replay(s), i >= 10, "{id}");
        }
        let spared = store.idempotency_known_new();
        assert!(
            spared >= 9,
            "swept ids are known new without a read: {spared}"
        );

        // New ids are answered without a read, before and under the writer lock.
        let before = store.idempotency_known_new();
        assert!(is_new(
            idempotency::check_store(&store, "da:k", "new1", &h).unwrap()
        ));
        let mut tx = store.begin().await;
        assert!(is_new(idempotency::check(&tx, "da:k", "new1", &h).unwrap()));
        assert_eq!(store.idempotency_known_new(), before + 2);
        // Staged in this transaction: found through it, whatever the filter says.
        idempotency::remember(&mut tx, "da:k", "new1", &rec(200));
        assert!(is_replay(
            idempotency::check(&tx, "da:k", "new1", &h).unwrap()
        ));
        tx.commit().await.unwrap();
        // Committed after the rebuild: the filter holds it, so the look reads and replays.
        assert!(is_replay(
            idempotency::check_store(&store, "da:k", "new1", &h).unwrap()
        ));
        let tx = store.begin().await;
        assert!(is_replay(
            idempotency::check(&tx, "da:k", "new1", &h).unwrap()
        ));
        drop(tx);

        // A swept id used again is stored and replayed like any other.
        let mut tx = store.begin().await;
        assert!(is_new(idempotency::check(&tx, "da:k", "r3", &h).unwrap()));
        idempotency::remember(&mut tx, "da:k", "r3", &rec(300));
        tx.commit().await.unwrap();
        assert!(is_replay(
            idempotency::check_store(&store, "da:k", "r3", &h).unwrap()
        ));

        // A second sweep keeps the ones put since the first.
        assert_eq!(idempotency::sweep(&store, 150).unwrap(), 40);
        for id in ["new1", "r3"] {
            assert!(
                is_replay(idempotency::check_store(&store, "da:k", id, &h).unwrap()),
                "{id}"
            );
        }
        assert!(is_new(
            idempotency::check_store(&store, "da:k", "r20", &h).unwrap()
        ));
    });
}
