//! Black-box tests: identity — devices and licences, the three sign-in flows, lockout, the
//! auth matrix, and secrets kept out of logs.

use serde_json::json;

use crate::harness::*;

const IMEI: &str = "352099001761481";

#[test]
fn codelayer_licence_register_auth_settings_and_block() {
    let s = Server::start();
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "testuser",
        "--password",
        "testpassword",
    ]);
    // Unknown device: the licence request files a pending licence, without a key.
    let l = codelayer(
        &s,
        "system/license",
        &json!({"imei": IMEI, "appID": "QM_V3"}),
    );
    assert_eq!(l["e"], 200);
    assert_eq!(l["msg"], "Success");
    assert_eq!(l["licenses"][0]["statusCode"], 1, "{l}");
    assert!(l["licenses"][0].get("key").is_none(), "{l}");
    for k in ["productName", "clientName", "clientLocation", "validTill"] {
        assert!(l["licenses"][0].get(k).is_some(), "{k} missing: {l}");
    }
    let r = codelayer(
        &s,
        "system/register_device",
        &json!({"imei": IMEI, "appID": "QM_V3", "clientID": "CTPL", "deviceName": "Muster 1", "mobileNumber": "+919445295492"}),
    );
    assert_eq!(r, json!({"status": "OK", "e": 200, "msg": "Success"}));
    // The seed's sample request with a pending device: refused as unlicensed.
    let sample = json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "username": "testuser",
        "password": "testpassword", "imei": IMEI, "ver": "1.0.0.0"});
    assert_eq!(codelayer(&s, "system/auth", &sample)["e"], 403);
    let list = s.cli_json(&["device", "list"]);
    let d = &list.as_array().unwrap()[0];
    assert_eq!(d["imei"], IMEI);
    assert_eq!(d["status"], "pending");
    assert_eq!(d["client_id"], "CTPL");
    assert_eq!(d["mobile"], "+919445295492");
    s.cli_json(&["device", "approve", "--imei", IMEI]);
    let l = codelayer(
        &s,
        "system/license",
        &json!({"imei": IMEI, "appID": "QM_V3"}),
    );
    let lic = l["licenses"][0]["key"].as_str().unwrap().to_string();
    assert_eq!(l["licenses"][0]["statusCode"], 2);
    assert_eq!(lic.len(), 32);
    assert_eq!(l["licenses"][0]["clientName"], "CTPL");
    // Seed sample with the real licence key: success, a 32-character session key.
    let mut req = sample.clone();
    req["key"] = json!(lic);
    let a = codelayer(&s, "system/auth", &req);
    assert_eq!(a["e"], 200, "{a}");
    assert_eq!(a["msg"], "Success");
    let key = a["key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 32);
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(key, lic);
    // Bad credentials: the seed's failure response exactly.
    let mut bad = req.clone();
    bad["password"] = json!("wrongpassword");
    assert_eq!(
        codelayer(&s, "system/auth", &bad),
        json!({"e": 401, "msg": "Invalid authentication credentials."})
    );
    // Estate Authentication is the same sign-in.
    let e = codelayer(&s, "estate/auth", &req);
    assert_eq!(e["e"], 200, "{e}");
    // Settings with the session key.
    let st = codelayer(&s, "system/settings", &json!({"key": key, "imei": IMEI}));
    assert_eq!(st["e"], 200, "{st}");
    assert_eq!(st["face_threshold"], "3");
    assert_eq!(
        codelayer(
            &s,
            "system/settings",
            &json!({"key": "x".repeat(32), "imei": IMEI})
        )["e"],
        401
    );
    // Blocking kills the sessions and refuses new ones.
    s.cli_json(&["device", "block", "--imei", IMEI]);
    let st = codelayer(&s, "system/settings", &json!({"key": key, "imei": IMEI}));
    assert_ne!(st["e"], 200, "{st}");
    assert_eq!(codelayer(&s, "system/auth", &req)["e"], 403);
    let l = codelayer(
        &s,
        "system/license",
        &json!({"imei": IMEI, "appID": "QM_V3"}),
    );
    assert_eq!(l["licenses"][0]["statusCode"], 3);
    assert!(l["licenses"][0].get("key").is_none());
    let list = s.cli_json(&["device", "list"]);
    assert_eq!(list[0]["status"], "blocked");
    assert_eq!(list[0]["app_version"], "1.0.0.0");
    assert!(list[0]["last_seen_unix"].as_i64().is_some());
    // Approved again: a fresh licence key; the old one is dead.
    s.cli_json(&["device", "approve", "--imei", IMEI]);
    assert_eq!(codelayer(&s, "system/auth", &req)["e"], 403);
    let k2 = codelayer_licence(&s, IMEI);
    assert_ne!(k2, lic);
    req["key"] = json!(k2);
    assert_eq!(codelayer(&s, "system/auth", &req)["e"], 200);
    // Rejected.
    s.cli_json(&["device", "reject", "--imei", IMEI]);
    assert_eq!(codelayer(&s, "system/auth", &req)["e"], 403);
    // Unknown IMEI for a decision: a clear failure.
    let out = s.cli(&["device", "approve", "--imei", "999999999999999"]);
    assert!(!out.status.success());
}

#[test]
fn codelayer_field_limits_and_version() {
    let s = Server::start_with(
        &[],
        &[("GATEHOUSE_CODELAYER__MIN_CLIENT_VERSION", "1.2.0.0")],
    );
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "mandor01",
        "--password",
        "mandor-pass",
    ]);
    let lic = codelayer_licence(&s, "35209900176148");
    let base = json!({"key": lic, "username": "mandor01", "password": "mandor-pass",
        "imei": "35209900176148", "ver": "1.2.0.0"});
    assert_eq!(codelayer(&s, "system/auth", &base)["e"], 200);
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        codelayer(&s, "system/auth", &b)
    };
    let old = with("ver", json!("1.1.9.9"));
    assert_eq!(old["e"], 426, "{old}");
    assert_eq!(with("ver", json!("1.10.0.0"))["e"], 200);
    let r = with("ver", json!("1.0.0"));
    assert_eq!(r["e"], 400);
    assert!(r["msg"].as_str().unwrap().contains("ver"), "{r}");
    assert_eq!(with("ver", json!("1.2.333333.44444"))["e"], 200); // 16 characters
    assert_eq!(with("ver", json!("1.2.333333.444444"))["e"], 400); // 17
    assert_eq!(with("imei", json!("3520990017614"))["e"], 400); // 13 digits
    assert_eq!(with("imei", json!("35209900176148a"))["e"], 400);
    assert_eq!(with("imei", json!("35209900176148123"))["e"], 400); // 17
    assert_eq!(with("key", json!("x".repeat(31)))["e"], 400);
    assert_eq!(with("key", json!("x".repeat(33)))["e"], 400);
    assert_eq!(with("username", json!("u".repeat(65)))["e"], 400);
    assert_eq!(with("username", json!("u".repeat(64)))["e"], 401);
    assert_eq!(with("password", json!("p".repeat(65)))["e"], 400);
    // Licence request / register limits.
    let lic = |imei: &str, app: &str| {
        codelayer(&s, "system/license", &json!({"imei": imei, "appID": app}))["e"].clone()
    };
    assert_eq!(lic(&"1".repeat(13), "POABS"), 400);
    assert_eq!(lic(&"1".repeat(14), "POABS"), 200);
    assert_eq!(lic(&"1".repeat(50), "POABS"), 200);
    assert_eq!(lic(&"1".repeat(51), "POABS"), 400);
    assert_eq!(lic(&"1".repeat(15), "QM"), 400);
    assert_eq!(lic(&"1".repeat(15), &"A".repeat(30)), 200);
    assert_eq!(lic(&"1".repeat(15), &"A".repeat(31)), 400);
    let reg = |mobile: &str, name: &str, client: &str| {
        codelayer(
            &s,
            "system/register_device",
            &json!({"imei": "1".repeat(15), "appID": "POABS",
            "clientID": client, "deviceName": name, "mobileNumber": mobile}),
        )["e"]
            .clone()
    };
    assert_eq!(reg("+6282299757", "abc", "abc"), 200);
    assert_eq!(reg("+628229975", "abc", "abc"), 200); // 10
    assert_eq!(reg("+62822997", "abc", "abc"), 400); // 9
    assert_eq!(reg("+628229975726", "abc", "abc"), 200); // 13
    assert_eq!(reg("+6282299757261", "abc", "abc"), 400); // 14
    assert_eq!(reg("+6282299757", "ab", "abc"), 400);
    assert_eq!(reg("+6282299757", &"n".repeat(50), "abc"), 200);
    assert_eq!(reg("+6282299757", &"n".repeat(51), "abc"), 400);
    assert_eq!(reg("+6282299757", "abc", "ab"), 400);
    assert_eq!(reg("+6282299757", "abc", &"c".repeat(30)), 200);
    assert_eq!(reg("+6282299757", "abc", &"c".repeat(31)), 400);
}
