//! Muster: the labour lines a handheld records against an estate task, the weighment rule
//! (DESIGN.md §3.2) and why a single line is refused.
//!
//! Weights travel in kilograms with decimals; they are kept in whole grams so sums and
//! comparisons are exact.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{EstateTaskId, FirmId, LabourCode};
use crate::domain::ids::UserId;
use crate::domain::validate::FieldError;

/// Lines per muster (POABS `muster[]` is 1–10,000).
pub const MAX_LINES: usize = 10_000;

/// The POABS `DateTime` format of a muster line, in the site's local time.
pub const LINE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn grams(kg: f64) -> i64 {
    (kg * 1000.0).round() as i64
}

pub fn kg(grams: i64) -> f64 {
    grams as f64 / 1000.0
}

/// Net weight of a harvest line: a helper's is gross − bag; anyone else's also loses the
/// task's moisture: (gross − bag) × (1 − MoisturePerc/100). Rounded to the gram.
pub fn net_weight(gross_g: i64, bag_g: i64, is_helper: bool, moisture_perc: f64) -> i64 {
    // Saturating: callers check the figures first, but a rule must not panic on any input.
    let after_bag = gross_g.saturating_sub(bag_g);
    if is_helper {
        after_bag
    } else {
        (after_bag as f64 * (1.0 - moisture_perc / 100.0)).round() as i64
    }
}

/// What the handheld weighed (kg converted to grams). `net_g` is the handheld's own figure,
/// checked against the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weighment {
    pub gross_g: i64,
    pub bag_g: i64,
    pub net_g: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WeightProblem {
    Negative,
    BagAboveGross,
    TooHeavy {
        max_g: i64,
    },
    /// The handheld's netWeight differs from the server's by more than the tolerance.
    NetMismatch {
        claimed_g: i64,
        expected_g: i64,
    },
    /// Weights on a line that has no weighment (not a harvest job, or a supervisor).
    NotWeighed,
}

/// The rules a task's weighment follows.
#[derive(Debug, Clone, Copy)]
pub struct WeighRules {
    pub harvest_job: bool,
    pub moisture_perc: f64,
    pub max_gross_g: i64,
    pub tolerance_g: i64,
}

/// Checks a line's weights and returns the net weight to store (the server's, never the
/// handheld's). Lines without weighment must carry zeros.
pub fn check_weighment(
    rules: &WeighRules,
    is_supervisor: bool,
    is_helper: bool,
    w: &Weighment,
) -> Result<i64, WeightProblem> {
    if w.gross_g < 0 || w.bag_g < 0 || w.net_g.is_some_and(|n| n < 0) {
        return Err(WeightProblem::Negative);
    }
    if !rules.harvest_job || is_supervisor {
        let net_off = w.net_g.unwrap_or(0) > rules.tolerance_g;
        return if w.gross_g != 0 || w.bag_g != 0 || net_off {
            Err(WeightProblem::NotWeighed)
        } else {
            Ok(0)
        };
    }
    if w.gross_g > rules.max_gross_g {
        return Err(WeightProblem::TooHeavy {
            max_g: rules.max_gross_g,
        });
    }
    if w.bag_g > w.gross_g {
        return Err(WeightProblem::BagAboveGross);
    }
    let expected_g = net_weight(w.gross_g, w.bag_g, is_helper, rules.moisture_perc);
    match w.net_g {
        Some(claimed_g)
            if claimed_g.saturating_sub(expected_g).saturating_abs() > rules.tolerance_g =>
        {
            Err(WeightProblem::NetMismatch {
                claimed_g,
                expected_g,
            })
        }
        _ => Ok(expected_g),
    }
}

/// One muster line as the handheld sent it, once its fields parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFields {
    pub lcode: LabourCode,
    pub weighment: Weighment,
    /// `None` when the handheld left it out: the labourer's own flag applies.
    pub is_helper: Option<bool>,
    pub half_day: bool,
    pub with_muster: bool,
    /// Site-local time of the line.
    pub at: NaiveDateTime,
}

impl LineFields {
    /// What makes two sends of one line id "the same line": a retry must match this exactly.
    pub fn canonical(&self) -> String {
        format!(
            "{}|{}|{}|{:?}|{:?}|{}|{}|{}",
            self.lcode,
            self.weighment.gross_g,
            self.weighment.bag_g,
            self.weighment.net_g,
            self.is_helper,
            self.half_day,
            self.with_muster,
            self.at.format(LINE_TIME_FORMAT)
        )
    }
}

/// A stored muster line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusterLine {
    /// The handheld's id for this line (`lineID`).
    pub line_id: String,
    pub imei: String,
    pub user: UserId,
    pub firm: FirmId,
    pub task: EstateTaskId,
    pub task_date: NaiveDate,
    pub diary_slip_no: String,
    pub lcode: LabourCode,
    pub gross_g: i64,
    pub bag_g: i64,
    /// The server's net weight.
    pub net_g: i64,
    pub is_helper: bool,
    pub half_day: bool,
    pub with_muster: bool,
    pub at_local: NaiveDateTime,
    pub at_unix: i64,
    pub received_unix: i64,
    /// SHA-256 of `LineFields::canonical`, to tell a retry from a reused id.
    pub fingerprint: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// 0 if not a cocktail.
    pub cocktail_code: String,
    pub material_code: String,
    pub qty: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pest {
    pub pest_id: String,
    /// 0 if none.
    pub value: f64,
}

/// The header of a muster (one diary slip of one task from one handheld): materials, pests,
/// whether the job ended. Posting it again replaces it with the latest content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusterSlip {
    pub firm: FirmId,
    pub task: EstateTaskId,
    pub task_date: NaiveDate,
    pub diary_slip_no: String,
    pub job_ends: bool,
    pub materials: Vec<Material>,
    pub pests: Vec<Pest>,
    pub imei: String,
    pub user: UserId,
    pub received_unix: i64,
}

impl MusterSlip {
    /// Equal apart from when and by whom it arrived: a retry that changes nothing.
    pub fn same_content(&self, other: &MusterSlip) -> bool {
        self.firm == other.firm
            && self.task == other.task
            && self.diary_slip_no == other.diary_slip_no
            && self.job_ends == other.job_ends
            && self.materials == other.materials
            && self.pests == other.pests
    }
}

/// Why one line was refused; the rest of its muster is stored regardless.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A field of the line is missing or malformed.
    Field(FieldError),
    UnknownLabourer(LabourCode),
    InactiveLabourer(LabourCode),
    /// The labourer's muster firm is not the task's firm.
    OtherFirm {
        labour_firm: FirmId,
        task_firm: FirmId,
    },
    /// The labourer already has a line on this task-day.
    TwiceOnTaskDay {
        lcode: LabourCode,
        other_line: String,
    },
    Weight(WeightProblem),
    /// The line id was used before for a different line.
    LineIdReused(String),
    /// The muster's task is unknown for its firm (every line of it is refused).
    UnknownTask {
        firm: FirmId,
        task: EstateTaskId,
    },
}

impl Refusal {
    /// The POABS `e` code, a stable machine-readable reason, the message key and arguments.
    pub fn describe(&self) -> (u16, &'static str, &'static str, Vec<(&'static str, String)>) {
        let g = |x: i64| format!("{:.3}", kg(x));
        match self {
            Refusal::Field(fe) => {
                let mut args = fe.args.clone();
                args.retain(|(k, _)| *k != "field");
                args.insert(0, ("field", fe.field.clone()));
                (400, "invalid_field", fe.key, args)
            }
            Refusal::UnknownLabourer(l) => (
                404,
                "unknown_labourer",
                "estate.muster.unknown_labourer",
                vec![("lcode", l.0.clone())],
            ),
            Refusal::InactiveLabourer(l) => (
                400,
                "inactive_labourer",
                "estate.muster.inactive_labourer",
                vec![("lcode", l.0.clone())],
            ),
            Refusal::OtherFirm {
                labour_firm,
                task_firm,
            } => (
                400,
                "other_firm",
                "estate.muster.other_firm",
                vec![
                    ("labour_firm", labour_firm.0.clone()),
                    ("task_firm", task_firm.0.clone()),
                ],
            ),
            Refusal::TwiceOnTaskDay { lcode, other_line } => (
                409,
                "twice_on_task_day",
                "estate.muster.twice",
                vec![("lcode", lcode.0.clone()), ("line", other_line.clone())],
            ),
            Refusal::Weight(w) => match w {
                WeightProblem::Negative => (400, "bad_weight", "estate.weight.negative", vec![]),
                WeightProblem::BagAboveGross => {
                    (400, "bad_weight", "estate.weight.bag_above_gross", vec![])
                }
                WeightProblem::TooHeavy { max_g } => (
                    400,
                    "bad_weight",
                    "estate.weight.too_heavy",
                    vec![("max", g(*max_g))],
                ),
                WeightProblem::NetMismatch {
                    claimed_g,
                    expected_g,
                } => (
                    400,
                    "bad_weight",
                    "estate.weight.net_mismatch",
                    vec![("claimed", g(*claimed_g)), ("expected", g(*expected_g))],
                ),
                WeightProblem::NotWeighed => {
                    (400, "bad_weight", "estate.weight.not_weighed", vec![])
                }
            },
            Refusal::LineIdReused(id) => (
                409,
                "line_id_reused",
                "estate.muster.line_id_reused",
                vec![("line", id.clone())],
            ),
            Refusal::UnknownTask { firm, task } => (
                404,
                "unknown_task",
                "estate.muster.unknown_task",
                vec![("task", task.0.clone()), ("firm", firm.0.clone())],
            ),
        }
    }
}

/// A line's answer: stored (with the server's net weight) or refused (with why).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Stored { net_g: i64 },
    Refused(Refusal),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(harvest: bool, moisture: f64) -> WeighRules {
        WeighRules {
            harvest_job: harvest,
            moisture_perc: moisture,
            max_gross_g: 200_000,
            tolerance_g: 50,
        }
    }

    fn w(g: f64, b: f64, n: Option<f64>) -> Weighment {
        Weighment {
            gross_g: grams(g),
            bag_g: grams(b),
            net_g: n.map(grams),
        }
    }

    #[test]
    fn net_weight_follows_the_formula() {
        // helper: gross − bag
        assert_eq!(net_weight(20_000, 500, true, 10.0), 19_500);
        // otherwise (gross − bag) × (1 − m/100)
        assert_eq!(net_weight(20_000, 500, false, 10.0), 17_550);
        assert_eq!(net_weight(20_000, 500, false, 0.0), 19_500);
        // Found by props::weighment_rules_take_any_figures: no overflow panic at the edges.
        assert_eq!(net_weight(i64::MIN, 1, true, 0.0), i64::MIN);
        assert_eq!(net_weight(i64::MAX, -1, true, 0.0), i64::MAX);
    }

    #[test]
    fn the_servers_net_is_stored_within_tolerance() {
        let r = rules(true, 10.0);
        assert_eq!(
            check_weighment(&r, false, false, &w(20.0, 0.5, Some(17.55))),
            Ok(17_550)
        );
        assert_eq!(
            check_weighment(&r, false, false, &w(20.0, 0.5, Some(17.6))),
            Ok(17_550)
        );
        assert_eq!(
            check_weighment(&r, false, false, &w(20.0, 0.5, None)),
            Ok(17_550)
        );
        assert_eq!(
            check_weighment(&r, false, false, &w(20.0, 0.5, Some(17.601))),
            Err(WeightProblem::NetMismatch {
                claimed_g: 17_601,
                expected_g: 17_550
            })
        );
        // the helper formula ignores moisture
        assert_eq!(
            check_weighment(&r, false, true, &w(20.0, 0.5, Some(19.5))),
            Ok(19_500)
        );
    }

    #[test]
    fn bad_weights_are_named() {
        let r = rules(true, 0.0);
        assert_eq!(
            check_weighment(&r, false, false, &w(-1.0, 0.0, None)),
            Err(WeightProblem::Negative)
        );
        assert_eq!(
            check_weighment(&r, false, false, &w(1.0, 2.0, None)),
            Err(WeightProblem::BagAboveGross)
        );
        assert_eq!(
            check_weighment(&r, false, false, &w(200.0, 0.0, None)),
            Ok(200_000)
        );
        assert_eq!(
            check_weighment(&r, false, false, &w(200.001, 0.0, None)),
            Err(WeightProblem::TooHeavy { max_g: 200_000 })
        );
        // no weighment: zeros only
        assert_eq!(
            check_weighment(&rules(false, 0.0), false, false, &w(0.0, 0.0, Some(0.0))),
            Ok(0)
        );
        assert_eq!(
            check_weighment(&rules(false, 0.0), false, false, &w(3.0, 0.0, Some(3.0))),
            Err(WeightProblem::NotWeighed)
        );
        assert_eq!(
            check_weighment(&r, true, false, &w(3.0, 0.0, None)),
            Err(WeightProblem::NotWeighed)
        );
    }

    #[test]
    fn refusals_carry_code_reason_and_message() {
        let (e, reason, key, args) = Refusal::Weight(WeightProblem::NetMismatch {
            claimed_g: 1_000,
            expected_g: 900,
        })
        .describe();
        assert_eq!(
            (e, reason, key),
            (400, "bad_weight", "estate.weight.net_mismatch")
        );
        assert_eq!(
            args,
            vec![
                ("claimed", "1.000".to_string()),
                ("expected", "0.900".to_string())
            ]
        );
    }
}
