//! Black-box tests: attendance (Daily Activity Remove/Attendances, coordinate history, the
//! console's morning view, export) and the Codelayer HR Details.
//!
//! The server's clock cannot be moved, so the tests move the *site* instead: the site's UTC
//! offset is chosen so that "now" is a given local time (10:00 for a day shift, 05:40 for the
//! end of a night shift). The 22:00 clock-in → 05:50 clock-out sequence itself is covered by the
//! unit tests in src/domain/shift.rs; here a punch at 05:40 is shown to belong to the shift that
//! started the evening before, end to end.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::harness::*;

/// Metres per degree of latitude (haversine radius 6,371,008.8 m).
const M_PER_DEG: f64 = 111_195.08;
/// The demo's estate office fence: centre and radius.
const OFFICE: (f64, f64, f64) = (8.9600, 77.3000, 300.0);

fn server_at(hh: i64, mm: i64, extra: &[(&str, &str)]) -> (Server, i64) {
    let off = offset_for_local_time(hh, mm);
    let off_s = off.to_string();
    let mut env = vec![("GATEHOUSE_SITE__TIMEZONE_OFFSET_MINUTES", off_s.as_str())];
    env.extend_from_slice(extra);
    (Server::start_with(&["--demo"], &env), off)
}

fn local_today(off: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(now_unix() + off * 60, 0)
        .unwrap()
        .date_naive()
}

pub(crate) fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A Daily Activity user linked to an employee of the HR roll.
fn linked_user(s: &Server, username: &str, role: &str, employee: &str) -> DaSession {
    let da = DaSession::open(s, username, "secret-pass-1", role);
    let (st, v) = admin_call(
        s,
        "POST",
        "/admin/attendance/link-user",
        Some(&json!({"username": username, "employee_code": employee})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["employee_code"], employee);
    da
}

fn north_of_office(m: f64) -> (f64, f64) {
    (OFFICE.0 + m / M_PER_DEG, OFFICE.1)
}

fn punch_body(pos: (f64, f64), accuracy: f64) -> Value {
    json!({"latitude": pos.0, "longitude": pos.1, "accuracy": accuracy, "device_time": now_unix()})
}

#[test]
fn day_in_the_life_fences_double_taps_replays_and_flags() {
    let (s, off) = server_at(10, 0, &[("GATEHOUSE_ATTENDANCE__DEDUPE_WINDOW_SECS", "2")]);
    let today = ymd(local_today(off));
    let da = linked_user(&s, "lakshmi", "labourer", "E002");

    // Allowed locations: the office for everyone, field TF18 for her department.
    let l = da.call("GET", "/attendances/locations", None);
    assert_eq!(l.status, 200, "{}", l.text);
    let lj = l.json();
    let mut sorted: Vec<&str> = lj["data"]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    sorted.sort();
    assert_eq!(sorted, ["OFFICE", "TF18"]);
    assert_eq!(l.json()["data"]["max_accuracy_m"], 100.0);

    let t = da.call("GET", "/attendances/today", None).json();
    assert_eq!(t["data"]["status"], "not_clocked_in", "{t}");
    assert_eq!(t["data"]["date"], today.as_str());

    // Clock-out before any clock-in: a clear 409.
    let a = da.call(
        "POST",
        "/attendances/clock-out",
        Some(&punch_body(north_of_office(0.0), 10.0)),
    );
    assert_eq!(a.status, 409, "{}", a.text);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("not clocked in"),
        "{}",
        a.text
    );

    // 200 m outside the office circle: refused with the distance, in both languages.
    let outside = punch_body(north_of_office(500.0), 10.0);
    let a = da.call("POST", "/attendances/clock-in", Some(&outside));
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(
        a.json()["message"],
        "You are outside every allowed location: 200 m from the nearest one (Estate office)"
    );
    let a = da.call_as(
        "POST",
        "/attendances/clock-in",
        Some(&outside),
        &request_id(),
        "id",
    );
    assert_eq!(
        a.json()["message"],
        "Anda berada di luar semua lokasi yang diizinkan: 200 m dari lokasi terdekat (Estate office)"
    );

    // 99 m outside: refused with accuracy 98 m, accepted with 100 m (the maximum), and an
    // accuracy just above the maximum is refused whatever the position.
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&punch_body(north_of_office(399.0), 98.0)),
    );
    assert_eq!(a.status, 403, "{}", a.text);
    assert!(
        a.json()["message"].as_str().unwrap().contains(" 99 m "),
        "{}",
        a.text
    );
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&punch_body(north_of_office(0.0), 100.5)),
    );
    assert_eq!(a.status, 422, "{}", a.text);
    assert!(
        a.json()["message"].as_str().unwrap().contains("100 m"),
        "{}",
        a.text
    );

    let rid = request_id();
    let body = punch_body(north_of_office(399.0), 100.0);
    let first = da.call_as("POST", "/attendances/clock-in", Some(&body), &rid, "en");
    assert_eq!(first.status, 201, "{}", first.text);
    let p = first.json()["data"]["punch"].clone();
    assert_eq!(first.json()["data"]["duplicate"], false);
    assert_eq!(p["direction"], "in");
    assert_eq!(p["location"], "OFFICE");
    assert!(
        (p["location_distance_m"].as_f64().unwrap() - 99.0).abs() < 0.6,
        "{p}"
    );
    assert_eq!(p["attendance_day"], today.as_str());
    assert_eq!(p["shift"], "DAY");
    assert_eq!(p["suspicious"], false);
    assert_eq!(p["flags"], json!([]));
    assert_eq!(p["site_offset_minutes"], off);
    assert!(p["clock_offset_secs"].as_i64().unwrap().abs() <= 5, "{p}");
    assert!(p["local_time"].as_str().unwrap().starts_with(&today));

    // A double tap (new request id, same direction, inside the window) is the first punch.
    let dup = da.call("POST", "/attendances/clock-in", Some(&body));
    assert_eq!(dup.status, 200, "{}", dup.text);
    assert_eq!(dup.json()["data"]["duplicate"], true);
    assert_eq!(dup.json()["data"]["punch"]["punch_id"], p["punch_id"]);
    assert!(dup.json()["message"]
        .as_str()
        .unwrap()
        .contains("Already recorded"));

    // A retry with the same x-request-id replays the first answer byte for byte; with a
    // different body it is a conflict.
    let again = da.call_as("POST", "/attendances/clock-in", Some(&body), &rid, "en");
    assert_eq!(again.status, 201);
    assert_eq!(again.header("x-idempotent-replay"), Some("true"));
    assert_eq!(again.text, first.text);
    let other = da.call_as(
        "POST",
        "/attendances/clock-in",
        Some(&punch_body(north_of_office(0.0), 5.0)),
        &rid,
        "en",
    );
    assert_eq!(other.status, 409, "{}", other.text);

    // Past the (2 s) window (3.2 s: punch times are whole seconds), a second clock-in is refused, not recorded.
    std::thread::sleep(std::time::Duration::from_millis(3200));
    let a = da.call("POST", "/attendances/clock-in", Some(&body));
    assert_eq!(a.status, 409, "{}", a.text);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("already clocked in"),
        "{}",
        a.text
    );

    // Clock-out in field TF18, ~1 km away seconds later, from a mock-location provider, with
    // a device clock an hour slow: stored and shown as suspicious, not refused.
    let a = da.call(
        "POST",
        "/attendances/clock-out",
        Some(
            &json!({"latitude": 8.9675, "longitude": 77.3075, "accuracy": 8,
                     "mock_location": true, "device_time": now_unix() - 3600, "note": "field"}),
        ),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    let out = a.json()["data"]["punch"].clone();
    assert_eq!(out["direction"], "out");
    assert_eq!(out["location"], "TF18");
    assert_eq!(out["location_distance_m"], 0.0);
    assert_eq!(out["suspicious"], true);
    let flags: Vec<&str> = out["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        flags,
        ["mock_location", "impossible_speed", "device_clock_skew"],
        "{out}"
    );
    assert!(out["flags"][1]["speed_kmh"].as_f64().unwrap() > 120.0);
    let skew = out["clock_offset_secs"].as_i64().unwrap();
    assert!((-3605..=-3595).contains(&skew), "{skew}");

    let t = da.call("GET", "/attendances/today", None).json()["data"].clone();
    assert_eq!(t["status"], "clocked_out", "{t}");
    assert_eq!(t["punches"].as_array().unwrap().len(), 2);
    assert_eq!(t["clock_in"]["punch_id"], p["punch_id"]);
    assert_eq!(t["clock_out"]["location"], "TF18");

    let st = da.call("GET", "/attendances/shift-today", None).json()["data"].clone();
    assert_eq!(st["date"], today.as_str());
    assert_eq!(st["shift"]["code"], "DAY");
    assert_eq!(st["shift"]["start"], "07:00");
    assert_eq!(st["shift"]["end"], "15:00");
    assert_eq!(st["shift"]["crosses_midnight"], false);
    assert_eq!(st["shift"]["starts_at"], format!("{today} 07:00"));

    // Coordinate history: her own, and a supervisor's view of hers; a labourer cannot see others.
    let c = da.call("GET", "/users/me/coordinates", None);
    assert_eq!(c.status, 200, "{}", c.text);
    let pts = c.json()["data"]["coordinates"].as_array().unwrap().clone();
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[0]["direction"], "in");
    assert_eq!(pts[1]["suspicious"], true);
    let her_id = da.call("GET", "/user/profile", None).json()["data"]["user_id"].clone();
    let boss = linked_user(&s, "mandor", "supervisor", "E001");
    let c = boss.call(
        "GET",
        &format!("/users/{her_id}/coordinates?from={today}&to={today}"),
        None,
    );
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.json()["data"]["coordinates"].as_array().unwrap().len(), 2);
    assert_eq!(c.json()["data"]["employee_code"], "E002");
    let boss_id = boss.call("GET", "/user/profile", None).json()["data"]["user_id"].clone();
    let c = da.call("GET", &format!("/users/{boss_id}/coordinates"), None);
    assert_eq!(c.status, 403, "{}", c.text);
    // Period edges: 31 days inclusive accepted, 32 refused, backwards refused, bad date refused.
    let d0 = local_today(off);
    let q =
        |a: NaiveDate, b: NaiveDate| format!("/users/me/coordinates?from={}&to={}", ymd(a), ymd(b));
    assert_eq!(
        da.call("GET", &q(d0 - Duration::days(30), d0), None).status,
        200
    );
    assert_eq!(
        da.call("GET", &q(d0 - Duration::days(31), d0), None).status,
        400
    );
    assert_eq!(
        da.call("GET", &q(d0, d0 - Duration::days(1)), None).status,
        400
    );
    let bad = da.call("GET", "/users/me/coordinates?from=2026-02-30", None);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errors"][0]["field"], "from");

    // The console's morning view.
    let (st, v) = admin_call(&s, "GET", "/admin/attendance/today", None);
    assert_eq!(st, 200, "{v}");
    let d = &v["data"];
    assert_eq!(d["date"], today.as_str());
    assert_eq!(
        (d["punches_in"].as_u64(), d["punches_out"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(d["present"], 1);
    assert_eq!(d["flagged"], 1);
    let gang_a = d["by_gang_or_department"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "GANG-A")
        .unwrap()
        .clone();
    assert_eq!(
        gang_a,
        json!({"name": "GANG-A", "expected": 3, "present": 1, "missing": ["SELVI R", "KANNAN P"]})
    );

    let (st, v) = admin_call(&s, "GET", "/admin/attendance/punches?flagged=true", None);
    assert_eq!(st, 200, "{v}");
    let flagged = v["data"]["punches"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{v}");
    assert_eq!(flagged[0]["employee_name"], "LAKSHMI K");
    assert_eq!(flagged[0]["direction"], "out");
    let (_, v) = admin_call(
        &s,
        "GET",
        &format!("/admin/attendance/punches?date={today}"),
        None,
    );
    assert_eq!(v["data"]["punches"].as_array().unwrap().len(), 2, "{v}");

    // A user not on the HR roll gets a clear answer.
    let stranger = DaSession::open(&s, "visitor", "secret-pass-1", "clerk");
    let a = stranger.call("GET", "/attendances/today", None);
    assert_eq!(a.status, 404, "{}", a.text);
    assert!(a.json()["message"].as_str().unwrap().contains("not linked"));
}

#[test]
fn night_shift_punch_before_six_belongs_to_the_evening_before_and_exports_by_that_day() {
    let (s, off) = server_at(5, 40, &[]);
    let today = local_today(off);
    let yesterday = today - Duration::days(1);
    let da = linked_user(&s, "watchman", "gate_guard", "E007");

    let st = da.call("GET", "/attendances/shift-today", None).json()["data"].clone();
    assert_eq!(st["date"], ymd(yesterday), "{st}");
    assert_eq!(st["shift"]["code"], "NIGHT");
    assert_eq!(st["shift"]["crosses_midnight"], true);
    assert_eq!(
        st["shift"]["starts_at"],
        format!("{} 22:00", ymd(yesterday))
    );
    assert_eq!(st["shift"]["ends_at"], format!("{} 06:00", ymd(today)));

    let inside = punch_body(north_of_office(10.0), 5.0);
    let a = da.call("POST", "/attendances/clock-in", Some(&inside));
    assert_eq!(a.status, 201, "{}", a.text);
    let p = a.json()["data"]["punch"].clone();
    assert_eq!(p["attendance_day"], ymd(yesterday));
    assert_eq!(p["shift"], "NIGHT");
    assert_eq!(p["flags"], json!([]));
    assert!(p["local_time"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{} 05:", ymd(today))));
    let a = da.call("POST", "/attendances/clock-out", Some(&inside));
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["data"]["punch"]["attendance_day"], ymd(yesterday));

    let t = da.call("GET", "/attendances/today", None).json()["data"].clone();
    assert_eq!(t["date"], ymd(yesterday));
    assert_eq!(t["site_date"], ymd(today));
    assert_eq!(t["status"], "clocked_out");

    // The export honours the period by attendance day: both punches are yesterday's.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("att.csv");
    let e = s.cli_json(&[
        "export",
        "attendance",
        "--from",
        &ymd(yesterday),
        "--to",
        &ymd(yesterday),
        "--format",
        "csv",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 2, "{e}");
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(
        csv.starts_with("attendance_day,employee_code,employee_name"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.contains(",E007,")).count(),
        2,
        "{csv}"
    );
    assert!(
        csv.lines().skip(1).all(|l| l.starts_with(&ymd(yesterday))),
        "{csv}"
    );
    let e = s.cli_json(&[
        "export",
        "attendance",
        "--from",
        &ymd(today),
        "--to",
        &ymd(today),
        "--format",
        "csv",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 0, "{e}");
    let x = dir.path().join("att.xlsx");
    let e = s.cli_json(&[
        "export",
        "attendance",
        "--from",
        &ymd(yesterday),
        "--to",
        &ymd(today),
        "--format",
        "xlsx",
        "--out",
        x.to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 2, "{e}");
    assert_eq!(&std::fs::read(&x).unwrap()[..2], b"PK");

    // HR attendance counts the night under the evening it started: clocked in and out within a
    // minute is a half day (a clock-in proves presence), not a full one.
    let key = codelayer_session(&s, "hrclient", "hr-pass-123", "352099001761481");
    let r = codelayer(
        &s,
        "hrdetails/emp_attendance",
        &json!({"key": key, "attendancefrom": ymd(yesterday), "attendancetill": ymd(today),
                "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "E007"}),
    );
    assert_eq!(r["e"], 200, "{r}");
    let rows = r["employeeatt"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{r}");
    assert_eq!(rows[0]["adate"], ymd(yesterday));
    assert_eq!(rows[0]["atype_updated"], "HD");
    assert_eq!(rows[0]["atstatus_updated"], 0.5);
    assert_eq!(rows[0]["co_id"], "E007");
    assert!(rows[0]["intime"].as_str().unwrap().starts_with(&ymd(today)));
    assert_eq!(rows[1]["adate"], ymd(today));
    assert_eq!(rows[1]["atype_updated"], "AB");
    assert_eq!(rows[1]["atstatus_updated"], 0);
}

pub(crate) fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

pub(crate) fn import(s: &Server, kind: &str, file: &str) -> Value {
    let out = s.cli(&["import", kind, file, "--json"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn openapi_lists_attendance_and_hr_operations_with_seed_names() {
    let s = Server::start();
    let doc = get(&s.url("/openapi.json"), &[]).json();
    let mut ops = Vec::new();
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            if let (Some(sum), Some(tag)) = (op["summary"].as_str(), op["tags"][0].as_str()) {
                ops.push((tag.to_string(), sum.to_string()));
            }
        }
    }
    for sum in [
        "Attendance Today",
        "Shift Today",
        "Allowed Locations",
        "Clock In",
        "Clock Out",
    ] {
        assert!(
            ops.contains(&("Daily Activity/Remove/Attendances".into(), sum.into())),
            "{sum}"
        );
    }
    assert!(ops.contains(&(
        "Daily Activity/Remove/Users".into(),
        "Get Coordinate History".into()
    )));
    for sum in [
        "Employee Attendance",
        "Employee Leave Summary",
        "Employee List",
        "Employee Payrevision",
        "Employee Payroll",
        "Employee Relieving",
        "Employee TDS Calculated",
        "Employee TDS Deducted",
        "Employee Transfer",
        "Employees Edited",
    ] {
        assert!(
            ops.contains(&("Codelayer/HR Details".into(), sum.into())),
            "{sum}"
        );
    }
    for p in [
        "emp_attendance",
        "emp_leavesummary",
        "emp_newjoin",
        "emp_relieving",
        "emp_payrevision",
        "emp_payroll",
        "emp_tdscalculated",
        "emp_tdsdeducted",
        "emp_transfer",
        "emp_edited",
    ] {
        assert!(
            doc["paths"][format!("/codelayer/hrdetails/{p}")]["post"].is_object(),
            "{p}"
        );
    }
}

#[test]
fn punch_fields_are_checked_at_their_edges() {
    let (s, _) = server_at(10, 0, &[]);
    let da = linked_user(&s, "selvi", "labourer", "E003");
    let inside = north_of_office(0.0);
    let field = |a: &Answer| {
        a.json()["errors"][0]["field"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    // Latitude 90 is a valid coordinate (and far from every fence); 90.0001 is not one.
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&json!({"latitude": 90, "longitude": 77.3, "accuracy": 5})),
    );
    assert_eq!(a.status, 403, "{}", a.text);
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&json!({"latitude": 90.0001, "longitude": 77.3, "accuracy": 5})),
    );
    assert_eq!(
        (a.status, field(&a)),
        (400, "latitude".to_string()),
        "{}",
        a.text
    );
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&json!({"latitude": 8.96, "longitude": -180.5, "accuracy": 5})),
    );
    assert_eq!(
        (a.status, field(&a)),
        (400, "longitude".to_string()),
        "{}",
        a.text
    );
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&json!({"latitude": 8.96, "longitude": 77.3})),
    );
    assert_eq!(
        (a.status, field(&a)),
        (400, "accuracy".to_string()),
        "{}",
        a.text
    );
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(
            &json!({"latitude": 8.96, "longitude": 77.3, "accuracy": 5, "mock_location": "maybe"}),
        ),
    );
    assert_eq!(
        (a.status, field(&a)),
        (400, "mock_location".to_string()),
        "{}",
        a.text
    );
    let a = da.call("POST", "/attendances/clock-in", Some(&json!({"latitude": 8.96, "longitude": 77.3, "accuracy": 5, "device_time": "yesterday"})));
    assert_eq!(
        (a.status, field(&a)),
        (400, "device_time".to_string()),
        "{}",
        a.text
    );
    let mut body = json!({"latitude": inside.0, "longitude": inside.1, "accuracy": 5, "note": "n".repeat(201)});
    let a = da.call("POST", "/attendances/clock-in", Some(&body));
    assert_eq!(
        (a.status, field(&a)),
        (400, "note".to_string()),
        "{}",
        a.text
    );
    // Nothing refused above was recorded: the first valid punch is the first punch.
    body["note"] = json!("n".repeat(200));
    body["device_time"] = json!(chrono::Utc::now().to_rfc3339());
    let a = da.call("POST", "/attendances/clock-in", Some(&body));
    assert_eq!(a.status, 201, "{}", a.text);
    let p = a.json()["data"]["punch"].clone();
    assert_eq!(p["note"].as_str().unwrap().len(), 200);
    assert!(p["clock_offset_secs"].as_i64().unwrap().abs() <= 5, "{p}");
    let t = da.call("GET", "/attendances/today", None).json();
    assert_eq!(t["data"]["punches"].as_array().unwrap().len(), 1, "{t}");
}

/// Figures for the closing note (run with `--ignored --nocapture`): sequential durable punches
/// over HTTP, and `emp_attendance` for 1,000 employees over 31 days.
#[test]
#[ignore]
fn bench_punches_and_hr_attendance() {
    let (s, _) = server_at(10, 0, &[("GATEHOUSE_ATTENDANCE__DEDUPE_WINDOW_SECS", "0")]);
    let da = linked_user(&s, "bench", "labourer", "E002");
    let body = punch_body(north_of_office(0.0), 5.0);
    let n = 200;
    let t0 = std::time::Instant::now();
    for i in 0..n {
        let path = if i % 2 == 0 {
            "/attendances/clock-in"
        } else {
            "/attendances/clock-out"
        };
        let a = da.call("POST", path, Some(&body));
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let el = t0.elapsed();
    println!(
        "BENCH {n} sequential durable punches: {:.2} s, {:.1} ms each, {:.0}/s",
        el.as_secs_f64(),
        el.as_secs_f64() * 1e3 / n as f64,
        n as f64 / el.as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("code,name,sex,doj,department,designation,firm,group,shift\n");
    for i in 0..1000 {
        csv.push_str(&format!(
            "B{i:04},Worker {i},F,2020-01-01,FLD,LAB,1,G{},DAY\n",
            i % 20
        ));
    }
    let f = write(dir.path(), "emps.csv", &csv);
    let t0 = std::time::Instant::now();
    let v = import(&s, "employees", &f);
    println!(
        "BENCH import 1000 employees: {:.2} s ({v})",
        t0.elapsed().as_secs_f64()
    );
    let key = codelayer_session(&s, "hrbench", "hr-pass-123", "352099001761481");
    let today = chrono::Utc::now().date_naive() - Duration::days(1);
    let t0 = std::time::Instant::now();
    let r = codelayer(
        &s,
        "hrdetails/emp_attendance",
        &json!({"key": key, "attendancefrom": ymd(today - Duration::days(30)), "attendancetill": ymd(today),
                "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "0"}),
    );
    let rows = r["employeeatt"].as_array().map(|a| a.len()).unwrap_or(0);
    println!(
        "BENCH emp_attendance 31 days: {rows} lines in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(rows >= 31_000);
}

#[test]
fn demo_users_are_on_the_roll_and_can_punch_at_once() {
    let (s, off) = server_at(10, 0, &[]);
    let out = first_run_text(&s);
    let grab = |k: &str| {
        let i = out.find(k).unwrap_or_else(|| panic!("{k} in {out}")) + k.len();
        out[i..].split([' ', '\n', '"']).next().unwrap().to_string()
    };
    let (app_key, private_key) = (grab("app_key="), grab("private_key="));
    let da = DaSession::login(&s, &app_key, &private_key, "demo.labourer", "demo-pass-1");
    let t = da.call("GET", "/attendances/today", None).json();
    assert_eq!(t["data"]["employee_code"], "E002", "{t}");
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&punch_body(north_of_office(0.0), 5.0)),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    // Restarting with --demo again changes nothing and keeps the link and the punch.
    let mut s = s;
    let keep = s.keep_state();
    let state = s.state.clone();
    assert_eq!(s.stop(), Some(0));
    let s = Server::start_on(&state, &["--demo"]);
    let codes = |path: &str| -> Vec<String> {
        admin_data(&s, "GET", path, None)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_string())
            .collect()
    };
    let roll = codes("/admin/employees");
    assert_eq!(roll.len(), 12);
    // The roll pages in code order: `limit`, then `after` the last code of a page.
    let mut sorted = roll.clone();
    sorted.sort();
    assert_eq!(roll, sorted);
    assert_eq!(codes("/admin/employees?limit=5"), roll[..5]);
    assert_eq!(
        codes(&format!("/admin/employees?after={}&limit=1000", roll[4])),
        roll[5..]
    );
    for bad in ["0", "1001", "many"] {
        let (st, v) = admin_call(&s, "GET", &format!("/admin/employees?limit={bad}"), None);
        assert_eq!(st, 400, "limit={bad}: {v}");
        assert_eq!(v["fields"][0]["field"], "limit", "{v}");
    }
    let (_, v) = admin_call(&s, "GET", "/admin/locations", None);
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let (_, v) = admin_call(
        &s,
        "GET",
        &format!("/admin/attendance/punches?date={}", ymd(local_today(off))),
        None,
    );
    assert_eq!(v["data"]["punches"].as_array().unwrap().len(), 1, "{v}");
    drop(keep);
}

/// The employee behind a signed-in user (and their shift) is kept between requests; a change
/// to the roll is still seen by the very next request.
#[test]
fn a_change_to_the_roll_is_seen_by_the_next_attendance_request() {
    let (s, _off) = server_at(10, 0, &[]);
    let da = linked_user(&s, "rollcall", "supervisor", "E001");
    let name_now = || {
        let t = da.call("GET", "/attendances/today", None).json();
        assert_eq!(t["data"]["employee_code"], "E001", "{t}");
        t["data"]["employee_name"].as_str().unwrap().to_string()
    };
    let before = name_now();
    assert_eq!(name_now(), before);
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "rename.csv",
        "code,name,sex,doj,department,designation,firm,group,shift\n\
         E001,Renamed Mandor,M,2020-01-01,FLD,SUP,1,G1,DAY\n",
    );
    let v = import(&s, "employees", &f);
    assert_eq!(v["updated"], 1, "{v}");
    assert_eq!(name_now(), "Renamed Mandor");
    assert_ne!(before, "Renamed Mandor");

    // The allowed locations are shared between punches too: 2 km north of the office is
    // refused (twice, so the second reads the shared list), then a location imported there
    // lets the very next punch in, and the list of locations shows it at once.
    let far = punch_body(north_of_office(2000.0), 10.0);
    for _ in 0..2 {
        let a = da.call("POST", "/attendances/clock-in", Some(&far));
        assert_eq!(a.status, 403, "{}", a.text);
    }
    let f = write(
        dir.path(),
        "far.csv",
        &format!(
            "code,name,scope,latitude,longitude,radius_m,polygon\nFAR,Far field,all,{},{},100,\n",
            north_of_office(2000.0).0,
            north_of_office(2000.0).1
        ),
    );
    let v = import(&s, "locations", &f);
    assert_eq!(v["inserted"], 1, "{v}");
    let a = da.call("POST", "/attendances/clock-in", Some(&far));
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["data"]["punch"]["location"], "FAR", "{}", a.text);
    let l = da.call("GET", "/attendances/locations", None).json();
    assert!(
        l["data"]["locations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "FAR"),
        "{l}"
    );
}
