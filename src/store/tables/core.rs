//! Trees of the store itself.

use super::TableInfo;
use crate::store::{idempotency::IdempotencyRecord, schema::SchemaMeta};

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(SchemaMeta),
        crate::table!(IdempotencyRecord),
        crate::table!(crate::store::backup::BackupLog),
    ]
}
