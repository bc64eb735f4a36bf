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
    unix.and_then(|u| chrono::DateTime::from_timestamp(u, 0))
        .map(|t| {
            Value::String(
                t.with_timezone(&crate::domain::time::site_offset(
                    svc.config.site.timezone_offset_minutes,
                ))
                .to_rfc3339(),
            )
        })
        .unwrap_or(Value::Null)
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
    let now = svc.now_unix();
    json!({
        "task_id": t.id.0,
        "title": t.title,
        "description": t.description,
        "category": t.category.as_str(),
        "category_name": i18n::t(lang, t.category.label_key(), &[]),
        "priority": t.priority.as_str(),
        "status": t.status.as_str(),
        "date": t.date.to_string(),
        "due_date": t.due_date.map(|d| d.to_string()),
        "overdue": t.is_overdue(work::today(svc)),
        "business": t.business.map(|b| json!({"business_id": b.0, "name": names.business(svc, Some(b))})),
        "project": t.project.map(|p| json!({"project_id": p.0, "name": names.project(svc, Some(p))})),
        "assignee": user_ref(svc, names, t.assignee),
        "created_by": user_ref(svc, names, Some(t.created_by)),
        "completed_by": user_ref(svc, names, t.completed_by),
        "created_at": at(svc, Some(t.created_unix)),
        "updated_at": at(svc, Some(t.updated_unix)),
        "completed_at": at(svc, t.completed_unix),
        "running_since": at(svc, t.running().map(|s| s.start_unix)),
        "worked_seconds": t.worked_seconds(now),
        "image_count": work::images::count(svc, t.id),
        "latitude": t.latitude,
        "longitude": t.longitude,
    })
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
