//! Clock in / clock out and what the day looks like. One call here serves the Daily Activity
//! app and, later, any other family that punches.
//!
//! The punch time is always the server's (a device clock can be wrong or set back); the device's
//! own time is stored beside it with the offset, and a large offset flags the punch. The
//! attendance day is the site-local day the shift instance started on.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::domain::attendance::{
    advance, decide, travel_speed_kmh, DayFigures, Decision, Direction, Flag, Punch, PunchState,
    Rules,
};
use crate::domain::geofence::{check, FenceCheck, LatLon};
use crate::domain::hr::Employee;
use crate::domain::identity::User;
use crate::domain::ids::UserId;
use crate::domain::shift::Slack;
use crate::store::tables::attendance::PUNCHES_BY_DAY;
use crate::store::{self, codec, Record, Store, Tx};

use super::{geofence, hr, Result, ServiceError, Services};

/// A punch refused for a reason the caller can act on.
#[derive(Debug)]
pub enum PunchError {
    Service(ServiceError),
    /// Outside every allowed location; the nearest one and how far it is (metres).
    Outside {
        fence: String,
        distance_m: f64,
    },
    /// No allowed location applies to this employee.
    NoFence,
    /// The reported GPS accuracy is worse than the configured maximum.
    Accuracy {
        max_m: f64,
    },
    /// Clock-out with no clock-in open.
    NotClockedIn,
    /// Clock-in while one is open (since, as site-local "HH:MM").
    AlreadyClockedIn {
        since_local: String,
    },
}

impl From<ServiceError> for PunchError {
    fn from(e: ServiceError) -> Self {
        PunchError::Service(e)
    }
}

impl From<store::StoreError> for PunchError {
    fn from(e: store::StoreError) -> Self {
        PunchError::Service(e.into())
    }
}

pub struct PunchInput<'a> {
    pub employee: &'a Employee,
    pub user: Option<UserId>,
    pub direction: Direction,
    pub position: LatLon,
    pub accuracy_m: f64,
    pub mock_location: bool,
    pub device_unix: Option<i64>,
    pub request_id: &'a str,
    pub note: &'a str,
}

pub struct PunchOutcome {
    pub punch: Punch,
    /// True when this was a double tap: `punch` is the first one, nothing was written.
    pub duplicate: bool,
}

/// The employee a signed-in user punches as.
/// The employee a signed-in user is linked to. Every attendance request of the app reads it,
/// so it comes through the hot cache, shared (see `Store::get_shared`).
pub fn employee_of_user(store: &Store, user: &User) -> Result<std::sync::Arc<Employee>> {
    let linked = match user.employee_code.as_deref() {
        Some(code) => store.get_shared::<Employee>(code.as_bytes())?,
        None => None,
    };
    linked.ok_or(ServiceError::NotFound {
        key: "attendance.employee.not_linked",
    })
}

pub fn set_user_employee(tx: &mut Tx, user: UserId, code: Option<&str>) -> Result<User> {
    hr::set_user_employee(tx, user, code)
}

fn offset_min(svc: &Services) -> i32 {
    svc.config.site.timezone_offset_minutes
}

pub fn local(at_unix: i64, offset_min: i32) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(at_unix, 0)
        .unwrap_or_default()
        .naive_utc()
        + Duration::minutes(offset_min as i64)
}

fn slack(svc: &Services) -> Slack {
    Slack {
        early_min: svc.config.attendance.early_clock_in_minutes,
        late_min: svc.config.attendance.late_clock_out_minutes,
    }
}

fn rules(svc: &Services) -> Rules {
    Rules {
        dedupe_window_secs: svc.config.attendance.dedupe_window_secs,
        max_open_secs: svc.config.attendance.max_open_shift_hours * 3600,
    }
}

pub fn punch_key(employee: &str, at_unix: i64, id: u64) -> Vec<u8> {
    store::key(&[
        employee.as_bytes(),
        &[at_unix.to_be_bytes(), id.to_be_bytes()].concat(),
    ])
}

fn day_text(d: NaiveDate) -> String {
    crate::domain::time::ymd(d)
}

pub fn punch(
    svc: &Services,
    tx: &mut Tx,
    input: PunchInput<'_>,
) -> Result<PunchOutcome, PunchError> {
    let cfg = &svc.config.attendance;
    let emp = input.employee;
    if input.accuracy_m > cfg.max_gps_accuracy_m {
        return Err(PunchError::Accuracy {
            max_m: cfg.max_gps_accuracy_m,
        });
    }
    let now = svc.now_unix();
    let offset = offset_min(svc);
    let state = tx
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    match decide(&state, input.direction, now, &rules(svc)) {
        Decision::Record => {}
        Decision::Duplicate(first) => {
            let punch = tx
                .get::<Punch>(&first.key)?
                .ok_or_else(|| ServiceError::Internal("punch state points at nothing".into()))?;
            return Ok(PunchOutcome {
                punch,
                duplicate: true,
            });
        }
        Decision::NotClockedIn => return Err(PunchError::NotClockedIn),
        Decision::AlreadyClockedIn { since_unix } => {
            return Err(PunchError::AlreadyClockedIn {
                since_local: local(since_unix, offset)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            })
        }
    }
    let fences = geofence::allowed_fences(tx.store(), emp)?;
    let (fence, fence_distance_m) = match check(fences.iter(), input.position, input.accuracy_m) {
        FenceCheck::Inside { fence, distance_m } => (fence, distance_m),
        FenceCheck::NoFence => return Err(PunchError::NoFence),
        FenceCheck::Outside {
            nearest_name,
            distance_m,
            ..
        } => {
            return Err(PunchError::Outside {
                fence: nearest_name,
                distance_m,
            })
        }
    };
    let mut flags = Vec::new();
    if input.mock_location {
        flags.push(Flag::MockLocation);
    }
    if let Some(last) = &state.last {
        if let Some(kmh) = travel_speed_kmh(last, input.position, input.accuracy_m, now) {
            if kmh > cfg.max_plausible_speed_kmh {
                flags.push(Flag::ImpossibleSpeed {
                    kmh: (kmh * 10.0).round() / 10.0,
                });
            }
        }
    }
    let clock_offset = input.device_unix.map(|d| d - now);
    if let Some(off) = clock_offset {
        if off.abs() > cfg.device_clock_skew_secs {
            flags.push(Flag::DeviceClockSkew { secs: off });
        }
    }
    let shift = geofence::shift(tx.store(), &emp.shift)?;
    let local_now = local(now, offset);
    let open = state
        .open_in
        .as_ref()
        .filter(|_| input.direction == Direction::Out);
    let attendance_day = match (open, &shift) {
        // A clock-out closes the shift its clock-in opened, whatever the date is now.
        (Some(o), _) => o.attendance_day,
        (None, Some(s)) => s.day_of(local_now, slack(svc)).unwrap_or_else(|| {
            flags.push(Flag::OutsideShift);
            local_now.date()
        }),
        (None, None) => local_now.date(),
    };
    let id = super::identity::next_id(tx, "punch")?;
    let p = Punch {
        id,
        employee: emp.code.clone(),
        direction: input.direction,
        at_unix: now,
        device_unix: input.device_unix,
        clock_offset_secs: clock_offset,
        site_offset_min: offset,
        attendance_day,
        shift: shift.map(|s| s.code),
        position: input.position,
        accuracy_m: input.accuracy_m,
        fence,
        fence_distance_m: (fence_distance_m * 10.0).round() / 10.0,
        flags,
        request_id: input.request_id.to_string(),
        user: input.user.map(|u| u.0),
        note: input.note.to_string(),
    };
    let key = punch_key(&emp.code, now, id);
    tx.put(&key, &p);
    tx.index(
        PUNCHES_BY_DAY,
        &[
            store::prefix(&[day_text(attendance_day).as_bytes()]),
            key.clone(),
        ]
        .concat(),
    );
    count_punch(tx, &p)?;
    tx.put(emp.code.as_bytes(), &advance(&key, &p));
    if p.suspicious() {
        tracing::warn!(employee = %p.employee, flags = ?p.flags, "punch flagged as possibly spoofed");
    }
    Ok(PunchOutcome {
        punch: p,
        duplicate: false,
    })
}

/// The attendance day an employee is in now: the open shift's, else the shift instance around
/// now, else the site's local day.
pub fn current_day(svc: &Services, emp: &Employee) -> Result<NaiveDate> {
    let state = svc
        .store
        .get::<PunchState>(emp.code.as_bytes())?
        .unwrap_or_default();
    current_day_of(svc, emp, &state)
}

/// `current_day` for a caller that has read the employee's punch state already.
pub fn current_day_of(svc: &Services, emp: &Employee, state: &PunchState) -> Result<NaiveDate> {
    let now = svc.now_unix();
    if let Some(o) = state
        .open_in
        .as_ref()
        .filter(|o| now - o.at_unix <= rules(svc).max_open_secs)
    {
        return Ok(o.attendance_day);
    }
    let local_now = local(now, offset_min(svc));
    let shift = geofence::shift(&svc.store, &emp.shift)?;
    Ok(shift
        .and_then(|s| s.day_of(local_now, slack(svc)))
        .unwrap_or_else(|| local_now.date()))
}

/// Every punch of one attendance day, in key order (employee, time).
pub fn punches_of_day(store: &Store, day: NaiveDate) -> Result<Vec<Punch>> {
    let keys = store.index_keys(PUNCHES_BY_DAY, &store::prefix(&[day_text(day).as_bytes()]))?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(p) = store.get::<Punch>(&k)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// One employee's punches of one attendance day, by time.
pub fn employee_day(store: &Store, code: &str, day: NaiveDate) -> Result<Vec<Punch>> {
    let prefix = [
        store::prefix(&[day_text(day).as_bytes()]),
        store::prefix(&[code.as_bytes()]),
    ]
    .concat();
    let keys = store.index_keys(PUNCHES_BY_DAY, &prefix)?;
    let mut out = Vec::new();
    for k in keys {
        let full = [store::prefix(&[code.as_bytes()]), k].concat();
        if let Some(p) = store.get::<Punch>(&full)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// One employee's punches with server time in `from..to` (unix seconds), by time.
pub fn employee_between(store: &Store, code: &str, from: i64, to: i64) -> Result<Vec<Punch>> {
    let start = store::key(&[code.as_bytes(), &from.max(0).to_be_bytes()]);
    let end = store::key(&[code.as_bytes(), &to.max(0).to_be_bytes()]);
    let mut out = Vec::new();
    for kv in store.engine().range(Punch::TREE, &start, &end)? {
        let (_, v) = kv?;
        out.push(codec::decode::<Punch>(&v)?);
    }
    Ok(out)
}

/// Minutes worked over a day's punches: each clock-in paired with the next clock-out.
pub fn worked_minutes(punches: &[Punch]) -> i64 {
    let mut open: Option<i64> = None;
    let mut total = 0;
    for p in punches {
        match (p.direction, open) {
            (Direction::In, None) => open = Some(p.at_unix),
            (Direction::Out, Some(t)) => {
                total += (p.at_unix - t) / 60;
                open = None;
            }
            _ => {}
        }
    }
    total
}

pub use super::attendance_demo::demo;
pub use super::attendance_views::*;

pub(super) fn site_offset(svc: &Services) -> i32 {
    offset_min(svc)
}

pub(super) fn max_open_secs(svc: &Services) -> i64 {
    rules(svc).max_open_secs
}

pub(super) fn day_key(d: NaiveDate) -> String {
    day_text(d)
}

/// Keeps the day's figures with a new punch (schema 8), and its `present` on the employee's
/// first clock-in of that day. Every punch written goes through here, so the dashboard reads
/// one record, never the day's punches (`bench-fill` too, for its timed writes).
pub fn count_punch(tx: &mut Tx, p: &Punch) -> Result<()> {
    use crate::store::tables::attendance::{figures_key, present_key, PRESENT_BY_DAY};
    let key = figures_key(p.attendance_day);
    let mut f = tx.get::<DayFigures>(key.as_bytes())?.unwrap_or_default();
    f.count(p);
    if p.direction == Direction::In {
        let mark = present_key(p.attendance_day, &p.employee);
        if !tx.contains_raw(PRESENT_BY_DAY, &mark)? {
            tx.index(PRESENT_BY_DAY, &mark);
            f.present += 1;
        }
    }
    tx.put(key.as_bytes(), &f);
    Ok(())
}

/// The dashboard's figures of one attendance day (none yet: zeros).
pub fn day_figures(store: &Store, day: NaiveDate) -> Result<DayFigures> {
    let key = crate::store::tables::attendance::figures_key(day);
    Ok(store.get::<DayFigures>(key.as_bytes())?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A punch for the index test (ins and outs alternate by id).
    fn punch(code: &str, id: u64, at_unix: i64, day: NaiveDate) -> Punch {
        let direction = [Direction::Out, Direction::In][(id % 2) as usize];
        Punch::for_tests(id, code, direction, at_unix, day)
    }

    /// An employee's day is the punches indexed under that day and code: not another day's punch
    /// that lies between them in time, not the punches of a code that begins with theirs. Read
    /// back both from the overlay (just applied) and from the store under it.
    #[tokio::test]
    async fn an_employees_day_is_its_own_punches_only() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _svc) = Services::for_tests(dir.path());
        let d = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let (before, after) = (d.pred_opt().unwrap(), d.succ_opt().unwrap());
        let t = 1_796_000_000;
        let mut tx = store.begin().await;
        for p in [
            punch("E1", 1, t, d),
            // Between E1's two punches of `d`, under another attendance day.
            punch("E1", 2, t + 60, before),
            punch("E1", 3, t + 120, d),
            punch("E1", 4, t + 180, after),
            // Another code that starts with "E1", its punch between E1's by time.
            punch("E10", 5, t + 30, d),
        ] {
            let key = punch_key(&p.employee, p.at_unix, p.id);
            tx.put(&key, &p);
            let day = store::prefix(&[day_text(p.attendance_day).as_bytes()]);
            tx.index(PUNCHES_BY_DAY, &[day, key].concat());
        }
        tx.commit().await.unwrap();
        let ids = |code: &str, day: NaiveDate| -> Vec<u64> {
            employee_day(&store, code, day)
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect()
        };
        for _ in 0..2 {
            assert_eq!(ids("E1", d), [1, 3]);
            assert_eq!(ids("E1", before), [2]);
            assert_eq!(ids("E1", after), [4]);
            assert_eq!(ids("E10", d), [5]);
            assert_eq!(ids("E2", d), Vec::<u64>::new());
            store.durable().await.unwrap();
            store.engine().drain().unwrap();
        }
    }
}
