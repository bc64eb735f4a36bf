//! The yardstick for Get Labor (issue 15: "within 1.5× of serializing the same records from
//! memory"): renders the Get Labor answer for N labourers held in memory, with the server's own
//! `render_labor`, and prints the median time of one render and the answer's size.
//!
//!     bench-labor 25200        (scripts/bench.sh http compares it with Get Labor's p50 at one
//!                               connection; built with --features bench-tools)
//!
//! Labourers are made like scripts/bench.sh's import (B000000.., every fifth a helper) plus the
//! demo estate's 200.

use std::time::{Duration, Instant};

use gatehouse::api::codelayer::bench::render_labor;
use gatehouse::domain::estate::labour::labourer_from_fields;
use serde_json::json;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.replace('_', "").parse().ok())
        .unwrap_or(25_200);
    let labourers: Vec<_> = (0..n)
        .map(|i| {
            let v = json!({
                "lcode": format!("B{i:06}"), "name": format!("Pekerja {i}"), "fatherName": "Ayah",
                "gender": "F", "musterfirmid": "1", "isHelper": if i % 5 == 0 { "T" } else { "F" },
                "ltype": "R", "displaycode": format!("M-B{i:06}"),
            });
            labourer_from_fields(v.as_object().expect("object"), 0).expect("labourer")
        })
        .collect();
    let mut times: Vec<Duration> = Vec::new();
    let mut size = 0;
    for _ in 0..31 {
        let t = Instant::now();
        let out = render_labor(labourers.iter().map(Ok), || Ok(())).expect("render");
        times.push(t.elapsed());
        size = out.len();
        std::hint::black_box(out);
    }
    times.sort();
    println!(
        "{n} {:.3} {size}",
        times[times.len() / 2].as_secs_f64() * 1e3
    );
    eprintln!(
        "render of {n} labourers from memory: median {:.2} ms, min {:.2} ms, {size} bytes",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}
