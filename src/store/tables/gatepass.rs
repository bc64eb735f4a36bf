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
/// Due day `YYYYMMDD` ‖ 0 ‖ pass number of every returnable material pass not yet all back
/// (schema 9): the overdue ones are the range before today, not every open pass.
pub const RETURNABLE: &str = "gatepasses_returnable_by_due";
/// Schema 8's index of the same passes by number only; emptied by schema 9.
const RETURNABLE_BY_NUMBER: &str = "gatepasses_returnable";

/// The count of `INSIDE`'s entries (schema 9), which the dashboard reads instead of counting.
pub const INSIDE_COUNTER: &str = "gatepass.inside";

/// `RETURNABLE`'s key of a pass due back on `due`.
pub fn due_key(due: chrono::NaiveDate, number: &[u8]) -> Vec<u8> {
    crate::store::key(&[due.format("%Y%m%d").to_string().as_bytes(), number])
}

/// The pass number in a `RETURNABLE` key.
pub fn number_of_due_key(k: &[u8]) -> &[u8] {
    k.iter().position(|b| *b == 0).map_or(k, |i| &k[i + 1..])
}

/// The counter of the passes issued on a site day `YYYYMMDD` (schema 8): `BY_DAY`'s entries of
/// that day, which the dashboard reads instead of counting them.
pub fn issued_counter(day_key: &str) -> String {
    format!("gatepass.issued.{day_key}")
}

/// Schema 7 → 8: `issued_counter` of every day with passes (the day index's keys only).
pub fn build_issued_counts(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for r in store.engine().scan(BY_DAY, b"")? {
        let (k, _) = r?;
        let day = k.split(|b| *b == 0).next().unwrap_or_default();
        *counts
            .entry(issued_counter(&String::from_utf8_lossy(day)))
            .or_default() += 1;
    }
    let mut out = super::rebuild::Rebuild::new(store);
    out.counters(counts)?;
    out.finish()
}

/// Schema 8 → 9: the returnable passes keyed by their due day, from the index by number (which
/// is emptied), and the count of holders inside.
pub fn build_due_index(store: &crate::store::Store) -> crate::store::Result<()> {
    // Open passes only (a live set): their numbers are held while the index is rewritten.
    let numbers = store.index_keys(RETURNABLE_BY_NUMBER, b"")?;
    let mut out = super::rebuild::Rebuild::new(store);
    for number in numbers {
        if let Some(due) = store
            .get::<Gatepass>(&number)?
            .and_then(|p| p.content.return_due())
        {
            out.index(RETURNABLE, due_key(due, &number))?;
        }
        out.remove(RETURNABLE_BY_NUMBER, number)?;
    }
    let mut inside = 0u64;
    for r in store.engine().scan(INSIDE, b"")? {
        r?;
        inside += 1;
    }
    out.counters(std::iter::once((INSIDE_COUNTER.to_string(), inside)).collect())?;
    out.finish()
}

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
