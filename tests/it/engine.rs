//! The store's engine from outside: a state directory of the previous release (sled 0.34 in
//! `db/`, its log in `wal/`) is moved into redb at the first start, systemd is told to wait
//! while it runs, every record comes along, and the old store is kept for going back.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse::store::redb_engine::RedbEngine;
use gatehouse::store::wal::WalEngine;
use gatehouse::store::{Engine, SledEngine};

use crate::harness::*;

/// A user added through the running server's admin socket (a write to its store).
fn add_user(s: &Server, name: &str, role: &str) {
    s.cli_json(&[
        "user",
        "add",
        "--username",
        name,
        "--password",
        "kept-pass-1",
        "--role",
        role,
    ]);
}

/// Rewrites this release's store under `state` as the previous release kept it: every tree of
/// `store/` copied through the sled engine and its log into `db/` and `wal/`, `store/` gone.
/// Returns how many records it holds.
fn as_previous_release(state: &Path) -> u64 {
    let redb = RedbEngine::open(&state.join("store"), 4 << 20).unwrap();
    let new = WalEngine::open(Arc::new(redb), &state.join("store/wal")).unwrap();
    let sled = Arc::new(SledEngine::open(&state.join("db"), 4 << 20).unwrap());
    let old = WalEngine::open(sled, &state.join("wal")).unwrap();
    let mut n = 0;
    for tree in new.tree_names() {
        for kv in new.scan(&tree, b"").unwrap() {
            let (key, value) = kv.unwrap();
            old.apply(&[gatehouse::store::Op {
                tree: tree.clone(),
                key,
                value: Some(value),
            }])
            .unwrap();
            n += 1;
        }
    }
    // Durable in sled's log of ours only, as a running server leaves it between checkpoints.
    old.flush().unwrap();
    drop((old, new));
    std::fs::remove_dir_all(state.join("store")).unwrap();
    n
}

#[test]
fn a_previous_release_store_is_moved_at_the_first_start_and_kept() {
    let mut s = Server::start();
    for (name, role) in [("moved.clerk", "clerk"), ("moved.guard", "guard")] {
        add_user(&s, name, role);
    }
    let keep = s.keep_state();
    let state = s.state.clone();
    assert_eq!(s.stop(), Some(0));
    let records = as_previous_release(&state);
    assert!(records > 10, "{records}");
    assert!(state.join("db").is_dir() && !state.join("store").exists());

    let notify = tempfile::tempdir().unwrap();
    let sock_path = notify.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let s = Server::start_on_env(
        &state,
        &[],
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );
    // systemd hears that the start takes longer before it hears that the server is ready.
    let mut said = Vec::new();
    let mut buf = [0u8; 512];
    while !said.iter().any(|m: &String| m.contains("READY=1")) {
        let n = sock.recv(&mut buf).expect("a notification within 30 s");
        said.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    let extend = said.iter().position(|m| m.contains("EXTEND_TIMEOUT_USEC="));
    let ready = said.iter().position(|m| m.contains("READY=1"));
    assert!(extend.is_some() && extend < ready, "{said:?}");
    assert!(
        said[extend.unwrap()].contains("STATUS=moving the store"),
        "{said:?}"
    );
    assert!(
        s.output().contains("store moved from sled to redb"),
        "{}",
        s.output()
    );

    // Every record came along: the users sign in, and the store checks clean.
    let users = s.cli_json(&["user", "list"]).to_string();
    assert!(
        users.contains("moved.clerk") && users.contains("moved.guard"),
        "{users}"
    );
    assert_eq!(s.stop(), Some(0));
    let check = cli_json(&state, &["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");

    // The sled store is kept whole beside it, and moved once.
    let kept: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sled.migrated-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(!state.join("db").exists() && !state.join("wal").exists());
    let old = WalEngine::open(
        Arc::new(SledEngine::open(&kept[0].join("db"), 4 << 20).unwrap()),
        &kept[0].join("wal"),
    )
    .unwrap();
    let old_records: u64 = old
        .tree_names()
        .iter()
        .filter(|t| !t.starts_with("__"))
        .map(|t| old.scan(t, b"").unwrap().count() as u64)
        .sum();
    assert_eq!(old_records, records);
    drop(old);
    let s = Server::start_on(&state, &[]);
    assert!(!s.output().contains("store moved"), "{}", s.output());
    assert_eq!(s.stop(), Some(0));
    drop(keep);
}

fn gatepass(s: &Server, key: &str, body: serde_json::Value) -> serde_json::Value {
    let mut b = body;
    b["key"] = serde_json::json!(key);
    codelayer(s, "frontoffice_poabs/gatepass_save", &b)
}

/// Durable writes from handhelds at once go into redb in groups (store::overlay): every
/// acknowledged change is drained, in fewer transactions than changes, the overlay empties,
/// and each pass is read back through the store, and again after a kill -9.
#[test]
fn writes_at_once_reach_the_store_in_groups_and_survive_a_kill() {
    const IMEI: &str = "352099001761481";
    let s = Server::start();
    let key = codelayer_session(&s, "guard1", "guard-pass-1", IMEI);
    let (drains0, changes0) = (
        metric(&s, "gatehouse_store_drains_total"),
        metric(&s, "gatehouse_store_drained_changes_total"),
    );
    let (threads, each) = (8, 25);
    let numbers: Vec<String> = (0..threads)
        .flat_map(|t| (0..each).map(move |i| format!("OV{t}-{i:04}")))
        .collect();
    std::thread::scope(|sc| {
        for chunk in numbers.chunks(each) {
            let (s, key) = (&s, &key);
            sc.spawn(move || {
                for gpno in chunk {
                    let body = serde_json::json!({"gpno": gpno, "kind": "visitor",
                        "name": "Asha Raman", "phone": "+919445295492", "id_type": "Aadhaar",
                        "id_number": "XXXX-XXXX-4321", "host": "Estate Manager",
                        "purpose": "Fertilizer audit", "gate": "North", "guard": "Ravi"});
                    let r = gatepass(s, key, body);
                    assert_eq!(r["e"], 200, "{gpno}: {r}");
                }
            });
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (drains, changes) = loop {
        let d = metric(&s, "gatehouse_store_drains_total") - drains0;
        let c = metric(&s, "gatehouse_store_drained_changes_total") - changes0;
        if c >= numbers.len() as u64 && metric(&s, "gatehouse_store_overlay_bytes") == 0 {
            break (d, c);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not drained: {c} changes in {d} drains, overlay {} bytes",
            metric(&s, "gatehouse_store_overlay_bytes")
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        drains < changes,
        "{changes} changes from {threads} handhelds at once took {drains} transactions"
    );
    let mut s = s;
    let _kept = s.keep_state();
    let state = s.kill9();
    let s = Server::start_on(&state, &[]);
    let key = codelayer_login(&s, "guard1", "guard-pass-1", IMEI);
    for gpno in &numbers {
        let r = gatepass(
            &s,
            &key,
            serde_json::json!({"gpno": gpno, "action": "in", "gate": "North", "guard": "Ravi"}),
        );
        assert_eq!(r["e"], 200, "{gpno}: {r}");
        assert_eq!(r["data"]["status"], "in", "{gpno}: {r}");
    }
}

fn log_files(state: &Path) -> usize {
    log_paths(state).len()
}

/// The log's files in `state`.
fn log_paths(state: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(state.join("store/wal"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect()
}

/// A port another program holds, and its address: a start on it fails after the store opened.
fn taken_port() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// Runs `serve` (built by the caller on `state` and a taken port) and checks that it got past
/// the store and failed at the port.
fn fails_at_its_port(serve: &mut std::process::Command) {
    let out = serve.env_remove("GATEHOUSE_CONFIG").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("cannot listen"),
        "{:?}: {err}",
        out.status
    );
}

/// Starts of the real binary that fail after the store opened: its port is taken.
fn fail_to_start(state: &Path, taken: &str, times: usize) -> Vec<usize> {
    (0..times)
        .map(|_| {
            fails_at_its_port(
                std::process::Command::new(BIN)
                    .args(["serve", "--state"])
                    .arg(state)
                    .args(["--listen", taken]),
            );
            log_files(state)
        })
        .collect()
}

/// systemd restarts a failed server every 5 s without limit. A start that fails after the
/// store opened (its port taken by another program) used to leave the log's files as they
/// were and add one (256 KiB), and read them all again at the next start: a night of that
/// filled the SD card. Now a start lets go of the files whose records redb holds durably
/// (after a replay, once it made it durable), after a clean stop and after a kill -9 alike,
/// and what was written is all there.
#[test]
fn starts_that_fail_after_the_store_opened_do_not_grow_the_log() {
    let (_held, taken) = taken_port();
    let mut s = Server::start();
    let keep = s.keep_state();
    let state = s.state.clone();
    add_user(&s, "before.stop", "clerk");
    assert_eq!(s.stop(), Some(0));
    assert_eq!(fail_to_start(&state, &taken, 3), vec![1, 1, 1]);

    let s = Server::start_on(&state, &[]);
    add_user(&s, "before.kill", "clerk");
    s.kill9();
    // The first start replays what redb lost, makes it durable there and lets the files go.
    assert_eq!(fail_to_start(&state, &taken, 3), vec![1, 1, 1]);

    let s = Server::start_on(&state, &[]);
    let users = s.cli_json(&["user", "list"]).to_string();
    assert!(
        users.contains("before.stop") && users.contains("before.kill"),
        "{users}"
    );
    assert_eq!(s.stop(), Some(0));
    drop(keep);
}

/// A log file's first byte past its records (where its zeros begin): records are a 4-byte
/// length, a 4-byte checksum and that many bytes (`store::wal::encode`).
fn end_of_records(log: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let len = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            return at;
        }
        at += 8 + len;
    }
}

/// An SD card's damaged block may leave a log header claiming a record of up to a gigabyte.
/// The start allocated all of it before reading the record, which a 1 GB box without swap
/// refuses outright, so the server aborted at every restart ("memory allocation of 1073741824
/// bytes failed"). Here the address space is cut to ~880 MiB, as on such a box: the start gets
/// past the store (and fails only at its taken port), the records before the damage are there.
#[test]
fn a_damaged_log_header_does_not_stop_the_start() {
    let (_held, taken) = taken_port();
    let mut s = Server::start();
    let keep = s.keep_state();
    let state = s.state.clone();
    add_user(&s, "before.damage", "clerk");
    s.kill9();
    let file = log_paths(&state).remove(0);
    let mut log = std::fs::read(&file).unwrap();
    let at = end_of_records(&log);
    log[at..at + 4].copy_from_slice(&(1u32 << 30).to_le_bytes());
    log[at + 4..at + 8].copy_from_slice(&0xdead_beef_u32.to_le_bytes());
    log[at + 8..at + 108].fill(7);
    std::fs::write(&file, &log).unwrap();

    fails_at_its_port(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -v 900000 && exec "$0" serve --state "$1" --listen "$2""#)
            .arg(BIN)
            .arg(&state)
            .arg(&taken),
    );

    let s = Server::start_on(&state, &[]);
    let users = s.cli_json(&["user", "list"]).to_string();
    assert!(users.contains("before.damage"), "{users}");
    drop(keep);
}
