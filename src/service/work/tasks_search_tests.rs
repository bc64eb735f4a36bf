//! `q` through the text index (`tables::text`) on a store written before it existed.

use super::*;
use crate::domain::work::tasks::list_order;
use crate::store::{codec, schema, Op, Record, StoreOptions};

fn task(id: u64, day: u32, title: &str, description: &str) -> Task {
    Task {
        id: TaskId(id),
        title: title.into(),
        description: description.into(),
        category: TaskCategory::Other,
        priority: Priority::Normal,
        status: TaskStatus::Open,
        date: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
        due_date: None,
        business: None,
        project: None,
        assignee: None,
        created_by: UserId(1),
        created_unix: 0,
        updated_unix: 0,
        completed_unix: None,
        completed_by: None,
        sessions: Vec::new(),
        latitude: None,
        longitude: None,
    }
}

#[tokio::test]
async fn a_schema_5_store_finds_its_tasks_by_q() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let mut tx = store.begin().await;
        for t in [
            task(1, 2, "Abc déf", ""),
            task(2, 5, "Çabuk", "bcde and more"),
            task(3, 5, "xyz", "ABCD"),
            task(4, 1, "tamil தமிழ்", "b"),
        ] {
            put(&mut tx, None, &t).unwrap();
        }
        tx.commit().await.unwrap();
        // What a schema 5 binary left: every index but the text one.
        let mut ops: Vec<Op> = store
            .engine()
            .scan(TASKS_BY_TEXT, b"")
            .unwrap()
            .map(|r| Op {
                tree: TASKS_BY_TEXT.into(),
                key: r.unwrap().0,
                value: None,
            })
            .collect();
        assert!(!ops.is_empty());
        let mut meta = schema::current(&store).unwrap().unwrap();
        meta.version = 5;
        ops.push(Op {
            tree: schema::SchemaMeta::TREE.into(),
            key: b"schema".to_vec(),
            value: Some(codec::encode(&meta)),
        });
        store.apply(&ops).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        schema::current(&store).unwrap().unwrap().version,
        schema::SCHEMA_VERSION
    );
    let mut found = 0;
    for q in ["a", "B", "ça", "abc", "bcde", "ழ்", "ABCD", "zz", "abc déf!"] {
        let f = TaskFilter {
            q: Some(q.into()),
            ..Default::default()
        };
        let (page, total) = page_of(
            &store,
            &f,
            Paging {
                page: 1,
                per_page: 100,
            },
        )
        .unwrap();
        let mut want: Vec<Task> = store
            .scan::<Task>(b"")
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| f.matches(t))
            .collect();
        want.sort_by(list_order);
        let ids = |v: &[Task]| v.iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(&page), ids(&want), "q={q:?}");
        assert_eq!(total, want.len(), "q={q:?}");
        found += total;
    }
    assert!(found >= 10, "the queries find tasks: {found}");
    assert!(schema::check(&store).unwrap().ok());
}
