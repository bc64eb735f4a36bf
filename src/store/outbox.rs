//! The outbox: a durable log of every domain change, numbered 1, 2, 3 … without gaps, written in
//! the same atomic apply as the change itself (DESIGN.md §3.7, the upstream shipper reads it).
//!
//! Areas register which of their record trees are replicated (`store/tables/<area>.rs`,
//! `replicated()`), with a kind name, how to render the natural key, and how to turn a stored
//! value into JSON. `Tx::commit` calls [`stage`] with its ops while it still holds the writer
//! lock: every op on a registered tree gets an entry, the next sequence numbers are taken from
//! the counter in the same tree, and the counter moves on — all in the one `Engine::apply`. So
//! nothing changes without its entry, nothing is logged that did not commit, and numbers are
//! allocated in commit order.
//!
//! The entry keeps the stored bytes of the value as they were committed (a copy, no decoding):
//! the write path pays a copy and a few bytes, the shipper decodes when it ships.
//!
//! Layout of tree `upstream_outbox`:
//! - `seq` (u64 BE, 8 bytes) → entry: `[1][0][at_ms i64 BE][tree len u8][tree][key len u32 BE]
//!   [key][0|1 has value][value…]`
//! - `COUNTER_KEY` → `[1][1][last seq u64 BE]`: the last number handed out (kept when entries
//!   are pruned, so numbering never restarts).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::{Engine, Op, StoreError};

pub const TREE: &str = "upstream_outbox";
/// Sorts after every entry key (entry keys are 8-byte big-endian numbers below 2^56).
pub const COUNTER_KEY: &[u8] = b"\xffcounter";
const VERSION: u8 = 1;
const KIND_ENTRY: u8 = 0;
const KIND_COUNTER: u8 = 1;

/// A replicated record tree, as its area registers it.
pub struct Replicated {
    pub tree: &'static str,
    /// The change's kind upstream (`punch`, `muster_line`, `employee`, …).
    pub kind: &'static str,
    /// The natural key as text, from the stored key.
    pub key: fn(&[u8]) -> String,
    /// The stored value as JSON (secrets left out).
    pub body: fn(&[u8]) -> Result<Value, StoreError>,
}

/// Registers a record type whose JSON is its serde form.
#[macro_export]
macro_rules! replicated {
    ($t:ty, $kind:expr, $key:expr) => {
        $crate::store::outbox::Replicated {
            tree: <$t as $crate::store::Record>::TREE,
            kind: $kind,
            key: $key,
            body: |b| {
                let r = $crate::store::codec::decode::<$t>(b)?;
                serde_json::to_value(&r)
                    .map_err(|e| $crate::store::StoreError::Decode(e.to_string()))
            },
        }
    };
}

fn registry() -> &'static HashMap<&'static str, Replicated> {
    static REG: OnceLock<HashMap<&'static str, Replicated>> = OnceLock::new();
    REG.get_or_init(|| {
        super::tables::replicated()
            .into_iter()
            .map(|r| (r.tree, r))
            .collect()
    })
}

/// The registration of `tree`, if it is replicated.
pub fn replicated(tree: &str) -> Option<&'static Replicated> {
    registry().get(tree)
}

pub fn kinds() -> Vec<&'static str> {
    let mut k: Vec<_> = registry().values().map(|r| r.kind).collect();
    k.sort_unstable();
    k
}

/// One logged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub at_ms: i64,
    pub tree: String,
    pub key: Vec<u8>,
    /// `None`: the record was deleted.
    pub value: Option<Vec<u8>>,
}

pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn encode_entry(at_ms: i64, tree: &str, key: &[u8], value: Option<&[u8]>) -> Vec<u8> {
    let vlen = value.map_or(0, |v| v.len());
    let mut out = Vec::with_capacity(16 + tree.len() + key.len() + vlen);
    out.extend_from_slice(&[VERSION, KIND_ENTRY]);
    out.extend_from_slice(&at_ms.to_be_bytes());
    out.push(tree.len() as u8);
    out.extend_from_slice(tree.as_bytes());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    match value {
        Some(v) => {
            out.push(1);
            out.extend_from_slice(v);
        }
        None => out.push(0),
    }
    out
}

fn bad(what: &str) -> StoreError {
    StoreError::Decode(format!("{TREE}: {what}"))
}

pub fn decode_entry(seq: u64, b: &[u8]) -> Result<Entry, StoreError> {
    let take = |b: &[u8], at: usize, n: usize| -> Result<Vec<u8>, StoreError> {
        b.get(at..at + n)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| bad("truncated entry"))
    };
    if b.len() < 11 || b[0] != VERSION || b[1] != KIND_ENTRY {
        return Err(bad("not an outbox entry"));
    }
    let at_ms = i64::from_be_bytes(b[2..10].try_into().expect("8 bytes"));
    let tlen = b[10] as usize;
    let tree = String::from_utf8(take(b, 11, tlen)?).map_err(|_| bad("tree name"))?;
    let mut at = 11 + tlen;
    let klen = u32::from_be_bytes(take(b, at, 4)?.try_into().expect("4 bytes")) as usize;
    at += 4;
    let key = take(b, at, klen)?;
    at += klen;
    let value = match b.get(at) {
        Some(1) => Some(b[at + 1..].to_vec()),
        Some(0) if b.len() == at + 1 => None,
        _ => return Err(bad("value marker")),
    };
    Ok(Entry {
        seq,
        at_ms,
        tree,
        key,
        value,
    })
}

fn encode_counter(n: u64) -> Vec<u8> {
    let mut out = vec![VERSION, KIND_COUNTER];
    out.extend_from_slice(&n.to_be_bytes());
    out
}

fn decode_counter(b: &[u8]) -> Result<u64, StoreError> {
    match b {
        [VERSION, KIND_COUNTER, rest @ ..] if rest.len() == 8 => {
            Ok(u64::from_be_bytes(rest.try_into().expect("8 bytes")))
        }
        _ => Err(bad("bad counter")),
    }
}

/// The last sequence number handed out (0: nothing logged yet).
pub fn last_seq(engine: &dyn Engine) -> Result<u64, StoreError> {
    engine
        .get(TREE, COUNTER_KEY)?
        .map(|b| decode_counter(&b))
        .transpose()
        .map(|n| n.unwrap_or(0))
}

/// The hook `Tx::commit` calls with its ops, under the writer lock, right before the apply:
/// appends one entry per op on a replicated tree and moves the counter on.
pub fn stage(engine: &dyn Engine, ops: &mut Vec<Op>) -> Result<(), StoreError> {
    let reg = registry();
    let mut changed: Vec<usize> = (0..ops.len())
        .filter(|&i| reg.contains_key(ops[i].tree.as_str()))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    // The staged ops come from a map: give the entries of one commit a stable order.
    changed
        .sort_unstable_by(|&a, &b| (&ops[a].tree, &ops[a].key).cmp(&(&ops[b].tree, &ops[b].key)));
    let at_ms = chrono::Utc::now().timestamp_millis();
    let mut seq = last_seq(engine)?;
    ops.reserve(changed.len() + 1);
    for i in changed {
        seq += 1;
        let op = &ops[i];
        let value = encode_entry(at_ms, &op.tree, &op.key, op.value.as_deref());
        ops.push(Op {
            tree: TREE.into(),
            key: seq_key(seq).to_vec(),
            value: Some(value),
        });
    }
    ops.push(Op {
        tree: TREE.into(),
        key: COUNTER_KEY.to_vec(),
        value: Some(encode_counter(seq)),
    });
    Ok(())
}

/// Entries with `from <= seq <= to`, in order, at most `limit`.
pub fn read(
    engine: &dyn Engine,
    from: u64,
    to: u64,
    limit: usize,
) -> Result<Vec<Entry>, StoreError> {
    if from > to || limit == 0 {
        return Ok(Vec::new());
    }
    let end = to.saturating_add(1);
    let mut out = Vec::new();
    for kv in engine.range(TREE, &seq_key(from), &seq_key(end))? {
        let (k, v) = kv?;
        let seq = u64::from_be_bytes(k.as_slice().try_into().map_err(|_| bad("key"))?);
        out.push(decode_entry(seq, &v)?);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// The first entry with a number ≥ `from`, if any (the oldest not yet shipped).
pub fn first_from(engine: &dyn Engine, from: u64) -> Result<Option<Entry>, StoreError> {
    Ok(read(engine, from, u64::MAX >> 8, 1)?.into_iter().next())
}

/// Removes entries numbered `< below` (already shipped), in chunks; returns how many.
pub fn prune(engine: &dyn Engine, below: u64) -> Result<usize, StoreError> {
    let mut removed = 0;
    loop {
        let keys: Vec<Vec<u8>> = engine
            .range(TREE, &seq_key(0), &seq_key(below))?
            .take(1000)
            .map(|kv| kv.map(|(k, _)| k))
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Ok(removed);
        }
        removed += keys.len();
        let ops: Vec<Op> = keys
            .into_iter()
            .map(|key| Op {
                tree: TREE.into(),
                key,
                value: None,
            })
            .collect();
        engine.apply(&ops)?;
    }
}

/// Sets the counter (under the writer lock only: see `service::upstream`, which uses it when
/// upstream already holds higher numbers for this box — a replaced or restored box).
pub fn counter_op(n: u64) -> Op {
    Op {
        tree: TREE.into(),
        key: COUNTER_KEY.to_vec(),
        value: Some(encode_counter(n)),
    }
}

/// An entry op (used when unshipped entries are renumbered after a replaced or restored box).
pub fn entry_op(seq: u64, e: &Entry) -> Op {
    Op {
        tree: TREE.into(),
        key: seq_key(seq).to_vec(),
        value: Some(encode_entry(e.at_ms, &e.tree, &e.key, e.value.as_deref())),
    }
}

/// What `check` runs on every value of the outbox tree: entries decode, and so does the record
/// each one carries (through its own tree's check).
pub fn check_value(b: &[u8]) -> Result<(), StoreError> {
    if b.get(1) == Some(&KIND_COUNTER) {
        return decode_counter(b).map(|_| ());
    }
    let e = decode_entry(0, b)?;
    let Some(v) = &e.value else {
        return Ok(());
    };
    type Check = fn(&[u8]) -> Result<(), StoreError>;
    static CHECKS: OnceLock<HashMap<&'static str, Check>> = OnceLock::new();
    let checks = CHECKS.get_or_init(|| {
        super::tables::all()
            .into_iter()
            .map(|t| (t.tree, t.check))
            .collect()
    });
    match checks.get(e.tree.as_str()) {
        Some(f) => f(v).map_err(|err| bad(&format!("entry for {}: {err}", e.tree))),
        None => Err(bad(&format!("entry for unknown tree {}", e.tree))),
    }
}

/// Renders a stored key as text: parts split at 0x00 separators; text parts as they are, an
/// 8-byte binary part as its big-endian number, anything else in hex.
pub fn render_key(k: &[u8]) -> String {
    let printable = |p: &[u8]| {
        std::str::from_utf8(p)
            .ok()
            .filter(|s| !s.chars().any(char::is_control))
            .map(str::to_string)
    };
    if let Some(s) = printable(k) {
        return s;
    }
    if k.len() == 8 {
        return u64::from_be_bytes(k.try_into().expect("8 bytes")).to_string();
    }
    k.split(|&b| b == 0)
        .map(|p| match printable(p) {
            Some(s) => s,
            None if p.len() == 8 => u64::from_be_bytes(p.try_into().expect("8 bytes")).to_string(),
            None => hex::encode(p),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Renders a key whose last 8 bytes are the record's number (punches: employee ‖ time ‖ id).
pub fn render_trailing_u64(k: &[u8]) -> String {
    match k.len().checked_sub(8) {
        Some(at) => u64::from_be_bytes(k[at..].try_into().expect("8 bytes")).to_string(),
        None => hex::encode(k),
    }
}

/// The shipper's progress, written by the shipper only (never under the writer lock).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShipState {
    /// Every entry up to this number is upstream (and may be pruned here).
    pub shipped_seq: u64,
    pub last_ok_unix: i64,
    /// Empty when the last attempt worked.
    pub last_error: String,
    pub last_error_unix: i64,
}
impl super::Record for ShipState {
    const TREE: &'static str = "upstream_state";
}
pub const SHIP_STATE_KEY: &[u8] = b"ship";

/// How far the downstream pull has read each master table (written in the same transaction
/// as the records it brought).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PullCursor(pub i64);
impl super::Record for PullCursor {
    const TREE: &'static str = "upstream_pull";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_counters_are_told_apart() {
        let b = encode_entry(1234, "punches", b"E1\0xyz", Some(b"\x01abc"));
        let e = decode_entry(7, &b).unwrap();
        assert_eq!(e.tree, "punches");
        assert_eq!(e.key, b"E1\0xyz");
        assert_eq!(e.value.as_deref(), Some(&b"\x01abc"[..]));
        assert_eq!(e.at_ms, 1234);
        let d = decode_entry(8, &encode_entry(5, "employees", b"E1", None)).unwrap();
        assert_eq!(d.value, None);
        assert_eq!(decode_counter(&encode_counter(42)).unwrap(), 42);
        assert!(decode_entry(1, &encode_counter(42)).is_err());
        assert!(decode_entry(1, &b[..12]).is_err());
        assert!(COUNTER_KEY > &seq_key(u64::MAX >> 8)[..]);
    }

    #[test]
    fn keys_render_as_text() {
        assert_eq!(render_key(b"E001"), "E001");
        assert_eq!(render_key(&7u64.to_be_bytes()), "7");
        assert_eq!(render_key(b"2026-01-02\0F1\0T9\0L5"), "2026-01-02/F1/T9/L5");
        let mut k = b"E1\0".to_vec();
        k.extend_from_slice(&[0, 0, 0, 0, 0x65, 0, 0, 0]);
        k.extend_from_slice(&99u64.to_be_bytes());
        assert_eq!(render_trailing_u64(&k), "99");
    }

    fn employee(code: &str) -> crate::domain::hr::Employee {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        crate::domain::hr::Employee::new(code, "Siti Aminah", crate::domain::hr::Sex::F, d)
    }

    fn open() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), Default::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn commits_log_their_changes_in_order_without_gaps_and_nothing_else() {
        let (_dir, store) = open();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut tx = store.begin().await;
            tx.put(b"E1", &employee("E1"));
            tx.index("punches_by_day", b"2026-01-01\0x");
            tx.commit().await.unwrap();
            // A transaction dropped without commit logs nothing.
            {
                let mut tx = store.begin().await;
                tx.put(b"E2", &employee("E2"));
            }
            // Trees that are not replicated (indexes, sessions, ...) are not logged.
            let mut tx = store.begin().await;
            tx.index(crate::store::tables::attendance::PUNCHES_BY_DAY, b"k");
            tx.commit().await.unwrap();
            // A line rolled back to its savepoint is not logged either.
            let mut tx = store.begin().await;
            tx.put(b"E4", &employee("E4"));
            let sp = tx.savepoint();
            tx.put(b"E5", &employee("E5"));
            tx.rollback_to(sp);
            tx.put(b"E3", &employee("E3"));
            tx.commit().await.unwrap();
            let mut tx = store.begin().await;
            tx.delete::<crate::domain::hr::Employee>(b"E1");
            tx.commit().await.unwrap();
        });
        let engine = store.engine();
        assert_eq!(last_seq(engine).unwrap(), 4);
        let all = read(engine, 1, 100, 100).unwrap();
        let got: Vec<(u64, &str, &[u8], bool)> = all
            .iter()
            .map(|e| (e.seq, e.tree.as_str(), e.key.as_slice(), e.value.is_some()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "employees", &b"E1"[..], true),
                (2, "employees", &b"E3"[..], true),
                (3, "employees", &b"E4"[..], true),
                (4, "employees", &b"E1"[..], false),
            ]
        );
        let body = (replicated("employees").unwrap().body)(all[0].value.as_ref().unwrap()).unwrap();
        assert_eq!(body["name"], "Siti Aminah");
        let report = crate::store::schema::check(&store).unwrap();
        assert!(report.ok(), "{:?}", report.errors);
        // Pruning shipped entries keeps the numbering.
        assert_eq!(prune(engine, 3).unwrap(), 2);
        assert_eq!(last_seq(engine).unwrap(), 4);
        assert_eq!(first_from(engine, 0).unwrap().unwrap().seq, 3);
        assert!(crate::store::schema::check(&store).unwrap().ok());
    }

    /// `cargo test --lib outbox::tests::cost -- --ignored --nocapture`: what logging adds to
    /// one write's apply (a record and its index entry), without the flush both share.
    #[test]
    #[ignore]
    fn cost_of_logging_a_write() {
        let (_dir, store) = open();
        let engine = store.engine();
        let value = crate::store::codec::encode(&employee("E1"));
        let n = 20_000u64;
        let ops = |i: u64, tree: &str| {
            vec![
                Op {
                    tree: tree.into(),
                    key: format!("E{i}").into_bytes(),
                    value: Some(value.clone()),
                },
                Op {
                    tree: "bench_index".into(),
                    key: format!("x{i}").into_bytes(),
                    value: Some(vec![1]),
                },
            ]
        };
        for round in 0..2 {
            let t = std::time::Instant::now();
            for i in 0..n {
                engine.apply(&ops(i, "bench_plain")).unwrap();
            }
            let plain = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            let t = std::time::Instant::now();
            for i in 0..n {
                let mut o = ops(i, "employees");
                stage(engine, &mut o).unwrap();
                engine.apply(&o).unwrap();
            }
            let logged = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            println!(
                "round {round}: apply of a record + index: {plain:.1} µs; with its outbox entry: {logged:.1} µs (+{:.1} µs)",
                logged - plain
            );
        }
    }
}
