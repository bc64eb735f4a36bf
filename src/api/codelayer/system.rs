//! Codelayer: System (License request, Register Device, Authentication, Settings) and the
//! Estate section's Authentication, which is the same sign-in under `estate/auth`.

use serde_json::{json, Map, Value};

use super::{route, Auth, Call, OpResult};
use crate::api::{Doc, Problem, Route};
use crate::domain::devices::{is_auth_imei, Device};
use crate::domain::identity::Permission;
use crate::domain::validate::Fields;
use crate::service::devices::{self, DeviceSignIn, Registration};
use crate::service::ServiceError;

pub fn routes() -> Vec<Route> {
    vec![
        route(
            "/codelayer/system/license",
            "License request",
            "Codelayer/System",
            Auth::Public,
            Doc {
                description: "The handheld's licence. A first request from an unknown IMEI files \
                    a pending licence (statusCode 1) that an admin approves (2) or rejects (3) \
                    with `gatehouse device approve|reject|block --imei`. The 32-character `key` \
                    that `system/auth` expects is delivered once, to the first request after the \
                    approval; later answers say statusCode 2 without it (staff re-issue a new key \
                    with `gatehouse device reissue --imei` or the console). New IMEIs are limited \
                    per source address (e=429) and in how many may wait at once.",
                request: Some(json!({"imei": "352099001761481", "appID": "QM_V3"})),
                response: Some(json!({"licenses": [licence_example()]})),
                required: &["imei", "appID"],
                ..Doc::default()
            },
            cl_op!(license),
        ),
        route(
            "/codelayer/system/register_device",
            "Register Device",
            "Codelayer/System",
            Auth::Public,
            Doc {
                description: "Records the handheld's details and files a pending licence if none \
                    exists; the device is then verified by an admin. `status` is \"OK\". An \
                    approved device's recorded name, number and client are not replaced: a \
                    different registration answers e=409 (staff change them).",
                request: Some(
                    json!({"imei": "352099001761481", "appID": "QM_V3", "clientID": "CTPL",
                    "deviceName": "Muster handheld 1", "mobileNumber": "+919445295492"}),
                ),
                response: Some(json!({"status": "OK"})),
                required: &["imei", "appID", "clientID", "deviceName", "mobileNumber"],
                ..Doc::default()
            },
            cl_op!(register_device),
        ),
        route(
            "/codelayer/system/auth",
            "Authentication",
            "Codelayer/System",
            Auth::Public,
            auth_doc(),
            cl_op!(auth),
        ),
        route(
            "/codelayer/estate/auth",
            "Authentication",
            "Codelayer/Estate",
            Auth::Public,
            auth_doc(),
            cl_op!(auth),
        ),
        route(
            "/codelayer/system/settings",
            "Settings",
            "Codelayer/System",
            Auth::Session(Permission::Account),
            Doc {
                description: "Settings for the handheld (face match threshold, session idle \
                    timeout, minimum client version, server time zone offset in minutes).",
                request: Some(
                    json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "imei": "352099001761481"}),
                ),
                response: Some(json!({"face_threshold": "3", "session_idle_minutes": "30",
                    "min_client_version": "1.0.0.0", "server_timezoneOffset": "420", "site_name": "Estate"})),
                required: &["imei"],
                ..Doc::default()
            },
            cl_op!(settings),
        ),
    ]
}

fn licence_example() -> Value {
    json!({"statusCode": 2, "status": "approved", "productName": "Gatehouse Estate",
        "clientName": "CTPL", "clientLocation": "Estate", "validTill": "2027-11-23",
        "appID": "QM_V3", "imei": "352099001761481", "key": "5DlvaS6K4HstYcKZ2ghTylceb0GFKQt4"})
}

fn auth_doc() -> Doc {
    Doc {
        description: "Signs a user in on a licensed handheld. `key` is the device's approved \
            licence key (from License request) or a session key this device was given earlier \
            (re-authentication after the session timed out); the answer's `key` is the session key every later \
            call carries, expiring after `codelayer.session_idle_minutes` of inactivity. e=401 for \
            bad credentials, 403 for an unknown, unapproved or blocked device, 426 for a `ver` \
            below `codelayer.min_client_version`, 429 while locked out after repeated failures.",
        request: Some(
            json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "username": "testuser",
            "password": "testpassword", "imei": "352099001761481", "ver": "1.0.0.0"}),
        ),
        response: Some(json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq"})),
        required: &["key", "username", "password", "imei", "ver"],
        ..Doc::default()
    }
}

fn fields_ok(f: &Fields<'_>) -> Result<(), Problem> {
    if f.ok() {
        Ok(())
    } else {
        Err(Problem::invalid(f.errors.clone()))
    }
}

fn peer(call: &Call) -> String {
    call.req
        .peer
        .map(|p| p.ip().to_string())
        .unwrap_or_default()
}

fn licence_json(call: &Call, d: &Device, key: Option<&crate::domain::ids::Secret>) -> Value {
    let cfg = &call.svc.config;
    let valid_till = d
        .valid_till_unix
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| {
            crate::domain::time::local_day(t, cfg.site.timezone_offset_minutes)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default();
    let mut v = json!({
        "statusCode": d.status.status_code(),
        "status": d.status.as_str(),
        "productName": cfg.codelayer.product_name,
        "clientName": if d.client_id.is_empty() { cfg.site.name.clone() } else { d.client_id.clone() },
        "clientLocation": cfg.site.name,
        "validTill": valid_till,
        "appID": d.app_id,
        "imei": d.imei,
    });
    if let Some(k) = key {
        v["key"] = json!(k.expose());
    }
    v
}

async fn license(call: &mut Call) -> OpResult {
    let mut f = Fields::new(&call.body);
    let imei = f.required("imei", 14, 50);
    let app_id = f.required("appID", 3, 30);
    fields_ok(&f)?;
    let svc = call.svc.clone();
    let peer = peer(call);
    let mut tx = svc.store.begin().await;
    let (d, key) = devices::licence_request_from(&svc, &mut tx, &imei, &app_id, &peer)?;
    tx.commit().await?;
    let mut out = Map::new();
    out.insert(
        "licenses".into(),
        json!([licence_json(call, &d, key.as_ref())]),
    );
    Ok(out)
}

async fn register_device(call: &mut Call) -> OpResult {
    let mut f = Fields::new(&call.body);
    let imei = f.required("imei", 14, 50);
    let app_id = f.required("appID", 3, 30);
    let client_id = f.required("clientID", 3, 30);
    let device_name = f.required("deviceName", 3, 50);
    let mobile = f.required("mobileNumber", 10, 13);
    fields_ok(&f)?;
    let svc = call.svc.clone();
    let peer = peer(call);
    let mut tx = svc.store.begin().await;
    devices::register_from(
        &svc,
        &mut tx,
        Registration {
            imei: &imei,
            app_id: &app_id,
            client_id: &client_id,
            device_name: &device_name,
            mobile: &mobile,
        },
        &peer,
    )?;
    tx.commit().await?;
    let mut out = Map::new();
    out.insert("status".into(), json!("OK"));
    Ok(out)
}

async fn auth(call: &mut Call) -> OpResult {
    let mut f = Fields::new(&call.body);
    let key = f.required("key", 32, 32);
    let username = f.required("username", 1, 64);
    let password = f.required("password", 1, 64);
    let imei = f.required("imei", 14, 16);
    if !imei.is_empty() && !is_auth_imei(&imei) {
        f.fail(
            "imei",
            "field.format",
            vec![("expected", "14 to 16 digits".into())],
        );
    }
    let ver = f.required("ver", 7, 16);
    if !ver.is_empty() && crate::domain::devices::AppVersion::parse(&ver).is_none() {
        f.fail("ver", "field.format", vec![("expected", "N.N.N.N".into())]);
    }
    fields_ok(&f)?;
    let svc = call.svc.clone();
    let session = devices::sign_in(
        &svc,
        DeviceSignIn {
            licence_key: &key,
            username: &username,
            password: &password,
            imei: &imei,
            ver: &ver,
        },
    )
    .await
    .map_err(|e| match e {
        ServiceError::UpgradeRequired { min } => {
            Problem::new(426, "device.version_too_old").arg("min", min)
        }
        e => e.into(),
    })?;
    let mut out = Map::new();
    out.insert("key".into(), json!(session.expose()));
    Ok(out)
}

async fn settings(call: &mut Call) -> OpResult {
    let mut f = Fields::new(&call.body);
    let imei = f.required("imei", 14, 16);
    fields_ok(&f)?;
    let session = call
        .session
        .as_ref()
        .ok_or_else(|| Problem::new(401, "auth.token.invalid"))?;
    if session.imei != imei {
        return Err(Problem::new(403, "device.session_mismatch"));
    }
    let cfg = &call.svc.config;
    let mut out = Map::new();
    out.insert("face_threshold".into(), json!(cfg.codelayer.face_threshold));
    out.insert(
        "session_idle_minutes".into(),
        json!(cfg.codelayer.session_idle_minutes.to_string()),
    );
    out.insert(
        "min_client_version".into(),
        json!(cfg.codelayer.min_client_version),
    );
    out.insert(
        "server_timezoneOffset".into(),
        json!(cfg.site.timezone_offset_minutes.to_string()),
    );
    out.insert("site_name".into(), json!(cfg.site.name));
    Ok(out)
}
