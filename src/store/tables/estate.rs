//! Trees of the estate area (records are defined in src/domain/estate, keys chosen by
//! src/service/estate). Key parts are joined by `store::key` (0x00 separators; codes never
//! contain 0x00, `domain::estate::valid_code`).

use serde::{Deserialize, Serialize};

use super::TableInfo;
use crate::domain::estate::faces::{FaceChange, FaceRecord};
use crate::domain::estate::labour::{EstateTask, Firm, Gang, Labourer};
use crate::domain::estate::muster::{MusterLine, MusterSlip};
use crate::store::Record;

/// firm id → Firm.
impl Record for Firm {
    const TREE: &'static str = "estate_firms";
}
/// gang id → Gang.
impl Record for Gang {
    const TREE: &'static str = "estate_gangs";
}
/// lcode → Labourer.
impl Record for Labourer {
    const TREE: &'static str = "estate_labourers";
}
/// firm ‖ TaskID → EstateTask.
impl Record for EstateTask {
    const TREE: &'static str = "estate_tasks";
}
/// task date (yyyy-MM-dd) ‖ firm ‖ TaskID ‖ lcode → MusterLine: one line per labourer and
/// task-day, and date-ordered for exports and today's counts.
impl Record for MusterLine {
    const TREE: &'static str = "estate_muster_lines";
}
/// task date ‖ firm ‖ TaskID ‖ imei ‖ DiarySlipNo → MusterSlip.
impl Record for MusterSlip {
    const TREE: &'static str = "estate_muster_slips";
}
/// lcode → FaceRecord.
impl Record for FaceRecord {
    const TREE: &'static str = "estate_faces";
}
/// firm ‖ version (u64 BE) → FaceChange: each firm's face change log.
impl Record for FaceChange {
    const TREE: &'static str = "estate_face_changes";
}

/// imei ‖ firm ‖ TaskID ‖ lineID → where the line is stored and its fingerprint: what makes a
/// retried line a replay (same fingerprint) or a reused id (different one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineIdRecord {
    pub line_key: Vec<u8>,
    pub fingerprint: [u8; 32],
}
impl Record for LineIdRecord {
    const TREE: &'static str = "estate_muster_line_ids";
}

/// firm → the latest face version of its face file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmFaceVersion(pub u64);
impl Record for FirmFaceVersion {
    const TREE: &'static str = "estate_face_versions";
}

/// Single-value facts of the estate area (e.g. when the last muster arrived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstateFact(pub i64);
impl Record for EstateFact {
    const TREE: &'static str = "estate_facts";
}

/// date ‖ firm ‖ TaskID: the tasks of a day.
pub const TASKS_BY_DAY: &str = "estate_tasks_by_day";
/// displaycode ‖ lcode: `Labor Details` looks labourers up by display code.
pub const LABOURERS_BY_DISPLAY: &str = "estate_labourers_by_display";

/// Counters (store::counters) of the labour roll, the registered faces and the firms.
pub const COUNT_LABOURERS: &str = "estate.labourers";
pub const COUNT_FACES: &str = "estate.faces";
pub const COUNT_FIRMS: &str = "estate.firms";

/// A counter of the muster of one task date `yyyy-MM-dd` (schema 8): `lines`, `slips`, and
/// `net_g` (the lines' net weight in grams). The dashboard and the console's estate summary
/// read these instead of the day's lines.
pub fn muster_counter(day: &str, what: &str) -> String {
    format!("estate.muster.{day}.{what}")
}

/// The task date a muster line's or slip's key begins with.
fn day_of_key(k: &[u8]) -> String {
    String::from_utf8_lossy(k.split(|b| *b == 0).next().unwrap_or_default()).into_owned()
}

/// Schema 7 → 8: the muster counters of every task date already stored.
pub fn build_muster_counts(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for r in store.scan_iter::<MusterLine>(b"")? {
        let (k, line) = r?;
        let day = day_of_key(&k);
        *counts.entry(muster_counter(&day, "lines")).or_default() += 1;
        *counts.entry(muster_counter(&day, "net_g")).or_default() += line.net_g.max(0) as u64;
    }
    for r in store.engine().scan(MusterSlip::TREE, b"")? {
        let (k, _) = r?;
        *counts
            .entry(muster_counter(&day_of_key(&k), "slips"))
            .or_default() += 1;
    }
    let mut out = super::rebuild::Rebuild::new(store);
    out.counters(counts)?;
    out.finish()
}

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Firm),
        crate::table!(Gang),
        crate::table!(Labourer),
        crate::table!(EstateTask),
        crate::table!(MusterLine),
        crate::table!(MusterSlip),
        crate::table!(FaceRecord),
        crate::table!(FaceChange),
        crate::table!(LineIdRecord),
        crate::table!(FirmFaceVersion),
        crate::table!(EstateFact),
        crate::index_table!(TASKS_BY_DAY),
        crate::index_table!(LABOURERS_BY_DISPLAY),
    ]
}

/// Replicated upstream (store::outbox): labour roll, muster, faces and the estate's tasks.
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::render_key;
    vec![
        crate::replicated!(Labourer, "labourer", render_key),
        crate::replicated!(MusterLine, "muster_line", render_key),
        crate::replicated!(MusterSlip, "muster_slip", render_key),
        crate::replicated!(FaceRecord, "face", render_key),
        crate::replicated!(EstateTask, "estate_task", render_key),
        crate::replicated!(Gang, "gang", render_key),
        crate::replicated!(Firm, "firm", render_key),
    ]
}
