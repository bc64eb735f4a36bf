//! `serve --demo` for attendance and HR: twelve employees in two firms and three gangs, a day
//! shift and a night shift, two allowed locations (a circle round the estate office and a
//! polygon over field TF18), a holiday and some HR history. The admin user and the demo users
//! are linked to employees so Clock In can be tried at once. Idempotent: upserts are no-ops
//! the second time.

use std::sync::Arc;

use super::hr::{self, Get};
use super::{geofence, Result, ServiceError, Services};

fn row<'a>(cells: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        cells
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    }
}

const EMPLOYEES: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    // code, name, sex, firm, department, group, shift
    ("E001", "MURUGAN S", "M", "1", "OFF", "", "DAY"),
    ("E002", "LAKSHMI K", "F", "1", "FLD", "GANG-A", "DAY"),
    ("E003", "SELVI R", "F", "1", "FLD", "GANG-A", "DAY"),
    ("E004", "KANNAN P", "M", "1", "FLD", "GANG-A", "DAY"),
    ("E005", "PONNAMMAL V", "F", "1", "FLD", "GANG-B", "DAY"),
    ("E006", "ARUMUGAM T", "M", "1", "FLD", "GANG-B", "DAY"),
    ("E007", "RAJENDRAN M", "M", "1", "FAC", "", "NIGHT"),
    ("E008", "VALLI S", "F", "1", "FAC", "", "NIGHT"),
    ("E009", "SUBRAMANI A", "M", "2", "FLD", "GANG-C", "DAY"),
    ("E010", "MEENA G", "F", "2", "FLD", "GANG-C", "DAY"),
    ("E011", "PANDIAN K", "M", "2", "FLD", "GANG-C", "DAY"),
    ("E012", "GOVINDAN R", "M", "2", "SEC", "", "NIGHT"),
];

pub async fn demo(svc: &Arc<Services>) -> Result<()> {
    let mut tx = svc.store.begin().await;
    let bad = |e: String| ServiceError::Internal(format!("demo data: {e}"));
    for s in [
        [
            ("code", "DAY"),
            ("name", "Day shift"),
            ("start", "07:00"),
            ("end", "15:00"),
        ],
        [
            ("code", "NIGHT"),
            ("name", "Night shift"),
            ("start", "22:00"),
            ("end", "06:00"),
        ],
    ] {
        geofence::upsert_shift(svc, &mut tx, &row(&s)).map_err(bad)?;
    }
    let office: &[(&str, &str)] = &[
        ("code", "OFFICE"),
        ("name", "Estate office"),
        ("latitude", "8.9600"),
        ("longitude", "77.3000"),
        ("radius_m", "300"),
        ("scope", "all"),
    ];
    let field: &[(&str, &str)] = &[
        ("code", "TF18"),
        ("name", "Field TF18"),
        (
            "polygon",
            "8.9650 77.3050; 8.9650 77.3100; 8.9700 77.3100; 8.9700 77.3050",
        ),
        ("scope", "department:FLD"),
    ];
    geofence::upsert_fence(svc, &mut tx, &row(office)).map_err(bad)?;
    geofence::upsert_fence(svc, &mut tx, &row(field)).map_err(bad)?;
    for (i, (code, name, sex, firm, dept, group, shift)) in EMPLOYEES.iter().enumerate() {
        let pan = format!("AAAPL{:04}C", 1000 + i);
        let cells: Vec<(&str, &str)> = vec![
            ("code", code),
            ("name", name),
            ("sex", sex),
            ("firm", firm),
            ("department", dept),
            ("designation", if *dept == "FLD" { "LAB" } else { "STF" }),
            ("group", group),
            ("shift", shift),
            ("doj", "2024-06-01"),
            ("dob", "1990-05-14"),
            ("pan", &pan),
            ("place", "EDAIKAL"),
            ("post", "EDAIKAL"),
            ("district", "TIRUNELVELI"),
            ("state", "TAMIL NADU"),
            ("basic_pay", "12000"),
        ];
        let get = row(&cells);
        let g: Get<'_> = &get;
        hr::upsert_employee(svc, &mut tx, g).map_err(bad)?;
    }
    let records: &[&[(&str, &str)]] = &[
        &[
            ("record", "holiday"),
            ("firm", "0"),
            ("date", "2026-01-15"),
            ("name", "Pongal"),
        ],
        &[
            ("record", "leave_opening"),
            ("empcode", "E002"),
            ("date", "2026-01-01"),
            ("leave_type", "EL"),
            ("days", "12"),
        ],
        &[
            ("record", "leave_opening"),
            ("empcode", "E002"),
            ("date", "2026-01-01"),
            ("leave_type", "CL"),
            ("days", "6"),
        ],
        &[
            ("record", "payroll"),
            ("empcode", "E002"),
            ("month", "2026-10"),
            ("days_worked", "26"),
            ("basic", "12000"),
            ("da", "2000"),
            ("hra", "1000"),
            ("pf", "1440"),
            ("tds", "200"),
        ],
    ];
    for r in records {
        hr::import_hr_record(svc, &mut tx, &row(r)).map_err(bad)?;
    }
    // The first-run admin and the identity area's demo users, so every one can punch.
    for (username, code) in [
        ("admin", "E001"),
        ("demo.manager", "E006"),
        ("demo.kangani", "E004"),
        ("demo.clerk", "E009"),
        ("demo.guard", "E012"),
        ("demo.labourer", "E002"),
    ] {
        if let Some(u) = super::identity::user_by_username(&svc.store, username)? {
            if u.employee_code.is_none() {
                hr::set_user_employee(&mut tx, u.id, Some(code))?;
            }
        }
    }
    tx.commit().await?;
    tracing::info!("demo data: attendance and HR roll ready");
    Ok(())
}
