//! Admin API: disable and enable an account (staff turnover). The console's users screen (`d`,
//! `e`) and `gatehouse user disable|enable` call these.

use std::sync::Arc;

use serde_json::json;
use warp::http::Method;

use super::{body_fields, ok_fields, route, AdminResult};
use crate::api::{Request, Route};
use crate::domain::validate::Fields;
use crate::service::{accounts, Services};

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::POST,
            "/admin/users/disable",
            "Disable User",
            |svc, req| Box::pin(set_active(svc, req, false)),
        ),
        route(
            Method::POST,
            "/admin/users/enable",
            "Enable User",
            |svc, req| Box::pin(set_active(svc, req, true)),
        ),
    ]
}

async fn set_active(svc: Arc<Services>, req: Request, active: bool) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    ok_fields(&f)?;
    let mut tx = svc.store.begin().await;
    let (user, ended) = accounts::set_active(&mut tx, &username, active)?;
    tx.commit().await?;
    if active {
        tracing::info!(user = %user.username, "user enabled");
    } else {
        tracing::info!(user = %user.username, da_tokens = ended.daily_activity_tokens,
            codelayer_sessions = ended.codelayer_sessions, authorize_tokens = ended.authorize_tokens,
            "user disabled; every session ended");
    }
    Ok(json!({
        "username": user.username,
        "active": user.active,
        "sessions_ended": ended,
    }))
}
