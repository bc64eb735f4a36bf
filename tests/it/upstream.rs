//! Black-box tests: replication to a real PostgreSQL (tests/it/pg.rs starts a private cluster
//! per test). Boxes are pointed at it with GATEHOUSE_UPSTREAM__URL / __BOX_ID as a technician
//! would; the tables are read with psql, as an analyst would.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;
use crate::pg::{Pg, PASSWORD};

const IMEI: &str = "352099001761481";

fn start_box(pg: &Pg, box_id: &str, state: Option<&Path>) -> Server {
    let url = pg.url();
    let env = [
        ("GATEHOUSE_UPSTREAM__URL", url.as_str()),
        ("GATEHOUSE_UPSTREAM__BOX_ID", box_id),
        ("GATEHOUSE_UPSTREAM__INTERVAL_MS", "100"),
        ("GATEHOUSE_UPSTREAM__BATCH", "25"),
    ];
    match state {
        Some(dir) => Server::start_on_with(dir, &[], &env),
        None => Server::start_with(&[], &env),
    }
}

fn visitor(gpno: &str) -> Value {
    json!({"gpno": gpno, "kind": "visitor", "name": "Asha Raman", "phone": "+919445295492",
           "host": "Estate Manager", "purpose": "Fertilizer audit", "gate": "North", "guard": "Ravi"})
}

fn save(s: &Server, key: &str, body: Value) -> Value {
    let mut b = body;
    b["key"] = json!(key);
    let r = codelayer(s, "frontoffice_poabs/gatepass_save", &b);
    assert_eq!(r["e"], 200, "{r}");
    r
}

/// Waits until the box has shipped everything it logged; returns its status.
fn caught_up(s: &Server, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let st = admin_get(s, "/admin/upstream");
        if st["pending"] == 0
            && st["last_seq"].as_u64().unwrap_or(0) > 0
            && st["last_error"].is_null()
        {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "box did not catch up with upstream: {st}\n{}",
            s.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every change of `box_id` is upstream exactly once, numbered 1..=last without a gap.
fn assert_exactly_once(pg: &Pg, box_id: &str, last: u64) {
    let row = pg.sql(&format!(
        "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM gatehouse.changes \
         WHERE box_id = '{box_id}'"
    ));
    assert_eq!(
        row,
        format!("{last}|{last}|1|{last}"),
        "changes of {box_id}"
    );
}

#[test]
fn two_boxes_ship_every_change_once_in_order_and_read_tables_follow() {
    let pg = Pg::start();
    let a = start_box(&pg, "estate-a", None);
    let b = start_box(&pg, "estate-b", None);
    let ka = codelayer_session(&a, "guard-a", "guard-pass-a", IMEI);
    let kb = codelayer_session(&b, "guard-b", "guard-pass-b", IMEI);
    for i in 0..20 {
        save(&a, &ka, visitor(&format!("A-{i}")));
        save(&b, &kb, visitor(&format!("B-{i}")));
    }
    save(
        &a,
        &ka,
        json!({"gpno": "A-0", "action": "in", "gate": "North", "guard": "Ravi"}),
    );
    save(
        &a,
        &ka,
        json!({"gpno": "A-0", "action": "out", "gate": "South", "guard": "Ravi"}),
    );
    let sa = caught_up(&a, 60);
    let sb = caught_up(&b, 60);
    assert_exactly_once(&pg, "estate-a", sa["last_seq"].as_u64().unwrap());
    assert_exactly_once(&pg, "estate-b", sb["last_seq"].as_u64().unwrap());
    assert_eq!(sa["shipped_seq"], sa["last_seq"]);

    // The pass's three steps arrived in order, and its read row is the pass as it now is.
    let steps = pg.sql(
        "SELECT string_agg(CASE WHEN body->'stage' ? 'Out' THEN 'out' WHEN body->'stage' ? 'In' \
         THEN 'in' ELSE 'issued' END, ',' ORDER BY seq) FROM gatehouse.changes \
         WHERE box_id = 'estate-a' AND kind = 'gatepass' AND key = 'A-0'",
    );
    assert_eq!(steps, "issued,in,out");
    assert_eq!(
        pg.sql(
            "SELECT kind, status, person, gate_in, gate_out, entered_at <= left_at \
             FROM gatehouse.gatepasses WHERE box_id = 'estate-a' AND gpno = 'A-0'"
        ),
        "visitor|out|Asha Raman|North|South|t"
    );
    assert_eq!(
        pg.sql("SELECT box_id, count(*) FROM gatehouse.gatepasses GROUP BY box_id ORDER BY box_id"),
        "estate-a|20\nestate-b|20"
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.gatepasses WHERE box_id = 'estate-a' AND gpno LIKE 'B-%'"),
        "0"
    );
    // User decisions are replicated, their password hashes are not.
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.changes WHERE kind = 'user' AND body->>'username' = 'guard-a'"),
        "1"
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.changes WHERE kind = 'user' AND body ? 'password'"),
        "0"
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.changes WHERE kind = 'device' AND key = '352099001761481' AND body ? 'sealed_licence_key'"),
        "0"
    );

    // The same figures on the CLI and /metrics; the outbox decodes in `check`.
    let st = a.cli_json(&["upstream", "status"]);
    assert_eq!(st["pending"], 0, "{st}");
    assert_eq!(st["shipped_seq"], sa["last_seq"], "{st}");
    assert_eq!(st["box_id"], "estate-a");
    assert!(st["last_error"].is_null(), "{st}");
    assert!(!st["url"].as_str().unwrap().contains(PASSWORD), "{st}");
    let m = get(&a.url("/metrics"), &[]).text;
    assert!(m.contains("gatehouse_upstream_pending 0"), "{m}");
    assert!(
        m.contains(&format!(
            "gatehouse_upstream_shipped_seq {}",
            sa["last_seq"]
        )),
        "{m}"
    );
    let check = a.cli_json(&["check"]);
    assert_eq!(check["errors"], json!([]), "{check}");
    let dash = admin_get(&a, "/admin/dashboard");
    assert_eq!(dash["upstream"]["pending"], 0, "{dash}");
    for s in [&a, &b] {
        assert!(!s.output().contains(PASSWORD), "password in the log");
    }
}

#[test]
fn kill_9_and_a_database_outage_under_load_lose_nothing_and_double_nothing() {
    let pg = Pg::start();
    let mut s = start_box(&pg, "estate-k", None);
    let _tmp = s.keep_state();
    let key = codelayer_session(&s, "guard-k", "guard-pass-k", IMEI);
    for i in 0..60 {
        save(&s, &key, visitor(&format!("K-{i}")));
    }
    // Killed while the shipper works through its batches of 25.
    let state = s.kill9();
    let s = start_box(&pg, "estate-k", Some(&state));
    let key = codelayer_login(&s, "guard-k", "guard-pass-k", IMEI);

    // Handheld writes go on while the database goes away and comes back.
    let url = s.url("/codelayer/frontoffice_poabs/gatepass_save");
    let writer = std::thread::spawn(move || {
        let mut slowest = Duration::ZERO;
        for i in 60..180 {
            let mut b = visitor(&format!("K-{i}"));
            b["key"] = json!(key);
            let t = Instant::now();
            let r = post_json(&url, &[], &b).json();
            slowest = slowest.max(t.elapsed());
            assert_eq!(r["e"], 200, "{r}");
            std::thread::sleep(Duration::from_millis(25));
        }
        slowest
    });
    std::thread::sleep(Duration::from_millis(700));
    pg.stop();
    let deadline = Instant::now() + Duration::from_secs(20);
    let down = loop {
        let st = admin_get(&s, "/admin/upstream");
        if !st["last_error"].is_null() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "no error while upstream is down: {st}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!down["last_error"].as_str().unwrap().contains(PASSWORD));
    std::thread::sleep(Duration::from_millis(1500));
    let during = admin_get(&s, "/admin/upstream");
    assert!(during["pending"].as_u64().unwrap() > 0, "{during}");
    pg.start_again();
    let slowest = writer.join().unwrap();
    assert!(
        slowest < Duration::from_secs(5),
        "a handheld write waited {slowest:?} while upstream was down"
    );
    let st = caught_up(&s, 90);
    assert_exactly_once(&pg, "estate-k", st["last_seq"].as_u64().unwrap());
    assert_eq!(
        pg.sql("SELECT count(*), count(DISTINCT gpno) FROM gatehouse.gatepasses WHERE box_id = 'estate-k'"),
        "180|180"
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.changes WHERE box_id = 'estate-k' AND kind = 'gatepass'"),
        "180"
    );
    assert!(!s.output().contains(PASSWORD), "password in the log");
    // Shipped entries were pruned from the box; `check` still decodes what is left.
    let check = s.cli_json(&["check"]);
    assert_eq!(check["errors"], json!([]), "{check}");
}

fn employee_codes(s: &Server) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = admin_get(s, "/admin/employees")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap().to_string(),
                e["department"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_replaced_box_is_reseeded_from_the_centre_and_numbers_on_after_the_old_one() {
    let pg = Pg::start();
    let old = start_box(&pg, "estate-r", None);
    let key = codelayer_session(&old, "guard-r", "guard-pass-r", IMEI);
    for i in 0..5 {
        save(&old, &key, visitor(&format!("OLD-{i}")));
    }
    let old_last = caught_up(&old, 60)["last_seq"].as_u64().unwrap();

    // The centre publishes master data: one employee for this estate, one for every estate,
    // one for another estate, and a labourer.
    pg.sql(
        "INSERT INTO gatehouse.master_employees (estate, code, version, fields) VALUES \
         ('estate-r', 'E900', 1, '{\"name\": \"Siti Aminah\", \"sex\": \"F\", \"doj\": \"2024-01-15\", \"department\": \"Field\"}'), \
         ('*', 'E901', 2, '{\"name\": \"Budi Santoso\", \"sex\": \"M\", \"doj\": \"2023-06-01\", \"department\": \"Office\"}'), \
         ('estate-x', 'E902', 3, '{\"name\": \"Not Here\", \"sex\": \"M\", \"doj\": \"2023-06-01\"}')",
    );
    pg.sql(
        "INSERT INTO gatehouse.master_labourers (estate, lcode, version, fields) VALUES \
         ('estate-r', 'R9001', 4, '{\"name\": \"Bayu\", \"gender\": \"M\", \"musterfirmid\": \"1\", \"laborFirmID\": \"1\", \"isHelper\": false}')",
    );
    wait_until(30, "the old box to pull master data", || {
        employee_codes(&old).iter().any(|(c, _)| c == "E900")
    });
    drop(old); // the box dies for good

    // Its replacement: a fresh box with the same box_id.
    let new = start_box(&pg, "estate-r", None);
    wait_until(30, "the new box to be re-seeded", || {
        let codes = employee_codes(&new);
        codes.iter().any(|(c, _)| c == "E900") && codes.iter().any(|(c, _)| c == "E901")
    });
    assert!(!employee_codes(&new).iter().any(|(c, _)| c == "E902"));
    // The centre wins for master data.
    pg.sql(
        "UPDATE gatehouse.master_employees SET version = 10, \
         fields = fields || '{\"department\": \"Factory\"}' WHERE code = 'E900'",
    );
    wait_until(30, "the centre's change to reach the box", || {
        employee_codes(&new).contains(&("E900".to_string(), "Factory".to_string()))
    });
    let key = codelayer_session(&new, "guard-n", "guard-pass-n", IMEI);
    for i in 0..5 {
        save(&new, &key, visitor(&format!("NEW-{i}")));
    }
    let st = caught_up(&new, 60);
    let last = st["last_seq"].as_u64().unwrap();
    assert!(
        last > old_last,
        "the new box numbers on after the old one: {st}"
    );
    // Nothing of either box was lost to a reused number.
    assert_exactly_once(&pg, "estate-r", last);
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.gatepasses WHERE box_id = 'estate-r'"),
        "10"
    );
    // What the box pulled is on the box: it comes back up as the box's own records.
    assert_eq!(
        pg.sql("SELECT department FROM gatehouse.employees WHERE box_id = 'estate-r' AND code = 'E900'"),
        "Factory"
    );
    assert_eq!(
        pg.sql("SELECT name, gender, active FROM gatehouse.labourers WHERE box_id = 'estate-r' AND lcode = 'R9001'"),
        "Bayu|M|t"
    );
}

/// The demo seed goes through the outbox like any change; a Clock In and a Post Muster land
/// in their read tables; box_id defaults to the site name.
#[test]
fn the_demo_seed_a_punch_and_a_muster_reach_their_read_tables() {
    let pg = Pg::start();
    let off = offset_for_local_time(10, 0).to_string();
    let url = pg.url();
    let s = Server::start_with(
        &["--demo"],
        &[
            ("GATEHOUSE_UPSTREAM__URL", url.as_str()),
            ("GATEHOUSE_UPSTREAM__INTERVAL_MS", "100"),
            ("GATEHOUSE_SITE__TIMEZONE_OFFSET_MINUTES", off.as_str()),
        ],
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
    // The demo's estate office fence is centred on 8.96 N, 77.3 E.
    let a = da.call(
        "POST",
        "/attendances/clock-in",
        Some(&json!({"latitude": 8.96, "longitude": 77.3, "accuracy": 5.0, "device_time": now_unix()})),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    let key = codelayer_session(&s, "kangani9", "secret-pass-9", IMEI);
    let tasks = codelayer(&s, "estate/sync/taskdetails", &json!({"key": key}));
    let sp = tasks["Task"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["firmid"] == "1" && t["JobCode"] == "SP")
        .unwrap_or_else(|| panic!("no SP task: {tasks}"))
        .clone();
    let line = |id: &str, lcode: &str, gross: f64, bag: f64, net: f64, helper: &str| {
        json!({"lineID": id, "lcode": lcode, "grossWeight": gross, "BagWeight": bag, "netWeight": net,
               "isHelper": helper, "HalfDay": "F", "withMuster": "T", "DateTime": "2026-03-02 08:15:00"})
    };
    let m = codelayer(
        &s,
        "estate/sync/muster",
        &json!({"key": key, "musters": [{"TaskID": sp["TaskID"], "firmid": "1", "DiarySlipNo": "DS-1",
            "JobEnds": "F", "materials": [], "pests": [],
            "muster": [line("L1", "R11003", 20.5, 0.5, 19.0, "F"), line("L2", "R11004", 10.0, 0.5, 9.5, "T")]}]}),
    );
    assert_eq!(m["e"], 200, "{m}");
    assert_eq!(m["musters"][0]["lines"][1]["e"], 200, "{m}");
    let st = caught_up(&s, 90);
    assert_eq!(st["box_id"], "Estate", "box_id defaults to the site name");
    assert_exactly_once(&pg, "Estate", st["last_seq"].as_u64().unwrap());
    let employees = admin_get(&s, "/admin/employees").as_array().unwrap().len();
    assert_eq!(employees, 12);
    assert_eq!(
        pg.sql("SELECT count(*) FROM gatehouse.employees WHERE box_id = 'Estate'"),
        employees.to_string()
    );
    assert_eq!(
        pg.sql("SELECT count(*) = count(DISTINCT lcode), count(*) > 0 FROM gatehouse.labourers WHERE box_id = 'Estate'"),
        "t|t"
    );
    assert_eq!(
        pg.sql("SELECT employee_code, direction, fence <> '' FROM gatehouse.punches WHERE box_id = 'Estate'"),
        "E002|in|t"
    );
    assert_eq!(
        pg.sql(
            "SELECT line_id, lcode, net_kg, is_helper, firm FROM gatehouse.muster_lines \
                WHERE box_id = 'Estate' ORDER BY line_id"
        ),
        "L1|R11003|19|f|1\nL2|R11004|9.5|t|1"
    );
    let kinds = pg.sql(
        "SELECT string_agg(DISTINCT kind, ',') FROM gatehouse.changes WHERE box_id = 'Estate'",
    );
    for k in [
        "employee",
        "labourer",
        "shift",
        "fence",
        "estate_task",
        "punch",
        "muster_line",
        "user",
        "device",
    ] {
        assert!(kinds.split(',').any(|x| x == k), "{k} not in {kinds}");
    }
}

/// `sslmode=require` goes through rustls; the private CA comes from `sslrootcert=`. Without
/// it the box refuses the server's certificate and says so; with it, changes arrive. Status
/// works without a running server too.
#[test]
fn tls_when_the_url_asks_for_it() {
    let pg = Pg::start();
    let ca = pg.enable_tls();
    // Only TLS connections from now on.
    let hba = pg.dir().join("data/pg_hba.conf");
    let text = std::fs::read_to_string(&hba)
        .unwrap()
        .replace("host ", "hostssl ");
    std::fs::write(&hba, text).unwrap();
    pg.stop();
    pg.start_again();
    let base = format!("{}?sslmode=require", pg.url());
    let env = |url: &str| {
        vec![
            ("GATEHOUSE_UPSTREAM__URL".to_string(), url.to_string()),
            (
                "GATEHOUSE_UPSTREAM__BOX_ID".to_string(),
                "estate-tls".to_string(),
            ),
            (
                "GATEHOUSE_UPSTREAM__INTERVAL_MS".to_string(),
                "100".to_string(),
            ),
        ]
    };
    let e = env(&base);
    let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut s = Server::start_with(&[], &e);
    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let st = admin_get(&s, "/admin/upstream");
        if let Some(err) = st["last_error"].as_str() {
            break err.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "an unknown CA was not refused: {st}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        refused.to_lowercase().contains("certificate") || refused.contains("UnknownIssuer"),
        "{refused}"
    );
    let keep = s.keep_state();
    let state = s.state.clone();
    assert_eq!(s.stop(), Some(0));
    let url = format!("{base}&sslrootcert={}", ca.display());
    let e = env(&url);
    let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let s = Server::start_on_with(&state, &[], &e);
    let key = codelayer_session(&s, "guard-t", "guard-pass-t", IMEI);
    save(&s, &key, visitor("TLS-1"));
    let st = caught_up(&s, 60);
    assert_exactly_once(&pg, "estate-tls", st["last_seq"].as_u64().unwrap());
    assert_eq!(
        pg.sql(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                WHERE a.application_name = 'gatehouse' AND s.ssl"
        ),
        "1"
    );
    assert!(!s.output().contains(PASSWORD));
    assert_eq!(s.stop(), Some(0));
    // No server: the CLI reads the store itself.
    let offline = cli_json(&state, &["upstream", "status"]);
    assert_eq!(offline["pending"], 0, "{offline}");
    assert_eq!(offline["shipped_seq"], st["last_seq"], "{offline}");
    drop(keep);
}

/// `cargo test --release --test it upstream::bench -- --ignored --nocapture`: handheld gatepass
/// saves from 8 threads on a box without upstream, then on one shipping to PostgreSQL while it
/// takes them (the database runs on the same machine here, so it competes for the CPU too).
#[test]
#[ignore]
fn bench_handheld_writes_with_and_without_the_shipper() {
    let pg = Pg::start();
    let rounds = 3;
    let per_thread = 150;
    let threads = 8;
    let mut with = Vec::new();
    let mut without = Vec::new();
    for round in 0..rounds {
        for shipping in [false, true] {
            let s = if shipping {
                start_box(&pg, &format!("bench-{round}"), None)
            } else {
                Server::start()
            };
            let key = codelayer_session(&s, "bench", "bench-pass-1", IMEI);
            let url = s.url("/codelayer/frontoffice_poabs/gatepass_save");
            let t = Instant::now();
            let hs: Vec<_> = (0..threads)
                .map(|w| {
                    let (url, key) = (url.clone(), key.clone());
                    std::thread::spawn(move || {
                        for i in 0..per_thread {
                            let mut b = visitor(&format!("W{w}-{i}"));
                            b["key"] = json!(key);
                            assert_eq!(post_json(&url, &[], &b).json()["e"], 200);
                        }
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            let rate = (threads * per_thread) as f64 / t.elapsed().as_secs_f64();
            if shipping {
                let st = caught_up(&s, 120);
                assert_exactly_once(
                    &pg,
                    &format!("bench-{round}"),
                    st["last_seq"].as_u64().unwrap(),
                );
                with.push(rate);
            } else {
                without.push(rate);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "handheld saves/s, 8 threads, {} saves per run: without upstream {:?} (mean {:.0}); \
         shipping to PostgreSQL {:?} (mean {:.0}); ratio {:.3}",
        threads * per_thread,
        without.iter().map(|r| r.round()).collect::<Vec<_>>(),
        mean(&without),
        with.iter().map(|r| r.round()).collect::<Vec<_>>(),
        mean(&with),
        mean(&with) / mean(&without)
    );
}
