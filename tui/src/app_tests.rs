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
    assert_eq!(
        cmds,
        vec![
            Cmd::get(Tag::Dashboard, "/admin/dashboard"),
            Cmd::get(Tag::Charts, "/admin/dashboard/charts")
        ]
    );
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
    assert_eq!(app.screen().query(), Some("sit"));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("1 of 2 users match \"sit\""), "{screen}");
    assert!(!screen.contains(" admin "), "{screen}");
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.screen().query(), Some(""));
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

fn form(app: &App) -> &crate::form::Form {
    match &app.modal {
        Some(Modal::Form(f)) => f,
        _ => panic!("a form is open"),
    }
}

fn material_form_filled(app: &mut App) {
    ch(app, '3');
    app.take_cmds();
    ch(app, 'n');
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Enter));
    typed(app, "Pak Joko");
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    typed(app, "urea 2 bags");
    app.on_key(key(KeyCode::Enter)); // next item row
    typed(app, "water pump 1 pc");
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Right)); // returnable: yes
    app.on_key(key(KeyCode::Tab));
    typed(app, "2026-12-01");
    app.on_key(key(KeyCode::Tab)); // host
    app.on_key(key(KeyCode::Tab));
    typed(app, "pump repair");
}

#[test]
fn a_refused_issue_keeps_the_form_and_puts_the_cursor_on_the_field_at_fault() {
    let mut app = App::new();
    material_form_filled(&mut app);
    // The material form at 80x24: every label whole, one row per item, the hint in full.
    if let Some(Modal::Form(f)) = app.modal.as_mut() {
        f.focus = 2;
    }
    let screen = render(&app, 80, 24);
    for want in [
        "Carried by *",
        "Items *",
        "1. urea 2 bags",
        "2. water pump 1 pc",
        "Return by",
        "Visiting",
    ] {
        if want == "Visiting" {
            assert!(
                !screen.contains(want),
                "a material pass has a plain host: {screen}"
            );
        } else {
            assert!(screen.contains(want), "{want} missing:\n{screen}");
        }
    }
    assert!(
        screen.contains("One item per row: name, quantity, unit"),
        "{screen}"
    );
    assert!(
        screen.contains("Enter on an empty row submits."),
        "{screen}"
    );
    app.on_key(key(KeyCode::Enter)); // items row: starts a third row
    app.on_key(key(KeyCode::Enter)); // empty row: submits
    assert!(app.modal.is_none(), "submitted");
    let cmds = app.take_cmds();
    let body = cmds[0].body.clone().unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 2, "{body}");
    // The server says no: the form comes back as typed, cursor on the date.
    reply(
        &mut app,
        cmds[0].tag.clone(),
        Fetch::Failed("Validation failed: return_due must not be in the past".into()),
    );
    let f = form(&app);
    assert_eq!(f.fields[f.focus].name, "return_due");
    assert_eq!(f.value("name"), "Pak Joko");
    assert_eq!(f.value("items"), "urea 2 bags\nwater pump 1 pc");
    assert!(f.error.as_deref().unwrap().starts_with("Refused: "));
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("! Refused: Validation failed: return_due"),
        "{screen}"
    );
    // A bad date never leaves the console; the server down keeps the form too.
    app.on_key(key(KeyCode::Char('u')));
    if let Some(Modal::Form(f)) = app.modal.as_mut() {
        let d = f
            .fields
            .iter_mut()
            .find(|x| x.name == "return_due")
            .unwrap();
        d.value = "2026-13-01".into();
        f.focus = 0;
    }
    app.on_key(key(KeyCode::Enter));
    let f = form(&app);
    assert_eq!(f.fields[f.focus].name, "return_due", "{:?}", f.error);
    assert!(f.error.as_deref().unwrap().contains("not a date"));
    if let Some(Modal::Form(f)) = app.modal.as_mut() {
        f.fields
            .iter_mut()
            .find(|x| x.name == "return_due")
            .unwrap()
            .value = "2026-12-01".into();
    }
    app.on_key(key(KeyCode::Enter));
    let cmds = app.take_cmds();
    reply(
        &mut app,
        cmds[0].tag.clone(),
        Fetch::Offline(Offline::NotRunning(
            "The gatehouse server is not running".into(),
        )),
    );
    let f = form(&app);
    assert_eq!(f.value("purpose"), "pump repair");
    assert!(f.error.as_deref().unwrap().starts_with("Not done: "));
}

#[test]
fn items_typed_with_commas_are_refused_on_the_items_row() {
    use crate::screens::gatepass::parse_items;
    assert_eq!(
        parse_items("urea 2 bags, pump 1 pc").unwrap().len(),
        2,
        "\", \" separates items"
    );
    let e = parse_items("urea 2 bags, pump").unwrap_err();
    assert!(e.starts_with("Items: \"pump\""), "{e}");
}

#[test]
fn a_scanned_pass_number_opens_the_pass_with_in_and_out_ready_on_any_screen() {
    use crossterm::event::Event;
    let mut app = App::new();
    ch(&mut app, '5'); // users
    app.take_cmds();
    let mut evs: Vec<Event> = "GP-20261123-0001"
        .chars()
        .map(|c| Event::Key(key(KeyCode::Char(c))))
        .collect();
    evs.push(Event::Key(key(KeyCode::Enter)));
    app.on_events(evs);
    assert_eq!(app.screen().title(), "Gatepass");
    let cmds = app.take_cmds();
    assert!(
        cmds.iter()
            .any(|c| c.path == "/admin/gatepasses/GP-20261123-0001" && c.tag == Tag::GatepassDetail),
        "{cmds:?}"
    );
    reply(
        &mut app,
        Tag::GatepassDetail,
        Fetch::Ok(
            json!({"number": "GP-20261123-0001", "kind": "visitor", "status": "issued",
                         "name": "Asha"}),
        ),
    );
    let screen = render(&app, 80, 24);
    assert!(screen.contains("i in · o out · p print"), "{screen}");
    ch(&mut app, 'i');
    let cmds = app.take_cmds();
    assert_eq!(cmds[0].path, "/admin/gatepasses/GP-20261123-0001/in");
    // A refusal says what happened and when; the detail stays.
    reply(
        &mut app,
        cmds[0].tag.clone(),
        Fetch::Failed("Already inside since 12:14 (Main gate, desk)".into()),
    );
    assert_eq!(
        app.message.as_deref(),
        Some("Refused: Already inside since 12:14 (Main gate, desk)")
    );
    // Typing slowly (one key per batch) is not a scan: '2' switches screens as always.
    app.on_key(key(KeyCode::Esc));
    app.on_events(vec![Event::Key(key(KeyCode::Char('2')))]);
    assert_eq!(app.screen().title(), "Licences");
    // "quit" + Enter in one batch has no digit: not a pass.
    assert!(crate::app::scanned_code(&[
        Event::Key(key(KeyCode::Char('q'))),
        Event::Key(key(KeyCode::Char('u'))),
        Event::Key(key(KeyCode::Char('i'))),
        Event::Key(key(KeyCode::Char('t'))),
        Event::Key(key(KeyCode::Enter)),
    ])
    .is_none());
}

#[test]
fn a_newly_issued_pass_is_shown_selected() {
    let mut app = App::new();
    material_form_filled(&mut app);
    app.on_key(key(KeyCode::Tab)); // off the items row
    app.on_key(key(KeyCode::Enter));
    let cmds = app.take_cmds();
    reply(
        &mut app,
        cmds[0].tag.clone(),
        Fetch::Ok(json!({"number": "GP-20261123-0002"})),
    );
    let cmds = app.take_cmds();
    assert!(
        cmds.iter()
            .any(|c| c.path.starts_with("/admin/gatepasses?view=today")),
        "today's passes reload: {cmds:?}"
    );
    reply(
        &mut app,
        Tag::Gatepasses,
        Fetch::Ok(json!([
            {"number": "GP-20261123-0001", "kind": "visitor", "name": "Asha", "status": "in"},
            {"number": "GP-20261123-0002", "kind": "material", "name": "Pak Joko", "status": "issued"}
        ])),
    );
    let screen = render(&app, 80, 24);
    let sel = screen.lines().find(|l| l.starts_with("> ")).unwrap_or("");
    assert!(sel.contains("GP-20261123-0002"), "{screen}");
}

#[test]
fn the_inside_list_stays_visible_marked_stale_while_the_server_is_down() {
    let mut app = App::new();
    ch(&mut app, '3');
    reply(
        &mut app,
        Tag::Gatepasses,
        Fetch::Ok(
            json!([{"number": "GP-20261123-0001", "kind": "visitor", "name": "Asha Raman", "status": "in"}]),
        ),
    );
    reply(
        &mut app,
        Tag::Gatepasses,
        Fetch::Offline(Offline::NotRunning(
            "The gatehouse server is not running".into(),
        )),
    );
    let screen = render(&app, 80, 24);
    assert!(screen.contains("SERVER DOWN"), "{screen}");
    assert!(screen.contains("STALE"), "{screen}");
    assert!(
        screen.contains("Asha Raman"),
        "who is inside stays: {screen}"
    );
    // Other screens still say the server is down in full.
    ch(&mut app, '5');
    let screen = render(&app, 80, 24);
    assert!(screen.contains("SERVER NOT RUNNING"), "{screen}");
}

#[test]
fn footers_keep_whole_entries_at_80_columns_on_every_screen() {
    let mut app = App::new();
    for i in 0..crate::app::SCREEN_COUNT {
        app.select(i);
        let footer = app.footer_for(80);
        assert!(footer.chars().count() <= 80, "{footer}");
        let keys: Vec<String> = app
            .screen()
            .keys()
            .iter()
            .filter(|(_, s, _)| !s.is_empty())
            .map(|(k, s, _)| format!("{k} {s}"))
            .collect();
        for part in footer.split("  ") {
            assert!(
                keys.contains(&part.to_string())
                    || ["Tab screens", "q quit", "? more", "? help"].contains(&part),
                "cut entry {part:?} in {footer:?}"
            );
        }
        let screen = render(&app, 80, 24);
        assert!(
            screen.lines().last().unwrap().trim_end() == footer.trim_end(),
            "{screen}"
        );
    }
    assert!(app.footer_for(30).ends_with("? more  q quit") || app.footer_for(30).is_empty());
}

#[test]
fn the_message_line_clears_when_stale() {
    let mut app = App::new();
    app.message = Some("Done: x.".into());
    app.ctx.now = 1000;
    app.age_message();
    app.ctx.now = 1000 + crate::app::MESSAGE_STALE_SECS - 1;
    app.age_message();
    assert_eq!(app.message.as_deref(), Some("Done: x."));
    app.ctx.now = 1000 + crate::app::MESSAGE_STALE_SECS;
    app.age_message();
    assert_eq!(app.message, None);
}

#[test]
fn a_long_log_line_opens_in_full() {
    let mut app = App::new();
    ch(&mut app, '7');
    let long = "x".repeat(150);
    reply(
        &mut app,
        Tag::Logs,
        Fetch::Ok(
            json!([{"unix_ms": 0, "level": "WARN", "target": "gatehouse", "message": "sign-in failed",
                          "fields": [["detail", long.clone()]]}]),
        ),
    );
    let screen = render(&app, 80, 24);
    assert!(!screen.contains(&long[..80]), "cut in the list: {screen}");
    app.on_key(key(KeyCode::Enter));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("detail ="), "{screen}");
    let xs: usize = screen
        .lines()
        .map(|l| l.chars().filter(|c| *c == 'x').count())
        .filter(|n| *n > 10)
        .sum();
    assert_eq!(xs, 150, "every character shown: {screen}");
    app.on_key(key(KeyCode::Esc));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("Level: all"), "{screen}");
}

#[test]
fn users_show_locked_and_disabled_whole_and_disable_asks_first() {
    let mut app = App::new();
    ch(&mut app, '5');
    reply(
        &mut app,
        Tag::Users,
        Fetch::Ok(json!([
            {"user_id": 1, "username": "siti", "name": "Siti Rahma", "role": "gate_guard", "active": true},
            {"user_id": 2, "username": "budi", "name": "Budi", "role": "clerk", "active": false}
        ])),
    );
    reply(
        &mut app,
        Tag::Lockouts,
        Fetch::Ok(json!([{"subject": "user:siti", "retry_after_secs": 900}])),
    );
    let screen = render(&app, 80, 24);
    assert!(screen.contains("LOCKED 15m"), "{screen}");
    assert!(screen.contains("disabled"), "{screen}");
    ch(&mut app, 'd');
    assert!(matches!(app.modal, Some(Modal::Confirm(..))));
    app.take_cmds();
    ch(&mut app, 'y');
    let cmds = app.take_cmds();
    assert_eq!(cmds[0].path, "/admin/users/disable");
    assert_eq!(cmds[0].body, Some(json!({"username": "siti"})));
    app.on_key(key(KeyCode::Down));
    ch(&mut app, 'e');
    let cmds = app.take_cmds();
    assert_eq!(cmds[0].path, "/admin/users/enable");
    assert_eq!(cmds[0].body, Some(json!({"username": "budi"})));
}

#[test]
fn every_screens_help_fits_80x24_whole() {
    let mut app = App::new();
    for i in 0..crate::app::SCREEN_COUNT {
        app.select(i);
        ch(&mut app, '?');
        let screen = render(&app, 80, 24);
        // The last key of "Everywhere" is there: nothing was cut at the bottom.
        assert!(screen.contains("│  q            quit"), "{screen}");
        let last_key = app.screen().keys().last().map(|(k, _, _)| *k).unwrap_or("");
        assert!(screen.contains(&format!("  {last_key:<12} ")), "{screen}");
        ch(&mut app, 'x');
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
