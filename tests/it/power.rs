//! Power loss is not kill -9: the state directory sits on powerfs (scripts/powerfs.py, FUSE),
//! which keeps every write not covered by fsync/fdatasync in memory and drops it on a "power
//! cut". After each cut the server restarts on what a disk would have kept, and every
//! acknowledged write must be there, and `check` clean.
//!
//! Needs /dev/fuse, libfuse2 and fusepy (scripts/setup-fuse.sh installs them; CI runs it). Skips
//! loudly when they are missing. Cuts: `CAMPAIGN_POWER_CUTS` (default 3);
//! scripts/power-loss.sh runs the long campaign and the same one without the fix.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

const WRITERS: usize = 4;

struct PowerFs {
    child: Child,
    mnt: PathBuf,
}

fn mounted(mnt: &Path) -> bool {
    let m = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let want = mnt.to_string_lossy().to_string();
    m.lines()
        .any(|l| l.split(' ').nth(1) == Some(want.as_str()))
}

impl PowerFs {
    fn mount(vol: &Path, dur: &Path, mnt: &Path) -> Result<PowerFs, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/powerfs.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args([vol, dur, mnt])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while !mounted(mnt) {
            if let Some(st) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                return Err(format!("powerfs exited ({st}): {err}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err("powerfs did not mount within 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(PowerFs {
            child,
            mnt: mnt.to_path_buf(),
        })
    }

    /// The cut: the filesystem process dies with whatever it had not made durable.
    fn cut(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mnt)
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for PowerFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mnt)
            .stderr(Stdio::null())
            .status();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

pub struct Outcome {
    pub cuts: usize,
    pub acked: usize,
    pub lost: usize,
    pub unopenable: usize,
    pub check_failures: usize,
}

/// Runs `cuts` power cuts under load; None when powerfs cannot run here (said loudly).
fn campaign(cuts: usize, fdatasync: bool) -> Option<Outcome> {
    let tmp = tempfile::tempdir().unwrap();
    let (vol, dur, mnt) = (
        tmp.path().join("volatile"),
        tmp.path().join("durable"),
        tmp.path().join("mnt"),
    );
    for d in [&vol, &dur, &mnt] {
        std::fs::create_dir_all(d).unwrap();
    }
    // Probe: can powerfs mount here at all?
    match PowerFs::mount(&vol, &dur, &mnt) {
        Ok(fs) => fs.cut(),
        Err(e) => {
            eprintln!("!! power-loss campaign SKIPPED: powerfs cannot mount here: {e}");
            eprintln!("!! run scripts/setup-fuse.sh (libfuse2 + fusepy, root, /dev/fuse)");
            return None;
        }
    }
    // The store is created on a real disk, then lives on powerfs.
    let state_d = dur.join("state");
    {
        let s = Server::start_on(&state_d, &[]);
        assert_eq!(s.stop(), Some(0));
    }
    let c = cli_json(&state_d, &["client", "add", "--name", "power"]);
    let app_key = c["app_key"].as_str().unwrap().to_string();
    let private = c["private_key"].as_str().unwrap().to_string();
    let sock = tmp.path().join("admin.sock");
    let sock_s = sock.to_string_lossy().to_string();
    let mut env: Vec<(&str, &str)> = vec![("GATEHOUSE_ADMIN_SOCKET", &sock_s)];
    if !fdatasync {
        env.push(("UNSAFE_GATEHOUSE_NO_FDATASYNC", "1"));
    }
    let acked: Arc<Mutex<Vec<(String, serde_json::Value, String)>>> = Default::default();
    let mut out = Outcome {
        cuts,
        acked: 0,
        lost: 0,
        unopenable: 0,
        check_failures: 0,
    };
    let mut seed = 0x2545f4914f6cdd1du64 ^ std::process::id() as u64;
    for round in 0..cuts {
        copy_dir(&state_d, &vol.join("state"));
        let fs = PowerFs::mount(&vol, &dur, &mnt).expect("powerfs mount");
        let s = Server::start_on_env(&mnt.join("state"), &[], &env);
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
                    let rid = format!("power-{round}-{w}-{i}");
                    let ts = now_unix();
                    let body = json!({"timestamp": ts, "signature": hmac_hex(&private, &format!("{rid}\n{ts}"))});
                    let req = ureq::post(&url)
                        .set("x-app-key", &app_key)
                        .set("x-request-id", &rid)
                        .timeout(Duration::from_secs(5));
                    if let Ok(resp) = req.send_json(body.clone()) {
                        let v: serde_json::Value = resp.into_json().unwrap();
                        let token = v["data"]["client_token"].as_str().unwrap().to_string();
                        acked.lock().unwrap().push((rid, body, token));
                    }
                }
            }));
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(700 + seed % 1300));
        // Power cut: the process and everything the disk had not been told to keep.
        let _ = s.kill9();
        fs.cut();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        // Restart on what survived.
        let started = std::panic::catch_unwind(|| Server::start_on(&state_d, &[]));
        let Ok(s) = started else {
            eprintln!("power cut {round}: the store does not open after the cut");
            out.unopenable += 1;
            break;
        };
        let all = acked.lock().unwrap().clone();
        let mut lost_now = 0;
        for (rid, body, token) in &all {
            let a = post_json(
                &s.url("/daily/v1/authorize/verify"),
                &[("x-app-key", &app_key), ("x-request-id", rid)],
                body,
            );
            let kept = a.status == 200
                && a.header("x-idempotent-replay") == Some("true")
                && a.json()["data"]["client_token"].as_str() == Some(token.as_str());
            if !kept {
                lost_now += 1;
            }
        }
        // The lost ones were just written anew by the check above; count them once.
        acked.lock().unwrap().clear();
        out.acked += all.len();
        out.lost += lost_now;
        assert_eq!(s.stop(), Some(0));
        let check = cli_json(&state_d, &["check"]);
        if !check["errors"].as_array().unwrap().is_empty() {
            eprintln!("power cut {round}: check failed: {check}");
            out.check_failures += 1;
        }
        eprintln!(
            "power cut {round}: {} acknowledged, {lost_now} lost (fdatasync {})",
            all.len(),
            if fdatasync { "on" } else { "off" }
        );
    }
    Some(out)
}

fn cuts_from_env() -> usize {
    std::env::var("CAMPAIGN_POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[test]
fn acknowledged_writes_survive_power_cuts() {
    let Some(o) = campaign(cuts_from_env(), true) else {
        return;
    };
    eprintln!(
        "power loss (fdatasync on): {} cuts, {} acknowledged writes, {} lost, {} unopenable, {} check failures",
        o.cuts, o.acked, o.lost, o.unopenable, o.check_failures
    );
    assert!(o.acked > 0, "nothing was acknowledged");
    assert_eq!(o.unopenable, 0, "the store did not open after a cut");
    assert_eq!(o.lost, 0, "acknowledged writes lost in a power cut");
    assert_eq!(o.check_failures, 0);
}

/// The same campaign on sled's flush alone (sync_file_range): shows powerfs sees the loss the
/// fix prevents. Run by scripts/power-loss.sh.
#[test]
#[ignore]
fn without_fdatasync_power_cuts_lose_writes() {
    let Some(o) = campaign(cuts_from_env(), false) else {
        return;
    };
    eprintln!(
        "power loss (fdatasync OFF): {} cuts, {} acknowledged writes, {} lost, {} unopenable, {} check failures",
        o.cuts, o.acked, o.lost, o.unopenable, o.check_failures
    );
    assert!(
        o.lost > 0 || o.unopenable > 0,
        "without the fdatasync no acknowledged write was lost: the simulation saw nothing"
    );
}

/// A store created on powerfs and cut right after its first commit opens again, with that commit:
/// sled never fsyncs its `conf` (without it the store does not open) nor its directory.
#[test]
fn a_store_cut_right_after_its_first_commit_opens_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (vol, dur, mnt) = (
        tmp.path().join("volatile"),
        tmp.path().join("durable"),
        tmp.path().join("mnt"),
    );
    for d in [&vol, &dur, &mnt] {
        std::fs::create_dir_all(d).unwrap();
    }
    let fs = match PowerFs::mount(&vol, &dur, &mnt) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("!! power-loss test SKIPPED: powerfs cannot mount here: {e}");
            return;
        }
    };
    let sock = tmp.path().join("admin.sock");
    let sock_s = sock.to_string_lossy().to_string();
    let s = Server::start_on_env(
        &mnt.join("state"),
        &[],
        &[("GATEHOUSE_ADMIN_SOCKET", &sock_s)],
    );
    // The first-run credentials are handed out only after their commit is durable.
    assert!(first_run_text(&s).contains("admin username=admin"));
    let _ = s.kill9();
    fs.cut();
    let s = Server::start_on(&dur.join("state"), &[]);
    assert!(
        !s.output().contains("first-run:"),
        "the first run's commit was lost in the cut: {}",
        s.output()
    );
    assert_eq!(s.stop(), Some(0));
    let check = cli_json(&dur.join("state"), &["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
}
