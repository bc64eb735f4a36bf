//! The appliance: scheduled backups with rotation onto a "USB stick", the backup log, and a
//! restore staged from the admin API (the console's path) applied on the next start.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scheduled_backup_then_console_restore_brings_the_old_state_back() {
    let usb = tempfile::tempdir().unwrap();
    // Older backups on the stick: rotation keeps the newest `keep` of ours, and nothing else.
    for n in [
        "gatehouse-20200101T000000Z.ghb",
        "gatehouse-20200102T000000Z.ghb",
        "holiday-photos.jpg",
    ] {
        std::fs::write(usb.path().join(n), b"old").unwrap();
    }
    let usb_dir = usb.path().to_str().unwrap().to_string();
    let mut s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_BACKUP__DIR", &usb_dir),
            ("GATEHOUSE_BACKUP__KEEP", "2"),
        ],
    );
    let keep = s.keep_state();
    let state = s.state.clone();
    // The first scheduled backup runs at start (none was ever made).
    let ours = || {
        let mut v: Vec<String> = std::fs::read_dir(usb.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("gatehouse-2026") || n.starts_with("gatehouse-2027"))
            .collect();
        v.sort();
        v
    };
    // The file lands before the log is written and the old ones are rotated: wait for all three.
    let count = || std::fs::read_dir(usb.path()).unwrap().count();
    wait_for("a scheduled backup logged and rotated", || {
        !ours().is_empty()
            && count() == 3
            && admin_data(&s, "GET", "/admin/backup", None)["last"]["ok"] == true
    });
    let status = admin_data(&s, "GET", "/admin/backup", None);
    assert_eq!(status["last"]["ok"], true, "{status}");
    assert_eq!(status["last"]["scheduled"], true, "{status}");
    assert!(status["next_in_secs"].as_i64().unwrap() > 3000, "{status}");
    let mut left: Vec<String> = std::fs::read_dir(usb.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left.len(),
        3,
        "kept 2 backups + the unrelated file: {left:?}"
    );
    assert!(left.contains(&"holiday-photos.jpg".to_string()));
    assert!(
        !left.contains(&"gatehouse-20200101T000000Z.ghb".to_string()),
        "oldest rotated away: {left:?}"
    );
    let backup = usb.path().join(&ours()[0]);

    // Changes after the backup...
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "after-backup",
        "--password",
        "after-backup-1",
    ]);
    // A corrupt file is refused before anything is staged.
    let bad = usb.path().join("bad.ghb");
    std::fs::write(&bad, b"GATEHOUSE-BACKUP\nnot really").unwrap();
    let (st, v) = admin_call(&s, "POST", "/admin/restore", Some(&json!({"from": bad})));
    assert_eq!(st, 400, "{v}");
    assert!(!state.join("restore.pending").exists());
    // ...are undone by restoring it from the admin API: the server stops to apply it.
    let (st, v) = admin_call(&s, "POST", "/admin/restore", Some(&json!({"from": backup})));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["restarting"], true);
    let code = s.stop_waiting();
    assert_ne!(code, Some(0), "exits non-zero so systemd restarts it");
    let s = Server::start_on(&state, &[]);
    // The log line goes to stderr, which the harness reads on another thread than the
    // listening line: give it a moment.
    wait_for("the staged-restore log line", || {
        s.output().contains("staged restore applied")
    });
    let users = s.cli_json(&["user", "list"]);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"admin") && !names.contains(&"after-backup"),
        "{names:?}"
    );
    assert!(!state.join("restore.pending").exists());
    let check = s.cli_json(&["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
    drop(keep);
}

#[test]
fn first_run_credentials_reach_the_console_once() {
    let s = Server::start();
    let file = s.state.join("first-run-credentials.txt");
    let on_disk = first_run_text(&s);
    let shown = admin_data(&s, "POST", "/admin/first-run", None);
    let text = shown["text"]
        .as_str()
        .expect("credentials kept for the console");
    assert!(
        text.contains("username=admin password=") && text.contains("app_key=ak_"),
        "{text}"
    );
    // The file's text, and taking it deleted the file.
    assert_eq!(on_disk.trim_end(), text);
    assert!(!file.exists(), "the console's one showing deletes the file");
    let again = admin_data(&s, "POST", "/admin/first-run", None);
    assert!(again["text"].is_null(), "shown once only: {again}");
}

#[test]
fn load_is_bounded_and_refused_in_the_familys_envelope() {
    use std::io::Write;
    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_HTTP__MAX_IN_FLIGHT", "1"),
            ("GATEHOUSE_HTTP__MAX_IN_FLIGHT_BODY_MB", "1"),
        ],
    );
    // A slow handheld: headers and 1000 KiB of a 2 MB body, then silence. It holds nearly all
    // of the body budget (1 MiB) — but no handler slot: slots are taken once a body is in.
    let mut slow = std::net::TcpStream::connect(&s.addr).unwrap();
    write!(slow, "POST /codelayer/response_codes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{{\"a\": ").unwrap();
    slow.write_all(&vec![b' '; 1000 * 1024]).unwrap();
    slow.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Another body does not fit in what is left (at most 24 KiB): 503 in its family's envelope,
    // Retry-After. (Small enough to sit in the socket buffer whole: the refusal comes before
    // the server has read it all.)
    let mut padded = b"{}".to_vec();
    padded.resize(40 * 1024, b' ');
    let busy = send(
        "POST",
        &s.url("/codelayer/response_codes"),
        &[("content-type", "application/json")],
        Some(&padded),
    );
    assert_eq!(busy.status, 200);
    assert_eq!(busy.json()["e"], 503, "{}", busy.text);
    let busy = send(
        "POST",
        &s.url("/daily/v1/authorize/verify"),
        &[("x-request-id", "b1"), ("content-type", "application/json")],
        Some(&padded),
    );
    assert_eq!(busy.status, 503);
    assert_eq!(busy.json()["code"], 503);
    assert_eq!(busy.header("retry-after"), Some("1"));
    // The one handler slot is free (the slow body holds none): a small call is served.
    let small = send(
        "POST",
        &s.url("/codelayer/response_codes"),
        &[("content-type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(small.json()["e"], 200, "{}", small.text);
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200);
    // The console's socket is never refused for LAN load.
    assert_eq!(admin_call(&s, "GET", "/admin/status", None).0, 200);
    drop(slow);
    std::thread::sleep(Duration::from_millis(300));
    let ok = send(
        "POST",
        &s.url("/codelayer/response_codes"),
        &[("content-type", "application/json")],
        Some(&padded),
    );
    assert_eq!(
        ok.json()["e"],
        200,
        "the body budget is free again: {}",
        ok.text
    );
}

/// The store cache is sized at each start from the memory limit and the store's size on disk,
/// and the start says what it chose (a technician reads it in the journal). The growth with a
/// big store is `config::tests::the_store_cache_grows_with_the_store_up_to_a_sixteenth_of_the_limit`
/// (a store past 256 MiB is too slow to build here).
#[test]
fn the_start_sizes_the_store_cache_from_the_limit_and_the_store() {
    // The log line comes on stderr, the listening line the harness waits for on stdout: wait
    // for it too.
    let sized = |s: &Server| -> (u64, f64) {
        let line = || {
            s.output()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["message"] == "store cache sized")
        };
        wait_for("the \"store cache sized\" line", || line().is_some());
        let line = line().unwrap();
        (
            line["cache_mib"].as_u64().unwrap(),
            line["store_mib"].as_f64().unwrap(),
        )
    };
    // The demo estate, so the store has a size of its own to report on the next start.
    let mut s = Server::start_with(&["--demo"], &[("GATEHOUSE_MEMORY__LIMIT_MB", "512")]);
    assert_eq!(sized(&s), (16, 0.0), "a new box under 512 MiB: 1/32 of it");
    let keep = s.keep_state();
    let state = s.state.clone();
    assert_eq!(s.stop(), Some(0));
    let on_disk = {
        fn du(p: &std::path::Path) -> u64 {
            std::fs::read_dir(p)
                .unwrap()
                .flatten()
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        du(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        }
        du(&state.join("store"))
    };
    let s = Server::start_on_env(&state, &[], &[("GATEHOUSE_MEMORY__LIMIT_MB", "128")]);
    let (cache, store) = sized(&s);
    assert_eq!(cache, 4, "a tight limit keeps the floor of 4 MiB");
    assert!(on_disk > 0);
    assert!(
        (store - on_disk as f64 / (1 << 20) as f64).abs() <= 0.05,
        "the store's size as found on disk: {store} MiB vs {on_disk} bytes"
    );
    s.stop();
    let s = Server::start_on_env(
        &state,
        &[],
        &[
            ("GATEHOUSE_MEMORY__LIMIT_MB", "512"),
            ("GATEHOUSE_STORE__CACHE_MB", "20"),
        ],
    );
    assert_eq!(sized(&s).0, 20, "a configured cache wins");
    s.stop();
    drop(keep);
}
