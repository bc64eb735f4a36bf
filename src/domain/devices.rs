//! Handhelds: Codelayer sessions (and, with the identity work, licences).

use serde::{Deserialize, Serialize};

use super::ids::UserId;

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
}
