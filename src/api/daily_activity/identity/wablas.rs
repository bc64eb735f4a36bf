//! Daily Activity: wablas Callback. The WhatsApp gateway posts incoming messages and delivery
//! statuses here; it cannot send the family's headers, so it proves itself with the shared
//! secret `wablas.callback_secret` (`?secret=` in the webhook URL, or `x-wablas-secret`).

use serde_json::{json, Map, Value};
use warp::http::Method;

use crate::api::daily_activity::{fields_ok, route, Auth, Call, OpResult, Reply};
use crate::api::{Doc, Problem, Request, Route};
use crate::da_op;
use crate::domain::credentials::ct_eq;
use crate::domain::identity::{WablasEvent, WablasKind};
use crate::domain::validate::Fields;
use crate::service::outbox;

pub fn routes() -> Vec<Route> {
    vec![route(
        Method::POST,
        "/daily/v1/wablas/callback",
        "Callback",
        "Daily Activity/wablas",
        Auth::Gateway,
        Doc {
            description: "Webhook of the wablas WhatsApp gateway: incoming messages (`id`, \
                `phone`, `message`, `messageType`, `deviceId`, `sender`, `isFromMe`, \
                `timestamp`, ...) and delivery statuses (`id`, `phone`, `status` sent | read | \
                cancel | received | reject | pending, `device_id`), as JSON or form data. \
                Authenticated by the shared secret `wablas.callback_secret` in `?secret=` or the \
                `x-wablas-secret` header. Stored once per `id` (a status once per `id` and \
                `status`): a repeated post changes nothing and answers `duplicate: true`.",
            request: Some(
                json!({"id": "3f2c6a4e-1b7d-4a55-9d0e-5b8c2f1e7a90", "pushName": "6285137033257@s.whatsapp.net",
                "isGroup": false, "message": "Hello", "phone": "6285137033257", "messageType": "text",
                "file": "", "url": "", "mimeType": "", "deviceId": "RF0WVV", "sender": "6285920524227",
                "isFromMe": false, "timestamp": "2026-02-16T07:50:42Z"}),
            ),
            response: Some(
                json!({"id": "3f2c6a4e-1b7d-4a55-9d0e-5b8c2f1e7a90", "kind": "message", "stored": true, "duplicate": false}),
            ),
            query: vec![("secret", "The shared secret (wablas.callback_secret)")],
            ..Doc::default()
        },
        da_op!(callback),
    )]
}

fn authorized(call: &Call) -> bool {
    let want = &call.svc.config.wablas.callback_secret;
    if want.is_empty() {
        return false;
    }
    let given = call
        .req
        .query_param("secret")
        .or_else(|| call.req.header("x-wablas-secret").map(str::to_string))
        .unwrap_or_default();
    ct_eq(given.as_bytes(), want.as_bytes())
}

/// JSON, or form data (the tracking webhook posts form fields).
fn payload(req: &Request) -> Result<Map<String, Value>, Problem> {
    let form = req.header("content-type").is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form {
        return req.json_object();
    }
    let as_query = Request {
        method: req.method.clone(),
        path: String::new(),
        query: String::from_utf8_lossy(&req.body).into_owned(),
        headers: Default::default(),
        body: Default::default(),
        params: Vec::new(),
        peer: None,
    };
    Ok(as_query
        .query_params()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect())
}

async fn callback(call: &mut Call) -> OpResult {
    if !authorized(call) {
        return Err(Problem::new(401, "wablas.secret.invalid"));
    }
    let body = payload(&call.req)?;
    let mut f = Fields::new(&body);
    let id = f.required("id", 1, 128);
    let pick = |f: &mut Fields<'_>, names: &[&str], max: usize| -> String {
        let name = names
            .iter()
            .find(|n| f.raw(n).is_some())
            .copied()
            .unwrap_or(names[0]);
        f.optional(name, max).unwrap_or_default()
    };
    let phone = pick(&mut f, &["phone", "from"], 64);
    let message = pick(&mut f, &["message"], 65_536);
    let message_type = pick(&mut f, &["messageType", "type"], 32);
    let device_id = pick(&mut f, &["deviceId", "device_id"], 64);
    let sender = pick(&mut f, &["sender"], 64);
    let timestamp = pick(&mut f, &["timestamp"], 64);
    let status = pick(&mut f, &["status"], 32);
    let is_from_me = f.boolean("isFromMe").unwrap_or(false);
    fields_ok(&f)?;
    let kind = if !status.is_empty() && f.raw("message").is_none() {
        WablasKind::Status
    } else {
        WablasKind::Message
    };
    let ev = WablasEvent {
        id: id.clone(),
        kind,
        phone,
        message,
        message_type,
        device_id,
        sender,
        is_from_me,
        timestamp,
        status,
        received_unix: call.svc.now_unix(),
    };
    let svc = call.svc.clone();
    let mut tx = svc.store.begin().await;
    let stored = outbox::record_wablas(&svc, &mut tx, &ev)?;
    tx.commit().await?;
    Ok(Reply::ok(json!({
        "id": id,
        "kind": if kind == WablasKind::Message { "message" } else { "status" },
        "stored": stored,
        "duplicate": !stored,
    })))
}
