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

pub fn tables() -> Vec<TableInfo> {
    vec![crate::table!(LicenceDelivery)]
}
