//! Request heads hyper would refuse with a bare `400` (no body, no envelope) are refused here in
//! the family's envelope instead: a negative, non-numeric or doubled-and-different
//! `Content-Length`, or one sent beside `Transfer-Encoding`. hyper 0.14 rejects those while
//! parsing, before any of our code runs, so the check sits on the connection itself: the
//! reader holds each request head back until it is complete, checks it, and only then hands it
//! to hyper. A refused head is handed on rewritten (no body, `connection: close`, and the
//! `MARK` header), so the dispatcher answers it in its family's envelope, in turn after any
//! request pipelined before it; nothing after it is read (it cannot be framed), and hyper
//! closes the connection once it has answered.
//!
//! Bodies pass through untouched; the reader counts `Content-Length` bytes to find the next
//! head of a keep-alive connection, and stops looking after a chunked body (hyper checks the
//! chunk framing itself, and a chunked request cannot carry a Content-Length we would judge).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Set on a head the guard refused; the value says why (`MARK_FRAMING`: a 400, `MARK_HEAD`:
/// a 431).
pub const MARK: &str = "x-gatehouse-bad-framing";
pub const MARK_FRAMING: &str = "framing";
pub const MARK_HEAD: &str = "head";

/// The longest request head passed on. A longer one is refused in its family's envelope (431);
/// hyper's own buffer per connection is sized just above it (`MAX_HEAD + 8 KiB`, see
/// `serve::CONNECTION_BUFFER`), not hyper's default of about 400 KiB.
pub const MAX_HEAD: usize = 64 * 1024;

enum State {
    /// Collecting a request head.
    Head,
    /// Passing `n` body bytes through before the next head.
    Body(u64),
    /// Passing everything through (after a chunked body, or the end of the stream).
    Through,
    /// Nothing more is read once the rewritten head is.
    Done,
}

pub struct Guarded<S> {
    inner: S,
    state: State,
    /// Head bytes held back from hyper, then released.
    held: BytesMut,
    /// Bytes checked and ready for hyper.
    ready: BytesMut,
    /// How far `held` was searched for the end of the head (a head that trickles in byte by
    /// byte is searched once, not once per byte).
    scanned: usize,
}

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            state: State::Head,
            held: BytesMut::new(),
            ready: BytesMut::new(),
            scanned: 0,
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

/// Judges a complete request head (request line + headers + blank line); for bad framing,
/// also gives the head to hand on in its place.
pub fn framing(head: &[u8]) -> (Framing, Option<Vec<u8>>) {
    match judge(head) {
        Judged::Complete(_, f, req) => (f, req),
        // Anything else is hyper's to refuse (malformed request line, too many headers).
        Judged::Partial | Judged::Unparsed => (Framing::Length(0), None),
    }
}

/// What one parse of the bytes held says.
enum Judged {
    /// A whole head of this many bytes, its framing, and for bad framing the head to hand on.
    Complete(usize, Framing, Option<Vec<u8>>),
    /// No end of head yet.
    Partial,
    /// Not a request head httparse takes: hyper refuses it once its end is found.
    Unparsed,
}

/// Parses the head at the start of `buf` once: where it ends and what its framing is. The
/// header slots are left uninitialised (128 of them zeroed per request cost more than the
/// parse of a short head).
fn judge(buf: &[u8]) -> Judged {
    let mut slots = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
    let mut req = httparse::Request::new(&mut []);
    let end = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(end)) => end,
        Ok(httparse::Status::Partial) => return Judged::Partial,
        Err(_) => return Judged::Unparsed,
    };
    let mut length: Option<u64> = None;
    let mut bad = false;
    let mut chunked = false;
    for h in req.headers.iter() {
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
        let mut out = format!(
            "{} {} HTTP/1.1\r\n",
            req.method.unwrap_or("GET"),
            req.path.unwrap_or("/")
        )
        .into_bytes();
        for h in req.headers.iter() {
            let n = h.name.to_ascii_lowercase();
            if ["content-length", "transfer-encoding", "connection", MARK].contains(&n.as_str()) {
                continue;
            }
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(
            format!("content-length: 0\r\nconnection: close\r\n{MARK}: {MARK_FRAMING}\r\n\r\n")
                .as_bytes(),
        );
        out
    });
    Judged::Complete(end, framing, request)
}

/// The head handed on in place of one longer than `MAX_HEAD`: its request line (so the
/// answer comes in the family's envelope) and, among the lines that arrived whole, the
/// language and request id headers (the envelope carries both); no body, `connection: close`,
/// marked `head`.
pub fn too_large(partial: &[u8]) -> Vec<u8> {
    let mut lines = partial
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(|b| *b == b' ');
    let method = parts
        .next()
        .filter(|m| !m.is_empty() && m.len() <= 16 && m.iter().all(u8::is_ascii_uppercase))
        .unwrap_or(b"GET");
    // A path cut off by the limit (no version after it) is not a path: `/`.
    let path = match (parts.next(), parts.next()) {
        (Some(p), Some(_))
            if p.starts_with(b"/")
                && p.len() <= 8 * 1024
                && p.iter().all(|b| b.is_ascii_graphic()) =>
        {
            p
        }
        _ => b"/",
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // Only lines followed by another arrived whole (the last one may be cut).
    let whole: Vec<&[u8]> = lines.collect();
    for line in whole.iter().take(whole.len().saturating_sub(1)) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = line[..colon].to_ascii_lowercase();
        let carried = [&b"x-language"[..], b"accept-language", b"x-request-id"];
        let printable = line
            .iter()
            .all(|b| *b == b'\t' || (b' '..=b'~').contains(b));
        if carried.contains(&name.as_slice()) && line.len() <= 256 && printable {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(
        format!("content-length: 0\r\nconnection: close\r\n{MARK}: {MARK_HEAD}\r\n\r\n").as_bytes(),
    );
    out
}

/// Where the head at the start of `buf` ends, as hyper (httparse) sees it: after the first
/// empty line, whether lines end in CRLF or a bare LF.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = buf[from..].iter().position(|&b| b == b'\n') {
        let at = from + p;
        match buf.get(at + 1) {
            Some(b'\n') => return Some(at + 2),
            Some(b'\r') if buf.get(at + 2) == Some(&b'\n') => return Some(at + 3),
            _ => {}
        }
        from = at + 1;
    }
    None
}

impl<S: AsyncRead + AsyncWrite + Unpin> Guarded<S> {
    /// Hands on the marked stand-in for a head longer than `MAX_HEAD` (the first `upto` bytes
    /// held) and reads nothing more.
    fn refuse_too_large(&mut self, upto: usize) {
        let head = too_large(&self.held[..upto]);
        self.held.clear();
        self.scanned = 0;
        self.ready.extend_from_slice(&head);
        self.state = State::Done;
    }

    /// Moves what can be judged from `held` to `ready`, advancing the state.
    fn advance(&mut self) {
        loop {
            match &mut self.state {
                State::Head => {
                    // A head that came in one read (the usual case) is parsed once, which finds
                    // its end too; one that trickles in is searched for its end incrementally
                    // (never re-parsed per byte) and parsed once when the end is there.
                    let judged = match self.scanned {
                        0 => judge(&self.held),
                        _ => Judged::Partial,
                    };
                    let found = match judged {
                        Judged::Complete(end, f, req) => Some((end, f, req)),
                        Judged::Partial | Judged::Unparsed => {
                            // Blank lines between requests are allowed and skipped by hyper.
                            let from = self.scanned.saturating_sub(3);
                            let end = head_end(&self.held[from..]).map(|e| e + from);
                            self.scanned = self.held.len().max(1);
                            end.map(|end| {
                                let (f, req) = framing(&self.held[..end]);
                                (end, f, req)
                            })
                        }
                    };
                    match found {
                        Some((end, ..)) if end > MAX_HEAD => return self.refuse_too_large(end),
                        Some((end, f, req)) => {
                            self.scanned = 0;
                            match f {
                                Framing::Bad => {
                                    let head = req.expect("a rewritten head");
                                    self.held.clear();
                                    self.ready.extend_from_slice(&head);
                                    self.state = State::Done;
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
                        // No end within the limit: the head is longer than it.
                        None if self.held.len() > MAX_HEAD => {
                            return self.refuse_too_large(self.held.len())
                        }
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
                State::Done => {
                    self.held.clear();
                    return;
                }
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
                // No end of stream: hyper (without half-close) would drop the answer it owes.
                // It closes the connection itself after answering the `connection: close` head.
                State::Done => return Poll::Pending,
                State::Through if this.held.is_empty() => {
                    return Pin::new(&mut this.inner).poll_read(cx, buf);
                }
                _ => {}
            }
            // Uninitialised: zeroing 8 KiB on every poll (most return "would block") cost more
            // than the head it reads.
            let mut tmp = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
            let mut rb = ReadBuf::uninit(&mut tmp);
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

    // Vectored writes passed through: without them hyper "flattens" every response into its
    // own write buffer, so 32 handhelds fetching one shared 5 MB answer held 32 copies of it.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
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
    fn a_bad_head_is_handed_on_marked_and_bodiless() {
        let head = "POST /codelayer/system/auth?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\nConnection: keep-alive\r\nx-request-id: r1\r\n\r\n";
        let (f, out) = framing(head.as_bytes());
        assert_eq!(f, Framing::Bad);
        let out = String::from_utf8(out.unwrap()).unwrap();
        assert!(
            out.starts_with("POST /codelayer/system/auth?x=1 HTTP/1.1\r\n"),
            "{out}"
        );
        assert!(out.contains("Host: h\r\nx-request-id: r1\r\n"), "{out}");
        assert!(
            out.ends_with(
                "content-length: 0\r\nconnection: close\r\nx-gatehouse-bad-framing: framing\r\n\r\n"
            ),
            "{out}"
        );
        assert!(!out.contains("-1") && !out.contains("keep-alive"), "{out}");
    }

    /// A client that sends `step` bytes per read, then waits for its answers (keeps the
    /// connection open: nothing is released by an end of stream).
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.at == self.data.len() {
                return Poll::Pending;
            }
            let n = self
                .step
                .min(self.data.len() - self.at)
                .min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.data[at..at + n]);
            self.at += n;
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// What hyper reads through the guard from a client sending `data` `step` bytes at a time
    /// (until the guard waits for more).
    fn through_guard(data: &[u8], step: usize) -> Vec<u8> {
        let mut g = Guarded::new(Trickle {
            data: data.to_vec(),
            at: 0,
            step,
        });
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        let mut chunk = [0u8; 5000];
        loop {
            let mut rb = ReadBuf::new(&mut chunk);
            match Pin::new(&mut g).poll_read(&mut cx, &mut rb) {
                Poll::Ready(Ok(())) => out.extend_from_slice(rb.filled()),
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => return out,
            }
        }
    }

    #[test]
    fn pipelined_heads_pass_unchanged_however_they_arrive() {
        // CRLF and bare-LF heads (hyper takes both), a body, blank lines between requests.
        let good = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\r\nGET /d HTTP/1.1\r\n\r\nGET /c HTTP/1.1\nHost: y\n\n";
        for step in [1, 2, 3, 7, 64, 5000] {
            assert_eq!(through_guard(good, step), good.to_vec(), "step {step}");
        }
        // A body that looks like a head is passed as body; a bad head after it is rewritten.
        let bad = b"POST /b HTTP/1.1\r\nContent-Length: 19\r\n\r\nGET /x HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: -1\r\n\r\nrest";
        for step in [1, 4, 5000] {
            let out = String::from_utf8(through_guard(bad, step)).unwrap();
            assert!(
                out.starts_with("POST /b HTTP/1.1\r\nContent-Length: 19\r\n\r\nGET /x HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\ncontent-length: 0\r\n"),
                "step {step}: {out:?}"
            );
            assert!(
                out.ends_with("x-gatehouse-bad-framing: framing\r\n\r\n") && !out.contains("rest"),
                "step {step}: {out:?}"
            );
        }
    }

    #[test]
    fn a_head_over_the_limit_keeps_its_request_line_and_language_only() {
        let big = "b".repeat(MAX_HEAD);
        let head = format!(
            "POST /daily/v1/tasks?x=1 HTTP/1.1\r\nx-language: id\r\nx-request-id: r9\r\nx-big: {big}"
        );
        let out = String::from_utf8(too_large(head.as_bytes())).unwrap();
        assert_eq!(
            out,
            "POST /daily/v1/tasks?x=1 HTTP/1.1\r\nx-language: id\r\nx-request-id: r9\r\n\
             content-length: 0\r\nconnection: close\r\nx-gatehouse-bad-framing: head\r\n\r\n"
        );
        // A request line cut by the limit: its path is not trusted.
        let cut = format!("GET /{big}");
        let out = String::from_utf8(too_large(cut.as_bytes())).unwrap();
        assert!(
            out.starts_with("GET / HTTP/1.1\r\ncontent-length: 0\r\n"),
            "{out}"
        );
        // Header lines that would make hyper refuse the rewritten head are dropped.
        let odd = "GET /x HTTP/1.1\r\nx-language: i\x01d\r\nx-big: y";
        let out = String::from_utf8(too_large(odd.as_bytes())).unwrap();
        assert!(!out.contains("x-language"), "{out}");
    }
}
