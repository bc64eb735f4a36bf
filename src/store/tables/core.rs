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
        TableInfo {
            tree: crate::store::outbox::TREE,
            check: crate::store::outbox::check_value,
        },
        crate::table!(crate::store::outbox::ShipState),
        crate::table!(crate::store::outbox::PullCursor),
    ]
}

impl crate::store::Record for crate::domain::appliance::FirstRunNotice {
    const TREE: &'static str = "first_run";
}
