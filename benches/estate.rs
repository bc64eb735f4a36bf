//! Estate figures: Get Labor for 25,000 labourers, and muster lines stored durably per second.
//!
//!     cargo bench --bench estate
//!
//! A plain main that prints numbers (no bench harness). The store is a fresh sled database in a
//! temporary directory with the configured cache; "durably" means `Tx::commit` returned, i.e.
//! the batch was applied atomically and the shared flush covering it finished.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gatehouse::api::Router;
use gatehouse::config::Config;
use gatehouse::domain::estate::labour::{EstateTask, Firm, Gender, LabourType, Labourer};
use gatehouse::domain::estate::muster::{grams, LineFields, Weighment};
use gatehouse::domain::estate::{EstateTaskId, FirmId, LabourCode};
use gatehouse::domain::identity::Role;
use gatehouse::service::estate::{labour, muster, today};
use gatehouse::service::{codelayer_session, devices, identity, Services};
use gatehouse::store::{Store, StoreOptions};
use gatehouse::telemetry::Metrics;
use serde_json::{json, Value};
use warp::http::{HeaderMap, Method};

const LABOURERS: usize = 25_000;
const BATCH: usize = 10_000;
const IMEI: &str = "352099001761481";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

fn labourer(n: usize) -> Labourer {
    Labourer {
        lcode: LabourCode(format!("R{n:06}")),
        name: format!("PEKERJA NOMOR {n}"),
        father_name: "RAMASAMY".into(),
        gender: if n.is_multiple_of(2) {
            Gender::Female
        } else {
            Gender::Male
        },
        address: "EDAIKAL, TENKASI, THIRUNELVELI DISTRICT".into(),
        desig_id: "1".into(),
        desig_name: "LABOUR".into(),
        display_code: format!("MNJ-{n:06}"),
        muster_firm: FirmId("1".into()),
        labour_firm: FirmId("1".into()),
        is_helper: n.is_multiple_of(5),
        is_supervisor: false,
        ltype: LabourType::Regular,
        gang: None,
        active: true,
        updated_unix: 0,
    }
}

fn task(i: usize, date: chrono::NaiveDate) -> EstateTask {
    EstateTask {
        firm: FirmId("1".into()),
        id: EstateTaskId(format!("T{i}")),
        date,
        crop: "TEA".into(),
        crop_id: "1".into(),
        field: "TF18".into(),
        field_code: "F18".into(),
        job: "SHEAR PLUCKING [SP]".into(),
        job_code: "SP".into(),
        labour_count: 25_000,
        harvest_job: true,
        material_reqd: false,
        cocktail_reqd: false,
        moisture_perc: 5.0,
    }
}

/// CPU time of the whole process: on a machine shared with other work, wall time overstates
/// what the box itself would spend; both are printed.
fn cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn stats(name: &str, mut xs: Vec<Duration>) {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: median {:.1} ms, min {:.1} ms, max {:.1} ms ({} runs)",
        ms(xs[xs.len() / 2]),
        ms(xs[0]),
        ms(xs[xs.len() - 1]),
        xs.len()
    );
}

async fn call(router: &Router, svc: &Arc<Services>, path: &str, body: &Value) -> (Bytes, Duration) {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap());
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("content-length", bytes.len().to_string().parse().unwrap());
    let started = Instant::now();
    let stream = futures_util::stream::once(async move { Ok::<_, String>(bytes) });
    let resp = router
        .dispatch(
            svc.clone(),
            gatehouse::api::Head {
                method: Method::POST,
                path: path.into(),
                query: String::new(),
                headers,
                peer: None,
            },
            stream,
        )
        .await;
    let took = started.elapsed();
    assert_eq!(resp.status.as_u16(), 200);
    (resp.body, took)
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
    println!(
        "store: fresh sled in {}, cache {} MiB",
        tmp.path().display(),
        cache >> 20
    );

    // Seed: one firm, 25,000 labourers, tasks of today, a licensed handheld with a session.
    let started = Instant::now();
    let date = today(&svc);
    for chunk in (0..LABOURERS).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = svc.store.begin().await;
        labour::put_firm(
            &mut tx,
            &Firm {
                id: FirmId("1".into()),
                name: "MUNJAMULLAY ESTATE".into(),
            },
        )
        .unwrap();
        for &n in chunk {
            labour::put_labourer(&svc, &mut tx, &labourer(n)).unwrap();
        }
        tx.commit().await.unwrap();
    }
    let mut tx = svc.store.begin().await;
    for i in 0..12 {
        labour::put_task(&mut tx, &task(i, date)).unwrap();
    }
    let user = identity::add_user(
        &svc,
        &mut tx,
        identity::NewUser {
            username: "bench",
            password: "bench-pass-1",
            role: Role::Supervisor,
            name: "",
            phone: "",
            email: "",
        },
    )
    .unwrap();
    devices::licence_request(&svc, &mut tx, IMEI, "POABS").unwrap();
    devices::decide(&svc, &mut tx, IMEI, devices::Decision::Approve).unwrap();
    let key = codelayer_session::issue(&svc, &mut tx, user.id, IMEI, "1.0.0.0");
    tx.commit().await.unwrap();
    println!(
        "seeded {LABOURERS} labourers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let router = Router::lan();

    // Get Labor.
    let mut service_times = Vec::new();
    let c0 = cpu();
    for _ in 0..10 {
        let t = Instant::now();
        let list = labour::labourers(&svc.store).unwrap();
        service_times.push(t.elapsed());
        assert_eq!(list.len(), LABOURERS);
    }
    stats(
        "Get Labor, service call (25,000 labourers read and decoded)",
        service_times,
    );
    println!(
        "  CPU per call: {:.1} ms",
        (cpu() - c0).as_secs_f64() * 1e3 / 10.0
    );
    let mut op_times = Vec::new();
    let mut size = 0;
    let c0 = cpu();
    for _ in 0..10 {
        let (body, took) = call(
            &router,
            &svc,
            "/codelayer/estate/sync/labors",
            &json!({"key": key.expose()}),
        )
        .await;
        op_times.push(took);
        size = body.len();
    }
    let op_cpu = (cpu() - c0).as_secs_f64() * 1e3 / 10.0;
    let check: Value = serde_json::from_slice(
        &call(
            &router,
            &svc,
            "/codelayer/estate/sync/labors",
            &json!({"key": key.expose()}),
        )
        .await
        .0,
    )
    .unwrap();
    assert_eq!(check["Labor"].as_array().unwrap().len(), LABOURERS);
    stats(
        "Get Labor, whole operation (session check, read, JSON answer rendered)",
        op_times,
    );
    println!("  CPU per operation: {op_cpu:.1} ms");
    println!(
        "Get Labor answer: {} bytes ({:.1} MiB) for {LABOURERS} labourers",
        size,
        size as f64 / (1 << 20) as f64
    );

    // Post Muster through the service: batches of 10,000 lines, committed part by part, durable.
    let device = muster::Device {
        imei: IMEI.into(),
        user: user.id,
    };
    let lines = |first: usize| -> Vec<muster::LineIn> {
        (first..first + BATCH)
            .map(|n| muster::LineIn {
                line_id: Some(format!("S{n}")),
                fields: Ok(LineFields {
                    lcode: LabourCode(format!("R{n:06}")),
                    weighment: Weighment {
                        gross_g: grams(12.0),
                        bag_g: grams(0.5),
                        net_g: None,
                    },
                    is_helper: Some(n.is_multiple_of(5)),
                    half_day: false,
                    with_muster: true,
                    at: date.and_hms_opt(8, 15, 0).unwrap(),
                }),
            })
            .collect()
    };
    let mut batch_times = Vec::new();
    let mut stored = 0;
    let c0 = cpu();
    for i in 0..6 {
        let m = muster::MusterIn {
            firm: FirmId("1".into()),
            task: EstateTaskId(format!("T{}", i / 2)),
            diary_slip_no: format!("DS{i}"),
            job_ends: false,
            materials: vec![],
            pests: vec![],
            lines: lines((i % 2) * BATCH),
        };
        let t = Instant::now();
        let out = muster::post(&svc, &device, std::slice::from_ref(&m))
            .await
            .unwrap();
        let took = t.elapsed();
        assert_eq!(out[0].stored(), BATCH);
        stored += BATCH;
        println!(
            "  service batch {i}: {BATCH} lines stored (parts of {}), durable after {:.0} ms",
            muster::PART_LINES,
            took.as_secs_f64() * 1e3
        );
        batch_times.push(took);
    }
    let total: f64 = batch_times.iter().map(Duration::as_secs_f64).sum();
    let batch_cpu = (cpu() - c0).as_secs_f64();
    stats(
        "Post Muster via service, one 10,000-line batch to durable",
        batch_times,
    );
    println!("  CPU per batch: {:.0} ms", batch_cpu * 1e3 / 6.0);
    println!(
        "muster lines stored durably (service + commit): {:.0} lines/s",
        stored as f64 / total
    );

    // The same through the whole Codelayer operation (JSON parse, session, per-line answers).
    let mut op_times = Vec::new();
    let c0 = cpu();
    for i in 0..6 {
        let first = (i % 2) * BATCH;
        let lines: Vec<Value> = (first..first + BATCH)
            .map(|n| json!({"lineID": format!("H{n}"), "lcode": format!("R{n:06}"), "grossWeight": 12.0, "BagWeight": 0.5,
                "netWeight": if n.is_multiple_of(5) { 11.5 } else { 10.925 }, "isHelper": if n.is_multiple_of(5) { "T" } else { "F" },
                "HalfDay": "F", "withMuster": "T", "DateTime": format!("{date} 08:15:00")}))
            .collect();
        let body = json!({"key": key.expose(), "musters": [{"TaskID": format!("T{}", 6 + i / 2), "firmid": "1", "DiarySlipNo": "X", "JobEnds": "F", "materials": [], "pests": [], "muster": lines}]});
        let (resp, took) = call(&router, &svc, "/codelayer/estate/sync/muster", &body).await;
        let v: Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!(v["accepted"], BATCH, "{}", v["msg"]);
        op_times.push(took);
    }
    let total: f64 = op_times.iter().map(Duration::as_secs_f64).sum();
    let op_cpu = (cpu() - c0).as_secs_f64();
    stats(
        "Post Muster whole operation, one 10,000-line batch",
        op_times,
    );
    println!(
        "  CPU per batch (incl. building the request JSON here): {:.0} ms",
        op_cpu * 1e3 / 6.0
    );
    println!(
        "muster lines stored durably (whole operation): {:.0} lines/s",
        (6 * BATCH) as f64 / total
    );
    let flush = svc.store.flush_stats();
    println!(
        "flushes: {} (avg {:.1} ms)",
        flush.flushes.load(std::sync::atomic::Ordering::Relaxed),
        flush
            .micros_total
            .load(std::sync::atomic::Ordering::Relaxed) as f64
            / 1e3
            / flush
                .flushes
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(1) as f64
    );
}
