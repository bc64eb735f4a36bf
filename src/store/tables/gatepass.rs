//! Trees of the gatepass area (records are defined in src/domain, keys chosen by src/service).

use serde::{Deserialize, Serialize};

use super::TableInfo;
use crate::domain::gatepass::{DayClosing, Gatepass, Returns};
use crate::store::Record;

/// Pass number → pass.
impl Record for Gatepass {
    const TREE: &'static str = "gatepasses";
}
/// Pass number → material come back (kept apart: returns arrive after the day is closed).
impl Record for Returns {
    const TREE: &'static str = "gatepass_returns";
}
/// Site day `YYYY-MM-DD` → its closing.
impl Record for DayClosing {
    const TREE: &'static str = "gatepass_closings";
}

/// Site day `YYYYMMDD` → last pass sequence number the server allocated that day.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct GatepassSeq(pub u32);
impl Record for GatepassSeq {
    const TREE: &'static str = "gatepass_seq";
}

/// Site day `YYYYMMDD` ‖ 0 ‖ pass number: a day's passes, days in order.
pub const BY_DAY: &str = "gatepasses_by_day";
/// Pass number of every pass whose holder is inside now.
pub const INSIDE: &str = "gatepasses_inside";
/// Pass number of every returnable material pass not yet all back.
pub const RETURNABLE: &str = "gatepasses_returnable";

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Gatepass),
        crate::table!(Returns),
        crate::table!(DayClosing),
        crate::table!(GatepassSeq),
        crate::index_table!(BY_DAY),
        crate::index_table!(INSIDE),
        crate::index_table!(RETURNABLE),
    ]
}

/// Replicated upstream (store::outbox): every pass step, returns and day closings.
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::render_key;
    vec![
        crate::replicated!(Gatepass, "gatepass", render_key),
        crate::replicated!(Returns, "gatepass_returns", render_key),
        crate::replicated!(DayClosing, "gatepass_closing", render_key),
    ]
}
