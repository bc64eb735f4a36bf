//! The HR roll: employees and their history (transfers, pay revisions, payroll, TDS, leave,
//! relieving), plus holidays. Field names follow the POABS HR pages where they are public.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    M,
    F,
    T,
}

impl Sex {
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_ascii_uppercase().as_str() {
            "M" | "MALE" => Some(Sex::M),
            "F" | "FEMALE" => Some(Sex::F),
            "T" | "TRANSGENDER" => Some(Sex::T),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
            Sex::T => "T",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaveType {
    /// Earned leave.
    El,
    /// Casual leave.
    Cl,
    /// Sick leave.
    Sl,
    /// Loss of pay (no balance).
    Lop,
}

pub const BALANCE_TYPES: [LeaveType; 3] = [LeaveType::El, LeaveType::Cl, LeaveType::Sl];

impl LeaveType {
    pub fn parse(s: &str) -> Option<LeaveType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "EL" => Some(LeaveType::El),
            "CL" => Some(LeaveType::Cl),
            "SL" => Some(LeaveType::Sl),
            "LOP" | "LP" => Some(LeaveType::Lop),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            LeaveType::El => "EL",
            LeaveType::Cl => "CL",
            LeaveType::Sl => "SL",
            LeaveType::Lop => "LOP",
        }
    }
    /// The lower-case prefix POABS uses in leave-summary field names (`elopening`).
    pub fn prefix(self) -> &'static str {
        match self {
            LeaveType::El => "el",
            LeaveType::Cl => "cl",
            LeaveType::Sl => "sl",
            LeaveType::Lop => "lop",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// House name / number (POABS `hname`).
    pub hname: String,
    pub place: String,
    pub post: String,
    pub district: String,
    pub state: String,
    pub pin: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub date: NaiveDate,
    pub from_firm: String,
    pub to_firm: String,
    pub from_department: String,
    pub to_department: String,
    pub order_no: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayRevision {
    pub effective: NaiveDate,
    pub old_basic: f64,
    pub new_basic: f64,
    pub old_gross: f64,
    pub new_gross: f64,
    pub remarks: String,
}

/// One month's pay slip. `month` is its first day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payroll {
    pub month: NaiveDate,
    pub days_worked: f64,
    pub basic: f64,
    pub da: f64,
    pub hra: f64,
    pub other_earnings: f64,
    pub pf: f64,
    pub esi: f64,
    pub tds: f64,
    pub other_deductions: f64,
}

impl Payroll {
    pub fn gross(&self) -> f64 {
        self.basic + self.da + self.hra + self.other_earnings
    }
    pub fn deductions(&self) -> f64 {
        self.pf + self.esi + self.tds + self.other_deductions
    }
    pub fn net(&self) -> f64 {
        self.gross() - self.deductions()
    }
}

/// Tax computed for a financial year (`fin_year` = the April it starts in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TdsCalculation {
    pub fin_year: i32,
    pub calculated_on: NaiveDate,
    pub gross_income: f64,
    pub exemptions: f64,
    pub taxable_income: f64,
    pub tax: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leave {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub leave_type: LeaveType,
    pub half_day: bool,
}

impl Leave {
    pub fn covers(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
    /// Days of this leave inside `from..=to`.
    pub fn days_within(&self, from: NaiveDate, to: NaiveDate) -> f64 {
        let s = self.from.max(from);
        let e = self.to.min(to);
        if e < s {
            return 0.0;
        }
        let n = (e - s).num_days() as f64 + 1.0;
        if self.half_day {
            n * 0.5
        } else {
            n
        }
    }
}

/// A change to a leave balance: the year's opening, or a credit during the year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaveCredit {
    pub date: NaiveDate,
    pub leave_type: LeaveType,
    pub days: f64,
    /// True for the opening balance of a leave year.
    pub opening: bool,
}

/// From the joining day to the relieving day (both on the roll).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollSpan {
    pub joined: NaiveDate,
    pub relieved: Option<NaiveDate>,
}

impl RollSpan {
    pub fn on_roll(&self, d: NaiveDate) -> bool {
        self.joined <= d && self.relieved.is_none_or(|r| d <= r)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relieving {
    pub date: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employee {
    /// Employee code (POABS `co_id`), unique.
    pub code: String,
    /// Account code in the payroll ledger (POABS `accode`); the code when none is given.
    pub accode: String,
    pub name: String,
    pub father_name: String,
    pub sex: Sex,
    pub dob: Option<NaiveDate>,
    pub doj: NaiveDate,
    pub pan: String,
    /// Provident-fund number (POABS `cpf`).
    pub cpf: String,
    pub department: String,
    pub designation: String,
    /// Firm / unit id (POABS `firm`, `unitid`).
    pub firm: String,
    /// Gang or work group, for fences and the morning muster view.
    pub group: String,
    /// Default shift code (empty: day worker without a shift).
    pub shift: String,
    pub address: Address,
    pub phone: String,
    pub basic_pay: f64,
    pub relieving: Option<Relieving>,
    pub transfers: Vec<Transfer>,
    pub pay_revisions: Vec<PayRevision>,
    pub payroll: Vec<Payroll>,
    pub tds: Vec<TdsCalculation>,
    pub leaves: Vec<Leave>,
    pub leave_credits: Vec<LeaveCredit>,
    pub created_unix: i64,
    pub updated_unix: i64,
}

impl Employee {
    pub fn new(code: &str, name: &str, sex: Sex, doj: NaiveDate) -> Employee {
        Employee {
            code: code.into(),
            accode: code.into(),
            name: name.into(),
            father_name: String::new(),
            sex,
            dob: None,
            doj,
            pan: String::new(),
            cpf: String::new(),
            department: String::new(),
            designation: String::new(),
            firm: String::new(),
            group: String::new(),
            shift: String::new(),
            address: Address::default(),
            phone: String::new(),
            basic_pay: 0.0,
            relieving: None,
            transfers: Vec::new(),
            pay_revisions: Vec::new(),
            payroll: Vec::new(),
            tds: Vec::new(),
            leaves: Vec::new(),
            leave_credits: Vec::new(),
            created_unix: 0,
            updated_unix: 0,
        }
    }

    /// On the roll on `d`: joined, and not yet relieved.
    pub fn on_roll(&self, d: NaiveDate) -> bool {
        self.span().on_roll(d)
    }

    /// What the console's attendance views group by: the gang, else the department, else "-".
    pub fn gang_or_department(&self) -> &str {
        [&self.group, &self.department]
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or("-", |s| s.as_str())
    }

    /// The days the employee is on the roll, without the rest of the record.
    pub fn span(&self) -> RollSpan {
        RollSpan {
            joined: self.doj,
            relieved: self.relieving.as_ref().map(|r| r.date),
        }
    }

    pub fn status(&self) -> &'static str {
        if self.relieving.is_some() {
            "relieved"
        } else {
            "active"
        }
    }

    pub fn leave_on(&self, d: NaiveDate) -> Option<&Leave> {
        self.leaves.iter().find(|l| l.covers(d))
    }

    /// Leave balance movement of one type over `from..=to`: (opening, credited, taken, closing).
    /// Opening counts every credit and leave before `from` (the year's opening included).
    pub fn leave_summary(&self, t: LeaveType, from: NaiveDate, to: NaiveDate) -> [f64; 4] {
        let credit = |pred: &dyn Fn(NaiveDate) -> bool| -> f64 {
            self.leave_credits
                .iter()
                .filter(|c| c.leave_type == t && pred(c.date))
                .map(|c| c.days)
                .sum()
        };
        let Some(day_before) = from.pred_opt() else {
            return [0.0; 4];
        };
        let taken_before: f64 = self
            .leaves
            .iter()
            .filter(|l| l.leave_type == t)
            .map(|l| l.days_within(NaiveDate::MIN, day_before))
            .sum();
        let opening = credit(&|d| d < from) - taken_before;
        let credited = credit(&|d| from <= d && d <= to);
        let taken: f64 = self
            .leaves
            .iter()
            .filter(|l| l.leave_type == t)
            .map(|l| l.days_within(from, to))
            .sum();
        [opening, credited, taken, opening + credited - taken]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holiday {
    /// Firm the holiday applies to; empty = every firm.
    pub firm: String,
    pub date: NaiveDate,
    pub name: String,
}

/// The POABS filters: `0` (or empty) means all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub firm: Option<String>,
    pub department: Option<String>,
    pub designation: Option<String>,
    pub employee: Option<String>,
}

impl Filter {
    /// "0", "" and absent all mean "every value".
    pub fn term(v: Option<String>) -> Option<String> {
        v.map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "0")
    }

    pub fn matches(&self, e: &Employee) -> bool {
        let ok = |f: &Option<String>, v: &str| f.as_deref().is_none_or(|f| f == v);
        ok(&self.firm, &e.firm)
            && ok(&self.department, &e.department)
            && ok(&self.designation, &e.designation)
            && ok(&self.employee, &e.code)
    }
}

/// Checks a PAN: five letters, four digits, one letter (e.g. AAAPL1234C).
pub fn valid_pan(pan: &str) -> bool {
    let b = pan.as_bytes();
    b.len() == 10
        && b[..5].iter().all(u8::is_ascii_uppercase)
        && b[5..9].iter().all(u8::is_ascii_digit)
        && b[9].is_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn leave_summary_moves_balances_over_the_period() {
        let mut e = Employee::new("009", "Lakshmi", Sex::F, d(1, 1));
        e.leave_credits.push(LeaveCredit {
            date: d(1, 1),
            leave_type: LeaveType::El,
            days: 12.0,
            opening: true,
        });
        e.leave_credits.push(LeaveCredit {
            date: d(3, 1),
            leave_type: LeaveType::El,
            days: 1.5,
            opening: false,
        });
        e.leaves.push(Leave {
            from: d(2, 10),
            to: d(2, 11),
            leave_type: LeaveType::El,
            half_day: false,
        });
        e.leaves.push(Leave {
            from: d(3, 5),
            to: d(3, 5),
            leave_type: LeaveType::El,
            half_day: true,
        });
        let [o, c, t, cl] = e.leave_summary(LeaveType::El, d(3, 1), d(3, 31));
        assert_eq!((o, c, t, cl), (10.0, 1.5, 0.5, 11.0));
        let [o, _, t, _] = e.leave_summary(LeaveType::Cl, d(3, 1), d(3, 31));
        assert_eq!((o, t), (0.0, 0.0));
        assert!(e.leave_on(d(2, 11)).is_some());
        assert!(e.leave_on(d(2, 12)).is_none());
    }

    #[test]
    fn roll_and_filters() {
        let mut e = Employee::new("E1", "A", Sex::M, d(2, 1));
        e.firm = "1".into();
        e.department = "FLD".into();
        assert!(!e.on_roll(d(1, 31)));
        assert!(e.on_roll(d(2, 1)));
        e.relieving = Some(Relieving {
            date: d(3, 1),
            reason: String::new(),
        });
        assert!(e.on_roll(d(3, 1)));
        assert!(!e.on_roll(d(3, 2)));
        let f = Filter {
            firm: Filter::term(Some("0".into())),
            department: Filter::term(Some("FLD".into())),
            ..Filter::default()
        };
        assert!(f.matches(&e));
        let f = Filter {
            employee: Filter::term(Some("E2".into())),
            ..Filter::default()
        };
        assert!(!f.matches(&e));
        assert!(valid_pan("AAAPL1234C"));
        assert!(!valid_pan("AAAPL1234"));
        assert!(!valid_pan("aaapl1234c"));
    }

    #[test]
    fn payroll_sums() {
        let p = Payroll {
            month: d(3, 1),
            days_worked: 26.0,
            basic: 10000.0,
            da: 2000.0,
            hra: 1000.0,
            other_earnings: 0.0,
            pf: 1200.0,
            esi: 100.0,
            tds: 500.0,
            other_deductions: 0.0,
        };
        assert_eq!(
            (p.gross(), p.deductions(), p.net()),
            (13000.0, 1800.0, 11200.0)
        );
    }
}
