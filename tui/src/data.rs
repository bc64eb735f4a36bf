//! Reading the admin API's JSON without trusting it: every accessor returns a default on odd
//! data (a missing field, a number sent as a string, a string where a number was expected), so
//! a newer or older server can never make the console panic.

use chrono::{FixedOffset, TimeZone, Utc};
use serde_json::Value;

/// A field as display text: strings as-is, numbers and booleans printed, anything else "".
pub fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => clean(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        _ => String::new(),
    }
}

/// A field as an integer; accepts numbers and numeric strings.
pub fn int(v: &Value, key: &str) -> Option<i64> {
    as_int(v.get(key)?)
}

pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn float(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn boolean(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "1" | "Y" | "y" | "yes"),
        _ => false,
    }
}

/// The array under `key` (or the value itself when it is an array); empty on anything else.
pub fn list<'a>(v: &'a Value, key: Option<&str>) -> &'a [Value] {
    let v = match key {
        Some(k) => v.get(k).unwrap_or(&Value::Null),
        None => v,
    };
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Control characters would move the cursor or ring the bell: shown as spaces instead.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An integer figure, or "n/a" when the server did not send one.
pub fn figure(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "n/a".into())
}

/// Site-local date and time of a unix instant: `2026-11-23 14:05`.
pub fn local_datetime(unix: i64, offset_minutes: i32) -> String {
    let off = FixedOffset::east_opt(offset_minutes.clamp(-1439, 1439) * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    match Utc.timestamp_opt(unix, 0).single() {
        Some(t) => t.with_timezone(&off).format("%Y-%m-%d %H:%M").to_string(),
        None => "?".into(),
    }
}

/// "just now", "5 min ago", "3 h ago", "2 d ago".
pub fn ago(unix: i64, now: i64) -> String {
    let d = now.saturating_sub(unix);
    if d < 0 {
        "in the future".into()
    } else if d < 60 {
        "just now".into()
    } else if d < 3600 {
        format!("{} min ago", d / 60)
    } else if d < 86_400 {
        format!("{} h ago", d / 3600)
    } else {
        format!("{} d ago", d / 86_400)
    }
}

/// 1536 → "1.5 KiB".
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{} B", n as u64)
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// Cuts `s` to at most `w` display columns, ending in "…" when cut.
pub fn fit(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}

pub fn now_unix() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_data_gives_defaults() {
        let v = json!({"a": "12", "b": 3.9, "c": [1], "d": null, "e": "x\u{1b}[2Jy"});
        assert_eq!(int(&v, "a"), Some(12));
        assert_eq!(int(&v, "b"), Some(3));
        assert_eq!(int(&v, "c"), None);
        assert_eq!(text(&v, "c"), "");
        assert_eq!(text(&v, "missing"), "");
        assert_eq!(text(&v, "e"), "x [2Jy");
        assert!(list(&v, Some("d")).is_empty());
        assert!(list(&json!("nope"), None).is_empty());
        assert_eq!(local_datetime(i64::MAX, 420), "?");
        assert_eq!(local_datetime(0, 420), "1970-01-01 07:00");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(-5), "0 B");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(ago(100, 100 + 7200), "2 h ago");
        // Extremes must not overflow.
        assert!(ago(i64::MIN, i64::MAX).ends_with("d ago"));
        assert_eq!(ago(i64::MAX, i64::MIN), "in the future");
    }
}
