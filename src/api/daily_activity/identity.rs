//! Daily Activity: Authorize (Verify, Refresh Token, Access Token) and User (Login, Logout,
//! Profile); the rest of the family's identity operations are in `identity/`.

mod account;
mod wablas;

use serde_json::{json, Value};
use warp::http::Method;

use super::{fields_ok, route, Auth, Call, OpResult, Reply};
use crate::api::{Doc, Problem, Route};
use crate::da_op;
use crate::domain::identity::{Permission, TokenKind, User};
use crate::domain::validate::Fields;
use crate::service::identity::{self as ident, SignInFailure};
use crate::service::lockout::Subject;

pub fn routes() -> Vec<Route> {
    let mut all = chain_routes();
    all.extend(account::routes());
    all.extend(wablas::routes());
    all
}

fn chain_routes() -> Vec<Route> {
    vec![
        route(
            Method::POST,
            "/daily/v1/authorize/verify",
            "Verify",
            "Daily Activity/Authorize",
            Auth::AppKey,
            Doc {
                description: "Proves the client system holds its private key without sending it: \
                    `signature` = hex(HMAC-SHA256(private_key, x-request-id + \"\\n\" + timestamp)), \
                    timestamp in Unix seconds within ±300 s of the server. Returns a client_token.",
                request: Some(json!({"timestamp": 1763870000, "signature": "9f2c…64 hex digits"})),
                response: Some(json!({"client_token": "64 hex digits", "token_type": "Bearer", "expires_in": 3600})),
                required: &["timestamp", "signature"],
                ..Doc::default()
            },
            da_op!(verify),
        ),
        route(
            Method::POST,
            "/daily/v1/user/login",
            "Login",
            "Daily Activity/User",
            Auth::Client,
            Doc {
                description: "Signs a user in with username and password. Returns data.user_token \
                    (send it as x-user-token) and the profile. Failed sign-ins are counted per \
                    user and per device_id (per client system without one): each failure is \
                    answered a little later, and after auth.lockout_after_failures the user or \
                    device is refused with 429 (Retry-After) for auth.lockout_minutes.",
                request: Some(json!({"username": "mandor01", "password": "secret-pass", "device_id": "HH-0042"})),
                response: Some(json!({"user_token": "64 hex digits", "expires_in": 2592000, "profile": profile_example()})),
                required: &["username", "password"],
                errors: &[429],
                ..Doc::default()
            },
            da_op!(login),
        ),
        route(
            Method::GET,
            "/daily/v1/authorize/refresh-token",
            "Refresh Token",
            "Daily Activity/Authorize",
            Auth::UserToken(Permission::Account),
            Doc {
                description: "Bearer user_token → a refresh_token.",
                response: Some(json!({"refresh_token": "64 hex digits", "expires_in": 604800})),
                ..Doc::default()
            },
            da_op!(refresh_token),
        ),
        route(
            Method::GET,
            "/daily/v1/authorize/access-token",
            "Access Token",
            "Daily Activity/Authorize",
            Auth::Refresh(Permission::Account),
            Doc {
                description: "Bearer refresh_token → an access_token, used with x-user-token on every other user operation.",
                response: Some(json!({"access_token": "64 hex digits", "expires_in": 3600})),
                ..Doc::default()
            },
            da_op!(access_token),
        ),
        route(
            Method::POST,
            "/daily/v1/user/logout",
            "Logout",
            "Daily Activity/User",
            Auth::Access(Permission::Account),
            Doc {
                description: "Revokes the user token and every refresh and access token derived from it.",
                response: Some(json!({"revoked": true})),
                ..Doc::default()
            },
            da_op!(logout),
        ),
        route(
            Method::GET,
            "/daily/v1/user/profile",
            "Profile",
            "Daily Activity/User",
            Auth::Access(Permission::Account),
            Doc { description: "The signed-in user's profile.", response: Some(profile_example()), ..Doc::default() },
            da_op!(profile),
        ),
    ]
}

fn profile_example() -> Value {
    json!({"user_id": 12, "username": "mandor01", "name": "Budi Santoso", "role": "supervisor",
           "phone": "+62822997572606", "email": "", "employee_code": "EMP-0012"})
}

pub fn profile_json(u: &User) -> Value {
    json!({
        "user_id": u.id.0,
        "username": u.username,
        "name": u.name,
        "role": u.role.as_str(),
        "phone": u.phone,
        "email": u.email,
        "employee_code": u.employee_code,
    })
}

async fn verify(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let ts = f.int("timestamp", 0, i64::MAX, true);
    let sig = f.required("signature", 64, 64);
    fields_ok(&f)?;
    let client = call
        .caller
        .client
        .clone()
        .ok_or_else(|| Problem::new(401, "auth.app_key.invalid"))?;
    ident::verify_client_signature(&call.svc, &client, &call.request_id, ts.unwrap_or(0), &sig)?;
    let svc = call.svc.clone();
    let issued = ident::issue_token(
        &svc,
        call.tx().await,
        TokenKind::Client,
        &client.app_key,
        None,
        None,
        None,
    );
    Ok(Reply::ok(json!({
        "client_token": issued.token.expose(),
        "token_type": "Bearer",
        "expires_in": issued.record.expires_unix - issued.record.issued_unix,
    })))
}

async fn login(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    let password = f.required("password", 1, 64);
    let device = f.optional("device_id", 100);
    fields_ok(&f)?;
    let svc = call.svc.clone();
    let app_key = call
        .caller
        .client
        .as_ref()
        .map(|c| c.app_key.clone())
        .ok_or_else(|| Problem::new(401, "auth.app_key.invalid"))?;
    // The device counts failures; without a device id, the client system does.
    let subject = match &device {
        Some(d) => Subject::device("device", d),
        None => Subject::device("client", app_key.as_str()),
    };
    let user = match ident::sign_in_blocking(&svc, &username, &password, &[subject]).await {
        Ok(u) => u,
        Err(SignInFailure { error, delay }) => {
            // Release the writer lock before holding the answer back.
            drop(call.tx.take());
            tokio::time::sleep(delay).await;
            return Err(error.into());
        }
    };
    let issued = ident::issue_token(
        &svc,
        call.tx().await,
        TokenKind::User,
        &app_key,
        Some(user.id),
        None,
        device,
    );
    Ok(Reply::ok(json!({
        "user_token": issued.token.expose(),
        "expires_in": issued.record.expires_unix - issued.record.issued_unix,
        "profile": profile_json(&user),
    })))
}

async fn refresh_token(call: &mut Call) -> OpResult {
    derive(call, TokenKind::Refresh, "refresh_token").await
}

async fn access_token(call: &mut Call) -> OpResult {
    derive(call, TokenKind::Access, "access_token").await
}

/// Issues a child of the bearer token. GET operations carry no transaction, so this one
/// commits its own.
async fn derive(call: &mut Call, kind: TokenKind, field: &str) -> OpResult {
    let (parent, rec) = call
        .caller
        .token
        .clone()
        .ok_or_else(|| Problem::new(401, "auth.token.invalid"))?;
    let svc = call.svc.clone();
    let mut tx = svc.store.begin().await;
    let issued = ident::issue_token(
        &svc,
        &mut tx,
        kind,
        &rec.app_key,
        rec.user,
        Some(parent),
        rec.device_id.clone(),
    );
    tx.commit().await?;
    Ok(Reply::ok(json!({
        field: issued.token.expose(),
        "expires_in": issued.record.expires_unix - issued.record.issued_unix,
    })))
}

async fn logout(call: &mut Call) -> OpResult {
    let ut = call
        .caller
        .user_token
        .ok_or_else(|| Problem::new(401, "auth.token.invalid"))?;
    ident::revoke(call.tx().await, &ut)?;
    Ok(Reply::ok(json!({"revoked": true})))
}

async fn profile(call: &mut Call) -> OpResult {
    Ok(Reply::ok(profile_json(call.user()?)))
}
