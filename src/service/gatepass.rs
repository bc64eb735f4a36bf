//! Gatepass operations shared by the handheld (Codelayer Gatepass Save / Daily Closing) and the
//! gatehouse desk (admin API): issue, edit before use, in / out / cancel, material returns, the
//! daily closing, and the desk's reads.
//!
//! Idempotency: a pass number is the client's id. Issuing a number again with the same content
//! answers with the pass as it is and changes nothing; with other content it is a conflict.
//! A move the pass already made at the same gate by the same guard changes nothing either.

mod reads;
pub mod slip;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

pub use reads::{
    detail_json, export_table, get, list, row, summary, Row, Summary, View, EXPORT_HEADERS,
};

use crate::domain::gatepass::{
    self as gp, Content, ContentLimits, DayClosing, Gatepass, Move, Outcome, PassNumber, Refusal,
    Repeat, ReturnRefusal, Returned, Returns, Source, Stamp,
};
use crate::domain::time::{local_day, site_offset};
use crate::store::tables::gatepass::{
    due_key, number_of_due_key, GatepassSeq, BY_DAY, INSIDE, INSIDE_COUNTER, RETURNABLE,
};
use crate::store::{self, Store, Tx};

use super::{Result, ServiceError, Services};

pub fn limits(svc: &Services) -> ContentLimits {
    let g = &svc.config.gatepass;
    ContentLimits {
        max_items: g.max_items,
        default_valid_hours: g.default_valid_hours,
        max_valid_hours: g.max_valid_hours,
        max_image_bytes: svc.config.http.max_image_bytes,
    }
}

/// The site's local day now.
pub fn today(svc: &Services) -> NaiveDate {
    local_day(svc.now(), svc.config.site.timezone_offset_minutes)
}

pub fn day_of(svc: &Services, at_unix: i64) -> NaiveDate {
    let at = chrono::DateTime::from_timestamp(at_unix, 0).unwrap_or_default();
    local_day(at, svc.config.site.timezone_offset_minutes)
}

/// `YYYY-MM-DD HH:mm:ss` in site time (how POABS handhelds write times) → Unix seconds.
pub fn parse_local_datetime(svc: &Services, s: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    site_offset(svc.config.site.timezone_offset_minutes)
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp())
}

/// Unix seconds → `YYYY-MM-DD HH:MM:SS` in site time.
pub fn local_time(svc: &Services, at_unix: i64) -> String {
    let at = chrono::DateTime::from_timestamp(at_unix, 0).unwrap_or_default();
    at.with_timezone(&site_offset(svc.config.site.timezone_offset_minutes))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `12:14` for a time today (site day), `2026-11-22 18:05` otherwise.
pub fn short_time(svc: &Services, at_unix: i64) -> String {
    let full = local_time(svc, at_unix);
    if day_of(svc, at_unix) == today(svc) {
        full[11..16].to_string()
    } else {
        full[..16].to_string()
    }
}

pub(crate) fn day_key(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn closing_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn by_day_key(p: &Gatepass) -> Vec<u8> {
    store::key(&[day_key(p.day).as_bytes(), p.number.as_str().as_bytes()])
}

pub fn closing(store: &Store, day: NaiveDate) -> Result<Option<DayClosing>> {
    Ok(store.get::<DayClosing>(closing_key(day).as_bytes())?)
}

fn refuse_if_closed(tx: &Tx, day: NaiveDate) -> Result<()> {
    if tx.get::<DayClosing>(closing_key(day).as_bytes())?.is_some() {
        return Err(ServiceError::Conflict {
            key: "gatepass.day_closed",
            args: vec![("day", closing_key(day))],
        });
    }
    Ok(())
}

fn refused(svc: &Services, r: Refusal) -> ServiceError {
    let (key, args) = r.key();
    // Times in messages are the site's clock, not Unix seconds: "12:14" today, else with the day.
    let args = args
        .into_iter()
        .map(|(k, v)| match v.parse::<i64>() {
            Ok(t) if matches!(k, "since" | "at" | "until") => (k, short_time(svc, t)),
            _ => (k, v),
        })
        .collect();
    ServiceError::Conflict { key, args }
}

fn return_refused(r: ReturnRefusal) -> ServiceError {
    let (key, args) = r.key();
    ServiceError::Conflict { key, args }
}

fn not_found() -> ServiceError {
    ServiceError::NotFound {
        key: "gatepass.not_found",
    }
}

/// A step's time: the handheld's own clock (it may have been offline), never in the future.
fn check_time(svc: &Services, field: &str, at_unix: i64) -> Result<()> {
    if at_unix > svc.now_unix() + svc.config.gatepass.clock_skew_secs {
        return Err(ServiceError::invalid(
            field,
            "gatepass.datetime.future",
            vec![],
        ));
    }
    Ok(())
}

/// Stores a visitor photo (content-addressed) before the pass that names it is written.
pub async fn store_photo(svc: &Services, bytes: Vec<u8>) -> Result<()> {
    let store = svc.store.clone();
    tokio::task::spawn_blocking(move || store.blobs().put(&bytes).map(|_| ()))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    Ok(())
}

pub struct Issue {
    /// The client's number (handheld), or `None` for the next number of the day (desk).
    pub number: Option<PassNumber>,
    pub content: Content,
    /// When it was issued (the handheld's time); `None` = now.
    pub at_unix: Option<i64>,
    pub gate: String,
    pub guard: String,
    pub source: Source,
}

/// Issues a pass. Returns it and whether it was created (false: the same number with the same
/// content was already there, and nothing changed).
pub fn issue(svc: &Services, tx: &mut Tx, mut iss: Issue) -> Result<(Gatepass, bool)> {
    let at = iss.at_unix.unwrap_or_else(|| svc.now_unix());
    resolve_labourer(tx, &mut iss.content)?;
    check_time(svc, "datetime", at)?;
    if let Some(n) = &iss.number {
        if let Some(existing) = tx.get::<Gatepass>(n.as_str().as_bytes())? {
            return if existing.content == iss.content {
                Ok((existing, false))
            } else {
                Err(ServiceError::Conflict {
                    key: "gatepass.number_taken",
                    args: vec![("number", n.to_string())],
                })
            };
        }
    }
    let day = day_of(svc, at);
    refuse_if_closed(tx, day)?;
    let number = match iss.number {
        Some(n) => n,
        None => allocate(tx, day)?,
    };
    let pass = Gatepass::new(
        number,
        day,
        Stamp {
            at_unix: at,
            gate: iss.gate,
            guard: iss.guard,
        },
        iss.content,
        iss.source,
    );
    write(tx, None, &pass, None)?;
    tx.index(BY_DAY, &by_day_key(&pass));
    store::counters::add(
        tx,
        &crate::store::tables::gatepass::issued_counter(&day_key(pass.day)),
        1,
    )?;
    crate::telemetry::audit::record(
        "gatepass_issued",
        pass.number.as_str(),
        &format!(
            "{} by {} at {}",
            pass.kind().as_str(),
            pass.issued.guard,
            pass.issued.gate
        ),
    );
    Ok((pass, true))
}

/// A labour exit pass names a labourer of the estate's roll (`service::estate`); the pass takes
/// the roll's name when the request gave none. A site that keeps no labour roll on the box
/// (none imported) gets the lcode stored as given.
fn resolve_labourer(tx: &Tx, content: &mut Content) -> Result<()> {
    let gp::Subject::LabourExit(l) = &mut content.subject else {
        return Ok(());
    };
    let store = tx.store();
    let code = crate::domain::estate::LabourCode(l.lcode.clone());
    match crate::service::estate::labour::labourer(store, &code)? {
        Some(lab) => {
            if l.name.is_empty() {
                l.name = lab.name;
            }
            Ok(())
        }
        None if store
            .scan_iter::<crate::domain::estate::labour::Labourer>(b"")?
            .next()
            .is_none() =>
        {
            Ok(())
        }
        None => Err(ServiceError::invalid(
            "lcode",
            "gatepass.lcode.unknown",
            vec![],
        )),
    }
}

/// The day's next free number (skipping any a handheld already used).
fn allocate(tx: &mut Tx, day: NaiveDate) -> Result<PassNumber> {
    let k = day_key(day);
    let mut seq = tx
        .get::<GatepassSeq>(k.as_bytes())?
        .map(|s| s.0)
        .unwrap_or(0);
    loop {
        seq += 1;
        let n = PassNumber::for_day(day, seq);
        if tx.get::<Gatepass>(n.as_str().as_bytes())?.is_none() {
            tx.put(k.as_bytes(), &GatepassSeq(seq));
            return Ok(n);
        }
    }
}

/// Writes a pass and keeps the inside / returnable indexes and the inside count in step with
/// it. `before`: the pass as stored, read in this `Tx` (`None` for a new number, which has no
/// index entries: a new pass writes no removals).
fn write(
    tx: &mut Tx,
    before: Option<&Gatepass>,
    pass: &Gatepass,
    returns: Option<&Returns>,
) -> Result<()> {
    let key = pass.number.as_str().as_bytes();
    tx.put(key, pass);
    match (before.is_some_and(Gatepass::is_inside), pass.is_inside()) {
        (false, true) => {
            tx.index(INSIDE, key);
            store::counters::add(tx, INSIDE_COUNTER, 1)?;
        }
        (true, false) => {
            tx.delete_raw(INSIDE, key);
            store::counters::add(tx, INSIDE_COUNTER, -1)?;
        }
        _ => {}
    }
    let empty = Returns::default();
    let returns = returns.unwrap_or(&empty);
    let may_owe = match &pass.stage {
        gp::Stage::Issued | gp::Stage::In { .. } => true,
        gp::Stage::Out { .. } => pass.owes_return(returns),
        _ => false,
    };
    let due = |p: &Gatepass| p.content.return_due().map(|d| due_key(d, key));
    let now = due(pass).filter(|_| may_owe);
    if let Some(old) = before.and_then(due).filter(|old| Some(old) != now.as_ref()) {
        tx.delete_raw(RETURNABLE, &old);
    }
    if let Some(k) = &now {
        tx.index(RETURNABLE, k);
    }
    Ok(())
}

/// Numbers of the open returnable passes due before `day`: the only ones that can be overdue
/// on `day`, read as one key range of the index by due day.
pub(crate) fn due_before(store: &Store, day: NaiveDate) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for r in store
        .engine()
        .range(RETURNABLE, b"", day_key(day).as_bytes())?
    {
        let (k, _) = r?;
        out.push(number_of_due_key(&k).to_vec());
    }
    Ok(out)
}

fn load(tx: &Tx, number: &PassNumber) -> Result<Gatepass> {
    tx.get::<Gatepass>(number.as_str().as_bytes())?
        .ok_or_else(not_found)
}

/// Replaces what a pass says, allowed only before it was used. Returns whether it changed.
pub fn update(
    svc: &Services,
    tx: &mut Tx,
    number: &PassNumber,
    mut content: Content,
) -> Result<(Gatepass, bool)> {
    resolve_labourer(tx, &mut content)?;
    let mut pass = load(tx, number)?;
    if pass.content == content {
        return Ok((pass, false));
    }
    refuse_if_closed(tx, pass.day)?;
    if !pass.can_edit() {
        return Err(ServiceError::Conflict {
            key: "gatepass.not_editable",
            args: vec![("status", pass.status(svc.now_unix()).as_str().into())],
        });
    }
    let before = pass.clone();
    pass = Gatepass::new(pass.number, pass.day, pass.issued, content, pass.source);
    write(tx, Some(&before), &pass, None)?;
    Ok((pass, true))
}

/// In, out or cancel. A repeat of the step the pass last made is refused with what happened and
/// when ("already out since 12:14"), unless `repeat` calls it a retry (then nothing changes).
/// Every family goes through here, so every family refuses alike.
pub fn move_pass(
    svc: &Services,
    tx: &mut Tx,
    number: &PassNumber,
    mv: Move,
    stamp: Stamp,
    repeat: Repeat,
) -> Result<(Gatepass, Outcome)> {
    check_time(svc, "datetime", stamp.at_unix)?;
    let mut pass = load(tx, number)?;
    refuse_if_closed(tx, pass.day)?;
    let who = format!("by {} at {}", stamp.guard, stamp.gate);
    let before = pass.clone();
    let outcome = pass.apply(mv, stamp, repeat).map_err(|r| refused(svc, r))?;
    if outcome == Outcome::Changed {
        let returns = tx.get::<Returns>(number.as_str().as_bytes())?;
        write(tx, Some(&before), &pass, returns.as_ref())?;
        crate::telemetry::audit::record(
            match mv {
                Move::In => "gatepass_in",
                Move::Out => "gatepass_out",
                Move::Cancel => "gatepass_cancelled",
            },
            number.as_str(),
            &who,
        );
    }
    Ok((pass, outcome))
}

/// Material coming back. Allowed after the pass's day was closed: returns are kept beside the
/// pass and the pass itself does not change.
pub fn record_return(
    _svc: &Services,
    tx: &mut Tx,
    number: &PassNumber,
    back: Vec<Returned>,
    at: Stamp,
) -> Result<(Gatepass, Returns)> {
    let pass = load(tx, number)?;
    let Some(material) = pass.content.material().filter(|m| m.return_due.is_some()) else {
        return Err(return_refused(ReturnRefusal::NotReturnable));
    };
    if pass.left().is_none() {
        return Err(return_refused(ReturnRefusal::NotOut));
    }
    let key = number.as_str().as_bytes();
    let mut returns = tx.get::<Returns>(key)?.unwrap_or_default();
    gp::record_return(&material.items, &mut returns, back, at).map_err(return_refused)?;
    tx.put(key, &returns);
    write(tx, Some(&pass), &pass, Some(&returns))?;
    Ok((pass, returns))
}

/// Closes a site day: unused passes expire, holders still inside are listed (and recorded as
/// never seen leaving), returnable material not back by its date is listed as overdue. Closing a
/// day twice answers with the first closing. Returns it and whether it was new.
pub fn close_day(
    svc: &Services,
    tx: &mut Tx,
    day: NaiveDate,
    company_id: &str,
    closed_by: &str,
) -> Result<(DayClosing, bool)> {
    if day > today(svc) {
        return Err(ServiceError::invalid(
            "closing_date",
            "gatepass.closing.future",
            vec![],
        ));
    }
    if let Some(c) = tx.get::<DayClosing>(closing_key(day).as_bytes())? {
        return Ok((c, false));
    }
    let now = svc.now_unix();
    let prefix = store::prefix(&[day_key(day).as_bytes()]);
    let mut inside = Vec::new();
    let mut expired = 0;
    for number in tx.store().index_keys(BY_DAY, &prefix)? {
        let Some(mut pass) = tx.get::<Gatepass>(&number)? else {
            continue;
        };
        let before = pass.clone();
        if pass.close_with_day(now) {
            inside.push(pass.number.clone());
        } else if pass.stage != before.stage {
            expired += 1;
        }
        if pass.stage != before.stage {
            let returns = tx.get::<Returns>(&number)?;
            write(tx, Some(&before), &pass, returns.as_ref())?;
        }
    }
    // Not back by its date: due on or before the closed day.
    let next = day.succ_opt().unwrap_or(day);
    let mut overdue = Vec::new();
    for number in due_before(tx.store(), next)? {
        let Some(pass) = tx.get::<Gatepass>(&number)? else {
            continue;
        };
        let returns = tx.get::<Returns>(&number)?.unwrap_or_default();
        if pass.overdue(&returns, next) {
            overdue.push(pass.number);
        }
    }
    let c = DayClosing {
        day,
        closed_unix: now,
        company_id: company_id.to_string(),
        closed_by: closed_by.to_string(),
        inside,
        overdue,
        expired,
    };
    tx.put(closing_key(day).as_bytes(), &c);
    crate::telemetry::audit::record(
        "day_closed",
        &day.to_string(),
        &format!(
            "by {closed_by}: {} inside, {} overdue, {} expired",
            c.inside.len(),
            c.overdue.len(),
            c.expired
        ),
    );
    Ok((c, true))
}

/// `serve --demo`: a visitor inside, a lorry that came and went, a sprayer lent out and late,
/// a labourer gone to hospital. Idempotent (fixed handheld numbers).
pub async fn demo(svc: &std::sync::Arc<Services>) -> Result<()> {
    use serde_json::json;
    let now = svc.now_unix();
    let lim = limits(svc);
    let samples = [
        (
            "DEMO-V-1",
            json!({"kind": "visitor", "name": "Asha Raman", "phone": "+919445295492", "id_type": "Aadhaar",
                   "id_number": "XXXX-XXXX-4321", "host": "Estate Manager", "purpose": "Fertilizer audit"}),
            vec![Move::In],
        ),
        (
            "DEMO-H-1",
            json!({"kind": "vehicle", "vehicle": "TN 72 AB 1234", "driver": "Mani", "load": "Green leaf 2.4 t",
                   "purpose": "Leaf to factory"}),
            vec![Move::In, Move::Out],
        ),
        (
            "DEMO-M-1",
            json!({"kind": "material", "name": "Kumar", "vehicle": "TN 72 Q 88", "purpose": "Sprayer repair",
                   "items": [{"name": "Knapsack sprayer", "qty": 2, "unit": "pcs"}],
                   "returnable": "T", "return_due": "2020-01-01"}),
            vec![Move::In, Move::Out],
        ),
        (
            "DEMO-L-1",
            json!({"kind": "labour", "lcode": "R101", "name": "Muthu", "purpose": "Hospital visit"}),
            vec![Move::Out],
        ),
    ];
    if closing(&svc.store, day_of(svc, now - 3600))?.is_some() {
        // The demo day was closed already: its passes must not change.
        return Ok(());
    }
    let first_labourer = svc
        .store
        .scan_iter::<crate::domain::estate::labour::Labourer>(b"")?
        .next()
        .transpose()?
        .map(|(_, l)| l.lcode.0);
    let mut tx = svc.store.begin().await;
    for (number, mut body, moves) in samples {
        if let (Some(code), Some(_)) = (&first_labourer, body.get("lcode")) {
            body["lcode"] = json!(code);
            body["name"] = json!("");
        }
        let number = PassNumber(number.into());
        if tx.get::<Gatepass>(number.as_str().as_bytes())?.is_some() {
            continue;
        }
        let obj = body.as_object().expect("demo body is an object");
        let mut f = crate::domain::validate::Fields::new(obj);
        let content = gp::parse_content(&mut f, lim)
            .ok_or_else(|| ServiceError::Invalid(f.errors.clone()))?
            .content;
        let stamp = |dt: i64| Stamp {
            at_unix: now - 3600 + dt,
            gate: "Main gate".into(),
            guard: "demo".into(),
        };
        issue(
            svc,
            &mut tx,
            Issue {
                number: Some(number.clone()),
                content,
                at_unix: Some(now - 3600),
                gate: "Main gate".into(),
                guard: "demo".into(),
                source: Source::Desk,
            },
        )?;
        for (i, mv) in moves.into_iter().enumerate() {
            move_pass(
                svc,
                &mut tx,
                &number,
                mv,
                stamp(600 * (i as i64 + 1)),
                Repeat::Refuse,
            )?;
        }
    }
    tx.commit().await?;
    Ok(())
}
