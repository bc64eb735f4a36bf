//! The upstream schema (DESIGN.md §3.7): `gatehouse.changes`, the read tables an analyst
//! queries (one row per record as it now is, keyed by box and natural key), and the master
//! tables the centre writes for the downstream pull. Plain SQL that PostgreSQL, CockroachDB and
//! YugabyteDB all accept: `IF NOT EXISTS`, no extensions, no triggers, JSON taken apart with
//! `jsonb_array_elements` so a whole batch is one statement per table.

use chrono::{DateTime, NaiveDate};
use serde_json::{json, Map, Value};

use crate::domain::attendance::Punch;
use crate::domain::estate::labour::Labourer;
use crate::domain::estate::muster::MusterLine;
use crate::domain::gatepass::Gatepass;
use crate::domain::hr::Employee;
use crate::store::{codec, StoreError};

pub const CHANGES_DDL: &str = "CREATE SCHEMA IF NOT EXISTS gatehouse;
CREATE TABLE IF NOT EXISTS gatehouse.changes (
  box_id TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
  op TEXT NOT NULL, body JSONB, at TIMESTAMPTZ NOT NULL, PRIMARY KEY (box_id, seq));
CREATE TABLE IF NOT EXISTS gatehouse.master_employees (
  estate TEXT NOT NULL, code TEXT NOT NULL, version BIGINT NOT NULL, fields JSONB NOT NULL,
  PRIMARY KEY (estate, code));
CREATE INDEX IF NOT EXISTS master_employees_by_version ON gatehouse.master_employees (version);
CREATE TABLE IF NOT EXISTS gatehouse.master_labourers (
  estate TEXT NOT NULL, lcode TEXT NOT NULL, version BIGINT NOT NULL, fields JSONB NOT NULL,
  PRIMARY KEY (estate, lcode));
CREATE INDEX IF NOT EXISTS master_labourers_by_version ON gatehouse.master_labourers (version);";

pub const INSERT_CHANGES: &str =
    "INSERT INTO gatehouse.changes (box_id, seq, kind, key, op, body, at)
SELECT $1, (x->>'seq')::INT8, x->>'kind', x->>'key', x->>'op', x->'body', (x->>'at')::TIMESTAMPTZ
FROM jsonb_array_elements($2::JSONB) AS x
ON CONFLICT (box_id, seq) DO NOTHING";

pub const MAX_SEQ: &str = "SELECT max(seq) FROM gatehouse.changes WHERE box_id = $1";
pub const CHANGE_AT: &str =
    "SELECT kind, key, at FROM gatehouse.changes WHERE box_id = $1 AND seq = $2";

type RowFn = fn(&[u8], i64) -> Result<Map<String, Value>, StoreError>;

/// A read table: what kind of change feeds it and how a record becomes a row.
pub struct ReadTable {
    pub table: &'static str,
    pub kind: &'static str,
    /// Natural key column (with `box_id`, the primary key).
    pub natural: &'static str,
    /// Columns besides `box_id`, `seq` and `change_key`, with their SQL types; `natural` first.
    pub cols: &'static [(&'static str, &'static str)],
    /// The stored value (and the change's time, Unix s) as a row.
    pub row: RowFn,
}

pub const READ_TABLES: &[ReadTable] = &[
    ReadTable {
        table: "punches",
        kind: "punch",
        natural: "punch_id",
        cols: &[
            ("punch_id", "BIGINT"),
            ("employee_code", "TEXT"),
            ("direction", "TEXT"),
            ("at", "TIMESTAMPTZ"),
            ("attendance_day", "DATE"),
            ("shift", "TEXT"),
            ("lat", "FLOAT8"),
            ("lon", "FLOAT8"),
            ("accuracy_m", "FLOAT8"),
            ("fence", "TEXT"),
            ("fence_distance_m", "FLOAT8"),
            ("flags", "TEXT"),
            ("suspicious", "BOOL"),
            ("request_id", "TEXT"),
            ("user_id", "BIGINT"),
            ("device_at", "TIMESTAMPTZ"),
            ("note", "TEXT"),
        ],
        row: punch_row,
    },
    ReadTable {
        table: "muster_lines",
        kind: "muster_line",
        natural: "line_id",
        cols: &[
            ("line_id", "TEXT"),
            ("lcode", "TEXT"),
            ("imei", "TEXT"),
            ("user_id", "BIGINT"),
            ("firm", "TEXT"),
            ("task_id", "TEXT"),
            ("task_date", "DATE"),
            ("diary_slip_no", "TEXT"),
            ("gross_kg", "FLOAT8"),
            ("bag_kg", "FLOAT8"),
            ("net_kg", "FLOAT8"),
            ("is_helper", "BOOL"),
            ("half_day", "BOOL"),
            ("with_muster", "BOOL"),
            ("at", "TIMESTAMPTZ"),
            ("received_at", "TIMESTAMPTZ"),
        ],
        row: muster_row,
    },
    ReadTable {
        table: "gatepasses",
        kind: "gatepass",
        natural: "gpno",
        cols: &[
            ("gpno", "TEXT"),
            ("kind", "TEXT"),
            ("status", "TEXT"),
            ("day", "DATE"),
            ("person", "TEXT"),
            ("host", "TEXT"),
            ("purpose", "TEXT"),
            ("vehicle", "TEXT"),
            ("issued_at", "TIMESTAMPTZ"),
            ("valid_until", "TIMESTAMPTZ"),
            ("entered_at", "TIMESTAMPTZ"),
            ("left_at", "TIMESTAMPTZ"),
            ("gate_in", "TEXT"),
            ("gate_out", "TEXT"),
            ("source", "TEXT"),
        ],
        row: gatepass_row,
    },
    ReadTable {
        table: "employees",
        kind: "employee",
        natural: "code",
        cols: &[
            ("code", "TEXT"),
            ("accode", "TEXT"),
            ("name", "TEXT"),
            ("father_name", "TEXT"),
            ("sex", "TEXT"),
            ("dob", "DATE"),
            ("doj", "DATE"),
            ("department", "TEXT"),
            ("designation", "TEXT"),
            ("firm", "TEXT"),
            ("work_group", "TEXT"),
            ("shift", "TEXT"),
            ("phone", "TEXT"),
            ("relieving_date", "DATE"),
            ("updated_at", "TIMESTAMPTZ"),
        ],
        row: employee_row,
    },
    ReadTable {
        table: "labourers",
        kind: "labourer",
        natural: "lcode",
        cols: &[
            ("lcode", "TEXT"),
            ("name", "TEXT"),
            ("father_name", "TEXT"),
            ("gender", "TEXT"),
            ("display_code", "TEXT"),
            ("muster_firm", "TEXT"),
            ("labour_firm", "TEXT"),
            ("gang", "TEXT"),
            ("ltype", "TEXT"),
            ("is_helper", "BOOL"),
            ("is_supervisor", "BOOL"),
            ("active", "BOOL"),
            ("updated_at", "TIMESTAMPTZ"),
        ],
        row: labourer_row,
    },
];

pub fn read_table(kind: &str) -> Option<(usize, &'static ReadTable)> {
    READ_TABLES.iter().enumerate().find(|(_, t)| t.kind == kind)
}

impl ReadTable {
    /// CREATE TABLE plus one ADD COLUMN IF NOT EXISTS per column, so a box with a newer binary
    /// brings an older upstream schema forward on first contact.
    pub fn ddl(&self) -> String {
        let t = self.table;
        let natural_type = self.cols[0].1;
        let mut out = format!(
            "CREATE TABLE IF NOT EXISTS gatehouse.{t} (box_id TEXT NOT NULL, {n} {natural_type} NOT NULL, \
             seq BIGINT NOT NULL, change_key TEXT NOT NULL, PRIMARY KEY (box_id, {n}));\n",
            n = self.natural
        );
        for (c, ty) in &self.cols[1..] {
            out.push_str(&format!(
                "ALTER TABLE gatehouse.{t} ADD COLUMN IF NOT EXISTS {c} {ty};\n"
            ));
        }
        out.push_str(&format!(
            "CREATE INDEX IF NOT EXISTS {t}_by_change_key ON gatehouse.{t} (box_id, change_key);"
        ));
        out
    }

    /// Upserts a JSON array of rows; a row never goes back to an older version of its record
    /// (`seq`), so a batch shipped twice changes nothing.
    pub fn upsert_sql(&self) -> String {
        let names: Vec<&str> = self.cols.iter().map(|c| c.0).collect();
        let exprs: Vec<String> = self
            .cols
            .iter()
            .map(|(c, ty)| {
                if *ty == "TEXT" {
                    format!("x->>'{c}'")
                } else {
                    format!("(x->>'{c}')::{ty}")
                }
            })
            .collect();
        let sets: Vec<String> = names
            .iter()
            .filter(|c| **c != self.natural)
            .chain(["seq", "change_key"].iter())
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO gatehouse.{t} AS t (box_id, seq, change_key, {cols})
SELECT $1, (x->>'seq')::INT8, x->>'change_key', {exprs}
FROM jsonb_array_elements($2::JSONB) AS x
ON CONFLICT (box_id, {n}) DO UPDATE SET {sets}
WHERE t.seq < excluded.seq",
            t = self.table,
            cols = names.join(", "),
            exprs = exprs.join(", "),
            n = self.natural,
            sets = sets.join(", "),
        )
    }

    pub fn delete_sql(&self) -> String {
        format!(
            "DELETE FROM gatehouse.{} WHERE box_id = $1 AND change_key IN \
             (SELECT jsonb_array_elements_text($2::JSONB))",
            self.table
        )
    }
}

fn ts(unix: i64) -> Value {
    DateTime::from_timestamp(unix, 0)
        .map(|t| Value::String(t.to_rfc3339()))
        .unwrap_or(Value::Null)
}

fn day(d: NaiveDate) -> Value {
    Value::String(d.format("%Y-%m-%d").to_string())
}

fn kg(g: i64) -> Value {
    json!(g as f64 / 1000.0)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn punch_row(b: &[u8], _at: i64) -> Result<Map<String, Value>, StoreError> {
    let p: Punch = codec::decode(b)?;
    Ok(obj(json!({
        "punch_id": p.id,
        "employee_code": p.employee,
        "direction": p.direction.as_str(),
        "at": ts(p.at_unix),
        "attendance_day": day(p.attendance_day),
        "shift": p.shift,
        "lat": p.position.lat,
        "lon": p.position.lon,
        "accuracy_m": p.accuracy_m,
        "fence": p.fence,
        "fence_distance_m": p.fence_distance_m,
        "flags": serde_json::to_string(&p.flags).unwrap_or_default(),
        "suspicious": p.suspicious(),
        "request_id": p.request_id,
        "user_id": p.user,
        "device_at": p.device_unix.map(ts),
        "note": p.note,
    })))
}

fn muster_row(b: &[u8], _at: i64) -> Result<Map<String, Value>, StoreError> {
    let l: MusterLine = codec::decode(b)?;
    Ok(obj(json!({
        "line_id": l.line_id,
        "lcode": l.lcode.0,
        "imei": l.imei,
        "user_id": l.user.0,
        "firm": l.firm.0,
        "task_id": l.task.0,
        "task_date": day(l.task_date),
        "diary_slip_no": l.diary_slip_no,
        "gross_kg": kg(l.gross_g),
        "bag_kg": kg(l.bag_g),
        "net_kg": kg(l.net_g),
        "is_helper": l.is_helper,
        "half_day": l.half_day,
        "with_muster": l.with_muster,
        "at": ts(l.at_unix),
        "received_at": ts(l.received_unix),
    })))
}

fn gatepass_row(b: &[u8], at: i64) -> Result<Map<String, Value>, StoreError> {
    use crate::domain::gatepass::Source;
    let g: Gatepass = codec::decode(b)?;
    Ok(obj(json!({
        "gpno": g.number.0,
        "kind": g.kind().as_str(),
        "status": g.status(at).as_str(),
        "day": day(g.day),
        "person": g.content.person(),
        "host": g.content.host,
        "purpose": g.content.purpose,
        "vehicle": g.content.vehicle(),
        "issued_at": ts(g.issued.at_unix),
        "valid_until": ts(g.valid_until_unix),
        "entered_at": g.entered().map(|s| ts(s.at_unix)),
        "left_at": g.left().map(|s| ts(s.at_unix)),
        "gate_in": g.entered().map(|s| s.gate.clone()),
        "gate_out": g.left().map(|s| s.gate.clone()),
        "source": match &g.source { Source::Desk => "desk".to_string(), Source::Handheld { imei } => format!("handheld:{imei}") },
    })))
}

fn employee_row(b: &[u8], _at: i64) -> Result<Map<String, Value>, StoreError> {
    let e: Employee = codec::decode(b)?;
    Ok(obj(json!({
        "code": e.code,
        "accode": e.accode,
        "name": e.name,
        "father_name": e.father_name,
        "sex": e.sex.as_str(),
        "dob": e.dob.map(day),
        "doj": day(e.doj),
        "department": e.department,
        "designation": e.designation,
        "firm": e.firm,
        "work_group": e.group,
        "shift": e.shift,
        "phone": e.phone,
        "relieving_date": e.relieving.as_ref().map(|r| day(r.date)),
        "updated_at": ts(e.updated_unix),
    })))
}

fn labourer_row(b: &[u8], _at: i64) -> Result<Map<String, Value>, StoreError> {
    let l: Labourer = codec::decode(b)?;
    Ok(obj(json!({
        "lcode": l.lcode.0,
        "name": l.name,
        "father_name": l.father_name,
        "gender": l.gender.code(),
        "display_code": l.display_code,
        "muster_firm": l.muster_firm.0,
        "labour_firm": l.labour_firm.0,
        "gang": l.gang.as_ref().map(|g| g.0.clone()),
        "ltype": l.ltype.code(),
        "is_helper": l.is_helper,
        "is_supervisor": l.is_supervisor,
        "active": l.active,
        "updated_at": ts(l.updated_unix),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_table_has_its_natural_key_first_and_sql_names_every_column() {
        for t in READ_TABLES {
            assert_eq!(t.cols[0].0, t.natural, "{}", t.table);
            let up = t.upsert_sql();
            for (c, _) in t.cols {
                assert!(up.contains(c), "{} {c}", t.table);
            }
            assert!(t.ddl().contains(&format!("gatehouse.{}", t.table)));
        }
    }
}
