//! Dashboard counters for the signed-in user: Timesheet, Tasks, Ticket.

use chrono::{Datelike, TimeDelta};

use crate::domain::identity::User;
use crate::domain::work::report::Period;
use crate::domain::work::tasks::{Task, TaskStatus};
use crate::domain::work::tickets::TicketStatus;

use super::tasks::running_for;
use super::today;
use crate::service::{Result, Services};
use crate::store::tables::work::{time_key, SESSIONS_BY_END};

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
    // The tasks of the user's sessions that end inside the week or month or are still open
    // (their own and any they started unassigned): a range of the sessions index, not their
    // history.
    let u = user.id.key();
    let from = [u.as_slice(), &time_key(ranges[1].0.min(ranges[2].0))].concat();
    let to = [u.as_slice(), &[0xff; 9]].concat();
    let mut ids = std::collections::BTreeSet::new();
    for item in svc.store.engine().range(SESSIONS_BY_END, &from, &to)? {
        let (k, _) = item?;
        if let Some(id) = k.get(16..24) {
            ids.insert(id.to_vec());
        }
    }
    for id in ids {
        let Some(t) = svc.store.get::<Task>(&id)? else {
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
    // Counters and key ranges of the assignee indexes: what the figures count, never the
    // user's history (and no task record is read).
    use crate::store::counters;
    use crate::store::tables::work::{
        count_assignee_status, due_key, TASKS_ACTIVE_BY_ASSIGNEE, TASKS_DONE_BY_ASSIGNEE,
    };
    let u = user.id.key();
    let at = |tail: &[u8]| [u.as_slice(), tail].concat();
    let keys_in = |tree: &str, from: Vec<u8>, to: Vec<u8>| -> Result<u64> {
        let mut n = 0;
        for item in svc.store.engine().range(tree, &from, &to)? {
            item?;
            n += 1;
        }
        Ok(n)
    };
    let open = counters::get(
        &svc.store,
        &count_assignee_status(user.id, TaskStatus::Open),
    )?;
    let in_progress = counters::get(
        &svc.store,
        &count_assignee_status(user.id, TaskStatus::InProgress),
    )?;
    let today_key = due_key(Some(day));
    let next = (u32::from_be_bytes(today_key) + 1).to_be_bytes();
    let c = TaskCounts {
        open,
        in_progress,
        done_today: keys_in(
            TASKS_DONE_BY_ASSIGNEE,
            at(&time_key(start)),
            at(&time_key(end)),
        )?,
        overdue: keys_in(TASKS_ACTIVE_BY_ASSIGNEE, at(&[0; 4]), at(&today_key))?,
        due_today: keys_in(TASKS_ACTIVE_BY_ASSIGNEE, at(&today_key), at(&next))?,
        total_active: open + in_progress,
    };
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
