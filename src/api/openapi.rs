//! The OpenAPI 3.1 document, generated from the same route table that routes requests, so the
//! two cannot drift; a black-box test checks every documented operation answers at its path.

use serde_json::{json, Map, Value};

use super::Route;

/// A JSON Schema derived from an example value.
pub fn schema_of(v: &Value) -> Value {
    match v {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(a) => match a.first() {
            Some(first) => json!({"type": "array", "items": schema_of(first)}),
            None => json!({"type": "array"}),
        },
        Value::Object(m) => {
            let props: Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), schema_of(v))).collect();
            json!({"type": "object", "properties": props})
        }
    }
}

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
                "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
            }
        }),
        Codelayer => {
            let mut s = payload;
            if s.get("type").and_then(Value::as_str) != Some("object") {
                s = json!({"type": "object", "properties": {}});
            }
            s["properties"]["e"] = json!({"type": "integer", "description": "Authoritative result code (see Response Codes)"});
            s["properties"]["msg"] = json!({"type": "string"});
            s["required"] = json!(["e", "msg"]);
            s
        }
        Authorize => json!({
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["success", "error"]}, "message": payload}
        }),
        Admin | Ops | Adms => payload,
    }
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
                json!({"name": &s[1..s.len() - 1], "in": "path", "required": true, "schema": {"type": "string"}})
            })
            .collect();
        for (name, desc) in &r.doc.query {
            params.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": desc}));
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
        let payload = r
            .doc
            .response
            .as_ref()
            .map(schema_of)
            .unwrap_or_else(|| json!({}));
        let mut op = json!({
            "operationId": op_id,
            "summary": r.summary,
            "tags": [r.tag],
            "description": r.doc.description,
            "parameters": params,
            "responses": {
                "200": {
                    "description": "Success",
                    "content": {"application/json": {
                        "schema": envelope_schema(r.family, payload),
                    }}
                },
                "default": {"description": "Error, in the family's envelope"}
            }
        });
        if let Some(ex) = &r.doc.response {
            op["responses"]["200"]["content"]["application/json"]["example"] = ex.clone();
        }
        if r.family == super::Family::Adms {
            // Terminals speak plain text both ways.
            let ex = r
                .doc
                .response
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or("OK");
            op["responses"]["200"]["content"] =
                json!({"text/plain": {"schema": {"type": "string"}, "example": ex}});
            op["responses"]["default"]["content"] =
                json!({"text/plain": {"schema": {"type": "string"}, "example": "ERROR: ..."}});
            if r.method == warp::http::Method::POST {
                op["requestBody"] = json!({"required": false, "content": {"text/plain": {"schema": {"type": "string"}}}});
            }
        }
        if let Some(req) = &r.doc.request {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema_of(req), "example": req}}
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
