//! Forgetting what can no longer be used: expired tokens and sessions, old lockout counts, spent
//! reset codes, old outbox messages and gateway callbacks. Without this a box that runs for years
//! keeps every hourly access token it ever issued.
//!
//! Candidates are found without the writer lock, then re-checked and deleted (with their index
//! entries) in one `Tx` per batch, so writers wait only for the deletes.

use crate::domain::credentials::LoginFailures;
use crate::domain::devices::CodelayerSession;
use crate::domain::identity::{
    DeviceLogin, DeviceSlot, OutboxMessage, ResetCode, TokenRecord, WablasEvent,
};
use crate::store::tables::identity::{
    time_key, wablas_time, wablas_time_key, OUTBOX_BY_GATEWAY, SESSIONS_BY_IMEI, SESSIONS_BY_USER,
    TOKENS_BY_EXPIRY, TOKENS_BY_USER, WABLAS_BY_TIME,
};
use crate::store::{self, Record, Store, Tx};

use super::{Result, Services};

/// Kept this long after they stop being usable (so support can still see what happened).
const GRACE_SECS: i64 = 86_400;
/// Outbox messages and gateway callbacks are kept this long.
const MESSAGES_SECS: i64 = 30 * 86_400;
/// Deletes per transaction.
const BATCH: usize = 2_000;

fn candidates<R: Record>(store: &Store, dead: impl Fn(&R) -> bool) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for item in store.scan_iter::<R>(b"")? {
        let (k, r) = item?;
        if dead(&r) {
            out.push(k);
            if out.len() >= BATCH {
                break;
            }
        }
    }
    Ok(out)
}

/// Tokens past expiry and grace: the head of their expiry index.
fn expired_tokens(store: &Store, now: i64) -> Result<Vec<Vec<u8>>> {
    let end = time_key(now - GRACE_SECS);
    let mut out = Vec::new();
    for r in store
        .engine()
        .range(TOKENS_BY_EXPIRY, &[], &end)?
        .take(BATCH)
    {
        out.push(r?.0[8..].to_vec());
    }
    Ok(out)
}

/// Outbox messages past retention. Ids are numbered in creation order, so the oldest come
/// first and the walk stops at the first one still kept.
fn expired_outbox(store: &Store, now: i64) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for item in store.scan_iter::<OutboxMessage>(b"")? {
        let (k, m) = item?;
        if now - m.created_unix <= MESSAGES_SECS || out.len() >= BATCH {
            break;
        }
        out.push(k);
    }
    Ok(out)
}

/// Gateway callbacks past their retention: the tail of their time index (oldest last), so a
/// pass reads only what expired.
fn expired_events(store: &Store, now: i64) -> Result<Vec<Vec<u8>>> {
    let from = wablas_time(now - MESSAGES_SECS - 1);
    let mut out = Vec::new();
    for r in store
        .engine()
        .range(WABLAS_BY_TIME, &from, &[0xff; 9])?
        .take(BATCH)
    {
        out.push(r?.0[8..].to_vec());
    }
    Ok(out)
}

/// What one pass would remove, found by walking the trees (off the async workers).
struct Found {
    tokens: Vec<Vec<u8>>,
    sessions: Vec<Vec<u8>>,
    logins: Vec<Vec<u8>>,
    failures: Vec<Vec<u8>>,
    codes: Vec<Vec<u8>>,
    outbox: Vec<Vec<u8>>,
    events: Vec<Vec<u8>>,
}

fn find(store: &Store, now: i64, idle_cl: i64, idle_az: i64, lock: i64) -> Result<Found> {
    Ok(Found {
        tokens: expired_tokens(store, now)?,
        sessions: candidates::<CodelayerSession>(store, |s| {
            now - s.last_used_unix > idle_cl + GRACE_SECS
                || (s.revoked && now - s.issued_unix > GRACE_SECS)
        })?,
        logins: candidates::<DeviceLogin>(store, |l| {
            now - l.last_activity_unix > idle_az + GRACE_SECS
                || (l.revoked && now - l.issued_unix > GRACE_SECS)
        })?,
        failures: candidates::<LoginFailures>(store, |f| {
            f.locked_until_unix < now && now - f.last_failure_unix > lock
        })?,
        codes: candidates::<ResetCode>(store, |c| c.expires_unix + GRACE_SECS < now)?,
        outbox: expired_outbox(store, now)?,
        events: expired_events(store, now)?,
    })
}

/// One pass; returns how many records were removed.
pub async fn sweep(svc: &Services) -> Result<usize> {
    let now = svc.now_unix();
    let cfg = &svc.config;
    let idle_cl = cfg.codelayer.session_idle_minutes * 60;
    let idle_az = cfg.auth.authorize_token_idle_hours * 3600;
    let lock = cfg.auth.lockout_minutes * 60;
    let mut removed = 0;
    // The walks block: a thread of their own, so requests keep their workers meanwhile.
    let store = svc.store.clone();
    let Found {
        tokens,
        sessions,
        logins,
        failures,
        codes,
        outbox,
        events,
    } = tokio::task::spawn_blocking(move || find(&store, now, idle_cl, idle_az, lock))
        .await
        .map_err(|e| super::ServiceError::Internal(e.to_string()))??;

    let mut tx = svc.store.begin().await;
    for k in tokens {
        if let Some(t) = tx.get::<TokenRecord>(&k)? {
            if let Some(u) = t.user {
                tx.delete_raw(TOKENS_BY_USER, &[u.key().as_slice(), &k].concat());
            }
            tx.delete_raw(
                TOKENS_BY_EXPIRY,
                &[time_key(t.expires_unix).as_slice(), &k].concat(),
            );
            tx.delete::<TokenRecord>(&k);
            removed += 1;
        }
    }
    for k in sessions {
        if let Some(s) = tx.get::<CodelayerSession>(&k)? {
            let prefix = store::prefix(&[s.imei.as_bytes()]);
            tx.delete_raw(SESSIONS_BY_IMEI, &[prefix.as_slice(), &k].concat());
            tx.delete_raw(SESSIONS_BY_USER, &[s.user.key().as_slice(), &k].concat());
            tx.delete::<CodelayerSession>(&k);
            removed += 1;
        }
    }
    for k in logins {
        if let Some(l) = tx.get::<DeviceLogin>(&k)? {
            let slot = DeviceSlot::key(l.user, &l.device_id);
            if tx
                .get::<DeviceSlot>(&slot)?
                .is_some_and(|s| s.token_hash.0.as_slice() == k.as_slice())
            {
                tx.delete::<DeviceSlot>(&slot);
            }
            tx.delete::<DeviceLogin>(&k);
            removed += 1;
        }
    }
    removed += delete_all::<LoginFailures>(&mut tx, failures);
    removed += delete_all::<ResetCode>(&mut tx, codes);
    for k in outbox {
        if let Some(m) = tx.get::<OutboxMessage>(&k)? {
            if let Some(g) = m.gateway_id.as_deref().filter(|g| !g.is_empty()) {
                let entry = store::key(&[g.as_bytes(), &m.id.to_be_bytes()]);
                tx.delete_raw(OUTBOX_BY_GATEWAY, &entry);
            }
            tx.delete::<OutboxMessage>(&k);
            removed += 1;
        }
    }
    for k in events {
        if let Some(e) = tx.get::<WablasEvent>(&k)? {
            tx.delete_raw(WABLAS_BY_TIME, &wablas_time_key(&e));
            tx.delete::<WablasEvent>(&k);
            removed += 1;
        }
    }
    tx.commit().await?;
    // Index entries only (not records): not in the count.
    super::lockout::forget_ended(svc, now)?;
    Ok(removed)
}

fn delete_all<R: Record>(tx: &mut Tx, keys: Vec<Vec<u8>>) -> usize {
    let n = keys.len();
    for k in keys {
        tx.delete::<R>(&k);
    }
    n
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::domain::identity::TokenKind;
    use crate::domain::ids::{AppKey, TokenHash, UserId};

    fn token(expires_unix: i64) -> TokenRecord {
        TokenRecord {
            kind: TokenKind::Access,
            app_key: AppKey("ak".into()),
            user: Some(UserId(7)),
            parent: None,
            device_id: None,
            issued_unix: 0,
            expires_unix,
            revoked: false,
        }
    }

    #[tokio::test]
    async fn sweeps_dead_records_with_their_index_entries_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (store, svc) = Services::for_tests(dir.path());
        let now = svc.now_unix();
        let dead = TokenHash::of(b"dead");
        let live = TokenHash::of(b"live");
        let mut tx = store.begin().await;
        let mut many = vec![(dead, token(now - 2 * GRACE_SECS)), (live, token(now + 60))];
        // Thousands of live tokens: the sweep must not read them.
        for i in 0..2_000u32 {
            many.push((TokenHash::of(&i.to_be_bytes()), token(now + i as i64)));
        }
        for (h, t) in many {
            tx.index(
                TOKENS_BY_EXPIRY,
                &[time_key(t.expires_unix).as_slice(), &h.0].concat(),
            );
            tx.put(&h.0, &t);
            if h == dead || h == live {
                tx.index(TOKENS_BY_USER, &[UserId(7).key().as_slice(), &h.0].concat());
            }
        }
        tx.put(
            b"user:old",
            &LoginFailures {
                failures: 2,
                last_failure_unix: now - 10 * 86_400,
                locked_until_unix: 0,
            },
        );
        tx.put(
            b"user:recent",
            &LoginFailures {
                failures: 2,
                last_failure_unix: now - 5,
                locked_until_unix: 0,
            },
        );
        tx.commit().await.unwrap();
        // Other tests in this process may read meanwhile: the bound is loose, a walk is not.
        let before = crate::store::reads::total();
        assert_eq!(expired_tokens(&store, now).unwrap(), vec![dead.0.to_vec()]);
        let read = crate::store::reads::total() - before;
        assert!(read < 500, "finding 1 expired token read {read} records");
        assert_eq!(sweep(&svc).await.unwrap(), 2);
        assert!(store
            .engine()
            .scan(TOKENS_BY_EXPIRY, &time_key(now - 2 * GRACE_SECS))
            .unwrap()
            .next()
            .is_none());
        assert!(store.get::<TokenRecord>(&dead.0).unwrap().is_none());
        assert!(store.get::<TokenRecord>(&live.0).unwrap().is_some());
        let idx = store.index_keys(TOKENS_BY_USER, &UserId(7).key()).unwrap();
        assert_eq!(idx, vec![live.0.to_vec()]);
        assert!(store.get::<LoginFailures>(b"user:old").unwrap().is_none());
        assert!(store
            .get::<LoginFailures>(b"user:recent")
            .unwrap()
            .is_some());
        assert_eq!(sweep(&svc).await.unwrap(), 0, "nothing left to sweep");
    }

    fn event(id: usize, received_unix: i64) -> WablasEvent {
        WablasEvent {
            id: format!("ev{id}"),
            kind: crate::domain::identity::WablasKind::Message,
            phone: "62811".into(),
            message: "hi".into(),
            message_type: "text".into(),
            device_id: "d".into(),
            sender: "s".into(),
            is_from_me: false,
            timestamp: String::new(),
            status: String::new(),
            received_unix,
        }
    }

    #[tokio::test]
    async fn gateway_callbacks_expire_through_their_time_index() {
        let dir = tempfile::tempdir().unwrap();
        let (store, svc) = Services::for_tests(dir.path());
        let now = svc.now_unix();
        let live = 3_000;
        let mut tx = store.begin().await;
        for i in 0..live {
            let e = event(i, now - (i as i64 % 100));
            assert!(crate::service::outbox::record_wablas(&svc, &mut tx, &e).unwrap());
        }
        for i in 0..3 {
            let e = event(live + i, now - MESSAGES_SECS - 10 - i as i64);
            crate::service::outbox::record_wablas(&svc, &mut tx, &e).unwrap();
        }
        tx.commit().await.unwrap();
        // The finder reads the three expired entries, not the thousands of live ones (other
        // tests in this process may read meanwhile: the bound is loose, a walk is not).
        let before = crate::store::reads::total();
        let found = expired_events(&store, now).unwrap();
        let read = crate::store::reads::total() - before;
        assert_eq!(found.len(), 3);
        assert!(
            read < 500,
            "finding 3 expired callbacks read {read} records"
        );
        assert_eq!(sweep(&svc).await.unwrap(), 3);
        assert_eq!(store.scan::<WablasEvent>(b"").unwrap().len(), live);
        assert_eq!(
            store.engine().scan(WABLAS_BY_TIME, b"").unwrap().count(),
            live
        );
        // The admin list: newest first, equal times in key order (as the list always was).
        let list = crate::service::outbox::wablas_events(&svc, 200).unwrap();
        let mut want: Vec<WablasEvent> = store
            .scan::<WablasEvent>(b"")
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        want.sort_by_key(|e| std::cmp::Reverse(e.received_unix));
        want.truncate(200);
        let ids = |v: &[WablasEvent]| v.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&list), ids(&want));
    }
}
