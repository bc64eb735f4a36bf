//! Identity trees: users (+ username index), client systems, tokens (+ per-user index), counters.

use serde::{Deserialize, Serialize};

use super::TableInfo;
use crate::domain::devices::CodelayerSession;
use crate::domain::identity::{ClientApp, TokenRecord, User};
use crate::store::Record;

impl Record for User {
    const TREE: &'static str = "users";
}
impl Record for ClientApp {
    const TREE: &'static str = "clients";
}
impl Record for TokenRecord {
    const TREE: &'static str = "tokens";
}
impl Record for CodelayerSession {
    const TREE: &'static str = "codelayer_sessions";
}

/// username key ‖ 0 ‖ user id (BE).
pub const USERS_BY_NAME: &str = "users_by_name";
/// user id (BE) ‖ token hash.
pub const TOKENS_BY_USER: &str = "tokens_by_user";

/// Named monotonic counters (ids).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Counter(pub u64);
impl Record for Counter {
    const TREE: &'static str = "counters";
}

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(User),
        crate::table!(ClientApp),
        crate::table!(TokenRecord),
        crate::table!(Counter),
        crate::table!(CodelayerSession),
        crate::index_table!(USERS_BY_NAME),
        crate::index_table!(TOKENS_BY_USER),
    ]
}
