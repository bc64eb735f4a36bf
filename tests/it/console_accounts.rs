//! Black-box tests: disabling and enabling an account ends its sessions in every family, and
//! unlocking a user lifts its devices' lockouts; through the CLI as a technician types it.

use serde_json::json;

use crate::harness::*;

const IMEI: &str = "352099001761483";

fn authorize_body(username: &str, password: &str, device: &str) -> serde_json::Value {
    json!({
        "username": username, "password": password, "notificationCenterType": "android",
        "deviceType": "phone", "appVersion": "1.0.0", "OSVersion": "14", "deviceID": device,
        "notifToken": "t", "timezoneOffset": 420, "timezoneName": "Asia/Jakarta",
        "hierarchylogin": false
    })
}

fn state_of(s: &Server, username: &str) -> String {
    let list = s.cli_json(&["user", "list"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .map(|u| u["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn a_disabled_user_loses_every_session_and_cannot_sign_in_until_enabled() {
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "Kebun-2026!", "gate_guard");
    assert_eq!(da.call("GET", "/user/profile", None).status, 200);
    let cl_key = codelayer_login(&s, "siti", "Kebun-2026!", IMEI);
    let settings = json!({"key": cl_key, "imei": IMEI});
    assert_eq!(codelayer(&s, "system/settings", &settings)["e"], 200);
    let az = post_json(
        &s.url("/api/users/authorize"),
        &[],
        &authorize_body("siti", "Kebun-2026!", "PHONE-1"),
    );
    assert_eq!(az.status, 200, "{}", az.text);
    let token = az.json()["message"]["token"].as_str().unwrap().to_string();
    let check = || {
        post_json(
            &s.url("/api/users/checktoken"),
            &[],
            &json!({"deviceID": "PHONE-1", "token": token}),
        )
        .status
    };
    assert_eq!(check(), 200);

    // The technician disables the account: every session ends, in every family.
    let out = s.cli(&["user", "disable", "--username", "siti"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("'siti' disabled; sessions ended: "), "{said}");
    assert!(said.contains("1 Codelayer, 1 Authorize"), "{said}");
    assert_eq!(da.call("GET", "/user/profile", None).status, 401);
    assert_eq!(codelayer(&s, "system/settings", &settings)["e"], 401);
    assert_eq!(check(), 401);
    assert_eq!(state_of(&s, "siti"), "disabled");
    // Signing in again is refused everywhere.
    let again = post_json(
        &s.url("/api/users/authorize"),
        &[],
        &authorize_body("siti", "Kebun-2026!", "PHONE-1"),
    );
    assert_eq!(again.status, 400, "{}", again.text);

    // Enabled: it signs in again (old sessions stay ended).
    let out = s.cli(&["user", "enable", "--username", "siti"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(state_of(&s, "siti"), "active");
    assert_eq!(check(), 401, "an ended session stays ended");
    let az = post_json(
        &s.url("/api/users/authorize"),
        &[],
        &authorize_body("siti", "Kebun-2026!", "PHONE-1"),
    );
    assert_eq!(az.status, 200, "{}", az.text);
    let unknown = s.cli(&["user", "disable", "--username", "nobody"]);
    assert!(!unknown.status.success());
}

#[test]
fn unlocking_a_user_lifts_its_own_and_its_devices_lockouts_and_list_shows_locked() {
    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_AUTH__LOCKOUT_AFTER_FAILURES", "3"),
            ("GATEHOUSE_AUTH__LOCKOUT_MINUTES", "15"),
        ],
    );
    for (u, p) in [("joko", "joko-pass-1"), ("siti", "siti-pass-1")] {
        s.cli_json(&["user", "add", "--username", u, "--password", p]);
    }
    let bad = authorize_body("joko", "wrong-pass", "PHONE-9");
    for _ in 0..3 {
        post_json(&s.url("/api/users/authorize"), &[], &bad);
    }
    assert_eq!(state_of(&s, "joko"), "LOCKED 15m", "whole, with minutes");
    let out = s.cli(&["user", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("LOCKED 15m"), "{text}");
    // The device is locked too: siti cannot sign in from it.
    let siti = authorize_body("siti", "siti-pass-1", "PHONE-9");
    let r = post_json(&s.url("/api/users/authorize"), &[], &siti);
    assert_eq!(r.status, 400, "{}", r.text);
    // Unlocking joko lifts both.
    let u = s.cli_json(&["user", "unlock", "--username", "joko"]);
    assert_eq!(u["was_locked"], true);
    let lifted: Vec<&str> = u["lifted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(lifted.contains(&"user:joko"), "{u}");
    assert!(lifted.contains(&"authorize:PHONE-9"), "{u}");
    let r = post_json(&s.url("/api/users/authorize"), &[], &siti);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(state_of(&s, "joko"), "active");
}
