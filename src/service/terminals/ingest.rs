//! Uploads from terminals: ATTLOG punches into the attendance domain (the same punches,
//! days, shifts and flags as a handheld's), OPERLOG users and templates, photos, options.
//! One `Tx` per upload: the answer `OK: <n>` is given only after it is durable.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::attendance::{advance, Direction, Flag, Punch, PunchState};
use crate::domain::geofence::LatLon;
use crate::domain::hr::Employee;
use crate::domain::shift::{Shift, Slack};
use crate::domain::terminals::{
    normal_pin, parse_attlog_line, parse_comma_kv, parse_operlog_line, punch_request_id,
    resolve_undefined, template_parts, to_utc, user_from_line, AttLine, OperLine, PinEntry,
    Previous, PunchKind, Sn, Template, Terminal, TerminalState, UnknownPunch,
};
use crate::store::tables::attendance::PUNCHES_BY_DAY;
use crate::store::tables::terminals::{PUNCHES_SEEN, UNKNOWN_BY_PIN};
use crate::store::{self, Tx};

use super::super::attendance::{day_key, employee_between, local, max_open_secs, punch_key};
use super::super::{geofence, identity, Services};
use super::{sync, UploadError};

/// A terminal punch has no position: its reference gets an accuracy so wide that no travel
/// speed is ever computed from it for the next handheld punch.
const UNKNOWN_POSITION_M: f64 = 20_000_000.0;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Lines now held by the box: new punches, punches kept for review, and re-sent lines
    /// that were already stored.
    pub accepted: usize,
    pub new_punches: usize,
    pub duplicates: usize,
    pub unknown_pins: usize,
    pub malformed: usize,
}

async fn approved_tx(svc: &Services, sn: &Sn) -> Result<(Tx, Terminal), UploadError> {
    let tx = svc.store.begin().await;
    let t = tx
        .get::<Terminal>(sn.0.as_bytes())?
        .ok_or(UploadError::NotApproved(TerminalState::Pending))?;
    if t.state != TerminalState::Approved {
        return Err(UploadError::NotApproved(t.state));
    }
    Ok((tx, t))
}

fn seen_key(sn: &str, pin: &str, a: &AttLine) -> Vec<u8> {
    store::key(&[
        sn.as_bytes(),
        pin.as_bytes(),
        a.local.format("%Y%m%d%H%M%S").to_string().as_bytes(),
    ])
}

fn unknown_by_pin(sn: &str, pin: &str, local: chrono::NaiveDateTime) -> Vec<u8> {
    store::key(&[
        pin.as_bytes(),
        sn.as_bytes(),
        local.format("%Y%m%d%H%M%S").to_string().as_bytes(),
    ])
}

/// Punches kept for review because their PIN belonged to nobody become `emp`'s attendance once
/// the PIN is given to it (a `terminal_pin` import). Returns how many were adopted.
pub fn adopt_unknown(
    svc: &Services,
    tx: &mut Tx,
    pin: &str,
    emp: &Employee,
) -> Result<usize, crate::service::ServiceError> {
    let prefix = store::prefix(&[pin.as_bytes()]);
    let rests = tx.store().index_keys(UNKNOWN_BY_PIN, &prefix)?;
    let mut batch = Batch::default();
    let mut n = 0;
    for rest in rests {
        let mut parts = rest.splitn(2, |b| *b == 0);
        let (Some(sn), Some(time)) = (parts.next(), parts.next()) else {
            continue;
        };
        let key = store::key(&[sn, pin.as_bytes(), time]);
        let Some(u) = tx.get::<UnknownPunch>(&key)? else {
            continue;
        };
        let line = AttLine {
            pin: u.pin.clone(),
            local: u.local_time,
            status: u.status,
            verify: u.verify,
            workcode: String::new(),
            offset_min: None,
        };
        store_punch(svc, tx, &mut batch, emp, &u.sn, pin, &line, u.at_unix).map_err(
            |e| match e {
                UploadError::Service(s) => s,
                other => crate::service::ServiceError::Internal(format!("{other:?}")),
            },
        )?;
        tx.delete::<UnknownPunch>(&key);
        tx.delete_raw(UNKNOWN_BY_PIN, &[prefix.clone(), rest.clone()].concat());
        n += 1;
    }
    Ok(n)
}

/// Per-upload caches, so a batch of 500 lines reads each employee and shift once.
#[derive(Default)]
struct Batch {
    employees: HashMap<String, Option<Employee>>,
    shifts: HashMap<String, Option<Shift>>,
    /// Punches staged in this upload, per employee (not yet visible to store scans).
    staged: HashMap<String, Vec<Previous>>,
}

/// Lines taken from one upload; the answer counts only these, so the terminal sends the rest
/// again (a 4 MiB body could otherwise stage ~100,000 punches in memory at once).
pub const MAX_LINES_PER_UPLOAD: usize = 50_000;
/// Lines per transaction: between two, the writer lock is free for the handhelds' punches.
pub const LINES_PER_TX: usize = 2_000;

/// Stores an ATTLOG upload. The answer counts the lines the box now holds; malformed lines are
/// counted apart and never stop the rest. Large uploads commit in parts of `LINES_PER_TX`; the
/// stamp advances with the last part only, and a part committed before a failure is recognised
/// as already stored when the terminal sends the upload again.
pub async fn attlog(
    svc: &Services,
    sn: &Sn,
    stamp: Option<&str>,
    body: &[u8],
) -> Result<Report, UploadError> {
    let all = crate::domain::terminals::lines(body);
    if all.len() > MAX_LINES_PER_UPLOAD {
        tracing::info!(sn = %sn.0, lines = all.len(), taken = MAX_LINES_PER_UPLOAD, "large ATTLOG upload: the rest comes again");
    }
    let mut parsed = Vec::new();
    let mut malformed = 0;
    for l in all.iter().take(MAX_LINES_PER_UPLOAD) {
        match parse_attlog_line(l) {
            Some(a) => parsed.push(a),
            None => malformed += 1,
        }
    }
    parsed.sort_by_key(|a| (normal_pin(&a.pin), a.local));
    let now = svc.now_unix();
    let site = svc.config.site.timezone_offset_minutes;
    let mut rep = Report {
        malformed,
        ..Report::default()
    };
    let mut batch = Batch::default();
    let mut newest: Option<i64> = None;
    let chunks: Vec<&[AttLine]> = if parsed.is_empty() {
        vec![&[][..]]
    } else {
        parsed.chunks(LINES_PER_TX).collect()
    };
    let last = chunks.len() - 1;
    for (ci, chunk) in chunks.into_iter().enumerate() {
        let (mut tx, mut term) = approved_tx(svc, sn).await?;
        if ci == 0 {
            sync::ensure_pins(svc, &mut tx)?;
        }
        let zone = term.zone_min(site);
        let mut part = Report::default();
        for a in chunk {
            let pin = normal_pin(&a.pin);
            let seen = seen_key(&sn.0, &pin, a);
            if tx.contains_raw(PUNCHES_SEEN, &seen)? {
                part.duplicates += 1;
                part.accepted += 1;
                continue;
            }
            let at = to_utc(a.local, a.offset_min.unwrap_or(zone));
            newest = newest.max(Some(at));
            match employee_of_pin(&tx, &mut batch, &pin)? {
                None => {
                    let u = UnknownPunch {
                        sn: sn.0.clone(),
                        pin: pin.clone(),
                        local_time: a.local,
                        at_unix: at,
                        status: a.status,
                        verify: a.verify,
                        received_unix: now,
                    };
                    tx.put(&seen, &u);
                    tx.index(UNKNOWN_BY_PIN, &unknown_by_pin(&sn.0, &pin, a.local));
                    part.unknown_pins += 1;
                }
                Some(e) => {
                    store_punch(svc, &mut tx, &mut batch, &e, &sn.0, &pin, a, at)?;
                    part.new_punches += 1;
                }
            }
            tx.index(PUNCHES_SEEN, &seen);
            part.accepted += 1;
        }
        if ci == 0 {
            term.malformed += rep.malformed as u64;
        }
        if ci == last {
            if let Some(s) = stamp.filter(|s| !s.trim().is_empty()) {
                term.stamps.attlog = crate::domain::terminals::clean(s)
                    .chars()
                    .take(32)
                    .collect();
            }
            // A short upload is a real-time push made seconds after the punch: its time
            // against ours tells the terminal's clock drift.
            if let Some(n) = newest.filter(|_| parsed.len() <= 3) {
                if (n - now).abs() < 86_400 {
                    term.drift_secs = Some(n - now);
                }
            }
        }
        term.punches_stored += part.new_punches as u64;
        term.duplicates += part.duplicates as u64;
        term.unknown_pins += part.unknown_pins as u64;
        term.last_upload_unix = Some(now);
        term.last_seen_unix = now;
        tx.put(sn.0.as_bytes(), &term);
        tx.commit().await?;
        rep.accepted += part.accepted;
        rep.new_punches += part.new_punches;
        rep.duplicates += part.duplicates;
        rep.unknown_pins += part.unknown_pins;
    }
    if rep.malformed > 0 {
        tracing::warn!(sn = %sn.0, malformed = rep.malformed, "terminal sent malformed ATTLOG lines");
    }
    Ok(rep)
}

fn employee_of_pin(tx: &Tx, batch: &mut Batch, pin: &str) -> Result<Option<Employee>, UploadError> {
    if let Some(e) = batch.employees.get(pin) {
        return Ok(e.clone());
    }
    let e = match tx.get::<PinEntry>(pin.as_bytes())? {
        Some(p) => tx.get::<Employee>(p.code.as_bytes())?,
        None => None,
    };
    batch.employees.insert(pin.to_string(), e.clone());
    Ok(e)
}

/// The employee's latest punch before `at` within the open-shift window, staged ones included.
fn previous(
    svc: &Services,
    tx: &Tx,
    batch: &Batch,
    code: &str,
    at: i64,
) -> Result<Option<Previous>, UploadError> {
    let window = max_open_secs(svc);
    let mut best: Option<Previous> = employee_between(tx.store(), code, at - window, at)
        .map_err(UploadError::Service)?
        .last()
        .map(|p| Previous {
            at_unix: p.at_unix,
            direction: p.direction,
            day: p.attendance_day,
        });
    for p in batch.staged.get(code).into_iter().flatten() {
        if p.at_unix < at && p.at_unix >= at - window && best.is_none_or(|b| p.at_unix >= b.at_unix)
        {
            best = Some(*p);
        }
    }
    Ok(best)
}

#[allow(clippy::too_many_arguments)]
fn store_punch(
    svc: &Services,
    tx: &mut Tx,
    batch: &mut Batch,
    emp: &Employee,
    sn: &str,
    pin: &str,
    a: &AttLine,
    at: i64,
) -> Result<(), UploadError> {
    let site = svc.config.site.timezone_offset_minutes;
    let cfg = &svc.config.attendance;
    let slack = Slack {
        early_min: cfg.early_clock_in_minutes,
        late_min: cfg.late_clock_out_minutes,
    };
    let shift = match batch.shifts.get(&emp.shift) {
        Some(s) => s.clone(),
        None => {
            let s = geofence::shift(tx.store(), &emp.shift).map_err(UploadError::Service)?;
            batch.shifts.insert(emp.shift.clone(), s.clone());
            s
        }
    };
    let local_site = local(at, site);
    let fitted = shift.as_ref().map(|s| s.day_of(local_site, slack));
    let day_as_in: NaiveDate = fitted.flatten().unwrap_or(local_site.date());
    let outside = matches!(fitted, Some(None));
    let prev = previous(svc, tx, batch, &emp.code, at)?;
    let kind = PunchKind::of_status(a.status);
    let mut flags = Vec::new();
    let direction = match kind.direction() {
        Some(d) => d,
        None => {
            flags.push(Flag::UndefinedStatus);
            resolve_undefined(day_as_in, prev)
        }
    };
    let day = match (direction, prev) {
        // An out closes the shift its in opened, whatever the date is now (night shifts).
        (Direction::Out, Some(p)) if p.direction == Direction::In => p.day,
        _ => {
            if outside {
                flags.push(Flag::OutsideShift);
            }
            day_as_in
        }
    };
    let id = identity::next_id(tx, "punch").map_err(UploadError::Service)?;
    let p = Punch {
        id,
        employee: emp.code.clone(),
        direction,
        at_unix: at,
        device_unix: None,
        clock_offset_secs: None,
        site_offset_min: site,
        attendance_day: day,
        shift: shift.map(|s| s.code),
        position: LatLon::new(0.0, 0.0),
        accuracy_m: 0.0,
        fence: format!("terminal {sn}"),
        fence_distance_m: 0.0,
        flags,
        request_id: punch_request_id(sn, pin, a.local),
        user: None,
        note: format!(
            "{} (status {}), verify {}{}",
            kind.name(),
            a.status,
            a.verify,
            if a.workcode.is_empty() || a.workcode == "0" {
                String::new()
            } else {
                format!(
                    ", workcode {}",
                    crate::domain::terminals::clean(&a.workcode)
                )
            }
        ),
    };
    let key = punch_key(&emp.code, at, id);
    tx.put(&key, &p);
    tx.index(
        PUNCHES_BY_DAY,
        &[store::prefix(&[day_key(day).as_bytes()]), key.clone()].concat(),
    );
    super::super::attendance::count_punch(tx, &p)?;
    // The state machine of handheld punches follows the newest punch only: a backlog of old
    // terminal punches does not reopen or close today's shift.
    let state = tx
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    if state.last.as_ref().is_none_or(|l| l.at_unix <= at) {
        let mut st = advance(&key, &p);
        for r in [st.open_in.as_mut(), st.last.as_mut()]
            .into_iter()
            .flatten()
        {
            r.accuracy_m = UNKNOWN_POSITION_M;
        }
        tx.put(emp.code.as_bytes(), &st);
    }
    batch
        .staged
        .entry(emp.code.clone())
        .or_default()
        .push(Previous {
            at_unix: at,
            direction,
            day,
        });
    Ok(())
}

/// Stores an OPERLOG (or BIODATA) upload: users and templates enrolled on this terminal go to
/// every other approved terminal; operation records are counted.
pub async fn operlog(
    svc: &Services,
    sn: &Sn,
    stamp: Option<&str>,
    body: &[u8],
) -> Result<Report, UploadError> {
    let now = svc.now_unix();
    let mut parsed = Vec::new();
    let mut rep = Report::default();
    for l in crate::domain::terminals::lines(body) {
        match parse_operlog_line(&l) {
            Some(x) => parsed.push(x),
            None => rep.malformed += 1,
        }
    }
    {
        // Refuse before writing template blobs for a terminal that may not deliver.
        let t = super::terminal(&svc.store, &sn.0)?;
        match t.map(|t| t.state) {
            Some(TerminalState::Approved) => {}
            Some(s) => return Err(UploadError::NotApproved(s)),
            None => return Err(UploadError::NotApproved(TerminalState::Pending)),
        }
    }
    // Template texts are blobs, written (and fsynced) before the writer lock is taken.
    let mut blobs = Vec::new();
    for x in &parsed {
        if let OperLine::Template { fields, .. } = x {
            let tmp = crate::domain::terminals::field(fields, "TMP").unwrap_or("");
            let id = svc.store.blobs().put(tmp.as_bytes())?;
            blobs.push(Some(id));
        } else {
            blobs.push(None);
        }
    }
    let (mut tx, mut term) = approved_tx(svc, sn).await?;
    sync::ensure_pins(svc, &mut tx)?;
    let mut templates = 0u64;
    for (x, blob) in parsed.iter().zip(blobs) {
        match x {
            OperLine::User(kv) => {
                if let Some(mut u) = user_from_line(kv, &sn.0, now) {
                    u.pin = normal_pin(&u.pin);
                    sync::user_from_terminal(svc, &mut tx, u, &sn.0, now)?;
                }
            }
            OperLine::Template { kind, fields } => {
                let pin = normal_pin(crate::domain::terminals::field(fields, "PIN").unwrap_or(""));
                let (fid, rest) = template_parts(kind, fields);
                let tpl = Template {
                    pin,
                    kind: kind.clone(),
                    fid,
                    fields: rest,
                    blob: blob.map(|b| b.as_str().to_string()).unwrap_or_default(),
                    source_sn: sn.0.clone(),
                    updated_unix: now,
                };
                let tmp = crate::domain::terminals::field(fields, "TMP").unwrap_or("");
                if sync::template_from_terminal(svc, &mut tx, tpl, tmp, now)? {
                    templates += 1;
                }
            }
            OperLine::Other(_) => {}
        }
        rep.accepted += 1;
    }
    if let Some(s) = stamp.filter(|s| !s.trim().is_empty()) {
        term.stamps.operlog = crate::domain::terminals::clean(s)
            .chars()
            .take(32)
            .collect();
    }
    term.templates += templates;
    term.malformed += rep.malformed as u64;
    term.last_upload_unix = Some(now);
    tx.put(sn.0.as_bytes(), &term);
    tx.commit().await?;
    Ok(rep)
}

/// An ATTPHOTO upload: header lines (`PIN=`, `SN=`, `size=`, `CMD=uploadphoto`), a NUL, the JPEG.
/// The picture is kept as a blob.
pub async fn photo(
    svc: &Services,
    sn: &Sn,
    stamp: Option<&str>,
    body: &[u8],
) -> Result<(), UploadError> {
    {
        let t = super::terminal(&svc.store, &sn.0)?;
        match t.map(|t| t.state) {
            Some(TerminalState::Approved) => {}
            Some(s) => return Err(UploadError::NotApproved(s)),
            None => return Err(UploadError::NotApproved(TerminalState::Pending)),
        }
    }
    let start = body
        .windows(3)
        .position(|w| w == [0xFF, 0xD8, 0xFF])
        .or_else(|| body.iter().position(|b| *b == 0).map(|i| i + 1));
    let picture = start.map(|i| &body[i..]).filter(|p| !p.is_empty());
    if let Some(p) = picture {
        svc.store.blobs().put(p)?;
    }
    let (mut tx, mut term) = approved_tx(svc, sn).await?;
    if picture.is_some() {
        term.photos += 1;
    }
    if let Some(s) = stamp.filter(|s| !s.trim().is_empty()) {
        term.stamps.attphoto = crate::domain::terminals::clean(s)
            .chars()
            .take(32)
            .collect();
    }
    tx.put(sn.0.as_bytes(), &term);
    tx.commit().await?;
    Ok(())
}

/// `table=options` (and the v3 registry body): what the terminal says about itself.
pub fn options_contact(body: &[u8]) -> super::Contact {
    let text = String::from_utf8_lossy(body);
    let kv = parse_comma_kv(&text);
    let f = |k: &str| crate::domain::terminals::field(&kv, k).map(str::to_string);
    super::Contact {
        ip: f("IPAddress"),
        model: f("DeviceName").or(f("DeviceType")),
        firmware: f("FirmVer").or(f("FWVersion")),
        push_version: f("PushVersion"),
        zone: f("TimeZone").or(f("TZAdj")),
        users: f("UserCount").and_then(|v| v.parse().ok()),
        fps: f("FPCount").and_then(|v| v.parse().ok()),
        faces: f("FaceCount").and_then(|v| v.parse().ok()),
    }
}
