//! Schema 8: a store written before the day figures gets them from its records.

use chrono::NaiveDate;

use crate::domain::attendance::{DayFigures, Direction, Flag, Punch};
use crate::domain::estate::muster::{MusterLine, MusterSlip};
use crate::domain::estate::{EstateTaskId, FirmId, LabourCode};
use crate::domain::ids::UserId;
use crate::store::tables::{attendance, estate, gatepass};
use crate::store::{codec, counters, schema, Op, Record};

fn line(day: NaiveDate, lcode: &str, net_g: i64) -> MusterLine {
    MusterLine {
        line_id: lcode.into(),
        imei: "1".into(),
        user: UserId(1),
        firm: FirmId("1".into()),
        task: EstateTaskId("T1".into()),
        task_date: day,
        diary_slip_no: "DS-1".into(),
        lcode: LabourCode(lcode.into()),
        gross_g: net_g + 500,
        bag_g: 500,
        net_g,
        is_helper: false,
        half_day: false,
        with_muster: true,
        at_local: day.and_hms_opt(8, 0, 0).unwrap(),
        at_unix: 0,
        received_unix: 0,
        fingerprint: [0; 32],
    }
}

fn slip(day: NaiveDate, no: &str) -> MusterSlip {
    MusterSlip {
        firm: FirmId("1".into()),
        task: EstateTaskId("T1".into()),
        task_date: day,
        diary_slip_no: no.into(),
        job_ends: false,
        materials: Vec::new(),
        pests: Vec::new(),
        imei: "1".into(),
        user: UserId(1),
        received_unix: 0,
    }
}

#[test]
fn a_schema_7_store_gets_its_day_counters() {
    let dir = tempfile::tempdir().unwrap();
    let d1 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let d2 = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let ymd = crate::domain::time::ymd;
    // 01:00 UTC is 08:00 at +07:00.
    let eight = |d: NaiveDate| d.and_hms_opt(1, 0, 0).unwrap().and_utc().timestamp();
    let mut flagged = Punch::for_tests(3, "E2", Direction::In, eight(d1) + 3600, d1);
    flagged.flags = vec![Flag::MockLocation];
    let punches = [
        Punch::for_tests(1, "E1", Direction::In, eight(d1), d1),
        Punch::for_tests(2, "E1", Direction::Out, eight(d1) + 60, d1),
        // E1 again: present once.
        Punch::for_tests(4, "E1", Direction::In, eight(d1) + 120, d1),
        flagged,
        Punch::for_tests(5, "E1", Direction::In, eight(d2), d2),
    ];
    let mut ops = Vec::new();
    let mut put = |tree: &str, key: Vec<u8>, value: Vec<u8>| {
        ops.push(Op {
            tree: tree.into(),
            key,
            value: Some(value),
        })
    };
    for p in &punches {
        let key = crate::store::key(&[p.employee.as_bytes(), &p.id.to_be_bytes()]);
        put(Punch::TREE, key.clone(), codec::encode(p));
        put(
            attendance::PUNCHES_BY_DAY,
            [
                crate::store::prefix(&[ymd(p.attendance_day).as_bytes()]),
                key,
            ]
            .concat(),
            codec::INDEX_VALUE.to_vec(),
        );
    }
    for (day, number) in [("20261201", "A"), ("20261201", "B"), ("20261202", "C")] {
        put(
            gatepass::BY_DAY,
            crate::store::key(&[day.as_bytes(), number.as_bytes()]),
            codec::INDEX_VALUE.to_vec(),
        );
    }
    for (day, lcode, net) in [(d1, "R1", 19_000), (d1, "R2", 9_500), (d2, "R1", 7_250)] {
        put(
            MusterLine::TREE,
            crate::store::key(&[ymd(day).as_bytes(), b"1", b"T1", lcode.as_bytes()]),
            codec::encode(&line(day, lcode, net)),
        );
    }
    for (day, no) in [(d1, "DS-1"), (d1, "DS-2"), (d2, "DS-3")] {
        put(
            MusterSlip::TREE,
            crate::store::key(&[ymd(day).as_bytes(), b"1", b"T1", b"1", no.as_bytes()]),
            codec::encode(&slip(day, no)),
        );
    }
    let store = schema::migrated(dir.path(), 7, ops);
    let n = |k: String| counters::get(&store, &k).unwrap();
    let figures = |d| {
        store
            .get::<DayFigures>(attendance::figures_key(d).as_bytes())
            .unwrap()
            .unwrap()
    };
    let mut per_hour = [0; 24];
    per_hour[8] = 3;
    per_hour[9] = 1;
    assert_eq!(
        figures(d1),
        DayFigures {
            punches_in: 3,
            punches_out: 1,
            flagged: 1,
            present: 2,
            per_hour,
        }
    );
    let mut per_hour = [0; 24];
    per_hour[8] = 1;
    assert_eq!(
        figures(d2),
        DayFigures {
            punches_in: 1,
            punches_out: 0,
            flagged: 0,
            present: 1,
            per_hour,
        }
    );
    assert_eq!(n(gatepass::issued_counter("20261201")), 2);
    assert_eq!(n(gatepass::issued_counter("20261202")), 1);
    let muster = |d, w: &str| n(estate::muster_counter(&ymd(d), w));
    assert_eq!(
        [
            muster(d1, "lines"),
            muster(d1, "slips"),
            muster(d1, "net_g")
        ],
        [2, 2, 28_500]
    );
    assert_eq!(
        [
            muster(d2, "lines"),
            muster(d2, "slips"),
            muster(d2, "net_g")
        ],
        [1, 1, 7_250]
    );
    // The clock-in marks are built too: the write path counts an employee present once a
    // day by them.
    let marked: Vec<Vec<u8>> = store
        .engine()
        .scan(attendance::PRESENT_BY_DAY, b"")
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(
        marked,
        vec![
            attendance::present_key(d1, "E1"),
            attendance::present_key(d1, "E2"),
            attendance::present_key(d2, "E1"),
        ]
    );
}
