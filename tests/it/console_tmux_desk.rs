//! Black-box tests: the real console in tmux at 80×24 — the issue form with whole labels, one
//! row per item, a bad date and a server refusal that keep the form with the cursor on the
//! field at fault; a scanned pass number that opens the pass with in/out ready; in twice
//! refused with when; the slip saved as a PDF.

use std::process::Command;

use crate::console::admin_client;
use crate::console_tmux::Tmux;
#[allow(unused_imports)]
use crate::harness::*;

#[test]
fn console_in_tmux_form_fixes_scan_to_act_and_print() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED console_in_tmux_form_fixes: tmux is not installed");
        return;
    }
    let server = Server::start();
    let state = server.state.clone();
    let c = admin_client(&state);
    let t = Tmux {
        socket: format!("gatehouse-it-desk-{}", std::process::id()),
        session: "desk".into(),
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
        "desk",
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
    t.wait_for("server: online", 20);

    // The material form: every label whole, items one per row, the hint in full.
    t.keys(&["3"]);
    t.wait_for("View: inside", 10);
    t.keys(&["n"]);
    t.wait_for("which kind?", 10);
    t.keys(&["Right", "Right", "Enter"]);
    t.wait_for("Issue a material gatepass", 10);
    t.text("Pak Joko");
    t.keys(&["Tab", "Tab"]);
    t.text("urea 2 bags");
    t.keys(&["Enter"]);
    t.text("water pump 1 pc");
    let p = t.wait_for("2. water pump 1 pc", 10);
    for want in [
        "Carried by *",
        "Items *",
        "1. urea 2 bags",
        "Returnable",
        "Return by",
        "Purpose *",
    ] {
        assert!(p.contains(want), "{want} missing:\n{p}");
    }
    assert!(p.contains("One item per row: name, quantity, unit"), "{p}");
    t.keys(&["Tab", "Right", "Tab"]);
    t.text("2026-13-01");
    t.keys(&["Tab", "Tab"]);
    t.text("Pump repair");
    t.keys(&["Tab"]);
    t.text("99"); // valid hours: the server allows at most 72
    t.keys(&["Enter"]);
    // A bad date never leaves the console: the form stays, the cursor on the date.
    let p = t.wait_for("not a date", 10);
    assert!(p.contains("> Return by"), "cursor on the date:\n{p}");
    assert!(
        p.contains("Pak Joko") && p.contains("2. water pump 1 pc"),
        "{p}"
    );
    t.keys(&["C-u"]);
    t.text("2099-12-01");
    t.keys(&["Enter"]);
    // The server refuses the hours: the form again, as typed, cursor on Valid hours.
    let p = t.wait_for("! Refused:", 10);
    assert!(
        p.contains("> Valid hours"),
        "cursor on the field at fault:\n{p}"
    );
    assert!(p.contains("2099-12-01"), "{p}");
    t.keys(&["BSpace", "BSpace"]);
    t.text("8");
    t.keys(&["Enter"]);
    let p = t.wait_for("Done: material gatepass issued to Pak Joko (pass GP-", 10);
    let number = p
        .split("(pass ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap()
        .to_string();
    // Shown selected in today's list.
    let p = t.wait_for("View: today", 10);
    let p = if p.contains(&format!("> {number}")) {
        p
    } else {
        t.wait_for(&format!("> {number}"), 10)
    };
    assert!(p.contains(&format!("> {number}")), "{p}");
    let pass = crate::console::admin_ok(&c, "GET", &format!("/admin/gatepasses/{number}"), None);
    assert_eq!(pass["items"].as_array().unwrap().len(), 2, "{pass}");
    assert_eq!(pass["valid_hours"], 8, "{pass}");

    // Scan to act: from the dashboard, the scanner types the number and Enter.
    t.keys(&["1"]);
    t.wait_for("Punches/hour", 10);
    t.text(&format!("{number}\r"));
    t.wait_for(&format!("Scanned {number}"), 10);
    t.wait_for("i in · o out · p print", 10);
    t.keys(&["i"]);
    t.wait_for(&format!("Done: gatepass {number} marked in"), 10);
    t.keys(&["i"]);
    let p = t.wait_for("Refused: Already inside since ", 10);
    assert!(p.contains("(Main gate, desk)"), "{p}");

    // Print: saved as a PDF file on the box.
    t.keys(&["p"]);
    t.wait_for("Print the slip", 10);
    t.keys(&["Tab", "Right", "Enter"]);
    let p = t.wait_for(&format!("Done: slip of {number} saved:"), 10);
    let file = state.join("slips").join(format!("gatepass-{number}.pdf"));
    assert!(
        std::fs::read(&file)
            .unwrap_or_default()
            .starts_with(b"%PDF-"),
        "{}: {p}",
        file.display()
    );
    t.keys(&["q"]);
}
