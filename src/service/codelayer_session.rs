//! Codelayer session keys: issued by `system/auth`, carried as `key` in every later call,
//! expiring after configurable inactivity.

use crate::domain::devices::CodelayerSession;
use crate::domain::ids::{Secret, TokenHash, UserId};
use crate::store::{Op, Record, Tx};

use super::{Result, ServiceError, Services};

/// The caller of a Codelayer operation.
#[derive(Debug, Clone)]
pub struct Session {
    pub hash: TokenHash,
    pub user: UserId,
    pub imei: String,
}

/// Issues a 32-character session key.
pub fn issue(svc: &Services, tx: &mut Tx, user: UserId, imei: &str, ver: &str) -> Secret {
    let key = svc.secrets.alnum(32);
    let now = svc.now_unix();
    let rec = CodelayerSession {
        user,
        imei: imei.to_string(),
        app_version: ver.to_string(),
        issued_unix: now,
        last_used_unix: now,
        revoked: false,
    };
    tx.put(&key.hash().0, &rec);
    key
}

pub async fn resolve(svc: &Services, key: &str) -> Result<Session> {
    let expired = ServiceError::Unauthorized {
        key: "auth.token.invalid",
    };
    if key.len() != 32 {
        return Err(expired);
    }
    let hash = TokenHash::of(key.as_bytes());
    let mut rec = svc
        .store
        .get::<CodelayerSession>(&hash.0)?
        .ok_or(expired.clone())?;
    let now = svc.now_unix();
    if !rec.live_at(now, svc.config.codelayer.session_idle_minutes * 60) {
        return Err(expired);
    }
    if now - rec.last_used_unix >= 60 {
        // Touch at most once a minute, without waiting for a flush: losing a touch in a crash
        // only shortens the session.
        rec.last_used_unix = now;
        svc.store.apply(&[Op {
            tree: CodelayerSession::TREE.into(),
            key: hash.0.to_vec(),
            value: Some(crate::store::codec::encode(&rec)),
        }])?;
    }
    Ok(Session {
        hash,
        user: rec.user,
        imei: rec.imei,
    })
}
