//! The technician's device commands: the IMEI is checked before anything is written, and the
//! list shows when each handheld was last seen.

use serde_json::json;

use super::{emit, Admin, Global};
use crate::config::Config;

/// An IMEI as technicians type it (spaces, dashes, slashes) → its digits, 14 to 16 of them as
/// the Codelayer contract's `system/auth` requires; anything else is refused before it is
/// stored (an approval made in advance for a mistyped IMEI would never be used).
pub fn normalize_imei(raw: &str) -> Result<String, String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '/' | '.'))
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "--imei: IMEI '{raw}' must be digits only (14 to 16; dial *#06# on the handheld to see it)"
        ));
    }
    if !(14..=16).contains(&digits.len()) {
        return Err(format!(
            "--imei: IMEI '{raw}' has {} digits; an IMEI has 14 to 16 (dial *#06# on the handheld to see it)",
            digits.len()
        ));
    }
    Ok(digits)
}

pub fn device_decide(
    cfg: &Config,
    g: &Global,
    path: &str,
    imei: &str,
    verb: &str,
) -> Result<(), String> {
    let imei = normalize_imei(imei)?;
    let admin = Admin::connect(cfg)?;
    let known = admin
        .call("GET", "/admin/devices", None)?
        .as_array()
        .is_some_and(|a| a.iter().any(|d| d["imei"] == imei.as_str()));
    let d = admin.call("POST", path, Some(json!({"imei": imei})))?;
    emit(g, &d, || {
        let mut s = format!("device {imei} {verb}");
        if !known {
            s.push_str(" in advance (it has not asked for a licence yet)");
        }
        s
    })
}

/// "2026-12-02 14:03 (5 min ago)" in site time, or "never".
fn seen(cfg: &Config, unix: Option<i64>, now: i64) -> String {
    match unix {
        None => "never".into(),
        Some(t) => {
            let ago = now - t;
            let rel = match ago {
                a if a < 60 => "just now".to_string(),
                a if a < 3600 => format!("{} min ago", a / 60),
                a if a < 172_800 => format!("{} h ago", a / 3600),
                a => format!("{} days ago", a / 86_400),
            };
            format!("{} ({rel})", super::reports::local_time(cfg, Some(t)))
        }
    }
}

pub fn device_list(cfg: &Config, g: &Global) -> Result<(), String> {
    let mut d = super::admin(cfg, "GET", "/admin/devices", None)?;
    let now = chrono::Utc::now().timestamp();
    if let Some(list) = d.as_array_mut() {
        for dev in list.iter_mut() {
            dev["last_seen"] = json!(seen(cfg, dev["last_seen_unix"].as_i64(), now));
        }
    }
    emit(g, &d, || {
        super::table(
            &d,
            &[
                "imei",
                "device_name",
                "app_id",
                "status",
                "app_version",
                "last_seen",
            ],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imeis_are_digits_14_to_16() {
        assert_eq!(
            normalize_imei("35-209900-176148-1").unwrap(),
            "352099001761481"
        );
        assert_eq!(normalize_imei("35209900176148").unwrap(), "35209900176148");
        assert!(normalize_imei("3520990017614").is_err());
        assert!(normalize_imei("35209900176148123").is_err());
        assert!(normalize_imei("35209900176148O").is_err());
    }
}
