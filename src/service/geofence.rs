//! Allowed locations and shifts: where and when employees may punch. Written by import
//! (`gatehouse import locations|shifts`), the admin API and the demo; read at every punch.

use std::sync::Arc;

use crate::domain::geofence::{Fence, LatLon, Member, Scope, Shape};
use crate::domain::hr::Employee;
use crate::domain::shift::Shift;
use crate::store::tables::attendance::{COUNT_FENCES, COUNT_SHIFTS};
use crate::store::{Store, Tx};

use super::hr::{Get, Outcome};
use super::{Result, Services};

/// Most allowed locations and shifts a box keeps: both are read whole at every punch, so the
/// cap (enforced here, on write) is what bounds that read.
pub const MAX_FENCES: u64 = 500;
pub const MAX_SHIFTS: u64 = 100;

/// Counts a new record against its cap, or refuses it.
fn admit_new(tx: &mut Tx, counter: &str, max: u64, what: &str) -> std::result::Result<(), String> {
    let n = crate::store::counters::get(tx.store(), counter).map_err(|e| e.to_string())?;
    if n >= max {
        return Err(format!("this box keeps at most {max} {what}"));
    }
    crate::store::counters::add(tx, counter, 1).map_err(|e| e.to_string())
}

/// Every allowed location (at most `MAX_FENCES`), shared until the tree is written: every
/// punch reads them.
pub fn fences(store: &Store) -> Result<Arc<Vec<Fence>>> {
    Ok(store.all_shared::<Fence>()?)
}

/// The active fences that apply to one employee: the shared list seen through the employee,
/// not a copy.
pub struct AllowedFences<'e> {
    all: Arc<Vec<Fence>>,
    member: Member<'e>,
}

impl AllowedFences<'_> {
    pub fn iter(&self) -> impl Iterator<Item = &Fence> {
        self.all.iter().filter(|f| f.applies_to(&self.member))
    }
}

/// The active fences that apply to an employee.
pub fn allowed_fences<'e>(store: &Store, e: &'e Employee) -> Result<AllowedFences<'e>> {
    let member = Member {
        code: &e.code,
        firm: &e.firm,
        department: &e.department,
        group: &e.group,
    };
    Ok(AllowedFences {
        all: fences(store)?,
        member,
    })
}

/// Every shift (at most `MAX_SHIFTS`).
pub fn shifts(store: &Store) -> Result<Vec<Shift>> {
    Ok(store
        .scan::<Shift>(b"")?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

pub fn shift(store: &Store, code: &str) -> Result<Option<Shift>> {
    if code.is_empty() {
        return Ok(None);
    }
    // Read by every clock-in and Attendance Today: a small tree, kept hot.
    Ok(store
        .get_hot::<Shift>(code.as_bytes())?
        .filter(|s| s.active))
}

fn code_of(get: Get<'_>) -> std::result::Result<String, String> {
    let code = get("code").ok_or("code: required")?;
    if code.chars().count() > 20
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return Err("code: 1 to 20 letters, digits, - or _".into());
    }
    Ok(code)
}

fn coord(get: Get<'_>, name: &str) -> std::result::Result<f64, String> {
    let v = get(name).ok_or_else(|| format!("{name}: required"))?;
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{name}: '{v}' is not a number"))
}

fn active(get: Get<'_>) -> std::result::Result<bool, String> {
    match get("active").map(|v| v.to_ascii_uppercase()) {
        None => Ok(true),
        Some(v) if ["T", "Y", "TRUE", "1"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["F", "N", "FALSE", "0"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(format!("active: '{v}' is not T or F")),
    }
}

/// One allowed location: code, name, scope (`all`, `firm:F`, `department:D`, `group:G`,
/// `employee:E`; several separated by `;`), then either latitude, longitude, radius_m (a
/// circle) or polygon = "lat lon; lat lon; ..." (3+ vertices), and active (T/F).
pub fn upsert_fence(
    svc: &Services,
    tx: &mut Tx,
    get: Get<'_>,
) -> std::result::Result<(Fence, Outcome), String> {
    let code = code_of(get)?;
    let name = get("name").unwrap_or_else(|| code.clone());
    if name.chars().count() > 100 {
        return Err("name: at most 100 characters".into());
    }
    let shape = match get("polygon") {
        Some(poly) => {
            let mut points = Vec::new();
            for part in poly.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let mut it = part.split([' ', ',']).filter(|s| !s.is_empty());
                let (Some(a), Some(b), None) = (it.next(), it.next(), it.next()) else {
                    return Err(format!("polygon: '{part}' is not 'lat lon'"));
                };
                let (Ok(lat), Ok(lon)) = (a.parse::<f64>(), b.parse::<f64>()) else {
                    return Err(format!("polygon: '{part}' is not 'lat lon'"));
                };
                points.push(LatLon::new(lat, lon));
            }
            Shape::Polygon { points }
        }
        None => Shape::Circle {
            center: LatLon::new(coord(get, "latitude")?, coord(get, "longitude")?),
            radius_m: coord(get, "radius_m")?,
        },
    };
    let mut scopes = Vec::new();
    for s in get("scope").unwrap_or_else(|| "all".into()).split(';') {
        scopes.push(Scope::parse(s).ok_or_else(|| {
            format!("scope: '{s}' is not all, firm:X, department:X, group:X or employee:X")
        })?);
    }
    let mut f = Fence {
        code: code.clone(),
        name,
        shape,
        scopes,
        active: active(get)?,
        updated_unix: 0,
    };
    f.validate().map_err(|what| match what {
        "center" => "latitude/longitude: out of range".to_string(),
        "radius" => "radius_m: must be 1 to 50000 metres".to_string(),
        _ => "polygon: 3 to 500 valid 'lat lon' vertices".to_string(),
    })?;
    let old = tx
        .get::<Fence>(code.as_bytes())
        .map_err(|e| e.to_string())?;
    if let Some(o) = &old {
        f.updated_unix = o.updated_unix;
        if *o == f {
            return Ok((f, Outcome::Unchanged));
        }
    }
    if old.is_none() {
        admit_new(tx, COUNT_FENCES, MAX_FENCES, "locations")?;
    }
    f.updated_unix = svc.now_unix();
    tx.put(code.as_bytes(), &f);
    let outcome = if old.is_some() {
        Outcome::Updated
    } else {
        Outcome::Created
    };
    Ok((f, outcome))
}

/// One shift: code, name, start and end ("HH:MM"; an end at or before the start is the next
/// day), full_day_minutes (default: length − 60, at least 60), active (T/F).
pub fn upsert_shift(
    svc: &Services,
    tx: &mut Tx,
    get: Get<'_>,
) -> std::result::Result<(Shift, Outcome), String> {
    let code = code_of(get)?;
    let name = get("name").unwrap_or_else(|| code.clone());
    if name.chars().count() > 100 {
        return Err("name: at most 100 characters".into());
    }
    let hm = |col: &str| -> std::result::Result<u32, String> {
        let v = get(col).ok_or_else(|| format!("{col}: required (HH:MM)"))?;
        Shift::parse_hhmm(&v).ok_or_else(|| format!("{col}: '{v}' is not HH:MM"))
    };
    let (start_min, end_min) = (hm("start")?, hm("end")?);
    if start_min == end_min {
        return Err("end: a shift cannot be 24 hours or empty".into());
    }
    let mut s = Shift {
        code: code.clone(),
        name,
        start_min,
        end_min,
        full_day_min: 0,
        active: active(get)?,
        updated_unix: 0,
    };
    s.full_day_min = match get("full_day_minutes") {
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=s.length_min()).contains(m))
            .ok_or_else(|| format!("full_day_minutes: 1 to {}", s.length_min()))?,
        None => s.length_min().saturating_sub(60).max(60),
    };
    let old = tx
        .get::<Shift>(code.as_bytes())
        .map_err(|e| e.to_string())?;
    if let Some(o) = &old {
        s.updated_unix = o.updated_unix;
        if *o == s {
            return Ok((s, Outcome::Unchanged));
        }
    }
    if old.is_none() {
        admit_new(tx, COUNT_SHIFTS, MAX_SHIFTS, "shifts")?;
    }
    s.updated_unix = svc.now_unix();
    tx.put(code.as_bytes(), &s);
    let outcome = if old.is_some() {
        Outcome::Updated
    } else {
        Outcome::Created
    };
    Ok((s, outcome))
}

/// A fence as JSON for the wire (Allowed Locations, the console).
pub fn fence_json(f: &Fence) -> serde_json::Value {
    use serde_json::json;
    let c = f.center();
    let shape = match &f.shape {
        Shape::Circle { center, radius_m } => json!({
            "type": "circle", "latitude": center.lat, "longitude": center.lon, "radius_m": radius_m
        }),
        Shape::Polygon { points } => json!({
            "type": "polygon",
            "points": points.iter().map(|p| json!({"latitude": p.lat, "longitude": p.lon})).collect::<Vec<_>>()
        }),
    };
    json!({
        "code": f.code,
        "name": f.name,
        "latitude": c.lat,
        "longitude": c.lon,
        "shape": shape,
        "scopes": f.scopes.iter().map(Scope::text).collect::<Vec<_>>(),
        "active": f.active,
    })
}

pub const LOCATIONS_HELP: &str =
    "allowed locations: code, name, scope (all | firm:X | department:X | \
    group:X | employee:X, several separated by ;), latitude, longitude, radius_m (a circle) or \
    polygon (\"lat lon; lat lon; ...\"), active (T/F)";

pub const SHIFTS_HELP: &str =
    "shifts: code, name, start, end (HH:MM; an end at or before the start \
    is the next day), full_day_minutes, active (T/F)";

pub fn import_location_row(
    svc: &Services,
    tx: &mut Tx,
    row: &crate::service::transfer::Row<'_>,
) -> std::result::Result<crate::service::transfer::RowOutcome, String> {
    upsert_fence(svc, tx, &super::hr::cells(row)).map(|(_, o)| o.into())
}

pub fn import_shift_row(
    svc: &Services,
    tx: &mut Tx,
    row: &crate::service::transfer::Row<'_>,
) -> std::result::Result<crate::service::transfer::RowOutcome, String> {
    upsert_shift(svc, tx, &super::hr::cells(row)).map(|(_, o)| o.into())
}
