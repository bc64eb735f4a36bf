//! The desk's reads: passes inside now, a day's passes, overdue material, search by person or
//! vehicle, one pass in full, the summary counters and the export table.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Value};

use super::{day_key, local_time, today, Result, ServiceError, Services};
use crate::domain::gatepass::{
    fmt_qty, outstanding, Gatepass, PassNumber, Returns, Source, Stamp, Subject,
};
use crate::service::answers::Cancel;
use crate::service::walks::CHECK_EVERY;
use crate::store::tables::gatepass::{BY_DAY, INSIDE, INSIDE_COUNTER};
use crate::store::{self, Store};

/// One line of the desk's list (the console builds its screens on these names).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub number: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub name: String,
    pub vehicle: Option<String>,
    pub host: String,
    pub purpose: String,
    pub issued_unix: i64,
    pub in_unix: Option<i64>,
    pub out_unix: Option<i64>,
    pub valid_until_unix: i64,
    pub returnable: bool,
    pub return_due: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Inside,
    Today,
    Overdue,
    All,
}

impl View {
    pub fn parse(s: &str) -> Option<View> {
        Some(match s {
            "inside" => View::Inside,
            "today" => View::Today,
            "overdue" => View::Overdue,
            "all" => View::All,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub inside: usize,
    pub today: usize,
    pub overdue: usize,
}

pub fn get(store: &Store, number: &PassNumber) -> Result<Option<(Gatepass, Returns)>> {
    let key = number.as_str().as_bytes();
    Ok(match store.get::<Gatepass>(key)? {
        Some(p) => Some((p, store.get::<Returns>(key)?.unwrap_or_default())),
        None => None,
    })
}

pub fn row(p: &Gatepass, returns: &Returns, today: NaiveDate, now_unix: i64) -> Row {
    let due = p.content.return_due();
    Row {
        number: p.number.to_string(),
        kind: p.kind().as_str(),
        status: p.status(now_unix).as_str(),
        name: p.content.person().to_string(),
        vehicle: p.content.vehicle().map(str::to_string),
        host: p.content.host.clone(),
        purpose: p.content.purpose.clone(),
        issued_unix: p.issued.at_unix,
        in_unix: p.entered().map(|s| s.at_unix),
        out_unix: p.left().map(|s| s.at_unix),
        valid_until_unix: p.valid_until_unix,
        returnable: due.is_some(),
        return_due: due.map(|d| d.format("%Y-%m-%d").to_string()),
        overdue: p.overdue(returns, today),
    }
}

fn load_many(store: &Store, numbers: Vec<Vec<u8>>) -> Result<Vec<(Gatepass, Returns)>> {
    let mut out = Vec::with_capacity(numbers.len());
    for k in numbers {
        if let Some(p) = store.get::<Gatepass>(&k)? {
            let r = store.get::<Returns>(&k)?.unwrap_or_default();
            out.push((p, r));
        }
    }
    Ok(out)
}

/// Pass numbers of one day, oldest first, from the day index.
fn day_numbers(store: &Store, day: NaiveDate) -> Result<Vec<Vec<u8>>> {
    Ok(store.index_keys(BY_DAY, &store::prefix(&[day_key(day).as_bytes()]))?)
}

/// Pass numbers of one day, or of every day, newest first, read as the caller goes.
fn newest_first<'a>(
    store: &'a Store,
    prefix: &'a [u8],
) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + 'a>> {
    let whole_index = prefix.is_empty();
    Ok(Box::new(store.index_keys_rev(BY_DAY, prefix)?.map(
        move |k| {
            let k = k.map_err(ServiceError::from)?;
            Ok(if whole_index {
                // day ‖ 0 ‖ number → number
                k.splitn(2, |b| *b == 0).nth(1).unwrap_or(&[]).to_vec()
            } else {
                k
            })
        },
    )))
}

/// The desk's list. `date` narrows any view to passes of that site day; `q` is a
/// case-insensitive substring of the person, vehicle, host or labour code. At most
/// `list_limit` rows; a day's or every day's passes are read newest first and the read stops
/// there. A list that may walk far (a text search, or every day's passes) runs as a
/// `Services::walks`.
pub async fn list(
    svc: &Arc<Services>,
    view: View,
    q: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<Vec<Row>> {
    let searches = q.is_some_and(|q| !q.trim().is_empty());
    let every_day = view == View::All && date.is_none();
    let (s, q) = (svc.clone(), q.map(str::to_string));
    svc.walks
        .run_if(searches || every_day, move |cancel| {
            list_rows(&s, view, q.as_deref(), date, cancel)
        })
        .await
}

fn list_rows(
    svc: &Services,
    view: View,
    q: Option<&str>,
    date: Option<NaiveDate>,
    cancel: &Cancel,
) -> Result<Vec<Row>> {
    let store = &svc.store;
    let today = today(svc);
    let now = svc.now_unix();
    let day_prefix = match (view, date) {
        (View::Today, d) => store::prefix(&[day_key(d.unwrap_or(today)).as_bytes()]),
        (_, Some(d)) => store::prefix(&[day_key(d).as_bytes()]),
        (_, None) => Vec::new(),
    };
    let numbers: Box<dyn Iterator<Item = Result<Vec<u8>>>> = match view {
        View::Inside => Box::new(store.index_keys(INSIDE, b"")?.into_iter().map(Ok)),
        View::Overdue => Box::new(super::due_before(store, today)?.into_iter().map(Ok)),
        View::Today | View::All => newest_first(store, &day_prefix)?,
    };
    let needle = q.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let limit = svc.config.gatepass.list_limit;
    let mut rows = Vec::new();
    for (i, k) in numbers.enumerate() {
        if rows.len() >= limit {
            break;
        }
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        let k = k?;
        let Some(p) = store.get::<Gatepass>(&k)? else {
            continue;
        };
        if date.is_some_and(|d| d != p.day) {
            continue;
        }
        if let Some(n) = &needle {
            if !p.content.matches(n) && !p.number.as_str().to_lowercase().contains(n) {
                continue;
            }
        }
        let r = store.get::<Returns>(&k)?.unwrap_or_default();
        if view == View::Overdue && !p.overdue(&r, today) {
            continue;
        }
        rows.push(row(&p, &r, today, now));
    }
    if matches!(view, View::Inside | View::Overdue) {
        rows.sort_by_key(|r| std::cmp::Reverse(r.issued_unix));
    }
    Ok(rows)
}

pub fn summary(svc: &Services) -> Result<Summary> {
    let store = &svc.store;
    let today = today(svc);
    // Only the passes due before today can be overdue (the index is by due day); whether each
    // left and is not all back is read from the pass.
    let overdue = load_many(store, super::due_before(store, today)?)?
        .iter()
        .filter(|(p, r)| p.overdue(r, today))
        .count();
    Ok(Summary {
        // A counter (schema 9), not the index's entries.
        inside: crate::store::counters::get(store, INSIDE_COUNTER)? as usize,
        // A counter (schema 8), not the day's passes.
        today: crate::store::counters::get(
            store,
            &crate::store::tables::gatepass::issued_counter(&day_key(today)),
        )? as usize,
        overdue,
    })
}

fn stamp_json(s: Option<&Stamp>) -> Value {
    match s {
        Some(s) => json!({"at_unix": s.at_unix, "gate": s.gate, "guard": s.guard}),
        None => Value::Null,
    }
}

/// One pass in full: the list row plus everything the pass says and every stamp.
pub fn detail_json(svc: &Services, p: &Gatepass, returns: &Returns) -> Value {
    let mut v =
        serde_json::to_value(row(p, returns, today(svc), svc.now_unix())).unwrap_or(Value::Null);
    let d = v.as_object_mut().expect("row is an object");
    d.insert("day".into(), json!(p.day.format("%Y-%m-%d").to_string()));
    d.insert("issued".into(), stamp_json(Some(&p.issued)));
    d.insert("entered".into(), stamp_json(p.entered()));
    d.insert("left".into(), stamp_json(p.left()));
    if let crate::domain::gatepass::Stage::Cancelled { at } = &p.stage {
        d.insert("cancelled".into(), stamp_json(Some(at)));
    }
    d.insert(
        "closed_inside".into(),
        json!(matches!(
            &p.stage,
            crate::domain::gatepass::Stage::Expired {
                entered: Some(_),
                ..
            }
        )),
    );
    d.insert("valid_hours".into(), json!(p.content.valid_hours));
    d.insert(
        "source".into(),
        match &p.source {
            Source::Desk => json!("desk"),
            Source::Handheld { imei } => json!(format!("handheld {imei}")),
        },
    );
    match &p.content.subject {
        Subject::Visitor(x) => {
            d.insert("phone".into(), json!(x.phone));
            d.insert(
                "id_type".into(),
                json!(x.id_document.as_ref().map(|i| &i.kind)),
            );
            d.insert(
                "id_number".into(),
                json!(x.id_document.as_ref().map(|i| &i.number)),
            );
            d.insert("photo".into(), json!(x.photo));
        }
        Subject::Vehicle(x) => {
            d.insert("driver".into(), json!(x.driver));
            d.insert("load".into(), json!(x.load));
        }
        Subject::Material(m) => {
            d.insert("items".into(), json!(m.items));
            d.insert("outstanding".into(), json!(outstanding(&m.items, returns)));
            d.insert("returns".into(), json!(returns.entries));
        }
        Subject::LabourExit(l) => {
            d.insert("lcode".into(), json!(l.lcode));
        }
    }
    v
}

pub const EXPORT_HEADERS: &[&str] = &[
    "number",
    "day",
    "kind",
    "status",
    "name",
    "phone",
    "id_type",
    "id_number",
    "host",
    "purpose",
    "vehicle",
    "driver",
    "load",
    "lcode",
    "items",
    "returnable",
    "return_due",
    "outstanding",
    "overdue",
    "issued_at",
    "issued_gate",
    "issued_guard",
    "valid_until",
    "in_at",
    "in_gate",
    "in_guard",
    "out_at",
    "out_gate",
    "out_guard",
];

fn items_text(items: &[crate::domain::gatepass::Item]) -> String {
    items
        .iter()
        .map(|i| format!("{} {} {}", i.name, fmt_qty(i.qty), i.unit))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every pass of the site days `from..=to` (the chosen period, by the day each pass belongs
/// to), oldest first, times in site time.
pub fn export_table(
    svc: &Services,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<crate::service::transfer::Table> {
    let store = &svc.store;
    let (today, now) = (today(svc), svc.now_unix());
    let mut rows = Vec::new();
    let mut day = from;
    while day <= to {
        for (p, r) in load_many(store, day_numbers(store, day)?)? {
            rows.push(export_row(svc, &p, &r, today, now));
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    Ok(crate::service::transfer::Table {
        headers: EXPORT_HEADERS.iter().map(|s| s.to_string()).collect(),
        rows,
    })
}

fn export_row(
    svc: &Services,
    p: &Gatepass,
    r: &Returns,
    today: NaiveDate,
    now: i64,
) -> Vec<String> {
    let t = |s: Option<&Stamp>| {
        s.map(|s| (local_time(svc, s.at_unix), s.gate.clone(), s.guard.clone()))
            .unwrap_or_default()
    };
    let (mut phone, mut id_type, mut id_number) = (String::new(), String::new(), String::new());
    let (mut driver, mut load, mut lcode) = (String::new(), String::new(), String::new());
    let (mut items, mut left_out) = (String::new(), String::new());
    match &p.content.subject {
        Subject::Visitor(x) => {
            phone = x.phone.clone();
            if let Some(i) = &x.id_document {
                id_type = i.kind.clone();
                id_number = i.number.clone();
            }
        }
        Subject::Vehicle(x) => {
            driver = x.driver.clone();
            load = x.load.clone();
        }
        Subject::Material(m) => {
            items = items_text(&m.items);
            if m.return_due.is_some() {
                left_out = items_text(
                    &outstanding(&m.items, r)
                        .into_iter()
                        .filter(|i| i.qty > 0.0)
                        .collect::<Vec<_>>(),
                );
            }
        }
        Subject::LabourExit(l) => lcode = l.lcode.clone(),
    }
    let row = row(p, r, today, now);
    let (ia, ig, iu) = t(Some(&p.issued));
    let (na, ng, nu) = t(p.entered());
    let (oa, og, ou) = t(p.left());
    vec![
        row.number,
        p.day.format("%Y-%m-%d").to_string(),
        row.kind.into(),
        row.status.into(),
        row.name,
        phone,
        id_type,
        id_number,
        row.host,
        row.purpose,
        row.vehicle.unwrap_or_default(),
        driver,
        load,
        lcode,
        items,
        if row.returnable { "Y" } else { "N" }.into(),
        row.return_due.unwrap_or_default(),
        left_out,
        if row.overdue { "Y" } else { "N" }.into(),
        ia,
        ig,
        iu,
        local_time(svc, p.valid_until_unix),
        na,
        ng,
        nu,
        oa,
        og,
        ou,
    ]
}
