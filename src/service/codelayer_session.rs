//! Codelayer session keys: issued by `system/auth` (and `estate/auth`), carried as `key` in
//! every later call, expiring after configurable inactivity, and killed when their handheld is
//! blocked.

use crate::domain::devices::{CodelayerSession, Device, DeviceStatus};
use crate::domain::ids::{Secret, TokenHash, UserId};
use crate::store::tables::identity::{SESSIONS_BY_IMEI, SESSIONS_BY_USER};
use crate::store::{self, Op, Record, Tx};

use super::{Result, ServiceError, Services};

/// The caller of a Codelayer operation.
#[derive(Debug, Clone)]
pub struct Session {
    pub hash: TokenHash,
    pub user: UserId,
    pub imei: String,
    /// The session's last recorded use, as read by `resolve` (lets `touch` skip a second read
    /// while the session was touched recently).
    pub last_used_unix: i64,
    /// The user's record as read by `resolve` (active), so the access check reads it once.
    /// Shared with the cache of hot records: a sign-in check copies nothing.
    pub account: std::sync::Arc<crate::domain::identity::User>,
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
    let hash = key.hash();
    tx.put(&hash.0, &rec);
    tx.index(
        SESSIONS_BY_IMEI,
        &[store::prefix(&[imei.as_bytes()]).as_slice(), &hash.0].concat(),
    );
    tx.index(SESSIONS_BY_USER, &[user.key().as_slice(), &hash.0].concat());
    key
}

/// Revokes every session opened from `imei` (the device was blocked or rejected).
pub fn revoke_for_imei(tx: &mut Tx, imei: &str) -> Result<usize> {
    let prefix = store::prefix(&[imei.as_bytes()]);
    let hashes = tx.store().index_keys(SESSIONS_BY_IMEI, &prefix)?;
    let mut n = 0;
    for h in hashes {
        if let Some(mut s) = tx.get::<CodelayerSession>(&h)? {
            if !s.revoked {
                s.revoked = true;
                tx.put(&h, &s);
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Revokes every Codelayer session of a user (password changed or reset).
pub fn revoke_for_user(tx: &mut Tx, user: UserId) -> Result<usize> {
    let mut n = 0;
    // The user's sessions through their index, not a walk of every handheld's sessions.
    for k in tx.store().index_keys(SESSIONS_BY_USER, &user.key())? {
        let Some(mut s) = tx.get::<CodelayerSession>(&k)? else {
            continue;
        };
        if s.user == user && !s.revoked {
            s.revoked = true;
            tx.put(&k, &s);
            n += 1;
        }
    }
    Ok(n)
}

pub async fn resolve(svc: &Services, key: &str) -> Result<Session> {
    let expired = ServiceError::Unauthorized {
        key: "auth.token.invalid",
    };
    if key.len() != 32 {
        return Err(expired);
    }
    let hash = TokenHash::of(key.as_bytes());
    let rec = svc
        .store
        .get_shared::<CodelayerSession>(&hash.0)?
        .ok_or(expired.clone())?;
    let now = svc.now_unix();
    if !rec.live_at(now, svc.config.codelayer.session_idle_minutes * 60) {
        return Err(expired);
    }
    // The handheld must still be licensed: a blocked device's sessions die at once.
    match svc.store.get_shared::<Device>(rec.imei.as_bytes())? {
        Some(d) if d.status == DeviceStatus::Approved => {}
        _ => {
            return Err(ServiceError::Forbidden {
                key: "device.not_licensed",
            })
        }
    }
    let account = match super::identity::user_shared(&svc.store, rec.user)? {
        Some(u) if u.active => u,
        _ => return Err(expired),
    };
    Ok(Session {
        hash,
        user: rec.user,
        imei: rec.imei.clone(),
        last_used_unix: rec.last_used_unix,
        account,
    })
}

/// Records the session's use (at most every `security.session_touch_secs`). The record is read
/// again and written under the writer lock, so a revoke committed meanwhile (password change,
/// block, re-authorize) is never written back over: the touch only ever changes the time.
pub async fn touch(svc: &Services, s: &Session) -> Result<()> {
    let now = svc.now_unix();
    let every = svc.config.security.session_touch_secs.max(0);
    // Touched recently as `resolve` read it: nothing to record (the common case, no read).
    if now - s.last_used_unix < every {
        return Ok(());
    }
    match svc.store.get::<CodelayerSession>(&s.hash.0)? {
        Some(rec) if !rec.revoked && now - rec.last_used_unix >= every => {}
        _ => return Ok(()),
    }
    let tx = svc.store.begin().await;
    let Some(mut rec) = tx.get::<CodelayerSession>(&s.hash.0)? else {
        return Ok(());
    };
    if rec.revoked || now - rec.last_used_unix < every {
        return Ok(());
    }
    rec.last_used_unix = now;
    // Applied while `tx` holds the lock, without waiting for a flush: losing a touch in a
    // crash only shortens the session.
    tx.store().apply(&[Op {
        tree: CodelayerSession::TREE.into(),
        key: s.hash.0.to_vec(),
        value: Some(crate::store::codec::encode(&rec)),
    }])?;
    drop(tx);
    Ok(())
}
