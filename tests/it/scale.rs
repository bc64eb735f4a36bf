//! Black-box tests: scale (issue 15). Shared heavy answers are served fresh after every write
//! and concurrently identical; lists page through their indexes.

use serde_json::{json, Value};

use crate::harness::*;

const IMEI: &str = "352099001761481";

#[test]
fn get_labor_is_shared_yet_follows_every_write() {
    let s = Server::start_with(&["--demo"], &[]);
    let key = codelayer_session(&s, "kangani1", "secret-pass-1", IMEI);
    let url = s.url("/codelayer/estate/sync/labors");
    let body = json!({ "key": key });
    // Many handhelds at once: every one gets the same, whole answer.
    let answers: Vec<String> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..12)
            .map(|_| sc.spawn(|| post_json(&url, &[], &body).text.clone()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    let first: Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(first["e"], 200, "{first}");
    assert_eq!(first["Labor"].as_array().unwrap().len(), 200);
    let r = first["Labor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["lcode"] == "R11003")
        .unwrap();
    assert!(r["isHelper"] == "T" || r["isHelper"] == "F", "{r}");

    // A write to the labour list is in the very next answer (no stale shared copy).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("labour.csv");
    std::fs::write(
        &csv,
        "lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode,active\n\
         Z00001,Baru Satu,Ayah,F,1,T,R,MNJ-Z1,T\nR11003,Gone,Ayah,F,1,F,R,MNJ-R3,F\n",
    )
    .unwrap();
    let out = s.cli_json(&["import", "labour", csv.to_str().unwrap()]);
    assert_eq!(out["inserted"], 1, "{out}");
    let after = codelayer(&s, "estate/sync/labors", &body);
    let list = after["Labor"].as_array().unwrap();
    assert_eq!(list.len(), 200, "one added, one deactivated");
    let z = list.iter().find(|x| x["lcode"] == "Z00001").unwrap();
    assert_eq!(z["name"], "Baru Satu");
    assert_eq!(z["isHelper"], "T");
    assert_eq!(z["musterfirmid"], "1");
    assert!(list.iter().all(|x| x["lcode"] != "R11003"));
}

fn data(a: &Answer, want: u16) -> Value {
    assert_eq!(a.status, want, "{}", a.text);
    a.json()["data"].clone()
}

#[test]
fn task_list_pages_through_its_index_with_counted_totals() {
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "siti-pass-1", "manager");
    let mut ids = Vec::new();
    // Saved out of date order: the list must still be newest day first, then newest task.
    for (i, day) in [
        "2026-03-02",
        "2026-03-05",
        "2026-03-01",
        "2026-03-05",
        "2026-03-03",
    ]
    .iter()
    .enumerate()
    {
        let t = data(
            &da.call(
                "POST",
                "/tasks",
                Some(&json!({"title": format!("Task {i}"), "date": day})),
            ),
            201,
        );
        ids.push(t["task_id"].as_u64().unwrap());
    }
    let want = vec![ids[3], ids[1], ids[4], ids[0], ids[2]];
    let page = |q: &str| data(&da.call("GET", &format!("/tasks{q}"), None), 200);
    let got = |v: &Value| -> Vec<u64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_id"].as_u64().unwrap())
            .collect()
    };
    let all = page("?per_page=100");
    assert_eq!(all["total"], 5, "{all}");
    assert_eq!(got(&all), want);
    let p2 = page("?per_page=2&page=2");
    assert_eq!(got(&p2), want[2..4].to_vec());
    assert_eq!(p2["total"], 5);
    assert_eq!(p2["total_pages"], 3);
    assert_eq!(got(&page("?per_page=2&page=3")), want[4..].to_vec());
    assert!(got(&page("?per_page=2&page=4")).is_empty());
    // Days bound the walk of the index; the total counts only the matches.
    let days = page("?date_from=2026-03-02&date_to=2026-03-03");
    assert_eq!(days["total"], 2, "{days}");
    assert_eq!(got(&days), vec![ids[4], ids[0]]);

    // Status changes move the status counters; a delete leaves both the list and its total.
    data(
        &da.call(
            "PUT",
            &format!("/tasks/{}", ids[1]),
            Some(&json!({"status": "in_progress"})),
        ),
        200,
    );
    let open = page("?status=open");
    assert_eq!(open["total"], 4, "{open}");
    assert!(!got(&open).contains(&ids[1]));
    assert_eq!(page("?status=in_progress")["total"], 1);
    let a = da.call("DELETE", &format!("/tasks/{}", ids[3]), None);
    assert!(a.status == 200 || a.status == 204, "{}", a.text);
    let after = page("?per_page=100");
    assert_eq!(after["total"], 4);
    assert_eq!(got(&after), vec![ids[1], ids[4], ids[0], ids[2]]);
    assert_eq!(page("?status=open")["total"], 3);
}

/// A counter from /metrics (0 when not yet reported).
fn metric(s: &Server, name: &str) -> u64 {
    let text = get(&s.url("/metrics"), &[]).text;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Today's harvest (SP) task of firm 1 in the demo estate.
fn harvest_task(s: &Server, key: &str) -> Value {
    let t = codelayer(s, "estate/sync/taskdetails", &json!({"key": key}));
    t["Task"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["firmid"] == "1" && t["JobCode"] == "SP")
        .unwrap_or_else(|| panic!("no SP task: {t}"))
        .clone()
}

fn muster_line(id: &str, lcode: &str, gross: f64) -> Value {
    // SP: 5 % moisture; a non-helper's net is (gross - 0.5) × 0.95.
    let net = ((gross - 0.5) * 0.95 * 1000.0).round() / 1000.0;
    json!({"lineID": id, "lcode": lcode, "grossWeight": gross, "BagWeight": 0.5, "netWeight": net,
        "isHelper": "F", "HalfDay": "F", "withMuster": "T", "DateTime": "2026-03-02 08:15:00"})
}

fn import_labourers(s: &Server, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("labour.csv");
    let mut text =
        String::from("lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode\n");
    for i in 0..n {
        text.push_str(&format!("C{i:04},Pekerja {i},Ayah,F,1,F,R,MNJ-C{i:04}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let out = s.cli_json(&["import", "labour", csv.to_str().unwrap()]);
    assert_eq!(out["inserted"], n, "{out}");
}

/// Post Muster stores a batch part by part (500 lines each): the answers are still per line as
/// if in one transaction — a labourer twice and a reused lineID are refused across parts, a
/// repeated line within the batch is answered as stored once — and the retried batch gets the
/// same answer and stores nothing twice.
#[test]
fn a_muster_batch_of_many_parts_answers_every_line_and_its_retry_stores_nothing_twice() {
    let s = Server::start_with(&["--demo"], &[]);
    let key = codelayer_session(&s, "kangani1", "secret-pass-1", IMEI);
    import_labourers(&s, 1_200);
    let sp = harvest_task(&s, &key);
    let mut lines: Vec<Value> = (0..1_200)
        .map(|i| muster_line(&format!("P{i}"), &format!("C{i:04}"), 10.0 + (i % 7) as f64))
        .collect();
    lines.push(muster_line("P1200", "C0003", 12.0)); // C0003 again, in the third part
    lines.push(muster_line("P5", "C0005", 30.0)); // P5 again with other weights
    lines.push(lines[7].clone()); // P7 exactly again
    let batch = json!({"key": key, "musters": [{"TaskID": sp["TaskID"], "firmid": "1",
        "DiarySlipNo": "PARTS", "JobEnds": "F", "muster": lines}]});
    let first = codelayer(&s, "estate/sync/muster", &batch);
    assert_eq!(first["e"], 200, "{}", first["msg"]);
    assert_eq!(
        (first["accepted"].as_i64(), first["refused"].as_i64()),
        (Some(1_201), Some(2))
    );
    let got = first["musters"][0]["lines"].as_array().unwrap();
    assert_eq!(got.len(), 1_203);
    for (i, l) in got.iter().take(1_200).enumerate() {
        assert_eq!(l["index"], i);
        assert_eq!(l["lineID"], format!("P{i}"));
        assert_eq!(l["e"], 200, "{l}");
        assert_eq!(l["netWeight"], lines[i]["netWeight"], "{l}");
    }
    assert_eq!(got[1_200]["reason"], "twice_on_task_day", "{}", got[1_200]);
    assert_eq!(got[1_201]["reason"], "line_id_reused", "{}", got[1_201]);
    assert_eq!(got[1_202]["e"], 200, "{}", got[1_202]);
    assert_eq!(got[1_202]["netWeight"], got[7]["netWeight"]);
    let summary = admin_get(&s, "/admin/estate/summary");
    assert_eq!(summary["muster_lines_today"], 1_200, "{summary}");
    assert_eq!(summary["musters_today"], 1, "{summary}");

    // A dropped connection: the handheld sends the whole batch again.
    let again = codelayer(&s, "estate/sync/muster", &batch);
    assert_eq!(again["musters"], first["musters"]);
    let summary = admin_get(&s, "/admin/estate/summary");
    assert_eq!(
        summary["muster_lines_today"], 1_200,
        "nothing twice: {summary}"
    );
    assert_eq!(summary["musters_today"], 1, "{summary}");
}

/// Exports are heavy answers: concurrent callers share one render, and a write is in the next
/// export at once.
#[test]
fn concurrent_exports_share_one_render_and_follow_every_write() {
    let s = Server::start_with(&["--demo"], &[]);
    let key = codelayer_session(&s, "kangani1", "secret-pass-1", IMEI);
    let sp = harvest_task(&s, &key);
    let day = sp["Date"].as_str().unwrap().to_string();
    let post = |lines: Vec<Value>| {
        let a = codelayer(
            &s,
            "estate/sync/muster",
            &json!({"key": key, "musters": [{"TaskID": sp["TaskID"], "firmid": "1",
                "DiarySlipNo": "EXP", "muster": lines}]}),
        );
        assert_eq!(a["refused"], 0, "{a}");
    };
    post(vec![
        muster_line("X1", "R11003", 20.5),
        muster_line("X2", "R11005", 8.0),
    ]);
    let path = format!("/admin/export/muster?from={day}&to={day}");
    let kind = r#"gatehouse_answers_renders_total{kind="export"}"#;
    // An export's key holds the clock's minute and the version of every tree, and background
    // sweeps write some: a change landing between the callers costs an honest second render.
    // Each try starts from a new version (one more line); one of three must be one render.
    let lcodes = ["R11007", "R11009", "R11011"];
    let mut tries = Vec::new();
    let mut answers: Vec<Value> = Vec::new();
    for (i, lcode) in lcodes.iter().enumerate() {
        if i > 0 {
            post(vec![muster_line(&format!("Y{i}"), lcode, 10.0)]);
        }
        let before = metric(&s, kind);
        answers = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..8).map(|_| sc.spawn(|| admin_get(&s, &path))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        tries.push(metric(&s, kind) - before);
        if tries.last() == Some(&1) {
            break;
        }
    }
    assert_eq!(
        tries.last(),
        Some(&1),
        "eight callers, one render: {tries:?}"
    );
    assert!(metric(&s, r#"gatehouse_answers_hits_total{kind="export"}"#) >= 7);
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    let rows = answers[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1 + tries.len(), "{}", answers[0]);
    let col = |name: &str| {
        answers[0]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .position(|h| h == name)
            .unwrap()
    };
    assert_eq!(rows[0][col("lineID")], "X1");

    // One more line: the very next export has it.
    post(vec![muster_line("X3", "R11013", 15.0)]);
    let after = admin_get(&s, &path);
    let ids: Vec<&str> = after["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[col("lineID")].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), rows.len() + 1, "{after}");
    assert!(ids.contains(&"X3"), "{after}");
}
