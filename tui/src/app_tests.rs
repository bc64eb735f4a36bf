//! State transitions of the `App`: keys → actions → state/commands, replies → state.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use serde_json::json;

use crate::app::{App, Conn, Modal};
use crate::io::{Cmd, Fetch, Offline, Reply, Tag};
use crate::render;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ch(app: &mut App, c: char) {
    app.on_key(key(KeyCode::Char(c)));
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        ch(app, c);
    }
}

fn reply(app: &mut App, tag: Tag, fetch: Fetch) {
    app.on_reply(Reply { tag, fetch });
}

fn devices() -> serde_json::Value {
    json!([
        {"imei": "356938035643809", "app_id": "estate", "device_name": "HH-01", "status": "pending",
         "last_seen_unix": 0, "app_version": "1.0.0.1"},
        {"imei": "356938035643810", "app_id": "estate", "device_name": "HH-02", "status": "approved",
         "last_seen_unix": 1, "app_version": "1.0.0.2"}
    ])
}

#[test]
fn starts_by_loading_the_dashboard_once() {
    let mut app = App::new();
    let cmds = app.take_cmds();
    assert_eq!(cmds, vec![Cmd::get(Tag::Dashboard, "/admin/dashboard")]);
    // A tick while that load is out sends nothing new.
    app.tick();
    assert!(app.take_cmds().is_empty());
}

#[test]
fn tab_and_shift_tab_move_between_screens_and_load_them() {
    let mut app = App::new();
    app.take_cmds();
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.current, 1);
    assert_eq!(
        app.take_cmds(),
        vec![Cmd::get(Tag::Devices, "/admin/devices")]
    );
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(app.current, 7, "wraps to the last screen");
    ch(&mut app, '3');
    assert_eq!(app.screen().title(), "Gatepass");
}

#[test]
fn offline_is_shown_and_clears_when_the_server_answers() {
    let mut app = App::new();
    app.take_cmds();
    reply(
        &mut app,
        Tag::Dashboard,
        Fetch::Offline(Offline::NotRunning(
            "The gatehouse server is not running (no admin socket at /x).".into(),
        )),
    );
    assert!(matches!(app.conn, Conn::Offline(_)));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("SERVER NOT RUNNING"), "{screen}");
    assert!(screen.contains("keeps trying"), "{screen}");
    reply(
        &mut app,
        Tag::Dashboard,
        Fetch::Ok(json!({"site": "Kebun Satu"})),
    );
    assert_eq!(app.conn, Conn::Online);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("Kebun Satu"), "{screen}");
    reply(
        &mut app,
        Tag::Dashboard,
        Fetch::Offline(Offline::Permission(
            "Permission denied on the admin socket /x".into(),
        )),
    );
    let screen = render(&app, 80, 24);
    assert!(screen.contains("NO ACCESS"), "{screen}");
}

#[test]
fn q_quits_but_is_a_letter_inside_a_form() {
    let mut app = App::new();
    ch(&mut app, '5');
    ch(&mut app, 'n');
    assert!(matches!(app.modal, Some(Modal::Form(_))));
    ch(&mut app, 'q');
    assert!(!app.quit);
    app.on_key(key(KeyCode::Esc));
    assert!(app.modal.is_none());
    ch(&mut app, 'q');
    assert!(app.quit);
}

#[test]
fn approve_sends_at_once_reject_asks_first() {
    let mut app = App::new();
    ch(&mut app, '2');
    app.take_cmds();
    reply(&mut app, Tag::Devices, Fetch::Ok(devices()));
    ch(&mut app, 'a');
    let cmds = app.take_cmds();
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].path, "/admin/devices/approve");
    assert_eq!(cmds[0].body, Some(json!({"imei": "356938035643809"})));
    // Down, then reject: asks; n = nothing; again and y = sent.
    app.on_key(key(KeyCode::Down));
    ch(&mut app, 'x');
    assert!(matches!(app.modal, Some(Modal::Confirm(..))));
    ch(&mut app, 'n');
    assert!(app.take_cmds().is_empty());
    ch(&mut app, 'x');
    ch(&mut app, 'y');
    let cmds = app.take_cmds();
    assert_eq!(cmds[0].path, "/admin/devices/reject");
    assert_eq!(cmds[0].body, Some(json!({"imei": "356938035643810"})));
    // Its answer: a message and a reload of the list.
    reply(&mut app, cmds[0].tag.clone(), Fetch::Ok(json!({})));
    assert_eq!(
        app.message.as_deref(),
        Some("Done: device 356938035643810 rejected.")
    );
    assert_eq!(
        app.take_cmds(),
        vec![Cmd::get(Tag::Devices, "/admin/devices")]
    );
}

#[test]
fn refused_and_missing_actions_say_so() {
    let mut app = App::new();
    reply(
        &mut app,
        Tag::Done("x".into()),
        Fetch::Failed("username already taken".into()),
    );
    assert_eq!(
        app.message.as_deref(),
        Some("Refused: username already taken")
    );
    reply(&mut app, Tag::Done("x".into()), Fetch::NotAvailable);
    assert_eq!(
        app.message.as_deref(),
        Some("Not available on this server yet.")
    );
    ch(&mut app, '2');
    reply(&mut app, Tag::Devices, Fetch::NotAvailable);
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("not available on this server yet"),
        "{screen}"
    );
}

#[test]
fn search_filters_and_esc_clears_it() {
    let mut app = App::new();
    ch(&mut app, '5');
    reply(
        &mut app,
        Tag::Users,
        Fetch::Ok(
            json!([{"user_id": 1, "username": "admin", "role": "admin", "active": true},
                         {"user_id": 2, "username": "siti", "role": "clerk", "active": true}]),
        ),
    );
    ch(&mut app, '/');
    typed(&mut app, "sit");
    assert_eq!(app.search.as_deref(), Some("sit"));
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.screen().query(), "sit");
    let screen = render(&app, 80, 24);
    assert!(screen.contains("1 of 2 users match \"sit\""), "{screen}");
    assert!(!screen.contains(" admin "), "{screen}");
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.screen().query(), "");
    // No search on the dashboard: it says so.
    ch(&mut app, '1');
    ch(&mut app, '/');
    assert!(app.search.is_none());
    assert!(app.message.as_deref().unwrap().contains("no search"));
}

#[test]
fn issuing_a_gatepass_asks_the_kind_then_its_fields() {
    let mut app = App::new();
    ch(&mut app, '3');
    app.take_cmds();
    ch(&mut app, 'n');
    // visitor → vehicle → material
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Enter));
    match &app.modal {
        Some(Modal::Form(f)) => {
            assert_eq!(f.kind, crate::form::FormKind::IssueGatepass("material"))
        }
        _ => panic!("the material form follows"),
    }
    app.on_key(key(KeyCode::Enter));
    match &app.modal {
        Some(Modal::Form(f)) => assert_eq!(f.error.as_deref(), Some("Carried by is required")),
        _ => panic!("the form stays open with its complaint"),
    }
    typed(&mut app, "Pak Joko");
    app.on_key(key(KeyCode::Tab));
    typed(&mut app, "kt 8123 ab");
    app.on_key(key(KeyCode::Tab));
    typed(&mut app, "cement 10 bag; water pump 1 pc");
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Right)); // returnable: yes
    app.on_key(key(KeyCode::Tab));
    typed(&mut app, "2026-12-01");
    app.on_key(key(KeyCode::Tab)); // host
    app.on_key(key(KeyCode::Tab));
    typed(&mut app, "pump repair");
    app.on_key(key(KeyCode::Enter));
    assert!(app.modal.is_none(), "submitted");
    let cmds = app.take_cmds();
    assert_eq!(cmds[0].path, "/admin/gatepasses");
    let body = cmds[0].body.clone().unwrap();
    assert_eq!(body["kind"], "material");
    assert_eq!(body["name"], "Pak Joko");
    assert_eq!(body["vehicle"], "kt 8123 ab");
    assert_eq!(body["returnable"], true);
    assert_eq!(body["return_due"], "2026-12-01");
    assert_eq!(
        body["items"],
        json!([{"name": "cement", "qty": 10.0, "unit": "bag"}, {"name": "water pump", "qty": 1.0, "unit": "pc"}])
    );
    assert_eq!(body["gate"], "Main gate");
    assert!(body.get("host").is_none(), "empty fields are left out");
    assert!(
        body.get("valid_hours").is_none(),
        "the server's default applies"
    );
    // Its answer names the pass.
    reply(
        &mut app,
        cmds[0].tag.clone(),
        Fetch::Ok(json!({"number": "GP-20261123-0001"})),
    );
    assert_eq!(
        app.message.as_deref(),
        Some("Done: material gatepass issued to Pak Joko (pass GP-20261123-0001).")
    );
}

#[test]
fn item_lists_parse_or_say_how_to_write_them() {
    use crate::screens::gatepass::parse_items;
    assert_eq!(
        parse_items("solar 200,5 litre").unwrap(),
        vec![json!({"name": "solar", "qty": 200.5, "unit": "litre"})]
    );
    assert!(parse_items("cement bag")
        .unwrap_err()
        .contains("name, quantity, unit"));
    assert!(parse_items("10 bag").is_err(), "a name is needed");
    assert!(parse_items("cement 10").is_err(), "a unit is needed");
    assert!(parse_items(" ; ").is_err());
}

#[test]
fn help_opens_on_every_screen_and_any_key_closes_it() {
    let mut app = App::new();
    for i in 0..crate::app::SCREEN_COUNT {
        app.select(i);
        ch(&mut app, '?');
        let screen = render(&app, 80, 24);
        assert!(screen.contains("Help"), "{screen}");
        assert!(
            screen.contains(&format!("{} — keys", app.screen().title())),
            "{screen}"
        );
        ch(&mut app, 'x');
        assert!(app.modal.is_none());
    }
}

#[test]
fn clicking_a_tab_selects_it_and_the_wheel_moves_the_selection() {
    let mut app = App::new();
    let click = |col| {
        crossterm::event::Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: col,
            row: 1,
            modifiers: KeyModifiers::NONE,
        })
    };
    // " Dashboard " is 11 wide, " Licences " starts at 11.
    app.on_event(click(13));
    assert_eq!(app.current, 1);
    reply(&mut app, Tag::Devices, Fetch::Ok(devices()));
    app.on_event(crossterm::event::Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    ch(&mut app, 'a');
    let cmds = app.take_cmds();
    assert_eq!(
        cmds.last().unwrap().body,
        Some(json!({"imei": "356938035643810"}))
    );
}

#[test]
fn odd_data_never_panics_at_any_size() {
    let odd = [
        json!(null),
        json!("text"),
        json!(42),
        json!([1, "x", null, {"imei": ["nested"], "status": 7, "last_seen_unix": "soon"}]),
        json!({"items": [{"number": {"x": 1}, "name": "\u{1b}[31mred", "return_due_unix": i64::MAX}]}),
        json!({"by_gang_or_department": [{"name": null, "missing": "nobody"}, {"missing": [{"name": 5}, 3, null]}],
               "requests": "lots", "store_bytes": -1, "last_backup_unix": i64::MIN, "uptime_secs": 1e300,
               "timezone_offset_minutes": 99999999}),
    ];
    let tags = [
        Tag::Dashboard,
        Tag::Devices,
        Tag::Gatepasses,
        Tag::GatepassSummary,
        Tag::GatepassDetail,
        Tag::Attendance,
        Tag::Users,
        Tag::Outbox,
        Tag::Logs,
        Tag::Backup,
        Tag::Check,
        Tag::BackupStatus,
        Tag::Lockouts,
    ];
    let mut app = App::new();
    for v in &odd {
        for t in &tags {
            reply(&mut app, t.clone(), Fetch::Ok(v.clone()));
        }
        for i in 0..crate::app::SCREEN_COUNT {
            app.select(i);
            for (w, h) in [(80, 24), (120, 40), (20, 6), (1, 1)] {
                render(&app, w, h);
            }
            app.on_key(key(KeyCode::Down));
            app.on_key(key(KeyCode::End));
            render(&app, 80, 24);
            // A detail view (the gatepass desk's Enter) fed the same odd data, then Esc.
            app.on_key(key(KeyCode::Enter));
            reply(&mut app, Tag::GatepassDetail, Fetch::Ok(v.clone()));
            render(&app, 80, 24);
            app.on_key(key(KeyCode::Esc));
            app.modal = None;
        }
    }
}

#[test]
fn first_run_credentials_are_shown_once_on_request() {
    let mut app = App::new();
    app.take_cmds();
    ch(&mut app, '5'); // Users
    app.take_cmds();
    ch(&mut app, 'F');
    assert!(matches!(app.modal, Some(Modal::Confirm(..))), "asks first");
    ch(&mut app, 'y');
    let cmds = app.take_cmds();
    assert_eq!(cmds.last().unwrap().path, "/admin/first-run");
    assert_eq!(cmds.last().unwrap().method, "POST");
    reply(
        &mut app,
        Tag::FirstRun,
        Fetch::Ok(
            json!({"text": "admin username=admin password=Secr3tPw | client app_key=ak_1 private_key=pk_2 | shown once; change the password"}),
        ),
    );
    let screen = render(&app, 100, 30);
    assert!(screen.contains("password=Secr3tPw"), "{screen}");
    assert!(screen.contains("private_key=pk_2"), "{screen}");
    ch(&mut app, 'x');
    assert!(app.modal.is_none(), "any key closes it");
    assert!(!render(&app, 100, 30).contains("Secr3tPw"));
    // Asked again: nothing is kept any more.
    reply(&mut app, Tag::FirstRun, Fetch::Ok(json!({"text": null})));
    assert!(app.modal.is_none());
    assert!(app
        .message
        .as_deref()
        .unwrap_or("")
        .contains("already shown"));
}
