//! Authorize API sign-ins: one token per (user, device), 32 hex digits, kept only as a hash.
//! Authorizing again on a device replaces that device's token and no other; the notification
//! registration (center type, push token, build) is stored with it.

use std::sync::Arc;

use base64::Engine as _;

use crate::domain::identity::{DeviceLogin, DeviceSlot, User};
use crate::domain::ids::{Secret, TokenHash, UserId};
use crate::store::{Op, Record, Tx};

use super::identity::{self as ident, SignInFailure};
use super::lockout::Subject;
use super::{Result, ServiceError, Services};

/// Associated data of Encrypt's output, so it opens nowhere else.
const ENCRYPT_CONTEXT: &[u8] = b"gatehouse-encrypt-v1";

/// Daily Activity `Encrypt`: AES-256-GCM under the box's master key, base64url. What it returns
/// for a password is what `hierarchylogin: true` accepts.
pub fn encrypt(svc: &Services, plain: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(svc.secrets.seal(plain.as_bytes(), ENCRYPT_CONTEXT))
}

pub fn decrypt(svc: &Services, sealed: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sealed.trim())
        .ok()?;
    String::from_utf8(svc.secrets.open(&bytes, ENCRYPT_CONTEXT)?).ok()
}

pub struct Authorize<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub hierarchy_login: bool,
    pub device_id: &'a str,
    pub notification_center_type: &'a str,
    pub notif_token: &'a str,
    pub build_version: &'a str,
    pub timezone_offset: Option<i32>,
    pub timezone_name: &'a str,
    pub device_type: &'a str,
    pub app_version: &'a str,
    pub os_version: &'a str,
}

pub struct Authorized {
    pub token: Secret,
    pub login: DeviceLogin,
    pub user: User,
}

/// `users/authorize`: lockout, credentials (or an Encrypt output), then this device's token.
pub async fn authorize(svc: &Arc<Services>, a: Authorize<'_>) -> Result<Authorized> {
    let plain;
    let password = if a.hierarchy_login {
        match decrypt(svc, a.password) {
            Some(p) => {
                plain = p;
                plain.as_str()
            }
            // Not an Encrypt output: it can only fail, and still counts as a failure.
            None => "\u{0}not-an-encrypt-output",
        }
    } else {
        a.password
    };
    let user = match ident::sign_in_blocking(
        svc,
        a.username,
        password,
        &[Subject::device("authorize", a.device_id)],
    )
    .await
    {
        Ok(u) => u,
        Err(SignInFailure { error, delay }) => {
            tokio::time::sleep(delay).await;
            return Err(error);
        }
    };
    let mut tx = svc.store.begin().await;
    let token = svc.secrets.hex_token(16);
    let now = svc.now_unix();
    let login = DeviceLogin {
        user: user.id,
        device_id: a.device_id.to_string(),
        notification_center_type: a.notification_center_type.to_string(),
        notif_token: a.notif_token.to_string(),
        build_version: a.build_version.to_string(),
        timezone_offset: a.timezone_offset,
        timezone_name: a.timezone_name.to_string(),
        device_type: a.device_type.to_string(),
        app_version: a.app_version.to_string(),
        os_version: a.os_version.to_string(),
        hierarchy_login: a.hierarchy_login,
        issued_unix: now,
        last_activity_unix: now,
        revoked: false,
    };
    let slot_key = DeviceSlot::key(user.id, a.device_id);
    if let Some(old) = tx.get::<DeviceSlot>(&slot_key)? {
        tx.delete::<DeviceLogin>(&old.token_hash.0);
    }
    let hash = token.hash();
    tx.put(&hash.0, &login);
    tx.put(&slot_key, &DeviceSlot { token_hash: hash });
    tx.commit().await?;
    tracing::info!(user = %user.username, device = a.device_id, "authorize: device signed in");
    Ok(Authorized { token, login, user })
}

/// The sign-in behind `deviceID` + `token`. Reads only; `touch` records the activity once the
/// caller's permission has been checked.
pub async fn resolve(
    svc: &Services,
    device_id: &str,
    token: &str,
    _touch: bool,
) -> Result<(DeviceLogin, User)> {
    let invalid = ServiceError::Unauthorized {
        key: "authorize.token.invalid",
    };
    let token = token.trim();
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid);
    }
    let hash = TokenHash::of(token.as_bytes());
    let login = svc
        .store
        .get::<DeviceLogin>(&hash.0)?
        .ok_or(invalid.clone())?;
    let now = svc.now_unix();
    let idle = svc.config.auth.authorize_token_idle_hours * 3600;
    if !login.live_at(now, idle) || login.device_id != device_id.trim() {
        return Err(invalid);
    }
    let user = ident::user(&svc.store, login.user)?
        .filter(|u| u.active)
        .ok_or(invalid)?;
    Ok((login, user))
}

/// Extends the token's idle expiry (every operation but checktoken, which the seed says must
/// not). Read again and written under the writer lock, so a revoke or a re-authorize committed
/// meanwhile is never written back over.
pub async fn touch(svc: &Services, token: &str) -> Result<()> {
    let hash = TokenHash::of(token.trim().as_bytes());
    let now = svc.now_unix();
    match svc.store.get::<DeviceLogin>(&hash.0)? {
        Some(l) if !l.revoked && now - l.last_activity_unix >= 1 => {}
        _ => return Ok(()),
    }
    let tx = svc.store.begin().await;
    let Some(mut login) = tx.get::<DeviceLogin>(&hash.0)? else {
        return Ok(());
    };
    if login.revoked || now - login.last_activity_unix < 1 {
        return Ok(());
    }
    login.last_activity_unix = now;
    // Applied while `tx` holds the lock, without waiting for a flush: losing a touch in a
    // crash only shortens the session.
    tx.store().apply(&[Op {
        tree: DeviceLogin::TREE.into(),
        key: hash.0.to_vec(),
        value: Some(crate::store::codec::encode(&login)),
    }])?;
    drop(tx);
    Ok(())
}

/// Ends every Authorize sign-in of a user (password changed or reset).
pub fn revoke_for_user(tx: &mut Tx, user: UserId) -> Result<usize> {
    let mut prefix = user.key().to_vec();
    prefix.push(0);
    let mut n = 0;
    for (_, slot) in tx.store().scan::<DeviceSlot>(&prefix)? {
        if let Some(mut l) = tx.get::<DeviceLogin>(&slot.token_hash.0)? {
            if !l.revoked {
                l.revoked = true;
                tx.put(&slot.token_hash.0, &l);
                n += 1;
            }
        }
    }
    Ok(n)
}

/// A user's signed-in devices (admin / console).
pub fn devices_of(svc: &Services, user: UserId) -> Result<Vec<DeviceLogin>> {
    let mut prefix = user.key().to_vec();
    prefix.push(0);
    let mut out = Vec::new();
    for (_, slot) in svc.store.scan::<DeviceSlot>(&prefix)? {
        if let Some(l) = svc.store.get::<DeviceLogin>(&slot.token_hash.0)? {
            out.push(l);
        }
    }
    Ok(out)
}
