//! Daily Activity: Remove/Attendances (Attendance Today, Shift Today, Allowed Locations,
//! Clock In, Clock Out) and Remove/Users' Get Coordinate History.

use serde_json::{json, Value};
use warp::http::Method;

use super::{fields_ok, route, Auth, Call, Data, OpResult, Reply};
use crate::api::{Doc, Problem, Route};
use crate::da_op;
use crate::domain::attendance::Direction;
use crate::domain::geofence::LatLon;
use crate::domain::identity::Permission;
use crate::domain::ids::UserId;
use crate::domain::validate::Fields;
use crate::service::attendance::{self as att, PunchError, PunchInput};
use crate::service::geofence;

const TAG: &str = "Daily Activity/Remove/Attendances";

fn punch_doc(dir: &'static str) -> Doc {
    Doc {
        description: if dir == "in" {
            "Clocks the signed-in user's employee in. The server checks the position against every \
             allowed location that applies (haversine distance, widened by the reported `accuracy` \
             in metres; an accuracy worse than attendance.max_gps_accuracy_m is refused). Outside \
             every location: 403 with the distance to the nearest one in the message. The punch \
             time is the server's; `device_time` (unix seconds) is stored with the clock offset. \
             A second tap in the same direction within attendance.dedupe_window_secs returns the \
             first punch (`duplicate: true`); a second clock-in while clocked in is 409. \
             `mock_location: true` and impossible travel speed since the last punch are stored \
             as `flags` and `suspicious: true`, not refused. Retries with the same x-request-id \
             replay the first answer."
        } else {
            "Clocks the signed-in user's employee out, under the same location rules as Clock In. \
             The clock-out belongs to the attendance day of the open clock-in: a night shift's \
             clock-out at 05:50 belongs to the shift that started the evening before. Without an \
             open clock-in: 409."
        },
        request: Some(json!({
            "latitude": 8.9601, "longitude": 77.3004, "accuracy": 12.5,
            "mock_location": false, "device_time": 1763870000, "note": "gate 2 (at most 200 characters)"
        })),
        response: Some(json!({
            "duplicate": false,
            "punch": {
                "punch_id": 41, "employee_code": "E001", "direction": dir,
                "time": "2026-11-23T00:58:02Z", "local_time": "2026-11-23 07:58:02",
                "site_offset_minutes": 420, "device_time": "2026-11-23T00:58:00Z",
                "clock_offset_secs": -2, "attendance_day": "2026-11-23", "shift": "DAY",
                "latitude": 8.9601, "longitude": 77.3004, "accuracy_m": 12.5,
                "location": "OFFICE", "location_distance_m": 0.0,
                "suspicious": false, "flags": [], "note": "gate 2"
            }
        })),
        required: &["latitude", "longitude", "accuracy"],
        errors: &[422],
        ..Doc::default()
    }
}

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/daily/v1/attendances/today",
            "Attendance Today",
            TAG,
            Auth::Access(Permission::AttendanceSelf),
            Doc {
                description: "The signed-in user's attendance day (site-local; the open night \
                    shift's day until it is clocked out) with its punches, status \
                    (not_clocked_in | clocked_in | clocked_out) and worked minutes.",
                response: Some(json!({
                    "date": "2026-11-23", "site_date": "2026-11-23", "employee_code": "E001",
                    "employee_name": "Murugan S", "status": "clocked_in",
                    "clock_in": {"punch_id": 41, "direction": "in", "local_time": "2026-11-23 07:58:02"},
                    "clock_out": null, "worked_minutes": 0, "punches": []
                })),
                ..Doc::default()
            },
            da_op!(today),
        ),
        route(
            Method::GET,
            "/daily/v1/attendances/shift-today",
            "Shift Today",
            TAG,
            Auth::Access(Permission::AttendanceSelf),
            Doc {
                description: "The signed-in user's shift instance for the current attendance \
                    day: local and UTC start/end (a night shift ends the next day), holiday and \
                    leave. `shift` is null for employees without a shift.",
                response: Some(json!({
                    "date": "2026-11-22", "employee_code": "E007", "holiday": false, "on_leave": null,
                    "shift": {"code": "NIGHT", "name": "Night shift", "start": "22:00", "end": "06:00",
                              "crosses_midnight": true, "attendance_day": "2026-11-22",
                              "starts_at": "2026-11-22 22:00", "ends_at": "2026-11-23 06:00",
                              "starts_at_utc": "2026-11-22T15:00:00Z", "ends_at_utc": "2026-11-22T23:00:00Z",
                              "full_day_minutes": 420}
                })),
                ..Doc::default()
            },
            da_op!(shift_today),
        ),
        route(
            Method::GET,
            "/daily/v1/attendances/locations",
            "Allowed Locations",
            TAG,
            Auth::Access(Permission::AttendanceSelf),
            Doc {
                description: "Every allowed location (geofence) that applies to the signed-in \
                    user's employee: circles (centre + radius_m) and polygons.",
                response: Some(json!({"locations": [{
                    "code": "OFFICE", "name": "Estate office", "latitude": 8.96, "longitude": 77.3,
                    "shape": {"type": "circle", "latitude": 8.96, "longitude": 77.3, "radius_m": 300.0},
                    "scopes": ["all"], "active": true
                }], "max_accuracy_m": 100.0})),
                ..Doc::default()
            },
            da_op!(locations),
        ),
        route(
            Method::POST,
            "/daily/v1/attendances/clock-in",
            "Clock In",
            TAG,
            Auth::Access(Permission::AttendanceSelf),
            punch_doc("in"),
            da_op!(clock_in),
        ),
        route(
            Method::POST,
            "/daily/v1/attendances/clock-out",
            "Clock Out",
            TAG,
            Auth::Access(Permission::AttendanceSelf),
            punch_doc("out"),
            da_op!(clock_out),
        ),
        route(
            Method::GET,
            "/daily/v1/users/{user_id}/coordinates",
            "Get Coordinate History",
            "Daily Activity/Remove/Users",
            Auth::Access(Permission::AttendanceSelf),
            Doc {
                description: "The positions recorded with a user's punches between `from` and \
                    `to` (site-local dates yyyy-MM-dd, inclusive, at most 31 days; default: today). \
                    `user_id` = `me` or the caller's own id; another user's needs the \
                    attendance_view permission.",
                query: vec![
                    ("from", "first site-local day, yyyy-MM-dd"),
                    ("to", "last site-local day, yyyy-MM-dd"),
                ],
                response: Some(json!({"user_id": 12, "employee_code": "E001", "from": "2026-11-01", "to": "2026-11-23",
                    "coordinates": [{"time": "2026-11-23T00:58:02Z", "local_time": "2026-11-23 07:58:02",
                    "latitude": 8.9601, "longitude": 77.3004, "accuracy_m": 12.5, "direction": "in",
                    "location": "OFFICE", "suspicious": false, "flags": []}]})),
                ..Doc::default()
            },
            da_op!(coordinates),
        ),
    ]
}

async fn today(call: &mut Call) -> OpResult {
    let emp = att::employee_of_user(&call.svc.store, call.user()?)?;
    Ok(Reply::ok_rendered(att::today(&call.svc, &emp)?))
}

async fn shift_today(call: &mut Call) -> OpResult {
    let emp = att::employee_of_user(&call.svc.store, call.user()?)?;
    Ok(Reply::ok(att::shift_today_json(&call.svc, &emp)?))
}

async fn locations(call: &mut Call) -> OpResult {
    let emp = att::employee_of_user(&call.svc.store, call.user()?)?;
    let fences = geofence::allowed_fences(&call.svc.store, &emp)?;
    Ok(Reply::ok(json!({
        "locations": fences.iter().map(geofence::fence_json).collect::<Vec<_>>(),
        "max_accuracy_m": call.svc.config.attendance.max_gps_accuracy_m,
    })))
}

async fn clock_in(call: &mut Call) -> OpResult {
    punch(call, Direction::In).await
}

async fn clock_out(call: &mut Call) -> OpResult {
    punch(call, Direction::Out).await
}

async fn punch(call: &mut Call, direction: Direction) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let lat = f.number("latitude", -90.0, 90.0, true);
    let lon = f.number("longitude", -180.0, 180.0, true);
    // The ceiling is checked by the service against the configured maximum, with its own message.
    let accuracy = f.number("accuracy", 0.0, 1.0e7, true);
    let mock = f.boolean("mock_location").unwrap_or(false);
    // Unix seconds, or an RFC 3339 timestamp ("2026-11-23T07:58:00+07:00").
    let device_time = match body.get("device_time") {
        Some(Value::String(t)) if t.trim().parse::<i64>().is_err() => {
            match chrono::DateTime::parse_from_rfc3339(t.trim()) {
                Ok(d) => Some(d.timestamp()),
                Err(_) => {
                    f.fail(
                        "device_time",
                        "field.format",
                        vec![("expected", "unix seconds or RFC 3339".into())],
                    );
                    None
                }
            }
        }
        _ => f.int("device_time", 0, 32_503_680_000, false),
    };
    let note = f.optional("note", 200).unwrap_or_default();
    fields_ok(&f)?;
    let user = call.user()?.clone();
    let emp = att::employee_of_user(&call.svc.store, &user)?;
    let svc = call.svc.clone();
    let rid = call.request_id.clone();
    let input = PunchInput {
        employee: &emp,
        user: Some(user.id),
        direction,
        position: LatLon::new(lat.unwrap_or(0.0), lon.unwrap_or(0.0)),
        accuracy_m: accuracy.unwrap_or(0.0),
        mock_location: mock,
        device_unix: device_time,
        request_id: &rid,
        note: &note,
    };
    match att::punch(&svc, call.tx().await, input) {
        Ok(out) => {
            #[derive(serde::Serialize)]
            struct Punched<'a> {
                duplicate: bool,
                punch: att::PunchView<'a>,
            }
            let data = Data::typed(&Punched {
                duplicate: out.duplicate,
                punch: att::PunchView::of(&out.punch),
            });
            Ok(if out.duplicate {
                Reply {
                    status: 200,
                    message: "attendance.duplicate",
                    data,
                }
            } else {
                Reply {
                    status: 201,
                    message: if direction == Direction::In {
                        "attendance.clocked_in"
                    } else {
                        "attendance.clocked_out"
                    },
                    data,
                }
            })
        }
        Err(e) => Err(punch_problem(e)),
    }
}

fn punch_problem(e: PunchError) -> Problem {
    match e {
        PunchError::Service(s) => s.into(),
        PunchError::Outside { fence, distance_m } => Problem::new(403, "attendance.outside_fence")
            .arg("distance", format!("{}", distance_m.round() as i64))
            .arg("location", fence),
        PunchError::NoFence => Problem::new(403, "attendance.no_location"),
        PunchError::Accuracy { max_m } => {
            Problem::new(422, "attendance.accuracy_too_low").arg("max", format!("{max_m}"))
        }
        PunchError::NotClockedIn => Problem::new(409, "attendance.not_clocked_in"),
        PunchError::AlreadyClockedIn { since_local } => {
            Problem::new(409, "attendance.already_clocked_in").arg("since", since_local)
        }
    }
}

async fn coordinates(call: &mut Call) -> OpResult {
    let me = call.user()?.clone();
    let raw = call.req.param("user_id").unwrap_or("").to_string();
    let target = if raw == "me" {
        me.id
    } else {
        raw.parse::<u64>()
            .map(UserId)
            .map_err(|_| Problem::new(404, "not_found"))?
    };
    if target != me.id && !me.role.can(Permission::AttendanceView) {
        return Err(Problem::new(403, "auth.forbidden"));
    }
    let user = crate::service::identity::user(&call.svc.store, target)?
        .ok_or_else(|| Problem::new(404, "not_found"))?;
    let q: serde_json::Map<String, Value> = call
        .req
        .query_params()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut f = Fields::new(&q);
    let from = f.optional("from", 10);
    let to = f.optional("to", 10);
    fields_ok(&f)?;
    let today = crate::service::hr::today(&call.svc);
    let parse = |name: &str, v: Option<String>| -> Result<chrono::NaiveDate, Problem> {
        match v {
            None => Ok(today),
            Some(s) => crate::service::hr::parse_date(&s).ok_or_else(|| {
                Problem::invalid(vec![crate::domain::validate::FieldError {
                    field: name.to_string(),
                    key: "field.format",
                    args: vec![
                        ("field", name.to_string()),
                        ("expected", "yyyy-MM-dd".into()),
                    ],
                }])
            }),
        }
    };
    let (from, to) = (parse("from", from)?, parse("to", to)?);
    if to < from || (to - from).num_days() >= 31 {
        return Err(Problem::invalid(vec![
            crate::domain::validate::FieldError {
                field: "to".into(),
                key: "attendance.range",
                args: vec![("field", "to".into()), ("max", "31".into())],
            },
        ]));
    }
    let emp = att::employee_of_user(&call.svc.store, &user)?;
    let points = att::coordinate_history(&call.svc, &emp, from, to)?;
    Ok(Reply::ok(json!({
        "user_id": user.id.0,
        "employee_code": emp.code,
        "from": from.format("%Y-%m-%d").to_string(),
        "to": to.format("%Y-%m-%d").to_string(),
        "coordinates": points,
    })))
}
