//! Tickets: a problem raised from the field (broken pump, road washed out, app trouble) that
//! someone has to resolve.

use serde::{Deserialize, Serialize};

use super::num_id;
use super::tasks::{Priority, TaskId};
use crate::domain::ids::UserId;

num_id!(TicketId);

pub const SUBJECT_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] = [
        TicketStatus::Open,
        TicketStatus::InProgress,
        TicketStatus::Resolved,
        TicketStatus::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Open or being worked on: what still needs someone.
    pub fn is_active(self) -> bool {
        matches!(self, TicketStatus::Open | TicketStatus::InProgress)
    }
    /// A closed ticket stays closed; a resolved one may be reopened if the fix didn't hold.
    pub fn can_become(self, to: TicketStatus) -> bool {
        use TicketStatus::*;
        self == to
            || matches!(
                (self, to),
                (Open, InProgress)
                    | (Open, Resolved)
                    | (Open, Closed)
                    | (InProgress, Open)
                    | (InProgress, Resolved)
                    | (InProgress, Closed)
                    | (Resolved, Open)
                    | (Resolved, Closed)
            )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub reporter: UserId,
    pub assignee: Option<UserId>,
    /// The task it is about, if any.
    pub task: Option<TaskId>,
    pub created_unix: i64,
    pub updated_unix: i64,
    pub resolved_unix: Option<i64>,
}

impl Ticket {
    /// The reporter and the assignee are the people a ticket concerns.
    pub fn concerns(&self, user: UserId) -> bool {
        self.reporter == user || self.assignee == Some(user)
    }

    pub fn set_status(
        &mut self,
        to: TicketStatus,
        now: i64,
    ) -> Result<(), (TicketStatus, TicketStatus)> {
        if !self.status.can_become(to) {
            return Err((self.status, to));
        }
        if to == TicketStatus::Resolved && self.status != TicketStatus::Resolved {
            self.resolved_unix = Some(now);
        }
        if to.is_active() {
            self.resolved_unix = None;
        }
        self.status = to;
        self.updated_unix = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_final_and_reopening_clears_resolution() {
        let mut t = Ticket {
            id: TicketId(1),
            subject: "Pump".into(),
            description: String::new(),
            status: TicketStatus::Open,
            priority: Priority::High,
            reporter: UserId(1),
            assignee: Some(UserId(2)),
            task: None,
            created_unix: 0,
            updated_unix: 0,
            resolved_unix: None,
        };
        assert!(t.concerns(UserId(2)) && !t.concerns(UserId(3)));
        t.set_status(TicketStatus::Resolved, 10).unwrap();
        assert_eq!(t.resolved_unix, Some(10));
        t.set_status(TicketStatus::Open, 20).unwrap();
        assert_eq!(t.resolved_unix, None);
        t.set_status(TicketStatus::Closed, 30).unwrap();
        assert!(t.set_status(TicketStatus::Open, 40).is_err());
    }
}
