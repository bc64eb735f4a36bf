//! Black-box tests: gatepasses from a handheld (Codelayer FrontOffice Poabs) and from the desk
//! (admin API), the daily closing, overdue material, and every limit at its edge.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::harness::*;

const IMEI: &str = "352099001761481";

/// The site's day (default offset +07:00), as `yyyy-MM-dd`.
fn site_day(offset_days: i64) -> String {
    let t =
        chrono::Utc::now() + chrono::Duration::minutes(420) + chrono::Duration::days(offset_days);
    t.format("%Y-%m-%d").to_string()
}

fn save(s: &Server, key: &str, body: Value) -> Value {
    let mut b = body;
    b["key"] = json!(key);
    codelayer(s, "frontoffice_poabs/gatepass_save", &b)
}

fn visitor(gpno: &str) -> Value {
    json!({"gpno": gpno, "kind": "visitor", "name": "Asha Raman", "phone": "+919445295492",
           "id_type": "Aadhaar", "id_number": "XXXX-XXXX-4321", "host": "Estate Manager",
           "purpose": "Fertilizer audit", "gate": "North", "guard": "Ravi"})
}

fn find<'a>(rows: &'a Value, number: &str) -> Option<&'a Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == number)
}

#[test]
fn a_visitor_goes_in_and_out_and_the_desk_sees_each_step() {
    let s = Server::start();
    let key = codelayer_session(&s, "guard1", "guard-pass-1", IMEI);
    let photo = base64::engine::general_purpose::STANDARD.encode(b"\xff\xd8\xff\xe0 a tiny jpeg");
    let mut body = visitor("HH1-0001");
    body["photo"] = json!(photo);
    let issued = save(&s, &key, body);
    assert_eq!(issued["e"], 200, "{issued}");
    assert_eq!(issued["result_id"], "HH1-0001");
    assert_eq!(issued["data"]["status"], "issued");
    assert_eq!(issued["data"]["kind"], "visitor");
    // Out before in is refused with the reason.
    let early = save(
        &s,
        &key,
        json!({"gpno": "HH1-0001", "action": "out", "gate": "North", "guard": "Ravi"}),
    );
    assert_eq!(early["e"], 409, "{early}");
    assert!(
        early["msg"].as_str().unwrap().contains("never came in"),
        "{early}"
    );

    let inside = save(
        &s,
        &key,
        json!({"gpno": "HH1-0001", "action": "in", "gate": "North", "guard": "Ravi"}),
    );
    assert_eq!(inside["e"], 200, "{inside}");
    assert_eq!(inside["data"]["status"], "in");
    assert!(
        inside["data"]["in_unix"].as_i64().unwrap()
            >= issued["data"]["issued_unix"].as_i64().unwrap()
    );
    let sum = admin_data(&s, "GET", "/admin/gatepasses/summary", None);
    assert_eq!(sum, json!({"inside": 1, "today": 1, "overdue": 0}));
    let rows = admin_data(&s, "GET", "/admin/gatepasses?view=inside", None);
    let row = find(&rows, "HH1-0001").expect("listed inside");
    assert_eq!(row["name"], "Asha Raman");
    assert_eq!(row["status"], "in");
    assert_eq!(row["host"], "Estate Manager");

    // The desk records the exit at another gate.
    let out = admin_data(
        &s,
        "POST",
        "/admin/gatepasses/HH1-0001/out",
        Some(&json!({"gate": "South", "guard": "Siti"})),
    );
    assert_eq!(out["status"], "out");
    assert_eq!(out["entered"]["gate"], "North");
    assert_eq!(out["left"]["gate"], "South");
    assert_eq!(out["left"]["guard"], "Siti");
    assert_eq!(out["id_type"], "Aadhaar");
    let blob = out["photo"].as_str().unwrap();
    assert_eq!(blob.len(), 64);
    assert!(
        s.state.join("blobs").join(&blob[..2]).join(blob).exists(),
        "photo stored as a blob"
    );
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses?view=inside", None),
        json!([])
    );
    // Search by person, case-insensitive; by vehicle finds nothing.
    let hit = admin_data(&s, "GET", "/admin/gatepasses?view=all&q=asha", None);
    assert_eq!(hit.as_array().unwrap().len(), 1);
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses?view=all&q=TN72", None),
        json!([])
    );
    // Leaving twice from another gate is refused; the handheld sees the final state.
    let again = save(
        &s,
        &key,
        json!({"gpno": "HH1-0001", "action": "out", "gate": "North", "guard": "Ravi"}),
    );
    assert_eq!(again["e"], 409, "{again}");
    assert!(
        again["msg"].as_str().unwrap().contains("Already out since"),
        "{again}"
    );
    // Both seed operations are documented with the seed's names (DESIGN.md §3).
    let doc = get(&s.url("/openapi.json"), &[]).json();
    for (path, summary) in [
        (
            "/codelayer/frontoffice_poabs/gatepass_save",
            "Gatepass Save",
        ),
        (
            "/codelayer/frontoffice_poabs/dailyclosing_save",
            "Daily Closing",
        ),
    ] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(op["summary"], summary, "{path}");
        assert_eq!(op["tags"][0], "Codelayer/FrontOffice Poabs", "{path}");
    }
    // Without a session key: 401.
    let anon = codelayer(&s, "frontoffice_poabs/gatepass_save", &visitor("HH1-0002"));
    assert_eq!(anon["e"], 401, "{anon}");
}

#[test]
fn a_retried_save_gets_the_same_answer_and_other_content_is_a_conflict() {
    let s = Server::start();
    let key = codelayer_session(&s, "guard2", "guard-pass-2", IMEI);
    let first = save(&s, &key, visitor("HH2-0001"));
    assert_eq!(first["e"], 200, "{first}");
    let retry = save(&s, &key, visitor("HH2-0001"));
    assert_eq!(retry, first, "a retry answers exactly as the first save");
    let all = admin_data(&s, "GET", "/admin/gatepasses?view=all", None);
    assert_eq!(all.as_array().unwrap().len(), 1, "one pass, not two: {all}");

    // Same number, other content: conflict, and the pass is unchanged.
    let mut other = visitor("HH2-0001");
    other["name"] = json!("Someone Else");
    let c = save(&s, &key, other);
    assert_eq!(c["e"], 409, "{c}");
    assert!(c["msg"].as_str().unwrap().contains("HH2-0001"), "{c}");
    let d = admin_data(&s, "GET", "/admin/gatepasses/HH2-0001", None);
    assert_eq!(d["name"], "Asha Raman");

    // Status moves are not content: `in` works, and its retry (same gate, same guard) answers
    // the same; another gate is refused with the reason.
    let mv = json!({"gpno": "HH2-0001", "action": "in", "gate": "North", "guard": "Ravi", "datetime": null});
    let in1 = save(&s, &key, mv.clone());
    assert_eq!(in1["data"]["status"], "in", "{in1}");
    let in2 = save(&s, &key, mv);
    assert_eq!(in2, in1);
    let in3 = save(
        &s,
        &key,
        json!({"gpno": "HH2-0001", "action": "in", "gate": "South"}),
    );
    assert_eq!(in3["e"], 409, "{in3}");
    assert!(
        in3["msg"]
            .as_str()
            .unwrap()
            .contains("Already inside since"),
        "{in3}"
    );
    // The original content save retried after the move changes nothing and still succeeds.
    let late = save(&s, &key, visitor("HH2-0001"));
    assert_eq!(late["e"], 200, "{late}");
    assert_eq!(late["data"]["status"], "in");
    // Editing content after use is refused; a walk-in (content + in) issues and enters at once.
    let mut edit = visitor("HH2-0001");
    edit["action"] = json!("update");
    edit["purpose"] = json!("Other purpose");
    assert_eq!(save(&s, &key, edit)["e"], 409);
    let mut walk_in = visitor("HH2-0002");
    walk_in["action"] = json!("in");
    let w = save(&s, &key, walk_in.clone());
    assert_eq!(w["data"]["status"], "in", "{w}");
    assert_eq!(save(&s, &key, walk_in), w);
    // A move for a pass nobody issued.
    let ghost = save(&s, &key, json!({"gpno": "NOPE-1", "action": "in"}));
    assert_eq!(ghost["e"], 404, "{ghost}");
    // A handheld that was offline sends its own time; the desk keeps it.
    let mut offline = visitor("HH2-0003");
    let earlier =
        chrono::Utc::now() + chrono::Duration::minutes(420) - chrono::Duration::minutes(30);
    offline["datetime"] = json!(earlier.format("%Y-%m-%d %H:%M:%S").to_string());
    let o = save(&s, &key, offline);
    assert_eq!(o["e"], 200, "{o}");
    let at = o["data"]["issued_unix"].as_i64().unwrap();
    assert!(
        (now_unix() - 1800 - at).abs() <= 2,
        "issued at the handheld's time: {o}"
    );
    let mut future = visitor("HH2-0004");
    let later = chrono::Utc::now() + chrono::Duration::minutes(420) + chrono::Duration::minutes(30);
    future["datetime"] = json!(later.format("%Y-%m-%d %H:%M:%S").to_string());
    let f = save(&s, &key, future);
    assert_eq!(f["e"], 400, "{f}");
    assert!(f["msg"].as_str().unwrap().contains("datetime"), "{f}");
}

#[test]
fn material_that_must_return_is_overdue_and_the_closing_freezes_the_day() {
    let s = Server::start();
    let key = codelayer_session(&s, "guard3", "guard-pass-3", IMEI);
    // A lorry takes two sprayers and 10.5 m of hose that were due back yesterday.
    let lorry = admin_data(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(
            &json!({"kind": "material", "name": "Kumar", "vehicle": "tn 72 ab 1234", "purpose": "Sprayer repair",
            "items": [{"name": "Knapsack sprayer", "qty": 2, "unit": "pcs"}, {"name": "Hose", "qty": "10.5", "unit": "m"}],
            "returnable": true, "return_due": site_day(-1), "gate": "Main gate", "guard": "Siti"}),
        ),
    );
    let number = lorry["number"].as_str().unwrap().to_string();
    assert_eq!(number, format!("GP-{}-0001", site_day(0).replace('-', "")));
    assert_eq!(lorry["vehicle"], "TN72AB1234");
    assert_eq!(lorry["status"], "issued");
    assert_eq!(
        lorry["overdue"], false,
        "material that has not left is not owed"
    );
    // Returns before it left are refused.
    let (st, early) = admin_call(
        &s,
        "POST",
        &format!("/admin/gatepasses/{number}/return"),
        Some(&json!({"items": [{"name": "Hose", "qty": 1, "unit": "m"}]})),
    );
    assert_eq!(st, 409, "{early}");
    admin_data(
        &s,
        "POST",
        &format!("/admin/gatepasses/{number}/in"),
        Some(&json!({"gate": "Main gate", "guard": "Siti"})),
    );
    admin_data(
        &s,
        "POST",
        &format!("/admin/gatepasses/{number}/out"),
        Some(&json!({"gate": "Main gate", "guard": "Siti"})),
    );
    let overdue = admin_data(&s, "GET", "/admin/gatepasses?view=overdue", None);
    let row = find(&overdue, &number).expect("listed overdue");
    assert_eq!(row["overdue"], true);
    assert_eq!(row["returnable"], true);
    assert_eq!(row["return_due"], site_day(-1));
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses/summary", None)["overdue"],
        1
    );
    // A pass issued due two days ago, then edited to be due tomorrow before it was used,
    // leaves: it is not overdue (the edit moved it in the index by due day).
    let pump = |due: String, action: &str| {
        json!({"gpno": "HH3-0009", "action": action, "kind": "material", "name": "Raju",
            "purpose": "Pump repair", "items": [{"name": "Pump", "qty": 1, "unit": "pcs"}],
            "returnable": true, "return_due": due})
    };
    assert_eq!(save(&s, &key, pump(site_day(-2), "issue"))["e"], 200);
    let edited = save(&s, &key, pump(site_day(1), "update"));
    assert_eq!(edited["e"], 200, "{edited}");
    for step in ["in", "out"] {
        let v = save(&s, &key, json!({"gpno": "HH3-0009", "action": step}));
        assert_eq!(v["e"], 200, "{v}");
    }
    let pump_row = admin_data(&s, "GET", "/admin/gatepasses/HH3-0009", None);
    assert_eq!(
        (pump_row["status"].clone(), pump_row["return_due"].clone()),
        (json!("out"), json!(site_day(1))),
        "{pump_row}"
    );
    let overdue = admin_data(&s, "GET", "/admin/gatepasses?view=overdue", None);
    assert!(find(&overdue, "HH3-0009").is_none(), "{overdue}");
    assert_eq!(overdue.as_array().unwrap().len(), 1, "{overdue}");
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses/summary", None)["overdue"],
        1
    );
    // Search by vehicle, whatever the spacing.
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses?view=all&q=tn72ab", None)
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A second number the desk allocates the same day follows the sequence.
    let v2 = admin_data(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "vehicle", "vehicle": "TN 01 X 9",
        "driver": "Mani", "purpose": "Leaf to factory"})),
    );
    assert_eq!(
        v2["number"],
        format!("GP-{}-0002", site_day(0).replace('-', ""))
    );
    let (st, c) = admin_call(
        &s,
        "POST",
        &format!(
            "/admin/gatepasses/{}/cancel",
            v2["number"].as_str().unwrap()
        ),
        Some(&json!({})),
    );
    assert_eq!(
        (st, c["data"]["status"].clone()),
        (200, json!("cancelled")),
        "{c}"
    );

    // A visitor who never checks out, and one unused pass.
    assert_eq!(
        save(
            &s,
            &key,
            json!({"gpno": "HH3-0001", "action": "in", "kind": "visitor", "name": "Budi",
        "host": "Manager", "purpose": "Meeting"})
        )["e"],
        200
    );
    assert_eq!(save(&s, &key, visitor("HH3-0002"))["e"], 200);

    // Daily Closing lists who is still inside and what is overdue.
    let close = json!({"key": key, "closing_date": site_day(0), "status": "C", "company_id": "1"});
    let closed = codelayer(&s, "frontoffice_poabs/dailyclosing_save", &close);
    assert_eq!(closed["e"], 200, "{closed}");
    assert_eq!(closed["msg"], "Success");
    assert_eq!(closed["result_id"], "");
    assert_eq!(closed["data"], "");
    let inside: Vec<&str> = closed["inside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["gpno"].as_str().unwrap())
        .collect();
    assert_eq!(inside, vec!["HH3-0001"], "{closed}");
    assert_eq!(closed["inside"][0]["name"], "Budi");
    assert_eq!(closed["overdue"][0]["gpno"], number.as_str());
    assert_eq!(
        closed["overdue"][0]["outstanding"][1],
        json!({"name": "Hose", "qty": 10.5, "unit": "m"})
    );
    // Closing again answers as the first time.
    assert_eq!(
        codelayer(&s, "frontoffice_poabs/dailyclosing_save", &close),
        closed
    );

    // After closing, no pass of that day changes: not from the handheld, not from the desk.
    let late = save(&s, &key, json!({"gpno": "HH3-0001", "action": "out"}));
    assert_eq!(late["e"], 409, "{late}");
    assert!(late["msg"].as_str().unwrap().contains("closed"), "{late}");
    let (st, v) = admin_call(
        &s,
        "POST",
        "/admin/gatepasses/HH3-0002/in",
        Some(&json!({})),
    );
    assert_eq!(st, 409, "{v}");
    let (st, v) = admin_call(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "vehicle", "vehicle": "X1",
        "driver": "Mani", "purpose": "Late lorry"})),
    );
    assert_eq!(st, 409, "no new pass on a closed day: {v}");
    let budi = admin_data(&s, "GET", "/admin/gatepasses/HH3-0001", None);
    assert_eq!(
        (budi["status"].clone(), budi["closed_inside"].clone()),
        (json!("expired"), json!(true))
    );
    assert!(
        budi["in_unix"].is_i64() && budi["out_unix"].is_null(),
        "{budi}"
    );
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses/HH3-0002", None)["status"],
        "expired"
    );
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses?view=inside", None),
        json!([])
    );
    // The retry of a save made before the closing still gets its answer.
    assert_eq!(
        save(&s, &key, visitor("HH3-0002"))["data"]["status"],
        "expired"
    );
    let mut changed = visitor("HH3-0002");
    changed["purpose"] = json!("Other");
    assert_eq!(save(&s, &key, changed)["e"], 409);

    // Material still comes back after the closing: partly, then all of it.
    let ret = format!("/admin/gatepasses/{number}/return");
    let (st, v) = admin_call(
        &s,
        "POST",
        &ret,
        Some(&json!({"items": [{"name": "Hose", "qty": 11, "unit": "m"}]})),
    );
    assert_eq!(st, 409, "more than is out: {v}");
    let part = admin_data(
        &s,
        "POST",
        &ret,
        Some(&json!({"items": [{"name": "knapsack sprayer", "qty": 2, "unit": "pcs"}]})),
    );
    assert_eq!(part["overdue"], true);
    assert_eq!(part["outstanding"][0]["qty"], 0.0);
    let all = admin_data(
        &s,
        "POST",
        &ret,
        Some(&json!({"items": [{"name": "Hose", "qty": 10.5, "unit": "m"}]})),
    );
    assert_eq!(all["overdue"], false, "{all}");
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses?view=overdue", None),
        json!([])
    );
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses/summary", None),
        json!({"inside": 0, "today": 5, "overdue": 0})
    );
    // A closing that finds nothing to act on is exactly the POABS sample answer.
    let quiet = codelayer(
        &s,
        "frontoffice_poabs/dailyclosing_save",
        &json!({"key": key, "closing_date": "2026-01-05", "status": "C", "company_id": 1}),
    );
    assert_eq!(
        quiet,
        json!({"result_id": "", "e": 200, "msg": "Success", "data": ""})
    );
    // Status other than "C", a future day: refused, naming the field.
    let bad = codelayer(
        &s,
        "frontoffice_poabs/dailyclosing_save",
        &json!({"key": key, "closing_date": site_day(0), "status": "O", "company_id": "1"}),
    );
    assert_eq!(bad["e"], 400);
    assert!(bad["msg"].as_str().unwrap().contains("status"), "{bad}");
    let future = codelayer(
        &s,
        "frontoffice_poabs/dailyclosing_save",
        &json!({"key": key, "closing_date": site_day(2), "status": "C", "company_id": "1"}),
    );
    assert_eq!(future["e"], 400, "{future}");
    // The desk's closing of a day already closed answers with the same lists.
    let desk = admin_data(
        &s,
        "POST",
        "/admin/closing",
        Some(&json!({"date": site_day(0)})),
    );
    assert_eq!(desk["already_closed"], true);
    assert_eq!(desk["inside"][0]["number"], "HH3-0001");
    // `check` decodes every gatepass tree.
    let chk = admin_data(&s, "GET", "/admin/check", None);
    assert!(chk.to_string().contains("gatepasses"), "{chk}");
}

#[test]
fn a_labour_exit_pass_records_only_the_exit() {
    let s = Server::start();
    let p = admin_data(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "labour", "lcode": "29C399",
        "purpose": "Hospital", "gate": "East", "guard": "Siti"})),
    );
    let n = p["number"].as_str().unwrap();
    assert_eq!(p["lcode"], "29C399");
    let (st, v) = admin_call(
        &s,
        "POST",
        &format!("/admin/gatepasses/{n}/in"),
        Some(&json!({})),
    );
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("only the exit"),
        "{v}"
    );
    let out = admin_data(
        &s,
        "POST",
        &format!("/admin/gatepasses/{n}/out"),
        Some(&json!({"gate": "East"})),
    );
    assert_eq!(out["status"], "out");
    assert!(out["entered"].is_null());
    let (st, _) = admin_call(&s, "GET", "/admin/gatepasses/NO-SUCH", None);
    assert_eq!(st, 404);
    let (st, v) = admin_call(&s, "GET", "/admin/gatepasses?view=sideways", None);
    assert_eq!(st, 400, "{v}");

    // `gatehouse export gatepasses` keeps to the chosen period (by the passes' site day).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("gp.csv");
    let today = site_day(0);
    let e = s.cli_json(&[
        "export",
        "gatepasses",
        "--from",
        &today,
        "--to",
        &today,
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 1, "{e}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (col("number"), col("kind"), col("status"), col("lcode")),
        (n, "labour", "out", "29C399")
    );
    assert_eq!((col("out_gate"), col("issued_guard")), ("East", "Siti"));
    assert!(col("out_at").starts_with(&today), "site time: {text}");
    let before = s.cli_json(&[
        "export",
        "gatepasses",
        "--from",
        "2026-01-01",
        "--to",
        &site_day(-1),
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(before["rows"], 0, "{before}");
    let xlsx = dir.path().join("gp.xlsx");
    let x = s.cli_json(&[
        "export",
        "gatepasses",
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    assert_eq!(x["rows"], 1, "{x}");
    assert_eq!(
        &std::fs::read(&xlsx).unwrap()[..2],
        b"PK",
        "an xlsx is a zip"
    );
}

#[test]
fn gatepass_limits_hold_at_their_edges() {
    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_HTTP__MAX_IMAGE_BYTES", "1000"),
            ("GATEHOUSE_GATEPASS__MAX_ITEMS", "3"),
        ],
    );
    let key = codelayer_session(&s, "guard4", "guard-pass-4", IMEI);
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![0x5au8; n]);
    let refused = |v: &Value, field: &str| {
        assert_eq!(v["e"], 400, "{v}");
        assert!(v["msg"].as_str().unwrap().contains(field), "{field}: {v}");
    };
    // Photo: exactly http.max_image_bytes is accepted, one byte more is refused.
    let mut ok = visitor("L-PHOTO-1");
    ok["photo"] = json!(b64(1000));
    assert_eq!(save(&s, &key, ok)["e"], 200);
    let mut big = visitor("L-PHOTO-2");
    big["photo"] = json!(b64(1001));
    refused(&save(&s, &key, big), "photo");
    // gpno 1–30.
    assert_eq!(save(&s, &key, visitor(&"N".repeat(30)))["e"], 200);
    refused(&save(&s, &key, visitor(&"N".repeat(31))), "gpno");
    refused(&save(&s, &key, visitor("has space")), "gpno");
    // Text lengths: name 100, purpose 200, host 100, phone 20, id_number 50.
    for (field, max) in [
        ("name", 100),
        ("purpose", 200),
        ("host", 100),
        ("phone", 20),
        ("id_number", 50),
    ] {
        let mut v = visitor(&format!("L-{field}-ok"));
        v[field] = json!("x".repeat(max));
        assert_eq!(save(&s, &key, v)["e"], 200, "{field} of {max}");
        let mut v = visitor(&format!("L-{field}-long"));
        v[field] = json!("x".repeat(max + 1));
        refused(&save(&s, &key, v), field);
    }
    // Step fields: gate 50, guard 100; labour code 10; vehicle 20.
    for (field, max) in [("gate", 50), ("guard", 100)] {
        let mut v = visitor(&format!("L-{field}-ok"));
        v[field] = json!("g".repeat(max));
        assert_eq!(save(&s, &key, v)["e"], 200, "{field} of {max}");
        let mut v = visitor(&format!("L-{field}-long"));
        v[field] = json!("g".repeat(max + 1));
        refused(&save(&s, &key, v), field);
    }
    let labour = |n: &str, lcode: String| json!({"gpno": n, "kind": "labour", "lcode": lcode, "purpose": "Bank"});
    assert_eq!(save(&s, &key, labour("L-LC-10", "R".repeat(10)))["e"], 200);
    refused(&save(&s, &key, labour("L-LC-11", "R".repeat(11))), "lcode");
    let lorry = |n: &str, number: String| json!({"gpno": n, "kind": "vehicle", "vehicle": number, "driver": "Mani", "purpose": "Leaf"});
    assert_eq!(save(&s, &key, lorry("L-VN-20", "T".repeat(20)))["e"], 200);
    refused(&save(&s, &key, lorry("L-VN-21", "T".repeat(21))), "vehicle");
    // Items: 1..=gatepass.max_items (3 here).
    let item = json!({"name": "Sickle", "qty": 1, "unit": "pcs"});
    let material = |n: &str, items: Value| {
        json!({"gpno": n, "kind": "material", "name": "Kumar",
        "purpose": "Repair", "items": items})
    };
    assert_eq!(
        save(&s, &key, material("L-ITEMS-3", json!([item, item, item])))["e"],
        200
    );
    refused(
        &save(
            &s,
            &key,
            material("L-ITEMS-4", json!([item, item, item, item])),
        ),
        "items",
    );
    refused(&save(&s, &key, material("L-ITEMS-0", json!([]))), "items");
    refused(
        &save(
            &s,
            &key,
            material(
                "L-ITEMS-Q",
                json!([{"name": "Sickle", "qty": -1, "unit": "pcs"}]),
            ),
        ),
        "items[0].qty",
    );
    // valid_hours 1..=72.
    let mut v = visitor("L-VH-72");
    v["valid_hours"] = json!(72);
    let a = save(&s, &key, v);
    assert_eq!(
        a["data"]["valid_until_unix"].as_i64().unwrap()
            - a["data"]["issued_unix"].as_i64().unwrap(),
        72 * 3600
    );
    let mut v = visitor("L-VH-73");
    v["valid_hours"] = json!(73);
    refused(&save(&s, &key, v), "valid_hours");
    // Desk: the same reader, the admin envelope.
    let (st, v) = admin_call(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "vehicle", "vehicle": "V".repeat(21),
        "driver": "Mani", "purpose": "x"})),
    );
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["fields"][0]["field"], "vehicle");
}

#[test]
fn demo_passes_and_labour_exit_passes_checked_against_the_labour_roll() {
    let s = Server::start_with(&["--demo"], &[]);
    let sum = admin_data(&s, "GET", "/admin/gatepasses/summary", None);
    assert_eq!(sum["inside"], 1, "{sum}");
    assert_eq!(sum["overdue"], 1, "{sum}");
    let demo = admin_data(&s, "GET", "/admin/gatepasses/DEMO-L-1", None);
    let lcode = demo["lcode"].as_str().unwrap().to_string();
    assert!(
        !demo["name"].as_str().unwrap().is_empty(),
        "name from the roll: {demo}"
    );
    assert_ne!(demo["name"], lcode.as_str());
    // The estate's roll names the labourer; an unknown code is refused, naming the field.
    let p = admin_data(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "labour", "lcode": lcode, "purpose": "Bank"})),
    );
    assert_eq!(p["name"], demo["name"]);
    let (st, v) = admin_call(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "labour", "lcode": "ZZ999", "purpose": "Bank"})),
    );
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["fields"][0]["field"], "lcode");
    // Restarting with --demo adds nothing twice.
    let mut s = s;
    let keep = s.keep_state();
    let state = s.state.clone();
    assert_eq!(s.stop(), Some(0));
    let s2 = Server::start_on(&state, &["--demo"]);
    let all = admin_data(&s2, "GET", "/admin/gatepasses?view=all", None);
    assert_eq!(all.as_array().unwrap().len(), 5, "{all}");
    drop(keep);
}

/// `cargo test --test it gatepass::bench -- --ignored --nocapture`: handheld saves over HTTP.
#[test]
#[ignore]
fn bench_gatepass_saves() {
    let s = Server::start();
    let key = codelayer_session(&s, "bench", "bench-pass-1", IMEI);
    let n = 1000;
    let t = std::time::Instant::now();
    for i in 0..n {
        assert_eq!(save(&s, &key, visitor(&format!("B-{i}")))["e"], 200);
    }
    let first = t.elapsed();
    let t = std::time::Instant::now();
    for i in 0..n {
        assert_eq!(save(&s, &key, visitor(&format!("B-{i}")))["e"], 200);
    }
    let retry = t.elapsed();
    let t = std::time::Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let (url, key) = (
                s.url("/codelayer/frontoffice_poabs/gatepass_save"),
                key.clone(),
            );
            std::thread::spawn(move || {
                for i in 0..n / 8 {
                    let mut b = visitor(&format!("C-{w}-{i}"));
                    b["key"] = json!(key);
                    assert_eq!(post_json(&url, &[], &b).json()["e"], 200);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|h| h.join().unwrap());
    let parallel = t.elapsed();
    let t = std::time::Instant::now();
    let all = admin_data(&s, "GET", "/admin/gatepasses?view=today&q=asha", None);
    let list = t.elapsed();
    let t = std::time::Instant::now();
    let sum = admin_data(&s, "GET", "/admin/gatepasses/summary", None);
    let summary = t.elapsed();
    println!(
        "{n} new saves: {:.0}/s; {n} retries: {:.0}/s; {n} new saves from 8 threads: {:.0}/s; \
         list of {} (limit) out of {}: {:?}; summary: {:?}",
        n as f64 / first.as_secs_f64(),
        n as f64 / retry.as_secs_f64(),
        n as f64 / parallel.as_secs_f64(),
        all.as_array().unwrap().len(),
        sum["today"],
        list,
        summary
    );
}

#[test]
fn the_same_save_sent_at_once_from_many_threads_makes_one_pass() {
    let s = Server::start();
    let key = codelayer_session(&s, "guard5", "guard-pass-5", IMEI);
    let url = s.url("/codelayer/frontoffice_poabs/gatepass_save");
    let mut body = visitor("RACE-1");
    body["key"] = json!(key);
    body["action"] = json!("in");
    let answers: Vec<Value> = (0..8)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || post_json(&url, &[], &body).json())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(answers[0]["e"], 200, "{}", answers[0]);
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let all = admin_data(&s, "GET", "/admin/gatepasses?view=all", None);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(
        admin_data(&s, "GET", "/admin/gatepasses/summary", None)["inside"],
        1
    );
}

#[test]
fn the_desk_list_reads_its_newest_rows_and_stops_at_the_limit() {
    let limit = 10;
    let s = Server::start_with(&[], &[("GATEHOUSE_GATEPASS__LIST_LIMIT", "10")]);
    let key = codelayer_session(&s, "guard9", "guard-pass-9", IMEI);
    let numbers: Vec<String> = (1..=60).map(|i| format!("HH9-{i:04}")).collect();
    for n in &numbers {
        let mut v = visitor(n);
        v["name"] = json!(format!("Visitor {n}"));
        assert_eq!(save(&s, &key, v)["e"], 200);
    }
    let newest: Vec<&str> = numbers
        .iter()
        .rev()
        .take(limit)
        .map(String::as_str)
        .collect();
    let listed = |path: &str| -> Vec<String> {
        admin_data(&s, "GET", path, None)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["number"].as_str().unwrap().to_string())
            .collect()
    };
    // Every day's passes and today's: the newest `limit`, newest first.
    for path in [
        "/admin/gatepasses?view=all",
        "/admin/gatepasses?view=today",
        &format!("/admin/gatepasses?view=all&date={}", site_day(0)),
        "/admin/gatepasses?view=all&q=visitor",
    ] {
        assert_eq!(listed(path), newest, "{path}");
        // The read stops at the limit: a pass, its returns and its index key per row, not 60.
        let read = crate::reads::cost(&s, || drop(listed(path)));
        assert!(
            read <= 4 * limit as u64,
            "{path} read {read} records for {limit} rows of 60"
        );
    }
    // A search past the newest rows finds the older pass (it walks on, off the async workers).
    assert_eq!(
        listed("/admin/gatepasses?view=all&q=hh9-0003"),
        ["HH9-0003"]
    );
    assert_eq!(
        listed("/admin/gatepasses?view=today&q=Visitor%20HH9-0001"),
        ["HH9-0001"]
    );
    assert!(listed("/admin/gatepasses?view=all&q=nobody").is_empty());
}
