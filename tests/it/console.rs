//! Black-box tests: the console. Every screen drawn at 80×24 (ratatui's TestBackend) against a
//! running server, the admin endpoints the console adds (/admin/dashboard, /admin/logs), and the
//! real binary driven in tmux.
//!
//! Screen snapshots live in tests/it/snapshots/console_<screen>.txt. Volatile parts (numbers,
//! temp paths, digests) are normalised before comparing, so a snapshot checks the layout and the
//! words. After a deliberate change: `CONSOLE_UPDATE_SNAPSHOTS=1 cargo test --test it console::`
//! and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gatehouse_tui::app::App;
use gatehouse_tui::client::AdminClient;
use gatehouse_tui::crossterm::event::{KeyCode, KeyEvent};
use serde_json::{json, Value};

#[allow(unused_imports)]
use crate::harness::*;

fn admin_client(state: &Path) -> AdminClient {
    AdminClient::new(state.join("admin.sock")).with_timeout(Duration::from_secs(60))
}

/// `data` of an admin call, asserting it succeeded.
fn admin_ok(c: &AdminClient, method: &str, path: &str, body: Option<Value>) -> Value {
    let a = c
        .request(method, path, body.as_ref())
        .expect("admin socket");
    assert_eq!(a.status, 200, "{method} {path}: {}", a.body);
    a.into_data().expect("ok answer")
}

/// The screen `i`, loaded from the server and drawn at 80×24.
fn screen(app: &mut App, c: &AdminClient, i: usize) -> String {
    app.select(i);
    gatehouse_tui::settle(app, c);
    gatehouse_tui::render(app, 80, 24)
}

fn normalise(s: &str, state: &Path) -> String {
    let state = state.display().to_string();
    s.lines()
        .map(|l| {
            let l = l.replace(&state, "<state>");
            let mut out = String::new();
            let mut last_digit = false;
            let mut last_space = false;
            for w in l.split_inclusive(' ') {
                // Digests, long hex words and temp paths (whole or cut) carry no layout.
                let bare = w.trim_end();
                let hex = bare.len() >= 16 && bare.chars().all(|c| c.is_ascii_hexdigit());
                if hex || bare.contains("/.tmp") || bare.contains("/tmp") {
                    out.push_str(if hex { "<hex>" } else { "<tmp>" });
                    if w.ends_with(' ') {
                        out.push(' ');
                    }
                    continue;
                }
                for ch in w.chars() {
                    if ch.is_ascii_digit() {
                        if !last_digit {
                            out.push('9');
                        }
                        last_digit = true;
                        last_space = false;
                    } else if ch == ' ' {
                        if !last_space {
                            out.push(' ');
                        }
                        last_space = true;
                        last_digit = false;
                    } else {
                        out.push(ch);
                        last_digit = false;
                        last_space = false;
                    }
                }
            }
            // Sizes change unit as a store grows (B, KiB, MiB): the unit is not layout either.
            let mut out = out.trim_end().to_string();
            for unit in ["9.9 KiB", "9.9 MiB", "9.9 GiB"] {
                out = out.replace(unit, "<size>");
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots")
}

/// Compares a screen with its stored snapshot (written when missing or when asked to update).
fn assert_snapshot(name: &str, screen: &str, state: &Path) {
    let got = normalise(screen, state);
    let file = snapshot_dir().join(format!("console_{name}.txt"));
    let update = std::env::var("CONSOLE_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    match std::fs::read_to_string(&file) {
        Ok(want) if !update => assert_eq!(
            want.trim_end(),
            got.trim_end(),
            "screen {name} differs from {}.\nScreen as drawn:\n{screen}\n\
             If the change is deliberate: CONSOLE_UPDATE_SNAPSHOTS=1 cargo test --test it console:: and review the diff.",
            file.display()
        ),
        _ => {
            std::fs::create_dir_all(snapshot_dir()).unwrap();
            std::fs::write(&file, format!("{got}\n")).unwrap();
            eprintln!("snapshot written: {}", file.display());
        }
    }
}

/// No row is wider than the terminal and the frame is exactly 24 rows.
fn assert_fits(screen: &str) {
    let rows: Vec<&str> = screen.lines().collect();
    assert_eq!(rows.len(), 24, "{screen}");
    for r in rows {
        assert!(r.chars().count() <= 80, "row too wide: {r}");
    }
}

#[test]
fn every_screen_renders_at_80x24_against_a_running_server() {
    let server = Server::start();
    let state = server.state.clone();
    let c = admin_client(&state);
    server.cli_json(&[
        "user",
        "add",
        "--username",
        "siti",
        "--password",
        "Kebun-2026!",
        "--role",
        "gate_guard",
        "--name",
        "Siti Rahma",
    ]);
    // Some LAN traffic for the request figures, one of it a client error.
    for _ in 0..3 {
        assert_eq!(get(&server.url("/healthz"), &[]).status, 200);
    }
    assert_eq!(get(&server.url("/daily/v1/no-such-thing"), &[]).status, 404);
    let backup = state.join("backups/console-test.backup");
    server.cli_json(&["backup", "--out", backup.to_str().unwrap()]);
    // A handheld asking for a licence.
    let lic = codelayer(
        &server,
        "system/license",
        &json!({"imei": "356938035643809", "appID": "POABS"}),
    );
    assert_eq!(lic["licenses"][0]["statusCode"], 1, "{lic}");
    // Three people on the roll, nobody clocked in yet.
    let csv = state.join("employees.csv");
    std::fs::write(
        &csv,
        "code,name,sex,dob,doj,pan,department,designation,firm,group,shift\n\
         E1,Ravi,M,,2020-01-01,,FLD,LAB,1,G1,\nE2,Uma,F,,2021-05-01,,FLD,LAB,1,G1,\n\
         E3,Joko,M,,2021-05-01,,OFFICE,CLK,1,,\n",
    )
    .unwrap();
    let imported = server.cli_json(&["import", "employees", csv.to_str().unwrap()]);
    assert_eq!(imported["inserted"], 3, "{imported}");
    // A visitor at the gate, inside now; a lorry issued but not yet in.
    let visitor = admin_ok(
        &c,
        "POST",
        "/admin/gatepasses",
        Some(
            json!({"kind": "visitor", "name": "Budi Santoso", "host": "Estate office",
                    "purpose": "Fertiliser delivery meeting", "phone": "+62811111111"}),
        ),
    );
    let number = visitor["number"].as_str().unwrap().to_string();
    admin_ok(
        &c,
        "POST",
        &format!("/admin/gatepasses/{number}/in"),
        Some(json!({})),
    );
    admin_ok(
        &c,
        "POST",
        "/admin/gatepasses",
        Some(
            json!({"kind": "vehicle", "vehicle": "KT 8123 AB", "driver": "Mani",
                    "purpose": "Leaf to factory"}),
        ),
    );

    let mut app = App::new();
    gatehouse_tui::settle(&mut app, &c);

    // Dashboard.
    let s = screen(&mut app, &c, 0);
    assert_fits(&s);
    assert!(s.contains("[Dashboard]"), "{s}");
    assert!(s.contains("server: online"), "{s}");
    assert!(s.contains("Requests/s"), "{s}");
    assert!(s.contains("Errors 4xx/5xx"), "{s}");
    assert!(s.contains("Store size"), "{s}");
    assert!(!s.contains("never"), "the backup is shown: {s}");
    assert!(s.contains("(just now)"), "{s}");
    assert!(s.contains("Devices          0 online, 1 pending"), "{s}");
    assert!(s.contains("Muster lines     0"), "{s}");
    assert!(s.contains("Punches in/out   0 / 0"), "{s}");
    assert!(s.contains("Passes inside    1"), "{s}");
    assert!(s.contains("Gatepasses today 2"), "{s}");
    assert_snapshot("dashboard", &s, &state);

    // Licences: the identity area's endpoint, or a clear "not available".
    let s = screen(&mut app, &c, 1);
    assert_fits(&s);
    assert!(s.contains("[Licences]"), "{s}");
    assert!(s.contains("1 pending of 1 devices"), "{s}");
    assert!(
        s.contains("356938035643809") && s.contains("POABS") && s.contains("PENDING"),
        "{s}"
    );
    assert!(
        s.contains("just now"),
        "the licence request counts as seen: {s}"
    );
    assert_snapshot("licences", &s, &state);

    let s = screen(&mut app, &c, 2);
    assert_fits(&s);
    assert!(
        s.contains("[Gatepass]") && s.contains("View: inside"),
        "{s}"
    );
    assert!(s.contains("Inside 1 · today 2 · overdue 0"), "{s}");
    let row = s
        .lines()
        .find(|l| l.contains("Budi Santoso"))
        .unwrap_or_default();
    assert!(
        row.contains(&number) && row.contains("visitor") && row.contains(" in "),
        "{s}"
    );
    assert!(!s.contains("KT8123AB"), "the lorry is not inside: {s}");
    assert!(s.contains("host: Estate office"), "{s}");
    assert_snapshot("gatepass", &s, &state);
    // Search by vehicle, in the view of the day.
    app.on_key(KeyEvent::from(KeyCode::Char('v')));
    app.on_key(KeyEvent::from(KeyCode::Char('/')));
    for ch in "kt8123".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(ch)));
    }
    app.on_key(KeyEvent::from(KeyCode::Enter));
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("View: today · search \"kt8123\""), "{s}");
    assert!(s.contains("KT8123AB") && !s.contains("Budi Santoso"), "{s}");
    // Enter: the pass in full, with its stamps; Esc: back to the list.
    app.on_key(KeyEvent::from(KeyCode::Enter));
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert_fits(&s);
    assert!(
        s.contains("Driver       Mani") && s.contains("Purpose      Leaf to factory"),
        "{s}"
    );
    assert!(s.contains("at Main gate by desk"), "{s}");
    assert!(s.contains("Esc: back to the list"), "{s}");
    app.on_key(KeyEvent::from(KeyCode::Esc));
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("KT8123AB") && s.contains("search \"kt8123\""),
        "Esc left the search: {s}"
    );

    let s = screen(&mut app, &c, 3);
    assert_fits(&s);
    assert!(s.contains("punches in 0 / out 0 · present 0"), "{s}");
    let g1 = s.lines().find(|l| l.contains("> G1")).unwrap_or_default();
    assert!(g1.contains("G1") && g1.contains(" 2 "), "{s}");
    assert!(s.contains("OFFICE"), "{s}");
    // G1 is selected first: its missing people are listed.
    assert!(
        s.contains("Missing: G1") && s.contains("- Ravi") && s.contains("- Uma"),
        "{s}"
    );
    assert_snapshot("attendance", &s, &state);

    // Users: the first-run admin and the one added above, with roles.
    let s = screen(&mut app, &c, 4);
    assert_fits(&s);
    assert!(s.contains("2 users"), "{s}");
    assert!(
        s.contains("siti") && s.contains("Siti Rahma") && s.contains("gate_guard"),
        "{s}"
    );
    assert!(s.contains("admin"), "{s}");
    assert_snapshot("users", &s, &state);

    let s = screen(&mut app, &c, 5);
    assert_fits(&s);
    assert!(s.contains("[Outbox]"), "{s}");
    assert!(s.contains("The outbox is empty"), "{s}");
    assert_snapshot("outbox", &s, &state);

    // Logs: the user we added is there (as the server logged it), the password is not.
    let s = screen(&mut app, &c, 6);
    assert_fits(&s);
    assert!(s.contains("user added user=siti role=gate_guard"), "{s}");
    assert!(!s.contains("Kebun-2026!"), "{s}");
    // Other areas log more as they land: snapshot the screen searched down to one event.
    app.on_key(KeyEvent::from(KeyCode::Char('/')));
    for ch in "user added".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(ch)));
    }
    app.on_key(KeyEvent::from(KeyCode::Enter));
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("text \"user added\""), "{s}");
    assert!(!s.contains("backup written"), "{s}");
    assert_snapshot("logs", &s, &state);

    let s = screen(&mut app, &c, 7);
    assert_fits(&s);
    assert!(s.contains("b: backup now"), "{s}");
    assert!(s.contains("Last backup: "), "{s}");
    assert!(
        s.contains("console-test.backup"),
        "the CLI's backup is the last one: {s}"
    );
    assert_snapshot("backup", &s, &state);

    // Help on a screen, over the screen.
    app.select(4);
    app.on_key(KeyEvent::from(KeyCode::Char('?')));
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("Users — keys") && s.contains("unlock after too many"),
        "{s}"
    );
    assert_snapshot("help_users", &s, &state);
}

#[test]
fn console_actions_reach_the_server() {
    let mut server = Server::start();
    // The state outlives this server: the restore below restarts it on the same directory.
    let _state_dir = server.keep_state();
    let state = server.state.clone();
    let c = admin_client(&state);
    let mut app = App::new();
    let key = |app: &mut App, k: KeyCode| app.on_key(KeyEvent::from(k));
    let typed = |app: &mut App, s: &str| {
        for ch in s.chars() {
            app.on_key(KeyEvent::from(KeyCode::Char(ch)));
        }
    };
    // Add a user through the form.
    app.select(4);
    gatehouse_tui::settle(&mut app, &c);
    key(&mut app, KeyCode::Char('n'));
    typed(&mut app, "budi");
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "Budi Santoso");
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "Sawit-2026");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Right); // clerk → gate_guard
    key(&mut app, KeyCode::Enter);
    gatehouse_tui::settle(&mut app, &c);
    assert_eq!(app.message.as_deref(), Some("Done: user budi added."));
    let users = admin_ok(&c, "GET", "/admin/users", None);
    let budi = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "budi")
        .expect("budi added");
    assert_eq!(budi["role"], "gate_guard");
    assert_eq!(budi["name"], "Budi Santoso");
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("budi"), "the list was reloaded: {s}");

    // A refused one: the same username again says why.
    key(&mut app, KeyCode::Char('n'));
    typed(&mut app, "budi");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "Sawit-2026");
    key(&mut app, KeyCode::Enter);
    gatehouse_tui::settle(&mut app, &c);
    let msg = app.message.clone().unwrap_or_default();
    assert!(msg.starts_with("Refused: "), "{msg}");

    // Backup now, to the offered default path under the state directory.
    app.select(7);
    gatehouse_tui::settle(&mut app, &c);
    key(&mut app, KeyCode::Char('b'));
    key(&mut app, KeyCode::Enter);
    gatehouse_tui::settle(&mut app, &c);
    let msg = app.message.clone().unwrap_or_default();
    assert!(msg.starts_with("Done: backup written to "), "{msg}");
    let file = msg
        .trim_start_matches("Done: backup written to ")
        .trim_end_matches('.')
        .to_string();
    assert!(
        file.starts_with(state.join("backups").to_str().unwrap()),
        "{file}"
    );
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
    // And check the store from the console.
    key(&mut app, KeyCode::Char('k'));
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("Check passed:"), "{s}");
    let d = admin_ok(&c, "GET", "/admin/dashboard", None);
    assert!(
        d["last_backup_unix"].as_i64().unwrap() > now_unix() - 60,
        "{d}"
    );
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("by hand"),
        "the schedule panel shows this backup: {s}"
    );

    // Restore that backup from the console: asks, stages, the server restarts with it.
    server.cli_json(&[
        "user",
        "add",
        "--username",
        "after-backup",
        "--password",
        "After-backup-1",
    ]);
    key(&mut app, KeyCode::Char('R'));
    key(&mut app, KeyCode::Enter); // the last backup's file is offered
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("Restore from") && s.contains("y = yes"),
        "asks first: {s}"
    );
    key(&mut app, KeyCode::Char('y'));
    gatehouse_tui::settle(&mut app, &c);
    let msg = app.message.clone().unwrap_or_default();
    assert!(
        msg.starts_with(&format!("Done: restore from {file} staged")),
        "{msg}"
    );
    let code = server.stop_waiting();
    assert_ne!(code, Some(0), "exits so systemd restarts it");
    let server = Server::start_on(&state, &[]);
    let users = admin_ok(&c, "GET", "/admin/users", None);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert!(
        names.contains(&"budi") && !names.contains(&"after-backup"),
        "{names:?}"
    );
    // The console sees the server again.
    app.tick();
    gatehouse_tui::settle(&mut app, &c);
    assert_eq!(app.conn, gatehouse_tui::app::Conn::Online);
    drop(server);
}

#[test]
fn console_shows_a_locked_user_unlocks_it_and_resets_the_password() {
    let server = Server::start();
    let c = admin_client(&server.state);
    server.cli_json(&[
        "user",
        "add",
        "--username",
        "mandor",
        "--password",
        "Mandor-2026",
        "--role",
        "supervisor",
    ]);
    let imei = "356938035640001";
    // Licensed, registered and signed in once (the harness approves through the CLI).
    codelayer_login(&server, "mandor", "Mandor-2026", imei);
    let key = codelayer_licence(&server, imei);
    let auth = |password: &str| {
        codelayer(
            &server,
            "system/auth",
            &json!({"key": key, "username": "mandor", "password": password, "imei": imei, "ver": "1.0.0.0"}),
        )
    };
    for _ in 0..6 {
        auth("wrong-password");
    }
    let locked = admin_ok(&c, "GET", "/admin/lockouts", None);
    assert!(
        locked
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["subject"] == "user:mandor"),
        "{locked}"
    );
    let mut app = App::new();
    let s = screen(&mut app, &c, 4);
    let row = s
        .lines()
        .find(|l| l.contains("supervisor"))
        .unwrap_or_default()
        .to_string();
    assert!(row.contains("LOCKED"), "{s}");
    // Find mandor, unlock.
    app.on_key(KeyEvent::from(KeyCode::Char('/')));
    for ch in "mandor".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(ch)));
    }
    app.on_key(KeyEvent::from(KeyCode::Enter));
    app.on_key(KeyEvent::from(KeyCode::Char('u')));
    gatehouse_tui::settle(&mut app, &c);
    assert_eq!(app.message.as_deref(), Some("Done: mandor unlocked."));
    let s = gatehouse_tui::render(&app, 80, 24);
    let row = s
        .lines()
        .find(|l| l.contains("supervisor"))
        .unwrap_or_default()
        .to_string();
    assert!(row.contains("active") && !row.contains("LOCKED"), "{s}");
    // New password from the console; the device signs in with it.
    app.on_key(KeyEvent::from(KeyCode::Char('p')));
    app.on_key(KeyEvent::from(KeyCode::Tab));
    for ch in "Baru-Sandi-9".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(ch)));
    }
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("************") && !s.contains("Baru-Sandi-9"),
        "password shown masked: {s}"
    );
    app.on_key(KeyEvent::from(KeyCode::Enter));
    gatehouse_tui::settle(&mut app, &c);
    assert_eq!(
        app.message.as_deref(),
        Some("Done: password of mandor changed; its sessions were revoked.")
    );
    // The first handheld is still locked out on its own (IMEI) count; a second one signs in
    // with the new password, and not with the old.
    let imei2 = "356938035640002";
    codelayer_login(&server, "mandor", "Baru-Sandi-9", imei2);
    let key2 = codelayer_licence(&server, imei2);
    let old = codelayer(
        &server,
        "system/auth",
        &json!({"key": key2, "username": "mandor", "password": "Mandor-2026", "imei": imei2, "ver": "1.0.0.0"}),
    );
    assert_eq!(old["e"], 401, "{old}");
    let _ = auth;
}

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
    assert!(s.contains("Latest warnings and errors"), "{s}");
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

#[test]
fn console_says_the_server_is_not_running_and_attaches_when_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let c = admin_client(tmp.path());
    let mut app = App::new();
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert_fits(&s);
    assert!(s.contains("server: OFFLINE"), "{s}");
    assert!(s.contains("SERVER NOT RUNNING"), "{s}");
    assert!(
        s.contains(&tmp.path().join("admin.sock").display().to_string())
            || s.contains("admin socket"),
        "{s}"
    );
    assert!(s.contains("keeps trying"), "{s}");
    assert_snapshot("not_running", &s, tmp.path());
    // Keys still work while offline; no panic, no exit.
    app.on_key(KeyEvent::from(KeyCode::Tab));
    assert!(!app.quit);
    let server = Server::start_on(tmp.path(), &[]);
    app.tick();
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("server: online"), "{s}");
    assert!(s.contains("[Licences]"), "{s}");
    drop(server);
}

// ---- the real binary in tmux ----

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-u")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", &self.session];
        a.extend_from_slice(keys);
        assert!(self.cmd(&a).status.success());
    }

    fn text(&self, s: &str) {
        assert!(self
            .cmd(&["send-keys", "-t", &self.session, "-l", s])
            .status
            .success());
    }

    fn pane(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until the pane shows `what`; panics with the pane after `secs`.
    fn wait_for(&self, what: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let p = self.pane();
            if p.contains(what) {
                return p;
            }
            if Instant::now() > deadline {
                panic!("tmux pane never showed {what:?}; it shows:\n{p}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", &self.session])
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Our own tmux server on its own socket: ends only what this test started.
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn console_in_tmux_approves_a_licence_issues_a_gatepass_and_shows_them() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED console_in_tmux: tmux is not installed (apt-get install tmux)");
        return;
    }
    let server = Server::start();
    let state = server.state.clone();
    let c = admin_client(&state);
    let t = Tmux {
        socket: format!("gatehouse-it-{}", std::process::id()),
        session: "console".into(),
    };
    let command = format!(
        "env -u GATEHOUSE_CONFIG {} console --state {}",
        BIN,
        state.display()
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "console",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.wait_for("server: online", 20);
    t.wait_for("Requests/s", 10);

    // A licence request from a handheld, approved on the console.
    let imei = "356938035643809";
    let lic = codelayer(
        &server,
        "system/license",
        &json!({"imei": imei, "appID": "estate"}),
    );
    if lic["e"] == 200 {
        t.keys(&["2"]);
        let p = t.wait_for(imei, 10);
        assert!(p.contains("PENDING"), "{p}");
        t.keys(&["a"]);
        t.wait_for(&format!("Done: device {imei} approved."), 10);
        let devices = admin_ok(&c, "GET", "/admin/devices", None);
        let d = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["imei"] == imei)
            .expect("device listed");
        assert_eq!(d["status"], "approved", "{devices}");
        let again = codelayer(
            &server,
            "system/license",
            &json!({"imei": imei, "appID": "estate"}),
        );
        assert_eq!(again["licenses"][0]["statusCode"], 2, "{again}");
    } else {
        eprintln!("licence step not run yet: system/license answers {lic}");
    }

    // A visitor's pass issued at the desk, marked in, then seen on the dashboard.
    t.keys(&["3"]);
    t.wait_for("View: inside", 10);
    t.keys(&["n"]);
    t.wait_for("which kind?", 10);
    t.keys(&["Enter"]); // visitor
    t.wait_for("Issue a visitor gatepass", 10);
    t.text("Budi Santoso"); // name
    t.keys(&["Tab", "Tab", "Tab", "Tab"]); // phone, ID type, ID number → host
    t.text("Estate office");
    t.keys(&["Tab"]);
    t.text("Meeting the manager");
    t.keys(&["Enter"]);
    let p = t.wait_for(
        "Done: visitor gatepass issued to Budi Santoso (pass GP-",
        10,
    );
    let number = p
        .split("(pass ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap()
        .to_string();
    t.keys(&["v"]); // inside → today: the new pass is there, not yet inside
    t.wait_for("View: today", 10);
    t.wait_for("visitor  Budi Santoso", 10);
    t.keys(&["i"]);
    t.wait_for(&format!("Mark {number} in"), 10);
    t.keys(&["Enter"]);
    t.wait_for(&format!("Done: gatepass {number} marked in"), 10);
    let pass = admin_ok(&c, "GET", &format!("/admin/gatepasses/{number}"), None);
    assert_eq!(pass["status"], "in", "{pass}");
    assert_eq!(pass["host"], "Estate office", "{pass}");
    t.keys(&["1"]);
    t.wait_for("Passes inside    1", 10);
    t.wait_for("Gatepasses today 1", 10);

    // A user added and a backup written from the console; the dashboard shows the backup.
    t.keys(&["5"]);
    t.wait_for("1 user", 10);
    t.keys(&["n"]);
    t.wait_for("Add a user", 10);
    t.text("warsito");
    t.keys(&["Tab"]);
    t.text("Warsito");
    t.keys(&["Tab"]);
    t.text("Gerbang-2026");
    t.keys(&["Enter"]);
    t.wait_for("Done: user warsito added.", 10);
    t.wait_for("2 users", 10);
    t.keys(&["8"]);
    t.wait_for("b: backup now", 10);
    t.keys(&["b"]);
    t.wait_for("Backup file", 10);
    t.keys(&["Enter"]);
    t.wait_for("Done: backup written to", 30);
    t.keys(&["1"]);
    let p = t.wait_for("(just now)", 10);
    assert!(!p.contains("never"), "{p}");

    // Help, then quit: the console exits and gives the terminal back.
    t.keys(&["?"]);
    t.wait_for("Dashboard — keys", 10);
    t.keys(&["Escape"]);
    // Apart, so the terminal does not read ESC q as Alt-q.
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.alive(), "the console did not exit on q:\n{}", t.pane());
}

#[test]
fn outbox_screen_shows_a_reset_code_for_staff_to_pass_on() {
    let server = Server::start();
    let c = admin_client(&server.state);
    let da = DaSession::open(&server, "kerani01", "kerani-pass-1", "clerk");
    let rid = request_id();
    let bearer = format!("Bearer {}", da.client_token);
    let mut h = da_client_headers(&da.app_key, &bearer, &rid);
    h.push(("content-type", "application/json"));
    let a = send(
        "POST",
        &server.url("/daily/v1/user/forgot-password"),
        &h,
        Some(json!({"username": "kerani01"}).to_string().as_bytes()),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    let msgs = admin_ok(&c, "GET", "/admin/outbox", None);
    let text = msgs[0]["text"].as_str().unwrap().to_string();
    let code: String = text
        .split(|ch: char| !ch.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_string();
    let mut app = App::new();
    let s = screen(&mut app, &c, 5);
    assert_fits(&s);
    let row = s
        .lines()
        .find(|l| l.contains("console") && l.starts_with('>'))
        .unwrap_or_default();
    let status = msgs[0]["status"].as_str().unwrap();
    assert_eq!(status, "pending", "{msgs}");
    assert!(row.contains("PENDING") && row.contains("user #"), "{s}");
    assert!(s.contains("(password_reset)"), "{s}");
    assert!(
        s.contains(&code),
        "the code is on screen for the staff: {s}"
    );
}

#[test]
fn overdue_material_is_found_and_taken_back_at_the_desk() {
    let server = Server::start();
    let c = admin_client(&server.state);
    let yesterday = (chrono::Utc::now() + chrono::Duration::minutes(420)
        - chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    let lorry = admin_ok(
        &c,
        "POST",
        "/admin/gatepasses",
        Some(
            json!({"kind": "material", "name": "Kumar", "vehicle": "TN 72 AB 1234",
            "purpose": "Sprayer repair", "returnable": true, "return_due": yesterday,
            "items": [{"name": "Knapsack sprayer", "qty": 2, "unit": "pcs"}]}),
        ),
    );
    let number = lorry["number"].as_str().unwrap().to_string();
    for step in ["in", "out"] {
        admin_ok(
            &c,
            "POST",
            &format!("/admin/gatepasses/{number}/{step}"),
            Some(json!({})),
        );
    }
    let mut app = App::new();
    screen(&mut app, &c, 2);
    // inside → today → overdue
    for _ in 0..2 {
        app.on_key(KeyEvent::from(KeyCode::Char('v')));
        gatehouse_tui::settle(&mut app, &c);
    }
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("View: overdue") && s.contains("overdue 1"),
        "{s}"
    );
    let row = s.lines().find(|l| l.contains(&number)).unwrap_or_default();
    assert!(row.contains("OVERDUE") && row.contains(&yesterday), "{s}");
    app.on_key(KeyEvent::from(KeyCode::Char('m')));
    app.on_key(KeyEvent::from(KeyCode::Tab));
    for ch in "Knapsack sprayer 2 pcs".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(ch)));
    }
    app.on_key(KeyEvent::from(KeyCode::Enter));
    gatehouse_tui::settle(&mut app, &c);
    assert_eq!(
        app.message.as_deref(),
        Some(format!("Done: material back on gatepass {number} (pass {number}).").as_str())
    );
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("overdue 0") && !s.contains(&format!("> {number}")),
        "{s}"
    );
    let d = admin_ok(&c, "GET", "/admin/dashboard", None);
    assert_eq!(d["gatepasses"]["overdue"], 0, "{d}");
}

#[test]
fn console_in_tmux_waits_for_the_server_and_attaches_when_it_starts() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED console_in_tmux_waits: tmux is not installed (apt-get install tmux)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = Tmux {
        socket: format!("gatehouse-it-wait-{}", std::process::id()),
        session: "console".into(),
    };
    let command = format!(
        "env -u GATEHOUSE_CONFIG {} console --state {}",
        BIN,
        tmp.path().display()
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "console",
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = t.wait_for("SERVER NOT RUNNING", 20);
    assert!(
        p.contains("server: OFFLINE") && p.contains("keeps trying"),
        "{p}"
    );
    // Still there a few retries later: it waits, it does not crash or exit.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(t.alive(), "the console gave up:\n{}", t.pane());
    let server = Server::start_on(tmp.path(), &[]);
    t.wait_for("server: online", 20);
    t.wait_for("Requests/s", 10);
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.alive(), "the console did not exit on q");
    drop(server);
}

#[test]
fn console_without_a_terminal_says_so_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cli(tmp.path(), &["console"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the console needs a terminal"), "{err}");
}
