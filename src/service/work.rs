//! Work operations of the Daily Activity app: organization, tasks (+ photos, reports),
//! tickets, projects and the dashboard widgets. Every family calls these, so the permission
//! rules live here, not in the wire layer.

pub mod images;
pub mod org;
pub mod projects;
pub mod reports;
pub mod tasks;
pub mod tickets;
pub mod widgets;

use chrono::NaiveDate;

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;

use super::identity as ident;
use super::{Result, ServiceError, Services};

/// Refuses (403) a user whose role lacks `p` (the one rule: `service::access`).
pub fn require(user: &User, p: Permission) -> Result<()> {
    super::access::check(user, p)
}

/// The site's local day now.
pub fn today(svc: &Services) -> NaiveDate {
    crate::domain::time::local_day(svc.now(), svc.config.site.timezone_offset_minutes)
}

/// A user's display name ("" when the user is gone).
pub fn user_name(svc: &Services, id: UserId) -> String {
    ident::user(&svc.store, id)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default()
}

/// A text of `min..=max` characters (the rule every record's names and texts follow, also for
/// callers that bypass the wire's field checks, such as imports and the demo).
fn length(field: &str, v: &str, min: usize, max: usize) -> Result<()> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(ServiceError::invalid(
            field,
            "field.length",
            vec![("min", min.to_string()), ("max", max.to_string())],
        ));
    }
    Ok(())
}

fn not_found(key: &'static str) -> ServiceError {
    ServiceError::NotFound { key }
}

/// `serve --demo`: a business with a division, designations, a project and some tasks.
/// Idempotent: does nothing once the demo estate exists.
pub async fn demo(svc: &std::sync::Arc<Services>) -> Result<()> {
    use crate::domain::work::org::{Address, BusinessKind};
    use crate::domain::work::tasks::{Priority, TaskCategory, TaskStatus};

    if org::business_by_code(&svc.store, "DEMO")?.is_some() {
        return Ok(());
    }
    let mut tx = svc.store.begin().await;
    // The demo's tasks belong to the first administrator (the first-run user).
    let owner = ident::users(&svc.store)?
        .into_iter()
        .find(|u| u.role == crate::domain::identity::Role::Admin)
        .ok_or_else(|| ServiceError::Internal("demo: no administrator yet".into()))?;
    let estate = org::save_business(
        svc,
        &mut tx,
        &owner,
        org::NewBusiness {
            code: "DEMO".into(),
            name: "Demo Estate".into(),
            kind: BusinessKind::Estate,
            parent: None,
            address: Address {
                line: "Jl. Perkebunan 1".into(),
                city: "Pematangsiantar".into(),
                province: "Sumatera Utara".into(),
                postal_code: "21151".into(),
                latitude: Some(2.9595),
                longitude: Some(99.0687),
            },
        },
    )?;
    let division = org::save_business(
        svc,
        &mut tx,
        &owner,
        org::NewBusiness {
            code: "DEMO-D1".into(),
            name: "Division 1".into(),
            kind: BusinessKind::Division,
            parent: Some(estate.id),
            address: Address::default(),
        },
    )?;
    let manager = org::save_designation(
        svc,
        &mut tx,
        &owner,
        "EM",
        "Estate Manager",
        None,
        Some(estate.id),
    )?;
    let assistant = org::save_designation(
        svc,
        &mut tx,
        &owner,
        "AM",
        "Assistant Manager",
        Some(manager.id),
        Some(estate.id),
    )?;
    org::save_designation(
        svc,
        &mut tx,
        &owner,
        "MDR",
        "Mandor",
        Some(assistant.id),
        Some(division.id),
    )?;
    let project = projects::save_project(
        svc,
        &mut tx,
        &owner,
        projects::NewProject {
            code: "RPL-2026".into(),
            name: "Replanting block C".into(),
            description: "Replant 40 ha of block C with clonal tea".into(),
            business: Some(division.id),
            status: crate::domain::work::projects::ProjectStatus::Active,
            start_date: Some(today(svc)),
            end_date: None,
        },
    )?;
    let day = today(svc);
    for (title, category, status) in [
        (
            "Plucking round, field TF18",
            TaskCategory::Harvest,
            TaskStatus::Done,
        ),
        (
            "Clear drains in block C",
            TaskCategory::Maintenance,
            TaskStatus::InProgress,
        ),
        (
            "Inspect nursery beds",
            TaskCategory::Inspection,
            TaskStatus::Open,
        ),
    ] {
        let t = tasks::save_task(
            svc,
            &mut tx,
            &owner,
            tasks::TaskChanges {
                title: Some(title.into()),
                category: Some(category),
                priority: Some(Priority::Normal),
                date: Some(day),
                business: Some(Some(division.id)),
                project: Some(Some(project.id)),
                assignee: Some(Some(owner.id)),
                ..Default::default()
            },
        )?;
        if status != TaskStatus::Open {
            tasks::update_task(
                svc,
                &mut tx,
                &owner,
                t.id,
                tasks::TaskChanges {
                    status: Some(status),
                    ..Default::default()
                },
            )?;
        }
    }
    tx.commit().await?;
    tracing::info!("demo data: work (business DEMO, designations, a project, tasks)");
    Ok(())
}
