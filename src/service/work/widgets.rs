//! Dashboard counters for the signed-in user: Timesheet, Tasks, Ticket.

use chrono::{Datelike, TimeDelta};

use crate::domain::identity::User;
use crate::domain::work::report::Period;
use crate::domain::work::tasks::{Task, TaskFilter, TaskStatus};
use crate::domain::work::tickets::TicketStatus;

use super::tasks::{matching, running_for};
use super::today;
use crate::service::{Result, Services};
use crate::store::tables::work::TASKS_BY_WORKER;

pub struct Timesheet {
    pub today_secs: i64,
    pub week_secs: i64,
    pub month_secs: i64,
    pub running: Option<Task>,
}

/// Hours the user logged on tasks (work sessions) today, this week (from Monday) and this
/// month, site-local days; a running task counts up to now.
pub fn timesheet(svc: &Services, user: &User) -> Result<Timesheet> {
    let day = today(svc);
    let off = svc.config.site.timezone_offset_minutes;
    let now = svc.now_unix();
    let bounds = |from| Period { from, to: day }.unix_bounds(off);
    let week_start = day - TimeDelta::days(day.weekday().num_days_from_monday().into());
    let month_start = day.with_day(1).unwrap_or(day);
    let ranges = [bounds(day), bounds(week_start), bounds(month_start)];
    let mut secs = [0i64; 3];
    // Every task the user has sessions on (their own and any they started unassigned): the
    // worker index, not a walk of every task.
    for k in svc.store.index_keys(TASKS_BY_WORKER, &user.id.key())? {
        let Some(t) = svc.store.get::<Task>(&k)? else {
            continue;
        };
        for (i, (a, b)) in ranges.iter().enumerate() {
            secs[i] += t.worked_by_within(user.id, *a, *b, now);
        }
    }
    Ok(Timesheet {
        today_secs: secs[0],
        week_secs: secs[1],
        month_secs: secs[2],
        running: running_for(&svc.store, user.id)?,
    })
}

pub struct TaskCounts {
    pub open: u64,
    pub in_progress: u64,
    pub done_today: u64,
    pub overdue: u64,
    pub due_today: u64,
    pub total_active: u64,
}

/// The user's assigned tasks: what is waiting, running, finished today, late.
pub fn tasks(svc: &Services, user: &User) -> Result<TaskCounts> {
    let day = today(svc);
    let (start, end) =
        Period { from: day, to: day }.unix_bounds(svc.config.site.timezone_offset_minutes);
    let mine = matching(
        &svc.store,
        &TaskFilter {
            assignee: Some(user.id),
            ..Default::default()
        },
    )?;
    let mut c = TaskCounts {
        open: 0,
        in_progress: 0,
        done_today: 0,
        overdue: 0,
        due_today: 0,
        total_active: 0,
    };
    for t in &mine {
        match t.status {
            TaskStatus::Open => c.open += 1,
            TaskStatus::InProgress => c.in_progress += 1,
            TaskStatus::Done => {
                if t.completed_unix.is_some_and(|u| u >= start && u < end) {
                    c.done_today += 1
                }
            }
            TaskStatus::Cancelled => {}
        }
        if t.is_overdue(day) {
            c.overdue += 1;
        }
        if matches!(t.status, TaskStatus::Open | TaskStatus::InProgress) {
            c.total_active += 1;
            if t.due_date == Some(day) {
                c.due_today += 1;
            }
        }
    }
    Ok(c)
}

pub struct TicketCounts {
    pub open: u64,
    pub in_progress: u64,
    pub resolved: u64,
    pub closed: u64,
    pub assigned_to_me_active: u64,
}

/// Tickets the user reported or is assigned.
pub fn tickets(svc: &Services, user: &User) -> Result<TicketCounts> {
    // Counters kept with every ticket write: no walk of the user's tickets.
    use crate::store::tables::work::{count_tickets, count_tickets_assigned_active};
    let n = |k: String| crate::store::counters::get(&svc.store, &k);
    let mine = |s| n(count_tickets(Some(user.id), Some(s)));
    let c = TicketCounts {
        open: mine(TicketStatus::Open)?,
        in_progress: mine(TicketStatus::InProgress)?,
        resolved: mine(TicketStatus::Resolved)?,
        closed: mine(TicketStatus::Closed)?,
        assigned_to_me_active: n(count_tickets_assigned_active(user.id))?,
    };
    Ok(c)
}
