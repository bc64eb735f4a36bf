//! Projects: list (with task progress) and save.

use chrono::NaiveDate;

use crate::domain::identity::{Permission, User};
use crate::domain::work::org::{Business, BusinessId};
use crate::domain::work::projects::{self as dp, Project, ProjectId, ProjectStatus};
use crate::service::identity::next_id;
use crate::store::tables::work::{count_project, COUNT_PROJECTS, PROJECTS_BY_CODE};
use crate::store::{self, counters, Tx};

use super::{length, require};
use crate::service::{Result, ServiceError, Services};

pub struct NewProject {
    pub code: String,
    pub name: String,
    pub description: String,
    pub business: Option<BusinessId>,
    pub status: ProjectStatus,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// Most projects a box keeps.
pub const MAX_PROJECTS: u64 = 2_000;

/// Save Project (managers: OrgEdit — projects are part of how the estate is organised).
pub fn save_project(svc: &Services, tx: &mut Tx, actor: &User, new: NewProject) -> Result<Project> {
    require(actor, Permission::OrgEdit)?;
    let code = new.code.trim().to_string();
    let name = new.name.trim().to_string();
    let description = new.description.trim().to_string();
    length("code", &code, 1, dp::CODE_MAX)?;
    length("name", &name, 1, dp::NAME_MAX)?;
    length("description", &description, 0, dp::DESCRIPTION_MAX)?;
    if !dp::dates_ok(new.start_date, new.end_date) {
        return Err(ServiceError::invalid("end_date", "project.dates", vec![]));
    }
    if let Some(b) = new.business {
        if tx.get::<Business>(&b.key())?.is_none() {
            return Err(ServiceError::invalid(
                "business_id",
                "org.business.unknown",
                vec![],
            ));
        }
    }
    let prefix = store::prefix(&[code.to_lowercase().as_bytes()]);
    if !tx.store().index_keys(PROJECTS_BY_CODE, &prefix)?.is_empty() {
        return Err(ServiceError::Conflict {
            key: "project.code_taken",
            args: vec![("code", code)],
        });
    }
    // Capped, so Get Projects may read the tree whole (each one's figures are counters).
    if counters::get(tx.store(), COUNT_PROJECTS)? >= MAX_PROJECTS {
        return Err(ServiceError::conflict(format!(
            "this box keeps at most {MAX_PROJECTS} projects"
        )));
    }
    counters::add(tx, COUNT_PROJECTS, 1)?;
    let id = ProjectId(next_id(tx, "work.project")?);
    let p = Project {
        id,
        code,
        name,
        description,
        business: new.business,
        status: new.status,
        start_date: new.start_date,
        end_date: new.end_date,
        created_by: actor.id,
        created_unix: svc.now_unix(),
    };
    tx.put(&id.key(), &p);
    tx.index(PROJECTS_BY_CODE, &[prefix.as_slice(), &id.key()].concat());
    Ok(p)
}

/// A project with its task progress.
pub struct ProjectView {
    pub project: Project,
    pub tasks_total: u64,
    pub tasks_done: u64,
}

/// Projects: every project (optionally of one status), with task counts.
pub fn list(
    svc: &Services,
    actor: &User,
    status: Option<ProjectStatus>,
) -> Result<Vec<ProjectView>> {
    require(actor, Permission::ProjectsView)?;
    // Projects are few (a site's own); each one's figures are counters, not a walk of tasks.
    let mut out = Vec::new();
    for r in svc.store.scan_iter::<Project>(b"")? {
        let (_, p) = r?;
        if status.is_some_and(|s| p.status != s) {
            continue;
        }
        out.push(ProjectView {
            tasks_total: counters::get(&svc.store, &count_project(p.id, false))?,
            tasks_done: counters::get(&svc.store, &count_project(p.id, true))?,
            project: p,
        });
    }
    Ok(out)
}
