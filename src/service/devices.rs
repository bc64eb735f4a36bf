//! Codelayer handhelds: licence requests, registration, the admin's decisions, and the device
//! sign-in (`system/auth`, `estate/auth`).

use std::sync::Arc;

use crate::domain::credentials::ct_eq;
use crate::domain::devices::{AppDevice, AppVersion, Device, DeviceStatus};
use crate::domain::ids::Secret;
use crate::store::tables::identity::{count_device_status, seen_key, time_key, DEVICES_BY_SEEN};
use crate::store::{counters, Store, Tx};

use super::identity::{self as ident, SignInFailure};
use super::lockout::Subject;
use super::{codelayer_session, Result, ServiceError, Services};

/// How long an approval is valid for.
const LICENCE_DAYS: i64 = 365;

pub fn device(store: &Store, imei: &str) -> Result<Option<Device>> {
    Ok(store.get::<Device>(imei.trim().as_bytes())?)
}

/// The admin's device list: at most `limit` devices in IMEI order, after `after` (the last
/// IMEI of the previous page), so the list never reads the whole tree.
pub fn devices_page(store: &Store, after: Option<&str>, limit: usize) -> Result<Vec<Device>> {
    let start = after.map_or(Vec::new(), |a| [a.as_bytes(), &[0]].concat());
    Ok(store.page::<Device>(&start, limit)?)
}

/// Stores a device and keeps its status counters and last-seen index in step (every write of
/// a `Device` goes through here).
fn put_device(tx: &mut Tx, d: &Device) -> Result<()> {
    let old = tx.get::<Device>(d.imei.as_bytes())?;
    if old.as_ref().map(|o| o.status) != Some(d.status) {
        if let Some(o) = &old {
            counters::add(tx, &count_device_status(o.status), -1)?;
        }
        counters::add(tx, &count_device_status(d.status), 1)?;
    }
    let (was, now) = (old.as_ref().and_then(seen_key), seen_key(d));
    if was != now {
        if let Some(k) = was {
            tx.delete_raw(DEVICES_BY_SEEN, &k);
        }
        if let Some(k) = now {
            tx.index(DEVICES_BY_SEEN, &k);
        }
    }
    tx.put(d.imei.as_bytes(), d);
    Ok(())
}

/// How many licence records are in `status` (a counter).
pub fn count(store: &Store, status: DeviceStatus) -> Result<u64> {
    Ok(counters::get(store, &count_device_status(status))?)
}

/// The dashboard's device figures: counters, and the recent end of the last-seen index for
/// "online" (reads only the devices seen within `window_secs`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub total: u64,
    pub approved: u64,
    pub pending: u64,
    pub online: u64,
    pub online_window_secs: i64,
}

pub fn summary(store: &Store, now: i64, window_secs: i64) -> Result<Summary> {
    use DeviceStatus::*;
    let mut total = 0;
    for s in [Pending, Approved, Rejected, Blocked] {
        total += count(store, s)?;
    }
    let mut online = 0;
    let start = time_key(now - window_secs);
    for item in store.engine().range(DEVICES_BY_SEEN, &start, &[0xff; 9])? {
        let (k, _) = item?;
        if let Some(d) = store.get::<Device>(&k[8..])? {
            online += u64::from(d.status == Approved);
        }
    }
    Ok(Summary {
        total,
        approved: count(store, Approved)?,
        pending: count(store, Pending)?,
        online,
        online_window_secs: window_secs,
    })
}

fn new_device(now: i64, imei: &str, app_id: &str) -> Device {
    Device {
        imei: imei.to_string(),
        app_id: app_id.to_string(),
        client_id: String::new(),
        device_name: String::new(),
        mobile: String::new(),
        status: DeviceStatus::Pending,
        sealed_licence_key: None,
        requested_unix: now,
        decided_unix: None,
        valid_till_unix: None,
        last_seen_unix: None,
        app_version: String::new(),
    }
}

/// `system/license`: the device's licence; a first request from an unknown IMEI files a pending
/// one for the admin to decide.
pub fn licence_request(svc: &Services, tx: &mut Tx, imei: &str, app_id: &str) -> Result<Device> {
    let now = svc.now_unix();
    match tx.get::<Device>(imei.as_bytes())? {
        Some(mut d) => {
            let mut changed = false;
            if d.status == DeviceStatus::Pending && d.app_id != app_id {
                d.app_id = app_id.to_string();
                changed = true;
            }
            if d.last_seen_unix.is_none_or(|t| now - t >= 60) {
                d.last_seen_unix = Some(now);
                changed = true;
            }
            if changed {
                put_device(tx, &d)?;
            }
            Ok(d)
        }
        None => {
            let mut d = new_device(now, imei, app_id);
            d.last_seen_unix = Some(now);
            put_device(tx, &d)?;
            tracing::info!(imei, app_id, "licence requested");
            Ok(d)
        }
    }
}

/// A request from `peer` would file a new device record: at most
/// `security.licence_requests_per_minute` per address, and never past
/// `security.licence_pending_max` pending requests in all.
fn admit_new_device(svc: &Services, tx: &Tx, imei: &str, peer: &str) -> Result<()> {
    if tx.get::<Device>(imei.as_bytes())?.is_some() {
        return Ok(());
    }
    let sec = &svc.config.security;
    super::throttle::admit(
        &format!("licence:{peer}"),
        sec.licence_requests_per_minute,
        60,
        svc.now_unix(),
    )
    .map_err(|retry| ServiceError::Throttled {
        key: "throttle.licence",
        retry_after_secs: retry,
    })?;
    if count(tx.store(), DeviceStatus::Pending)? >= sec.licence_pending_max as u64 {
        tracing::warn!(peer, "licence request refused: too many pending");
        return Err(ServiceError::Throttled {
            key: "throttle.licence_pending_full",
            retry_after_secs: 3600,
        });
    }
    Ok(())
}

/// `system/license` from the LAN: `licence_request` behind the per-address limit and the cap on
/// pending requests, then the key, once (see `deliver_key`).
pub fn licence_request_from(
    svc: &Services,
    tx: &mut Tx,
    imei: &str,
    app_id: &str,
    peer: &str,
) -> Result<(Device, Option<Secret>)> {
    admit_new_device(svc, tx, imei, peer)?;
    let d = licence_request(svc, tx, imei, app_id)?;
    let key = deliver_key(svc, tx, &d, peer)?;
    Ok((d, key))
}

/// An approved device's licence key goes out once: to the first request after the approval
/// (or a re-issue). Anyone may claim an IMEI, so handing the key to every asker would license
/// whoever copies one; a device that lost its key gets a new one from staff (`reissue`).
pub fn deliver_key(svc: &Services, tx: &mut Tx, d: &Device, peer: &str) -> Result<Option<Secret>> {
    use crate::store::tables::security::LicenceDelivery;
    let Some(key) = licence_key(svc, d) else {
        return Ok(None);
    };
    if tx.get::<LicenceDelivery>(d.imei.as_bytes())?.is_some() {
        return Ok(None);
    }
    tx.put(
        d.imei.as_bytes(),
        &LicenceDelivery {
            delivered_unix: svc.now_unix(),
            peer: peer.to_string(),
        },
    );
    tracing::info!(imei = %d.imei, peer, "licence key delivered");
    Ok(Some(key))
}

/// When and to which address an approved device's key went (None: not yet).
pub fn key_delivery(
    store: &Store,
    imei: &str,
) -> Result<Option<crate::store::tables::security::LicenceDelivery>> {
    Ok(store.get(imei.as_bytes())?)
}

/// `system/register_device` from the LAN: behind the same limits as a licence request. An
/// approved device's recorded name, number and client stand: a different registration is
/// refused (409) instead of silently replacing them; staff change them.
pub fn register_from(
    svc: &Services,
    tx: &mut Tx,
    r: Registration<'_>,
    peer: &str,
) -> Result<Device> {
    admit_new_device(svc, tx, r.imei, peer)?;
    if let Some(d) = tx.get::<Device>(r.imei.as_bytes())? {
        let recorded = !(d.device_name.is_empty() && d.mobile.is_empty() && d.client_id.is_empty());
        let same =
            d.device_name == r.device_name && d.mobile == r.mobile && d.client_id == r.client_id;
        if d.status == DeviceStatus::Approved && recorded && !same {
            tracing::warn!(
                imei = r.imei,
                peer,
                "registration of an approved device refused"
            );
            return Err(ServiceError::Conflict {
                key: "device.registration_locked",
                args: vec![],
            });
        }
    }
    register(svc, tx, r)
}

pub struct Registration<'a> {
    pub imei: &'a str,
    pub app_id: &'a str,
    pub client_id: &'a str,
    pub device_name: &'a str,
    pub mobile: &'a str,
}

/// `system/register_device`: records the handheld's details; files a pending licence when none
/// exists. A decision already taken stands.
pub fn register(svc: &Services, tx: &mut Tx, r: Registration<'_>) -> Result<Device> {
    let now = svc.now_unix();
    let mut d = tx
        .get::<Device>(r.imei.as_bytes())?
        .unwrap_or_else(|| new_device(now, r.imei, r.app_id));
    if d.status == DeviceStatus::Pending {
        d.app_id = r.app_id.to_string();
    }
    d.client_id = r.client_id.to_string();
    d.device_name = r.device_name.to_string();
    d.mobile = r.mobile.to_string();
    d.last_seen_unix = Some(now);
    put_device(tx, &d)?;
    tracing::info!(imei = r.imei, client_id = r.client_id, "device registered");
    Ok(d)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    Block,
    /// A new licence key for an approved device, delivered once to the next request; the old
    /// key and the sessions opened with it stop working.
    Reissue,
}

/// An admin's decision (also on an IMEI not seen yet). Approving issues a fresh licence key (so a device blocked and approved
/// again does not get its old key back); rejecting or blocking kills the device's sessions.
pub fn decide(svc: &Services, tx: &mut Tx, imei: &str, decision: Decision) -> Result<Device> {
    let imei = imei.trim();
    let now = svc.now_unix();
    // A decision may come before the handheld ever asks: technicians approve a known IMEI in
    // advance, and a stolen one can be blocked before it shows up.
    let mut d = match tx.get::<Device>(imei.as_bytes())? {
        Some(d) => d,
        None => {
            tracing::info!(imei, "decision on an IMEI that has not asked yet");
            new_device(now, imei, &svc.config.codelayer.app_id)
        }
    };
    match decision {
        Decision::Reissue | Decision::Approve
            if decision == Decision::Reissue || d.status != DeviceStatus::Approved =>
        {
            if decision == Decision::Reissue && d.status != DeviceStatus::Approved {
                return Err(ServiceError::Conflict {
                    key: "device.not_approved",
                    args: vec![],
                });
            }
            tx.delete::<crate::store::tables::security::LicenceDelivery>(d.imei.as_bytes());
            let n = codelayer_session::revoke_for_imei(tx, &d.imei)?;
            if n > 0 {
                tracing::info!(imei = %d.imei, sessions = n, "device sessions revoked");
            }
            {
                let key = svc.secrets.alnum(32);
                d.sealed_licence_key = Some(
                    svc.secrets
                        .seal(key.expose().as_bytes(), licence_context(&d.imei).as_bytes()),
                );
                d.status = DeviceStatus::Approved;
                d.decided_unix = Some(now);
                d.valid_till_unix = Some(now + LICENCE_DAYS * 86_400);
            }
        }
        Decision::Approve | Decision::Reissue => {}
        Decision::Reject | Decision::Block => {
            d.status = if decision == Decision::Reject {
                DeviceStatus::Rejected
            } else {
                DeviceStatus::Blocked
            };
            d.sealed_licence_key = None;
            d.decided_unix = Some(now);
            d.valid_till_unix = None;
            let n = codelayer_session::revoke_for_imei(tx, &d.imei)?;
            if n > 0 {
                tracing::info!(imei = %d.imei, sessions = n, "device sessions revoked");
            }
        }
    }
    put_device(tx, &d)?;
    tracing::info!(imei = %d.imei, status = d.status.as_str(), "device decision");
    crate::telemetry::audit::record("licence_decision", &d.imei, d.status.as_str());
    Ok(d)
}

fn licence_context(imei: &str) -> String {
    format!("licence:{imei}")
}

/// The approved device's licence key, for `system/license`.
pub fn licence_key(svc: &Services, d: &Device) -> Option<Secret> {
    if d.status != DeviceStatus::Approved {
        return None;
    }
    let sealed = d.sealed_licence_key.as_ref()?;
    let plain = svc
        .secrets
        .open(sealed, licence_context(&d.imei).as_bytes())?;
    String::from_utf8(plain).ok().map(Secret)
}

/// The device must be approved, still valid, and `key` must be its licence key (or a session
/// key it was given).
pub fn check_licensed(svc: &Services, imei: &str, key: &str) -> Result<Device> {
    let refused = ServiceError::Forbidden {
        key: "device.not_licensed",
    };
    let d = device(&svc.store, imei)?.ok_or(refused.clone())?;
    let valid = d.valid_till_unix.is_some_and(|t| svc.now_unix() < t);
    let Some(licence) = licence_key(svc, &d).filter(|_| valid) else {
        return Err(refused);
    };
    if ct_eq(licence.expose().as_bytes(), key.as_bytes()) {
        return Ok(d);
    }
    // The POABS page calls the request's `key` the "key obtained from authentication": a
    // handheld whose session timed out re-authenticates with its old session key. Accept a
    // session key this device was given (expired or not, but not revoked).
    let hash = crate::domain::ids::TokenHash::of(key.as_bytes());
    match svc
        .store
        .get::<crate::domain::devices::CodelayerSession>(&hash.0)?
    {
        Some(s) if s.imei == d.imei && !s.revoked => Ok(d),
        _ => Err(refused),
    }
}

pub struct DeviceSignIn<'a> {
    pub licence_key: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub imei: &'a str,
    pub ver: &'a str,
}

/// `system/auth` / `estate/auth`: version, licence, lockout, credentials → a session key.
pub async fn sign_in(svc: &Arc<Services>, s: DeviceSignIn<'_>) -> Result<Secret> {
    let min = &svc.config.codelayer.min_client_version;
    match (AppVersion::parse(s.ver), AppVersion::parse(min)) {
        (Some(v), Some(m)) if v < m => {
            return Err(ServiceError::UpgradeRequired { min: min.clone() })
        }
        (None, _) => {
            return Err(ServiceError::invalid(
                "ver",
                "field.format",
                vec![("expected", "N.N.N.N".into())],
            ))
        }
        _ => {}
    }
    check_licensed(svc, s.imei, s.licence_key)?;
    let user = match ident::sign_in_blocking(
        svc,
        s.username,
        s.password,
        &[Subject::device("imei", s.imei)],
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
    let key = codelayer_session::issue(svc, &mut tx, user.id, s.imei, s.ver);
    if let Some(mut d) = tx.get::<Device>(s.imei.as_bytes())? {
        d.last_seen_unix = Some(svc.now_unix());
        d.app_version = s.ver.to_string();
        put_device(&mut tx, &d)?;
    }
    tx.commit().await?;
    tracing::info!(user = %user.username, imei = s.imei, "codelayer session opened");
    Ok(key)
}

pub struct AppRegistration<'a> {
    pub device_id: &'a str,
    pub device_name: &'a str,
    pub platform: &'a str,
    pub os_version: &'a str,
    pub app_version: &'a str,
    pub push_token: &'a str,
}

/// Daily Activity `Register Device`: records (or updates) an app installation of a client
/// system. Registering again updates it; nothing is duplicated.
pub fn register_app_device(
    svc: &Services,
    tx: &mut Tx,
    app_key: &str,
    r: AppRegistration<'_>,
) -> Result<(AppDevice, bool)> {
    let key = crate::store::key(&[app_key.as_bytes(), r.device_id.as_bytes()]);
    let now = svc.now_unix();
    let existing = tx.get::<AppDevice>(&key)?;
    let created = existing.is_none();
    let d = AppDevice {
        app_key: app_key.to_string(),
        device_id: r.device_id.to_string(),
        device_name: r.device_name.to_string(),
        platform: r.platform.to_string(),
        os_version: r.os_version.to_string(),
        app_version: r.app_version.to_string(),
        push_token: r.push_token.to_string(),
        registered_unix: existing.map_or(now, |e| e.registered_unix),
        updated_unix: now,
    };
    tx.put(&key, &d);
    Ok((d, created))
}

pub fn app_devices(store: &Store) -> Result<Vec<AppDevice>> {
    Ok(store
        .scan::<AppDevice>(b"")?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}
