//! Tickets: raise, list, move along.

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;
use crate::domain::work::tasks::{Priority, Task, TaskId};
use crate::domain::work::tickets::{self as dk, Ticket, TicketId, TicketStatus};
use crate::domain::work::Paging;
use crate::service::identity::next_id;
use crate::store::Tx;

use super::{length, not_found, require};
use crate::service::{Result, ServiceError, Services};

pub struct NewTicket {
    pub subject: String,
    pub description: String,
    pub priority: Priority,
    pub assignee: Option<UserId>,
    pub task: Option<TaskId>,
}

fn check_refs(tx: &Tx, assignee: Option<UserId>, task: Option<TaskId>) -> Result<()> {
    if let Some(u) = assignee {
        if !tx.get::<User>(&u.key())?.is_some_and(|u| u.active) {
            return Err(ServiceError::invalid(
                "assignee_id",
                "task.assignee.unknown",
                vec![],
            ));
        }
    }
    if let Some(t) = task {
        if tx.get::<Task>(&t.key())?.is_none() {
            return Err(ServiceError::invalid("task_id", "task.not_found", vec![]));
        }
    }
    Ok(())
}

/// Create Ticket.
pub fn create(svc: &Services, tx: &mut Tx, actor: &User, new: NewTicket) -> Result<Ticket> {
    require(actor, Permission::TicketsEdit)?;
    let subject = new.subject.trim().to_string();
    let description = new.description.trim().to_string();
    length("subject", &subject, 1, dk::SUBJECT_MAX)?;
    length("description", &description, 0, dk::DESCRIPTION_MAX)?;
    check_refs(tx, new.assignee, new.task)?;
    let now = svc.now_unix();
    let id = TicketId(next_id(tx, "work.ticket")?);
    let t = Ticket {
        id,
        subject,
        description,
        status: TicketStatus::Open,
        priority: new.priority,
        reporter: actor.id,
        assignee: new.assignee,
        task: new.task,
        created_unix: now,
        updated_unix: now,
        resolved_unix: None,
    };
    tx.put(&id.key(), &t);
    Ok(t)
}

/// Update Ticket: status and/or assignee.
pub fn update(
    svc: &Services,
    tx: &mut Tx,
    actor: &User,
    id: TicketId,
    status: Option<TicketStatus>,
    assignee: Option<Option<UserId>>,
) -> Result<Ticket> {
    require(actor, Permission::TicketsEdit)?;
    let mut t = tx
        .get::<Ticket>(&id.key())?
        .ok_or_else(|| not_found("ticket.not_found"))?;
    if let Some(a) = assignee {
        check_refs(tx, a, None)?;
        t.assignee = a;
    }
    let now = svc.now_unix();
    if let Some(s) = status {
        t.set_status(s, now)
            .map_err(|(from, to)| ServiceError::Conflict {
                key: "ticket.status.transition",
                args: vec![("from", from.as_str().into()), ("to", to.as_str().into())],
            })?;
    }
    t.updated_unix = now;
    tx.put(&id.key(), &t);
    Ok(t)
}

/// Ticket (the list): those who handle tickets (TicketsEdit) see every ticket; anyone else
/// sees the tickets that concern them.
pub fn list(
    svc: &Services,
    actor: &User,
    status: Option<TicketStatus>,
    mine: bool,
    paging: Paging,
) -> Result<(Vec<Ticket>, usize)> {
    let all_visible = actor.role.can(Permission::TicketsEdit) && !mine;
    let mut v: Vec<Ticket> = svc
        .store
        .scan::<Ticket>(b"")?
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| all_visible || t.concerns(actor.id))
        .filter(|t| status.is_none_or(|s| t.status == s))
        .collect();
    v.sort_by_key(|t| std::cmp::Reverse(t.id));
    let total = v.len();
    Ok((v[paging.window(total)].to_vec(), total))
}

/// The tickets that concern `user` (widget).
pub fn concerning(svc: &Services, user: UserId) -> Result<Vec<Ticket>> {
    Ok(svc
        .store
        .scan::<Ticket>(b"")?
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.concerns(user))
        .collect())
}
