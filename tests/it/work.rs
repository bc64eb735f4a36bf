//! Black-box tests: work — organization, tasks (+ photos, reports), tickets, projects, widgets,
//! the app's Remove/* paths, permissions and idempotent replay.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::harness::*;

mod app;
mod images;
mod org;
mod reports;
mod tasks;

fn ok(a: &Answer, want: u16) -> Value {
    assert_eq!(a.status, want, "{}", a.text);
    let v = a.json();
    assert_eq!(v["code"], want, "{v}");
    v["data"].clone()
}

/// The server's "today" (site-local), as the Tasks widget reports it.
fn today(da: &DaSession) -> String {
    ok(&da.call("GET", "/widgets/tasks", None), 200)["date"]
        .as_str()
        .unwrap()
        .to_string()
}

fn day_offset(day: &str, days: i64) -> String {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    (d + chrono::TimeDelta::days(days)).to_string()
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(len, 0x42);
    b
}

fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.resize(len, 0x17);
    b
}

/// A raw (non-JSON) upload with the session's headers.
fn raw(da: &DaSession, method: &str, path: &str, ctype: &str, body: &[u8]) -> Answer {
    let bearer = format!("Bearer {}", da.access_token);
    let rid = request_id();
    send(
        method,
        &format!("{}{}", da.base, path),
        &[
            ("x-app-key", da.app_key.as_str()),
            ("x-request-id", rid.as_str()),
            ("x-language", "en"),
            ("authorization", bearer.as_str()),
            ("x-user-token", da.user_token.as_str()),
            ("content-type", ctype),
        ],
        Some(body),
    )
}

/// GET returning bytes (downloads are files, not envelopes).
fn download(da: &DaSession, path: &str) -> (u16, String, String, Vec<u8>) {
    let bearer = format!("Bearer {}", da.access_token);
    let rid = request_id();
    let mut req = ureq::get(&format!("{}{}", da.base, path));
    for (k, v) in [
        ("x-app-key", da.app_key.as_str()),
        ("x-request-id", rid.as_str()),
        ("authorization", bearer.as_str()),
        ("x-user-token", da.user_token.as_str()),
    ] {
        req = req.set(k, v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = resp.status();
    let ct = resp.header("content-type").unwrap_or("").to_string();
    let cd = resp.header("content-disposition").unwrap_or("").to_string();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
    (status, ct, cd, bytes)
}

/// `gatehouse check` on the running server: every work tree decodes, every blob re-hashes.
fn store_checks(s: &Server) {
    let check = s.cli_json(&["check"]);
    assert!(check["errors"].as_array().unwrap().is_empty(), "{check}");
}
