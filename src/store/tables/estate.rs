//! Trees of the estate area (records are defined in src/domain, keys chosen by src/service).

use super::TableInfo;

pub fn tables() -> Vec<TableInfo> {
    vec![]
}
