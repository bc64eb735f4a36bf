//! Codelayer: HR Details (`hrdetails/emp_*`), with the POABS request and response field names.
//! Filters `firm`, `deptcode`, `desigcode`, `empcode` (and `unitid`): `0` or absent means all.
//! Dates are `yyyy-MM-dd`.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::{route, route_raw, Auth, Call, OpResult, RawOpResult};
use crate::api::{Doc, Problem, Route};
use crate::domain::hr::Filter;
use crate::domain::identity::Permission;
use crate::domain::validate::Fields;
use crate::service::hr_details as hd;

const TAG: &str = "Codelayer/HR Details";
const KEY: &str = "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq";

fn period_doc(description: &'static str, list: &'static str, line: Value) -> Doc {
    Doc {
        description,
        request: Some(
            json!({"key": KEY, "fromdate": "2026-04-01", "todate": "2026-04-30",
                             "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "0"}),
        ),
        response: Some(json!({ list: [line] })),
        required: &["fromdate", "todate"],
        ..Doc::default()
    }
}

fn since_doc(description: &'static str, line: Value) -> Doc {
    Doc {
        description,
        request: Some(json!({"key": KEY, "from": "2026-01-01", "unitid": "0"})),
        response: Some(json!({"employee": [line]})),
        required: &["from"],
        ..Doc::default()
    }
}

fn employee_line() -> Value {
    json!({"co_id": "009", "accode": "009", "name": "LAKSHMI K", "fathername": "KANNAN", "sex": "F",
           "dob": "1990-05-14", "pan": "AAAPL1234C", "doj": "2026-02-01", "hname": "12/4 MAIN ROAD",
           "place": "EDAIKAL", "district": "TIRUNELVELI", "post": "EDAIKAL", "state": "TAMIL NADU",
           "pin": "627804", "cpf": "TN/MDU/12345/009", "departmentcode": "FLD", "degcode": "CLK",
           "firm": "1", "status": "active"})
}

pub fn routes() -> Vec<Route> {
    vec![
        route_raw(
            "/codelayer/hrdetails/emp_attendance",
            "Employee Attendance",
            TAG,
            Auth::Session(Permission::HrView),
            Doc {
                description: "Day-by-day attendance computed from the stored punches, leave and \
                    holidays, for every employee on the roll each day (days after today are left \
                    out). atstatus_updated: 1 full day (worked ≥ the shift's full-day minutes), \
                    0.5 half day (≥ half of it, or a clock-in without clock-out), 0 absent. \
                    atype_updated: PR, HD, HO (holiday), EL/CL/SL/LOP (leave) or AB. The period \
                    may cover at most attendance.hr_max_range_days days. At most \
                    security.hr_page_lines lines per answer: `page` (1 first) asks for the \
                    next, and `more` is \"T\" while lines follow.",
                request: Some(
                    json!({"key": KEY, "attendancefrom": "2026-04-01", "attendancetill": "2026-04-30",
                                     "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "0"}),
                ),
                response: Some(json!({"employeeatt": [{
                    "adate": "2026-04-01", "accode": "009", "atype_updated": "PR", "co_id": "009",
                    "doj": "2026-02-01", "departmentcode": "FLD", "degcode": "CLK", "employee": "LAKSHMI K",
                    "holiday": "F", "isleav": "F", "atstatus_updated": 1, "firm": "1",
                    "intime": "2026-04-01 06:58:02", "outtime": "2026-04-01 15:03:40", "workedminutes": 485}]})),
                required: &["attendancefrom", "attendancetill"],
                ..Doc::default()
            },
            crate::cl_raw_op!(emp_attendance),
        ),
        route(
            "/codelayer/hrdetails/emp_leavesummary",
            "Employee Leave Summary",
            TAG,
            Auth::Session(Permission::HrView),
            period_doc(
                "Leave balances moved over the period, per employee: for el, cl and sl the \
                 opening (before fromdate), credited (trnscr), taken (trnsded) and closing days.",
                "employeeleave",
                json!({"employee": "LAKSHMI K", "co_id": "009", "accode": "009",
                       "elopening": 12, "eltrnscr": 1.5, "eltrnsded": 2, "elclosing": 11.5,
                       "clopening": 6, "cltrnscr": 0, "cltrnsded": 1, "clclosing": 5,
                       "slopening": 6, "sltrnscr": 0, "sltrnsded": 0, "slclosing": 6,
                       "lopdays": 0, "departmentcode": "FLD", "degcode": "CLK"}),
            ),
            cl_op!(emp_leavesummary),
        ),
        route(
            "/codelayer/hrdetails/emp_newjoin",
            "Employee List",
            TAG,
            Auth::Session(Permission::HrView),
            since_doc(
                "Employees who joined on or after `from`, in firm `unitid` (0 = every firm).",
                employee_line(),
            ),
            cl_op!(emp_newjoin),
        ),
        route(
            "/codelayer/hrdetails/emp_payrevision",
            "Employee Payrevision",
            TAG,
            Auth::Session(Permission::HrView),
            period_doc(
                "Pay revisions effective within the period (a change of basic pay on the roll \
                 records one).",
                "employeepayrevision",
                json!({"co_id": "009", "accode": "009", "employee": "LAKSHMI K", "effdate": "2026-04-01",
                       "oldbasic": 12000, "newbasic": 13200, "oldgross": 12000, "newgross": 13200, "remarks": ""}),
            ),
            cl_op!(emp_payrevision),
        ),
        route(
            "/codelayer/hrdetails/emp_payroll",
            "Employee Payroll",
            TAG,
            Auth::Session(Permission::HrView),
            period_doc(
                "Pay slips of the months within the period (month = yyyy-MM).",
                "employeepayroll",
                json!({"co_id": "009", "accode": "009", "employee": "LAKSHMI K", "departmentcode": "FLD",
                       "degcode": "CLK", "month": "2026-04", "daysworked": 26, "basic": 13200, "da": 2000,
                       "hra": 1000, "otherearnings": 0, "gross": 16200, "pf": 1584, "esi": 0, "tds": 500,
                       "otherdeductions": 0, "deductions": 2084, "netpay": 14116}),
            ),
            cl_op!(emp_payroll),
        ),
        route(
            "/codelayer/hrdetails/emp_relieving",
            "Employee Relieving",
            TAG,
            Auth::Session(Permission::HrView),
            Doc {
                description:
                    "Employees relieved on or after `from`, in firm `unitid` (0 = every firm).",
                request: Some(json!({"key": KEY, "from": "2019-08-01", "unitid": "0"})),
                response: Some(
                    json!({"employee": [{"co_id": "009", "dor": "2019-08-28", "pan": "AAAPL1234C"}]}),
                ),
                required: &["from"],
                ..Doc::default()
            },
            cl_op!(emp_relieving),
        ),
        route(
            "/codelayer/hrdetails/emp_tdscalculated",
            "Employee TDS Calculated",
            TAG,
            Auth::Session(Permission::HrView),
            period_doc(
                "Income-tax computations made within the period (finyear = 2026-27).",
                "employeetdscalc",
                json!({"co_id": "009", "accode": "009", "employee": "LAKSHMI K", "pan": "AAAPL1234C",
                       "finyear": "2026-27", "calcdate": "2026-04-05", "grossincome": 194400,
                       "exemptions": 50000, "taxableincome": 144400, "tax": 0}),
            ),
            cl_op!(emp_tdscalculated),
        ),
        route(
            "/codelayer/hrdetails/emp_tdsdeducted",
            "Employee TDS Deducted",
            TAG,
            Auth::Session(Permission::HrView),
            period_doc(
                "Tax deducted at source from the pay slips of the period's months.",
                "employeetdsded",
                json!({"co_id": "009", "accode": "009", "employee": "LAKSHMI K", "pan": "AAAPL1234C",
                       "month": "2026-04", "gross": 16200, "tdsamount": 500}),
            ),
            cl_op!(emp_tdsdeducted),
        ),
        route(
            "/codelayer/hrdetails/emp_transfer",
            "Employee Transfer",
            TAG,
            Auth::Session(Permission::HrView),
            period_doc(
                "Transfers (change of firm or department on the roll) dated within the period.",
                "employeetransfer",
                json!({"co_id": "009", "accode": "009", "employee": "LAKSHMI K", "trdate": "2026-04-10",
                       "fromfirm": "1", "tofirm": "2", "fromdept": "FLD", "todept": "FLD", "orderno": "TR/26/14"}),
            ),
            cl_op!(emp_transfer),
        ),
        route(
            "/codelayer/hrdetails/emp_edited",
            "Employees Edited",
            TAG,
            Auth::Session(Permission::HrView),
            since_doc(
                "Employees whose record changed on or after `from` (site-local day), with \
                 `editedon`, in firm `unitid` (0 = every firm).",
                {
                    let mut l = employee_line();
                    l["editedon"] = json!("2026-04-10 09:12:00");
                    l
                },
            ),
            cl_op!(emp_edited),
        ),
    ]
}

fn date(f: &mut Fields<'_>, name: &str) -> Option<NaiveDate> {
    let s = f.string(name, 1, 10)?;
    match crate::service::hr::parse_date(&s) {
        Some(d) => Some(d),
        None => {
            f.fail(name, "hr.date", vec![]);
            None
        }
    }
}

fn filter(f: &mut Fields<'_>) -> Filter {
    let mut t = |name| Filter::term(f.optional(name, 20));
    Filter {
        firm: t("firm"),
        department: t("deptcode"),
        designation: t("desigcode"),
        employee: t("empcode"),
    }
}

/// A period (`from_name`..=`to_name`) and the POABS filters.
fn period(
    call: &Call,
    from_name: &str,
    to_name: &str,
) -> Result<(Filter, NaiveDate, NaiveDate), Problem> {
    let mut f = Fields::new(&call.body);
    let from = date(&mut f, from_name);
    let to = date(&mut f, to_name);
    let filter = filter(&mut f);
    let max = call.svc.config.attendance.hr_max_range_days;
    if let (Some(a), Some(b)) = (from, to) {
        if b < a || (b - a).num_days() >= max {
            f.fail(to_name, "hr.range", vec![("max", max.to_string())]);
        }
    }
    if !f.ok() {
        return Err(Problem::invalid(f.errors));
    }
    Ok((filter, from.unwrap_or_default(), to.unwrap_or_default()))
}

fn since(call: &Call) -> Result<(NaiveDate, Option<String>), Problem> {
    let mut f = Fields::new(&call.body);
    let from = date(&mut f, "from");
    let unit = Filter::term(f.optional("unitid", 20));
    if !f.ok() {
        return Err(Problem::invalid(f.errors));
    }
    Ok((from.unwrap_or_default(), unit))
}

fn list(name: &str, rows: Vec<Value>) -> OpResult {
    let mut m = Map::new();
    m.insert(name.into(), Value::Array(rows));
    Ok(m)
}

/// Pages are heavy (employees × days): rendered off the async workers, once per data version
/// and shared by concurrent callers (service::answers).
async fn emp_attendance(call: &mut Call) -> RawOpResult {
    let (f, a, b) = period(call, "attendancefrom", "attendancetill")?;
    let mut fields = Fields::new(&call.body);
    let page = fields.int("page", 1, 1_000_000, false).unwrap_or(1) as usize;
    if !fields.ok() {
        return Err(Problem::invalid(fields.errors));
    }
    let svc = call.svc.clone();
    let version = hd::attendance_version(&svc.store);
    // "Today" bounds the period, so it is part of what the page depends on.
    let params = format!(
        "{:?}\0{a}\0{b}\0{page}\0{}",
        (&f.firm, &f.department, &f.designation, &f.employee),
        crate::service::hr::today(&svc)
    );
    let lines = svc.config.security.hr_page_lines.max(1) as u32;
    let s = svc.clone();
    let bytes = svc
        .answers
        .get("hr.attendance", params, version, lines, move |cancel| {
            let (rows, more) = hd::attendance_page(&s, &f, a, b, page)?;
            cancel.check()?;
            let mut m = Map::new();
            m.insert("employeeatt".into(), Value::Array(rows));
            m.insert("page".into(), json!(page));
            m.insert("more".into(), json!(if more { "T" } else { "F" }));
            m.insert("e".into(), json!(200));
            m.insert("msg".into(), json!("Success"));
            serde_json::to_vec(&Value::Object(m))
                .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))
        })
        .await?;
    Ok(bytes)
}

async fn emp_leavesummary(call: &mut Call) -> OpResult {
    let (f, a, b) = period(call, "fromdate", "todate")?;
    list("employeeleave", hd::leave_summary(&call.svc, &f, a, b)?)
}

async fn emp_newjoin(call: &mut Call) -> OpResult {
    let (from, unit) = since(call)?;
    list("employee", hd::new_joins(&call.svc, from, &unit)?)
}

async fn emp_relieving(call: &mut Call) -> OpResult {
    let (from, unit) = since(call)?;
    list("employee", hd::relieved(&call.svc, from, &unit)?)
}

async fn emp_edited(call: &mut Call) -> OpResult {
    let (from, unit) = since(call)?;
    list("employee", hd::edited(&call.svc, from, &unit)?)
}

async fn emp_payrevision(call: &mut Call) -> OpResult {
    let (f, a, b) = period(call, "fromdate", "todate")?;
    list(
        "employeepayrevision",
        hd::pay_revisions(&call.svc, &f, a, b)?,
    )
}

async fn emp_payroll(call: &mut Call) -> OpResult {
    let (f, a, b) = period(call, "fromdate", "todate")?;
    list("employeepayroll", hd::payroll(&call.svc, &f, a, b)?)
}

async fn emp_tdscalculated(call: &mut Call) -> OpResult {
    let (f, a, b) = period(call, "fromdate", "todate")?;
    list("employeetdscalc", hd::tds_calculated(&call.svc, &f, a, b)?)
}

async fn emp_tdsdeducted(call: &mut Call) -> OpResult {
    let (f, a, b) = period(call, "fromdate", "todate")?;
    list("employeetdsded", hd::tds_deducted(&call.svc, &f, a, b)?)
}

async fn emp_transfer(call: &mut Call) -> OpResult {
    let (f, a, b) = period(call, "fromdate", "todate")?;
    list("employeetransfer", hd::transfers(&call.svc, &f, a, b)?)
}
