//! Projects: a body of work across many days (replanting block C, a new road) that tasks
//! belong to.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::num_id;
use super::org::BusinessId;
use crate::domain::ids::UserId;

num_id!(ProjectId);

pub const CODE_MAX: usize = 20;
pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Planned,
    Active,
    OnHold,
    Closed,
}

impl ProjectStatus {
    pub const ALL: [ProjectStatus; 4] = [
        ProjectStatus::Planned,
        ProjectStatus::Active,
        ProjectStatus::OnHold,
        ProjectStatus::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Planned => "planned",
            ProjectStatus::Active => "active",
            ProjectStatus::OnHold => "on_hold",
            ProjectStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    /// Unique short code ("RPL-C-2026").
    pub code: String,
    pub name: String,
    pub description: String,
    pub business: Option<BusinessId>,
    pub status: ProjectStatus,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub created_by: UserId,
    pub created_unix: i64,
}

/// A project's dates must not run backwards.
pub fn dates_ok(start: Option<NaiveDate>, end: Option<NaiveDate>) -> bool {
    match (start, end) {
        (Some(s), Some(e)) => s <= e,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_before_start_is_refused() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day);
        assert!(dates_ok(d(1), d(1)));
        assert!(!dates_ok(d(2), d(1)));
        assert!(dates_ok(None, d(1)));
    }
}
