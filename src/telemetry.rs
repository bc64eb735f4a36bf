//! Logs (tracing: text on a terminal, JSON lines otherwise) and the Prometheus metrics.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

pub mod logring;

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
const RATE_WINDOW_SECS: i64 = 60;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    latency: [AtomicU64; 11],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
    /// (unix second, requests answered in it), newest last, at most RATE_WINDOW_SECS entries.
    per_second: Mutex<std::collections::VecDeque<(i64, u64)>>,
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
    pub fn observe(
        &self,
        family: &'static str,
        operation: &'static str,
        status: u16,
        seconds: f64,
    ) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((family, operation, status))
            .or_insert(0) += 1;
        let b = LATENCY_BUCKETS
            .iter()
            .position(|&ub| seconds <= ub)
            .unwrap_or(10);
        self.latency[b].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        if family == ADMIN_FAMILY {
            // The console polls every 2 s: its own calls are not the site's traffic.
            return;
        }
        let now = chrono::Utc::now().timestamp();
        let mut ps = self.per_second.lock().unwrap_or_else(|p| p.into_inner());
        match ps.back_mut() {
            Some((sec, n)) if *sec == now => *n += 1,
            _ => ps.push_back((now, 1)),
        }
        while ps
            .front()
            .is_some_and(|(sec, _)| *sec <= now - RATE_WINDOW_SECS)
        {
            ps.pop_front();
        }
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
        let now = chrono::Utc::now().timestamp();
        let ps = self.per_second.lock().unwrap_or_else(|p| p.into_inner());
        let recent: u64 = ps
            .iter()
            .filter(|(sec, _)| *sec > now - RATE_WINDOW_SECS)
            .map(|(_, n)| n)
            .sum();
        f.per_sec_1m = recent as f64 / RATE_WINDOW_SECS as f64;
        f
    }

    /// Requests by family/operation/status (for the console's dashboard).
    pub fn request_counts(&self) -> Vec<(String, String, u16, u64)> {
        self.requests
            .lock()
            .expect("metrics lock")
            .iter()
            .map(|((f, o, s), n)| (f.to_string(), o.to_string(), *s, *n))
            .collect()
    }

    pub fn render(&self, store_bytes: u64, flush: &crate::store::commit::FlushStats) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        out.push_str("# HELP gatehouse_requests_total Requests answered, by family, operation and HTTP status.\n");
        out.push_str("# TYPE gatehouse_requests_total counter\n");
        for ((f, o, s), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "gatehouse_requests_total{{family=\"{}\",operation=\"{}\",status=\"{s}\"}} {n}",
                esc(f),
                esc(o)
            );
        }
        out.push_str("# HELP gatehouse_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE gatehouse_request_duration_seconds histogram\n");
        let mut cum = 0;
        for (i, ub) in LATENCY_BUCKETS.iter().enumerate() {
            cum += self.latency[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_bucket{{le=\"{ub}\"}} {cum}"
            );
        }
        cum += self.latency[10].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "gatehouse_request_duration_seconds_bucket{{le=\"+Inf\"}} {cum}"
        );
        let _ = writeln!(
            out,
            "gatehouse_request_duration_seconds_sum {}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "gatehouse_request_duration_seconds_count {}",
            self.latency_count.load(Ordering::Relaxed)
        );
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
