//! One role model in every family (issue 11): every role × every operation of Daily Activity,
//! Codelayer and the Authorize API, expected from the served role table (Get Role List) and each
//! operation's `x-permission` in /openapi.json, asserted against what the server does. A refused
//! call answers 403 in the family's envelope before its body is looked at.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::harness::*;

const ROLES: [&str; 6] = [
    "admin",
    "manager",
    "supervisor",
    "clerk",
    "gate_guard",
    "labourer",
];

struct Member {
    role: &'static str,
    da: DaSession,
    user_id: i64,
    cl_key: String,
    az_device: String,
    az_token: String,
}

fn sign_in_everywhere(s: &Server, i: usize, role: &'static str) -> Member {
    let username = format!("role-{role}");
    let password = format!("{role}-pass-123");
    let da = DaSession::open(s, &username, &password, role);
    let p = da.call("GET", "/user/permission", None);
    assert_eq!(p.status, 200, "{}", p.text);
    let user_id = p.json()["data"]["user_id"].as_i64().unwrap();
    let imei = format!("35000000000{i:04}");
    let cl_key = codelayer_login(s, &username, &password, &imei);
    let az_device = format!("AZ-{role}");
    let a = post_json(
        &s.url("/api/users/authorize"),
        &[],
        &json!({"username": username, "password": password, "deviceID": az_device,
                "notificationCenterType": "none"}),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    let az_token = a.json()["message"]["token"].as_str().unwrap().to_string();
    Member {
        role,
        da,
        user_id,
        cl_key,
        az_device,
        az_token,
    }
}

/// (family, method, path, permission) of every operation with a signed-in user.
fn operations(doc: &Value) -> Vec<(String, String, String, Option<String>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let family = if path.starts_with("/daily/") {
            "da"
        } else if path.starts_with("/codelayer/") {
            "cl"
        } else if path.starts_with("/api/") {
            "az"
        } else {
            continue;
        };
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op.get("x-permission").is_some(),
                "{method} {path} does not document its permission"
            );
            let perm = op["x-permission"].as_str().map(str::to_string);
            if let Some(p) = &perm {
                let d = op["description"].as_str().unwrap_or("");
                assert!(d.contains(p.as_str()), "{path}: description names {p}: {d}");
            }
            out.push((
                family.to_string(),
                method.to_ascii_uppercase(),
                path.clone(),
                perm,
            ));
        }
    }
    out
}

/// Order: operations that end or rotate the caller's tokens come last.
fn rank(path: &str) -> u8 {
    match path {
        "/daily/v1/authorize/refresh-token" => 1,
        "/daily/v1/authorize/access-token" => 2,
        "/daily/v1/user/logout" => 3,
        _ => 0,
    }
}

/// Calls the operation as `m` with an empty body; returns (refused?, what came back).
fn call(s: &Server, m: &Member, method: &str, path: &str, family: &str) -> (bool, String) {
    match family {
        "da" => {
            let p = path
                .strip_prefix("/daily/v1")
                .unwrap()
                .replace("{user_id}", &m.user_id.to_string())
                .replace("{image_id}", "999999")
                .replace("{id}", "999999");
            let body = json!({});
            let a = match path {
                "/daily/v1/authorize/refresh-token" | "/daily/v1/authorize/access-token" => {
                    let tok = if path.ends_with("refresh-token") {
                        &m.da.user_token
                    } else {
                        &m.da.refresh_token
                    };
                    let bearer = format!("Bearer {tok}");
                    let rid = request_id();
                    get(
                        &format!("{}{p}", m.da.base),
                        &da_client_headers(&m.da.app_key, &bearer, &rid),
                    )
                }
                _ => m.da.call(method, &p, (method != "GET").then_some(&body)),
            };
            if a.status == 403 {
                let v = a.json();
                assert_eq!(v["code"], 403, "{path}: {}", a.text);
                assert!(v["data"].is_null(), "{path}: {}", a.text);
                assert!(
                    v.get("errors").is_none(),
                    "refused before validation: {}",
                    a.text
                );
            }
            (a.status == 403, a.text)
        }
        "cl" => {
            let v = codelayer(
                s,
                path.strip_prefix("/codelayer/").unwrap(),
                &json!({"key": m.cl_key}),
            );
            if v["e"] == 403 {
                assert_eq!(
                    v["msg"], "You do not have permission for this operation",
                    "{path}: {v}"
                );
            }
            (v["e"] == 403, v.to_string())
        }
        _ => {
            let a = post_json(
                &s.url(path),
                &[],
                &json!({"deviceID": m.az_device, "token": m.az_token}),
            );
            if a.status == 403 {
                let v = a.json();
                assert_eq!(v["status"], "error", "{}", a.text);
            }
            (a.status == 403, a.text)
        }
    }
}

#[test]
fn every_role_against_every_operation_of_every_family() {
    let s = Server::start();
    let members: Vec<Member> = ROLES
        .iter()
        .enumerate()
        .map(|(i, r)| sign_in_everywhere(&s, i, r))
        .collect();
    // The role table as the server advertises it.
    let roles = members[0].da.call("GET", "/privilege/roles", None);
    assert_eq!(roles.status, 200, "{}", roles.text);
    let mut table: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in roles.json()["data"].as_array().unwrap() {
        table.insert(
            r["role"].as_str().unwrap().to_string(),
            r["permissions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect(),
        );
    }
    assert_eq!(table.len(), ROLES.len(), "{table:?}");
    // Permission answers the same table for the caller.
    for m in &members {
        let p = m.da.call("GET", "/user/permission", None).json();
        let mine: BTreeSet<String> = p["data"]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert_eq!(mine, table[m.role], "{}", m.role);
    }
    let doc = get(&s.url("/openapi.json"), &[]).json();
    let mut ops = operations(&doc);
    ops.retain(|o| o.3.is_some());
    ops.sort_by_key(|o| rank(&o.2));
    for fam in ["da", "cl", "az"] {
        assert!(ops.iter().any(|o| o.0 == fam), "no {fam} operation checked");
    }
    // Payroll, PAN and TDS are not for everyone.
    let hr = ops
        .iter()
        .find(|o| o.2 == "/codelayer/hrdetails/emp_payroll")
        .unwrap();
    assert!(!table["labourer"].contains(hr.3.as_ref().unwrap()));
    assert!(!table["gate_guard"].contains(hr.3.as_ref().unwrap()));
    let mut wrong = Vec::new();
    let mut refused = 0;
    for (family, method, path, perm) in &ops {
        for m in &members {
            let expect_allowed = table[m.role].contains(perm.as_ref().unwrap());
            let (was_refused, text) = call(&s, m, method, path, family);
            if was_refused {
                refused += 1;
            }
            if was_refused == expect_allowed {
                wrong.push(format!(
                    "{} {method} {path} ({}): expected {}, got: {}",
                    m.role,
                    perm.as_ref().unwrap(),
                    if expect_allowed { "allowed" } else { "refused" },
                    &text[..text.len().min(160)]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        refused > 40,
        "only {refused} refusals: the matrix checks little"
    );
}

/// A refused write changes nothing: a labourer's handheld cannot replace a face, post a muster,
/// save a gatepass or close the day, even with a well-formed body.
#[test]
fn refused_codelayer_writes_leave_no_trace() {
    let s = Server::start_with(&["--demo"], &[]);
    let u = s.cli(&[
        "user",
        "add",
        "--username",
        "kuli",
        "--password",
        "kuli-pass-1",
        "--role",
        "labourer",
    ]);
    assert!(u.status.success(), "{}", String::from_utf8_lossy(&u.stderr));
    let key = codelayer_login(&s, "kuli", "kuli-pass-1", "356000000000001");
    let g = codelayer(
        &s,
        "frontoffice_poabs/gatepass_save",
        &json!({"key": key, "gpno": "GP-ROLE-1", "visitorname": "X"}),
    );
    assert_eq!(g["e"], 403, "{g}");
    let d = codelayer(
        &s,
        "frontoffice_poabs/dailyclosing_save",
        &json!({"key": key, "closingdate": "2026-01-01"}),
    );
    assert_eq!(d["e"], 403, "{d}");
    let p = codelayer(
        &s,
        "hrdetails/emp_payroll",
        &json!({"key": key, "fromdate": "2026-04-01", "todate": "2026-04-30"}),
    );
    assert_eq!(p["e"], 403, "{p}");
    assert!(p.get("employeepayroll").is_none(), "{p}");
    let (status, gp) = admin_call(&s, "GET", "/admin/gatepasses/GP-ROLE-1", None);
    assert!(status == 404 || gp["ok"] == false, "{status} {gp}");
}
