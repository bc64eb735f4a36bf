//! Black-box tests: the console's actions at the desk (users, outbox, gatepass returns, backup
//! and restore) driven through `App` against a running server.

use gatehouse_tui::app::App;
use gatehouse_tui::crossterm::event::{KeyCode, KeyEvent};
use serde_json::json;

use crate::console::{admin_client, admin_ok, assert_fits, screen};
#[allow(unused_imports)]
use crate::harness::*;

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
    // The form stays open with what was typed; Esc leaves it.
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(s.contains("! Refused: "), "{s}");
    key(&mut app, KeyCode::Esc);

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
    // Enter ends the item row; Enter on the empty next row submits.
    app.on_key(KeyEvent::from(KeyCode::Enter));
    app.on_key(KeyEvent::from(KeyCode::Enter));
    gatehouse_tui::settle(&mut app, &c);
    assert_eq!(
        app.message.as_deref(),
        Some(format!("Done: material back on gatepass {number}.").as_str())
    );
    let s = gatehouse_tui::render(&app, 80, 24);
    assert!(
        s.contains("overdue 0") && !s.contains(&format!("> {number}")),
        "{s}"
    );
    let d = admin_ok(&c, "GET", "/admin/dashboard", None);
    assert_eq!(d["gatepasses"]["overdue"], 0, "{d}");
}
