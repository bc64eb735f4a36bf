//! Login lockout, shared by the three families: failed sign-ins of a user, and from a device
//! (Daily Activity device id / client system, Codelayer IMEI, Authorize deviceID), are slowed
//! down and then refused for `auth.lockout_minutes` after `auth.lockout_after_failures`.
//!
//! Failure counts are written straight to the store rather than through a `Tx`: the sign-in that
//! failed writes nothing else (its `Tx` is discarded), and it may still hold the writer lock.
//! Losing a count in a crash only forgives one guess.

use std::sync::Mutex;
use std::time::Duration;

use crate::domain::credentials::LoginFailures;
use crate::domain::identity::User;
use crate::store::{Op, Record, Tx};

use super::{Result, ServiceError, Services};

/// Index tree: user subject ‖ 0 ‖ device subject, for every device a user's failed sign-ins
/// came from, so lifting the user's lockout (`unlock_user_everywhere`) lifts those devices' too.
pub use crate::store::tables::identity::LOCKOUT_DEVICES_BY_USER as DEVICES_BY_USER;
use crate::store::tables::identity::{time_key, LOCKED_UNTIL};

/// Serializes the read-modify-write of failure counts (they bypass the writer lock).
static COUNTS: Mutex<()> = Mutex::new(());

/// What a lockout is kept for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(pub String);

impl Subject {
    pub fn user(username: &str) -> Subject {
        Subject(format!(
            "user:{}",
            String::from_utf8_lossy(&User::username_key(username))
        ))
    }
    /// A handheld or app installation: `kind` is `imei`, `device` (Daily Activity device id),
    /// `client` (a client system) or `authorize` (Authorize API deviceID).
    pub fn device(kind: &str, id: &str) -> Subject {
        Subject(format!("{kind}:{}", id.trim()))
    }
    fn key(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Refuses the sign-in if any subject is locked out.
pub fn check(svc: &Services, subjects: &[Subject]) -> Result<()> {
    let now = svc.now_unix();
    let mut worst = None;
    for s in subjects {
        if let Some(f) = svc.store.get::<LoginFailures>(s.key())? {
            if let Some(left) = f.locked_for(now) {
                worst = Some(worst.map_or(left, |w: i64| w.max(left)));
            }
        }
    }
    match worst {
        Some(retry_after_secs) => Err(ServiceError::Locked { retry_after_secs }),
        None => Ok(()),
    }
}

/// Counts a failed sign-in against every subject; returns how long to hold back the answer.
pub fn failed(svc: &Services, subjects: &[Subject]) -> Result<Duration> {
    let a = &svc.config.auth;
    let now = svc.now_unix();
    let _g = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let mut ops = Vec::new();
    let mut delay = 0;
    for s in subjects {
        let mut f = svc.store.get::<LoginFailures>(s.key())?.unwrap_or_default();
        let was_until = f.locked_until_unix;
        f.record_failure(now, a.lockout_after_failures, a.lockout_minutes * 60);
        if f.locked_until_unix != was_until && f.locked_until_unix > now {
            // The lockout index: `locked` reads only the subjects still locked.
            ops.push(Op {
                tree: LOCKED_UNTIL.into(),
                key: until_key(f.locked_until_unix, s),
                value: Some(crate::store::codec::INDEX_VALUE.to_vec()),
            });
            if was_until > 0 {
                ops.push(Op {
                    tree: LOCKED_UNTIL.into(),
                    key: until_key(was_until, s),
                    value: None,
                });
            }
        }
        if f.locked_for(now).is_some() && f.failures == 0 {
            tracing::warn!(subject = %s.0, minutes = a.lockout_minutes, "sign-in locked out after repeated failures");
            svc.metrics
                .lockouts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        delay = delay.max(f.delay_ms());
        ops.push(Op {
            tree: LoginFailures::TREE.into(),
            key: s.key().to_vec(),
            value: Some(crate::store::codec::encode(&f)),
        });
    }
    // Remember which devices this user's failures came from (a prefix scan finds them).
    for u in subjects.iter().filter(|s| s.0.starts_with("user:")) {
        for d in subjects.iter().filter(|s| !s.0.starts_with("user:")) {
            ops.push(Op {
                tree: DEVICES_BY_USER.into(),
                key: crate::store::key(&[u.key(), d.key()]),
                value: Some(crate::store::codec::INDEX_VALUE.to_vec()),
            });
        }
    }
    svc.store.apply(&ops)?;
    Ok(Duration::from_millis(delay))
}

/// A successful sign-in forgets the subjects' earlier failures (not an active lockout: `check`
/// runs first, so a locked subject never gets here).
pub fn succeeded(svc: &Services, subjects: &[Subject]) -> Result<()> {
    let _g = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let mut ops = Vec::new();
    for s in subjects {
        if svc.store.get::<LoginFailures>(s.key())?.is_some() {
            ops.push(Op {
                tree: LoginFailures::TREE.into(),
                key: s.key().to_vec(),
                value: None,
            });
        }
    }
    if !ops.is_empty() {
        svc.store.apply(&ops)?;
    }
    Ok(())
}

/// Lifts a lockout (admin). Returns whether there was anything to lift.
pub fn unlock(tx: &mut Tx, subject: &Subject) -> Result<bool> {
    let had = tx.get::<LoginFailures>(subject.key())?.is_some();
    tx.delete::<LoginFailures>(subject.key());
    if had {
        crate::telemetry::audit::record("lockout_lifted", &subject.0, "");
    }
    Ok(had)
}

/// Lifts every lockout that refuses `username`: the user's own and those of the devices its
/// failed sign-ins came from. Returns the subjects that were locked or counting failures.
pub fn unlock_user_everywhere(tx: &mut Tx, username: &str) -> Result<Vec<String>> {
    let user = Subject::user(username);
    let mut lifted = Vec::new();
    if unlock(tx, &user)? {
        lifted.push(user.0.clone());
    }
    let prefix = crate::store::prefix(&[user.key()]);
    for device in tx.store().index_keys(DEVICES_BY_USER, &prefix)? {
        let d = Subject(String::from_utf8_lossy(&device).into_owned());
        if unlock(tx, &d)? {
            lifted.push(d.0);
        }
        tx.delete_raw(
            DEVICES_BY_USER,
            &crate::store::key(&[user.key(), device.as_slice()]),
        );
    }
    Ok(lifted)
}

/// A lockout's key in `LOCKED_UNTIL`.
fn until_key(until: i64, s: &Subject) -> Vec<u8> {
    [time_key(until).as_slice(), s.key()].concat()
}

/// Subjects currently locked, with seconds left (for the console): only the end of the lockout
/// index that is still in the future is read (entries of lifted lockouts are skipped).
pub fn locked(svc: &Services) -> Result<Vec<(String, i64)>> {
    let now = svc.now_unix();
    let mut out = Vec::new();
    let start = time_key(now.saturating_add(1));
    for item in svc.store.engine().range(LOCKED_UNTIL, &start, &[0xff; 9])? {
        let (k, _) = item?;
        let subject = &k[8..];
        if let Some(f) = svc.store.get::<LoginFailures>(subject)? {
            if let Some(left) = f.locked_for(now) {
                if time_key(f.locked_until_unix) == k[..8] {
                    out.push((String::from_utf8_lossy(subject).into_owned(), left));
                }
            }
        }
    }
    Ok(out)
}

/// Drops the lockout index entries that ended before `before` (the expiry sweep): reads only
/// those.
pub fn forget_ended(svc: &Services, before: i64) -> Result<usize> {
    let mut ops = Vec::new();
    for item in svc
        .store
        .engine()
        .range(LOCKED_UNTIL, &[], &time_key(before))?
    {
        ops.push(Op {
            tree: LOCKED_UNTIL.into(),
            key: item?.0,
            value: None,
        });
        if ops.len() >= 2_000 {
            break;
        }
    }
    let n = ops.len();
    if n > 0 {
        svc.store.apply(&ops)?;
    }
    Ok(n)
}
