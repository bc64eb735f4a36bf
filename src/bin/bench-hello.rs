//! The bench baseline (scripts/bench.sh): warp hello-world from the same warp and tokio as the
//! server, on the same runtime defaults. `hello [ADDR]` (default 127.0.0.1:18080).

use warp::Filter;

#[tokio::main]
async fn main() {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".into())
        .parse()
        .expect("address");
    let hello = warp::any().map(|| "Hello, World!");
    println!("listening on http://{addr}");
    warp::serve(hello).run(addr).await;
}
