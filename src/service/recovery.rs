//! Passwords a user changes: Change Password (knowing the old one), and Forgot / Reset Password
//! through a one-use, short-lived code delivered by the outbox and never by the API.

use crate::domain::credentials::ct_eq;
use crate::domain::identity::{ResetCode, TokenRecord, User};
use crate::domain::ids::{TokenHash, UserId};
use crate::i18n::{self, Lang};
use crate::store::tables::identity::TOKENS_BY_USER;
use crate::store::{Op, Record, Tx};

use super::identity::{self as ident, SignInFailure};
use super::lockout::{self, Subject};
use super::{outbox, Result, ServiceError, Services};

/// Digits in a reset code.
pub const CODE_LEN: usize = 6;
/// A new code is not issued more often than this per user (floods of Forgot Password).
const REISSUE_SECS: i64 = 60;

/// A reset code as stored: HMAC under the box's secret, bound to the user. Unsalted SHA-256 of
/// six digits is undone by trying all million of them.
fn code_hash(svc: &Services, user: UserId, code: &str) -> TokenHash {
    TokenHash(svc.secrets.mac(
        b"reset-code",
        &[user.key().as_slice(), code.trim().as_bytes()].concat(),
    ))
}

/// The user-token at the root of a token's chain.
fn chain_root(tx: &Tx, mut hash: TokenHash) -> Result<TokenHash> {
    for _ in 0..8 {
        match tx.get::<TokenRecord>(&hash.0)?.and_then(|t| t.parent) {
            Some(p) => hash = p,
            None => break,
        }
    }
    Ok(hash)
}

/// Checks the old password for Change Password, under the same lockout as a sign-in.
pub fn check_old_password(
    svc: &Services,
    user: &User,
    old: &str,
) -> std::result::Result<(), SignInFailure> {
    let subjects = [Subject::user(&user.username)];
    lockout::check(svc, &subjects)?;
    if user.password.verify(old) {
        return Ok(());
    }
    let delay = lockout::failed(svc, &subjects)?;
    Err(SignInFailure {
        error: ServiceError::invalid("old_password", "password.wrong", vec![]),
        delay,
    })
}

/// Change Password: new password, every other session (every family) revoked; the caller's own
/// Daily Activity chain, rooted at `keep`, stays signed in.
/// The hash of a new password (`new_password` is the field a policy failure names), computed
/// before the writer lock is taken.
pub async fn hash_new_password(
    svc: &Services,
    new_password: &str,
) -> Result<crate::domain::credentials::PasswordHash> {
    ident::new_password_hash(svc, new_password)
        .await
        .map_err(|e| rename_field(e, "new_password"))
}

pub fn change_password(
    svc: &Services,
    tx: &mut Tx,
    user: UserId,
    new_password: crate::domain::credentials::PasswordHash,
    keep: TokenHash,
) -> Result<usize> {
    // set_password revokes everything; the caller's own chain is then restored below, which
    // keeps one rule ("a new password ends the old sessions") in one place.
    let before: Vec<(Vec<u8>, TokenRecord)> = tx
        .store()
        .index_keys(TOKENS_BY_USER, &user.key())?
        .into_iter()
        .filter_map(|h| tx.get::<TokenRecord>(&h).ok().flatten().map(|t| (h, t)))
        .collect();
    ident::set_password_hash(svc, tx, user, new_password)?;
    let mut revoked = 0;
    for (h, t) in before {
        let Ok(arr) = <[u8; 32]>::try_from(h.as_slice()) else {
            continue;
        };
        if chain_root(tx, TokenHash(arr))? == keep {
            tx.put(&h, &t);
        } else if !t.revoked {
            revoked += 1;
        }
    }
    Ok(revoked)
}

fn rename_field(e: ServiceError, to: &str) -> ServiceError {
    match e {
        ServiceError::Invalid(mut fields) => {
            for f in &mut fields {
                if f.field == "password" {
                    f.field = to.to_string();
                    if let Some(a) = f.args.iter_mut().find(|(k, _)| *k == "field") {
                        a.1 = to.to_string();
                    }
                }
            }
            ServiceError::Invalid(fields)
        }
        e => e,
    }
}

/// Forgot Password: issues a code and queues it in the outbox. Answers the same whether or not
/// the user exists; returns the outbox message id when one was queued.
pub fn forgot(svc: &Services, tx: &mut Tx, username: &str, lang: Lang) -> Result<Option<u64>> {
    // Per user name, existing or not (the answer must not tell which): each call may send a
    // WhatsApp message, so a flood is refused before it costs one.
    super::throttle::admit(
        &format!("forgot:{}", username.trim().to_lowercase()),
        svc.config.security.forgot_password_per_hour,
        3600,
        svc.now_unix(),
    )
    .map_err(|retry| ServiceError::Throttled {
        key: "throttle.forgot_password",
        retry_after_secs: retry,
    })?;
    let Some(user) = ident::user_by_username(tx.store(), username)?.filter(|u| u.active) else {
        return Ok(None);
    };
    let now = svc.now_unix();
    if let Some(prev) = tx.get::<ResetCode>(&user.id.key())? {
        if prev.usable_at(now) && now - prev.issued_unix < REISSUE_SECS {
            return Ok(None);
        }
    }
    let code = svc.secrets.digits(CODE_LEN);
    let ttl = svc.config.auth.reset_code_ttl_minutes * 60;
    let rec = ResetCode {
        user: user.id,
        code_hash: code_hash(svc, user.id, code.expose()),
        issued_unix: now,
        expires_unix: now + ttl,
        used: false,
        failed_attempts: 0,
    };
    tx.put(&user.id.key(), &rec);
    let text = i18n::t(
        lang,
        "reset.message",
        &[
            ("site", svc.config.site.name.clone()),
            ("code", code.expose().to_string()),
            (
                "minutes",
                svc.config.auth.reset_code_ttl_minutes.to_string(),
            ),
            ("username", user.username.clone()),
        ],
    );
    let msg = outbox::enqueue(
        svc,
        tx,
        outbox::NewMessage {
            user: Some(user.id),
            to_phone: &user.phone,
            text: &text,
            purpose: "password_reset",
            expires_unix: Some(rec.expires_unix),
        },
    )?;
    tracing::info!(user = %user.username, outbox_id = msg.id, "password reset code queued");
    Ok(Some(msg.id))
}

/// Reset Password: a valid code sets the new password (ending every session) and lifts any
/// lockout. A wrong code counts against the code (few tries) and is refused.
pub fn reset(
    svc: &Services,
    tx: &mut Tx,
    username: &str,
    code: &str,
    new_password: crate::domain::credentials::PasswordHash,
) -> Result<User> {
    let invalid = ServiceError::invalid("code", "reset.code.invalid", vec![]);
    let user = ident::user_by_username(tx.store(), username)?
        .filter(|u| u.active)
        .ok_or(invalid.clone())?;
    let mut rec = tx
        .get::<ResetCode>(&user.id.key())?
        .ok_or(invalid.clone())?;
    let now = svc.now_unix();
    if !rec.usable_at(now) {
        return Err(invalid);
    }
    let given = code_hash(svc, user.id, code);
    if !ct_eq(&given.0, &rec.code_hash.0) {
        // Counted outside the Tx: the failed request writes nothing else.
        rec.failed_attempts += 1;
        svc.store.apply(&[Op {
            tree: ResetCode::TREE.into(),
            key: user.id.key().to_vec(),
            value: Some(crate::store::codec::encode(&rec)),
        }])?;
        return Err(invalid);
    }
    let user = ident::set_password_hash(svc, tx, user.id, new_password)?;
    rec.used = true;
    tx.put(&user.id.key(), &rec);
    lockout::unlock(tx, &Subject::user(&user.username))?;
    tracing::info!(user = %user.username, "password reset with a code; sessions revoked");
    Ok(user)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[tokio::test]
    async fn reset_codes_are_stored_keyed_with_the_server_secret() {
        let dir = tempfile::tempdir().unwrap();
        let (store, svc) = Services::for_tests(dir.path());
        let mut tx = store.begin().await;
        let user = ident::add_user(
            &svc,
            &mut tx,
            ident::NewUser {
                username: "siti",
                password: "siti-pass-1",
                role: crate::domain::identity::Role::Clerk,
                name: "Siti",
                phone: "",
                email: "",
            },
        )
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await;
        forgot(&svc, &mut tx, "siti", Lang::En).unwrap().unwrap();
        tx.commit().await.unwrap();
        let (_, text) = outbox::list(&svc, 10).unwrap().remove(0);
        let code: String = text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == CODE_LEN)
            .expect("a code in the message")
            .to_string();
        let rec = store.get::<ResetCode>(&user.id.key()).unwrap().unwrap();
        assert_ne!(
            rec.code_hash.0,
            TokenHash::of(code.as_bytes()).0,
            "bare SHA-256 of the code"
        );
        assert_eq!(rec.code_hash.0, code_hash(&svc, user.id, &code).0);
        // The code still works, once.
        let mut tx = store.begin().await;
        let hash = hash_new_password(&svc, "siti-pass-2").await.unwrap();
        reset(&svc, &mut tx, "siti", &code, hash).unwrap();
        tx.commit().await.unwrap();
    }
}
