//! Black-box tests: the console's day views with real data on the demo estate — a late
//! clock-in and a flagged (mock-location) clock-out in attendance by gang, muster kg by gang and
//! by task from a handheld's Post Muster, the dashboard's charts and needs-action figures.

use serde_json::{json, Value};

use crate::harness::*;

const IMEI: &str = "352099001761484";

fn site_day(off: i64) -> String {
    chrono::DateTime::from_timestamp(now_unix() + off * 60, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn attendance_and_muster_of_a_day_by_gang_and_task_with_flags_and_charts() {
    // The site's clock reads 10:00: the day shift began at 07:00, so a clock-in now is late.
    let off = offset_for_local_time(10, 0);
    let off_s = off.to_string();
    let s = Server::start_with(
        &["--demo"],
        &[("GATEHOUSE_SITE__TIMEZONE_OFFSET_MINUTES", off_s.as_str())],
    );
    let out = first_run_text(&s);
    let grab = |k: &str| {
        let i = out.find(k).unwrap_or_else(|| panic!("{k} in {out}")) + k.len();
        out[i..].split([' ', '\n', '"']).next().unwrap().to_string()
    };
    let da = DaSession::login(
        &s,
        &grab("app_key="),
        &grab("private_key="),
        "demo.labourer",
        "demo-pass-1",
    );
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(
            &json!({"latitude": 8.9600, "longitude": 77.3000, "accuracy": 5,
                      "device_time": now_unix()}),
        ),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    let a = da.call(
        "POST",
        "/attendances/clock-out",
        Some(
            &json!({"latitude": 8.9600, "longitude": 77.3000, "accuracy": 5,
                      "mock_location": true, "device_time": now_unix()}),
        ),
    );
    assert_eq!(a.status, 201, "{}", a.text);

    let day = site_day(off);
    let d = admin_data(
        &s,
        "GET",
        &format!("/admin/attendance/day?date={day}"),
        None,
    );
    assert_eq!(d["date"], day);
    assert_eq!(d["present"], 1, "{d}");
    assert_eq!(d["late"], 1, "{d}");
    let gang_a = d["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "GANG-A")
        .expect("GANG-A listed");
    assert_eq!(gang_a["expected"], 3);
    let late = &gang_a["late"][0];
    assert_eq!(late["code"], "E002", "{gang_a}");
    let late_min = late["late_min"].as_i64().unwrap();
    assert!((175..=185).contains(&late_min), "about 3 h late: {late}");
    assert_eq!(gang_a["absent"].as_array().unwrap().len(), 2);
    let flagged = d["flagged"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{d}");
    assert_eq!(flagged[0]["name"], "LAKSHMI K");
    assert!(
        flagged[0]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("mock location"),
        "{flagged:?}"
    );
    // The day before: nobody punched.
    let before =
        chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap() - chrono::Duration::days(1);
    let b = admin_data(
        &s,
        "GET",
        &format!("/admin/attendance/day?date={}", before.format("%Y-%m-%d")),
        None,
    );
    assert_eq!(b["present"], 0, "{b}");
    let (st, bad) = admin_call(&s, "GET", "/admin/attendance/day?date=2026-02-30", None);
    assert_eq!(st, 400, "{bad}");

    // A handheld's muster of today's harvest task.
    let key = codelayer_session(&s, "kangani9", "secret-pass-9", IMEI);
    let t = codelayer(&s, "estate/sync/taskdetails", &json!({"key": key}));
    let sp: Value = t["Task"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["firmid"] == "1" && t["JobCode"] == "SP")
        .cloned()
        .expect("a harvest task today");
    let line = |id: &str, lcode: &str, gross: f64, bag: f64, net: f64, helper: &str| {
        json!({"lineID": id, "lcode": lcode, "grossWeight": gross, "BagWeight": bag,
               "netWeight": net, "isHelper": helper, "HalfDay": "F", "withMuster": "T",
               "DateTime": format!("{day} 08:15:00")})
    };
    let m = codelayer(
        &s,
        "estate/sync/muster",
        &json!({"key": key, "musters": [{"TaskID": sp["TaskID"], "firmid": "1",
                 "DiarySlipNo": "DS-9", "JobEnds": "F", "materials": [], "pests": [],
                 "muster": [line("L1", "R11003", 20.5, 0.5, 19.0, "F"),
                            line("L2", "R11004", 10.0, 0.5, 9.5, "T")]}]}),
    );
    assert_eq!(m["e"], 200, "{m}");
    let mu = admin_data(&s, "GET", &format!("/admin/muster/day?date={day}"), None);
    assert_eq!(mu["lines"], 2, "{mu}");
    assert_eq!(mu["kg"], 28.5, "{mu}");
    let by_task = mu["by_task"].as_array().unwrap();
    assert_eq!(by_task.len(), 1, "{mu}");
    assert_eq!(by_task[0]["kg"], 28.5);
    let gang_kg: f64 = mu["by_gang"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kg"].as_f64().unwrap())
        .sum();
    assert!((gang_kg - 28.5).abs() < 1e-9, "{mu}");

    // The dashboard's charts: the punches in this hour, today's muster kg.
    let c = admin_data(&s, "GET", "/admin/dashboard/charts", None);
    let per_hour: Vec<i64> = c["punches_per_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(per_hour.len(), 24);
    assert_eq!(per_hour.iter().sum::<i64>(), 2, "{c}");
    assert!(
        per_hour[9] + per_hour[10] == 2,
        "punched around 10:00: {per_hour:?}"
    );
    let kg = c["muster_kg_per_day"].as_array().unwrap();
    assert_eq!(kg.len(), 7);
    assert_eq!(kg[6]["date"], day);
    assert_eq!(kg[6]["kg"], 28.5);
    // The demo estate's passes: one issued an hour ago, today.
    assert!(
        c["passes_per_day"][6]["count"].as_i64().unwrap() >= 1,
        "{c}"
    );
    let n = &c["needs_action"];
    assert_eq!(n["backup_too_old"], true, "no backup yet: {n}");
    assert_eq!(n["pending_terminals"], 0, "no terminal has called: {n}");
    assert_eq!(n["overdue_material"], 1, "the demo sprayer is late: {n}");
    // A terminal that calls for the first time waits for staff: the dashboard says so.
    let hello = ureq::get(&s.url("/iclock/cdata?SN=GATE1&options=all&pushver=2.4.1"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(hello.contains("GATE1"), "{hello}");
    let c = admin_data(&s, "GET", "/admin/dashboard/charts", None);
    assert_eq!(c["needs_action"]["pending_terminals"], 1, "{c}");
}
