//! Generate/Download Report: only the chosen period, CSV and XLSX, site days; the read bench.

use super::*;

/// Downloads the file of a Generate Report answer: (status, content type, disposition, bytes).
fn fetch(da: &DaSession, report: &Value) -> (u16, String, String, Vec<u8>) {
    let url = report["download_url"].as_str().unwrap();
    download(da, url.trim_start_matches("/daily/v1"))
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
    let (st, ct, cd, bytes) = fetch(&da, &r);
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
    let (_, _, _, bytes) = fetch(&da, &r);
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
    let (st, ct, cd, bytes) = fetch(&da, &r);
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

/// `cargo test --test it bench_tasks -- --ignored --nocapture`: Save Task over HTTP from 8
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

/// A counter from /metrics (0 when not yet reported).
fn metric(s: &Server, name: &str) -> u64 {
    get(&s.url("/metrics"), &[])
        .text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Reports are heavy answers: managers asking at once share one build (and one stored report),
/// and a task finished afterwards is in the very next report.
#[test]
fn concurrent_reports_share_one_build_and_a_write_is_in_the_next() {
    let s = Server::start();
    let da = DaSession::open(&s, "andi", "andi-pass-1", "manager");
    let me = ok(&da.call("GET", "/user/profile", None), 200)["user_id"].clone();
    let today = today(&da);
    let done = |title: &str| {
        let id = ok(
            &da.call(
                "POST",
                "/tasks",
                Some(&json!({"title": title, "assignee_id": me})),
            ),
            201,
        )["task_id"]
            .as_u64()
            .unwrap();
        ok(
            &da.call(
                "PUT",
                &format!("/tasks/{id}"),
                Some(&json!({"status": "done"})),
            ),
            200,
        );
        id
    };
    let path = format!("/reports/tasks?from={today}&to={today}&format=csv");
    let kind = r#"gatehouse_answers_renders_total{kind="work.report"}"#;
    // Data versions are per slot of trees, and background sweeps write other trees: a write
    // landing between the callers costs an honest second build. Each try starts from a new
    // version (one more task done); one of three must be a single build for all six.
    let mut finished = Vec::new();
    let mut builds = Vec::new();
    let mut reports: Vec<Value> = Vec::new();
    for attempt in 0..3 {
        finished.push(done(&format!("Task {attempt}")));
        let before = metric(&s, kind);
        reports = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..6)
                .map(|_| sc.spawn(|| ok(&da.call("GET", &path, None), 200)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        builds.push(metric(&s, kind) - before);
        if builds.last() == Some(&1) {
            break;
        }
    }
    assert_eq!(
        builds.last(),
        Some(&1),
        "six managers, one build: {builds:?}"
    );
    for r in &reports {
        assert_eq!(r["report_id"], reports[0]["report_id"], "one stored report");
        assert_eq!(r["tasks_done"], finished.len());
    }
    finished.push(done("Second"));
    let r = ok(&da.call("GET", &path, None), 200);
    assert_eq!(r["tasks_done"], finished.len(), "{r}");
    assert_ne!(r["report_id"], reports[0]["report_id"]);
    let (_, _, _, bytes) = fetch(&da, &r);
    let ids: Vec<u64> = csv::Reader::from_reader(bytes.as_slice())
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert_eq!(ids, finished);
}
