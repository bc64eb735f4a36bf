//! Black-box tests: the console. Every screen drawn at 80×24 (ratatui's TestBackend) against a
//! running server, the admin endpoints the console adds (/admin/dashboard, /admin/logs), and the
//! real binary driven in tmux.
//!
//! Screen snapshots live in tests/it/snapshots/console_<screen>.txt. Volatile parts (numbers,
//! temp paths, digests) are normalised before comparing, so a snapshot checks the layout and the
//! words. After a deliberate change: `CONSOLE_UPDATE_SNAPSHOTS=1 cargo test --test it console::`
//! and review the diff.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_tui::app::App;
use gatehouse_tui::client::AdminClient;
use gatehouse_tui::crossterm::event::{KeyCode, KeyEvent};
use serde_json::{json, Value};

#[allow(unused_imports)]
use crate::harness::*;

pub(crate) fn admin_client(state: &Path) -> AdminClient {
    AdminClient::new(state.join("admin.sock")).with_timeout(Duration::from_secs(60))
}

/// `data` of an admin call, asserting it succeeded.
pub(crate) fn admin_ok(c: &AdminClient, method: &str, path: &str, body: Option<Value>) -> Value {
    let a = c
        .request(method, path, body.as_ref())
        .expect("admin socket");
    assert_eq!(a.status, 200, "{method} {path}: {}", a.body);
    a.into_data().expect("ok answer")
}

/// The screen `i`, loaded from the server and drawn at 80×24.
pub(crate) fn screen(app: &mut App, c: &AdminClient, i: usize) -> String {
    app.select(i);
    gatehouse_tui::settle(app, c);
    gatehouse_tui::render(app, 80, 24)
}

pub(crate) fn normalise(s: &str, state: &Path) -> String {
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
pub(crate) fn assert_snapshot(name: &str, screen: &str, state: &Path) {
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
pub(crate) fn assert_fits(screen: &str) {
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
    assert!(s.contains("i in · o out · p print · Esc list"), "{s}");
    app.on_key(KeyEvent::from(KeyCode::Esc));
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("KT8123AB") && s.contains("search \"kt8123\""),
        "Esc left the search: {s}"
    );

    let s = screen(&mut app, &c, 3);
    assert_fits(&s);
    assert!(
        s.contains("present 0 · late 0 · absent 3 ·") && s.contains("punches in 0 / out 0"),
        "{s}"
    );
    let g1 = s.lines().find(|l| l.contains("> G1")).unwrap_or_default();
    assert!(g1.contains("G1") && g1.contains(" 2 "), "{s}");
    assert!(s.contains("OFFICE"), "{s}");
    // G1 is selected first: its absent people are listed.
    assert!(
        s.contains("ABSENT (2)") && s.contains("- Ravi (E1)") && s.contains("- Uma (E2)"),
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
        s.contains("Users — keys") && s.contains("lift every lockout refusing the user"),
        "{s}"
    );
    assert_snapshot("help_users", &s, &state);
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
