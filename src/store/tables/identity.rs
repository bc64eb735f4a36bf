//! Identity trees: users (+ username index), client systems, tokens (+ per-user index), counters,
//! handheld licences and Codelayer sessions (+ per-IMEI index), login failures.

use serde::{Deserialize, Serialize};

use super::TableInfo;
use crate::domain::credentials::LoginFailures;
use crate::domain::devices::{AppDevice, CodelayerSession, Device};
use crate::domain::identity::{
    ClientApp, DeviceLogin, DeviceSlot, OutboxMessage, ResetCode, TokenRecord, User, WablasEvent,
};
use crate::store::Record;

impl Record for User {
    const TREE: &'static str = "users";
}
impl Record for ClientApp {
    const TREE: &'static str = "clients";
}
impl Record for TokenRecord {
    const TREE: &'static str = "tokens";
}
impl Record for CodelayerSession {
    const TREE: &'static str = "codelayer_sessions";
}
/// Keyed by IMEI.
impl Record for Device {
    const TREE: &'static str = "devices";
}
/// Keyed by subject (`user:<username>`, `imei:<imei>`, `device:<id>`, `client:<app key>`).
impl Record for LoginFailures {
    const TREE: &'static str = "login_failures";
}

/// Keyed by app key ‖ 0 ‖ device id.
impl Record for AppDevice {
    const TREE: &'static str = "app_devices";
}
/// Keyed by user id (BE): one live reset code per user.
impl Record for ResetCode {
    const TREE: &'static str = "reset_codes";
}
/// Keyed by id (BE).
impl Record for OutboxMessage {
    const TREE: &'static str = "outbox";
}
/// Keyed by `WablasEvent::key()`.
impl Record for WablasEvent {
    const TREE: &'static str = "wablas_events";
}
/// Authorize API sign-ins, keyed by token hash.
impl Record for DeviceLogin {
    const TREE: &'static str = "device_logins";
}
/// Keyed by `DeviceSlot::key(user, deviceID)`.
impl Record for DeviceSlot {
    const TREE: &'static str = "device_slots";
}

/// username key ‖ 0 ‖ user id (BE).
pub const USERS_BY_NAME: &str = "users_by_name";
/// user id (BE) ‖ token hash.
pub const TOKENS_BY_USER: &str = "tokens_by_user";
/// expiry (`time_key`) ‖ token hash: the expiry sweep reads only the tokens past their expiry
/// (the head of the tree), not every token issued (schema 5 built it for older tokens).
pub const TOKENS_BY_EXPIRY: &str = "tokens_by_expiry";
/// IMEI ‖ 0 ‖ session key hash.
pub const SESSIONS_BY_IMEI: &str = "codelayer_sessions_by_imei";

/// last seen (i64 BE, sign bit flipped so it sorts) ‖ IMEI: the handhelds seen lately (the
/// dashboard's "online" figure reads only the recent end).
pub const DEVICES_BY_SEEN: &str = "devices_by_seen";

/// locked until (`time_key`) ‖ lockout subject: the lockouts still running are the end of the
/// tree after now (service::lockout::locked).
pub const LOCKED_UNTIL: &str = "lockout_locked_until";

/// user id (BE) ‖ session key hash: a user's Codelayer sessions (revoked together on a
/// password change or when the account is disabled).
pub const SESSIONS_BY_USER: &str = "codelayer_sessions_by_user";

/// wablas message id ‖ 0 ‖ outbox id (BE): a delivery-status callback finds its message.
pub const OUTBOX_BY_GATEWAY: &str = "outbox_by_gateway";
/// !received time (`time_key`, every bit inverted) ‖ event key: gateway callbacks newest first
/// (equal times in key order), so the admin list reads a page and the expiry sweep reads only
/// the callbacks past their retention (the index's tail).
pub const WABLAS_BY_TIME: &str = "wablas_events_by_time";

/// The key of a received time in `WABLAS_BY_TIME` (later times sort first).
pub fn wablas_time(received_unix: i64) -> [u8; 8] {
    (!((received_unix as u64) ^ (1 << 63))).to_be_bytes()
}

/// A callback's entry in `WABLAS_BY_TIME`.
pub fn wablas_time_key(e: &WablasEvent) -> Vec<u8> {
    [wablas_time(e.received_unix).as_slice(), &e.key()].concat()
}

/// Counter (store::counters) of the licence records in one status.
pub fn count_device_status(s: crate::domain::devices::DeviceStatus) -> String {
    format!("devices.status.{}", s.as_str())
}
/// Counter of user accounts.
pub const COUNT_USERS: &str = "identity.users";
/// Counter of client systems (app keys).
pub const COUNT_CLIENTS: &str = "identity.clients";

/// A device's key in `DEVICES_BY_SEEN` (None: never seen).
pub fn seen_key(d: &Device) -> Option<Vec<u8>> {
    d.last_seen_unix
        .map(|t| [time_key(t).as_slice(), d.imei.as_bytes()].concat())
}

/// A unix time as 8 bytes that sort in time order (negative times included).
pub fn time_key(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// Named monotonic counters (ids).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Counter(pub u64);
impl Record for Counter {
    const TREE: &'static str = "counters";
}

/// user subject ‖ 0 ‖ device subject: the devices a user's failed sign-ins came from
/// (`service::lockout`).
pub const LOCKOUT_DEVICES_BY_USER: &str = "lockout_devices_by_user";

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(User),
        crate::table!(ClientApp),
        crate::table!(TokenRecord),
        crate::table!(Counter),
        crate::table!(CodelayerSession),
        crate::table!(Device),
        crate::table!(LoginFailures),
        crate::table!(AppDevice),
        crate::table!(ResetCode),
        crate::table!(OutboxMessage),
        crate::table!(WablasEvent),
        crate::table!(DeviceLogin),
        crate::table!(DeviceSlot),
        crate::index_table!(USERS_BY_NAME),
        crate::index_table!(TOKENS_BY_USER),
        crate::index_table!(SESSIONS_BY_IMEI),
        crate::index_table!(LOCKOUT_DEVICES_BY_USER),
        crate::index_table!(DEVICES_BY_SEEN),
        crate::index_table!(LOCKED_UNTIL),
        crate::index_table!(OUTBOX_BY_GATEWAY),
        crate::index_table!(SESSIONS_BY_USER),
        crate::index_table!(WABLAS_BY_TIME),
        crate::index_table!(TOKENS_BY_EXPIRY),
    ]
}

/// Replicated upstream (store::outbox): user and licence decisions, without their secrets
/// (password hash, sealed licence key).
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::{render_key, Replicated};
    fn without(
        v: Result<serde_json::Value, serde_json::Error>,
        secret: &str,
    ) -> Result<serde_json::Value, crate::store::StoreError> {
        let mut v = v.map_err(|e| crate::store::StoreError::Decode(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.remove(secret);
        }
        Ok(v)
    }
    vec![
        Replicated {
            tree: User::TREE,
            kind: "user",
            key: render_key,
            body: |b| {
                without(
                    serde_json::to_value(crate::store::codec::decode::<User>(b)?),
                    "password",
                )
            },
        },
        Replicated {
            tree: Device::TREE,
            kind: "device",
            key: render_key,
            body: |b| {
                without(
                    serde_json::to_value(crate::store::codec::decode::<Device>(b)?),
                    "sealed_licence_key",
                )
            },
        },
    ]
}
