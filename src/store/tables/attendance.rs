//! Trees of the attendance and HR areas (records are defined in src/domain, keys chosen by
//! src/service/attendance.rs and src/service/hr.rs).

use super::TableInfo;
use crate::domain::attendance::{Punch, PunchState};
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

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Employee),
        crate::table!(Punch),
        crate::table!(PunchState),
        crate::table!(Fence),
        crate::table!(Shift),
        crate::table!(Holiday),
        crate::index_table!(PUNCHES_BY_DAY),
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
}
