//! sled under the write-ahead log (`store::wal`): how a change is applied so that a crash or a
//! reader never sees half of it, though sled 0.34's inserts are not atomic together.
//!
//! - one op: atomic by itself.
//! - more than `BIG_CHANGE` ops (a Post Muster batch): one sled transaction, which costs one
//!   log roll for thousands of ops, less than reading every key's previous value.
//! - otherwise: the record number and the keys' previous values (the *intent*) are inserted
//!   into `META_TREE` first, then the ops, with readers held off. sled recovers a prefix of its
//!   own log, so after a crash only the newest multi-op change can be half there: replay applies
//!   it again if the log holds it (from the intent's number on), else the previous values are
//!   put back (it was never acknowledged).

use std::sync::RwLock;

use super::engine::{Op, SledEngine};
use super::wal::{encode, read_record, LogBase, Start};
use super::{Engine, StoreError};

/// The sled tree holding the intent of the newest multi-op change (never listed or backed up).
pub const META_TREE: &str = "__wal_meta";
pub(crate) const INTENT_KEY: &[u8] = b"intent";
/// Changes with more ops than this are applied as one sled transaction.
pub const BIG_CHANGE: usize = 64;

fn no_intent() -> Op {
    Op {
        tree: META_TREE.into(),
        key: INTENT_KEY.to_vec(),
        value: None,
    }
}

/// The intent stored before a multi-op change: its number and the keys' previous values.
fn intent(sled: &SledEngine) -> Result<Option<(u64, Vec<Op>)>, StoreError> {
    match sled.get(META_TREE, INTENT_KEY)? {
        None => Ok(None),
        Some(v) => match read_record(&mut v.as_slice()) {
            Some(i) => Ok(Some(i)),
            None => Err(StoreError::Decode(
                "write-ahead log: the stored intent is unreadable".into(),
            )),
        },
    }
}

fn applied(sled: &SledEngine, ops: &[Op]) -> Result<(), StoreError> {
    sled.apply_each(ops).map_err(|(_, e)| e)
}

impl SledEngine {
    /// A multi-op change: its intent, then the ops, readers held off meanwhile.
    fn apply_many(&self, lsn: u64, ops: &[Op], visible: &RwLock<()>) -> Result<(), StoreError> {
        let _w = visible
            .write()
            .expect("write-ahead log visibility poisoned");
        let mut before = Vec::with_capacity(ops.len());
        for op in ops {
            before.push(Op {
                tree: op.tree.clone(),
                key: op.key.clone(),
                value: self.get(&op.tree, &op.key)?,
            });
        }
        let mut rec = Vec::new();
        encode(&mut rec, lsn, &before);
        applied(
            self,
            &[Op {
                value: Some(rec),
                ..no_intent()
            }],
        )?;
        // Removing a key that is not there changes nothing: skip its walk down sled's tree
        // (a new gatepass clears two indexes it was never in). The log still holds the op.
        let live: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].value.is_some() || before[i].value.is_some())
            .collect();
        if let Err((n, e)) = self.apply_each(live.iter().map(|&i| &ops[i])) {
            // Put back what was applied, so readers and later writers never see half of it.
            if let Err(undo) = self.apply_each(live[..n].iter().map(|&i| &before[i])) {
                tracing::error!(error = %undo.1, "a failed change could not be undone in memory");
            }
            return Err(e);
        }
        Ok(())
    }
}

impl LogBase for SledEngine {
    fn apply_change(&self, lsn: u64, ops: &[Op], visible: &RwLock<()>) -> Result<(), StoreError> {
        if ops.len() == 1 {
            applied(self, ops)?;
        } else if ops.len() > BIG_CHANGE {
            // It also removes the intent: a change older than it must never be undone over it.
            self.apply_atomic(ops, &no_intent())?;
        } else {
            self.apply_many(lsn, ops, visible)?;
        }
        Ok(())
    }

    fn recover_start(&self, top: u64, has_files: bool) -> Result<Start, StoreError> {
        Ok(match intent(self)? {
            // No file at all (not even an anchor) is a log we do not know, not an empty one: a
            // directory removed by hand. Nothing is undone then.
            Some((lsn, before)) if lsn > top && has_files => {
                // Never acknowledged; sled may hold part of it: back to the values before it.
                applied(self, &before)?;
                Start {
                    from: u64::MAX,
                    last: lsn,
                    undone: true,
                }
            }
            Some((lsn, _)) => Start {
                from: lsn,
                last: lsn,
                undone: false,
            },
            None => Start::default(),
        })
    }

    fn replay(&self, _lsn: u64, ops: &[Op]) -> Result<(), StoreError> {
        applied(self, ops)
    }

    fn settle(&self) -> Result<(), StoreError> {
        applied(self, &[no_intent()])?;
        self.flush()
    }

    fn generation(&self) -> u64 {
        SledEngine::generation(self)
    }
}
