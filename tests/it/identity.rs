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

fn client_call(
    s: &Server,
    da: &DaSession,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> Answer {
    let rid = request_id();
    let bearer = format!("Bearer {}", da.client_token);
    let mut h = da_client_headers(&da.app_key, &bearer, &rid);
    h.push(("content-type", "application/json"));
    send(
        method,
        &s.url(&format!("/daily/v1{path}")),
        &h,
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn da_device_permission_roles_encrypt_and_token_info() {
    let s = Server::start();
    let da = DaSession::open(&s, "guard01", "guard-pass-1", "gate_guard");
    // Register Device: created, then updated (not duplicated).
    let body = json!({"device_id": "HH-0042", "device_name": "Gate tablet", "platform": "android"});
    let r = client_call(&s, &da, "POST", "/device/register", &body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["data"]["created"], true);
    assert_eq!(r.json()["code"], 201);
    let r = client_call(&s, &da, "POST", "/device/register", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["created"], false);
    let r = client_call(
        &s,
        &da,
        "POST",
        "/device/register",
        &json!({"device_id": "x".repeat(101)}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errors"][0]["field"], "device_id");
    // Register Device wants the client token, not an access token.
    let r = da.call("POST", "/device/register", Some(&body));
    assert_eq!(r.status, 401, "{}", r.text);
    // Permission.
    let p = da.call("GET", "/user/permission", None);
    assert_eq!(p.status, 200, "{}", p.text);
    let d = &p.json()["data"];
    assert_eq!(d["role"], "gate_guard");
    let perms: Vec<&str> = d["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(perms.contains(&"gatepass_edit"), "{perms:?}");
    assert!(!perms.contains(&"users_edit"), "{perms:?}");
    // Get Role List: the estate's six roles with their permissions.
    let roles = da.call("GET", "/privilege/roles", None).json()["data"].clone();
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "admin",
            "manager",
            "supervisor",
            "clerk",
            "gate_guard",
            "labourer"
        ]
    );
    assert!(roles[0]["permissions"].as_array().unwrap().len() >= 15);
    assert_eq!(roles[5]["label"], "Labourer");
    // Encrypt: different output each time (random nonce), never the plain text.
    let e1 = da.call("POST", "/encrypt", Some(&json!({"text": "guard-pass-1"})));
    assert_eq!(e1.status, 200, "{}", e1.text);
    let enc1 = e1.json()["data"]["encrypted"].as_str().unwrap().to_string();
    let enc2 = da
        .call("POST", "/encrypt", Some(&json!({"text": "guard-pass-1"})))
        .json()["data"]["encrypted"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(enc1, enc2);
    assert!(!enc1.contains("guard-pass-1"));
    assert_eq!(da.call("POST", "/encrypt", Some(&json!({}))).status, 400);
    // Token Info.
    let t = da.call("GET", "/users/token-info", None);
    assert_eq!(t.status, 200, "{}", t.text);
    let t = t.json()["data"].clone();
    assert_eq!(t["username"], "guard01");
    assert_eq!(t["app_key"], da.app_key.as_str());
    assert_eq!(t["device_id"], "HH-TEST");
    assert!(t["access_token"]["expires_in"].as_i64().unwrap() > 3000);
    assert!(t["user_token"]["expires_in"].as_i64().unwrap() > 3000);
    // Messages in both languages.
    let id = da.call_as("POST", "/encrypt", Some(&json!({})), &request_id(), "id");
    assert_eq!(
        id.json()["errors"][0]["message"],
        "text wajib diisi",
        "{}",
        id.text
    );
}

#[test]
fn da_change_password_keeps_this_session_and_ends_the_others() {
    let s = Server::start();
    let a = DaSession::open(&s, "clerk01", "clerk-pass-1", "clerk");
    let b = DaSession::login(&s, &a.app_key, &a.private_key, "clerk01", "clerk-pass-1");
    let cl = codelayer_login(&s, "clerk01", "clerk-pass-1", IMEI);
    // Wrong old password, confirmation mismatch, same password: refused, nothing changes.
    let r = a.call(
        "PUT",
        "/user/change-password",
        Some(&json!({"old_password": "nope-nope", "new_password": "clerk-pass-2"})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "old_password");
    let r = a.call("PUT", "/user/change-password", Some(&json!({"old_password": "clerk-pass-1", "new_password": "clerk-pass-2", "confirm_password": "clerk-pass-3"})));
    assert_eq!(r.status, 400);
    let r = a.call(
        "PUT",
        "/user/change-password",
        Some(&json!({"old_password": "clerk-pass-1", "new_password": "short"})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errors"][0]["field"], "new_password", "{}", r.text);
    assert_eq!(b.call("GET", "/user/profile", None).status, 200);
    let r = a.call("PUT", "/user/change-password", Some(&json!({"old_password": "clerk-pass-1", "new_password": "clerk-pass-2", "confirm_password": "clerk-pass-2"})));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json()["data"]["sessions_revoked"].as_u64().unwrap() >= 3,
        "{}",
        r.text
    );
    // This session lives on; the other Daily Activity session and the handheld's are gone.
    assert_eq!(a.call("GET", "/user/profile", None).status, 200);
    assert_eq!(b.call("GET", "/user/profile", None).status, 401);
    assert_eq!(
        codelayer(&s, "system/settings", &json!({"key": cl, "imei": IMEI}))["e"],
        401
    );
    // Old password refused, new one works.
    let lic = codelayer_licence(&s, IMEI);
    let auth = |pw: &str| {
        codelayer(&s, "system/auth", &json!({"key": lic, "username": "clerk01", "password": pw, "imei": IMEI, "ver": "1.0.0.0"}))["e"].clone()
    };
    assert_eq!(auth("clerk-pass-1"), 401);
    assert_eq!(auth("clerk-pass-2"), 200);
}

#[test]
fn da_forgot_and_reset_password_through_the_outbox() {
    let s = Server::start();
    let da = DaSession::open(&s, "mandor02", "mandor-pass-1", "supervisor");
    // Unknown and known users get the same answer, and no code.
    let known = client_call(
        &s,
        &da,
        "POST",
        "/user/forgot-password",
        &json!({"username": "mandor02"}),
    );
    let unknown = client_call(
        &s,
        &da,
        "POST",
        "/user/forgot-password",
        &json!({"username": "nobody"}),
    );
    assert_eq!(known.status, 200, "{}", known.text);
    assert_eq!(known.json()["data"], unknown.json()["data"]);
    assert_eq!(known.json()["data"]["expires_in"], 900);
    let outbox = admin_data(&s, "GET", "/admin/outbox", None);
    let msgs = outbox.as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{outbox}");
    assert_eq!(msgs[0]["channel"], "console");
    assert_eq!(msgs[0]["purpose"], "password_reset");
    let text = msgs[0]["text"].as_str().unwrap();
    let code: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the message")
        .to_string();
    assert!(!known.text.contains(&code));
    // A wrong code is refused; the right one works once.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = client_call(
        &s,
        &da,
        "POST",
        "/user/reset-password",
        &json!({"username": "mandor02", "code": wrong, "new_password": "mandor-pass-2"}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "code");
    let r = client_call(
        &s,
        &da,
        "POST",
        "/user/reset-password",
        &json!({"username": "mandor02", "code": code, "new_password": "mandor-pass-2"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains(&code));
    let again = client_call(
        &s,
        &da,
        "POST",
        "/user/reset-password",
        &json!({"username": "mandor02", "code": code, "new_password": "mandor-pass-3"}),
    );
    assert_eq!(again.status, 400, "a code works once: {}", again.text);
    // Sessions ended; the new password signs in.
    assert_eq!(da.call("GET", "/user/profile", None).status, 401);
    DaSession::login(
        &s,
        &da.app_key,
        &da.private_key,
        "mandor02",
        "mandor-pass-2",
    );
    // The code is not in the logs.
    assert!(!s.output().contains(&code), "reset code in the logs");
}

#[test]
fn reset_codes_expire_and_die_after_five_wrong_tries() {
    let s = Server::start_with(&[], &[("GATEHOUSE_AUTH__RESET_CODE_TTL_MINUTES", "0")]);
    let da = DaSession::open(&s, "mandor03", "mandor-pass-1", "supervisor");
    client_call(
        &s,
        &da,
        "POST",
        "/user/forgot-password",
        &json!({"username": "mandor03"}),
    );
    let text = admin_data(&s, "GET", "/admin/outbox", None)[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let code: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string();
    let r = client_call(
        &s,
        &da,
        "POST",
        "/user/reset-password",
        &json!({"username": "mandor03", "code": code, "new_password": "mandor-pass-2"}),
    );
    assert_eq!(r.status, 400, "an expired code: {}", r.text);

    let s = Server::start();
    let da = DaSession::open(&s, "mandor04", "mandor-pass-1", "supervisor");
    client_call(
        &s,
        &da,
        "POST",
        "/user/forgot-password",
        &json!({"username": "mandor04"}),
    );
    let text = admin_data(&s, "GET", "/admin/outbox", None)[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let code: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = client_call(
            &s,
            &da,
            "POST",
            "/user/reset-password",
            &json!({"username": "mandor04", "code": wrong, "new_password": "mandor-pass-2"}),
        );
        assert_eq!(r.status, 400);
    }
    let r = client_call(
        &s,
        &da,
        "POST",
        "/user/reset-password",
        &json!({"username": "mandor04", "code": code, "new_password": "mandor-pass-2"}),
    );
    assert_eq!(
        r.status, 400,
        "the right code after five wrong ones: {}",
        r.text
    );
}

#[test]
fn wablas_callback_secret_payloads_and_idempotence() {
    let s = Server::start_with(&[], &[("GATEHOUSE_WABLAS__CALLBACK_SECRET", "s3cret-hook")]);
    let url = |q: &str| s.url(&format!("/daily/v1/wablas/callback{q}"));
    let msg = json!({"id": "3f2c6a4e-1b7d", "pushName": "6285137033257@s.whatsapp.net", "isGroup": false,
        "group": {"group_id": "", "sender": "", "subject": "", "owner": "", "desc": "", "participants": null},
        "message": "Hello", "phone": "6285137033257", "messageType": "text", "file": "", "url": "", "mimeType": "",
        "deviceId": "RF0WVV", "sender": "6285920524227", "isFromMe": false, "timestamp": "2026-02-16T07:50:42Z",
        "profileImage": "https://example.invalid/p.jpg", "ticketId": "t", "assigned": "a"});
    // No secret, wrong secret: 401 in the family's envelope.
    let r = post_json(&url(""), &[], &msg);
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["code"], 401);
    assert_eq!(post_json(&url("?secret=nope"), &[], &msg).status, 401);
    // Query secret: stored; the retry is a duplicate.
    let r = post_json(&url("?secret=s3cret-hook"), &[], &msg);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["data"],
        json!({"id": "3f2c6a4e-1b7d", "kind": "message", "stored": true, "duplicate": false})
    );
    let r = post_json(&url("?secret=s3cret-hook"), &[], &msg);
    assert_eq!(r.json()["data"]["duplicate"], true);
    // Header secret, form-encoded delivery statuses: one per (id, status).
    let form = |status: &str| {
        send(
            "POST",
            &url(""),
            &[
                ("x-wablas-secret", "s3cret-hook"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Some(
                format!("id=msg-77&phone=6285137033257&status={status}&device_id=RF0WVV")
                    .as_bytes(),
            ),
        )
    };
    let r = form("sent");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["kind"], "status");
    assert_eq!(form("read").json()["data"]["stored"], true);
    assert_eq!(form("read").json()["data"]["duplicate"], true);
    let events = admin_data(&s, "GET", "/admin/wablas", None);
    assert_eq!(events.as_array().unwrap().len(), 3, "{events}");
    let m = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "message")
        .unwrap();
    assert_eq!(m["phone"], "6285137033257");
    assert_eq!(m["message"], "Hello");
    assert_eq!(m["device_id"], "RF0WVV");
    assert_eq!(m["sender"], "6285920524227");
    // Missing id: 400.
    let r = post_json(&url("?secret=s3cret-hook"), &[], &json!({"phone": "1"}));
    assert_eq!(r.status, 400);
    // With no secret configured the callback is closed.
    let s2 = Server::start();
    assert_eq!(
        post_json(&s2.url("/daily/v1/wablas/callback?secret="), &[], &msg).status,
        401
    );
}
