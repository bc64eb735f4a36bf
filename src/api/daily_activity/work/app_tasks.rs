//! Daily Activity/Remove/Tasks: the mobile app's task screens. Save Task, Save Image Task and
//! Get Image Task are the Tasks section's operations at the app's paths (one rule for both).

use serde_json::{json, Value};
use warp::http::Method;

use super::super::{route, Auth, Call, OpResult, Reply};
use super::tasks::{filter, image_doc, image_list, list_query, save, save_doc, save_image};
use super::{check, paging, query, task_example, task_json, user, user_json, PageView, TaskView};
use crate::api::{Doc, Route};
use crate::da_op;
use crate::domain::identity::Permission;
use crate::domain::validate::Fields;
use crate::domain::work::tasks::TaskCategory;
use crate::i18n;
use crate::service::work::tasks::{self as svc_tasks, NameCache};

const TAG: &str = "Daily Activity/Remove/Tasks";

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/daily/v1/app/tasks",
            "Get Tasks",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "The caller's tasks (assigned to or created by them), newest work day first; the same filters and paging as Get Task List. Needs tasks_view.",
                query: list_query(),
                response: Some(json!({"items": [task_example()], "page": 1, "per_page": 20, "total": 1, "total_pages": 1})),
                ..Doc::default()
            },
            da_op!(my_tasks),
        ),
        route(
            Method::POST,
            "/daily/v1/app/tasks",
            "Save Task",
            TAG,
            Auth::Access(Permission::TasksEdit),
            save_doc(),
            da_op!(save),
        ),
        route(
            Method::GET,
            "/daily/v1/app/tasks/running",
            "Get Task Has Been Running",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "The caller's running task (status in_progress with the caller's timer open), or `task: null`. Needs tasks_view.",
                response: Some(json!({"running": true, "task": task_example()})),
                ..Doc::default()
            },
            da_op!(running),
        ),
        route(
            Method::GET,
            "/daily/v1/app/tasks/users",
            "Get Task User",
            TAG,
            Auth::Access(Permission::TasksEdit),
            Doc {
                description: "The active users a task can be assigned to, each with how many open or running tasks they hold. Needs tasks_edit.",
                response: Some(json!({"items": [{"user_id": 12, "username": "budi", "name": "Budi Santoso", "role": "supervisor",
                    "phone": "", "email": "", "employee_code": null, "active": true, "open_tasks": 3}]})),
                ..Doc::default()
            },
            da_op!(task_users),
        ),
        route(
            Method::GET,
            "/daily/v1/app/tasks/categories",
            "Get Task Categories",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "The task categories, names in x-language.",
                response: Some(json!({"items": [{"category": "harvest", "name": "Panen"}]})),
                ..Doc::default()
            },
            da_op!(categories),
        ),
        route(
            Method::GET,
            "/daily/v1/app/tasks/grouping",
            "Get Tasks Grouping",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "Tasks grouped by status (every status present, empty groups included). Same filters as Get Task List; \
                    `mine=true` (default) keeps the caller's tasks only. Each group lists at most `per_group` tasks (1–100, default 20) and its full count. Needs tasks_view.",
                query: vec![
                    ("mine", "true (default): tasks assigned to or created by the caller; false: all"),
                    ("per_group", "Tasks listed per group, 1 to 100 (default 20)"),
                    ("status", "Filter"), ("date_from", "YYYY-MM-DD"), ("date_to", "YYYY-MM-DD"),
                ],
                response: Some(json!({"groups": [{"status": "open", "count": 1, "items": [task_example()]}]})),
                ..Doc::default()
            },
            da_op!(grouping),
        ),
        route(
            Method::GET,
            "/daily/v1/app/tasks/grouping/users",
            "Get Task Grouping User",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "Tasks counted per assignee and status (unassigned last, `user: null`). Same filters as Get Task List. Needs tasks_view.",
                query: vec![("date_from", "YYYY-MM-DD"), ("date_to", "YYYY-MM-DD"), ("business_id", "Filter"), ("project_id", "Filter")],
                response: Some(json!({"items": [{"user": {"user_id": 12, "name": "Budi Santoso"}, "total": 4,
                    "counts": {"open": 1, "in_progress": 1, "done": 2, "cancelled": 0}}]})),
                ..Doc::default()
            },
            da_op!(grouping_users),
        ),
        route(
            Method::POST,
            "/daily/v1/app/tasks/{id}/images",
            "Save Image Task",
            TAG,
            Auth::Access(Permission::TasksEdit),
            image_doc(),
            da_op!(save_image),
        ),
        route(
            Method::GET,
            "/daily/v1/app/tasks/{id}/images",
            "Get Image Task",
            TAG,
            Auth::Access(Permission::TasksView),
            Doc {
                description: "The task's photos (metadata), oldest first; `url` downloads each file. Needs tasks_view.",
                response: Some(json!({"task_id": 17, "items": [super::image_example()]})),
                ..Doc::default()
            },
            da_op!(image_list),
        ),
    ]
}

async fn my_tasks(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let mut filt = filter(call, &q, &mut f);
    let p = paging(&mut f);
    check(&f)?;
    let me = user(call)?;
    filt.involving = Some(me.id);
    let (items, total) = svc_tasks::list(&call.svc, me, &filt, p).await?;
    let mut names = NameCache::default();
    let items = TaskView::page(&call.svc, call.lang, &mut names, &items);
    Ok(Reply::ok_typed(&PageView::new(items, p, total)))
}

async fn running(call: &mut Call) -> OpResult {
    let t = svc_tasks::running(&call.svc, user(call)?)?;
    let task = t
        .as_ref()
        .map(|t| task_json(&call.svc, call.lang, &mut NameCache::default(), t));
    Ok(Reply::ok(json!({"running": task.is_some(), "task": task})))
}

async fn task_users(call: &mut Call) -> OpResult {
    let list = svc_tasks::assignable_users(&call.svc, user(call)?)?;
    let items: Vec<Value> = list
        .iter()
        .map(|(u, open)| {
            let mut v = user_json(u);
            v["open_tasks"] = json!(open);
            v
        })
        .collect();
    Ok(Reply::ok(json!({ "items": items })))
}

async fn categories(call: &mut Call) -> OpResult {
    user(call)?;
    let items: Vec<Value> = TaskCategory::ALL
        .iter()
        .map(|c| json!({"category": c.as_str(), "name": i18n::t(call.lang, c.label_key(), &[])}))
        .collect();
    Ok(Reply::ok(json!({ "items": items })))
}

async fn grouping(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let mut filt = filter(call, &q, &mut f);
    let mine = f.boolean("mine").unwrap_or(true);
    let per_group = f.int("per_group", 1, 100, false).unwrap_or(20) as usize;
    check(&f)?;
    let me = user(call)?;
    if mine {
        filt.involving = Some(me.id);
    }
    let groups = svc_tasks::grouping(&call.svc, me, &filt, per_group).await?;
    let mut names = NameCache::default();
    let groups: Vec<Value> = groups
        .iter()
        .map(|(status, count, tasks)| {
            json!({
                "status": status.as_str(),
                "count": count,
                "items": tasks.iter()
                    .map(|t| task_json(&call.svc, call.lang, &mut names, t))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Reply::ok(json!({ "groups": groups })))
}

async fn grouping_users(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let filt = filter(call, &q, &mut f);
    check(&f)?;
    let groups = svc_tasks::grouping_by_user(&call.svc, user(call)?, &filt).await?;
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "user": g.user.as_ref().map(|u| json!({"user_id": u.id.0, "name": u.name})),
                "total": g.total,
                "counts": g.counts,
            })
        })
        .collect();
    Ok(Reply::ok(json!({ "items": items })))
}
