//! Daily Activity/Tasks: task CRUD, photos, reports. The Remove/Tasks app paths reuse the
//! operations defined here (same parsing, same service calls).

use base64::Engine as _;
use serde_json::{json, Map, Value};
use warp::http::Method;

use super::super::{route, Auth, Call, FileBody, OpResult, Reply};
use super::{
    check, choice, date, id_field, image_example, image_json, nullable, paging, path_id, query,
    task_example, task_json, user, PageView, TaskView,
};
use crate::api::{Doc, Problem, Route};
use crate::da_op;
use crate::domain::identity::Permission;
use crate::domain::ids::UserId;
use crate::domain::validate::Fields;
use crate::domain::work::org::BusinessId;
use crate::domain::work::projects::ProjectId;
use crate::domain::work::report::{Period, PeriodError, ReportFormat, ReportId, MAX_PERIOD_DAYS};
use crate::domain::work::tasks::{
    self as dt, Priority, TaskCategory, TaskFilter, TaskId, TaskImageId, TaskStatus,
};
use crate::service::work::{
    images, reports,
    tasks::{self as svc_tasks, NameCache, TaskChanges},
};

const TAG: &str = "Daily Activity/Tasks";

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/daily/v1/tasks",
            "Get Task List",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "Tasks, newest work day first, filtered and paged. Needs tasks_view.",
                response: Some(json!({"items": [task_example()], "page": 1, "per_page": 20, "total": 1, "total_pages": 1})),
                query: list_query(),
                ..Doc::default()
            },
            da_op!(list),
        ),
        route(
            Method::POST,
            "/daily/v1/tasks",
            "Save Task",
            TAG,
            Auth::Access(Permission::TasksEdit),
            save_doc(),
            da_op!(save),
        ),
        route(
            Method::GET,
            "/daily/v1/tasks/{id}",
            "Get Task Detail",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "One task with its work time and photo count. Needs tasks_view; 404 when unknown.",
                response: Some(task_example()),
                ..Doc::default()
            },
            da_op!(detail),
        ),
        route(
            Method::PUT,
            "/daily/v1/tasks/{id}",
            "Update Task",
            TAG,
            Auth::Access(Permission::TasksEdit),
            Doc {
                description: "Changes only the fields sent (null clears due_date, business_id, project_id, assignee_id, latitude, longitude). \
                    status: open → in_progress (starts the worker's timer; one running task per user, else 409 task.already_running) → done / open / cancelled; \
                    done or cancelled → open. Other changes are 409. Reassigning a running task is 409: stop it first. Needs tasks_edit.",
                request: Some(json!({"status": "in_progress", "priority": "high", "due_date": null})),
                response: Some(task_example()),
                ..Doc::default()
            },
            da_op!(update),
        ),
        route(
            Method::DELETE,
            "/daily/v1/tasks/{id}",
            "Delete Task",
            TAG,
            Auth::Access(Permission::TasksEdit),
            Doc {
                description: "Deletes the task and its photos' records. Needs tasks_edit; 404 when unknown.",
                response: Some(json!({"task_id": 17, "deleted": true})),
                ..Doc::default()
            },
            da_op!(delete),
        ),
        route(
            Method::POST,
            "/daily/v1/tasks/{id}/images",
            "Save Task Image",
            TAG,
            Auth::Access(Permission::TasksEdit),
            image_doc(),
            da_op!(save_image),
        ),
        route(
            Method::GET,
            "/daily/v1/tasks/{id}/images",
            "Get Task Image List",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "The task's photos (metadata), oldest first; `url` downloads each file. Needs tasks_view.",
                response: Some(json!({"task_id": 17, "items": [image_example()]})),
                ..Doc::default()
            },
            da_op!(image_list),
        ),
        route(
            Method::GET,
            "/daily/v1/tasks/{id}/images/{image_id}",
            "Download Task Image",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "The photo file itself (image/jpeg, image/png or image/webp), not an envelope. Needs tasks_view.",
                content_types: &["image/jpeg", "image/png", "image/webp"],
                ..Doc::default()
            },
            da_op!(image_file),
        ),
        route(
            Method::DELETE,
            "/daily/v1/tasks/{id}/images/{image_id}",
            "Delete Task Image",
            TAG,
            Auth::Access(Permission::TasksEdit),
            Doc {
                description: "Removes one photo from the task. Needs tasks_edit.",
                response: Some(json!({"task_id": 17, "image_id": 5, "deleted": true})),
                ..Doc::default()
            },
            da_op!(delete_image),
        ),
        route(
            Method::GET,
            "/daily/v1/reports/tasks",
            "Generate Report",
            TAG,
            Auth::Access(Permission::ReportsView),
            Doc {
                description: "Builds the task report for a period of site-local days (from..=to, at most 366 days): \
                    every task completed inside the period, and per user the tasks done (credited to the assignee, else who completed it) \
                    and hours worked inside the period. The file is built now and kept; download it with Download Report. Needs reports_view.",
                query: vec![
                    ("from", "First day, YYYY-MM-DD (required)"),
                    ("to", "Last day, YYYY-MM-DD (required)"),
                    ("format", "csv (default) or xlsx (Summary and Tasks sheets)"),
                ],
                response: Some(json!({
                    "report_id": 4, "status": "ready", "from": "2026-03-01", "to": "2026-03-31", "format": "csv",
                    "tasks_done": 42, "file_bytes": 5120, "file_name": "tasks-2026-03-01-2026-03-31.csv",
                    "download_url": "/daily/v1/reports/tasks/4/download",
                    "summary": [{"user_id": 12, "name": "Budi Santoso", "tasks_done": 9, "worked_hours": 31.5}],
                    "created_at": "2026-04-01T07:00:00+07:00"
                })),
                required: &["from", "to"],
                ..Doc::default()
            },
            da_op!(generate_report),
        ),
        route(
            Method::GET,
            "/daily/v1/reports/tasks/{id}/download",
            "Download Report",
            TAG,
            Auth::Access(Permission::ReportsView),
            Doc {
                description: "The generated report file as it is (text/csv or the XLSX content type, Content-Disposition attachment), not an envelope. Needs reports_view.",
                content_types: &["text/csv; charset=utf-8", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
                ..Doc::default()
            },
            da_op!(download_report),
        ),
    ]
}

pub(super) fn list_query() -> Vec<(&'static str, &'static str)> {
    vec![
        ("status", "open | in_progress | done | cancelled"),
        (
            "assignee_id",
            "Tasks assigned to this user (`me` for the caller)",
        ),
        ("business_id", "Tasks of this business"),
        ("project_id", "Tasks of this project"),
        (
            "category",
            "harvest | maintenance | planting | spraying | inspection | administration | other",
        ),
        ("date_from", "Work day from, YYYY-MM-DD"),
        ("date_to", "Work day to, YYYY-MM-DD"),
        (
            "q",
            "Words in the title or description (up to 100 characters)",
        ),
        ("page", "From 1 (default 1)"),
        ("per_page", "1 to 100 (default 20)"),
    ]
}

pub(super) fn save_doc() -> Doc {
    Doc {
        description: "Creates a task. title 1–200 characters (required); description up to 2000; category (default other); \
            priority low | normal | high (default normal); date = the work day (default the site's today); due_date not before date; \
            business_id, project_id, assignee_id must exist; status may start as open, in_progress or done. Needs tasks_edit. \
            Idempotent by x-request-id.",
        request: Some(json!({
            "title": "Clear drains in block C", "description": "Before the rains", "category": "maintenance",
            "priority": "normal", "date": "2026-03-02", "due_date": "2026-03-05", "business_id": 2,
            "project_id": 1, "assignee_id": 12, "latitude": -2.9761, "longitude": 104.7754
        })),
        response: Some(task_example()),
        required: &["title"],
        ..Doc::default()
    }
}

pub(super) fn image_doc() -> Doc {
    Doc {
        description: "Adds a photo to a task, either as JSON {\"image\": base64 (a data: URL prefix is accepted), \"caption\", \"latitude\", \"longitude\"} \
            or as the raw file with Content-Type image/jpeg, image/png, image/webp or application/octet-stream (caption, latitude, longitude then in the query). \
            JPEG, PNG and WebP are accepted, recognised by their bytes. The image may be at most http.max_image_bytes (default 2 MiB) after decoding: \
            larger is 413; the request body itself is capped by http.max_body_bytes. At most 20 photos per task. Needs tasks_edit.",
        request: Some(json!({"image": "/9j/4AAQSkZJRgABAQ…", "caption": "Drain cleared", "latitude": -2.9761, "longitude": 104.7754})),
        response: Some(image_example()),
        query: vec![
            ("caption", "With a raw upload: up to 200 characters"),
            ("latitude", "With a raw upload"),
            ("longitude", "With a raw upload"),
        ],
        required: &["image"],
        ..Doc::default()
    }
}

/// The task fields of Save Task and Update Task (Save Task requires the title).
pub(super) fn task_changes(
    obj: &Map<String, Value>,
    creating: bool,
) -> Result<TaskChanges, Problem> {
    let mut f = Fields::new(obj);
    let title = if creating || obj.contains_key("title") {
        Some(f.required("title", 1, dt::TITLE_MAX))
    } else {
        None
    };
    let c = TaskChanges {
        title,
        description: f.string("description", 0, dt::DESCRIPTION_MAX),
        category: choice(
            &mut f,
            "category",
            &TaskCategory::ALL,
            TaskCategory::as_str,
            false,
        ),
        priority: choice(&mut f, "priority", &Priority::ALL, Priority::as_str, false),
        status: choice(
            &mut f,
            "status",
            &TaskStatus::ALL,
            TaskStatus::as_str,
            false,
        ),
        date: date(&mut f, "date", false),
        due_date: nullable(&mut f, obj, "due_date", |f| date(f, "due_date", true)),
        business: nullable(&mut f, obj, "business_id", |f| {
            id_field(f, "business_id", true)
        })
        .map(|o| o.map(BusinessId)),
        project: nullable(&mut f, obj, "project_id", |f| {
            id_field(f, "project_id", true)
        })
        .map(|o| o.map(ProjectId)),
        assignee: nullable(&mut f, obj, "assignee_id", |f| {
            id_field(f, "assignee_id", true)
        })
        .map(|o| o.map(UserId)),
        latitude: nullable(&mut f, obj, "latitude", |f| {
            f.number("latitude", -90.0, 90.0, true)
        }),
        longitude: nullable(&mut f, obj, "longitude", |f| {
            f.number("longitude", -180.0, 180.0, true)
        }),
    };
    check(&f)?;
    Ok(c)
}

/// The list filter from the query string. `assignee_id=me` means the caller.
pub(super) fn filter(call: &Call, q: &Map<String, Value>, f: &mut Fields<'_>) -> TaskFilter {
    let me = call.caller.user.as_ref().map(|u| u.id);
    let assignee = match q.get("assignee_id").and_then(Value::as_str) {
        Some("me") => me,
        _ => id_field(f, "assignee_id", false).map(UserId),
    };
    TaskFilter {
        status: choice(f, "status", &TaskStatus::ALL, TaskStatus::as_str, false),
        assignee,
        business: id_field(f, "business_id", false).map(BusinessId),
        project: id_field(f, "project_id", false).map(ProjectId),
        category: choice(
            f,
            "category",
            &TaskCategory::ALL,
            TaskCategory::as_str,
            false,
        ),
        from: date(f, "date_from", false),
        to: date(f, "date_to", false),
        q: f.optional("q", dt::SEARCH_MAX),
        involving: None,
    }
}

pub(super) async fn list(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let filt = filter(call, &q, &mut f);
    let p = paging(&mut f);
    check(&f)?;
    let (items, total) = svc_tasks::list(&call.svc, user(call)?, &filt, p).await?;
    let mut names = NameCache::default();
    let items = TaskView::page(&call.svc, call.lang, &mut names, &items);
    Ok(Reply::ok_typed(&PageView::new(items, p, total)))
}

pub(super) async fn save(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let c = task_changes(&body, true)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let t = svc_tasks::save_task(&svc, call.tx().await, &actor, c)?;
    Ok(Reply::created_typed(&TaskView::of(
        &svc,
        call.lang,
        &mut NameCache::default(),
        &t,
    )))
}

async fn detail(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let t = svc_tasks::task(&call.svc, user(call)?, id)?;
    Ok(Reply::ok(task_json(
        &call.svc,
        call.lang,
        &mut NameCache::default(),
        &t,
    )))
}

async fn update(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let body = call.body()?;
    let c = task_changes(&body, false)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let t = svc_tasks::update_task(&svc, call.tx().await, &actor, id, c)?;
    Ok(Reply::ok(task_json(
        &svc,
        call.lang,
        &mut NameCache::default(),
        &t,
    )))
}

async fn delete(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let actor = user(call)?.clone();
    svc_tasks::delete_task(call.tx().await, &actor, id)?;
    Ok(Reply::ok(json!({"task_id": id.0, "deleted": true})))
}

struct ImageInput {
    bytes: Vec<u8>,
    caption: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// The image bytes and metadata from either a JSON body (base64) or a raw file body.
fn image_input(call: &Call) -> Result<ImageInput, Problem> {
    let limit = call.svc.config.http.max_image_bytes;
    let too_large = || Problem::new(413, "task.image.too_large").arg("limit", limit.to_string());
    let ct = call
        .req
        .header("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let raw = ct.starts_with("image/") || ct.starts_with("application/octet-stream");
    let (obj, bytes) = if raw {
        (query(call), call.req.body.to_vec())
    } else {
        let obj = call.body()?;
        let mut f = Fields::new(&obj);
        let b64 = match f.raw("image") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                f.fail(
                    "image",
                    "field.type",
                    vec![("expected", "base64 text".into())],
                );
                String::new()
            }
            None => {
                f.fail("image", "field.required", vec![]);
                String::new()
            }
        };
        check(&f)?;
        // "data:image/jpeg;base64,...." as browsers produce it.
        let b64 = match b64.split_once("base64,") {
            Some((head, rest)) if head.starts_with("data:") => rest.to_string(),
            _ => b64,
        };
        let b64: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        // Refuse before decoding what cannot fit.
        if b64.len() / 4 * 3 > limit + 3 {
            return Err(too_large());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| {
                let mut f = Fields::new(&obj);
                f.fail("image", "field.format", vec![("expected", "base64".into())]);
                Problem::invalid(f.errors)
            })?;
        (obj, bytes)
    };
    if bytes.len() > limit {
        return Err(too_large());
    }
    let mut f = Fields::new(&obj);
    let caption = f.string("caption", 0, dt::CAPTION_MAX).unwrap_or_default();
    let lat = f.number("latitude", -90.0, 90.0, false);
    let lon = f.number("longitude", -180.0, 180.0, false);
    check(&f)?;
    Ok(ImageInput {
        bytes,
        caption,
        latitude: lat,
        longitude: lon,
    })
}

pub(super) async fn save_image(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let ImageInput {
        bytes,
        caption,
        latitude,
        longitude,
    } = image_input(call)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    // The photo is written and fsynced before the writer lock is taken.
    let bytes = images::store_file(&svc, bytes).await?;
    let img = images::save_image(
        &svc,
        call.tx().await,
        &actor,
        id,
        images::NewImage {
            bytes: &bytes,
            caption,
            latitude,
            longitude,
        },
    )?;
    Ok(Reply::created(image_json(&svc, &img)))
}

pub(super) async fn image_list(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let list = images::images(&call.svc, user(call)?, id)?;
    let items: Vec<Value> = list.iter().map(|i| image_json(&call.svc, i)).collect();
    Ok(Reply::ok(json!({"task_id": id.0, "items": items})))
}

async fn image_file(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let image = TaskImageId(path_id(call, "image_id")?);
    let (img, bytes) = images::image_file(&call.svc, user(call)?, id, image)?;
    let ext = img.media.content_type().trim_start_matches("image/");
    call.file(FileBody {
        content_type: img.media.content_type(),
        name: format!("task-{}-image-{}.{ext}", id.0, image.0),
        disposition: "inline",
        bytes,
    })
}

async fn delete_image(call: &mut Call) -> OpResult {
    let id = TaskId(path_id(call, "id")?);
    let image = TaskImageId(path_id(call, "image_id")?);
    let actor = user(call)?.clone();
    images::delete_image(call.tx().await, &actor, id, image)?;
    Ok(Reply::ok(
        json!({"task_id": id.0, "image_id": image.0, "deleted": true}),
    ))
}

async fn generate_report(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let from = date(&mut f, "from", true);
    let to = date(&mut f, "to", true);
    let format = f
        .one_of("format", &["csv", "xlsx"], false)
        .and_then(|s| ReportFormat::parse(&s))
        .unwrap_or(ReportFormat::Csv);
    check(&f)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(Problem::new(400, "validation.failed"));
    };
    let period = Period::new(from, to).map_err(|e| {
        let mut f = Fields::new(&q);
        match e {
            PeriodError::Reversed => f.fail("to", "report.period.reversed", vec![]),
            PeriodError::TooLong => f.fail(
                "to",
                "report.period.too_long",
                vec![("max", MAX_PERIOD_DAYS.to_string())],
            ),
        }
        Problem::invalid(f.errors)
    })?;
    let r = reports::generate(&call.svc, user(call)?, period, format).await?;
    let summary: Vec<Value> = r
        .summary
        .iter()
        .map(|l| {
            json!({
                "user_id": l.user.map(|u| u.0),
                "name": l.name,
                "tasks_done": l.tasks_done,
                "worked_hours": super::hours(l.worked_secs),
            })
        })
        .collect();
    Ok(Reply::ok(json!({
        "report_id": r.id.0,
        "status": "ready",
        "from": r.period.from.to_string(),
        "to": r.period.to.to_string(),
        "format": r.format.as_str(),
        "tasks_done": r.tasks_done,
        "file_bytes": r.file_bytes,
        "file_name": r.file_name(),
        "download_url": format!("/daily/v1/reports/tasks/{}/download", r.id.0),
        "summary": summary,
        "created_at": super::at(&call.svc, Some(r.created_unix)),
    })))
}

async fn download_report(call: &mut Call) -> OpResult {
    let id = ReportId(path_id(call, "id")?);
    let (r, bytes) = reports::download(&call.svc, user(call)?, id)?;
    call.file(FileBody {
        content_type: r.format.content_type(),
        name: r.file_name(),
        disposition: "attachment",
        bytes,
    })
}
