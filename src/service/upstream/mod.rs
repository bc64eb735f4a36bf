//! Upstream replication (DESIGN.md §3.7): the shipper task that sends the outbox
//! (`store::outbox`) in order to a PostgreSQL-wire database, the downstream pull of master
//! data, and the status every surface shows (CLI, console, /metrics).
//!
//! The shipper only reads the outbox and writes its own progress record: a handheld's write
//! never waits for it. It ships only what is durable on the box, marks what upstream committed,
//! then prunes it, so the backlog is bounded by disk, not memory.

mod pull;
pub mod schema;
mod ship;

use std::sync::Arc;

use serde::Serialize;

use super::Services;
use crate::store::outbox::{self, ShipState, SHIP_STATE_KEY};
use crate::store::Store;

pub use ship::spawn;

/// The box's name upstream: configured, else the site name.
pub fn box_id(svc: &Services) -> String {
    let b = svc.config.upstream.box_id.trim();
    if b.is_empty() {
        svc.config.site.name.clone()
    } else {
        b.to_string()
    }
}

pub fn ship_state(store: &Store) -> crate::store::Result<ShipState> {
    Ok(store.get::<ShipState>(SHIP_STATE_KEY)?.unwrap_or_default())
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub enabled: bool,
    pub box_id: String,
    /// The URL without its password.
    pub url: String,
    /// Entries logged but not yet shipped.
    pub pending: u64,
    pub shipped_seq: u64,
    pub last_seq: u64,
    /// Age of the oldest entry not yet shipped (0 when caught up).
    pub lag_s: i64,
    pub last_error: Option<String>,
    pub last_error_unix: Option<i64>,
    pub last_ok_unix: Option<i64>,
    /// About how much the backlog holds on disk (sampled from its oldest entries).
    pub backlog_bytes: u64,
}

/// Reads only the store (two gets and a short range read), so the CLI can answer without a
/// running server too.
pub fn status(svc: &Services) -> crate::store::Result<Status> {
    let engine = svc.store.engine();
    let st = ship_state(&svc.store)?;
    let last = outbox::last_seq(engine)?;
    let pending = last.saturating_sub(st.shipped_seq);
    let sample = if pending > 0 {
        outbox::read(engine, st.shipped_seq + 1, last, 64)?
    } else {
        Vec::new()
    };
    let lag_s = sample
        .first()
        .map(|e| (svc.now_unix() - e.at_ms / 1000).max(0))
        .unwrap_or(0);
    let sample_bytes: usize = sample
        .iter()
        .map(|e| 24 + e.tree.len() + e.key.len() + e.value.as_ref().map_or(0, Vec::len))
        .sum();
    let backlog_bytes = if sample.is_empty() {
        0
    } else {
        (sample_bytes as u64 / sample.len() as u64) * pending
    };
    Ok(Status {
        enabled: !svc.config.upstream.url.trim().is_empty(),
        box_id: box_id(svc),
        url: redact_url(&svc.config.upstream.url),
        pending,
        shipped_seq: st.shipped_seq,
        last_seq: last,
        lag_s,
        last_error: (!st.last_error.is_empty()).then(|| st.last_error.clone()),
        last_error_unix: (!st.last_error.is_empty()).then_some(st.last_error_unix),
        last_ok_unix: (st.last_ok_unix > 0).then_some(st.last_ok_unix),
        backlog_bytes,
    })
}

/// Prometheus gauges for /metrics.
pub fn metrics(svc: &Arc<Services>) -> String {
    let s = match status(svc) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "upstream status unreadable for /metrics");
            return String::new();
        }
    };
    let mut out = String::new();
    for (name, help, v) in [
        (
            "gatehouse_upstream_enabled",
            "1 when replication upstream is configured.",
            s.enabled as i64,
        ),
        (
            "gatehouse_upstream_pending",
            "Outbox entries not yet shipped upstream.",
            s.pending as i64,
        ),
        (
            "gatehouse_upstream_shipped_seq",
            "Last outbox number upstream committed.",
            s.shipped_seq as i64,
        ),
        (
            "gatehouse_upstream_last_seq",
            "Last outbox number handed out.",
            s.last_seq as i64,
        ),
        (
            "gatehouse_upstream_lag_seconds",
            "Age of the oldest entry not yet shipped.",
            s.lag_s,
        ),
        (
            "gatehouse_upstream_backlog_bytes",
            "Approximate size of the unshipped outbox.",
            s.backlog_bytes as i64,
        ),
        (
            "gatehouse_upstream_error",
            "1 when the last attempt to reach upstream failed.",
            s.last_error.is_some() as i64,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
        ));
    }
    out
}

/// The URL with its password (user-info or `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let auth_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..auth_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let from = rest_start + colon + 1;
                out.replace_range(from..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact_url("postgres://gh:s3cret@db:5432/x?sslmode=require"),
            "postgres://gh:***@db:5432/x?sslmode=require"
        );
        assert_eq!(
            redact_url("postgresql://gh@db/x?password=s3cret&sslmode=require"),
            "postgresql://gh@db/x?password=***&sslmode=require"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert!(!redact_url("postgres://u:p@ss:w@rd@h/x").contains("rd@h/x?"));
        assert!(!redact_url("postgres://u:p@ss@h/x").contains("p@ss"));
    }
}
