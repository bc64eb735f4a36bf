//! Biometric terminals: ATTLOG lines stored durably per second, through the whole /iclock path
//! (router, plain-text parse, PIN → employee, attendance day, one Tx per upload, shared flush).
//!
//!     cargo bench --bench terminals
//!
//! A plain main that prints numbers. "Durably" means the `OK: <n>` answer was produced, which
//! happens only after `Tx::commit` returned (applied atomically, covered by a finished flush).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gatehouse::api::Router;
use gatehouse::config::Config;
use gatehouse::domain::terminals::TerminalState;
use gatehouse::service::{hr, terminals, Services};
use gatehouse::store::{Store, StoreOptions};
use gatehouse::telemetry::Metrics;
use warp::http::{HeaderMap, Method};

const EMPLOYEES: usize = 1_000;
const LINES: usize = 500;
const BATCHES: usize = 20;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

fn cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Batch `b` of terminal `t`: 500 punches of distinct employees and minutes.
fn batch(t: usize, b: usize) -> Bytes {
    let mut s = String::with_capacity(LINES * 40);
    for i in 0..LINES {
        let n = b * LINES + i;
        let pin = n % EMPLOYEES + 1;
        let day = 1 + (n / (EMPLOYEES * 8)) % 28;
        let minute = (n / EMPLOYEES) % 8 * 60 + t * 7 + 6 * 60;
        s.push_str(&format!(
            "{pin}\t2026-10-{day:02} {:02}:{:02}:{:02}\t{}\t1\t0\t0\t0\r\n",
            minute / 60,
            minute % 60,
            t,
            (n / EMPLOYEES) % 2
        ));
    }
    Bytes::from(s)
}

async fn upload(router: &Router, svc: &Arc<Services>, sn: &str, body: Bytes) -> String {
    let mut headers = HeaderMap::new();
    headers.insert("content-length", body.len().to_string().parse().unwrap());
    let stream = futures_util::stream::once(async move { Ok::<_, String>(body) });
    let resp = router
        .dispatch(
            svc.clone(),
            gatehouse::api::Head {
                method: Method::POST,
                path: "/iclock/cdata".into(),
                query: format!("SN={sn}&table=ATTLOG&Stamp=1"),
                headers,
                peer: None,
            },
            stream,
        )
        .await;
    assert_eq!(resp.status.as_u16(), 200, "{:?}", resp.body);
    String::from_utf8_lossy(&resp.body).into_owned()
}

async fn run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = Config {
        state_dir: tmp.path().to_path_buf(),
        ..Config::default()
    };
    let cache = cfg.cache_bytes_for(0);
    let store = Store::open(tmp.path(), StoreOptions { cache_bytes: cache }).expect("store");
    let svc = Services::new(store, Arc::new(cfg), Arc::new(Metrics::default())).expect("services");
    println!("store: fresh sled, cache {} MiB", cache >> 20);

    let mut tx = svc.store.begin().await;
    for n in 1..=EMPLOYEES {
        let code = format!("E{n:04}");
        let name = format!("PEKERJA {n}");
        let cells = [
            ("code", code.as_str()),
            ("name", name.as_str()),
            ("sex", "M"),
            ("doj", "2020-01-01"),
        ];
        let get = |k: &str| {
            cells
                .iter()
                .find(|(c, _)| *c == k)
                .map(|(_, v)| v.to_string())
        };
        hr::upsert_employee(&svc, &mut tx, &get).expect("employee");
    }
    tx.commit().await.unwrap();
    for t in 0..4 {
        terminals::set_state(&svc, &format!("BENCH{t}"), TerminalState::Approved, None)
            .await
            .unwrap();
    }
    let router = Router::lan();
    println!("seeded {EMPLOYEES} employees and 4 approved terminals");

    // One terminal, its backlog in 500-line uploads one after another.
    let (w, c) = (Instant::now(), cpu());
    for b in 0..BATCHES {
        let ok = upload(&router, &svc, "BENCH0", batch(0, b)).await;
        assert_eq!(ok, format!("OK: {LINES}"));
    }
    let secs = w.elapsed().as_secs_f64();
    let n = (BATCHES * LINES) as f64;
    println!(
        "ATTLOG, one terminal, {BATCHES} x {LINES} lines: {:.0} lines/s stored durably ({:.1} ms per upload, CPU {:.0} µs per line)",
        n / secs,
        secs * 1e3 / BATCHES as f64,
        (cpu() - c).as_secs_f64() * 1e6 / n
    );

    // The same backlog again (a terminal whose stamp was reset): nothing stored twice.
    let w = Instant::now();
    for b in 0..BATCHES {
        upload(&router, &svc, "BENCH0", batch(0, b)).await;
    }
    println!(
        "ATTLOG re-sent, {BATCHES} x {LINES} lines: {:.0} lines/s recognised as stored",
        n / w.elapsed().as_secs_f64()
    );

    // Three more terminals at once (uploads share flushes; one writer).
    let (w, c) = (Instant::now(), cpu());
    let mut tasks = Vec::new();
    for t in 1..4 {
        let router = Router::lan();
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..BATCHES {
                upload(&router, &svc, &format!("BENCH{t}"), batch(t, b)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = w.elapsed().as_secs_f64();
    let n3 = 3.0 * n;
    println!(
        "ATTLOG, three terminals at once, {} lines: {:.0} lines/s stored durably (CPU {:.0} µs per line)",
        n3 as usize,
        n3 / secs,
        (cpu() - c).as_secs_f64() * 1e6 / n3
    );
    let t = terminals::terminal(&svc.store, "BENCH0").unwrap().unwrap();
    assert_eq!(t.punches_stored as usize, BATCHES * LINES);
    assert_eq!(t.duplicates as usize, BATCHES * LINES);
}
