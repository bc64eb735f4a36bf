//! Admin API: users and client systems.

use std::sync::Arc;

use serde_json::{json, Value};
use warp::http::Method;

use super::{body_fields, ok_fields, route, AdminResult};
use crate::api::{Request, Route};
use crate::domain::identity::Role;
use crate::domain::validate::Fields;
use crate::service::{identity as ident, Services};

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::POST, "/admin/users", "Add User", |svc, req| {
            Box::pin(add_user(svc, req))
        }),
        route(Method::GET, "/admin/users", "List Users", |svc, _| {
            Box::pin(list_users(svc))
        }),
        route(Method::POST, "/admin/clients", "Add Client", |svc, req| {
            Box::pin(add_client(svc, req))
        }),
        route(Method::GET, "/admin/clients", "List Clients", |svc, _| {
            Box::pin(list_clients(svc))
        }),
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

async fn list_users(svc: Arc<Services>) -> AdminResult {
    let users: Vec<Value> = ident::users(&svc.store)?
        .iter()
        .map(|u| json!({"user_id": u.id.0, "username": u.username, "name": u.name, "role": u.role.as_str(), "active": u.active}))
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
