//! Admin API: CSV import rows and export tables (the CLI reads and writes the files).

use std::sync::Arc;

use serde_json::{json, Value};
use warp::http::Method;

use super::{body_fields, route, AdminResult};
use crate::api::{Problem, Request, Route};
use crate::service::{transfer, ServiceError, Services};

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/admin/transfer/kinds",
            "Import and Export Kinds",
            |_, _| Box::pin(kinds()),
        ),
        route(
            Method::POST,
            "/admin/import/{kind}",
            "Import Rows",
            |svc, req| Box::pin(import(svc, req)),
        ),
        super::route_raw(
            Method::GET,
            "/admin/export/{kind}",
            "Export Table",
            |svc, req| Box::pin(export(svc, req)),
        ),
    ]
}

async fn kinds() -> AdminResult {
    let list = |items: Vec<(&str, &str)>| {
        items
            .into_iter()
            .map(|(k, d)| json!({"kind": k, "description": d}))
            .collect::<Vec<_>>()
    };
    Ok(json!({
        "import": list(transfer::IMPORTERS.iter().map(|(k, d, _)| (*k, *d)).collect()),
        "export": list(transfer::EXPORTERS.iter().map(|(k, d, _)| (*k, *d)).collect()),
    }))
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Body: `{"headers": [...], "rows": [{"line": 2, "values": [...]}, ...]}` (at most 5,000 rows).
async fn import(svc: Arc<Services>, req: Request) -> AdminResult {
    let kind = req.param("kind").unwrap_or("").to_string();
    let body = body_fields(&req)?;
    let bad = |field: &str, what: &str| {
        Problem::from(ServiceError::invalid(
            field,
            "field.format",
            vec![("expected", what.to_string())],
        ))
    };
    let headers = body
        .get("headers")
        .and_then(strings)
        .ok_or_else(|| bad("headers", "a list of column names"))?;
    let rows = body
        .get("rows")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("rows", "a list of {line, values}"))?;
    if rows.len() > 5000 {
        return Err(bad("rows", "at most 5000 rows per request"));
    }
    let mut parsed = Vec::with_capacity(rows.len());
    for r in rows {
        let line = r
            .get("line")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("rows.line", "a line number"))? as usize;
        let values = r
            .get("values")
            .and_then(strings)
            .ok_or_else(|| bad("rows.values", "a list of strings"))?;
        parsed.push((line, values));
    }
    let report = transfer::import_batch(&svc, &kind, &headers, &parsed).await?;
    if !report.errors.is_empty() || report.inserted + report.updated > 0 {
        tracing::info!(
            kind,
            inserted = report.inserted,
            updated = report.updated,
            refused = report.errors.len(),
            "import batch"
        );
    }
    Ok(serde_json::to_value(report).unwrap_or(Value::Null))
}

/// The table, rendered once per data version and shared by concurrent callers.
async fn export(svc: Arc<Services>, req: Request) -> Result<bytes::Bytes, Problem> {
    let kind = req.param("kind").unwrap_or("").to_string();
    let date = |name: &str| -> Result<chrono::NaiveDate, Problem> {
        let raw = req.query_param(name).unwrap_or_default();
        chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| {
            Problem::from(ServiceError::invalid(
                name,
                "field.format",
                vec![("expected", "YYYY-MM-DD".into())],
            ))
        })
    };
    let (from, to) = (date("from")?, date("to")?);
    Ok(transfer::export_shared(&svc, &kind, from, to).await?)
}
