//! Handhelds: Codelayer licences (one per IMEI), the sessions they open, and the rules for the
//! fields POABS sends (IMEI, `N.N.N.N` versions).

use serde::{Deserialize, Serialize};

use super::ids::UserId;

/// Where a handheld's licence stands. POABS reports the first three as `statusCode` 1/2/3;
/// `Blocked` is an approved device withdrawn by the estate (lost, stolen): it is refused like a
/// rejected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Rejected,
    Blocked,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Rejected => "rejected",
            DeviceStatus::Blocked => "blocked",
        }
    }

    /// POABS `statusCode`: 1 approval pending, 2 approved, 3 rejected (blocked reads as rejected).
    pub fn status_code(self) -> u8 {
        match self {
            DeviceStatus::Pending => 1,
            DeviceStatus::Approved => 2,
            DeviceStatus::Rejected | DeviceStatus::Blocked => 3,
        }
    }
}

/// A handheld known to the box, keyed by IMEI. Created by its first licence request or
/// registration, decided by an admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    pub imei: String,
    pub app_id: String,
    pub client_id: String,
    pub device_name: String,
    pub mobile: String,
    pub status: DeviceStatus,
    /// The 32-character licence key, sealed under the master key: the handheld must be able to
    /// fetch it again with a licence request, so it cannot be kept only as a hash.
    pub sealed_licence_key: Option<Vec<u8>>,
    pub requested_unix: i64,
    pub decided_unix: Option<i64>,
    /// Licence validity end (Unix seconds), set on approval.
    pub valid_till_unix: Option<i64>,
    pub last_seen_unix: Option<i64>,
    pub app_version: String,
}

/// A Daily Activity app installation registered by a client system (Register Device), keyed by
/// app key ‖ 0 ‖ device id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppDevice {
    pub app_key: String,
    pub device_id: String,
    pub device_name: String,
    pub platform: String,
    pub os_version: String,
    pub app_version: String,
    /// Push notification token, if the app has one.
    pub push_token: String,
    pub registered_unix: i64,
    pub updated_unix: i64,
}

/// A Codelayer session key's record; the key itself is never stored (keyed by its hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodelayerSession {
    pub user: UserId,
    pub imei: String,
    pub app_version: String,
    pub issued_unix: i64,
    pub last_used_unix: i64,
    pub revoked: bool,
}

impl CodelayerSession {
    /// A session expires after `idle_secs` without use.
    pub fn live_at(&self, now_unix: i64, idle_secs: i64) -> bool {
        !self.revoked && now_unix - self.last_used_unix <= idle_secs
    }
}

/// A POABS client version `N.N.N.N` (the auth page: 7–16 characters, "1.0.0.0").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AppVersion(pub [u32; 4]);

impl AppVersion {
    pub fn parse(s: &str) -> Option<AppVersion> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut out = [0u32; 4];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            out[i] = p.parse().ok()?;
        }
        Some(AppVersion(out))
    }
}

/// An IMEI as `system/auth` wants it: 14 to 16 digits.
pub fn is_auth_imei(s: &str) -> bool {
    (14..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_on_inactivity_only() {
        let s = CodelayerSession {
            user: UserId(1),
            imei: "352099001761481".into(),
            app_version: "1.0.0.0".into(),
            issued_unix: 0,
            last_used_unix: 1000,
            revoked: false,
        };
        assert!(s.live_at(1000 + 1800, 1800));
        assert!(!s.live_at(1000 + 1801, 1800));
    }

    #[test]
    fn versions_compare_numerically() {
        let v = |s| AppVersion::parse(s).unwrap();
        assert!(v("1.0.0.10") > v("1.0.0.9"));
        assert!(v("1.0.0.0") >= v("1.0.0.0"));
        assert!(v("0.9.9.9") < v("1.0.0.0"));
        for bad in ["1.0.0", "1.0.0.0.0", "1.a.0.0", "1..0.0", ""] {
            assert!(AppVersion::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn auth_imei_is_14_to_16_digits() {
        assert!(is_auth_imei("35209900176148"));
        assert!(is_auth_imei("352099001761481"));
        assert!(is_auth_imei("3520990017614812"));
        assert!(!is_auth_imei("3520990017614"));
        assert!(!is_auth_imei("35209900176148123"));
        assert!(!is_auth_imei("35209900176148a"));
    }

    #[test]
    fn blocked_reads_as_rejected_to_the_handheld() {
        assert_eq!(DeviceStatus::Pending.status_code(), 1);
        assert_eq!(DeviceStatus::Approved.status_code(), 2);
        assert_eq!(DeviceStatus::Rejected.status_code(), 3);
        assert_eq!(DeviceStatus::Blocked.status_code(), 3);
    }
}
