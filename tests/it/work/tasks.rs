//! Task CRUD, idempotent Save Task on both paths, permissions, export by work day.

use super::*;

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
