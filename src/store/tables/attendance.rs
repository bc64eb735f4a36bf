//! Trees of the attendance and HR areas (records are defined in src/domain, keys chosen by
//! src/service/attendance.rs and src/service/hr.rs).

use super::TableInfo;
use crate::domain::attendance::{DayFigures, Punch, PunchState};
use crate::domain::geofence::Fence;
use crate::domain::hr::{Employee, Holiday};
use crate::domain::shift::Shift;
use crate::store::Record;

/// Employee code → employee (the HR roll).
impl Record for Employee {
    const TREE: &'static str = "employees";
}
/// Employee ‖ 0 ‖ server time (BE) ‖ punch id (BE) → punch, so one employee's punches sort by time.
impl Record for Punch {
    const TREE: &'static str = "punches";
}
/// Employee code → open clock-in and last punch.
impl Record for PunchState {
    const TREE: &'static str = "punch_state";
}
/// Counters (store::counters) of the allowed locations and the shifts (both capped on write:
/// service::geofence).
pub const COUNT_FENCES: &str = "geofence.fences";
pub const COUNT_SHIFTS: &str = "geofence.shifts";

/// Fence code → allowed location.
impl Record for Fence {
    const TREE: &'static str = "fences";
}
/// Shift code → shift.
impl Record for Shift {
    const TREE: &'static str = "shifts";
}
/// Firm ‖ 0 ‖ yyyy-mm-dd → holiday (firm empty = every firm).
impl Record for Holiday {
    const TREE: &'static str = "holidays";
}

/// Attendance day (yyyy-mm-dd) ‖ 0 ‖ punch key: the punches of one attendance day.
pub const PUNCHES_BY_DAY: &str = "punches_by_day";

/// Attendance day (yyyy-mm-dd) → that day's figures (schema 8), kept with every punch.
impl Record for DayFigures {
    const TREE: &'static str = "punches_day_figures";
}

/// Attendance day ‖ 0 ‖ employee code: who clocked in on a day (schema 8), so the day's
/// `present` counts each employee once.
pub const PRESENT_BY_DAY: &str = "punches_present_by_day";

/// `DayFigures`' key.
pub fn figures_key(day: chrono::NaiveDate) -> String {
    crate::domain::time::ymd(day)
}

/// `PRESENT_BY_DAY`'s entry for an employee and day.
pub fn present_key(day: chrono::NaiveDate, employee: &str) -> Vec<u8> {
    crate::store::key(&[
        crate::domain::time::ymd(day).as_bytes(),
        employee.as_bytes(),
    ])
}

/// Schema 7 → 8: the day figures and clock-in marks of the punches already stored, read
/// through the day index (day by day, so only one day's employees are held at once).
pub fn build_day_figures(store: &crate::store::Store) -> crate::store::Result<()> {
    use crate::domain::attendance::Direction;
    let mut out = super::rebuild::Rebuild::new(store);
    let mut day: Option<(chrono::NaiveDate, DayFigures)> = None;
    let mut present = std::collections::HashSet::<String>::new();
    for r in store.engine().scan(PUNCHES_BY_DAY, b"")? {
        let (k, _) = r?;
        // Day ‖ 0 ‖ punch key.
        let Some(at) = k.iter().position(|b| *b == 0) else {
            continue;
        };
        let Some(p) = store.get::<Punch>(&k[at + 1..])? else {
            continue;
        };
        let f = match &mut day {
            Some((d, f)) if *d == p.attendance_day => f,
            _ => {
                if let Some((d, f)) = day.take() {
                    out.put(figures_key(d).as_bytes(), &f)?;
                }
                present.clear();
                &mut day.insert((p.attendance_day, DayFigures::default())).1
            }
        };
        f.count(&p);
        if p.direction == Direction::In && present.insert(p.employee.clone()) {
            f.present += 1;
            out.index(PRESENT_BY_DAY, present_key(p.attendance_day, &p.employee))?;
        }
    }
    if let Some((d, f)) = day {
        out.put(figures_key(d).as_bytes(), &f)?;
    }
    out.finish()
}

/// Joining day (yyyy-mm-dd) ‖ 0 ‖ employee code: `emp_newjoin` reads the employees who joined
/// from a day on, not the roll (schema 6).
pub const EMPLOYEES_BY_DOJ: &str = "employees_by_doj";
/// Relieving day ‖ 0 ‖ code, for relieved employees only (`emp_relieving`).
pub const EMPLOYEES_BY_DOR: &str = "employees_by_dor";
/// Last change (`time_key`) ‖ code (`emp_edited`).
pub const EMPLOYEES_BY_EDIT: &str = "employees_by_edit";

/// An employee's entries in the three date indexes.
pub fn employee_entries(e: &Employee) -> Vec<(&'static str, Vec<u8>)> {
    let day = crate::domain::time::ymd;
    let mut out = vec![
        (
            EMPLOYEES_BY_DOJ,
            crate::store::key(&[day(e.doj).as_bytes(), e.code.as_bytes()]),
        ),
        (
            EMPLOYEES_BY_EDIT,
            [
                super::identity::time_key(e.updated_unix).as_slice(),
                e.code.as_bytes(),
            ]
            .concat(),
        ),
    ];
    if let Some(r) = &e.relieving {
        out.push((
            EMPLOYEES_BY_DOR,
            crate::store::key(&[day(r.date).as_bytes(), e.code.as_bytes()]),
        ));
    }
    out
}

/// Which date index of the roll a list reads, and from when.
#[derive(Debug, Clone, Copy)]
pub enum EmployeesBy {
    Joined(chrono::NaiveDate),
    Relieved(chrono::NaiveDate),
    /// Changed at or after this instant (unix seconds).
    EditedSince(i64),
}

impl EmployeesBy {
    /// The index and the key where its entries from `self` on begin.
    pub fn start(self) -> (&'static str, Vec<u8>) {
        let day = |d| crate::domain::time::ymd(d).into_bytes();
        match self {
            EmployeesBy::Joined(d) => (EMPLOYEES_BY_DOJ, day(d)),
            EmployeesBy::Relieved(d) => (EMPLOYEES_BY_DOR, day(d)),
            EmployeesBy::EditedSince(t) => {
                (EMPLOYEES_BY_EDIT, super::identity::time_key(t).to_vec())
            }
        }
    }
}

/// The employee code an entry of one of the date indexes names (see `employee_entries`).
pub fn employee_code_of<'k>(tree: &str, key: &'k [u8]) -> &'k [u8] {
    if tree == EMPLOYEES_BY_EDIT {
        return key.get(8..).unwrap_or(&[]);
    }
    key.iter()
        .position(|b| *b == 0)
        .map_or(&[][..], |i| &key[i + 1..])
}

/// Schema 5 → 6: the date indexes of the employees already on the roll.
pub fn build_employee_indexes(store: &crate::store::Store) -> crate::store::Result<()> {
    let mut out = super::rebuild::Rebuild::new(store);
    for r in store.scan_iter::<Employee>(b"")? {
        let (_, e) = r?;
        for (tree, key) in employee_entries(&e) {
            out.index(tree, key)?;
        }
    }
    out.finish()
}

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Employee),
        crate::table!(Punch),
        crate::table!(PunchState),
        crate::table!(DayFigures),
        crate::table!(Fence),
        crate::table!(Shift),
        crate::table!(Holiday),
        crate::index_table!(PUNCHES_BY_DAY),
        crate::index_table!(PRESENT_BY_DAY),
        crate::index_table!(EMPLOYEES_BY_DOJ),
        crate::index_table!(EMPLOYEES_BY_DOR),
        crate::index_table!(EMPLOYEES_BY_EDIT),
    ]
}

/// Replicated upstream (store::outbox): the HR roll, punches and the attendance setup.
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::{render_key, render_trailing_u64};
    vec![
        crate::replicated!(Employee, "employee", render_key),
        crate::replicated!(Punch, "punch", render_trailing_u64),
        crate::replicated!(Fence, "fence", render_key),
        crate::replicated!(Shift, "shift", render_key),
        crate::replicated!(Holiday, "holiday", render_key),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::domain::hr::{Employee, Leave, LeaveType, Relieving, Sex};
    use crate::store::codec;

    #[test]
    fn dates_and_enums_round_trip_through_the_codec() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        let mut e = Employee::new("009", "Lakshmi", Sex::F, d);
        e.dob = Some(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap());
        e.relieving = Some(Relieving {
            date: d,
            reason: "retired".into(),
        });
        e.leaves.push(Leave {
            from: d,
            to: d,
            leave_type: LeaveType::Cl,
            half_day: true,
        });
        let back: Employee = codec::decode(&codec::encode(&e)).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn a_schema_5_store_gets_the_roll_date_indexes() {
        use super::{EMPLOYEES_BY_DOJ, EMPLOYEES_BY_DOR, EMPLOYEES_BY_EDIT};
        use crate::store::{schema, Op, Record};
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut relieved = Employee::new("B2", "Meena", Sex::F, day(1, 5));
        relieved.relieving = Some(Relieving {
            date: day(3, 1),
            reason: "moved".into(),
        });
        relieved.updated_unix = 1_700_000_500;
        let mut joined = Employee::new("A1", "Ravi", Sex::M, day(2, 10));
        joined.updated_unix = 1_700_000_100;
        let ops: Vec<Op> = [relieved, joined]
            .iter()
            .map(|e| Op {
                tree: Employee::TREE.into(),
                key: e.code.as_bytes().to_vec(),
                value: Some(codec::encode(e)),
            })
            .collect();
        let store = schema::migrated(dir.path(), 5, ops);
        let keys = |tree: &str| store.index_keys(tree, b"").unwrap();
        assert_eq!(
            keys(EMPLOYEES_BY_DOJ),
            vec![b"2026-01-05\0B2".to_vec(), b"2026-02-10\0A1".to_vec()],
            "by joining day"
        );
        assert_eq!(keys(EMPLOYEES_BY_DOR), vec![b"2026-03-01\0B2".to_vec()]);
        let edits: Vec<Vec<u8>> = keys(EMPLOYEES_BY_EDIT)
            .iter()
            .map(|k| k[8..].to_vec())
            .collect();
        assert_eq!(
            edits,
            vec![b"A1".to_vec(), b"B2".to_vec()],
            "by last change"
        );
        assert!(schema::check(&store).unwrap().ok());
    }
}
