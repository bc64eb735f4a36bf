//! Request heads hyper would refuse with a bare `400` (no body, no envelope) are refused here in
//! the family's envelope instead: a negative, non-numeric or doubled-and-different
//! `Content-Length`, or one sent beside `Transfer-Encoding`. hyper 0.14 rejects those while
//! parsing, before any of our code runs, so the check sits on the connection itself: the
//! reader holds each request head back until it is complete, checks it, and only then hands it
//! to hyper. A refused head is answered on the socket and the connection closed (the framing
//! of whatever follows cannot be trusted); hyper sees the end of the stream and says nothing.
//!
//! Bodies pass through untouched; the reader counts `Content-Length` bytes to find the next
//! head of a keep-alive connection, and stops looking after a chunked body (hyper checks the
//! chunk framing itself, and a chunked request cannot carry a Content-Length we would judge).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Family, Problem, Request};

/// Heads longer than this are left to hyper (which refuses them as too large).
const MAX_HEAD: usize = 64 * 1024;

enum State {
    /// Collecting a request head.
    Head,
    /// Passing `n` body bytes through before the next head.
    Body(u64),
    /// Passing everything through (chunked body, oversized head).
    Through,
    /// Writing our refusal, then end of stream.
    Refusing(BytesMut),
    Done,
}

pub struct Guarded<S> {
    inner: S,
    state: State,
    /// Head bytes held back from hyper, then released.
    held: BytesMut,
    /// Bytes checked and ready for hyper.
    ready: BytesMut,
}

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            state: State::Head,
            held: BytesMut::new(),
            ready: BytesMut::new(),
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// What the `Content-Length` headers of a head say.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body, or a body of this many bytes.
    Length(u64),
    /// A chunked body.
    Chunked,
    /// Framing hyper would refuse with a bare 400.
    Bad,
}

/// Judges a complete request head (request line + headers + blank line).
pub fn framing(head: &[u8]) -> (Framing, Option<Request>) {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        // Anything else is hyper's to refuse (malformed request line, too many headers).
        _ => return (Framing::Length(0), None),
    }
    let mut length: Option<u64> = None;
    let mut bad = false;
    let mut chunked = false;
    let mut map = warp::http::HeaderMap::new();
    for h in req.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            warp::http::header::HeaderName::from_bytes(h.name.as_bytes()),
            warp::http::HeaderValue::from_bytes(h.value),
        ) {
            map.append(name, value);
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            // hyper takes a list of equal values ("5, 5") and refuses anything else.
            for part in h.value.split(|b| *b == b',') {
                let text = std::str::from_utf8(part).unwrap_or("x").trim();
                let n = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                    text.parse::<u64>().ok()
                } else {
                    None
                };
                match (n, length) {
                    (None, _) => bad = true,
                    (Some(n), Some(prev)) if n != prev => bad = true,
                    (Some(n), _) => length = Some(n),
                }
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        }
    }
    let framing = if bad || (chunked && length.is_some()) {
        Framing::Bad
    } else if chunked {
        Framing::Chunked
    } else {
        Framing::Length(length.unwrap_or(0))
    };
    let request = (framing == Framing::Bad).then(|| {
        let target = req.path.unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: req
                .method
                .and_then(|m| warp::http::Method::from_bytes(m.as_bytes()).ok())
                .unwrap_or(warp::http::Method::GET),
            path: path.to_string(),
            query: query.to_string(),
            headers: map,
            body: bytes::Bytes::new(),
            params: Vec::new(),
            peer: None,
        }
    });
    (framing, request)
}

/// The refusal of a head with bad framing, as raw HTTP/1.1 in the family's envelope.
pub fn refusal(req: &Request) -> Vec<u8> {
    let family = Family::of_path(&req.path, false);
    let resp = family.render(req, &Problem::new(400, "body.content_length"));
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        resp.status.as_u16(),
        resp.status.canonical_reason().unwrap_or(""),
        resp.content_type,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&resp.body);
    bytes
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Guarded<S> {
    /// Moves what can be judged from `held` to `ready`, advancing the state.
    fn advance(&mut self) {
        loop {
            match &mut self.state {
                State::Head => {
                    // Blank lines between requests are allowed and skipped by hyper.
                    match head_end(&self.held) {
                        Some(end) => {
                            let (f, req) = framing(&self.held[..end]);
                            match f {
                                Framing::Bad => {
                                    let req = req.expect("a request for a bad head");
                                    self.held.clear();
                                    self.state =
                                        State::Refusing(BytesMut::from(&refusal(&req)[..]));
                                    return;
                                }
                                Framing::Chunked => {
                                    self.state = State::Through;
                                }
                                Framing::Length(n) => self.state = State::Body(n),
                            }
                            let head = self.held.split_to(end);
                            self.ready.extend_from_slice(&head);
                        }
                        None if self.held.len() > MAX_HEAD => self.state = State::Through,
                        None => return,
                    }
                }
                State::Body(n) => {
                    let take = (*n).min(self.held.len() as u64) as usize;
                    let part = self.held.split_to(take);
                    self.ready.extend_from_slice(&part);
                    *n -= take as u64;
                    if *n > 0 {
                        return;
                    }
                    self.state = State::Head;
                    if self.held.is_empty() {
                        return;
                    }
                }
                State::Through => {
                    let all = self.held.split();
                    self.ready.extend_from_slice(&all);
                    return;
                }
                State::Refusing(_) | State::Done => return,
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            match &mut this.state {
                State::Refusing(out) => {
                    while !out.is_empty() {
                        match Pin::new(&mut this.inner).poll_write(cx, out) {
                            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                                out.clear();
                                break;
                            }
                            Poll::Ready(Ok(n)) => out.advance(n),
                            Poll::Pending => return Poll::Pending,
                        }
                    }
                    let _ = Pin::new(&mut this.inner).poll_flush(cx);
                    this.state = State::Done;
                    return Poll::Ready(Ok(()));
                }
                State::Done => return Poll::Ready(Ok(())),
                State::Through if this.held.is_empty() => {
                    return Pin::new(&mut this.inner).poll_read(cx, buf);
                }
                _ => {}
            }
            let mut tmp = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut tmp);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    if rb.filled().is_empty() {
                        // End of stream: release whatever was held; hyper judges it.
                        let rest = this.held.split();
                        this.ready.extend_from_slice(&rest);
                        if this.ready.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                        this.state = State::Through;
                        continue;
                    }
                    this.held.extend_from_slice(rb.filled());
                    this.advance();
                }
                other => return other,
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_framing() {
        let f = |h: &str| framing(h.as_bytes()).0;
        assert_eq!(
            f("POST /x HTTP/1.1\r\ncontent-length: 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(f("GET /x HTTP/1.1\r\n\r\n"), Framing::Length(0));
        assert_eq!(
            f("POST /x HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(
            f("POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"),
            Framing::Chunked
        );
        for bad in [
            "POST /x HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
            "POST /x HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
            "POST /x HTTP/1.1\r\ncontent-length: 5, 7\r\n\r\n",
            "POST /x HTTP/1.1\r\ncontent-length: +5\r\n\r\n",
            "POST /x HTTP/1.1\r\ncontent-length: abc\r\n\r\n",
            "POST /x HTTP/1.1\r\ncontent-length: 99999999999999999999999\r\n\r\n",
            "POST /x HTTP/1.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(f(bad), Framing::Bad, "{bad:?}");
        }
    }

    #[test]
    fn refusals_come_in_the_family_envelope() {
        let judge = |path: &str| {
            let head =
                format!("POST {path} HTTP/1.1\r\nx-request-id: r1\r\ncontent-length: -1\r\n\r\n");
            let (_, req) = framing(head.as_bytes());
            String::from_utf8(refusal(&req.unwrap())).unwrap()
        };
        let da = judge("/daily/v1/user/login");
        assert!(da.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{da}");
        assert!(
            da.contains("\"request_id\":\"r1\"") && da.contains("\"code\":400"),
            "{da}"
        );
        let cl = judge("/codelayer/system/auth");
        assert!(
            cl.starts_with("HTTP/1.1 200 OK\r\n") && cl.contains("\"e\":400"),
            "{cl}"
        );
        let au = judge("/api/users/authorize");
        assert!(
            au.starts_with("HTTP/1.1 400") && au.contains("\"status\":\"error\""),
            "{au}"
        );
    }
}
