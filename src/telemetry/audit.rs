//! The audit trail: who signed in (or failed to) from which device and address, gatepass
//! moves, licence decisions and user changes, as tracing events with `target: "audit"` (so a
//! journal filter or `GATEHOUSE_LOG=audit=info` picks them out). Never a password or token.
//!
//! The dispatcher runs each handler inside `scope`, which records the caller's family and
//! peer address in a task-local; services read it with `caller()` without any change to their
//! signatures. Work moved to `spawn_blocking` must read it before it moves.

use std::future::Future;
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub family: &'static str,
    pub peer: Option<SocketAddr>,
}

tokio::task_local! {
    static CALLER: Caller;
}

/// Runs `f` with `caller` readable by `caller()` (no allocation).
pub fn scope<F: Future>(caller: Caller, f: F) -> impl Future<Output = F::Output> {
    CALLER.scope(caller, f)
}

/// The current request's caller; `None` outside a request (the CLI in-process, a background
/// job) or on a blocking thread.
pub fn caller() -> Option<Caller> {
    CALLER.try_with(|c| *c).ok()
}

/// The peer as text for an audit event: `192.168.1.20:51234`, `admin socket`, or `local`.
pub fn peer_text(c: Option<Caller>) -> String {
    match c {
        Some(Caller { peer: Some(p), .. }) => p.to_string(),
        Some(Caller {
            family: "admin", ..
        }) => "admin socket".into(),
        _ => "local".into(),
    }
}

/// The family of the current request, or `cli` when there is none.
pub fn family_text(c: Option<Caller>) -> &'static str {
    c.map(|c| c.family).unwrap_or("cli")
}

/// A change made by staff or a device: one INFO event on the audit target.
pub fn record(action: &str, subject: &str, detail: &str) {
    let c = caller();
    tracing::info!(
        target: "audit",
        action,
        subject,
        detail,
        family = family_text(c),
        peer = %peer_text(c),
        "audit"
    );
}
