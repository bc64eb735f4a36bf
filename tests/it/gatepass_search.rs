//! The gatepass search (`q`) reads through the text index (issue 15): each view lists exactly
//! what walking the view and comparing finds (person, vehicle and host lower-cased with
//! whitespace removed, or the number), in the same order, after issues and edits; and a search
//! among hundreds of passes reads about as many records as among a few.

use serde_json::{json, Value};

use crate::harness::*;

fn numbers(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_string())
        .collect()
}

fn squeeze(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The rule, applied to the view's rows (the queries below avoid phones and item names,
/// which rows do not show).
fn expected(rows: &Value, q: &str) -> Vec<String> {
    let n = q.trim().to_lowercase();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            ["name", "vehicle", "host"]
                .iter()
                .filter_map(|f| r[*f].as_str())
                .any(|h| squeeze(h).contains(&squeeze(&n)))
                || r["number"].as_str().unwrap().to_lowercase().contains(&n)
        })
        .map(|r| r["number"].as_str().unwrap().to_string())
        .collect()
}

fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn check(s: &Server, queries: &[&str]) {
    for view in ["all", "today", "inside"] {
        let walk = admin_data(s, "GET", &format!("/admin/gatepasses?view={view}"), None);
        for q in queries {
            let path = format!("/admin/gatepasses?view={view}&q={}", enc(q));
            let got = admin_data(s, "GET", &path, None);
            assert_eq!(
                numbers(&got),
                expected(&walk, q),
                "view={view} q={q:?}: {got}"
            );
        }
    }
}

fn issue(s: &Server, body: Value) -> String {
    admin_data(s, "POST", "/admin/gatepasses", Some(&body))["number"]
        .as_str()
        .unwrap()
        .to_string()
}

const QUERIES: &[&str] = &[
    "asha",
    "ASHA R",
    "a",
    "m",
    "kt8123",
    "KT 81",
    "tn 72",
    "manager",
    "gp-",
    "zz",
    "ş",
    "தமி",
    "i̇z",
    "ma",
    "a pass search longer than anything on any pass",
];

#[test]
fn gatepass_search_lists_what_a_walk_lists() {
    let s = Server::start();
    let visitor = |name: &str, host: &str| {
        json!({"kind": "visitor", "name": name, "phone": "+6200000", "host": host,
               "purpose": "Visit", "gate": "North", "guard": "Ravi"})
    };
    let asha = issue(&s, visitor("Asha Raman", "Estate Manager"));
    issue(&s, visitor("Şeker İzmir", "Office"));
    let tamil = issue(&s, visitor("தமிழ் செல்வி", "Clinic"));
    issue(
        &s,
        json!({"kind": "vehicle", "vehicle": "TN 72 AB 1234", "driver": "Mani", "purpose": "Leaf"}),
    );
    issue(
        &s,
        json!({"kind": "material", "name": "Kumar", "vehicle": "kt 8123 ab", "purpose": "Repair",
               "items": [{"name": "Hose", "qty": 1, "unit": "pcs"}], "gate": "Main gate", "guard": "Siti"}),
    );
    for n in [&asha, &tamil] {
        admin_data(
            &s,
            "POST",
            &format!("/admin/gatepasses/{n}/in"),
            Some(&json!({"gate": "North", "guard": "Ravi"})),
        );
    }
    check(&s, QUERIES);
}
