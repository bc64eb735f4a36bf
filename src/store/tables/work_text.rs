//! Trees of the tasks' text index (`service::work::text`): which tasks wait to be indexed, the
//! postings of each trigram in list order, and what each task was last indexed under.

use serde::{Deserialize, Serialize};

use super::rebuild::Rebuild;
use super::TableInfo;
use crate::domain::text::Gram;
use crate::domain::work::tasks::Task;
use crate::store::{Record, Result, Store};

/// task id (BE): a task saved or deleted since it was last indexed. Written in the task's
/// own commit (one key), so a search never misses a change the indexer has not reached.
pub const TASKS_TEXT_PENDING: &str = "work_tasks_text_pending";

/// trigram (12 bytes) ‖ the task's `order_key` (12 bytes): each trigram's tasks in list order.
pub const TASKS_BY_TEXT: &str = "work_tasks_by_text";

/// What a task is indexed under, so the next change removes exactly those postings.
/// Key: task id (BE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskText {
    /// The `order_key` the postings were written with.
    pub order: Vec<u8>,
    /// The trigrams, 12 bytes each, concatenated.
    pub grams: Vec<u8>,
}

impl Record for TaskText {
    const TREE: &'static str = "work_tasks_text";
}

impl TaskText {
    pub fn grams(&self) -> impl Iterator<Item = Gram> + '_ {
        self.grams
            .chunks_exact(12)
            .map(|c| c.try_into().expect("12 bytes"))
    }
}

/// A posting's key.
pub fn posting(g: &Gram, order: &[u8]) -> Vec<u8> {
    [g.as_slice(), order].concat()
}

/// Schema 7 → 8: every task waits to be indexed; the server's indexer works through them in
/// the background (a search meanwhile reads as before, see `service::work::text`).
pub fn mark_tasks_for_text(store: &Store) -> Result<()> {
    let mut b = Rebuild::new(store);
    for r in store.engine().scan(Task::TREE, b"")? {
        let (k, _) = r?;
        b.index(TASKS_TEXT_PENDING, k)?;
    }
    b.finish()
}

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(TaskText),
        crate::index_table!(TASKS_TEXT_PENDING),
        crate::index_table!(TASKS_BY_TEXT),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::work::tasks::TaskId;
    use crate::store::{schema, Op, StoreOptions};

    #[test]
    fn a_schema_7_store_marks_every_task_for_the_indexer() {
        let dir = tempfile::tempdir().unwrap();
        let ops = (1..=3u64)
            .map(|id| Op {
                tree: Task::TREE.into(),
                key: TaskId(id).key().to_vec(),
                // The step reads keys only.
                value: Some(b"not read".to_vec()),
            })
            .collect();
        schema::write_at_version(dir.path(), 7, ops);
        let store = Store::open(
            dir.path(),
            StoreOptions {
                cache_bytes: 8 << 20,
            },
        )
        .unwrap();
        assert_eq!(schema::current(&store).unwrap().unwrap().version, 8);
        let pending: Vec<Vec<u8>> = store.index_keys(TASKS_TEXT_PENDING, b"").unwrap();
        let want: Vec<Vec<u8>> = (1..=3u64).map(|id| TaskId(id).key().to_vec()).collect();
        assert_eq!(pending, want);
        assert_eq!(store.engine().scan(TASKS_BY_TEXT, b"").unwrap().count(), 0);
    }
}
