//! Trees of the work area (records are defined in src/domain/work, keys chosen by
//! src/service/work): organization, tasks and their photos, reports, tickets, projects.

use super::TableInfo;
use crate::domain::work::org::{Business, Company, Designation};
use crate::domain::work::projects::Project;
use crate::domain::work::report::Report;
use crate::domain::work::tasks::{Task, TaskImage};
use crate::domain::work::tickets::Ticket;
use crate::store::Record;

impl Record for Business {
    const TREE: &'static str = "org_businesses";
}
impl Record for Designation {
    const TREE: &'static str = "org_designations";
}
/// One record, key `company`.
impl Record for Company {
    const TREE: &'static str = "org_company";
}
impl Record for Task {
    const TREE: &'static str = "work_tasks";
}
/// Key: task id (BE) ‖ image id (BE), so a task's photos are one prefix scan.
impl Record for TaskImage {
    const TREE: &'static str = "work_task_images";
}
impl Record for Report {
    const TREE: &'static str = "work_task_reports";
}
impl Record for Ticket {
    const TREE: &'static str = "work_tickets";
}
impl Record for Project {
    const TREE: &'static str = "work_projects";
}

/// assignee user id (BE) ‖ task id (BE).
pub const TASKS_BY_ASSIGNEE: &str = "work_tasks_by_assignee";
/// work day `YYYYMMDD` ‖ task id (BE): the period scans of exports.
pub const TASKS_BY_DATE: &str = "work_tasks_by_date";
/// completion time (i64 BE, offset so it sorts) ‖ task id (BE): the period scans of reports.
pub const TASKS_BY_DONE: &str = "work_tasks_by_done";
/// user id (BE) ‖ task id (BE): the one task a user has running.
pub const TASKS_RUNNING: &str = "work_tasks_running";
/// lower-case business code.
pub const BUSINESSES_BY_CODE: &str = "org_businesses_by_code";
/// lower-case project code.
pub const PROJECTS_BY_CODE: &str = "work_projects_by_code";

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Business),
        crate::table!(Designation),
        crate::table!(Company),
        crate::table!(Task),
        crate::table!(TaskImage),
        crate::table!(Report),
        crate::table!(Ticket),
        crate::table!(Project),
        crate::index_table!(TASKS_BY_ASSIGNEE),
        crate::index_table!(TASKS_BY_DATE),
        crate::index_table!(TASKS_BY_DONE),
        crate::index_table!(TASKS_RUNNING),
        crate::index_table!(BUSINESSES_BY_CODE),
        crate::index_table!(PROJECTS_BY_CODE),
    ]
}

/// Replicated upstream (store::outbox): tasks and what hangs on them, tickets, projects, org.
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::render_key;
    vec![
        crate::replicated!(Task, "task", render_key),
        crate::replicated!(TaskImage, "task_image", render_key),
        crate::replicated!(Report, "task_report", render_key),
        crate::replicated!(Ticket, "ticket", render_key),
        crate::replicated!(Project, "project", render_key),
        crate::replicated!(Business, "business", render_key),
        crate::replicated!(Designation, "designation", render_key),
        crate::replicated!(Company, "company", render_key),
    ]
}
