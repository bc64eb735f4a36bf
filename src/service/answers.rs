//! Heavy answers (Get Labor, Download Face File, reports, exports, HR lists) rendered once per
//! data version and shared: N handhelds syncing at once cost about one answer.
//!
//! - Keyed by (answer kind, parameters, data version). The version is the store's version of
//!   the trees the answer reads, taken *before* rendering (store::versions), so a write simply
//!   makes the next caller render afresh; nothing is ever served stale.
//! - Single flight: concurrent callers of one key wait for one render and share its `Bytes`
//!   (hyper sends a `Bytes` body without copying it).
//! - Rendered off the async workers (`spawn_blocking`), admitted by a budget of KiB being
//!   rendered at once, and cancelled when every caller has gone away (the render polls its
//!   `Cancel` between rows).
//! - Finished answers stay cached up to a byte cap (least recently used out first); an answer
//!   larger than the cap is shared only by those already waiting for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};

use super::{Result, ServiceError};

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Key {
    kind: &'static str,
    params: String,
    version: u64,
}

struct Entry {
    cell: Arc<OnceCell<Bytes>>,
    used: u64,
}

#[derive(Default)]
pub struct AnswerStats {
    pub hits: AtomicU64,
    pub renders: AtomicU64,
    pub cancelled: AtomicU64,
    /// (hits, renders) per answer kind, for /metrics.
    by_kind: Mutex<std::collections::BTreeMap<&'static str, (u64, u64)>>,
}

impl AnswerStats {
    fn count(&self, kind: &'static str, render: bool) {
        let total = if render { &self.renders } else { &self.hits };
        total.fetch_add(1, Ordering::Relaxed);
        let mut m = self.by_kind.lock().expect("answer stats poisoned");
        let e = m.entry(kind).or_default();
        if render {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
}

pub struct Answers {
    map: Mutex<HashMap<Key, Entry>>,
    clock: AtomicU64,
    cap_bytes: usize,
    budget: Arc<Semaphore>,
    budget_kib: u32,
    pub stats: AnswerStats,
}

/// Polled by a render (or a walk, service::walks) between rows: set once nobody waits for the
/// answer any more.
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// For callers nobody can leave (the CLI, a test, an index read of one page).
    pub const NEVER: Cancel = Cancel(None);

    /// A cancel and its trigger: dropping the trigger cancels.
    pub(super) fn pair() -> (Self, CancelOnDrop) {
        let flag = Arc::new(AtomicBool::new(false));
        (Cancel(Some(flag.clone())), CancelOnDrop(flag))
    }

    /// Whether the caller has gone.
    pub fn is_set(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }

    pub fn check(&self) -> Result<()> {
        if self.is_set() {
            Err(ServiceError::Internal(
                "answer cancelled: client gone".into(),
            ))
        } else {
            Ok(())
        }
    }
}

pub(super) struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

const MAX_ENTRIES: usize = 256;

impl Answers {
    /// `cap_bytes`: finished answers kept; `budget_kib`: KiB being rendered at once.
    pub fn new(cap_bytes: usize, budget_kib: u32) -> Self {
        let budget_kib = budget_kib.clamp(1024, Semaphore::MAX_PERMITS as u32);
        Self {
            map: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            cap_bytes,
            budget: Arc::new(Semaphore::new(budget_kib as usize)),
            budget_kib,
            stats: AnswerStats::default(),
        }
    }

    /// The answer for (kind, params) at `version`: cached, or rendered once by `render` while
    /// every concurrent caller waits for it. `estimate_kib` is what the render is expected to
    /// hold while it runs (admitted against the budget).
    pub async fn get<F>(
        &self,
        kind: &'static str,
        params: String,
        version: u64,
        estimate_kib: u32,
        render: F,
    ) -> Result<Bytes>
    where
        F: FnOnce(&Cancel) -> Result<Vec<u8>> + Send + 'static,
    {
        let key = Key {
            kind,
            params,
            version,
        };
        let cell = {
            let mut map = self.map.lock().expect("answers poisoned");
            let tick = self.clock.fetch_add(1, Ordering::Relaxed);
            // Older versions of the same answer are dead: nobody asks for them again.
            map.retain(|k, _| {
                !(k.kind == key.kind && k.params == key.params && k.version < version)
            });
            let e = map.entry(key.clone()).or_insert_with(|| Entry {
                cell: Arc::new(OnceCell::new()),
                used: tick,
            });
            e.used = tick;
            e.cell.clone()
        };
        if let Some(b) = cell.get() {
            self.stats.count(kind, false);
            return Ok(b.clone());
        }
        let permits = estimate_kib.clamp(1, self.budget_kib);
        let budget = self.budget.clone();
        let rendered_here = AtomicBool::new(false);
        let rendered = &rendered_here;
        let bytes = cell
            .get_or_try_init(|| async move {
                let _admitted = budget
                    .acquire_many_owned(permits)
                    .await
                    .map_err(|_| ServiceError::Internal("answer budget closed".into()))?;
                // The trigger is dropped with this future, i.e. when the last waiting client
                // has gone.
                let (cancel, _trigger) = Cancel::pair();
                self.stats.count(kind, true);
                rendered.store(true, Ordering::Relaxed);
                let out = tokio::task::spawn_blocking(move || render(&cancel))
                    .await
                    .map_err(|e| ServiceError::Internal(format!("render: {e}")))?;
                if out.is_err() {
                    self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
                }
                out.map(Bytes::from)
            })
            .await?
            .clone();
        if !rendered_here.load(Ordering::Relaxed) {
            // Waited for a render another caller started.
            self.stats.count(kind, false);
        }
        self.settle(&key, bytes.len());
        Ok(bytes)
    }

    /// Keeps the cache within its byte cap and entry count, least recently used out first.
    fn settle(&self, key: &Key, len: usize) {
        let mut map = self.map.lock().expect("answers poisoned");
        if len > self.cap_bytes {
            map.remove(key);
            return;
        }
        loop {
            let total: usize = map
                .values()
                .filter_map(|e| e.cell.get().map(|b| b.len()))
                .sum();
            if total <= self.cap_bytes && map.len() <= MAX_ENTRIES {
                break;
            }
            let Some(oldest) = map
                .iter()
                .filter(|(k, _)| *k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
    }

    /// Prometheus text: answers served from a finished render (cache or shared wait) and
    /// renders, per kind; renders cancelled; bytes cached.
    pub fn metrics_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::from(
            "# TYPE gatehouse_answers_renders_total counter\n\
             # TYPE gatehouse_answers_hits_total counter\n",
        );
        for (kind, (hits, renders)) in self.stats.by_kind.lock().expect("answer stats").iter() {
            let _ = writeln!(
                out,
                "gatehouse_answers_renders_total{{kind=\"{kind}\"}} {renders}"
            );
            let _ = writeln!(
                out,
                "gatehouse_answers_hits_total{{kind=\"{kind}\"}} {hits}"
            );
        }
        let _ = writeln!(
            out,
            "# TYPE gatehouse_answers_cancelled_total counter\ngatehouse_answers_cancelled_total {}\n\
             # TYPE gatehouse_answers_cached_bytes gauge\ngatehouse_answers_cached_bytes {}",
            self.stats.cancelled.load(Ordering::Relaxed),
            self.cached_bytes()
        );
        out
    }

    /// Bytes of finished answers held by the cache.
    pub fn cached_bytes(&self) -> usize {
        self.map
            .lock()
            .expect("answers poisoned")
            .values()
            .filter_map(|e| e.cell.get().map(|b| b.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_render_and_a_new_version_renders_again() {
        let a = Arc::new(Answers::new(1 << 20, 4096));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut joins = Vec::new();
        for _ in 0..16 {
            let (a, runs) = (a.clone(), runs.clone());
            joins.push(tokio::spawn(async move {
                a.get("labor", String::new(), 7, 64, move |_| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    Ok(b"answer-7".to_vec())
                })
                .await
                .unwrap()
            }));
        }
        for j in joins {
            assert_eq!(&j.await.unwrap()[..], b"answer-7");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let r2 = runs.clone();
        let b = a
            .get("labor", String::new(), 8, 64, move |_| {
                r2.fetch_add(1, Ordering::SeqCst);
                Ok(b"answer-8".to_vec())
            })
            .await
            .unwrap();
        assert_eq!(&b[..], b"answer-8");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // The old version was dropped from the cache.
        assert_eq!(a.cached_bytes(), 8);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_render_nobody_waits_for_is_cancelled() {
        let a = Arc::new(Answers::new(1 << 20, 4096));
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let s = saw_cancel.clone();
        let fut = a.get("labor", String::new(), 1, 64, move |c| {
            for _ in 0..200 {
                if c.check().is_err() {
                    s.store(true, Ordering::SeqCst);
                    return Err(ServiceError::Internal("cancelled".into()));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(vec![1])
        });
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), fut).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(saw_cancel.load(Ordering::SeqCst));
        assert_eq!(a.cached_bytes(), 0);
    }
}
