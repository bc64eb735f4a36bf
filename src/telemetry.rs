//! Logs (tracing: text on a terminal, JSON lines otherwise) and the Prometheus metrics.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Initialises logging once. `format`: auto | text | json.
pub fn init_logs(format: &str, level: &str) {
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let json = match format {
        "json" => true,
        "text" => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Latency buckets in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: [AtomicU64; 11],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, family: &str, operation: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((family.to_string(), operation.to_string(), status))
            .or_insert(0) += 1;
        let b = LATENCY_BUCKETS
            .iter()
            .position(|&ub| seconds <= ub)
            .unwrap_or(10);
        self.latency[b].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests by family/operation/status (for the console's dashboard).
    pub fn request_counts(&self) -> Vec<(String, String, u16, u64)> {
        self.requests
            .lock()
            .expect("metrics lock")
            .iter()
            .map(|((f, o, s), n)| (f.clone(), o.clone(), *s, *n))
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
