//! Biometric terminals (ZKTeco ADMS push): who they are and whether staff let them deliver,
//! their contact, the handshake, and what the console shows. Punch uploads are in `ingest`,
//! users/templates/commands in `sync`.
//!
//! A terminal is known by its serial number; the first contact lists it as pending. Only an
//! approved terminal's data is accepted: anything else is refused (not acknowledged), so the
//! terminal keeps its punches and sends them again once approved.

pub mod ingest;
pub mod sync;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::terminals::{
    parse_zone, render_options, OptionsBlock, Sn, Terminal, TerminalState, DEFAULT_DELAY_SECS,
};
use crate::store::tables::terminals::{COMMANDS_OPEN, COUNT_TERMINALS};
use crate::store::{self, Store};

use super::{Result, ServiceError, Services};

/// Uploads from terminals processed at once, all terminals together: a flood from terminals
/// cannot take the writer from the handhelds for long.
pub const MAX_BATCHES_AT_ONCE: usize = 4;
/// Largest upload body accepted (a terminal sends its backlog in pieces of about 1 MiB).
pub const MAX_UPLOAD_BYTES: usize = 4 << 20;
/// A contact refreshes the stored record at most this often (the live time is kept in memory).
const CONTACT_WRITE_SECS: i64 = 60;

/// Why an upload was not taken.
#[derive(Debug)]
pub enum UploadError {
    /// Pending or blocked: the terminal must keep its data.
    NotApproved(TerminalState),
    /// This serial already has an upload in progress, or too many terminals upload at once.
    Busy,
    Service(ServiceError),
}

impl From<ServiceError> for UploadError {
    fn from(e: ServiceError) -> Self {
        UploadError::Service(e)
    }
}

impl From<store::StoreError> for UploadError {
    fn from(e: store::StoreError) -> Self {
        UploadError::Service(e.into())
    }
}

struct Gate {
    per_sn: Mutex<HashMap<String, Arc<Semaphore>>>,
    all: Arc<Semaphore>,
    /// Last contact per serial, exact (the stored one is refreshed every minute).
    live: Mutex<HashMap<String, i64>>,
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate {
        per_sn: Mutex::new(HashMap::new()),
        all: Arc::new(Semaphore::new(MAX_BATCHES_AT_ONCE)),
        live: Mutex::new(HashMap::new()),
    })
}

/// Held while one upload is processed.
pub struct Admission {
    _sn: OwnedSemaphorePermit,
    _all: OwnedSemaphorePermit,
}

/// One upload at a time per serial and a few at once overall; never waits (a busy terminal is
/// told to come back, so it holds no connection slot the handhelds need).
pub fn admit(sn: &Sn) -> std::result::Result<Admission, UploadError> {
    let g = gate();
    let sem = {
        let mut m = g.per_sn.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, s| s.available_permits() == 0);
        }
        m.entry(sn.0.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    };
    let one = sem.try_acquire_owned().map_err(|_| UploadError::Busy)?;
    let all = g
        .all
        .clone()
        .try_acquire_owned()
        .map_err(|_| UploadError::Busy)?;
    Ok(Admission {
        _sn: one,
        _all: all,
    })
}

/// What a request says about its terminal.
#[derive(Debug, Default, Clone)]
pub struct Contact {
    pub ip: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub push_version: Option<String>,
    pub zone: Option<String>,
    pub users: Option<u64>,
    pub fps: Option<u64>,
    pub faces: Option<u64>,
}

fn site_zone(svc: &Services) -> i32 {
    svc.config.site.timezone_offset_minutes
}

/// Records a contact: a new serial is listed as pending; a known one's details and last
/// contact are refreshed. Returns the terminal as stored.
pub async fn contact(svc: &Services, sn: &Sn, c: Contact) -> Result<Terminal> {
    let now = svc.now_unix();
    gate()
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(sn.0.clone(), now);
    if let Some(t) = svc.store.get::<Terminal>(sn.0.as_bytes())? {
        // Most polls change nothing: the store is written at most once a minute for them.
        let (_, changed) = merge(t.clone(), &c, now);
        if !changed && now - t.last_seen_unix < CONTACT_WRITE_SECS {
            return Ok(t);
        }
    }
    let mut tx = svc.store.begin().await;
    let (t, _) = match tx.get::<Terminal>(sn.0.as_bytes())? {
        Some(t) => merge(t, &c, now),
        None => {
            // Any serial on the LAN files a pending record: capped, so the lists and the
            // dashboard may read the tree whole.
            if store::counters::get(tx.store(), COUNT_TERMINALS)? >= MAX_TERMINALS {
                tracing::warn!(sn = %sn.0, "new terminal refused: {MAX_TERMINALS} on record");
                return Err(ServiceError::conflict(format!(
                    "this box keeps at most {MAX_TERMINALS} terminals"
                )));
            }
            store::counters::add(&mut tx, COUNT_TERMINALS, 1)?;
            tracing::info!(sn = %sn.0, ip = ?c.ip, "new terminal: pending approval");
            merge(Terminal::new(sn, now), &c, now)
        }
    };
    tx.put(sn.0.as_bytes(), &t);
    tx.commit().await?;
    Ok(t)
}

fn merge(mut t: Terminal, c: &Contact, now: i64) -> (Terminal, bool) {
    let before = t.clone();
    let set = |slot: &mut String, v: &Option<String>| {
        if let Some(v) = v.as_ref().map(|v| crate::domain::terminals::clean(v)) {
            if !v.is_empty() {
                *slot = v.chars().take(64).collect();
            }
        }
    };
    set(&mut t.ip, &c.ip);
    set(&mut t.model, &c.model);
    set(&mut t.firmware, &c.firmware);
    set(&mut t.push_version, &c.push_version);
    if let Some(z) = c.zone.as_deref().and_then(parse_zone) {
        t.reported_tz_min = Some(z);
    }
    for (slot, v) in [
        (&mut t.user_count, c.users),
        (&mut t.fp_count, c.fps),
        (&mut t.face_count, c.faces),
    ] {
        if v.is_some() {
            *slot = v;
        }
    }
    let changed = t != before;
    t.last_seen_unix = now;
    (t, changed)
}

/// The answer to `GET cdata?options=all`.
pub fn options_block(svc: &Services, t: &Terminal) -> String {
    render_options(&OptionsBlock {
        sn: &t.sn,
        stamps: &t.stamps,
        zone_min: t.zone_min(site_zone(svc)),
        delay_secs: t.delay_secs.max(1),
        error_delay_secs: 30,
        trans_interval_min: 1,
    })
}

pub fn terminal(store: &Store, sn: &str) -> Result<Option<Terminal>> {
    Ok(store.get::<Terminal>(sn.as_bytes())?)
}

/// Most terminals a box keeps on record (staff pre-approvals count too).
pub const MAX_TERMINALS: u64 = 256;

/// Every terminal (at most `MAX_TERMINALS`, plus any staff pre-approved past it).
pub fn terminals(store: &Store) -> Result<Vec<Terminal>> {
    Ok(store
        .scan::<Terminal>(b"")?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// Serials of the approved terminals (a handful; the tree is small).
pub fn approved(store: &Store) -> Result<Vec<String>> {
    Ok(terminals(store)?
        .into_iter()
        .filter(|t| t.state == TerminalState::Approved)
        .map(|t| t.sn)
        .collect())
}

fn open_commands(store: &Store, sn: &str) -> Result<usize> {
    Ok(store
        .index_keys(COMMANDS_OPEN, &store::prefix(&[sn.as_bytes()]))?
        .len())
}

/// A terminal as the console and `gatehouse terminal list` show it.
pub fn terminal_json(svc: &Services, t: &Terminal) -> Result<Value> {
    let now = svc.now_unix();
    let live = gate()
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&t.sn)
        .copied()
        .unwrap_or(0)
        .max(t.last_seen_unix);
    let mut seen = t.clone();
    seen.last_seen_unix = live;
    let rfc = super::attendance::rfc3339;
    Ok(json!({
        "sn": t.sn,
        "state": t.state.as_str(),
        "status": t.state.as_str(),
        "model": t.model,
        "firmware": t.firmware,
        "push_version": t.push_version,
        "ip": t.ip,
        "first_seen": rfc(t.first_seen_unix),
        "last_seen": rfc(live),
        "last_seen_unix": live,
        "silent": seen.silent(now),
        "seconds_since_contact": now - live,
        "delay_secs": t.delay_secs,
        "timezone_offset_minutes": t.zone_min(site_zone(svc)),
        "timezone_set_by_staff": t.tz_offset_min.is_some(),
        "stamps": {"ATTLOG": t.stamps.attlog, "OPERLOG": t.stamps.operlog, "ATTPHOTO": t.stamps.attphoto},
        "clock_drift_secs": t.drift_secs,
        "queued_commands": open_commands(&svc.store, &t.sn)?,
        "users": t.user_count,
        "fingerprints": t.fp_count,
        "faces": t.face_count,
        "punches_stored": t.punches_stored,
        "duplicates": t.duplicates,
        "malformed_lines": t.malformed,
        "unknown_pin_punches": t.unknown_pins,
        "photos": t.photos,
        "templates": t.templates,
        "last_upload": t.last_upload_unix.map(rfc),
        "last_upload_unix": t.last_upload_unix,
    }))
}

pub fn list_json(svc: &Services) -> Result<Value> {
    let mut out = Vec::new();
    for t in terminals(&svc.store)? {
        out.push(terminal_json(svc, &t)?);
    }
    Ok(Value::Array(out))
}

/// Staff decision on a terminal. Approving queues every user and template to it (so a new
/// terminal learns the roll) and makes its backlog welcome; `zone` sets its wall-clock zone.
pub async fn set_state(
    svc: &Services,
    sn: &str,
    state: TerminalState,
    zone_min: Option<i32>,
) -> Result<(Terminal, usize)> {
    let sn = Sn::parse(sn).ok_or_else(|| {
        ServiceError::invalid(
            "sn",
            "field.format",
            vec![("expected", "letters, digits, - _ . (1-32)".into())],
        )
    })?;
    let now = svc.now_unix();
    let mut tx = svc.store.begin().await;
    // Staff may decide before the terminal's first contact (pre-approval by serial number).
    if tx.get::<Terminal>(sn.0.as_bytes())?.is_none() {
        store::counters::add(&mut tx, COUNT_TERMINALS, 1)?;
    }
    let mut t = tx
        .get::<Terminal>(sn.0.as_bytes())?
        .unwrap_or_else(|| Terminal {
            first_seen_unix: 0,
            last_seen_unix: 0,
            ..Terminal::new(&sn, now)
        });
    let was = t.state;
    t.state = state;
    if zone_min.is_some() {
        t.tz_offset_min = zone_min;
    }
    t.changed_unix = now;
    if t.delay_secs == 0 {
        t.delay_secs = DEFAULT_DELAY_SECS;
    }
    tx.put(sn.0.as_bytes(), &t);
    let mut queued = 0;
    if state == TerminalState::Approved && was != TerminalState::Approved {
        sync::ensure_pins(svc, &mut tx)?;
        queued = sync::queue_everything(svc, &mut tx, &sn.0, now)?;
    }
    tx.commit().await?;
    tracing::info!(sn = %sn.0, state = state.as_str(), queued, "terminal state set");
    crate::telemetry::audit::record(
        "terminal_decision",
        &sn.0,
        &format!("{} -> {}", was.as_str(), state.as_str()),
    );
    Ok((t, queued))
}

pub use sync::{commands_json, unknown_punches_json};
