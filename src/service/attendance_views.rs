//! What the punches look like from outside: the JSON of Attendance Today, Shift Today and
//! coordinate history, the console's morning view, and the `attendance` export.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::attendance::{Direction, Flag, Punch, PunchState};
use crate::domain::hr::Employee;
use crate::domain::shift::Shift;
use crate::domain::time::{ymd, ymd_hms};
use crate::store::Store;

use super::attendance::{
    current_day, current_day_of, day_key as day_text, employee_between, employee_day, local,
    max_open_secs, punches_of_day, site_offset as offset_min, worked_minutes,
};
use super::{geofence, hr, Result, ServiceError, Services};

pub fn punch_json(p: &Punch) -> Value {
    serde_json::to_value(PunchView::of(p)).unwrap_or(Value::Null)
}

/// A punch as the wire shows it. Fields in name order, so the bytes are those of a sorted
/// `json!` map; rendered straight to bytes on the hot reads (Attendance Today, Clock In).
#[derive(Serialize)]
pub struct PunchView<'a> {
    accuracy_m: f64,
    attendance_day: String,
    clock_offset_secs: Option<i64>,
    device_time: Option<String>,
    direction: &'static str,
    employee_code: &'a str,
    flags: Vec<FlagView>,
    latitude: f64,
    local_time: String,
    location: &'a str,
    location_distance_m: f64,
    longitude: f64,
    note: &'a str,
    punch_id: u64,
    shift: &'a Option<String>,
    site_offset_minutes: i32,
    source_terminal: Option<&'a str>,
    suspicious: bool,
    time: String,
}

impl<'a> PunchView<'a> {
    pub fn of(p: &'a Punch) -> Self {
        let local_t = local(p.at_unix, p.site_offset_min);
        PunchView {
            accuracy_m: p.accuracy_m,
            attendance_day: ymd(p.attendance_day),
            clock_offset_secs: p.clock_offset_secs,
            device_time: p.device_unix.map(rfc3339),
            direction: p.direction.as_str(),
            employee_code: &p.employee,
            flags: p.flags.iter().map(FlagView::of).collect(),
            latitude: p.position.lat,
            local_time: ymd_hms(local_t, ' '),
            location: &p.fence,
            location_distance_m: p.fence_distance_m,
            longitude: p.position.lon,
            note: &p.note,
            punch_id: p.id,
            shift: &p.shift,
            site_offset_minutes: p.site_offset_min,
            source_terminal: crate::domain::terminals::source_terminal(&p.request_id),
            suspicious: p.suspicious(),
            time: rfc3339(p.at_unix),
        }
    }
}

#[derive(Serialize)]
struct FlagView {
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed_kmh: Option<f64>,
}

impl FlagView {
    fn of(f: &Flag) -> Self {
        let (offset_secs, speed_kmh) = match f {
            Flag::ImpossibleSpeed { kmh } => (None, Some(*kmh)),
            Flag::DeviceClockSkew { secs } => (Some(*secs), None),
            _ => (None, None),
        };
        FlagView {
            code: f.code(),
            offset_secs,
            speed_kmh,
        }
    }
}

pub fn rfc3339(unix: i64) -> String {
    let t = chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .naive_utc();
    let mut s = ymd_hms(t, 'T');
    s.push('Z');
    s
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

/// Attendance Today: the employee's current attendance day and its punches, rendered as a
/// typed view (one of the hot reads of a morning).
pub fn today(svc: &Services, emp: &Employee) -> Result<Vec<u8>> {
    let state = svc
        .store
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    let day = current_day_of(svc, emp, &state)?;
    let punches = employee_day(&svc.store, &emp.code, day)?;
    let open = state.open_in.as_ref().is_some_and(|o| {
        o.attendance_day == day && svc.now_unix() - o.at_unix <= max_open_secs(svc)
    });
    let views: Vec<PunchView> = punches.iter().map(PunchView::of).collect();
    let first_in = punches.iter().position(|p| p.direction == Direction::In);
    let last_out = punches.iter().rposition(|p| p.direction == Direction::Out);
    #[derive(Serialize)]
    struct Today<'a> {
        clock_in: Option<&'a PunchView<'a>>,
        clock_out: Option<&'a PunchView<'a>>,
        date: String,
        employee_code: &'a str,
        employee_name: &'a str,
        punches: &'a [PunchView<'a>],
        site_date: String,
        status: &'static str,
        worked_minutes: i64,
    }
    let today = Today {
        clock_in: first_in.map(|i| &views[i]),
        clock_out: last_out.map(|i| &views[i]),
        date: ymd(day),
        employee_code: &emp.code,
        employee_name: &emp.name,
        punches: &views,
        site_date: ymd(local(svc.now_unix(), offset_min(svc)).date()),
        status: if open {
            "clocked_in"
        } else if punches.is_empty() {
            "not_clocked_in"
        } else {
            "clocked_out"
        },
        worked_minutes: worked_minutes(&punches),
    };
    serde_json::to_vec(&today).map_err(|e| ServiceError::Internal(e.to_string()))
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
        "source_terminal",
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
                crate::domain::terminals::source_terminal(&p.request_id)
                    .unwrap_or_default()
                    .to_string(),
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
                "flags": p.flags.iter().map(FlagView::of).collect::<Vec<_>>(),
            })
        })
        .collect())
}

/// The `attendance` export kind.
pub fn export_table(
    svc: &Services,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<super::transfer::Table> {
    let (headers, rows) = export_rows(&svc.store, from, to)?;
    Ok(super::transfer::Table { headers, rows })
}

/// The punches of one attendance day with the employee's name, for the console; with
/// `only_flagged`, just the ones that look spoofed.
pub fn punches_json(svc: &Services, day: NaiveDate, only_flagged: bool) -> Result<Value> {
    let mut names = std::collections::HashMap::new();
    let mut out = Vec::new();
    for p in punches_of_day(&svc.store, day)? {
        if only_flagged && !p.suspicious() {
            continue;
        }
        if !names.contains_key(&p.employee) {
            let n = hr::employee(&svc.store, &p.employee)?.map(|e| e.name);
            names.insert(p.employee.clone(), n.unwrap_or_default());
        }
        let mut v = punch_json(&p);
        v["employee_name"] = json!(names[&p.employee]);
        out.push(v);
    }
    Ok(json!({"date": day_text(day), "punches": out}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::geofence::LatLon;

    /// The `json!` rendering the typed view replaced: the view must give the same bytes.
    fn as_json_map(p: &Punch) -> Value {
        let flag = |f: &Flag| match f {
            Flag::ImpossibleSpeed { kmh } => json!({"code": f.code(), "speed_kmh": kmh}),
            Flag::DeviceClockSkew { secs } => json!({"code": f.code(), "offset_secs": secs}),
            _ => json!({"code": f.code()}),
        };
        let local_t = local(p.at_unix, p.site_offset_min);
        json!({
            "punch_id": p.id,
            "employee_code": p.employee,
            "direction": p.direction.as_str(),
            "time": chrono::DateTime::from_timestamp(p.at_unix, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "local_time": local_t.format("%Y-%m-%d %H:%M:%S").to_string(),
            "site_offset_minutes": p.site_offset_min,
            "device_time": p.device_unix.map(|u| chrono::DateTime::from_timestamp(u, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            "clock_offset_secs": p.clock_offset_secs,
            "attendance_day": p.attendance_day.format("%Y-%m-%d").to_string(),
            "shift": p.shift,
            "latitude": p.position.lat,
            "longitude": p.position.lon,
            "accuracy_m": p.accuracy_m,
            "location": p.fence,
            "location_distance_m": p.fence_distance_m,
            "suspicious": p.suspicious(),
            "flags": p.flags.iter().map(flag).collect::<Vec<_>>(),
            "note": p.note,
            "source_terminal": crate::domain::terminals::source_terminal(&p.request_id),
        })
    }

    fn punch(flags: Vec<Flag>, device: Option<i64>, request_id: &str) -> Punch {
        Punch {
            id: 42,
            employee: "BC\"0001".into(),
            direction: Direction::Out,
            at_unix: 1_796_000_123,
            device_unix: device,
            clock_offset_secs: device.map(|d| d - 1_796_000_123),
            site_offset_min: 420,
            attendance_day: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            shift: Some("DAY".into()),
            position: LatLon {
                lat: -2.9761,
                lon: 104.7754,
            },
            accuracy_m: 12.5,
            fence: "OFFICE".into(),
            fence_distance_m: 3.25,
            flags,
            request_id: request_id.into(),
            user: Some(7),
            note: "pulang cepat\n".into(),
        }
    }

    #[test]
    fn punch_view_gives_the_bytes_of_the_sorted_map() {
        for p in [
            punch(Vec::new(), None, "r-1"),
            punch(
                vec![
                    Flag::MockLocation,
                    Flag::ImpossibleSpeed { kmh: 180.5 },
                    Flag::DeviceClockSkew { secs: -930 },
                    Flag::OutsideShift,
                ],
                Some(1_796_001_053),
                "adms:CQZ7224460348:17:20261202073015",
            ),
            Punch {
                at_unix: 0,
                site_offset_min: -300,
                attendance_day: NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
                shift: None,
                ..punch(vec![Flag::UndefinedStatus], Some(59), "x")
            },
        ] {
            assert_eq!(
                serde_json::to_string(&PunchView::of(&p)).unwrap(),
                serde_json::to_string(&as_json_map(&p)).unwrap()
            );
        }
    }

    #[test]
    fn dates_are_rendered_as_the_format_strings_did() {
        for unix in [0, 59, 951_782_400, 1_796_000_123, 4_102_444_799] {
            let t = chrono::DateTime::from_timestamp(unix, 0).unwrap();
            assert_eq!(rfc3339(unix), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            assert_eq!(ymd(t.date_naive()), t.format("%Y-%m-%d").to_string());
        }
    }
}
