//! Users, client systems and the Daily Activity token chain
//! (client → user → refresh → access, DESIGN.md §3.1).

use std::sync::Arc;

use crate::domain::credentials::{check_policy, PasswordHash, PolicyError};
use crate::domain::identity::{ClientApp, Role, TokenKind, TokenRecord, User};
use crate::domain::ids::{AppKey, Secret, TokenHash, UserId};
use crate::store::tables::identity::{
    time_key, Counter, COUNT_CLIENTS, COUNT_USERS, TOKENS_BY_EXPIRY, TOKENS_BY_USER, USERS_BY_NAME,
};
use crate::store::{self, Store, Tx};

use super::lockout::{self, Subject};
use super::{Result, ServiceError, Services};

/// Next value of a named counter (inside the writer lock, so ids never repeat).
pub fn next_id(tx: &mut Tx, name: &str) -> Result<u64> {
    let next = tx
        .get::<Counter>(name.as_bytes())?
        .map(|c| c.0)
        .unwrap_or(0)
        + 1;
    tx.put(name.as_bytes(), &Counter(next));
    Ok(next)
}

pub fn user_by_username(store: &Store, username: &str) -> Result<Option<User>> {
    let prefix = store::prefix(&[&User::username_key(username)]);
    let ids = store.index_keys(USERS_BY_NAME, &prefix)?;
    match ids.first() {
        Some(id) => Ok(store.get::<User>(id)?),
        None => Ok(None),
    }
}

pub fn user(store: &Store, id: UserId) -> Result<Option<User>> {
    Ok(store.get_hot::<User>(&id.key())?)
}

/// `user`, the cached record itself (a sign-in check on every request copies nothing).
pub fn user_shared(store: &Store, id: UserId) -> Result<Option<Arc<User>>> {
    Ok(store.get_shared::<User>(&id.key())?)
}

/// Most user accounts a box keeps: staff accounts, not the labour roll. The cap is what lets
/// the users' searches (Get Users List, Get Task User) read the tree whole.
pub const MAX_USERS: u64 = 5_000;

/// How many user accounts exist (a counter kept by `add_user`).
pub fn user_count(store: &Store) -> Result<u64> {
    Ok(store::counters::get(store, COUNT_USERS)?)
}

/// At most `limit` users in id order, after the user id `after`.
pub fn users_page(store: &Store, after: Option<UserId>, limit: usize) -> Result<Vec<User>> {
    let start = after.map_or(Vec::new(), |a| UserId(a.0.saturating_add(1)).key().to_vec());
    Ok(store.page::<User>(&start, limit)?)
}

/// Every user (at most `MAX_USERS`).
pub fn users(store: &Store) -> Result<Vec<User>> {
    Ok(store
        .scan::<User>(b"")?
        .into_iter()
        .map(|(_, u)| u)
        .collect())
}

fn policy_error(e: PolicyError) -> ServiceError {
    match e {
        PolicyError::TooShort { min } => ServiceError::invalid(
            "password",
            "password.too_short",
            vec![("min", min.to_string())],
        ),
        PolicyError::TooLong { max } => ServiceError::invalid(
            "password",
            "field.length",
            vec![("min", "1".into()), ("max", max.to_string())],
        ),
    }
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
}

pub fn add_user(svc: &Services, tx: &mut Tx, new: NewUser<'_>) -> Result<User> {
    let username = new.username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        return Err(ServiceError::invalid(
            "username",
            "field.length",
            vec![("min", "1".into()), ("max", "64".into())],
        ));
    }
    check_policy(new.password, svc.config.auth.password_min_len).map_err(policy_error)?;
    let name_key = User::username_key(username);
    let prefix = store::prefix(&[&name_key]);
    if !tx.store().index_keys(USERS_BY_NAME, &prefix)?.is_empty() {
        return Err(ServiceError::conflict(format!(
            "user {username} already exists"
        )));
    }
    if user_count(tx.store())? >= MAX_USERS {
        return Err(ServiceError::conflict(format!(
            "this box keeps at most {MAX_USERS} user accounts"
        )));
    }
    store::counters::add(tx, COUNT_USERS, 1)?;
    let now = svc.now_unix();
    let id = UserId(next_id(tx, "user")?);
    let user = User {
        id,
        username: username.to_string(),
        name: if new.name.trim().is_empty() {
            username.to_string()
        } else {
            new.name.trim().to_string()
        },
        role: new.role,
        password: PasswordHash::new(
            new.password,
            svc.secrets.salt(),
            svc.config.auth.pbkdf2_iterations,
        ),
        active: true,
        phone: new.phone.to_string(),
        email: new.email.to_string(),
        employee_code: None,
        created_unix: now,
        password_changed_unix: now,
    };
    tx.put(&id.key(), &user);
    tx.index(USERS_BY_NAME, &[prefix.as_slice(), &id.key()].concat());
    crate::telemetry::audit::record(
        "user_added",
        &user.username,
        &format!("id {} role {}", id.0, user.role.as_str()),
    );
    Ok(user)
}

/// Sets a new password and revokes every session the user holds, in every family.
pub fn set_password(svc: &Services, tx: &mut Tx, id: UserId, password: &str) -> Result<User> {
    check_policy(password, svc.config.auth.password_min_len).map_err(policy_error)?;
    let hash = PasswordHash::new(
        password,
        svc.secrets.salt(),
        svc.config.auth.pbkdf2_iterations,
    );
    set_password_hash(svc, tx, id, hash)
}

/// The hash of a new password (policy first), computed off the async workers and before any
/// writer lock is taken: PBKDF2 is the slowest thing a request does.
pub async fn new_password_hash(svc: &Services, password: &str) -> Result<PasswordHash> {
    check_policy(password, svc.config.auth.password_min_len).map_err(policy_error)?;
    let (pw, salt, iters) = (
        password.to_string(),
        svc.secrets.salt(),
        svc.config.auth.pbkdf2_iterations,
    );
    let _slot = kdf_slot().await;
    tokio::task::spawn_blocking(move || PasswordHash::new(&pw, salt, iters))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Sets an already hashed password (see `new_password_hash`) and ends every session.
pub fn set_password_hash(
    svc: &Services,
    tx: &mut Tx,
    id: UserId,
    hash: PasswordHash,
) -> Result<User> {
    let mut user = tx
        .get::<User>(&id.key())?
        .ok_or(ServiceError::NotFound { key: "not_found" })?;
    user.password = hash;
    user.password_changed_unix = svc.now_unix();
    tx.put(&id.key(), &user);
    revoke_user_tokens(tx, id)?;
    super::codelayer_session::revoke_for_user(tx, id)?;
    super::device_logins::revoke_for_user(tx, id)?;
    crate::telemetry::audit::record("password_changed", &user.username, "every session revoked");
    Ok(user)
}

pub fn revoke_user_tokens(tx: &mut Tx, id: UserId) -> Result<usize> {
    let hashes = tx.store().index_keys(TOKENS_BY_USER, &id.key())?;
    let mut n = 0;
    for h in hashes {
        if let Some(mut t) = tx.get::<TokenRecord>(&h)? {
            if !t.revoked {
                t.revoked = true;
                tx.put(&h, &t);
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Most client systems (app keys) a box keeps.
pub const MAX_CLIENTS: u64 = 200;

/// Creates a client system: returns it with its private key, shown once.
pub fn add_client(svc: &Services, tx: &mut Tx, name: &str) -> Result<(ClientApp, Secret)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::invalid(
            "name",
            "field.length",
            vec![("min", "1".into()), ("max", "100".into())],
        ));
    }
    // Capped (revoked ones stay on record), so the admin's list may read the tree whole.
    if store::counters::get(tx.store(), COUNT_CLIENTS)? >= MAX_CLIENTS {
        return Err(ServiceError::conflict(format!(
            "this box keeps at most {MAX_CLIENTS} client systems"
        )));
    }
    store::counters::add(tx, COUNT_CLIENTS, 1)?;
    let app_key = AppKey(format!("ak_{}", svc.secrets.hex_token(16).expose()));
    let private = Secret(format!("pk_{}", svc.secrets.hex_token(32).expose()));
    let client = ClientApp {
        app_key: app_key.clone(),
        name: name.to_string(),
        sealed_private_key: svc
            .secrets
            .seal(private.expose().as_bytes(), app_key.as_str().as_bytes()),
        revoked: false,
        created_unix: svc.now_unix(),
    };
    tx.put(app_key.as_str().as_bytes(), &client);
    Ok((client, private))
}

/// Revokes a client system: its `x-app-key` is refused from now on, and with it every token
/// issued to it.
pub fn revoke_client(tx: &mut Tx, app_key: &str) -> Result<ClientApp> {
    let mut c = tx
        .get::<ClientApp>(app_key.as_bytes())?
        .ok_or(ServiceError::NotFound {
            key: "client.unknown",
        })?;
    c.revoked = true;
    tx.put(app_key.as_bytes(), &c);
    Ok(c)
}

/// Every client system (at most `MAX_CLIENTS`).
pub fn clients(store: &Store) -> Result<Vec<ClientApp>> {
    Ok(store
        .scan::<ClientApp>(b"")?
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

/// The client system behind `x-app-key`, if it exists and is not revoked.
pub fn active_client(store: &Store, app_key: &str) -> Result<Option<Arc<ClientApp>>> {
    Ok(store
        .get_shared::<ClientApp>(app_key.as_bytes())?
        .filter(|c| !c.revoked))
}

/// Verify: the signature is hex(HMAC-SHA256(private_key, request_id + "\n" + timestamp)).
/// A Verify signature is good for ±`auth.signature_skew_secs` around its timestamp.
pub fn check_signature_time(svc: &Services, timestamp: i64) -> Result<()> {
    let skew = (svc.now_unix() - timestamp).abs();
    if skew > svc.config.auth.signature_skew_secs {
        return Err(ServiceError::Unauthorized {
            key: "auth.signature.skew",
        });
    }
    Ok(())
}

pub fn verify_client_signature(
    svc: &Services,
    client: &ClientApp,
    request_id: &str,
    timestamp: i64,
    signature_hex: &str,
) -> Result<()> {
    check_signature_time(svc, timestamp)?;
    let private = svc
        .secrets
        .open(
            &client.sealed_private_key,
            client.app_key.as_str().as_bytes(),
        )
        .ok_or_else(|| {
            ServiceError::Internal("client key cannot be unsealed (master key changed?)".into())
        })?;
    let sig = hex::decode(signature_hex.trim()).map_err(|_| ServiceError::Unauthorized {
        key: "auth.signature.invalid",
    })?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &private);
    let msg = format!("{request_id}\n{timestamp}");
    ring::hmac::verify(&key, msg.as_bytes(), &sig).map_err(|_| ServiceError::Unauthorized {
        key: "auth.signature.invalid",
    })
}

pub struct Issued {
    pub token: Secret,
    pub record: TokenRecord,
}

pub fn issue_token(
    svc: &Services,
    tx: &mut Tx,
    kind: TokenKind,
    app_key: &AppKey,
    user: Option<UserId>,
    parent: Option<TokenHash>,
    device_id: Option<String>,
) -> Issued {
    let a = &svc.config.auth;
    let ttl = match kind {
        TokenKind::Client => a.client_token_ttl_minutes * 60,
        TokenKind::User => a.user_token_ttl_hours * 3600,
        TokenKind::Refresh => a.refresh_token_ttl_hours * 3600,
        TokenKind::Access => a.access_token_ttl_minutes * 60,
    };
    let now = svc.now_unix();
    let token = svc.secrets.hex_token(32);
    let record = TokenRecord {
        kind,
        app_key: app_key.clone(),
        user,
        parent,
        device_id,
        issued_unix: now,
        expires_unix: now + ttl,
        revoked: false,
    };
    let hash = token.hash();
    tx.put(&hash.0, &record);
    tx.index(
        TOKENS_BY_EXPIRY,
        &[time_key(record.expires_unix).as_slice(), &hash.0].concat(),
    );
    if let Some(u) = user {
        tx.index(TOKENS_BY_USER, &[u.key().as_slice(), &hash.0].concat());
    }
    Issued { token, record }
}

/// Resolves a bearer token of `kind` issued to `app_key`; every ancestor must still be usable,
/// so revoking a user token (logout) kills everything derived from it.
pub fn resolve_token(
    svc: &Services,
    token: &str,
    kind: TokenKind,
    app_key: &AppKey,
) -> Result<(TokenHash, TokenRecord)> {
    resolve_token_full(svc, token, kind, app_key).map(|r| (r.hash, TokenRecord::clone(&r.rec)))
}

/// A token resolved with what was read on the way, so the caller reads none of it again.
/// The records are the cache of hot records' own, shared: resolving copies none of them.
pub struct Resolved {
    pub hash: TokenHash,
    pub rec: Arc<TokenRecord>,
    /// The ancestors (access → refresh → user token), nearest first, each checked usable.
    pub chain: Vec<(TokenHash, Arc<TokenRecord>)>,
    /// The token's user (checked active), if it has one.
    pub user: Option<Arc<User>>,
    /// The time the checks were made at.
    pub now: i64,
}

/// `resolve_token`, keeping the records it read.
pub fn resolve_token_full(
    svc: &Services,
    token: &str,
    kind: TokenKind,
    app_key: &AppKey,
) -> Result<Resolved> {
    let invalid = ServiceError::Unauthorized {
        key: "auth.token.invalid",
    };
    let hash = TokenHash::of(token.trim().as_bytes());
    let rec = svc
        .store
        .get_shared::<TokenRecord>(&hash.0)?
        .ok_or(invalid.clone())?;
    let now = svc.now_unix();
    if rec.kind != kind || !rec.usable_at(now) || rec.app_key != *app_key {
        return Err(invalid);
    }
    // An access token hangs from a refresh token, which hangs from a user token.
    let mut chain = Vec::with_capacity(2);
    let mut parent = rec.parent;
    while let Some(p) = parent {
        let pr = svc
            .store
            .get_shared::<TokenRecord>(&p.0)?
            .ok_or(invalid.clone())?;
        if !pr.usable_at(now) {
            return Err(invalid);
        }
        parent = pr.parent;
        chain.push((p, pr));
    }
    let user = match rec.user {
        Some(uid) => match user_shared(&svc.store, uid)? {
            Some(u) if u.active => Some(u),
            _ => return Err(invalid),
        },
        None => None,
    };
    Ok(Resolved {
        hash,
        rec,
        chain,
        user,
        now,
    })
}

/// The checks `resolve_token` makes of a token, for one of `r.chain` (already read, its own
/// ancestors checked usable): kind, time, client, active user. Reads only a user that is not
/// `r`'s own.
pub fn check_chained(
    svc: &Services,
    r: &Resolved,
    at: usize,
    kind: TokenKind,
    app_key: &AppKey,
) -> Result<()> {
    let invalid = ServiceError::Unauthorized {
        key: "auth.token.invalid",
    };
    let Some((_, rec)) = r.chain.get(at) else {
        return Err(invalid);
    };
    if rec.kind != kind || !rec.usable_at(r.now) || rec.app_key != *app_key {
        return Err(invalid);
    }
    if let Some(uid) = rec.user {
        let active = match &r.user {
            Some(u) if Some(uid) == r.rec.user => u.active,
            _ => matches!(user_shared(&svc.store, uid)?, Some(u) if u.active),
        };
        if !active {
            return Err(invalid);
        }
    }
    Ok(())
}

pub fn token_record(store: &Store, hash: &TokenHash) -> Result<Option<TokenRecord>> {
    Ok(store.get::<TokenRecord>(&hash.0)?)
}

/// Marks a token revoked (idempotent).
pub fn revoke(tx: &mut Tx, hash: &TokenHash) -> Result<()> {
    if let Some(mut t) = tx.get::<TokenRecord>(&hash.0)? {
        t.revoked = true;
        tx.put(&hash.0, &t);
    }
    Ok(())
}

/// Why a sign-in failed, and how long to hold back the answer (lockout slowing). The caller
/// waits `delay` after releasing anything it holds (the writer lock above all).
#[derive(Debug)]
pub struct SignInFailure {
    pub error: ServiceError,
    pub delay: std::time::Duration,
}

impl From<ServiceError> for SignInFailure {
    fn from(error: ServiceError) -> Self {
        Self {
            error,
            delay: std::time::Duration::ZERO,
        }
    }
}

/// Every family's sign-in: refuses a locked-out user or device, checks the password, counts a
/// failure against the user and the device subjects, forgets them on success.
pub fn sign_in(
    svc: &Services,
    username: &str,
    password: &str,
    devices: &[Subject],
) -> std::result::Result<User, SignInFailure> {
    let mut subjects = vec![Subject::user(username)];
    subjects.extend(devices.iter().cloned());
    lockout::check(svc, &subjects)?;
    match check_credentials(&svc.store, username, password) {
        Ok(u) => {
            lockout::succeeded(svc, &subjects)?;
            Ok(u)
        }
        Err(error) => {
            let delay = lockout::failed(svc, &subjects)?;
            tracing::info!(
                user = %username.trim().chars().take(64).collect::<String>(),
                "sign-in failed"
            );
            Err(SignInFailure { error, delay })
        }
    }
}

/// `sign_in` off the async workers: PBKDF2 takes tens of milliseconds by design, and on a
/// two-core box a few concurrent sign-ins would otherwise stall every other request.
pub async fn sign_in_blocking(
    svc: &std::sync::Arc<Services>,
    username: &str,
    password: &str,
    devices: &[Subject],
) -> std::result::Result<User, SignInFailure> {
    let (svc, username, password, devices) = (
        svc.clone(),
        username.to_string(),
        password.to_string(),
        devices.to_vec(),
    );
    let _slot = kdf_slot().await;
    let caller = crate::telemetry::audit::caller();
    let user_text: String = username.trim().chars().take(64).collect();
    let device_text = devices
        .iter()
        .map(|d| d.0.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let result = tokio::task::spawn_blocking(move || sign_in(&svc, &username, &password, &devices))
        .await
        .map_err(|e| SignInFailure::from(ServiceError::Internal(e.to_string())))?;
    audit_sign_in(caller, &user_text, &device_text, &result);
    result
}

/// The audit trail of every family's sign-ins: WARN for a refusal, INFO for success; user,
/// device and peer address, never the password.
fn audit_sign_in(
    caller: Option<crate::telemetry::audit::Caller>,
    user: &str,
    device: &str,
    result: &std::result::Result<User, SignInFailure>,
) {
    use crate::telemetry::audit::{family_text, peer_text};
    let (family, peer) = (family_text(caller), peer_text(caller));
    match result {
        Ok(u) => tracing::info!(
            target: "audit",
            action = "sign_in",
            outcome = "ok",
            user,
            user_id = u.id.0,
            device,
            family,
            peer = %peer,
            "sign-in"
        ),
        Err(f) => {
            let reason = match &f.error {
                ServiceError::Locked { .. } => "locked_out",
                ServiceError::Unauthorized { .. } => "bad_credentials",
                _ => "error",
            };
            tracing::warn!(
                target: "audit",
                action = "sign_in",
                outcome = "refused",
                reason,
                user,
                device,
                family,
                peer = %peer,
                "sign-in refused"
            )
        }
    }
}

/// PBKDF2 runs at most (cores − 1) at a time: a burst of sign-ins queues among itself
/// instead of taking every core from the writes (and the flusher) of everyone else.
pub async fn kdf_slot() -> Option<tokio::sync::SemaphorePermit<'static>> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))
    });
    slots.acquire().await.ok()
}

/// Checks a username/password pair; the same answer for an unknown user and a wrong password.
pub fn check_credentials(store: &Store, username: &str, password: &str) -> Result<User> {
    let bad = ServiceError::Unauthorized {
        key: "auth.credentials.invalid",
    };
    match user_by_username(store, username)? {
        Some(u) if u.active && u.password.verify(password) => Ok(u),
        Some(_) => Err(bad),
        None => {
            // Spend the same time as a real check so response timing does not reveal which
            // usernames exist.
            let dummy = PasswordHash {
                salt: vec![0; 16],
                iterations: 100_000,
                hash: vec![0; 32],
            };
            let _ = dummy.verify(password);
            Err(bad)
        }
    }
}

/// The demo's sign-ins: one user per estate role (password `demo-pass-1`) and a licensed demo
/// handheld (IMEI 352099001761481), so every family can be tried at once. Idempotent.
pub async fn demo(svc: &std::sync::Arc<Services>) -> Result<()> {
    const PASSWORD: &str = "demo-pass-1";
    const IMEI: &str = "352099001761481";
    let users = [
        ("demo.manager", Role::Manager, "Demo Manager"),
        ("demo.kangani", Role::Supervisor, "Demo Kangani"),
        ("demo.clerk", Role::Clerk, "Demo Clerk"),
        ("demo.guard", Role::GateGuard, "Demo Guard"),
        ("demo.labourer", Role::Labourer, "Demo Labourer"),
    ];
    let mut tx = svc.store.begin().await;
    let mut added = Vec::new();
    for (username, role, name) in users {
        if user_by_username(tx.store(), username)?.is_none()
            && !added.iter().any(|u: &String| u == username)
        {
            add_user(
                svc,
                &mut tx,
                NewUser {
                    username,
                    password: PASSWORD,
                    role,
                    name,
                    phone: "",
                    email: "",
                },
            )?;
            added.push(username.to_string());
        }
    }
    if tx
        .get::<crate::domain::devices::Device>(IMEI.as_bytes())?
        .is_none()
    {
        super::devices::licence_request(svc, &mut tx, IMEI, &svc.config.codelayer.app_id)?;
        super::devices::decide(svc, &mut tx, IMEI, super::devices::Decision::Approve)?;
    }
    tx.commit().await?;
    if !added.is_empty() {
        // stdout, like the first-run credentials: never a log line.
        println!(
            "demo: users {} with password {PASSWORD}; handheld IMEI {IMEI} licensed",
            added.join(", ")
        );
        tracing::info!(users = added.len(), "demo users added");
    }
    Ok(())
}

/// Gives a user another role. Permissions are read from the user on every request, so the
/// change applies at once without signing anyone out.
pub fn set_role(tx: &mut Tx, id: UserId, role: crate::domain::identity::Role) -> Result<User> {
    let mut user = tx
        .get::<User>(&id.key())?
        .ok_or(ServiceError::NotFound { key: "not_found" })?;
    user.role = role;
    tx.put(&id.key(), &user);
    crate::telemetry::audit::record("role_changed", &user.username, role.as_str());
    Ok(user)
}
