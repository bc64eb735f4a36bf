//! The technician's command line, through the real binary: help and man pages, passwords never
//! on the command line, no store created by mistake, spreadsheet-made imports, typed XLSX and
//! printable PDF exports, device and backup commands.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::harness::*;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run gatehouse")
}

fn text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `gatehouse ARGS --state STATE` with `input` on standard input (a pipe, not a terminal).
fn cli_stdin(state: &Path, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--state")
        .arg(state)
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn import_help_lists_every_kind_with_its_columns_and_unknown_kinds_are_refused_first() {
    let (out, _) = text(&run(&["import", "--help"]));
    for kind in [
        "users",
        "labour",
        "firms",
        "estate-tasks",
        "employees",
        "locations",
        "shifts",
        "hr",
    ] {
        assert!(
            out.contains(&format!("\n  {kind}\n")),
            "{kind} missing:\n{out}"
        );
    }
    assert!(out.contains("musterfirmid"), "labour columns: {out}");
    assert!(out.contains("required: firmid, firmName"), "{out}");
    let (out, _) = text(&run(&["export", "--help"]));
    for kind in [
        "attendance",
        "muster",
        "gatepasses",
        "closing",
        "muster-summary",
    ] {
        assert!(
            out.contains(&format!("\n  {kind}\n")),
            "{kind} missing:\n{out}"
        );
    }
    // Every argument of `user add` explains itself.
    let (out, _) = text(&run(&["user", "add", "--help"]));
    for flag in [
        "--username",
        "--password-stdin",
        "--role",
        "--name",
        "--phone",
    ] {
        let line = out.lines().find(|l| l.contains(flag)).unwrap_or_default();
        assert!(!line.trim().is_empty(), "{flag} not listed:\n{out}");
    }
    assert!(out.contains("standard input"), "{out}");
    // An unknown kind is refused before the file is even opened (it does not exist here).
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&[
        "import",
        "labor",
        "/nonexistent/x.csv",
        "--state",
        tmp.path().to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("unknown import kind 'labor'") && err.contains("labour"),
        "{err}"
    );
    assert!(!err.contains("No such file"), "{err}");
}

#[test]
fn completions_and_man_pages_are_generated_from_the_command_line() {
    let (bash, _) = text(&run(&["completions", "bash"]));
    assert!(
        bash.contains("_gatehouse()") && bash.contains("reset-password"),
        "{bash}"
    );
    let (zsh, _) = text(&run(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef gatehouse"), "{zsh}");
    let (fish, _) = text(&run(&["completions", "fish"]));
    assert!(fish.contains("complete -c gatehouse") && fish.contains("password-stdin"));
    assert!(!run(&["completions", "tcsh"]).status.success());
    let (man, _) = text(&run(&["man"]));
    assert!(
        man.contains(".TH gatehouse") && man.contains("restore"),
        "{man}"
    );
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let page = std::fs::read_to_string(dir.path().join("gatehouse-user-add.1")).unwrap();
    assert!(page.contains("password\\-stdin"), "{page}");
    assert!(dir.path().join("gatehouse-backup-prune.1").exists());
}

#[test]
fn admin_commands_on_a_directory_without_a_store_fail_and_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let typo = tmp.path().join("gatehouse-dta");
    let csv = tmp.path().join("firms.csv");
    std::fs::write(&csv, "firmid,firmName\n1,A\n").unwrap();
    let out = tmp.path().join("b.ghb");
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "user",
            "add",
            "--username",
            "u1",
            "--password",
            "secret-pass-1",
        ],
        vec!["user", "list"],
        vec!["user", "role", "--username", "u1", "--role", "clerk"],
        vec!["user", "unlock", "--username", "u1"],
        vec![
            "user",
            "reset-password",
            "--username",
            "u1",
            "--password",
            "secret-pass-2",
        ],
        vec!["client", "add", "--name", "x"],
        vec!["client", "list"],
        vec!["client", "revoke", "--app-key", "k"],
        vec!["device", "approve", "--imei", "352099001761481"],
        vec!["device", "reject", "--imei", "352099001761481"],
        vec!["device", "block", "--imei", "352099001761481"],
        vec!["device", "list"],
        vec!["import", "firms", csv.to_str().unwrap()],
        vec!["export", "gatepasses", "--out", "/tmp/never-written.csv"],
        vec!["backup", "--out", out.to_str().unwrap()],
        vec!["check"],
    ];
    for dir in [&empty, &typo] {
        for args in &commands {
            let o = cli(dir, args);
            let (_, err) = text(&o);
            assert!(
                !o.status.success(),
                "{args:?} succeeded on {}",
                dir.display()
            );
            assert!(err.contains("no gatehouse store in"), "{args:?}: {err}");
        }
    }
    assert_eq!(
        std::fs::read_dir(&empty).unwrap().count(),
        0,
        "nothing created"
    );
    assert!(!typo.exists(), "the mistyped directory was not created");
    assert!(!out.exists());
}

/// Runs `gatehouse ARGS` on a new pseudo-terminal (its controlling terminal), answering each
/// prompt that contains `expect[i]` with `answers[i]`; returns (exit code, all terminal output).
fn on_terminal(args: &[&str], prompts: &[(&str, &str)]) -> (i32, String) {
    use std::os::unix::io::FromRawFd;
    use std::os::unix::process::CommandExt;
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0);
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let slave_path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_str()
            .unwrap()
            .to_string();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&slave_path)
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("GATEHOUSE_CONFIG")
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY as _, 0);
            Ok(())
        });
        let mut child = cmd.spawn().unwrap();
        // Our copies of the terminal's slave side must go, or reading the master never ends.
        drop(cmd);
        // Non-blocking, so a missing prompt fails the test at its deadline instead of hanging.
        libc::fcntl(
            master,
            libc::F_SETFL,
            libc::fcntl(master, libc::F_GETFL) | libc::O_NONBLOCK,
        );
        let mut m = std::fs::File::from_raw_fd(master);
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        for (expect, answer) in prompts {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !seen.contains(expect) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no prompt {expect:?}: {seen}"
                );
                match m.read(&mut buf) {
                    Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                    _ => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
            // Only what follows this prompt counts for the next one.
            seen = seen.split(expect).last().unwrap_or("").to_string();
            m.write_all(format!("{answer}\n").as_bytes()).unwrap();
        }
        let status = child.wait().unwrap();
        // The rest of the output: read until the closed slave side answers EIO (or nothing).
        loop {
            match m.read(&mut buf) {
                Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => break,
            }
        }
        (status.code().unwrap_or(-1), seen)
    }
}

#[test]
fn passwords_are_asked_on_a_terminal_or_read_from_stdin_never_required_as_arguments() {
    let s = Server::start();
    let st = s.state.to_str().unwrap();
    let c = s.cli_json(&["client", "add", "--name", "pw"]);
    let (app, private) = (
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
    );
    // Scripts: --password-stdin (the line end is not part of the password).
    let o = cli_stdin(
        &s.state,
        &[
            "user",
            "add",
            "--username",
            "budi",
            "--password-stdin",
            "--json",
        ],
        "budi-pass-1\r\n",
    );
    assert!(o.status.success(), "{:?}", text(&o));
    DaSession::login(&s, app, private, "budi", "budi-pass-1");
    // No password, no terminal: refused with what to do, nothing created.
    let o = cli_stdin(&s.state, &["user", "add", "--username", "siti"], "");
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("--password-stdin"), "{err}");
    let users = s.cli_json(&["user", "list"]);
    assert!(!users.to_string().contains("siti"), "{users}");
    // A terminal: asked twice without echo.
    let (code, screen) = on_terminal(
        &["user", "add", "--username", "siti", "--state", st],
        &[
            ("password for 'siti'", "siti-pass-77"),
            ("again", "siti-pass-77"),
        ],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains("siti-pass-77"),
        "the password was echoed: {screen}"
    );
    assert!(screen.contains("user 'siti' added"), "{screen}");
    DaSession::login(&s, app, private, "siti", "siti-pass-77");
    // Two different answers change nothing.
    let (code, screen) = on_terminal(
        &[
            "user",
            "reset-password",
            "--username",
            "siti",
            "--state",
            st,
        ],
        &[
            ("new password for 'siti'", "other-pass-1"),
            ("again", "other-pass-2"),
        ],
    );
    assert_ne!(code, 0);
    assert!(screen.contains("differ"), "{screen}");
    // reset-password from stdin; the old password stops working.
    let o = cli_stdin(
        &s.state,
        &[
            "user",
            "reset-password",
            "--username",
            "siti",
            "--password-stdin",
        ],
        "siti-pass-88\n",
    );
    assert!(o.status.success(), "{:?}", text(&o));
    DaSession::login(&s, app, private, "siti", "siti-pass-88");
    let rid = request_id();
    let ts = now_unix();
    let v = post_json(
        &s.url("/daily/v1/authorize/verify"),
        &[("x-app-key", app), ("x-request-id", &rid)],
        &json!({"timestamp": ts, "signature": hmac_hex(private, &format!("{rid}\n{ts}"))}),
    );
    let token = v.json()["data"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rid = request_id();
    let l = post_json(
        &s.url("/daily/v1/user/login"),
        &[
            ("x-app-key", app),
            ("x-request-id", &rid),
            ("authorization", &format!("Bearer {token}")),
        ],
        &json!({"username": "siti", "password": "siti-pass-77", "device_id": "HH-1"}),
    );
    assert_eq!(l.status, 401, "{}", l.text);
}

#[test]
fn imports_take_what_spreadsheets_write_and_check_references() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, body: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, body).unwrap();
        f.to_str().unwrap().to_string()
    };
    // Excel in an Indonesian locale: BOM, CRLF, ';'.
    let firms = p(
        "firms.csv",
        "\u{feff}firmid;firmName\r\n1;MUNJAMULLAY ESTATE\r\n2;\"KARUNAGAMA; UPPER\"\r\n",
    );
    let v = s.cli_json(&["import", "firms", &firms]);
    assert_eq!(
        (v["inserted"].as_u64(), v["delimiter"].as_str()),
        (Some(2), Some(";")),
        "{v}"
    );
    // Line numbers stay right with CRLF and a quoted line break; an unknown firm is refused.
    let labour = p(
        "labour.csv",
        "\u{feff}lcode;name;gender;musterfirmid;address\r\nR1;Muthu;M;1;\"Line 4\r\nTF18\"\r\nR2;Valli;F;9;x\r\nR3;;F;2;x\r\n\r\n",
    );
    let o = s.cli(&["import", "labour", &labour, "--json"]);
    assert!(!o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["inserted"], 1, "{v}");
    let errs: Vec<(u64, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(errs.len(), 2, "{v}");
    assert_eq!(errs[0].0, 4, "{v}");
    assert!(errs[0].1.contains("unknown firm 9"), "{v}");
    assert_eq!(errs[1].0, 5, "{v}");
    assert!(errs[1].1.contains("name"), "{v}");
    // The wrong file for the kind is refused whole, before any line is applied.
    let o = s.cli(&["import", "labour", &firms]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("does not look like a 'labour' file") && err.contains("lcode"),
        "{err}"
    );
    assert!(err.contains("found: firmid, firmName"), "{err}");
    let users = p("users.csv", "firmid,firmName\nadmin2,x\n");
    let o = s.cli(&["import", "users", &users]);
    assert!(
        text(&o).1.contains("lacks username, password"),
        "{:?}",
        text(&o)
    );
    assert!(!s.cli_json(&["user", "list"]).to_string().contains("admin2"));
    let empty = p("empty.csv", "");
    let o = s.cli(&["import", "firms", &empty]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("does not look like a 'firms' file"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn exports_follow_the_extension_xlsx_cells_are_typed_and_summaries_print_as_pdf() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (st, pass) = admin_call(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(
            &json!({"kind": "visitor", "name": "Asha Wijaya", "host": "Manager", "purpose": "Audit",
                     "phone": "081234567890", "id_type": "KTP", "id_number": "3201234567890123"}),
        ),
    );
    assert_eq!(st, 200, "{pass}");
    let number = pass["data"]["number"].as_str().unwrap().to_string();
    let (st, v) = admin_call(
        &s,
        "POST",
        &format!("/admin/gatepasses/{number}/in"),
        Some(&json!({})),
    );
    assert_eq!(st, 200, "{v}");
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    // The extension decides; a disagreeing --format or an unknown extension is refused.
    let o = s.cli(&[
        "export",
        "gatepasses",
        "--out",
        &out("a.xlsx"),
        "--format",
        "csv",
    ]);
    assert!(text(&o).1.contains("disagrees"), "{:?}", text(&o));
    let o = s.cli(&["export", "gatepasses", "--out", &out("a.txt")]);
    assert!(
        text(&o).1.contains("cannot tell the format"),
        "{:?}",
        text(&o)
    );
    let o = s.cli(&["export", "gatepasses", "--out", &out("a.pdf")]);
    assert!(
        text(&o).1.contains("pdf is for the printable summaries"),
        "{:?}",
        text(&o)
    );
    assert!(!Path::new(&out("a.xlsx")).exists() && !Path::new(&out("a.pdf")).exists());

    // XLSX read back with a real reader: dates are dates, codes are text.
    let v = s.cli_json(&["export", "gatepasses", "--out", &out("g.xlsx")]);
    assert_eq!(
        (v["format"].as_str(), v["rows"].as_u64()),
        (Some("xlsx"), Some(1)),
        "{v}"
    );
    use calamine::{Data, Reader};
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(out("g.xlsx")).unwrap();
    let range = wb.worksheet_range("gatepasses").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let at = |name: &str| -> &Data {
        let i = header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}: {header:?}"));
        &range.rows().nth(1).unwrap()[i]
    };
    // Date cells hold Excel serial days (2026 is about 46,000), date-times a fraction more.
    assert!(
        matches!(at("day"), Data::DateTime(d) if d.as_f64() > 45_000.0 && d.as_f64().fract() == 0.0),
        "day: {:?}",
        at("day")
    );
    assert!(
        matches!(at("in_at"), Data::DateTime(d) if d.as_f64() > 45_000.0),
        "in_at: {:?}",
        at("in_at")
    );
    assert_eq!(at("phone"), &Data::String("081234567890".into()));
    assert_eq!(at("id_number"), &Data::String("3201234567890123".into()));
    assert_eq!(at("number"), &Data::String(number.clone()));
    // The header row is frozen and filterable (read from the sheet's XML).
    let xml = Command::new("python3")
        .args(["-c", "import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).read('xl/worksheets/sheet1.xml').decode())", &out("g.xlsx")])
        .output()
        .unwrap();
    let xml = String::from_utf8_lossy(&xml.stdout);
    assert!(
        xml.contains("state=\"frozen\"") && xml.contains("ySplit=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("<autoFilter ref=\"A1:"), "{xml}");

    // CSV for Excel starts with a byte-order mark; plain CSV does not.
    s.cli_json(&["export", "gatepasses", "--out", &out("g.csv"), "--excel"]);
    let bytes = std::fs::read(out("g.csv")).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBFnumber,day,"),
        "{:?}",
        &bytes[..20]
    );
    assert!(String::from_utf8_lossy(&bytes).contains("Asha Wijaya"));
    s.cli_json(&["export", "gatepasses", "--out", &out("p.csv")]);
    assert!(std::fs::read(out("p.csv")).unwrap().starts_with(b"number,"));

    // The closing sheet as a PDF, with the pass still inside on it.
    let v = s.cli_json(&["export", "closing", "--out", &out("closing.pdf")]);
    assert_eq!(v["format"], "pdf", "{v}");
    let doc = lopdf::Document::load(out("closing.pdf")).unwrap();
    let page1 = doc.extract_text(&[1]).unwrap();
    assert!(page1.contains("Daily closing"), "{page1}");
    assert!(page1.contains("Still inside (1)"), "{page1}");
    assert!(
        page1.contains(&number) && page1.contains("Asha Wijaya"),
        "{page1}"
    );
    // Attendance and muster summaries for a period (empty here, but whole documents).
    for kind in ["attendance-summary", "muster-summary"] {
        let f = out(&format!("{kind}.pdf"));
        s.cli_json(&[
            "export",
            kind,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--out",
            &f,
        ]);
        let doc = lopdf::Document::load(&f).unwrap();
        let t = doc.extract_text(&[1]).unwrap();
        assert!(t.contains("2026-11-01 to 2026-11-30"), "{kind}: {t}");
    }
}

#[test]
fn devices_backups_and_restore_as_a_technician_uses_them() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let s = Server::start_on(&state, &[]);
    // IMEIs are checked before anything is stored; separators are dropped.
    let o = s.cli(&["device", "approve", "--imei", "35209900176"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("14 to 16"), "{:?}", text(&o));
    let o = s.cli(&["device", "approve", "--imei", "3520990017614BX"]);
    assert!(text(&o).1.contains("digits only"), "{:?}", text(&o));
    let v = s.cli_json(&["device", "approve", "--imei", "35-209900-176148-1"]);
    assert_eq!(v["imei"], "352099001761481", "{v}");
    assert_eq!(s.cli_json(&["device", "list"]).as_array().unwrap().len(), 1);
    // A handheld that signs in is seen.
    codelayer_session(&s, "mandor1", "mandor-pass-1", "352099001761482");
    let o = s.cli(&["device", "list"]);
    let (list, _) = text(&o);
    let line = |imei: &str| {
        list.lines()
            .find(|l| l.starts_with(imei))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("352099001761481").contains("never"), "{list}");
    assert!(line("352099001761482").contains("just now"), "{list}");
    assert!(list.lines().next().unwrap().contains("last_seen"), "{list}");

    // Backups into a folder get unique names; list and prune see them.
    let usb = tmp.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let a = s.cli_json(&["backup", "--out", usb.to_str().unwrap()]);
    let b = s.cli_json(&["backup", "--out", usb.to_str().unwrap()]);
    assert_ne!(a["file"], b["file"], "{a} {b}");
    let l = s.cli_json(&["backup", "list", "--dir", usb.to_str().unwrap()]);
    let names: Vec<&str> = l["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["file"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{l}");
    assert!(
        names[0] > names[1] && names[0].starts_with("gatehouse-"),
        "newest first: {l}"
    );
    std::fs::write(usb.join("notes.txt"), "not a backup").unwrap();
    let p = s.cli_json(&[
        "backup",
        "prune",
        "--keep",
        "1",
        "--dir",
        usb.to_str().unwrap(),
    ]);
    assert_eq!(p["removed"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["kept"][0], names[0], "{p}");
    assert!(usb.join("notes.txt").exists(), "prune touches only backups");
    assert!(!s
        .cli(&[
            "backup",
            "prune",
            "--keep",
            "0",
            "--dir",
            usb.to_str().unwrap()
        ])
        .status
        .success());

    // Restore over a live store: refused without --yes when nobody can be asked.
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "later",
        "--password",
        "later-pass-1",
    ]);
    assert_eq!(s.stop(), Some(0));
    let file = usb.join(names[0]);
    let o = cli(&state, &["restore", "--from", file.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("--yes") && err.contains("live store"), "{err}");
    let v = cli_json(
        &state,
        &["restore", "--from", file.to_str().unwrap(), "--yes"],
    );
    let before = v["previous_store"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(Path::new(before).join("gatehouse.redb").is_file(), "{v}");
    assert!(before.contains("store.before-restore-"), "{v}");
    let users = cli_json(&state, &["user", "list"]);
    assert!(
        !users.to_string().contains("later"),
        "the backup's users: {users}"
    );
    // On a terminal it asks; anything but yes changes nothing.
    let st = state.to_str().unwrap();
    let (code, screen) = on_terminal(
        &["restore", "--from", file.to_str().unwrap(), "--state", st],
        &[("Type yes to go on", "n")],
    );
    assert_ne!(code, 0, "{screen}");
    assert!(screen.contains("cancelled"), "{screen}");
    let (code, screen) = on_terminal(
        &["restore", "--from", file.to_str().unwrap(), "--state", st],
        &[("Type yes to go on", "yes")],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("the previous store was kept as"),
        "{screen}"
    );
}

#[test]
fn metrics_name_operations_in_snake_case_and_the_audit_trail_records_sign_ins_and_changes() {
    let s = Server::start_with(&[], &[("GATEHOUSE_AUTH__LOCKOUT_AFTER_FAILURES", "2")]);
    let c = s.cli_json(&["client", "add", "--name", "audit"]);
    let (app, private) = (
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
    );
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "rina",
        "--password",
        "rina-pass-1",
    ]);
    DaSession::login(&s, app, private, "rina", "rina-pass-1");
    // Two wrong passwords from one handheld: refused, then locked out.
    let rid = request_id();
    let ts = now_unix();
    let v = post_json(
        &s.url("/daily/v1/authorize/verify"),
        &[("x-app-key", app), ("x-request-id", &rid)],
        &json!({"timestamp": ts, "signature": hmac_hex(private, &format!("{rid}\n{ts}"))}),
    );
    let bearer = format!(
        "Bearer {}",
        v.json()["data"]["client_token"].as_str().unwrap()
    );
    for _ in 0..2 {
        let rid = request_id();
        let l = post_json(
            &s.url("/daily/v1/user/login"),
            &[
                ("x-app-key", app),
                ("x-request-id", &rid),
                ("authorization", &bearer),
            ],
            &json!({"username": "rina", "password": "wrong-guess-9", "device_id": "HH-77"}),
        );
        assert_eq!(l.status, 401, "{}", l.text);
    }
    let (_, pass) = admin_call(
        &s,
        "POST",
        "/admin/gatepasses",
        Some(&json!({"kind": "visitor", "name": "Tono", "host": "Office", "purpose": "Delivery"})),
    );
    let number = pass["data"]["number"].as_str().unwrap().to_string();
    admin_call(
        &s,
        "POST",
        &format!("/admin/gatepasses/{number}/in"),
        Some(&json!({"guard": "Ravi"})),
    );
    s.cli_json(&["device", "approve", "--imei", "352099001761481"]);
    s.cli_json(&["user", "role", "--username", "rina", "--role", "supervisor"]);
    s.cli_json(&["backup", "--out", s.state.join("b.ghb").to_str().unwrap()]);

    let m = get(&s.url("/metrics"), &[]).text;
    for want in [
        "gatehouse_build_info{version=\"",
        "gatehouse_requests_total{family=\"daily_activity\",operation=\"login\",status=\"200\"} 1",
        "gatehouse_requests_total{family=\"daily_activity\",operation=\"login\",status=\"401\"} 2",
        "gatehouse_request_duration_seconds_bucket{family=\"daily_activity\",operation=\"login\",le=\"+Inf\"} 3",
        "gatehouse_request_duration_seconds_count{family=\"daily_activity\",operation=\"login\"} 3",
        "gatehouse_requests_shed_total 0",
        "gatehouse_requests_in_flight 1", // this scrape
        "gatehouse_lockouts_total 2",     // the user and the handheld
        "gatehouse_backup_age_seconds ",
        "gatehouse_store_size_bytes ",
    ] {
        assert!(m.contains(want), "{want} missing:\n{m}");
    }
    assert!(
        !m.contains("operation=\"Login\""),
        "labels are snake_case ids: {m}"
    );

    // The audit trail: JSON lines with target "audit" (the reader thread may lag a little).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s.output().contains("\"role_changed\"") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = s.output();
    let audit: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .collect();
    let find = |action: &str, outcome: Option<&str>| -> Vec<&Value> {
        audit
            .iter()
            .filter(|v| v["action"] == action && outcome.is_none_or(|o| v["outcome"] == o))
            .collect()
    };
    let ok = find("sign_in", Some("ok"));
    assert_eq!(ok.len(), 1, "{audit:?}");
    assert_eq!(
        (ok[0]["level"].as_str(), ok[0]["user"].as_str()),
        (Some("INFO"), Some("rina"))
    );
    assert_eq!(ok[0]["family"], "daily_activity");
    assert!(
        ok[0]["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{}",
        ok[0]
    );
    let refused = find("sign_in", Some("refused"));
    assert_eq!(refused.len(), 2, "{audit:?}");
    assert!(
        refused
            .iter()
            .all(|v| v["level"] == "WARN" && v["user"] == "rina"),
        "{refused:?}"
    );
    assert!(
        refused[0]["device"].as_str().unwrap().contains("HH-77"),
        "{}",
        refused[0]
    );
    assert_eq!(refused[0]["reason"], "bad_credentials");
    for action in [
        "user_added",
        "gatepass_issued",
        "gatepass_in",
        "licence_decision",
        "role_changed",
    ] {
        assert!(
            !find(action, None).is_empty(),
            "{action} not audited: {audit:?}"
        );
    }
    let moved = find("gatepass_in", None);
    assert_eq!(moved[0]["subject"], number.as_str());
    assert!(
        moved[0]["detail"].as_str().unwrap().contains("Ravi"),
        "{}",
        moved[0]
    );
    assert_eq!(moved[0]["peer"], "admin socket");
    assert!(
        !log.contains("wrong-guess-9") && !log.contains("rina-pass-1"),
        "a password was logged"
    );
}
