//! Users, roles, client systems and bearer tokens.

use serde::{Deserialize, Serialize};

use super::credentials::PasswordHash;
use super::ids::{AppKey, TokenHash, UserId};

/// The roles an estate needs. Each role grants a fixed set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    /// Field supervisor (kangani).
    Supervisor,
    Clerk,
    GateGuard,
    Labourer,
}

pub const ALL_ROLES: [Role; 6] = [
    Role::Admin,
    Role::Manager,
    Role::Supervisor,
    Role::Clerk,
    Role::GateGuard,
    Role::Labourer,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Supervisor => "supervisor",
            Role::Clerk => "clerk",
            Role::GateGuard => "gate_guard",
            Role::Labourer => "labourer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match s.as_str() {
            "admin" => Role::Admin,
            "manager" => Role::Manager,
            "supervisor" | "kangani" => Role::Supervisor,
            "clerk" => Role::Clerk,
            "gate_guard" | "guard" => Role::GateGuard,
            "labourer" | "laborer" | "labour" => Role::Labourer,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Manager => "Estate manager",
            Role::Supervisor => "Supervisor (kangani)",
            Role::Clerk => "Field clerk",
            Role::GateGuard => "Gate guard",
            Role::Labourer => "Labourer",
        }
    }

    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &ALL_PERMISSIONS,
            Role::Manager => &[
                Account,
                AttendanceSelf,
                AttendanceView,
                TasksView,
                TasksEdit,
                OrgView,
                OrgEdit,
                UsersView,
                GatepassView,
                ReportsView,
                TicketsEdit,
                ProjectsView,
                MusterView,
                HrView,
                DailyClosing,
            ],
            Role::Supervisor => &[
                Account,
                AttendanceSelf,
                AttendanceView,
                TasksView,
                TasksEdit,
                OrgView,
                MusterView,
                MusterPost,
                TicketsEdit,
                ProjectsView,
                ReportsView,
                FacesEdit,
            ],
            Role::Clerk => &[
                Account,
                AttendanceSelf,
                TasksView,
                TasksEdit,
                OrgView,
                MusterView,
                MusterPost,
                ReportsView,
                FacesEdit,
            ],
            Role::GateGuard => &[
                Account,
                AttendanceSelf,
                GatepassView,
                GatepassEdit,
                TasksView,
            ],
            Role::Labourer => &[Account, AttendanceSelf, TasksView],
        }
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    AttendanceSelf,
    AttendanceView,
    TasksView,
    TasksEdit,
    OrgView,
    OrgEdit,
    UsersView,
    UsersEdit,
    GatepassView,
    GatepassEdit,
    MusterView,
    MusterPost,
    ReportsView,
    TicketsEdit,
    ProjectsView,
    /// The signed-in user's own account: profile, password, tokens, the role table.
    Account,
    /// HR details of other people: payroll, PAN, TDS, attendance rolls, transfers.
    HrView,
    /// Replace a labourer's face images.
    FacesEdit,
    /// Close the gatehouse's day (front office daily closing).
    DailyClosing,
}

pub const ALL_PERMISSIONS: [Permission; 19] = {
    use Permission::*;
    [
        AttendanceSelf,
        AttendanceView,
        TasksView,
        TasksEdit,
        OrgView,
        OrgEdit,
        UsersView,
        UsersEdit,
        GatepassView,
        GatepassEdit,
        MusterView,
        MusterPost,
        ReportsView,
        TicketsEdit,
        ProjectsView,
        Account,
        HrView,
        FacesEdit,
        DailyClosing,
    ]
};

impl Permission {
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Unique, compared case-insensitively (stored lower-case in the username index).
    pub username: String,
    pub name: String,
    pub role: Role,
    pub password: PasswordHash,
    pub active: bool,
    pub phone: String,
    pub email: String,
    /// Employee code when the user is also on the HR roll.
    pub employee_code: Option<String>,
    pub created_unix: i64,
    pub password_changed_unix: i64,
}

impl User {
    pub fn username_key(username: &str) -> Vec<u8> {
        username.trim().to_lowercase().into_bytes()
    }

    /// (first, last) name for the Authorize API profile.
    pub fn split_name(&self) -> (String, String) {
        let mut it = self.name.splitn(2, ' ');
        (
            it.next().unwrap_or("").to_string(),
            it.next().unwrap_or("").to_string(),
        )
    }
}

/// A Daily Activity client system. The private key is kept sealed (AEAD under the box's master
/// key, which lives outside the database) because HMAC verification needs the key itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientApp {
    pub app_key: AppKey,
    pub name: String,
    pub sealed_private_key: Vec<u8>,
    pub revoked: bool,
    pub created_unix: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    /// Daily Activity: proves the client system (from Verify).
    Client,
    /// Daily Activity: a user's session (x-user-token, from Login).
    User,
    /// Daily Activity: from Refresh Token, bearer of Access Token requests.
    Refresh,
    /// Daily Activity: bearer of every other user operation.
    Access,
}

/// A bearer token as stored: only its hash is the key; the token itself is never kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub kind: TokenKind,
    pub app_key: AppKey,
    pub user: Option<UserId>,
    /// The token this one was derived from (access → refresh → user).
    pub parent: Option<TokenHash>,
    pub device_id: Option<String>,
    pub issued_unix: i64,
    pub expires_unix: i64,
    pub revoked: bool,
}

impl TokenRecord {
    pub fn usable_at(&self, now_unix: i64) -> bool {
        !self.revoked && now_unix < self.expires_unix
    }
}

/// A password reset code: only its hash is kept; one use, short-lived, few attempts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetCode {
    pub user: UserId,
    pub code_hash: TokenHash,
    pub issued_unix: i64,
    pub expires_unix: i64,
    pub used: bool,
    pub failed_attempts: u32,
}

impl ResetCode {
    /// Wrong codes allowed before the code is void (a 6-digit code must not be guessable).
    pub const MAX_ATTEMPTS: u32 = 5;

    pub fn usable_at(&self, now_unix: i64) -> bool {
        !self.used && now_unix < self.expires_unix && self.failed_attempts < Self::MAX_ATTEMPTS
    }
}

/// How an outbox message reaches its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// Read out by gatehouse staff from the console (no phone number, or no gateway).
    Console,
    /// WhatsApp through the configured wablas gateway.
    Wablas,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// A wablas tracking status (`sent | read | cancel | received | reject | pending`).
    pub fn from_wablas(s: &str) -> Option<DeliveryStatus> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "pending" => DeliveryStatus::Pending,
            "sent" => DeliveryStatus::Sent,
            "received" | "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "cancel" | "reject" | "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }
}

/// A message waiting for (or past) delivery. The text may hold a reset code, so it is sealed
/// under the master key; the console opens it for the staff.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: u64,
    pub user: Option<UserId>,
    pub channel: Channel,
    /// Phone number (wablas) or empty (console).
    pub to: String,
    pub sealed_text: Vec<u8>,
    pub purpose: String,
    pub created_unix: i64,
    pub expires_unix: Option<i64>,
    pub status: DeliveryStatus,
    /// The gateway's message id, to match its delivery-status callbacks.
    pub gateway_id: Option<String>,
    pub updated_unix: i64,
}

/// What the wablas gateway posted to the Callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WablasKind {
    /// An incoming (or echoed outgoing) WhatsApp message.
    Message,
    /// A delivery-status ("webhook tracking") post about a message we sent.
    Status,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WablasEvent {
    pub id: String,
    pub kind: WablasKind,
    pub phone: String,
    pub message: String,
    pub message_type: String,
    pub device_id: String,
    pub sender: String,
    pub is_from_me: bool,
    /// As sent (ISO 8601 from wablas).
    pub timestamp: String,
    pub status: String,
    pub received_unix: i64,
}

impl WablasEvent {
    /// Store key: a message once per `id`; a status once per (`id`, `status`), since the
    /// gateway reports sent → received → read for one message id.
    pub fn key(&self) -> Vec<u8> {
        match self.kind {
            WablasKind::Message => format!("m\0{}", self.id).into_bytes(),
            WablasKind::Status => format!("s\0{}\0{}", self.id, self.status).into_bytes(),
        }
    }
}

/// Y/N flags as the Authorize API writes them.
pub fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// An Authorize API sign-in on one device (keyed by the token's hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceLogin {
    pub user: UserId,
    pub device_id: String,
    pub notification_center_type: String,
    pub notif_token: String,
    pub build_version: String,
    pub timezone_offset: Option<i32>,
    pub timezone_name: String,
    pub device_type: String,
    pub app_version: String,
    pub os_version: String,
    pub hierarchy_login: bool,
    pub issued_unix: i64,
    pub last_activity_unix: i64,
    pub revoked: bool,
}

impl DeviceLogin {
    /// Expires after `idle_secs` without activity (checktoken does not count as activity).
    pub fn live_at(&self, now_unix: i64, idle_secs: i64) -> bool {
        !self.revoked && now_unix - self.last_activity_unix <= idle_secs
    }
}

/// The current Authorize token of a (user, device): keyed by user id (BE) ‖ 0 ‖ deviceID.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceSlot {
    pub token_hash: TokenHash,
}

impl DeviceSlot {
    pub fn key(user: UserId, device_id: &str) -> Vec<u8> {
        let mut k = user.key().to_vec();
        k.push(0);
        k.extend_from_slice(device_id.as_bytes());
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_admin_has_everything() {
        for r in ALL_ROLES {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Kangani"), Some(Role::Supervisor));
        assert!(ALL_PERMISSIONS.iter().all(|p| Role::Admin.can(*p)));
        assert!(!Role::Labourer.can(Permission::GatepassEdit));
        assert!(Role::GateGuard.can(Permission::GatepassEdit));
    }

    #[test]
    fn reset_codes_are_one_use_short_lived_and_few_tries() {
        let mut c = ResetCode {
            user: UserId(1),
            code_hash: TokenHash::of(b"123456"),
            issued_unix: 0,
            expires_unix: 900,
            used: false,
            failed_attempts: 0,
        };
        assert!(c.usable_at(899));
        assert!(!c.usable_at(900));
        c.failed_attempts = ResetCode::MAX_ATTEMPTS;
        assert!(!c.usable_at(10));
        c.failed_attempts = 0;
        c.used = true;
        assert!(!c.usable_at(10));
    }

    #[test]
    fn wablas_statuses_map_and_events_key_per_status() {
        assert_eq!(
            DeliveryStatus::from_wablas("READ"),
            Some(DeliveryStatus::Read)
        );
        assert_eq!(
            DeliveryStatus::from_wablas("reject"),
            Some(DeliveryStatus::Failed)
        );
        assert_eq!(DeliveryStatus::from_wablas("nope"), None);
        let mut e = WablasEvent {
            id: "abc".into(),
            kind: WablasKind::Status,
            phone: String::new(),
            message: String::new(),
            message_type: String::new(),
            device_id: String::new(),
            sender: String::new(),
            is_from_me: false,
            timestamp: String::new(),
            status: "sent".into(),
            received_unix: 0,
        };
        let sent = e.key();
        e.status = "read".into();
        assert_ne!(sent, e.key());
        e.kind = WablasKind::Message;
        assert_eq!(e.key(), b"m\0abc".to_vec());
    }

    #[test]
    fn usernames_are_case_insensitive_keys() {
        assert_eq!(
            User::username_key(" Support@Superfy.com "),
            b"support@superfy.com".to_vec()
        );
    }
}
