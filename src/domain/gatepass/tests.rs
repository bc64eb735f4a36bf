use chrono::NaiveDate;
use serde_json::json;

use super::*;
use crate::domain::validate::Fields;

/// A handheld's rule: a repeat at the same post is a retry however late (the old behaviour).
const ANY: Repeat = Repeat::RetryWithin(i64::MAX);

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn stamp(at: i64, gate: &str) -> Stamp {
    Stamp {
        at_unix: at,
        gate: gate.into(),
        guard: "Ravi".into(),
    }
}

const LIM: ContentLimits = TEST_LIMITS;

fn content(v: serde_json::Value) -> Result<Content, Vec<String>> {
    let m = v.as_object().unwrap();
    let mut f = Fields::new(m);
    match parse_content(&mut f, LIM) {
        Some(c) => Ok(c.content),
        None => Err(f.errors.iter().map(|e| e.field.clone()).collect()),
    }
}

fn pass(kind_json: serde_json::Value) -> Gatepass {
    Gatepass::for_tests(PassNumber::for_day(day(), 1).as_str(), kind_json)
}

fn visitor() -> Gatepass {
    pass(json!({"kind": "visitor", "name": "Asha", "host": "Manager", "purpose": "Audit"}))
}

#[test]
fn numbers_follow_the_day_sequence_and_refuse_odd_characters() {
    assert_eq!(PassNumber::for_day(day(), 7).as_str(), "GP-20261123-0007");
    assert!(PassNumber::parse("HH1/2026-11/0042").is_some());
    assert!(PassNumber::parse(&"x".repeat(30)).is_some());
    assert!(PassNumber::parse(&"x".repeat(31)).is_none());
    assert!(PassNumber::parse("GP 1").is_none());
    assert!(PassNumber::parse("").is_none());
}

#[test]
fn a_visitor_goes_in_and_out_and_retries_change_nothing() {
    let mut p = visitor();
    assert_eq!(p.status(1001), Status::Issued);
    assert_eq!(
        p.apply(Move::Out, stamp(1100, "North"), ANY),
        Err(Refusal::NotIn)
    );
    assert_eq!(
        p.apply(Move::In, stamp(1100, "North"), ANY),
        Ok(Outcome::Changed)
    );
    assert_eq!(
        p.apply(Move::In, stamp(1150, "North"), ANY),
        Ok(Outcome::AlreadyDone)
    );
    assert_eq!(
        p.apply(Move::In, stamp(1150, "South"), ANY),
        Err(Refusal::AlreadyIn {
            since_unix: 1100,
            gate: "North".into(),
            guard: "Ravi".into()
        })
    );
    assert_eq!(
        p.apply(Move::Cancel, stamp(1200, "North"), ANY),
        Err(Refusal::InsideCannotCancel)
    );
    assert_eq!(
        p.apply(Move::Out, stamp(1300, "South"), ANY),
        Ok(Outcome::Changed)
    );
    assert_eq!(p.entered().unwrap().gate, "North");
    assert_eq!(p.left().unwrap().gate, "South");
    assert_eq!(
        p.apply(Move::Out, stamp(1400, "South"), ANY),
        Ok(Outcome::AlreadyDone)
    );
    assert_eq!(
        p.apply(Move::In, stamp(1400, "North"), ANY),
        Err(Refusal::AlreadyOut {
            at_unix: 1300,
            gate: "South".into(),
            guard: "Ravi".into()
        })
    );
    assert_eq!(p.status(99_999_999), Status::Out);
}

#[test]
fn validity_bounds_entry_but_never_leaving() {
    let mut p = visitor();
    let until = p.valid_until_unix;
    assert_eq!(until, 1000 + 12 * 3600);
    assert_eq!(p.status(until), Status::Issued);
    assert_eq!(p.status(until + 1), Status::Expired);
    assert_eq!(
        p.apply(Move::In, stamp(until + 1, "N"), ANY),
        Err(Refusal::ValidityOver { until_unix: until })
    );
    assert_eq!(
        p.apply(Move::In, stamp(until, "N"), ANY),
        Ok(Outcome::Changed)
    );
    assert_eq!(
        p.apply(Move::Out, stamp(until + 86_400, "N"), ANY),
        Ok(Outcome::Changed)
    );
    let mut q = visitor();
    assert_eq!(
        q.apply(Move::In, stamp(999, "N"), ANY),
        Err(Refusal::BeforeIssue)
    );
}

#[test]
fn cancelled_and_expired_passes_are_final() {
    let mut p = visitor();
    assert_eq!(
        p.apply(Move::Cancel, stamp(1100, "N"), ANY),
        Ok(Outcome::Changed)
    );
    assert_eq!(
        p.apply(Move::Cancel, stamp(1200, "N"), ANY),
        Ok(Outcome::AlreadyDone)
    );
    assert_eq!(
        p.apply(Move::In, stamp(1200, "N"), ANY),
        Err(Refusal::Cancelled)
    );
    let mut q = visitor();
    assert!(!q.close_with_day(2000));
    assert_eq!(
        q.apply(Move::In, stamp(2100, "N"), ANY),
        Err(Refusal::Expired)
    );
    let mut r = visitor();
    r.apply(Move::In, stamp(1100, "N"), ANY).unwrap();
    assert!(r.close_with_day(2000), "holder still inside is reported");
    assert_eq!(r.status(2001), Status::Expired);
    assert_eq!(r.entered().unwrap().at_unix, 1100);
    assert_eq!(
        r.apply(Move::Out, stamp(2100, "N"), ANY),
        Err(Refusal::Expired)
    );
}

#[test]
fn a_labour_exit_pass_only_records_the_exit() {
    let mut p = pass(json!({"kind": "labour", "lcode": "29C399", "purpose": "Hospital"}));
    assert_eq!(p.content.person(), "29C399");
    assert_eq!(
        p.apply(Move::In, stamp(1100, "N"), ANY),
        Err(Refusal::LabourEntersNot)
    );
    assert_eq!(
        p.apply(Move::Out, stamp(1100, "N"), ANY),
        Ok(Outcome::Changed)
    );
    assert!(p.entered().is_none());
}

#[test]
fn each_kind_requires_its_own_fields() {
    assert_eq!(
        content(json!({"kind": "visitor", "purpose": "x"})).unwrap_err(),
        vec!["host", "name"]
    );
    assert_eq!(
        content(json!({"kind": "vehicle", "purpose": "x", "vehicle": "tn 72 ab 1234"}))
            .unwrap_err(),
        vec!["driver"]
    );
    let v = content(
        json!({"kind": "vehicle", "purpose": "x", "vehicle": "tn 72 ab 1234", "driver": "Mani"}),
    )
    .unwrap();
    assert_eq!(v.vehicle(), Some("TN72AB1234"));
    assert_eq!(
        content(json!({"kind": "boat", "purpose": "x"})).unwrap_err(),
        vec!["kind"]
    );
    assert_eq!(
        content(
            json!({"kind": "visitor", "name": "A", "host": "B", "purpose": "C", "id_type": "KTP"})
        )
        .unwrap_err(),
        vec!["id_number"]
    );
}

#[test]
fn material_items_and_return_dates_are_checked_at_their_edges() {
    let item = json!({"name": "Sprayer", "qty": "2", "unit": "pcs"});
    let base = |items: serde_json::Value, extra: serde_json::Value| {
        let mut v =
            json!({"kind": "material", "name": "Mani", "purpose": "Repair", "items": items});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        content(v)
    };
    let three = json!([item, item, item]);
    assert_eq!(
        base(three.clone(), json!({}))
            .unwrap()
            .material()
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        base(json!([item, item, item, item]), json!({})).unwrap_err(),
        vec!["items"]
    );
    assert_eq!(base(json!([]), json!({})).unwrap_err(), vec!["items"]);
    assert_eq!(
        base(
            json!([{"name": "Sprayer", "qty": 0, "unit": "pcs"}]),
            json!({})
        )
        .unwrap_err(),
        vec!["items[0].qty"]
    );
    assert_eq!(
        base(three.clone(), json!({"returnable": "T"})).unwrap_err(),
        vec!["return_due"]
    );
    assert_eq!(
        base(
            three.clone(),
            json!({"returnable": "F", "return_due": "2026-11-30"})
        )
        .unwrap_err(),
        vec!["return_due"]
    );
    assert_eq!(
        base(three.clone(), json!({"return_due": "30/11/2026"})).unwrap_err(),
        vec!["return_due"]
    );
    let c = base(
        three,
        json!({"returnable": true, "return_due": "2026-11-30"}),
    )
    .unwrap();
    assert_eq!(
        c.return_due(),
        Some(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap())
    );
}

#[test]
fn photos_are_bounded_by_their_decoded_size() {
    use base64::Engine as _;
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
    let v = |photo: String| json!({"kind": "visitor", "name": "A", "host": "B", "purpose": "C", "photo": photo});
    let ok = v(b64(8));
    let mut f = Fields::new(ok.as_object().unwrap());
    let c = parse_content(&mut f, LIM).unwrap();
    assert_eq!(c.photo.as_deref(), Some(&[7u8; 8][..]));
    match &c.content.subject {
        Subject::Visitor(v) => assert_eq!(v.photo.as_ref().unwrap().len(), 64),
        _ => unreachable!(),
    }
    let data_url = v(format!("data:image/jpeg;base64,{}", b64(8)));
    assert!(content(data_url).is_ok());
    assert_eq!(content(v(b64(9))).unwrap_err(), vec!["photo"]);
    assert_eq!(content(v("!!!".into())).unwrap_err(), vec!["photo"]);
}

#[test]
fn equal_content_tells_a_retry_from_other_content() {
    let a = visitor();
    let b = visitor();
    assert_eq!(a.content, b.content);
    let c = pass(
        json!({"kind": "visitor", "name": "Asha", "host": "Manager", "purpose": "Audit", "valid_hours": 13}),
    );
    assert_ne!(a.content, c.content);
}

#[test]
fn returnable_material_is_overdue_after_its_date_until_all_is_back() {
    let mut p = pass(
        json!({"kind": "material", "name": "Mani", "purpose": "Repair",
        "items": [{"name": "Sprayer", "qty": 2, "unit": "pcs"}, {"name": "Hose", "qty": 10.5, "unit": "m"}],
        "returnable": "T", "return_due": "2026-11-25"}),
    );
    let mut returns = Returns::default();
    let due = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let after = due.succ_opt().unwrap();
    assert!(
        !p.overdue(&returns, after),
        "material that never left is not owed"
    );
    p.apply(Move::In, stamp(1100, "N"), ANY).unwrap();
    p.apply(Move::Out, stamp(1200, "N"), ANY).unwrap();
    assert!(!p.overdue(&returns, due));
    assert!(p.overdue(&returns, after));
    let items = p.content.material().unwrap().items.clone();
    let r = |name: &str, qty: f64| Returned {
        name: name.into(),
        qty,
    };
    assert_eq!(
        record_return(
            &items,
            &mut returns,
            vec![r("Ladder", 1.0)],
            stamp(1300, "N")
        ),
        Err(ReturnRefusal::UnknownItem {
            name: "Ladder".into()
        })
    );
    assert_eq!(
        record_return(
            &items,
            &mut returns,
            vec![r("sprayer", 3.0)],
            stamp(1300, "N")
        ),
        Err(ReturnRefusal::TooMuch {
            name: "Sprayer".into(),
            outstanding: 2.0
        })
    );
    record_return(
        &items,
        &mut returns,
        vec![r("Sprayer", 2.0), r("Hose", 10.0)],
        stamp(1300, "N"),
    )
    .unwrap();
    assert!(p.overdue(&returns, after));
    assert_eq!(outstanding(&items, &returns)[1].qty, 0.5);
    record_return(&items, &mut returns, vec![r("Hose", 0.5)], stamp(1400, "N")).unwrap();
    assert!(!p.overdue(&returns, after));
    assert!(!p.owes_return(&returns));
}

#[test]
fn search_ignores_spaces_in_vehicle_numbers() {
    let c = Content {
        subject: Subject::Vehicle(VehicleTrip {
            number: "KT8123AB".into(),
            driver: "Ravi".into(),
            load: String::new(),
        }),
        host: "Office".into(),
        purpose: "Fertiliser".into(),
        valid_hours: 8,
    };
    assert!(c.matches("kt 8123"));
    assert!(c.matches("kt8123"));
    assert!(!c.matches("kt 9"));
}

#[test]
fn a_second_in_or_out_is_refused_with_when_unless_it_is_a_retry() {
    let mut p = visitor();
    p.apply(Move::In, stamp(1100, "North"), Repeat::Refuse)
        .unwrap();
    // The desk: a second press is refused, naming when and where.
    let again = p.apply(Move::In, stamp(1100, "North"), Repeat::Refuse);
    assert_eq!(
        again,
        Err(Refusal::AlreadyIn {
            since_unix: 1100,
            gate: "North".into(),
            guard: "Ravi".into()
        })
    );
    let (key, args) = again.unwrap_err().key();
    assert_eq!(key, "gatepass.refused.already_in");
    assert!(args.contains(&("since", "1100".to_string())));
    // A handheld resending its own datetime: the very same instant is a retry, a later scan is not.
    assert_eq!(
        p.apply(Move::In, stamp(1100, "North"), Repeat::RetryWithin(0)),
        Ok(Outcome::AlreadyDone)
    );
    assert!(p
        .apply(Move::In, stamp(1101, "North"), Repeat::RetryWithin(0))
        .is_err());
    // Without a datetime: within the window a retry, after it refused.
    assert_eq!(
        p.apply(Move::In, stamp(1160, "North"), Repeat::RetryWithin(60)),
        Ok(Outcome::AlreadyDone)
    );
    assert!(p
        .apply(Move::In, stamp(1161, "North"), Repeat::RetryWithin(60))
        .is_err());
    p.apply(Move::Out, stamp(1300, "South"), Repeat::Refuse)
        .unwrap();
    assert_eq!(
        p.apply(Move::Out, stamp(1400, "South"), Repeat::Refuse),
        Err(Refusal::AlreadyOut {
            at_unix: 1300,
            gate: "South".into(),
            guard: "Ravi".into()
        })
    );
}
