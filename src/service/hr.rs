//! The HR roll: employees (import, upsert, link to a user) and their history records (leave,
//! payroll, TDS, holidays), and the HR Details reads served to client systems.
//!
//! Changes to an existing employee's firm/department or basic pay are recorded as a transfer or
//! a pay revision as they are made, so a re-import of an edited roll writes the history itself.

use chrono::NaiveDate;

use crate::domain::hr::{
    valid_pan, Address, Employee, Holiday, Leave, LeaveCredit, LeaveType, PayRevision, Payroll,
    Relieving, Sex, TdsCalculation, Transfer,
};
use crate::domain::identity::User;
use crate::domain::ids::UserId;
pub use crate::store::tables::attendance::EmployeesBy;
use crate::store::tables::attendance::{employee_code_of, employee_entries};
use crate::store::{self, Store, Tx};

use super::{Result, ServiceError, Services};

/// What an import line or an upsert did. Re-importing the same file yields `Unchanged` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }
}

pub fn employee(store: &Store, code: &str) -> Result<Option<Employee>> {
    Ok(store.get::<Employee>(code.as_bytes())?)
}

/// At most `limit` employees in code order, after the code `after`.
pub fn employees_page(store: &Store, after: Option<&str>, limit: usize) -> Result<Vec<Employee>> {
    let start = after.map_or(Vec::new(), |a| [a.as_bytes(), &[0]].concat());
    Ok(store.page::<Employee>(&start, limit)?)
}

pub fn employees(store: &Store) -> Result<Vec<Employee>> {
    Ok(store
        .scan::<Employee>(b"")?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// Employees by one of their date indexes (`employee_entries`), from `by`'s start on, in index
/// order (date, then code): the entries past the start are read, not the roll.
pub fn employees_since(store: &Store, by: EmployeesBy) -> Result<Vec<Employee>> {
    let (tree, start) = by.start();
    let mut out = Vec::new();
    for r in store.engine().range(tree, &start, &[0xff; 9])? {
        let (k, _) = r?;
        if let Some(e) = store.get::<Employee>(employee_code_of(tree, &k))? {
            out.push(e);
        }
    }
    Ok(out)
}

pub fn today(svc: &Services) -> NaiveDate {
    crate::domain::time::local_day(svc.now(), svc.config.site.timezone_offset_minutes)
}

/// Parses `yyyy-MM-dd` (the format of every date on the HR wire and in the CSV files).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A line of an import file, by header name; empty cells are absent.
pub type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

fn text(get: Get<'_>, name: &str, max: usize) -> std::result::Result<Option<String>, String> {
    match get(name) {
        None => Ok(None),
        Some(v) if v.chars().count() > max => Err(format!("{name}: at most {max} characters")),
        Some(v) => Ok(Some(v)),
    }
}

fn date(get: Get<'_>, name: &str) -> std::result::Result<Option<NaiveDate>, String> {
    match get(name) {
        None => Ok(None),
        Some(v) => parse_date(&v)
            .map(Some)
            .ok_or_else(|| format!("{name}: '{v}' is not a yyyy-MM-dd date")),
    }
}

fn number(get: Get<'_>, name: &str) -> std::result::Result<Option<f64>, String> {
    match get(name) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(format!("{name}: '{v}' is not a non-negative number")),
        },
    }
}

/// Creates or updates one employee from named fields (an `employees` CSV line or an admin
/// request). Columns: code, name, sex (M/F/T), dob, doj, pan, cpf, accode, father_name,
/// department, designation, firm, group, shift, hname, place, post, district, state, pin,
/// phone, basic_pay, dor (relieving date), relieving_reason, changed_on (date of a transfer or
/// pay change; default today).
pub fn upsert_employee(
    svc: &Services,
    tx: &mut Tx,
    get: Get<'_>,
) -> std::result::Result<(Employee, Outcome), String> {
    let code = text(get, "code", 20)?.ok_or("code: required")?;
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
    {
        return Err("code: letters, digits and - _ / . only".into());
    }
    let existing = tx
        .get::<Employee>(code.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut e = match &existing {
        Some(e) => e.clone(),
        None => {
            let name = text(get, "name", 100)?.ok_or("name: required")?;
            let sex = get("sex").ok_or("sex: required (M, F or T)")?;
            let sex = Sex::parse(&sex).ok_or("sex: must be M, F or T")?;
            let doj = date(get, "doj")?.ok_or("doj: required")?;
            Employee::new(&code, &name, sex, doj)
        }
    };
    let before = e.clone();
    if let Some(v) = text(get, "name", 100)? {
        e.name = v;
    }
    if let Some(v) = get("sex") {
        e.sex = Sex::parse(&v).ok_or("sex: must be M, F or T")?;
    }
    if let Some(v) = date(get, "doj")? {
        e.doj = v;
    }
    if let Some(v) = date(get, "dob")? {
        if v >= e.doj {
            return Err("dob: must be before doj".into());
        }
        e.dob = Some(v);
    }
    if let Some(v) = text(get, "pan", 10)? {
        let v = v.to_ascii_uppercase();
        if !valid_pan(&v) {
            return Err(format!("pan: '{v}' is not a PAN (AAAPL1234C)"));
        }
        e.pan = v;
    }
    for (col, max, slot) in [
        ("cpf", 30, &mut e.cpf as &mut String),
        ("accode", 20, &mut e.accode),
        ("father_name", 100, &mut e.father_name),
        ("department", 20, &mut e.department),
        ("designation", 20, &mut e.designation),
        ("firm", 20, &mut e.firm),
        ("group", 20, &mut e.group),
        ("shift", 20, &mut e.shift),
        ("phone", 20, &mut e.phone),
    ] {
        if let Some(v) = text(get, col, max)? {
            *slot = v;
        }
    }
    let a = &mut e.address;
    for (col, slot) in [
        ("hname", &mut a.hname as &mut String),
        ("place", &mut a.place),
        ("post", &mut a.post),
        ("district", &mut a.district),
        ("state", &mut a.state),
        ("pin", &mut a.pin),
    ] {
        if let Some(v) = text(get, col, 100)? {
            *slot = v;
        }
    }
    if let Some(v) = number(get, "basic_pay")? {
        e.basic_pay = v;
    }
    if !e.shift.is_empty()
        && tx
            .get::<crate::domain::shift::Shift>(e.shift.as_bytes())
            .map_err(|x| x.to_string())?
            .is_none()
    {
        return Err(format!(
            "shift: no shift '{}' (import shifts first)",
            e.shift
        ));
    }
    if let Some(dor) = date(get, "dor")? {
        if dor < e.doj {
            return Err("dor: must not be before doj".into());
        }
        let reason = text(get, "relieving_reason", 100)?.unwrap_or_default();
        e.relieving = Some(Relieving { date: dor, reason });
    }
    let changed_on = date(get, "changed_on")?.unwrap_or_else(|| today(svc));
    if existing.is_some() {
        if before.firm != e.firm || before.department != e.department {
            e.transfers.push(Transfer {
                date: changed_on,
                from_firm: before.firm.clone(),
                to_firm: e.firm.clone(),
                from_department: before.department.clone(),
                to_department: e.department.clone(),
                order_no: text(get, "order_no", 30)?.unwrap_or_default(),
            });
        }
        if before.basic_pay != e.basic_pay {
            e.pay_revisions.push(PayRevision {
                effective: changed_on,
                old_basic: before.basic_pay,
                new_basic: e.basic_pay,
                old_gross: before.basic_pay,
                new_gross: e.basic_pay,
                remarks: text(get, "remarks", 100)?.unwrap_or_default(),
            });
        }
    }
    // Biometric terminals: PIN (`terminal_pin`), card, privilege, and their commands.
    let on_terminals = super::terminals::sync::employee_written(svc, tx, &e, get)?;
    let outcome = match existing {
        None => Outcome::Created,
        Some(_) if before == e && on_terminals => return Ok((e, Outcome::Updated)),
        Some(_) if before == e => return Ok((e, Outcome::Unchanged)),
        Some(_) => Outcome::Updated,
    };
    let now = svc.now_unix();
    if outcome == Outcome::Created {
        e.created_unix = now;
    }
    e.updated_unix = now;
    write(tx, existing.as_ref(), &e);
    Ok((e, outcome))
}

/// Writes an employee and keeps its date indexes (`employee_entries`) in step.
fn write(tx: &mut Tx, old: Option<&Employee>, e: &Employee) {
    let was = old.map(employee_entries).unwrap_or_default();
    let now = employee_entries(e);
    for (tree, key) in was.iter().filter(|e| !now.contains(e)) {
        tx.delete_raw(tree, key);
    }
    for (tree, key) in now.iter().filter(|e| !was.contains(e)) {
        tx.index(tree, key);
    }
    tx.put(e.code.as_bytes(), e);
}

/// Links a user to an employee (or unlinks with `None`): Daily Activity attendance is then the
/// signed-in user's employee's.
pub fn set_user_employee(tx: &mut Tx, user: UserId, code: Option<&str>) -> Result<User> {
    let mut u = tx
        .get::<User>(&user.key())?
        .ok_or(ServiceError::NotFound { key: "not_found" })?;
    if let Some(c) = code {
        if tx.get::<Employee>(c.as_bytes())?.is_none() {
            return Err(ServiceError::NotFound {
                key: "attendance.employee.unknown",
            });
        }
    }
    u.employee_code = code.map(str::to_string);
    tx.put(&user.key(), &u);
    Ok(u)
}

/// One line of an `hr` import: a history record of an employee, or a holiday. The `record`
/// column says which: leave (empcode, date, to_date, leave_type, half_day), leave_credit and
/// leave_opening (empcode, date, leave_type, days), payroll (empcode, month yyyy-MM,
/// days_worked, basic, da, hra, other_earnings, pf, esi, tds, other_deductions), tds (empcode,
/// fin_year, date, gross_income, exemptions, taxable_income, tax), holiday (firm, date, name).
/// Each record replaces the one with the same natural key, so a re-import changes nothing.
pub fn import_hr_record(
    svc: &Services,
    tx: &mut Tx,
    get: Get<'_>,
) -> std::result::Result<Outcome, String> {
    let record = get("record")
        .ok_or("record: required")?
        .to_ascii_lowercase();
    if record == "holiday" {
        let firm = Filterless::firm(get("firm"));
        let d = date(get, "date")?.ok_or("date: required")?;
        let name = text(get, "name", 100)?.unwrap_or_else(|| "Holiday".into());
        let h = Holiday {
            firm: firm.clone(),
            date: d,
            name,
        };
        let key = holiday_key(&firm, d);
        let old = tx.get::<Holiday>(&key).map_err(|e| e.to_string())?;
        if old.as_ref() == Some(&h) {
            return Ok(Outcome::Unchanged);
        }
        tx.put(&key, &h);
        return Ok(if old.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        });
    }
    let code = get("empcode").ok_or("empcode: required")?;
    let mut e = tx
        .get::<Employee>(code.as_bytes())
        .map_err(|x| x.to_string())?
        .ok_or_else(|| format!("empcode: no employee '{code}'"))?;
    let before = e.clone();
    let leave_type = |get: Get<'_>| -> std::result::Result<LeaveType, String> {
        let v = get("leave_type").ok_or("leave_type: required")?;
        LeaveType::parse(&v).ok_or_else(|| "leave_type: EL, CL, SL or LOP".to_string())
    };
    let n = |name: &str| number(get, name).map(|v| v.unwrap_or(0.0));
    match record.as_str() {
        "leave" => {
            let from = date(get, "date")?.ok_or("date: required")?;
            let to = date(get, "to_date")?.unwrap_or(from);
            if to < from {
                return Err("to_date: before date".into());
            }
            let lt = leave_type(get)?;
            let half = matches!(get("half_day").as_deref(), Some("T" | "Y" | "true" | "1"));
            e.leaves.retain(|l| !(l.from == from && l.leave_type == lt));
            e.leaves.push(Leave {
                from,
                to,
                leave_type: lt,
                half_day: half,
            });
            e.leaves.sort_by_key(|l| l.from);
        }
        "leave_credit" | "leave_opening" => {
            let d = date(get, "date")?.ok_or("date: required")?;
            let lt = leave_type(get)?;
            let opening = record == "leave_opening";
            let days = number(get, "days")?.ok_or("days: required")?;
            e.leave_credits
                .retain(|c| !(c.date == d && c.leave_type == lt && c.opening == opening));
            e.leave_credits.push(LeaveCredit {
                date: d,
                leave_type: lt,
                days,
                opening,
            });
            e.leave_credits.sort_by_key(|c| c.date);
        }
        "payroll" => {
            let m = get("month").ok_or("month: required (yyyy-MM)")?;
            let month = parse_date(&format!("{m}-01")).ok_or("month: yyyy-MM")?;
            let p = Payroll {
                month,
                days_worked: n("days_worked")?,
                basic: n("basic")?,
                da: n("da")?,
                hra: n("hra")?,
                other_earnings: n("other_earnings")?,
                pf: n("pf")?,
                esi: n("esi")?,
                tds: n("tds")?,
                other_deductions: n("other_deductions")?,
            };
            e.payroll.retain(|x| x.month != month);
            e.payroll.push(p);
            e.payroll.sort_by_key(|x| x.month);
        }
        "tds" => {
            let fy = get("fin_year")
                .and_then(|v| v.parse::<i32>().ok())
                .filter(|y| (1990..=2200).contains(y))
                .ok_or("fin_year: the year the financial year starts (e.g. 2025)")?;
            let t = TdsCalculation {
                fin_year: fy,
                calculated_on: date(get, "date")?.unwrap_or_else(|| today(svc)),
                gross_income: n("gross_income")?,
                exemptions: n("exemptions")?,
                taxable_income: n("taxable_income")?,
                tax: n("tax")?,
            };
            e.tds.retain(|x| x.fin_year != fy);
            e.tds.push(t);
            e.tds.sort_by_key(|x| x.fin_year);
        }
        other => {
            return Err(format!(
                "record: '{other}' is not one of leave, leave_credit, leave_opening, payroll, tds, holiday"
            ))
        }
    }
    if e == before {
        return Ok(Outcome::Unchanged);
    }
    e.updated_unix = svc.now_unix();
    write(tx, Some(&before), &e);
    Ok(Outcome::Updated)
}

struct Filterless;
impl Filterless {
    fn firm(v: Option<String>) -> String {
        v.filter(|s| s != "0").unwrap_or_default()
    }
}

pub fn holiday_key(firm: &str, d: NaiveDate) -> Vec<u8> {
    store::key(&[firm.as_bytes(), d.format("%Y-%m-%d").to_string().as_bytes()])
}

/// Whether `d` is a holiday for `firm` (or for every firm).
pub fn is_holiday(store: &Store, firm: &str, d: NaiveDate) -> Result<bool> {
    Ok(store.get::<Holiday>(&holiday_key("", d))?.is_some()
        || (!firm.is_empty() && store.get::<Holiday>(&holiday_key(firm, d))?.is_some()))
}

pub fn address_line(a: &Address) -> String {
    [&a.hname, &a.place, &a.post, &a.district, &a.state, &a.pin]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<Outcome> for super::transfer::RowOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Created => super::transfer::RowOutcome::Inserted,
            Outcome::Updated => super::transfer::RowOutcome::Updated,
            Outcome::Unchanged => super::transfer::RowOutcome::Unchanged,
        }
    }
}

/// A transfer `Row` as the `Get` the upserts take.
pub fn cells<'a>(row: &'a super::transfer::Row<'a>) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| row.get(name).map(str::to_string)
}

pub const EMPLOYEES_HELP: &str =
    "the HR roll: code, name, sex (M/F/T), doj, dob, pan, cpf, accode, \
    father_name, department, designation, firm, group, shift, hname, place, post, district, state, \
    pin, phone, basic_pay, dor, relieving_reason, changed_on, order_no (dates yyyy-MM-dd), \
    terminal_pin, terminal_card, terminal_privilege (biometric terminals)";

pub const HR_HELP: &str = "HR history and holidays: record (leave | leave_credit | leave_opening | \
    payroll | tds | holiday), empcode, date, to_date, leave_type, half_day, days, month, days_worked, \
    basic, da, hra, other_earnings, pf, esi, tds, other_deductions, fin_year, gross_income, \
    exemptions, taxable_income, tax, firm, name";

pub fn import_employee_row(
    svc: &Services,
    tx: &mut Tx,
    row: &super::transfer::Row<'_>,
) -> std::result::Result<super::transfer::RowOutcome, String> {
    upsert_employee(svc, tx, &cells(row)).map(|(_, o)| o.into())
}

pub fn import_hr_row(
    svc: &Services,
    tx: &mut Tx,
    row: &super::transfer::Row<'_>,
) -> std::result::Result<super::transfer::RowOutcome, String> {
    import_hr_record(svc, tx, &cells(row)).map(Into::into)
}
