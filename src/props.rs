//! Property tests (proptest): the parsers that read what clients and files send never panic,
//! whatever arrives. A short run is part of `cargo test` (`PROPTEST_CASES` raises it, e.g.
//! `PROPTEST_CASES=20000 cargo test --lib props::`).

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::domain::validate::Fields;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text the way clients get it wrong: empty, huge, control characters, non-ASCII, digits.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{0,12}",
        "[ -~]{0,40}",
        "\\PC{0,20}",
        "[\\x00-\\x1f\u{7f}\u{202e}]{0,5}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?",
        Just("9".repeat(400)),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        Just(Value::from(0)),
        Just(Value::from(-1)),
        Just(Value::from(1e308)),
    ]
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object with the given field names (and some others), each holding any JSON.
fn object_with(names: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::collection::vec(prop::option::of(json()), names.len()),
        prop::collection::btree_map(text(), json(), 0..3),
    )
        .prop_map(move |(vals, extra)| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            for (n, v) in names.iter().zip(vals) {
                if let Some(v) = v {
                    m.insert(n.to_string(), v);
                }
            }
            m
        })
}

const MUSTER_LINE: &[&str] = &[
    "lineID",
    "musterID",
    "lcode",
    "code",
    "gross",
    "bag",
    "netWeight",
    "netweight",
    "gang",
    "TaskID",
    "firmid",
    "date",
    "inTime",
    "outTime",
    "isHelper",
    "isSupervisor",
    "attendance",
    "material",
    "pests",
    "remarks",
    "qty",
    "units",
];
const MUSTER: &[&str] = &[
    "TaskID",
    "taskID",
    "firmid",
    "firmID",
    "Date",
    "date",
    "DiarySlipNo",
    "muster",
    "materials",
    "pests",
    "supervisor",
    "lcode",
];
const GATEPASS: &[&str] = &[
    "kind",
    "host",
    "purpose",
    "valid_hours",
    "name",
    "phone",
    "id_type",
    "id_number",
    "photo",
    "company",
    "vehicle",
    "vehicle_no",
    "driver",
    "items",
    "returnable",
    "return_due",
    "lcode",
    "reason",
    "gate",
    "guard",
    "count",
    "gpno",
    "action",
];

proptest! {
    #![proptest_config(cases(256))]

    /// Every field reader on any JSON object: an answer or a collected error, never a panic.
    #[test]
    fn field_readers_take_any_json(obj in object_with(&["a", "b"]), min in 0usize..5, max in 0usize..80) {
        let mut f = Fields::new(&obj);
        let _ = f.string("a", min, max);
        let _ = f.optional("b", max);
        let _ = f.int("a", -5, 5, true);
        let _ = f.int("b", i64::MIN, i64::MAX, false);
        let _ = f.number("a", -1e9, 1e9, true);
        let _ = f.boolean("b");
        let _ = f.flag("a", true);
        let _ = f.one_of("b", &["x", "y"], true);
        for e in &f.errors {
            // Every error renders in both languages without leaving a placeholder behind.
            let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            for lang in [crate::i18n::Lang::Id, crate::i18n::Lang::En] {
                let m = crate::i18n::t(lang, e.key, &args);
                prop_assert!(!m.contains("{field}") && !m.contains("{min}"), "{}: {}", e.key, m);
            }
        }
    }

    /// The request envelope: any body with any content type is an object or a 400/415.
    #[test]
    fn request_bodies_and_queries_never_panic(body in prop::collection::vec(any::<u8>(), 0..200),
                                               json_body in json(),
                                               ct in prop_oneof![Just("application/json".to_string()), Just("text/plain".to_string()), Just("application/x+json; charset=latin1".to_string()), "\\PC{0,30}"],
                                               query in "[ -~%+&=]{0,80}") {
        for bytes in [body.clone(), serde_json::to_vec(&json_body).unwrap()] {
            let mut headers = warp::http::HeaderMap::new();
            if let Ok(v) = warp::http::HeaderValue::from_str(&ct) {
                headers.insert("content-type", v);
            }
            let req = crate::api::Request {
                method: warp::http::Method::POST,
                path: "/x".into(),
                query: query.clone(),
                headers,
                body: bytes.into(),
                params: Vec::new(),
                peer: None,
            };
            match req.json_object() {
                Ok(_) => {}
                Err(p) => prop_assert!(p.status == 400 || p.status == 415, "{}", p.status),
            }
            let _ = req.query_params();
            for fam in [crate::api::Family::DailyActivity, crate::api::Family::Codelayer, crate::api::Family::Authorize] {
                let p = crate::api::Problem::new(400, "body.invalid_json").arg("detail", query.clone());
                let r = fam.render(&req, &p);
                prop_assert!(serde_json::from_slice::<Value>(&r.body).is_ok());
            }
        }
    }

    /// Post Muster's line and slip parsers on any JSON.
    #[test]
    fn muster_parsers_take_any_json(line in object_with(MUSTER_LINE), slip in object_with(MUSTER),
                                    lines in prop::collection::vec(object_with(MUSTER_LINE), 0..4),
                                    odd in json()) {
        use crate::api::codelayer::estate::{parse_line, parse_muster};
        let _ = parse_line(&Value::Object(line));
        let _ = parse_line(&odd);
        let mut slip = slip;
        slip.insert("muster".into(), Value::Array(lines.into_iter().map(Value::Object).collect()));
        let mut errors = Vec::new();
        let _ = parse_muster(0, &Value::Object(slip), &mut errors);
        let _ = parse_muster(3, &odd, &mut errors);
        for e in &errors {
            prop_assert!(!e.field.is_empty());
        }
    }

    /// Net weights and weighment checks on any figures.
    #[test]
    fn weighment_rules_take_any_figures(gross in any::<i64>(), bag in any::<i64>(), net in prop::option::of(any::<i64>()),
                                        moisture in any::<f64>(), max in any::<i64>(), tol in any::<i64>(),
                                        harvest in any::<bool>(), sup in any::<bool>(), helper in any::<bool>()) {
        use crate::domain::estate::muster::{check_weighment, net_weight, WeighRules, Weighment};
        let rules = WeighRules { harvest_job: harvest, moisture_perc: moisture, max_gross_g: max, tolerance_g: tol };
        let _ = check_weighment(&rules, sup, helper, &Weighment { gross_g: gross, bag_g: bag, net_g: net });
        let _ = net_weight(gross, bag, helper, moisture);
    }

    /// Gatepass content parser on any JSON, then any sequence of moves on what it accepted.
    #[test]
    fn gatepass_parser_and_moves_take_anything(obj in object_with(GATEPASS), items in prop::collection::vec(json(), 0..4),
                                                moves in prop::collection::vec((0u8..3, any::<i64>(), text(), text()), 0..8),
                                                number in "\\PC{0,30}") {
        use crate::domain::gatepass::{parse_content, parse_items, parse_stamp_fields, ContentLimits};
        use crate::domain::gatepass::{Gatepass, Kind, Move, PassNumber, Repeat, Source, Stamp};
        let mut obj = obj;
        obj.insert("items".into(), Value::Array(items));
        let mut f = Fields::new(&obj);
        let lim = ContentLimits { max_items: 3, default_valid_hours: 12, max_valid_hours: 72, max_image_bytes: 1024 };
        let parsed = parse_content(&mut f, lim);
        let _ = parse_items(&mut f, "items", 3, false);
        let _ = parse_stamp_fields(&mut f);
        let _ = PassNumber::parse(&number);
        let _ = Kind::parse(&number);
        let _ = Move::parse(&number);
        if let (Some(input), true) = (parsed, f.ok()) {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
            let stamp = |at: i64, g: &str, u: &str| Stamp { at_unix: at, gate: g.into(), guard: u.into() };
            let mut pass = Gatepass::new(PassNumber::for_day(day, 1), day, stamp(0, "N", "R"), input.content, Source::Desk);
            for (m, at, g, u) in moves {
                let mv = [Move::In, Move::Out, Move::Cancel][m as usize];
                let repeat = if m % 2 == 0 { Repeat::Refuse } else { Repeat::RetryWithin(at % 300) };
                let _ = pass.apply(mv, stamp(at, &g, &u), repeat);
                let _ = pass.status(at);
                let _ = pass.close_with_day(at);
            }
        }
    }

    /// The backup reader on any bytes, and on bodies whose lengths lie (a forged length must
    /// fail, not allocate what it claims).
    #[test]
    fn backup_reader_takes_any_bytes(junk in prop::collection::vec(any::<u8>(), 0..300),
                                     tag in 0u8..5, len in any::<u64>(), tail in prop::collection::vec(any::<u8>(), 0..64)) {
        use crate::store::backup::{read_header, read_records};
        let _ = read_header(&mut &junk[..]);
        let mut n = 0;
        let _ = read_records(&mut &junk[..], &mut |_| { n += 1; Ok(()) });
        let mut forged = vec![tag];
        match tag {
            1 => { forged.extend(2u16.to_be_bytes()); forged.extend(b"db"); forged.extend((len as u32).to_be_bytes()); }
            2 => { forged.extend([b'a'; 64]); forged.extend(len.to_be_bytes()); }
            3 => { forged.extend(10u16.to_be_bytes()); forged.extend(b"master.key"); forged.extend(len.to_be_bytes()); }
            _ => {}
        }
        forged.extend(&tail);
        let r = read_records(&mut &forged[..], &mut |_| Ok(()));
        if tag != 0 && len > tail.len() as u64 + 8 {
            prop_assert!(r.is_err());
        }
    }

    /// The connection guard: any head is judged without a panic; requests with good framing,
    /// cut into pieces anyhow, reach hyper byte for byte.
    #[test]
    fn connection_guard_passes_good_requests_through(head in prop::collection::vec(any::<u8>(), 0..300),
                                                     bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..4),
                                                     cuts in prop::collection::vec(1usize..50, 1..20)) {
        let _ = crate::api::guard::framing(&head);
        let mut wire = Vec::new();
        for b in &bodies {
            wire.extend(format!("POST /codelayer/x HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", b.len()).as_bytes());
            wire.extend(b);
        }
        let got = through_guard(&wire, &cuts);
        prop_assert_eq!(got, wire);
    }
}

/// Feeds `wire` to a `Guarded` stream in pieces of the given sizes; returns what it hands on.
fn through_guard(wire: &[u8], cuts: &[usize]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut guarded = crate::api::guard::Guarded::new(server);
        let wire = wire.to_vec();
        let cuts = cuts.to_vec();
        let writer = tokio::spawn(async move {
            let mut at = 0;
            let mut i = 0;
            while at < wire.len() {
                let n = cuts[i % cuts.len()].min(wire.len() - at);
                client.write_all(&wire[at..at + n]).await.unwrap();
                client.flush().await.unwrap();
                tokio::task::yield_now().await;
                at += n;
                i += 1;
            }
            client.shutdown().await.unwrap();
            client
        });
        let mut out = Vec::new();
        guarded.read_to_end(&mut out).await.unwrap();
        let _ = writer.await;
        out
    })
}
