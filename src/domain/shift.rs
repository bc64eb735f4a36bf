//! Shifts, including night shifts across midnight.
//!
//! A shift instance is named by the site-local day it *starts* on (its attendance day): a
//! 22:00–06:00 shift started on the 1st runs until 06:00 on the 2nd, and a clock-out at 05:50 on
//! the 2nd belongs to the 1st. All arithmetic here is on site-local wall-clock times; the
//! service converts from UTC with the site's fixed offset.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    pub code: String,
    pub name: String,
    /// Local start, minutes after midnight (0..1440).
    pub start_min: u32,
    /// Local end, minutes after midnight; at or before `start_min` means the next day.
    pub end_min: u32,
    /// Worked minutes for a full day (atstatus 1); at least half of it gives a half day (0.5).
    pub full_day_min: u32,
    pub active: bool,
    pub updated_unix: i64,
}

/// How far around a shift a punch still belongs to it.
#[derive(Debug, Clone, Copy)]
pub struct Slack {
    /// Minutes before the start a clock-in is accepted for this instance.
    pub early_min: i64,
    /// Minutes after the end a clock-out still belongs to this instance.
    pub late_min: i64,
}

impl Shift {
    pub fn crosses_midnight(&self) -> bool {
        self.end_min <= self.start_min
    }

    pub fn length_min(&self) -> u32 {
        if self.crosses_midnight() {
            self.end_min + 1440 - self.start_min
        } else {
            self.end_min - self.start_min
        }
    }

    pub fn half_day_min(&self) -> u32 {
        self.full_day_min / 2
    }

    /// Local start and end of the instance that starts on `day`.
    pub fn instance(&self, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let start = day.and_time(NaiveTime::MIN) + Duration::minutes(self.start_min as i64);
        (start, start + Duration::minutes(self.length_min() as i64))
    }

    /// The attendance day of a punch at local time `t`: the instance (starting yesterday or
    /// today) whose window, widened by `slack`, contains `t`. Today's wins when both do.
    pub fn day_of(&self, t: NaiveDateTime, slack: Slack) -> Option<NaiveDate> {
        let today = t.date();
        [today, today - Duration::days(1)].into_iter().find(|d| {
            let (s, e) = self.instance(*d);
            t >= s - Duration::minutes(slack.early_min)
                && t <= e + Duration::minutes(slack.late_min)
        })
    }

    /// "HH:MM".
    pub fn hhmm(min: u32) -> String {
        format!("{:02}:{:02}", (min / 60) % 24, min % 60)
    }

    /// Parses "HH:MM" (00:00–23:59, "24:00" as midnight).
    pub fn parse_hhmm(s: &str) -> Option<u32> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        match (h, m) {
            (24, 0) => Some(0),
            (h, m) if h < 24 && m < 60 => Some(h * 60 + m),
            _ => None,
        }
    }
}

/// Day status on the HR roll (POABS `atstatus_updated`): 1 full day, 0.5 half day, 0 absent.
pub fn day_status(worked_min: i64, clocked_in: bool, full_day_min: u32) -> f64 {
    let full = full_day_min.max(1) as i64;
    if worked_min >= full {
        1.0
    } else if worked_min >= full / 2 || clocked_in {
        // A clock-in without its clock-out still proves presence: half a day, never nothing.
        0.5
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn night() -> Shift {
        Shift {
            code: "N".into(),
            name: "Night".into(),
            start_min: 22 * 60,
            end_min: 6 * 60,
            full_day_min: 420,
            active: true,
            updated_unix: 0,
        }
    }

    fn day() -> Shift {
        Shift {
            code: "D".into(),
            name: "Day".into(),
            start_min: 7 * 60,
            end_min: 15 * 60,
            full_day_min: 420,
            active: true,
            updated_unix: 0,
        }
    }

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    const SLACK: Slack = Slack {
        early_min: 120,
        late_min: 240,
    };

    #[test]
    fn night_shift_clock_out_belongs_to_the_day_before() {
        let n = night();
        assert!(n.crosses_midnight());
        assert_eq!(n.length_min(), 480);
        let d1 = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        // Clock-in 21:55 on the 1st, clock-out 05:50 on the 2nd: both the 1st.
        assert_eq!(n.day_of(at(1, 21, 55), SLACK), Some(d1));
        assert_eq!(n.day_of(at(2, 5, 50), SLACK), Some(d1));
        // Just after midnight too.
        assert_eq!(n.day_of(at(2, 0, 10), SLACK), Some(d1));
        // 09:59 (end + 4h - 1m) is still the 1st's; 10:01 is nobody's; 20:00 is the 2nd's.
        assert_eq!(n.day_of(at(2, 9, 59), SLACK), Some(d1));
        assert_eq!(n.day_of(at(2, 10, 1), SLACK), None);
        assert_eq!(
            n.day_of(at(2, 20, 0), SLACK),
            NaiveDate::from_ymd_opt(2026, 3, 2)
        );
        let (s, e) = n.instance(d1);
        assert_eq!((s, e), (at(1, 22, 0), at(2, 6, 0)));
    }

    #[test]
    fn day_shift_stays_on_its_day() {
        let d = day();
        assert_eq!(
            d.day_of(at(5, 6, 50), SLACK),
            NaiveDate::from_ymd_opt(2026, 3, 5)
        );
        assert_eq!(
            d.day_of(at(5, 15, 10), SLACK),
            NaiveDate::from_ymd_opt(2026, 3, 5)
        );
        assert_eq!(d.day_of(at(5, 4, 59), SLACK), None);
        assert!(!d.crosses_midnight());
    }

    #[test]
    fn hhmm_round_trip_and_edges() {
        assert_eq!(Shift::parse_hhmm("22:00"), Some(1320));
        assert_eq!(Shift::parse_hhmm("23:59"), Some(1439));
        assert_eq!(Shift::parse_hhmm("24:00"), Some(0));
        assert_eq!(Shift::parse_hhmm("24:01"), None);
        assert_eq!(Shift::parse_hhmm("7:60"), None);
        assert_eq!(Shift::hhmm(1320), "22:00");
    }

    #[test]
    fn day_status_thresholds() {
        assert_eq!(day_status(420, true, 420), 1.0);
        assert_eq!(day_status(419, true, 420), 0.5);
        assert_eq!(day_status(210, false, 420), 0.5);
        assert_eq!(day_status(209, false, 420), 0.0);
        assert_eq!(day_status(0, true, 420), 0.5);
    }
}
