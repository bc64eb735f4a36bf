//! Downstream: the centre's master data for this estate (HR roll, labour roll), pulled by
//! version from `gatehouse.master_employees` / `gatehouse.master_labourers`, so a replaced box
//! is re-seeded and the centre's changes reach the gate.
//!
//! A master row is `(estate, code|lcode, version, fields)`: `estate` is the box_id it is for
//! (`*` for every box), `version` any number the centre raises on each change (one sequence for
//! the table), `fields` an object with the columns of `gatehouse import employees|labour`.
//! Each row goes through the import path, so it is checked like a CSV line and overwrites the
//! box's record: the centre wins for master data. Site events are never pulled: the box wins
//! for what happened at its gate. The cursor is stored in the same transaction as the records.

use std::sync::Arc;

use serde_json::Value;
use tokio_postgres::Client;

use super::ship::pg;
use crate::service::transfer::{Row, RowOutcome};
use crate::service::{estate, hr, Services, Tx};
use crate::store::outbox::PullCursor;

type ImportFn = fn(&Services, &mut Tx, &Row<'_>) -> Result<RowOutcome, String>;

struct Master {
    table: &'static str,
    key_col: &'static str,
    cursor: &'static [u8],
    import: ImportFn,
}

const MASTERS: &[Master] = &[
    Master {
        table: "master_employees",
        key_col: "code",
        cursor: b"employees",
        import: hr::import_employee_row,
    },
    Master {
        table: "master_labourers",
        key_col: "lcode",
        cursor: b"labourers",
        import: estate::import_labour_row_from_centre,
    },
];

/// Pulls what changed upstream since the last pull; returns how many rows were applied.
pub async fn pull(svc: &Arc<Services>, client: &Client, box_id: &str) -> Result<usize, String> {
    let limit = svc.config.upstream.batch.clamp(1, 10_000) as i64;
    let mut applied = 0;
    for m in MASTERS {
        loop {
            let cursor = svc
                .store
                .get::<PullCursor>(m.cursor)
                .map_err(|e| e.to_string())?
                .unwrap_or_default()
                .0;
            let sql = format!(
                "SELECT {k}, version, fields FROM gatehouse.{t} WHERE estate IN ($1, '*') AND version > $2 \
                 ORDER BY version LIMIT $3",
                k = m.key_col,
                t = m.table
            );
            let rows = client
                .query(&sql, &[&box_id, &cursor, &limit])
                .await
                .map_err(pg)?;
            if rows.is_empty() {
                break;
            }
            let mut tx = svc.store.begin().await;
            let mut top = cursor;
            for (i, r) in rows.iter().enumerate() {
                let key: String = r.get(0);
                let version: i64 = r.get(1);
                let fields: Value = r.get(2);
                top = top.max(version);
                let (headers, values) = columns(m.key_col, &key, &fields);
                let sp = tx.savepoint();
                match (m.import)(svc, &mut tx, &Row::new(i + 2, &headers, &values)) {
                    Ok(_) => applied += 1,
                    Err(e) => {
                        tx.rollback_to(sp);
                        tracing::warn!(table = m.table, key, version, error = %e, "master row refused; skipped");
                    }
                }
            }
            tx.put(m.cursor, &PullCursor(top));
            tx.commit().await.map_err(|e| e.to_string())?;
            if (rows.len() as i64) < limit {
                break;
            }
        }
    }
    if applied > 0 {
        tracing::info!(rows = applied, "master data pulled from upstream");
    }
    Ok(applied)
}

/// The fields object as import columns; the row's key fills the key column.
fn columns(key_col: &str, key: &str, fields: &Value) -> (Vec<String>, Vec<String>) {
    let mut headers = vec![key_col.to_string()];
    let mut values = vec![key.to_string()];
    if let Some(o) = fields.as_object() {
        for (k, v) in o {
            if k.eq_ignore_ascii_case(key_col) {
                continue;
            }
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                Value::Bool(b) => if *b { "T" } else { "F" }.to_string(),
                other => other.to_string(),
            };
            headers.push(k.clone());
            values.push(text);
        }
    }
    (headers, values)
}
