//! Estate operations: labour and tasks (`labour`), Post Muster (`muster`), faces (`faces`),
//! plus the console summary, CSV import/export rows and the demo estate.

pub mod faces;
pub mod labour;
pub mod muster;

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::domain::estate::labour::{labourer_from_fields, task_from_fields, Firm, Gang, Labourer};
use crate::domain::estate::{FirmId, GangId, LabourCode};
use crate::domain::time::local_day;
use crate::domain::validate::FieldError;
use crate::i18n::{self, Lang};
use crate::service::transfer::{Row, RowOutcome, Table};
use crate::store::Tx;

use super::{Result, Services};

pub use labour::Upsert;

/// The site's local day now.
pub fn today(svc: &Services) -> NaiveDate {
    local_day(svc.now(), svc.config.site.timezone_offset_minutes)
}

/// What the console shows about the estate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub labourers: usize,
    pub faces: usize,
    pub muster_lines_today: usize,
    pub musters_today: usize,
    pub last_muster_unix: Option<i64>,
}

pub fn summary(svc: &Services) -> Result<Summary> {
    let store = &svc.store;
    let (lines, slips) = muster::counts_of_day(store, today(svc))?;
    Ok(Summary {
        labourers: labour::labourer_count(store)? as usize,
        faces: faces::count(store)?,
        muster_lines_today: lines,
        musters_today: slips,
        last_muster_unix: muster::last_muster_unix(store)?,
    })
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|fe| {
            let args: Vec<(&str, String)> = fe.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            i18n::t(Lang::En, fe.key, &args)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The named columns of an import row as a JSON object, so CSV rows and JSON bodies share the
/// domain's field parsers.
fn row_fields(row: &Row<'_>, columns: &[&str]) -> Map<String, Value> {
    columns
        .iter()
        .filter_map(|c| {
            row.get(c)
                .map(|v| (c.to_string(), Value::String(v.to_string())))
        })
        .collect()
}

fn outcome(u: Upsert) -> RowOutcome {
    match u {
        Upsert::Added => RowOutcome::Inserted,
        Upsert::Updated => RowOutcome::Updated,
        Upsert::Unchanged => RowOutcome::Unchanged,
    }
}

fn store_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Columns of `gatehouse import labour` (POABS field names; matched case-insensitively).
pub const LABOUR_COLUMNS: &[&str] = &[
    "lcode",
    "name",
    "fatherName",
    "gender",
    "address",
    "desigid",
    "designame",
    "displaycode",
    "musterfirmid",
    "laborFirmID",
    "isHelper",
    "isSupervisor",
    "ltype",
    "gang",
    "active",
];

/// One row of `gatehouse import labour`. Its firms must exist (`gatehouse import firms` first: a
/// typo in a firm id must not invent a firm); gangs first seen here are created. Re-importing
/// the same row changes nothing.
pub fn import_labour_row(
    svc: &Services,
    tx: &mut Tx,
    row: &Row<'_>,
) -> std::result::Result<RowOutcome, String> {
    labour_row(svc, tx, row, false)
}

/// One labourer of the centre's master data (upstream pull): the centre wins for master data,
/// so a firm it names that this box has not seen yet is created (named by its id until the
/// centre or a firms import names it).
pub fn import_labour_row_from_centre(
    svc: &Services,
    tx: &mut Tx,
    row: &Row<'_>,
) -> std::result::Result<RowOutcome, String> {
    labour_row(svc, tx, row, true)
}

fn labour_row(
    svc: &Services,
    tx: &mut Tx,
    row: &Row<'_>,
    create_firms: bool,
) -> std::result::Result<RowOutcome, String> {
    let lab = labourer_from_fields(&row_fields(row, LABOUR_COLUMNS), svc.now_unix())
        .map_err(|e| describe(&e))?;
    for firm in [&lab.muster_firm, &lab.labour_firm] {
        if tx.get::<Firm>(firm.key()).map_err(store_err)?.is_none() {
            if !create_firms {
                return Err(format!(
                    "unknown firm {firm} (import it first: gatehouse import firms FILE)"
                ));
            }
            labour::put_firm(
                tx,
                &Firm {
                    id: firm.clone(),
                    name: firm.0.clone(),
                },
            )
            .map_err(store_err)?;
        }
    }
    if let Some(g) = &lab.gang {
        if tx.get::<Gang>(g.key()).map_err(store_err)?.is_none() {
            let gang = Gang {
                id: g.clone(),
                firm: lab.labour_firm.clone(),
                name: g.0.clone(),
                supervisor: None,
            };
            labour::put_gang(tx, &gang).map_err(store_err)?;
        }
    }
    labour::put_labourer(svc, tx, &lab)
        .map(outcome)
        .map_err(store_err)
}

/// One row of `gatehouse import firms`: firmid, firmName.
pub fn import_firm_row(
    _svc: &Services,
    tx: &mut Tx,
    row: &Row<'_>,
) -> std::result::Result<RowOutcome, String> {
    let id = row.required("firmid")?;
    if !crate::domain::estate::valid_code(id) {
        return Err(format!(
            "firmid '{id}' is not a printable code of 1 to 30 characters"
        ));
    }
    let name = row.required("firmName")?;
    if name.chars().count() > 100 {
        return Err("firmName must be 1 to 100 characters long".into());
    }
    labour::put_firm(
        tx,
        &Firm {
            id: FirmId(id.into()),
            name: name.into(),
        },
    )
    .map(outcome)
    .map_err(store_err)
}

/// Columns of `gatehouse import estate-tasks`.
pub const TASK_COLUMNS: &[&str] = &[
    "firmid",
    "TaskID",
    "Date",
    "Crop",
    "cropID",
    "Field",
    "FieldCode",
    "Job",
    "JobCode",
    "laborCount",
    "HarvestJob",
    "MaterialReqd",
    "CocktailReqd",
    "MoisturePerc",
];

/// One row of `gatehouse import estate-tasks` (the tasks Get Tasks serves on their Date).
pub fn import_task_row(
    _svc: &Services,
    tx: &mut Tx,
    row: &Row<'_>,
) -> std::result::Result<RowOutcome, String> {
    let task = task_from_fields(&row_fields(row, TASK_COLUMNS)).map_err(|e| describe(&e))?;
    if tx
        .get::<Firm>(task.firm.key())
        .map_err(store_err)?
        .is_none()
    {
        return Err(format!("unknown firm {}", task.firm));
    }
    labour::put_task(tx, &task).map(outcome).map_err(store_err)
}

/// `gatehouse export muster --from --to`: one row per stored line whose task date is in range.
pub fn export_muster(svc: &Services, from: NaiveDate, to: NaiveDate) -> Result<Table> {
    let (headers, rows) = muster::export_table(&svc.store, from, to)?;
    Ok(Table { headers, rows })
}

/// `serve --demo`: two firms, four gangs, 200 labourers (helpers and kanganis among them) and
/// today's tasks. Idempotent: what exists is left as it is.
pub async fn demo(svc: &Arc<Services>) -> Result<()> {
    let mut tx = svc.store.begin().await;
    let firms = [
        ("1", "MUNJAMULLAY ESTATE", "MNJ"),
        ("2", "KARUNAGAMA ESTATE", "KRG"),
    ];
    for (id, name, _) in firms {
        labour::put_firm(
            &mut tx,
            &Firm {
                id: FirmId(id.into()),
                name: name.into(),
            },
        )?;
    }
    let given = [
        "Muthu", "Lakshmi", "Selvi", "Murugan", "Kamala", "Ravi", "Meena", "Arjun", "Valli",
        "Sundar",
    ];
    let fathers = ["Ramasamy", "Perumal", "Subbiah", "Karuppan", "Velu"];
    for n in 0..200usize {
        let (firm, _, prefix) = firms[n % 2];
        let gang = format!("G{}{}", firm, 1 + (n / 2) % 2);
        let seq = 1001 + n / 2;
        let casual = n % 10 == 9;
        let lcode = format!("{}{}{}", if casual { "C" } else { "R" }, firm, seq);
        let lab = Labourer {
            lcode: LabourCode(lcode.clone()),
            name: format!("{} {}", given[n % given.len()], seq),
            father_name: fathers[n % fathers.len()].into(),
            gender: if n % 3 == 0 {
                crate::domain::estate::labour::Gender::Male
            } else {
                crate::domain::estate::labour::Gender::Female
            },
            address: "EDAIKAL, TENKASI, THIRUNELVELI DISTRICT".into(),
            desig_id: if n < 4 { "2".into() } else { "1".into() },
            desig_name: if n < 4 {
                "KANGANI".into()
            } else {
                "LABOUR".into()
            },
            display_code: format!("{prefix}-{}", &lcode[..1])
                .chars()
                .chain(seq.to_string().chars())
                .collect(),
            muster_firm: FirmId(firm.into()),
            labour_firm: FirmId(firm.into()),
            is_helper: n % 7 == 3,
            is_supervisor: n < 4,
            ltype: if casual {
                crate::domain::estate::labour::LabourType::Casual
            } else {
                crate::domain::estate::labour::LabourType::Regular
            },
            gang: Some(GangId(gang.clone())),
            active: true,
            updated_unix: svc.now_unix(),
        };
        if tx.get::<Labourer>(lab.lcode.key())?.is_none() {
            labour::put_labourer(svc, &mut tx, &lab)?;
        }
        if tx.get::<Gang>(gang.as_bytes())?.is_none() {
            let supervisor = (n < 4).then(|| LabourCode(lcode.clone()));
            labour::put_gang(
                &mut tx,
                &Gang {
                    id: GangId(gang.clone()),
                    firm: FirmId(firm.into()),
                    name: format!("Gang {gang}"),
                    supervisor,
                },
            )?;
        }
    }
    let date = today(svc);
    for (firm, _, prefix) in firms {
        for (i, (job, code, harvest, moisture)) in [
            ("SHEAR PLUCKING [SP]", "SP", true, 5.0),
            ("HAND PLUCKING [HP]", "HP", true, 3.5),
            ("WEEDING [WD]", "WD", false, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            let row = serde_json::json!({
                "firmid": firm, "TaskID": format!("{prefix}{}-{}", date.format("%Y%m%d"), i + 1),
                "Date": date.format("%Y-%m-%d").to_string(), "Crop": "TEA", "cropID": "1",
                "Field": format!("TF{}", 17 + i), "FieldCode": format!("F{}", 17 + i),
                "Job": job, "JobCode": code, "laborCount": 40, "HarvestJob": crate::domain::estate::tf(harvest),
                "MaterialReqd": crate::domain::estate::tf(!harvest), "CocktailReqd": "F", "MoisturePerc": moisture,
            });
            let task = task_from_fields(row.as_object().expect("object"))
                .map_err(super::ServiceError::Invalid)?;
            if labour::task(&tx, &task.firm, &task.id)?.is_none() {
                labour::put_task(&mut tx, &task)?;
            }
        }
    }
    tx.commit().await?;
    tracing::info!("demo estate: 2 firms, 4 gangs, 200 labourers, 6 tasks today");
    Ok(())
}
