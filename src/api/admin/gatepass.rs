//! Admin API: the console's gatepass desk. Same service functions as the handheld's Gatepass
//! Save and Daily Closing; only the envelope differs.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{json, Value};
use warp::http::Method;

use super::{body_fields, ok_fields, route, AdminResult};
use crate::api::{Problem, Request, Route};
use crate::domain::gatepass::{self as gp, Move, PassNumber, Repeat, Returned, Source, Stamp};
use crate::domain::validate::Fields;
use crate::service::{gatepass as svc_gp, Services};

const DESK_GATE: &str = "Main gate";
const DESK_GUARD: &str = "desk";

pub fn routes() -> Vec<Route> {
    vec![
        // Before `/admin/gatepasses/{number}`: the first matching route wins.
        route(
            Method::GET,
            "/admin/gatepasses/summary",
            "Gatepass Summary",
            |svc, _| Box::pin(summary(svc)),
        ),
        route(
            Method::GET,
            "/admin/gatepasses",
            "List Gatepasses",
            |svc, req| Box::pin(list(svc, req)),
        ),
        route(
            Method::GET,
            "/admin/gatepasses/{number}",
            "Get Gatepass",
            |svc, req| Box::pin(detail(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/gatepasses",
            "Issue Gatepass",
            |svc, req| Box::pin(issue(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/gatepasses/{number}/in",
            "Gatepass In",
            |svc, req| Box::pin(step(svc, req, Move::In)),
        ),
        route(
            Method::POST,
            "/admin/gatepasses/{number}/out",
            "Gatepass Out",
            |svc, req| Box::pin(step(svc, req, Move::Out)),
        ),
        route(
            Method::POST,
            "/admin/gatepasses/{number}/cancel",
            "Gatepass Cancel",
            |svc, req| Box::pin(step(svc, req, Move::Cancel)),
        ),
        route(
            Method::POST,
            "/admin/gatepasses/{number}/return",
            "Gatepass Material Return",
            |svc, req| Box::pin(material_return(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/gatepasses/{number}/print",
            "Print Gatepass Slip",
            |svc, req| Box::pin(print_slip(svc, req)),
        ),
        route(
            Method::GET,
            "/admin/gatepasses/{number}/slip",
            "Gatepass Slip",
            |svc, req| Box::pin(slip(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/closing",
            "Daily Closing",
            |svc, req| Box::pin(closing(svc, req)),
        ),
    ]
}

fn number_param(req: &Request) -> Result<PassNumber, Problem> {
    // Handheld numbers may hold '/', sent percent-encoded in the path.
    let raw = req
        .param("number")
        .unwrap_or("")
        .replace("%2F", "/")
        .replace("%2f", "/");
    PassNumber::parse(&raw).ok_or(Problem::new(404, "gatepass.not_found"))
}

fn date_param(v: Option<String>, name: &str) -> Result<Option<NaiveDate>, Problem> {
    match v.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                Problem::invalid(vec![crate::domain::validate::FieldError {
                    field: name.into(),
                    key: "field.format",
                    args: vec![("field", name.into()), ("expected", "yyyy-MM-dd".into())],
                }])
            }),
    }
}

async fn summary(svc: Arc<Services>) -> AdminResult {
    Ok(serde_json::to_value(svc_gp::summary(&svc)?).unwrap_or(Value::Null))
}

async fn list(svc: Arc<Services>, req: Request) -> AdminResult {
    let view_s = req.query_param("view").unwrap_or_else(|| "today".into());
    let view = svc_gp::View::parse(&view_s).ok_or_else(|| {
        Problem::invalid(vec![crate::domain::validate::FieldError {
            field: "view".into(),
            key: "field.one_of",
            args: vec![
                ("field", "view".into()),
                ("allowed", "inside, today, overdue, all".into()),
            ],
        }])
    })?;
    let date = date_param(req.query_param("date"), "date")?;
    let q = req.query_param("q");
    let rows = svc_gp::list(&svc, view, q.as_deref(), date).await?;
    Ok(serde_json::to_value(rows).unwrap_or(Value::Null))
}

async fn detail(svc: Arc<Services>, req: Request) -> AdminResult {
    let number = number_param(&req)?;
    let (p, r) =
        svc_gp::get(&svc.store, &number)?.ok_or(Problem::new(404, "gatepass.not_found"))?;
    Ok(svc_gp::detail_json(&svc, &p, &r))
}

fn stamp_fields(f: &mut Fields<'_>) -> (String, String) {
    let (gate, guard) = gp::parse_stamp_fields(f);
    (
        gate.unwrap_or_else(|| DESK_GATE.into()),
        guard.unwrap_or_else(|| DESK_GUARD.into()),
    )
}

async fn issue(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let input = gp::parse_content(&mut f, svc_gp::limits(&svc));
    let (gate, guard) = stamp_fields(&mut f);
    ok_fields(&f)?;
    let input = input.ok_or(Problem::new(400, "validation.failed"))?;
    if let Some(bytes) = input.photo {
        svc_gp::store_photo(&svc, bytes).await?;
    }
    let mut tx = svc.store.begin().await;
    let (pass, _) = svc_gp::issue(
        &svc,
        &mut tx,
        svc_gp::Issue {
            number: None,
            content: input.content,
            at_unix: None,
            gate,
            guard,
            source: Source::Desk,
        },
    )?;
    tx.commit().await?;
    tracing::info!(number = %pass.number, kind = pass.kind().as_str(), "gatepass issued at the desk");
    Ok(svc_gp::detail_json(&svc, &pass, &Default::default()))
}

async fn step(svc: Arc<Services>, req: Request, mv: Move) -> AdminResult {
    let number = number_param(&req)?;
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let (gate, guard) = stamp_fields(&mut f);
    ok_fields(&f)?;
    let stamp = Stamp {
        at_unix: svc.now_unix(),
        gate,
        guard,
    };
    let mut tx = svc.store.begin().await;
    // The desk is a person pressing a key: a second press is refused with what happened when.
    svc_gp::move_pass(&svc, &mut tx, &number, mv, stamp, Repeat::Refuse)?;
    tx.commit().await?;
    let (p, r) =
        svc_gp::get(&svc.store, &number)?.ok_or(Problem::new(404, "gatepass.not_found"))?;
    Ok(svc_gp::detail_json(&svc, &p, &r))
}

async fn material_return(svc: Arc<Services>, req: Request) -> AdminResult {
    let number = number_param(&req)?;
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let items = gp::parse_items(&mut f, "items", svc.config.gatepass.max_items, true);
    let (gate, guard) = stamp_fields(&mut f);
    ok_fields(&f)?;
    let back = items
        .into_iter()
        .map(|i| Returned {
            name: i.name,
            qty: i.qty,
        })
        .collect();
    let stamp = Stamp {
        at_unix: svc.now_unix(),
        gate,
        guard,
    };
    let mut tx = svc.store.begin().await;
    let (p, r) = svc_gp::record_return(&svc, &mut tx, &number, back, stamp)?;
    tx.commit().await?;
    Ok(svc_gp::detail_json(&svc, &p, &r))
}

async fn closing(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let day = gp::date(&mut f, "date");
    let company_id = f.optional("company_id", 30).unwrap_or_default();
    let by = f.optional("by", 100).unwrap_or_else(|| DESK_GUARD.into());
    ok_fields(&f)?;
    let day = day.unwrap_or_else(|| svc_gp::today(&svc));
    if day > svc_gp::today(&svc) {
        return Err(crate::service::ServiceError::invalid(
            "date",
            "gatepass.closing.future",
            vec![],
        )
        .into());
    }
    let mut tx = svc.store.begin().await;
    let (c, new) = svc_gp::close_day(&svc, &mut tx, day, &company_id, &by)?;
    tx.commit().await?;
    let rows = |numbers: &[PassNumber]| -> Result<Vec<Value>, Problem> {
        let today = svc_gp::today(&svc);
        let mut out = Vec::new();
        for n in numbers {
            if let Some((p, r)) = svc_gp::get(&svc.store, n)? {
                out.push(
                    serde_json::to_value(svc_gp::row(&p, &r, today, svc.now_unix()))
                        .unwrap_or(Value::Null),
                );
            }
        }
        Ok(out)
    };
    Ok(json!({
        "date": c.day.format("%Y-%m-%d").to_string(),
        "closed_unix": c.closed_unix,
        "closed_by": c.closed_by,
        "already_closed": !new,
        "expired": c.expired,
        "inside": rows(&c.inside)?,
        "overdue": rows(&c.overdue)?,
    }))
}

/// The slip of a pass: what it says, and the PDF (base64), as a handheld would fetch it.
async fn slip(svc: Arc<Services>, req: Request) -> AdminResult {
    use base64::Engine;
    let number = number_param(&req)?;
    let (p, _) =
        svc_gp::get(&svc.store, &number)?.ok_or(Problem::new(404, "gatepass.not_found"))?;
    let slip = svc_gp::slip::slip_of(&svc, &p);
    let s2 = slip.clone();
    let pdf = tokio::task::spawn_blocking(move || svc_gp::slip::pdf(&s2))
        .await
        .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
    Ok(json!({
        "number": p.number.as_str(),
        "slip": slip,
        "content_type": "application/pdf",
        "pdf_base64": base64::engine::general_purpose::STANDARD.encode(pdf),
    }))
}

/// Prints a pass's slip where `[print]` says (`{}`), or saves it as a PDF (`{"save": true}`,
/// optionally `"file"`).
async fn print_slip(svc: Arc<Services>, req: Request) -> AdminResult {
    let number = number_param(&req)?;
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let file = f.optional("file", 4096).map(std::path::PathBuf::from);
    let save = f.raw("save").and_then(Value::as_bool).unwrap_or(false);
    ok_fields(&f)?;
    let (p, _) =
        svc_gp::get(&svc.store, &number)?.ok_or(Problem::new(404, "gatepass.not_found"))?;
    let slip = svc_gp::slip::slip_of(&svc, &p);
    let svc2 = svc.clone();
    let printed =
        tokio::task::spawn_blocking(move || svc_gp::slip::print(&svc2, &slip, save, file))
            .await
            .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
    tracing::info!(number = %p.number, mode = %printed.mode, file = ?printed.file, printer = ?printed.printer, "gatepass slip printed");
    let mut v = serde_json::to_value(&printed).unwrap_or(Value::Null);
    v["number"] = json!(p.number.as_str());
    Ok(v)
}
