//! Operations endpoints on the LAN port: health, Prometheus metrics, the OpenAPI document.

use std::sync::Arc;

use serde_json::json;
use warp::http::Method;

use super::{Doc, Family, Response, Route};

fn route(
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    h: super::Handler,
) -> Route {
    Route {
        method: Method::GET,
        path,
        family: Family::Ops,
        summary,
        tag: "Operations",
        doc: Doc {
            description,
            ..Doc::default()
        },
        handler: h,
        max_body: Some(0),
        permission: None,
    }
}

pub fn routes() -> Vec<Route> {
    vec![
        route(
            "/healthz",
            "Health",
            "200 with `{\"status\":\"ok\"}` while the store answers; 503 otherwise.",
            Arc::new(|svc, _req| {
                Box::pin(async move {
                    let fault = crate::service::storage::current().map(|(f, _)| f);
                    let store_ok = crate::service::maintenance::healthy(&svc) && fault.is_none();
                    let uptime = svc.started.elapsed().as_secs();
                    if store_ok {
                        // The usual answer written straight out (what `json!` below renders,
                        // keys in the same order), without a `Value` tree per probe.
                        return Response::bytes(200, "application/json", healthy_body(uptime));
                    }
                    let body = json!({
                        "status": "degraded",
                        "storage_fault": fault,
                        "version": env!("CARGO_PKG_VERSION"),
                        "uptime_secs": uptime,
                    });
                    Response::json(503, &body)
                })
            }),
        ),
        route(
            "/metrics",
            "Metrics",
            "Prometheus text: build info; requests by family/operation/status and their latency \
             histogram (operation = the route's summary in snake_case); requests shed and in \
             flight; lockouts; backup age; store size and flush latency; shared heavy answers \
             (renders and hits per kind, cancelled, bytes cached); walks (started, cancelled, free \
             slots).",
            Arc::new(|svc, _req| {
                Box::pin(async move {
                    let mut text = metrics_text(&svc);
                    text.push_str(&crate::service::upstream::metrics(&svc));
                    text.push_str(&svc.answers.metrics_text());
                    text.push_str(&svc.walks.metrics_text());
                    Response::bytes(200, "text/plain; version=0.0.4", text)
                })
            }),
        ),
        route(
            "/openapi.json",
            "OpenAPI Document",
            "This document.",
            Arc::new(|_svc, _req| {
                Box::pin(async move {
                    Response::json(200, &super::openapi::document(&super::Router::lan().routes))
                })
            }),
        ),
    ]
}

/// /healthz's answer while the store answers: what `json!` renders for it (the test below holds
/// them equal), written straight out.
fn healthy_body(uptime_secs: u64) -> String {
    format!(
        "{{\"status\":\"ok\",\"storage_fault\":null,\"uptime_secs\":{uptime_secs},\"version\":\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Figures read at scrape time (cheap reads: semaphores, one backup-log record, file sizes).
fn metrics_text(svc: &crate::service::Services) -> String {
    let limit = svc.config.http.max_in_flight.max(1) as u64;
    let free = svc.in_flight.available_permits() as u64;
    let now = svc.now_unix();
    let last_backup_age_secs = crate::service::maintenance::last_backup(&svc.store)
        .ok()
        .flatten()
        .filter(|b| b.ok)
        .map(|b| (now - b.at_unix).max(0));
    let gauges = crate::telemetry::Gauges {
        store_bytes: svc.store.engine().size_on_disk(),
        blob_bytes: None,
        in_flight: limit.saturating_sub(free),
        in_flight_limit: limit,
        last_backup_age_secs,
        locked_now: None,
        idempotency_known_new: svc.store.idempotency_known_new(),
    };
    svc.metrics.render_with(&gauges, svc.store.flush_stats())
}

#[cfg(test)]
mod tests {
    #[test]
    fn healthy_body_is_the_json_rendering() {
        for uptime in [0u64, 7, 86_400 * 400] {
            let v = serde_json::json!({
                "status": "ok",
                "storage_fault": null,
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_secs": uptime,
            });
            assert_eq!(
                super::healthy_body(uptime),
                serde_json::to_string(&v).unwrap()
            );
        }
    }
}
