//! Authorize API family, base `/api` (DESIGN.md §3.3): POST with `deviceID` + `token` in the
//! body; success `{"status":"success","message":{...}}`, errors
//! `{"status":"error","message":["<reason>"]}` with HTTP 400/401/405.

mod users;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};
use warp::http::Method;

use super::{Doc, Family, Problem, Request, Response, Route};
use crate::domain::identity::{DeviceLogin, Permission, User};
use crate::i18n::{self, Lang};
use crate::service::{device_logins, Services};

pub const BASE: &str = "/api";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credential (`users/authorize`).
    Public,
    /// `deviceID` + `token` in the body. `touch`: the call counts as activity and extends the
    /// token's idle expiry (every operation but `users/checktoken`). The signed-in user must
    /// hold `permission`.
    Token { touch: bool, permission: Permission },
}

pub struct Call {
    pub svc: Arc<Services>,
    pub req: Request,
    pub body: Map<String, Value>,
    /// The signed-in device and its user, for `Auth::Token` operations.
    pub login: Option<(DeviceLogin, User)>,
}

/// The `message` of a success answer.
pub type OpResult = Result<Value, Problem>;
pub type OpFn = for<'a> fn(&'a mut Call) -> BoxFuture<'a, OpResult>;

#[macro_export]
macro_rules! az_op {
    ($f:path) => {{
        fn wrapped<'a>(
            c: &'a mut $crate::api::authorize::Call,
        ) -> futures_util::future::BoxFuture<'a, $crate::api::authorize::OpResult> {
            Box::pin($f(c))
        }
        wrapped as $crate::api::authorize::OpFn
    }};
}

pub fn routes() -> Vec<Route> {
    users::routes()
}

pub fn route(
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    mut doc: Doc,
    f: OpFn,
) -> Route {
    if auth != Auth::Public {
        doc.security = vec!["authorizeToken"];
    }
    let handler: super::Handler = Arc::new(move |svc, req| Box::pin(run(svc, req, auth, f)));
    Route {
        method: Method::POST,
        path,
        family: Family::Authorize,
        summary,
        tag,
        doc,
        handler,
        max_body: None,
        permission: match auth {
            Auth::Token { permission, .. } => Some(permission),
            Auth::Public => None,
        },
    }
}

async fn run(svc: Arc<Services>, req: Request, auth: Auth, f: OpFn) -> Response {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(p) => return render_problem(&req, &p),
    };
    let login = match auth {
        Auth::Public => None,
        Auth::Token { touch, permission } => {
            let text = |k: &str| {
                body.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let resolved =
                device_logins::resolve(&svc, &text("deviceID"), &text("token"), touch).await;
            // The one access rule, before anything else.
            let checked = match resolved.and_then(|(l, u)| {
                crate::service::access::check(&u, permission)?;
                Ok((l, u))
            }) {
                Ok(l) if touch => device_logins::touch(&svc, &text("token")).await.map(|_| l),
                other => other,
            };
            match checked {
                Ok(l) => Some(l),
                Err(e) => return render_problem(&req, &e.into()),
            }
        }
    };
    let mut call = Call {
        svc,
        req,
        body,
        login,
    };
    match f(&mut call).await {
        Ok(message) => Response::json(200, &json!({"status": "success", "message": message})),
        Err(p) => render_problem(&call.req, &p),
    }
}

pub fn render_problem(_req: &Request, p: &Problem) -> Response {
    let mut reasons: Vec<String> = p
        .fields
        .iter()
        .map(|fe| {
            let args: Vec<(&str, String)> = fe.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            i18n::t(Lang::En, fe.key, &args)
        })
        .collect();
    if reasons.is_empty() {
        let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (*k, v.clone())).collect();
        reasons.push(i18n::t(Lang::En, p.key, &args));
    }
    // The family documents 200/400/401/405 (and 403 for a role without the permission):
    // everything else a client can cause is a 400.
    let status = match p.status {
        401 | 403 | 405 | 500 | 503 | 507 => p.status,
        404 if p.key == "route.not_found" => 404,
        _ => 400,
    };
    Response::json(status, &json!({"status": "error", "message": reasons}))
}
