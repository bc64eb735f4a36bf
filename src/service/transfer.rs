//! Bulk data in and out: CSV import rows and export tables. The CLI reads and writes the files;
//! this module applies rows through the normal write path and builds tables, so an import on a
//! running box goes through the admin API exactly like any other write.
//!
//! Areas register here, one line per kind.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Result, ServiceError, Services};
use crate::store::Tx;

/// One CSV data line, fields looked up by header name (case-insensitive).
pub struct Row<'a> {
    /// Line number in the file (1 = the header line), for the error report.
    pub line: usize,
    headers: &'a [String],
    values: &'a [String],
}

impl<'a> Row<'a> {
    pub fn new(line: usize, headers: &'a [String], values: &'a [String]) -> Self {
        Self {
            line,
            headers,
            values,
        }
    }

    /// The trimmed value of column `name`; empty cells are `None`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let i = self
            .headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))?;
        self.values
            .get(i)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&'a str, String> {
        self.get(name)
            .ok_or_else(|| format!("column {name} is empty or missing"))
    }

    /// Parses an optional column; a present but unparsable value is an error.
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<T>()
                .map(Some)
                .map_err(|_| format!("column {name}: '{v}' is not valid")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    Inserted,
    Updated,
    /// Re-importing the same line changes nothing.
    Unchanged,
}

/// Applies one row; stages writes on `tx`. On `Err` the caller rolls the row back.
pub type ImportRowFn = fn(&Services, &mut Tx, &Row<'_>) -> Result<RowOutcome, String>;

/// A rectangular export, in the order the columns should appear.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Builds the table for site-local days `from..=to`.
pub type ExportFn = fn(&Services, NaiveDate, NaiveDate) -> Result<Table>;

/// (kind, what it is, the row function). One line per kind.
pub const IMPORTERS: &[(&str, &str, ImportRowFn)] = &[
    (
        "users",
        "user accounts: username, password, role, name, phone",
        import_user_row,
    ),
    ("labour", "estate labourers: lcode, name, fatherName, gender, address, desigid, designame, displaycode, musterfirmid, laborFirmID, isHelper, isSupervisor, ltype, gang, active", crate::service::estate::import_labour_row),
    ("firms", "estate firms: firmid, firmName", crate::service::estate::import_firm_row),
    ("estate-tasks", "estate tasks of a day: firmid, TaskID, Date, Crop, cropID, Field, FieldCode, Job, JobCode, laborCount, HarvestJob, MaterialReqd, CocktailReqd, MoisturePerc", crate::service::estate::import_task_row),
    (
        "employees",
        super::hr::EMPLOYEES_HELP,
        super::hr::import_employee_row,
    ),
    (
        "locations",
        super::geofence::LOCATIONS_HELP,
        super::geofence::import_location_row,
    ),
    (
        "shifts",
        super::geofence::SHIFTS_HELP,
        super::geofence::import_shift_row,
    ),
    ("hr", super::hr::HR_HELP, super::hr::import_hr_row),
];

/// (kind, the columns a file of that kind must have). Checked against a file's header before
/// any line is read, so a file given as the wrong kind is refused whole. One line per kind; a
/// kind without a line here is not checked.
pub const IMPORT_REQUIRED: &[(&str, &[&str])] = &[
    ("users", &["username", "password"]),
    // Only the key: a file that updates some columns of existing records (a transfer, a
    // relieving, a pay revision) is a normal import; a new record without its other required
    // fields is refused line by line.
    ("labour", &["lcode"]),
    ("firms", &["firmid", "firmName"]),
    (
        "estate-tasks",
        &["firmid", "TaskID", "Date", "Crop", "Field", "Job"],
    ),
    // An edit line may carry only the code and the changed columns.
    ("employees", &["code"]),
    ("locations", &["code", "name"]),
    ("shifts", &["code", "name", "start", "end"]),
    ("hr", &["record"]),
];

/// The columns `headers` lacks for `kind` (compared case-insensitively, trimmed).
pub fn missing_columns(kind: &str, headers: &[String]) -> Vec<&'static str> {
    let Some((_, required)) = IMPORT_REQUIRED.iter().find(|(k, _)| *k == kind) else {
        return Vec::new();
    };
    required
        .iter()
        .filter(|c| !headers.iter().any(|h| h.trim().eq_ignore_ascii_case(c)))
        .copied()
        .collect()
}

/// (kind, what it is, the table function). One line per kind.
pub const EXPORTERS: &[(&str, &str, ExportFn)] = &[
    (
        "muster",
        "estate muster lines by task date",
        crate::service::estate::export_muster,
    ),
    (
        "attendance",
        "one row per punch whose attendance day (site-local) is in the period",
        super::attendance::export_table,
    ),
    (
        "gatepasses",
        "gatepasses of the period's site days: kind, status, person, vehicle, items, stamps",
        super::gatepass::export_table,
    ),
    ("tasks", "Daily Activity tasks by work day: task_id, date, title, category, priority, status, business, project, assignee, created_by, completed_at, worked_hours", crate::service::work::tasks::export_tasks),
];

/// The longest period one export may cover.
pub const MAX_EXPORT_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchReport {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<LineError>,
}

fn unknown_kind(kinds: Vec<&str>) -> ServiceError {
    ServiceError::invalid("kind", "field.one_of", vec![("allowed", kinds.join(", "))])
}

/// Applies a batch of rows in one transaction; a refused row leaves nothing behind and the
/// others are kept.
pub async fn import_batch(
    svc: &Services,
    kind: &str,
    headers: &[String],
    rows: &[(usize, Vec<String>)],
) -> Result<BatchReport> {
    let f = IMPORTERS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, _, f)| *f)
        .ok_or_else(|| unknown_kind(IMPORTERS.iter().map(|(k, _, _)| *k).collect()))?;
    let mut report = BatchReport::default();
    let mut tx = svc.store.begin().await;
    for (line, values) in rows {
        let row = Row::new(*line, headers, values);
        let sp = tx.savepoint();
        match f(svc, &mut tx, &row) {
            Ok(RowOutcome::Inserted) => report.inserted += 1,
            Ok(RowOutcome::Updated) => report.updated += 1,
            Ok(RowOutcome::Unchanged) => report.unchanged += 1,
            Err(message) => {
                tx.rollback_to(sp);
                report.errors.push(LineError {
                    line: *line,
                    message,
                });
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// The exporter of `kind`, once the period is checked.
fn exporter(kind: &str, from: NaiveDate, to: NaiveDate) -> Result<(&'static str, ExportFn)> {
    let (kind, f) = EXPORTERS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(k, _, f)| (*k, *f))
        .ok_or_else(|| unknown_kind(EXPORTERS.iter().map(|(k, _, _)| *k).collect()))?;
    if from > to {
        return Err(ServiceError::invalid(
            "from",
            "field.format",
            vec![("expected", "from must not be after to".into())],
        ));
    }
    if (to - from).num_days() >= MAX_EXPORT_DAYS {
        return Err(ServiceError::invalid(
            "to",
            "field.format",
            vec![(
                "expected",
                format!("a period of at most {MAX_EXPORT_DAYS} days"),
            )],
        ));
    }
    Ok((kind, f))
}

pub fn export(svc: &Services, kind: &str, from: NaiveDate, to: NaiveDate) -> Result<Table> {
    let (_, f) = exporter(kind, from, to)?;
    f(svc, from, to)
}

/// The export as the admin API's answer (`{"data": table, "ok": true}`), rendered off the
/// async workers once per data version and shared by concurrent callers (service::answers).
/// Exports read many trees (records and the names they show), so any write anywhere makes
/// the next export render afresh: never stale, shared while nothing changes. Some columns
/// follow the clock (a running task's hours, a pass's expiry): the minute is in the key.
pub async fn export_shared(
    svc: &std::sync::Arc<Services>,
    kind: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<bytes::Bytes> {
    let (kind, f) = exporter(kind, from, to)?;
    let trees: Vec<&str> = crate::store::tables::all().iter().map(|t| t.tree).collect();
    let version = svc.store.version_of(&trees);
    // Admitted as if each day held a few hundred rows (a month ≈ 8 MiB being built).
    let estimate_kib = (((to - from).num_days() + 1) * 256).clamp(256, 1 << 20) as u32;
    let s = svc.clone();
    svc.answers
        .get(
            "export",
            format!("{kind}\0{from}\0{to}\0{}", svc.now_unix() / 60),
            version,
            estimate_kib,
            move |cancel| {
                cancel.check()?;
                let table = f(&s, from, to)?;
                cancel.check()?;
                #[derive(Serialize)]
                struct Envelope<'a> {
                    data: &'a Table,
                    ok: bool,
                }
                serde_json::to_vec(&Envelope {
                    data: &table,
                    ok: true,
                })
                .map_err(|e| ServiceError::Internal(format!("export: {e}")))
            },
        )
        .await
}

/// `users`: username, password, role (default clerk), name, phone. A line for an existing user
/// with the same password, role and name changes nothing; otherwise it updates them.
fn import_user_row(svc: &Services, tx: &mut Tx, row: &Row<'_>) -> Result<RowOutcome, String> {
    use super::identity as ident;
    use crate::domain::identity::{Role, User};
    let username = row.required("username")?;
    let password = row.required("password")?;
    let role = match row.get("role") {
        None => Role::Clerk,
        Some(r) => Role::parse(r).ok_or_else(|| {
            format!(
                "role '{r}' is not one of admin, manager, supervisor, clerk, gate_guard, labourer"
            )
        })?,
    };
    let name = row.get("name").unwrap_or(username);
    let phone = row.get("phone").unwrap_or("");
    let message = |e: ServiceError| match e {
        ServiceError::Invalid(f) => f
            .iter()
            .map(|fe| {
                let args: Vec<(&str, String)> =
                    fe.args.iter().map(|(k, v)| (*k, v.clone())).collect();
                crate::i18n::t(crate::i18n::Lang::En, fe.key, &args)
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    match ident::user_by_username(tx.store(), username).map_err(message)? {
        None => {
            ident::add_user(
                svc,
                tx,
                ident::NewUser {
                    username,
                    password,
                    role,
                    name,
                    phone,
                    email: "",
                },
            )
            .map_err(message)?;
            Ok(RowOutcome::Inserted)
        }
        Some(u)
            if u.role == role
                && u.name == name
                && u.phone == phone
                && u.password.verify(password) =>
        {
            Ok(RowOutcome::Unchanged)
        }
        Some(u) => {
            let mut user: User = ident::set_password(svc, tx, u.id, password).map_err(message)?;
            user.role = role;
            user.name = name.to_string();
            user.phone = phone.to_string();
            tx.put(&user.id.key(), &user);
            Ok(RowOutcome::Updated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_by_header_name() {
        let h = vec!["LCode".to_string(), "Name".into(), "Weight".into()];
        let v = vec![" R101 ".to_string(), "".into(), "12.5".into()];
        let r = Row::new(2, &h, &v);
        assert_eq!(r.get("lcode"), Some("R101"));
        assert_eq!(r.get("name"), None);
        assert!(r.required("name").unwrap_err().contains("name"));
        assert_eq!(r.parse::<f64>("weight").unwrap(), Some(12.5));
        assert!(r.parse::<i64>("weight").is_err());
        assert_eq!(r.get("missing"), None);
    }
}
