//! Fixed-window rate limits kept in memory: how often one source may do something that costs
//! the box disk or a message (new licence requests per address). A restart forgets them, which
//! only gives a flood a fresh minute; what must survive restarts is kept in the store instead.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept at most; past it, expired windows are dropped (and, if that is not enough,
/// every window: a flood of distinct keys then only resets the counts).
const MAX_KEYS: usize = 10_000;

static WINDOWS: Mutex<Option<HashMap<String, (i64, u32)>>> = Mutex::new(None);

/// Counts one event for `key`; Err(seconds until the window ends) when `limit` events already
/// happened in the current `window_secs`.
pub fn admit(key: &str, limit: u32, window_secs: i64, now_unix: i64) -> Result<(), i64> {
    let mut guard = WINDOWS.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_KEYS && !map.contains_key(key) {
        map.retain(|_, (start, _)| now_unix - *start < window_secs);
        if map.len() >= MAX_KEYS {
            map.clear();
        }
    }
    let entry = map.entry(key.to_string()).or_insert((now_unix, 0));
    if now_unix - entry.0 >= window_secs {
        *entry = (now_unix, 0);
    }
    if entry.1 >= limit {
        return Err((entry.0 + window_secs - now_unix).max(1));
    }
    entry.1 += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_refuses_until_it_ends() {
        for _ in 0..3 {
            assert!(admit("t:a", 3, 60, 1000).is_ok());
        }
        assert_eq!(admit("t:a", 3, 60, 1010), Err(50));
        assert!(admit("t:b", 3, 60, 1010).is_ok(), "keys are apart");
        assert!(admit("t:a", 3, 60, 1060).is_ok(), "a new window");
    }
}
