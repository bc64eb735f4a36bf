//! Daily Activity family, base `/daily/v1` (DESIGN.md §3.1).
//!
//! Envelope `{"code","message","data","request_id"}` (+ `errors`), messages in `x-language`.
//! The wrapper in `op()` does what every operation of the family shares: headers, client key,
//! bearer token level, idempotent replay of writes, and rendering.

mod attendance;
mod identity;
mod work;

use std::io::Write as _;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use warp::http::Method;

use super::{Doc, Family, Problem, Request, Response, Route};
use crate::domain::identity::{ClientApp, Permission, TokenKind, TokenRecord, User};
use crate::domain::ids::TokenHash;
use crate::i18n::{self, Lang};
use crate::service::idempotency::{self, Start};
use crate::service::Tx;
use crate::service::{identity as ident, Services};

pub const BASE: &str = "/daily/v1";

/// Which credential an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Only `x-app-key` (Verify).
    AppKey,
    /// Bearer client_token.
    Client,
    /// Bearer user_token (Refresh Token), for a user holding the permission.
    UserToken(Permission),
    /// Bearer refresh_token (Access Token), for a user holding the permission.
    Refresh(Permission),
    /// Bearer access_token + matching `x-user-token`, for a user holding the permission.
    Access(Permission),
    /// The wablas gateway: a shared secret, no client headers (it can't send them).
    Gateway,
}

impl Auth {
    /// The permission a user must hold (None: the call has no user).
    pub fn permission(self) -> Option<Permission> {
        match self {
            Auth::UserToken(p) | Auth::Refresh(p) | Auth::Access(p) => Some(p),
            Auth::AppKey | Auth::Client | Auth::Gateway => None,
        }
    }
}

/// Who is calling, once the wrapper has checked the credentials. The records are the hot
/// cache's own, shared, not copies.
pub struct Caller {
    pub client: Option<Arc<ClientApp>>,
    pub token: Option<(TokenHash, Arc<TokenRecord>)>,
    /// The user-token hash the call's chain hangs from (Access and UserToken levels).
    pub user_token: Option<TokenHash>,
    pub user: Option<Arc<User>>,
}

pub struct Call {
    pub svc: Arc<Services>,
    pub req: Request,
    pub lang: Lang,
    pub request_id: String,
    pub caller: Caller,
    /// Present for writes: the operation stages its changes here; the wrapper commits them
    /// together with the idempotency record.
    pub tx: Option<Tx>,
    /// Set by `file()`: the answer is this file, not an envelope.
    pub file: Option<FileBody>,
}

impl Call {
    pub fn body(&self) -> Result<serde_json::Map<String, Value>, Problem> {
        self.req.json_object()
    }

    /// The transaction of a write operation, begun (taking the writer lock) on first use: an
    /// operation does its slow part (password hashing, photo fsync) before it asks, so the
    /// lock is held only while it stages and commits.
    pub async fn tx(&mut self) -> &mut Tx {
        if self.tx.is_none() {
            self.tx = Some(self.svc.store.begin().await);
        }
        self.tx.as_mut().expect("just begun")
    }

    /// Answers with a file instead of the envelope (GET operations only).
    pub fn file(&mut self, f: FileBody) -> OpResult {
        self.file = Some(f);
        Ok(Reply::ok(Value::Null))
    }

    pub fn user(&self) -> Result<&User, Problem> {
        self.caller
            .user
            .as_deref()
            .ok_or_else(|| Problem::new(401, "auth.token.invalid"))
    }
}

pub struct Reply {
    pub status: u16,
    pub message: &'static str,
    pub data: Data,
}

/// An answer's `data`: a JSON value, or JSON already rendered from typed views (lists and the
/// hot reads skip building a `Value` tree only to serialize and drop it).
pub enum Data {
    Value(Value),
    Json(Vec<u8>),
}

impl Data {
    /// Renders a typed view. Its fields must be declared in name order to give the bytes a
    /// `json!` map gives (serde_json's maps are sorted).
    pub fn typed<T: serde::Serialize>(v: &T) -> Self {
        match serde_json::to_vec(v) {
            Ok(b) => Data::Json(b),
            // Views are plain structs of strings and numbers; should one ever fail, answer
            // through the value path, which reports it like any other rendering.
            Err(_) => Data::Value(serde_json::to_value(v).unwrap_or(Value::Null)),
        }
    }
}

/// A file sent as it is instead of the envelope (downloads; GET operations only, since
/// idempotent replay stores envelopes). See `Call::file`.
pub struct FileBody {
    pub content_type: &'static str,
    /// Offered to the client as the download's name.
    pub name: String,
    /// `attachment` (save it) or `inline` (show it, e.g. a photo).
    pub disposition: &'static str,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn ok(data: Value) -> Self {
        Self {
            status: 200,
            message: "ok",
            data: Data::Value(data),
        }
    }
    /// 200 with a typed view as `data` (see `Data::typed`).
    pub fn ok_typed<T: serde::Serialize>(view: &T) -> Self {
        Self {
            status: 200,
            message: "ok",
            data: Data::typed(view),
        }
    }
    /// 200 with `data` rendered by the service.
    pub fn ok_rendered(json: Vec<u8>) -> Self {
        Self {
            status: 200,
            message: "ok",
            data: Data::Json(json),
        }
    }
    /// 201 with a typed view as `data`.
    pub fn created_typed<T: serde::Serialize>(view: &T) -> Self {
        Self {
            status: 201,
            message: "created",
            data: Data::typed(view),
        }
    }
    pub fn created(data: Value) -> Self {
        Self {
            status: 201,
            message: "created",
            data: Data::Value(data),
        }
    }
}

pub type OpResult = Result<Reply, Problem>;
pub type OpFn = for<'a> fn(&'a mut Call) -> BoxFuture<'a, OpResult>;

/// Wraps an `async fn(&mut Call) -> OpResult` as an `OpFn`.
#[macro_export]
macro_rules! da_op {
    ($f:path) => {{
        fn wrapped<'a>(
            c: &'a mut $crate::api::daily_activity::Call,
        ) -> futures_util::future::BoxFuture<'a, $crate::api::daily_activity::OpResult> {
            Box::pin($f(c))
        }
        wrapped as $crate::api::daily_activity::OpFn
    }};
}

pub fn routes() -> Vec<Route> {
    [identity::routes(), attendance::routes(), work::routes()]
        .into_iter()
        .flatten()
        .collect()
}

/// Builds a route of this family.
pub fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    mut doc: Doc,
    f: OpFn,
) -> Route {
    doc.security = match auth {
        Auth::AppKey => vec!["appKey"],
        Auth::Client => vec!["appKey", "clientToken"],
        Auth::UserToken(_) => vec!["appKey", "userTokenBearer"],
        Auth::Refresh(_) => vec!["appKey", "refreshToken"],
        Auth::Access(_) => vec!["appKey", "accessToken", "userToken"],
        Auth::Gateway => vec!["wablasSecret"],
    };
    let handler: super::Handler = Arc::new(move |svc, req| Box::pin(run(svc, req, auth, f)));
    Route {
        method,
        path,
        family: Family::DailyActivity,
        summary,
        tag,
        doc,
        handler,
        max_body: None,
        permission: auth.permission(),
    }
}

fn bearer(req: &Request) -> Option<&str> {
    let h = req.header("authorization")?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..0x7f).contains(&b))
}

async fn authenticate(svc: &Arc<Services>, req: &Request, auth: Auth) -> Result<Caller, Problem> {
    let mut caller = Caller {
        client: None,
        token: None,
        user_token: None,
        user: None,
    };
    if auth == Auth::Gateway {
        return Ok(caller);
    }
    let app_key = req
        .header("x-app-key")
        .ok_or_else(|| Problem::new(401, "auth.app_key.invalid"))?;
    let client = ident::active_client(&svc.store, app_key)?
        .ok_or_else(|| Problem::new(401, "auth.app_key.invalid"))?;
    let kind = match auth {
        Auth::AppKey | Auth::Gateway => {
            // Verify's credential is its signature, good only within the time window: checked
            // here, before a stored answer could be replayed, so a captured request stops
            // working when its window ends.
            let ts = req
                .json_object()
                .ok()
                .and_then(|b| b.get("timestamp").and_then(Value::as_i64));
            if let Some(ts) = ts {
                ident::check_signature_time(svc, ts)?;
            }
            caller.client = Some(client);
            return Ok(caller);
        }
        Auth::Client => TokenKind::Client,
        Auth::UserToken(_) => TokenKind::User,
        Auth::Refresh(_) => TokenKind::Refresh,
        Auth::Access(_) => TokenKind::Access,
    };
    let token = bearer(req).ok_or_else(|| Problem::new(401, "auth.bearer.required"))?;
    let resolved = ident::resolve_token_full(svc, token, kind, &client.app_key)?;
    match auth {
        Auth::UserToken(_) => caller.user_token = Some(resolved.hash),
        Auth::Access(_) => {
            let ut = req
                .header("x-user-token")
                .ok_or_else(|| Problem::new(401, "auth.user_token.required"))?;
            let ut_hash = crate::domain::ids::TokenHash::of(ut.trim().as_bytes());
            // access → refresh → user token: the chain must end at this x-user-token. The chain
            // was read (and checked usable) with the access token; the user token's own checks
            // are made on the record read there.
            let root = resolved
                .chain
                .first()
                .and_then(|(_, refresh)| refresh.parent);
            let same = root.is_some_and(|r| crate::domain::credentials::ct_eq(&r.0, &ut_hash.0));
            if same {
                ident::check_chained(svc, &resolved, 1, TokenKind::User, &client.app_key)?;
            } else {
                // Not this chain's: an unusable user token is refused as such, else a mismatch.
                ident::resolve_token(svc, ut, TokenKind::User, &client.app_key)?;
                return Err(Problem::new(401, "auth.token.mismatch"));
            }
            caller.user_token = Some(ut_hash);
        }
        _ => {}
    }
    let ident::Resolved {
        hash, rec, user, ..
    } = resolved;
    // Read and checked active by `resolve_token_full`.
    caller.user = user;
    // The one access rule, before any field is read or record looked up.
    if let Some(p) = auth.permission() {
        let user = caller
            .user
            .as_ref()
            .ok_or_else(|| Problem::new(401, "auth.token.invalid"))?;
        crate::service::access::check(user, p)?;
    }
    caller.client = Some(client);
    caller.token = Some((hash, rec));
    Ok(caller)
}

async fn run(svc: Arc<Services>, req: Request, auth: Auth, f: OpFn) -> Response {
    let lang = Lang::from_header(req.header("x-language"));
    let request_id = req.header("x-request-id").unwrap_or("").to_string();
    if auth != Auth::Gateway {
        if request_id.is_empty() {
            return render_problem(
                &req,
                &Problem::new(400, "header.required").arg("header", "x-request-id"),
            );
        }
        if !valid_request_id(&request_id) {
            return render_problem(&req, &Problem::new(400, "header.request_id.length"));
        }
    }
    let caller = match authenticate(&svc, &req, auth).await {
        Ok(c) => c,
        Err(p) => return render_problem(&req, &p),
    };
    let write = req.method != Method::GET && req.method != Method::HEAD && auth != Auth::Gateway;
    // Idempotency records belong to the credential that made the call (the user token a chain
    // hangs from, else the bearer token; Verify has only the client's key), so another caller
    // of the same client never sees this one's answer, and a replay dies with its credential.
    let scope = match &caller.client {
        // Only writes keep idempotency records.
        _ if !write => String::new(),
        Some(c) => match caller
            .user_token
            .as_ref()
            .or(caller.token.as_ref().map(|(h, _)| h))
        {
            Some(h) => format!("da:{}:{}", c.app_key, hex::encode(h.0)),
            None => format!("da:{}", c.app_key),
        },
        None => String::new(),
    };
    let mut call = Call {
        svc: svc.clone(),
        req,
        lang,
        request_id: request_id.clone(),
        caller,
        tx: None,
        file: None,
    };
    let mut req_hash = Vec::new();
    if write {
        let parts: [&[u8]; 4] = [
            call.req.method.as_str().as_bytes(),
            call.req.path.as_bytes(),
            call.req.query.as_bytes(),
            &call.req.body,
        ];
        match idempotency::peek(&svc, &scope, &request_id, &parts) {
            Ok(Start::New { request_hash }) => {
                req_hash = request_hash;
            }
            Ok(Start::Replay { status, body }) => {
                // The first answer may have been applied but not yet flushed: a replay is
                // acknowledged only once it is durable.
                if let Err(e) = svc.store.durable().await {
                    return render_problem(&call.req, &e.into());
                }
                return Response::bytes(status, "application/json", body)
                    .with_header("x-idempotent-replay", "true");
            }
            Ok(Start::Conflict) => {
                return render_problem(
                    &call.req,
                    &Problem::new(409, "idempotency.conflict").arg("id", request_id),
                );
            }
            Err(e) => return render_problem(&call.req, &e.into()),
        }
    }
    let result = f(&mut call).await;
    let resp = match result {
        Ok(_) if call.file.is_some() => {
            let f = call.file.take().expect("checked above");
            let name: String = f
                .name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
                .collect();
            return Response::bytes(200, f.content_type, f.bytes)
                .with_header(
                    "content-disposition",
                    format!("{}; filename=\"{name}\"", f.disposition),
                )
                .with_header("x-request-id", request_id);
        }
        Ok(reply) => envelope(
            lang,
            &request_id,
            reply.status,
            reply.message,
            &[],
            reply.data,
            &[],
        ),
        Err(p) => return render_problem(&call.req, &p),
    };
    if write {
        let status = resp.status.as_u16();
        let tx = call.tx.take();
        match idempotency::finish(&svc, tx, &scope, &request_id, req_hash, status, &resp.body).await
        {
            Ok(None) => {}
            // A duplicate committed first: its answer, and nothing of this one.
            Ok(Some(Start::Replay { status, body })) => {
                return Response::bytes(status, "application/json", body)
                    .with_header("x-idempotent-replay", "true");
            }
            Ok(Some(_)) => {
                return render_problem(
                    &call.req,
                    &Problem::new(409, "idempotency.conflict").arg("id", request_id),
                );
            }
            Err(e) => return render_problem(&call.req, &e.into()),
        }
    }
    resp
}

fn envelope(
    lang: Lang,
    request_id: &str,
    status: u16,
    key: &str,
    args: &[(&str, String)],
    data: Data,
    errors: &[crate::domain::validate::FieldError],
) -> Response {
    let message = i18n::t(lang, key, args);
    if errors.is_empty() {
        // The keys in the order a sorted map writes them, data spliced in as rendered.
        let data_len = match &data {
            Data::Json(b) => b.len(),
            Data::Value(_) => 256,
        };
        let mut out = Vec::with_capacity(64 + data_len + message.len() + request_id.len());
        let _ = write!(out, "{{\"code\":{status},\"data\":");
        match &data {
            Data::Json(b) => out.extend_from_slice(b),
            Data::Value(v) => serde_json::to_writer(&mut out, v).expect("serializing a JSON value"),
        }
        out.extend_from_slice(b",\"message\":");
        serde_json::to_writer(&mut out, &message).expect("serializing a string");
        out.extend_from_slice(b",\"request_id\":");
        serde_json::to_writer(&mut out, request_id).expect("serializing a string");
        out.push(b'}');
        return Response::bytes(status, "application/json", out);
    }
    let data = match data {
        Data::Value(v) => v,
        Data::Json(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
    };
    let mut body = json!({
        "code": status,
        "message": message,
        "data": data,
        "request_id": request_id,
    });
    if !errors.is_empty() {
        body["errors"] = errors
            .iter()
            .map(|e| {
                let args: Vec<(&str, String)> =
                    e.args.iter().map(|(k, v)| (*k, v.clone())).collect();
                json!({"field": e.field, "message": i18n::t(lang, e.key, &args)})
            })
            .collect();
    }
    Response::json(status, &body)
}

pub fn render_problem(req: &Request, p: &Problem) -> Response {
    let lang = Lang::from_header(req.header("x-language"));
    let rid = req.header("x-request-id").unwrap_or("");
    let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (*k, v.clone())).collect();
    let resp = envelope(
        lang,
        rid,
        p.status,
        p.key,
        &args,
        Data::Value(Value::Null),
        &p.fields,
    );
    match p.retry_after {
        Some(s) => resp.with_header("retry-after", s.to_string()),
        None => resp,
    }
}

/// Turns validation errors into the family's 400.
pub fn fields_ok(f: &crate::domain::validate::Fields<'_>) -> Result<(), Problem> {
    if f.ok() {
        Ok(())
    } else {
        Err(Problem::invalid(f.errors.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The envelope written by hand must be the bytes of the sorted map it replaced, whichever
    /// way its data was rendered.
    #[test]
    fn envelope_is_the_sorted_map() {
        let data = json!({"b": [1, 2.5, null], "a": "x\"y\u{7}"});
        for lang in [Lang::En, Lang::Id] {
            let want = serde_json::to_vec(&json!({
                "code": 201,
                "message": i18n::t(lang, "attendance.clocked_in", &[]),
                "data": data,
                "request_id": "r-\"1\"\\",
            }))
            .unwrap();
            for d in [
                Data::Value(data.clone()),
                Data::Json(serde_json::to_vec(&data).unwrap()),
            ] {
                let r = envelope(lang, "r-\"1\"\\", 201, "attendance.clocked_in", &[], d, &[]);
                assert_eq!(r.body.as_ref(), want.as_slice());
                assert_eq!(r.content_type, "application/json");
                assert_eq!(r.status.as_u16(), 201);
            }
        }
    }
}
