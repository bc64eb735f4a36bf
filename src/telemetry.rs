//! Logs (tracing: text on a terminal, JSON lines otherwise) and the Prometheus metrics.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tracing_subscriber::EnvFilter;

pub mod audit;
pub mod logring;
mod rate;

/// Initialises logging once. `format`: auto | text | json. Every event that passes the filter
/// is also kept in the in-memory ring the console's log screen reads (`recent_logs`).
pub fn init_logs(format: &str, level: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let json = match format {
        "json" => true,
        "text" => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(logring::RingLayer);
    let _ = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
}

pub use logring::{recent_logs, LogEvent};

/// Latency buckets in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Seconds of history behind the dashboard's requests-per-second figure.
const RATE_WINDOW_SECS: u32 = 60;

/// Statuses counted without a lock (the rest go to a small locked list).
const COMMON_STATUSES: [u16; 18] = [
    200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 426, 429, 500, 503, 504,
];

/// One operation's figures: created once (the first request of that route), then updated with
/// atomics only, so the per-request path neither allocates nor takes a write lock.
struct OpSlot {
    /// Stable snake_case id for the `operation` label (`Clock In` -> `clock_in`).
    id: String,
    /// The route's summary, as the console shows it.
    summary: String,
    statuses: [AtomicU64; COMMON_STATUSES.len()],
    other_statuses: Mutex<Vec<(u16, u64)>>,
    latency: [AtomicU64; 11],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
}

impl OpSlot {
    fn new(summary: &str) -> Self {
        Self {
            id: op_id(summary),
            summary: summary.to_string(),
            statuses: Default::default(),
            other_statuses: Mutex::new(Vec::new()),
            latency: Default::default(),
            latency_sum_us: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
        }
    }

    fn statuses(&self) -> Vec<(u16, u64)> {
        let mut v: Vec<(u16, u64)> = COMMON_STATUSES
            .iter()
            .zip(&self.statuses)
            .map(|(s, n)| (*s, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        v.extend(
            self.other_statuses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .copied(),
        );
        v.sort_unstable();
        v
    }
}

/// A route summary as a stable Prometheus label value: lower snake_case ASCII
/// (`Gatepass Save` -> `gatepass_save`, `(unknown path)` -> `unknown_path`).
pub fn op_id(summary: &str) -> String {
    let mut out = String::with_capacity(summary.len());
    for c in summary.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

type OpMap = HashMap<String, HashMap<String, Arc<OpSlot>>>;

#[derive(Default)]
pub struct Metrics {
    /// family -> route summary -> figures.
    ops: RwLock<OpMap>,
    /// LAN requests refused because the box was at its in-flight or body budget.
    pub shed: AtomicU64,
    /// Sign-in lockouts imposed since start (all families).
    pub lockouts: AtomicU64,
    /// Requests answered per second, for the last minute's rate.
    per_second: rate::SecondRing,
}

/// Gauges read at scrape time (not kept per request).
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub store_bytes: u64,
    pub blob_bytes: Option<u64>,
    pub in_flight: u64,
    pub in_flight_limit: u64,
    pub last_backup_age_secs: Option<i64>,
    pub locked_now: Option<u64>,
    /// Idempotency looks answered "new" without a read (`store::known_keys`).
    pub idempotency_known_new: u64,
}

/// The admin socket's family name (see `api::Family::name`).
const ADMIN_FAMILY: &str = "admin";

/// Request figures for the console's dashboard: the LAN side only (devices, apps, probes).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RequestFigures {
    pub total: u64,
    /// Answers with status 400–499 (a client's mistake: bad field, wrong password ...).
    pub client_errors: u64,
    /// Answers with status 500 or more (ours).
    pub server_errors: u64,
    /// Mean over the last minute.
    pub per_sec_1m: f64,
}

impl Metrics {
    fn slot(&self, family: &str, operation: &str) -> Arc<OpSlot> {
        if let Some(slot) = self
            .ops
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(family)
            .and_then(|m| m.get(operation))
        {
            return slot.clone();
        }
        let mut ops = self.ops.write().unwrap_or_else(|p| p.into_inner());
        ops.entry(family.to_string())
            .or_default()
            .entry(operation.to_string())
            .or_insert_with(|| Arc::new(OpSlot::new(operation)))
            .clone()
    }

    /// `observe_at` now (the tests' way in; the dispatcher passes the clock it has read).
    #[cfg(test)]
    pub fn observe(&self, family: &str, operation: &str, status: u16, seconds: f64) {
        self.observe_at(family, operation, status, seconds, Instant::now());
    }

    /// Counts one request answered at `now` (the dispatcher has just read the clock).
    pub fn observe_at(
        &self,
        family: &str,
        operation: &str,
        status: u16,
        seconds: f64,
        now: Instant,
    ) {
        let slot = self.slot(family, operation);
        match COMMON_STATUSES.iter().position(|s| *s == status) {
            Some(i) => {
                slot.statuses[i].fetch_add(1, Ordering::Relaxed);
            }
            None => {
                let mut other = slot
                    .other_statuses
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                match other.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, n)) => *n += 1,
                    None => other.push((status, 1)),
                }
            }
        }
        let b = LATENCY_BUCKETS
            .iter()
            .position(|&ub| seconds <= ub)
            .unwrap_or(10);
        slot.latency[b].fetch_add(1, Ordering::Relaxed);
        slot.latency_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        slot.latency_count.fetch_add(1, Ordering::Relaxed);
        if family == ADMIN_FAMILY {
            // The console polls every 2 s: its own calls are not the site's traffic.
            return;
        }
        self.per_second.add(now);
    }

    /// Totals, errors and the last minute's rate.
    pub fn request_figures(&self) -> RequestFigures {
        let mut f = RequestFigures::default();
        for (family, _, status, n) in self.request_counts() {
            if family == ADMIN_FAMILY {
                continue;
            }
            f.total += n;
            match status {
                400..=499 => f.client_errors += n,
                500.. => f.server_errors += n,
                _ => {}
            }
        }
        let recent = self.per_second.sum(Instant::now(), RATE_WINDOW_SECS);
        f.per_sec_1m = recent as f64 / RATE_WINDOW_SECS as f64;
        f
    }

    /// Requests by family/operation/status (for the console's dashboard).
    pub fn request_counts(&self) -> Vec<(String, String, u16, u64)> {
        let ops = self.ops.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (family, m) in ops.iter() {
            for slot in m.values() {
                for (s, n) in slot.statuses() {
                    out.push((family.clone(), slot.summary.clone(), s, n));
                }
            }
        }
        out.sort();
        out
    }

    /// The Prometheus text. `gauges` are read by the caller at scrape time.
    pub fn render(&self, store_bytes: u64, flush: &crate::store::commit::FlushStats) -> String {
        self.render_with(
            &Gauges {
                store_bytes,
                ..Gauges::default()
            },
            flush,
        )
    }

    pub fn render_with(&self, g: &Gauges, flush: &crate::store::commit::FlushStats) -> String {
        use std::fmt::Write;
        let store_bytes = g.store_bytes;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP gatehouse_build_info The running binary.\n# TYPE gatehouse_build_info gauge\n\
             gatehouse_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let ops = self.ops.read().unwrap_or_else(|p| p.into_inner());
        let mut slots: Vec<(&String, &Arc<OpSlot>)> = ops
            .iter()
            .flat_map(|(f, m)| m.values().map(move |s| (f, s)))
            .collect();
        slots.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        out.push_str("# HELP gatehouse_requests_total Requests answered, by family, operation and HTTP status.\n");
        out.push_str("# TYPE gatehouse_requests_total counter\n");
        for (f, slot) in &slots {
            for (s, n) in slot.statuses() {
                let _ = writeln!(
                    out,
                    "gatehouse_requests_total{{family=\"{}\",operation=\"{}\",status=\"{s}\"}} {n}",
                    esc(f),
                    slot.id
                );
            }
        }
        out.push_str("# HELP gatehouse_request_duration_seconds Time to answer a request, by family and operation.\n");
        out.push_str("# TYPE gatehouse_request_duration_seconds histogram\n");
        for (f, slot) in &slots {
            let labels = format!("family=\"{}\",operation=\"{}\"", esc(f), slot.id);
            let mut cum = 0;
            for (i, ub) in LATENCY_BUCKETS.iter().enumerate() {
                cum += slot.latency[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "gatehouse_request_duration_seconds_bucket{{{labels},le=\"{ub}\"}} {cum}"
                );
            }
            cum += slot.latency[10].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cum}"
            );
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_sum{{{labels}}} {}",
                slot.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_count{{{labels}}} {}",
                slot.latency_count.load(Ordering::Relaxed)
            );
        }
        drop(ops);
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, v: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        gauge(
            &mut out,
            "gatehouse_requests_shed_total",
            "LAN requests refused with 503 because the in-flight or body budget was full.",
            "counter",
            self.shed.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "gatehouse_requests_in_flight",
            "LAN requests being answered now.",
            "gauge",
            g.in_flight.to_string(),
        );
        gauge(
            &mut out,
            "gatehouse_requests_in_flight_limit",
            "http.max_in_flight.",
            "gauge",
            g.in_flight_limit.to_string(),
        );
        gauge(
            &mut out,
            "gatehouse_lockouts_total",
            "Sign-in lockouts imposed since start (users and devices, every family).",
            "counter",
            self.lockouts.load(Ordering::Relaxed).to_string(),
        );
        if let Some(n) = g.locked_now {
            gauge(
                &mut out,
                "gatehouse_lockouts_active",
                "Users and devices locked out now.",
                "gauge",
                n.to_string(),
            );
        }
        if let Some(age) = g.last_backup_age_secs {
            gauge(
                &mut out,
                "gatehouse_backup_age_seconds",
                "Seconds since the last successful backup.",
                "gauge",
                age.to_string(),
            );
        }
        if let Some(b) = g.blob_bytes {
            gauge(
                &mut out,
                "gatehouse_store_blob_bytes",
                "Bytes of photos and face files under blobs/.",
                "gauge",
                b.to_string(),
            );
        }
        out.push_str("# HELP gatehouse_store_size_bytes Size of the store on disk.\n# TYPE gatehouse_store_size_bytes gauge\n");
        let _ = writeln!(out, "gatehouse_store_size_bytes {store_bytes}");
        out.push_str("# HELP gatehouse_store_flush_seconds Time of one group-commit flush.\n");
        out.push_str("# TYPE gatehouse_store_flush_seconds histogram\n");
        let mut cum = 0;
        for (i, ub) in crate::store::commit::BUCKETS_US.iter().enumerate() {
            cum += flush.buckets[i].load(Ordering::Relaxed);
            let le = if *ub == u64::MAX {
                "+Inf".to_string()
            } else {
                format!("{}", *ub as f64 / 1e6)
            };
            let _ = writeln!(
                out,
                "gatehouse_store_flush_seconds_bucket{{le=\"{le}\"}} {cum}"
            );
        }
        let _ = writeln!(
            out,
            "gatehouse_store_flush_seconds_sum {}",
            flush.micros_total.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "gatehouse_store_flush_seconds_count {}",
            flush.flushes.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP gatehouse_store_durable_writes_total Writes acknowledged after a flush.\n",
        );
        out.push_str("# TYPE gatehouse_store_durable_writes_total counter\n");
        let _ = writeln!(
            out,
            "gatehouse_store_durable_writes_total {}",
            flush.waiters.load(Ordering::Relaxed)
        );
        let (drains, drained, waiting) = crate::store::overlay::stats();
        out.push_str("# HELP gatehouse_store_drains_total Transactions that moved changes from the overlay into the store (after a flush that had changes, at a checkpoint, and per 8 MiB in bulk).\n");
        out.push_str("# TYPE gatehouse_store_drains_total counter\n");
        let _ = writeln!(out, "gatehouse_store_drains_total {drains}");
        out.push_str("# HELP gatehouse_store_drained_changes_total Changes moved from the overlay into the store.\n");
        out.push_str("# TYPE gatehouse_store_drained_changes_total counter\n");
        let _ = writeln!(out, "gatehouse_store_drained_changes_total {drained}");
        out.push_str("# HELP gatehouse_store_overlay_bytes Memory held by changes applied and logged but not yet in the store (keys, values and their bookkeeping).\n");
        out.push_str("# TYPE gatehouse_store_overlay_bytes gauge\n");
        let _ = writeln!(out, "gatehouse_store_overlay_bytes {waiting}");
        out.push_str(
            "# HELP gatehouse_store_records_read_total Records read from the store (gets that found a value, keys yielded by scans).\n",
        );
        out.push_str("# TYPE gatehouse_store_records_read_total counter\n");
        let _ = writeln!(
            out,
            "gatehouse_store_records_read_total {}",
            crate::store::reads::total()
        );
        out.push_str(
            "# HELP gatehouse_idempotency_known_new_total Request-id looks answered new by the filter of known ids, without reading the store.\n",
        );
        out.push_str("# TYPE gatehouse_idempotency_known_new_total counter\n");
        let _ = writeln!(
            out,
            "gatehouse_idempotency_known_new_total {}",
            g.idempotency_known_new
        );
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod figure_tests {
    use super::*;

    #[test]
    fn operation_ids_are_stable_snake_case() {
        assert_eq!(op_id("Clock In"), "clock_in");
        assert_eq!(op_id("Gatepass Save"), "gatepass_save");
        assert_eq!(op_id("(unknown path)"), "unknown_path");
        assert_eq!(op_id("Get Labor / Sync"), "get_labor_sync");
        assert_eq!(op_id("??"), "unnamed");
    }

    #[test]
    fn one_slot_per_operation_and_rare_statuses_are_kept() {
        let m = Metrics::default();
        for _ in 0..3 {
            m.observe("codelayer", "Clock In", 200, 0.002);
        }
        m.observe("codelayer", "Clock In", 418, 0.3);
        let text = m.render_with(&Gauges::default(), &Default::default());
        assert!(text.contains(
            "gatehouse_requests_total{family=\"codelayer\",operation=\"clock_in\",status=\"200\"} 3"
        ), "{text}");
        assert!(text.contains("status=\"418\"} 1"), "{text}");
        assert!(text.contains(
            "gatehouse_request_duration_seconds_bucket{family=\"codelayer\",operation=\"clock_in\",le=\"0.0025\"} 3"
        ), "{text}");
        assert!(text.contains(
            "gatehouse_request_duration_seconds_count{family=\"codelayer\",operation=\"clock_in\"} 4"
        ), "{text}");
        assert_eq!(m.ops.read().unwrap()["codelayer"].len(), 1);
        assert_eq!(m.request_counts().len(), 2);
    }

    #[test]
    fn dashboard_figures_count_lan_traffic_and_errors_not_the_console() {
        let m = Metrics::default();
        m.observe("codelayer", "Clock In", 200, 0.01);
        m.observe("codelayer", "Clock In", 200, 0.01);
        m.observe("daily_activity", "Login", 401, 0.01);
        m.observe("ops", "Health", 503, 0.01);
        m.observe("admin", "Dashboard", 200, 0.01);
        let f = m.request_figures();
        assert_eq!(f.total, 4);
        assert_eq!(f.client_errors, 1);
        assert_eq!(f.server_errors, 1);
        assert!((f.per_sec_1m - 4.0 / 60.0).abs() < 1e-9, "{}", f.per_sec_1m);
    }
}
