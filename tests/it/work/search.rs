//! `q` of Get Task List reads through the text index (issue 15): it must find exactly what a
//! walk of every task finds (case-insensitive substring of the title or the description): the
//! same items, in the same order, with the same total, after creates, updates and deletes;
//! and it must read about as many records with hundreds of tasks as with a few.

use super::*;

/// Percent-encodes every byte but ASCII letters and digits.
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

/// Every task of the list filtered by `extra` (no `q`), in list order: (id, title, description).
fn walk(da: &DaSession, extra: &str) -> Vec<(u64, String, String)> {
    let mut out = Vec::new();
    for page in 1.. {
        let d = ok(
            &da.call(
                "GET",
                &format!("/tasks?per_page=100&page={page}{extra}"),
                None,
            ),
            200,
        );
        let items = d["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        for t in items {
            out.push((
                t["task_id"].as_u64().unwrap(),
                t["title"].as_str().unwrap().to_string(),
                t["description"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

/// What the rule says `q` finds among `tasks`: lower-case title or description contains it.
fn expected(tasks: &[(u64, String, String)], q: &str) -> Vec<u64> {
    let q = q.to_lowercase();
    tasks
        .iter()
        .filter(|(_, t, d)| t.to_lowercase().contains(&q) || d.to_lowercase().contains(&q))
        .map(|(id, _, _)| *id)
        .collect()
}

fn ids(d: &Value) -> Vec<u64> {
    d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_u64().unwrap())
        .collect()
}

/// Each query's items, order and total (whole list and a middle page) against the walk.
fn check(da: &DaSession, queries: &[&str], extra: &str) {
    let tasks = walk(da, extra);
    for q in queries {
        let want = expected(&tasks, q);
        let path = format!("/tasks?per_page=100&q={}{extra}", enc(q));
        let d = ok(&da.call("GET", &path, None), 200);
        assert_eq!(ids(&d), want, "q={q:?} {extra}: {d}");
        assert_eq!(d["total"], want.len(), "q={q:?} {extra}: {d}");
        let path = format!("/tasks?per_page=2&page=2&q={}{extra}", enc(q));
        let d = ok(&da.call("GET", &path, None), 200);
        let page: Vec<u64> = want.iter().skip(2).take(2).copied().collect();
        assert_eq!(ids(&d), page, "page 2 of q={q:?} {extra}: {d}");
        assert_eq!(d["total"], want.len(), "page 2 of q={q:?} {extra}: {d}");
    }
}

fn create(da: &DaSession, body: Value) -> u64 {
    ok(&da.call("POST", "/tasks", Some(&body)), 201)["task_id"]
        .as_u64()
        .unwrap()
}

const QUERIES: &[&str] = &[
    "b",
    "B",
    "ç",
    "Ç",
    "ab",
    "bc",
    "ence",
    "FENCE",
    "fence",
    "தமி",
    "ழ் நா",
    "abcabc",
    "ok ç-1",
    "panen blok",
    "i̇",
    "İzmir",
    "zz",
    "x",
    "a query longer than any title or description in this store",
];

#[test]
fn q_finds_what_a_walk_finds_through_creates_updates_and_deletes() {
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "siti-pass-1", "manager");
    let me = ok(&da.call("GET", "/user/profile", None), 200)["user_id"].clone();
    let prune = create(
        &da,
        json!({"title": "Prune Block B", "date": "2026-03-02", "category": "maintenance"}),
    );
    create(
        &da,
        json!({"title": "PANEN blok Ç-12", "description": "Cek pohon sawit", "date": "2026-03-05", "assignee_id": me}),
    );
    create(
        &da,
        json!({"title": "Spray ça", "description": "Tamil: தமிழ் நாடு", "date": "2026-03-05", "category": "spraying"}),
    );
    let fence = create(
        &da,
        json!({"title": "Fence repair", "description": "old FENCE near gate", "date": "2026-03-01", "assignee_id": me}),
    );
    create(&da, json!({"title": "x", "date": "2026-03-03"}));
    create(&da, json!({"title": "Şeker İzmir", "date": "2026-03-03"}));
    // Both trigrams of "abcabc" are here, but not the query: a candidate the check drops.
    create(&da, json!({"title": "abcXabc", "date": "2026-03-04"}));
    // "bc" spans the end of the title and the start of the description: no match.
    let split = create(
        &da,
        json!({"title": "end ab", "description": "cd start", "date": "2026-03-04", "assignee_id": me}),
    );
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{split}"),
            Some(&json!({"status": "in_progress"})),
        ),
        200,
    );
    check(&da, QUERIES, "");
    check(&da, &["b", "ab", "fence", "c"], "&status=open");
    check(&da, &["b", "e", "abcabc", "blok"], "&assignee_id=me");
    check(
        &da,
        &["a", "ç", "repair"],
        "&date_from=2026-03-02&date_to=2026-03-04",
    );
    check(&da, &["a", "ça", "spray"], "&category=spraying");
    check(
        &da,
        &["e", "fence"],
        "&assignee_id=me&status=open&date_to=2026-03-04",
    );

    // An update re-indexes only what it changed; a moved work day moves the task in the list.
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{prune}"),
            Some(&json!({"title": "Weed block A", "date": "2026-03-06"})),
        ),
        200,
    );
    ok(
        &da.call(
            "PUT",
            &format!("/tasks/{fence}"),
            Some(&json!({"description": "by the gate"})),
        ),
        200,
    );
    let d = ok(&da.call("GET", "/tasks?q=prune", None), 200);
    assert_eq!((d["total"].clone(), ids(&d)), (json!(0), vec![]), "{d}");
    let d = ok(&da.call("GET", "/tasks?q=WEED", None), 200);
    assert_eq!(ids(&d), vec![prune], "{d}");
    check(&da, QUERIES, "");
    check(&da, &["weed", "e"], "&date_from=2026-03-06");

    ok(&da.call("DELETE", &format!("/tasks/{fence}"), None), 200);
    let d = ok(&da.call("GET", "/tasks?q=fence", None), 200);
    assert_eq!((d["total"].clone(), ids(&d)), (json!(0), vec![]), "{d}");
    check(&da, QUERIES, "");
}

/// Records read by the server so far.
fn records_read(s: &Server) -> u64 {
    get(&s.url("/metrics"), &[])
        .text
        .lines()
        .find_map(|l| l.strip_prefix("gatehouse_store_records_read_total "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Records one call reads: the least of three tries, less what a /metrics scrape reads.
fn cost(s: &Server, mut call: impl FnMut()) -> u64 {
    let least = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let before = records_read(s);
                f();
                records_read(s) - before
            })
            .min()
            .unwrap()
    };
    let scrape = least(&mut || {});
    least(&mut call).saturating_sub(scrape)
}

#[test]
fn q_reads_the_matches_not_every_task() {
    let s = Server::start();
    let da = DaSession::open(&s, "siti", "siti-pass-1", "manager");
    let fence = create(&da, json!({"title": "Old fence", "description": "Pagar"}));
    let calls = [
        "/tasks?per_page=5&q=fence",
        "/tasks?per_page=5&q=OLD%20FENCE",
        "/tasks?per_page=5&q=pa",
        "/tasks?per_page=5&q=f&status=open",
        "/tasks?per_page=5&q=nothing%20like%20it",
    ];
    let costs = || -> Vec<u64> {
        calls
            .iter()
            .map(|p| cost(&s, || drop(ok(&da.call("GET", p, None), 200))))
            .collect()
    };
    let before = costs();
    for i in 0..200 {
        create(
            &da,
            json!({"title": format!("Drain {i}"), "description": "Saluran"}),
        );
    }
    let after = costs();
    eprintln!("records read per call {calls:?}: {before:?} at 1 task, {after:?} at 201");
    for (p, (b, a)) in calls.iter().zip(before.iter().zip(after.iter())) {
        assert!(*a <= b + 10, "{p} read {a} records at 201 tasks, {b} at 1");
    }
    for p in &calls[..4] {
        let d = ok(&da.call("GET", p, None), 200);
        assert_eq!(
            (d["total"].clone(), ids(&d)),
            (json!(1), vec![fence]),
            "{p}: {d}"
        );
    }
    let d = ok(&da.call("GET", "/tasks?per_page=5&q=drain%201", None), 200);
    assert_eq!(d["total"], 111, "Drain 1, 1x, 1xx: {d}");
}
