//! Trees that keep one caller from hurting others (issue 11): licence-key deliveries and
//! per-user Forgot Password counts.

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

/// Forgot Password requests of one user in the current window (keyed by user id, BE).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetRequests {
    pub window_start_unix: i64,
    pub count: u32,
}
impl Record for ResetRequests {
    const TREE: &'static str = "reset_requests";
}

pub fn tables() -> Vec<TableInfo> {
    vec![crate::table!(LicenceDelivery), crate::table!(ResetRequests)]
}
