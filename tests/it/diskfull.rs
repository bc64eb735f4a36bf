//! A full or read-only state directory (a small tmpfs): every family refuses writes with a clear
//! error in its own envelope (507 full, 503 read-only; never a 500), the console's dashboard and
//! the log say it, nothing acknowledged is lost, writes are accepted again once space returns
//! (sled 0.34 poisons its handle on ENOSPC: the store reopens itself), and `check` passes.
//! The blob directory and the database fill at different moments: a photo that does not fit
//! is refused while small records still go in.
//!
//! Needs root for the tmpfs mount (CI runs as root); skips loudly when the mount fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::harness::*;

struct Tmpfs {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u64) -> Option<Tmpfs> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("!! disk-full tests SKIPPED: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs { dir, _tmp: tmp })
    }

    fn remount(&self, opt: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opt}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(st.success(), "remount {opt}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the filesystem, leaving about `leave` bytes free; returns the filler's path.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    loop {
        let st = nix_statvfs(dir);
        if st <= leave + chunk.len() as u64 {
            break;
        }
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
    path
}

fn nix_statvfs(dir: &Path) -> u64 {
    let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail as u64 * st.f_frsize as u64
}

struct Clients {
    app_key: String,
    private: String,
}

fn verify_body(c: &Clients, rid: &str) -> Value {
    let ts = now_unix();
    json!({"timestamp": ts, "signature": hmac_hex(&c.private, &format!("{rid}\n{ts}"))})
}

fn verify_with(s: &Server, c: &Clients, rid: &str, body: &Value) -> Answer {
    post_json(
        &s.url("/daily/v1/authorize/verify"),
        &[
            ("x-app-key", &c.app_key),
            ("x-request-id", rid),
            ("x-language", "en"),
        ],
        body,
    )
}

fn verify(s: &Server, c: &Clients, rid: &str) -> Answer {
    verify_with(s, c, rid, &verify_body(c, rid))
}

fn authorize_body(device: &str) -> Value {
    json!({"username": "full.clerk", "password": "clerk-pass-1", "deviceID": device,
           "notificationCenterType": "android", "deviceType": "Handheld", "appVersion": "Gate 1.0.0",
           "OSVersion": "Android 11", "notifToken": "tok", "timezoneOffset": 420,
           "timezoneName": "Asia/Jakarta", "buildVersion": "PROD", "hierarchylogin": false})
}

/// Every family's answer to a write while the store is faulted: the status and message.
fn assert_every_family_refuses(s: &Server, c: &Clients, status: u16, words: &str) {
    let a = verify(s, c, &request_id());
    assert_eq!(a.status, status, "Daily Activity: {}", a.text);
    assert_eq!(a.json()["code"], status);
    assert!(
        a.json()["message"].as_str().unwrap().contains(words),
        "{}",
        a.text
    );

    let l = codelayer(
        s,
        "system/license",
        &json!({"imei": format!("35{:013}", now_unix()), "appID": "POABS"}),
    );
    assert_eq!(l["e"], status, "Codelayer: {l}");
    assert!(l["msg"].as_str().unwrap().contains(words), "{l}");

    let z = post_json(
        &s.url("/api/users/authorize"),
        &[],
        &authorize_body(&request_id()),
    );
    assert_eq!(z.status, status, "Authorize API: {}", z.text);
    assert_eq!(z.json()["status"], "error");
    assert!(
        z.json()["message"][0].as_str().unwrap().contains(words),
        "{}",
        z.text
    );

    let (st, v) = admin_call(
        s,
        "POST",
        "/admin/devices/approve",
        Some(&json!({"imei": "352099001761481"})),
    );
    assert_eq!(st, status, "admin socket: {v}");
    assert_eq!(v["ok"], false, "{v}");
}

#[test]
fn a_full_database_refuses_clearly_and_recovers_when_space_returns() {
    let Some(fs) = Tmpfs::mount(24) else { return };
    let s = Server::start_on(&fs.dir, &[]);
    let c = s.cli_json(&["client", "add", "--name", "full"]);
    let c = Clients {
        app_key: c["app_key"].as_str().unwrap().into(),
        private: c["private_key"].as_str().unwrap().into(),
    };
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "full.clerk",
        "--password",
        "clerk-pass-1",
        "--role",
        "clerk",
    ]);
    codelayer(
        &s,
        "system/license",
        &json!({"imei": "352099001761481", "appID": "POABS"}),
    );
    // Acknowledged before the disk fills: must survive all of it.
    let before: Vec<(String, Value, String)> = (0..20)
        .map(|i| {
            let rid = format!("before-{i}");
            let body = verify_body(&c, &rid);
            let a = verify_with(&s, &c, &rid, &body);
            assert_eq!(a.status, 200, "{}", a.text);
            (
                rid,
                body,
                a.json()["data"]["client_token"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();

    let filler = fill(&fs.dir, 0);
    // sled buffers a little: write until the disk says no — never a 500 on the way.
    let mut refused = None;
    for i in 0..2000 {
        let a = verify(&s, &c, &format!("filling-{i}"));
        assert_ne!(a.status, 500, "a full disk answered 500: {}", a.text);
        if a.status != 200 {
            refused = Some(a);
            break;
        }
    }
    let a = refused.expect("the full disk never refused a write");
    assert_eq!(a.status, 507, "{}", a.text);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("storage is full"),
        "{}",
        a.text
    );

    assert_every_family_refuses(&s, &c, 507, "storage is full");
    let h = get(&s.url("/healthz"), &[]);
    assert_eq!(h.status, 503, "{}", h.text);
    assert_eq!(h.json()["storage_fault"], "full");
    let d = admin_get(&s, "/admin/dashboard");
    assert_eq!(d["storage_fault"]["kind"], "full", "{d}");
    assert!(
        d["recent_warnings"].to_string().contains("storage full"),
        "the console's warnings do not show it: {}",
        d["recent_warnings"]
    );
    assert!(s.output().contains("storage full"), "not in the log");
    assert!(!s.output().contains("panicked"), "{}", s.output());

    // Space returns: writes are accepted again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let a = verify(&s, &c, &request_id());
        if a.status == 200 || Instant::now() > deadline {
            break a;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        after.status, 200,
        "writes still refused after space returned: {}",
        after.text
    );
    let l = codelayer(
        &s,
        "system/license",
        &json!({"imei": "352099001761482", "appID": "POABS"}),
    );
    assert_eq!(l["e"], 200, "{l}");
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200);
    for (rid, body, token) in &before {
        let a = verify_with(&s, &c, rid, body);
        assert_eq!(
            a.header("x-idempotent-replay"),
            Some("true"),
            "{rid} lost: {}",
            a.text
        );
        assert_eq!(
            a.json()["data"]["client_token"],
            token.as_str(),
            "{rid} changed"
        );
    }
    assert_eq!(s.stop(), Some(0));
    let check = cli_json(&fs.dir, &["check"]);
    assert!(
        check["errors"].as_array().unwrap().is_empty(),
        "check after a full disk: {check}"
    );
}

#[test]
fn a_photo_that_does_not_fit_is_refused_while_records_still_go_in() {
    let Some(fs) = Tmpfs::mount(24) else { return };
    let s = Server::start_on(&fs.dir, &[]);
    let da = DaSession::open(&s, "photo.clerk", "clerk-pass-1", "clerk");
    let t = da.call("POST", "/tasks", Some(&json!({"title": "Fence repair"})));
    assert_eq!(t.status, 201, "{}", t.text);
    let id = t.json()["data"]["task_id"].as_u64().unwrap();
    // Leave ~400 KiB: room for records, none for a 1.5 MiB photo.
    let filler = fill(&fs.dir, 400 << 10);
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.resize(1_500_000, 0x42);
    let img = base64::engine::general_purpose::STANDARD.encode(&photo);
    let p = da.call(
        "POST",
        &format!("/tasks/{id}/images"),
        Some(&json!({"image": img})),
    );
    assert_eq!(p.status, 507, "{}", p.text);
    assert!(
        p.json()["message"]
            .as_str()
            .unwrap()
            .contains("storage is full"),
        "{}",
        p.text
    );
    // No partial file keeps the space.
    let tmp_left: Vec<_> = std::fs::read_dir(fs.dir.join("blobs/tmp"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(tmp_left.is_empty(), "partial blob files left: {tmp_left:?}");
    // The database still has room: a small record goes in.
    let t2 = da.call("POST", "/tasks", Some(&json!({"title": "Gate hinge"})));
    assert_eq!(
        t2.status, 201,
        "records refused although only the photo did not fit: {}",
        t2.text
    );
    let listed = da.call("GET", &format!("/tasks/{id}/images"), None);
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(
        !listed.text.contains("image_id"),
        "a refused photo is listed: {}",
        listed.text
    );
    // Space returns: the photo goes in.
    std::fs::remove_file(&filler).unwrap();
    let p = da.call(
        "POST",
        &format!("/tasks/{id}/images"),
        Some(&json!({"image": img})),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    assert_eq!(p.json()["data"]["bytes"], 1_500_000);
    assert_eq!(s.stop(), Some(0));
    let check = cli_json(&fs.dir, &["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
}

/// A state directory that is read-only when the server starts (a card remounted read-only by the
/// kernel after errors, a wrong mount): the server refuses to start with a clear message on its
/// console and in the log — no panic, nothing written — and starts normally once it is writable.
/// (A live remount to read-only is refused by the kernel while the store has files open for
/// writing, so the online case is the full disk above.)
#[test]
fn a_read_only_state_directory_is_refused_clearly_and_recovers() {
    let Some(fs) = Tmpfs::mount(24) else { return };
    let s = Server::start_on(&fs.dir, &[]);
    let c = s.cli_json(&["client", "add", "--name", "ro"]);
    let c = Clients {
        app_key: c["app_key"].as_str().unwrap().into(),
        private: c["private_key"].as_str().unwrap().into(),
    };
    let body = verify_body(&c, "ro-before");
    let first = verify_with(&s, &c, "ro-before", &body);
    assert_eq!(first.status, 200);
    assert_eq!(s.stop(), Some(0));
    fs.remount("ro");
    let out = Command::new(BIN)
        .args(["serve", "--state"])
        .arg(&fs.dir)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("GATEHOUSE_CONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "served on a read-only state directory: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        text.to_lowercase().contains("read-only"),
        "the refusal does not say why: {text}"
    );
    fs.remount("rw");
    let s = Server::start_on(&fs.dir, &[]);
    let again = verify_with(&s, &c, "ro-before", &body);
    assert_eq!(
        again.header("x-idempotent-replay"),
        Some("true"),
        "{}",
        again.text
    );
    assert_eq!(again.json()["data"], first.json()["data"]);
    assert_eq!(verify(&s, &c, &request_id()).status, 200);
    assert_eq!(s.stop(), Some(0));
    let check = cli_json(&fs.dir, &["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
}
