//! Authorize API family, base `/api` (DESIGN.md §3.3): POST with `deviceID` + `token` in the
//! body; success `{"status":"success","message":{...}}`, errors
//! `{"status":"error","message":["<reason>"]}` with HTTP 400/401/405.

use serde_json::json;

use super::{Problem, Request, Response, Route};
use crate::i18n::{self, Lang};

pub fn routes() -> Vec<Route> {
    Vec::new()
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
    // The family documents 200/400/401/405: everything else a client can cause is a 400.
    let status = match p.status {
        401 | 405 | 500 | 503 => p.status,
        404 if p.key == "route.not_found" => 404,
        _ => 400,
    };
    Response::json(status, &json!({"status": "error", "message": reasons}))
}
