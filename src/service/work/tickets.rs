//! Tickets: raise, list, move along.

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;
use crate::domain::work::tasks::{Priority, Task, TaskId};
use crate::domain::work::tickets::{self as dk, Ticket, TicketId, TicketStatus};
use crate::domain::work::Paging;
use crate::service::identity::next_id;
use crate::store::tables::work::{
    count_tickets, ticket_figures, ticket_order_key, ticket_users, TICKETS_BY_ORDER,
    TICKETS_BY_USER,
};
use crate::store::{counters, Tx};

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
    put(tx, None, &t)?;
    Ok(t)
}

/// Writes a ticket and keeps its list indexes and counters in step with what changed.
fn put(tx: &mut Tx, old: Option<&Ticket>, new: &Ticket) -> Result<()> {
    let order = ticket_order_key(new);
    let was = old.map(ticket_users).unwrap_or_default();
    let now = ticket_users(new);
    for u in was.iter().filter(|u| !now.contains(u)) {
        tx.delete_raw(TICKETS_BY_USER, &[u.key().as_slice(), &order].concat());
    }
    for u in now.iter().filter(|u| !was.contains(u)) {
        tx.index(TICKETS_BY_USER, &[u.key().as_slice(), &order].concat());
    }
    if old.is_none() {
        tx.index(TICKETS_BY_ORDER, &order);
    }
    let (before, after) = (
        old.map(ticket_figures).unwrap_or_default(),
        ticket_figures(new),
    );
    if before != after {
        for k in &before {
            counters::add(tx, k, -1)?;
        }
        for k in &after {
            counters::add(tx, k, 1)?;
        }
    }
    tx.put(&new.id.key(), new);
    Ok(())
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
    let old = t.clone();
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
    put(tx, Some(&old), &t)?;
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
    // Newest first through an index (every ticket, or those concerning the actor); the
    // total is a counter. Reads the page plus, with a status filter, what it skips.
    let (tree, prefix) = if all_visible {
        (TICKETS_BY_ORDER, Vec::new())
    } else {
        (TICKETS_BY_USER, actor.id.key().to_vec())
    };
    let total = counters::get(
        &svc.store,
        &count_tickets((!all_visible).then_some(actor.id), status),
    )? as usize;
    let window = paging.window(total);
    let mut out = Vec::with_capacity(window.len());
    let mut seen = 0;
    // Walked lazily: only the keys up to the page's end are read.
    for item in svc.store.engine().scan(tree, &prefix)? {
        if seen >= window.end {
            break;
        }
        let (k, _) = item?;
        let Some(order) = k.get(prefix.len()..prefix.len() + 8) else {
            continue;
        };
        let id = !u64::from_be_bytes(order.try_into().expect("8 bytes"));
        let Some(t) = svc.store.get::<Ticket>(&TicketId(id).key())? else {
            continue;
        };
        if status.is_some_and(|s| t.status != s) {
            continue;
        }
        if seen >= window.start {
            out.push(t);
        }
        seen += 1;
    }
    Ok((out, total))
}
