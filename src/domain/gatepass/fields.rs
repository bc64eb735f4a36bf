//! Reading a pass from a request: the desk (admin API) and the handheld (Gatepass Save) send
//! the same field names, so one reader serves both and they cannot drift apart.

use base64::Engine as _;
use chrono::NaiveDate;
use serde_json::Value;

use super::{
    limits, Content, IdDocument, Item, Kind, LabourExit, Material, Subject, VehicleTrip, Visitor,
};
use crate::domain::validate::Fields;

/// The limits that come from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ContentLimits {
    pub max_items: usize,
    pub default_valid_hours: u32,
    pub max_valid_hours: u32,
    pub max_image_bytes: usize,
}

pub struct ContentInput {
    pub content: Content,
    /// The decoded visitor photo; `content` already names it by its SHA-256.
    pub photo: Option<Vec<u8>>,
}

/// Reads `kind` and the fields that kind needs. Every problem is collected in `f`.
pub fn parse_content(f: &mut Fields<'_>, lim: ContentLimits) -> Option<ContentInput> {
    let kind_s = f.required("kind", 1, 20);
    let kind = Kind::parse(&kind_s);
    if kind.is_none() && !kind_s.is_empty() {
        f.fail("kind", "field.one_of", vec![("allowed", Kind::WIRE.into())]);
    }
    let host = f.optional("host", limits::HOST).unwrap_or_default();
    let purpose = f.required("purpose", 1, limits::PURPOSE);
    let valid_hours = f
        .int("valid_hours", 1, i64::from(lim.max_valid_hours), false)
        .map(|h| h as u32)
        .unwrap_or(lim.default_valid_hours);
    let mut photo = None;
    let subject = match kind? {
        Kind::Visitor => {
            if host.is_empty() {
                f.fail("host", "field.required", vec![]);
            }
            let name = f.required("name", 1, limits::NAME);
            let phone = f.optional("phone", limits::PHONE).unwrap_or_default();
            let id_type = f.optional("id_type", limits::ID_TYPE);
            let id_number = f.optional("id_number", limits::ID_NUMBER);
            let id_document = match (id_type, id_number) {
                (Some(kind), Some(number)) => Some(IdDocument { kind, number }),
                (None, None) => None,
                (Some(_), None) => {
                    f.fail("id_number", "field.required", vec![]);
                    None
                }
                (None, Some(_)) => {
                    f.fail("id_type", "field.required", vec![]);
                    None
                }
            };
            photo = parse_photo(f, lim.max_image_bytes);
            Subject::Visitor(Visitor {
                name,
                phone,
                id_document,
                photo: photo
                    .as_ref()
                    .map(|b| hex::encode(ring::digest::digest(&ring::digest::SHA256, b).as_ref())),
            })
        }
        Kind::Vehicle => Subject::Vehicle(VehicleTrip {
            number: vehicle_number(f.required("vehicle", 1, limits::VEHICLE)),
            driver: f.required("driver", 1, limits::NAME),
            load: f.optional("load", limits::LOAD).unwrap_or_default(),
        }),
        Kind::Material => {
            let carrier = f
                .optional("name", limits::NAME)
                .or_else(|| f.optional("driver", limits::NAME));
            if carrier.is_none() {
                f.fail("name", "field.required", vec![]);
            }
            let vehicle = f.optional("vehicle", limits::VEHICLE).map(vehicle_number);
            let items = parse_items(f, "items", lim.max_items, true);
            let due = date(f, "return_due");
            let returnable = f.flag("returnable", false).unwrap_or(due.is_some());
            let return_due = match (returnable, due) {
                (true, Some(d)) => Some(d),
                (true, None) => {
                    f.fail("return_due", "field.required", vec![]);
                    None
                }
                (false, Some(_)) => {
                    f.fail("return_due", "gatepass.return_due.not_returnable", vec![]);
                    None
                }
                (false, None) => None,
            };
            Subject::Material(Material {
                carrier: carrier.unwrap_or_default(),
                vehicle,
                items,
                return_due,
            })
        }
        Kind::LabourExit => Subject::LabourExit(LabourExit {
            lcode: f.required("lcode", 1, limits::LCODE),
            name: f.optional("name", limits::NAME).unwrap_or_default(),
        }),
    };
    f.ok().then_some(ContentInput {
        content: Content {
            subject,
            host,
            purpose,
            valid_hours,
        },
        photo,
    })
}

/// Vehicle numbers are compared and searched without spaces and in capitals ("KA 01 AB 1234"
/// and "ka01ab1234" are one lorry).
fn vehicle_number(s: String) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// `yyyy-MM-dd`, as the POABS documents write dates.
pub fn date(f: &mut Fields<'_>, name: &str) -> Option<NaiveDate> {
    let s = f.optional(name, 10)?;
    match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            f.fail(
                name,
                "field.format",
                vec![("expected", "yyyy-MM-dd".into())],
            );
            None
        }
    }
}

/// `[{name, qty, unit}]`, 1..=`max` entries (or 0.. when not `required`). Errors name the
/// entry: `items[2].qty`.
pub fn parse_items(f: &mut Fields<'_>, name: &str, max: usize, required: bool) -> Vec<Item> {
    let list = match f.raw(name) {
        None if required => {
            f.fail(name, "field.required", vec![]);
            return Vec::new();
        }
        None => return Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            f.fail(name, "field.type", vec![("expected", "a list".into())]);
            return Vec::new();
        }
    };
    let min = usize::from(required);
    if list.len() < min || list.len() > max {
        f.fail(
            name,
            "gatepass.items.count",
            vec![("min", min.to_string()), ("max", max.to_string())],
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let Some(obj) = v.as_object() else {
            f.fail(
                &format!("{name}[{i}]"),
                "field.type",
                vec![("expected", "an object".into())],
            );
            continue;
        };
        let mut g = Fields::new(obj);
        let item_name = g.required("name", 1, limits::ITEM_NAME);
        let qty = g.number("qty", 0.0, limits::MAX_QTY, true);
        if qty == Some(0.0) {
            g.fail(
                "qty",
                "field.range",
                vec![("min", "> 0".into()), ("max", limits::MAX_QTY.to_string())],
            );
        }
        let unit = g.required("unit", 1, limits::UNIT);
        for mut e in g.errors.drain(..) {
            e.field = format!("{name}[{i}].{}", e.field);
            if let Some(a) = e.args.iter_mut().find(|(k, _)| *k == "field") {
                a.1 = e.field.clone();
            }
            f.errors.push(e);
        }
        if let Some(qty) = qty {
            out.push(Item {
                name: item_name,
                qty,
                unit,
            });
        }
    }
    out
}

/// A base64 photo (a `data:image/...;base64,` prefix is allowed), at most `max_bytes` decoded.
fn parse_photo(f: &mut Fields<'_>, max_bytes: usize) -> Option<Vec<u8>> {
    let raw = match f.raw("photo") {
        None => return None,
        Some(Value::String(s)) if s.trim().is_empty() => return None,
        Some(Value::String(s)) => s.trim(),
        Some(_) => {
            f.fail(
                "photo",
                "field.type",
                vec![("expected", "base64 text".into())],
            );
            return None;
        }
    };
    let b64 = match raw.split_once(";base64,") {
        Some((head, rest)) if head.starts_with("data:") => rest,
        _ => raw,
    };
    // Refuse by length before decoding, so an oversized photo costs no memory to reject.
    if b64.len() / 4 * 3 > max_bytes + 3 {
        f.fail(
            "photo",
            "gatepass.photo.too_large",
            vec![("max", max_bytes.to_string())],
        );
        return None;
    }
    match base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
        Ok(b) if b.is_empty() => None,
        Ok(b) if b.len() > max_bytes => {
            f.fail(
                "photo",
                "gatepass.photo.too_large",
                vec![("max", max_bytes.to_string())],
            );
            None
        }
        Ok(b) => Some(b),
        Err(_) => {
            f.fail("photo", "field.format", vec![("expected", "base64".into())]);
            None
        }
    }
}

/// `gate` and `guard` of a step at the gate (1–50 and 1–100 characters when given).
pub fn parse_stamp_fields(f: &mut Fields<'_>) -> (Option<String>, Option<String>) {
    (
        f.optional("gate", limits::GATE),
        f.optional("guard", limits::GUARD),
    )
}
