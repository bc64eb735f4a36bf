//! Admin API: attendance and the HR roll — the console's morning view, employees, allowed
//! locations, shifts, HR records, and linking a user to an employee.
//!
//! Upserts take the same named fields as the CSV import columns (values as text or numbers),
//! so `curl --unix-socket` and the import behave alike.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use warp::http::Method;

use super::{body_fields, ok_fields, route, AdminResult};
use crate::api::{Problem, Request, Route};
use crate::domain::validate::Fields;
use crate::service::{attendance as att, geofence, hr, ServiceError, Services};

pub fn routes() -> Vec<Route> {
    vec![
        super::route_raw(
            Method::GET,
            "/admin/attendance/today",
            "Attendance Today (console)",
            |svc, _| Box::pin(today(svc)),
        ),
        route(
            Method::GET,
            "/admin/attendance/punches",
            "Punches Of A Day",
            |svc, req| Box::pin(punches(svc, req)),
        ),
        route(
            Method::GET,
            "/admin/employees",
            "List Employees",
            |svc, req| Box::pin(list_employees(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/employees",
            "Save Employee",
            |svc, req| Box::pin(save(svc, req, Kind::Employee)),
        ),
        route(
            Method::GET,
            "/admin/locations",
            "List Allowed Locations",
            |svc, _| Box::pin(list_locations(svc)),
        ),
        route(
            Method::POST,
            "/admin/locations",
            "Save Allowed Location",
            |svc, req| Box::pin(save(svc, req, Kind::Location)),
        ),
        route(Method::GET, "/admin/shifts", "List Shifts", |svc, _| {
            Box::pin(list_shifts(svc))
        }),
        route(Method::POST, "/admin/shifts", "Save Shift", |svc, req| {
            Box::pin(save(svc, req, Kind::Shift))
        }),
        route(
            Method::POST,
            "/admin/hr/records",
            "Save HR Record",
            |svc, req| Box::pin(save(svc, req, Kind::HrRecord)),
        ),
        route(
            Method::POST,
            "/admin/attendance/link-user",
            "Link User To Employee",
            |svc, req| Box::pin(link_user(svc, req)),
        ),
    ]
}

/// Shared by every screen that polls it (service::attendance_views::admin_today).
async fn today(svc: Arc<Services>) -> Result<bytes::Bytes, Problem> {
    Ok(att::admin_today(&svc).await?)
}

/// `?date=yyyy-MM-dd` (default: the site's today) `&flagged=true` (only suspicious punches).
async fn punches(svc: Arc<Services>, req: Request) -> AdminResult {
    let date = match req.query_param("date") {
        None => hr::today(&svc),
        Some(d) => hr::parse_date(&d).ok_or_else(|| {
            Problem::new(400, "attendance.invalid").arg("detail", "date: yyyy-MM-dd")
        })?,
    };
    let only_flagged = req.query_param("flagged").is_some_and(|v| v == "true");
    Ok(att::punches_json(&svc, date, only_flagged)?)
}

#[derive(Clone, Copy)]
enum Kind {
    Employee,
    Location,
    Shift,
    HrRecord,
}

/// The fields of a JSON object as import cells: text, numbers and booleans as text; empty = absent.
fn cells(body: &Map<String, Value>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| {
        let v = match body.get(name)? {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if *b { "T" } else { "F" }.to_string(),
            _ => return None,
        };
        (!v.is_empty()).then_some(v)
    }
}

async fn save(svc: Arc<Services>, req: Request, kind: Kind) -> AdminResult {
    let body = body_fields(&req)?;
    let get = cells(&body);
    let mut tx = svc.store.begin().await;
    let result: Result<Value, String> = match kind {
        Kind::Employee => hr::upsert_employee(&svc, &mut tx, &get)
            .map(|(e, o)| json!({"code": e.code, "outcome": o.as_str()})),
        Kind::Location => geofence::upsert_fence(&svc, &mut tx, &get)
            .map(|(f, o)| json!({"code": f.code, "outcome": o.as_str()})),
        Kind::Shift => geofence::upsert_shift(&svc, &mut tx, &get)
            .map(|(s, o)| json!({"code": s.code, "outcome": o.as_str()})),
        Kind::HrRecord => {
            hr::import_hr_record(&svc, &mut tx, &get).map(|o| json!({"outcome": o.as_str()}))
        }
    };
    let data = result.map_err(|msg| Problem::new(400, "attendance.invalid").arg("detail", msg))?;
    tx.commit().await.map_err(ServiceError::from)?;
    Ok(data)
}

/// One page of the roll in code order (`limit`, `after`: the last code of the previous page).
async fn list_employees(svc: Arc<Services>, req: Request) -> AdminResult {
    let (limit, after) = super::paging(&req)?;
    Ok(Value::Array(
        hr::employees_page(&svc.store, after.as_deref(), limit)?
            .iter()
            .map(|e| {
                json!({
                    "code": e.code, "name": e.name, "sex": e.sex.as_str(), "firm": e.firm,
                    "department": e.department, "designation": e.designation, "group": e.group,
                    "shift": e.shift, "doj": e.doj.to_string(), "status": e.status(),
                })
            })
            .collect(),
    ))
}

async fn list_locations(svc: Arc<Services>) -> AdminResult {
    Ok(Value::Array(
        geofence::fences(&svc.store)?
            .iter()
            .map(geofence::fence_json)
            .collect(),
    ))
}

async fn list_shifts(svc: Arc<Services>) -> AdminResult {
    use crate::domain::shift::Shift;
    Ok(Value::Array(
        geofence::shifts(&svc.store)?
            .iter()
            .map(|s| {
                json!({
                    "code": s.code, "name": s.name, "start": Shift::hhmm(s.start_min),
                    "end": Shift::hhmm(s.end_min), "crosses_midnight": s.crosses_midnight(),
                    "full_day_minutes": s.full_day_min, "active": s.active,
                })
            })
            .collect(),
    ))
}

/// `{"username": U, "employee_code": E}` links; `"employee_code": null` (or "") unlinks.
async fn link_user(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    let code = f.optional("employee_code", 20);
    ok_fields(&f)?;
    let user = crate::service::identity::user_by_username(&svc.store, &username)?
        .ok_or_else(|| Problem::new(404, "not_found"))?;
    let mut tx = svc.store.begin().await;
    let u = att::set_user_employee(&mut tx, user.id, code.as_deref())?;
    tx.commit().await.map_err(ServiceError::from)?;
    Ok(json!({"username": u.username, "user_id": u.id.0, "employee_code": u.employee_code}))
}
