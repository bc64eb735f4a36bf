//! The LAN listener: the warp filter served through hyper directly, because warp 0.3's `serve`
//! cannot set hyper's header read timeout. Without it a client that opens a connection and sends
//! half a request line (or stops in the middle of its headers) holds that connection for ever.
//! Body stalls are the dispatcher's job (`api::body`), which answers them in the family's
//! envelope.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::guard::Guarded;
use hyper::service::{make_service_fn, service_fn, Service};

/// The peer address, handed to the filter as a request extension (warp's own `remote()` only
/// works under `warp::serve`).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// Binds `addr`; returns the bound address and the server future, which ends once `shutdown`
/// resolves and open requests are answered. Every connection is read through
/// `api::guard::Guarded` (request heads hyper would refuse bare are answered in an envelope).
pub async fn bind_lan(
    addr: SocketAddr,
    header_read_timeout: Duration,
    filter: warp::filters::BoxedFilter<(warp::http::Response<warp::hyper::Body>,)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, impl Future<Output = ()> + Send + 'static), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |c| {
            c.map(|s| {
                let _ = s.set_nodelay(true);
                Guarded::new(s)
            })
        },
    );
    let svc = warp::service(filter);
    let make = make_service_fn(move |conn: &Guarded<TcpStream>| {
        let peer = conn.get_ref().peer_addr().ok();
        let svc = svc.clone();
        async move {
            Ok::<_, Infallible>(service_fn(move |mut req: hyper::Request<hyper::Body>| {
                if let Some(peer) = peer {
                    req.extensions_mut().insert(Peer(peer));
                }
                let mut svc = svc.clone();
                svc.call(req)
            }))
        }
    });
    let server = hyper::Server::builder(hyper::server::accept::from_stream(incoming))
        .http1_header_read_timeout(header_read_timeout)
        .serve(make);
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
