//! Admin API: the console's day views and dashboard charts (`service::desk`): attendance and
//! muster of a chosen day, flagged punches with reasons, charts and what needs action.

use std::sync::Arc;

use chrono::NaiveDate;
use warp::http::Method;

use super::{route, AdminResult};
use crate::api::{Problem, Request, Route};
use crate::domain::validate::FieldError;
use crate::service::{desk, ServiceError, Services};

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/admin/dashboard/charts",
            "Dashboard Charts",
            |svc, _| Box::pin(charts(svc)),
        ),
        super::route_raw(
            Method::GET,
            "/admin/attendance/day",
            "Attendance Of A Day (console)",
            |svc, req| Box::pin(attendance_day(svc, req)),
        ),
        super::route_raw(
            Method::GET,
            "/admin/muster/day",
            "Muster Of A Day (console)",
            |svc, req| Box::pin(muster_day(svc, req)),
        ),
    ]
}

/// `?date=yyyy-MM-dd`, default the site's today.
fn day_param(svc: &Services, req: &Request) -> Result<NaiveDate, Problem> {
    match req.query_param("date").filter(|d| !d.trim().is_empty()) {
        None => Ok(crate::service::gatepass::today(svc)),
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            Problem::invalid(vec![FieldError {
                field: "date".into(),
                key: "field.format",
                args: vec![("field", "date".into()), ("expected", "yyyy-MM-dd".into())],
            }])
        }),
    }
}

async fn blocking<F>(f: F) -> AdminResult
where
    F: FnOnce() -> crate::service::Result<serde_json::Value> + Send + 'static,
{
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??)
}

async fn charts(svc: Arc<Services>) -> AdminResult {
    blocking(move || desk::charts(&svc)).await
}

/// Shared by every screen that polls it (service::desk::shared_attendance_day).
async fn attendance_day(svc: Arc<Services>, req: Request) -> Result<bytes::Bytes, Problem> {
    let day = day_param(&svc, &req)?;
    Ok(desk::shared_attendance_day(&svc, day).await?)
}

/// Shared by every screen that polls it (service::desk::shared_muster_day).
async fn muster_day(svc: Arc<Services>, req: Request) -> Result<bytes::Bytes, Problem> {
    let day = day_param(&svc, &req)?;
    Ok(desk::shared_muster_day(&svc, day).await?)
}
