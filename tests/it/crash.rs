//! Durability: what was acknowledged survives kill -9, over many rounds, and the store opens
//! and passes `check` after each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::harness::*;

const ROUNDS: usize = 20;
const WRITERS: usize = 4;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().to_path_buf();
    // Only `serve` creates a store.
    assert_eq!(Server::start_on(&state, &[]).stop(), Some(0));
    let c = cli_json(&state, &["client", "add", "--name", "crash"]);
    let app_key = c["app_key"].as_str().unwrap().to_string();
    let private = c["private_key"].as_str().unwrap().to_string();
    // (request id, body, token) of every acknowledged write so far.
    let acked: Arc<Mutex<Vec<(String, serde_json::Value, String)>>> =
        Arc::new(Mutex::new(Vec::new()));
    let mut seed = 0x9e3779b97f4a7c15u64 ^ std::process::id() as u64;
    for round in 0..ROUNDS {
        let s = Server::start_on(&state, &[]);
        let url = s.url("/daily/v1/authorize/verify");
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for w in 0..WRITERS {
            let (url, app_key, private, stop, acked) = (
                url.clone(),
                app_key.clone(),
                private.clone(),
                stop.clone(),
                acked.clone(),
            );
            threads.push(std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let rid = format!("crash-{round}-{w}-{i}");
                    let ts = now_unix();
                    let body = json!({"timestamp": ts, "signature": hmac_hex(&private, &format!("{rid}\n{ts}"))});
                    let req = ureq::post(&url).set("x-app-key", &app_key).set("x-request-id", &rid).timeout(Duration::from_secs(5));
                    // Connection errors are expected once the server is killed.
                    if let Ok(resp) = req.send_json(body.clone()) {
                        let v: serde_json::Value = resp.into_json().unwrap();
                        let token = v["data"]["client_token"].as_str().unwrap().to_string();
                        acked.lock().unwrap().push((rid, body, token));
                    }
                }
            }));
        }
        // xorshift: a different kill moment every round.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(50 + seed % 400));
        let state_dir = s.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let _ = state_dir;
        // Restart: every acknowledged write is there (a replay gives back the same token).
        let s = Server::start_on(&state, &[]);
        let all = acked.lock().unwrap().clone();
        assert!(!all.is_empty(), "round {round}: nothing was acknowledged");
        // Check a sample each round and everything in the last round.
        let step = if round + 1 == ROUNDS {
            1
        } else {
            (all.len() / 50).max(1)
        };
        for (rid, body, token) in all.iter().step_by(step) {
            let a = post_json(
                &s.url("/daily/v1/authorize/verify"),
                &[("x-app-key", &app_key), ("x-request-id", rid)],
                body,
            );
            assert_eq!(a.status, 200, "round {round}: {rid} lost: {}", a.text);
            assert_eq!(
                a.header("x-idempotent-replay"),
                Some("true"),
                "round {round}: {rid} was acknowledged but is gone"
            );
            assert_eq!(
                a.json()["data"]["client_token"].as_str().unwrap(),
                token,
                "round {round}: {rid} changed"
            );
        }
        assert_eq!(s.stop(), Some(0));
        let check = cli_json(&state, &["check"]);
        assert!(
            check["errors"].as_array().unwrap().is_empty(),
            "round {round}: check failed: {check}"
        );
    }
    eprintln!(
        "kill -9: {ROUNDS} rounds, {} acknowledged writes, all present",
        acked.lock().unwrap().len()
    );
}
