//! Counters kept in step with the records they count, staged in the same `Tx`: a list's total
//! or a dashboard figure is one `get`, never a walk of a tree (sled's `len()` walks every key).
//! Keys are `<area>.<what>[.<value>]`.

use serde::{Deserialize, Serialize};

use super::{Record, Result, Store, Tx};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub n: u64,
}

impl Record for Counter {
    const TREE: &'static str = "counters";
}

/// Adds `delta` (may be negative) to a counter, through the staged changes of `tx`.
pub fn add(tx: &mut Tx, key: &str, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let cur = tx.get::<Counter>(key.as_bytes())?.unwrap_or_default();
    let n = (cur.n as i64).saturating_add(delta).max(0) as u64;
    tx.put(key.as_bytes(), &Counter { n });
    Ok(())
}

pub fn get(store: &Store, key: &str) -> Result<u64> {
    Ok(store
        .get::<Counter>(key.as_bytes())?
        .map(|c| c.n)
        .unwrap_or(0))
}

/// `get` of many counters, read together (a list's per-row figures).
pub fn get_many(store: &Store, keys: &[String]) -> Result<Vec<u64>> {
    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    Ok(store
        .get_many::<Counter>(&keys)?
        .into_iter()
        .map(|c| c.map_or(0, |c| c.n))
        .collect())
}
