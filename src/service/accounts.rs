//! Staff turnover at the gate: disabling and enabling an account. A disabled user cannot sign
//! in, and every session it holds ends at once in every family: Daily Activity tokens,
//! Codelayer session keys, Authorize API tokens. Enabling lets it sign in again (old sessions
//! stay ended).

use crate::domain::identity::User;
use crate::store::Tx;

use super::{codelayer_session, device_logins, identity as ident, lockout};
use super::{Result, ServiceError};

/// What disabling ended.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Ended {
    pub daily_activity_tokens: usize,
    pub codelayer_sessions: usize,
    pub authorize_tokens: usize,
}

fn load(tx: &Tx, username: &str) -> Result<User> {
    ident::user_by_username(tx.store(), username)?.ok_or(ServiceError::NotFound {
        key: "user.unknown",
    })
}

/// Sets whether `username` may sign in. Disabling ends every session; enabling also lifts
/// every lockout that would still refuse it. Returns the user and what was ended.
pub fn set_active(tx: &mut Tx, username: &str, active: bool) -> Result<(User, Ended)> {
    let mut user = load(tx, username)?;
    let mut ended = Ended::default();
    if user.active != active {
        user.active = active;
        tx.put(&user.id.key(), &user);
    }
    if active {
        lockout::unlock_user_everywhere(tx, &user.username)?;
    } else {
        // Even if it was disabled already: a session must never outlive a disabled account.
        ended.daily_activity_tokens = ident::revoke_user_tokens(tx, user.id)?;
        ended.codelayer_sessions = codelayer_session::revoke_for_user(tx, user.id)?;
        ended.authorize_tokens = device_logins::revoke_for_user(tx, user.id)?;
    }
    Ok((user, ended))
}
