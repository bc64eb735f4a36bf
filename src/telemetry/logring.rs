//! The last few hundred log events, kept in memory for the console's log screen
//! (`GET /admin/logs`). An event holds only what the code chose to log — its message and
//! fields — exactly as the log file would, so nothing reaches the console that a journal
//! reader could not see already; code never logs secrets.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many events the ring keeps; older ones fall off the front.
pub const CAPACITY: usize = 500;
/// One field value is cut at this many characters (a huge debug dump must not pin memory).
const MAX_VALUE_CHARS: usize = 300;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogEvent {
    /// Monotonic number, so a reader can tell new events from ones it has shown.
    pub seq: u64,
    pub unix_ms: i64,
    /// ERROR, WARN, INFO, DEBUG or TRACE.
    pub level: &'static str,
    pub target: String,
    pub message: String,
    /// `key=value` pairs in the order they were logged.
    pub fields: Vec<(String, String)>,
}

struct Ring {
    next_seq: u64,
    events: VecDeque<LogEvent>,
}

fn ring() -> &'static Mutex<Ring> {
    static RING: OnceLock<Mutex<Ring>> = OnceLock::new();
    RING.get_or_init(|| {
        Mutex::new(Ring {
            next_seq: 1,
            events: VecDeque::with_capacity(CAPACITY),
        })
    })
}

fn push(mut e: LogEvent) {
    // A poisoned lock only means another thread panicked mid-push; the ring is still usable.
    let mut r = ring().lock().unwrap_or_else(|p| p.into_inner());
    e.seq = r.next_seq;
    r.next_seq += 1;
    if r.events.len() >= CAPACITY {
        r.events.pop_front();
    }
    r.events.push_back(e);
}

/// Severity rank: ERROR = 1 … TRACE = 5.
pub fn level_rank(level: &str) -> Option<u8> {
    match level.to_ascii_uppercase().as_str() {
        "ERROR" => Some(1),
        "WARN" | "WARNING" => Some(2),
        "INFO" => Some(3),
        "DEBUG" => Some(4),
        "TRACE" => Some(5),
        _ => None,
    }
}

/// The newest `limit` events at `min_level` or more severe, oldest first.
pub fn recent_logs(min_level: Option<&str>, limit: usize) -> Vec<LogEvent> {
    let max_rank = min_level.and_then(level_rank).unwrap_or(5);
    let r = ring().lock().unwrap_or_else(|p| p.into_inner());
    let mut out: Vec<LogEvent> = r
        .events
        .iter()
        .rev()
        .filter(|e| level_rank(e.level).unwrap_or(5) <= max_rank)
        .take(limit)
        .cloned()
        .collect();
    out.reverse();
    out
}

/// The tracing layer that feeds the ring.
pub struct RingLayer;

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut v = Collect::default();
        event.record(&mut v);
        let meta = event.metadata();
        push(LogEvent {
            seq: 0,
            unix_ms: chrono::Utc::now().timestamp_millis(),
            level: level_name(meta.level()),
            target: meta.target().to_string(),
            message: v.message,
            fields: v.fields,
        });
    }
}

fn level_name(l: &Level) -> &'static str {
    match *l {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

#[derive(Default)]
struct Collect {
    message: String,
    fields: Vec<(String, String)>,
}

impl Visit for Collect {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.put(field, s);
    }
}

impl Collect {
    fn put(&mut self, field: &Field, mut value: String) {
        if let Some((cut, _)) = value.char_indices().nth(MAX_VALUE_CHARS) {
            value.truncate(cut);
            value.push('…');
        }
        if field.name() == "message" {
            self.message = value;
        } else {
            self.fields.push((field.name().to_string(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn keeps_the_newest_events_and_filters_by_level() {
        let sub = tracing_subscriber::registry().with(RingLayer);
        tracing::subscriber::with_default(sub, || {
            for i in 0..(CAPACITY + 20) {
                tracing::info!(n = i, "ring test event");
            }
            tracing::warn!(user = "amir", "ring test warning");
        });
        let all = recent_logs(None, CAPACITY * 2);
        assert!(all.len() <= CAPACITY, "ring grew past its capacity");
        // Other tests log into the same ring concurrently: look the event up by message.
        let last = all
            .iter()
            .rev()
            .find(|e| e.message == "ring test warning")
            .unwrap();
        assert_eq!(last.level, "WARN");
        assert_eq!(last.message, "ring test warning");
        assert_eq!(last.fields, vec![("user".to_string(), "amir".to_string())]);
        // seq strictly increases (oldest first).
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
        let warns = recent_logs(Some("warn"), 10);
        assert!(warns
            .iter()
            .all(|e| e.level == "WARN" || e.level == "ERROR"));
        assert!(warns.iter().any(|e| e.message == "ring test warning"));
        assert_eq!(recent_logs(Some("info"), 3).len(), 3);
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(1000);
        let sub = tracing_subscriber::registry().with(RingLayer);
        tracing::subscriber::with_default(sub, || {
            tracing::error!(blob = %long, "ring long value");
        });
        let e = recent_logs(Some("error"), 50)
            .into_iter()
            .rev()
            .find(|e| e.message == "ring long value")
            .unwrap();
        assert_eq!(e.fields[0].1.chars().count(), MAX_VALUE_CHARS + 1);
    }
}
