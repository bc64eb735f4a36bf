//! Gatepasses: visitor, vehicle, material and labour exit passes, their life cycle at the gate,
//! material returns and the front office's daily closing. Plain types and rules, no I/O.
//!
//! Life cycle (each step stamped with time, gate and guard):
//!
//! ```text
//! Issued ──in──▶ In ──out──▶ Out
//!   │  └──out (labour exit only: the labourer is already inside)──▶ Out
//!   ├──cancel──▶ Cancelled
//!   └──(validity over / day closed)──▶ Expired     In ──(day closed)──▶ Expired (holder never
//!                                                                        recorded leaving)
//! ```
//! Every other move is refused with a `Refusal` naming why.

mod fields;
mod materials;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use fields::{
    date, parse_content, parse_items, parse_stamp_fields, ContentInput, ContentLimits,
};
pub use materials::{
    fmt_qty, outstanding, record_return, ReturnEntry, ReturnRefusal, Returned, Returns,
};

/// Limits of every text a pass carries (characters). Handhelds and the desk share them.
pub mod limits {
    pub const NUMBER: usize = 30;
    pub const NAME: usize = 100;
    pub const PHONE: usize = 20;
    pub const ID_TYPE: usize = 30;
    pub const ID_NUMBER: usize = 50;
    pub const HOST: usize = 100;
    pub const PURPOSE: usize = 200;
    pub const VEHICLE: usize = 20;
    pub const LOAD: usize = 200;
    pub const ITEM_NAME: usize = 100;
    pub const UNIT: usize = 20;
    /// POABS `code` is 1–10 characters; labour codes look like `R101`, `29C399`.
    pub const LCODE: usize = 10;
    pub const GATE: usize = 50;
    pub const GUARD: usize = 100;
    pub const MAX_QTY: f64 = 1_000_000_000.0;
}

/// A pass number: the handheld's own (its idempotency key), or one the server allocates per
/// site day (`GP-20261123-0001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PassNumber(pub String);

impl PassNumber {
    pub fn for_day(day: NaiveDate, seq: u32) -> Self {
        PassNumber(format!("GP-{}-{seq:04}", day.format("%Y%m%d")))
    }

    /// 1–30 characters of letters, digits and `-` `/` `_` `.` (they end up in URLs and keys).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.chars().count() <= limits::NUMBER
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_' | '.'));
        ok.then(|| PassNumber(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PassNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Visitor,
    Vehicle,
    Material,
    LabourExit,
}

impl Kind {
    pub const WIRE: &'static str = "visitor, vehicle, material, labour";

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Visitor => "visitor",
            Kind::Vehicle => "vehicle",
            Kind::Material => "material",
            Kind::LabourExit => "labour",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "visitor" => Kind::Visitor,
            "vehicle" => Kind::Vehicle,
            "material" => Kind::Material,
            "labour" | "labor" | "labour_exit" | "labor_exit" => Kind::LabourExit,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdDocument {
    pub kind: String,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visitor {
    pub name: String,
    pub phone: String,
    pub id_document: Option<IdDocument>,
    /// SHA-256 (hex) of the photo blob.
    pub photo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleTrip {
    pub number: String,
    pub driver: String,
    pub load: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub qty: f64,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// Who carries it out.
    pub carrier: String,
    pub vehicle: Option<String>,
    pub items: Vec<Item>,
    /// Returnable material carries the date it must be back; `None` = not returnable.
    pub return_due: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabourExit {
    pub lcode: String,
    /// The labourer's name when known (from the handheld or the labour roll).
    pub name: String,
}

/// What a pass is for; each kind carries exactly its own facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Subject {
    Visitor(Visitor),
    Vehicle(VehicleTrip),
    Material(Material),
    LabourExit(LabourExit),
}

/// Everything a pass says (as opposed to what happened to it at the gate). Two saves with the
/// same number are the same pass exactly when their `Content`s are equal (`PartialEq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub subject: Subject,
    pub host: String,
    pub purpose: String,
    pub valid_hours: u32,
}

impl Content {
    pub fn kind(&self) -> Kind {
        match self.subject {
            Subject::Visitor(_) => Kind::Visitor,
            Subject::Vehicle(_) => Kind::Vehicle,
            Subject::Material(_) => Kind::Material,
            Subject::LabourExit(_) => Kind::LabourExit,
        }
    }

    /// The person on the pass.
    pub fn person(&self) -> &str {
        match &self.subject {
            Subject::Visitor(v) => &v.name,
            Subject::Vehicle(v) => &v.driver,
            Subject::Material(m) => &m.carrier,
            Subject::LabourExit(l) if l.name.is_empty() => &l.lcode,
            Subject::LabourExit(l) => &l.name,
        }
    }

    pub fn vehicle(&self) -> Option<&str> {
        match &self.subject {
            Subject::Vehicle(v) => Some(&v.number),
            Subject::Material(m) => m.vehicle.as_deref(),
            _ => None,
        }
    }

    pub fn material(&self) -> Option<&Material> {
        match &self.subject {
            Subject::Material(m) => Some(m),
            _ => None,
        }
    }

    pub fn return_due(&self) -> Option<NaiveDate> {
        self.material().and_then(|m| m.return_due)
    }

    /// Case-insensitive substring match on the person, vehicle, host and labour code.
    pub fn matches(&self, needle_lower: &str) -> bool {
        let mut hay = vec![self.person(), self.host.as_str()];
        match &self.subject {
            Subject::Visitor(v) => hay.push(&v.phone),
            Subject::Vehicle(v) => hay.push(&v.number),
            Subject::Material(m) => {
                hay.extend(m.vehicle.as_deref());
                hay.extend(m.items.iter().map(|i| i.name.as_str()));
            }
            Subject::LabourExit(l) => hay.push(&l.lcode),
        }
        // Vehicle numbers are written with and without spaces (KT 8123 AB, KT8123AB): compare
        // both ways.
        let squeezed: String = needle_lower
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        hay.iter().any(|h| {
            let h = h.to_lowercase();
            h.contains(needle_lower)
                || h.chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .contains(&squeezed)
        })
    }
}

/// One step at the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub at_unix: i64,
    pub gate: String,
    pub guard: String,
}

impl Stamp {
    fn same_post(&self, other: &Stamp) -> bool {
        self.gate == other.gate && self.guard == other.guard
    }
}

/// Where a pass is in its life. Each stage holds the stamps that led to it, so a pass that is
/// `Out` without having left, or `In` without an entry stamp, cannot be written down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stage {
    Issued,
    In {
        entered: Stamp,
    },
    /// `entered` is `None` for a labour exit pass (the labourer was already inside).
    Out {
        entered: Option<Stamp>,
        left: Stamp,
    },
    Cancelled {
        at: Stamp,
    },
    /// Closed with its day: never used, or the holder was still inside (`entered`).
    Expired {
        entered: Option<Stamp>,
        at_unix: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Issued,
    In,
    Out,
    Cancelled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Issued => "issued",
            Status::In => "in",
            Status::Out => "out",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }
}

/// Where the pass came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Desk,
    Handheld { imei: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gatepass {
    pub number: PassNumber,
    /// The site day the pass belongs to (its issue time's local day); closing freezes it.
    pub day: NaiveDate,
    pub issued: Stamp,
    pub valid_until_unix: i64,
    pub content: Content,
    pub stage: Stage,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    In,
    Out,
    Cancel,
}

impl Move {
    pub fn parse(s: &str) -> Option<Move> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "in" => Move::In,
            "out" => Move::Out,
            "cancel" => Move::Cancel,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Move::In => "in",
            Move::Out => "out",
            Move::Cancel => "cancel",
        }
    }
}

/// What a repeat of the step the pass last made at the same post is. A guard scanning a pass
/// twice must hear "already out since 12:14"; a handheld retrying a request it never got an
/// answer to must get the first answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Every repeat is refused with what happened and when (the desk: a person, no retries).
    Refuse,
    /// A repeat at the same gate by the same guard within this many seconds of the recorded
    /// step is a retry (`AlreadyDone`); later, or from another post, it is refused. 0 = only
    /// the very same instant (a handheld that sends its own `datetime` resends the same one).
    RetryWithin(i64),
}

impl Repeat {
    fn is_retry(self, recorded: &Stamp, stamp: &Stamp) -> bool {
        match self {
            Repeat::Refuse => false,
            Repeat::RetryWithin(secs) => {
                recorded.same_post(stamp)
                    && stamp.at_unix.saturating_sub(recorded.at_unix).abs() <= secs
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    /// The pass already made this step at the same gate by the same guard, and `Repeat` calls
    /// it a retry: nothing changes.
    AlreadyDone,
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    AlreadyIn {
        since_unix: i64,
        gate: String,
        guard: String,
    },
    AlreadyOut {
        at_unix: i64,
        gate: String,
        guard: String,
    },
    NotIn,
    InsideCannotCancel,
    Cancelled,
    Expired,
    ValidityOver {
        until_unix: i64,
    },
    BeforeIssue,
    LabourEntersNot,
}

impl Refusal {
    /// Catalogue key (assets/i18n/*/gatepass.json) and its arguments.
    pub fn key(&self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            Refusal::AlreadyIn {
                since_unix,
                gate,
                guard,
            } => (
                "gatepass.refused.already_in",
                vec![
                    ("since", since_unix.to_string()),
                    ("gate", gate.clone()),
                    ("guard", guard.clone()),
                ],
            ),
            Refusal::AlreadyOut {
                at_unix,
                gate,
                guard,
            } => (
                "gatepass.refused.already_out",
                vec![
                    ("at", at_unix.to_string()),
                    ("gate", gate.clone()),
                    ("guard", guard.clone()),
                ],
            ),
            Refusal::NotIn => ("gatepass.refused.not_in", vec![]),
            Refusal::InsideCannotCancel => ("gatepass.refused.inside_cancel", vec![]),
            Refusal::Cancelled => ("gatepass.refused.cancelled", vec![]),
            Refusal::Expired => ("gatepass.refused.expired", vec![]),
            Refusal::ValidityOver { until_unix } => (
                "gatepass.refused.validity_over",
                vec![("until", until_unix.to_string())],
            ),
            Refusal::BeforeIssue => ("gatepass.refused.before_issue", vec![]),
            Refusal::LabourEntersNot => ("gatepass.refused.labour_in", vec![]),
        }
    }
}

impl Gatepass {
    pub fn new(
        number: PassNumber,
        day: NaiveDate,
        issued: Stamp,
        content: Content,
        source: Source,
    ) -> Self {
        let valid_until_unix = issued.at_unix + i64::from(content.valid_hours) * 3600;
        Gatepass {
            number,
            day,
            issued,
            valid_until_unix,
            content,
            stage: Stage::Issued,
            source,
        }
    }

    pub fn kind(&self) -> Kind {
        self.content.kind()
    }

    /// The status as the desk sees it at `now`: an unused pass past its validity is expired
    /// even before its day is closed.
    pub fn status(&self, now_unix: i64) -> Status {
        match &self.stage {
            Stage::Issued if now_unix > self.valid_until_unix => Status::Expired,
            Stage::Issued => Status::Issued,
            Stage::In { .. } => Status::In,
            Stage::Out { .. } => Status::Out,
            Stage::Cancelled { .. } => Status::Cancelled,
            Stage::Expired { .. } => Status::Expired,
        }
    }

    pub fn entered(&self) -> Option<&Stamp> {
        match &self.stage {
            Stage::In { entered } => Some(entered),
            Stage::Out { entered, .. } | Stage::Expired { entered, .. } => entered.as_ref(),
            _ => None,
        }
    }

    pub fn left(&self) -> Option<&Stamp> {
        match &self.stage {
            Stage::Out { left, .. } => Some(left),
            _ => None,
        }
    }

    pub fn is_inside(&self) -> bool {
        matches!(self.stage, Stage::In { .. })
    }

    /// Content may be replaced only before the pass was used.
    pub fn can_edit(&self) -> bool {
        matches!(self.stage, Stage::Issued)
    }

    /// Applies a move stamped `stamp`. A repeat of the step last made is `AlreadyDone` when
    /// `repeat` calls it a retry, refused otherwise; everything the life cycle does not allow is
    /// refused.
    pub fn apply(&mut self, mv: Move, stamp: Stamp, repeat: Repeat) -> Result<Outcome, Refusal> {
        if stamp.at_unix < self.issued.at_unix {
            return Err(Refusal::BeforeIssue);
        }
        let labour = self.kind() == Kind::LabourExit;
        let next = match (&self.stage, mv) {
            (Stage::Issued, Move::In) if labour => return Err(Refusal::LabourEntersNot),
            (Stage::Issued, Move::In) | (Stage::Issued, Move::Out)
                if stamp.at_unix > self.valid_until_unix =>
            {
                return Err(Refusal::ValidityOver {
                    until_unix: self.valid_until_unix,
                })
            }
            (Stage::Issued, Move::In) => Stage::In { entered: stamp },
            (Stage::Issued, Move::Out) if labour => Stage::Out {
                entered: None,
                left: stamp,
            },
            (Stage::Issued, Move::Out) => return Err(Refusal::NotIn),
            (Stage::Issued, Move::Cancel) => Stage::Cancelled { at: stamp },
            (Stage::In { entered }, Move::In) if repeat.is_retry(entered, &stamp) => {
                return Ok(Outcome::AlreadyDone)
            }
            (Stage::In { entered }, Move::In) => {
                return Err(Refusal::AlreadyIn {
                    since_unix: entered.at_unix,
                    gate: entered.gate.clone(),
                    guard: entered.guard.clone(),
                })
            }
            // Leaving is always allowed, even past the validity window: an overstaying visitor
            // must still be let out and recorded.
            (Stage::In { entered }, Move::Out) => {
                if stamp.at_unix < entered.at_unix {
                    return Err(Refusal::BeforeIssue);
                }
                Stage::Out {
                    entered: Some(entered.clone()),
                    left: stamp,
                }
            }
            (Stage::In { .. }, Move::Cancel) => return Err(Refusal::InsideCannotCancel),
            (Stage::Out { left, .. }, Move::Out) if repeat.is_retry(left, &stamp) => {
                return Ok(Outcome::AlreadyDone)
            }
            (Stage::Out { left, .. }, _) => {
                return Err(Refusal::AlreadyOut {
                    at_unix: left.at_unix,
                    gate: left.gate.clone(),
                    guard: left.guard.clone(),
                })
            }
            (Stage::Cancelled { at }, Move::Cancel) if repeat.is_retry(at, &stamp) => {
                return Ok(Outcome::AlreadyDone)
            }
            (Stage::Cancelled { .. }, _) => return Err(Refusal::Cancelled),
            (Stage::Expired { .. }, _) => return Err(Refusal::Expired),
        };
        self.stage = next;
        Ok(Outcome::Changed)
    }

    /// Closing the pass's day: an unused pass expires, and a holder still inside is recorded as
    /// never seen leaving. Returns true when the holder was inside.
    pub fn close_with_day(&mut self, at_unix: i64) -> bool {
        match &self.stage {
            Stage::Issued => {
                self.stage = Stage::Expired {
                    entered: None,
                    at_unix,
                };
                false
            }
            Stage::In { entered } => {
                self.stage = Stage::Expired {
                    entered: Some(entered.clone()),
                    at_unix,
                };
                true
            }
            _ => false,
        }
    }

    /// Returnable material that left and is not all back by its due date (`today` is past it).
    pub fn overdue(&self, returns: &Returns, today: NaiveDate) -> bool {
        self.owes_return(returns) && self.content.return_due().is_some_and(|due| due < today)
    }

    /// Returnable material that left the estate and is not all back.
    pub fn owes_return(&self, returns: &Returns) -> bool {
        let left = matches!(self.stage, Stage::Out { .. });
        match self.content.material() {
            Some(m) if m.return_due.is_some() && left => {
                outstanding(&m.items, returns).iter().any(|i| i.qty > 0.0)
            }
            _ => false,
        }
    }
}

/// The front office's daily closing: after it, no pass of that day changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayClosing {
    pub day: NaiveDate,
    pub closed_unix: i64,
    pub company_id: String,
    pub closed_by: String,
    /// Passes whose holder was still inside at closing.
    pub inside: Vec<PassNumber>,
    /// Returnable material not back by its date at closing.
    pub overdue: Vec<PassNumber>,
    /// Unused passes expired by the closing.
    pub expired: u32,
}

/// Small limits for tests: three items, an 8-byte image.
#[cfg(test)]
pub(crate) const TEST_LIMITS: ContentLimits = ContentLimits {
    max_items: 3,
    default_valid_hours: 12,
    max_valid_hours: 72,
    max_image_bytes: 8,
};

#[cfg(test)]
impl Gatepass {
    /// A pass of what `content` says (read under `TEST_LIMITS`), issued from the desk at the
    /// North gate on 2026-11-23: what tests vary, they set.
    pub(crate) fn for_tests(number: &str, content: serde_json::Value) -> Gatepass {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
        let mut f = crate::domain::validate::Fields::new(content.as_object().expect("an object"));
        let content = parse_content(&mut f, TEST_LIMITS)
            .expect("valid content")
            .content;
        let stamp = Stamp {
            at_unix: 1000,
            gate: "North".into(),
            guard: "Ravi".into(),
        };
        Gatepass::new(
            PassNumber::parse(number).expect("a pass number"),
            day,
            stamp,
            content,
            Source::Desk,
        )
    }
}

#[cfg(test)]
mod tests;
