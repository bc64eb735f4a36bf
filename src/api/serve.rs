//! The LAN listener: the warp filter served through hyper directly, because warp 0.3's `serve`
//! cannot set hyper's header read timeout. Without it a client that opens a connection and sends
//! half a request line (or stops in the middle of its headers) holds that connection for ever.
//! Body stalls are the dispatcher's job (`api::body`), which answers them in the family's
//! envelope.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::server::conn::AddrStream;
use hyper::service::{make_service_fn, service_fn, Service};

/// The peer address, handed to the filter as a request extension (warp's own `remote()` only
/// works under `warp::serve`).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// Binds `addr`; returns the bound address and the server future, which ends once `shutdown`
/// resolves and open requests are answered.
pub fn bind_lan(
    addr: SocketAddr,
    header_read_timeout: Duration,
    filter: warp::filters::BoxedFilter<(warp::http::Response<warp::hyper::Body>,)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, impl Future<Output = ()> + Send + 'static), String> {
    let svc = warp::service(filter);
    let make = make_service_fn(move |conn: &AddrStream| {
        let peer = conn.remote_addr();
        let svc = svc.clone();
        async move {
            Ok::<_, Infallible>(service_fn(move |mut req: hyper::Request<hyper::Body>| {
                req.extensions_mut().insert(Peer(peer));
                let mut svc = svc.clone();
                svc.call(req)
            }))
        }
    });
    let server = hyper::Server::try_bind(&addr)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?
        .tcp_nodelay(true)
        .http1_header_read_timeout(header_read_timeout)
        .serve(make);
    let bound = server.local_addr();
    let fut = async move {
        if let Err(e) = server.with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "LAN listener failed");
        }
    };
    Ok((bound, fut))
}

/// The peer of a request, from either serving path (warp's own or `bind_lan`).
pub fn peer() -> impl warp::Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Clone {
    use warp::Filter;
    warp::addr::remote()
        .and(warp::ext::optional::<Peer>())
        .map(|a: Option<SocketAddr>, p: Option<Peer>| a.or(p.map(|p| p.0)))
}
