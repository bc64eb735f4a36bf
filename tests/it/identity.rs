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
    // Approval ahead of the handheld's first request.
    let d = s.cli_json(&["device", "approve", "--imei", "999999999999999"]);
    assert_eq!(d["status"], "approved");
    let l = codelayer(
        &s,
        "system/license",
        &json!({"imei": "999999999999999", "appID": "QM_V3"}),
    );
    assert_eq!(l["licenses"][0]["statusCode"], 2, "{l}");
    assert_eq!(l["licenses"][0]["key"].as_str().unwrap().len(), 32);
    // A malformed IMEI is refused by the CLI with a clear message.
    let out = s.cli(&["device", "approve", "--imei", "123"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("imei"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

fn seed_authorize_payload() -> serde_json::Value {
    json!({
        "username": "support@superfy.com",
        "password": "SupportMe",
        "notificationCenterType": "apple",
        "deviceType": "iPad",
        "appVersion": "SmartSensor 1.0.0",
        "OSVersion": "iOS 9.2.0",
        "deviceID": "ABCD-EFGH-IJKL-MNOP",
        "notifToken": "abcdefgh13234123423",
        "timezoneOffset": 420,
        "timezoneName": "Asia/Jakarta",
        "buildVersion": "DEV",
        "hierarchylogin": false
    })
}

fn authorize(s: &Server, body: &serde_json::Value) -> Answer {
    post_json(&s.url("/api/users/authorize"), &[], body)
}

#[test]
fn authorize_api_seed_sample_checktoken_profile_and_per_device_tokens() {
    let s = Server::start_with(&[], &[("GATEHOUSE_SITE__TIMEZONE_OFFSET_MINUTES", "600")]);
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "support@superfy.com",
        "--password",
        "SupportMe",
        "--role",
        "admin",
        "--name",
        "Support",
        "--phone",
        "+62822997572606",
    ]);
    let r = authorize(&s, &seed_authorize_payload());
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["status"], "success");
    let m = &v["message"];
    let token = m["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(m["deviceID"], "ABCD-EFGH-IJKL-MNOP");
    assert_eq!(m["server_timezoneOffset"], 600);
    // No Company record yet: the site's name, nothing invented.
    assert_eq!(m["company"]["companyName"], "Estate");
    let last: i64 = m["lastActivityTime"].as_str().unwrap().parse().unwrap();
    assert!((last - now_unix()).abs() < 60);
    let p = &m["profile"];
    assert_eq!(p["username"], "support@superfy.com");
    assert_eq!(p["firstName"], "Support");
    assert_eq!(p["lastName"], "");
    assert_eq!(p["mobile"], "+62822997572606");
    assert_eq!(p["isAdmin"], "Y");
    assert_eq!(p["active"], "Y");
    assert_eq!(p["timezoneOffset"], 420);
    assert_eq!(p["timezoneName"], "Asia/Jakarta");
    assert!(p["userID"].as_u64().is_some());
    assert!(p["createdDate"].as_i64().is_some());
    for k in [
        "phone",
        "profilePicture",
        "companyID",
        "departmentID",
        "isEmailVerified",
        "welcomepopup",
        "isDemo",
        "acceptEula",
        "acceptEulaDate",
        "acceptEulaVer",
    ] {
        assert!(p.get(k).is_some(), "profile.{k} missing: {p}");
    }
    // checktoken: valid, and it does not extend the expiry; profile does.
    let dev = "ABCD-EFGH-IJKL-MNOP";
    let check = |t: &str, d: &str| {
        post_json(
            &s.url("/api/users/checktoken"),
            &[],
            &json!({"deviceID": d, "token": t}),
        )
    };
    let c = check(&token, dev);
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(
        c.json(),
        json!({"status": "success", "message": ["token and deviceID are valid."]})
    );
    let c = check(&token, "OTHER-DEVICE");
    assert_eq!(c.status, 401);
    assert_eq!(c.json()["status"], "error");
    assert!(c.json()["message"].is_array());
    let pr = post_json(
        &s.url("/api/users/profile"),
        &[],
        &json!({"deviceID": dev, "token": token}),
    );
    assert_eq!(pr.status, 200, "{}", pr.text);
    let pp = &pr.json()["message"]["profile"];
    assert_eq!(pp["notificationCenterType"], "apple");
    assert_eq!(pp["buildVersion"], "DEV");
    assert_eq!(pp["OSVersion"], "iOS 9.2.0");
    assert_eq!(pp["appVersion"], "SmartSensor 1.0.0");
    assert_eq!(pp["udl_timezoneOffset"], 420);
    assert_eq!(pr.json()["message"]["company"]["companyName"], "Estate");
    // A second device: its own token. Authorizing again on the first replaces only its token.
    let mut other = seed_authorize_payload();
    other["deviceID"] = json!("PHONE-2");
    other["notificationCenterType"] = json!("android");
    other.as_object_mut().unwrap().remove("buildVersion");
    let t2 = authorize(&s, &other).json()["message"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let pr2 = post_json(
        &s.url("/api/users/profile"),
        &[],
        &json!({"deviceID": "PHONE-2", "token": t2}),
    );
    assert_eq!(
        pr2.json()["message"]["profile"]["buildVersion"],
        "PROD",
        "default build"
    );
    assert_eq!(
        pr2.json()["message"]["profile"]["notificationCenterType"],
        "android"
    );
    let t1b = authorize(&s, &seed_authorize_payload()).json()["message"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(t1b, token);
    assert_eq!(check(&token, dev).status, 401, "the replaced token is dead");
    assert_eq!(check(&t1b, dev).status, 200);
    assert_eq!(
        check(&t2, "PHONE-2").status,
        200,
        "the other device is untouched"
    );
    // Hierarchy login: the Encrypt output of the password is accepted as the password.
    let c = s.cli_json(&["client", "add", "--name", "superfy"]);
    let da = DaSession::login(
        &s,
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
        "support@superfy.com",
        "SupportMe",
    );
    let enc = da
        .call("POST", "/encrypt", Some(&json!({"text": "SupportMe"})))
        .json()["data"]["encrypted"]
        .as_str()
        .unwrap()
        .to_string();
    let mut h = seed_authorize_payload();
    h["hierarchylogin"] = json!(true);
    h["password"] = json!(enc);
    let r = authorize(&s, &h);
    assert_eq!(r.status, 200, "{}", r.text);
    h["password"] = json!("SupportMe");
    assert_eq!(
        authorize(&s, &h).status,
        400,
        "hierarchylogin wants the encrypted password"
    );
    let mut plain_enc = seed_authorize_payload();
    plain_enc["password"] = json!(enc);
    assert_eq!(
        authorize(&s, &plain_enc).status,
        400,
        "without hierarchylogin the password is plain"
    );
}

#[test]
fn authorize_api_errors() {
    let s = Server::start();
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "support@superfy.com",
        "--password",
        "SupportMe",
    ]);
    // Wrong method: 405 in the family's envelope.
    let r = get(&s.url("/api/users/authorize"), &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["status"], "error");
    assert!(r.json()["message"][0].is_string());
    // Missing required fields: one reason each.
    let r = authorize(&s, &json!({}));
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["status"], "error");
    let reasons = v["message"].as_array().unwrap();
    assert_eq!(reasons.len(), 4, "{v}");
    for f in ["username", "password", "deviceID", "notificationCenterType"] {
        assert!(
            reasons.iter().any(|m| m.as_str().unwrap().contains(f)),
            "{f}: {v}"
        );
    }
    let with = |k: &str, val: serde_json::Value| {
        let mut b = seed_authorize_payload();
        b[k] = val;
        authorize(&s, &b)
    };
    let r = with("notificationCenterType", json!("nokia"));
    assert_eq!(r.status, 400);
    assert!(r.json()["message"][0]
        .as_str()
        .unwrap()
        .contains("apple, android, blackberry, windows, none"));
    for ok in ["apple", "android", "blackberry", "windows", "none"] {
        assert_eq!(
            with("notificationCenterType", json!(ok)).status,
            200,
            "{ok}"
        );
    }
    assert_eq!(with("buildVersion", json!("BETA")).status, 400);
    assert_eq!(with("buildVersion", json!("PROD")).status, 200);
    assert_eq!(with("timezoneOffset", json!(841)).status, 400);
    assert_eq!(with("timezoneOffset", json!(-720)).status, 200);
    assert_eq!(with("hierarchylogin", json!("maybe")).status, 400);
    // Bad credentials: 400 with a reason.
    let r = with("password", json!("WrongPass"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"status": "error", "message": ["Invalid username or password"]})
    );
    // Bad token on the token operations: 401.
    for path in ["/api/users/checktoken", "/api/users/profile"] {
        let r = post_json(
            &s.url(path),
            &[],
            &json!({"deviceID": "ABCD-EFGH-IJKL-MNOP", "token": "0".repeat(32)}),
        );
        assert_eq!(r.status, 401, "{path}");
        let r = post_json(&s.url(path), &[], &json!({}));
        assert_eq!(r.status, 401, "{path}");
    }
}

/// Verify → Login → Refresh → Access without asserting, for servers with tiny token lifetimes.
fn chain(s: &Server, app_key: &str, pk: &str, user: &str, pw: &str) -> [Option<String>; 4] {
    let base = s.url("/daily/v1");
    let rid = request_id();
    let ts = now_unix();
    let sig = hmac_hex(pk, &format!("{rid}\n{ts}"));
    let v = post_json(
        &format!("{base}/authorize/verify"),
        &[("x-app-key", app_key), ("x-request-id", &rid)],
        &json!({"timestamp": ts, "signature": sig}),
    );
    let ct = v.json()["data"]["client_token"]
        .as_str()
        .map(str::to_string);
    let step = |method: &str,
                path: &str,
                bearer: &Option<String>,
                body: Option<serde_json::Value>,
                field: &str|
     -> Option<String> {
        let b = format!("Bearer {}", bearer.as_deref()?);
        let rid = request_id();
        let h = [
            ("x-app-key", app_key),
            ("x-request-id", rid.as_str()),
            ("authorization", b.as_str()),
            ("content-type", "application/json"),
        ];
        let a = send(
            method,
            &format!("{base}{path}"),
            &h,
            body.map(|b| b.to_string()).as_deref().map(str::as_bytes),
        );
        a.json()["data"][field].as_str().map(str::to_string)
    };
    let ut = step(
        "POST",
        "/user/login",
        &ct,
        Some(json!({"username": user, "password": pw, "device_id": "HH-M"})),
        "user_token",
    );
    let rt = step(
        "GET",
        "/authorize/refresh-token",
        &ut,
        None,
        "refresh_token",
    );
    let at = step("GET", "/authorize/access-token", &rt, None, "access_token");
    [ct, ut, rt, at]
}

#[test]
fn lockout_in_all_three_families_and_admin_unlock() {
    let env = [
        ("GATEHOUSE_AUTH__LOCKOUT_AFTER_FAILURES", "4"),
        ("GATEHOUSE_AUTH__LOCKOUT_MINUTES", "5"),
    ];
    let s = Server::start_with(&[], &env);
    let c = s.cli_json(&["client", "add", "--name", "lock"]);
    let (ak, pk) = (
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
    );
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "siti",
        "--password",
        "siti-pass-1",
    ]);
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "joko",
        "--password",
        "joko-pass-1",
    ]);
    let [ct, ..] = chain(&s, ak, pk, "siti", "siti-pass-1");
    let bearer = format!("Bearer {}", ct.unwrap());
    let login = |user: &str, pw: &str, device: &str| {
        let rid = request_id();
        let mut h = da_client_headers(ak, &bearer, &rid);
        h.push(("content-type", "application/json"));
        let t = std::time::Instant::now();
        let a = send(
            "POST",
            &s.url("/daily/v1/user/login"),
            &h,
            Some(
                json!({"username": user, "password": pw, "device_id": device})
                    .to_string()
                    .as_bytes(),
            ),
        );
        (a, t.elapsed())
    };
    // Daily Activity: failures are slowed, then the user and the device are locked.
    let (a, t1) = login("siti", "wrong-pass", "HH-1");
    assert_eq!(a.status, 401);
    let (_, t2) = login("siti", "wrong-pass", "HH-1");
    let (_, t3) = login("siti", "wrong-pass", "HH-1");
    assert!(
        t2 >= std::time::Duration::from_millis(250),
        "second failure answered in {t2:?}"
    );
    assert!(
        t3 >= std::time::Duration::from_millis(500) && t3 > t1,
        "third failure answered in {t3:?}"
    );
    let (a, _) = login("siti", "wrong-pass", "HH-1");
    assert_eq!(a.status, 401);
    // Locked: even the right password is refused, from any device; another user on HH-1 too.
    let (a, _) = login("siti", "siti-pass-1", "HH-2");
    assert_eq!(a.status, 429, "{}", a.text);
    assert!(a.header("retry-after").is_some());
    assert!(
        a.json()["message"].as_str().unwrap().contains("minutes"),
        "{}",
        a.text
    );
    let (a, _) = login("joko", "joko-pass-1", "HH-1");
    assert_eq!(a.status, 429, "device lockout: {}", a.text);
    let (a, _) = login("joko", "joko-pass-1", "HH-3");
    assert_eq!(a.status, 200, "{}", a.text);
    // The lock holds in the other families too (it is the user's).
    let lic = codelayer_licence(&s, IMEI);
    let cl = |user: &str, pw: &str, imei: &str| {
        codelayer(
            &s,
            "system/auth",
            &json!({"key": codelayer_licence(&s, imei), "username": user, "password": pw, "imei": imei, "ver": "1.0.0.0"}),
        )
    };
    assert_eq!(cl("siti", "siti-pass-1", IMEI)["e"], 429);
    let mut az = seed_authorize_payload();
    az["username"] = json!("siti");
    az["password"] = json!("siti-pass-1");
    let r = authorize(&s, &az);
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"][0]
            .as_str()
            .unwrap()
            .contains("Too many failed attempts"),
        "{}",
        r.text
    );
    let locked = admin_data(&s, "GET", "/admin/lockouts", None);
    assert!(
        locked
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["subject"] == "user:siti"),
        "{locked}"
    );
    // The CLI lifts it.
    s.cli_json(&["user", "unlock", "--username", "siti"]);
    let (a, _) = login("siti", "siti-pass-1", "HH-2");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(cl("siti", "siti-pass-1", IMEI)["e"], 200);
    let _ = lic;
    // Codelayer: per IMEI and per user.
    for _ in 0..4 {
        assert_eq!(cl("joko", "bad-pass-x", IMEI)["e"], 401);
    }
    assert_eq!(
        cl("joko", "joko-pass-1", "35209900176148")["e"],
        429,
        "user locked"
    );
    assert_eq!(cl("siti", "siti-pass-1", IMEI)["e"], 429, "IMEI locked");
    // Authorize API: per deviceID.
    s.cli_json(&["user", "unlock", "--username", "joko"]);
    let mut az = seed_authorize_payload();
    az["username"] = json!("joko");
    az["deviceID"] = json!("PHONE-9");
    az["password"] = json!("bad-pass-x");
    for _ in 0..4 {
        assert_eq!(
            authorize(&s, &az).json()["message"][0],
            "Invalid username or password"
        );
    }
    az["username"] = json!("siti");
    az["password"] = json!("siti-pass-1");
    assert!(
        authorize(&s, &az).json()["message"][0]
            .as_str()
            .unwrap()
            .contains("Too many"),
        "deviceID locked"
    );
    // Unlocking joko lifts every lockout that refuses joko, the device's included.
    s.cli_json(&["user", "unlock", "--username", "joko"]);
    assert_eq!(authorize(&s, &az).status, 200, "PHONE-9 lifted with joko");
    az["deviceID"] = json!("PHONE-10");
    assert_eq!(authorize(&s, &az).status, 200);
    // Reset password from the CLI: sessions end, the new password works, the lock is gone.
    let da = DaSession::login(&s, ak, pk, "siti", "siti-pass-1");
    s.cli_json(&[
        "user",
        "reset-password",
        "--username",
        "siti",
        "--password",
        "siti-pass-2",
    ]);
    assert_eq!(da.call("GET", "/user/profile", None).status, 401);
    let (a, _) = login("siti", "siti-pass-1", "HH-5");
    assert_eq!(a.status, 401);
    let (a, _) = login("siti", "siti-pass-2", "HH-5");
    assert_eq!(a.status, 200);
    let out = s.cli(&["user", "unlock", "--username", "nobody"]);
    assert!(!out.status.success());
}

/// The credentials of one server, good or spoiled, for every family.
struct Creds {
    app_key: String,
    ct: Option<String>,
    ut: Option<String>,
    rt: Option<String>,
    at: Option<String>,
    cl_key: String,
    az_token: String,
}

fn creds(s: &Server, user: &str, imei: &str, device: &str) -> Creds {
    let c = s.cli_json(&["client", "add", "--name", &format!("m-{user}")]);
    let (ak, pk) = (
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
    );
    let cl_key = codelayer_session(s, user, "matrix-pass-1", imei);
    let [ct, ut, rt, at] = chain(s, ak, pk, user, "matrix-pass-1");
    let mut az = seed_authorize_payload();
    az["username"] = json!(user);
    az["password"] = json!("matrix-pass-1");
    az["deviceID"] = json!(device);
    let az_token = authorize(s, &az).json()["message"]["token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    Creds {
        app_key: ak.to_string(),
        ct,
        ut,
        rt,
        at,
        cl_key,
        az_token,
    }
}

/// What one DA operation is sent: (x-app-key, bearer, x-user-token, ?secret=).
type DaCred = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[test]
fn auth_matrix_every_operation_refuses_every_bad_credential() {
    // Good server, and servers whose tokens of one kind are born expired.
    let s = Server::start_with(&[], &[("GATEHOUSE_WABLAS__CALLBACK_SECRET", "hook-secret")]);
    let e_short = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_AUTH__ACCESS_TOKEN_TTL_MINUTES", "0"),
            ("GATEHOUSE_CODELAYER__SESSION_IDLE_MINUTES", "0"),
            ("GATEHOUSE_AUTH__AUTHORIZE_TOKEN_IDLE_HOURS", "0"),
        ],
    );
    let e_client = Server::start_with(&[], &[("GATEHOUSE_AUTH__CLIENT_TOKEN_TTL_MINUTES", "0")]);
    let e_user = Server::start_with(&[], &[("GATEHOUSE_AUTH__USER_TOKEN_TTL_HOURS", "0")]);
    let e_refresh = Server::start_with(&[], &[("GATEHOUSE_AUTH__REFRESH_TOKEN_TTL_HOURS", "0")]);
    let good = creds(&s, "matrix", IMEI, "DEV-1");
    let revoked = creds(&s, "matrix2", "35209900176149", "DEV-2");
    let short = creds(&e_short, "matrix", IMEI, "DEV-1");
    let exp_client = creds(&e_client, "matrix", IMEI, "DEV-1");
    let exp_user = creds(&e_user, "matrix", IMEI, "DEV-1");
    let exp_refresh = creds(&e_refresh, "matrix", IMEI, "DEV-1");
    assert!(good.at.is_some() && short.at.is_some() && exp_client.ct.is_some());
    assert!(exp_user.ut.is_some() && exp_refresh.rt.is_some());
    // Revoke the second user's sessions everywhere: DA logout, device block, password reset.
    let rid = request_id();
    let b = format!("Bearer {}", revoked.at.as_deref().unwrap());
    let lo = send(
        "POST",
        &s.url("/daily/v1/user/logout"),
        &[
            ("x-app-key", &revoked.app_key),
            ("x-request-id", &rid),
            ("authorization", &b),
            ("x-user-token", revoked.ut.as_deref().unwrap()),
        ],
        Some(b"{}"),
    );
    assert_eq!(lo.status, 200, "{}", lo.text);
    s.cli_json(&["device", "block", "--imei", "35209900176149"]);
    s.cli_json(&[
        "user",
        "reset-password",
        "--username",
        "matrix2",
        "--password",
        "matrix-pass-2",
    ]);
    // A revoked client system, with a token it got before.
    let rc = s.cli_json(&["client", "add", "--name", "to-revoke"]);
    let [rc_ct, ..] = chain(
        &s,
        rc["app_key"].as_str().unwrap(),
        rc["private_key"].as_str().unwrap(),
        "matrix",
        "matrix-pass-1",
    );
    admin_data(
        &s,
        "POST",
        "/admin/clients/revoke",
        Some(&json!({"app_key": rc["app_key"]})),
    );
    std::thread::sleep(std::time::Duration::from_millis(2100)); // idle sessions on e_short expire

    let doc = get(&s.url("/openapi.json"), &[]).json();
    let mut public = Vec::new();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let family = path.split('/').nth(1).unwrap();
        if !["daily", "codelayer", "api"].contains(&family) {
            continue;
        }
        for (method, op) in ops.as_object().unwrap() {
            let sec: Vec<String> = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|o| o.as_object().unwrap().keys().cloned())
                .collect();
            let concrete: String = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            if sec.is_empty() {
                public.push(format!("{} {path}", method.to_uppercase()));
                continue;
            }
            let m = method.to_uppercase();
            let what = format!("{m} {path}");
            match family {
                "daily" => {
                    let has = |k: &str| sec.iter().any(|x| x == k);
                    let own = |c: &Creds| -> DaCred {
                        let tok = if has("accessToken") {
                            c.at.clone()
                        } else if has("refreshToken") {
                            c.rt.clone()
                        } else if has("userTokenBearer") {
                            c.ut.clone()
                        } else if has("clientToken") {
                            c.ct.clone()
                        } else {
                            None
                        };
                        let ut = if has("userToken") { c.ut.clone() } else { None };
                        (Some(c.app_key.clone()), tok, ut, None)
                    };
                    let mut cases: Vec<(&str, DaCred)> = Vec::new();
                    if has("wablasSecret") {
                        cases.push(("none", (None, None, None, None)));
                        cases.push(("wrong", (None, None, None, Some("nope".into()))));
                        cases.push((
                            "other family",
                            (None, None, None, Some(good.cl_key.clone())),
                        ));
                    } else {
                        cases.push(("none", (None, None, None, None)));
                        let (ak, tok, ut, _) = own(&good);
                        if tok.is_some() {
                            cases.push(("no bearer", (ak.clone(), None, ut.clone(), None)));
                            cases.push((
                                "wrong",
                                (
                                    ak.clone(),
                                    Some("f".repeat(64)),
                                    ut.clone().map(|_| "e".repeat(64)),
                                    None,
                                ),
                            ));
                            let exp = if has("accessToken") {
                                own(&short)
                            } else if has("refreshToken") {
                                own(&exp_refresh)
                            } else if has("userTokenBearer") {
                                own(&exp_user)
                            } else {
                                own(&exp_client)
                            };
                            let exp_server = if has("accessToken") {
                                &e_short
                            } else if has("refreshToken") {
                                &e_refresh
                            } else if has("userTokenBearer") {
                                &e_user
                            } else {
                                &e_client
                            };
                            check_da(exp_server, &m, &concrete, &exp, &format!("{what} expired"));
                            if has("clientToken") {
                                cases.push((
                                    "revoked client",
                                    (
                                        Some(rc["app_key"].as_str().unwrap().into()),
                                        rc_ct.clone(),
                                        None,
                                        None,
                                    ),
                                ));
                            } else {
                                cases.push(("revoked", own(&revoked)));
                            }
                            cases.push((
                                "other family",
                                (
                                    ak.clone(),
                                    Some(good.cl_key.clone()),
                                    ut.clone().map(|_| good.az_token.clone()),
                                    None,
                                ),
                            ));
                            cases.push((
                                "another level",
                                (
                                    ak.clone(),
                                    if has("clientToken") {
                                        good.at.clone()
                                    } else {
                                        good.ct.clone()
                                    },
                                    ut.clone(),
                                    None,
                                ),
                            ));
                        } else {
                            // Verify: the app key is the credential.
                            cases.push(("wrong", (Some("ak_nope".into()), None, None, None)));
                            cases.push((
                                "revoked",
                                (
                                    Some(rc["app_key"].as_str().unwrap().into()),
                                    None,
                                    None,
                                    None,
                                ),
                            ));
                            cases.push((
                                "other family",
                                (Some(good.cl_key.clone()), None, None, None),
                            ));
                        }
                    }
                    for (case, cred) in cases {
                        check_da(&s, &m, &concrete, &cred, &format!("{what} {case}"));
                    }
                }
                "codelayer" => {
                    assert_eq!(sec, ["codelayerKey"], "{what}");
                    for (case, key, server) in [
                        ("none", None, &s),
                        ("wrong", Some("Q".repeat(32)), &s),
                        ("expired", Some(short.cl_key.clone()), &e_short),
                        ("revoked", Some(revoked.cl_key.clone()), &s),
                        ("other family", Some(good.az_token.clone()), &s),
                        ("other family (DA)", good.at.clone(), &s),
                    ] {
                        let body = match &key {
                            Some(k) => json!({"key": k, "imei": IMEI}),
                            None => json!({"imei": IMEI}),
                        };
                        let v =
                            codelayer(server, concrete.trim_start_matches("/codelayer/"), &body);
                        let e = v["e"].as_i64().unwrap();
                        assert!(e == 401 || e == 403, "{what} {case}: {v}");
                    }
                }
                _ => {
                    assert_eq!(sec, ["authorizeToken"], "{what}");
                    for (case, dev, tok, server) in [
                        ("none", None, None, &s),
                        ("wrong", Some("DEV-1"), Some("0".repeat(32)), &s),
                        (
                            "expired",
                            Some("DEV-1"),
                            Some(short.az_token.clone()),
                            &e_short,
                        ),
                        ("revoked", Some("DEV-2"), Some(revoked.az_token.clone()), &s),
                        ("other family", Some("DEV-1"), Some(good.cl_key.clone()), &s),
                        ("other family (DA)", Some("DEV-1"), good.at.clone(), &s),
                    ] {
                        let mut body = json!({});
                        if let Some(d) = dev {
                            body["deviceID"] = json!(d);
                        }
                        if let Some(t) = tok {
                            body["token"] = json!(t);
                        }
                        let a = send(
                            &m,
                            &server.url(&concrete),
                            &[("content-type", "application/json")],
                            Some(body.to_string().as_bytes()),
                        );
                        assert_eq!(a.status, 401, "{what} {case}: {}", a.text);
                        let v = a.json();
                        assert_eq!(v["status"], "error", "{what} {case}");
                        assert!(v["message"][0].is_string(), "{what} {case}: {v}");
                    }
                }
            }
            checked += 1;
        }
    }
    public.sort();
    assert_eq!(
        public,
        [
            "POST /api/users/authorize",
            "POST /codelayer/estate/auth",
            "POST /codelayer/response_codes",
            "POST /codelayer/system/auth",
            "POST /codelayer/system/license",
            "POST /codelayer/system/register_device",
        ],
        "only these operations may answer without a credential"
    );
    assert!(checked >= 15, "only {checked} operations checked");
    // The good credentials do work (so the refusals above are about the credential).
    assert_eq!(
        codelayer(
            &s,
            "system/settings",
            &json!({"key": good.cl_key, "imei": IMEI})
        )["e"],
        200
    );
    let a = post_json(
        &s.url("/api/users/checktoken"),
        &[],
        &json!({"deviceID": "DEV-1", "token": good.az_token}),
    );
    assert_eq!(a.status, 200);
    let rid = request_id();
    let b = format!("Bearer {}", good.at.as_deref().unwrap());
    let p = get(
        &s.url("/daily/v1/user/profile"),
        &[
            ("x-app-key", &good.app_key),
            ("x-request-id", &rid),
            ("authorization", &b),
            ("x-user-token", good.ut.as_deref().unwrap()),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.text);
}

fn check_da(s: &Server, method: &str, path: &str, cred: &DaCred, what: &str) {
    let rid = request_id();
    let (ak, tok, ut, secret) = cred;
    let bearer = tok.as_ref().map(|t| format!("Bearer {t}"));
    let mut h: Vec<(&str, &str)> = vec![
        ("x-request-id", &rid),
        ("content-type", "application/json"),
        ("x-language", "en"),
    ];
    if let Some(k) = ak {
        h.push(("x-app-key", k));
    }
    if let Some(b) = &bearer {
        h.push(("authorization", b));
    }
    if let Some(u) = ut {
        h.push(("x-user-token", u));
    }
    let url = match secret {
        Some(q) => s.url(&format!("{path}?secret={q}")),
        None => s.url(path),
    };
    let body = if method == "GET" {
        None
    } else {
        Some(&b"{}"[..])
    };
    let a = send(method, &url, &h, body);
    assert_eq!(a.status, 401, "{what}: {}", a.text);
    let v = a.json();
    assert_eq!(v["code"], 401, "{what}");
    assert_eq!(v["data"], serde_json::Value::Null, "{what}");
    assert!(
        v["message"].is_string() && v.get("request_id").is_some(),
        "{what}: {v}"
    );
}

#[test]
fn no_secret_reaches_the_logs() {
    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_LOG_LEVEL", "debug"),
            ("GATEHOUSE_WABLAS__CALLBACK_SECRET", "hook-secret-77"),
        ],
    );
    let c = creds(&s, "logtest", IMEI, "DEV-L");
    let da = DaSession::open(&s, "logtest2", "log-pass-2", "clerk");
    // Failures too: a wrong password is as secret as a right one.
    let cl_lic = codelayer_licence(&s, IMEI);
    codelayer(
        &s,
        "system/auth",
        &json!({"key": cl_lic, "username": "logtest", "password": "wrong-secret-pw", "imei": IMEI, "ver": "1.0.0.0"}),
    );
    let enc = da
        .call(
            "POST",
            "/encrypt",
            Some(&json!({"text": "encrypt-me-secret"})),
        )
        .json()["data"]["encrypted"]
        .as_str()
        .unwrap()
        .to_string();
    da.call(
        "PUT",
        "/user/change-password",
        Some(&json!({"old_password": "log-pass-2", "new_password": "log-pass-3"})),
    );
    client_call(
        &s,
        &da,
        "POST",
        "/user/forgot-password",
        &json!({"username": "logtest2"}),
    );
    let text = admin_data(&s, "GET", "/admin/outbox", None)[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let code: String = text
        .split(|ch: char| !ch.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string();
    client_call(
        &s,
        &da,
        "POST",
        "/user/reset-password",
        &json!({"username": "logtest2", "code": code, "new_password": "log-pass-4"}),
    );
    post_json(
        &s.url("/daily/v1/wablas/callback?secret=hook-secret-77"),
        &[],
        &json!({"id": "x1", "phone": "62", "message": "hi"}),
    );
    let out = s.output();
    assert!(
        out.contains("sign-in failed") || out.contains("codelayer session opened"),
        "logs were captured: {out}"
    );
    let mut secrets = vec![
        "matrix-pass-1".to_string(),
        "wrong-secret-pw".into(),
        "log-pass-2".into(),
        "log-pass-3".into(),
        "log-pass-4".into(),
        "encrypt-me-secret".into(),
        enc,
        "hook-secret-77".into(),
        cl_lic,
        c.cl_key,
        c.az_token,
        da.private_key.clone(),
        da.client_token.clone(),
        da.user_token.clone(),
        da.refresh_token.clone(),
        da.access_token.clone(),
    ];
    secrets.extend([c.ct, c.ut, c.rt, c.at].into_iter().flatten());
    for sct in secrets {
        assert!(!sct.is_empty());
        assert!(!out.contains(&sct), "a secret reached the logs: {sct}");
    }
    // The reset code is six digits: as a bare substring it also turns up inside timestamps'
    // microseconds and other numbers now and then. Looked for as a number of its own.
    let numbers: Vec<&str> = out
        .split(|ch: char| !ch.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .collect();
    let stamps = out.matches(&format!(".{code}Z")).count();
    let standalone = numbers.iter().filter(|w| **w == code).count();
    assert_eq!(
        standalone, stamps,
        "the reset code {code} reached the logs (not as a timestamp's fraction)"
    );
}

#[test]
fn reset_code_goes_out_through_a_configured_wablas_relay_and_tracks_delivery() {
    use std::io::{Read, Write};
    let relay = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_url = format!("http://{}", relay.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let (mut conn, _) = relay.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read until the whole body (Content-Length) is in.
        loop {
            let n = conn.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    break;
                }
            }
        }
        let reply = r#"{"status":true,"message":"ok","data":{"messages":[{"id":"gw-msg-1","phone":"6282299757260","status":"pending"}]}}"#;
        write!(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}", reply.len()).unwrap();
        tx.send(String::from_utf8_lossy(&buf).into_owned()).unwrap();
    });
    let s = Server::start_with(
        &[],
        &[
            ("GATEHOUSE_WABLAS__API_URL", relay_url.as_str()),
            ("GATEHOUSE_WABLAS__TOKEN", "tok.secretkey"),
            ("GATEHOUSE_WABLAS__CALLBACK_SECRET", "hook"),
        ],
    );
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "wa-user",
        "--password",
        "wa-pass-123",
        "--phone",
        "6282299757260",
    ]);
    let da = DaSession::open(&s, "someone", "someone-pass", "clerk");
    let r = client_call(
        &s,
        &da,
        "POST",
        "/user/forgot-password",
        &json!({"username": "wa-user"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let req = rx
        .recv_timeout(std::time::Duration::from_secs(15))
        .expect("the relay got the message");
    assert!(req.starts_with("POST /api/send-message HTTP/1.1"), "{req}");
    assert!(req.contains("Authorization: tok.secretkey"), "{req}");
    assert!(req.contains("phone=6282299757260"), "{req}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let msg = loop {
        let m = admin_data(&s, "GET", "/admin/outbox", None)[0].clone();
        if m["status"] == "sent" || std::time::Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(msg["channel"], "wablas");
    assert_eq!(msg["status"], "sent", "{msg}");
    let code: String = msg["text"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string();
    assert!(req.contains(&code), "the code went to the gateway");
    // The gateway's tracking callback moves the message on.
    let r = send(
        "POST",
        &s.url("/daily/v1/wablas/callback?secret=hook"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(b"id=gw-msg-1&phone=6282299757260&status=read&device_id=RF0WVV"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        admin_data(&s, "GET", "/admin/outbox", None)[0]["status"],
        "read"
    );
    assert!(!s.output().contains(&code));
}

#[test]
fn demo_users_and_handheld_sign_in_everywhere() {
    let s = Server::start_with(&["--demo"], &[]);
    let lic = codelayer(
        &s,
        "system/license",
        &json!({"imei": IMEI, "appID": "POABS"}),
    );
    let key = lic["licenses"][0]["key"]
        .as_str()
        .expect("demo handheld licensed")
        .to_string();
    let a = codelayer(
        &s,
        "system/auth",
        &json!({"key": key, "username": "demo.kangani", "password": "demo-pass-1", "imei": IMEI, "ver": "1.0.0.0"}),
    );
    assert_eq!(a["e"], 200, "{a}");
    let mut az = seed_authorize_payload();
    az["username"] = json!("demo.guard");
    az["password"] = json!("demo-pass-1");
    assert_eq!(authorize(&s, &az).status, 200);
    let users = s.cli_json(&["user", "list"]);
    assert!(users.to_string().contains("demo.labourer"), "{users}");
}

#[test]
fn codelayer_reauthenticates_with_its_expired_session_key() {
    let s = Server::start_with(&[], &[("GATEHOUSE_CODELAYER__SESSION_IDLE_MINUTES", "0")]);
    let key = codelayer_session(&s, "testuser", "testpassword", IMEI);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        codelayer(&s, "system/settings", &json!({"key": key, "imei": IMEI}))["e"],
        401,
        "expired"
    );
    let a = codelayer(
        &s,
        "system/auth",
        &json!({"key": key, "username": "testuser", "password": "testpassword", "imei": IMEI, "ver": "1.0.0.0"}),
    );
    assert_eq!(a["e"], 200, "{a}");
    // Another device's key, or any key after the device is blocked, is refused.
    let other = "35209900176150";
    let a = codelayer(
        &s,
        "system/auth",
        &json!({"key": key, "username": "testuser", "password": "testpassword", "imei": other, "ver": "1.0.0.0"}),
    );
    assert_eq!(a["e"], 403);
    s.cli_json(&["device", "block", "--imei", IMEI]);
    let a = codelayer(
        &s,
        "system/auth",
        &json!({"key": key, "username": "testuser", "password": "testpassword", "imei": IMEI, "ver": "1.0.0.0"}),
    );
    assert_eq!(a["e"], 403);
}

#[test]
fn an_admin_changes_a_role_and_it_applies_at_once() {
    let s = Server::start();
    let da = DaSession::open(&s, "wati", "wati-pass-1", "clerk");
    let perms =
        |da: &DaSession| da.call("GET", "/user/permission", None).json()["data"].to_string();
    assert!(!perms(&da).contains("gatepass_edit"), "{}", perms(&da));
    let r = s.cli_json(&["user", "role", "--username", "wati", "--role", "gate_guard"]);
    assert_eq!(r["role"], "gate_guard");
    // Same session, new permissions: no sign-out needed.
    assert!(perms(&da).contains("gatepass_edit"), "{}", perms(&da));
    assert_eq!(
        da.call("GET", "/user/profile", None).json()["data"]["role"],
        "gate_guard"
    );
    let bad = s.cli(&["user", "role", "--username", "wati", "--role", "wizard"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("gate_guard"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let unknown = s.cli(&["user", "role", "--username", "nobody", "--role", "clerk"]);
    assert!(!unknown.status.success());
}

/// Access token + x-user-token: the pair must be one chain (access → refresh → this user
/// token); a user token of another chain is a mismatch, an unusable one is invalid.
#[test]
fn da_access_token_must_hang_from_its_own_user_token() {
    let s = Server::start();
    for u in ["ana", "budi"] {
        s.cli_json(&[
            "user",
            "add",
            "--username",
            u,
            "--password",
            &format!("{u}-pass-1"),
        ]);
    }
    let c = s.cli_json(&["client", "add", "--name", "pair"]);
    let (ak, pk) = (
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
    );
    let [_, ut_ana, _, at_ana] = chain(&s, ak, pk, "ana", "ana-pass-1");
    let [_, ut_budi, _, _] = chain(&s, ak, pk, "budi", "budi-pass-1");
    let bearer = format!("Bearer {}", at_ana.unwrap());
    let profile = |ut: &str| {
        let rid = request_id();
        get(
            &s.url("/daily/v1/user/profile"),
            &[
                ("x-app-key", ak),
                ("x-request-id", &rid),
                ("x-language", "en"),
                ("authorization", &bearer),
                ("x-user-token", ut),
            ],
        )
    };
    let own = profile(ut_ana.as_deref().unwrap());
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["data"]["username"], "ana", "{}", own.text);
    let other = profile(ut_budi.as_deref().unwrap());
    assert_eq!(other.status, 401, "{}", other.text);
    assert_eq!(
        other.json()["message"],
        "The access token does not belong to this x-user-token"
    );
    let bogus = profile(&"0".repeat(64));
    assert_eq!(bogus.status, 401, "{}", bogus.text);
    assert_eq!(
        bogus.json()["message"],
        "The token is invalid, expired or revoked"
    );
}

/// Sign-ins are read through a cache of decoded records (store::hot): a session, device or
/// user that was just used must still be refused on its very next request once it changes.
#[test]
fn a_session_in_use_dies_with_its_device_or_its_user() {
    let s = Server::start();
    let key = codelayer_session(&s, "testuser", "testpassword", IMEI);
    let settings = || codelayer(&s, "system/settings", &json!({"key": key, "imei": IMEI}));
    for _ in 0..3 {
        assert_eq!(settings()["e"], 200);
    }
    s.cli_json(&["device", "block", "--imei", IMEI]);
    let r = settings();
    // Blocking a device ends its sessions.
    assert_eq!(r["e"], 401, "blocked device, warm session: {r}");

    let other = "35209900176151";
    let key = codelayer_login(&s, "testuser", "testpassword", other);
    let settings = || codelayer(&s, "system/settings", &json!({"key": key, "imei": other}));
    assert_eq!(settings()["e"], 200);
    assert_eq!(settings()["e"], 200);
    let out = s.cli(&["user", "disable", "--username", "testuser"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = settings();
    assert_eq!(r["e"], 401, "disabled user, warm session: {r}");
}
