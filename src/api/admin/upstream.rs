//! Admin API: upstream replication status (`gatehouse upstream status`, the console).

use std::sync::Arc;

use warp::http::Method;

use super::{route, AdminResult};
use crate::api::Route;
use crate::service::{upstream, Services};

pub fn routes() -> Vec<Route> {
    vec![route(
        Method::GET,
        "/admin/upstream",
        "Upstream Status",
        |svc, _| Box::pin(status(svc)),
    )]
}

async fn status(svc: Arc<Services>) -> AdminResult {
    let s = upstream::status(&svc)?;
    Ok(serde_json::to_value(s).unwrap_or_default())
}
