//! Durable-write rate of the store alone, with and without group commit, in one run.
//!
//!     cargo bench --bench store
//!
//! Every write is a real `Tx` (writer lock, atomic apply) of a 200-byte value, acknowledged only
//! once flushed. "per-write flush" makes each writer flush alone before the next may write;
//! "group commit" is the production path (`Tx::commit`), where concurrent writers share flushes.

use std::time::Instant;

use gatehouse::store::{Store, StoreOptions};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Value200(Vec<u8>);

impl gatehouse::store::Record for Value200 {
    const TREE: &'static str = "bench";
}

const WRITERS: usize = 64;
const PER_WRITER: usize = 150;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            cache_bytes: 64 << 20,
        },
    )
    .expect("open store");
    (dir, store)
}

async fn run(store: Store, grouped: bool) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                let key = format!("{w:03}-{i:06}");
                let mut tx = store.begin().await;
                tx.put(key.as_bytes(), &Value200(vec![(i % 251) as u8; 200]));
                if grouped {
                    tx.commit().await.expect("commit");
                } else {
                    // Flush while still holding the writer lock: nobody shares this flush.
                    let store2 = tx.store().clone();
                    let op = gatehouse::store::Op {
                        tree: "bench".into(),
                        key: key.into_bytes(),
                        value: Some(gatehouse::store::codec::encode(&Value200(vec![
                            (i % 251)
                                as u8;
                            200
                        ]))),
                    };
                    store2.apply(&[op]).expect("apply");
                    store2.flush_blocking().expect("flush");
                    drop(tx);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    (WRITERS * PER_WRITER) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (_a, per_write_store) = open();
    let per_write = rt.block_on(run(per_write_store, false));
    let (_b, grouped_store) = open();
    let grouped = rt.block_on(run(grouped_store.clone(), true));
    let st = grouped_store.flush_stats();
    let flushes = st.flushes.load(std::sync::atomic::Ordering::Relaxed).max(1);
    let waiters = st.waiters.load(std::sync::atomic::Ordering::Relaxed);
    println!("store durable writes, {WRITERS} writers x {PER_WRITER} writes of 200 bytes:");
    println!("  per-write flush: {per_write:>10.0} writes/s");
    println!(
        "  group commit:    {grouped:>10.0} writes/s  ({:.1} writes per flush)",
        waiters as f64 / flushes as f64
    );
    println!("  ratio:           {:>10.1}x", grouped / per_write);
}
