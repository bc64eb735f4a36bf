//! Black-box tests: the admin endpoints the console adds (`/admin/dashboard`, `/admin/logs`).

use gatehouse_tui::app::App;
use serde_json::json;

use crate::console::{admin_client, admin_ok};
#[allow(unused_imports)]
use crate::harness::*;

#[test]
fn dashboard_reports_lan_requests_errors_store_and_backup() {
    let server = Server::start();
    let c = admin_client(&server.state);
    let d0 = admin_ok(&c, "GET", "/admin/dashboard", None);
    assert!(d0["last_backup_unix"].is_null(), "{d0}");
    assert!(d0["store_bytes"].as_u64().unwrap() > 0, "{d0}");
    assert_eq!(d0["timezone_offset_minutes"], 420);
    assert!(d0["local_date"].as_str().unwrap().len() == 10, "{d0}");
    let before = d0["requests"]["total"].as_u64().unwrap();
    for _ in 0..5 {
        get(&server.url("/healthz"), &[]);
    }
    get(&server.url("/codelayer/nope"), &[]);
    get(&server.url("/no-such-path"), &[]);
    // Admin calls are the console's own polling: not counted as site traffic.
    for _ in 0..5 {
        admin_ok(&c, "GET", "/admin/status", None);
    }
    let d = admin_ok(&c, "GET", "/admin/dashboard", None);
    let r = &d["requests"];
    assert_eq!(r["total"].as_u64().unwrap(), before + 7, "{d}");
    assert!(r["client_errors"].as_u64().unwrap() >= 1, "{d}");
    assert_eq!(r["server_errors"], 0, "{d}");
    assert!(
        r["per_sec_1m"].as_f64().unwrap() >= 7.0 / 60.0 - 1e-9,
        "{d}"
    );
    let out = server.state.join("b.backup");
    server.cli_json(&["backup", "--out", out.to_str().unwrap()]);
    let d = admin_ok(&c, "GET", "/admin/dashboard", None);
    let t = d["last_backup_unix"].as_i64().unwrap();
    assert!((now_unix() - t).abs() < 60, "{d}");
    assert!(d["recent_warnings"].as_array().unwrap().is_empty(), "{d}");

    // A backup that cannot be written is an error the dashboard shows without opening the logs.
    let a = c
        .post(
            "/admin/backup",
            &json!({"out": "/proc/gatehouse/no.backup"}),
        )
        .unwrap();
    assert!(a.status >= 400, "{}", a.body);
    let d = admin_ok(&c, "GET", "/admin/dashboard", None);
    let warnings = d["recent_warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|e| e["level"] == "ERROR"), "{d}");
    let mut app = App::new();
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("Last backup      FAILED "),
        "a failed backup shows: {s}"
    );
    assert_eq!(d["last_backup"]["ok"], false, "{d}");
    assert!(s.contains("latest warnings"), "{s}");
    assert!(s.contains("ERROR"), "{s}");
}

#[test]
fn logs_endpoint_filters_by_level_limits_at_its_edges_and_keeps_secrets_out() {
    let server = Server::start();
    let c = admin_client(&server.state);
    server.cli_json(&[
        "user",
        "add",
        "--username",
        "rudi",
        "--password",
        "Rahasia-77x",
        "--role",
        "clerk",
    ]);
    let client = server.cli_json(&["client", "add", "--name", "payroll"]);
    let private = client["private_key"].as_str().unwrap().to_string();
    let all = admin_ok(&c, "GET", "/admin/logs", None);
    let events = all.as_array().unwrap();
    let added = events
        .iter()
        .find(|e| e["message"] == "user added")
        .unwrap_or_else(|| panic!("user added event: {all}"));
    assert_eq!(added["level"], "INFO");
    assert!(added["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f[0] == "user" && f[1] == "rudi"));
    assert!(added["unix_ms"].as_i64().unwrap() > 0 && added["seq"].as_u64().unwrap() > 0);
    let text = all.to_string();
    assert!(
        !text.contains("Rahasia-77x"),
        "a password reached the log ring"
    );
    assert!(
        !text.contains(&private),
        "a private key reached the log ring"
    );
    // Oldest first, seq increasing.
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // level=warn: nothing below WARN.
    let warn = admin_ok(&c, "GET", "/admin/logs?level=warn", None);
    assert!(warn
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["level"] == "WARN" || e["level"] == "ERROR"));
    // limit edges: 1 and 500 accepted, 0 and 501 refused; a bad level refused.
    let one = admin_ok(&c, "GET", "/admin/logs?limit=1", None);
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert!(
        one[0]["seq"].as_u64().unwrap() >= events.last().unwrap()["seq"].as_u64().unwrap(),
        "limit keeps the newest: {one}"
    );
    admin_ok(&c, "GET", "/admin/logs?limit=500", None);
    for bad in ["limit=0", "limit=501", "limit=x", "level=loud"] {
        let a = c.get(&format!("/admin/logs?{bad}")).unwrap();
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
        assert_eq!(a.body["ok"], false);
        let field = if bad.starts_with("limit") {
            "limit"
        } else {
            "level"
        };
        assert_eq!(a.body["fields"][0]["field"], field, "{}", a.body);
    }
}
