//! The LAN listener: the dispatcher served through hyper directly (`api::handle`, no warp
//! filter chain per request), also because warp 0.3's `serve` cannot set hyper's header read
//! timeout. Without it a client that opens a connection and sends
//! half a request line (or stops in the middle of its headers) holds that connection for ever.
//! Body stalls are the dispatcher's job (`api::body`), which answers them in the family's
//! envelope.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::guard::{Guarded, MAX_HEAD};
use hyper::service::{make_service_fn, service_fn};

/// hyper's read and write buffer per connection at most: the longest head the guard passes on
/// plus one read. hyper's default (about 400 KiB) let each connection sending a chunked body
/// grow its read buffer that far; with this cap a connection costs at most ~72 KiB there.
pub const CONNECTION_BUFFER: usize = MAX_HEAD + 8 * 1024;

/// Binds `addr`; returns the bound address and the server future, which ends once `shutdown`
/// resolves and open requests are answered. Every connection is read through
/// `api::guard::Guarded` (request heads hyper would refuse bare are answered in an envelope).
pub async fn bind_lan(
    addr: SocketAddr,
    header_read_timeout: Duration,
    router: Arc<super::Router>,
    services: Arc<crate::service::Services>,
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
    let make = make_service_fn(move |conn: &Guarded<TcpStream>| {
        let peer = conn.get_ref().peer_addr().ok();
        let router = router.clone();
        let services = services.clone();
        async move {
            Ok::<_, Infallible>(service_fn(move |req: hyper::Request<hyper::Body>| {
                let fut = super::handle(router.clone(), services.clone(), req, peer);
                async move { Ok::<_, Infallible>(fut.await) }
            }))
        }
    });
    let server = hyper::Server::builder(hyper::server::accept::from_stream(incoming))
        .http1_header_read_timeout(header_read_timeout)
        .http1_max_buf_size(CONNECTION_BUFFER)
        .serve(make);
    let fut = async move {
        if let Err(e) = server.with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "LAN listener failed");
        }
    };
    Ok((bound, fut))
}

/// The peer of a request served through warp (the admin socket: none).
pub fn peer() -> impl warp::Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Clone {
    warp::addr::remote()
}
