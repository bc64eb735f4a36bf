//! Daily Activity/Remove: Users (Get Users List), company, Widget, Tickets, Project.

use serde_json::{json, Value};
use warp::http::Method;

use super::super::{route, Auth, Call, OpResult, Reply};
use super::org::{address, address_json};
use super::{
    at, check, choice, date, hours, id_field, nullable, page_json, paging, path_id, query,
    task_json, user, user_json,
};
use crate::api::{Doc, Route};
use crate::da_op;
use crate::domain::identity::{Permission, Role, ALL_ROLES};
use crate::domain::ids::UserId;
use crate::domain::validate::Fields;
use crate::domain::work::org::{BusinessId, Company};
use crate::domain::work::projects::{self as dp, ProjectStatus};
use crate::domain::work::tasks::{Priority, TaskId};
use crate::domain::work::tickets::{self as dk, Ticket, TicketId, TicketStatus};
use crate::service::work::tasks::NameCache;
use crate::service::work::{org as svc_org, projects, tickets, widgets};
use crate::service::Services;

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/daily/v1/users",
            "Get Users List",
            "Daily Activity/Remove/Users",
            Auth::Access(Permission::UsersView),
            Doc {
                description: "Users, by id, paged. Needs users_view.",
                query: vec![
                    ("q", "Words in the name or username (up to 100 characters)"),
                    ("role", "admin | manager | supervisor | clerk | gate_guard | labourer"),
                    ("include_inactive", "true to include deactivated users"),
                    ("page", "From 1"), ("per_page", "1 to 100 (default 20)"),
                ],
                response: Some(json!({"items": [{"user_id": 12, "username": "budi", "name": "Budi Santoso", "role": "supervisor",
                    "phone": "+62822997572606", "email": "", "employee_code": "EMP-0012", "active": true}],
                    "page": 1, "per_page": 20, "total": 1, "total_pages": 1})),
                ..Doc::default()
            },
            da_op!(users_list),
        ),
        route(
            Method::GET,
            "/daily/v1/company",
            "Get Company",
            "Daily Activity/Remove/company",
            Auth::Access(Permission::OrgView),
            Doc {
                description: "The company that owns the estate (until an administrator fills it in, its name is the site's name). Needs org_view.",
                response: Some(company_example()),
                ..Doc::default()
            },
            da_op!(get_company),
        ),
        route(
            Method::PUT,
            "/daily/v1/company",
            "Save Company",
            "Daily Activity/Remove/company",
            Auth::Access(Permission::OrgEdit),
            Doc {
                description: "Replaces the company record. name 1–100, legal_name up to 200, tax_id up to 40, phone up to 30, email up to 100 characters. Needs org_edit.",
                request: Some(company_example()),
                response: Some(company_example()),
                required: &["name"],
                ..Doc::default()
            },
            da_op!(save_company),
        ),
        route(
            Method::GET,
            "/daily/v1/company/addresses",
            "Addresses List",
            "Daily Activity/Remove/company",
            Auth::Access(Permission::OrgView),
            Doc {
                description: "The company's address, then each active business with an address. Needs org_view.",
                response: Some(json!({"items": [{"owner": "business", "business_id": 1, "name": "Manjung Estate",
                    "address": {"line": "Jl. Perkebunan 1", "city": "Pematangsiantar", "province": "Sumatera Utara", "postal_code": "21151", "latitude": 2.9595, "longitude": 99.0687}}]})),
                ..Doc::default()
            },
            da_op!(addresses),
        ),
        route(
            Method::GET,
            "/daily/v1/widgets/timesheet",
            "Timesheet",
            "Daily Activity/Remove/Widget",
            Auth::Access(Permission::Account),
            Doc {
                description: "Time the caller logged on tasks (work sessions: in_progress until paused or finished) today, this week (from Monday) and this month, site-local days; a running task counts up to now.",
                response: Some(json!({"date": "2026-03-02", "today_seconds": 5400, "week_seconds": 30600, "month_seconds": 30600,
                    "today_hours": 1.5, "week_hours": 8.5, "month_hours": 8.5, "running_task": null})),
                ..Doc::default()
            },
            da_op!(widget_timesheet),
        ),
        route(
            Method::GET,
            "/daily/v1/widgets/tasks",
            "Tasks",
            "Daily Activity/Remove/Widget",
            Auth::Access(Permission::Account),
            Doc {
                description: "The caller's assigned tasks: open, in_progress, done_today (completed today, site-local), overdue (unfinished past due_date), due_today, total_active.",
                response: Some(json!({"date": "2026-03-02", "open": 3, "in_progress": 1, "done_today": 2, "overdue": 1, "due_today": 1, "total_active": 4})),
                ..Doc::default()
            },
            da_op!(widget_tasks),
        ),
        route(
            Method::GET,
            "/daily/v1/widgets/ticket",
            "Ticket",
            "Daily Activity/Remove/Widget",
            Auth::Access(Permission::Account),
            Doc {
                description: "Tickets the caller reported or is assigned, per status, and how many active ones are assigned to the caller.",
                response: Some(json!({"open": 2, "in_progress": 1, "resolved": 4, "closed": 7, "active": 3, "assigned_to_me_active": 1})),
                ..Doc::default()
            },
            da_op!(widget_ticket),
        ),
        route(
            Method::GET,
            "/daily/v1/tickets",
            "Ticket",
            "Daily Activity/Remove/Tickets",
            Auth::Access(Permission::Account),
            Doc {
                description: "Tickets, newest first. Users who handle tickets (tickets_edit) see all of them unless mine=true; anyone else sees the tickets they reported or are assigned.",
                query: vec![
                    ("status", "open | in_progress | resolved | closed"),
                    ("mine", "true: only tickets the caller reported or is assigned"),
                    ("page", "From 1"), ("per_page", "1 to 100 (default 20)"),
                ],
                response: Some(json!({"items": [ticket_example()], "page": 1, "per_page": 20, "total": 1, "total_pages": 1})),
                ..Doc::default()
            },
            da_op!(ticket_list),
        ),
        route(
            Method::POST,
            "/daily/v1/tickets",
            "Create Ticket",
            "Daily Activity/Remove/Tickets",
            Auth::Access(Permission::TicketsEdit),
            Doc {
                description: "Raises a ticket. subject 1–200, description up to 2000 characters; priority low | normal | high (default normal); assignee_id and task_id must exist. Needs tickets_edit.",
                request: Some(json!({"subject": "Water pump at block C is broken", "description": "No pressure since morning", "priority": "high", "assignee_id": 12, "task_id": 17})),
                response: Some(ticket_example()),
                required: &["subject"],
                ..Doc::default()
            },
            da_op!(ticket_create),
        ),
        route(
            Method::PUT,
            "/daily/v1/tickets/{id}",
            "Update Ticket",
            "Daily Activity/Remove/Tickets",
            Auth::Access(Permission::TicketsEdit),
            Doc {
                description: "Moves a ticket along (open → in_progress → resolved → closed; resolved may be reopened; closed is final, else 409) and/or reassigns it (null unassigns). Needs tickets_edit.",
                request: Some(json!({"status": "resolved", "assignee_id": 12})),
                response: Some(ticket_example()),
                ..Doc::default()
            },
            da_op!(ticket_update),
        ),
        route(
            Method::GET,
            "/daily/v1/projects",
            "Projects",
            "Daily Activity/Remove/Project",
            Auth::Access(Permission::ProjectsView),
            Doc {
                description: "Projects, by id, with their task progress (cancelled tasks not counted). Needs projects_view.",
                query: vec![("status", "planned | active | on_hold | closed")],
                response: Some(json!({"items": [project_example()]})),
                ..Doc::default()
            },
            da_op!(project_list),
        ),
        route(
            Method::POST,
            "/daily/v1/projects",
            "Save Project",
            "Daily Activity/Remove/Project",
            Auth::Access(Permission::OrgEdit),
            Doc {
                description: "Adds a project. code 1–20 characters, unique (409 when taken); name 1–100; description up to 2000; status (default active); \
                    end_date not before start_date; business_id must exist. Needs org_edit.",
                request: Some(json!({"code": "RPL-2026", "name": "Replanting block C", "description": "40 ha", "business_id": 2,
                    "status": "active", "start_date": "2026-03-01", "end_date": "2026-09-30"})),
                response: Some(project_example()),
                required: &["code", "name"],
                ..Doc::default()
            },
            da_op!(project_save),
        ),
    ]
}

fn company_example() -> Value {
    json!({"name": "PT Kebun Makmur", "legal_name": "PT Kebun Makmur Tbk", "tax_id": "01.234.567.8-901.000",
           "phone": "+62614512345", "email": "office@kebunmakmur.co.id",
           "address": {"line": "Jl. Sudirman 10", "city": "Medan", "province": "Sumatera Utara", "postal_code": "20112", "latitude": 3.5952, "longitude": 98.6722}})
}

fn ticket_example() -> Value {
    json!({"ticket_id": 8, "subject": "Water pump at block C is broken", "description": "No pressure since morning",
           "status": "open", "priority": "high", "reporter": {"user_id": 3, "name": "Siti Rahma"},
           "assignee": {"user_id": 12, "name": "Budi Santoso"}, "task_id": 17,
           "created_at": "2026-03-02T07:10:00+07:00", "updated_at": "2026-03-02T07:10:00+07:00", "resolved_at": null})
}

fn project_example() -> Value {
    json!({"project_id": 1, "code": "RPL-2026", "name": "Replanting block C", "description": "40 ha", "business_id": 2,
           "status": "active", "start_date": "2026-03-01", "end_date": "2026-09-30", "tasks_total": 12, "tasks_done": 5,
           "progress_percent": 41.7, "created_at": "2026-03-01T07:00:00+07:00"})
}

async fn users_list(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let text = f.optional("q", 100);
    let role = choice(&mut f, "role", &ALL_ROLES, Role::as_str, false);
    let inactive = f.boolean("include_inactive").unwrap_or(false);
    let p = paging(&mut f);
    check(&f)?;
    let (list, total) =
        svc_org::users(&call.svc, user(call)?, text.as_deref(), role, inactive, p).await?;
    let items = list.iter().map(user_json).collect();
    Ok(Reply::ok(page_json(items, p, total)))
}

fn company_json(c: &Company) -> Value {
    json!({"name": c.name, "legal_name": c.legal_name, "tax_id": c.tax_id, "phone": c.phone,
           "email": c.email, "address": address_json(&c.address)})
}

async fn get_company(call: &mut Call) -> OpResult {
    let c = svc_org::company(&call.svc, user(call)?)?;
    Ok(Reply::ok(company_json(&c)))
}

async fn save_company(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let name = f.required("name", 1, 100);
    let legal_name = f.string("legal_name", 0, 200).unwrap_or_default();
    let tax_id = f.string("tax_id", 0, 40).unwrap_or_default();
    let phone = f.string("phone", 0, 30).unwrap_or_default();
    let email = f.string("email", 0, 100).unwrap_or_default();
    let address = address(&mut f, &body);
    check(&f)?;
    let c = Company {
        legal_name: if legal_name.is_empty() {
            name.clone()
        } else {
            legal_name
        },
        name,
        tax_id,
        phone,
        email,
        address,
    };
    let actor = user(call)?.clone();
    svc_org::set_company(call.tx().await, &actor, &c)?;
    Ok(Reply::ok(company_json(&c)))
}

async fn addresses(call: &mut Call) -> OpResult {
    let list = svc_org::addresses(&call.svc, user(call)?)?;
    let items: Vec<Value> = list
        .iter()
        .map(|a| {
            json!({"owner": a.owner, "business_id": a.business.as_ref().map(|b| b.id.0),
                   "name": a.name, "address": address_json(&a.address)})
        })
        .collect();
    Ok(Reply::ok(json!({ "items": items })))
}

async fn widget_timesheet(call: &mut Call) -> OpResult {
    let t = widgets::timesheet(&call.svc, user(call)?)?;
    let running = t
        .running
        .as_ref()
        .map(|r| task_json(&call.svc, call.lang, &mut NameCache::default(), r));
    Ok(Reply::ok(json!({
        "date": crate::service::work::today(&call.svc).to_string(),
        "today_seconds": t.today_secs, "week_seconds": t.week_secs, "month_seconds": t.month_secs,
        "today_hours": hours(t.today_secs), "week_hours": hours(t.week_secs), "month_hours": hours(t.month_secs),
        "running_task": running,
    })))
}

async fn widget_tasks(call: &mut Call) -> OpResult {
    let c = widgets::tasks(&call.svc, user(call)?)?;
    Ok(Reply::ok(json!({
        "date": crate::service::work::today(&call.svc).to_string(),
        "open": c.open, "in_progress": c.in_progress, "done_today": c.done_today,
        "overdue": c.overdue, "due_today": c.due_today, "total_active": c.total_active,
    })))
}

async fn widget_ticket(call: &mut Call) -> OpResult {
    let c = widgets::tickets(&call.svc, user(call)?)?;
    Ok(Reply::ok(json!({
        "open": c.open, "in_progress": c.in_progress, "resolved": c.resolved, "closed": c.closed,
        "active": c.open + c.in_progress, "assigned_to_me_active": c.assigned_to_me_active,
    })))
}

fn ticket_json(svc: &Services, names: &mut NameCache, t: &Ticket) -> Value {
    json!({
        "ticket_id": t.id.0,
        "subject": t.subject,
        "description": t.description,
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "reporter": super::user_ref(svc, names, Some(t.reporter)),
        "assignee": super::user_ref(svc, names, t.assignee),
        "task_id": t.task.map(|x| x.0),
        "created_at": at(svc, Some(t.created_unix)),
        "updated_at": at(svc, Some(t.updated_unix)),
        "resolved_at": at(svc, t.resolved_unix),
    })
}

fn ticket_status(f: &mut Fields<'_>) -> Option<TicketStatus> {
    choice(f, "status", &TicketStatus::ALL, TicketStatus::as_str, false)
}

async fn ticket_list(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let status = ticket_status(&mut f);
    let mine = f.boolean("mine").unwrap_or(false);
    let p = paging(&mut f);
    check(&f)?;
    let (list, total) = tickets::list(&call.svc, user(call)?, status, mine, p)?;
    let mut names = NameCache::default();
    let items = list
        .iter()
        .map(|t| ticket_json(&call.svc, &mut names, t))
        .collect();
    Ok(Reply::ok(page_json(items, p, total)))
}

async fn ticket_create(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let subject = f.required("subject", 1, dk::SUBJECT_MAX);
    let description = f
        .string("description", 0, dk::DESCRIPTION_MAX)
        .unwrap_or_default();
    let priority = choice(&mut f, "priority", &Priority::ALL, Priority::as_str, false);
    let assignee = id_field(&mut f, "assignee_id", false).map(UserId);
    let task = id_field(&mut f, "task_id", false).map(TaskId);
    check(&f)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let t = tickets::create(
        &svc,
        call.tx().await,
        &actor,
        tickets::NewTicket {
            subject,
            description,
            priority: priority.unwrap_or(Priority::Normal),
            assignee,
            task,
        },
    )?;
    Ok(Reply::created(ticket_json(
        &svc,
        &mut NameCache::default(),
        &t,
    )))
}

async fn ticket_update(call: &mut Call) -> OpResult {
    let id = TicketId(path_id(call, "id")?);
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let status = ticket_status(&mut f);
    let assignee = nullable(&mut f, &body, "assignee_id", |f| {
        id_field(f, "assignee_id", true)
    })
    .map(|o| o.map(UserId));
    check(&f)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let t = tickets::update(&svc, call.tx().await, &actor, id, status, assignee)?;
    Ok(Reply::ok(ticket_json(&svc, &mut NameCache::default(), &t)))
}

fn project_status(f: &mut Fields<'_>) -> Option<ProjectStatus> {
    choice(
        f,
        "status",
        &ProjectStatus::ALL,
        ProjectStatus::as_str,
        false,
    )
}

fn project_json(svc: &Services, v: &projects::ProjectView) -> Value {
    let p = &v.project;
    let pct = if v.tasks_total == 0 {
        0.0
    } else {
        (v.tasks_done as f64 * 1000.0 / v.tasks_total as f64).round() / 10.0
    };
    json!({
        "project_id": p.id.0, "code": p.code, "name": p.name, "description": p.description,
        "business_id": p.business.map(|b| b.0), "status": p.status.as_str(),
        "start_date": p.start_date.map(|d| d.to_string()), "end_date": p.end_date.map(|d| d.to_string()),
        "tasks_total": v.tasks_total, "tasks_done": v.tasks_done, "progress_percent": pct,
        "created_at": at(svc, Some(p.created_unix)),
    })
}

async fn project_list(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let status = project_status(&mut f);
    check(&f)?;
    let list = projects::list(&call.svc, user(call)?, status)?;
    let items: Vec<Value> = list.iter().map(|v| project_json(&call.svc, v)).collect();
    Ok(Reply::ok(json!({ "items": items })))
}

async fn project_save(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let code = f.required("code", 1, dp::CODE_MAX);
    let name = f.required("name", 1, dp::NAME_MAX);
    let description = f
        .string("description", 0, dp::DESCRIPTION_MAX)
        .unwrap_or_default();
    let business = id_field(&mut f, "business_id", false).map(BusinessId);
    let status = project_status(&mut f);
    let start_date = date(&mut f, "start_date", false);
    let end_date = date(&mut f, "end_date", false);
    check(&f)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let p = projects::save_project(
        &svc,
        call.tx().await,
        &actor,
        projects::NewProject {
            code,
            name,
            description,
            business,
            status: status.unwrap_or(ProjectStatus::Active),
            start_date,
            end_date,
        },
    )?;
    Ok(Reply::created(project_json(
        &svc,
        &projects::ProjectView {
            project: p,
            tasks_total: 0,
            tasks_done: 0,
        },
    )))
}
