//! Schema 9: a store written with the index of returnable passes by number gets it by due day,
//! and the count of holders inside.

use chrono::NaiveDate;
use serde_json::json;

use crate::domain::gatepass::Gatepass;
use crate::store::tables::gatepass::{due_key, INSIDE, INSIDE_COUNTER, RETURNABLE};
use crate::store::{codec, counters, schema, Op, Record};

fn entry(tree: &str, key: &[u8]) -> Op {
    Op {
        tree: tree.into(),
        key: key.to_vec(),
        value: Some(codec::INDEX_VALUE.to_vec()),
    }
}

#[test]
fn a_schema_8_store_gets_its_returnable_passes_by_due_day_and_the_inside_count() {
    let dir = tempfile::tempdir().unwrap();
    let due = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    let material = |n: &str, d: u32| {
        Gatepass::for_tests(
            n,
            json!({"kind": "material", "name": "Kumar", "purpose": "Repair",
                "items": [{"name": "Pump", "qty": 1, "unit": "pcs"}],
                "returnable": true, "return_due": due(d).to_string()}),
        )
    };
    let visitor = |n: &str| {
        Gatepass::for_tests(
            n,
            json!({"kind": "visitor", "name": "Asha", "host": "Manager", "purpose": "Audit"}),
        )
    };
    let passes = [
        material("M-1", 3),
        material("M-2", 1),
        visitor("V-1"),
        visitor("V-2"),
    ];
    let mut ops: Vec<Op> = passes
        .iter()
        .map(|p| Op {
            tree: Gatepass::TREE.into(),
            key: p.number.as_str().as_bytes().to_vec(),
            value: Some(codec::encode(p)),
        })
        .collect();
    // Schema 8's index by number, and two holders inside.
    ops.extend(["M-1", "M-2"].map(|n| entry("gatepasses_returnable", n.as_bytes())));
    ops.extend(["V-1", "V-2"].map(|n| entry(INSIDE, n.as_bytes())));

    let store = schema::migrated(dir.path(), 8, ops);
    let keys = |tree: &str| store.index_keys(tree, b"").unwrap();
    assert_eq!(
        keys(RETURNABLE),
        vec![due_key(due(1), b"M-2"), due_key(due(3), b"M-1")],
        "by due day, earliest first"
    );
    assert!(
        keys("gatepasses_returnable").is_empty(),
        "the old index is emptied"
    );
    assert_eq!(counters::get(&store, INSIDE_COUNTER).unwrap(), 2);
    assert!(schema::check(&store).unwrap().ok());
}
