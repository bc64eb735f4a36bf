//! Issue 11: callers kept apart, no write acknowledged early, secrets kept off disks and logs.
//! Each test here failed on the code before its fix.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::harness::*;

/// Backups hold master.key and password hashes: 0600 whatever the umask, and an existing
/// file is never replaced.
#[test]
fn backups_are_private_and_never_overwritten() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nightly.ghb");
    let out_s = out.to_str().unwrap();
    // A permissive umask on the CLI side too (the server writes the file either way).
    let run = |args: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 000; exec '{BIN}' backup --out '{out_s}' --state '{}' {args}",
                s.state.display()
            ))
            .output()
            .unwrap()
    };
    let first = run("--json");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "backup mode {mode:o}");
    let before = std::fs::read(&out).unwrap();
    let again = run("");
    assert!(
        !again.status.success(),
        "a second backup over the same file must fail"
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the first backup is untouched"
    );
    // Offline (no server): the same rules.
    drop(s);
}

/// An approved IMEI's licence key goes to one asker only; staff re-issue a new one, and the
/// old key stops working.
#[test]
fn a_licence_key_is_delivered_once_and_reissued_by_staff() {
    let s = Server::start();
    let imei = "359000000000011";
    let ask = || {
        codelayer(
            &s,
            "system/license",
            &json!({"imei": imei, "appID": "POABS"}),
        )
    };
    assert_eq!(ask()["licenses"][0]["statusCode"], 1);
    s.cli_json(&["device", "approve", "--imei", imei]);
    let first = ask();
    let key = first["licenses"][0]["key"]
        .as_str()
        .expect("first asker gets it")
        .to_string();
    // Whoever sends the IMEI next (an attacker who copied it) gets no key.
    let second = ask();
    assert_eq!(second["licenses"][0]["statusCode"], 2, "{second}");
    assert!(
        second["licenses"][0].get("key").is_none(),
        "key handed out twice: {second}"
    );
    let list = s.cli_json(&["device", "list"]);
    assert_eq!(list[0]["key_delivered_to"], "127.0.0.1", "{list}");
    // The key works until staff re-issue; then only the new one does.
    s.cli(&[
        "user",
        "add",
        "--username",
        "mandor",
        "--password",
        "mandor-pass-1",
    ]);
    let auth = |k: &str| {
        codelayer(
            &s,
            "system/auth",
            &json!({"key": k, "username": "mandor", "password": "mandor-pass-1", "imei": imei, "ver": "1.0.0.0"}),
        )
    };
    let a = auth(&key);
    assert_eq!(a["e"], 200, "{a}");
    let session = a["key"].as_str().unwrap().to_string();
    s.cli_json(&["device", "reissue", "--imei", imei]);
    assert_eq!(auth(&key)["e"], 403, "the old key is dead");
    let st = codelayer(
        &s,
        "system/settings",
        &json!({"key": session, "imei": imei}),
    );
    assert_eq!(st["e"], 401, "sessions of the old key end: {st}");
    let k2 = ask()["licenses"][0]["key"].as_str().unwrap().to_string();
    assert_ne!(k2, key);
    assert!(ask()["licenses"][0].get("key").is_none());
    assert_eq!(auth(&k2)["e"], 200);
    // Re-issuing for a device that is not approved is refused.
    let out = s.cli(&["device", "reissue", "--imei", "359000000000099"]);
    assert!(!out.status.success());
}

/// `register_device` does not silently replace an approved device's name and number.
#[test]
fn an_approved_devices_registration_is_not_overwritten() {
    let s = Server::start();
    let imei = "359000000000022";
    let reg = |name: &str, mobile: &str| {
        codelayer(
            &s,
            "system/register_device",
            &json!({"imei": imei, "appID": "POABS", "clientID": "ESTATE", "deviceName": name, "mobileNumber": mobile}),
        )
    };
    assert_eq!(reg("Muster 1", "+62822997572")["status"], "OK");
    s.cli_json(&["device", "approve", "--imei", imei]);
    // The same registration again (a handheld restarting) is fine.
    assert_eq!(reg("Muster 1", "+62822997572")["status"], "OK");
    let r = reg("Evil twin", "+62800000000");
    assert_eq!(r["e"], 409, "{r}");
    let list = s.cli_json(&["device", "list"]);
    assert_eq!(list[0]["device_name"], "Muster 1", "{list}");
    assert_eq!(list[0]["mobile"], "+62822997572", "{list}");
}

/// A flood of new IMEIs is limited per source address and in total pending.
#[test]
fn licence_requests_are_rate_limited_and_capped() {
    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_SECURITY__LICENCE_REQUESTS_PER_MINUTE", "5"),
            ("GATEHOUSE_SECURITY__LICENCE_PENDING_MAX", "1000"),
        ],
    );
    let mut codes = Vec::new();
    for i in 0..8 {
        let l = codelayer(
            &s,
            "system/license",
            &json!({"imei": format!("3590000001{i:05}"), "appID": "POABS"}),
        );
        codes.push(l["e"].as_i64().unwrap());
    }
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429, 429], "{codes:?}");
    // Asking again for a known IMEI is not a new record and is not limited.
    let again = codelayer(
        &s,
        "system/license",
        &json!({"imei": "359000000100000", "appID": "POABS"}),
    );
    assert_eq!(again["e"], 200, "{again}");
    assert_eq!(s.cli_json(&["device", "list"]).as_array().unwrap().len(), 5);

    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_SECURITY__LICENCE_REQUESTS_PER_MINUTE", "100"),
            ("GATEHOUSE_SECURITY__LICENCE_PENDING_MAX", "3"),
        ],
    );
    let mut codes = Vec::new();
    for i in 0..5 {
        let l = codelayer(
            &s,
            "system/register_device",
            &json!({"imei": format!("3590000002{i:05}"), "appID": "POABS", "clientID": "ESTATE",
                    "deviceName": "Flood", "mobileNumber": "+62822997572"}),
        );
        codes.push(l["e"].as_i64().unwrap());
    }
    assert_eq!(codes, [200, 200, 200, 429, 429], "{codes:?}");
    // A decision frees a place.
    s.cli_json(&["device", "reject", "--imei", "359000000200000"]);
    let l = codelayer(
        &s,
        "system/license",
        &json!({"imei": "359000000299999", "appID": "POABS"}),
    );
    assert_eq!(l["e"], 200, "{l}");
}
