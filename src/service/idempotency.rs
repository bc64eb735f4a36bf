//! Idempotent writes for the families that key them by a client request id (Daily Activity's
//! `x-request-id`): the first answer is stored, sealed, in the same transaction as the write.
//!
//! The writer lock is not held while the operation runs (a sign-in's PBKDF2 or a photo's fsync
//! would stall every write on the box): `peek` looks the id up without it, the operation takes
//! the lock when it first stages a change, and `finish` looks again under the lock before it
//! commits, so of two racing duplicates exactly one applies and the other gets its answer.

use super::{Result, ServiceError, Services};
use crate::store::idempotency::{self, IdempotencyRecord, Seen};
use crate::store::Tx;

pub enum Start {
    /// First time (so far): run the operation, then `finish`.
    New { request_hash: Vec<u8> },
    /// Seen before with the same request: the first answer.
    Replay { status: u16, body: Vec<u8> },
    /// Seen before with a different request.
    Conflict,
}

fn answer(svc: &Services, scope: &str, seen: Seen, request_hash: Vec<u8>) -> Result<Start> {
    Ok(match seen {
        Seen::New => Start::New { request_hash },
        Seen::Conflict => Start::Conflict,
        Seen::Replay(rec) => {
            let body = svc
                .secrets
                .open(&rec.body, scope.as_bytes())
                .ok_or_else(|| ServiceError::Internal("stored answer cannot be unsealed".into()))?;
            Start::Replay {
                status: rec.status,
                body,
            }
        }
    })
}

/// Looks the request id up without taking the writer lock. `parts` identify the request
/// (method, path, query, body).
pub fn peek(svc: &Services, scope: &str, request_id: &str, parts: &[&[u8]]) -> Result<Start> {
    let request_hash = idempotency::request_hash(parts);
    let seen = idempotency::check_store(&svc.store, scope, request_id, &request_hash)?;
    answer(svc, scope, seen, request_hash)
}

/// Stores the answer with the write and commits both; returns once durable. `tx` is the
/// operation's transaction (holding the writer lock), or None when it staged nothing. If a
/// duplicate committed first, nothing of this one is applied and the first answer is returned.
pub async fn finish(
    svc: &Services,
    tx: Option<Tx>,
    scope: &str,
    request_id: &str,
    request_hash: Vec<u8>,
    status: u16,
    body: &[u8],
) -> Result<Option<Start>> {
    let mut tx = match tx {
        Some(tx) => tx,
        None => svc.store.begin().await,
    };
    let seen = idempotency::check(&tx, scope, request_id, &request_hash)?;
    if !matches!(seen, Seen::New) {
        drop(tx);
        // The first one's answer is durable before it is repeated.
        svc.store.durable().await?;
        return answer(svc, scope, seen, request_hash).map(Some);
    }
    let record = IdempotencyRecord {
        created_unix: svc.now_unix(),
        request_sha256: request_hash,
        status,
        // Sealed: an answer may carry a token, and the database must hold no usable secret.
        body: svc.secrets.seal(body, scope.as_bytes()),
    };
    idempotency::remember(&mut tx, scope, request_id, &record);
    tx.commit().await?;
    Ok(None)
}
