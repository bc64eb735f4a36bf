//! Daily Activity: Device (Register Device), User (Permission, Change Password, Forgot Password,
//! Reset Password), Privelge (Get Role List), Encrypt, and Remove/Users (Token Info).

use serde_json::{json, Value};
use warp::http::Method;

use crate::api::daily_activity::{fields_ok, route, Auth, Call, OpResult, Reply};
use crate::api::{Doc, Problem, Route};
use crate::da_op;
use crate::domain::identity::{Permission, Role, ALL_ROLES};
use crate::domain::validate::Fields;
use crate::service::devices::{self, AppRegistration};
use crate::service::identity::{self as ident, SignInFailure};
use crate::service::{device_logins, outbox, recovery};

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::POST,
            "/daily/v1/device/register",
            "Register Device",
            "Daily Activity/Device",
            Auth::Client,
            Doc {
                description: "Registers (or updates) an app installation of this client system. \
                    `device_id` is what Login's `device_id` refers to.",
                request: Some(
                    json!({"device_id": "HH-0042", "device_name": "Mandor tablet 2",
                    "platform": "android", "os_version": "13", "app_version": "2.4.1", "push_token": "fcm-token"}),
                ),
                response: Some(
                    json!({"device_id": "HH-0042", "registered": true, "created": true, "registered_unix": 1763870000}),
                ),
                required: &["device_id"],
                ..Doc::default()
            },
            da_op!(register_device),
        ),
        route(
            Method::GET,
            "/daily/v1/user/permission",
            "Permission",
            "Daily Activity/User",
            Auth::Access(Permission::Account),
            Doc {
                description: "The signed-in user's role and the permissions it grants.",
                response: Some(
                    json!({"role": "supervisor", "role_label": "Supervisor (kangani)",
                    "permissions": ["attendance_self", "muster_post"]}),
                ),
                ..Doc::default()
            },
            da_op!(permission),
        ),
        route(
            Method::PUT,
            "/daily/v1/user/change-password",
            "Change Password",
            "Daily Activity/User",
            Auth::Access(Permission::Account),
            Doc {
                description: "Changes the password (old one required). Every other session of the \
                    user, in every family, is revoked; this one stays signed in. Wrong old \
                    passwords count towards the login lockout.",
                request: Some(
                    json!({"old_password": "old-secret", "new_password": "new-secret-1", "confirm_password": "new-secret-1"}),
                ),
                response: Some(json!({"changed": true, "sessions_revoked": 2})),
                required: &["old_password", "new_password"],
                ..Doc::default()
            },
            da_op!(change_password),
        ),
        route(
            Method::POST,
            "/daily/v1/user/forgot-password",
            "Forgot Password",
            "Daily Activity/User",
            Auth::Client,
            Doc {
                description: "Sends a one-use reset code to the user: over WhatsApp (wablas) when \
                    the user has a phone number and a gateway is configured, otherwise to the \
                    gatehouse console's outbox. The answer is the same whether or not the user \
                    exists, and never contains the code.",
                request: Some(json!({"username": "mandor01"})),
                response: Some(json!({"requested": true, "expires_in": 900})),
                required: &["username"],
                // Too many reset codes asked for one user (rate limit).
                errors: &[429],
                ..Doc::default()
            },
            da_op!(forgot_password),
        ),
        route(
            Method::POST,
            "/daily/v1/user/reset-password",
            "Reset Password",
            "Daily Activity/User",
            Auth::Client,
            Doc {
                description: "Sets a new password with the reset code. The code works once, \
                    expires after `auth.reset_code_ttl_minutes`, and is void after 5 wrong tries. \
                    Every session of the user is revoked and any lockout lifted.",
                request: Some(
                    json!({"username": "mandor01", "code": "123456", "new_password": "new-secret-1"}),
                ),
                response: Some(json!({"reset": true})),
                required: &["username", "code", "new_password"],
                ..Doc::default()
            },
            da_op!(reset_password),
        ),
        route(
            Method::GET,
            "/daily/v1/privilege/roles",
            "Get Role List",
            "Daily Activity/Privelge",
            Auth::Access(Permission::Account),
            Doc {
                description: "The estate's roles and the permissions each grants.",
                response: Some(json!([{"role": "gate_guard", "label": "Gate guard",
                    "permissions": ["attendance_self", "gatepass_view", "gatepass_edit", "tasks_view"]}])),
                ..Doc::default()
            },
            da_op!(role_list),
        ),
        route(
            Method::POST,
            "/daily/v1/encrypt",
            "Encrypt",
            "Daily Activity",
            Auth::Access(Permission::Account),
            Doc {
                description: "Encrypts `text` on the server (AES-256-GCM under the box's key, \
                    base64url). The encryption of a password is what the Authorize API accepts \
                    as `password` with `hierarchylogin: true`.",
                request: Some(json!({"text": "SupportMe"})),
                response: Some(json!({"encrypted": "base64url text"})),
                required: &["text"],
                ..Doc::default()
            },
            da_op!(encrypt),
        ),
        route(
            Method::GET,
            "/daily/v1/users/token-info",
            "Token Info",
            "Daily Activity/Remove/Users",
            Auth::Access(Permission::Account),
            Doc {
                description: "What the presented tokens are: user, client system, device, and \
                    when the access and user tokens expire.",
                response: Some(
                    json!({"user_id": 12, "username": "mandor01", "role": "supervisor",
                    "app_key": "ak_…", "device_id": "HH-0042",
                    "access_token": {"issued_unix": 1763870000, "expires_unix": 1763873600, "expires_in": 3600},
                    "user_token": {"issued_unix": 1763860000, "expires_unix": 1766452000, "expires_in": 2582000}}),
                ),
                ..Doc::default()
            },
            da_op!(token_info),
        ),
    ]
}

fn app_key(call: &Call) -> Result<String, Problem> {
    call.caller
        .client
        .as_ref()
        .map(|c| c.app_key.as_str().to_string())
        .ok_or_else(|| Problem::new(401, "auth.app_key.invalid"))
}

async fn register_device(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let device_id = f.required("device_id", 1, 100);
    let device_name = f.optional("device_name", 100).unwrap_or_default();
    let platform = f.optional("platform", 30).unwrap_or_default();
    let os_version = f.optional("os_version", 30).unwrap_or_default();
    let app_version = f.optional("app_version", 30).unwrap_or_default();
    let push_token = f.optional("push_token", 512).unwrap_or_default();
    fields_ok(&f)?;
    let app_key = app_key(call)?;
    let svc = call.svc.clone();
    let (d, created) = devices::register_app_device(
        &svc,
        call.tx().await,
        &app_key,
        AppRegistration {
            device_id: &device_id,
            device_name: &device_name,
            platform: &platform,
            os_version: &os_version,
            app_version: &app_version,
            push_token: &push_token,
        },
    )?;
    let data = json!({"device_id": d.device_id, "registered": true, "created": created,
        "registered_unix": d.registered_unix});
    Ok(if created {
        Reply::created(data)
    } else {
        Reply::ok(data)
    })
}

fn role_json(r: Role) -> Value {
    json!({
        "role": r.as_str(),
        "label": r.label(),
        "permissions": r.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
    })
}

async fn permission(call: &mut Call) -> OpResult {
    let u = call.user()?;
    let r = u.role;
    Ok(Reply::ok(json!({
        "user_id": u.id.0,
        "role": r.as_str(),
        "role_label": r.label(),
        "permissions": r.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
    })))
}

async fn role_list(_call: &mut Call) -> OpResult {
    Ok(Reply::ok(Value::Array(
        ALL_ROLES.iter().map(|r| role_json(*r)).collect(),
    )))
}

async fn change_password(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let old = f.required("old_password", 1, 64);
    let new = f.required("new_password", 1, 64);
    let confirm = f.optional("confirm_password", 64);
    if confirm.as_ref().is_some_and(|c| *c != new) {
        f.fail("confirm_password", "password.confirm_mismatch", vec![]);
    }
    if !old.is_empty() && old == new {
        f.fail("new_password", "password.same", vec![]);
    }
    fields_ok(&f)?;
    let user = call.user()?.clone();
    let keep = call
        .caller
        .user_token
        .ok_or_else(|| Problem::new(401, "auth.token.invalid"))?;
    let svc = call.svc.clone();
    if let Err(SignInFailure { error, delay }) = recovery::check_old_password(&svc, &user, &old) {
        // Release the writer lock before holding the answer back.
        drop(call.tx.take());
        tokio::time::sleep(delay).await;
        return Err(error.into());
    }
    // PBKDF2 before the writer lock (call.tx) is taken.
    let hash = recovery::hash_new_password(&svc, &new).await?;
    let revoked = recovery::change_password(&svc, call.tx().await, user.id, hash, keep)?;
    tracing::info!(user = %user.username, revoked, "password changed; other sessions revoked");
    Ok(Reply::ok(
        json!({"changed": true, "sessions_revoked": revoked}),
    ))
}

async fn forgot_password(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    fields_ok(&f)?;
    let svc = call.svc.clone();
    let lang = call.lang;
    let queued = recovery::forgot(&svc, call.tx().await, &username, lang)?;
    if let Some(id) = queued {
        outbox::spawn_delivery(&svc, id);
    }
    Ok(Reply::ok(json!({
        "requested": true,
        "expires_in": svc.config.auth.reset_code_ttl_minutes * 60,
    })))
}

async fn reset_password(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let username = f.required("username", 1, 64);
    let code = f.required("code", 1, 32);
    let new = f.required("new_password", 1, 64);
    fields_ok(&f)?;
    let svc = call.svc.clone();
    let hash = recovery::hash_new_password(&svc, &new).await?;
    recovery::reset(&svc, call.tx().await, &username, &code, hash)?;
    Ok(Reply::ok(json!({"reset": true})))
}

async fn encrypt(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    // `text`; `password` is accepted too, since that is what apps encrypt.
    let name = if f.raw("text").is_none() && f.raw("password").is_some() {
        "password"
    } else {
        "text"
    };
    let text = f.required(name, 1, 1024);
    fields_ok(&f)?;
    Ok(Reply::ok(
        json!({"encrypted": device_logins::encrypt(&call.svc, &text)}),
    ))
}

async fn token_info(call: &mut Call) -> OpResult {
    let u = call.user()?.clone();
    let now = call.svc.now_unix();
    let (_, access) = call
        .caller
        .token
        .clone()
        .ok_or_else(|| Problem::new(401, "auth.token.invalid"))?;
    let ut = match call.caller.user_token {
        Some(h) => ident::token_record(&call.svc.store, &h)?,
        None => None,
    };
    let times = |issued: i64, expires: i64| json!({"issued_unix": issued, "expires_unix": expires, "expires_in": (expires - now).max(0)});
    Ok(Reply::ok(json!({
        "user_id": u.id.0,
        "username": u.username,
        "role": u.role.as_str(),
        "app_key": access.app_key.as_str(),
        "device_id": access.device_id,
        "access_token": times(access.issued_unix, access.expires_unix),
        "user_token": ut.map(|t| times(t.issued_unix, t.expires_unix)),
    })))
}
