//! The Codelayer "HR Details" reads, with the POABS field names. Attendance is computed from
//! the stored punches, leave and holidays; everything else comes from the HR roll's history.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use crate::domain::attendance::{Direction, Punch};
use crate::domain::hr::{Employee, Filter, LeaveType, BALANCE_TYPES};
use crate::domain::shift::day_status;

use super::{attendance, geofence, hr, Result, Services};

fn d(x: NaiveDate) -> String {
    x.format("%Y-%m-%d").to_string()
}

fn tf(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

/// Rounds money and day counts for the wire (2 decimals).
fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// 1 and 0 as integers, 0.5 as a decimal, as the POABS page shows them.
fn whole_or_half(x: f64) -> Value {
    if x.fract() == 0.0 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The roll under `f` in code order, read one employee at a time (an answer about 25,000
/// employees never holds their records at once); a filter naming an employee reads that record.
fn roll<'a>(
    svc: &'a Services,
    f: &'a Filter,
) -> Result<Box<dyn Iterator<Item = Result<Employee>> + 'a>> {
    if let Some(code) = &f.employee {
        let one = hr::employee(&svc.store, code)?.filter(|e| f.matches(e));
        return Ok(Box::new(one.into_iter().map(Ok)));
    }
    Ok(Box::new(svc.store.scan_iter::<Employee>(b"")?.filter_map(
        move |r| match r {
            Ok((_, e)) => f.matches(&e).then_some(Ok(e)),
            Err(e) => Some(Err(e.into())),
        },
    )))
}

/// The data version of what an attendance page reads (service::answers): the roll (with its
/// leave), punches, shifts and holidays.
pub fn attendance_version(store: &crate::store::Store) -> u64 {
    use crate::store::tables::attendance::PUNCHES_BY_DAY;
    use crate::store::Record;
    store.version_of(&[
        Employee::TREE,
        Punch::TREE,
        PUNCHES_BY_DAY,
        crate::domain::shift::Shift::TREE,
        crate::domain::hr::Holiday::TREE,
    ])
}

/// `emp_attendance`: one line per employee and day on the roll in `from..=till` (days after
/// the site's today are left out: they have no attendance yet).
/// One page of `attendance`: at most `security.hr_page_lines` lines, page 1 first, and whether
/// more follow. Days wholly before the page are skipped without reading their punches, so no
/// answer holds (or computes) more than one page.
pub fn attendance_page(
    svc: &Services,
    f: &Filter,
    from: NaiveDate,
    till: NaiveDate,
    page: usize,
) -> Result<(Vec<Value>, bool)> {
    let size = svc.config.security.hr_page_lines.max(1);
    attendance_lines(svc, f, from, till, (page.max(1) - 1) * size, size)
}

fn attendance_lines(
    svc: &Services,
    f: &Filter,
    from: NaiveDate,
    till: NaiveDate,
    mut skip: usize,
    take: usize,
) -> Result<(Vec<Value>, bool)> {
    // Who is on the roll which day, without their records: a page skips whole days by count.
    let spans = roll(svc, f)?
        .map(|e| e.map(|e| e.span()))
        .collect::<Result<Vec<_>>>()?;
    let till = till.min(hr::today(svc));
    let shifts: HashMap<String, u32> = geofence::shifts(&svc.store)?
        .into_iter()
        .map(|s| (s.code, s.full_day_min))
        .collect();
    let mut holidays: HashMap<(String, NaiveDate), bool> = HashMap::new();
    let mut out = Vec::new();
    let mut day = from;
    let mut more = false;
    while day <= till {
        let on_roll = spans.iter().filter(|s| s.on_roll(day)).count();
        if out.len() >= take && on_roll > 0 {
            more = true;
            break;
        }
        if out.len() >= take || skip >= on_roll {
            skip -= on_roll;
            match day.succ_opt() {
                Some(n) => day = n,
                None => break,
            }
            continue;
        }
        let mut by_emp: HashMap<String, Vec<Punch>> = HashMap::new();
        for p in attendance::punches_of_day(&svc.store, day)? {
            by_emp.entry(p.employee.clone()).or_default().push(p);
        }
        for e in roll(svc, f)? {
            let e = e?;
            if !e.on_roll(day) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if out.len() >= take {
                more = true;
                break;
            }
            let punches = by_emp.remove(&e.code).unwrap_or_default();
            let key = (e.firm.clone(), day);
            let holiday = match holidays.get(&key) {
                Some(h) => *h,
                None => {
                    let h = hr::is_holiday(&svc.store, &e.firm, day)?;
                    holidays.insert(key, h);
                    h
                }
            };
            let leave = e.leave_on(day);
            let full = shifts
                .get(&e.shift)
                .copied()
                .unwrap_or(svc.config.attendance.full_day_minutes);
            let worked = attendance::worked_minutes(&punches);
            let clocked_in = punches.iter().any(|p| p.direction == Direction::In);
            let status = day_status(worked, clocked_in, full);
            let atype = if status >= 1.0 {
                "PR"
            } else if status > 0.0 {
                "HD"
            } else if holiday {
                "HO"
            } else if let Some(l) = leave {
                l.leave_type.code()
            } else {
                "AB"
            };
            let time_of = |dir: Direction, last: bool| {
                let mut it = punches.iter().filter(|p| p.direction == dir);
                let p = if last { it.next_back() } else { it.next() };
                p.map(|p| {
                    attendance::local(p.at_unix, p.site_offset_min)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
            };
            out.push(json!({
                "adate": d(day),
                "accode": e.accode,
                "atype_updated": atype,
                "co_id": e.code,
                "doj": d(e.doj),
                "departmentcode": e.department,
                "degcode": e.designation,
                "employee": e.name,
                "holiday": tf(holiday),
                "isleav": tf(leave.is_some()),
                "atstatus_updated": whole_or_half(status),
                "firm": e.firm,
                "intime": time_of(Direction::In, false),
                "outtime": time_of(Direction::Out, true),
                "workedminutes": worked,
            }));
        }
        if more {
            break;
        }
        match day.succ_opt() {
            Some(n) => day = n,
            None => break,
        }
    }
    Ok((out, more))
}

/// `emp_leavesummary`: per employee, for EL, CL and SL: opening, credited, taken, closing.
pub fn leave_summary(
    svc: &Services,
    f: &Filter,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for e in roll(svc, f)? {
        let e = e?;
        if e.doj > to {
            continue;
        }
        let mut row = serde_json::Map::new();
        row.insert("employee".into(), json!(e.name));
        row.insert("co_id".into(), json!(e.code));
        row.insert("accode".into(), json!(e.accode));
        for t in BALANCE_TYPES {
            let [o, c, ded, cl] = e.leave_summary(t, from, to);
            let p = t.prefix();
            row.insert(format!("{p}opening"), json!(r2(o)));
            row.insert(format!("{p}trnscr"), json!(r2(c)));
            row.insert(format!("{p}trnsded"), json!(r2(ded)));
            row.insert(format!("{p}closing"), json!(r2(cl)));
        }
        let lop: f64 = e
            .leaves
            .iter()
            .filter(|l| l.leave_type == LeaveType::Lop)
            .map(|l| l.days_within(from, to))
            .sum();
        row.insert("lopdays".into(), json!(r2(lop)));
        row.insert("departmentcode".into(), json!(e.department));
        row.insert("degcode".into(), json!(e.designation));
        out.push(Value::Object(row));
    }
    Ok(out)
}

/// The `employee[]` line of Employee List (emp_newjoin) and Employees Edited.
pub fn employee_json(e: &Employee) -> Value {
    json!({
        "co_id": e.code,
        "accode": e.accode,
        "name": e.name,
        "fathername": e.father_name,
        "sex": e.sex.as_str(),
        "dob": e.dob.map(d).unwrap_or_default(),
        "pan": e.pan,
        "doj": d(e.doj),
        "hname": e.address.hname,
        "place": e.address.place,
        "district": e.address.district,
        "post": e.address.post,
        "state": e.address.state,
        "pin": e.address.pin,
        "cpf": e.cpf,
        "departmentcode": e.department,
        "degcode": e.designation,
        "firm": e.firm,
        "status": e.status(),
    })
}

fn unit_matches(unit: &Option<String>, e: &Employee) -> bool {
    unit.as_deref().is_none_or(|u| u == e.firm)
}

/// `emp_newjoin` (Employee List): employees who joined on or after `from`.
pub fn new_joins(svc: &Services, from: NaiveDate, unit: &Option<String>) -> Result<Vec<Value>> {
    // The index is in (doj, code) order, the order of the list.
    Ok(
        hr::employees_since(&svc.store, hr::EmployeesBy::Joined(from))?
            .iter()
            .filter(|e| e.doj >= from && unit_matches(unit, e))
            .map(employee_json)
            .collect(),
    )
}

/// `emp_relieving`: employees relieved on or after `from`: `{co_id, dor, pan}`.
pub fn relieved(svc: &Services, from: NaiveDate, unit: &Option<String>) -> Result<Vec<Value>> {
    let mut emps = hr::employees_since(&svc.store, hr::EmployeesBy::Relieved(from))?;
    // The roll's order (by code), as the list was before it read an index.
    emps.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(emps
        .into_iter()
        .filter(|e| unit_matches(unit, e))
        .filter_map(|e| {
            let r = e.relieving.as_ref()?;
            (r.date >= from).then(|| json!({"co_id": e.code, "dor": d(r.date), "pan": e.pan}))
        })
        .collect())
}

/// `emp_edited`: employees whose record changed on or after `from` (site-local day).
pub fn edited(svc: &Services, from: NaiveDate, unit: &Option<String>) -> Result<Vec<Value>> {
    let offset = svc.config.site.timezone_offset_minutes as i64 * 60;
    let since = from
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
        - offset;
    let mut emps = hr::employees_since(&svc.store, hr::EmployeesBy::EditedSince(since))?;
    emps.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(emps
        .into_iter()
        .filter(|e| e.updated_unix >= since && unit_matches(unit, e))
        .map(|e| {
            let mut v = employee_json(&e);
            v["editedon"] = json!(attendance::local(e.updated_unix, offset as i32 / 60)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string());
            v
        })
        .collect())
}

/// `emp_payrevision`: pay revisions effective within the period.
pub fn pay_revisions(
    svc: &Services,
    f: &Filter,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for e in roll(svc, f)? {
        let e = e?;
        for p in e
            .pay_revisions
            .iter()
            .filter(|p| from <= p.effective && p.effective <= to)
        {
            out.push(json!({
                "co_id": e.code, "accode": e.accode, "employee": e.name,
                "effdate": d(p.effective), "oldbasic": r2(p.old_basic), "newbasic": r2(p.new_basic),
                "oldgross": r2(p.old_gross), "newgross": r2(p.new_gross), "remarks": p.remarks,
            }));
        }
    }
    Ok(out)
}

/// `emp_payroll`: pay slips of the months that start within the period.
pub fn payroll(svc: &Services, f: &Filter, from: NaiveDate, to: NaiveDate) -> Result<Vec<Value>> {
    let first = from.with_day(1).unwrap_or(from);
    let mut out = Vec::new();
    for e in roll(svc, f)? {
        let e = e?;
        for p in e
            .payroll
            .iter()
            .filter(|p| first <= p.month && p.month <= to)
        {
            out.push(json!({
                "co_id": e.code, "accode": e.accode, "employee": e.name,
                "departmentcode": e.department, "degcode": e.designation,
                "month": p.month.format("%Y-%m").to_string(),
                "daysworked": p.days_worked, "basic": r2(p.basic), "da": r2(p.da), "hra": r2(p.hra),
                "otherearnings": r2(p.other_earnings), "gross": r2(p.gross()),
                "pf": r2(p.pf), "esi": r2(p.esi), "tds": r2(p.tds),
                "otherdeductions": r2(p.other_deductions), "deductions": r2(p.deductions()),
                "netpay": r2(p.net()),
            }));
        }
    }
    Ok(out)
}

/// `emp_tdscalculated`: tax computations made within the period.
pub fn tds_calculated(
    svc: &Services,
    f: &Filter,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for e in roll(svc, f)? {
        let e = e?;
        for t in e
            .tds
            .iter()
            .filter(|t| from <= t.calculated_on && t.calculated_on <= to)
        {
            out.push(json!({
                "co_id": e.code, "accode": e.accode, "employee": e.name, "pan": e.pan,
                "finyear": format!("{}-{:02}", t.fin_year, (t.fin_year + 1) % 100),
                "calcdate": d(t.calculated_on),
                "grossincome": r2(t.gross_income), "exemptions": r2(t.exemptions),
                "taxableincome": r2(t.taxable_income), "tax": r2(t.tax),
            }));
        }
    }
    Ok(out)
}

/// `emp_tdsdeducted`: tax deducted from the pay slips of the period's months.
pub fn tds_deducted(
    svc: &Services,
    f: &Filter,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Value>> {
    let first = from.with_day(1).unwrap_or(from);
    let mut out = Vec::new();
    for e in roll(svc, f)? {
        let e = e?;
        for p in e
            .payroll
            .iter()
            .filter(|p| first <= p.month && p.month <= to && p.tds > 0.0)
        {
            out.push(json!({
                "co_id": e.code, "accode": e.accode, "employee": e.name, "pan": e.pan,
                "month": p.month.format("%Y-%m").to_string(),
                "gross": r2(p.gross()), "tdsamount": r2(p.tds),
            }));
        }
    }
    Ok(out)
}

/// `emp_transfer`: transfers dated within the period.
pub fn transfers(svc: &Services, f: &Filter, from: NaiveDate, to: NaiveDate) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for e in roll(svc, f)? {
        let e = e?;
        for t in e
            .transfers
            .iter()
            .filter(|t| from <= t.date && t.date <= to)
        {
            out.push(json!({
                "co_id": e.code, "accode": e.accode, "employee": e.name,
                "trdate": d(t.date), "fromfirm": t.from_firm, "tofirm": t.to_firm,
                "fromdept": t.from_department, "todept": t.to_department, "orderno": t.order_no,
            }));
        }
    }
    Ok(out)
}
