//! The storage's health as the wire families see it: a full or read-only state directory is
//! noticed by the store (`store::fault`) and reported through here, so no family reaches into
//! the store to answer 507/503 or to show it on /healthz and the console.

pub use crate::store::fault::Fault;

/// The current fault and since when (unix seconds), or None while writes succeed.
pub fn current() -> Option<(Fault, i64)> {
    crate::store::fault::current()
}

/// Recognises an error text as a storage fault (and remembers it for /healthz and the console).
pub fn note(detail: &str) -> Option<Fault> {
    crate::store::fault::note(detail)
}
