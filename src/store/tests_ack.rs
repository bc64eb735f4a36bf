//! An acknowledgement implies durable, also for a commit that stages nothing (a replay that
//! read the first write while its flush was still running). The real sled engine, with its
//! flush held at a gate so the test can see who waits for it.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::*;

struct Gated {
    inner: SledEngine,
    open: Mutex<bool>,
    cv: Condvar,
}

impl Engine for Gated {
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(tree, key)
    }
    fn scan(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>> {
        self.inner.scan(tree, prefix)
    }
    fn scan_rev(&self, tree: &str, prefix: &[u8]) -> Result<KvIter<'_>> {
        self.inner.scan_rev(tree, prefix)
    }
    fn range(&self, tree: &str, start: &[u8], end: &[u8]) -> Result<KvIter<'_>> {
        self.inner.range(tree, start, end)
    }
    fn apply(&self, ops: &[Op]) -> Result<()> {
        self.inner.apply(ops)
    }
    fn flush(&self) -> Result<()> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
        self.inner.flush()
    }
    fn tree_names(&self) -> Vec<String> {
        self.inner.tree_names()
    }
    fn size_on_disk(&self) -> u64 {
        self.inner.size_on_disk()
    }
    fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()
    }
}

#[test]
fn an_empty_commit_waits_for_the_flush_of_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Gated {
        inner: SledEngine::open(&dir.path().join("db"), 8 << 20).unwrap(),
        open: Mutex::new(false),
        cv: Condvar::new(),
    });
    let store = Store::with_engine(engine.clone(), dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The first write: applied, its flush held at the gate.
        let s1 = store.clone();
        let first = tokio::spawn(async move {
            let mut tx = s1.begin().await;
            tx.put_raw("acks", b"k", b"v".to_vec());
            tx.commit().await
        });
        while store.engine().get("acks", b"k").unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The replay: sees the write, stages nothing, commits.
        let s2 = store.clone();
        let replay = tokio::spawn(async move {
            let tx = s2.begin().await;
            assert!(tx.get_raw("acks", b"k").unwrap().is_some());
            tx.commit().await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !replay.is_finished(),
            "an empty commit returned before the write it relies on was durable"
        );
        assert!(!first.is_finished());
        *engine.open.lock().unwrap() = true;
        engine.cv.notify_all();
        replay.await.unwrap().unwrap();
        first.await.unwrap().unwrap();
    });
}
