//! The admin API: JSON over HTTP on the Unix socket (0660; file permissions are its
//! authentication). The console and the admin CLI use it; the CLI also runs these same
//! handlers in-process when no server is running.
//!
//! Envelope: `{"ok": true, "data": ...}` or `{"ok": false, "status": N, "error": "...",
//! "fields": [...]}` with the HTTP status.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use warp::http::Method;

use super::{Doc, Family, Problem, Request, Response, Route};
use crate::domain::validate::{FieldError, Fields};
use crate::i18n::{self, Lang};
use crate::service::{identity as ident, Services};

pub type AdminResult = Result<Value, Problem>;
pub type AdminFn = fn(Arc<Services>, Request) -> BoxFuture<'static, AdminResult>;

pub fn route(method: Method, path: &'static str, summary: &'static str, f: AdminFn) -> Route {
    let handler: super::Handler = Arc::new(move |svc, req| {
        Box::pin(async move {
            let probe = Request {
                body: bytes::Bytes::new(),
                ..clone_head(&req)
            };
            match f(svc, req).await {
                Ok(data) => Response::json(200, &json!({"ok": true, "data": data})),
                Err(p) => render_problem(&probe, &p),
            }
        })
    });
    admin_route(method, path, summary, handler)
}

/// An admin route: the socket's peer is trusted, so no permission is declared.
fn admin_route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> Route {
    Route {
        method,
        path,
        family: Family::Admin,
        summary,
        tag: "Admin",
        doc: Doc::default(),
        handler,
        max_body: None,
        permission: None,
    }
}

/// An operation whose `{"ok": true, "data": ...}` answer is already rendered (a shared heavy
/// answer, service::answers): the bytes are sent as they are.
pub type AdminRawFn =
    fn(Arc<Services>, Request) -> BoxFuture<'static, Result<bytes::Bytes, Problem>>;

pub fn route_raw(
    method: Method,
    path: &'static str,
    summary: &'static str,
    f: AdminRawFn,
) -> Route {
    let handler: super::Handler = Arc::new(move |svc, req| {
        Box::pin(async move {
            let probe = clone_head(&req);
            match f(svc, req).await {
                Ok(body) => Response::bytes(200, "application/json", body),
                Err(p) => render_problem(&probe, &p),
            }
        })
    });
    admin_route(method, path, summary, handler)
}

fn clone_head(r: &Request) -> Request {
    Request {
        method: r.method.clone(),
        path: r.path.clone(),
        query: r.query.clone(),
        headers: r.headers.clone(),
        body: bytes::Bytes::new(),
        params: r.params.clone(),
        peer: r.peer,
    }
}

mod accounts;
mod attendance;
mod dashboard;
mod desk;
mod estate;
mod gatepass;
mod identity;
mod terminals;
mod transfer;
mod upstream;

pub fn routes() -> Vec<Route> {
    let mut all = vec![
        route(Method::GET, "/admin/status", "Status", |svc, _| {
            Box::pin(status(svc))
        }),
        route(Method::POST, "/admin/backup", "Backup Now", |svc, req| {
            Box::pin(backup(svc, req))
        }),
        route(Method::GET, "/admin/backup", "Backup Status", |svc, _| {
            Box::pin(backup_status(svc))
        }),
        route(Method::POST, "/admin/restore", "Restore", |svc, req| {
            Box::pin(restore(svc, req))
        }),
        route(
            Method::POST,
            "/admin/first-run",
            "Take First-Run Credentials",
            |svc, _| Box::pin(first_run(svc)),
        ),
        route(Method::GET, "/admin/check", "Check Store", |svc, _| {
            Box::pin(check(svc))
        }),
    ];
    for area in [
        identity::routes(),
        attendance::routes(),
        estate::routes(),
        gatepass::routes(),
        dashboard::routes(),
        transfer::routes(),
        terminals::routes(),
        upstream::routes(),
        accounts::routes(),
        desk::routes(),
    ] {
        all.extend(area);
    }
    all
}

pub fn render_problem(_req: &Request, p: &Problem) -> Response {
    let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (*k, v.clone())).collect();
    let fields: Vec<Value> = p
        .fields
        .iter()
        .map(|fe| {
            let a: Vec<(&str, String)> = fe.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            json!({"field": fe.field, "message": i18n::t(Lang::En, fe.key, &a)})
        })
        .collect();
    let mut msg = i18n::t(Lang::En, p.key, &args);
    if let Some(first) = fields.first() {
        msg = format!("{msg}: {}", first["message"].as_str().unwrap_or(""));
    }
    Response::json(
        p.status,
        &json!({"ok": false, "status": p.status, "error": msg, "fields": fields}),
    )
}

pub fn body_fields(req: &Request) -> Result<serde_json::Map<String, Value>, Problem> {
    req.json_object()
}

pub fn ok_fields(f: &Fields<'_>) -> Result<(), Problem> {
    if f.ok() {
        Ok(())
    } else {
        Err(Problem::invalid(f.errors.clone()))
    }
}

/// The current storage fault (disk full, read-only) for the console's warning, or null.
const LIST_LIMIT: usize = 500;
const LIST_LIMIT_MAX: usize = 1000;

/// `limit` (default 500, at most 1,000) and `after` (the last key of the previous page) of an
/// admin list that pages: the answer stays an array.
pub(super) fn paging(req: &Request) -> Result<(usize, Option<String>), Problem> {
    let limit = limit_param(req, LIST_LIMIT, LIST_LIMIT_MAX)?;
    Ok((limit, req.query_param("after").filter(|a| !a.is_empty())))
}

/// `?limit=`: `default` when absent or empty, else 1..=`max`.
pub(super) fn limit_param(req: &Request, default: usize, max: usize) -> Result<usize, Problem> {
    match req.query_param("limit").filter(|l| !l.is_empty()) {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(Problem::invalid(vec![FieldError {
                field: "limit".into(),
                key: "field.range",
                args: vec![("min", "1".into()), ("max", max.to_string())],
            }])),
        },
    }
}

pub fn storage_fault() -> Value {
    match crate::service::storage::current() {
        Some((f, since)) => json!({"kind": f, "since_unix": since, "message": f.describe()}),
        None => Value::Null,
    }
}

async fn status(svc: Arc<Services>) -> AdminResult {
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "site": svc.config.site.name,
        "uptime_secs": svc.started.elapsed().as_secs(),
        "store_bytes": svc.store.engine().size_on_disk(),
        "users": ident::user_count(&svc.store)?,
        "storage_fault": storage_fault(),
    }))
}

async fn backup(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let out = f.required("out", 1, 4096);
    ok_fields(&f)?;
    let summary = crate::service::maintenance::backup_now(&svc, out.into(), false).await?;
    tracing::info!(file = %summary.file.display(), entries = summary.entries, blobs = summary.blobs, "backup written");
    Ok(serde_json::to_value(summary).unwrap_or(Value::Null))
}

async fn backup_status(svc: Arc<Services>) -> AdminResult {
    use crate::service::maintenance;
    Ok(json!({
        "last": maintenance::last_backup(&svc.store)?,
        "dir": svc.config.backup.dir,
        "every_hours": svc.config.backup.every_hours,
        "keep": svc.config.backup.keep,
        "next_in_secs": if svc.config.backup.dir.as_os_str().is_empty() { Value::Null } else { json!(maintenance::next_backup_in(&svc)) },
    }))
}

/// Checks the file, stages it, and restarts the server (systemd brings it back up; the next
/// start restores before opening the store).
async fn restore(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let from = f.required("from", 1, 4096);
    ok_fields(&f)?;
    crate::service::maintenance::stage_restore(&svc, std::path::Path::new(&from))?;
    svc.restart.notify_one();
    Ok(json!({"staged": from, "restarting": true}))
}

/// The first-run credentials, once (POST: taking them deletes them).
async fn first_run(svc: Arc<Services>) -> AdminResult {
    let text = crate::service::maintenance::take_first_run_notice(&svc).await?;
    Ok(json!({"text": text}))
}

async fn check(svc: Arc<Services>) -> AdminResult {
    let report = crate::service::maintenance::check(&svc).await?;
    Ok(serde_json::to_value(report).unwrap_or(Value::Null))
}
