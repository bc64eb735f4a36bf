//! Reading a request body: incrementally, up to a limit, within the shared body budget, and in
//! time. A client that sends headers and part of a body (a Content-Length lie, a handheld walking
//! out of Wi-Fi mid-upload) must not hold its connection, its budget or a handler slot for ever:
//! every piece must arrive within `idle`, and after a grace of `idle` the body must average at
//! least `min_rate` bytes/s. Either failure is a 408 in the family's envelope; hyper then closes
//! the connection, since the rest of the body was never read.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub struct Limits {
    pub max_bytes: usize,
    pub idle: Duration,
    pub min_rate: u64,
    /// The shared in-memory body budget in KiB (None: not counted, the admin socket).
    pub budget_kib: Option<Arc<Semaphore>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    TooLarge,
    /// The shared body budget is exhausted: 503, retry.
    Busy,
    /// Stalled or slower than the minimum rate: 408.
    TooSlow,
    Broken(String),
}

/// The body and the budget it holds (released when the permits drop, after the handler ran).
pub type Read = (Bytes, Vec<OwnedSemaphorePermit>);

pub async fn read(
    body: impl futures_util::Stream<Item = Result<Bytes, String>> + Send,
    limits: &Limits,
) -> Result<Read, Failure> {
    let started = Instant::now();
    let mut buf = BytesMut::new();
    let mut held = Vec::new();
    // Over budget: the rest is read and dropped (bounded by the limit and the timeouts), so the
    // client gets its 503 instead of a connection reset in the middle of its upload.
    let mut busy = false;
    let mut seen = 0usize;
    futures_util::pin_mut!(body);
    loop {
        let now = Instant::now();
        // The slower of the two rules decides: the next piece within `idle`, and never so late
        // that the average since the start falls under `min_rate` (after the grace).
        let by_rate = started
            + limits.idle
            + Duration::from_secs_f64(seen as f64 / limits.min_rate.max(1) as f64);
        let deadline = (now + limits.idle).min(by_rate);
        if deadline <= now {
            return Err(Failure::TooSlow);
        }
        let next = match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => return Err(Failure::TooSlow),
            Ok(None) => break,
            Ok(Some(chunk)) => chunk,
        };
        match next {
            Ok(c) if seen + c.len() <= limits.max_bytes => {
                seen += c.len();
                if busy {
                    continue;
                }
                if let Some(budget) = &limits.budget_kib {
                    let kib = (c.len() as u32).div_ceil(1024);
                    match budget.clone().try_acquire_many_owned(kib) {
                        Ok(p) => held.push(p),
                        Err(_) => {
                            busy = true;
                            held.clear();
                            buf = BytesMut::new();
                            continue;
                        }
                    }
                }
                buf.extend_from_slice(&c);
            }
            Ok(_) => return Err(Failure::TooLarge),
            Err(e) => return Err(Failure::Broken(e)),
        }
    }
    if busy {
        return Err(Failure::Busy);
    }
    Ok((buf.freeze(), held))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize) -> Limits {
        Limits {
            max_bytes: max,
            idle: Duration::from_millis(300),
            min_rate: 1000,
            budget_kib: Some(Arc::new(Semaphore::new(4))),
        }
    }

    fn chunks(
        parts: Vec<(u64, &'static [u8])>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Send {
        futures_util::stream::iter(parts).then(|(ms, b)| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(Bytes::from_static(b))
        })
    }

    #[tokio::test]
    async fn whole_body_in_time_is_read() {
        let (b, held) = read(chunks(vec![(10, b"ab"), (50, b"cd")]), &limits(10))
            .await
            .unwrap();
        assert_eq!(&b[..], b"abcd");
        assert_eq!(held.len(), 2);
    }

    #[tokio::test]
    async fn a_stall_longer_than_idle_is_too_slow() {
        let r = read(chunks(vec![(10, b"ab"), (900, b"cd")]), &limits(10)).await;
        assert_eq!(r.unwrap_err(), Failure::TooSlow);
    }

    #[tokio::test]
    async fn a_drip_under_the_minimum_rate_is_too_slow() {
        // Every piece within `idle`, but 1 byte per 100 ms is far under 1000 B/s: after the
        // grace (300 ms) plus what the bytes so far allow, it is refused.
        let drip: Vec<(u64, &'static [u8])> = (0..40).map(|_| (100, &b"x"[..])).collect();
        let r = read(chunks(drip), &limits(100)).await;
        assert_eq!(r.unwrap_err(), Failure::TooSlow);
    }

    #[tokio::test]
    async fn limit_and_budget_are_enforced() {
        let r = read(chunks(vec![(0, b"0123456789"), (0, b"x")]), &limits(10)).await;
        assert_eq!(r.unwrap_err(), Failure::TooLarge);
        let mut l = limits(1 << 20);
        l.budget_kib = Some(Arc::new(Semaphore::new(1)));
        let r = read(chunks(vec![(0, b"a"), (0, b"b")]), &l).await;
        assert_eq!(r.unwrap_err(), Failure::Busy);
    }
}
