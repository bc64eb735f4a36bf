//! Black-box tests: Codelayer estate (labour, tasks, faces, Post Muster) over HTTP, on the
//! demo estate (`serve --demo`: firms 1 and 2, labourers R1xxxx / R2xxxx, today's tasks).

use serde_json::{json, Value};

use crate::harness::*;

const IMEI: &str = "352099001761481";

fn demo_handheld(env: &[(&str, &str)]) -> (Server, String) {
    let s = Server::start_with(&["--demo"], env);
    let key = codelayer_session(&s, "kangani1", "secret-pass-1", IMEI);
    (s, key)
}

/// Today's task of `firm` whose JobCode is `job` (SP: harvest, 5 % moisture; WD: no weighment).
fn task(s: &Server, key: &str, firm: &str, job: &str) -> Value {
    let t = codelayer(s, "estate/sync/taskdetails", &json!({"key": key}));
    assert_eq!(t["e"], 200, "{t}");
    t["Task"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["firmid"] == firm && t["JobCode"] == job)
        .unwrap_or_else(|| panic!("no {job} task of firm {firm}: {t}"))
        .clone()
}

fn line(id: &str, lcode: &str, gross: f64, bag: f64, net: f64, helper: &str) -> Value {
    json!({"lineID": id, "lcode": lcode, "grossWeight": gross, "BagWeight": bag, "netWeight": net,
        "isHelper": helper, "HalfDay": "F", "withMuster": "T", "DateTime": "2026-03-02 08:15:00"})
}

fn reasons(m: &Value) -> Vec<(String, i64, String)> {
    m["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lineID"].as_str().unwrap_or("-").to_string(),
                l["e"].as_i64().unwrap(),
                l["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn sync_lists_firms_labour_and_todays_tasks() {
    let (s, key) = demo_handheld(&[]);
    let f = codelayer(&s, "estate/firms", &json!({"key": key}));
    assert_eq!(f["e"], 200, "{f}");
    assert_eq!(f["Firm"].as_array().unwrap().len(), 2, "{f}");
    assert_eq!(f["Firm"][0]["firmName"], "MUNJAMULLAY ESTATE");
    let l = codelayer(&s, "estate/sync/labors", &json!({"key": key}));
    let labour = l["Labor"].as_array().unwrap();
    assert_eq!(labour.len(), 200);
    let r = labour.iter().find(|x| x["lcode"] == "R11003").unwrap();
    for field in [
        "name",
        "desigid",
        "designame",
        "displaycode",
        "musterfirmid",
        "isHelper",
        "laborFirmID",
        "isSupervisor",
    ] {
        assert!(r.get(field).is_some(), "Labor entry without {field}: {r}");
    }
    assert_eq!(r["musterfirmid"], "1");
    assert_eq!(r["isSupervisor"], "F");
    let t = task(&s, &key, "1", "SP");
    assert_eq!(t["HarvestJob"], "T");
    assert_eq!(t["MoisturePerc"], 5.0);
    assert_eq!(t["firm"], "MUNJAMULLAY ESTATE");
    let today = t["Date"].as_str().unwrap().to_string();
    assert_eq!(today.len(), 10);
    // Labor Details by display code.
    let d = codelayer(
        &s,
        "estate/labor/details",
        &json!({"key": key, "code": r["displaycode"], "firmID": "1", "ltype": "R"}),
    );
    assert_eq!(d["e"], 200, "{d}");
    assert_eq!(d["lcode"], "R11003");
    assert_eq!(d["firmName"], "MUNJAMULLAY ESTATE");
    for field in ["fatherName", "gender", "address", "name"] {
        assert!(d[field].is_string(), "{d}");
    }
    // The firm is read through the hot-record cache: a rename shows at the next call.
    let dir = tempfile::tempdir().unwrap();
    let firms = dir.path().join("firms.csv");
    std::fs::write(&firms, "firmid,firmName\n1,MUNJAMULLAY NORTH\n").unwrap();
    let out = s.cli_json(&["import", "firms", firms.to_str().unwrap()]);
    assert_eq!(out["updated"], 1, "{out}");
    let renamed = codelayer(
        &s,
        "estate/labor/details",
        &json!({"key": key, "code": r["displaycode"], "firmID": "1", "ltype": "R"}),
    );
    assert_eq!(renamed["firmName"], "MUNJAMULLAY NORTH", "{renamed}");
    let d = codelayer(
        &s,
        "estate/labor/details",
        &json!({"key": key, "code": r["displaycode"], "firmID": "2"}),
    );
    assert_eq!(d["e"], 404, "{d}");
    // Without a session key: 401.
    let n = codelayer(&s, "estate/sync/labors", &json!({"key": "x".repeat(32)}));
    assert_eq!(n["e"], 401, "{n}");
}

#[test]
fn muster_batch_retried_over_a_dropped_connection_changes_nothing() {
    let (s, key) = demo_handheld(&[]);
    let sp = task(&s, &key, "1", "SP");
    let wd = task(&s, &key, "1", "WD");
    let batch = json!({"key": key, "musters": [
        {"TaskID": sp["TaskID"], "firmid": "1", "DiarySlipNo": "DS-1", "JobEnds": "F",
         "materials": [{"cocktailcode": "0", "MaterialCode": "UREA", "Qty": 2.5}],
         "pests": [{"pestID": "3", "value": 0}],
         "muster": [
            line("L1", "R11003", 20.5, 0.5, 19.0, "F"),      // (20.5-0.5)*0.95
            line("L2", "R11004", 10.0, 0.5, 9.5, "T"),       // helper: gross - bag
            line("L3", "R99999", 10.0, 0.5, 9.025, "F"),     // unknown labourer
            line("L4", "R21003", 10.0, 0.5, 9.025, "F"),     // labourer of firm 2
            line("L5", "R11003", 12.0, 0.0, 11.4, "F"),      // R11003 twice on the task-day
            line("L6", "R11005", 20.5, 0.5, 20.0, "F"),      // net weight does not add up
            line("L7", "R11006", 1.0, 2.0, 0.0, "F"),        // bag heavier than gross
            {"lineID": "L8", "lcode": "R11007", "grossWeight": 5, "BagWeight": 0, "netWeight": 4.75, "DateTime": "02/03/2026 08:15"},
            {"lcode": "R11008", "grossWeight": 5, "BagWeight": 0, "netWeight": 4.75, "DateTime": "2026-03-02 08:15:00"},
            line("L10", "R11009", 20.04, 0.0, 19.0, "F"),    // 19.038 computed: within 0.05 kg
            line("L11", "R11001", 5.0, 0.0, 4.75, "F"),      // a kangani: no weighment
         ]},
        {"TaskID": wd["TaskID"], "firmid": "1", "DiarySlipNo": "DS-2", "JobEnds": "T",
         "materials": [], "pests": [],
         "muster": [line("W1", "R11003", 0.0, 0.0, 0.0, "F")]},
        {"TaskID": "NO-SUCH-TASK", "firmid": "1", "muster": [line("X1", "R11010", 1.0, 0.0, 0.95, "F")]}
    ]});
    let first = codelayer(&s, "estate/sync/muster", &batch);
    assert_eq!(first["e"], 200, "{first}");
    let m = &first["musters"][0];
    let want: Vec<(String, i64, String)> = [
        ("L1", 200, ""),
        ("L2", 200, ""),
        ("L3", 404, "unknown_labourer"),
        ("L4", 400, "other_firm"),
        ("L5", 409, "twice_on_task_day"),
        ("L6", 400, "bad_weight"),
        ("L7", 400, "bad_weight"),
        ("L8", 400, "invalid_field"),
        ("-", 400, "invalid_field"),
        ("L10", 200, ""),
        ("L11", 400, "bad_weight"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), *b, c.to_string()))
    .collect();
    assert_eq!(reasons(m), want, "{m}");
    assert_eq!(m["lines"][0]["netWeight"], 19.0);
    assert_eq!(m["lines"][1]["netWeight"], 9.5);
    assert_eq!(
        m["lines"][9]["netWeight"], 19.038,
        "the server's net weight is stored"
    );
    assert!(
        m["lines"][3]["msg"].as_str().unwrap().contains("firm 2"),
        "{m}"
    );
    assert!(m["lines"][4]["msg"].as_str().unwrap().contains("L1"), "{m}");
    assert!(
        m["lines"][5]["msg"].as_str().unwrap().contains("19.000"),
        "{m}"
    );
    assert!(
        m["lines"][7]["msg"].as_str().unwrap().contains("DateTime"),
        "{m}"
    );
    assert!(
        m["lines"][8]["msg"].as_str().unwrap().contains("lineID"),
        "{m}"
    );
    assert_eq!(
        (m["accepted"].as_i64(), m["refused"].as_i64()),
        (Some(3), Some(8))
    );
    assert_eq!(first["musters"][1]["lines"][0]["e"], 200, "{first}");
    assert_eq!(first["musters"][2]["e"], 404, "{first}");
    assert_eq!(first["musters"][2]["lines"][0]["reason"], "unknown_task");
    assert_eq!(
        (first["accepted"].as_i64(), first["refused"].as_i64()),
        (Some(4), Some(9))
    );
    let before = admin_get(&s, "/admin/estate/summary");
    assert_eq!(before["muster_lines_today"], 4, "{before}");
    assert_eq!(before["musters_today"], 2, "{before}");
    assert_eq!(before["labourers"], 200);
    assert!(before["last_muster_unix"].as_i64().unwrap() >= now_unix() - 60);

    // The connection dropped before the handheld saw the answer: it sends the same batch again.
    let again = codelayer(&s, "estate/sync/muster", &batch);
    assert_eq!(
        again, first,
        "a retried batch gets the same answers, line by line"
    );
    let after = admin_get(&s, "/admin/estate/summary");
    assert_eq!(after["muster_lines_today"], 4, "nothing doubled: {after}");
    assert_eq!(after["musters_today"], 2);

    // The same line id with other content is a conflict, not an overwrite.
    let reused = codelayer(
        &s,
        "estate/sync/muster",
        &json!({"key": key, "musters": [
            {"TaskID": sp["TaskID"], "firmid": "1", "DiarySlipNo": "DS-1", "muster": [line("L1", "R11003", 30.0, 0.5, 28.025, "F")]}
        ]}),
    );
    assert_eq!(
        reasons(&reused["musters"][0]),
        vec![("L1".to_string(), 409, "line_id_reused".to_string())]
    );
    // A corrected line under a new id is stored.
    let fixed = codelayer(
        &s,
        "estate/sync/muster",
        &json!({"key": key, "musters": [
            {"TaskID": sp["TaskID"], "firmid": "1", "DiarySlipNo": "DS-1", "muster": [line("L6b", "R11005", 20.5, 0.5, 19.0, "F")]}
        ]}),
    );
    assert_eq!(fixed["musters"][0]["lines"][0]["e"], 200, "{fixed}");
    assert_eq!(
        admin_get(&s, "/admin/estate/summary")["muster_lines_today"],
        5
    );
}

#[test]
fn malformed_musters_refuse_the_request_and_store_nothing() {
    let (s, key) = demo_handheld(&[]);
    let sp = task(&s, &key, "1", "SP");
    for (body, field) in [
        (json!({"key": key}), "musters"),
        (
            json!({"key": key, "musters": [{"firmid": "1", "muster": [line("a", "R11003", 0.0, 0.0, 0.0, "F")]}]}),
            "musters[0].TaskID",
        ),
        (
            json!({"key": key, "musters": [{"firmid": "1", "TaskID": sp["TaskID"], "muster": []}]}),
            "musters[0].muster",
        ),
    ] {
        let a = codelayer(&s, "estate/sync/muster", &body);
        assert_eq!(a["e"], 400, "{a}");
        assert!(a["msg"].as_str().unwrap().contains(field), "{field}: {a}");
    }
    assert_eq!(
        admin_get(&s, "/admin/estate/summary")["muster_lines_today"],
        0
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn faces(s: &Server, key: &str, version: i64) -> Value {
    let f = codelayer(
        s,
        "estate/sync/faces",
        &json!({"key": key, "firmID": "1", "version": version}),
    );
    assert_eq!(f["e"], 200, "{f}");
    assert_eq!(f["face_threshold"], "3");
    f
}

fn lcodes(f: &Value) -> Vec<(String, String)> {
    f["faces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["lcode"].as_str().unwrap().to_string(),
                x["removed"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn face_file_synced_changed_and_synced_again() {
    let (s, key) = demo_handheld(&[("GATEHOUSE_HTTP__MAX_IMAGE_BYTES", "1000")]);
    // Nothing registered yet: nothing to send.
    let empty = faces(&s, &key, 0);
    assert_eq!(
        (
            empty["modified"].as_str(),
            empty["faces"].as_array().unwrap().len()
        ),
        (Some("F"), 0)
    );

    let register = |lcode: &str, img: &[u8]| {
        codelayer(
            &s,
            "estate/labor/register_face",
            &json!({"key": key, "lcode": lcode, "faceImages": [b64(img)], "faceTemplate": b64(b"tmpl")}),
        )
    };
    // Image size at its edge: 1000 bytes accepted, 1001 refused.
    let r = register("R11003", &[7u8; 1000]);
    assert_eq!(r["e"], 200, "{r}");
    let too_big = register("R11004", &[7u8; 1001]);
    assert_eq!(too_big["e"], 400, "{too_big}");
    assert!(
        too_big["msg"].as_str().unwrap().contains("faceImages[0]"),
        "{too_big}"
    );
    let unknown = register("R99999", b"face");
    assert_eq!(unknown["e"], 404, "{unknown}");

    // First sync: everything.
    let full = faces(&s, &key, 0);
    assert_eq!(full["full"], "T");
    assert_eq!(lcodes(&full), vec![("R11003".into(), "F".into())]);
    assert_eq!(full["faces"][0]["faceImages"][0], b64(&[7u8; 1000]));
    assert_eq!(full["faces"][0]["faceTemplate"], b64(b"tmpl"));
    let v1 = full["version"].as_i64().unwrap();
    // Current: not modified.
    let same = faces(&s, &key, v1);
    assert_eq!(same["modified"], "F");
    assert_eq!(same["version"], v1);
    assert!(same["faces"].as_array().unwrap().is_empty());

    // Changes: a new face, and R11003 registered again; a firm-2 face does not show.
    assert_eq!(register("R11004", b"second face")["e"], 200);
    assert_eq!(register("R21003", b"other firm")["e"], 200);
    let delta = faces(&s, &key, v1);
    assert_eq!(
        (delta["full"].as_str(), delta["modified"].as_str()),
        (Some("F"), Some("T"))
    );
    assert_eq!(
        lcodes(&delta),
        vec![("R11004".into(), "F".into())],
        "only the change"
    );
    let v2 = delta["version"].as_i64().unwrap();
    assert!(v2 > v1);
    assert_eq!(register("R11003", b"new look")["e"], 200);
    let delta = faces(&s, &key, v2);
    assert_eq!(lcodes(&delta), vec![("R11003".into(), "F".into())]);
    assert_eq!(delta["faces"][0]["faceImages"][0], b64(b"new look"));
    let v3 = delta["version"].as_i64().unwrap();
    assert_eq!(faces(&s, &key, v3)["modified"], "F");
    // A version this server never issued: the whole file again.
    let restart = faces(&s, &key, v3 + 100);
    assert_eq!(restart["full"], "T");
    assert_eq!(restart["faces"].as_array().unwrap().len(), 2);
    assert_eq!(admin_get(&s, "/admin/estate/summary")["faces"], 3);
}

#[test]
fn muster_edge_10000_lines_accepted_10001_refused_then_exported() {
    let (s, key) = demo_handheld(&[]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("labour.csv");
    let mut text =
        String::from("lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode\n");
    for n in 0..10_001 {
        text.push_str(&format!(
            "B{n:05},Pekerja {n},Ayah,F,1,{},R,MNJ-B{n:05}\n",
            if n % 5 == 0 { "T" } else { "F" }
        ));
    }
    text.push_str("B99999,,Ayah,X,1,F,R,\n"); // refused: no name, bad gender
    std::fs::write(&csv, &text).unwrap();
    let out = s.cli(&["import", "labour", csv.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["inserted"], 10_001, "{v}");
    assert_eq!(v["errors"][0]["line"], 10_003, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("gender"),
        "{v}"
    );
    // Re-importing changes nothing.
    let again: Value = serde_json::from_slice(
        &s.cli(&["import", "labour", csv.to_str().unwrap(), "--json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(again["unchanged"], 10_001, "{again}");

    let sp = task(&s, &key, "1", "SP");
    let lines = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                let helper = if i % 5 == 0 { "T" } else { "F" };
                let net = if i % 5 == 0 { 11.5 } else { 10.925 }; // (12 - 0.5) or × 0.95
                line(
                    &format!("E{i}"),
                    &format!("B{i:05}"),
                    12.0,
                    0.5,
                    net,
                    helper,
                )
            })
            .collect()
    };
    let post = |n: usize| {
        codelayer(
            &s,
            "estate/sync/muster",
            &json!({"key": key, "musters": [
                {"TaskID": sp["TaskID"], "firmid": "1", "DiarySlipNo": "BIG", "JobEnds": "T", "materials": [], "pests": [], "muster": lines(n)}
            ]}),
        )
    };
    let over = post(10_001);
    assert_eq!(over["e"], 400, "{}", over["msg"]);
    assert!(
        over["msg"].as_str().unwrap().contains("musters[0].muster"),
        "{over}"
    );
    assert_eq!(
        admin_get(&s, "/admin/estate/summary")["muster_lines_today"],
        0,
        "nothing stored"
    );
    let full = post(10_000);
    assert_eq!(full["e"], 200, "{}", full["msg"]);
    assert_eq!(
        (full["accepted"].as_i64(), full["refused"].as_i64()),
        (Some(10_000), Some(0))
    );
    assert_eq!(full["musters"][0]["lines"][9_999]["lineID"], "E9999");
    assert_eq!(full["musters"][0]["lines"][9_999]["netWeight"], 10.925);
    assert_eq!(
        admin_get(&s, "/admin/estate/summary")["muster_lines_today"],
        10_000
    );

    // Export: CSV and XLSX for today.
    let day = sp["Date"].as_str().unwrap();
    let out_csv = dir.path().join("muster.csv");
    let e = s.cli_json(&[
        "export",
        "muster",
        "--from",
        day,
        "--to",
        day,
        "--format",
        "csv",
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 10_000, "{e}");
    let exported = std::fs::read_to_string(&out_csv).unwrap();
    let mut rows = exported.lines();
    let header = rows.next().unwrap();
    assert!(
        header.starts_with("Date,firmid,TaskID,Job,DiarySlipNo,lineID,lcode,name"),
        "{header}"
    );
    let first = rows.next().unwrap();
    assert!(
        first.contains(",B00000,Pekerja 0,") && first.contains(",12.000,0.500,11.500,"),
        "{first}"
    );
    assert_eq!(exported.lines().count(), 10_001);
    let out_xlsx = dir.path().join("muster.xlsx");
    let x = s.cli_json(&[
        "export",
        "muster",
        "--from",
        day,
        "--to",
        day,
        "--format",
        "xlsx",
        "--out",
        out_xlsx.to_str().unwrap(),
    ]);
    assert_eq!(x["rows"], 10_000);
    assert!(
        std::fs::read(&out_xlsx).unwrap().starts_with(b"PK"),
        "an xlsx is a zip file"
    );
    // Another period exports nothing.
    let none = s.cli_json(&[
        "export",
        "muster",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-31",
        "--format",
        "csv",
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    assert_eq!(none["rows"], 0);
}

#[test]
fn get_tasks_serves_the_sites_local_day_from_imported_tasks() {
    // UTC+14: the site's day is ahead of UTC's for ten hours of every day, and never behind.
    let s = Server::start_with(&[], &[("GATEHOUSE_SITE__TIMEZONE_OFFSET_MINUTES", "840")]);
    let key = codelayer_session(&s, "kangani1", "secret-pass-1", IMEI);
    let local = |days: i64| {
        chrono::DateTime::from_timestamp(now_unix() + 840 * 60 + days * 86_400, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let firms = dir.path().join("firms.csv");
    std::fs::write(&firms, "firmid,firmName\n7,MUNJAMULLAY ESTATE\n").unwrap();
    assert_eq!(
        s.cli_json(&["import", "firms", firms.to_str().unwrap()])["inserted"],
        1
    );
    let tasks = dir.path().join("tasks.csv");
    let mut text = String::from("firmid,TaskID,Date,Crop,cropID,Field,FieldCode,Job,JobCode,laborCount,HarvestJob,MaterialReqd,CocktailReqd,MoisturePerc\n");
    for (id, day) in [("Y", -1), ("T", 0), ("N", 1)] {
        text.push_str(&format!(
            "7,{id},{},TEA,1,TF18,F18,SHEAR PLUCKING [SP],SP,40,T,F,F,4.5\n",
            local(day)
        ));
    }
    text.push_str("9,Z,2026-01-01,TEA,1,TF1,F1,SP,SP,1,T,F,F,0\n"); // unknown firm: refused
    std::fs::write(&tasks, text).unwrap();
    let out = s.cli(&["import", "estate-tasks", tasks.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inserted"], 3, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown firm 9"),
        "{v}"
    );
    let t = codelayer(&s, "estate/sync/taskdetails", &json!({"key": key}));
    let list = t["Task"].as_array().unwrap();
    assert_eq!(list.len(), 1, "only the site's today: {t}");
    assert_eq!(list[0]["TaskID"], "T");
    assert_eq!(list[0]["Date"], local(0));
    assert_eq!(list[0]["MoisturePerc"], 4.5);
    assert_eq!(list[0]["firm"], "MUNJAMULLAY ESTATE");
}

#[test]
fn an_acknowledged_muster_survives_kill_9_and_its_retry_still_replays() {
    let (mut s, key) = demo_handheld(&[]);
    let sp = task(&s, &key, "1", "SP");
    let batch = json!({"key": key, "musters": [{"TaskID": sp["TaskID"], "firmid": "1", "DiarySlipNo": "K9",
        "muster": [line("K1", "R11003", 20.5, 0.5, 19.0, "F"), line("K2", "R11005", 8.0, 0.0, 7.6, "F")]}]});
    let first = codelayer(&s, "estate/sync/muster", &batch);
    assert_eq!(first["accepted"], 2, "{first}");
    let keep = s.keep_state();
    let state = s.kill9();
    let s = Server::start_on(&state, &[]);
    assert_eq!(
        admin_get(&s, "/admin/estate/summary")["muster_lines_today"],
        2
    );
    let again = codelayer(&s, "estate/sync/muster", &batch);
    assert_eq!(again["musters"], first["musters"]);
    assert_eq!(
        admin_get(&s, "/admin/estate/summary")["muster_lines_today"],
        2
    );
    let check = s.cli_json(&["check"]);
    assert!(
        check.to_string().contains("estate_muster_lines"),
        "check decodes the estate trees: {check}"
    );
    drop(keep);
}

#[test]
fn handheld_variants_are_read_as_meant() {
    let (s, key) = demo_handheld(&[]);
    let sp = task(&s, &key, "1", "SP");
    // No isHelper on the line: the labourer's own flag (R11006 is a helper) picks the formula;
    // an ISO 'T' in DateTime is read too.
    let m = codelayer(
        &s,
        "estate/sync/muster",
        &json!({"key": key, "musters": [{"TaskID": sp["TaskID"], "firmid": sp["firmid"],
        "muster": [
            {"musterID": 17, "lcode": "R11006", "grossWeight": "10", "BagWeight": "0", "DateTime": "2026-03-02T08:15:00"},
            {"musterID": 18, "lcode": "R11007", "grossWeight": "10", "BagWeight": "0", "DateTime": "2026-03-02 08:16:00"}
        ]}]}),
    );
    let lines = &m["musters"][0]["lines"];
    assert_eq!(
        (lines[0]["e"].as_i64(), lines[0]["netWeight"].as_f64()),
        (Some(200), Some(10.0)),
        "{m}"
    );
    assert_eq!(
        (lines[1]["e"].as_i64(), lines[1]["netWeight"].as_f64()),
        (Some(200), Some(9.5)),
        "{m}"
    );
    assert_eq!(lines[0]["lineID"], "17");
    // Base64 wrapped every 76 characters (Android's Base64.DEFAULT) is the same image.
    let img = vec![42u8; 300];
    let wrapped: String = b64(&img)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c) + "\n")
        .collect();
    let r = codelayer(
        &s,
        "estate/labor/register_face",
        &json!({"key": key, "lcode": "R11003", "faceImage": wrapped}),
    );
    assert_eq!(r["e"], 200, "{r}");
    let f = codelayer(
        &s,
        "estate/sync/faces",
        &json!({"key": key, "firmid": "1", "version": 0}),
    );
    assert_eq!(f["faces"][0]["faceImages"][0], b64(&img));
}
