//! Clock in / clock out and what the day looks like. One call here serves the Daily Activity
//! app and, later, any other family that punches.
//!
//! The punch time is always the server's (a device clock can be wrong or set back); the device's
//! own time is stored beside it with the offset, and a large offset flags the punch. The
//! attendance day is the site-local day the shift instance started on.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

use crate::domain::attendance::{
    advance, decide, travel_speed_kmh, Decision, Direction, Flag, Punch, PunchState, Rules,
};
use crate::domain::geofence::{check, FenceCheck, LatLon};
use crate::domain::hr::Employee;
use crate::domain::identity::User;
use crate::domain::ids::UserId;
use crate::domain::shift::{Shift, Slack};
use crate::store::tables::attendance::PUNCHES_BY_DAY;
use crate::store::{self, codec, Record, Store, Tx};

use super::{geofence, hr, Result, ServiceError, Services};

/// A punch refused for a reason the caller can act on.
#[derive(Debug)]
pub enum PunchError {
    Service(ServiceError),
    /// Outside every allowed location; the nearest one and how far it is (metres).
    Outside {
        fence: String,
        distance_m: f64,
    },
    /// No allowed location applies to this employee.
    NoFence,
    /// The reported GPS accuracy is worse than the configured maximum.
    Accuracy {
        max_m: f64,
    },
    /// Clock-out with no clock-in open.
    NotClockedIn,
    /// Clock-in while one is open (since, as site-local "HH:MM").
    AlreadyClockedIn {
        since_local: String,
    },
}

impl From<ServiceError> for PunchError {
    fn from(e: ServiceError) -> Self {
        PunchError::Service(e)
    }
}

impl From<store::StoreError> for PunchError {
    fn from(e: store::StoreError) -> Self {
        PunchError::Service(e.into())
    }
}

pub struct PunchInput<'a> {
    pub employee: &'a Employee,
    pub user: Option<UserId>,
    pub direction: Direction,
    pub position: LatLon,
    pub accuracy_m: f64,
    pub mock_location: bool,
    pub device_unix: Option<i64>,
    pub request_id: &'a str,
    pub note: &'a str,
}

pub struct PunchOutcome {
    pub punch: Punch,
    /// True when this was a double tap: `punch` is the first one, nothing was written.
    pub duplicate: bool,
}

/// The employee a signed-in user punches as.
pub fn employee_of_user(store: &Store, user: &User) -> Result<Employee> {
    let code = user
        .employee_code
        .as_deref()
        .ok_or(ServiceError::NotFound {
            key: "attendance.employee.not_linked",
        })?;
    hr::employee(store, code)?.ok_or(ServiceError::NotFound {
        key: "attendance.employee.not_linked",
    })
}

pub fn set_user_employee(tx: &mut Tx, user: UserId, code: Option<&str>) -> Result<User> {
    hr::set_user_employee(tx, user, code)
}

fn offset_min(svc: &Services) -> i32 {
    svc.config.site.timezone_offset_minutes
}

pub fn local(at_unix: i64, offset_min: i32) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(at_unix, 0)
        .unwrap_or_default()
        .naive_utc()
        + Duration::minutes(offset_min as i64)
}

fn slack(svc: &Services) -> Slack {
    Slack {
        early_min: svc.config.attendance.early_clock_in_minutes,
        late_min: svc.config.attendance.late_clock_out_minutes,
    }
}

fn rules(svc: &Services) -> Rules {
    Rules {
        dedupe_window_secs: svc.config.attendance.dedupe_window_secs,
        max_open_secs: svc.config.attendance.max_open_shift_hours * 3600,
    }
}

pub fn punch_key(employee: &str, at_unix: i64, id: u64) -> Vec<u8> {
    store::key(&[
        employee.as_bytes(),
        &[at_unix.to_be_bytes(), id.to_be_bytes()].concat(),
    ])
}

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn punch(
    svc: &Services,
    tx: &mut Tx,
    input: PunchInput<'_>,
) -> Result<PunchOutcome, PunchError> {
    let cfg = &svc.config.attendance;
    let emp = input.employee;
    if input.accuracy_m > cfg.max_gps_accuracy_m {
        return Err(PunchError::Accuracy {
            max_m: cfg.max_gps_accuracy_m,
        });
    }
    let now = svc.now_unix();
    let offset = offset_min(svc);
    let state = tx
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    match decide(&state, input.direction, now, &rules(svc)) {
        Decision::Record => {}
        Decision::Duplicate(first) => {
            let punch = tx
                .get::<Punch>(&first.key)?
                .ok_or_else(|| ServiceError::Internal("punch state points at nothing".into()))?;
            return Ok(PunchOutcome {
                punch,
                duplicate: true,
            });
        }
        Decision::NotClockedIn => return Err(PunchError::NotClockedIn),
        Decision::AlreadyClockedIn { since_unix } => {
            return Err(PunchError::AlreadyClockedIn {
                since_local: local(since_unix, offset)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            })
        }
    }
    let fences = geofence::allowed_fences(tx.store(), emp)?;
    let (fence, fence_distance_m) = match check(&fences, input.position, input.accuracy_m) {
        FenceCheck::Inside { fence, distance_m } => (fence, distance_m),
        FenceCheck::NoFence => return Err(PunchError::NoFence),
        FenceCheck::Outside {
            nearest_name,
            distance_m,
            ..
        } => {
            return Err(PunchError::Outside {
                fence: nearest_name,
                distance_m,
            })
        }
    };
    let mut flags = Vec::new();
    if input.mock_location {
        flags.push(Flag::MockLocation);
    }
    if let Some(last) = &state.last {
        if let Some(kmh) = travel_speed_kmh(last, input.position, input.accuracy_m, now) {
            if kmh > cfg.max_plausible_speed_kmh {
                flags.push(Flag::ImpossibleSpeed {
                    kmh: (kmh * 10.0).round() / 10.0,
                });
            }
        }
    }
    let clock_offset = input.device_unix.map(|d| d - now);
    if let Some(off) = clock_offset {
        if off.abs() > cfg.device_clock_skew_secs {
            flags.push(Flag::DeviceClockSkew { secs: off });
        }
    }
    let shift = geofence::shift(tx.store(), &emp.shift)?;
    let local_now = local(now, offset);
    let open = state
        .open_in
        .as_ref()
        .filter(|_| input.direction == Direction::Out);
    let attendance_day = match (open, &shift) {
        // A clock-out closes the shift its clock-in opened, whatever the date is now.
        (Some(o), _) => o.attendance_day,
        (None, Some(s)) => s.day_of(local_now, slack(svc)).unwrap_or_else(|| {
            flags.push(Flag::OutsideShift);
            local_now.date()
        }),
        (None, None) => local_now.date(),
    };
    let id = super::identity::next_id(tx, "punch")?;
    let p = Punch {
        id,
        employee: emp.code.clone(),
        direction: input.direction,
        at_unix: now,
        device_unix: input.device_unix,
        clock_offset_secs: clock_offset,
        site_offset_min: offset,
        attendance_day,
        shift: shift.map(|s| s.code),
        position: input.position,
        accuracy_m: input.accuracy_m,
        fence,
        fence_distance_m: (fence_distance_m * 10.0).round() / 10.0,
        flags,
        request_id: input.request_id.to_string(),
        user: input.user.map(|u| u.0),
        note: input.note.to_string(),
    };
    let key = punch_key(&emp.code, now, id);
    tx.put(&key, &p);
    tx.index(
        PUNCHES_BY_DAY,
        &[
            store::prefix(&[day_text(attendance_day).as_bytes()]),
            key.clone(),
        ]
        .concat(),
    );
    tx.put(emp.code.as_bytes(), &advance(&key, &p));
    if p.suspicious() {
        tracing::warn!(employee = %p.employee, flags = ?p.flags, "punch flagged as possibly spoofed");
    }
    Ok(PunchOutcome {
        punch: p,
        duplicate: false,
    })
}

/// The attendance day an employee is in now: the open shift's, else the shift instance around
/// now, else the site's local day.
pub fn current_day(svc: &Services, emp: &Employee) -> Result<NaiveDate> {
    let now = svc.now_unix();
    let state = svc
        .store
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    if let Some(o) = state
        .open_in
        .filter(|o| now - o.at_unix <= rules(svc).max_open_secs)
    {
        return Ok(o.attendance_day);
    }
    let local_now = local(now, offset_min(svc));
    let shift = geofence::shift(&svc.store, &emp.shift)?;
    Ok(shift
        .and_then(|s| s.day_of(local_now, slack(svc)))
        .unwrap_or_else(|| local_now.date()))
}

/// Every punch of one attendance day, in key order (employee, time).
pub fn punches_of_day(store: &Store, day: NaiveDate) -> Result<Vec<Punch>> {
    let keys = store.index_keys(PUNCHES_BY_DAY, &store::prefix(&[day_text(day).as_bytes()]))?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(p) = store.get::<Punch>(&k)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// One employee's punches of one attendance day, by time.
pub fn employee_day(store: &Store, code: &str, day: NaiveDate) -> Result<Vec<Punch>> {
    let prefix = [
        store::prefix(&[day_text(day).as_bytes()]),
        store::prefix(&[code.as_bytes()]),
    ]
    .concat();
    let keys = store.index_keys(PUNCHES_BY_DAY, &prefix)?;
    let mut out = Vec::new();
    for k in keys {
        let full = [store::prefix(&[code.as_bytes()]), k].concat();
        if let Some(p) = store.get::<Punch>(&full)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// One employee's punches with server time in `from..to` (unix seconds), by time.
pub fn employee_between(store: &Store, code: &str, from: i64, to: i64) -> Result<Vec<Punch>> {
    let start = store::key(&[code.as_bytes(), &from.max(0).to_be_bytes()]);
    let end = store::key(&[code.as_bytes(), &to.max(0).to_be_bytes()]);
    let mut out = Vec::new();
    for kv in store.engine().range(Punch::TREE, &start, &end)? {
        let (_, v) = kv?;
        out.push(codec::decode::<Punch>(&v)?);
    }
    Ok(out)
}

/// Minutes worked over a day's punches: each clock-in paired with the next clock-out.
pub fn worked_minutes(punches: &[Punch]) -> i64 {
    let mut open: Option<i64> = None;
    let mut total = 0;
    for p in punches {
        match (p.direction, open) {
            (Direction::In, None) => open = Some(p.at_unix),
            (Direction::Out, Some(t)) => {
                total += (p.at_unix - t) / 60;
                open = None;
            }
            _ => {}
        }
    }
    total
}

pub fn punch_json(p: &Punch) -> Value {
    let local_t = local(p.at_unix, p.site_offset_min);
    json!({
        "punch_id": p.id,
        "employee_code": p.employee,
        "direction": p.direction.as_str(),
        "time": rfc3339(p.at_unix),
        "local_time": local_t.format("%Y-%m-%d %H:%M:%S").to_string(),
        "site_offset_minutes": p.site_offset_min,
        "device_time": p.device_unix.map(rfc3339),
        "clock_offset_secs": p.clock_offset_secs,
        "attendance_day": day_text(p.attendance_day),
        "shift": p.shift,
        "latitude": p.position.lat,
        "longitude": p.position.lon,
        "accuracy_m": p.accuracy_m,
        "location": p.fence,
        "location_distance_m": p.fence_distance_m,
        "suspicious": p.suspicious(),
        "flags": p.flags.iter().map(flag_json).collect::<Vec<_>>(),
        "note": p.note,
    })
}

fn flag_json(f: &Flag) -> Value {
    match f {
        Flag::ImpossibleSpeed { kmh } => json!({"code": f.code(), "speed_kmh": kmh}),
        Flag::DeviceClockSkew { secs } => json!({"code": f.code(), "offset_secs": secs}),
        _ => json!({"code": f.code()}),
    }
}

pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The shift instance of `day` as JSON (local and UTC bounds).
pub fn shift_json(s: &Shift, day: NaiveDate, offset_min: i32) -> Value {
    let (start, end) = s.instance(day);
    let to_utc = |t: NaiveDateTime| {
        rfc3339(
            (t - Duration::minutes(offset_min as i64))
                .and_utc()
                .timestamp(),
        )
    };
    json!({
        "code": s.code,
        "name": s.name,
        "start": Shift::hhmm(s.start_min),
        "end": Shift::hhmm(s.end_min),
        "crosses_midnight": s.crosses_midnight(),
        "attendance_day": day_text(day),
        "starts_at": start.format("%Y-%m-%d %H:%M").to_string(),
        "ends_at": end.format("%Y-%m-%d %H:%M").to_string(),
        "starts_at_utc": to_utc(start),
        "ends_at_utc": to_utc(end),
        "full_day_minutes": s.full_day_min,
    })
}

/// Attendance Today: the employee's current attendance day and its punches.
pub fn today_json(svc: &Services, emp: &Employee) -> Result<Value> {
    let day = current_day(svc, emp)?;
    let punches = employee_day(&svc.store, &emp.code, day)?;
    let state = svc
        .store
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    let open = state.open_in.as_ref().is_some_and(|o| {
        o.attendance_day == day && svc.now_unix() - o.at_unix <= rules(svc).max_open_secs
    });
    let first_in = punches.iter().find(|p| p.direction == Direction::In);
    let last_out = punches.iter().rev().find(|p| p.direction == Direction::Out);
    Ok(json!({
        "date": day_text(day),
        "site_date": day_text(local(svc.now_unix(), offset_min(svc)).date()),
        "employee_code": emp.code,
        "employee_name": emp.name,
        "status": if open { "clocked_in" } else if punches.is_empty() { "not_clocked_in" } else { "clocked_out" },
        "clock_in": first_in.map(|p| punch_json(p)),
        "clock_out": last_out.map(|p| punch_json(p)),
        "worked_minutes": worked_minutes(&punches),
        "punches": punches.iter().map(punch_json).collect::<Vec<_>>(),
    }))
}

/// Shift Today: the employee's shift instance for the current attendance day.
pub fn shift_today_json(svc: &Services, emp: &Employee) -> Result<Value> {
    let day = current_day(svc, emp)?;
    let shift = geofence::shift(&svc.store, &emp.shift)?;
    let holiday = hr::is_holiday(&svc.store, &emp.firm, day)?;
    Ok(json!({
        "date": day_text(day),
        "employee_code": emp.code,
        "holiday": holiday,
        "on_leave": emp.leave_on(day).map(|l| l.leave_type.code()),
        "shift": shift.map(|s| shift_json(&s, day, offset_min(svc))),
    }))
}

/// The console's morning view: who is in, per gang (or department when no gang is set).
pub fn admin_today(svc: &Services) -> Result<Value> {
    let day = hr::today(svc);
    let punches = punches_of_day(&svc.store, day)?;
    let mut present = std::collections::BTreeSet::new();
    let (mut ins, mut outs, mut flagged) = (0, 0, 0);
    for p in &punches {
        match p.direction {
            Direction::In => {
                ins += 1;
                present.insert(p.employee.clone());
            }
            Direction::Out => outs += 1,
        }
        if p.suspicious() {
            flagged += 1;
        }
    }
    let mut groups: std::collections::BTreeMap<String, (u64, u64, Vec<String>)> =
        Default::default();
    for e in hr::employees(&svc.store)?
        .into_iter()
        .filter(|e| e.on_roll(day))
    {
        let name = [&e.group, &e.department]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "-".into());
        let g = groups.entry(name).or_default();
        g.0 += 1;
        if present.contains(&e.code) {
            g.1 += 1;
        } else {
            g.2.push(e.name.clone());
        }
    }
    Ok(json!({
        "date": day_text(day),
        "punches_in": ins,
        "punches_out": outs,
        "present": present.len(),
        "flagged": flagged,
        "by_gang_or_department": groups.into_iter().map(|(name, (expected, present, missing))| json!({
            "name": name, "expected": expected, "present": present, "missing": missing,
        })).collect::<Vec<_>>(),
    }))
}

/// `gatehouse export attendance`: one row per punch whose attendance day is in `from..=to`
/// (site-local days; a night shift's clock-out after midnight stays with its shift's day).
pub fn export_rows(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let headers = [
        "attendance_day",
        "employee_code",
        "employee_name",
        "firm",
        "department",
        "group",
        "direction",
        "local_time",
        "utc_time",
        "site_offset_minutes",
        "device_time",
        "clock_offset_secs",
        "shift",
        "location",
        "location_distance_m",
        "latitude",
        "longitude",
        "accuracy_m",
        "flags",
        "request_id",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    let mut names = std::collections::HashMap::new();
    let mut d = from;
    while d <= to {
        for p in punches_of_day(store, d)? {
            if !names.contains_key(&p.employee) {
                let e = hr::employee(store, &p.employee)?;
                names.insert(p.employee.clone(), e);
            }
            let e = names.get(&p.employee).and_then(|e| e.as_ref());
            let f = |g: fn(&Employee) -> &String| e.map(|e| g(e).clone()).unwrap_or_default();
            rows.push(vec![
                day_text(p.attendance_day),
                p.employee.clone(),
                f(|e| &e.name),
                f(|e| &e.firm),
                f(|e| &e.department),
                f(|e| &e.group),
                p.direction.as_str().into(),
                local(p.at_unix, p.site_offset_min)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                rfc3339(p.at_unix),
                p.site_offset_min.to_string(),
                p.device_unix.map(rfc3339).unwrap_or_default(),
                p.clock_offset_secs
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                p.shift.clone().unwrap_or_default(),
                p.fence.clone(),
                format!("{:.1}", p.fence_distance_m),
                format!("{:.6}", p.position.lat),
                format!("{:.6}", p.position.lon),
                format!("{:.1}", p.accuracy_m),
                p.flags.iter().map(Flag::code).collect::<Vec<_>>().join(";"),
                p.request_id.clone(),
            ]);
        }
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    Ok((headers, rows))
}

/// Get Coordinate History: the positions of an employee's punches made on site-local days
/// `from..=to`, oldest first.
pub fn coordinate_history(
    svc: &Services,
    emp: &Employee,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Value>> {
    let offset = offset_min(svc) as i64 * 60;
    let start = from
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
        - offset;
    let end = to
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
        + 86_400
        - offset;
    Ok(employee_between(&svc.store, &emp.code, start, end)?
        .iter()
        .map(|p| {
            json!({
                "time": rfc3339(p.at_unix),
                "local_time": local(p.at_unix, p.site_offset_min).format("%Y-%m-%d %H:%M:%S").to_string(),
                "latitude": p.position.lat,
                "longitude": p.position.lon,
                "accuracy_m": p.accuracy_m,
                "direction": p.direction.as_str(),
                "location": p.fence,
                "suspicious": p.suspicious(),
                "flags": p.flags.iter().map(flag_json).collect::<Vec<_>>(),
            })
        })
        .collect())
}

pub use super::attendance_demo::demo;

/// The `attendance` export kind.
pub fn export_table(
    svc: &Services,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<super::transfer::Table> {
    let (headers, rows) = export_rows(&svc.store, from, to)?;
    Ok(super::transfer::Table { headers, rows })
}
