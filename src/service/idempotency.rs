//! Idempotent writes for the families that key them by a client request id (Daily Activity's
//! `x-request-id`): the first answer is stored, sealed, in the same transaction as the write.

use super::{Result, ServiceError, Services};
use crate::store::idempotency::{self, IdempotencyRecord, Seen};
use crate::store::Tx;

pub enum Start {
    /// First time: run the operation in this transaction, then `finish`.
    New { tx: Tx, request_hash: Vec<u8> },
    /// Seen before with the same request: the first answer.
    Replay { status: u16, body: Vec<u8> },
    /// Seen before with a different request.
    Conflict,
}

/// Opens the write transaction and looks the request id up. `parts` identify the request
/// (method, path, query, body).
pub async fn begin(
    svc: &Services,
    scope: &str,
    request_id: &str,
    parts: &[&[u8]],
) -> Result<Start> {
    let tx = svc.store.begin().await;
    let request_hash = idempotency::request_hash(parts);
    Ok(
        match idempotency::check(&tx, scope, request_id, &request_hash)? {
            Seen::New => Start::New { tx, request_hash },
            Seen::Conflict => Start::Conflict,
            Seen::Replay(rec) => {
                let body = svc
                    .secrets
                    .open(&rec.body, scope.as_bytes())
                    .ok_or_else(|| {
                        ServiceError::Internal("stored answer cannot be unsealed".into())
                    })?;
                Start::Replay {
                    status: rec.status,
                    body,
                }
            }
        },
    )
}

/// Stores the answer with the write and commits both; returns once durable.
pub async fn finish(
    svc: &Services,
    mut tx: Tx,
    scope: &str,
    request_id: &str,
    request_hash: Vec<u8>,
    status: u16,
    body: &[u8],
) -> Result<()> {
    let record = IdempotencyRecord {
        created_unix: svc.now_unix(),
        request_sha256: request_hash,
        status,
        // Sealed: an answer may carry a token, and the database must hold no usable secret.
        body: svc.secrets.seal(body, scope.as_bytes()),
    };
    idempotency::remember(&mut tx, scope, request_id, &record);
    tx.commit().await?;
    Ok(())
}
