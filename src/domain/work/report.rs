//! Task reports: what was done in a period, per user, as a CSV or XLSX file.

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use super::num_id;
use crate::domain::ids::UserId;

num_id!(ReportId);

/// A longer period makes a file nobody reads and a box that stalls building it.
pub const MAX_PERIOD_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Csv,
    Xlsx,
}

impl ReportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(ReportFormat::Csv),
            "xlsx" => Some(ReportFormat::Xlsx),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

/// Site-local days `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodError {
    Reversed,
    TooLong,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// `[start, end)` in Unix seconds for a site `offset_minutes` east of UTC.
    pub fn unix_bounds(&self, offset_minutes: i32) -> (i64, i64) {
        let midnight = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp()
                - i64::from(offset_minutes) * 60
        };
        (midnight(self.from), midnight(self.to + TimeDelta::days(1)))
    }
}

/// One user's line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserLine {
    pub user: Option<UserId>,
    pub name: String,
    pub tasks_done: u64,
    pub worked_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub id: ReportId,
    pub requested_by: UserId,
    pub period: Period,
    pub format: ReportFormat,
    pub created_unix: i64,
    /// SHA-256 of the file (the blob's name).
    pub sha256: String,
    pub file_bytes: u64,
    pub tasks_done: u64,
    pub summary: Vec<UserLine>,
}

impl Report {
    pub fn file_name(&self) -> String {
        format!(
            "tasks-{}-{}.{}",
            self.period.from,
            self.period.to,
            self.format.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_site_local_days() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let p = Period::new(d(3, 1), d(3, 31)).unwrap();
        let (s, e) = p.unix_bounds(420);
        // 2026-03-01 00:00 +07:00 = 2026-02-28 17:00 UTC
        assert_eq!(s, 1772298000);
        assert_eq!(e - s, 31 * 86400);
        assert_eq!(Period::new(d(3, 2), d(3, 1)), Err(PeriodError::Reversed));
        // 366 days is the most; 367 is refused.
        assert!(Period::new(d(1, 1), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).is_ok());
        assert_eq!(
            Period::new(d(1, 1), NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()),
            Err(PeriodError::TooLong)
        );
    }
}
