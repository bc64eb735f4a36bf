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
