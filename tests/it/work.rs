//! Black-box tests: work — organization, tasks (+ photos, reports), tickets, projects, widgets,
//! the app's Remove/* paths, permissions and idempotent replay.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::harness::*;

fn ok(a: &Answer, want: u16) -> Value {
    assert_eq!(a.status, want, "{}", a.text);
    let v = a.json();
    assert_eq!(v["code"], want, "{v}");
    v["data"].clone()
}

/// The server's "today" (site-local), as the Tasks widget reports it.
fn today(da: &DaSession) -> String {
    ok(&da.call("GET", "/widgets/tasks", None), 200)["date"]
        .as_str()
        .unwrap()
        .to_string()
}

fn day_offset(day: &str, days: i64) -> String {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    (d + chrono::TimeDelta::days(days)).to_string()
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(len, 0x42);
    b
}

fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.resize(len, 0x17);
    b
}

/// A raw (non-JSON) upload with the session's headers.
fn raw(da: &DaSession, method: &str, path: &str, ctype: &str, body: &[u8]) -> Answer {
    let bearer = format!("Bearer {}", da.access_token);
    let rid = request_id();
    send(
        method,
        &format!("{}{}", da.base, path),
        &[
            ("x-app-key", da.app_key.as_str()),
            ("x-request-id", rid.as_str()),
            ("x-language", "en"),
            ("authorization", bearer.as_str()),
            ("x-user-token", da.user_token.as_str()),
            ("content-type", ctype),
        ],
        Some(body),
    )
}

/// GET returning bytes (downloads are files, not envelopes).
fn download(da: &DaSession, path: &str) -> (u16, String, String, Vec<u8>) {
    let bearer = format!("Bearer {}", da.access_token);
    let rid = request_id();
    let mut req = ureq::get(&format!("{}{}", da.base, path));
    for (k, v) in [
        ("x-app-key", da.app_key.as_str()),
        ("x-request-id", rid.as_str()),
        ("authorization", bearer.as_str()),
        ("x-user-token", da.user_token.as_str()),
    ] {
        req = req.set(k, v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = resp.status();
    let ct = resp.header("content-type").unwrap_or("").to_string();
    let cd = resp.header("content-disposition").unwrap_or("").to_string();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
    (status, ct, cd, bytes)
}

/// `gatehouse check` on the running server: every work tree decodes, every blob re-hashes.
fn store_checks(s: &Server) {
    let check = s.cli_json(&["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
}

#[test]
fn task_create_list_detail_update_delete() {
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "siti-pass-1", "manager");
    let me = ok(&da.call("GET", "/user/profile", None), 200)["user_id"].clone();

    // Title at its edge: 200 characters accepted, 201 refused with a per-field error in both
    // languages.
    let long = "x".repeat(200);
    let t1 = ok(
        &da.call(
            "POST",
            "/tasks",
            Some(&json!({"title": long, "category": "maintenance", "assignee_id": me, "due_date": "2099-01-01"})),
        ),
        201,
    );
    assert_eq!(t1["title"].as_str().unwrap().len(), 200);
    assert_eq!(t1["status"], "open");
    assert_eq!(t1["assignee"]["user_id"], me);
    let too_long =
        json!({"title": "x".repeat(201), "priority": "urgent", "description": "d".repeat(2001)});
    for (lang, needle) in [("en", "characters"), ("id", "karakter")] {
        let a = da.call_as("POST", "/tasks", Some(&too_long), &request_id(), lang);
        assert_eq!(a.status, 400, "{}", a.text);
        let errs = a.json()["errors"].as_array().unwrap().clone();
        let fields: Vec<&str> = errs.iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec!["title", "description", "priority"], "{errs:?}");
        assert!(
            errs[0]["message"].as_str().unwrap().contains(needle),
            "{lang}: {errs:?}"
        );
    }
    let a = da.call(
        "POST",
        "/tasks",
        Some(&json!({"title": "Ok", "assignee_id": 999})),
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"][0]["field"], "assignee_id");

    let t2 = ok(
        &da.call(
            "POST",
            "/tasks",
            Some(&json!({"title": "Spray block B", "category": "spraying"})),
        ),
        201,
    );
    let id1 = t1["task_id"].as_u64().unwrap();
    let id2 = t2["task_id"].as_u64().unwrap();

    // List: both, newest first; filters narrow it; paging at its edge.
    let l = ok(&da.call("GET", "/tasks", None), 200);
    assert_eq!(l["total"], 2);
    let ids: Vec<u64> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![id2, id1]);
    let l = ok(&da.call("GET", "/tasks?category=spraying", None), 200);
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["task_id"], id2);
    let l = ok(
        &da.call("GET", "/tasks?assignee_id=me&per_page=100", None),
        200,
    );
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["task_id"], id1);
    let l = ok(&da.call("GET", "/tasks?per_page=1&page=2", None), 200);
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    assert_eq!(l["total_pages"], 2);
    let a = da.call("GET", "/tasks?per_page=101", None);
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"][0]["field"], "per_page");

    // Detail.
    let d = ok(&da.call("GET", &format!("/tasks/{id2}"), None), 200);
    assert_eq!(d["title"], "Spray block B");
    assert_eq!(d["category_name"], "Spraying");
    assert_eq!(ok(&da.call("GET", "/tasks/9999", None), 404), Value::Null);

    // Update: only the fields sent; status rules.
    let u = ok(
        &da.call(
            "PUT",
            &format!("/tasks/{id2}"),
            Some(&json!({"status": "in_progress", "priority": "high"})),
        ),
        200,
    );
    assert_eq!(u["status"], "in_progress");
    assert_eq!(u["priority"], "high");
    assert_eq!(u["title"], "Spray block B");
    assert!(u["running_since"].is_string());
    // One running task per user.
    let a = da.call(
        "PUT",
        &format!("/tasks/{id1}"),
        Some(&json!({"status": "in_progress"})),
    );
    assert_eq!(a.status, 409, "{}", a.text);
    let u = ok(
        &da.call(
            "PUT",
            &format!("/tasks/{id2}"),
            Some(&json!({"status": "done"})),
        ),
        200,
    );
    assert_eq!(u["status"], "done");
    assert!(u["completed_at"].is_string());
    assert!(u["running_since"].is_null());
    let a = da.call(
        "PUT",
        &format!("/tasks/{id2}"),
        Some(&json!({"status": "in_progress"})),
    );
    assert_eq!(
        a.status, 409,
        "done → in_progress must be refused: {}",
        a.text
    );
    let u = ok(
        &da.call(
            "PUT",
            &format!("/tasks/{id1}"),
            Some(&json!({"due_date": null})),
        ),
        200,
    );
    assert!(u["due_date"].is_null());

    // Delete.
    ok(&da.call("DELETE", &format!("/tasks/{id2}"), None), 200);
    assert_eq!(da.call("GET", &format!("/tasks/{id2}"), None).status, 404);
    assert_eq!(
        da.call("DELETE", &format!("/tasks/{id2}"), None).status,
        404
    );
    assert_eq!(ok(&da.call("GET", "/tasks", None), 200)["total"], 1);
}

#[test]
fn save_task_replays_on_both_paths_and_conflicts_on_another_body() {
    let s = Server::start();
    let da = DaSession::open(&s, "rina", "rina-pass-1", "supervisor");
    let body = json!({"title": "Weed nursery"});
    for path in ["/tasks", "/app/tasks"] {
        let rid = request_id();
        let first = da.call_as("POST", path, Some(&body), &rid, "en");
        assert_eq!(first.status, 201, "{}", first.text);
        assert!(first.header("x-idempotent-replay").is_none());
        let again = da.call_as("POST", path, Some(&body), &rid, "en");
        assert_eq!(again.status, 201);
        assert_eq!(again.header("x-idempotent-replay"), Some("true"));
        assert_eq!(
            again.json()["data"]["task_id"],
            first.json()["data"]["task_id"]
        );
        let other = da.call_as(
            "POST",
            path,
            Some(&json!({"title": "Something else"})),
            &rid,
            "en",
        );
        assert_eq!(other.status, 409, "{}", other.text);
    }
    // Two paths, two tasks: nothing doubled.
    let l = ok(&da.call("GET", "/tasks", None), 200);
    assert_eq!(l["total"], 2);
}

#[test]
fn a_labourer_can_look_but_not_edit() {
    let s = Server::start();
    let boss = DaSession::open(&s, "mgr", "mgr-pass-1", "manager");
    let t = ok(
        &boss.call(
            "POST",
            "/tasks",
            Some(&json!({"title": "Harvest TF18", "category": "harvest"})),
        ),
        201,
    );
    let id = t["task_id"].as_u64().unwrap();
    let lab = DaSession::open(&s, "joko", "joko-pass-1", "labourer");
    for (method, path, body) in [
        ("POST", "/tasks".to_string(), Some(json!({"title": "Mine"}))),
        (
            "POST",
            "/app/tasks".to_string(),
            Some(json!({"title": "Mine"})),
        ),
        (
            "PUT",
            format!("/tasks/{id}"),
            Some(json!({"status": "done"})),
        ),
        ("DELETE", format!("/tasks/{id}"), None),
        (
            "POST",
            format!("/tasks/{id}/images"),
            Some(json!({"image": "/9j/4A=="})),
        ),
        (
            "GET",
            "/reports/tasks?from=2026-01-01&to=2026-01-31".to_string(),
            None,
        ),
        ("GET", "/users".to_string(), None),
        ("DELETE", "/org/designations/1".to_string(), None),
        (
            "POST",
            "/tickets".to_string(),
            Some(json!({"subject": "x"})),
        ),
        ("GET", "/projects".to_string(), None),
    ] {
        let a = lab.call(method, &path, body.as_ref());
        assert_eq!(a.status, 403, "{method} {path}: {}", a.text);
        assert_eq!(a.json()["code"], 403);
        assert!(a.json()["data"].is_null());
        assert!(
            a.json()["message"].as_str().unwrap().contains("permission"),
            "{}",
            a.text
        );
    }
    // Tickets: the labourer sees only the ones that concern them.
    ok(
        &boss.call("POST", "/tickets", Some(&json!({"subject": "Fence down"}))),
        201,
    );
    assert_eq!(ok(&lab.call("GET", "/tickets", None), 200)["total"], 0);
    assert_eq!(ok(&boss.call("GET", "/tickets", None), 200)["total"], 1);
    // Reading is allowed, and nothing changed.
    let d = ok(&lab.call("GET", &format!("/tasks/{id}"), None), 200);
    assert_eq!(d["status"], "open");
    assert_eq!(ok(&lab.call("GET", "/tasks", None), 200)["total"], 1);
}

#[test]
fn task_images_at_the_size_edge_list_download_delete() {
    let s = Server::start_with(&[], &[("GATEHOUSE_HTTP__MAX_IMAGE_BYTES", "4096")]);
    let da = DaSession::open(&s, "dewi", "dewi-pass-1", "clerk");
    let t = ok(
        &da.call("POST", "/tasks", Some(&json!({"title": "Photo proof"}))),
        201,
    );
    let id = t["task_id"].as_u64().unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);

    // Exactly the limit is accepted (base64 JSON); one byte more is 413.
    let edge = jpeg(4096);
    let a = ok(
        &da.call(
            "POST",
            &format!("/tasks/{id}/images"),
            Some(&json!({"image": b64(&edge), "caption": "Drain cleared", "latitude": -2.97, "longitude": 104.77})),
        ),
        201,
    );
    assert_eq!(a["bytes"], 4096);
    assert_eq!(a["content_type"], "image/jpeg");
    let img1 = a["image_id"].as_u64().unwrap();
    let over = da.call(
        "POST",
        &format!("/tasks/{id}/images"),
        Some(&json!({"image": b64(&jpeg(4097))})),
    );
    assert_eq!(over.status, 413, "{}", over.text);
    assert!(over.json()["message"].as_str().unwrap().contains("4096"));
    // A data: URL prefix is accepted; raw uploads too, at the same edge.
    let a = ok(
        &da.call(
            "POST",
            &format!("/app/tasks/{id}/images"),
            Some(&json!({"image": format!("data:image/png;base64,{}", b64(&png(100)))})),
        ),
        201,
    );
    assert_eq!(a["content_type"], "image/png");
    let a = raw(
        &da,
        "POST",
        &format!("/tasks/{id}/images?caption=raw"),
        "image/png",
        &png(4096),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["data"]["caption"], "raw");
    let a = raw(
        &da,
        "POST",
        &format!("/tasks/{id}/images"),
        "image/png",
        &png(4097),
    );
    assert_eq!(a.status, 413, "{}", a.text);
    // Not an image: refused with the field named.
    let gif = da.call(
        "POST",
        &format!("/tasks/{id}/images"),
        Some(&json!({"image": b64(b"GIF89a......")})),
    );
    assert_eq!(gif.status, 400);
    assert_eq!(gif.json()["errors"][0]["field"], "image");
    assert_eq!(
        da.call(
            "POST",
            "/tasks/999/images",
            Some(&json!({"image": b64(&jpeg(10))}))
        )
        .status,
        404
    );

    // List (both paths), download, delete.
    let l = ok(&da.call("GET", &format!("/tasks/{id}/images"), None), 200);
    let items = l["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["caption"], "Drain cleared");
    let l2 = ok(
        &da.call("GET", &format!("/app/tasks/{id}/images"), None),
        200,
    );
    assert_eq!(l2["items"], l["items"]);
    assert_eq!(
        ok(&da.call("GET", &format!("/tasks/{id}"), None), 200)["image_count"],
        3
    );
    let (st, ct, _, bytes) = download(
        &da,
        items[0]["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("/daily/v1"),
    );
    assert_eq!(st, 200);
    assert_eq!(ct, "image/jpeg");
    assert_eq!(bytes, edge);
    ok(
        &da.call("DELETE", &format!("/tasks/{id}/images/{img1}"), None),
        200,
    );
    assert_eq!(
        da.call("DELETE", &format!("/tasks/{id}/images/{img1}"), None)
            .status,
        404
    );
    let l = ok(&da.call("GET", &format!("/tasks/{id}/images"), None), 200);
    assert_eq!(l["items"].as_array().unwrap().len(), 2);
    assert!(l["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["image_id"] != img1));
    // Caption at its edge, then photos per task at theirs: 20 kept, the 21st refused.
    let cap = |n: usize| json!({"image": b64(&jpeg(8)), "caption": "c".repeat(n)});
    let a = da.call("POST", &format!("/tasks/{id}/images"), Some(&cap(201)));
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"][0]["field"], "caption");
    let other = ok(
        &da.call(
            "POST",
            "/tasks",
            Some(&json!({"title": "Many photos", "description": "d".repeat(2000)})),
        ),
        201,
    );
    let oid = other["task_id"].as_u64().unwrap();
    for _ in 0..20 {
        ok(
            &da.call("POST", &format!("/tasks/{oid}/images"), Some(&cap(200))),
            201,
        );
    }
    let a = da.call("POST", &format!("/tasks/{oid}/images"), Some(&cap(0)));
    assert_eq!(a.status, 409, "{}", a.text);
    assert!(a.json()["message"].as_str().unwrap().contains("20"));
    // Deleting the task takes its photos' records with it.
    ok(&da.call("DELETE", &format!("/tasks/{oid}"), None), 200);
    assert_eq!(
        da.call("GET", &format!("/tasks/{oid}/images"), None).status,
        404
    );
    store_checks(&s);
}

#[test]
fn report_covers_only_the_chosen_period_as_csv_and_xlsx() {
    let s = Server::start();
    let da = DaSession::open(&s, "andi", "andi-pass-1", "manager");
    let me = ok(&da.call("GET", "/user/profile", None), 200)["user_id"].clone();
    let today = today(&da);
    let mk = |title: &str| {
        ok(
            &da.call(
                "POST",
                "/tasks",
                Some(&json!({"title": title, "assignee_id": me})),
            ),
            201,
        )["task_id"]
            .as_u64()
            .unwrap()
    };
    let done1 = mk("Done one");
    let done2 = mk("Done two");
    let reopened = mk("Done then reopened");
    let open = mk("Still open");
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{done1}"),
            Some(&json!({"status": "in_progress"})),
        ),
        200,
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{done1}"),
            Some(&json!({"status": "done"})),
        ),
        200,
    );
    for id in [done2, reopened] {
        ok(
            &da.call(
                "PUT",
                &format!("/tasks/{id}"),
                Some(&json!({"status": "done"})),
            ),
            200,
        );
    }
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{reopened}"),
            Some(&json!({"status": "open"})),
        ),
        200,
    );

    // Today: the two finished tasks, nothing else.
    let r = ok(
        &da.call(
            "GET",
            &format!("/reports/tasks?from={today}&to={today}"),
            None,
        ),
        200,
    );
    assert_eq!(r["status"], "ready");
    assert_eq!(r["tasks_done"], 2);
    assert_eq!(r["summary"][0]["user_id"], me);
    assert_eq!(r["summary"][0]["tasks_done"], 2);
    let url = r["download_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/daily/v1")
        .to_string();
    let (st, ct, cd, bytes) = download(&da, &url);
    assert_eq!(st, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(cd.contains("attachment") && cd.contains(".csv"), "{cd}");
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    let ids: Vec<u64> = rd
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![done1, done2],
        "only tasks completed in the period"
    );
    let _ = open;

    // The days before today: nothing.
    let (from, to) = (day_offset(&today, -30), day_offset(&today, -1));
    let r = ok(
        &da.call(
            "GET",
            &format!("/reports/tasks?from={from}&to={to}&format=csv"),
            None,
        ),
        200,
    );
    assert_eq!(r["tasks_done"], 0);
    let url = r["download_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/daily/v1")
        .to_string();
    let (_, _, _, bytes) = download(&da, &url);
    assert_eq!(
        csv::Reader::from_reader(bytes.as_slice()).records().count(),
        0
    );

    // XLSX: the spreadsheet content type and a real workbook with both sheets.
    let r = ok(
        &da.call(
            "GET",
            &format!(
                "/reports/tasks?from={today}&to={}&format=xlsx",
                day_offset(&today, 1)
            ),
            None,
        ),
        200,
    );
    assert_eq!(r["tasks_done"], 2);
    let url = r["download_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/daily/v1")
        .to_string();
    let (st, ct, cd, bytes) = download(&da, &url);
    assert_eq!(st, 200);
    assert_eq!(
        ct,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(cd.contains(".xlsx"), "{cd}");
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let names = String::from_utf8_lossy(&bytes);
    assert!(names.contains("xl/worksheets/sheet2.xml"), "two sheets");

    // Period rules, per field.
    let a = da.call(
        "GET",
        &format!("/reports/tasks?from={today}&to={}", day_offset(&today, -1)),
        None,
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"][0]["field"], "to");
    let ok366 = da.call(
        "GET",
        &format!(
            "/reports/tasks?from={}&to={today}",
            day_offset(&today, -365)
        ),
        None,
    );
    assert_eq!(ok366.status, 200, "366 days is the most: {}", ok366.text);
    let a = da.call(
        "GET",
        &format!(
            "/reports/tasks?from={}&to={today}",
            day_offset(&today, -366)
        ),
        None,
    );
    assert_eq!(a.status, 400, "367 days is too long");
    let a = da.call("GET", "/reports/tasks?from=2026-13-01", None);
    let fields: Vec<String> = a.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, vec!["from", "to"]);
    assert_eq!(
        da.call("GET", "/reports/tasks/999/download", None).status,
        404
    );
    store_checks(&s);
}

#[test]
fn org_structure_designations_company_and_users() {
    let s = Server::start();
    let da = DaSession::open(&s, "boss", "boss-pass-1", "admin");
    let estate = ok(
        &da.call("POST", "/org/businesses", Some(&json!({"code": "MNJ", "name": "Manjung Estate", "kind": "estate",
            "address": {"line": "Jl. Kebun 1", "city": "Medan", "latitude": 3.59, "longitude": 98.67}}))),
        201,
    );
    let eid = estate["business_id"].clone();
    let div = ok(
        &da.call("POST", "/org/businesses", Some(&json!({"code": "D".repeat(20), "name": "D".repeat(100), "kind": "division", "parent_id": eid}))),
        201,
    );
    let a = da.call(
        "POST",
        "/org/businesses",
        Some(&json!({"code": "mnj", "name": "Dup", "kind": "estate"})),
    );
    assert_eq!(
        a.status, 409,
        "codes are unique, case-insensitively: {}",
        a.text
    );
    let a = da.call(
        "POST",
        "/org/businesses",
        Some(&json!({"code": "X".repeat(21), "name": "N", "kind": "farm", "parent_id": 99})),
    );
    assert_eq!(a.status, 400);
    let errs = a.json()["errors"].clone();
    let fields: Vec<&str> = errs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["code", "kind"]);

    let l = ok(&da.call("GET", "/org/businesses?kind=division", None), 200);
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    assert_eq!(l["items"][0]["parent_id"], eid);
    let tree = ok(&da.call("GET", "/org/businesses/structure", None), 200);
    assert_eq!(tree["items"].as_array().unwrap().len(), 1);
    assert_eq!(tree["items"][0]["code"], "MNJ");
    assert_eq!(
        tree["items"][0]["children"][0]["business_id"],
        div["business_id"]
    );

    let em = ok(
        &da.call(
            "POST",
            "/org/designations",
            Some(&json!({"code": "EM", "name": "Estate Manager", "business_id": eid})),
        ),
        201,
    );
    let am = ok(&da.call("POST", "/org/designations", Some(&json!({"code": "AM", "name": "Assistant Manager", "parent_id": em["designation_id"]}))), 201);
    let md = ok(
        &da.call(
            "POST",
            "/org/designations",
            Some(&json!({"code": "MDR", "name": "Mandor", "parent_id": am["designation_id"]})),
        ),
        201,
    );
    let tree = ok(&da.call("GET", "/org/designations", None), 200);
    assert_eq!(tree["items"][0]["code"], "EM");
    assert_eq!(tree["items"][0]["children"][0]["code"], "AM");
    assert_eq!(
        tree["items"][0]["children"][0]["children"][0]["code"],
        "MDR"
    );
    // A designation others report to cannot go; a leaf can.
    let a = da.call(
        "DELETE",
        &format!("/org/designations/{}", am["designation_id"]),
        None,
    );
    assert_eq!(a.status, 409, "{}", a.text);
    ok(
        &da.call(
            "DELETE",
            &format!("/org/designations/{}", md["designation_id"]),
            None,
        ),
        200,
    );
    assert_eq!(
        da.call(
            "DELETE",
            &format!("/org/designations/{}", md["designation_id"]),
            None
        )
        .status,
        404
    );
    ok(
        &da.call(
            "DELETE",
            &format!("/org/designations/{}", am["designation_id"]),
            None,
        ),
        200,
    );
    let tree = ok(&da.call("GET", "/org/designations", None), 200);
    assert_eq!(tree["items"][0]["children"], json!([]));

    // Company: the site's name until filled in; addresses list the company and businesses.
    assert_eq!(ok(&da.call("GET", "/company", None), 200)["name"], "Estate");
    ok(&da.call("PUT", "/company", Some(&json!({"name": "PT Kebun Makmur", "address": {"line": "Jl. Sudirman 10", "city": "Medan"}}))), 200);
    assert_eq!(
        ok(&da.call("GET", "/company", None), 200)["name"],
        "PT Kebun Makmur"
    );
    let ad = ok(&da.call("GET", "/company/addresses", None), 200);
    let owners: Vec<&str> = ad["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["owner"].as_str().unwrap())
        .collect();
    assert_eq!(owners, vec!["company", "business"]);
    assert_eq!(ad["items"][1]["address"]["line"], "Jl. Kebun 1");

    // Users list.
    let u = ok(&da.call("GET", "/users?q=bos", None), 200);
    assert_eq!(u["total"], 1);
    assert_eq!(u["items"][0]["username"], "boss");
    assert!(u["items"][0].get("password").is_none());
    let u = ok(&da.call("GET", "/users?role=admin&per_page=1", None), 200);
    assert!(
        u["total"].as_u64().unwrap() >= 2,
        "the first-run admin and boss: {u}"
    );
    store_checks(&s);
}

#[test]
fn widgets_count_real_actions() {
    let s = Server::start();
    let da = DaSession::open(&s, "budi", "budi-pass-1", "supervisor");
    let me = ok(&da.call("GET", "/user/profile", None), 200)["user_id"].clone();
    let today = today(&da);
    let w = ok(&da.call("GET", "/widgets/tasks", None), 200);
    assert_eq!(
        (
            w["open"].clone(),
            w["in_progress"].clone(),
            w["done_today"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );

    let a = ok(
        &da.call(
            "POST",
            "/app/tasks",
            Some(&json!({"title": "A", "assignee_id": me})),
        ),
        201,
    )["task_id"]
        .clone();
    let b = ok(
        &da.call(
            "POST",
            "/app/tasks",
            Some(&json!({"title": "B", "assignee_id": me, "due_date": today})),
        ),
        201,
    )["task_id"]
        .clone();
    let yesterday = day_offset(&today, -1);
    ok(&da.call("POST", "/app/tasks", Some(&json!({"title": "Late", "assignee_id": me, "date": yesterday, "due_date": yesterday}))), 201);
    let w = ok(&da.call("GET", "/widgets/tasks", None), 200);
    assert_eq!(w["open"], 3);
    assert_eq!(w["overdue"], 1);
    assert_eq!(w["due_today"], 1);
    assert_eq!(w["total_active"], 3);

    // Start A: running, and the timesheet counts it.
    let r = ok(&da.call("GET", "/app/tasks/running", None), 200);
    assert_eq!(r["running"], false);
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{a}"),
            Some(&json!({"status": "in_progress"})),
        ),
        200,
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = ok(&da.call("GET", "/app/tasks/running", None), 200);
    assert_eq!(r["task"]["task_id"], a);
    let ts = ok(&da.call("GET", "/widgets/timesheet", None), 200);
    assert_eq!(ts["running_task"]["task_id"], a);
    let secs = ts["today_seconds"].as_i64().unwrap();
    assert!((2..60).contains(&secs), "{ts}");
    assert!(ts["week_seconds"].as_i64().unwrap() >= secs);
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{a}"),
            Some(&json!({"status": "done"})),
        ),
        200,
    );
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{b}"),
            Some(&json!({"status": "cancelled"})),
        ),
        200,
    );
    let w = ok(&da.call("GET", "/widgets/tasks", None), 200);
    assert_eq!(w["open"], 1);
    assert_eq!(w["in_progress"], 0);
    assert_eq!(w["done_today"], 1);
    assert_eq!(w["due_today"], 0);
    let ts = ok(&da.call("GET", "/widgets/timesheet", None), 200);
    assert!(ts["running_task"].is_null());
    let after = ts["today_seconds"].as_i64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ts = ok(&da.call("GET", "/widgets/timesheet", None), 200);
    assert_eq!(
        ts["today_seconds"].as_i64().unwrap(),
        after,
        "a stopped task no longer counts"
    );

    // Tickets: raised, assigned, moved along.
    let tw = ok(&da.call("GET", "/widgets/ticket", None), 200);
    assert_eq!(tw["active"], 0);
    let t = ok(&da.call("POST", "/tickets", Some(&json!({"subject": "Pump broken", "priority": "high", "assignee_id": me, "task_id": a}))), 201);
    ok(
        &da.call(
            "POST",
            "/tickets",
            Some(&json!({"subject": "Road washed out"})),
        ),
        201,
    );
    let tw = ok(&da.call("GET", "/widgets/ticket", None), 200);
    assert_eq!(
        (tw["open"].clone(), tw["assigned_to_me_active"].clone()),
        (json!(2), json!(1))
    );
    let tid = t["ticket_id"].clone();
    ok(
        &da.call(
            "PUT",
            &format!("/tickets/{tid}"),
            Some(&json!({"status": "in_progress"})),
        ),
        200,
    );
    let tw = ok(&da.call("GET", "/widgets/ticket", None), 200);
    assert_eq!(
        (tw["open"].clone(), tw["in_progress"].clone()),
        (json!(1), json!(1))
    );
    let r = ok(
        &da.call(
            "PUT",
            &format!("/tickets/{tid}"),
            Some(&json!({"status": "resolved"})),
        ),
        200,
    );
    assert!(r["resolved_at"].is_string());
    ok(
        &da.call(
            "PUT",
            &format!("/tickets/{tid}"),
            Some(&json!({"status": "closed"})),
        ),
        200,
    );
    assert_eq!(
        da.call(
            "PUT",
            &format!("/tickets/{tid}"),
            Some(&json!({"status": "open"}))
        )
        .status,
        409
    );
    let tw = ok(&da.call("GET", "/widgets/ticket", None), 200);
    assert_eq!(
        (
            tw["open"].clone(),
            tw["closed"].clone(),
            tw["active"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    let l = ok(&da.call("GET", "/tickets?status=closed", None), 200);
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["subject"], "Pump broken");
    let a = da.call(
        "POST",
        "/tickets",
        Some(&json!({"subject": "s".repeat(201)})),
    );
    assert_eq!(a.status, 400);
    ok(
        &da.call(
            "POST",
            "/tickets",
            Some(&json!({"subject": "s".repeat(200)})),
        ),
        201,
    );
    store_checks(&s);
}

#[test]
fn app_task_screens_groupings_projects_and_demo() {
    let s = Server::start_with(&["--demo"], &[]);
    let out = s.output();
    let pw = out
        .split("first-run: admin username=admin password=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no first-run line: {out}"))
        .trim_matches(|c: char| c == '"' || c == ',')
        .to_string();
    let c = s.cli_json(&["client", "add", "--name", "app"]);
    let admin = DaSession::login(
        &s,
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
        "admin",
        &pw,
    );

    // The demo estate: a business tree, designations, a project and three tasks of the admin.
    let tree = ok(&admin.call("GET", "/org/businesses/structure", None), 200);
    assert_eq!(tree["items"][0]["code"], "DEMO");
    assert_eq!(tree["items"][0]["children"][0]["code"], "DEMO-D1");
    let p = ok(&admin.call("GET", "/projects", None), 200);
    assert_eq!(p["items"][0]["code"], "RPL-2026");
    assert_eq!(p["items"][0]["tasks_total"], 3);
    assert_eq!(p["items"][0]["tasks_done"], 1);
    let mine = ok(&admin.call("GET", "/app/tasks", None), 200);
    assert_eq!(mine["total"], 3);
    let running = ok(&admin.call("GET", "/app/tasks/running", None), 200);
    assert_eq!(running["task"]["title"], "Clear drains in block C");

    // Another user's tasks are not in the admin's Get Tasks, but are in Get Task List.
    let sup = DaSession::open(&s, "sari", "sari-pass-1", "supervisor");
    ok(
        &sup.call("POST", "/app/tasks", Some(&json!({"title": "Sari's"}))),
        201,
    );
    assert_eq!(ok(&admin.call("GET", "/app/tasks", None), 200)["total"], 3);
    assert_eq!(ok(&sup.call("GET", "/app/tasks", None), 200)["total"], 1);
    assert_eq!(ok(&admin.call("GET", "/tasks", None), 200)["total"], 4);

    let g = ok(&admin.call("GET", "/app/tasks/grouping", None), 200);
    let counts: Vec<(String, u64)> = g["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["status"].as_str().unwrap().to_string(),
                x["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("open".into(), 1),
            ("in_progress".into(), 1),
            ("done".into(), 1),
            ("cancelled".into(), 0)
        ]
    );
    let g = ok(
        &admin.call("GET", "/app/tasks/grouping?mine=false", None),
        200,
    );
    assert_eq!(g["groups"][0]["count"], 2);
    let gu = ok(&admin.call("GET", "/app/tasks/grouping/users", None), 200);
    let items = gu["items"].as_array().unwrap();
    assert_eq!(items[0]["user"]["name"], "Administrator");
    assert_eq!(items[0]["total"], 3);
    assert!(items.last().unwrap()["user"].is_null(), "unassigned last");
    assert_eq!(items.last().unwrap()["counts"]["open"], 1);

    let users = ok(&admin.call("GET", "/app/tasks/users", None), 200);
    let adm = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap()
        .clone();
    assert_eq!(adm["open_tasks"], 2);
    let cats = admin.call_as("GET", "/app/tasks/categories", None, &request_id(), "id");
    let cats = ok(&cats, 200);
    assert_eq!(
        cats["items"][0],
        json!({"category": "harvest", "name": "Panen"})
    );

    // Projects: save at the code edge; duplicates refused.
    ok(&admin.call("POST", "/projects", Some(&json!({"code": "P".repeat(20), "name": "Road", "start_date": "2026-03-01", "end_date": "2026-03-01"}))), 201);
    assert_eq!(
        admin
            .call(
                "POST",
                "/projects",
                Some(&json!({"code": "P".repeat(21), "name": "Road"}))
            )
            .status,
        400
    );
    assert_eq!(
        admin
            .call(
                "POST",
                "/projects",
                Some(&json!({"code": "rpl-2026", "name": "Dup"}))
            )
            .status,
        409
    );
    let a = admin.call("POST", "/projects", Some(&json!({"code": "Q", "name": "Back", "start_date": "2026-03-02", "end_date": "2026-03-01"})));
    assert_eq!(a.json()["errors"][0]["field"], "end_date");
    assert_eq!(
        ok(&admin.call("GET", "/projects?status=active", None), 200)["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    store_checks(&s);
}

#[test]
fn every_work_seed_entry_is_documented_with_its_tag() {
    let s = Server::start();
    let doc = get(&s.url("/openapi.json"), &[]).json();
    let ops: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|o| o.as_object().unwrap().values())
        .map(|op| {
            (
                op["summary"].as_str().unwrap().to_string(),
                op["tags"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let org = "Daily Activity/Organization";
    let tasks = "Daily Activity/Tasks";
    let app = "Daily Activity/Remove/Tasks";
    for (summary, tag) in [
        ("Get Business List", org),
        ("Structure Business", org),
        ("Get Designations Structure", org),
        ("Delete Designation", org),
        ("Get Task List", tasks),
        ("Get Task Detail", tasks),
        ("Save Task", tasks),
        ("Update Task", tasks),
        ("Delete Task", tasks),
        ("Save Task Image", tasks),
        ("Get Task Image List", tasks),
        ("Delete Task Image", tasks),
        ("Generate Report", tasks),
        ("Download Report", tasks),
        ("Get Users List", "Daily Activity/Remove/Users"),
        ("Get Company", "Daily Activity/Remove/company"),
        ("Addresses List", "Daily Activity/Remove/company"),
        ("Timesheet", "Daily Activity/Remove/Widget"),
        ("Tasks", "Daily Activity/Remove/Widget"),
        ("Ticket", "Daily Activity/Remove/Widget"),
        ("Ticket", "Daily Activity/Remove/Tickets"),
        ("Projects", "Daily Activity/Remove/Project"),
        ("Get Tasks", app),
        ("Save Task", app),
        ("Get Task Has Been Running", app),
        ("Get Task User", app),
        ("Get Task Categories", app),
        ("Get Tasks Grouping", app),
        ("Get Task Grouping User", app),
        ("Save Image Task", app),
        ("Get Image Task", app),
    ] {
        assert!(
            ops.contains(&(summary.to_string(), tag.to_string())),
            "{summary} / {tag} missing"
        );
    }
}

#[test]
fn export_tasks_honours_the_period_of_work_days() {
    let s = Server::start();
    let da = DaSession::open(&s, "eko", "eko-pass-1", "manager");
    let today = today(&da);
    let mk = |title: &str, date: &str| {
        ok(
            &da.call(
                "POST",
                "/tasks",
                Some(&json!({"title": title, "date": date})),
            ),
            201,
        )["task_id"]
            .as_u64()
            .unwrap()
    };
    let old = mk("Ten days ago", &day_offset(&today, -10));
    let y = mk(
        "Yesterday, with \"quotes\", and a comma",
        &day_offset(&today, -1),
    );
    let t = mk("Today", &today);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tasks.csv");
    let e = s.cli_json(&[
        "export",
        "tasks",
        "--from",
        &day_offset(&today, -1),
        "--to",
        &today,
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 2, "{e}");
    let mut rd = csv::Reader::from_path(&out).unwrap();
    assert_eq!(&rd.headers().unwrap()[0], "task_id");
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let ids: Vec<u64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(
        ids,
        vec![y, t],
        "only work days inside the period, oldest first"
    );
    assert_eq!(&rows[0][2], "Yesterday, with \"quotes\", and a comma");
    let e = s.cli_json(&[
        "export",
        "tasks",
        "--from",
        &day_offset(&today, -10),
        "--to",
        &day_offset(&today, -10),
        "--format",
        "xlsx",
        "--out",
        dir.path().join("t.xlsx").to_str().unwrap(),
    ]);
    assert_eq!(e["rows"], 1);
    let _ = old;
}

/// `cargo test --test it work::bench -- --ignored --nocapture`: Save Task over HTTP from 8
/// clients, then the reads that walk every task (list, report, timesheet, projects).
#[test]
#[ignore]
fn bench_tasks_saves_lists_reports() {
    let s = Server::start();
    let da = std::sync::Arc::new(DaSession::open(&s, "bench", "bench-pass-1", "manager"));
    let me = ok(&da.call("GET", "/user/profile", None), 200)["user_id"].clone();
    let today = today(&da);
    let (threads, per) = (8, 1250);
    let t = std::time::Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|k| {
            let da = da.clone();
            let me = me.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    let a = da.call(
                        "POST",
                        "/tasks",
                        Some(&json!({"title": format!("Task {k}-{i}"), "assignee_id": me, "status": if i % 2 == 0 { "done" } else { "open" }})),
                    );
                    assert_eq!(a.status, 201, "{}", a.text);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let n = threads * per;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "Save Task: {n} over HTTP from {threads} clients in {secs:.2} s = {:.0}/s",
        n as f64 / secs
    );
    let time = |label: &str, path: &str| {
        let t = std::time::Instant::now();
        let rounds = 10;
        for _ in 0..rounds {
            assert_eq!(da.call("GET", path, None).status, 200);
        }
        println!(
            "{label}: {:.1} ms each ({n} tasks)",
            t.elapsed().as_secs_f64() * 1e3 / rounds as f64
        );
    };
    time("Get Task List (100 per page)", "/tasks?per_page=100");
    time("Get Tasks (mine, 100 per page)", "/app/tasks?per_page=100");
    time("Timesheet widget", "/widgets/timesheet");
    time("Tasks widget", "/widgets/tasks");
    time("Projects", "/projects");
    time(
        "Generate Report (csv, today)",
        &format!("/reports/tasks?from={today}&to={today}"),
    );
    time(
        "Generate Report (xlsx, today)",
        &format!("/reports/tasks?from={today}&to={today}&format=xlsx"),
    );
}

/// "Today" and report periods are the site's days, not UTC's: with the site far enough from UTC
/// that the dates differ now, a task finished now belongs to the site's date, not UTC's.
#[test]
fn report_days_are_site_days_not_utc_days() {
    // -12:00 shifts the date while UTC is before 12:00, +14:00 from 10:00 on; each choice
    // keeps at least two hours of margin, except in the last minutes before UTC midnight,
    // which are waited out.
    let minute_of_day = |t: chrono::DateTime<chrono::Utc>| {
        chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t)
    };
    let mut now = chrono::Utc::now();
    if minute_of_day(now) >= 1435 {
        std::thread::sleep(std::time::Duration::from_secs(
            u64::from(1441 - minute_of_day(now)) * 60,
        ));
        now = chrono::Utc::now();
    }
    let offset = if minute_of_day(now) < 600 { -720 } else { 840 };
    let s = Server::start_with(
        &[],
        &[(
            "GATEHOUSE_SITE__TIMEZONE_OFFSET_MINUTES",
            &offset.to_string(),
        )],
    );
    let da = DaSession::open(&s, "wati", "wati-pass-1", "manager");
    let site_day = today(&da);
    let utc_day = now.date_naive().to_string();
    assert_ne!(site_day, utc_day);
    let id = ok(
        &da.call(
            "POST",
            "/tasks",
            Some(&json!({"title": "Night round", "status": "done"})),
        ),
        201,
    )["task_id"]
        .clone();
    let t = ok(&da.call("GET", &format!("/tasks/{id}"), None), 200);
    assert_eq!(
        t["date"],
        site_day.as_str(),
        "the work day defaults to the site's today"
    );
    let sign = if offset < 0 { "-12:00" } else { "+14:00" };
    assert!(t["completed_at"].as_str().unwrap().ends_with(sign), "{t}");
    let r = ok(
        &da.call(
            "GET",
            &format!("/reports/tasks?from={site_day}&to={site_day}"),
            None,
        ),
        200,
    );
    assert_eq!(r["tasks_done"], 1);
    let r = ok(
        &da.call(
            "GET",
            &format!("/reports/tasks?from={utc_day}&to={utc_day}"),
            None,
        ),
        200,
    );
    assert_eq!(r["tasks_done"], 0);
    assert_eq!(
        ok(&da.call("GET", "/widgets/tasks", None), 200)["done_today"],
        0,
        "not assigned to the caller"
    );
}
