//! Authorize API: `users/authorize` (seed 004), `users/checktoken`, `users/profile`.

use serde_json::{json, Value};

use super::{route, Auth, Call, OpResult};
use crate::api::{Doc, Problem, Route};
use crate::az_op;
use crate::domain::identity::{yn, DeviceLogin, Permission, Role, User};
use crate::domain::validate::Fields;
use crate::service::device_logins::{self, Authorize};
use crate::service::ServiceError;

const CENTERS: &[&str] = &["apple", "android", "blackberry", "windows", "none"];
const BUILDS: &[&str] = &["DEV", "PROD"];

/// What the profile and company blocks answer null when nothing is stored (never a made-up
/// value): the document says so for every operation that returns them.
const PROFILE_NULLABLE: &[&str] = &[
    "company",
    "companyID",
    "companyName",
    "companyLegalName",
    "companyTaxID",
    "companyLogoURL",
    "companyAddress",
    "companyAddress2",
    "companyCity",
    "companyState",
    "companyCountry",
    "companyZipCode",
    "companyLatitude",
    "companyLongitude",
    "companyPhone",
    "companyEmail",
    "companyFax",
    "companyWebsite",
    "phone",
    "mobile",
    "email",
    "profilePicture",
    "departmentID",
    "departmentName",
    "firstName",
    "lastName",
    "timezoneName",
    "isEmailVerified",
    "welcomepopup",
    "isDemo",
    "acceptEula",
    "acceptEulaDate",
    "acceptEulaVer",
    "OSVersion",
    "appVersion",
    "udl_timezoneName",
    "notificationCenterType",
];

pub fn routes() -> Vec<Route> {
    vec![
        route(
            "/api/users/authorize",
            "Authorize API",
            "Authorize API",
            Auth::Public,
            Doc {
                description: "Authorizes a user upon login; no authentication. Required: \
                    username, password, deviceID, notificationCenterType (apple, android, \
                    blackberry, windows, none). Optional: buildVersion (DEV or PROD, default \
                    PROD), notifToken, timezoneOffset (minutes), timezoneName, deviceType, \
                    appVersion, OSVersion, hierarchylogin (if true, password is the output of \
                    the Daily Activity Encrypt operation). Authorizing again on the same device \
                    replaces that device's token only. Dates are Unix seconds; \
                    server_timezoneOffset is the server's offset from UTC in minutes. HTTP 400 \
                    for bad fields or credentials (also while locked out after repeated \
                    failures), 405 for a method other than POST.",
                request: Some(
                    json!({"username": "support@superfy.com", "password": "SupportMe",
                    "notificationCenterType": "apple", "deviceType": "iPad", "appVersion": "SmartSensor 1.0.0",
                    "OSVersion": "iOS 9.2.0", "deviceID": "ABCD-EFGH-IJKL-MNOP", "notifToken": "abcdefgh13234123423",
                    "timezoneOffset": 420, "timezoneName": "Asia/Jakarta", "buildVersion": "DEV", "hierarchylogin": false}),
                ),
                response: Some(
                    json!({"profile": {"userID": 198, "username": "support@superfy.com",
                    "firstName": "Support", "lastName": "", "phone": "", "mobile": "+62822997572606",
                    "profilePicture": "", "companyID": 0, "departmentID": 0, "createdDate": 1563937240,
                    "isAdmin": "Y", "active": "Y", "timezoneOffset": 420, "timezoneName": "Asia/Jakarta",
                    "isEmailVerified": "N", "welcomepopup": "N", "isDemo": "N", "acceptEula": "Y",
                    "acceptEulaDate": "1563937240", "acceptEulaVer": null},
                    "company": null, "deviceID": "ABCD-EFGH-IJKL-MNOP", "token": "895dbfbcc3deb395bb39d6451b24c1d5",
                    "lastActivityTime": "1692253718", "server_timezoneOffset": 420}),
                ),
                required: &["username", "password", "deviceID", "notificationCenterType"],
                nullable: PROFILE_NULLABLE,
                ..Doc::default()
            },
            az_op!(authorize),
        ),
        route(
            "/api/users/checktoken",
            "Check Token",
            "Authorize API",
            Auth::Token {
                touch: false,
                permission: Permission::Account,
            },
            Doc {
                description: "Checks `deviceID` + `token` without extending the token's expiry. \
                    401 when they are not valid together.",
                request: Some(
                    json!({"deviceID": "ABCD-EFGH-IJKL-MNOP", "token": "895dbfbcc3deb395bb39d6451b24c1d5"}),
                ),
                response: Some(json!(["token and deviceID are valid."])),
                nullable: PROFILE_NULLABLE,
                ..Doc::default()
            },
            az_op!(checktoken),
        ),
        route(
            "/api/users/profile",
            "User Profile",
            "Authorize API",
            Auth::Token {
                touch: true,
                permission: Permission::Account,
            },
            Doc {
                description: "The signed-in user's profile with this device's registration \
                    (OSVersion, appVersion, notificationCenterType, buildVersion, \
                    udl_timezoneOffset, udl_timezoneName) and the company (the estate).",
                request: Some(
                    json!({"deviceID": "ABCD-EFGH-IJKL-MNOP", "token": "895dbfbcc3deb395bb39d6451b24c1d5"}),
                ),
                response: Some(
                    json!({"profile": {"userID": 198, "username": "support@superfy.com",
                    "OSVersion": "iOS 9.2.0", "appVersion": "SmartSensor 1.0.0", "notificationCenterType": "apple",
                    "buildVersion": "DEV", "udl_timezoneOffset": 420, "udl_timezoneName": "Asia/Jakarta", "departmentName": ""},
                    "company": {"companyID": 0, "companyName": "Estate"}}),
                ),
                nullable: PROFILE_NULLABLE,
                ..Doc::default()
            },
            az_op!(profile),
        ),
    ]
}

/// Text as stored, or null when nothing is stored.
fn known(s: &str) -> Value {
    if s.trim().is_empty() {
        Value::Null
    } else {
        json!(s)
    }
}

/// The profile from stored data only: what the box does not know (a landline, a picture,
/// EULA acceptance, e-mail verification, department) is null, never a made-up value.
fn profile_json(call: &Call, u: &User, l: &DeviceLogin) -> Value {
    let site = &call.svc.config.site;
    let (first, last) = u.split_name();
    json!({
        "userID": u.id.0,
        "username": u.username,
        "firstName": first,
        "lastName": last,
        "phone": null,
        "mobile": known(&u.phone),
        "email": known(&u.email),
        "profilePicture": null,
        "companyID": null,
        "departmentID": null,
        "createdDate": u.created_unix,
        "isAdmin": yn(u.role == Role::Admin),
        "active": yn(u.active),
        "timezoneOffset": l.timezone_offset.unwrap_or(site.timezone_offset_minutes),
        "timezoneName": if l.timezone_name.is_empty() { site.timezone_name.clone() } else { l.timezone_name.clone() },
        "isEmailVerified": null,
        "welcomepopup": null,
        "isDemo": null,
        "acceptEula": null,
        "acceptEulaDate": null,
        "acceptEulaVer": null,
    })
}

/// The company block: the stored Company record; without one, the site's configured name and
/// nothing else.
fn company_json(call: &Call) -> Result<Value, Problem> {
    let site = &call.svc.config.site;
    let stored = crate::service::work::org::stored_company(&call.svc.store)?;
    let Some(c) = stored else {
        return Ok(json!({"companyID": null, "companyName": site.name}));
    };
    let a = &c.address;
    Ok(json!({
        "companyID": null,
        "companyName": c.name,
        "companyLegalName": known(&c.legal_name),
        "companyTaxID": known(&c.tax_id),
        "companyLogoURL": null,
        "companyAddress1": known(&a.line),
        "companyAddress2": null,
        "companyCity": known(&a.city),
        "companyState": known(&a.province),
        "companyCountry": null,
        "companyZipCode": known(&a.postal_code),
        "companyLatitude": a.latitude,
        "companyLongitude": a.longitude,
        "companyPhone": known(&c.phone),
        "companyEmail": known(&c.email),
        "companyFax": null,
        "companyWebsite": null,
    }))
}

async fn authorize(call: &mut Call) -> OpResult {
    let mut f = Fields::new(&call.body);
    let username = f.required("username", 1, 128);
    let password = f.required("password", 1, 512);
    let device_id = f.required("deviceID", 1, 128);
    let center = f.one_of("notificationCenterType", CENTERS, true);
    let build = f
        .one_of("buildVersion", BUILDS, false)
        .unwrap_or_else(|| "PROD".into());
    let notif_token = f.optional("notifToken", 512).unwrap_or_default();
    let tz_offset = f.int("timezoneOffset", -720, 840, false);
    let tz_name = f.optional("timezoneName", 64).unwrap_or_default();
    let device_type = f.optional("deviceType", 256).unwrap_or_default();
    let app_version = f.optional("appVersion", 64).unwrap_or_default();
    let os_version = f.optional("OSVersion", 64).unwrap_or_default();
    let hierarchy = f.boolean("hierarchylogin").unwrap_or(false);
    if !f.ok() {
        return Err(Problem::invalid(f.errors.clone()));
    }
    let svc = call.svc.clone();
    let done = device_logins::authorize(
        &svc,
        Authorize {
            username: &username,
            password: &password,
            hierarchy_login: hierarchy,
            device_id: &device_id,
            notification_center_type: center.as_deref().unwrap_or("none"),
            notif_token: &notif_token,
            build_version: &build,
            timezone_offset: tz_offset.map(|o| o as i32),
            timezone_name: &tz_name,
            device_type: &device_type,
            app_version: &app_version,
            os_version: &os_version,
        },
    )
    .await
    .map_err(|e| match e {
        // The family answers bad credentials with 400 (seed: 200, 400, 405).
        ServiceError::Unauthorized { key } => Problem::new(400, key),
        e => e.into(),
    })?;
    Ok(json!({
        "profile": profile_json(call, &done.user, &done.login),
        "company": company_json(call)?,
        "deviceID": done.login.device_id,
        "token": done.token.expose(),
        "lastActivityTime": done.login.last_activity_unix.to_string(),
        "server_timezoneOffset": svc.config.site.timezone_offset_minutes,
    }))
}

async fn checktoken(_call: &mut Call) -> OpResult {
    Ok(json!(["token and deviceID are valid."]))
}

async fn profile(call: &mut Call) -> OpResult {
    let (l, u) = call
        .login
        .clone()
        .ok_or_else(|| Problem::new(401, "authorize.token.invalid"))?;
    let site = &call.svc.config.site;
    let mut p = profile_json(call, &u, &l);
    p["OSVersion"] = json!(l.os_version);
    p["appVersion"] = json!(l.app_version);
    p["notificationCenterType"] = json!(l.notification_center_type);
    p["buildVersion"] = json!(l.build_version);
    p["udl_timezoneOffset"] = json!(l.timezone_offset.unwrap_or(site.timezone_offset_minutes));
    p["udl_timezoneName"] = p["timezoneName"].clone();
    p["departmentName"] = Value::Null;
    Ok(json!({
        "profile": p,
        "company": company_json(call)?,
        "lastActivityTime": l.last_activity_unix.to_string(),
        "server_timezoneOffset": site.timezone_offset_minutes,
    }))
}
