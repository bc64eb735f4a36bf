//! Who may do what: the one place every family asks. Each operation declares the permission it
//! needs where its route is declared; the family's authentication step calls `check` before it
//! validates a field or looks a record up, so a refused call writes nothing. The permissions come
//! from the role table (`Role::permissions`), which Get Role List and Permission also serve.

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;

use super::{Result, ServiceError, Services};

fn forbidden() -> ServiceError {
    ServiceError::Forbidden {
        key: "auth.forbidden",
    }
}

/// Refuses (403) an inactive user or one whose role lacks `p`.
pub fn check(user: &User, p: Permission) -> Result<()> {
    if user.active && user.role.can(p) {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// `check` for a user known by id (Codelayer sessions carry only the id).
pub fn check_id(svc: &Services, user: UserId, p: Permission) -> Result<User> {
    match super::identity::user(&svc.store, user)? {
        Some(u) => {
            check(&u, p)?;
            Ok(u)
        }
        None => Err(forbidden()),
    }
}

/// The sentence the OpenAPI document gives an operation's permission.
pub fn describe(p: Option<Permission>) -> String {
    match p {
        Some(p) => {
            let roles: Vec<&str> = crate::domain::identity::ALL_ROLES
                .iter()
                .filter(|r| r.can(p))
                .map(|r| r.as_str())
                .collect();
            format!(
                "Permission: `{}` (roles: {}); any other role is refused with 403 before the \
                 request is validated.",
                p.as_str(),
                roles.join(", ")
            )
        }
        None => "Permission: none (no signed-in user).".to_string(),
    }
}
