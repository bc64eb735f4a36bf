//! The skeleton: listening line, envelopes of every failure in each family, OpenAPI ↔ routes,
//! the token chain, idempotent replay, CLI with and without a server, backup/restore.

use serde_json::{json, Value};

use crate::harness::*;

#[test]
fn healthz_metrics_and_clean_sigterm() {
    let s = Server::start();
    let h = get(&s.url("/healthz"), &[]);
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    let m = get(&s.url("/metrics"), &[]);
    assert_eq!(m.status, 200);
    assert!(
        m.text.contains(
            "gatehouse_requests_total{family=\"ops\",operation=\"health\",status=\"200\"} 1"
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains("gatehouse_store_size_bytes"));
    assert!(m.text.contains("gatehouse_store_flush_seconds_count"));
    assert_eq!(s.stop(), Some(0), "SIGTERM must stop the server cleanly");
}

#[test]
fn first_run_credentials_go_to_a_private_file_never_to_stdout() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = Server::start();
    let file = s.state.join("first-run-credentials.txt");
    let text = first_run_text(&s);
    assert!(
        text.contains("admin username=admin password=") && text.contains("private_key="),
        "{text}"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "credentials file mode {mode:o}");
    // stdout and the log (the journal under systemd) name the file, never the secrets.
    let out = s.output();
    let secret = |k: &str| {
        let i = text.find(k).unwrap() + k.len();
        text[i..].split([' ', '\n']).next().unwrap().to_string()
    };
    for k in ["password=", "private_key="] {
        assert!(
            !out.contains(&secret(k)),
            "{k} leaked to the output:\n{out}"
        );
    }
    assert!(out.contains(&file.display().to_string()), "{out}");
    let keep = s.keep_state();
    let state = s.state.clone();
    assert_eq!(s.stop(), Some(0));
    let s2 = Server::start_on(&state, &[]);
    assert!(
        !s2.output().contains("first-run"),
        "credentials must never be shown again"
    );
    drop(keep);
}

fn da_headers() -> Vec<(&'static str, &'static str)> {
    vec![("x-language", "en"), ("x-request-id", "r-1")]
}

#[test]
fn every_failure_is_answered_in_its_familys_envelope() {
    let s = Server::start();
    let h = da_headers();
    // Daily Activity: {code, message, data, request_id}
    for (method, path, body, ctype, want) in [
        ("GET", "/daily/v1/no/such/thing", None, None, 404),
        ("DELETE", "/daily/v1/user/login", None, None, 405),
        (
            "POST",
            "/daily/v1/user/login",
            Some("{\"username\": "),
            Some("application/json"),
            401,
        ),
    ] {
        let mut hh = h.clone();
        if let Some(c) = ctype {
            hh.push(("content-type", c));
        }
        let a = send(method, &s.url(path), &hh, body.map(str::as_bytes));
        assert_eq!(a.status, want, "{method} {path}: {}", a.text);
        let v = a.json();
        assert_eq!(v["code"], want);
        assert_eq!(v["request_id"], "r-1");
        assert!(v["data"].is_null());
        assert!(v["message"].as_str().unwrap().len() > 3);
    }
    // Malformed JSON and wrong content type reach the family once the caller is authenticated:
    // use Verify, which needs only x-app-key.
    let c = s.cli_json(&["client", "add", "--name", "erp"]);
    let key = c["app_key"].as_str().unwrap();
    let mut hh = h.clone();
    hh.push(("x-app-key", key));
    hh.push(("content-type", "application/json"));
    let a = send(
        "POST",
        &s.url("/daily/v1/authorize/verify"),
        &hh,
        Some(b"{not json"),
    );
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{}",
        a.text
    );
    let mut ht = h.clone();
    ht.push(("x-app-key", key));
    ht.push(("content-type", "text/plain"));
    let a = send(
        "POST",
        &s.url("/daily/v1/authorize/verify"),
        &ht,
        Some(b"hello"),
    );
    assert_eq!(a.status, 415, "{}", a.text);
    assert_eq!(a.json()["code"], 415);
    // Indonesian by default.
    let a = send(
        "GET",
        &s.url("/daily/v1/nothing"),
        &[("x-request-id", "r-2")],
        None,
    );
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Endpoint tidak ditemukan"),
        "{}",
        a.text
    );
    let a = send(
        "GET",
        &s.url("/daily/v1/nothing"),
        &[("x-request-id", "r-2"), ("x-language", "en-US")],
        None,
    );
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("No such endpoint"),
        "{}",
        a.text
    );

    // Codelayer: HTTP 200, {e, msg}
    for (path, body, ctype, want_e) in [
        ("/codelayer/no_such", "{}", "application/json", 404),
        (
            "/codelayer/response_codes",
            "{oops",
            "application/json",
            400,
        ),
        (
            "/codelayer/response_codes",
            "a=b",
            "application/x-www-form-urlencoded",
            415,
        ),
    ] {
        let a = send(
            "POST",
            &s.url(path),
            &[("content-type", ctype)],
            Some(body.as_bytes()),
        );
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        let v = a.json();
        assert_eq!(v["e"], want_e, "{path}: {v}");
        assert!(v["msg"].as_str().is_some());
    }
    let a = send("GET", &s.url("/codelayer/response_codes"), &[], None);
    assert_eq!(a.json()["e"], 405);

    // Authorize API: {"status":"error","message":[...]}
    let a = send("GET", &s.url("/api/no/such"), &[], None);
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["status"], "error");
    assert!(a.json()["message"].is_array());
}

#[test]
fn bodies_over_the_limit_are_refused_with_and_without_content_length() {
    let s = Server::start_with(&[], &[("GATEHOUSE_HTTP__MAX_BODY_BYTES", "1024")]);
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2000));
    let a = send(
        "POST",
        &s.url("/codelayer/response_codes"),
        &[("content-type", "application/json")],
        Some(big.as_bytes()),
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["e"], 413, "{}", a.text);
    // At the edge: exactly the limit is accepted.
    let edge = format!("{{\"p\": \"{}\"}}", "x".repeat(1024 - 9));
    assert_eq!(edge.len(), 1024);
    let a = send(
        "POST",
        &s.url("/codelayer/response_codes"),
        &[("content-type", "application/json")],
        Some(edge.as_bytes()),
    );
    assert_eq!(a.json()["e"], 200, "{}", a.text);
    // Chunked, no Content-Length: raw socket.
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(&s.addr).unwrap();
    let mut req = String::from("POST /codelayer/response_codes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    for _ in 0..4 {
        req.push_str(&format!("{:x}\r\n{}\r\n", 600, " ".repeat(600)));
    }
    req.push_str("0\r\n\r\n");
    sock.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    let _ = sock.read_to_string(&mut resp);
    assert!(resp.contains("\"e\":413"), "{resp}");
    // A small chunked body is read whole.
    let mut sock = std::net::TcpStream::connect(&s.addr).unwrap();
    let body = "{}";
    let req = format!("POST /codelayer/response_codes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    sock.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    let _ = sock.read_to_string(&mut resp);
    assert!(resp.contains("\"e\":200"), "{resp}");
}

#[test]
fn openapi_operations_and_live_routes_agree() {
    let s = Server::start();
    let doc = get(&s.url("/openapi.json"), &[]).json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut n = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            n += 1;
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "duplicate operationId at {path}"
            );
            let summary = op["summary"].as_str().unwrap();
            assert!(!summary.is_empty(), "{path}: no summary");
            let tag = op["tags"][0].as_str().unwrap();
            let family_ok = match path.split('/').nth(1).unwrap() {
                "daily" => tag.starts_with("Daily Activity"),
                "codelayer" => tag.starts_with("Codelayer"),
                "api" => tag.starts_with("Authorize API"),
                "iclock" => tag == "ADMS",
                _ => tag == "Operations",
            };
            assert!(
                family_ok,
                "{method} {path}: tag {tag} does not start with its family"
            );
            // The route answers: neither "no such endpoint" nor "method not allowed".
            let concrete = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let a = send(
                &method.to_uppercase(),
                &s.url(&concrete),
                &[("content-type", "application/json")],
                if method == "get" { None } else { Some(b"{}") },
            );
            let e405 = serde_json::from_str::<Value>(&a.text)
                .ok()
                .and_then(|v| v.get("e").cloned())
                == Some(json!(405));
            let unknown = a.status == 405
                || e405
                || a.text.contains("No such endpoint")
                || a.text.contains("Endpoint tidak ditemukan");
            assert!(
                !unknown,
                "{method} {path} is documented but not routed: {} {}",
                a.status, a.text
            );
        }
    }
    assert!(n >= 9, "only {n} operations documented");
    // Seed entries are there with their exact names.
    let has = |summary: &str, tag: &str| {
        paths
            .values()
            .flat_map(|o| o.as_object().unwrap().values())
            .any(|op| op["summary"] == summary && op["tags"][0] == tag)
    };
    assert!(has("Verify", "Daily Activity/Authorize"));
    assert!(has("Login", "Daily Activity/User"));
    assert!(has("Response Codes", "Codelayer"));
}

#[test]
fn token_chain_idempotent_replay_and_conflict() {
    let s = Server::start();
    let da = DaSession::open(&s, "budi", "budi-pass-1", "supervisor");
    let p = da.call("GET", "/user/profile", None);
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json()["data"]["username"], "budi");
    assert_eq!(p.json()["data"]["role"], "supervisor");

    // Access token with another user's x-user-token is refused.
    let other = DaSession::login(&s, &da.app_key, &da.private_key, "budi", "budi-pass-1");
    let bearer = format!("Bearer {}", da.access_token);
    let a = get(
        &format!("{}/user/profile", da.base),
        &[
            ("x-app-key", &da.app_key),
            ("x-request-id", "m1"),
            ("authorization", &bearer),
            ("x-user-token", &other.user_token),
            ("x-language", "en"),
        ],
    );
    assert_eq!(a.status, 401, "{}", a.text);
    // A refresh token is not an access token.
    let bearer = format!("Bearer {}", da.refresh_token);
    let a = get(
        &format!("{}/user/profile", da.base),
        &[
            ("x-app-key", &da.app_key),
            ("x-request-id", "m2"),
            ("authorization", &bearer),
            ("x-user-token", &da.user_token),
        ],
    );
    assert_eq!(a.status, 401);

    // Verify twice with the same x-request-id and body: the first answer, replayed.
    let rid = request_id();
    let ts = now_unix();
    let sig = hmac_hex(&da.private_key, &format!("{rid}\n{ts}"));
    let body = json!({"timestamp": ts, "signature": sig});
    let first = post_json(
        &format!("{}/authorize/verify", da.base),
        &[("x-app-key", &da.app_key), ("x-request-id", &rid)],
        &body,
    );
    assert_eq!(first.status, 200);
    let again = post_json(
        &format!("{}/authorize/verify", da.base),
        &[("x-app-key", &da.app_key), ("x-request-id", &rid)],
        &body,
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-idempotent-replay"), Some("true"));
    assert_eq!(
        first.json()["data"]["client_token"],
        again.json()["data"]["client_token"]
    );
    assert!(first.header("x-idempotent-replay").is_none());
    // Same id, other body: 409.
    let other_body = json!({"timestamp": ts, "signature": sig, "extra": 1});
    let c = post_json(
        &format!("{}/authorize/verify", da.base),
        &[
            ("x-app-key", &da.app_key),
            ("x-request-id", &rid),
            ("x-language", "en"),
        ],
        &other_body,
    );
    assert_eq!(c.status, 409, "{}", c.text);
    assert_eq!(c.json()["code"], 409);
    // A wrong signature is refused.
    let bad = post_json(
        &format!("{}/authorize/verify", da.base),
        &[("x-app-key", &da.app_key), ("x-request-id", "other-rid")],
        &body,
    );
    assert_eq!(bad.status, 401, "{}", bad.text);

    // Logout revokes the chain.
    let out = da.call("POST", "/user/logout", Some(&json!({})));
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(da.call("GET", "/user/profile", None).status, 401);
    let bearer = format!("Bearer {}", da.user_token);
    let r = get(
        &format!("{}/authorize/refresh-token", da.base),
        &[
            ("x-app-key", &da.app_key),
            ("x-request-id", "z9"),
            ("authorization", &bearer),
        ],
    );
    assert_eq!(r.status, 401);
    // The other session is untouched.
    assert_eq!(other.call("GET", "/user/profile", None).status, 200);
}

#[test]
fn cli_works_with_and_without_a_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    // Only `serve` creates a store (admin commands on an empty directory refuse: see cli.rs).
    let first = Server::start_on(state, &[]);
    assert_eq!(first.stop(), Some(0));
    // No server: directly on the store.
    let u = cli_json(
        state,
        &[
            "user",
            "add",
            "--username",
            "offline",
            "--password",
            "offline-1",
            "--role",
            "clerk",
        ],
    );
    assert_eq!(u["username"], "offline");
    let c = cli_json(state, &["client", "add", "--name", "erp"]);
    assert!(c["private_key"].as_str().unwrap().len() > 32);
    // Duplicate user: non-zero exit, clear message, one JSON document on stdout.
    let dup = cli(
        state,
        &[
            "user",
            "add",
            "--username",
            "OFFLINE",
            "--password",
            "offline-1",
            "--json",
        ],
    );
    assert!(!dup.status.success());
    let v: Value = serde_json::from_slice(&dup.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    // Too short a password.
    let short = cli(
        state,
        &["user", "add", "--username", "x", "--password", "short"],
    );
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least 8"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );

    // With a server: through the socket, and the server sees it at once.
    let s = Server::start_on(state, &[]);
    let u2 = s.cli_json(&[
        "user",
        "add",
        "--username",
        "online",
        "--password",
        "online-12",
    ]);
    assert_eq!(u2["username"], "online");
    let list = s.cli_json(&["user", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"offline") && names.contains(&"online"),
        "{names:?}"
    );
    // The offline client can sign in on the running server.
    let da = DaSession::login(
        &s,
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
        "online",
        "online-12",
    );
    assert_eq!(
        da.call("GET", "/user/profile", None).json()["data"]["username"],
        "online"
    );
    let check = s.cli_json(&["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
}

#[test]
fn backup_wipe_restore_brings_every_record_back() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let s = Server::start_on(&state, &[]);
    let da = DaSession::open(&s, "siti", "siti-pass-1", "clerk");
    let file = tmp.path().join("usb/backup-1.ghb");
    let b = s.cli_json(&["backup", "--out", file.to_str().unwrap()]);
    assert!(b["entries"].as_u64().unwrap() > 5, "{b}");
    // Restore refuses while the server runs.
    let r = s.cli(&["restore", "--from", file.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("stop it first"));
    assert_eq!(s.stop(), Some(0));
    std::fs::remove_dir_all(&state).unwrap();
    let r = cli_json(&state, &["restore", "--from", file.to_str().unwrap()]);
    assert!(r["errors"].as_array().unwrap().is_empty(), "{r}");
    let s = Server::start_on(&state, &[]);
    assert!(
        !s.output().contains("first-run"),
        "a restored store is not a first run"
    );
    // The user, the client key (sealed under the restored master key) and the tokens are back.
    assert_eq!(
        da.call_for(&s, "GET", "/user/profile").json()["data"]["username"],
        "siti"
    );
    let again = DaSession::login(&s, &da.app_key, &da.private_key, "siti", "siti-pass-1");
    assert_eq!(again.call("GET", "/user/profile", None).status, 200);
    // A corrupted backup is refused whole.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let bad = tmp.path().join("bad.ghb");
    std::fs::write(&bad, &bytes).unwrap();
    assert_eq!(s.stop(), Some(0));
    let r = cli(&state, &["restore", "--from", bad.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("corrupt"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

trait CallFor {
    fn call_for(&self, s: &Server, method: &str, path: &str) -> Answer;
}

impl CallFor for DaSession {
    /// The same tokens, against another server process (after a restart or restore).
    fn call_for(&self, s: &Server, method: &str, path: &str) -> Answer {
        let moved = DaSession {
            base: s.url("/daily/v1"),
            app_key: self.app_key.clone(),
            private_key: self.private_key.clone(),
            client_token: self.client_token.clone(),
            user_token: self.user_token.clone(),
            refresh_token: self.refresh_token.clone(),
            access_token: self.access_token.clone(),
        };
        moved.call(method, path, None)
    }
}

#[test]
fn import_reports_each_refused_line_and_reimport_changes_nothing() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    // A spreadsheet's BOM, a bad role, a short password, a missing username.
    std::fs::write(
        &csv,
        "\u{feff}username,password,role,name\nmandor1,mandor-pass-1,supervisor,Budi\nguard1,guard-pass-1,gate guard,Siti\nbad1,bad-pass-11,wizard,X\nbad2,short,clerk,Y\n,nobody-pass-1,clerk,Z\n",
    )
    .unwrap();
    let out = s.cli(&["import", "users", csv.to_str().unwrap(), "--json"]);
    assert!(
        !out.status.success(),
        "refused lines make the exit status non-zero"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inserted"], 2, "{v}");
    assert_eq!(v["refused"], 3, "{v}");
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![4, 5, 6], "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("wizard"),
        "{v}"
    );
    assert!(
        v["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("at least 8"),
        "{v}"
    );
    // The imported users can sign in; the refused ones do not exist.
    let c = s.cli_json(&["client", "add", "--name", "imp"]);
    let da = DaSession::login(
        &s,
        c["app_key"].as_str().unwrap(),
        c["private_key"].as_str().unwrap(),
        "guard1",
        "guard-pass-1",
    );
    assert_eq!(
        da.call("GET", "/user/profile", None).json()["data"]["role"],
        "gate_guard"
    );
    let names: Vec<String> = s
        .cli_json(&["user", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("bad")), "{names:?}");
    // Re-importing the good lines changes nothing.
    std::fs::write(&csv, "username,password,role,name\nmandor1,mandor-pass-1,supervisor,Budi\nguard1,guard-pass-1,gate_guard,Siti\n").unwrap();
    let again = s.cli_json(&["import", "users", csv.to_str().unwrap()]);
    assert_eq!(
        (again["inserted"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    // Unknown kinds and formats are refused clearly.
    let bad = s.cli(&["import", "nonsense", csv.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("users"),
        "lists the known kinds: {}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let bad = s.cli(&["export", "nonsense", "--format", "pdf"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("csv or xlsx"));
    let bad = s.cli(&["export", "nonsense", "--from", "2026-13-01"]);
    assert!(!bad.status.success());
}

#[test]
fn a_revoked_client_system_is_refused_everywhere() {
    let s = Server::start();
    let da = DaSession::open(&s, "rudi", "rudi-pass-1", "clerk");
    assert_eq!(da.call("GET", "/user/profile", None).status, 200);
    let r = s.cli_json(&["client", "revoke", "--app-key", &da.app_key]);
    assert_eq!(r["revoked"], true, "{r}");
    // Its tokens and its key stop working at once.
    let p = da.call("GET", "/user/profile", None);
    assert_eq!(p.status, 401, "{}", p.text);
    let rid = request_id();
    let ts = now_unix();
    let sig = hmac_hex(&da.private_key, &format!("{rid}\n{ts}"));
    let v = post_json(
        &format!("{}/authorize/verify", da.base),
        &[("x-app-key", &da.app_key), ("x-request-id", &rid)],
        &json!({"timestamp": ts, "signature": sig}),
    );
    assert_eq!(v.status, 401, "{}", v.text);
    let list = s.cli_json(&["client", "list"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["app_key"] == da.app_key.as_str() && c["revoked"] == true),
        "{list}"
    );
    // An unknown key is a clear error.
    let out = s.cli(&["client", "revoke", "--app-key", "ak_nope"]);
    assert!(!out.status.success());
}
