//! Trees of the store itself.

use super::TableInfo;
use crate::store::{idempotency::IdempotencyRecord, schema::SchemaMeta};

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(SchemaMeta),
        crate::table!(IdempotencyRecord),
        crate::table!(crate::store::backup::BackupLog),
        crate::table!(crate::domain::appliance::FirstRunNotice),
        crate::table!(crate::store::counters::Counter),
    ]
}

impl crate::store::Record for crate::domain::appliance::FirstRunNotice {
    const TREE: &'static str = "first_run";
}
