//! The wire: one module per family, each thin (parse its envelope, call a service, render its
//! envelope). This file is the hub they share: the request/response types, the route table
//! (which also feeds /openapi.json), dispatch, and the warp glue.
//!
//! Routing is done here rather than by nested warp filters so that every failure a client can
//! cause — unknown path, wrong method, bad JSON, wrong content type, oversized or chunked body —
//! is answered in the envelope of the family whose base path was hit, and so the OpenAPI
//! document and the live routes come from one table.

pub mod admin;
pub mod adms;
pub mod authorize;
pub mod body;
pub mod codelayer;
pub mod daily_activity;
mod deadline;
pub mod guard;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod serve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use serde_json::Value;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::Filter;

pub use problem::Problem;

use crate::service::Services;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    DailyActivity,
    Codelayer,
    Authorize,
    Admin,
    Ops,
    /// Biometric terminals (ZKTeco ADMS push), `/iclock`: plain text.
    Adms,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::DailyActivity => "daily_activity",
            Family::Codelayer => "codelayer",
            Family::Authorize => "authorize",
            Family::Admin => "admin",
            Family::Ops => "ops",
            Family::Adms => "adms",
        }
    }

    /// The family a path belongs to, by its base.
    pub fn of_path(path: &str, admin: bool) -> Family {
        let under = |base: &str| {
            path.strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if admin {
            Family::Admin
        } else if under("/daily/v1") || under("/daily") {
            Family::DailyActivity
        } else if under("/codelayer") {
            Family::Codelayer
        } else if under("/api") {
            Family::Authorize
        } else if under(adms::BASE) {
            Family::Adms
        } else {
            Family::Ops
        }
    }

    /// Renders a problem in this family's envelope.
    pub fn render(self, req: &Request, p: &Problem) -> Response {
        match self {
            Family::DailyActivity => daily_activity::render_problem(req, p),
            Family::Codelayer => codelayer::render_problem(req, p),
            Family::Authorize => authorize::render_problem(req, p),
            Family::Admin | Family::Ops => admin::render_problem(req, p),
            Family::Adms => adms::render_problem(req, p),
        }
    }
}

/// A request's head as it arrived: what `Router::dispatch` needs besides the body.
pub struct Head {
    pub method: Method,
    /// The raw path.
    pub path: String,
    /// The raw query string, empty when absent.
    pub query: String,
    pub headers: HeaderMap,
    /// The LAN peer (None on the admin socket and in-process calls).
    pub peer: Option<SocketAddr>,
}

pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Path parameters, by the names in the route pattern.
    pub params: Vec<(String, String)>,
    pub peer: Option<SocketAddr>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query-string parameters, percent-decoded.
    pub fn query_params(&self) -> Vec<(String, String)> {
        form_urlencoded(&self.query)
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as a JSON object. An empty body is `{}`; a body declared as another content
    /// type is refused (415), malformed JSON is refused (400) with where it broke.
    pub fn json_object(&self) -> Result<serde_json::Map<String, Value>, Problem> {
        if let Some(ct) = self.header("content-type") {
            let ct = ct.to_ascii_lowercase();
            if !(ct.starts_with("application/json") || ct.contains("+json")) {
                return Err(Problem::new(415, "body.content_type"));
            }
        }
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Problem::new(400, "body.not_object")),
            Err(e) => Err(Problem::new(400, "body.invalid_json")
                .arg("detail", e.to_string())
                .arg("line", e.line().to_string())
                .arg("column", e.column().to_string())),
        }
    }
}

fn form_urlencoded(q: &str) -> Vec<(String, String)> {
    fn dec(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hexpair = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                if let Some(v) = hexpair.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl Response {
    pub fn json(status: u16, v: &Value) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: Vec::new(),
            content_type: "application/json",
            body: Bytes::from(serde_json::to_vec(v).expect("serializing a JSON value")),
        }
    }

    pub fn bytes(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: Vec::new(),
            content_type,
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

pub type Handler =
    Arc<dyn Fn(Arc<Services>, Request) -> BoxFuture<'static, Response> + Send + Sync>;

/// What the OpenAPI document says about an operation.
#[derive(Clone, Default)]
pub struct Doc {
    pub description: &'static str,
    /// Example request body (its JSON Schema is derived from it).
    pub request: Option<Value>,
    /// Example success payload.
    pub response: Option<Value>,
    /// Query parameters: (name, description).
    pub query: Vec<(&'static str, &'static str)>,
    /// Security scheme names (empty = public).
    pub security: Vec<&'static str>,
    /// Request body fields the operation refuses to go without (`required` in the schema).
    pub required: &'static [&'static str],
    /// Response fields that may be `null` although the example shows a value (by name, at any
    /// depth), beyond the names `openapi::NULLABLE` knows everywhere.
    pub nullable: &'static [&'static str],
    /// Error statuses beyond those the family and credential level imply (e.g. 422, 429).
    pub errors: &'static [u16],
    /// Success content types when the answer is not JSON (first = the usual one).
    pub content_types: &'static [&'static str],
    /// Explicit schemas where the examples cannot tell (override the derived ones).
    pub response_schema: Option<Value>,
    pub request_schema: Option<Value>,
}

#[derive(Clone)]
pub struct Route {
    pub method: Method,
    /// `/daily/v1/tasks/{id}`: `{name}` matches one path segment.
    pub path: &'static str,
    pub family: Family,
    pub summary: &'static str,
    pub tag: &'static str,
    pub doc: Doc,
    pub handler: Handler,
    /// Body limit for this route (defaults to the configured `http.max_body_bytes`).
    pub max_body: Option<usize>,
    /// The permission the operation needs (checked by `service::access` before anything else;
    /// None = no signed-in user).
    pub permission: Option<crate::domain::identity::Permission>,
}

impl Route {
    fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut params = Vec::new();
        let mut want = self.path.trim_end_matches('/').split('/');
        let mut got = path.trim_end_matches('/').split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return Some(params),
                (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                    params.push((w[1..w.len() - 1].to_string(), g.to_string()));
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return None,
            }
        }
    }
}

pub struct Router {
    pub routes: Vec<Route>,
    admin: bool,
    /// Routes without path parameters, by path: most requests are found with one hash lookup
    /// instead of matching every pattern (built on first use). Value: indexes into `routes`.
    exact: std::sync::OnceLock<std::collections::HashMap<&'static str, Vec<usize>>>,
}

pub enum Matched<'a> {
    Found(&'a Route, Vec<(String, String)>),
    MethodNotAllowed(Vec<Method>),
    NotFound,
}

impl Router {
    /// The LAN router: the three families and the ops endpoints.
    pub fn lan() -> Self {
        let mut routes = Vec::new();
        routes.extend(daily_activity::routes());
        routes.extend(codelayer::routes());
        routes.extend(authorize::routes());
        routes.extend(ops::routes());
        routes.extend(adms::routes());
        Self {
            routes,
            admin: false,
            exact: Default::default(),
        }
    }

    /// The admin router (Unix socket only).
    pub fn admin() -> Self {
        Self {
            routes: admin::routes(),
            admin: true,
            exact: Default::default(),
        }
    }

    pub fn find(&self, method: &Method, path: &str) -> Matched<'_> {
        let exact = self.exact.get_or_init(|| {
            let mut m: std::collections::HashMap<&'static str, Vec<usize>> = Default::default();
            for (i, r) in self.routes.iter().enumerate() {
                // Left to the scan below when a pattern listed earlier also matches the path.
                let shadowed = self.routes[..i]
                    .iter()
                    .any(|e| e.path.contains('{') && e.matches(r.path).is_some());
                if !r.path.contains('{') && !shadowed {
                    m.entry(r.path.trim_end_matches('/')).or_default().push(i);
                }
            }
            m
        });
        if let Some(ids) = exact.get(path.trim_end_matches('/')) {
            for &i in ids {
                let r = &self.routes[i];
                if r.method == method || (method == Method::HEAD && r.method == Method::GET) {
                    return Matched::Found(r, Vec::new());
                }
            }
        }
        let mut allowed = Vec::new();
        for r in &self.routes {
            if let Some(params) = r.matches(path) {
                if r.method == method || (method == Method::HEAD && r.method == Method::GET) {
                    return Matched::Found(r, params);
                }
                allowed.push(r.method.clone());
            }
        }
        if allowed.is_empty() {
            Matched::NotFound
        } else {
            Matched::MethodNotAllowed(allowed)
        }
    }

    pub async fn dispatch(
        &self,
        svc: Arc<Services>,
        head: Head,
        body: impl futures_util::Stream<Item = Result<Bytes, String>> + Send,
    ) -> Response {
        let Head {
            method,
            path,
            query,
            headers,
            peer,
        } = head;
        let started = Instant::now();
        let family = Family::of_path(&path, self.admin);
        let mut req = Request {
            method,
            path,
            query,
            headers,
            body: Bytes::new(),
            params: Vec::new(),
            peer,
        };
        if let Some(why) = req.header(guard::MARK) {
            let (p, summary) = if why == guard::MARK_HEAD {
                let p = Problem::new(431, "request.head_too_large")
                    .arg("limit", guard::MAX_HEAD.to_string());
                (p, "(head too large)")
            } else {
                (Problem::new(400, "body.content_length"), "(bad framing)")
            };
            let resp = family.render(&req, &p);
            return self.finish(&svc, family, summary, resp, started);
        }
        let (route, params) = match self.find(&req.method, &req.path) {
            Matched::Found(r, p) => (Some(r), p),
            Matched::MethodNotAllowed(allowed) => {
                let list = allowed
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let p = Problem::new(405, "route.method_not_allowed")
                    .arg("method", req.method.to_string())
                    .arg("allowed", list.clone());
                let resp = family.render(&req, &p).with_header("allow", list);
                return self.finish(&svc, family, "(method not allowed)", resp, started);
            }
            Matched::NotFound => (None, Vec::new()),
        };
        let Some(route) = route else {
            let p = Problem::new(404, "route.not_found")
                .arg("method", req.method.to_string())
                .arg("path", req.path.clone());
            let resp = family.render(&req, &p);
            return self.finish(&svc, family, "(unknown path)", resp, started);
        };
        req.params = params;
        let busy = |req: &Request| {
            svc.metrics
                .shed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            route.family.render(req, &Problem::new(503, "unavailable"))
        };
        let limit = route.max_body.unwrap_or(svc.config.http.max_body_bytes);
        let declared = req
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            let p = Problem::new(413, "body.too_large").arg("limit", limit.to_string());
            let resp = route.family.render(&req, &p);
            return self.finish(&svc, route.family, route.summary, resp, started);
        }
        // Read the body ourselves (see `body`): chunked uploads without Content-Length (warp's
        // content_length_limit refuses them), the limit, the shared budget, and time — a stalled
        // body is a 408 within seconds. The body is read before a handler slot is taken, so
        // stalled uploads never hold slots that /healthz and the other callers need.
        let limits = body::Limits {
            max_bytes: limit,
            idle: std::time::Duration::from_secs(svc.config.http.body_read_timeout_secs.max(1)),
            min_rate: svc.config.http.min_body_rate_bytes_per_sec,
            budget_kib: (!self.admin).then(|| svc.body_budget_kib.clone()),
        };
        let (body, _held_kib) = match body::read(body, &limits).await {
            Ok(read) => read,
            Err(failure) => {
                let resp = match failure {
                    body::Failure::TooLarge => route.family.render(
                        &req,
                        &Problem::new(413, "body.too_large").arg("limit", limit.to_string()),
                    ),
                    body::Failure::Busy => busy(&req).with_header("retry-after", "1"),
                    body::Failure::TooSlow => route
                        .family
                        .render(
                            &req,
                            &Problem::new(408, "body.too_slow")
                                .arg("secs", limits.idle.as_secs().to_string())
                                .arg("rate", limits.min_rate.to_string()),
                        )
                        .with_header("connection", "close"),
                    body::Failure::Broken(e) => route.family.render(
                        &req,
                        &Problem::new(400, "body.read_failed").arg("detail", e),
                    ),
                };
                return self.finish(&svc, route.family, route.summary, resp, started);
            }
        };
        // The admin socket is never refused for load: the console must work when the LAN is
        // busy; nor is /healthz, which a supervisor polls precisely when the LAN is busy.
        let _slot = if self.admin || route.path == "/healthz" {
            None
        } else {
            match svc.in_flight.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    return self.finish(
                        &svc,
                        route.family,
                        route.summary,
                        busy(&req).with_header("retry-after", "1"),
                        started,
                    )
                }
            }
        };
        req.body = body;
        let timeout = std::time::Duration::from_secs(svc.config.http.request_timeout_secs.max(1));
        // The caller's family and address, for the audit trail (a task-local: no allocation).
        let caller = crate::telemetry::audit::Caller {
            family: route.family.name(),
            peer: req.peer,
        };
        let fut = crate::telemetry::audit::scope(caller, (route.handler)(svc.clone(), req));
        // A handler that panics is caught here rather than killing the connection task silently.
        // It runs in this task (no spawn, no hop between workers): when the client goes away
        // hyper drops this future and the handler with it.
        let handle = CatchUnwind(deadline::Deadline::new(timeout, fut));
        let resp = match handle.await {
            Ok(Ok(resp)) => resp,
            Ok(Err(_)) => {
                let r = Request::bare(route);
                route
                    .family
                    .render(&r, &Problem::new(503, "request.timeout"))
            }
            Err(e) => {
                tracing::error!(operation = route.summary, error = %e, "handler panicked");
                let r = Request::bare(route);
                route.family.render(&r, &Problem::new(500, "internal"))
            }
        };
        self.finish(&svc, route.family, route.summary, resp, started)
    }

    fn finish(
        &self,
        svc: &Services,
        family: Family,
        op: &'static str,
        resp: Response,
        started: Instant,
    ) -> Response {
        let now = Instant::now();
        let secs = now.duration_since(started).as_secs_f64();
        svc.metrics
            .observe_at(family.name(), op, resp.status.as_u16(), secs, now);
        tracing::debug!(
            family = family.name(),
            operation = op,
            status = resp.status.as_u16(),
            ms = secs * 1e3,
            "request"
        );
        resp
    }
}

/// Polls a future, turning a panic inside it into an error (what `tokio::spawn` gave, without
/// the spawn).
struct CatchUnwind<F>(F);

impl<F: std::future::Future + Unpin> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = std::pin::Pin::new(&mut self.0);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(p) => std::task::Poll::Ready(Err(p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into()))),
        }
    }
}

impl Request {
    /// A request with nothing in it, for rendering errors after the original was consumed.
    fn bare(route: &Route) -> Request {
        Request {
            method: route.method.clone(),
            path: route.path.to_string(),
            query: String::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            params: Vec::new(),
            peer: None,
        }
    }
}

fn into_warp(resp: Response) -> warp::http::Response<warp::hyper::Body> {
    let mut b = warp::http::Response::builder()
        .status(resp.status)
        .header("content-type", resp.content_type);
    for (k, v) in resp.headers {
        b = b.header(k, v);
    }
    b.body(warp::hyper::Body::from(resp.body))
        .expect("valid response parts")
}

fn bytes_stream<S, B>(s: S) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Send
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Send,
    B: bytes::Buf,
{
    s.map(|r| {
        r.map(|mut b| b.copy_to_bytes(b.remaining()))
            .map_err(|e| e.to_string())
    })
}

/// One LAN request, straight from hyper to the dispatcher: the request's parts are moved into
/// ours (no header map cloned, no warp filter chain per request). Same extraction as `filter`:
/// the raw path, the raw query (empty when absent), the headers, the body as a stream.
pub async fn handle(
    router: Arc<Router>,
    svc: Arc<Services>,
    req: hyper::Request<hyper::Body>,
    peer: Option<SocketAddr>,
) -> warp::http::Response<warp::hyper::Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let body = body.map(|r| r.map_err(|e| e.to_string()));
    into_warp(
        router
            .dispatch(
                svc,
                Head {
                    method: parts.method,
                    path,
                    query,
                    headers: parts.headers,
                    peer,
                },
                body,
            )
            .await,
    )
}

/// The whole service as one warp filter (the admin socket).
pub fn filter(
    router: Arc<Router>,
    svc: Arc<Services>,
) -> warp::filters::BoxedFilter<(warp::http::Response<warp::hyper::Body>,)> {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and(serve::peer())
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: HeaderMap,
                  body,
                  peer| {
                let router = router.clone();
                let svc = svc.clone();
                async move {
                    let body = bytes_stream(body);
                    into_warp(
                        router
                            .dispatch(
                                svc,
                                Head {
                                    method,
                                    path: path.as_str().to_string(),
                                    query,
                                    headers,
                                    peer,
                                },
                                body,
                            )
                            .await,
                    )
                }
            },
        )
        .boxed()
}
