//! Trees that keep one caller from hurting others (issue 11): licence-key deliveries.

use serde::{Deserialize, Serialize};

use super::TableInfo;
use crate::store::Record;

/// An approved licence key was handed out (keyed by IMEI). While this exists, `system/license`
/// answers "approved" without the key; staff re-issue it (a new key) from the console or CLI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LicenceDelivery {
    pub delivered_unix: i64,
    /// The address that received it (shown to staff).
    pub peer: String,
}
impl Record for LicenceDelivery {
    const TREE: &'static str = "licence_deliveries";
}

/// Task reports by what they hold: SHA-256 of (format, period, rows) ‖ report id (BE). A Generate
/// Report whose data did not change finds the report already made.
pub const REPORTS_BY_CONTENT: &str = "work_reports_by_content";
/// Task reports by file: blob name ‖ report id (BE), so an evicted report's file is removed
/// only when no other report names it.
pub const REPORTS_BY_FILE: &str = "work_reports_by_file";

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(LicenceDelivery),
        crate::index_table!(REPORTS_BY_CONTENT),
        crate::index_table!(REPORTS_BY_FILE),
    ]
}
