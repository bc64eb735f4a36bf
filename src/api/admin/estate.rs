//! Admin API: estate (the console's estate panel).

use std::sync::Arc;

use serde_json::json;
use warp::http::Method;

use super::{route, AdminResult};
use crate::api::Route;
use crate::service::{estate, Services};

pub fn routes() -> Vec<Route> {
    vec![route(
        Method::GET,
        "/admin/estate/summary",
        "Estate Summary",
        |svc, _| Box::pin(summary(svc)),
    )]
}

/// `{labourers, faces, muster_lines_today, musters_today, last_muster_unix}`; "today" is the
/// site's local day, musters are counted by diary slip.
async fn summary(svc: Arc<Services>) -> AdminResult {
    let s = tokio::task::spawn_blocking(move || estate::summary(&svc))
        .await
        .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
    Ok(json!({
        "labourers": s.labourers,
        "faces": s.faces,
        "muster_lines_today": s.muster_lines_today,
        "musters_today": s.musters_today,
        "last_muster_unix": s.last_muster_unix,
    }))
}
