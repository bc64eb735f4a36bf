//! Admin API: biometric terminals — list, approve, block (with the terminal's zone), their
//! command queues, the users they should hold, and punches whose PIN belongs to nobody.

use std::sync::Arc;

use serde_json::json;
use warp::http::Method;

use super::{body_fields, ok_fields, route, AdminResult};
use crate::api::{Problem, Request, Route};
use crate::domain::terminals::{parse_zone, TerminalState};
use crate::domain::validate::Fields;
use crate::service::{terminals, Services};

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/admin/terminals",
            "List Terminals",
            |svc, _| Box::pin(list(svc)),
        ),
        route(
            Method::POST,
            "/admin/terminals/approve",
            "Approve Terminal",
            |svc, req| Box::pin(set(svc, req, TerminalState::Approved)),
        ),
        route(
            Method::POST,
            "/admin/terminals/block",
            "Block Terminal",
            |svc, req| Box::pin(set(svc, req, TerminalState::Blocked)),
        ),
        route(
            Method::GET,
            "/admin/terminals/commands",
            "Terminal Commands",
            |svc, req| Box::pin(commands(svc, req)),
        ),
        route(
            Method::GET,
            "/admin/terminals/unknown-punches",
            "Terminal Punches With Unknown PIN",
            |svc, req| Box::pin(unknown(svc, req)),
        ),
        route(
            Method::GET,
            "/admin/terminals/users",
            "Terminal Users",
            |svc, req| Box::pin(users(svc, req)),
        ),
    ]
}

async fn list(svc: Arc<Services>) -> AdminResult {
    Ok(terminals::list_json(&svc)?)
}

/// `{"sn": SN, "timezone": "+05:30" | minutes}` (timezone optional: the terminal's wall clock).
async fn set(svc: Arc<Services>, req: Request, state: TerminalState) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let sn = f.required("sn", 1, 32);
    ok_fields(&f)?;
    let zone = match body.get("timezone").or(body.get("timezone_offset_minutes")) {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let z = if v.is_number() {
                s.parse::<i32>().ok().filter(|m| m.abs() <= 14 * 60)
            } else {
                parse_zone(&s)
            };
            Some(z.ok_or_else(|| {
                Problem::new(400, "attendance.invalid").arg("detail", "timezone: +HH:MM or minutes")
            })?)
        }
    };
    let (t, queued) = terminals::set_state(&svc, &sn, state, zone).await?;
    let mut v = terminals::terminal_json(&svc, &t)?;
    v["commands_queued"] = json!(queued);
    Ok(v)
}

fn limit(req: &Request) -> usize {
    req.query_param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(200)
        .clamp(1, 1000)
}

/// `?sn=` (default all) `&open=true` (only unfinished) `&limit=`.
async fn commands(svc: Arc<Services>, req: Request) -> AdminResult {
    let sn = req.query_param("sn").filter(|s| !s.is_empty());
    let open = req.query_param("open").is_some_and(|v| v == "true");
    Ok(terminals::commands_json(
        &svc,
        sn.as_deref(),
        open,
        limit(&req),
    )?)
}

async fn unknown(svc: Arc<Services>, req: Request) -> AdminResult {
    let sn = req.query_param("sn").filter(|s| !s.is_empty());
    Ok(terminals::unknown_punches_json(
        &svc,
        sn.as_deref(),
        limit(&req),
    )?)
}

async fn users(svc: Arc<Services>, req: Request) -> AdminResult {
    Ok(terminals::sync::users_json(&svc, limit(&req))?)
}
