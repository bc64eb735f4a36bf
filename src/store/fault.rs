//! Storage faults a client cannot fix but must be told about clearly: the state directory's
//! filesystem is full (ENOSPC, EDQUOT) or read-only (EROFS). Recognised from the error text,
//! because sled wraps io errors into its own strings. The current fault is kept process-wide so
//! /healthz, the admin status (console) and metrics can say it, and cleared by the next write
//! that reaches the disk.

use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    Full,
    ReadOnly,
}

impl Fault {
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Full => "storage full: no space left in the state directory; writes are refused until space is freed",
            Fault::ReadOnly => "storage read-only: the state directory cannot be written; writes are refused until it is writable",
        }
    }
}

/// Which fault an error message shows, if any.
pub fn classify(msg: &str) -> Option<Fault> {
    let m = msg.to_ascii_lowercase();
    if m.contains("no space left")
        || m.contains("os error 28")
        || m.contains("storagefull")
        || m.contains("quota exceeded")
        || m.contains("os error 122")
    {
        Some(Fault::Full)
    } else if m.contains("read-only file system")
        || m.contains("os error 30")
        || m.contains("readonlyfilesystem")
    {
        Some(Fault::ReadOnly)
    } else {
        None
    }
}

static CURRENT: Mutex<Option<(Fault, i64)>> = Mutex::new(None);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Records `msg` if it is a storage fault; returns the fault. Logged once per episode.
pub fn note(msg: &str) -> Option<Fault> {
    let f = classify(msg)?;
    let mut cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
    if cur.map(|(k, _)| k) != Some(f) {
        tracing::error!(fault = ?f, detail = %msg, "{}", f.describe());
        *cur = Some((f, now()));
    }
    Some(f)
}

/// A write reached the disk again: the episode is over.
pub fn clear() {
    let mut cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((f, since)) = cur.take() {
        tracing::warn!(fault = ?f, lasted_secs = now() - since, "storage writable again; writes accepted");
    }
}

/// The current fault and since when (unix seconds).
pub fn current() -> Option<(Fault, i64)> {
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_and_io_messages_are_recognised() {
        let sled = "storage engine: transaction: Storage(Io(Custom { kind: StorageFull, error: \"Os { code: 28, kind: StorageFull, message: \\\"No space left on device\\\" }\" }))";
        assert_eq!(classify(sled), Some(Fault::Full));
        assert_eq!(
            classify("i/o: Read-only file system (os error 30)"),
            Some(Fault::ReadOnly)
        );
        assert_eq!(
            classify("i/o: Disk quota exceeded (os error 122)"),
            Some(Fault::Full)
        );
        assert_eq!(classify("undecodable value: tasks/7"), None);
    }
}
