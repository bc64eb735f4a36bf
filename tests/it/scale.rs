//! Black-box tests: scale (issue 15). Shared heavy answers are served fresh after every write
//! and concurrently identical; lists page through their indexes.

use serde_json::{json, Value};

use crate::harness::*;

const IMEI: &str = "352099001761481";

#[test]
fn get_labor_is_shared_yet_follows_every_write() {
    let s = Server::start_with(&["--demo"], &[]);
    let key = codelayer_session(&s, "kangani1", "secret-pass-1", IMEI);
    let url = s.url("/codelayer/estate/sync/labors");
    let body = json!({ "key": key });
    // Many handhelds at once: every one gets the same, whole answer.
    let answers: Vec<String> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..12)
            .map(|_| sc.spawn(|| post_json(&url, &[], &body).text.clone()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    let first: Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(first["e"], 200, "{first}");
    assert_eq!(first["Labor"].as_array().unwrap().len(), 200);
    let r = first["Labor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["lcode"] == "R11003")
        .unwrap();
    assert!(r["isHelper"] == "T" || r["isHelper"] == "F", "{r}");

    // A write to the labour list is in the very next answer (no stale shared copy).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("labour.csv");
    std::fs::write(
        &csv,
        "lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode,active\n\
         Z00001,Baru Satu,Ayah,F,1,T,R,MNJ-Z1,T\nR11003,Gone,Ayah,F,1,F,R,MNJ-R3,F\n",
    )
    .unwrap();
    let out = s.cli_json(&["import", "labour", csv.to_str().unwrap()]);
    assert_eq!(out["inserted"], 1, "{out}");
    let after = codelayer(&s, "estate/sync/labors", &body);
    let list = after["Labor"].as_array().unwrap();
    assert_eq!(list.len(), 200, "one added, one deactivated");
    let z = list.iter().find(|x| x["lcode"] == "Z00001").unwrap();
    assert_eq!(z["name"], "Baru Satu");
    assert_eq!(z["isHelper"], "T");
    assert_eq!(z["musterfirmid"], "1");
    assert!(list.iter().all(|x| x["lcode"] != "R11003"));
}

fn data(a: &Answer, want: u16) -> Value {
    assert_eq!(a.status, want, "{}", a.text);
    a.json()["data"].clone()
}

#[test]
fn task_list_pages_through_its_index_with_counted_totals() {
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "siti-pass-1", "manager");
    let mut ids = Vec::new();
    // Saved out of date order: the list must still be newest day first, then newest task.
    for (i, day) in [
        "2026-03-02",
        "2026-03-05",
        "2026-03-01",
        "2026-03-05",
        "2026-03-03",
    ]
    .iter()
    .enumerate()
    {
        let t = data(
            &da.call(
                "POST",
                "/tasks",
                Some(&json!({"title": format!("Task {i}"), "date": day})),
            ),
            201,
        );
        ids.push(t["task_id"].as_u64().unwrap());
    }
    let want = vec![ids[3], ids[1], ids[4], ids[0], ids[2]];
    let page = |q: &str| data(&da.call("GET", &format!("/tasks{q}"), None), 200);
    let got = |v: &Value| -> Vec<u64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_id"].as_u64().unwrap())
            .collect()
    };
    let all = page("?per_page=100");
    assert_eq!(all["total"], 5, "{all}");
    assert_eq!(got(&all), want);
    let p2 = page("?per_page=2&page=2");
    assert_eq!(got(&p2), want[2..4].to_vec());
    assert_eq!(p2["total"], 5);
    assert_eq!(p2["total_pages"], 3);
    assert_eq!(got(&page("?per_page=2&page=3")), want[4..].to_vec());
    assert!(got(&page("?per_page=2&page=4")).is_empty());
    // Days bound the walk of the index; the total counts only the matches.
    let days = page("?date_from=2026-03-02&date_to=2026-03-03");
    assert_eq!(days["total"], 2, "{days}");
    assert_eq!(got(&days), vec![ids[4], ids[0]]);

    // Status changes move the status counters; a delete leaves both the list and its total.
    data(
        &da.call(
            "PUT",
            &format!("/tasks/{}", ids[1]),
            Some(&json!({"status": "in_progress"})),
        ),
        200,
    );
    let open = page("?status=open");
    assert_eq!(open["total"], 4, "{open}");
    assert!(!got(&open).contains(&ids[1]));
    assert_eq!(page("?status=in_progress")["total"], 1);
    let a = da.call("DELETE", &format!("/tasks/{}", ids[3]), None);
    assert!(a.status == 200 || a.status == 204, "{}", a.text);
    let after = page("?per_page=100");
    assert_eq!(after["total"], 4);
    assert_eq!(got(&after), vec![ids[1], ids[4], ids[0], ids[2]]);
    assert_eq!(page("?status=open")["total"], 3);
}
