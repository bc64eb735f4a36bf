//! Attendance punches: the clock-in/clock-out state machine, de-duplication of double taps,
//! and the signs of a spoofed position. Fences are in `geofence`, shifts in `shift`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::geofence::{haversine_m, LatLon};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// Why a punch looks doubtful. Stored on the punch and shown; never a silent refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Flag {
    /// The device said its position came from a mock-location provider.
    MockLocation,
    /// Moving from the previous punch to this one needed this speed (km/h).
    ImpossibleSpeed { kmh: f64 },
    /// The device clock differs from the server's by this many seconds.
    DeviceClockSkew { secs: i64 },
    /// The punch fits no instance of the employee's shift.
    OutsideShift,
    /// A terminal sent no in/out state (status 255): resolved by first-in/last-out.
    UndefinedStatus,
}

impl Flag {
    pub fn code(&self) -> &'static str {
        match self {
            Flag::MockLocation => "mock_location",
            Flag::ImpossibleSpeed { .. } => "impossible_speed",
            Flag::DeviceClockSkew { .. } => "device_clock_skew",
            Flag::OutsideShift => "outside_shift",
            Flag::UndefinedStatus => "undefined_status",
        }
    }

    /// Whether the flag suggests the position may be faked (as opposed to a scheduling note).
    pub fn spoofing(&self) -> bool {
        matches!(self, Flag::MockLocation | Flag::ImpossibleSpeed { .. })
    }
}

/// One attendance day's figures, kept with every punch of the day (schema 8): what the
/// dashboard shows, read as one record instead of the day's punches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    pub punches_in: u64,
    pub punches_out: u64,
    /// Punches with a spoofing flag.
    pub flagged: u64,
    /// Employees with a clock-in that day (counted by the caller, which knows who came).
    pub present: u64,
    /// Punches per site-local hour.
    pub per_hour: [u64; 24],
}

impl DayFigures {
    /// Counts one punch of the day (not `present`).
    pub fn count(&mut self, p: &Punch) {
        match p.direction {
            Direction::In => self.punches_in += 1,
            Direction::Out => self.punches_out += 1,
        }
        if p.suspicious() {
            self.flagged += 1;
        }
        self.per_hour[(p.local_hour() as usize).min(23)] += 1;
    }
}

/// One clock-in or clock-out as stored. Instants are UTC unix seconds; the site's offset at the
/// time and the device's clock offset are kept beside them so a report can show both clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Punch {
    pub id: u64,
    pub employee: String,
    pub direction: Direction,
    /// Server time of the punch (authoritative).
    pub at_unix: i64,
    /// The device's own clock when it sent the punch, if it said.
    pub device_unix: Option<i64>,
    /// device − server, seconds.
    pub clock_offset_secs: Option<i64>,
    pub site_offset_min: i32,
    /// The shift instance's start day (site-local); for a night shift's clock-out, the day before.
    pub attendance_day: NaiveDate,
    pub shift: Option<String>,
    pub position: LatLon,
    pub accuracy_m: f64,
    /// The fence the punch was inside, and its distance to it (0 when strictly inside).
    pub fence: String,
    pub fence_distance_m: f64,
    pub flags: Vec<Flag>,
    pub request_id: String,
    /// The signed-in user who punched (Daily Activity), if any.
    pub user: Option<u64>,
    pub note: String,
}

impl Punch {
    pub fn suspicious(&self) -> bool {
        self.flags.iter().any(Flag::spoofing)
    }

    /// The hour of the day, site-local, the punch was made at (the dashboard's chart).
    pub fn local_hour(&self) -> u32 {
        use chrono::Timelike;
        let local = self
            .at_unix
            .saturating_add(i64::from(self.site_offset_min) * 60);
        chrono::DateTime::from_timestamp(local, 0)
            .unwrap_or_default()
            .hour()
    }
}

#[cfg(test)]
impl Punch {
    /// A plain punch at +07:00 with no flags, place or note: what tests vary, they set.
    pub(crate) fn for_tests(
        id: u64,
        employee: &str,
        direction: Direction,
        at_unix: i64,
        day: NaiveDate,
    ) -> Punch {
        Punch {
            id,
            employee: employee.into(),
            direction,
            at_unix,
            device_unix: None,
            clock_offset_secs: None,
            site_offset_min: 420,
            attendance_day: day,
            shift: None,
            position: LatLon { lat: 0.0, lon: 0.0 },
            accuracy_m: 1.0,
            fence: String::new(),
            fence_distance_m: 0.0,
            flags: Vec::new(),
            request_id: format!("r{id}"),
            user: None,
            note: String::new(),
        }
    }
}

/// The last punch of an employee, as the state machine needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PunchRef {
    pub key: Vec<u8>,
    pub direction: Direction,
    pub at_unix: i64,
    pub attendance_day: NaiveDate,
    pub position: LatLon,
    pub accuracy_m: f64,
}

/// Per-employee attendance state, so a punch never scans the employee's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PunchState {
    /// The clock-in still waiting for its clock-out.
    pub open_in: Option<PunchRef>,
    pub last: Option<PunchRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Record,
    /// A double tap or retry: the first punch is the answer.
    Duplicate(PunchRef),
    /// A clock-out with no clock-in open.
    NotClockedIn,
    /// A second clock-in while one is open.
    AlreadyClockedIn {
        since_unix: i64,
    },
}

pub struct Rules {
    pub dedupe_window_secs: i64,
    /// A clock-in older than this without a clock-out is abandoned (forgotten clock-out).
    pub max_open_secs: i64,
}

/// What to do with a punch in `dir` at `now`, given the employee's state.
pub fn decide(state: &PunchState, dir: Direction, now: i64, rules: &Rules) -> Decision {
    if let Some(last) = &state.last {
        if last.direction == dir && (now - last.at_unix).abs() <= rules.dedupe_window_secs {
            return Decision::Duplicate(last.clone());
        }
    }
    let open = state
        .open_in
        .as_ref()
        .filter(|o| now - o.at_unix <= rules.max_open_secs);
    match (dir, open) {
        (Direction::In, Some(o)) => Decision::AlreadyClockedIn {
            since_unix: o.at_unix,
        },
        (Direction::In, None) => Decision::Record,
        (Direction::Out, Some(_)) => Decision::Record,
        (Direction::Out, None) => Decision::NotClockedIn,
    }
}

/// The state after recording `p` under `key`.
pub fn advance(key: &[u8], p: &Punch) -> PunchState {
    let r = PunchRef {
        key: key.to_vec(),
        direction: p.direction,
        at_unix: p.at_unix,
        attendance_day: p.attendance_day,
        position: p.position,
        accuracy_m: p.accuracy_m,
    };
    PunchState {
        open_in: match p.direction {
            Direction::In => Some(r.clone()),
            Direction::Out => None,
        },
        last: Some(r),
    }
}

/// Speed (km/h) needed to get from the previous punch to this one, when the move is larger than
/// the two positions' combined accuracy (smaller moves are GPS jitter, not travel).
pub fn travel_speed_kmh(prev: &PunchRef, pos: LatLon, accuracy_m: f64, now: i64) -> Option<f64> {
    let d = haversine_m(prev.position, pos);
    if d <= prev.accuracy_m + accuracy_m {
        return None;
    }
    let secs = (now - prev.at_unix).max(1) as f64;
    Some(d / 1000.0 / (secs / 3600.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pref(dir: Direction, at: i64) -> PunchRef {
        PunchRef {
            key: vec![1],
            direction: dir,
            at_unix: at,
            attendance_day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            position: LatLon::new(8.95, 77.30),
            accuracy_m: 10.0,
        }
    }

    const RULES: Rules = Rules {
        dedupe_window_secs: 120,
        max_open_secs: 20 * 3600,
    };

    #[test]
    fn double_tap_within_the_window_is_the_first_punch() {
        let s = PunchState {
            open_in: Some(pref(Direction::In, 1000)),
            last: Some(pref(Direction::In, 1000)),
        };
        assert!(matches!(
            decide(&s, Direction::In, 1120, &RULES),
            Decision::Duplicate(_)
        ));
        assert_eq!(
            decide(&s, Direction::In, 1121, &RULES),
            Decision::AlreadyClockedIn { since_unix: 1000 }
        );
        assert_eq!(decide(&s, Direction::Out, 1010, &RULES), Decision::Record);
    }

    #[test]
    fn clock_out_needs_an_open_clock_in() {
        let empty = PunchState::default();
        assert_eq!(
            decide(&empty, Direction::Out, 5, &RULES),
            Decision::NotClockedIn
        );
        assert_eq!(decide(&empty, Direction::In, 5, &RULES), Decision::Record);
        // A clock-in forgotten for more than max_open is abandoned.
        let stale = PunchState {
            open_in: Some(pref(Direction::In, 0)),
            last: Some(pref(Direction::In, 0)),
        };
        assert_eq!(
            decide(&stale, Direction::Out, 20 * 3600 + 1, &RULES),
            Decision::NotClockedIn
        );
        assert_eq!(
            decide(&stale, Direction::In, 20 * 3600 + 1, &RULES),
            Decision::Record
        );
        // After a clock-out, a second clock-out (outside the window) is refused.
        let out = PunchState {
            open_in: None,
            last: Some(pref(Direction::Out, 100)),
        };
        assert_eq!(
            decide(&out, Direction::Out, 500, &RULES),
            Decision::NotClockedIn
        );
        assert!(matches!(
            decide(&out, Direction::Out, 200, &RULES),
            Decision::Duplicate(_)
        ));
    }

    #[test]
    fn speed_ignores_jitter_and_catches_teleports() {
        let prev = pref(Direction::In, 0);
        // 15 m in 10 s is within the combined accuracy: no speed at all.
        let near = LatLon::new(8.95 + 15.0 / 111_195.0, 77.30);
        assert_eq!(travel_speed_kmh(&prev, near, 10.0, 10), None);
        // ~11 km in 60 s ≈ 667 km/h.
        let far = LatLon::new(8.85, 77.30);
        let v = travel_speed_kmh(&prev, far, 10.0, 60).unwrap();
        assert!((600.0..700.0).contains(&v), "{v}");
        // The same trip in three hours is a normal drive.
        let v = travel_speed_kmh(&prev, far, 10.0, 3 * 3600).unwrap();
        assert!(v < 5.0, "{v}");
    }

    #[test]
    fn advance_opens_and_closes() {
        let p = Punch {
            id: 1,
            employee: "E1".into(),
            direction: Direction::In,
            at_unix: 10,
            device_unix: None,
            clock_offset_secs: None,
            site_offset_min: 420,
            attendance_day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            shift: None,
            position: LatLon::new(0.0, 0.0),
            accuracy_m: 5.0,
            fence: "A".into(),
            fence_distance_m: 0.0,
            flags: vec![Flag::MockLocation],
            request_id: "r".into(),
            user: None,
            note: String::new(),
        };
        assert!(p.suspicious());
        let s = advance(b"k", &p);
        assert!(s.open_in.is_some());
        let out = Punch {
            direction: Direction::Out,
            flags: vec![Flag::OutsideShift],
            ..p
        };
        assert!(!out.suspicious());
        let s = advance(b"k2", &out);
        assert!(s.open_in.is_none());
        assert_eq!(s.last.unwrap().direction, Direction::Out);
    }

    #[test]
    fn day_figures_count_directions_spoofing_and_the_site_local_hour() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        // 23:30 UTC on the 4th is 06:30 at +07:00; 16:59:59 UTC is 23:59:59.
        let at = |h, m, s| {
            NaiveDate::from_ymd_opt(2026, 12, 4)
                .unwrap()
                .and_hms_opt(h, m, s)
                .unwrap()
                .and_utc()
                .timestamp()
        };
        let punch = |direction, at_unix, flags| Punch {
            flags,
            ..Punch::for_tests(1, "E1", direction, at_unix, day)
        };
        let mut f = DayFigures::default();
        f.count(&punch(Direction::In, at(23, 30, 0), vec![]));
        f.count(&punch(
            Direction::Out,
            at(16, 59, 59) + 86_400,
            vec![Flag::MockLocation],
        ));
        // Skew alone is not spoofing.
        f.count(&punch(
            Direction::In,
            at(23, 59, 0),
            vec![Flag::DeviceClockSkew { secs: 400 }],
        ));
        let mut per_hour = [0; 24];
        per_hour[6] = 2;
        per_hour[23] = 1;
        assert_eq!(
            f,
            DayFigures {
                punches_in: 2,
                punches_out: 1,
                flagged: 1,
                present: 0,
                per_hour,
            }
        );
    }
}
