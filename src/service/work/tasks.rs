//! Tasks: save, update, delete, read, list, and the groupings the app shows.
//! Both wire paths (Tasks and Remove/Tasks) call these, so one rule serves both.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;
use crate::domain::work::org::{Business, BusinessId};
use crate::domain::work::projects::{Project, ProjectId};
use crate::domain::work::tasks::{
    self as dt, Priority, Task, TaskCategory, TaskFilter, TaskId, TaskImage, TaskRuleError,
    TaskStatus,
};
use crate::domain::work::Paging;
use crate::service::identity::{self as ident, next_id};
use crate::service::transfer::Table;
use crate::store::counters;
use crate::store::tables::work::{
    assignee_entries, count_assignee_open, count_status, day_key, facet_entries, order_key,
    session_entries, status_entries, status_prefix, task_figures, workers, Facet, COUNT_ALL,
    SESSIONS_BY_END, TASKS_BY_ASSIGNEE, TASKS_BY_FACET, TASKS_BY_ORDER, TASKS_BY_STATUS,
    TASKS_BY_WORKER, TASKS_RUNNING,
};
use crate::store::tables::work::{
    count_images, done_key, work_day_keys, TASKS_BY_DONE, TASKS_BY_WORK_DAY,
};
use crate::store::{Store, Tx};

use super::{length, not_found, require, today};
use crate::service::answers::Cancel;
use crate::service::walks::CHECK_EVERY;
use crate::service::{Result, ServiceError, Services};

/// Fields of Save Task / Update Task. `None` = not sent (keep); for nullable references,
/// `Some(None)` = clear.
#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<TaskCategory>,
    pub priority: Option<Priority>,
    pub status: Option<TaskStatus>,
    pub date: Option<NaiveDate>,
    pub due_date: Option<Option<NaiveDate>>,
    pub business: Option<Option<BusinessId>>,
    pub project: Option<Option<ProjectId>>,
    pub assignee: Option<Option<UserId>>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
}

/// The references a task makes must exist when it is written.
fn check_refs(tx: &Tx, t: &Task) -> Result<()> {
    let mut errs = Vec::new();
    if let Some(b) = t.business {
        if tx.get::<Business>(&b.key())?.is_none() {
            errs.push(("business_id", "org.business.unknown"));
        }
    }
    if let Some(p) = t.project {
        if tx.get::<Project>(&p.key())?.is_none() {
            errs.push(("project_id", "project.unknown"));
        }
    }
    if let Some(u) = t.assignee {
        match tx.get::<User>(&u.key())? {
            Some(u) if u.active => {}
            _ => errs.push(("assignee_id", "task.assignee.unknown")),
        }
    }
    if let Some(d) = t.due_date {
        if d < t.date {
            errs.push(("due_date", "task.due_before_date"));
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    Err(ServiceError::Invalid(
        errs.into_iter()
            .map(|(f, k)| crate::domain::validate::FieldError {
                field: f.to_string(),
                key: k,
                args: vec![("field", f.to_string())],
            })
            .collect(),
    ))
}

fn apply(t: &mut Task, c: TaskChanges) -> Result<()> {
    if let Some(v) = c.title {
        let v = v.trim().to_string();
        length("title", &v, 1, dt::TITLE_MAX)?;
        t.title = v;
    }
    if let Some(v) = c.description {
        let v = v.trim().to_string();
        length("description", &v, 0, dt::DESCRIPTION_MAX)?;
        t.description = v;
    }
    if let Some(v) = c.category {
        t.category = v;
    }
    if let Some(v) = c.priority {
        t.priority = v;
    }
    if let Some(v) = c.date {
        t.date = v;
    }
    if let Some(v) = c.due_date {
        t.due_date = v;
    }
    if let Some(v) = c.business {
        t.business = v;
    }
    if let Some(v) = c.project {
        t.project = v;
    }
    if let Some(v) = c.assignee {
        t.assignee = v;
    }
    if let Some(v) = c.latitude {
        t.latitude = v;
    }
    if let Some(v) = c.longitude {
        t.longitude = v;
    }
    Ok(())
}

fn running_key(user: UserId, task: TaskId) -> Vec<u8> {
    [user.key(), task.key()].concat()
}

/// Keeps the report indexes (done by time, worked by day) in step; `new` None = deleted.
fn report_indexes(tx: &mut Tx, old: Option<&Task>, new: Option<&Task>) {
    let (od, nd) = (old.and_then(done_key), new.and_then(done_key));
    if od != nd {
        if let Some(k) = od {
            tx.delete_raw(TASKS_BY_DONE, &k);
        }
        if let Some(k) = nd {
            tx.index(TASKS_BY_DONE, &k);
        }
    }
    let ow = old.map(work_day_keys).unwrap_or_default();
    let nw = new.map(work_day_keys).unwrap_or_default();
    for k in ow.difference(&nw) {
        tx.delete_raw(TASKS_BY_WORK_DAY, k);
    }
    for k in nw.difference(&ow) {
        tx.index(TASKS_BY_WORK_DAY, k);
    }
}

/// Writes a task and keeps its indexes and counters in step with what changed.
fn put(tx: &mut Tx, old: Option<&Task>, new: &Task) -> Result<()> {
    let assignee = |t: Option<&Task>| t.and_then(|t| t.assignee);
    let runner = |t: Option<&Task>| t.and_then(|t| t.running()).map(|s| s.user);
    if assignee(old) != new.assignee {
        if let Some(u) = assignee(old) {
            tx.delete_raw(TASKS_BY_ASSIGNEE, &running_key(u, new.id));
        }
        if let Some(u) = new.assignee {
            tx.index(TASKS_BY_ASSIGNEE, &running_key(u, new.id));
        }
    }
    if runner(old) != runner(Some(new)) {
        if let Some(u) = runner(old) {
            tx.delete_raw(TASKS_RUNNING, &running_key(u, new.id));
        }
        if let Some(u) = runner(Some(new)) {
            tx.index(TASKS_RUNNING, &running_key(u, new.id));
        }
    }
    report_indexes(tx, old, Some(new));
    let before = old.map(workers).unwrap_or_default();
    for u in workers(new) {
        if !before.contains(&u) {
            tx.index(TASKS_BY_WORKER, &running_key(u, new.id));
        }
    }
    match old {
        None => {
            tx.index(TASKS_BY_ORDER, &order_key(new));
            counters::add(tx, COUNT_ALL, 1)?;
            counters::add(tx, &count_status(new.status), 1)?;
        }
        Some(o) => {
            if o.date != new.date {
                tx.delete_raw(TASKS_BY_ORDER, &order_key(o));
                tx.index(TASKS_BY_ORDER, &order_key(new));
            }
            if o.status != new.status {
                counters::add(tx, &count_status(o.status), -1)?;
                counters::add(tx, &count_status(new.status), 1)?;
            }
        }
    }
    for (tree, entries) in [
        (
            SESSIONS_BY_END,
            session_entries as fn(&Task) -> Vec<Vec<u8>>,
        ),
        (TASKS_BY_FACET, facet_entries),
        (TASKS_BY_STATUS, status_entries),
    ] {
        let (was, now) = (old.map(entries).unwrap_or_default(), entries(new));
        for k in was.iter().filter(|k| !now.contains(k)) {
            tx.delete_raw(tree, k);
        }
        for k in now.iter().filter(|k| !was.contains(k)) {
            tx.index(tree, k);
        }
    }
    let (was, now) = (
        old.map(assignee_entries).unwrap_or_default(),
        assignee_entries(new),
    );
    for (tree, k) in was.iter().filter(|e| !now.contains(e)) {
        tx.delete_raw(tree, k);
    }
    for (tree, k) in now.iter().filter(|e| !was.contains(e)) {
        tx.index(tree, k);
    }
    let (was, now) = (old.map(task_figures).unwrap_or_default(), task_figures(new));
    if was != now {
        for k in &was {
            counters::add(tx, k, -1)?;
        }
        for k in &now {
            counters::add(tx, k, 1)?;
        }
    }
    tx.put(&new.id.key(), new);
    Ok(())
}

/// The task `user` has running, if any.
pub fn running_for(store: &Store, user: UserId) -> Result<Option<Task>> {
    for k in store.index_keys(TASKS_RUNNING, &user.key())? {
        if let Some(t) = store.get::<Task>(&k)? {
            if t.running().is_some_and(|s| s.user == user) {
                return Ok(Some(t));
            }
        }
    }
    Ok(None)
}

/// Applies a status change; a user works on one task at a time, so starting a second one
/// while another runs is refused (409) rather than silently double-counting hours.
fn change_status(
    svc: &Services,
    tx: &Tx,
    t: &mut Task,
    to: TaskStatus,
    actor: &User,
) -> Result<()> {
    if to == TaskStatus::InProgress && t.status != TaskStatus::InProgress {
        let worker = t.worker(actor.id);
        for k in tx.store().index_keys(TASKS_RUNNING, &worker.key())? {
            if let Some(other) = tx.get::<Task>(&k)? {
                if other.id != t.id && other.running().is_some_and(|s| s.user == worker) {
                    return Err(ServiceError::Conflict {
                        key: "task.already_running",
                        args: vec![("task_id", other.id.to_string()), ("title", other.title)],
                    });
                }
            }
        }
    }
    t.set_status(to, actor.id, svc.now_unix())
        .map_err(
            |TaskRuleError::Transition { from, to }| ServiceError::Conflict {
                key: "task.status.transition",
                args: vec![("from", from.as_str().into()), ("to", to.as_str().into())],
            },
        )
}

/// Save Task: a new task (title required; the work day defaults to the site's today).
pub fn save_task(svc: &Services, tx: &mut Tx, actor: &User, mut c: TaskChanges) -> Result<Task> {
    require(actor, Permission::TasksEdit)?;
    if c.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(ServiceError::invalid("title", "field.required", vec![]));
    }
    let now = svc.now_unix();
    let status = c.status.take();
    let id = TaskId(next_id(tx, "work.task")?);
    let mut t = Task {
        id,
        title: String::new(),
        description: String::new(),
        category: TaskCategory::Other,
        priority: Priority::Normal,
        status: TaskStatus::Open,
        date: today(svc),
        due_date: None,
        business: None,
        project: None,
        assignee: None,
        created_by: actor.id,
        created_unix: now,
        updated_unix: now,
        completed_unix: None,
        completed_by: None,
        sessions: Vec::new(),
        latitude: None,
        longitude: None,
    };
    apply(&mut t, c)?;
    check_refs(tx, &t)?;
    if let Some(s) = status {
        change_status(svc, tx, &mut t, s, actor)?;
    }
    put(tx, None, &t)?;
    Ok(t)
}

/// Update Task: changes only the fields sent.
pub fn update_task(
    svc: &Services,
    tx: &mut Tx,
    actor: &User,
    id: TaskId,
    mut c: TaskChanges,
) -> Result<Task> {
    require(actor, Permission::TasksEdit)?;
    let old = tx
        .get::<Task>(&id.key())?
        .ok_or_else(|| not_found("task.not_found"))?;
    let mut t = old.clone();
    let status = c.status.take();
    let reassigned = c.assignee.is_some_and(|a| a != old.assignee);
    if reassigned && t.running().is_some() {
        // The running session belongs to the old assignee: stop it before handing over.
        return Err(ServiceError::Conflict {
            key: "task.reassign_running",
            args: vec![],
        });
    }
    apply(&mut t, c)?;
    check_refs(tx, &t)?;
    if let Some(s) = status {
        change_status(svc, tx, &mut t, s, actor)?;
    }
    t.updated_unix = svc.now_unix();
    put(tx, Some(&old), &t)?;
    Ok(t)
}

/// Delete Task: the task, its index entries and its photos' metadata (the photo files stay
/// until no record names them; blobs are shared by content).
pub fn delete_task(tx: &mut Tx, actor: &User, id: TaskId) -> Result<Task> {
    require(actor, Permission::TasksEdit)?;
    let t = tx
        .get::<Task>(&id.key())?
        .ok_or_else(|| not_found("task.not_found"))?;
    if let Some(u) = t.assignee {
        tx.delete_raw(TASKS_BY_ASSIGNEE, &running_key(u, id));
    }
    if let Some(s) = t.running() {
        tx.delete_raw(TASKS_RUNNING, &running_key(s.user, id));
    }
    for (k, _) in tx.store().scan::<TaskImage>(&id.key())? {
        tx.delete::<TaskImage>(&k);
    }
    tx.delete::<crate::store::counters::Counter>(count_images(id).as_bytes());
    tx.delete_raw(TASKS_BY_ORDER, &order_key(&t));
    report_indexes(tx, Some(&t), None);
    for u in workers(&t) {
        tx.delete_raw(TASKS_BY_WORKER, &running_key(u, id));
    }
    counters::add(tx, COUNT_ALL, -1)?;
    counters::add(tx, &count_status(t.status), -1)?;
    for k in task_figures(&t) {
        counters::add(tx, &k, -1)?;
    }
    for (tree, k) in assignee_entries(&t) {
        tx.delete_raw(tree, &k);
    }
    for k in session_entries(&t) {
        tx.delete_raw(SESSIONS_BY_END, &k);
    }
    for k in facet_entries(&t) {
        tx.delete_raw(TASKS_BY_FACET, &k);
    }
    for k in status_entries(&t) {
        tx.delete_raw(TASKS_BY_STATUS, &k);
    }
    tx.delete::<Task>(&id.key());
    Ok(t)
}

pub fn load(store: &Store, id: TaskId) -> Result<Task> {
    store
        .get::<Task>(&id.key())?
        .ok_or_else(|| not_found("task.not_found"))
}

/// Get Task Detail.
pub fn task(svc: &Services, actor: &User, id: TaskId) -> Result<Task> {
    require(actor, Permission::TasksView)?;
    load(&svc.store, id)
}

/// Where a list's tasks are, in list order: the tree and key prefix to walk. A status (alone
/// or with a facet) is one range of the status index; a facet alone one of the facet index.
fn source(status: Option<TaskStatus>, facet: Option<Facet>) -> (&'static str, Vec<u8>) {
    match (status, facet) {
        (Some(s), fc) => (TASKS_BY_STATUS, status_prefix(fc, s)),
        (None, Some(fc)) => (TASKS_BY_FACET, fc.prefix()),
        (None, None) => (TASKS_BY_ORDER, Vec::new()),
    }
}

/// The ids of one source's tasks in list order, from the filter's last day back to its first
/// (keys only: nothing is read until the caller loads a task).
fn ids_in_order<'a>(
    store: &'a Store,
    f: &TaskFilter,
    (tree, prefix): (&'static str, Vec<u8>),
) -> Result<impl Iterator<Item = Result<TaskId>> + 'a> {
    let start = f.to.map(|d| day_key(d).to_vec()).unwrap_or_default();
    let end = f
        .from
        .and_then(|d| d.pred_opt())
        .map(|d| day_key(d).to_vec())
        .unwrap_or_else(|| vec![0xff; 13]);
    let at = prefix.len();
    Ok(store
        .engine()
        .range(
            tree,
            &[prefix.as_slice(), &start].concat(),
            &[prefix.as_slice(), &end].concat(),
        )?
        .filter_map(move |r| {
            let k = match r {
                Ok((k, _)) => k,
                Err(e) => return Some(Err(e.into())),
            };
            let id = u64::from_be_bytes(k.get(at + 4..at + 12)?.try_into().ok()?);
            Some(Ok(TaskId(!id)))
        }))
}

fn load_all<'a>(
    store: &'a Store,
    ids: impl Iterator<Item = Result<TaskId>> + 'a,
) -> impl Iterator<Item = Result<Task>> + 'a {
    ids.filter_map(move |id| match id {
        Ok(id) => store.get::<Task>(&id.key()).map_err(Into::into).transpose(),
        Err(e) => Some(Err(e)),
    })
}

/// The facets a filter names.
fn named_facets(f: &TaskFilter) -> Vec<Facet> {
    let mut v = Vec::new();
    v.extend(f.assignee.map(Facet::Assignee));
    v.extend(f.project.map(Facet::Project));
    v.extend(f.business.map(Facet::Business));
    v.extend(f.involving.map(Facet::Involving));
    v
}

/// How a filtered list is read: the facet to walk (the one of the filter's facets holding the
/// fewest tasks in its status, by their counters), that facet's count (an upper bound of the
/// list's total), and whether the walk's every task matches (the filter is that facet and at
/// most a status: its total is the count, and skipped pages need no reads).
struct Plan {
    facet: Option<Facet>,
    count: u64,
    exact: bool,
}

fn plan(store: &Store, f: &TaskFilter) -> Result<Plan> {
    let count = |fc: Option<Facet>| -> Result<u64> {
        let key = match fc {
            Some(fc) => fc.counter(f.status),
            None => f
                .status
                .map(count_status)
                .unwrap_or_else(|| COUNT_ALL.into()),
        };
        Ok(counters::get(store, &key)?)
    };
    let named = named_facets(f);
    let mut best = Plan {
        facet: None,
        count: 0,
        exact: false,
    };
    if named.is_empty() {
        best.count = count(None)?;
    }
    for fc in &named {
        let n = count(Some(*fc))?;
        if best.facet.is_none() || n < best.count {
            best = Plan {
                facet: Some(*fc),
                count: n,
                exact: false,
            };
        }
    }
    best.exact = !walks(f);
    Ok(best)
}

/// Whether a list under `f` walks the narrowest facet's tasks (a second facet, a category,
/// days or text) instead of reading one index range: such lists run as a `Services::walks`.
fn walks(f: &TaskFilter) -> bool {
    named_facets(f).len() > 1
        || f.category.is_some()
        || f.from.is_some()
        || f.to.is_some()
        || f.q.is_some()
}

/// Each task matching `f`, in list order, read through the narrowest index range the filter
/// names (no sort), handed to `each` without being kept.
fn for_each_matching(
    store: &Store,
    f: &TaskFilter,
    cancel: &Cancel,
    mut each: impl FnMut(Task),
) -> Result<()> {
    let p = plan(store, f)?;
    if p.count == 0 {
        return Ok(());
    }
    let ids = ids_in_order(store, f, source(f.status, p.facet))?;
    for (i, t) in load_all(store, ids).enumerate() {
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        let t = t?;
        if f.matches(&t) {
            each(t);
        }
    }
    Ok(())
}

/// Every task matching `f`, in list order (the CLI's export).
pub fn matching(store: &Store, f: &TaskFilter) -> Result<Vec<Task>> {
    let mut out = Vec::new();
    for_each_matching(store, f, &Cancel::NEVER, |t| out.push(t))?;
    Ok(out)
}

/// One page of the tasks matching `f` and their total. When the filter is one facet (or none)
/// and at most a status, the page is one key range of an index (skipped pages read keys only)
/// and the total a counter; otherwise the narrowest facet's tasks (bounded by the filter's
/// days) are walked to count, holding one page.
fn page_of(
    store: &Store,
    f: &TaskFilter,
    paging: Paging,
    cancel: &Cancel,
) -> Result<(Vec<Task>, usize)> {
    let p = plan(store, f)?;
    if p.count == 0 {
        return Ok((Vec::new(), 0));
    }
    let ids = ids_in_order(store, f, source(f.status, p.facet))?;
    if p.exact {
        let total = p.count as usize;
        let window = paging.window(total);
        let ids = ids
            .skip(window.start)
            .take(window.len())
            .map(|id| id.map(|id| id.key()))
            .collect::<Result<Vec<_>>>()?;
        let keys: Vec<&[u8]> = ids.iter().map(|k| k.as_slice()).collect();
        // One read for the page (`Store::get_many`); an id whose task is gone is left out.
        let page = store
            .get_many::<Task>(&keys)?
            .into_iter()
            .flatten()
            .collect();
        return Ok((page, total));
    }
    let window = paging.window(usize::MAX);
    let mut page = Vec::new();
    let mut seen = 0usize;
    for (i, t) in load_all(store, ids).enumerate() {
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        let t = t?;
        if !f.matches(&t) {
            continue;
        }
        if window.contains(&seen) {
            page.push(t);
        }
        seen += 1;
    }
    Ok((page, seen))
}

/// Get Task List / Get Tasks: one page and the total (see `page_of`). A list that walks runs
/// off the async workers (`Services::walks`).
pub async fn list(
    svc: &Arc<Services>,
    actor: &User,
    f: &TaskFilter,
    paging: Paging,
) -> Result<(Vec<Task>, usize)> {
    require(actor, Permission::TasksView)?;
    let (s, f) = (svc.clone(), f.clone());
    svc.walks
        .run_if(walks(&f), move |cancel| {
            page_of(&s.store, &f, paging, cancel)
        })
        .await
}

/// Get Task Has Been Running: the caller's running task.
pub fn running(svc: &Services, actor: &User) -> Result<Option<Task>> {
    require(actor, Permission::TasksView)?;
    running_for(&svc.store, actor.id)
}

/// Count per status, every status present (zeros included).
pub fn count_by_status(tasks: &[Task]) -> BTreeMap<&'static str, u64> {
    let mut m: BTreeMap<&'static str, u64> =
        TaskStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for t in tasks {
        *m.entry(t.status.as_str()).or_default() += 1;
    }
    m
}

/// Get Tasks Grouping: per status, how many tasks match `f` and the first `per_group` of them
/// in list order. Each group is a page of the status index and its count a counter when the
/// filter is at most one facet (see `page_of`); otherwise the groups are one walk
/// (`Services::walks`).
pub async fn grouping(
    svc: &Arc<Services>,
    actor: &User,
    f: &TaskFilter,
    per_group: usize,
) -> Result<Vec<(TaskStatus, usize, Vec<Task>)>> {
    require(actor, Permission::TasksView)?;
    let (s, f) = (svc.clone(), f.clone());
    svc.walks
        .run_if(walks(&f), move |cancel| {
            groups(&s.store, &f, per_group, cancel)
        })
        .await
}

fn groups(
    store: &Store,
    f: &TaskFilter,
    per_group: usize,
    cancel: &Cancel,
) -> Result<Vec<(TaskStatus, usize, Vec<Task>)>> {
    let mut out = Vec::new();
    for s in TaskStatus::ALL {
        if f.status.is_some_and(|want| want != s) {
            out.push((s, 0, Vec::new()));
            continue;
        }
        let one = TaskFilter {
            status: Some(s),
            ..f.clone()
        };
        let paging = Paging {
            page: 1,
            per_page: per_group,
        };
        let (items, total) = page_of(store, &one, paging, cancel)?;
        out.push((s, total, items));
    }
    Ok(out)
}

/// One line of Get Task Grouping User.
pub struct UserGroup {
    pub user: Option<User>,
    pub counts: BTreeMap<&'static str, u64>,
    pub total: u64,
}

/// Get Task Grouping User: per assignee (unassigned last), counts per status. A filter of at
/// most a status reads each user's assignee counters (users are capped) and the status
/// counters; other filters count the matching tasks in one walk (`Services::walks`).
pub async fn grouping_by_user(
    svc: &Arc<Services>,
    actor: &User,
    f: &TaskFilter,
) -> Result<Vec<UserGroup>> {
    require(actor, Permission::TasksView)?;
    let (s, f) = (svc.clone(), f.clone());
    svc.walks
        .run_if(!at_most_status(&f), move |cancel| {
            groups_by_user(&s.store, &f, cancel)
        })
        .await
}

fn at_most_status(f: &TaskFilter) -> bool {
    TaskFilter {
        status: f.status,
        ..TaskFilter::default()
    } == *f
}

fn groups_by_user(store: &Store, f: &TaskFilter, cancel: &Cancel) -> Result<Vec<UserGroup>> {
    let at_most_status = at_most_status(f);
    let mut by: BTreeMap<Option<UserId>, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let zeros = || count_by_status(&[]);
    let wanted = |s: TaskStatus| f.status.is_none_or(|w| w == s);
    if at_most_status {
        let mut unassigned = zeros();
        for s in TaskStatus::ALL.into_iter().filter(|s| wanted(*s)) {
            *unassigned.entry(s.as_str()).or_default() = counters::get(store, &count_status(s))?;
        }
        for u in ident::users(store)? {
            let mut counts = zeros();
            for s in TaskStatus::ALL.into_iter().filter(|s| wanted(*s)) {
                let n = counters::get(store, &Facet::Assignee(u.id).counter(Some(s)))?;
                *counts.entry(s.as_str()).or_default() = n;
                let left = unassigned.entry(s.as_str()).or_default();
                *left = left.saturating_sub(n);
            }
            if counts.values().any(|n| *n > 0) {
                by.insert(Some(u.id), counts);
            }
        }
        if unassigned.values().any(|n| *n > 0) {
            by.insert(None, unassigned);
        }
    } else {
        for_each_matching(store, f, cancel, |t| {
            *by.entry(t.assignee)
                .or_insert_with(zeros)
                .entry(t.status.as_str())
                .or_default() += 1;
        })?;
    }
    let mut out = Vec::new();
    let mut unassigned = None;
    for (u, counts) in by {
        let g = UserGroup {
            user: match u {
                Some(id) => ident::user(store, id)?,
                None => None,
            },
            total: counts.values().sum(),
            counts,
        };
        if u.is_none() {
            unassigned = Some(g);
        } else {
            out.push(g);
        }
    }
    out.extend(unassigned);
    Ok(out)
}

/// Get Task User: the users a task can be assigned to, with how many open tasks each holds.
pub fn assignable_users(svc: &Services, actor: &User) -> Result<Vec<(User, u64)>> {
    require(actor, Permission::TasksEdit)?;
    let mut out = Vec::new();
    // Users are capped (identity::MAX_USERS); each one's open tasks are a counter.
    for u in ident::users(&svc.store)?.into_iter().filter(|u| u.active) {
        let open = counters::get(&svc.store, &count_assignee_open(u.id))?;
        out.push((u, open));
    }
    Ok(out)
}

/// `gatehouse export tasks --from --to`: every task whose work day is in the period.
pub fn export_tasks(svc: &Services, from: NaiveDate, to: NaiveDate) -> Result<Table> {
    let f = TaskFilter {
        from: Some(from),
        to: Some(to),
        ..Default::default()
    };
    let mut tasks = matching(&svc.store, &f)?;
    tasks.sort_by(|a, b| a.date.cmp(&b.date).then(a.id.cmp(&b.id)));
    let now = svc.now_unix();
    let off = svc.config.site.timezone_offset_minutes;
    let headers = [
        "task_id",
        "date",
        "title",
        "category",
        "priority",
        "status",
        "business",
        "project",
        "assignee",
        "created_by",
        "completed_at",
        "worked_hours",
    ]
    .map(String::from)
    .to_vec();
    let mut names = NameCache::default();
    let rows = tasks
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                t.date.to_string(),
                t.title.clone(),
                t.category.as_str().to_string(),
                t.priority.as_str().to_string(),
                t.status.as_str().to_string(),
                names.business(svc, t.business),
                names.project(svc, t.project),
                names.user(svc, t.assignee),
                names.user(svc, Some(t.created_by)),
                t.completed_unix
                    .map(|u| local_text(u, off))
                    .unwrap_or_default(),
                hours(t.worked_seconds(now)),
            ]
        })
        .collect();
    Ok(Table { headers, rows })
}

/// `YYYY-MM-DD HH:MM` at the site's offset (what a spreadsheet user expects to read).
pub fn local_text(unix: i64, offset_minutes: i32) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| {
            t.with_timezone(&crate::domain::time::site_offset(offset_minutes))
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

pub fn hours(secs: i64) -> String {
    format!("{:.2}", secs as f64 / 3600.0)
}

/// Names of referenced records, looked up once each.
#[derive(Default)]
pub struct NameCache {
    users: BTreeMap<u64, String>,
    businesses: BTreeMap<u64, String>,
    projects: BTreeMap<u64, String>,
}

impl NameCache {
    pub fn user(&mut self, svc: &Services, id: Option<UserId>) -> String {
        let Some(id) = id else { return String::new() };
        self.users
            .entry(id.0)
            .or_insert_with(|| super::user_name(svc, id))
            .clone()
    }
    pub fn business(&mut self, svc: &Services, id: Option<BusinessId>) -> String {
        let Some(id) = id else { return String::new() };
        self.businesses
            .entry(id.0)
            .or_insert_with(|| {
                svc.store
                    .get::<Business>(&id.key())
                    .ok()
                    .flatten()
                    .map(|b| b.name)
                    .unwrap_or_default()
            })
            .clone()
    }
    pub fn project(&mut self, svc: &Services, id: Option<ProjectId>) -> String {
        let Some(id) = id else { return String::new() };
        self.projects
            .entry(id.0)
            .or_insert_with(|| {
                svc.store
                    .get::<Project>(&id.key())
                    .ok()
                    .flatten()
                    .map(|p| p.name)
                    .unwrap_or_default()
            })
            .clone()
    }
}
