//! Daily Activity: work operations — Organization, Tasks, and the app's Remove/* sections
//! (Users, company, Widget, Tickets, Project, Tasks). One file per section group; this file
//! holds what they share: parsing of query strings, ids and dates, and the JSON of records.

mod app_tasks;
mod misc;
mod org;
mod tasks;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::{fields_ok, Call};
use crate::api::{Problem, Route};
use crate::domain::identity::User;
use crate::domain::ids::UserId;
use crate::domain::validate::Fields;
use crate::domain::work::tasks::{Task, TaskImage};
use crate::domain::work::{Paging, MAX_PER_PAGE};
use crate::i18n::{self, Lang};
use crate::service::work::{self as work, tasks::NameCache};
use crate::service::Services;

pub fn routes() -> Vec<Route> {
    [
        org::routes(),
        tasks::routes(),
        app_tasks::routes(),
        misc::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The query string as a JSON object of strings, so `Fields` validates it like a body.
pub(crate) fn query(call: &Call) -> Map<String, Value> {
    call.req
        .query_params()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// One of a fixed set of values, named as the wire writes them.
pub(crate) fn choice<T: Copy>(
    f: &mut Fields<'_>,
    name: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    required: bool,
) -> Option<T> {
    let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
    let s = f.one_of(name, &names, required)?;
    all.iter().copied().find(|v| as_str(*v) == s)
}

/// Hours with two decimals, as numbers.
pub(crate) fn hours(secs: i64) -> f64 {
    (secs as f64 / 36.0).round() / 100.0
}

/// `page` (from 1) and `per_page` (1..=100, default 20).
pub(crate) fn paging(f: &mut Fields<'_>) -> Paging {
    let d = Paging::default();
    Paging {
        page: f.int("page", 1, 1_000_000, false).unwrap_or(d.page as i64) as usize,
        per_page: f
            .int("per_page", 1, MAX_PER_PAGE as i64, false)
            .unwrap_or(d.per_page as i64) as usize,
    }
}

pub(crate) fn page_json(items: Vec<Value>, p: Paging, total: usize) -> Value {
    json!({
        "items": items,
        "page": p.page,
        "per_page": p.per_page,
        "total": total,
        "total_pages": p.total_pages(total),
    })
}

/// A `YYYY-MM-DD` field.
pub(crate) fn date(f: &mut Fields<'_>, name: &str, required: bool) -> Option<NaiveDate> {
    let s = if required {
        Some(f.required(name, 10, 10))
    } else {
        f.optional(name, 10)
    }?;
    if s.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            f.fail(
                name,
                "field.format",
                vec![("expected", "YYYY-MM-DD".into())],
            );
            None
        }
    }
}

/// A field that may be sent as `null` to clear it: `None` = absent, `Some(None)` = null.
pub(crate) fn nullable<T>(
    f: &mut Fields<'_>,
    obj: &Map<String, Value>,
    name: &str,
    parse: impl FnOnce(&mut Fields<'_>) -> Option<T>,
) -> Option<Option<T>> {
    match obj.get(name) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => parse(f).map(Some),
    }
}

/// A positive numeric id field (numbers or numeric strings).
pub(crate) fn id_field(f: &mut Fields<'_>, name: &str, required: bool) -> Option<u64> {
    f.int(name, 1, i64::MAX, required).map(|v| v as u64)
}

/// A path parameter that must be a positive id.
pub(crate) fn path_id(call: &Call, name: &str) -> Result<u64, Problem> {
    call.req
        .param(name)
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            let mut f = Fields::new(&EMPTY);
            f.fail(
                name,
                "field.type",
                vec![("expected", "a positive integer".into())],
            );
            Problem::invalid(f.errors)
        })
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

pub(crate) fn user(call: &Call) -> Result<&User, Problem> {
    call.user()
}

pub(crate) fn check(f: &Fields<'_>) -> Result<(), Problem> {
    fields_ok(f)
}

/// An instant as RFC 3339 at the site's offset.
pub(crate) fn at(svc: &Services, unix: Option<i64>) -> Value {
    at_text(svc, unix).map(Value::String).unwrap_or(Value::Null)
}

fn at_text(svc: &Services, unix: Option<i64>) -> Option<String> {
    unix.and_then(|u| chrono::DateTime::from_timestamp(u, 0))
        .map(|t| {
            t.with_timezone(&crate::domain::time::site_offset(
                svc.config.site.timezone_offset_minutes,
            ))
            .to_rfc3339()
        })
}

pub(crate) fn user_ref(svc: &Services, names: &mut NameCache, id: Option<UserId>) -> Value {
    match id {
        Some(id) => json!({"user_id": id.0, "name": names.user(svc, Some(id))}),
        None => Value::Null,
    }
}

pub(crate) fn user_json(u: &User) -> Value {
    json!({
        "user_id": u.id.0,
        "username": u.username,
        "name": u.name,
        "role": u.role.as_str(),
        "phone": u.phone,
        "email": u.email,
        "employee_code": u.employee_code,
        "active": u.active,
    })
}

pub(crate) fn task_json(svc: &Services, lang: Lang, names: &mut NameCache, t: &Task) -> Value {
    serde_json::to_value(TaskView::of(svc, lang, names, t)).unwrap_or(Value::Null)
}

/// A task as the wire shows it. Fields in name order, so the bytes are those of a sorted
/// `json!` map; lists render their page of these straight to bytes.
#[derive(serde::Serialize)]
pub(crate) struct TaskView<'a> {
    assignee: Option<UserRef>,
    business: Option<BusinessRef>,
    category: &'static str,
    category_name: String,
    completed_at: Option<String>,
    completed_by: Option<UserRef>,
    created_at: Option<String>,
    created_by: Option<UserRef>,
    date: String,
    description: &'a str,
    due_date: Option<String>,
    image_count: usize,
    latitude: Option<f64>,
    longitude: Option<f64>,
    overdue: bool,
    priority: &'static str,
    project: Option<ProjectRef>,
    running_since: Option<String>,
    status: &'static str,
    task_id: u64,
    title: &'a str,
    updated_at: Option<String>,
    worked_seconds: i64,
}

#[derive(serde::Serialize)]
pub(crate) struct UserRef {
    name: String,
    user_id: u64,
}

#[derive(serde::Serialize)]
pub(crate) struct BusinessRef {
    business_id: u64,
    name: String,
}

#[derive(serde::Serialize)]
pub(crate) struct ProjectRef {
    name: String,
    project_id: u64,
}

impl<'a> TaskView<'a> {
    pub(crate) fn of(svc: &Services, lang: Lang, names: &mut NameCache, t: &'a Task) -> Self {
        Self::counted(svc, lang, names, t, work::images::count(svc, t.id))
    }

    /// A page of tasks: their photo counters read together.
    pub(crate) fn page(
        svc: &Services,
        lang: Lang,
        names: &mut NameCache,
        tasks: &'a [Task],
    ) -> Vec<Self> {
        let counts = work::images::counts(svc, tasks.iter().map(|t| t.id));
        tasks
            .iter()
            .zip(counts)
            .map(|(t, n)| Self::counted(svc, lang, names, t, n))
            .collect()
    }

    fn counted(
        svc: &Services,
        lang: Lang,
        names: &mut NameCache,
        t: &'a Task,
        image_count: usize,
    ) -> Self {
        let now = svc.now_unix();
        let user = |names: &mut NameCache, id: Option<UserId>| {
            id.map(|id| UserRef {
                name: names.user(svc, Some(id)),
                user_id: id.0,
            })
        };
        TaskView {
            assignee: user(names, t.assignee),
            business: t.business.map(|b| BusinessRef {
                business_id: b.0,
                name: names.business(svc, Some(b)),
            }),
            category: t.category.as_str(),
            category_name: i18n::t(lang, t.category.label_key(), &[]),
            completed_at: at_text(svc, t.completed_unix),
            completed_by: user(names, t.completed_by),
            created_at: at_text(svc, Some(t.created_unix)),
            created_by: user(names, Some(t.created_by)),
            date: t.date.to_string(),
            description: &t.description,
            due_date: t.due_date.map(|d| d.to_string()),
            image_count,
            latitude: t.latitude,
            longitude: t.longitude,
            overdue: t.is_overdue(work::today(svc)),
            priority: t.priority.as_str(),
            project: t.project.map(|p| ProjectRef {
                name: names.project(svc, Some(p)),
                project_id: p.0,
            }),
            running_since: at_text(svc, t.running().map(|s| s.start_unix)),
            status: t.status.as_str(),
            task_id: t.id.0,
            title: &t.title,
            updated_at: at_text(svc, Some(t.updated_unix)),
            worked_seconds: t.worked_seconds(now),
        }
    }
}

/// A page of a list as the wire shows it (fields in name order, see `TaskView`).
#[derive(serde::Serialize)]
pub(crate) struct PageView<T> {
    items: Vec<T>,
    page: usize,
    per_page: usize,
    total: usize,
    total_pages: usize,
}

impl<T> PageView<T> {
    pub(crate) fn new(items: Vec<T>, p: Paging, total: usize) -> Self {
        PageView {
            items,
            page: p.page,
            per_page: p.per_page,
            total,
            total_pages: p.total_pages(total),
        }
    }
}

pub(crate) fn task_example() -> Value {
    json!({
        "task_id": 17, "title": "Clear drains in block C", "description": "Before the rains",
        "category": "maintenance", "category_name": "Maintenance", "priority": "normal",
        "status": "in_progress", "date": "2026-03-02", "due_date": "2026-03-05", "overdue": false,
        "business": {"business_id": 2, "name": "Division 1"},
        "project": {"project_id": 1, "name": "Replanting block C"},
        "assignee": {"user_id": 12, "name": "Budi Santoso"},
        "created_by": {"user_id": 3, "name": "Siti Rahma"},
        "completed_by": null,
        "created_at": "2026-03-02T07:10:00+07:00", "updated_at": "2026-03-02T08:00:00+07:00",
        "completed_at": null, "running_since": "2026-03-02T08:00:00+07:00",
        "worked_seconds": 1800, "image_count": 2, "latitude": -2.9761, "longitude": 104.7754
    })
}

pub(crate) fn image_json(svc: &Services, i: &TaskImage) -> Value {
    json!({
        "image_id": i.id.0,
        "task_id": i.task.0,
        "content_type": i.media.content_type(),
        "bytes": i.bytes,
        "sha256": i.sha256,
        "caption": i.caption,
        "uploaded_by": i.uploaded_by.0,
        "uploaded_at": at(svc, Some(i.uploaded_unix)),
        "latitude": i.latitude,
        "longitude": i.longitude,
        "url": format!("/daily/v1/tasks/{}/images/{}", i.task.0, i.id.0),
    })
}

pub(crate) fn image_example() -> Value {
    json!({
        "image_id": 5, "task_id": 17, "content_type": "image/jpeg", "bytes": 182733,
        "sha256": "64 hex digits", "caption": "Drain cleared", "uploaded_by": 12,
        "uploaded_at": "2026-03-02T09:12:00+07:00", "latitude": -2.9761, "longitude": 104.7754,
        "url": "/daily/v1/tasks/17/images/5"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::work::org::BusinessId;
    use crate::domain::work::projects::ProjectId;
    use crate::domain::work::tasks::{Priority, TaskCategory, TaskId, TaskStatus, WorkSession};

    /// A typed view must write the bytes its `Value` rendering writes (a sorted map): its fields
    /// are declared in name order, and this catches one that is not.
    #[test]
    fn task_page_renders_as_its_sorted_value() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, svc) = crate::service::Services::for_tests(dir.path());
        let full = Task {
            id: TaskId(9),
            title: "Clear \"drains\" in blok C".into(),
            description: "Sebelum hujan ✓".into(),
            category: TaskCategory::Maintenance,
            priority: Priority::High,
            status: TaskStatus::InProgress,
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 3, 1),
            business: Some(BusinessId(2)),
            project: Some(ProjectId(1)),
            assignee: Some(UserId(12)),
            created_by: UserId(3),
            created_unix: 1_772_400_000,
            updated_unix: 1_772_403_600,
            completed_unix: Some(1_772_407_200),
            completed_by: Some(UserId(12)),
            sessions: vec![WorkSession {
                user: UserId(12),
                start_unix: 1_772_403_600,
                end_unix: None,
            }],
            latitude: Some(-2.9761),
            longitude: Some(104.7754),
        };
        let bare = Task {
            due_date: None,
            business: None,
            project: None,
            assignee: None,
            completed_unix: None,
            completed_by: None,
            sessions: Vec::new(),
            latitude: None,
            longitude: None,
            ..full.clone()
        };
        let mut names = NameCache::default();
        let tasks = [full, bare];
        let items = TaskView::page(&svc, Lang::En, &mut names, &tasks);
        let page = PageView::new(
            items,
            Paging {
                page: 2,
                per_page: 1,
            },
            3,
        );
        let typed = serde_json::to_string(&page).unwrap();
        let value = serde_json::to_value(&page).unwrap();
        assert_eq!(typed, serde_json::to_string(&value).unwrap());
        assert_eq!(value["items"][0]["assignee"]["user_id"], 12);
        assert_eq!(
            value["items"][0]["running_since"],
            "2026-03-02T05:20:00+07:00"
        );
        assert_eq!(value["items"][1]["business"], Value::Null);
        assert_eq!(value["total_pages"], 3);
    }
}
