//! Black-box tests: the HR roll and its setup data (`gatehouse import shifts|locations|
//! employees|hr`), and Codelayer HR Details (`hrdetails/emp_*`) with seed-shaped requests.

use chrono::Duration;
use serde_json::{json, Value};

use crate::attendance::{import, write, ymd};
use crate::harness::*;

#[test]
fn hr_details_answer_seed_shaped_requests_with_poabs_fields() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let emps = write(
        dir.path(),
        "employees.csv",
        "code,name,sex,dob,doj,pan,cpf,department,designation,firm,hname,place,district,post,basic_pay,dor\n\
         009,LAKSHMI K,F,1990-05-14,2019-01-10,AAAPL1234C,TN/MDU/1/009,FLD,CLK,7,12/4 MAIN ROAD,EDAIKAL,TIRUNELVELI,EDAIKAL,12000,\n\
         010,KANNAN P,M,1985-02-01,2018-03-01,AAAPL1234C,TN/MDU/1/010,FLD,LAB,7,,TENKASI,TIRUNELVELI,TENKASI,9000,2019-08-28\n",
    );
    let v = import(&s, "employees", &emps);
    assert_eq!(v["inserted"], 2, "{v}");
    let hr = write(
        dir.path(),
        "hr.csv",
        "record,empcode,date,to_date,leave_type,half_day,days,month,basic,da,hra,pf,tds,fin_year,gross_income,exemptions,taxable_income,tax,firm,name\n\
         leave_opening,009,2026-01-01,,EL,,12,,,,,,,,,,,,,\n\
         leave,009,2026-02-10,2026-02-11,EL,,,,,,,,,,,,,,,\n\
         leave_credit,009,2026-03-01,,EL,,1.5,,,,,,,,,,,,,\n\
         leave,009,2026-03-05,,CL,T,,,,,,,,,,,,,,\n\
         payroll,009,,,,,,2026-03,12000,2000,1000,1440,500,,,,,,,\n\
         tds,009,2026-03-20,,,,,,,,,,,2025,180000,50000,130000,0,,\n\
         holiday,,2026-03-10,,,,,,,,,,,,,,,,0,Holi\n\
         vacation,009,2026-03-01,,,,,,,,,,,,,,,,,\n",
    );
    let v = import(&s, "hr", &hr);
    assert_eq!(
        (
            v["updated"].as_u64(),
            v["inserted"].as_u64(),
            v["refused"].as_u64()
        ),
        (Some(6), Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(import(&s, "hr", &hr)["unchanged"], 7);

    let key = codelayer_session(&s, "hrclient", "hr-pass-123", "352099001761481");
    let cl = |path: &str, body: Value| {
        let mut b = body;
        b["key"] = json!(key);
        codelayer(&s, &format!("hrdetails/{path}"), &b)
    };

    // Employee Relieving: exactly the public sample's shape.
    let r = cl(
        "emp_relieving",
        json!({"from": "2019-08-01", "unitid": "0"}),
    );
    assert_eq!(
        r,
        json!({"employee": [{"co_id": "010", "dor": "2019-08-28", "pan": "AAAPL1234C"}], "e": 200, "msg": "Success"})
    );
    assert_eq!(
        cl(
            "emp_relieving",
            json!({"from": "2019-08-29", "unitid": "0"})
        )["employee"],
        json!([])
    );

    // Employee List (emp_newjoin): joined on or after `from`, in the unit.
    let r = cl("emp_newjoin", json!({"from": "2019-01-01", "unitid": 7}));
    let e = r["employee"].as_array().unwrap();
    assert_eq!(e.len(), 1, "{r}");
    for (k, want) in [
        ("co_id", "009"),
        ("name", "LAKSHMI K"),
        ("sex", "F"),
        ("dob", "1990-05-14"),
        ("pan", "AAAPL1234C"),
        ("doj", "2019-01-10"),
        ("hname", "12/4 MAIN ROAD"),
        ("place", "EDAIKAL"),
        ("district", "TIRUNELVELI"),
        ("post", "EDAIKAL"),
        ("cpf", "TN/MDU/1/009"),
    ] {
        assert_eq!(e[0][k], want, "{k}: {r}");
    }
    assert_eq!(
        cl("emp_newjoin", json!({"from": "2018-01-01", "unitid": "8"}))["employee"],
        json!([])
    );

    // Employee Leave Summary for March.
    let r = cl(
        "emp_leavesummary",
        json!({"fromdate": "2026-03-01", "todate": "2026-03-31", "firm": 0, "deptcode": 0, "desigcode": 0, "empcode": "009"}),
    );
    let l = &r["employeeleave"][0];
    assert_eq!(
        (
            l["employee"].as_str(),
            l["co_id"].as_str(),
            l["accode"].as_str()
        ),
        (Some("LAKSHMI K"), Some("009"), Some("009"))
    );
    assert_eq!(
        (
            l["elopening"].as_f64(),
            l["eltrnscr"].as_f64(),
            l["eltrnsded"].as_f64(),
            l["elclosing"].as_f64()
        ),
        (Some(10.0), Some(1.5), Some(0.0), Some(11.5)),
        "{r}"
    );
    assert_eq!(l["cltrnsded"], 0.5);

    // Employee Attendance: absent, holiday, and leave days from the stored data.
    let r = cl(
        "emp_attendance",
        json!({"attendancefrom": "2026-03-09", "attendancetill": "2026-03-11", "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "009"}),
    );
    let rows = r["employeeatt"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{r}");
    let want = json!({"adate": "2026-03-10", "accode": "009", "atype_updated": "HO", "co_id": "009", "doj": "2019-01-10",
                      "departmentcode": "FLD", "degcode": "CLK", "employee": "LAKSHMI K", "holiday": "T", "isleav": "F",
                      "atstatus_updated": 0});
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&rows[1][k], v, "{k}: {}", rows[1]);
    }
    assert_eq!(
        (
            rows[0]["atype_updated"].as_str(),
            rows[0]["holiday"].as_str()
        ),
        (Some("AB"), Some("F"))
    );
    let r = cl(
        "emp_attendance",
        json!({"attendancefrom": "2026-02-11", "attendancetill": "2026-02-11", "firm": "7", "deptcode": "FLD", "desigcode": "0", "empcode": "0"}),
    );
    let rows = r["employeeatt"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "the relieved employee is off the roll: {r}");
    assert_eq!(
        (
            rows[0]["isleav"].as_str(),
            rows[0]["atype_updated"].as_str()
        ),
        (Some("T"), Some("EL"))
    );

    // Payroll and TDS.
    let r = cl(
        "emp_payroll",
        json!({"fromdate": "2026-03-01", "todate": "2026-03-31", "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "0"}),
    );
    let p = &r["employeepayroll"][0];
    assert_eq!(
        (
            p["month"].as_str(),
            p["gross"].as_f64(),
            p["netpay"].as_f64()
        ),
        (Some("2026-03"), Some(15000.0), Some(13060.0)),
        "{r}"
    );
    let r = cl(
        "emp_tdsdeducted",
        json!({"fromdate": "2026-03-01", "todate": "2026-03-31", "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "0"}),
    );
    assert_eq!(r["employeetdsded"][0]["tdsamount"], 500.0);
    let r = cl(
        "emp_tdscalculated",
        json!({"fromdate": "2026-03-01", "todate": "2026-03-31", "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "009"}),
    );
    assert_eq!(
        (
            r["employeetdscalc"][0]["finyear"].as_str(),
            r["employeetdscalc"][0]["taxableincome"].as_f64()
        ),
        (Some("2025-26"), Some(130000.0))
    );

    // A transfer and a pay revision recorded by re-importing an edited line.
    let edit = write(
        dir.path(),
        "edit.csv",
        "code,firm,basic_pay,changed_on,order_no\n009,8,13200,2026-04-10,TR/26/14\n",
    );
    assert_eq!(import(&s, "employees", &edit)["updated"], 1);
    let period = json!({"fromdate": "2026-04-01", "todate": "2026-04-30", "firm": "0", "deptcode": "0", "desigcode": "0", "empcode": "0"});
    let r = cl("emp_transfer", period.clone());
    assert_eq!(
        r["employeetransfer"],
        json!([{"co_id": "009", "accode": "009", "employee": "LAKSHMI K", "trdate": "2026-04-10",
        "fromfirm": "7", "tofirm": "8", "fromdept": "FLD", "todept": "FLD", "orderno": "TR/26/14"}])
    );
    let r = cl("emp_payrevision", period.clone());
    assert_eq!(
        (
            r["employeepayrevision"][0]["oldbasic"].as_f64(),
            r["employeepayrevision"][0]["newbasic"].as_f64()
        ),
        (Some(12000.0), Some(13200.0))
    );
    let today = chrono::Utc::now().date_naive() - Duration::days(1);
    let r = cl("emp_edited", json!({"from": ymd(today), "unitid": "0"}));
    let codes: Vec<&str> = r["employee"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["co_id"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"009"), "{r}");
    assert!(r["employee"][0]["editedon"].is_string());

    // Validation: dates, direction and length of the period, the key.
    let r = cl(
        "emp_attendance",
        json!({"attendancefrom": "2026-13-01", "attendancetill": "2026-03-11"}),
    );
    assert_eq!(r["e"], 400);
    assert!(r["msg"].as_str().unwrap().contains("attendancefrom"), "{r}");
    let r = cl(
        "emp_leavesummary",
        json!({"fromdate": "2026-03-02", "todate": "2026-03-01"}),
    );
    assert_eq!(r["e"], 400);
    assert!(r["msg"].as_str().unwrap().contains("todate"), "{r}");
    let ok = cl(
        "emp_leavesummary",
        json!({"fromdate": "2024-01-01", "todate": "2024-12-31"}),
    );
    assert_eq!(ok["e"], 200, "366 days are allowed: {ok}");
    let r = cl(
        "emp_leavesummary",
        json!({"fromdate": "2024-01-01", "todate": "2025-01-01"}),
    );
    assert_eq!(r["e"], 400, "367 days are not: {r}");
    let r = cl("emp_newjoin", json!({"unitid": "0"}));
    assert_eq!(r["e"], 400);
    assert!(r["msg"].as_str().unwrap().contains("from"));
    let r = codelayer(
        &s,
        "hrdetails/emp_payroll",
        &json!({"key": "x".repeat(32), "fromdate": "2026-03-01", "todate": "2026-03-31"}),
    );
    assert_eq!(r["e"], 401);
}

#[test]
fn imports_are_idempotent_and_refuse_bad_lines_alone() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let shifts = write(
        dir.path(),
        "shifts.csv",
        "code,name,start,end,full_day_minutes\nG,General,08:00,16:00,\nN,Night,22:00,06:00,420\nX,Broken,25:00,06:00,\nY,Too long,08:00,16:00,481\n",
    );
    let v = import(&s, "shifts", &shifts);
    assert_eq!(
        (v["inserted"].as_u64(), v["refused"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 5]);
    assert!(
        v["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("full_day_minutes: 1 to 480"),
        "{v}"
    );
    let locs = write(
        dir.path(),
        "locations.csv",
        "code,name,scope,latitude,longitude,radius_m,polygon\nOFF,Office,all,8.96,77.30,300,\nF1,Field 1,group:G1;employee:E9,,,,8.965 77.305; 8.965 77.310; 8.970 77.310\nBAD,Bad,all,95,77.3,300,\nR0,No radius,all,8.96,77.3,0,\nQ,Queer scope,planet:x,8.96,77.3,10,\n",
    );
    let v = import(&s, "locations", &locs);
    assert_eq!(
        (v["inserted"].as_u64(), v["refused"].as_u64()),
        (Some(2), Some(3)),
        "{v}"
    );
    let emps = write(
        dir.path(),
        "employees.csv",
        "code,name,sex,dob,doj,pan,department,designation,firm,group,shift\nE1,Ravi,M,1990-01-01,2020-01-01,AAAPL1234C,FLD,LAB,1,G1,N\nE2,Uma,F,,2021-05-01,,FLD,LAB,1,G1,G\nE3,Bad sex,X,,2021-05-01,,FLD,LAB,1,,\nE4,Bad pan,M,,2021-05-01,AAAP1234C,FLD,LAB,1,,\nE5,No shift,M,,2021-05-01,,FLD,LAB,1,,ZZ\nE6,No doj,M,,,,FLD,LAB,1,,\n",
    );
    let v = import(&s, "employees", &emps);
    assert_eq!(
        (v["inserted"].as_u64(), v["refused"].as_u64()),
        (Some(2), Some(4)),
        "{v}"
    );
    // Re-import: nothing changes, for every kind.
    for (kind, f) in [
        ("shifts", &shifts),
        ("locations", &locs),
        ("employees", &emps),
    ] {
        let v = import(&s, kind, f);
        assert_eq!(
            (v["inserted"].as_u64(), v["updated"].as_u64()),
            (Some(0), Some(0)),
            "{kind}: {v}"
        );
        assert!(v["unchanged"].as_u64().unwrap() >= 2, "{kind}: {v}");
    }
    let (_, v) = admin_call(&s, "GET", "/admin/locations", None);
    let f1 = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "F1")
        .unwrap()
        .clone();
    assert_eq!(f1["shape"]["type"], "polygon");
    assert_eq!(f1["scopes"], json!(["group:G1", "employee:E9"]));
    let (_, v) = admin_call(&s, "GET", "/admin/shifts", None);
    let n = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "N")
        .unwrap()
        .clone();
    assert_eq!(
        (
            n["crosses_midnight"].as_bool(),
            n["full_day_minutes"].as_u64()
        ),
        (Some(true), Some(420))
    );
    // Linking a user to an unknown employee is refused.
    s.cli_json(&[
        "user",
        "add",
        "--username",
        "u1",
        "--password",
        "secret-pass-1",
    ]);
    let (st, _) = admin_call(
        &s,
        "POST",
        "/admin/attendance/link-user",
        Some(&json!({"username": "u1", "employee_code": "NOPE"})),
    );
    assert_eq!(st, 404);
}
