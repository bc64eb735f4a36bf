//! Idempotency records: (scope, client request id) → hash of the request and the first answer.
//! Written in the same transaction as the write they answer, so a crash can never leave the
//! effect without its record (which would let a retry apply it twice).

use serde::{Deserialize, Serialize};

use super::{codec, Record, Result, Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub created_unix: i64,
    pub request_sha256: Vec<u8>,
    pub status: u16,
    pub body: Vec<u8>,
}

impl Record for IdempotencyRecord {
    const TREE: &'static str = "idempotency";
}

pub enum Seen {
    New,
    /// Same request again: answer with the stored first response.
    Replay(IdempotencyRecord),
    /// Same id, different request.
    Conflict,
}

fn record_key(scope: &str, request_id: &str) -> Vec<u8> {
    super::key(&[scope.as_bytes(), request_id.as_bytes()])
}

pub fn request_hash(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

/// Whether the filter of known keys may hold `key` (else it is new, and nothing is read).
fn may_hold(store: &Store, key: &[u8]) -> bool {
    store.0.idempotency_keys.may_hold(key)
}

fn seen(r: Option<IdempotencyRecord>, request_sha256: &[u8]) -> Seen {
    match r {
        None => Seen::New,
        Some(r) if crate::domain::credentials::ct_eq(&r.request_sha256, request_sha256) => {
            Seen::Replay(r)
        }
        Some(_) => Seen::Conflict,
    }
}

pub fn check(tx: &Tx, scope: &str, request_id: &str, request_sha256: &[u8]) -> Result<Seen> {
    let key = record_key(scope, request_id);
    if !tx.has_staged(IdempotencyRecord::TREE, &key) && !may_hold(tx.store(), &key) {
        return Ok(Seen::New);
    }
    Ok(seen(tx.get::<IdempotencyRecord>(&key)?, request_sha256))
}

/// `check` on the committed state, without a transaction (and so without the writer lock).
pub fn check_store(
    store: &Store,
    scope: &str,
    request_id: &str,
    request_sha256: &[u8],
) -> Result<Seen> {
    let key = record_key(scope, request_id);
    if !may_hold(store, &key) {
        return Ok(Seen::New);
    }
    Ok(seen(store.get::<IdempotencyRecord>(&key)?, request_sha256))
}

pub fn remember(tx: &mut Tx, scope: &str, request_id: &str, record: &IdempotencyRecord) {
    tx.put(&record_key(scope, request_id), record);
}

/// Records removed per apply by the sweep: the most it holds at once, however many expired
/// (a box back after weeks switched off).
const SWEEP_BATCH: usize = 1_000;

/// Deletes records created before `before_unix`, `SWEEP_BATCH` at a time as it walks the tree
/// (the server runs it hourly, off the async workers). Returns how many went. A time index
/// would spare the walk, but measured it cost every Daily Activity write 7–14 % more CPU
/// (Clock In, issue 15's eighth stop): the walk is the cheaper side.
pub fn sweep(store: &Store, before_unix: i64) -> Result<usize> {
    // The walk also rebuilds the filter of known keys from the keys it keeps (`known_keys`).
    let known = &store.0.idempotency_keys;
    let rebuild = known.begin_rebuild();
    match sweep_keeping(store, before_unix, &rebuild) {
        Ok(n) => {
            known.finish_rebuild(rebuild);
            Ok(n)
        }
        Err(e) => {
            known.abandon_rebuild(rebuild);
            Err(e)
        }
    }
}

fn sweep_keeping(
    store: &Store,
    before_unix: i64,
    rebuild: &super::known_keys::Rebuild,
) -> Result<usize> {
    let mut removed = 0;
    let mut doomed = Vec::with_capacity(SWEEP_BATCH);
    // The scan holds no lock between steps, so a batch can be applied in the middle of it.
    for item in store.engine().scan(IdempotencyRecord::TREE, b"")? {
        let (k, v) = item?;
        match codec::decode::<IdempotencyRecord>(&v) {
            Ok(r) if r.created_unix >= before_unix => {
                rebuild.add(&k);
                continue;
            }
            _ => doomed.push(super::Op {
                tree: IdempotencyRecord::TREE.into(),
                key: k,
                value: None,
            }),
        }
        if doomed.len() == SWEEP_BATCH {
            store.apply(&doomed)?;
            removed += doomed.len();
            doomed.clear();
        }
    }
    store.apply(&doomed)?;
    Ok(removed + doomed.len())
}
