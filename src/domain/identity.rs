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
            ],
            Role::Supervisor => &[
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
            ],
            Role::Clerk => &[
                AttendanceSelf,
                TasksView,
                TasksEdit,
                OrgView,
                MusterView,
                MusterPost,
                ReportsView,
            ],
            Role::GateGuard => &[AttendanceSelf, GatepassView, GatepassEdit, TasksView],
            Role::Labourer => &[AttendanceSelf, TasksView],
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
}

pub const ALL_PERMISSIONS: [Permission; 15] = {
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
    fn usernames_are_case_insensitive_keys() {
        assert_eq!(
            User::username_key(" Support@Superfy.com "),
            b"support@superfy.com".to_vec()
        );
    }
}
