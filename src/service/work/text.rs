//! The tasks' text search (`q`) through a trigram index (`domain::text`), kept off the write
//! path: a task's commit marks it pending (one key), and the server's indexer writes its
//! postings in the background, a few tasks per commit.
//!
//! A search reads the tasks holding every trigram of `q` from the postings (a leapfrog over
//! the trigrams' key ranges, in list order) and the pending tasks themselves, and checks each
//! against the whole filter. Postings of a pending task are ignored (they may be stale), so
//! the answer is the one a walk would give, however far behind the indexer is. When more than
//! `PENDING_AT_MOST` tasks are pending (an upgrade, a bulk import) or `q` is shorter than a
//! trigram, the search walks as before (`tasks::page_of`).
//!
//! The indexer writes a task's postings first and removes its mark in a second commit, and
//! only if the task is still as indexed: a search between the two reads the task itself, and
//! a change made meanwhile keeps its mark.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::domain::text::{self, Gram};
use crate::domain::work::tasks::{Task, TaskFilter, TaskId};
use crate::domain::work::Paging;
use crate::service::answers::Cancel;
use crate::service::walks::CHECK_EVERY;
use crate::service::{Result, ServiceError};
use crate::store::engine::KvIter;
use crate::store::tables::work::order_key;
use crate::store::tables::work_text::{posting, TaskText, TASKS_BY_TEXT, TASKS_TEXT_PENDING};
use crate::store::{codec, Op, Record, Store, Tx};

/// Most pending tasks a search reads itself. Beyond, the indexer is far behind and the search
/// walks instead (which holds one page, where this holds the pending tasks' keys).
pub const PENDING_AT_MOST: usize = 1024;

/// Tasks indexed per round, and the postings a round writes at most (a task with a long
/// description has hundreds): what a round holds in memory.
const BATCH: usize = 256;
const OPS_AT_MOST: usize = 16_384;

static INDEXED: AtomicU64 = AtomicU64::new(0);
static THROUGH_INDEX: AtomicU64 = AtomicU64::new(0);
static WALKED: AtomicU64 = AtomicU64::new(0);

/// Marks a task saved or deleted in `tx` for the indexer.
pub fn mark(tx: &mut Tx, id: TaskId) {
    tx.index(TASKS_TEXT_PENDING, &id.key());
}

/// Whether a change from `old` to `new` changes what the task is indexed under.
pub fn changes_text(old: Option<&Task>, new: &Task) -> bool {
    old.is_none_or(|o| {
        o.title != new.title || o.description != new.description || o.date != new.date
    })
}

fn grams_of(t: &Task) -> BTreeSet<Gram> {
    text::grams([t.title.as_str(), t.description.as_str()])
}

fn entry_of(t: &Task) -> TaskText {
    TaskText {
        order: order_key(t),
        grams: grams_of(t).into_iter().flatten().collect(),
    }
}

/// The first `limit` pending tasks, or None when there are more.
fn pending(store: &Store, limit: usize) -> Result<Option<Vec<TaskId>>> {
    let mut ids = Vec::new();
    for r in store.engine().scan(TASKS_TEXT_PENDING, b"")? {
        let (k, _) = r?;
        if ids.len() == limit {
            return Ok(None);
        }
        ids.extend(TaskId::from_key(&k));
    }
    Ok(Some(ids))
}

/// The postings of one task's change from `was` to `now`, as derived ops: the stale ones
/// removed, every current one written (not only the new ones: a write lost to a reopen is
/// written again by the next round, whatever `was` says), then the task's entry.
fn postings_ops(ops: &mut Vec<Op>, id: TaskId, was: Option<&TaskText>, now: Option<&TaskText>) {
    let keep: BTreeSet<Gram> = match (was, now) {
        (Some(w), Some(n)) if w.order == n.order => n.grams().collect(),
        _ => BTreeSet::new(),
    };
    let op = |key: Vec<u8>, value: Option<Vec<u8>>| Op {
        tree: TASKS_BY_TEXT.into(),
        key,
        value,
    };
    if let Some(w) = was {
        for g in w.grams().filter(|g| !keep.contains(g)) {
            ops.push(op(posting(&g, &w.order), None));
        }
    }
    if let Some(n) = now {
        for g in n.grams() {
            ops.push(op(posting(&g, &n.order), Some(codec::INDEX_VALUE.to_vec())));
        }
    }
    ops.push(Op {
        tree: TaskText::TREE.into(),
        key: id.key().to_vec(),
        value: now.map(codec::encode),
    });
}

/// The tasks of a round, each with what it was indexed under (None: it is gone).
type Indexed = Vec<(TaskId, Option<TaskText>)>;

/// One round's postings, written and flushed: the tasks it indexed and what under, or None
/// when nothing is pending. Blocking (a flush).
fn write_postings(store: &Store) -> Result<Option<Indexed>> {
    let engine = store.engine();
    let epoch = engine.derived_epoch();
    let (mut ops, mut indexed) = (Vec::new(), Vec::new());
    for r in engine.scan(TASKS_TEXT_PENDING, b"")?.take(BATCH) {
        let Some(id) = TaskId::from_key(&r?.0) else {
            continue;
        };
        let now = store.get::<Task>(&id.key())?.as_ref().map(entry_of);
        let was = store.get::<TaskText>(&id.key())?;
        if was != now {
            postings_ops(&mut ops, id, was.as_ref(), now.as_ref());
        }
        indexed.push((id, now));
        if ops.len() >= OPS_AT_MOST {
            break;
        }
    }
    if indexed.is_empty() {
        return Ok(None);
    }
    engine.apply_derived(&ops)?;
    if engine.flush_derived()? != epoch {
        return Err(ServiceError::Internal(
            "the store reopened while task postings were written; written again next round".into(),
        ));
    }
    Ok(Some(indexed))
}

/// One round: up to `BATCH` pending tasks' postings written straight to the store and
/// flushed (derived data, `Engine::apply_derived`: no log, no intent, no writer lock), then
/// the marks of the tasks still as indexed removed in one commit. A task changed meanwhile
/// keeps its mark for the next round. Returns how many tasks were indexed, None when none
/// was pending.
async fn index_round(store: &Store) -> Result<Option<usize>> {
    let s = store.clone();
    let round = tokio::task::spawn_blocking(move || write_postings(&s))
        .await
        .map_err(|e| ServiceError::Internal(format!("text index round: {e}")))??;
    let Some(indexed) = round else {
        return Ok(None);
    };
    let mut tx = store.begin().await;
    for (id, entry) in &indexed {
        if tx.get::<Task>(&id.key())?.as_ref().map(entry_of) == *entry {
            tx.delete_raw(TASKS_TEXT_PENDING, &id.key());
        }
    }
    tx.commit().await?;
    INDEXED.fetch_add(indexed.len() as u64, Ordering::Relaxed);
    Ok(Some(indexed.len()))
}

/// Indexes everything pending, round after round; returns how many tasks were indexed.
pub async fn index_pending(store: &Store) -> Result<usize> {
    let mut done = 0;
    while let Some(n) = index_round(store).await? {
        done += n;
    }
    Ok(done)
}

/// Share of the core the indexer leaves to the others while they write: after a round that
/// took `t`, it rests `t × REST_WHILE_BUSY` if anyone else made a durable write meanwhile.
/// A burst of writes is not slowed by its own indexing (searches read the pending tasks
/// themselves, or walk past `PENDING_AT_MOST`); a quiet box catches up at full speed.
const REST_WHILE_BUSY: u32 = 9;

/// The server's indexer: looks for pending tasks four times a second until `stop`.
pub async fn run(store: Store, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let writes = || store.flush_stats().waiters.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        loop {
            let (began, before) = (std::time::Instant::now(), writes());
            match index_round(&store).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "task text indexing failed; retried shortly");
                    break;
                }
            }
            // The round's own commit is one durable write.
            if writes().saturating_sub(before) > 1 {
                let rest = began.elapsed() * REST_WHILE_BUSY;
                tokio::select! {
                    _ = tokio::time::sleep(rest) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The order keys of the tasks holding every one of `grams`, in list order, within
/// `from..to`: a leapfrog over the grams' postings, so what is read follows the tasks that
/// hold the rarest of them, not the tree.
struct Holding<'a> {
    store: &'a Store,
    grams: &'a [Gram],
    cursors: Vec<Option<Cursor<'a>>>,
    cur: Vec<u8>,
    to: Vec<u8>,
    done: bool,
}

/// One gram's postings read forward, and the order key at its head.
struct Cursor<'a> {
    it: KvIter<'a>,
    head: Vec<u8>,
}

/// Postings a cursor steps over before it seeks instead: a common gram's next task is usually
/// a step or two on, a rare gram's far ahead (a seek descends the tree from its root).
const STEPS_BEFORE_SEEK: usize = 4;

impl<'a> Holding<'a> {
    fn new(store: &'a Store, grams: &'a [Gram], from: Vec<u8>, to: Vec<u8>) -> Self {
        Self {
            store,
            grams,
            cursors: grams.iter().map(|_| None).collect(),
            cur: from,
            to,
            done: false,
        }
    }

    /// The first order key at or after `self.cur` under gram `i`.
    fn advance(&mut self, i: usize) -> Result<Option<Vec<u8>>> {
        if let Some(c) = self.cursors[i].as_mut() {
            for _ in 0..=STEPS_BEFORE_SEEK {
                if c.head >= self.cur {
                    return Ok(Some(c.head.clone()));
                }
                match c.it.next().transpose()? {
                    Some((k, _)) => c.head = k[12..].to_vec(),
                    None => return Ok(None),
                }
            }
            if c.head >= self.cur {
                return Ok(Some(c.head.clone()));
            }
        }
        let g = &self.grams[i];
        let mut it = self.store.engine().range(
            TASKS_BY_TEXT,
            &posting(g, &self.cur),
            &posting(g, &self.to),
        )?;
        let Some((k, _)) = it.next().transpose()? else {
            return Ok(None);
        };
        let head = k[12..].to_vec();
        self.cursors[i] = Some(Cursor {
            it,
            head: head.clone(),
        });
        Ok(Some(head))
    }

    fn step(&mut self) -> Result<Option<Vec<u8>>> {
        let (mut agreed, mut i) = (0, 0);
        loop {
            let Some(o) = self.advance(i)? else {
                return Ok(None);
            };
            if o == self.cur {
                agreed += 1;
            } else {
                self.cur = o;
                agreed = 1;
            }
            if agreed == self.grams.len() {
                let found = self.cur.clone();
                self.cur.push(0);
                return Ok(Some(found));
            }
            i = (i + 1) % self.grams.len();
        }
    }
}

impl Iterator for Holding<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.grams.is_empty() {
            return None;
        }
        let r = self.step().transpose();
        self.done = !matches!(r, Some(Ok(_)));
        r
    }
}

fn task_of(order: &[u8]) -> Option<TaskId> {
    Some(TaskId(!u64::from_be_bytes(
        order.get(4..12)?.try_into().ok()?,
    )))
}

/// One page of the tasks matching `f` (whose `q` has `grams`) and their total, through the
/// index; None when too many tasks are pending (the caller walks). `from..to` are the order
/// keys of the filter's days.
pub fn page_of(
    store: &Store,
    f: &TaskFilter,
    grams: &[Gram],
    (from, to): (Vec<u8>, Vec<u8>),
    paging: Paging,
    cancel: &Cancel,
) -> Result<Option<(Vec<Task>, usize)>> {
    let Some(pending) = pending(store, PENDING_AT_MOST)? else {
        WALKED.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    };
    THROUGH_INDEX.fetch_add(1, Ordering::Relaxed);
    let skip: HashSet<TaskId> = pending.iter().copied().collect();
    // The pending tasks that match, by order key (their postings may be stale).
    let mut fresh = Vec::new();
    for id in pending {
        if let Some(t) = store.get::<Task>(&id.key())? {
            if f.matches(&t) {
                fresh.push(order_key(&t));
            }
        }
    }
    fresh.sort();
    let mut fresh = fresh.into_iter().peekable();
    let mut indexed = Holding::new(store, grams, from, to).peekable();
    let window = paging.window(usize::MAX);
    let (mut page, mut seen) = (Vec::new(), 0usize);
    for i in 0usize.. {
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        // The next candidate in list order, from either side.
        let take_fresh = match (fresh.peek(), indexed.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(Ok(b))) => a <= b,
            (Some(_), Some(Err(_))) => false,
        };
        let order = if take_fresh {
            fresh.next().expect("peeked")
        } else {
            indexed.next().expect("peeked")?
        };
        let Some(id) = task_of(&order) else { continue };
        if !take_fresh && skip.contains(&id) {
            continue;
        }
        // Loaded and checked against the whole filter: a posting is only a candidate.
        let Some(t) = store.get::<Task>(&id.key())?.filter(|t| f.matches(t)) else {
            continue;
        };
        if window.contains(&seen) {
            page.push(t);
        }
        seen += 1;
    }
    Ok(Some((page, seen)))
}

/// Counts the search that walked because `q` is shorter than a trigram.
pub fn walked_short() {
    WALKED.fetch_add(1, Ordering::Relaxed);
}

/// For /metrics: tasks indexed, searches by path, and the tasks waiting (counted up to
/// `PENDING_AT_MOST` + 1, where searches start to walk).
pub fn metrics_text(store: &Store) -> String {
    let waiting = store
        .engine()
        .scan(TASKS_TEXT_PENDING, b"")
        .map_or(0, |it| it.take(PENDING_AT_MOST + 1).count());
    format!(
        "# TYPE gatehouse_task_text_pending gauge
gatehouse_task_text_pending {waiting}
# TYPE gatehouse_task_text_indexed_total counter
gatehouse_task_text_indexed_total {}
# TYPE gatehouse_task_text_searches_total counter
gatehouse_task_text_searches_total{{path=\"index\"}} {}
gatehouse_task_text_searches_total{{path=\"walk\"}} {}
",
        INDEXED.load(Ordering::Relaxed),
        THROUGH_INDEX.load(Ordering::Relaxed),
        WALKED.load(Ordering::Relaxed),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::NaiveDate;

    use super::*;
    use crate::domain::credentials::PasswordHash;
    use crate::domain::identity::{Role, User};
    use crate::domain::ids::UserId;
    use crate::domain::work::tasks::{list_order, Priority, TaskCategory, TaskStatus};
    use crate::service::work::tasks;
    use crate::service::Services;

    fn manager() -> User {
        User {
            id: UserId(1),
            username: "rina".into(),
            name: "Rina".into(),
            role: Role::Manager,
            password: PasswordHash {
                salt: vec![0; 16],
                iterations: 1,
                hash: vec![0; 32],
            },
            active: true,
            phone: String::new(),
            email: String::new(),
            employee_code: None,
            created_unix: 0,
            password_changed_unix: 0,
        }
    }

    const TITLES: [&str; 5] = [
        "Weeding block",
        "Fence repair",
        "Pruning",
        "Drain clearing",
        "FENCE post",
    ];

    fn task(id: u64) -> Task {
        Task {
            id: TaskId(id),
            title: format!("{} {}", TITLES[id as usize % 5], id % 13),
            description: if id % 3 == 0 {
                "By Ördek hill".into()
            } else {
                String::new()
            },
            category: TaskCategory::Other,
            priority: Priority::Normal,
            status: [TaskStatus::Open, TaskStatus::Done][id as usize % 2],
            date: NaiveDate::from_ymd_opt(2026, 3, 1 + (id % 10) as u32).unwrap(),
            due_date: None,
            business: None,
            project: None,
            assignee: (id % 4 == 0).then_some(UserId(2)),
            created_by: UserId(1),
            created_unix: 0,
            updated_unix: 0,
            completed_unix: None,
            completed_by: None,
            sessions: Vec::new(),
            latitude: None,
            longitude: None,
        }
    }

    fn filters() -> Vec<TaskFilter> {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d);
        let mut out = Vec::new();
        for q in [
            "fence",
            "FENCE rep",
            "ördek",
            "ence",
            "zzz",
            "air",
            "k 1",
            " pru ",
        ] {
            let q = Some(q.to_string());
            out.push(TaskFilter {
                q: q.clone(),
                ..Default::default()
            });
            out.push(TaskFilter {
                q: q.clone(),
                status: Some(TaskStatus::Done),
                ..Default::default()
            });
            out.push(TaskFilter {
                q: q.clone(),
                from: day(3),
                to: day(7),
                ..Default::default()
            });
            out.push(TaskFilter {
                q,
                assignee: Some(UserId(2)),
                to: day(5),
                ..Default::default()
            });
        }
        out
    }

    /// The answer by reading every task: what the index must agree with.
    fn walked(store: &Store, f: &TaskFilter, p: Paging) -> (Vec<TaskId>, usize) {
        let mut all: Vec<Task> = store
            .scan::<Task>(b"")
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| f.matches(t))
            .collect();
        all.sort_by(list_order);
        let w = p.window(all.len());
        (all[w].iter().map(|t| t.id).collect(), all.len())
    }

    async fn agree(svc: &Arc<Services>, what: &str) {
        let me = manager();
        for f in filters() {
            for page in 1..=3 {
                let p = Paging { page, per_page: 7 };
                let (got, total) = tasks::list(svc, &me, &f, p).await.unwrap();
                let got: Vec<TaskId> = got.iter().map(|t| t.id).collect();
                assert_eq!(
                    (got, total),
                    walked(&svc.store, &f, p),
                    "{what}: {f:?} page {page}"
                );
            }
        }
    }

    fn count(store: &Store, tree: &str) -> usize {
        store.engine().scan(tree, b"").unwrap().count()
    }

    #[tokio::test]
    async fn a_search_through_the_index_finds_what_a_walk_finds_however_far_behind_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let (store, svc) = Services::for_tests(dir.path());
        let mut tx = store.begin().await;
        for id in 1..=300 {
            tasks::put(&mut tx, None, &task(id)).unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(count(&store, TASKS_TEXT_PENDING), 300);
        let before = THROUGH_INDEX.load(Ordering::Relaxed);
        // Nothing indexed yet: every task is read itself.
        agree(&svc, "all pending").await;
        assert!(THROUGH_INDEX.load(Ordering::Relaxed) > before);

        assert_eq!(index_pending(&store).await.unwrap(), 300);
        assert_eq!(count(&store, TASKS_TEXT_PENDING), 0);
        let postings: usize = (1..=300).map(|id| grams_of(&task(id)).len()).sum();
        assert_eq!(count(&store, TASKS_BY_TEXT), postings);
        agree(&svc, "all indexed").await;

        // Renamed, moved to another day, status changed only, deleted: half still pending.
        let me = manager();
        let mut tx = store.begin().await;
        for id in (1..=300).step_by(7) {
            let old = task(id);
            let mut new = old.clone();
            new.title = new
                .title
                .replace("Fence", "Gate")
                .replace("Pruning", "Fence mending");
            if id % 2 == 0 {
                new.date = NaiveDate::from_ymd_opt(2026, 2, 20).unwrap();
            }
            tasks::put(&mut tx, Some(&old), &new).unwrap();
        }
        for id in (3..=300).step_by(11) {
            let old = task(id);
            let new = Task {
                status: TaskStatus::Cancelled,
                ..old.clone()
            };
            tasks::put(&mut tx, Some(&old), &new).unwrap();
        }
        for id in (5..=300).step_by(13) {
            tasks::delete_task(&mut tx, &me, TaskId(id)).unwrap();
        }
        tx.commit().await.unwrap();
        assert!(count(&store, TASKS_TEXT_PENDING) > 0);
        agree(&svc, "some pending").await;

        index_pending(&store).await.unwrap();
        assert_eq!(count(&store, TASKS_TEXT_PENDING), 0);
        let mut postings = 0;
        for (k, t) in store.scan::<Task>(b"").unwrap() {
            postings += grams_of(&t).len();
            assert_eq!(store.get::<TaskText>(&k).unwrap(), Some(entry_of(&t)));
        }
        assert_eq!(
            count(&store, TASKS_BY_TEXT),
            postings,
            "no stale posting left"
        );
        assert_eq!(
            count(&store, TaskText::TREE),
            store.scan::<Task>(b"").unwrap().len()
        );
        agree(&svc, "indexed again").await;
    }

    #[tokio::test]
    async fn a_search_walks_when_too_many_tasks_wait_or_the_text_is_short() {
        let dir = tempfile::tempdir().unwrap();
        let (store, svc) = Services::for_tests(dir.path());
        let mut tx = store.begin().await;
        for id in 1..=(PENDING_AT_MOST as u64 + 1) {
            tasks::put(&mut tx, None, &task(id)).unwrap();
        }
        tx.commit().await.unwrap();
        let f = TaskFilter {
            q: Some("fence".into()),
            ..Default::default()
        };
        let p = Paging {
            page: 2,
            per_page: 5,
        };
        assert_eq!(pending(&store, PENDING_AT_MOST).unwrap(), None);
        let bounds = (Vec::new(), vec![0xff; 13]);
        let grams = text::query_grams("fence").unwrap();
        assert!(page_of(&store, &f, &grams, bounds, p, &Cancel::NEVER)
            .unwrap()
            .is_none());
        let (got, total) = tasks::list(&svc, &manager(), &f, p).await.unwrap();
        let got: Vec<TaskId> = got.iter().map(|t| t.id).collect();
        assert_eq!((got, total), walked(&store, &f, p));
        let short = TaskFilter {
            q: Some("fe".into()),
            ..Default::default()
        };
        let (got, total) = tasks::list(&svc, &manager(), &short, p).await.unwrap();
        let got: Vec<TaskId> = got.iter().map(|t| t.id).collect();
        assert_eq!((got, total), walked(&store, &short, p));
    }

    #[test]
    fn the_leapfrog_yields_the_tasks_holding_every_gram_in_list_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Default::default()).unwrap();
        let tasks: Vec<Task> = (1..=40).map(task).collect();
        let mut ops = Vec::new();
        for t in &tasks {
            for g in grams_of(t) {
                ops.push(crate::store::Op {
                    tree: TASKS_BY_TEXT.into(),
                    key: posting(&g, &order_key(t)),
                    value: Some(crate::store::codec::INDEX_VALUE.to_vec()),
                });
            }
        }
        store.apply(&ops).unwrap();
        for q in ["fence", "ence p", "ördek", "air 1", "zzz", "k 1"] {
            let grams = text::query_grams(q).unwrap();
            let got: Vec<Vec<u8>> = Holding::new(&store, &grams, Vec::new(), vec![0xff; 13])
                .collect::<Result<_>>()
                .unwrap();
            let mut want: Vec<Vec<u8>> = tasks
                .iter()
                .filter(|t| {
                    let have = grams_of(t);
                    grams.iter().all(|g| have.contains(g))
                })
                .map(order_key)
                .collect();
            want.sort();
            assert_eq!(got, want, "{q}");
        }
    }
}
