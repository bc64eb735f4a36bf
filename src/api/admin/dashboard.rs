//! Admin API: the console's dashboard (one call that composes every area's summary) and the
//! recent-log ring.
//!
//! The dashboard calls each area's SERVICE summary (devices, attendance, gatepasses, estate),
//! so one call fills the console's first screen.

use std::sync::Arc;

use serde_json::{json, Value};
use warp::http::Method;

use super::{route, AdminResult};
use crate::api::{Problem, Request, Route};
use crate::domain::time::{local_day, site_offset};
use crate::domain::validate::FieldError;
use crate::service::{attendance, devices, estate, gatepass, maintenance, Services};

/// Most log events one call returns (the ring holds about this many anyway).
pub const MAX_LOG_LIMIT: usize = 500;
const DEFAULT_LOG_LIMIT: usize = 200;

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/admin/dashboard", "Dashboard", |svc, _| {
            Box::pin(dashboard(svc))
        }),
        route(Method::GET, "/admin/logs", "Recent Logs", |_, req| {
            Box::pin(logs(req))
        }),
    ]
}

async fn dashboard(svc: Arc<Services>) -> AdminResult {
    let now = svc.now();
    let offset = svc.config.site.timezone_offset_minutes;
    let requests = svc.metrics.request_figures();
    let last_backup = maintenance::last_backup(&svc.store).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "dashboard: last backup unreadable");
        None
    });
    let store_bytes = {
        let store = svc.store.clone();
        // size_on_disk walks the directory: keep it off the async workers.
        tokio::task::spawn_blocking(move || store.engine().size_on_disk())
            .await
            .unwrap_or(0)
    };
    Ok(json!({
        "site": svc.config.site.name,
        "version": env!("CARGO_PKG_VERSION"),
        "now_unix": now.timestamp(),
        "local_date": local_day(now, offset).format("%Y-%m-%d").to_string(),
        "local_time": now.with_timezone(&site_offset(offset)).format("%H:%M").to_string(),
        "timezone_offset_minutes": offset,
        "state_dir": svc.store.state_dir().display().to_string(),
        "uptime_secs": svc.started.elapsed().as_secs(),
        "requests": requests,
        "store_bytes": store_bytes,
        "last_backup_unix": last_backup.as_ref().filter(|b| b.ok).map(|b| b.at_unix),
        // The last attempt, failed ones included (a pulled USB stick must show).
        "last_backup": last_backup.map(|b| json!({
            "at_unix": b.at_unix, "file": b.file, "ok": b.ok, "bytes": b.bytes,
            "error": b.error, "scheduled": b.scheduled,
        })),
        // What staff should notice without opening the log screen.
        "recent_warnings": crate::telemetry::recent_logs(Some("warn"), 5),
        // Disk full or read-only: writes are being refused (null when all is well).
        "storage_fault": super::storage_fault(),
        // Areas: each is its service's summary; null until that area is on this build.
        // One area failing (a record that no longer decodes) must not blank the whole screen:
        // that area is null (the console shows n/a) and the failure goes to the log.
        "devices": area("devices", devices_summary(&svc, now.timestamp())),
        "attendance": area("attendance", attendance_summary(&svc).await),
        "gatepasses": area("gatepasses", gatepass::summary(&svc).map_err(Problem::from)
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))),
        "estate": area("estate", estate_summary(&svc).await),
        "upstream": area("upstream", crate::service::upstream::status(&svc).map_err(Problem::from)
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))),
    }))
}

fn area(name: &str, r: Result<Value, Problem>) -> Value {
    r.unwrap_or_else(|p| {
        tracing::warn!(
            area = name,
            status = p.status,
            key = p.key,
            "dashboard: area summary failed"
        );
        Value::Null
    })
}

/// A handheld seen within this long counts as online.
const ONLINE_SECS: i64 = 15 * 60;

fn devices_summary(svc: &Services, now: i64) -> Result<Value, Problem> {
    let s = devices::summary(&svc.store, now, ONLINE_SECS)?;
    Ok(serde_json::to_value(s).unwrap_or(Value::Null))
}

/// Today's punch counts without the per-gang lists (the attendance screen loads those): the
/// day's punches only, never the roll.
async fn attendance_summary(svc: &Arc<Services>) -> Result<Value, Problem> {
    let svc = svc.clone();
    let counts = tokio::task::spawn_blocking(move || attendance::day_counts(&svc))
        .await
        .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
    Ok(serde_json::to_value(counts).unwrap_or(Value::Null))
}

async fn estate_summary(svc: &Arc<Services>) -> Result<Value, Problem> {
    let svc = svc.clone();
    let s = tokio::task::spawn_blocking(move || estate::summary(&svc))
        .await
        .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
    Ok(serde_json::to_value(s).unwrap_or(Value::Null))
}

async fn logs(req: Request) -> AdminResult {
    let level = req.query_param("level").filter(|l| !l.is_empty());
    if let Some(l) = &level {
        if crate::telemetry::logring::level_rank(l).is_none() {
            return Err(Problem::invalid(vec![FieldError {
                field: "level".into(),
                key: "field.one_of",
                args: vec![("allowed", "error, warn, info, debug, trace".into())],
            }]));
        }
    }
    let limit = super::limit_param(&req, DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT)?;
    let events = crate::telemetry::recent_logs(level.as_deref(), limit);
    Ok(serde_json::to_value(events).unwrap_or(Value::Array(vec![])))
}
