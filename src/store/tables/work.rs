//! Trees of the work area (records are defined in src/domain/work, keys chosen by
//! src/service/work): organization, tasks and their photos, reports, tickets, projects.

use super::TableInfo;
use crate::domain::work::org::{Business, Company, Designation};
use crate::domain::work::projects::Project;
use crate::domain::work::report::Report;
use crate::domain::work::tasks::{Task, TaskImage};
use crate::domain::work::tickets::Ticket;
use crate::store::Record;

impl Record for Business {
    const TREE: &'static str = "org_businesses";
}
impl Record for Designation {
    const TREE: &'static str = "org_designations";
}
/// One record, key `company`.
impl Record for Company {
    const TREE: &'static str = "org_company";
}
impl Record for Task {
    const TREE: &'static str = "work_tasks";
}
/// Key: task id (BE) ‖ image id (BE), so a task's photos are one prefix scan.
impl Record for TaskImage {
    const TREE: &'static str = "work_task_images";
}
impl Record for Report {
    const TREE: &'static str = "work_task_reports";
}
impl Record for Ticket {
    const TREE: &'static str = "work_tickets";
}
impl Record for Project {
    const TREE: &'static str = "work_projects";
}

/// assignee user id (BE) ‖ task id (BE).
pub const TASKS_BY_ASSIGNEE: &str = "work_tasks_by_assignee";
/// work day `YYYYMMDD` ‖ task id (BE): the period scans of exports.
pub const TASKS_BY_DATE: &str = "work_tasks_by_date";
/// completion time (i64 BE, offset so it sorts) ‖ task id (BE): the period scans of reports.
pub const TASKS_BY_DONE: &str = "work_tasks_by_done";
/// !work day (days from CE, u32 BE, inverted) ‖ !task id (u64 BE, inverted): key order is
/// list order (newest day first, then newest task), so Get Task List pages by walking it.
pub const TASKS_BY_ORDER: &str = "work_tasks_by_order";
/// user id (BE) ‖ task id (BE): every task the user has logged work sessions on (Timesheet).
pub const TASKS_BY_WORKER: &str = "work_tasks_by_worker";
/// user id (BE) ‖ task id (BE): the one task a user has running.
pub const TASKS_RUNNING: &str = "work_tasks_running";
/// UTC day (unix / 86400, u32 BE) ‖ task id (BE): the tasks with a work session on that day
/// (a closed session on every day it spans, an open one on its start day; open ones are in
/// `TASKS_RUNNING` too). Reports find the tasks worked in a period through it.
pub const TASKS_BY_WORK_DAY: &str = "work_tasks_by_work_day";
/// lower-case business code.
pub const BUSINESSES_BY_CODE: &str = "org_businesses_by_code";
/// lower-case project code.
pub const PROJECTS_BY_CODE: &str = "work_projects_by_code";

/// Key of a work day in `TASKS_BY_ORDER` (inverted, so later days sort first).
pub fn day_key(d: chrono::NaiveDate) -> [u8; 4] {
    use chrono::Datelike;
    (!(d.num_days_from_ce().max(0) as u32)).to_be_bytes()
}

/// A task's key in `TASKS_BY_ORDER`: key order is the list order (`tasks::list_order`).
pub fn order_key(t: &Task) -> Vec<u8> {
    [day_key(t.date).as_slice(), &(!t.id.0).to_be_bytes()].concat()
}

/// The users with work sessions on a task, each once.
pub fn workers(t: &Task) -> Vec<crate::domain::ids::UserId> {
    let mut v: Vec<_> = t.sessions.iter().map(|s| s.user).collect();
    v.sort();
    v.dedup();
    v
}

/// A completion time as an index key part: sign bit flipped, so keys sort by time.
pub fn done_bound(unix: i64) -> [u8; 8] {
    ((unix as u64) ^ (1 << 63)).to_be_bytes()
}

/// A task's key in `TASKS_BY_DONE` (done tasks with a completion time only).
pub fn done_key(t: &Task) -> Option<Vec<u8>> {
    use crate::domain::work::tasks::TaskStatus;
    let c = t.completed_unix.filter(|_| t.status == TaskStatus::Done)?;
    Some([done_bound(c).as_slice(), &t.id.key()].concat())
}

/// A UTC day number as an index key part.
pub fn work_day(unix: i64) -> [u8; 4] {
    (unix.div_euclid(86_400).clamp(0, u32::MAX as i64) as u32).to_be_bytes()
}

/// A task's keys in `TASKS_BY_WORK_DAY`.
pub fn work_day_keys(t: &Task) -> std::collections::BTreeSet<Vec<u8>> {
    let mut out = std::collections::BTreeSet::new();
    for s in &t.sessions {
        let first = s.start_unix.div_euclid(86_400);
        let last = s.end_unix.unwrap_or(s.start_unix).div_euclid(86_400);
        // A session forgotten for years is indexed on its first ten years of days.
        for d in first..=last.min(first + 3_660) {
            out.insert([work_day(d * 86_400).as_slice(), &t.id.key()].concat());
        }
    }
    out
}

/// Schema 4: the report indexes (done by completion time, worked by day) for existing tasks.
pub fn build_report_indexes(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut out = super::rebuild::Rebuild::new(store);
    for r in store.scan_iter::<Task>(b"")? {
        let (_, t) = r?;
        if let Some(k) = done_key(&t) {
            out.index(TASKS_BY_DONE, k)?;
        }
        for k in work_day_keys(&t) {
            out.index(TASKS_BY_WORK_DAY, k)?;
        }
    }
    out.finish()
}

/// Counter (store::counters) of every task, and of the tasks in one status.
pub const COUNT_ALL: &str = "work.tasks";

/// Counter of one task's photos: a task list shows each task's count, and a key read per task
/// is cheaper than opening a scan of its photos (schema 7 counted the older ones).
pub fn count_images(task: crate::domain::work::tasks::TaskId) -> String {
    format!("work.task_images.{}", task.0)
}

/// Schema 7: the photo counter of every task that has photos.
pub fn build_image_counts(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for r in store.scan_iter::<TaskImage>(b"")? {
        let (_, img) = r?;
        *counts.entry(count_images(img.task)).or_default() += 1;
    }
    let mut out = super::rebuild::Rebuild::new(store);
    out.counters(counts)?;
    out.finish()
}

pub fn count_status(s: crate::domain::work::tasks::TaskStatus) -> String {
    format!("work.tasks.status.{}", s.as_str())
}

/// Counters (besides `COUNT_ALL` and the status ones) a task adds one to: its project's tasks
/// and done tasks (cancelled ones do not count; Get Projects), its assignee's open tasks (Get
/// Task User). Schema 4 built them for older tasks.
pub fn task_figures(t: &Task) -> Vec<String> {
    use crate::domain::work::tasks::TaskStatus;
    let mut out = Vec::new();
    if let Some(p) = t.project {
        if t.status != TaskStatus::Cancelled {
            out.push(format!("work.project.{}.tasks", p.0));
            if t.status == TaskStatus::Done {
                out.push(format!("work.project.{}.done", p.0));
            }
        }
    }
    for f in facets(t) {
        out.push(f.counter(None));
        out.push(f.counter(Some(t.status)));
    }
    if let Some(u) = t.assignee {
        if matches!(t.status, TaskStatus::Open | TaskStatus::InProgress) {
            out.push(count_assignee_open(u));
            out.push(count_assignee_status(u, t.status));
        }
    }
    out
}

/// Counter of a user's assigned tasks in one (active) status.
pub fn count_assignee_status(
    u: crate::domain::ids::UserId,
    s: crate::domain::work::tasks::TaskStatus,
) -> String {
    format!("work.assignee.{}.status.{}", u.0, s.as_str())
}

/// Counters of the businesses and designations (capped: service::work::org).
pub const COUNT_BUSINESSES: &str = "org.businesses";
pub const COUNT_DESIGNATIONS: &str = "org.designations";

/// assignee user id (BE) ‖ due day (`due_key`) ‖ task id (BE), for open and in-progress tasks
/// only: a user's overdue and due-today tasks are key ranges (the tasks widget), whatever their
/// history holds.
pub const TASKS_ACTIVE_BY_ASSIGNEE: &str = "work_tasks_active_by_assignee";
/// assignee user id (BE) ‖ completion time (8 bytes, sorts) ‖ task id (BE), for done tasks: a
/// user's tasks finished within a period.
pub const TASKS_DONE_BY_ASSIGNEE: &str = "work_tasks_done_by_assignee";

/// facet (`Facet::prefix`) ‖ order key (`order_key`): Get Task List filtered by assignee,
/// project, business or "involving me" walks one facet in list order and pages, its total a
/// counter (`Facet::counter`) when the filter is that facet and at most a status.
pub const TASKS_BY_FACET: &str = "work_tasks_by_facet";

/// What a task list may be narrowed to through `TASKS_BY_FACET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Assignee(crate::domain::ids::UserId),
    Project(crate::domain::work::projects::ProjectId),
    Business(crate::domain::work::org::BusinessId),
    /// Assigned to or created by the user.
    Involving(crate::domain::ids::UserId),
}

impl Facet {
    fn parts(self) -> (u8, u64) {
        match self {
            Facet::Assignee(u) => (b'a', u.0),
            Facet::Project(p) => (b'p', p.0),
            Facet::Business(b) => (b'b', b.0),
            Facet::Involving(u) => (b'i', u.0),
        }
    }

    /// 9 bytes: the facet's kind and id.
    pub fn prefix(self) -> Vec<u8> {
        let (tag, id) = self.parts();
        [[tag].as_slice(), &id.to_be_bytes()].concat()
    }

    /// Counter of the facet's tasks (in one status).
    pub fn counter(self, status: Option<crate::domain::work::tasks::TaskStatus>) -> String {
        let (tag, id) = self.parts();
        match status {
            Some(s) => format!("work.tasks.{}{id}.status.{}", tag as char, s.as_str()),
            None => format!("work.tasks.{}{id}", tag as char),
        }
    }
}

/// The facets a task is listed under, each once.
pub fn facets(t: &Task) -> Vec<Facet> {
    let mut v = Vec::new();
    v.extend(t.assignee.map(Facet::Assignee));
    v.extend(t.project.map(Facet::Project));
    v.extend(t.business.map(Facet::Business));
    v.push(Facet::Involving(t.created_by));
    if let Some(a) = t.assignee.filter(|a| *a != t.created_by) {
        v.push(Facet::Involving(a));
    }
    v
}

/// A task's keys in `TASKS_BY_FACET`.
pub fn facet_entries(t: &Task) -> Vec<Vec<u8>> {
    let order = order_key(t);
    facets(t)
        .into_iter()
        .map(|f| [f.prefix().as_slice(), &order].concat())
        .collect()
}

/// scope (`status_scope`: 9 bytes, a facet's prefix or `ALL_SCOPE`) ‖ status (1 byte) ‖ order
/// key (`order_key`): a list narrowed to a status (alone or with one facet) and each group of
/// Get Tasks Grouping is one key range in list order, however many tasks hold other statuses.
pub const TASKS_BY_STATUS: &str = "work_tasks_by_status";

/// The scope of every task in `TASKS_BY_STATUS` (no facet kind uses `*`).
pub const ALL_SCOPE: [u8; 9] = [b'*', 0, 0, 0, 0, 0, 0, 0, 0];

/// The key prefix of one scope's tasks in one status in `TASKS_BY_STATUS`.
pub fn status_prefix(facet: Option<Facet>, s: crate::domain::work::tasks::TaskStatus) -> Vec<u8> {
    let scope = facet.map_or(ALL_SCOPE.to_vec(), Facet::prefix);
    [scope.as_slice(), &[status_byte(s)]].concat()
}

fn status_byte(s: crate::domain::work::tasks::TaskStatus) -> u8 {
    use crate::domain::work::tasks::TaskStatus;
    match s {
        TaskStatus::Open => b'o',
        TaskStatus::InProgress => b'p',
        TaskStatus::Done => b'd',
        TaskStatus::Cancelled => b'c',
    }
}

/// A task's keys in `TASKS_BY_STATUS`: under every task and under each of its facets.
pub fn status_entries(t: &Task) -> Vec<Vec<u8>> {
    let order = order_key(t);
    std::iter::once(None)
        .chain(facets(t).into_iter().map(Some))
        .map(|f| [status_prefix(f, t.status).as_slice(), &order].concat())
        .collect()
}

/// Schema 5: the status index for existing tasks, the gateway callbacks' time index and the
/// tokens' expiry index.
pub fn build_status_index(store: &crate::store::Store) -> crate::store::Result<()> {
    use crate::store::tables::identity::{
        time_key, wablas_time_key, TOKENS_BY_EXPIRY, WABLAS_BY_TIME,
    };
    let mut out = super::rebuild::Rebuild::new(store);
    for r in store.scan_iter::<crate::domain::identity::TokenRecord>(b"")? {
        let (hash, t) = r?;
        out.index(
            TOKENS_BY_EXPIRY,
            [time_key(t.expires_unix).as_slice(), &hash].concat(),
        )?;
    }
    for r in store.scan_iter::<crate::domain::identity::WablasEvent>(b"")? {
        let (_, e) = r?;
        out.index(WABLAS_BY_TIME, wablas_time_key(&e))?;
    }
    for r in store.scan_iter::<Task>(b"")? {
        let (_, t) = r?;
        for key in status_entries(&t) {
            out.index(TASKS_BY_STATUS, key)?;
        }
    }
    out.finish()
}

/// worker user id (BE) ‖ session end (`time_key`; an open session: `i64::MAX`) ‖ task id (BE),
/// one entry per work session: the timesheet reads only the sessions that end inside its
/// period (or are still open), not every task the user ever worked on.
pub const SESSIONS_BY_END: &str = "work_sessions_by_end";

/// The entries a task has in `SESSIONS_BY_END`, each once.
pub fn session_entries(t: &Task) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = t
        .sessions
        .iter()
        .map(|s| {
            let end = time_key(s.end_unix.unwrap_or(i64::MAX));
            [s.user.key().as_slice(), &end, &t.id.key()].concat()
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A due day as 4 bytes in day order; no due date sorts after every day.
pub fn due_key(d: Option<chrono::NaiveDate>) -> [u8; 4] {
    use chrono::Datelike;
    d.map_or(u32::MAX, |d| d.num_days_from_ce().max(0) as u32)
        .to_be_bytes()
}

/// The entries a task has in the two assignee indexes above.
pub fn assignee_entries(t: &Task) -> Vec<(&'static str, Vec<u8>)> {
    use crate::domain::work::tasks::TaskStatus;
    let Some(u) = t.assignee else {
        return Vec::new();
    };
    match (t.status, t.completed_unix) {
        (TaskStatus::Open | TaskStatus::InProgress, _) => vec![(
            TASKS_ACTIVE_BY_ASSIGNEE,
            [u.key().as_slice(), &due_key(t.due_date), &t.id.key()].concat(),
        )],
        (TaskStatus::Done, Some(at)) => vec![(
            TASKS_DONE_BY_ASSIGNEE,
            [u.key().as_slice(), &time_key(at), &t.id.key()].concat(),
        )],
        _ => Vec::new(),
    }
}

/// A unix time as 8 bytes that sort in time order.
pub fn time_key(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// Counter of the projects (capped: service::work::projects::MAX_PROJECTS).
pub const COUNT_PROJECTS: &str = "work.projects";

/// Counter of a project's tasks (`done`: of its done ones).
pub fn count_project(p: crate::domain::work::projects::ProjectId, done: bool) -> String {
    format!(
        "work.project.{}.{}",
        p.0,
        if done { "done" } else { "tasks" }
    )
}

/// Counter of a user's open (open or in progress) assigned tasks.
pub fn count_assignee_open(u: crate::domain::ids::UserId) -> String {
    format!("work.assignee.{}.open", u.0)
}

/// !ticket id (u64 BE, inverted): key order is the ticket list's order (newest first).
pub const TICKETS_BY_ORDER: &str = "work_tickets_by_order";
/// user id (BE) ‖ !ticket id (BE): the tickets that concern a user (reporter or assignee),
/// newest first.
pub const TICKETS_BY_USER: &str = "work_tickets_by_user";

/// A ticket's key in `TICKETS_BY_ORDER` (the suffix of its `TICKETS_BY_USER` keys).
pub fn ticket_order_key(t: &Ticket) -> [u8; 8] {
    (!t.id.0).to_be_bytes()
}

/// The users a ticket concerns, each once.
pub fn ticket_users(t: &Ticket) -> Vec<crate::domain::ids::UserId> {
    let mut v = vec![t.reporter];
    v.extend(t.assignee.filter(|a| *a != t.reporter));
    v
}

/// Counter of the tickets (`user`: that concern one user; `status`: in one status).
pub fn count_tickets(
    user: Option<crate::domain::ids::UserId>,
    status: Option<crate::domain::work::tickets::TicketStatus>,
) -> String {
    let mut k = "work.tickets".to_string();
    if let Some(u) = user {
        k.push_str(&format!(".user.{}", u.0));
    }
    if let Some(s) = status {
        k.push_str(&format!(".status.{}", s.as_str()));
    }
    k
}

/// Every counter a ticket adds one to.
pub fn ticket_figures(t: &Ticket) -> Vec<String> {
    let mut out = vec![
        count_tickets(None, None),
        count_tickets(None, Some(t.status)),
    ];
    for u in ticket_users(t) {
        out.push(count_tickets(Some(u), None));
        out.push(count_tickets(Some(u), Some(t.status)));
    }
    if let Some(a) = t.assignee.filter(|_| t.status.is_active()) {
        out.push(count_tickets_assigned_active(a));
    }
    out
}

/// Counter of the active tickets assigned to a user (the tickets widget).
pub fn count_tickets_assigned_active(u: crate::domain::ids::UserId) -> String {
    format!("work.tickets.assignee.{}.active", u.0)
}

/// Schema 2: the order and worker indexes and the task counters, built for tasks that predate them.
pub fn build_task_indexes(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    let mut out = super::rebuild::Rebuild::new(store);
    for r in store.scan_iter::<Task>(b"")? {
        let (_, t) = r?;
        out.index(TASKS_BY_ORDER, order_key(&t))?;
        *counts.entry(COUNT_ALL.into()).or_default() += 1;
        *counts.entry(count_status(t.status)).or_default() += 1;
        for u in workers(&t) {
            out.index(TASKS_BY_WORKER, [u.key(), t.id.key()].concat())?;
        }
    }
    out.counters(counts)?;
    out.finish()
}

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Business),
        crate::table!(Designation),
        crate::table!(Company),
        crate::table!(Task),
        crate::table!(TaskImage),
        crate::table!(Report),
        crate::table!(Ticket),
        crate::table!(Project),
        crate::index_table!(TASKS_BY_ASSIGNEE),
        crate::index_table!(TASKS_BY_DATE),
        crate::index_table!(TASKS_BY_DONE),
        crate::index_table!(TASKS_RUNNING),
        crate::index_table!(TASKS_BY_ORDER),
        crate::index_table!(TASKS_BY_WORKER),
        crate::index_table!(TASKS_BY_WORK_DAY),
        crate::index_table!(BUSINESSES_BY_CODE),
        crate::index_table!(PROJECTS_BY_CODE),
        crate::index_table!(TICKETS_BY_ORDER),
        crate::index_table!(TASKS_ACTIVE_BY_ASSIGNEE),
        crate::index_table!(TASKS_DONE_BY_ASSIGNEE),
        crate::index_table!(SESSIONS_BY_END),
        crate::index_table!(TASKS_BY_FACET),
        crate::index_table!(TASKS_BY_STATUS),
        crate::index_table!(TICKETS_BY_USER),
    ]
}

/// Replicated upstream (store::outbox): tasks and what hangs on them, tickets, projects, org.
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::render_key;
    vec![
        crate::replicated!(Task, "task", render_key),
        crate::replicated!(TaskImage, "task_image", render_key),
        crate::replicated!(Report, "task_report", render_key),
        crate::replicated!(Ticket, "ticket", render_key),
        crate::replicated!(Project, "project", render_key),
        crate::replicated!(Business, "business", render_key),
        crate::replicated!(Designation, "designation", render_key),
        crate::replicated!(Company, "company", render_key),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::work::tasks::{Priority, TaskCategory, TaskId, TaskStatus};
    use crate::store::{codec, counters, schema, Op};

    fn task(id: u64, day: u32, status: TaskStatus) -> Task {
        Task {
            id: TaskId(id),
            title: format!("t{id}"),
            description: String::new(),
            category: TaskCategory::Other,
            priority: Priority::Normal,
            status,
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
            due_date: None,
            business: None,
            project: None,
            assignee: None,
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

    fn token() -> crate::domain::identity::TokenRecord {
        crate::domain::identity::TokenRecord {
            kind: crate::domain::identity::TokenKind::Access,
            app_key: crate::domain::ids::AppKey("ak".into()),
            user: None,
            parent: None,
            device_id: None,
            issued_unix: 0,
            expires_unix: 5_000,
            revoked: false,
        }
    }

    fn wablas_event() -> crate::domain::identity::WablasEvent {
        crate::domain::identity::WablasEvent {
            id: "ev1".into(),
            kind: crate::domain::identity::WablasKind::Message,
            phone: "62811".into(),
            message: "hi".into(),
            message_type: "text".into(),
            device_id: "d".into(),
            sender: "s".into(),
            is_from_me: false,
            timestamp: String::new(),
            status: String::new(),
            received_unix: 1_000,
        }
    }

    #[test]
    fn a_schema_1_store_gets_its_task_order_index_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let mut ops: Vec<Op> = [
            (1, 2, TaskStatus::Open),
            (2, 5, TaskStatus::Done),
            (3, 5, TaskStatus::Open),
        ]
        .into_iter()
        .map(|(id, d, s)| {
            let mut t = task(id, d, s);
            if s == TaskStatus::Done {
                // Worked from day 0 23:00 UTC to day 1 01:00, completed on day 1.
                t.completed_unix = Some(86_400 + 3_600);
                t.sessions.push(crate::domain::work::tasks::WorkSession {
                    user: UserId(1),
                    start_unix: 82_800,
                    end_unix: Some(86_400 + 3_600),
                });
            }
            Op {
                tree: Task::TREE.into(),
                key: TaskId(id).key().to_vec(),
                value: Some(codec::encode(&t)),
            }
        })
        .collect();
        let ev = wablas_event();
        ops.push(Op {
            tree: crate::domain::identity::WablasEvent::TREE.into(),
            key: ev.key(),
            value: Some(codec::encode(&ev)),
        });
        ops.push(Op {
            tree: crate::domain::identity::TokenRecord::TREE.into(),
            key: [7u8; 32].to_vec(),
            value: Some(codec::encode(&token())),
        });
        let store = schema::migrated(dir.path(), 1, ops);
        let order: Vec<u64> = store
            .engine()
            .scan(TASKS_BY_ORDER, b"")
            .unwrap()
            .map(|r| !u64::from_be_bytes(r.unwrap().0[4..12].try_into().unwrap()))
            .collect();
        assert_eq!(order, vec![3, 2, 1]);
        assert_eq!(counters::get(&store, COUNT_ALL).unwrap(), 3);
        assert_eq!(
            counters::get(&store, &count_status(TaskStatus::Open)).unwrap(),
            2
        );
        // Schema 3: the done task by its completion time, and on both days it was worked.
        let keys = |tree: &str| store.index_keys(tree, b"").unwrap();
        let two = TaskId(2).key();
        assert_eq!(
            keys(TASKS_BY_DONE),
            vec![[done_bound(90_000).as_slice(), &two].concat()]
        );
        assert_eq!(
            keys(TASKS_BY_WORK_DAY),
            vec![
                [work_day(0).as_slice(), &two].concat(),
                [work_day(86_400).as_slice(), &two].concat()
            ]
        );
        // Schema 5: every task under all tasks and under its facets, by status, in list order.
        let done = task(2, 5, TaskStatus::Done);
        let open: Vec<Vec<u8>> = keys(TASKS_BY_STATUS)
            .into_iter()
            .filter(|k| k.starts_with(&status_prefix(None, TaskStatus::Open)))
            .collect();
        assert_eq!(
            open,
            vec![
                [
                    status_prefix(None, TaskStatus::Open),
                    order_key(&task(3, 5, TaskStatus::Open))
                ]
                .concat(),
                [
                    status_prefix(None, TaskStatus::Open),
                    order_key(&task(1, 2, TaskStatus::Open))
                ]
                .concat(),
            ]
        );
        assert!(keys(TASKS_BY_STATUS).contains(
            &[
                status_prefix(Some(Facet::Involving(UserId(1))), TaskStatus::Done),
                order_key(&done)
            ]
            .concat()
        ));
        assert_eq!(
            keys(TASKS_BY_STATUS).len(),
            6,
            "3 tasks × (all, their creator)"
        );
        use crate::store::tables::identity::{wablas_time_key, WABLAS_BY_TIME};
        assert_eq!(keys(WABLAS_BY_TIME), vec![wablas_time_key(&wablas_event())]);
        use crate::store::tables::identity::{time_key, TOKENS_BY_EXPIRY};
        assert_eq!(
            keys(TOKENS_BY_EXPIRY),
            vec![[time_key(5_000).as_slice(), &[7u8; 32]].concat()]
        );
        assert!(schema::check(&store).unwrap().ok());
    }

    /// A store written before schema 7 gets each task's photo counter from its photos (and
    /// none for a task without photos).
    #[test]
    fn a_schema_6_store_gets_its_photo_counts() {
        use crate::domain::work::tasks::{ImageMedia, TaskImageId};
        let dir = tempfile::tempdir().unwrap();
        let image = |task: u64, id: u64| TaskImage {
            id: TaskImageId(id),
            task: TaskId(task),
            sha256: format!("{id:064x}"),
            media: ImageMedia::Jpeg,
            bytes: 10,
            caption: String::new(),
            uploaded_by: UserId(1),
            uploaded_unix: 0,
            latitude: None,
            longitude: None,
        };
        let mut ops = Vec::new();
        for t in [
            task(1, 1, TaskStatus::Open),
            task(2, 1, TaskStatus::Open),
            task(3, 2, TaskStatus::Open),
        ] {
            ops.push(Op {
                tree: Task::TREE.into(),
                key: t.id.key().to_vec(),
                value: Some(codec::encode(&t)),
            });
        }
        for (t, i) in [(1, 10), (1, 11), (1, 12), (3, 13)] {
            let img = image(t, i);
            ops.push(Op {
                tree: TaskImage::TREE.into(),
                key: [img.task.key(), img.id.key()].concat(),
                value: Some(codec::encode(&img)),
            });
        }
        let store = schema::migrated(dir.path(), 6, ops);
        let n = |t: u64| counters::get(&store, &count_images(TaskId(t))).unwrap();
        assert_eq!((n(1), n(2), n(3)), (3, 0, 1));
        assert!(store
            .get::<counters::Counter>(count_images(TaskId(2)).as_bytes())
            .unwrap()
            .is_none());
    }
}
