//! Codelayer (POABS) family, base `/codelayer` (DESIGN.md §3.2). All POST, JSON in and out;
//! every answer carries `e` and `msg` beside its fields and is sent with HTTP 200 — `e` is
//! authoritative, as in the public POABS documents.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};
use warp::http::Method;

use super::{Doc, Family, Problem, Request, Response, Route};
use crate::domain::identity::Permission;
use crate::i18n::{self, Lang};
use crate::service::Services;

pub const BASE: &str = "/codelayer";

/// The response-code table served by `Response Codes`.
pub const CODES: &[(u16, &str)] = &[
    (200, "Success"),
    (400, "Invalid field: the message names the field"),
    (
        401,
        "Invalid authentication credentials, or the key expired: authenticate again",
    ),
    (403, "Device unknown, blocked or not licensed"),
    (404, "Not found"),
    (405, "Method not allowed: every Codelayer operation is POST"),
    (408, "The request did not arrive in time: send it again"),
    (
        409,
        "Conflict: the same client id was sent with different content",
    ),
    (413, "Request too large"),
    (415, "Content-Type must be application/json"),
    (
        426,
        "Client version below the supported minimum: update the application",
    ),
    (429, "Too many failed attempts: wait and try again"),
    (500, "Server error"),
    (
        503,
        "Busy or temporarily unavailable: retry after the Retry-After seconds",
    ),
    (
        507,
        "The gatehouse storage is full: nothing was saved, send again later",
    ),
];

/// The `e` sent for a problem: its status when the table lists it, else the nearest listed
/// code (another 4xx is a bad field, another 5xx a server error), so a handheld never meets
/// an `e` that `Response Codes` does not explain.
pub fn listed_code(status: u16) -> u16 {
    if CODES.iter().any(|(c, _)| *c == status) {
        status
    } else if (400..500).contains(&status) {
        400
    } else {
        500
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No key (license request, register device, auth, response codes).
    Public,
    /// A session `key` from `system/auth` (or `estate/auth`) of a user holding the permission.
    Session(Permission),
}

impl Auth {
    /// What the route table records for this credential level: the session key in the
    /// document's security, and the permission the one access check asks for.
    fn declare(self, doc: &mut Doc) -> Option<Permission> {
        match self {
            Auth::Session(p) => {
                doc.security = vec!["codelayerKey"];
                Some(p)
            }
            Auth::Public => None,
        }
    }
}

pub struct Call {
    pub svc: Arc<Services>,
    pub req: Request,
    pub body: Map<String, Value>,
    /// The authenticated session, for `Auth::Session` operations.
    pub session: Option<crate::service::codelayer_session::Session>,
}

/// Success payload fields (without `e`/`msg`, which the wrapper adds).
pub type OpResult = Result<Map<String, Value>, Problem>;
pub type OpFn = for<'a> fn(&'a mut Call) -> BoxFuture<'a, OpResult>;

#[macro_export]
macro_rules! cl_op {
    ($f:path) => {{
        fn wrapped<'a>(
            c: &'a mut $crate::api::codelayer::Call,
        ) -> futures_util::future::BoxFuture<'a, $crate::api::codelayer::OpResult> {
            Box::pin($f(c))
        }
        wrapped as $crate::api::codelayer::OpFn
    }};
}

/// An operation whose success answer is already rendered (a shared heavy answer, with its own
/// `e` and `msg`): the bytes are sent as they are.
pub type RawOpResult = Result<bytes::Bytes, Problem>;
pub type RawOpFn = for<'a> fn(&'a mut Call) -> BoxFuture<'a, RawOpResult>;

#[macro_export]
macro_rules! cl_raw_op {
    ($f:path) => {{
        fn wrapped<'a>(
            c: &'a mut $crate::api::codelayer::Call,
        ) -> futures_util::future::BoxFuture<'a, $crate::api::codelayer::RawOpResult> {
            Box::pin($f(c))
        }
        wrapped as $crate::api::codelayer::RawOpFn
    }};
}

/// `route`, for an operation that answers pre-rendered bytes.
pub fn route_raw(
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    mut doc: Doc,
    f: RawOpFn,
) -> Route {
    let permission = auth.declare(&mut doc);
    let handler: super::Handler = Arc::new(move |svc, req| {
        Box::pin(async move {
            let mut call = match prepare(svc, req, auth).await {
                Ok(c) => c,
                Err(resp) => return resp,
            };
            match f(&mut call).await {
                Ok(body) => Response::bytes(200, "application/json", body),
                Err(p) => render_problem(&call.req, &p),
            }
        })
    });
    post_route(path, summary, tag, doc, handler, permission)
}

/// A Codelayer route: every operation is a POST.
fn post_route(
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    doc: Doc,
    handler: super::Handler,
    permission: Option<crate::domain::identity::Permission>,
) -> Route {
    Route {
        method: Method::POST,
        path,
        family: Family::Codelayer,
        summary,
        tag,
        doc,
        handler,
        max_body: None,
        permission,
    }
}

/// An operation that reads its own request body (a large batch parsed as it is read, never
/// held as one JSON tree) and answers its own response; it calls `authorize` itself.
pub type BodyOpFn = fn(Arc<Services>, Request, Auth) -> BoxFuture<'static, Response>;

/// `route`, for a `BodyOpFn`.
pub fn route_body(
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    mut doc: Doc,
    f: BodyOpFn,
) -> Route {
    let permission = auth.declare(&mut doc);
    let handler: super::Handler = Arc::new(move |svc, req| f(svc, req, auth));
    post_route(path, summary, tag, doc, handler, permission)
}

pub(crate) mod estate;
/// What the bench tools time outside a request (`--features bench-tools`).
#[cfg(feature = "bench-tools")]
pub mod bench {
    pub use super::estate::render_labor;
}
mod frontoffice;
mod hr;
mod muster_body;
mod system;

pub fn routes() -> Vec<Route> {
    let mut all = vec![route(
        "/codelayer/response_codes",
        "Response Codes",
        "Codelayer",
        Auth::Public,
        Doc {
            description: "The table of `e` codes this server answers with.",
            request: Some(json!({})),
            response: Some(json!({"codes": [{"e": 200, "msg": "Success"}]})),
            ..Doc::default()
        },
        crate::cl_op!(response_codes),
    )];
    all.extend(
        [
            system::routes(),
            hr::routes(),
            estate::routes(),
            frontoffice::routes(),
        ]
        .into_iter()
        .flatten(),
    );
    all
}

pub fn route(
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    mut doc: Doc,
    f: OpFn,
) -> Route {
    let permission = auth.declare(&mut doc);
    let handler: super::Handler = Arc::new(move |svc, req| Box::pin(run(svc, req, auth, f)));
    post_route(path, summary, tag, doc, handler, permission)
}

/// Parses the body and resolves the session: the part every operation shares.
async fn prepare(svc: Arc<Services>, req: Request, auth: Auth) -> Result<Call, Response> {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(p) => return Err(render_problem(&req, &p)),
    };
    authorize(svc, req, auth, body).await
}

/// Resolves the session from the body's `key` (for an operation that parsed its own body).
pub(crate) async fn authorize(
    svc: Arc<Services>,
    req: Request,
    auth: Auth,
    body: Map<String, Value>,
) -> Result<Call, Response> {
    let session = match auth {
        Auth::Public => None,
        Auth::Session(p) => {
            let key = body.get("key").and_then(Value::as_str).unwrap_or("");
            let checked = match crate::service::codelayer_session::resolve(&svc, key).await {
                // The one access rule, before any field is validated or record looked up.
                // `resolve` read the user (active); the check is on that record.
                Ok(s) => match crate::service::access::check(&s.account, p) {
                    Ok(_) => crate::service::codelayer_session::touch(&svc, &s)
                        .await
                        .map(|_| s),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match checked {
                Ok(s) => Some(s),
                Err(e) => return Err(render_problem(&req, &e.into())),
            }
        }
    };
    Ok(Call {
        svc,
        req,
        body,
        session,
    })
}

async fn run(svc: Arc<Services>, req: Request, auth: Auth, f: OpFn) -> Response {
    let mut call = match prepare(svc, req, auth).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    match f(&mut call).await {
        Ok(mut fields) => {
            fields.insert("e".into(), json!(200));
            fields.insert("msg".into(), json!("Success"));
            Response::json(200, &Value::Object(fields))
        }
        Err(p) => render_problem(&call.req, &p),
    }
}

/// `{"e": <code>, "msg": <text>}` with HTTP 200. A 400 names the offending field first.
pub fn render_problem(_req: &Request, p: &Problem) -> Response {
    let msg = match p.fields.first() {
        Some(fe) => {
            let args: Vec<(&str, String)> = fe.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            format!(
                "Invalid field {}: {}",
                fe.field,
                i18n::t(Lang::En, fe.key, &args)
            )
        }
        None if p.status == 401 && p.key == "auth.credentials.invalid" => {
            "Invalid authentication credentials.".into()
        }
        None => {
            let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            i18n::t(Lang::En, p.key, &args)
        }
    };
    Response::json(200, &json!({"e": listed_code(p.status), "msg": msg}))
}

async fn response_codes(_call: &mut Call) -> OpResult {
    let codes: Vec<Value> = CODES
        .iter()
        .map(|(e, m)| json!({"e": e, "msg": m}))
        .collect();
    let mut out = Map::new();
    out.insert("codes".into(), Value::Array(codes));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_status_maps_to_a_listed_code() {
        for status in [
            200u16, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 426, 429, 500, 502, 503, 504,
            418,
        ] {
            let e = listed_code(status);
            assert!(CODES.iter().any(|(c, _)| *c == e), "{status} -> {e}");
        }
        assert_eq!(listed_code(503), 503);
        assert_eq!(listed_code(422), 400);
        assert_eq!(listed_code(504), 500);
    }
}
