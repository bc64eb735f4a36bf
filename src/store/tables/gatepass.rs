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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gatepass::{parse_content, ContentLimits, PassNumber, Source, Stamp};
    use crate::store::tables::text::{cursors, query_as_is, Intersect};
    use crate::store::{codec, schema, Op, Store, StoreOptions};

    fn pass(seq: u32, vehicle: &str) -> Gatepass {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let v = serde_json::json!({"kind": "vehicle", "vehicle": vehicle, "driver": "Mani",
                                   "purpose": "Leaf"});
        let mut f = crate::domain::validate::Fields::new(v.as_object().unwrap());
        let lim = ContentLimits {
            max_items: 3,
            default_valid_hours: 12,
            max_valid_hours: 72,
            max_image_bytes: 8,
        };
        let stamp = Stamp {
            at_unix: 1000,
            gate: "North".into(),
            guard: "Ravi".into(),
        };
        let content = parse_content(&mut f, lim).unwrap().content;
        Gatepass::new(
            PassNumber::for_day(day, seq),
            day,
            stamp,
            content,
            Source::Desk,
        )
    }

    #[test]
    fn a_schema_5_store_gets_its_passes_text_index() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            let mut ops: Vec<Op> = [pass(1, "KT 8123 AB"), pass(2, "TN 72")]
                .iter()
                .map(|p| Op {
                    tree: Gatepass::TREE.into(),
                    key: p.number.as_str().as_bytes().to_vec(),
                    value: Some(codec::encode(p)),
                })
                .collect();
            let mut meta = schema::current(&store).unwrap().unwrap();
            meta.version = 5;
            ops.push(Op {
                tree: "meta".into(),
                key: b"schema".to_vec(),
                value: Some(codec::encode(&meta)),
            });
            store.apply(&ops).unwrap();
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let find = |needle: &str| -> Vec<String> {
            let q = query_as_is(&squeeze(needle)).unwrap();
            let cursors = cursors(&store, BY_TEXT, q, &[], &[0xff]).unwrap();
            Intersect::new(cursors, Vec::new())
                .map(|k| String::from_utf8(k.unwrap()).unwrap())
                .collect()
        };
        assert_eq!(find("kt8123"), vec!["GP-20261123-0001"], "spacing ignored");
        assert_eq!(find("t"), vec!["GP-20261123-0001", "GP-20261123-0002"]);
        assert_eq!(find("0002"), vec!["GP-20261123-0002"], "by number");
        assert_eq!(find("mani"), vec!["GP-20261123-0001", "GP-20261123-0002"]);
        assert!(find("zz").is_empty());
        assert!(schema::check(&store).unwrap().ok());
    }
}
