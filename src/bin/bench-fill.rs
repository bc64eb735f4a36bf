//! Cost flat in data size: fills a store straight (no HTTP) with N attendance punches and
//! prints, at each size, the p99 of an employee's day (Attendance Today's read; first read
//! after a start, and read again once the store's cache holds it), the p99 of a
//! durable punch write (Tx + group commit, with the day's figures as the server keeps them), the cold start (open + schema check) and the size
//! on disk per million rows.
//!
//!     bench-fill 10000 1000000        (scripts/bench.sh store; built with --features bench-tools)
//!     FILL_KEEP=DIR bench-fill 1000000 keeps the filled store in DIR; bench-fill --open DIR
//!     times two opens of it; bench-fill --at-schema 7 DIR first marks it as written at schema
//!     7, so the first open times the schema steps after it.
//!
//! Punches are spread over 5,000 employees, two a day each, most recent days last. The fill
//! runs with a big store cache (FILL_CACHE_MB, default 512); the measurements after it with
//! the cache the server gives that store under the shipped unit's MemoryMax=512M
//! (`Config::cache_bytes_for`: 8 MiB for a small store, 32 MiB past 512 MiB), or CACHE_MB.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use gatehouse::domain::attendance::{DayFigures, Direction, Punch};
use gatehouse::domain::geofence::LatLon;
use gatehouse::service::attendance::{count_punch, employee_day, punch_key};
use gatehouse::store::tables::attendance::{
    figures_key, present_key, PRESENT_BY_DAY, PUNCHES_BY_DAY,
};
use gatehouse::store::{codec, Op, Record, Store, StoreOptions};

const EMPLOYEES: u64 = 5_000;

fn punch(n: u64, day0: NaiveDate) -> (Vec<u8>, Punch) {
    let emp = n % EMPLOYEES;
    let k = n / EMPLOYEES; // this employee's k-th punch
    let day = day0 + chrono::Days::new(k / 2);
    let at = day
        .and_hms_opt(7 + (k % 2) as u32 * 9, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let code = format!("E{emp:05}");
    let p = Punch {
        id: n + 1,
        employee: code.clone(),
        direction: if k.is_multiple_of(2) {
            Direction::In
        } else {
            Direction::Out
        },
        at_unix: at,
        device_unix: Some(at),
        clock_offset_secs: Some(0),
        site_offset_min: 420,
        attendance_day: day,
        shift: Some("GEN".into()),
        position: LatLon::new(8.95, 77.30),
        accuracy_m: 12.0,
        fence: "OFFICE".into(),
        fence_distance_m: 0.0,
        flags: Vec::new(),
        request_id: format!("fill-{n}"),
        user: None,
        note: String::new(),
    };
    (punch_key(&code, at, n + 1), p)
}

fn index_key(p: &Punch, key: &[u8]) -> Vec<u8> {
    [
        gatehouse::store::prefix(&[p.attendance_day.format("%Y-%m-%d").to_string().as_bytes()]),
        key.to_vec(),
    ]
    .concat()
}

/// A scratch directory, removed when dropped (no dev-dependencies in a bin).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("gatehouse-fill-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(k) = std::env::var("FILL_KEEP") {
            let _ = std::fs::rename(&self.0, k);
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// The store cache the measurements on the store in `dir` run with: CACHE_MB, else what the
/// server would give it under MemoryMax=512M.
fn cache_bytes(dir: &std::path::Path) -> u64 {
    if let Some(mb) = std::env::var("CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return mb << 20;
    }
    let mut cfg = gatehouse::config::Config::default();
    cfg.memory.limit_mb = 512;
    cfg.cache_bytes_for(Store::db_bytes(dir))
}

/// Every tree of `<dir>/store` copied through sled and its log into `<dir>/db` and `<dir>/wal`,
/// in sled batches, then `<dir>/store` removed.
fn as_sled(dir: &std::path::Path) {
    use gatehouse::store::redb_engine::RedbEngine;
    use gatehouse::store::wal::WalEngine;
    use gatehouse::store::{Engine, SledEngine};
    use std::sync::Arc;
    let t = Instant::now();
    let redb = RedbEngine::open(&dir.join("store"), 64 << 20).unwrap();
    let new = WalEngine::open(Arc::new(redb), &dir.join("store/wal")).unwrap();
    let sled = SledEngine::open(&dir.join("db"), 512 << 20).unwrap();
    let mut n = 0u64;
    for tree in new.tree_names() {
        let mut ops = Vec::with_capacity(10_000);
        for kv in new.scan(&tree, b"").unwrap() {
            let (key, value) = kv.unwrap();
            ops.push(Op {
                tree: tree.clone(),
                key,
                value: Some(value),
            });
            if ops.len() == 10_000 {
                sled.apply(&ops).unwrap();
                n += ops.len() as u64;
                ops.clear();
            }
        }
        n += ops.len() as u64;
        sled.apply(&ops).unwrap();
    }
    sled.flush().unwrap();
    drop((sled, new));
    std::fs::remove_dir_all(dir.join("store")).unwrap();
    eprintln!(
        "{n} records rewritten as a sled store in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    if std::env::args().nth(1).is_some_and(|a| a == "--open") {
        // `bench-fill --open DIR`: two timed opens of a kept store (FILL_KEEP=DIR), e.g. after
        // dropping the page cache (echo 3 > /proc/sys/vm/drop_caches).
        let path = std::path::PathBuf::from(std::env::args().nth(2).unwrap());
        for _ in 0..2 {
            let t = Instant::now();
            let s = Store::open(
                &path,
                StoreOptions {
                    cache_bytes: cache_bytes(&path),
                },
            )
            .unwrap();
            eprintln!("open: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
            drop(s);
            std::thread::sleep(Duration::from_millis(300));
        }
        return;
    }
    if std::env::args().nth(1).is_some_and(|a| a == "--at-schema") {
        // `bench-fill --at-schema V DIR`: marks a kept store as written at schema V, so
        // `bench-fill --open DIR` times the first start of a binary that migrates it.
        let version: u32 = std::env::args().nth(2).unwrap().parse().unwrap();
        let path = std::path::PathBuf::from(std::env::args().nth(3).unwrap());
        let store = Store::open(
            &path,
            StoreOptions {
                cache_bytes: cache_bytes(&path),
            },
        )
        .unwrap();
        gatehouse::store::schema::mark_version(&store, version).unwrap();
        return;
    }
    if std::env::args().nth(1).is_some_and(|a| a == "--as-sled") {
        // `bench-fill --as-sled DIR`: rewrites a kept store as the sled releases kept it, so
        // `bench-fill --open DIR` times its move into redb (the first start of this release).
        let path = std::path::PathBuf::from(std::env::args().nth(2).unwrap());
        as_sled(&path);
        return;
    }
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 1_000_000]
    } else {
        sizes
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let opts = |dir: &std::path::Path| StoreOptions {
        cache_bytes: cache_bytes(dir),
    };
    let day0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    // Cold start of an empty store, the yardstick for the others.
    let empty = Scratch::new("empty");
    drop(Store::open(empty.path(), opts(empty.path())).unwrap());
    let t = Instant::now();
    drop(Store::open(empty.path(), opts(empty.path())).unwrap());
    let cold_empty = t.elapsed();
    println!("| rows | fill rows/s | day read p50 | day read p99 | day read again p99 | durable punch p99 | cold start (checkpointed) | cold / empty | first checkpoint = start without one | size on disk | MiB per 1M rows | store cache |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let dir = Scratch::new(&n.to_string());
        // The fill is set-up, not measured: a big cache keeps it from paging the store's tree in
        // and out past a few million rows. The store is reopened with the server's cache
        // before anything is measured.
        let fill_cache = std::env::var("FILL_CACHE_MB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(512)
            << 20;
        let store = Store::open(
            dir.path(),
            StoreOptions {
                cache_bytes: fill_cache,
            },
        )
        .unwrap();
        let t = Instant::now();
        let mut punches = Vec::with_capacity(20_000);
        let mut index = Vec::with_capacity(20_000);
        let mut present = Vec::with_capacity(10_000);
        // The day figures the server keeps with each punch (schema 8), one record a day: the
        // store a fill leaves is the one the server would have written.
        let mut figures = std::collections::BTreeMap::<NaiveDate, DayFigures>::new();
        for i in 0..n {
            let (k, p) = punch(i, day0);
            let f = figures.entry(p.attendance_day).or_default();
            f.count(&p);
            if p.direction == Direction::In {
                // One clock-in per employee and day.
                f.present += 1;
                present.push(Op {
                    tree: PRESENT_BY_DAY.into(),
                    key: present_key(p.attendance_day, &p.employee),
                    value: Some(codec::INDEX_VALUE.to_vec()),
                });
            }
            index.push(Op {
                tree: PUNCHES_BY_DAY.into(),
                key: index_key(&p, &k),
                value: Some(codec::INDEX_VALUE.to_vec()),
            });
            punches.push(Op {
                tree: Punch::TREE.into(),
                key: k,
                value: Some(codec::encode(&p)),
            });
            if punches.len() == 20_000 || i + 1 == n {
                // One tree per batch: one atomic apply (a fill, not a request path).
                store.apply(&std::mem::take(&mut punches)).unwrap();
                store.apply(&std::mem::take(&mut index)).unwrap();
                store.apply(&std::mem::take(&mut present)).unwrap();
            }
        }
        let figures: Vec<Op> = figures
            .iter()
            .map(|(day, f)| Op {
                tree: DayFigures::TREE.into(),
                key: figures_key(*day).into_bytes(),
                value: Some(codec::encode(f)),
            })
            .collect();
        store.apply(&figures).unwrap();
        store.flush_blocking().unwrap();
        let fill = t.elapsed();
        drop(store);
        std::thread::sleep(Duration::from_millis(300));
        let cache = cache_bytes(dir.path());
        let cache_mib = cache >> 20;
        let store = Store::open(dir.path(), StoreOptions { cache_bytes: cache }).unwrap();
        let last_day = day0 + chrono::Days::new((n / EMPLOYEES).saturating_sub(1) / 2);
        // Reads: random employees' days (the most recent day: what Attendance Today asks).
        let read_days = || {
            let mut times = Vec::new();
            let mut rng = 0x2545F4914F6CDD1Du64;
            for _ in 0..3_000 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let code = format!("E{:05}", rng % EMPLOYEES);
                let t = Instant::now();
                let v = employee_day(&store, &code, last_day).unwrap();
                times.push(t.elapsed());
                assert!(!v.is_empty() || n < EMPLOYEES);
            }
            times
        };
        let mut reads = read_days();
        reads.sort();
        let read_p50 = reads[reads.len() / 2];
        // The same days read again: what is left once the leaves are in the store's cache, i.e.
        // the index's own cost (the first pass above also pays for reading them from the file).
        let again = read_days();
        // Durable single-punch writes through Tx + group commit.
        let mut writes = Vec::new();
        rt.block_on(async {
            for i in 0..300u64 {
                let (k, p) = punch(n + i, day0);
                let t = Instant::now();
                let mut tx = store.begin().await;
                tx.put(&k, &p);
                tx.index(PUNCHES_BY_DAY, &index_key(&p, &k));
                count_punch(&mut tx, &p).unwrap();
                tx.commit().await.unwrap();
                writes.push(t.elapsed());
            }
        });
        // The first checkpoint after this bulk fill makes all of it durable in the engine (on
        // sled it was a reopen replaying the whole fill: what a start cost without checkpoints;
        // on redb one durable commit). A start then replays only what came after it.
        let replay_all = rt.block_on(store.checkpoint()).unwrap();
        // A day's writes after the checkpoint, then a stop and a start.
        rt.block_on(async {
            for i in 300..600u64 {
                let (k, p) = punch(n + i, day0);
                let mut tx = store.begin().await;
                tx.put(&k, &p);
                tx.index(PUNCHES_BY_DAY, &index_key(&p, &k));
                count_punch(&mut tx, &p).unwrap();
                tx.commit().await.unwrap();
            }
        });
        let size = store.engine().size_on_disk();
        drop(store);
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        let reopened = Store::open(dir.path(), opts(dir.path())).unwrap();
        let cold = t.elapsed();
        drop(reopened);
        println!(
            "| {n} | {:.0} | {:.1} µs | {:.1} µs | {:.1} µs | {:.2} ms | {:.1} ms | {:.2}× | {:.1} ms | {:.1} MiB | {:.1} | {cache_mib} MiB |",
            n as f64 / fill.as_secs_f64(),
            read_p50.as_secs_f64() * 1e6,
            p99(reads).as_secs_f64() * 1e6,
            p99(again).as_secs_f64() * 1e6,
            p99(writes).as_secs_f64() * 1e3,
            cold.as_secs_f64() * 1e3,
            cold.as_secs_f64() / cold_empty.as_secs_f64().max(1e-6),
            replay_all.as_secs_f64() * 1e3,
            size as f64 / (1 << 20) as f64,
            size as f64 / (1 << 20) as f64 / (n as f64 / 1e6),
        );
    }
    println!(
        "(empty store cold start: {:.1} ms)",
        cold_empty.as_secs_f64() * 1e3
    );
}
