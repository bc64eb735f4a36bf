//! The console's day views and dashboard charts, each read through an index or a key range
//! (never a whole-tree scan of punches, passes or muster lines):
//! - attendance of a site day by gang or department: present, late, absent; flagged punches
//!   with their reasons (punches by day index);
//! - muster of a task day: kg by gang and by task (muster lines are keyed by task date);
//!
//! The two day views name people from the whole roll, so the console's screens share them:
//! rendered once per data version and day (`shared_attendance_day`, `shared_muster_day`,
//! service::answers), so a screen left on a past day costs nothing and two consoles one render.
//! - dashboard charts: punches per hour today, passes per day this week, muster kg per day;
//! - what needs action: pending licences (and terminals), overdue material, locked accounts,
//!   a backup too old.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::domain::attendance::{Direction, Flag, Punch};
use crate::domain::estate::labour::{EstateTask, Gang};
use crate::domain::shift::Shift;
use crate::store::{self, Store};

use super::{attendance, estate, gatepass, geofence, lockout, maintenance};
use super::{Result, Services};

/// A first clock-in more than this many minutes after the shift's start is late.
pub const LATE_GRACE_MIN: i64 = 5;
/// Days shown in the dashboard's week charts (today and the six before it).
pub const WEEK: i64 = 7;

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Why a punch was flagged, in words a guard reads.
pub fn flag_reason(f: &Flag) -> String {
    match f {
        Flag::MockLocation => "mock location (the phone faked its position)".into(),
        Flag::ImpossibleSpeed { kmh } => {
            format!("impossible speed from the last punch ({kmh:.0} km/h)")
        }
        Flag::DeviceClockSkew { secs } => format!("device clock off by {secs} s"),
        Flag::OutsideShift => "outside the employee's shift".into(),
        Flag::UndefinedStatus => {
            "terminal sent no in/out (status 255): taken as first-in/last-out".into()
        }
    }
}

fn local_hhmm(p: &Punch) -> String {
    attendance::local(p.at_unix, p.site_offset_min)
        .format("%H:%M")
        .to_string()
}

/// `attendance_day` as the admin envelope, shared until the roll, a punch or a shift changes.
pub async fn shared_attendance_day(
    svc: &std::sync::Arc<Services>,
    day: NaiveDate,
) -> Result<bytes::Bytes> {
    use crate::store::tables::attendance::PUNCHES_BY_DAY;
    use crate::store::Record;
    let version = svc.store.version_of(&[
        crate::domain::hr::Employee::TREE,
        Punch::TREE,
        PUNCHES_BY_DAY,
        Shift::TREE,
    ]);
    let s = svc.clone();
    // Present, late and absent name everyone on the roll: ~64 bytes an employee.
    svc.answers
        .get(
            "admin.attendance_day",
            day_text(day),
            version,
            256,
            move |_| enveloped(attendance_day(&s, day)?),
        )
        .await
}

/// `muster_day` as the admin envelope, shared until a line, a labourer, a gang or a task
/// changes.
pub async fn shared_muster_day(
    svc: &std::sync::Arc<Services>,
    day: NaiveDate,
) -> Result<bytes::Bytes> {
    use crate::domain::estate::labour::Labourer;
    use crate::domain::estate::muster::MusterLine;
    use crate::store::Record;
    let version = svc.store.version_of(&[
        MusterLine::TREE,
        Labourer::TREE,
        Gang::TREE,
        EstateTask::TREE,
    ]);
    let s = svc.clone();
    svc.answers
        .get("admin.muster_day", day_text(day), version, 64, move |_| {
            enveloped(muster_day(&s, day)?)
        })
        .await
}

/// The admin family's `{"ok": true, "data": ...}`.
fn enveloped(data: Value) -> Result<Vec<u8>> {
    serde_json::to_vec(&json!({"ok": true, "data": data}))
        .map_err(|e| super::ServiceError::Internal(e.to_string()))
}

/// Attendance of one site day by gang (or department): who is present, who came late, who is
/// absent, and every flagged punch with its reasons.
pub fn attendance_day(svc: &Services, day: NaiveDate) -> Result<Value> {
    let store = &svc.store;
    let punches = attendance::punches_of_day(store, day)?;
    let mut first_in: HashMap<&str, &Punch> = HashMap::new();
    let (mut ins, mut outs) = (0u64, 0u64);
    for p in &punches {
        match p.direction {
            Direction::In => {
                ins += 1;
                let e = first_in.entry(p.employee.as_str()).or_insert(p);
                if p.at_unix < e.at_unix {
                    *e = p;
                }
            }
            Direction::Out => outs += 1,
        }
    }
    let mut shifts: HashMap<String, Option<Shift>> = HashMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    #[derive(Default)]
    struct Group {
        expected: u64,
        present: Vec<Value>,
        late: Vec<Value>,
        absent: Vec<Value>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    // One employee at a time: the answer keeps codes and names, not the roll's records.
    for e in store.scan_iter::<crate::domain::hr::Employee>(b"")? {
        let (_, e) = e?;
        if !e.on_roll(day) {
            continue;
        }
        names.insert(e.code.clone(), e.name.clone());
        let g = groups
            .entry(e.gang_or_department().to_string())
            .or_default();
        g.expected += 1;
        let person = json!({"code": e.code, "name": e.name});
        let Some(p) = first_in.get(e.code.as_str()) else {
            g.absent.push(person);
            continue;
        };
        let shift = shifts
            .entry(e.shift.clone())
            .or_insert_with(|| geofence::shift(store, &e.shift).ok().flatten());
        // Minutes after the shift began on its attendance day (a night shift's day is the
        // evening it started).
        let late_by = shift.as_ref().map(|s| {
            let start = day.and_hms_opt(0, 0, 0).unwrap_or_default()
                + Duration::minutes(i64::from(s.start_min));
            (attendance::local(p.at_unix, p.site_offset_min) - start).num_minutes()
        });
        let mut person = person;
        person["in"] = json!(local_hhmm(p));
        match late_by {
            Some(m) if m > LATE_GRACE_MIN => {
                person["late_min"] = json!(m);
                g.late.push(person.clone());
                g.present.push(person);
            }
            _ => g.present.push(person),
        }
    }
    let flagged: Vec<Value> = punches
        .iter()
        .filter(|p| !p.flags.is_empty())
        .map(|p| {
            json!({
                "employee_code": p.employee,
                "name": names.get(&p.employee).cloned().unwrap_or_default(),
                "time": local_hhmm(p),
                "direction": p.direction.as_str(),
                "suspicious": p.suspicious(),
                "reasons": p.flags.iter().map(flag_reason).collect::<Vec<_>>(),
            })
        })
        .collect();
    let present: usize = groups.values().map(|g| g.present.len()).sum();
    let late: usize = groups.values().map(|g| g.late.len()).sum();
    let absent: usize = groups.values().map(|g| g.absent.len()).sum();
    Ok(json!({
        "date": day_text(day),
        "punches_in": ins,
        "punches_out": outs,
        "present": present,
        "late": late,
        "absent": absent,
        "late_grace_min": LATE_GRACE_MIN,
        "groups": groups.into_iter().map(|(name, g)| json!({
            "name": name, "expected": g.expected, "present": g.present, "late": g.late,
            "absent": g.absent,
        })).collect::<Vec<_>>(),
        "flagged": flagged,
    }))
}

fn kg(g: i64) -> f64 {
    (g as f64 / 10.0).round() / 100.0
}

/// Muster of one task day: net kg and lines by gang and by task.
pub fn muster_day(svc: &Services, day: NaiveDate) -> Result<Value> {
    let store = &svc.store;
    let lines = estate::muster::lines_between(store, day, day)?;
    let mut gang_of: HashMap<String, String> = HashMap::new();
    let mut gang_names: HashMap<String, String> = HashMap::new();
    let mut tasks: HashMap<Vec<u8>, String> = HashMap::new();
    let mut by_gang: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    let mut by_task: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    let mut total = 0i64;
    for l in &lines {
        total += l.net_g;
        let gang = match gang_of.get(&l.lcode.0) {
            Some(g) => g.clone(),
            None => {
                let g = match estate::labour::labourer(store, &l.lcode)?.and_then(|lab| lab.gang) {
                    Some(id) => match gang_names.get(&id.0) {
                        Some(n) => n.clone(),
                        None => {
                            let n = store
                                .get::<Gang>(id.key())?
                                .map(|g| g.name)
                                .filter(|n| !n.is_empty())
                                .unwrap_or_else(|| id.0.clone());
                            gang_names.insert(id.0.clone(), n.clone());
                            n
                        }
                    },
                    None => "(no gang)".into(),
                };
                gang_of.insert(l.lcode.0.clone(), g.clone());
                g
            }
        };
        let e = by_gang.entry(gang).or_default();
        e.0 += l.net_g;
        e.1 += 1;
        let tkey = store::key(&[l.firm.key(), l.task.key()]);
        let task = match tasks.get(&tkey) {
            Some(t) => t.clone(),
            None => {
                let t = store
                    .get::<EstateTask>(&tkey)?
                    .map(|t| format!("{} {} ({})", t.job, t.field, t.id.0))
                    .unwrap_or_else(|| l.task.0.clone());
                tasks.insert(tkey, t.clone());
                t
            }
        };
        let e = by_task.entry(task).or_default();
        e.0 += l.net_g;
        e.1 += 1;
    }
    let rows = |m: BTreeMap<String, (i64, u64)>| -> Vec<Value> {
        m.into_iter()
            .map(|(name, (g, n))| json!({"name": name, "kg": kg(g), "lines": n}))
            .collect()
    };
    Ok(json!({
        "date": day_text(day),
        "lines": lines.len(),
        "kg": kg(total),
        "by_gang": rows(by_gang),
        "by_task": rows(by_task),
    }))
}

/// Terminals waiting for approval. The biometric terminals area fills this in; until then the
/// dashboard shows "n/a" for it.
pub fn pending_terminals(svc: &Services) -> Result<Option<u64>> {
    // A site has a handful of terminals: the tree is read whole.
    let n = crate::service::terminals::terminals(&svc.store)
        .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))?
        .iter()
        .filter(|t| t.state == crate::domain::terminals::TerminalState::Pending)
        .count();
    Ok(Some(n as u64))
}

/// A backup older than this is flagged (twice the schedule, or two days without one).
fn backup_max_age_secs(svc: &Services) -> i64 {
    let every = svc.config.backup.every_hours.max(1) as i64 * 3600;
    if svc.config.backup.dir.as_os_str().is_empty() {
        48 * 3600
    } else {
        2 * every
    }
}

/// The dashboard's charts and its "needs action" list.
pub fn charts(svc: &Services) -> Result<Value> {
    let store: &Store = &svc.store;
    let today = gatepass::today(svc);
    // Day figures (schema 8), not the days' punches, passes and muster lines: the console polls
    // this every two seconds, and a week of a big estate's muster is hundreds of thousands of
    // lines.
    let per_hour = attendance::day_figures(store, today)?.per_hour;
    let mut passes = Vec::new();
    let mut muster = Vec::new();
    for back in (0..WEEK).rev() {
        let d = today - Duration::days(back);
        let n = crate::store::counters::get(
            store,
            &crate::store::tables::gatepass::issued_counter(&gatepass::day_key(d)),
        )?;
        passes.push(json!({"date": day_text(d), "count": n}));
        let g = estate::muster::net_g_of_day(store, d)?;
        muster.push(json!({"date": day_text(d), "kg": kg(g)}));
    }
    let pending_licences =
        crate::service::devices::count(store, crate::domain::devices::DeviceStatus::Pending)?;
    let overdue = gatepass::summary(svc)?.overdue;
    let locked = lockout::locked(svc)?;
    let locked_accounts = locked
        .iter()
        .filter(|(s, _)| s.starts_with("user:"))
        .count();
    let locked_devices = locked.len() - locked_accounts;
    let last = maintenance::last_backup(store)?;
    let now = svc.now_unix();
    let last_ok = last.as_ref().filter(|b| b.ok).map(|b| b.at_unix);
    let age = last_ok.map(|t| now - t);
    let too_old = age.is_none_or(|a| a > backup_max_age_secs(svc));
    Ok(json!({
        "date": day_text(today),
        "punches_per_hour": per_hour,
        "passes_per_day": passes,
        "muster_kg_per_day": muster,
        "needs_action": {
            "pending_licences": pending_licences,
            "pending_terminals": pending_terminals(svc)?,
            "overdue_material": overdue,
            "locked_accounts": locked_accounts,
            "locked_devices": locked_devices,
            "last_backup_age_secs": age,
            "last_backup_failed": last.as_ref().is_some_and(|b| !b.ok),
            "backup_too_old": too_old,
            "backup_max_age_secs": backup_max_age_secs(svc),
        },
    }))
}
