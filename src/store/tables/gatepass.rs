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

/// `text` index (gram ‖ pass number) of each pass's lower-case number and of its `haystack`
/// texts lower-cased with whitespace removed (`Content::matches` compares them squeezed, so
/// `KT 8123` finds `KT8123`): a search reads the passes holding the needle's grams.
pub const BY_TEXT: &str = "gatepasses_by_text";

/// Lower-case, whitespace removed: how `Content::matches` compares.
pub fn squeeze(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A pass's keys in `BY_TEXT`.
pub fn text_entries(p: &Gatepass) -> std::collections::BTreeSet<Vec<u8>> {
    let mut fields: Vec<String> = p.content.haystack().into_iter().map(squeeze).collect();
    fields.push(p.number.as_str().to_lowercase());
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    super::text::entries_as_is(&fields, p.number.as_str().as_bytes())
}

/// Schema 6: the text index for existing passes.
pub fn build_text_index(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut out = super::rebuild::Rebuild::new(store);
    for r in store.scan_iter::<Gatepass>(b"")? {
        let (_, p) = r?;
        for k in text_entries(&p) {
            out.index(BY_TEXT, k)?;
        }
    }
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
        crate::index_table!(BY_TEXT),
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
