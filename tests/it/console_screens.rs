//! Black-box tests: the desk's new and changed screens drawn at 80×24 against a running server
//! (snapshots under tests/it/snapshots): the issue form with whole labels and item rows, a
//! refused submit, the pass detail after a scan, the dashboard's charts and needs-action line,
//! attendance/muster/flagged of a day, users with disabled and locked accounts, a log event in
//! full.

use gatehouse_tui::app::App;
use gatehouse_tui::crossterm::event::{Event, KeyCode, KeyEvent};
use serde_json::json;

use crate::console::{admin_client, admin_ok, assert_fits, assert_snapshot, screen};
#[allow(unused_imports)]
use crate::harness::*;

fn key(app: &mut App, k: KeyCode) {
    app.on_key(KeyEvent::from(k));
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

#[test]
fn desk_screens_render_whole_at_80x24() {
    let server = Server::start();
    let state = server.state.clone();
    let c = admin_client(&state);
    // A roll of three, one gang; a pass issued and inside; a disabled user.
    let csv = state.join("employees.csv");
    std::fs::write(
        &csv,
        "code,name,sex,dob,doj,pan,department,designation,firm,group,shift\n\
         E1,Ravi,M,,2020-01-01,,FLD,LAB,1,G1,\nE2,Uma,F,,2021-05-01,,FLD,LAB,1,G1,\n\
         E3,Joko,M,,2021-05-01,,OFFICE,CLK,1,,\n",
    )
    .unwrap();
    server.cli_json(&["import", "employees", csv.to_str().unwrap()]);
    server.cli_json(&[
        "user",
        "add",
        "--username",
        "budi",
        "--password",
        "Sawit-2026",
    ]);
    server.cli_json(&["user", "disable", "--username", "budi"]);
    let p = admin_ok(
        &c,
        "POST",
        "/admin/gatepasses",
        Some(
            json!({"kind": "material", "name": "Pak Joko", "purpose": "Pump repair",
                    "items": [{"name": "urea", "qty": 2, "unit": "bags"},
                              {"name": "water pump", "qty": 1, "unit": "pc"}]}),
        ),
    );
    let number = p["number"].as_str().unwrap().to_string();

    let mut app = App::new();
    gatehouse_tui::settle(&mut app, &c);

    // Dashboard: charts and what needs action (no backup yet).
    let s = screen(&mut app, &c, 0);
    assert_fits(&s);
    for want in [
        "Punches/hour: 0",
        "Passes/day: 1 today",
        "Muster kg/day: 0",
        "NEEDS ACTION: no backup yet (screen 8)",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    assert_snapshot("desk_dashboard", &s, &state);

    // The material issue form, items typed one per row, cursor on the items.
    app.select(2);
    gatehouse_tui::settle(&mut app, &c);
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "Pak Joko");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "urea 2 bags");
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "water pump 1 pc");
    let s = gatehouse_tui::render(&app, 80, 24);
    assert_fits(&s);
    assert!(
        s.contains("Carried by *") && s.contains("2. water pump 1 pc"),
        "{s}"
    );
    assert_snapshot("desk_issue_form", &s, &state);
    // A bad date: refused before leaving the console, cursor on the date.
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "2026-02-30");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "Pump repair");
    key(&mut app, KeyCode::Enter);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert_fits(&s);
    assert!(s.contains("> Return by") && s.contains("not a date"), "{s}");
    assert_snapshot("desk_form_refused", &s, &state);
    key(&mut app, KeyCode::Esc);

    // Scanned: the pass in full with in/out ready; in twice refused with when.
    let mut evs: Vec<Event> = number
        .chars()
        .map(|ch| Event::Key(KeyEvent::from(KeyCode::Char(ch))))
        .collect();
    evs.push(Event::Key(KeyEvent::from(KeyCode::Enter)));
    app.select(0);
    app.on_events(evs);
    gatehouse_tui::settle(&mut app, &c);
    key(&mut app, KeyCode::Char('i'));
    gatehouse_tui::settle(&mut app, &c);
    key(&mut app, KeyCode::Char('i'));
    gatehouse_tui::settle(&mut app, &c);
    let s = gatehouse_tui::render(&app, 80, 24);
    assert_fits(&s);
    assert!(s.contains("Refused: Already inside since"), "{s}");
    assert!(
        s.contains("Items        1. urea 2 bags") && s.contains("2. water pump 1 pc"),
        "{s}"
    );
    assert_snapshot("desk_scanned_pass", &s, &state);
    key(&mut app, KeyCode::Esc);

    // Attendance of the day: by gang, muster, flagged.
    let s = screen(&mut app, &c, 3);
    assert_fits(&s);
    assert!(
        s.contains("view: attendance (v)") && s.contains("ABSENT (2)"),
        "{s}"
    );
    assert_snapshot("desk_attendance", &s, &state);
    key(&mut app, KeyCode::Char('v'));
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("Muster: 0 lines"), "{s}");
    assert_snapshot("desk_muster", &s, &state);
    key(&mut app, KeyCode::Char('v'));
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("No flagged punches this day."), "{s}");
    // The day before: the date moves, the server answers for it.
    key(&mut app, KeyCode::Left);
    gatehouse_tui::settle(&mut app, &c);
    let before = gatehouse_tui::render(&app, 80, 24);
    assert_ne!(before.lines().nth(2), s.lines().nth(2), "{before}");

    // Users: disabled, whole.
    let s = screen(&mut app, &c, 4);
    assert_fits(&s);
    let row = s.lines().find(|l| l.contains("budi")).unwrap_or_default();
    assert!(row.trim_end().ends_with("disabled"), "{s}");
    assert_snapshot("desk_users", &s, &state);
}
