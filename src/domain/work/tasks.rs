//! Tasks: a piece of field or office work for a day, assigned to a user, with the time spent on
//! it (work sessions, which feed the timesheet) and photos as proof.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::num_id;
use super::org::BusinessId;
use super::projects::ProjectId;
use crate::domain::ids::UserId;

num_id!(TaskId);
num_id!(TaskImageId);

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;
pub const CAPTION_MAX: usize = 200;
pub const SEARCH_MAX: usize = 100;
/// Photos per task: enough for proof of work, bounded so one task can't fill the card.
pub const MAX_IMAGES_PER_TASK: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Open,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Which status changes make sense. Finished work is reopened before it is started again,
    /// so a completion time never silently disappears.
    pub fn can_become(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        self == to
            || matches!(
                (self, to),
                (Open, InProgress)
                    | (Open, Done)
                    | (Open, Cancelled)
                    | (InProgress, Open)
                    | (InProgress, Done)
                    | (InProgress, Cancelled)
                    | (Done, Open)
                    | (Cancelled, Open)
            )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Normal, Priority::High];
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The kinds of work on an estate; a fixed list so reports group the same way everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskCategory {
    Harvest,
    Maintenance,
    Planting,
    Spraying,
    Inspection,
    Administration,
    Other,
}

impl TaskCategory {
    pub const ALL: [TaskCategory; 7] = [
        TaskCategory::Harvest,
        TaskCategory::Maintenance,
        TaskCategory::Planting,
        TaskCategory::Spraying,
        TaskCategory::Inspection,
        TaskCategory::Administration,
        TaskCategory::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TaskCategory::Harvest => "harvest",
            TaskCategory::Maintenance => "maintenance",
            TaskCategory::Planting => "planting",
            TaskCategory::Spraying => "spraying",
            TaskCategory::Inspection => "inspection",
            TaskCategory::Administration => "administration",
            TaskCategory::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Catalogue key of its display name.
    pub fn label_key(self) -> &'static str {
        match self {
            TaskCategory::Harvest => "task.category.harvest",
            TaskCategory::Maintenance => "task.category.maintenance",
            TaskCategory::Planting => "task.category.planting",
            TaskCategory::Spraying => "task.category.spraying",
            TaskCategory::Inspection => "task.category.inspection",
            TaskCategory::Administration => "task.category.administration",
            TaskCategory::Other => "task.category.other",
        }
    }
}

/// A stretch of time someone worked on a task; open while the task runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkSession {
    pub user: UserId,
    pub start_unix: i64,
    pub end_unix: Option<i64>,
}

impl WorkSession {
    /// Seconds of this session inside `[from, to)`, an open session counting until `now`.
    pub fn seconds_within(&self, from: i64, to: i64, now: i64) -> i64 {
        let end = self.end_unix.unwrap_or(now).min(to);
        let start = self.start_unix.max(from);
        (end - start).max(0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub description: String,
    pub category: TaskCategory,
    pub priority: Priority,
    pub status: TaskStatus,
    /// The site-local day the work is planned for.
    pub date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub business: Option<BusinessId>,
    pub project: Option<ProjectId>,
    pub assignee: Option<UserId>,
    pub created_by: UserId,
    pub created_unix: i64,
    pub updated_unix: i64,
    pub completed_unix: Option<i64>,
    pub completed_by: Option<UserId>,
    pub sessions: Vec<WorkSession>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRuleError {
    /// The status cannot change from → to.
    Transition { from: TaskStatus, to: TaskStatus },
}

impl Task {
    /// The user whose time a started task counts for: its assignee, else whoever started it.
    pub fn worker(&self, actor: UserId) -> UserId {
        self.assignee.unwrap_or(actor)
    }

    pub fn running(&self) -> Option<&WorkSession> {
        self.sessions.last().filter(|s| s.end_unix.is_none())
    }

    pub fn worked_seconds(&self, now: i64) -> i64 {
        self.sessions
            .iter()
            .map(|s| s.seconds_within(i64::MIN, i64::MAX, now))
            .sum()
    }

    /// Seconds `user` worked on this task inside `[from, to)`.
    pub fn worked_by_within(&self, user: UserId, from: i64, to: i64, now: i64) -> i64 {
        self.sessions
            .iter()
            .filter(|s| s.user == user)
            .map(|s| s.seconds_within(from, to, now))
            .sum()
    }

    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        matches!(self.status, TaskStatus::Open | TaskStatus::InProgress)
            && self.due_date.is_some_and(|d| d < today)
    }

    /// Changes the status, keeping the work sessions and completion stamp consistent:
    /// starting opens a session for the worker, leaving `in_progress` closes it, finishing
    /// stamps who and when, reopening clears that stamp.
    pub fn set_status(
        &mut self,
        to: TaskStatus,
        actor: UserId,
        now: i64,
    ) -> Result<(), TaskRuleError> {
        let from = self.status;
        if from == to {
            return Ok(());
        }
        if !from.can_become(to) {
            return Err(TaskRuleError::Transition { from, to });
        }
        if from == TaskStatus::InProgress {
            if let Some(s) = self.sessions.last_mut().filter(|s| s.end_unix.is_none()) {
                s.end_unix = Some(now.max(s.start_unix));
            }
        }
        match to {
            TaskStatus::InProgress => self.sessions.push(WorkSession {
                user: self.worker(actor),
                start_unix: now,
                end_unix: None,
            }),
            TaskStatus::Done => {
                self.completed_unix = Some(now);
                self.completed_by = Some(actor);
            }
            TaskStatus::Open | TaskStatus::Cancelled => {
                self.completed_unix = None;
                self.completed_by = None;
            }
        }
        self.status = to;
        self.updated_unix = now;
        Ok(())
    }
}

/// What a task list is narrowed to. Every field left `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub assignee: Option<UserId>,
    pub business: Option<BusinessId>,
    pub project: Option<ProjectId>,
    pub category: Option<TaskCategory>,
    /// Work days `from..=to`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Case-insensitive words in the title or description.
    pub q: Option<String>,
    /// Only tasks assigned to or created by this user.
    pub involving: Option<UserId>,
}

impl TaskFilter {
    pub fn matches(&self, t: &Task) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && self.assignee.is_none_or(|u| t.assignee == Some(u))
            && self.business.is_none_or(|b| t.business == Some(b))
            && self.project.is_none_or(|p| t.project == Some(p))
            && self.category.is_none_or(|c| t.category == c)
            && self.from.is_none_or(|d| t.date >= d)
            && self.to.is_none_or(|d| t.date <= d)
            && self
                .involving
                .is_none_or(|u| t.assignee == Some(u) || t.created_by == u)
            && self.q.as_deref().is_none_or(|q| {
                let q = q.to_lowercase();
                t.title.to_lowercase().contains(&q) || t.description.to_lowercase().contains(&q)
            })
    }
}

/// Newest work day first, then newest task first.
pub fn list_order(a: &Task, b: &Task) -> std::cmp::Ordering {
    b.date.cmp(&a.date).then(b.id.cmp(&a.id))
}

/// Image formats accepted as task photos, recognised by their first bytes (a client's
/// content-type is not trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageMedia {
    Jpeg,
    Png,
    Webp,
}

impl ImageMedia {
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageMedia::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(ImageMedia::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageMedia::Webp)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageMedia::Jpeg => "image/jpeg",
            ImageMedia::Png => "image/png",
            ImageMedia::Webp => "image/webp",
        }
    }
}

/// A photo of a task. The bytes are a blob on disk (by SHA-256); this is its metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskImage {
    pub id: TaskImageId,
    pub task: TaskId,
    /// Lower-case hex SHA-256 of the file (the blob's name).
    pub sha256: String,
    pub media: ImageMedia,
    pub bytes: u64,
    pub caption: String,
    pub uploaded_by: UserId,
    pub uploaded_unix: i64,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task {
            id: TaskId(1),
            title: "Prune block B".into(),
            description: String::new(),
            category: TaskCategory::Maintenance,
            priority: Priority::Normal,
            status: TaskStatus::Open,
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            due_date: None,
            business: None,
            project: None,
            assignee: Some(UserId(7)),
            created_by: UserId(1),
            created_unix: 0,
            updated_unix: 0,
            completed_unix: None,
            completed_by: None,
            sessions: vec![],
            latitude: None,
            longitude: None,
        }
    }

    #[test]
    fn starting_and_finishing_keeps_sessions_and_stamps() {
        let mut t = task();
        t.set_status(TaskStatus::InProgress, UserId(1), 100)
            .unwrap();
        assert_eq!(
            t.running().unwrap().user,
            UserId(7),
            "time counts for the assignee"
        );
        assert_eq!(t.worked_seconds(160), 60);
        t.set_status(TaskStatus::Done, UserId(7), 400).unwrap();
        assert!(t.running().is_none());
        assert_eq!(t.worked_seconds(10_000), 300);
        assert_eq!(t.completed_unix, Some(400));
        assert_eq!(t.completed_by, Some(UserId(7)));
        assert_eq!(
            t.set_status(TaskStatus::InProgress, UserId(7), 500),
            Err(TaskRuleError::Transition {
                from: TaskStatus::Done,
                to: TaskStatus::InProgress
            })
        );
        t.set_status(TaskStatus::Open, UserId(1), 600).unwrap();
        assert_eq!(t.completed_unix, None, "reopening clears the completion");
    }

    #[test]
    fn seconds_are_clipped_to_the_window() {
        let s = WorkSession {
            user: UserId(1),
            start_unix: 50,
            end_unix: Some(150),
        };
        assert_eq!(s.seconds_within(100, 200, 999), 50);
        assert_eq!(s.seconds_within(0, 60, 999), 10);
        assert_eq!(s.seconds_within(200, 300, 999), 0);
        let open = WorkSession {
            end_unix: None,
            ..s
        };
        assert_eq!(open.seconds_within(0, 1000, 90), 40);
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(
            ImageMedia::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageMedia::Jpeg)
        );
        assert_eq!(
            ImageMedia::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageMedia::Png)
        );
        assert_eq!(
            ImageMedia::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageMedia::Webp)
        );
        assert_eq!(ImageMedia::sniff(b"GIF89a"), None);
        assert_eq!(ImageMedia::sniff(b""), None);
    }

    #[test]
    fn filters_combine() {
        let t = task();
        let mut f = TaskFilter::default();
        assert!(f.matches(&t));
        f.q = Some("PRUNE".into());
        f.involving = Some(UserId(7));
        assert!(f.matches(&t));
        f.from = NaiveDate::from_ymd_opt(2026, 3, 3);
        assert!(!f.matches(&t), "work day before the period");
        f.from = None;
        f.status = Some(TaskStatus::Done);
        assert!(!f.matches(&t));
    }

    #[test]
    fn overdue_only_while_unfinished() {
        let mut t = task();
        let today = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        t.due_date = NaiveDate::from_ymd_opt(2026, 3, 4);
        assert!(t.is_overdue(today));
        t.set_status(TaskStatus::Done, UserId(1), 1).unwrap();
        assert!(!t.is_overdue(today));
    }
}
