//! The OpenAPI 3.1 document, generated from the same route table that routes requests, so the
//! two cannot drift; a black-box test checks every documented operation answers at its path.

use serde_json::{json, Map, Value};

use warp::http::Method;

use super::Route;

/// Response fields that may be `null` wherever they appear (optional references, times not
/// reached yet, an unset position), with the type they have when set: a `null` example alone
/// cannot say what the field holds.
pub const NULLABLE: &[(&str, &str)] = &[
    ("employee_code", "string"),
    ("completed_at", "string"),
    ("started_at", "string"),
    ("due_date", "string"),
    ("end_date", "string"),
    ("start_date", "string"),
    ("deadline", "string"),
    ("parent_id", "integer"),
    ("business_id", "integer"),
    ("designation_id", "integer"),
    ("project_id", "integer"),
    ("assignee_id", "integer"),
    ("task_id", "integer"),
    ("employee_id", "integer"),
    ("latitude", "number"),
    ("longitude", "number"),
    ("accuracy_m", "number"),
    ("task", "object"),
    ("assignee", "object"),
    ("creator", "object"),
    ("business", "object"),
    ("designation", "object"),
    ("project", "object"),
    ("shift", "object"),
    ("address", "object"),
    ("location", "object"),
    ("intime", "string"),
    ("outtime", "string"),
    ("clock_in", "object"),
    ("clock_out", "object"),
    ("company", "object"),
    ("phone", "string"),
    ("email", "string"),
    ("note", "string"),
    ("description", "string"),
    ("download_url", "string"),
    ("last_used_at", "string"),
    ("expires_at", "string"),
    ("closed_at", "string"),
    ("resolved_at", "string"),
    ("caption", "string"),
    ("running_since", "string"),
    ("updated_at", "string"),
    ("completed_by", "object"),
    ("created_by", "object"),
    ("user", "object"),
];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON Schema derived from an example value.
pub fn schema_of(v: &Value) -> Value {
    schema_with(v, &[])
}

/// A JSON Schema derived from an example, where the fields named in `NULLABLE` or `extra`
/// may also be `null`. A `null` example of a field nothing names stays unconstrained rather
/// than typed `null` (it is null in the example, not always).
pub fn schema_with(v: &Value, extra: &[&str]) -> Value {
    derive(v, None, extra)
}

fn derive(v: &Value, name: Option<&str>, extra: &[&str]) -> Value {
    let known = name.and_then(|n| NULLABLE.iter().find(|(k, _)| *k == n).map(|(_, t)| *t));
    let nullable = known.is_some() || name.is_some_and(|n| extra.contains(&n));
    let base = match v {
        Value::Null => {
            return match known {
                Some(t) => json!({"type": [t, "null"]}),
                None => json!({"description": "null in the example; may hold a value"}),
            }
        }
        Value::Array(a) => match a.first() {
            Some(first) => json!({"type": "array", "items": derive(first, None, extra)}),
            None => json!({"type": "array"}),
        },
        Value::Object(m) => {
            let props: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), derive(v, Some(k), extra)))
                .collect();
            json!({"type": "object", "properties": props})
        }
        other => json!({"type": json_type(other)}),
    };
    if nullable {
        let mut s = base;
        let t = s["type"].as_str().unwrap_or("object").to_string();
        s["type"] = json!([t, "null"]);
        s
    } else {
        base
    }
}

/// A request body schema: derived from the example, with its required fields. It says what
/// the field parsers (`domain::validate::Fields`) take: text fields also take numbers (handhelds
/// send both), numeric fields also take numeric text, and `null` is the same as leaving an
/// optional field out.
fn request_schema_of(example: &Value, required: &[&str]) -> Value {
    let mut s = request_field(example);
    if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
        for r in required {
            props
                .entry(r.to_string())
                .or_insert_with(|| json!({"type": ["string", "number"]}));
        }
        // Every property came out nullable (null = left out); a required one may not be null.
        for (name, schema) in props.iter_mut() {
            if required.contains(&name.as_str()) {
                if let Some(inner) = schema.pointer("/anyOf/0").cloned() {
                    *schema = inner;
                }
            }
        }
    }
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}

fn request_field(v: &Value) -> Value {
    const NUMERIC_TEXT: &str = r"^\s*[-+]?[0-9]+(\.[0-9]+)?\s*$";
    match v {
        Value::String(_) => json!({"type": ["string", "number"]}),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            json!({"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*[-+]?[0-9]+\s*$"}]})
        }
        Value::Number(_) => {
            json!({"anyOf": [{"type": "number"}, {"type": "string", "pattern": NUMERIC_TEXT}]})
        }
        Value::Array(a) => match a.first() {
            Some(first) => json!({"type": "array", "items": request_field(first)}),
            None => json!({"type": "array"}),
        },
        // Nested fields are read with the same parsers: `null` is the same as leaving one out.
        Value::Object(m) => {
            let props: Map<String, Value> = m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!({"anyOf": [request_field(v), {"type": "null"}]}),
                    )
                })
                .collect();
            json!({"type": "object", "properties": props})
        }
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
    }
}

/// A path or query parameter's schema from its name: ids and paging are integers.
fn param_schema(name: &str) -> Value {
    match name {
        "id" => json!({"type": "integer", "minimum": 1}),
        n if n.ends_with("_id") => json!({"type": "integer", "minimum": 1}),
        "page" => json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
        "per_page" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        "per_group" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        "latitude" => json!({"type": "number", "minimum": -90, "maximum": 90}),
        "longitude" => json!({"type": "number", "minimum": -180, "maximum": 180}),
        "mine" | "include_inactive" => json!({"type": "boolean"}),
        // An empty value is the same as leaving the filter out.
        "from" | "to" | "date_from" | "date_to" | "date" => {
            json!({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]})
        }
        _ => json!({"type": "string"}),
    }
}

/// The success envelope of a family around its payload schema.
fn envelope_schema(family: super::Family, payload: Value) -> Value {
    use super::Family::*;
    match family {
        DailyActivity => json!({
            "type": "object",
            "required": ["code", "message", "data", "request_id"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string", "description": "In x-language"},
                "data": payload,
                "request_id": {"type": "string"},
            }
        }),
        Codelayer => {
            let mut s = payload;
            if s.get("type").and_then(Value::as_str) != Some("object") {
                s = json!({"type": "object", "properties": {}});
            }
            s["properties"]["e"] = json!({"type": "integer", "const": 200, "description": "Authoritative result code (see Response Codes)"});
            s["properties"]["msg"] = json!({"type": "string"});
            s["required"] = json!(["e", "msg"]);
            // A refusal is the same HTTP 200 with only `e` (a listed code) and `msg`.
            json!({"oneOf": [s, codelayer_error_schema()]})
        }
        Authorize => json!({
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": {"const": "success"}, "message": payload}
        }),
        Admin | Ops | Adms => payload,
    }
}

fn codelayer_error_schema() -> Value {
    let codes: Vec<u16> = super::codelayer::CODES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| *c != 200)
        .collect();
    json!({
        "type": "object",
        "required": ["e", "msg"],
        "properties": {
            "e": {"type": "integer", "enum": codes, "description": "A code from Response Codes"},
            "msg": {"type": "string"}
        }
    })
}

/// The error envelope of a family (what every refusal looks like).
fn error_schema(family: super::Family) -> Value {
    use super::Family::*;
    match family {
        DailyActivity => json!({
            "type": "object",
            "required": ["code", "message", "data", "request_id"],
            "properties": {
                "code": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status"},
                "message": {"type": "string", "description": "In x-language"},
                "data": {"type": "null"},
                "request_id": {"type": "string"},
                "errors": {"type": "array", "items": {
                    "type": "object", "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                }}
            }
        }),
        Codelayer => codelayer_error_schema(),
        Authorize => json!({
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": {"const": "error"},
                "message": {"type": "array", "items": {"type": "string"}, "minItems": 1}
            }
        }),
        Admin | Ops => json!({"type": "object"}),
        // Terminals get plain text (see `document`): `ERROR: ...`.
        Adms => json!({"type": "string"}),
    }
}

fn error_text(status: u16) -> &'static str {
    match status {
        400 => "Invalid request: a header, parameter or field (each named in `errors`)",
        401 => "Missing, invalid, expired or revoked credentials",
        403 => "The caller's role may not do this",
        404 => "No such record",
        405 => "Method not allowed",
        408 => "The request did not arrive in time",
        409 => "Conflict: the same x-request-id or client id with other content, or a state that forbids it",
        413 => "Request body larger than the limit",
        415 => "Body sent as a content type this operation does not take",
        422 => "Understood but refused by a rule (e.g. GPS accuracy too low)",
        426 => "Client version below the supported minimum",
        429 => "Too many failed attempts: locked for a while",
        431 => "Request headers larger than the limit (64 KiB)",
        500 => "Internal error (logged)",
        503 => "Busy or timed out: retry after the Retry-After seconds",
        507 => "The gatehouse storage is full: nothing was saved",
        _ => "Error",
    }
}

/// The statuses an operation can answer with besides success, from its family, credential
/// level, path and method, plus what its `Doc` adds.
fn error_statuses(r: &Route) -> Vec<u16> {
    use super::Family::*;
    let mut out: Vec<u16> = match r.family {
        // Codelayer refuses inside HTTP 200 (`e`); only the transport itself fails otherwise.
        Codelayer => vec![],
        Authorize => {
            let mut v = vec![400, 401, 500, 503];
            if r.permission.is_some() {
                v.push(403);
            }
            v
        }
        DailyActivity => {
            let mut v = vec![400, 500, 503];
            if !r.doc.security.is_empty() {
                v.push(401);
            }
            if r.doc.security.contains(&"accessToken") {
                v.push(403);
            }
            if r.path.contains('{') || r.doc.security.contains(&"accessToken") {
                v.push(404);
            }
            if r.method != Method::GET {
                v.extend([409, 413, 415]);
            }
            v
        }
        Admin | Ops => vec![],
        // Plain text: a bad SN, an unknown path, a body over the cap, busy or not approved.
        Adms => vec![400, 413, 503],
    };
    // Any head over the guard's limit is answered 431 (`api::guard`); Authorize says 400.
    if matches!(r.family, DailyActivity | Adms) {
        out.push(431);
    }
    // A body that stalls is answered 408; a full disk refuses a write with 507.
    if r.method != Method::GET && matches!(r.family, DailyActivity | Authorize | Adms) {
        out.extend([408, 507]);
    }
    if r.path == "/healthz" {
        out.push(503);
    }
    out.extend(r.doc.errors.iter().copied());
    out.sort_unstable();
    out.dedup();
    out
}

fn header_param(name: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": required, "schema": {"type": "string"}, "description": description})
}

pub fn document(routes: &[Route]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in routes {
        let method = r.method.as_str().to_ascii_lowercase();
        let op_id = format!(
            "{}_{}",
            method,
            r.path
                .trim_start_matches('/')
                .replace(['/', '-', '.'], "_")
                .replace(['{', '}'], "")
        );
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter(|s| s.starts_with('{'))
            .map(|s| {
                let name = &s[1..s.len() - 1];
                json!({"name": name, "in": "path", "required": true, "schema": param_schema(name)})
            })
            .collect();
        for (name, desc) in &r.doc.query {
            // `required` names query parameters for operations that take no body.
            let required = r.doc.request.is_none() && r.doc.required.contains(name);
            params.push(json!({"name": name, "in": "query", "required": required, "schema": param_schema(name), "description": desc}));
        }
        if r.family == super::Family::DailyActivity {
            if !r.doc.security.contains(&"wablasSecret") {
                params.push(header_param(
                    "x-app-key",
                    true,
                    "The client system's public key",
                ));
                params.push(header_param("x-request-id", true, "Unique per request (1–128 printable characters); a repeated write with the same id and body replays the first answer (x-idempotent-replay: true), with another body answers 409"));
            }
            params.push(header_param(
                "x-language",
                false,
                "id (default) or en; region variants such as en-US map to their language",
            ));
        }
        let payload = match (&r.doc.response_schema, &r.doc.response) {
            (Some(s), _) => s.clone(),
            (None, Some(ex)) => schema_with(ex, r.doc.nullable),
            (None, None) => json!({}),
        };
        let mut responses = Map::new();
        let content_types: Vec<&str> = match (r.doc.content_types, r.path) {
            (ct, _) if !ct.is_empty() => ct.to_vec(),
            (_, "/metrics") => vec!["text/plain; version=0.0.4"],
            _ => vec!["application/json"],
        };
        let mut content = Map::new();
        for ct in &content_types {
            let media = if ct.starts_with("application/json") {
                let mut m = json!({"schema": envelope_schema(r.family, payload.clone())});
                if let Some(ex) = &r.doc.response {
                    if r.family != super::Family::Codelayer {
                        m["example"] = ex.clone();
                    }
                }
                m
            } else if ct.starts_with("text/") {
                json!({"schema": {"type": "string"}})
            } else {
                json!({"schema": {"type": "string", "format": "binary"}})
            };
            content.insert(ct.to_string(), media);
        }
        let success = json!({"description": "Success", "content": content});
        let created = r.family == super::Family::DailyActivity && r.method == Method::POST;
        responses.insert("200".into(), success.clone());
        if created {
            let mut c = success;
            c["description"] = json!("Created (a new record); a replay of the same x-request-id answers as the first time");
            responses.insert("201".into(), c);
        }
        for status in error_statuses(r) {
            let mut resp = json!({
                "description": error_text(status),
                "content": {"application/json": {"schema": error_schema(r.family)}}
            });
            if r.path == "/healthz" {
                resp["content"]["application/json"]["schema"] =
                    json!({"type": "object", "properties": {"status": {"const": "degraded"}}});
            }
            if status == 503 || status == 429 {
                resp["headers"] = json!({"retry-after": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 0}}});
            }
            responses.insert(status.to_string(), resp);
        }
        let mut op = json!({
            "operationId": op_id,
            "summary": r.summary,
            "tags": [r.tag],
            "description": r.doc.description,
            "parameters": params,
            "responses": responses,
        });
        if r.family == super::Family::Adms {
            // Terminals speak plain text both ways, errors included.
            let ex = r
                .doc
                .response
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or("OK");
            if let Some(resps) = op["responses"].as_object_mut() {
                for (status, resp) in resps.iter_mut() {
                    let example = if status == "200" { ex } else { "ERROR: ..." };
                    resp["content"] =
                        json!({"text/plain": {"schema": {"type": "string"}, "example": example}});
                }
            }
            if r.method == warp::http::Method::POST {
                op["requestBody"] = json!({"required": false, "content": {"text/plain": {"schema": {"type": "string"}}}});
            }
        }
        let request = match (&r.doc.request_schema, &r.doc.request) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(ex)) => {
                let mut req: Vec<&str> = r.doc.required.to_vec();
                // Credentials travel in the body in these two families.
                if r.doc.security.contains(&"codelayerKey") {
                    req.insert(0, "key");
                }
                if r.doc.security.contains(&"authorizeToken") {
                    req.extend(["deviceID", "token"]);
                }
                req.dedup();
                Some(request_schema_of(ex, &req))
            }
            (None, None) => None,
        };
        if let Some(schema) = request {
            // An empty body reads as `{}`: the body is required only when a field is.
            let needed = schema
                .get("required")
                .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()));
            let mut media = json!({"schema": schema});
            if let Some(ex) = &r.doc.request {
                media["example"] = ex.clone();
            }
            op["requestBody"] = json!({
                "required": needed,
                "content": {"application/json": media}
            });
        }
        let sec: Vec<Value> = if r.doc.security.is_empty() {
            vec![]
        } else {
            let mut m = Map::new();
            for s in &r.doc.security {
                m.insert(s.to_string(), json!([]));
            }
            vec![Value::Object(m)]
        };
        op["security"] = Value::Array(sec);
        if matches!(
            r.family,
            super::Family::DailyActivity | super::Family::Codelayer | super::Family::Authorize
        ) {
            op["x-permission"] = json!(r.permission.map(|p| p.as_str()));
            let sentence = crate::service::access::describe(r.permission);
            op["description"] = json!(format!("{} {sentence}", r.doc.description));
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The estate gatehouse appliance: Daily Activity (/daily/v1), Codelayer POABS (/codelayer), Authorize API (/api), and operations endpoints."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"securitySchemes": {
            "appKey": {"type": "apiKey", "in": "header", "name": "x-app-key"},
            "clientToken": {"type": "http", "scheme": "bearer", "description": "client_token from Verify"},
            "userTokenBearer": {"type": "http", "scheme": "bearer", "description": "user_token from Login"},
            "refreshToken": {"type": "http", "scheme": "bearer", "description": "refresh_token from Refresh Token"},
            "accessToken": {"type": "http", "scheme": "bearer", "description": "access_token from Access Token"},
            "userToken": {"type": "apiKey", "in": "header", "name": "x-user-token"},
            "wablasSecret": {"type": "apiKey", "in": "query", "name": "secret"},
            "codelayerKey": {"type": "apiKey", "in": "header", "name": "key", "description": "Sent in the JSON body as `key` (session key from system/auth)"},
            "authorizeToken": {"type": "apiKey", "in": "header", "name": "token", "description": "Sent in the JSON body as `deviceID` + `token`"}
        }}
    })
}
