//! The handler's time limit (`http.request_timeout_secs`), armed only when the handler first
//! waits. Most requests answer on their first poll (a read served from the store and the hot
//! cache), and `tokio::time::timeout` costs every one of them a clock read and a timer entry;
//! only a handler that awaits (a durable write waiting for its flush, work sent to the
//! blocking pool) gets a timer. A handler cannot be stopped inside a poll anyway, so the limit
//! counts from its first wait.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The handler did not answer within the limit.
#[derive(Debug, PartialEq, Eq)]
pub struct TimedOut;

pub struct Deadline<F> {
    handler: Pin<Box<F>>,
    limit: Duration,
    /// Set on the first poll that finds the handler waiting.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<F: Future> Deadline<F> {
    pub fn new(limit: Duration, handler: F) -> Self {
        Self {
            handler: Box::pin(handler),
            limit,
            timer: None,
        }
    }

    #[cfg(test)]
    fn armed(&self) -> bool {
        self.timer.is_some()
    }
}

impl<F: Future> Future for Deadline<F> {
    type Output = Result<F::Output, TimedOut>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = self.handler.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let limit = self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler that answers at once gets no timer; one that waits gets one and keeps it.
    #[tokio::test]
    async fn the_timer_is_armed_only_when_the_handler_waits() {
        let mut at_once = Deadline::new(Duration::from_secs(5), async { 7 });
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(Pin::new(&mut at_once).poll(&mut cx), Poll::Ready(Ok(7)));
        assert!(!at_once.armed());

        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let mut waiting = Deadline::new(Duration::from_secs(5), async { rx.await.unwrap() });
        assert_eq!(Pin::new(&mut waiting).poll(&mut cx), Poll::Pending);
        assert!(waiting.armed());
        tx.send(3).unwrap();
        assert_eq!(waiting.await, Ok(3));
    }

    /// A handler still waiting when the limit passes is given up; one that answers in time is
    /// not, however often it waits.
    #[tokio::test]
    async fn a_handler_past_its_limit_times_out() {
        let slow = Deadline::new(Duration::from_millis(50), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            1
        });
        let t = std::time::Instant::now();
        assert_eq!(slow.await, Err(TimedOut));
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

        let steps = Deadline::new(Duration::from_secs(5), async {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            2
        });
        assert_eq!(steps.await, Ok(2));
    }

    /// Through the dispatcher: a handler past `http.request_timeout_secs` is answered 503 in
    /// its family's envelope and language, one that answers at once is untouched, one that
    /// panics is a 500; the metrics count each under its route.
    #[tokio::test]
    async fn the_dispatcher_answers_a_handler_past_its_limit_in_its_envelope() {
        use crate::api::{Doc, Family, Head, Response, Route, Router};
        use crate::service::Services;
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::default();
        cfg.http.request_timeout_secs = 1;
        let (_, svc) = Services::for_tests_with(dir.path(), cfg);
        let route = |path: &'static str, summary: &'static str, wait: Option<u64>| Route {
            method: warp::http::Method::GET,
            path,
            family: Family::DailyActivity,
            summary,
            tag: "test",
            doc: Doc::default(),
            handler: Arc::new(move |_, _| {
                Box::pin(async move {
                    match wait {
                        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                        None if summary == "Panics" => panic!("boom"),
                        None => {}
                    }
                    Response::bytes(200, "text/plain", "answered")
                })
            }),
            max_body: None,
            permission: None,
        };
        let router = Router {
            routes: vec![
                route("/slow", "Slow", Some(30)),
                route("/quick", "Quick", None),
                route("/panics", "Panics", None),
            ],
            admin: false,
            exact: Default::default(),
        };
        let call = |path: &str, lang: &str| {
            let mut headers = warp::http::HeaderMap::new();
            headers.insert("accept-language", lang.parse().unwrap());
            router.dispatch(
                svc.clone(),
                Head {
                    method: warp::http::Method::GET,
                    path: path.to_string(),
                    query: String::new(),
                    headers,
                    peer: None,
                },
                futures_util::stream::empty(),
            )
        };
        let t = std::time::Instant::now();
        let slow = call("/slow", "id").await;
        let waited = t.elapsed();
        assert_eq!(slow.status.as_u16(), 503);
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(20),
            "{waited:?}"
        );
        let body: serde_json::Value = serde_json::from_slice(&slow.body).unwrap();
        assert!(
            body.to_string().contains("Permintaan terlalu lama"),
            "not the family's envelope in Indonesian: {body}"
        );
        let quick = call("/quick", "en").await;
        assert_eq!(quick.status.as_u16(), 200);
        assert_eq!(&quick.body[..], b"answered");
        let panics = call("/panics", "en").await;
        assert_eq!(panics.status.as_u16(), 500);
        let counts = svc.metrics.request_counts();
        for (op, status) in [("Slow", 503), ("Quick", 200), ("Panics", 500)] {
            assert!(
                counts.iter().any(|(f, o, s, n)| f == "daily_activity"
                    && o == op
                    && *s == status
                    && *n == 1),
                "{op} {status} not counted: {counts:?}"
            );
        }
    }
}
