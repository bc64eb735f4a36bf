//! Widgets after real actions, the app's Remove/Tasks screens, projects, demo data, OpenAPI.

use super::*;

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
    let out = first_run_text(&s);
    let pw = out
        .split("admin username=admin password=")
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
    // Under a text filter the groupings walk (service::walks): the same shapes, only the match.
    let g = ok(
        &admin.call("GET", "/app/tasks/grouping?mine=false&q=DRAINS", None),
        200,
    );
    let counts: Vec<u64> = g["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [0, 1, 0, 0], "{g}");
    assert_eq!(
        g["groups"][1]["items"][0]["title"],
        "Clear drains in block C"
    );
    let gu = ok(
        &admin.call("GET", "/app/tasks/grouping/users?q=drains", None),
        200,
    );
    assert_eq!(gu["items"].as_array().unwrap().len(), 1, "{gu}");
    assert_eq!(gu["items"][0]["user"]["name"], "Administrator");
    assert_eq!(gu["items"][0]["total"], 1);
    assert_eq!(gu["items"][0]["counts"]["in_progress"], 1);
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
