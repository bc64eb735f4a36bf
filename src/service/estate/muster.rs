//! Post Muster: a batch of musters, each with up to 10,000 labour lines, stored in parts of
//! `PART_LINES` lines. Every line carries the handheld's own id; a retried line is answered exactly
//! as the first time and changes nothing; a bad line is refused alone, with its reason.

use chrono::{Duration, NaiveDate};

use crate::domain::estate::labour::{EstateTask, Labourer};
use crate::domain::estate::muster::{
    check_weighment, grams, kg, LineFields, Material, MusterLine, MusterSlip, Pest, Refusal,
    Verdict, WeighRules,
};
use crate::domain::estate::{EstateTaskId, FirmId};
use crate::domain::ids::{TokenHash, UserId};
use crate::domain::validate::FieldError;
use crate::store::tables::estate::{muster_counter, EstateFact, LineIdRecord};
use crate::store::{self, Record, Store, Tx};

use super::super::{Result, Services};
use super::labour;

/// Who posts: the handheld (its IMEI scopes line ids) and the signed-in user.
#[derive(Debug, Clone)]
pub struct Device {
    pub imei: String,
    pub user: UserId,
}

pub struct LineIn {
    /// The handheld's id for the line (`lineID`); `None` when it was missing or malformed, in
    /// which case `fields` is the refusal.
    pub line_id: Option<String>,
    pub fields: std::result::Result<LineFields, FieldError>,
}

pub struct MusterIn {
    pub firm: FirmId,
    pub task: EstateTaskId,
    pub diary_slip_no: String,
    pub job_ends: bool,
    pub materials: Vec<Material>,
    pub pests: Vec<Pest>,
    pub lines: Vec<LineIn>,
}

pub struct MusterOut {
    pub verdicts: Vec<Verdict>,
}

impl MusterOut {
    pub fn stored(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Stored { .. }))
            .count()
    }
}

const LAST_MUSTER: &[u8] = b"last_muster_unix";

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn line_key(task: &EstateTask, lcode: &[u8]) -> Vec<u8> {
    store::key(&[
        day(task.date).as_bytes(),
        task.firm.key(),
        task.id.key(),
        lcode,
    ])
}

fn line_id_key(imei: &str, firm: &FirmId, task: &EstateTaskId, line_id: &str) -> Vec<u8> {
    store::key(&[imei.as_bytes(), firm.key(), task.key(), line_id.as_bytes()])
}

/// Lines checked and stored per transaction. A part is atomic and durable on its own (every
/// line is idempotent by its `lineID`, so a batch cut short by a failure or a hang-up is simply
/// retried); small parts bound what one commit holds in memory (staged ops, outbox entries and
/// the engine's dirty pages grow with the transaction) and let other writers in between.
pub const PART_LINES: usize = 500;

/// Stores a batch part by part (each part committed, and durable, before the next is staged)
/// and answers per line, exactly as one transaction would: a line's checks and its write are
/// in the same part, under the writer lock.
pub async fn post(svc: &Services, device: &Device, musters: &[MusterIn]) -> Result<Vec<MusterOut>> {
    let now = svc.now_unix();
    let mut out = Vec::with_capacity(musters.len());
    for m in musters {
        let mut tx = svc.store.begin().await;
        let Some(task) = labour::task(&tx, &m.firm, &m.task)? else {
            let r = Refusal::UnknownTask {
                firm: m.firm.clone(),
                task: m.task.clone(),
            };
            out.push(MusterOut {
                verdicts: m
                    .lines
                    .iter()
                    .map(|_| Verdict::Refused(r.clone()))
                    .collect(),
            });
            continue;
        };
        let mut verdicts = Vec::with_capacity(m.lines.len());
        let mut any_stored = false;
        let mut parts = m.lines.chunks(PART_LINES).peekable();
        while let Some(part) = parts.next() {
            // Checking a part reads the store under the writer lock: off the async workers.
            let vs = tokio::task::block_in_place(|| {
                stage_part(svc, &mut tx, device, m, &task, part, now)
            })?;
            any_stored |= vs.iter().any(|v| matches!(v, Verdict::Stored { .. }));
            verdicts.extend(vs);
            if parts.peek().is_some() {
                tx.commit().await?;
                tx = svc.store.begin().await;
            }
        }
        // The slip (and the last-muster time) goes with the muster's last part.
        any_stored |= stage_slip(&mut tx, device, m, &task, now)?;
        if any_stored {
            tx.put(LAST_MUSTER, &EstateFact(now));
        }
        tx.commit().await?;
        out.push(MusterOut { verdicts });
    }
    Ok(out)
}

fn stage_part(
    svc: &Services,
    tx: &mut Tx,
    device: &Device,
    m: &MusterIn,
    task: &EstateTask,
    part: &[LineIn],
    now: i64,
) -> Result<Vec<Verdict>> {
    let offset_secs = i64::from(svc.config.site.timezone_offset_minutes) * 60;
    let est = &svc.config.estate;
    let rules = WeighRules {
        harvest_job: task.harvest_job,
        moisture_perc: task.moisture_perc,
        max_gross_g: grams(est.max_gross_weight_kg),
        tolerance_g: grams(est.net_weight_tolerance_kg),
    };
    let mut verdicts = Vec::with_capacity(part.len());
    for line in part {
        let v = match (&line.line_id, &line.fields) {
            (_, Err(fe)) => Verdict::Refused(Refusal::Field(fe.clone())),
            (None, Ok(_)) => Verdict::Refused(Refusal::Field(FieldError {
                field: "lineID".into(),
                key: "field.required",
                args: vec![("field", "lineID".into())],
            })),
            (Some(id), Ok(f)) => one_line(tx, device, m, task, &rules, id, f, now, offset_secs)?,
        };
        verdicts.push(v);
    }
    Ok(verdicts)
}

/// Stages the muster's slip unless the same one is stored; true when it was staged.
fn stage_slip(
    tx: &mut Tx,
    device: &Device,
    m: &MusterIn,
    task: &EstateTask,
    now: i64,
) -> Result<bool> {
    let slip = MusterSlip {
        firm: task.firm.clone(),
        task: task.id.clone(),
        task_date: task.date,
        diary_slip_no: m.diary_slip_no.clone(),
        job_ends: m.job_ends,
        materials: m.materials.clone(),
        pests: m.pests.clone(),
        imei: device.imei.clone(),
        user: device.user,
        received_unix: now,
    };
    let slip_key = store::key(&[
        day(task.date).as_bytes(),
        task.firm.key(),
        task.id.key(),
        device.imei.as_bytes(),
        m.diary_slip_no.as_bytes(),
    ]);
    let old = tx.get::<MusterSlip>(&slip_key)?;
    let unchanged = old.as_ref().is_some_and(|old| old.same_content(&slip));
    if old.is_none() {
        store::counters::add(tx, &muster_counter(&day(task.date), "slips"), 1)?;
    }
    if !unchanged {
        tx.put(&slip_key, &slip);
    }
    Ok(!unchanged)
}

#[allow(clippy::too_many_arguments)]
fn one_line(
    tx: &mut Tx,
    device: &Device,
    m: &MusterIn,
    task: &EstateTask,
    rules: &WeighRules,
    line_id: &str,
    f: &LineFields,
    now: i64,
    offset_secs: i64,
) -> Result<Verdict> {
    let fingerprint = TokenHash::of(f.canonical().as_bytes()).0;
    let id_key = line_id_key(&device.imei, &task.firm, &task.id, line_id);
    if let Some(seen) = tx.get::<LineIdRecord>(&id_key)? {
        if seen.fingerprint != fingerprint {
            return Ok(Verdict::Refused(Refusal::LineIdReused(line_id.to_string())));
        }
        if let Some(stored) = tx.get::<MusterLine>(&seen.line_key)? {
            return Ok(Verdict::Stored {
                net_g: stored.net_g,
            });
        }
    }
    let Some(lab) = tx.get::<Labourer>(f.lcode.key())? else {
        return Ok(Verdict::Refused(Refusal::UnknownLabourer(f.lcode.clone())));
    };
    if !lab.active {
        return Ok(Verdict::Refused(Refusal::InactiveLabourer(f.lcode.clone())));
    }
    if lab.muster_firm != task.firm {
        return Ok(Verdict::Refused(Refusal::OtherFirm {
            labour_firm: lab.muster_firm.clone(),
            task_firm: task.firm.clone(),
        }));
    }
    let key = line_key(task, f.lcode.key());
    if let Some(other) = tx.get::<MusterLine>(&key)? {
        return Ok(Verdict::Refused(Refusal::TwiceOnTaskDay {
            lcode: f.lcode.clone(),
            other_line: other.line_id,
        }));
    }
    let is_helper = f.is_helper.unwrap_or(lab.is_helper);
    let net_g = match check_weighment(rules, lab.is_supervisor, is_helper, &f.weighment) {
        Ok(n) => n,
        Err(w) => return Ok(Verdict::Refused(Refusal::Weight(w))),
    };
    let line = MusterLine {
        line_id: line_id.to_string(),
        imei: device.imei.clone(),
        user: device.user,
        firm: task.firm.clone(),
        task: task.id.clone(),
        task_date: task.date,
        diary_slip_no: m.diary_slip_no.clone(),
        lcode: f.lcode.clone(),
        gross_g: f.weighment.gross_g,
        bag_g: f.weighment.bag_g,
        net_g,
        is_helper,
        half_day: f.half_day,
        with_muster: f.with_muster,
        at_local: f.at,
        at_unix: f.at.and_utc().timestamp() - offset_secs,
        received_unix: now,
        fingerprint,
    };
    tx.put(&key, &line);
    let d = day(task.date);
    store::counters::add(tx, &muster_counter(&d, "lines"), 1)?;
    store::counters::add(tx, &muster_counter(&d, "net_g"), net_g.max(0))?;
    tx.put(
        &id_key,
        &LineIdRecord {
            line_key: key,
            fingerprint,
        },
    );
    Ok(Verdict::Stored { net_g })
}

/// A task date's muster lines and slips, from their counters (schema 8).
pub fn counts_of_day(store: &Store, date: NaiveDate) -> Result<(usize, usize)> {
    let d = day(date);
    let n = store::counters::get_many(
        store,
        &[muster_counter(&d, "lines"), muster_counter(&d, "slips")],
    )?;
    Ok((n[0] as usize, n[1] as usize))
}

/// A task date's net weight in grams, from its counter (schema 8).
pub fn net_g_of_day(store: &Store, date: NaiveDate) -> Result<i64> {
    Ok(store::counters::get(store, &muster_counter(&day(date), "net_g"))? as i64)
}

pub fn last_muster_unix(store: &Store) -> Result<Option<i64>> {
    Ok(store.get::<EstateFact>(LAST_MUSTER)?.map(|f| f.0))
}

/// Muster lines whose task date is within `from..=to`, in date, firm, task, lcode order.
pub fn lines_between(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<MusterLine>> {
    let end = to + Duration::days(1);
    store
        .engine()
        .range(MusterLine::TREE, day(from).as_bytes(), day(end).as_bytes())?
        .map(|r| {
            let (_, v) = r?;
            Ok(store::codec::decode::<MusterLine>(&v)?)
        })
        .collect()
}

/// The muster export: one row per stored line.
pub fn export_table(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let headers = [
        "Date",
        "firmid",
        "TaskID",
        "Job",
        "DiarySlipNo",
        "lineID",
        "lcode",
        "name",
        "displaycode",
        "isHelper",
        "HalfDay",
        "withMuster",
        "grossWeight",
        "BagWeight",
        "netWeight",
        "DateTime",
        "imei",
        "received_utc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    let mut tasks: std::collections::HashMap<Vec<u8>, Option<EstateTask>> = Default::default();
    for l in lines_between(store, from, to)? {
        let tk = labour::task_key(&l.firm, &l.task);
        let task = match tasks.get(&tk) {
            Some(t) => t.clone(),
            None => {
                let t = store.get::<EstateTask>(&tk)?;
                tasks.insert(tk, t.clone());
                t
            }
        };
        let lab = store.get::<Labourer>(l.lcode.key())?;
        let tf = |b: bool| crate::domain::estate::tf(b).to_string();
        rows.push(vec![
            day(l.task_date),
            l.firm.0.clone(),
            l.task.0.clone(),
            task.map(|t| t.job).unwrap_or_default(),
            l.diary_slip_no.clone(),
            l.line_id.clone(),
            l.lcode.0.clone(),
            lab.as_ref().map(|x| x.name.clone()).unwrap_or_default(),
            lab.map(|x| x.display_code).unwrap_or_default(),
            tf(l.is_helper),
            tf(l.half_day),
            tf(l.with_muster),
            format!("{:.3}", kg(l.gross_g)),
            format!("{:.3}", kg(l.bag_g)),
            format!("{:.3}", kg(l.net_g)),
            l.at_local
                .format(crate::domain::estate::muster::LINE_TIME_FORMAT)
                .to_string(),
            l.imei.clone(),
            chrono::DateTime::from_timestamp(l.received_unix, 0)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
        ]);
    }
    Ok((headers, rows))
}
