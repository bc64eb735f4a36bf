//! Admin API: users (lockout, password), client systems, and Codelayer handheld licences.

use std::sync::Arc;

use serde_json::{json, Value};
use warp::http::Method;

use super::{body_fields, ok_fields, route, AdminResult};
use crate::api::Problem;
use crate::api::{Request, Route};
use crate::domain::devices::Device;
use crate::domain::identity::Role;
use crate::domain::validate::{FieldError, Fields};
use crate::service::devices::{self, Decision};
use crate::service::lockout::{self, Subject};
use crate::service::outbox;
use crate::service::{identity as ident, Services};

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::POST, "/admin/users", "Add User", |svc, req| {
            Box::pin(add_user(svc, req))
        }),
        {
            let mut r = route(Method::GET, "/admin/users", "List Users", |svc, req| {
                Box::pin(list_users(svc, req))
            });
            r.doc.query = vec![
                ("limit", "Most users in one answer (1–1000, default 500)"),
                (
                    "after",
                    "The last user_id of the previous page: the list goes on after it",
                ),
            ];
            r
        },
        route(Method::POST, "/admin/clients", "Add Client", |svc, req| {
            Box::pin(add_client(svc, req))
        }),
        route(Method::GET, "/admin/clients", "List Clients", |svc, _| {
            Box::pin(list_clients(svc))
        }),
        route(
            Method::POST,
            "/admin/clients/revoke",
            "Revoke Client",
            |svc, req| Box::pin(revoke_client(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/users/unlock",
            "Unlock User",
            |svc, req| Box::pin(unlock_user(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/users/role",
            "Set User Role",
            |svc, req| Box::pin(set_role(svc, req)),
        ),
        route(
            Method::POST,
            "/admin/users/password",
            "Reset User Password",
            |svc, req| Box::pin(reset_password(svc, req)),
        ),
        route(Method::GET, "/admin/lockouts", "List Lockouts", |svc, _| {
            Box::pin(list_lockouts(svc))
        }),
        route(Method::GET, "/admin/outbox", "Outbox", |svc, _| {
            Box::pin(list_outbox(svc))
        }),
        route(
            Method::GET,
            "/admin/wablas",
            "Gateway Callbacks",
            |svc, _| Box::pin(list_wablas(svc)),
        ),
        {
            let mut r = route(Method::GET, "/admin/devices", "List Devices", |svc, req| {
                Box::pin(list_devices(svc, req))
            });
            r.doc.query = vec![
                ("limit", "Most devices in one answer (1–1000, default 500)"),
                (
                    "after",
                    "The last IMEI of the previous page: the list goes on after it",
                ),
            ];
            r
        },
        route(
            Method::POST,
            "/admin/devices/approve",
            "Approve Device",
            |svc, req| Box::pin(decide(svc, req, Decision::Approve)),
        ),
        route(
            Method::POST,
            "/admin/devices/reject",
            "Reject Device",
            |svc, req| Box::pin(decide(svc, req, Decision::Reject)),
        ),
        route(
            Method::POST,
            "/admin/devices/block",
            "Block Device",
            |svc, req| Box::pin(decide(svc, req, Decision::Block)),
        ),
        route(
            Method::POST,
            "/admin/devices/reissue",
            "Reissue Licence Key",
            |svc, req| Box::pin(decide(svc, req, Decision::Reissue)),
        ),
    ]
}

async fn add_user(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    let password = f.required("password", 1, 64);
    let role_s = f.optional("role", 32).unwrap_or_else(|| "clerk".into());
    let name = f.optional("name", 100).unwrap_or_default();
    let phone = f.optional("phone", 20).unwrap_or_default();
    let role = Role::parse(&role_s);
    if role.is_none() {
        f.fail(
            "role",
            "field.one_of",
            vec![(
                "allowed",
                "admin, manager, supervisor, clerk, gate_guard, labourer".into(),
            )],
        );
    }
    ok_fields(&f)?;
    let mut tx = svc.store.begin().await;
    let user = ident::add_user(
        &svc,
        &mut tx,
        ident::NewUser {
            username: &username,
            password: &password,
            role: role.unwrap_or(Role::Clerk),
            name: &name,
            phone: &phone,
            email: "",
        },
    )?;
    tx.commit().await?;
    tracing::info!(user = %user.username, role = user.role.as_str(), "user added");
    Ok(
        json!({"user_id": user.id.0, "username": user.username, "role": user.role.as_str(), "name": user.name}),
    )
}

/// One page of users in id order (`limit`, `after`): the answer stays an array.
async fn list_users(svc: Arc<Services>, req: Request) -> AdminResult {
    let (limit, after) = super::paging(&req)?;
    let after = match after.map(|a| a.parse::<u64>()) {
        None => None,
        Some(Ok(n)) => Some(crate::domain::ids::UserId(n)),
        Some(Err(_)) => {
            return Err(Problem::invalid(vec![FieldError {
                field: "after".into(),
                key: "field.type",
                args: vec![("expected", "a positive integer".into())],
            }]))
        }
    };
    // Locked subjects are few (failed sign-ins within the lockout window).
    let locked = lockout::locked(&svc)?;
    let users: Vec<Value> = ident::users_page(&svc.store, after, limit)?
        .iter()
        .map(|u| {
            let subject = Subject::user(&u.username).0;
            let left = locked.iter().find(|(s, _)| *s == subject).map(|(_, l)| *l);
            // One word a table never cuts: disabled wins over locked (it refuses anyway).
            let state = match (u.active, left) {
                (false, _) => "disabled".to_string(),
                (true, Some(secs)) => format!("LOCKED {}m", (secs + 59) / 60),
                (true, None) => "active".to_string(),
            };
            json!({"user_id": u.id.0, "username": u.username, "name": u.name, "role": u.role.as_str(),
                   "active": u.active, "locked_for_secs": left, "state": state})
        })
        .collect();
    Ok(Value::Array(users))
}

async fn add_client(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let name = f.required("name", 1, 100);
    ok_fields(&f)?;
    let mut tx = svc.store.begin().await;
    let (client, private) = ident::add_client(&svc, &mut tx, &name)?;
    tx.commit().await?;
    tracing::info!(client = %client.name, app_key = %client.app_key, "client system added");
    Ok(
        json!({"name": client.name, "app_key": client.app_key.as_str(), "private_key": private.expose()}),
    )
}

async fn list_clients(svc: Arc<Services>) -> AdminResult {
    let list: Vec<Value> = ident::clients(&svc.store)?
        .iter()
        .map(|c| json!({"name": c.name, "app_key": c.app_key.as_str(), "revoked": c.revoked, "created_unix": c.created_unix}))
        .collect();
    Ok(Value::Array(list))
}

fn username_field(req: &Request) -> Result<String, Problem> {
    let body = body_fields(req)?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    ok_fields(&f)?;
    Ok(username)
}

async fn unlock_user(svc: Arc<Services>, req: Request) -> AdminResult {
    let username = username_field(&req)?;
    let user = ident::user_by_username(&svc.store, &username)?
        .ok_or_else(|| Problem::new(404, "user.unknown"))?;
    let mut tx = svc.store.begin().await;
    // The user's own lockout and those of the devices its failed sign-ins came from.
    let lifted = lockout::unlock_user_everywhere(&mut tx, &user.username)?;
    tx.commit().await?;
    let was_locked = !lifted.is_empty();
    tracing::info!(user = %user.username, was_locked, lifted = ?lifted, "user unlocked");
    Ok(json!({"username": user.username, "was_locked": was_locked, "lifted": lifted}))
}

async fn reset_password(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    let password = f.required("password", 1, 64);
    ok_fields(&f)?;
    let user = ident::user_by_username(&svc.store, &username)?
        .ok_or_else(|| Problem::new(404, "user.unknown"))?;
    let mut tx = svc.store.begin().await;
    ident::set_password(&svc, &mut tx, user.id, &password)?;
    lockout::unlock(&mut tx, &Subject::user(&user.username))?;
    tx.commit().await?;
    tracing::info!(user = %user.username, "password reset by an admin; sessions revoked");
    Ok(json!({"username": user.username, "sessions_revoked": true}))
}

async fn set_role(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    let role = f.one_of(
        "role",
        &[
            "admin",
            "manager",
            "supervisor",
            "clerk",
            "gate_guard",
            "labourer",
        ],
        true,
    );
    ok_fields(&f)?;
    let role = role
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| Problem::new(400, "validation.failed"))?;
    let user = ident::user_by_username(&svc.store, &username)?
        .ok_or_else(|| Problem::new(404, "user.unknown"))?;
    let mut tx = svc.store.begin().await;
    let user = ident::set_role(&mut tx, user.id, role)?;
    tx.commit().await?;
    tracing::info!(user = %user.username, role = user.role.as_str(), "role changed by an admin");
    Ok(json!({"username": user.username, "role": user.role.as_str()}))
}

async fn list_lockouts(svc: Arc<Services>) -> AdminResult {
    let list: Vec<Value> = lockout::locked(&svc)?
        .into_iter()
        .map(|(subject, secs)| json!({"subject": subject, "retry_after_secs": secs}))
        .collect();
    Ok(Value::Array(list))
}

fn device_json(d: &Device) -> Value {
    json!({
        "imei": d.imei,
        "app_id": d.app_id,
        "client_id": d.client_id,
        "device_name": d.device_name,
        "mobile": d.mobile,
        "status": d.status.as_str(),
        "requested_unix": d.requested_unix,
        "decided_unix": d.decided_unix,
        "valid_till_unix": d.valid_till_unix,
        "last_seen_unix": d.last_seen_unix,
        "app_version": d.app_version,
    })
}

/// Default and largest page of the admin lists that page (`limit`, `after`).
/// One page of devices in IMEI order (`limit`, `after`): the answer stays an array.
async fn list_devices(svc: Arc<Services>, req: Request) -> AdminResult {
    let (limit, after) = super::paging(&req)?;
    let mut list = Vec::new();
    for d in devices::devices_page(&svc.store, after.as_deref(), limit)? {
        let mut v = device_json(&d);
        if let Some(k) = devices::key_delivery(&svc.store, &d.imei)? {
            v["key_delivered_unix"] = json!(k.delivered_unix);
            v["key_delivered_to"] = json!(k.peer);
        }
        list.push(v);
    }
    Ok(Value::Array(list))
}

async fn decide(svc: Arc<Services>, req: Request, decision: Decision) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let imei = f.required("imei", 14, 50);
    ok_fields(&f)?;
    let mut tx = svc.store.begin().await;
    let d = devices::decide(&svc, &mut tx, &imei, decision)?;
    tx.commit().await?;
    Ok(device_json(&d))
}

/// The outbox with texts opened: gatehouse staff read reset codes to people without a phone.
async fn list_outbox(svc: Arc<Services>) -> AdminResult {
    let now = svc.now_unix();
    let list: Vec<Value> = outbox::list(&svc, 200)?
        .into_iter()
        .map(|(m, text)| {
            json!({
                "id": m.id,
                "user_id": m.user.map(|u| u.0),
                "channel": match m.channel {
                    crate::domain::identity::Channel::Console => "console",
                    crate::domain::identity::Channel::Wablas => "wablas",
                },
                "to": m.to,
                "purpose": m.purpose,
                "text": text,
                "status": m.status.as_str(),
                "created_unix": m.created_unix,
                "expires_unix": m.expires_unix,
                "expired": m.expires_unix.is_some_and(|t| t <= now),
            })
        })
        .collect();
    Ok(Value::Array(list))
}

async fn list_wablas(svc: Arc<Services>) -> AdminResult {
    let list: Vec<Value> = outbox::wablas_events(&svc, 200)?
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "kind": match e.kind {
                    crate::domain::identity::WablasKind::Message => "message",
                    crate::domain::identity::WablasKind::Status => "status",
                },
                "phone": e.phone,
                "message": e.message,
                "message_type": e.message_type,
                "device_id": e.device_id,
                "sender": e.sender,
                "is_from_me": e.is_from_me,
                "timestamp": e.timestamp,
                "status": e.status,
                "received_unix": e.received_unix,
            })
        })
        .collect();
    Ok(Value::Array(list))
}

async fn revoke_client(svc: Arc<Services>, req: Request) -> AdminResult {
    let body = body_fields(&req)?;
    let mut f = Fields::new(&body);
    let app_key = f.required("app_key", 1, 100);
    ok_fields(&f)?;
    let mut tx = svc.store.begin().await;
    let c = ident::revoke_client(&mut tx, &app_key)?;
    tx.commit().await?;
    tracing::info!(client = %c.name, app_key = %c.app_key, "client system revoked");
    Ok(json!({"name": c.name, "app_key": c.app_key.as_str(), "revoked": true}))
}
