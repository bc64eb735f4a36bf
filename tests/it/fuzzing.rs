//! Findings of the fuzz campaign (scripts/fuzz.sh), each kept as a regression test: framing
//! hyper used to refuse with a bare 400, and what /openapi.json promises about its answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

/// Sends raw bytes, returns (status, body) of the one answer; the server closes after it.
fn raw(s: &Server, bytes: &[u8]) -> (u16, Value, String) {
    let addr = s.addr.clone();
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (status, v, text)
}

#[test]
fn bad_content_length_is_refused_in_each_family_envelope() {
    let s = Server::start();
    for cl in [
        "Content-Length: -1\r\n",
        "Content-Length: 2\r\nContent-Length: 3\r\n",
        "Content-Length: 2, 3\r\n",
        "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
    ] {
        let req = |path: &str, extra: &str| {
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}{cl}\r\n{{}}")
        };
        let (st, v, t) = raw(
            &s,
            req(
                "/daily/v1/user/login",
                "x-request-id: cl-1\r\nx-language: en\r\n",
            )
            .as_bytes(),
        );
        assert_eq!(st, 400, "{t}");
        assert_eq!(v["code"], 400, "{t}");
        assert_eq!(v["request_id"], "cl-1", "{t}");
        assert!(
            v["message"].as_str().unwrap().contains("Content-Length"),
            "{t}"
        );
        let (st, v, t) = raw(&s, req("/codelayer/system/auth", "").as_bytes());
        assert_eq!((st, v["e"].clone()), (200, json!(400)), "{t}");
        assert!(v["msg"].as_str().unwrap().contains("Content-Length"), "{t}");
        let (st, v, t) = raw(&s, req("/api/users/authorize", "").as_bytes());
        assert_eq!(st, 400, "{t}");
        assert_eq!(v["status"], "error", "{t}");
    }
    // A good request on a keep-alive connection, then a bad one: the second is refused alone.
    let addr = s.addr.clone();
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"POST /codelayer/response_codes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}POST /codelayer/response_codes HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert!(text.contains("\"codes\""), "{text}");
    assert!(text.contains("\"e\":400"), "{text}");
    // Still serving.
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200);
}

/// A request head of exactly 64 KiB is served; one byte more is refused with 431 in the
/// family's envelope and language, never hyper's bare answer, and the server keeps serving.
#[test]
fn a_head_over_64_kib_is_refused_in_each_family_envelope() {
    const LIMIT: usize = 64 * 1024;
    let s = Server::start();
    // A GET head padded with one header line to `total` bytes, blank line included.
    let head = |path: &str, extra: &str, total: usize| {
        let start =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}x-pad: ");
        let pad = total - start.len() - "\r\n\r\n".len();
        format!("{start}{}\r\n\r\n", "p".repeat(pad))
    };
    let at_limit = head("/healthz", "", LIMIT);
    assert_eq!(at_limit.len(), LIMIT);
    let (st, v, t) = raw(&s, at_limit.as_bytes());
    assert_eq!(st, 200, "{t}");
    assert_eq!(v["status"], "ok", "{}", &t[..200]);

    let over = head(
        "/daily/v1/attendances/today",
        "x-request-id: big-1\r\nx-language: id\r\n",
        LIMIT + 1,
    );
    let (st, v, t) = raw(&s, over.as_bytes());
    assert_eq!(st, 431, "{t}");
    assert_eq!(v["code"], 431, "{t}");
    assert_eq!(v["request_id"], "big-1", "{t}");
    assert_eq!(
        v["message"], "Header permintaan lebih besar dari 65536 byte",
        "{t}"
    );
    // Far over, sent as a head that never ends: refused once the limit is passed.
    let endless = format!(
        "POST /codelayer/system/auth HTTP/1.1\r\nx-pad: {}",
        "p".repeat(3 * LIMIT)
    );
    let (st, v, t) = raw(&s, endless.as_bytes());
    assert_eq!((st, v["e"].clone()), (200, json!(400)), "{t}");
    assert!(v["msg"].as_str().unwrap().contains("65536"), "{t}");
    // Authorize documents 400 for whatever a client gets wrong.
    let (st, v, t) = raw(&s, head("/api/users/authorize", "", 2 * LIMIT).as_bytes());
    assert_eq!(st, 400, "{t}");
    assert_eq!(v["status"], "error", "{t}");
    assert!(v["message"][0].as_str().unwrap().contains("65536"), "{t}");
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200);
}

/// Heads whose lines end in a bare LF (hyper takes them; some embedded clients send them) are
/// answered at once, whether they arrive whole or a byte at a time, pipelined behind a CRLF one.
/// Before, the connection guard looked for CRLF only and held them back until the header
/// timeout closed the connection.
#[test]
fn heads_with_bare_lf_lines_are_answered() {
    let s = Server::start();
    let pipelined: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /codelayer/response_codes HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 2\n\n{}";
    for step in [pipelined.len(), 1] {
        let mut c = TcpStream::connect(s.addr.clone()).unwrap();
        c.set_nodelay(true).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        for piece in pipelined.chunks(step) {
            c.write_all(piece).unwrap();
        }
        // The connection stays open: read until both answers are in (or the timeout).
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while String::from_utf8_lossy(&out)
            .matches("HTTP/1.1 200")
            .count()
            < 2
        {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&out);
        assert_eq!(
            text.matches("HTTP/1.1 200").count(),
            2,
            "step {step}: {text}"
        );
        assert!(text.contains("\"status\":\"ok\""), "step {step}: {text}");
        assert!(text.contains("\"codes\""), "step {step}: {text}");
    }
}

#[test]
fn codelayer_answers_only_listed_codes() {
    let s = Server::start();
    let listed: Vec<i64> = codelayer(&s, "response_codes", &json!({}))["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["e"].as_i64().unwrap())
        .collect();
    for e in [405, 408, 503] {
        assert!(listed.contains(&e), "{e} not in {listed:?}");
    }
    // A wrong method: e=405, a listed code.
    let r = send("GET", &s.url("/codelayer/system/auth"), &[], None);
    assert_eq!(r.status, 200);
    let e = r.json()["e"].as_i64().unwrap();
    assert_eq!(e, 405);
    assert!(listed.contains(&e));
}

/// What the fuzz campaign needed from /openapi.json, kept: typed ids and paging, required
/// request fields, nullable instead of `type: null`, real content types, every error status
/// in the family's envelope.
#[test]
fn openapi_is_precise_enough_to_fuzz_against() {
    let s = Server::start();
    let doc = get(&s.url("/openapi.json"), &[]).json();
    let op = |path: &str, m: &str| doc["paths"][path][m].clone();
    let param = |o: &Value, name: &str| {
        o["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {o}"))
    };
    // Ids and paging are integers.
    let task = op("/daily/v1/tasks/{id}", "get");
    assert_eq!(param(&task, "id")["schema"]["type"], "integer");
    let tasks = op("/daily/v1/tasks", "get");
    assert_eq!(param(&tasks, "page")["schema"]["type"], "integer");
    assert_eq!(param(&tasks, "per_page")["schema"]["maximum"], 100);
    // Request bodies name their required fields.
    let login = op("/daily/v1/user/login", "post");
    let req = &login["requestBody"]["content"]["application/json"]["schema"]["required"];
    assert_eq!(req, &json!(["username", "password"]));
    let auth = op("/codelayer/system/auth", "post");
    let req = &auth["requestBody"]["content"]["application/json"]["schema"]["required"];
    assert_eq!(req, &json!(["key", "username", "password", "imei", "ver"]));
    let muster = op("/codelayer/estate/sync/muster", "post");
    let req = &muster["requestBody"]["content"]["application/json"]["schema"]["required"];
    assert_eq!(
        req,
        &json!(["key", "musters"]),
        "the session key travels in the body"
    );
    // A nested field may be null (= left out), as the parsers read it (found by the short run).
    let company = op("/daily/v1/company", "put");
    let addr = &company["requestBody"]["content"]["application/json"]["schema"]["properties"]
        ["address"]["anyOf"][0];
    assert_eq!(
        addr["properties"]["province"]["anyOf"][1]["type"], "null",
        "{addr}"
    );
    // Non-JSON answers say what they are.
    assert!(
        op("/metrics", "get")["responses"]["200"]["content"]["text/plain; version=0.0.4"]
            .is_object()
    );
    let dl = &op("/daily/v1/reports/tasks/{id}/download", "get")["responses"]["200"]["content"];
    assert!(dl["text/csv; charset=utf-8"].is_object(), "{dl}");
    assert!(dl["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"].is_object());
    // Every error an operation gives is listed, in its family's envelope.
    for code in ["400", "401", "403", "404", "409", "413", "415", "503"] {
        let r = &op("/daily/v1/tasks/{id}", "put")["responses"][code];
        assert_eq!(
            r["content"]["application/json"]["schema"]["required"],
            json!(["code", "message", "data", "request_id"]),
            "{code}: {r}"
        );
    }
    assert!(op("/daily/v1/tasks/{id}", "put")["responses"]["default"].is_null());
    let au = &op("/api/users/authorize", "post")["responses"]["400"]["content"]["application/json"]
        ["schema"];
    assert_eq!(au["properties"]["status"]["const"], "error");
    // Codelayer's refusals carry only listed codes.
    let listed: Vec<Value> = codelayer(&s, "response_codes", &json!({}))["codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["e"] != 200)
        .map(|c| c["e"].clone())
        .collect();
    let one_of = &op("/codelayer/system/auth", "post")["responses"]["200"]["content"]
        ["application/json"]["schema"]["oneOf"];
    assert_eq!(one_of[1]["properties"]["e"]["enum"], Value::Array(listed));
    // A field that may be null is typed as such, and no success schema is `type: null`.
    let item = &tasks["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
        ["data"]["properties"]["items"]["items"]["properties"];
    assert_eq!(
        item["completed_at"]["type"],
        json!(["string", "null"]),
        "{item}"
    );
    fn no_null_type(v: &Value, at: &str) {
        match v {
            Value::Object(m) => {
                if m.get("type") == Some(&json!("null")) && !at.ends_with("/data") {
                    panic!("type null at {at}");
                }
                for (k, x) in m {
                    no_null_type(x, &format!("{at}/{k}"));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| no_null_type(x, at)),
            _ => {}
        }
    }
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (m, o) in ops.as_object().unwrap() {
            no_null_type(&o["responses"]["200"], &format!("{m} {path}"));
        }
    }
}
