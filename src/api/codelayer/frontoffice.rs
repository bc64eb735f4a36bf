//! Codelayer: FrontOffice Poabs — Gatepass Save (handheld passes) and Daily Closing.

use serde_json::{json, Map, Value};

use super::{route, Auth, Call, OpResult};
use crate::api::{Doc, Problem, Route};
use crate::domain::gatepass::{self as gp, Gatepass, Move, PassNumber, Repeat, Source, Stamp};
use crate::domain::identity::Permission;
use crate::domain::validate::Fields;
use crate::service::{gatepass as svc_gp, identity as ident};

const TAG: &str = "Codelayer/FrontOffice Poabs";
pub const DEFAULT_GATE: &str = "Main gate";

pub fn routes() -> Vec<Route> {
    vec![
        route(
            "/codelayer/frontoffice_poabs/gatepass_save",
            "Gatepass Save",
            TAG,
            Auth::Session(Permission::GatepassEdit),
            Doc {
                description: "Creates a gatepass from a handheld, or moves it at the gate. \
                    Idempotent on the handheld's own pass number `gpno` (1–30 of A–Z a–z 0–9 - / _ .).\n\n\
                    `action` says what the call is (default `issue`):\n\
                    - `issue`: create the pass. The same `gpno` with the same content answers exactly as \
                    the first time and changes nothing (a retry); the same `gpno` with other content is \
                    e=409. Content = kind and its fields, host, purpose, valid_hours, photo; the step fields \
                    (`datetime`, `gate`, `guard`) are not content.\n\
                    - `update`: replace the content of a pass not yet used (still `issued`); otherwise e=409.\n\
                    - `in` / `out` / `cancel`: a status move, carrying only `gpno` and the step fields. \
                    Moves never conflict with content: they are told apart by `action`. A move the pass \
                    already made is refused with e=409 saying what happened and when (\"Already out since \
                    12:14 (South gate, Siti)\"), except a retry: the same gate and guard with the same \
                    `datetime`, or without `datetime` within `gatepass.retry_window_secs` (default 120) \
                    of the recorded step, answers as the first time and changes nothing; any other move \
                    its life cycle forbids is e=409 naming why. With the content fields \
                    too, a move first issues the pass (walk-in), under the same rule as `issue`.\n\n\
                    Life cycle: issued → in → out, or issued → cancelled; a labour exit pass goes issued → out \
                    (the labourer is already inside). An unused pass expires after `valid_hours` \
                    (default 12, at most 72); leaving is always recorded, even late. After \
                    `dailyclosing_save` for its day, a pass no longer changes (e=409).\n\n\
                    Kinds and their fields: `visitor` (name 1–100, host 1–100, phone ≤20, id_type ≤30 + \
                    id_number ≤50 together, photo: base64 JPEG/PNG up to http.max_image_bytes decoded, \
                    default 2 MiB); `vehicle` (vehicle 1–20, driver 1–100, load ≤200); `material` (name: \
                    carrier 1–100, vehicle ≤20, items 1–100 of {name 1–100, qty > 0, unit 1–20}, \
                    returnable T/F, return_due yyyy-MM-dd when returnable); `labour` (lcode 1–10, name ≤100). \
                    Every kind: purpose 1–200, host ≤100, valid_hours 1–72.\n\n\
                    `datetime` is the handheld's time of the step, `yyyy-MM-dd HH:mm:ss` site time \
                    (default: now; at most 5 minutes ahead). `gate` defaults to \"Main gate\", `guard` to \
                    the signed-in user. Answer: `result_id` = gpno, `data` = the pass as it now is.",
                request: Some(json!({
                    "key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq",
                    "gpno": "HH01-20261123-0007",
                    "action": "issue",
                    "datetime": "2026-11-23 09:15:00",
                    "gate": "Main gate",
                    "guard": "Ravi",
                    "kind": "material",
                    "name": "Kumar",
                    "vehicle": "TN72AB1234",
                    "host": "Factory officer",
                    "purpose": "Sprayer repair",
                    "items": [{"name": "Knapsack sprayer", "qty": 2, "unit": "pcs"}],
                    "returnable": "T",
                    "return_due": "2026-11-30",
                    "valid_hours": 8
                })),
                response: Some(json!({
                    "result_id": "HH01-20261123-0007",
                    "data": pass_example()
                })),
                required: &["gpno"],
                ..Doc::default()
            },
            cl_op!(gatepass_save),
        ),
        route(
            "/codelayer/frontoffice_poabs/gatepass_slip",
            "Gatepass Slip",
            TAG,
            Auth::Session(Permission::GatepassView),
            Doc {
                description: "The printed gate pass of `gpno`, as the gatehouse desk prints it: \
                    the pass number as a QR code and a Code 128 barcode (a scanner reads either), \
                    the holder, vehicle, items (one line each), validity and the issuing guard. \
                    `format` `pdf` (default) answers `pdf` = the PDF (80 mm wide), base64; `escpos` \
                    answers `escpos` = raw ESC/POS bytes, base64, for a handheld's receipt printer. \
                    Also `content_type` and `filename`. e=404 for a pass nobody issued.",
                request: Some(json!({
                    "key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq",
                    "gpno": "HH01-20261123-0007",
                    "format": "pdf"
                })),
                response: Some(json!({
                    "result_id": "HH01-20261123-0007",
                    "content_type": "application/pdf",
                    "filename": "gatepass-HH01-20261123-0007.pdf",
                    "pdf": "JVBERi0xLjMK..."
                })),
                ..Doc::default()
            },
            cl_op!(gatepass_slip),
        ),
        route(
            "/codelayer/frontoffice_poabs/dailyclosing_save",
            "Daily Closing",
            TAG,
            Auth::Session(Permission::DailyClosing),
            Doc {
                description: "Closes a site day (`closing_date` yyyy-MM-dd, today or earlier; `status` \
                    must be \"C\"; `company_id` 1–30). After it no pass of that day changes: unused passes \
                    expire, and holders still inside are recorded as never seen leaving. The answer is \
                    the POABS `{result_id, e, msg, data}`; when there is something to act on it adds \
                    `inside` (passes whose holder was still inside) and `overdue` (returnable material \
                    not back by its date), each a list of passes. Closing a day again answers as the \
                    first closing did.",
                request: Some(json!({
                    "key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq",
                    "closing_date": "2026-11-23",
                    "status": "C",
                    "company_id": "1"
                })),
                response: Some(json!({
                    "result_id": "",
                    "data": "",
                    "inside": [{"gpno": "HH01-20261123-0007", "kind": "visitor", "name": "Asha Raman",
                                "vehicle": null, "in_unix": 1763866500}],
                    "overdue": [{"gpno": "GP-20261120-0003", "kind": "material", "name": "Kumar",
                                 "vehicle": "TN72AB1234", "return_due": "2026-11-22",
                                 "outstanding": [{"name": "Knapsack sprayer", "qty": 2.0, "unit": "pcs"}]}]
                })),
                required: &["closing_date", "status", "company_id"],
                ..Doc::default()
            },
            cl_op!(dailyclosing_save),
        ),
    ]
}

fn pass_example() -> Value {
    json!({
        "gpno": "HH01-20261123-0007", "kind": "material", "status": "issued", "day": "2026-11-23",
        "issued_unix": 1763864100, "in_unix": null, "out_unix": null, "valid_until_unix": 1763892900,
        "returnable": true, "return_due": "2026-11-30"
    })
}

/// The pass as a handheld sees it; it depends only on the pass (and whether its validity is
/// over), so a retry gets the same answer.
fn pass_data(p: &Gatepass, now_unix: i64) -> Value {
    let due = p.content.return_due();
    json!({
        "gpno": p.number.as_str(),
        "kind": p.kind().as_str(),
        "status": p.status(now_unix).as_str(),
        "day": p.day.format("%Y-%m-%d").to_string(),
        "issued_unix": p.issued.at_unix,
        "in_unix": p.entered().map(|s| s.at_unix),
        "out_unix": p.left().map(|s| s.at_unix),
        "valid_until_unix": p.valid_until_unix,
        "returnable": due.is_some(),
        "return_due": due.map(|d| d.format("%Y-%m-%d").to_string()),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Issue,
    Update,
    Move(Move),
}

async fn gatepass_save(call: &mut Call) -> OpResult {
    let svc = call.svc.clone();
    let session = call
        .session
        .clone()
        .ok_or(Problem::new(401, "auth.token.invalid"))?;
    let mut f = Fields::new(&call.body);
    let gpno_s = f.required("gpno", 1, gp::limits::NUMBER);
    let gpno = PassNumber::parse(&gpno_s);
    if gpno.is_none() && !gpno_s.is_empty() {
        f.fail(
            "gpno",
            "field.format",
            vec![("expected", "letters, digits, - / _ .".into())],
        );
    }
    let action = match f.optional("action", 10).as_deref() {
        None | Some("issue") | Some("save") => Some(Action::Issue),
        Some("update") => Some(Action::Update),
        Some(other) => match Move::parse(other) {
            Some(m) => Some(Action::Move(m)),
            None => {
                f.fail(
                    "action",
                    "field.one_of",
                    vec![("allowed", "issue, update, in, out, cancel".into())],
                );
                None
            }
        },
    };
    let at = match f.optional("datetime", 19) {
        Some(s) => {
            let t = svc_gp::parse_local_datetime(&svc, &s);
            if t.is_none() {
                f.fail(
                    "datetime",
                    "field.format",
                    vec![("expected", "yyyy-MM-dd HH:mm:ss".into())],
                );
            }
            t
        }
        None => None,
    };
    let (gate, guard) = gp::parse_stamp_fields(&mut f);
    let wants_content =
        matches!(action, Some(Action::Issue | Action::Update)) || f.raw("kind").is_some();
    let input = if wants_content {
        gp::parse_content(&mut f, svc_gp::limits(&svc))
    } else {
        None
    };
    if !f.ok() {
        return Err(Problem::invalid(f.errors));
    }
    let (Some(number), Some(action)) = (gpno, action) else {
        return Err(Problem::new(400, "validation.failed"));
    };
    let guard = match guard {
        Some(g) => g,
        None => ident::user(&svc.store, session.user)?
            .map(|u| u.username)
            .unwrap_or_else(|| session.user.to_string()),
    };
    let gate = gate.unwrap_or_else(|| DEFAULT_GATE.to_string());
    let input = match input {
        Some(i) => {
            if let Some(bytes) = i.photo {
                svc_gp::store_photo(&svc, bytes).await?;
            }
            Some(i.content)
        }
        None => None,
    };
    let mut tx = svc.store.begin().await;
    let issue = |content| svc_gp::Issue {
        number: Some(number.clone()),
        content,
        at_unix: at,
        gate: gate.clone(),
        guard: guard.clone(),
        source: Source::Handheld {
            imei: session.imei.clone(),
        },
    };
    let pass = match (action, input) {
        (Action::Update, Some(content)) => svc_gp::update(&svc, &mut tx, &number, content)?.0,
        (Action::Issue, Some(content)) => svc_gp::issue(&svc, &mut tx, issue(content))?.0,
        (Action::Move(mv), content) => {
            if let Some(content) = content {
                svc_gp::issue(&svc, &mut tx, issue(content))?;
            }
            let stamp = Stamp {
                at_unix: at.unwrap_or_else(|| svc.now_unix()),
                gate: gate.clone(),
                guard: guard.clone(),
            };
            // A handheld that sends its own time resends the same one on a retry; without it, a
            // repeat within the retry window is taken for a retry. Anything else is refused.
            let repeat = match at {
                Some(_) => Repeat::RetryWithin(0),
                None => Repeat::RetryWithin(svc.config.gatepass.retry_window_secs),
            };
            svc_gp::move_pass(&svc, &mut tx, &number, mv, stamp, repeat)?.0
        }
        (_, None) => return Err(Problem::new(400, "validation.failed")),
    };
    tx.commit().await?;
    let mut out = Map::new();
    out.insert("result_id".into(), json!(number.as_str()));
    out.insert("data".into(), pass_data(&pass, svc.now_unix()));
    Ok(out)
}

async fn gatepass_slip(call: &mut Call) -> OpResult {
    use base64::Engine;
    let svc = call.svc.clone();
    let mut f = Fields::new(&call.body);
    let gpno_s = f.required("gpno", 1, gp::limits::NUMBER);
    let format = f.one_of("format", &["pdf", "escpos"], false);
    if !f.ok() {
        return Err(Problem::invalid(f.errors));
    }
    let number = PassNumber::parse(&gpno_s).ok_or(Problem::new(404, "gatepass.not_found"))?;
    let (p, _) =
        svc_gp::get(&svc.store, &number)?.ok_or(Problem::new(404, "gatepass.not_found"))?;
    let slip = svc_gp::slip::slip_of(&svc, &p);
    let b64 = |b: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(b);
    let mut out = Map::new();
    out.insert("result_id".into(), json!(number.as_str()));
    let name = format!("gatepass-{}", number.as_str().replace('/', "_"));
    if format.as_deref() == Some("escpos") {
        out.insert("content_type".into(), json!("application/vnd.escpos"));
        out.insert("filename".into(), json!(format!("{name}.bin")));
        out.insert("escpos".into(), json!(b64(svc_gp::slip::escpos(&slip))));
    } else {
        let pdf = tokio::task::spawn_blocking(move || svc_gp::slip::pdf(&slip))
            .await
            .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
        out.insert("content_type".into(), json!("application/pdf"));
        out.insert("filename".into(), json!(format!("{name}.pdf")));
        out.insert("pdf".into(), json!(b64(pdf)));
    }
    Ok(out)
}

async fn dailyclosing_save(call: &mut Call) -> OpResult {
    let svc = call.svc.clone();
    let session = call
        .session
        .clone()
        .ok_or(Problem::new(401, "auth.token.invalid"))?;
    let mut f = Fields::new(&call.body);
    let day = gp::date(&mut f, "closing_date");
    if f.raw("closing_date").is_none() {
        f.fail("closing_date", "field.required", vec![]);
    }
    f.one_of("status", &["C"], true);
    let company_id = f.required("company_id", 1, 30);
    if !f.ok() {
        return Err(Problem::invalid(f.errors));
    }
    let day = day.ok_or(Problem::new(400, "validation.failed"))?;
    let by = ident::user(&svc.store, session.user)?
        .map(|u| u.username)
        .unwrap_or_else(|| session.user.to_string());
    let mut tx = svc.store.begin().await;
    let (closing, _) = svc_gp::close_day(&svc, &mut tx, day, &company_id, &by)?;
    tx.commit().await?;
    let mut out = Map::new();
    out.insert("result_id".into(), json!(""));
    out.insert("data".into(), json!(""));
    // The POABS answer is exactly `{result_id, e, msg, data}`; the lists are added only when
    // there is something for the front office to act on.
    let listed = |numbers: &[PassNumber]| -> Result<Vec<Value>, Problem> {
        let mut v = Vec::new();
        for n in numbers {
            if let Some((p, r)) = svc_gp::get(&svc.store, n)? {
                let mut e = json!({
                    "gpno": p.number.as_str(),
                    "kind": p.kind().as_str(),
                    "name": p.content.person(),
                    "vehicle": p.content.vehicle(),
                });
                if let Some(s) = p.entered() {
                    e["in_unix"] = json!(s.at_unix);
                }
                if let Some(m) = p.content.material().filter(|m| m.return_due.is_some()) {
                    e["return_due"] = json!(m.return_due.map(|d| d.format("%Y-%m-%d").to_string()));
                    e["outstanding"] = json!(gp::outstanding(&m.items, &r)
                        .into_iter()
                        .filter(|i| i.qty > 0.0)
                        .collect::<Vec<_>>());
                }
                v.push(e);
            }
        }
        Ok(v)
    };
    if !closing.inside.is_empty() {
        out.insert("inside".into(), Value::Array(listed(&closing.inside)?));
    }
    if !closing.overdue.is_empty() {
        out.insert("overdue".into(), Value::Array(listed(&closing.overdue)?));
    }
    Ok(out)
}
