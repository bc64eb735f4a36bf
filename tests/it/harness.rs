//! Starts the real `gatehouse` binary on 127.0.0.1:0 with a temporary state directory and
//! talks HTTP to it. Shared by every black-box test.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub state: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// Everything the server wrote on stdout and stderr so far.
    pub output: Arc<Mutex<String>>,
}

impl Server {
    /// A fresh server on a fresh state directory.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = tmp.path().to_path_buf();
        let mut s = Server::start_on(&state, &[]);
        s._tmp = Some(tmp);
        s
    }

    /// A server with extra `serve` flags or environment, e.g. `--demo`.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = tmp.path().to_path_buf();
        let mut s = Server::spawn(&state, args, env);
        s._tmp = Some(tmp);
        s
    }

    /// A server on an existing state directory (restart after a crash).
    pub fn start_on(state: &Path, args: &[&str]) -> Server {
        Server::spawn(state, args, &[])
    }

    /// `start_on` with extra environment.
    pub fn start_on_env(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(state, args, env)
    }

    /// A server on an existing state directory, with extra flags and environment.
    pub fn start_on_with(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(state, args, env)
    }

    fn spawn(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--state"])
            .arg(state)
            .args(["--listen", "127.0.0.1:0"])
            .args(args);
        cmd.env("GATEHOUSE_LOG_FORMAT", "json")
            .env("GATEHOUSE_LOG_LEVEL", "info");
        cmd.env_remove("GATEHOUSE_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gatehouse");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let out = child.stdout.take().unwrap();
        let o = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(rest.trim().to_string());
                }
                o.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let err = child.stderr.take().unwrap();
        let o = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                o.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not print its listening line; output:\n{}",
                    output.lock().unwrap()
                );
            }
        };
        Server {
            child,
            addr,
            state: state.to_path_buf(),
            _tmp: None,
            output,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Runs a CLI command against this server's state directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.state, args)
    }

    /// `cli --json`, expecting success; returns the JSON document.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        cli_json(&self.state, args)
    }

    /// SIGKILL, no cleanup: what a power cut looks like to the process.
    pub fn kill9(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.state.clone()
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn stop(mut self) -> Option<i32> {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to 20 s) for the server to exit by itself; returns its exit code.
    pub fn stop_waiting(mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keeps the state directory after the server is gone (for restart tests).
    pub fn keep_state(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cli(state: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--state")
        .arg(state)
        .env_remove("GATEHOUSE_CONFIG")
        .output()
        .expect("run gatehouse cli")
}

pub fn cli_json(state: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = cli(state, &a);
    assert!(
        out.status.success(),
        "gatehouse {:?} failed: {}\n{}",
        args,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of {args:?} is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

/// Sends a request; 4xx/5xx are answers, not errors.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Answer {
    let mut req = agent().request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = resp.header(&n).unwrap_or("").to_string();
            (n, v)
        })
        .collect();
    let text = resp.into_string().unwrap_or_default();
    Answer {
        status,
        headers,
        text,
    }
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    send("GET", url, headers, None)
}

pub fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> Answer {
    let mut h = headers.to_vec();
    h.push(("content-type", "application/json"));
    send("POST", url, &h, Some(body.to_string().as_bytes()))
}

/// Codelayer call: POST, JSON, HTTP 200 with `e` and `msg` always.
pub fn codelayer(server: &Server, path: &str, body: &Value) -> Value {
    let a = post_json(&server.url(&format!("/codelayer/{path}")), &[], body);
    assert_eq!(
        a.status, 200,
        "Codelayer answers HTTP 200 with e/msg: {}",
        a.text
    );
    let v = a.json();
    assert!(
        v.get("e").is_some() && v.get("msg").is_some(),
        "Codelayer answer without e/msg: {v}"
    );
    v
}

pub fn hmac_hex(key: &str, msg: &str) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    hex::encode(ring::hmac::sign(&k, msg.as_bytes()).as_ref())
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn request_id() -> String {
    format!(
        "t-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// A Daily Activity client system signed in as a user: the whole token chain.
pub struct DaSession {
    pub base: String,
    pub app_key: String,
    pub private_key: String,
    pub client_token: String,
    pub user_token: String,
    pub refresh_token: String,
    pub access_token: String,
}

impl DaSession {
    /// Creates a client and a user with the CLI and walks Verify → Login → Refresh → Access.
    pub fn open(server: &Server, username: &str, password: &str, role: &str) -> DaSession {
        let c = server.cli_json(&["client", "add", "--name", &format!("client-{username}")]);
        let u = server.cli(&[
            "user",
            "add",
            "--username",
            username,
            "--password",
            password,
            "--role",
            role,
        ]);
        assert!(u.status.success(), "{}", String::from_utf8_lossy(&u.stderr));
        DaSession::login(
            server,
            c["app_key"].as_str().unwrap(),
            c["private_key"].as_str().unwrap(),
            username,
            password,
        )
    }

    pub fn login(
        server: &Server,
        app_key: &str,
        private_key: &str,
        username: &str,
        password: &str,
    ) -> DaSession {
        let base = server.url("/daily/v1");
        let rid = request_id();
        let ts = now_unix();
        let sig = hmac_hex(private_key, &format!("{rid}\n{ts}"));
        let v = post_json(
            &format!("{base}/authorize/verify"),
            &[("x-app-key", app_key), ("x-request-id", &rid)],
            &json!({"timestamp": ts, "signature": sig}),
        );
        assert_eq!(v.status, 200, "verify: {}", v.text);
        let client_token = v.json()["data"]["client_token"]
            .as_str()
            .unwrap()
            .to_string();
        let rid = request_id();
        let bearer = format!("Bearer {client_token}");
        let l = post_json(
            &format!("{base}/user/login"),
            &[
                ("x-app-key", app_key),
                ("x-request-id", &rid),
                ("authorization", &bearer),
            ],
            &json!({"username": username, "password": password, "device_id": "HH-TEST"}),
        );
        assert_eq!(l.status, 200, "login: {}", l.text);
        let user_token = l.json()["data"]["user_token"].as_str().unwrap().to_string();
        let rid = request_id();
        let bearer = format!("Bearer {user_token}");
        let r = get(
            &format!("{base}/authorize/refresh-token"),
            &[
                ("x-app-key", app_key),
                ("x-request-id", &rid),
                ("authorization", &bearer),
            ],
        );
        assert_eq!(r.status, 200, "refresh: {}", r.text);
        let refresh_token = r.json()["data"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_string();
        let rid = request_id();
        let bearer = format!("Bearer {refresh_token}");
        let a = get(
            &format!("{base}/authorize/access-token"),
            &[
                ("x-app-key", app_key),
                ("x-request-id", &rid),
                ("authorization", &bearer),
            ],
        );
        assert_eq!(a.status, 200, "access: {}", a.text);
        let access_token = a.json()["data"]["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        DaSession {
            base,
            app_key: app_key.to_string(),
            private_key: private_key.to_string(),
            client_token,
            user_token,
            refresh_token,
            access_token,
        }
    }

    /// A user operation (Bearer access token + x-user-token) with a fresh request id.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.call_as(method, path, body, &request_id(), "en")
    }

    pub fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        rid: &str,
        lang: &str,
    ) -> Answer {
        let bearer = format!("Bearer {}", self.access_token);
        let headers = [
            ("x-app-key", self.app_key.as_str()),
            ("x-request-id", rid),
            ("x-language", lang),
            ("authorization", bearer.as_str()),
            ("x-user-token", self.user_token.as_str()),
            ("content-type", "application/json"),
        ];
        let b = body.map(|b| b.to_string());
        send(
            method,
            &format!("{}{}", self.base, path),
            &headers,
            b.as_deref().map(str::as_bytes),
        )
    }
}

/// A signed-in Codelayer handheld: creates the user with the CLI, requests a licence for `imei`,
/// approves it with the CLI, registers the device, authenticates; returns the session key.
/// The user is an administrator, so every Codelayer operation is open to it (tests/it/roles.rs
/// covers who else may call what).
pub fn codelayer_session(server: &Server, username: &str, password: &str, imei: &str) -> String {
    let u = server.cli(&[
        "user",
        "add",
        "--username",
        username,
        "--password",
        password,
        "--role",
        "admin",
    ]);
    assert!(u.status.success(), "{}", String::from_utf8_lossy(&u.stderr));
    codelayer_login(server, username, password, imei)
}

/// Like `codelayer_session` for a user that already exists; licenses the device if needed.
pub fn codelayer_login(server: &Server, username: &str, password: &str, imei: &str) -> String {
    let lic = codelayer_licence(server, imei);
    let r = codelayer(
        server,
        "system/register_device",
        &json!({"imei": imei, "appID": "POABS", "clientID": "ESTATE", "deviceName": "Test handheld", "mobileNumber": "+62822997572"}),
    );
    assert_eq!(r["status"], "OK", "{r}");
    let a = codelayer(
        server,
        "system/auth",
        &json!({"key": lic, "username": username, "password": password, "imei": imei, "ver": "1.0.0.0"}),
    );
    assert_eq!(a["e"], 200, "system/auth: {a}");
    a["key"].as_str().unwrap().to_string()
}

/// Requests (and, through the CLI, approves) the licence of `imei`; returns its licence key.
pub fn codelayer_licence(server: &Server, imei: &str) -> String {
    let l = codelayer(
        server,
        "system/license",
        &json!({"imei": imei, "appID": "POABS"}),
    );
    assert_eq!(l["e"], 200, "{l}");
    if l["licenses"][0]["statusCode"] != 2 {
        server.cli_json(&["device", "approve", "--imei", imei]);
    }
    let mut l = codelayer(
        server,
        "system/license",
        &json!({"imei": imei, "appID": "POABS"}),
    );
    assert_eq!(l["licenses"][0]["statusCode"], 2, "{l}");
    if l["licenses"][0]["key"].is_null() {
        // The key is delivered once; a handheld signing in again gets a re-issued one.
        server.cli_json(&["device", "reissue", "--imei", imei]);
        l = codelayer(
            server,
            "system/license",
            &json!({"imei": imei, "appID": "POABS"}),
        );
    }
    l["licenses"][0]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("no licence key: {l}"))
        .to_string()
}

/// GET on the running server's admin socket (`<state>/admin.sock`); returns the `data` of its
/// `{"ok": true, "data": ...}` envelope.
pub fn admin_get(server: &Server, path: &str) -> Value {
    admin_data(server, "GET", path, None)
}
/// One request to the running server's admin API over its Unix socket; returns (status, body).
/// One admin-API call over the server's socket, with the console's own client.
pub fn admin_call(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let client = gatehouse_tui::client::AdminClient::new(server.state.join("admin.sock"));
    let answer = client
        .request(method, path, body)
        .unwrap_or_else(|e| panic!("admin {method} {path}: {e}"));
    (answer.status, answer.body)
}

/// `admin_call` expecting `{"ok": true}`; returns `data`.
pub fn admin_data(server: &Server, method: &str, path: &str, body: Option<&Value>) -> Value {
    let (status, v) = admin_call(server, method, path, body);
    assert!(
        status == 200 && v["ok"] == true,
        "{method} {path}: {status} {v}"
    );
    v["data"].clone()
}

/// Headers of a Daily Activity call carrying a client token.
pub fn da_client_headers<'a>(
    app_key: &'a str,
    bearer: &'a str,
    rid: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("x-app-key", app_key),
        ("x-request-id", rid),
        ("x-language", "en"),
        ("authorization", bearer),
    ]
}

/// The site offset (minutes) that makes the site's local time now `hh:mm`: lets a black-box
/// test put the server's "now" at a chosen local time (e.g. just before a night shift ends).
pub fn offset_for_local_time(hh: i64, mm: i64) -> i64 {
    let utc_min = (now_unix() / 60).rem_euclid(1440);
    let mut off = hh * 60 + mm - utc_min;
    while off < -720 {
        off += 1440;
    }
    while off > 840 {
        off -= 1440;
    }
    off
}

/// The first-run credentials as the server left them for the console: the 0600 file in the
/// state directory (never stdout). Reading it here does not delete it.
pub fn first_run_text(server: &Server) -> String {
    std::fs::read_to_string(server.state.join("first-run-credentials.txt")).unwrap_or_else(|e| {
        panic!(
            "first-run credentials file: {e}; output:\n{}",
            server.output()
        )
    })
}

/// A `/metrics` value (panics when the server does not report it).
pub fn metric(s: &Server, name: &str) -> u64 {
    let m = get(&s.url("/metrics"), &[]).text;
    m.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}
