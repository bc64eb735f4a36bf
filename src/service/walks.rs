//! Reads that cannot go through an index and walk many records for one answer: the text search
//! (`q`) and the multi-filter lists of the tasks, a task grouping by user under a filter, the
//! desk's pass search. They run off the async workers (`spawn_blocking`), at most one per core
//! at once (the rest wait their turn, so a burst of searches cannot starve Clock In or the
//! handhelds' syncs), and stop at their next row once the caller has gone.
//!
//! A walk holds what its answer holds (one page, counts), never the records it passes over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::answers::Cancel;
use super::{Result, ServiceError};

pub struct Walks {
    at_once: Arc<Semaphore>,
    stats: Arc<WalkStats>,
}

/// For /metrics: walks that got a slot, and those stopped because their caller had gone.
#[derive(Default)]
struct WalkStats {
    started: AtomicU64,
    cancelled: AtomicU64,
}

/// Rows between two looks at the caller's cancel: a look is one relaxed load.
pub const CHECK_EVERY: usize = 256;

impl Walks {
    pub fn new(at_once: usize) -> Self {
        Self {
            at_once: Arc::new(Semaphore::new(at_once.max(1))),
            stats: Arc::default(),
        }
    }

    /// One walk per core of the box.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `walk` on a blocking thread once a slot is free. Dropping the returned future (the
    /// client hung up) cancels the walk; its slot is free again when the walk has stopped.
    pub async fn run<T, F>(&self, walk: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
    {
        let slot = self
            .at_once
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Internal("walks closed".into()))?;
        let (cancel, _trigger) = Cancel::pair();
        let stats = self.stats.clone();
        stats.started.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let out = walk(&cancel);
            if out.is_err() && cancel.is_set() {
                stats.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            out
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("walk: {e}")))?
    }

    /// `read` here and now when it reads one index range (`walks` false: no thread hop on a
    /// hot list), else as a walk (`run`).
    pub async fn run_if<T, F>(&self, walks: bool, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
    {
        if walks {
            self.run(read).await
        } else {
            read(&Cancel::NEVER)
        }
    }

    /// Slots free now (for tests and /metrics).
    pub fn free(&self) -> usize {
        self.at_once.available_permits()
    }

    pub fn metrics_text(&self) -> String {
        format!(
            "# TYPE gatehouse_walks_started_total counter
gatehouse_walks_started_total {}
             # TYPE gatehouse_walks_cancelled_total counter
gatehouse_walks_cancelled_total {}
             # TYPE gatehouse_walks_free_slots gauge
gatehouse_walks_free_slots {}
",
            self.stats.started.load(Ordering::Relaxed),
            self.stats.cancelled.load(Ordering::Relaxed),
            self.free()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_walk_whose_caller_left_stops_and_frees_its_slot() {
        let walks = Arc::new(Walks::new(1));
        let rows = Arc::new(AtomicUsize::new(0));
        let r = rows.clone();
        let caller = tokio::spawn({
            let walks = walks.clone();
            async move {
                walks
                    .run(move |cancel| -> Result<()> {
                        loop {
                            cancel.check()?;
                            r.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    })
                    .await
            }
        });
        while rows.load(Ordering::Relaxed) < 5 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(walks.free(), 0, "the walk holds the only slot");
        caller.abort();
        assert!(walks
            .metrics_text()
            .contains("gatehouse_walks_started_total 1\n"));
        // The slot comes back once the walk has seen the cancel; the rows stop growing.
        let mut waited = 0;
        while walks.free() == 0 {
            assert!(waited < 5_000, "the cancelled walk never stopped");
            tokio::time::sleep(Duration::from_millis(1)).await;
            waited += 1;
        }
        let stopped_at = rows.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(rows.load(Ordering::Relaxed), stopped_at);
        assert!(walks
            .metrics_text()
            .contains("gatehouse_walks_cancelled_total 1\n"));
        // The next walk gets the slot and runs to its end.
        assert_eq!(walks.run(|_| Ok(7)).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn walks_beyond_the_slots_wait_their_turn() {
        let walks = Arc::new(Walks::new(1));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut all = Vec::new();
        for _ in 0..4 {
            let (walks, running, most) = (walks.clone(), running.clone(), most.clone());
            all.push(tokio::spawn(async move {
                walks
                    .run(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(10));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            }));
        }
        for h in all {
            h.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }
}
