//! What the punches look like from outside: the JSON of Attendance Today, Shift Today and
//! coordinate history, the console's morning view, and the `attendance` export.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::attendance::{Direction, Flag, Punch, PunchState};
use crate::domain::hr::Employee;
use crate::domain::shift::Shift;
use crate::domain::time::{ymd, ymd_hms};
use crate::store::Store;

use super::answers::Cancel;
use super::attendance::{
    current_day, current_day_of, day_key as day_text, employee_between, employee_day, local,
    max_open_secs, punches_of_day, site_offset as offset_min, worked_minutes,
};
use super::walks::CHECK_EVERY;
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

/// The day's punch counts of the console's morning view (the dashboard shows these alone):
/// read from the day's punches only, never the roll.
#[derive(Debug, Serialize)]
pub struct DayCounts {
    pub date: String,
    pub flagged: u64,
    pub present: usize,
    pub punches_in: u64,
    pub punches_out: u64,
    /// Employee codes with a clock-in today (not rendered).
    #[serde(skip)]
    present_codes: std::collections::BTreeSet<String>,
}

/// The dashboard's counts of today: from the day's counters (schema 8), never its punches,
/// so a console polling every two seconds costs the same at 50 or 50,000 punches a day.
pub fn day_counts(svc: &Services) -> Result<DayCounts> {
    let day = hr::today(svc);
    let f = super::attendance::day_figures(&svc.store, day)?;
    Ok(DayCounts {
        date: day_text(day),
        flagged: f.flagged,
        present: f.present as usize,
        punches_in: f.punches_in,
        punches_out: f.punches_out,
        present_codes: Default::default(),
    })
}

fn counts_of_day(svc: &Services, day: NaiveDate) -> Result<DayCounts> {
    let mut c = DayCounts {
        date: day_text(day),
        flagged: 0,
        present: 0,
        punches_in: 0,
        punches_out: 0,
        present_codes: Default::default(),
    };
    for p in punches_of_day(&svc.store, day)? {
        match p.direction {
            Direction::In => {
                c.punches_in += 1;
                c.present_codes.insert(p.employee.clone());
            }
            Direction::Out => c.punches_out += 1,
        }
        if p.suspicious() {
            c.flagged += 1;
        }
    }
    c.present = c.present_codes.len();
    Ok(c)
}

/// The console's morning view: the day's counts and, per gang (or department when no gang is
/// set), who is expected, present and missing. It is an answer about the whole roll, so it is
/// rendered once per data version and day, off the async workers, and shared by every screen
/// that polls it (service::answers); the bytes are the admin envelope.
pub async fn admin_today(svc: &Arc<Services>) -> Result<Bytes> {
    use crate::store::tables::attendance::PUNCHES_BY_DAY;
    use crate::store::Record;
    let version = svc
        .store
        .version_of(&[Employee::TREE, Punch::TREE, PUNCHES_BY_DAY]);
    let day = hr::today(svc);
    // A gang line holds its missing names: about 64 bytes an employee on the roll.
    let estimate_kib = 256;
    let s = svc.clone();
    svc.answers
        .get(
            "admin.today",
            ymd(day),
            version,
            estimate_kib,
            move |cancel| morning_view(&s, day, cancel),
        )
        .await
}

fn morning_view(svc: &Services, day: NaiveDate, cancel: &Cancel) -> Result<Vec<u8>> {
    // The day the answer is keyed by, even if the site's day turns meanwhile.
    let counts = counts_of_day(svc, day)?;
    #[derive(Default, Serialize)]
    struct Gang {
        expected: u64,
        missing: Vec<String>,
        name: String,
        present: u64,
    }
    let mut groups: std::collections::BTreeMap<String, Gang> = Default::default();
    for (i, e) in svc.store.scan_iter::<Employee>(b"")?.enumerate() {
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        let (_, e) = e?;
        if !e.on_roll(day) {
            continue;
        }
        let name = e.gang_or_department();
        let g = match groups.get_mut(name) {
            Some(g) => g,
            None => groups.entry(name.to_string()).or_insert_with(|| Gang {
                name: name.to_string(),
                ..Gang::default()
            }),
        };
        g.expected += 1;
        if counts.present_codes.contains(&e.code) {
            g.present += 1;
        } else {
            g.missing.push(e.name);
        }
    }
    #[derive(Serialize)]
    struct View<'a> {
        by_gang_or_department: Vec<Gang>,
        #[serde(flatten)]
        counts: &'a DayCounts,
    }
    #[derive(Serialize)]
    struct Envelope<'a> {
        data: View<'a>,
        ok: bool,
    }
    let data = View {
        by_gang_or_department: groups.into_values().collect(),
        counts: &counts,
    };
    serde_json::to_vec(&Envelope { data, ok: true })
        .map_err(|e| ServiceError::Internal(format!("morning view: {e}")))
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

    /// The `json!` rendering of the morning view the typed one replaced.
    fn morning_view_as_json_map(svc: &Services) -> Value {
        let day = hr::today(svc);
        let punches = punches_of_day(&svc.store, day).unwrap();
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
        for e in hr::employees(&svc.store)
            .unwrap()
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
        json!({"ok": true, "data": {
            "date": day_text(day),
            "punches_in": ins,
            "punches_out": outs,
            "present": present.len(),
            "flagged": flagged,
            "by_gang_or_department": groups.into_iter().map(|(name, (expected, present, missing))| json!({
                "name": name, "expected": expected, "present": present, "missing": missing,
            })).collect::<Vec<_>>(),
        }})
    }

    #[tokio::test]
    async fn the_morning_view_is_shared_until_a_punch_or_the_roll_changes() {
        use crate::domain::hr::Sex;
        use crate::store::tables::attendance::PUNCHES_BY_DAY;
        let dir = tempfile::tempdir().unwrap();
        let (store, svc) = Services::for_tests(dir.path());
        let today = hr::today(&svc);
        let mut tx = store.begin().await;
        for (code, name, group, dept) in [
            ("E1", "Ani \"A\"", "GANG-2", ""),
            ("E2", "Budi", "GANG-1", "FIELD"),
            ("E3", "Citra", "", "OFFICE"),
            ("E4", "Dewi", "", ""),
            ("E5", "Eko", "GANG-1", ""),
        ] {
            let mut e = Employee::new(code, name, Sex::F, today - Duration::days(30));
            e.group = group.into();
            e.department = dept.into();
            tx.put(code.as_bytes(), &e);
        }
        // Joins tomorrow: not on today's roll.
        let later = Employee::new("E6", "Fajar", Sex::M, today + Duration::days(1));
        tx.put(b"E6", &later);
        tx.commit().await.unwrap();
        let add_punch = |tx: &mut crate::store::Tx, id: u64, code: &str, dir: Direction, flags| {
            let p = Punch {
                id,
                employee: code.into(),
                direction: dir,
                attendance_day: today,
                flags,
                ..tests::punch(Vec::new(), None, "r")
            };
            let key = super::super::attendance::punch_key(code, 1_796_000_000 + id as i64, id);
            tx.put(&key, &p);
            tx.index(
                PUNCHES_BY_DAY,
                &[crate::store::prefix(&[day_text(today).as_bytes()]), key].concat(),
            );
            super::super::attendance::count_punch(tx, &p).unwrap();
        };
        let mut tx = store.begin().await;
        add_punch(&mut tx, 1, "E2", Direction::In, vec![Flag::MockLocation]);
        add_punch(&mut tx, 2, "E3", Direction::In, Vec::new());
        add_punch(&mut tx, 3, "E3", Direction::Out, Vec::new());
        tx.commit().await.unwrap();

        let first = admin_today(&svc).await.unwrap();
        let want = serde_json::to_vec(&morning_view_as_json_map(&svc)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&want)
        );
        let renders = svc
            .answers
            .stats
            .renders
            .load(std::sync::atomic::Ordering::Relaxed);
        // Polled again with nothing changed: the same bytes, not rendered again.
        let again = admin_today(&svc).await.unwrap();
        assert_eq!(again, first);
        assert_eq!(
            svc.answers
                .stats
                .renders
                .load(std::sync::atomic::Ordering::Relaxed),
            renders
        );
        // A clock-in shows on the next poll.
        let mut tx = store.begin().await;
        add_punch(&mut tx, 4, "E5", Direction::In, Vec::new());
        tx.commit().await.unwrap();
        let after = admin_today(&svc).await.unwrap();
        assert_ne!(after, first);
        let want = serde_json::to_vec(&morning_view_as_json_map(&svc)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&after),
            String::from_utf8_lossy(&want)
        );
        let gang = |v: &Value, name: &str| {
            v["data"]["by_gang_or_department"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["name"] == name)
                .cloned()
                .unwrap()
        };
        let v: Value = serde_json::from_slice(&after).unwrap();
        assert_eq!(v["data"]["present"], 3);
        assert_eq!(v["data"]["flagged"], 1);
        let gang1 = gang(&v, "GANG-1");
        assert_eq!(
            (gang1["name"].as_str(), gang1["present"].as_u64()),
            (Some("GANG-1"), Some(2))
        );
        // A change to the roll shows too.
        let mut tx = store.begin().await;
        let mut e4 = tx.get::<Employee>(b"E4").unwrap().unwrap();
        e4.group = "GANG-2".into();
        tx.put(b"E4", &e4);
        tx.commit().await.unwrap();
        let v: Value = serde_json::from_slice(&admin_today(&svc).await.unwrap()).unwrap();
        let gang2 = gang(&v, "GANG-2");
        assert_eq!(gang2["name"], "GANG-2");
        assert_eq!(gang2["missing"], json!(["Ani \"A\"", "Dewi"]));
        // The dashboard's counts are the view's, without the roll.
        let c = serde_json::to_value(day_counts(&svc).unwrap()).unwrap();
        let mut data = v["data"].clone();
        data.as_object_mut()
            .unwrap()
            .remove("by_gang_or_department");
        assert_eq!(c, data);
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
