//! The gatepass desk: who and what is inside, issue a pass, mark in/out, search by person or
//! vehicle, and the returnables that are overdue.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::{json, Map, Value};

use super::{
    draw_note, draw_table, placeholder, rows_of, set_query, Action, Ctx, Load, Screen, Sel,
};
use crate::data::{boolean, int, local_datetime, text};
use crate::form::{Field, Form, FormKind};
use crate::io::{enc, Cmd, Reply, Tag};

pub const VIEWS: [&str; 4] = ["inside", "today", "overdue", "all"];

#[derive(Debug)]
pub struct Gatepass {
    pub list: Load<Vec<Value>>,
    pub summary: Load<Value>,
    /// One pass in full (Enter), shown instead of the list until Esc.
    pub detail: Option<Load<Value>>,
    pub sel: Sel,
    pub view: usize,
    pub query: String,
    /// Gate and guard of the last in/out, offered again (one desk, one guard, all shift).
    pub gate: String,
    pub guard: String,
    /// When the list was last loaded (shown when it is stale: the server is down).
    pub list_at: Option<i64>,
    /// The issue on its way: its answer's number is selected in the reloaded list.
    pub issue_tag: Option<Tag>,
    /// A pass to select once the list holds it (a newly issued one).
    pub select_number: Option<String>,
    /// A move or print sent from the detail view: its answer refreshes the detail.
    pub detail_tag: Option<Tag>,
}

impl Default for Gatepass {
    fn default() -> Self {
        Gatepass {
            list: Load::Waiting,
            summary: Load::Waiting,
            detail: None,
            sel: Sel(0),
            view: 0,
            query: String::new(),
            gate: "Main gate".into(),
            guard: "desk".into(),
            list_at: None,
            issue_tag: None,
            select_number: None,
            detail_tag: None,
        }
    }
}

const KEYS: &[(&str, &str, &str)] = &[
    ("↑/↓", "", "choose a pass"),
    (
        "Enter",
        "",
        "the pass in full (items, stamps); Esc back to the list",
    ),
    ("n", "issue", "issue a new gatepass"),
    ("i", "in", "mark the pass in (arrived)"),
    ("o", "out", "mark the pass out (left)"),
    ("c", "cancel", "cancel the pass (asks first)"),
    (
        "p",
        "print",
        "print the pass slip (QR + barcode), or save it as a PDF",
    ),
    (
        "m",
        "returned",
        "material came back (all or part of what left)",
    ),
    ("v", "view", "view: inside / today / overdue / all"),
    (
        "scan",
        "",
        "a scanned pass number opens that pass, i/o ready",
    ),
    ("/", "search", "search by person, vehicle or number"),
    ("r", "", "refresh"),
];

impl Gatepass {
    /// The pass open in the detail view, if loaded.
    fn detail_number(&self) -> Option<String> {
        match &self.detail {
            Some(Load::Ready(p)) => Some(text(p, "number")).filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// In or out at once, with the desk's gate and guard (the detail view: the pass is in front
    /// of the guard, there is nothing to type).
    fn move_now(&mut self, number: &str, verb: &'static str) -> Action {
        let tag = Tag::Done(format!("gatepass {number} marked {verb}"));
        self.detail_tag = Some(tag.clone());
        Action::Send(Cmd::post(
            tag,
            format!("/admin/gatepasses/{}/{verb}", enc(number)),
            json!({"gate": self.gate, "guard": self.guard}),
        ))
    }

    /// Print the slip where the server's `[print]` says; `s` in the confirm saves a PDF.
    fn print(&self, number: &str) -> Action {
        Action::Form(Form::new(
            FormKind::PrintSlip,
            format!("Print the slip of {number}"),
            vec![
                Field::text("number", "Pass number").with(number),
                Field::choice("to", "Send to", &["printer", "PDF file"]).hint(
                    "printer = the printer set in [print] of the server's config; \
                     PDF file = saved on the box (its path is shown).",
                ),
            ],
        ))
    }

    fn selected(&self) -> Option<String> {
        self.list
            .ready()
            .and_then(|l| l.get(self.sel.0))
            .map(|p| text(p, "number"))
            .filter(|s| !s.is_empty())
    }

    fn list_cmd(&self) -> Cmd {
        let mut path = format!("/admin/gatepasses?view={}", VIEWS[self.view % VIEWS.len()]);
        if !self.query.is_empty() {
            path.push_str(&format!("&q={}", enc(&self.query)));
        }
        Cmd::get(Tag::Gatepasses, path)
    }

    fn move_form(&self, verb: &'static str) -> Action {
        let Some(number) = self.selected() else {
            return Action::Message("no gatepass selected".into());
        };
        Action::Form(Form::new(
            FormKind::GatepassMove(verb),
            format!("Mark {number} {verb}"),
            vec![
                Field::text("number", "Pass number").with(number),
                Field::text("gate", "Gate").with(self.gate.clone()).max(40),
                Field::text("guard", "Guard")
                    .with(self.guard.clone())
                    .max(64),
            ],
        ))
    }
}

pub const KINDS: [&str; 4] = ["visitor", "vehicle", "material", "labour"];

/// Step one of issuing: the kind decides which fields the pass needs.
pub fn kind_form() -> Form {
    Form::new(
        FormKind::GatepassKind,
        "Issue a gatepass: which kind?",
        vec![Field::choice("kind", "Kind (←/→)", &KINDS)],
    )
}

/// Step two: the fields of that kind (the server checks them again). Labels stay short and
/// whole; how to fill a field in is its hint, shown in full while it has the cursor.
pub fn issue_form(kind: &'static str, gate: &str, guard: &str) -> Form {
    let mut fields = match kind {
        "vehicle" => vec![
            Field::text("vehicle", "Vehicle no. *")
                .max(20)
                .hint("The number plate, e.g. KT 8123 AB."),
            Field::text("driver", "Driver *").max(100),
            Field::text("load", "Load")
                .max(200)
                .hint("What it carries in, e.g. fertiliser 2 t."),
        ],
        "material" => vec![
            Field::text("name", "Carried by *")
                .max(100)
                .hint("The person taking the material out."),
            Field::text("vehicle", "Vehicle no.").max(20),
            Field::list("items", "Items *").max(1000).hint(ITEMS_HINT),
            Field::choice("returnable", "Returnable", &["no", "yes"])
                .hint("yes = it must come back by the date below (←/→ to change)."),
            Field::text("return_due", "Return by")
                .max(10)
                .hint("The day it must be back, yyyy-mm-dd (returnable material only)."),
        ],
        "labour" => vec![
            Field::text("lcode", "Labour code *")
                .max(20)
                .hint("The labourer's code on the estate roll, e.g. R101."),
            Field::text("name", "Name")
                .max(100)
                .hint("Empty = the name on the labour roll."),
        ],
        _ => vec![
            Field::text("name", "Name *").max(100),
            Field::text("phone", "Phone").max(20),
            Field::choice(
                "id_type",
                "ID type",
                &["none", "KTP", "SIM", "passport", "other"],
            )
            .hint("The identity document shown at the gate (←/→ to change)."),
            Field::text("id_number", "ID number").max(40),
        ],
    };
    if kind == "visitor" {
        fields.push(
            Field::text("host", "Visiting (host) *")
                .max(100)
                .hint("Who the visitor comes to see, e.g. Estate Manager."),
        );
    } else {
        fields.push(Field::text("host", "Host").max(100));
    }
    fields.extend([
        Field::text("purpose", "Purpose *").max(200),
        Field::text("valid_hours", "Valid hours")
            .max(4)
            .hint("Whole hours the pass is valid, 1 to 72; empty = the site default (12)."),
        Field::text("gate", "Gate").with(gate).max(40),
        Field::text("guard", "Guard")
            .with(guard)
            .max(64)
            .hint("The issuing guard, printed on the slip."),
    ]);
    Form::new(
        FormKind::IssueGatepass(kind),
        format!("Issue a {kind} gatepass (* = required)"),
        fields,
    )
}

pub const ITEMS_HINT: &str = "One item per row: name, quantity, unit (e.g. urea 2 bags). \
Enter starts the next row; Enter on an empty row submits.";

/// Item rows ("cement 10 bag", one per row; `;` or ", " also separate items) →
/// `[{name, qty, unit}]`: each item is its name, then how many, then the unit.
pub fn parse_items(s: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let parts = s
        .split(['\n', ';'])
        .flat_map(|p| p.split(", "))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    for part in parts {
        let words: Vec<&str> = part.split_whitespace().collect();
        let at = words
            .iter()
            .rposition(|w| w.replace(',', ".").parse::<f64>().is_ok())
            .filter(|&i| i > 0 && i + 1 < words.len())
            .filter(|_| !part.ends_with(','))
            .ok_or_else(|| {
                format!(
                    "Items: \"{part}\": write each item on its own row as name, quantity, unit (e.g. urea 2 bags)"
                )
            })?;
        let qty: f64 = words[at].replace(',', ".").parse().unwrap_or(0.0);
        out.push(json!({
            "name": words[..at].join(" "),
            "qty": qty,
            "unit": words[at + 1..].join(" "),
        }));
    }
    if out.is_empty() {
        return Err("Items: list at least one item (e.g. urea 2 bags)".into());
    }
    Ok(out)
}

/// A `yyyy-mm-dd` that is a real day, or why not (the form puts the cursor on `label`).
pub fn check_date(label: &str, v: &str) -> Result<(), String> {
    chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| format!("{label}: \"{v}\" is not a date; write yyyy-mm-dd"))
}

/// Who the pass is for, for the status line.
fn subject_of(form: &Form) -> String {
    ["name", "vehicle", "lcode"]
        .iter()
        .map(|k| form.value(k))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

impl Screen for Gatepass {
    fn title(&self) -> &'static str {
        "Gatepass"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        vec![
            self.list_cmd(),
            Cmd::get(Tag::GatepassSummary, "/admin/gatepasses/summary"),
        ]
    }

    fn on_reply(&mut self, reply: &Reply) {
        match reply.tag {
            Tag::Gatepasses => {
                self.list.take(&reply.fetch, rows_of);
                if matches!(reply.fetch, crate::io::Fetch::Ok(_)) {
                    self.list_at = Some(crate::data::now_unix());
                }
                let n = self.list.ready().map(Vec::len).unwrap_or(0);
                if let Some(want) = self.select_number.clone() {
                    if let Some(i) = self
                        .list
                        .ready()
                        .and_then(|l| l.iter().position(|p| text(p, "number") == want))
                    {
                        self.sel = Sel(i);
                        self.select_number = None;
                    }
                }
                self.sel.clamp(n);
            }
            Tag::GatepassSummary => self.summary.take(&reply.fetch, Value::clone),
            Tag::GatepassDetail => {
                if let Some(d) = self.detail.as_mut() {
                    d.take(&reply.fetch, Value::clone);
                }
            }
            ref t if Some(t) == self.issue_tag.as_ref() => {
                self.issue_tag = None;
                if let crate::io::Fetch::Ok(d) = &reply.fetch {
                    // The new pass is issued, not inside: show today's passes with it selected.
                    if VIEWS[self.view % VIEWS.len()] != "all" {
                        self.view = 1;
                    }
                    self.select_number = Some(text(d, "number"));
                }
            }
            ref t if Some(t) == self.detail_tag.as_ref() => {
                self.detail_tag = None;
                if let (crate::io::Fetch::Ok(d), Some(_)) = (&reply.fetch, &self.detail) {
                    if d.get("status").is_some() {
                        self.detail = Some(Load::Ready(d.clone()));
                    }
                }
            }
            _ => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        // The pass open in full: i/o at once, p prints, c cancels.
        if self.detail.is_some() {
            let Some(number) = self.detail_number() else {
                return Action::None;
            };
            return match key.code {
                KeyCode::Char('i') => self.move_now(&number, "in"),
                KeyCode::Char('o') => self.move_now(&number, "out"),
                KeyCode::Char('p') => self.print(&number),
                KeyCode::Char('r') => {
                    self.detail = Some(Load::Waiting);
                    Action::Send(Cmd::get(
                        Tag::GatepassDetail,
                        format!("/admin/gatepasses/{}", enc(&number)),
                    ))
                }
                _ => Action::None,
            };
        }
        let n = self.list.ready().map(Vec::len).unwrap_or(0);
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Enter => match self.selected() {
                Some(number) => {
                    self.detail = Some(Load::Waiting);
                    Action::Send(Cmd::get(
                        Tag::GatepassDetail,
                        format!("/admin/gatepasses/{}", enc(&number)),
                    ))
                }
                None => Action::Message("no gatepass selected".into()),
            },
            KeyCode::Char('n') => Action::Form(kind_form()),
            KeyCode::Char('p') => match self.selected() {
                Some(number) => self.print(&number),
                None => Action::Message("no gatepass selected".into()),
            },
            KeyCode::Char('i') => self.move_form("in"),
            KeyCode::Char('o') => self.move_form("out"),
            KeyCode::Char('c') => match self.selected() {
                Some(number) => Action::Confirm(
                    format!("Cancel gatepass {number}?"),
                    Cmd::post(
                        Tag::Done(format!("gatepass {number} cancelled")),
                        format!("/admin/gatepasses/{}/cancel", enc(&number)),
                        json!({"gate": self.gate, "guard": self.guard}),
                    ),
                ),
                None => Action::Message("no gatepass selected".into()),
            },
            KeyCode::Char('m') => match self.selected() {
                Some(number) => Action::Form(Form::new(
                    FormKind::MaterialReturn,
                    format!("Material back on {number}"),
                    vec![
                        Field::text("number", "Pass number").with(number),
                        Field::list("items", "Items back *")
                            .max(1000)
                            .hint(ITEMS_HINT),
                        Field::text("gate", "Gate").with(self.gate.clone()).max(40),
                        Field::text("guard", "Guard")
                            .with(self.guard.clone())
                            .max(64),
                    ],
                )),
                None => Action::Message("no gatepass selected".into()),
            },
            KeyCode::Char('v') => {
                self.view = (self.view + 1) % VIEWS.len();
                self.sel = Sel(0);
                self.list = Load::Waiting;
                Action::Refresh
            }
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn submit_action(&mut self, form: &Form) -> Result<Action, String> {
        match &form.kind {
            FormKind::GatepassKind => {
                let chosen = form.value("kind");
                let kind = KINDS
                    .iter()
                    .find(|k| **k == chosen)
                    .copied()
                    .unwrap_or("visitor");
                Ok(Action::Form(issue_form(kind, &self.gate, &self.guard)))
            }
            _ => self.submit(form).map(Action::Send),
        }
    }

    fn submit(&mut self, form: &Form) -> Result<Cmd, String> {
        match &form.kind {
            FormKind::IssueGatepass(kind) => {
                if let Some(missing) = form.missing_required() {
                    return Err(missing);
                }
                let mut body = Map::new();
                body.insert("kind".into(), json!(kind));
                for fl in &form.fields {
                    let v = fl.value.trim();
                    if v.is_empty() || (fl.name == "id_type" && v == "none") {
                        continue;
                    }
                    let value = match fl.name {
                        "returnable" => Value::Bool(v == "yes"),
                        "valid_hours" => match v.parse::<u32>() {
                            Ok(h) => json!(h),
                            Err(_) => {
                                return Err(format!(
                                    "Valid hours: \"{v}\" is not a whole number of hours"
                                ))
                            }
                        },
                        "return_due" => {
                            check_date("Return by", v)?;
                            Value::String(v.to_string())
                        }
                        "items" => Value::Array(parse_items(v)?),
                        _ => Value::String(v.to_string()),
                    };
                    body.insert(fl.name.to_string(), value);
                }
                self.gate = form.value("gate");
                self.guard = form.value("guard");
                let tag = Tag::Done(format!("{kind} gatepass issued to {}", subject_of(form)));
                self.issue_tag = Some(tag.clone());
                Ok(Cmd::post(tag, "/admin/gatepasses", Value::Object(body)))
            }
            FormKind::PrintSlip => {
                let number = form.value("number");
                let save = form.value("to") == "PDF file";
                let tag = Tag::Done(if save {
                    format!("slip of {number} saved")
                } else {
                    format!("slip of {number} printed")
                });
                Ok(Cmd::post(
                    tag,
                    format!("/admin/gatepasses/{}/print", enc(&number)),
                    json!({"save": save}),
                ))
            }
            FormKind::GatepassMove(verb) => {
                let number = form.value("number");
                if number.is_empty() {
                    return Err("the pass number is required".into());
                }
                self.gate = form.value("gate");
                self.guard = form.value("guard");
                Ok(Cmd::post(
                    Tag::Done(format!("gatepass {number} marked {verb}")),
                    format!("/admin/gatepasses/{}/{verb}", enc(&number)),
                    json!({"gate": self.gate, "guard": self.guard}),
                ))
            }
            FormKind::MaterialReturn => {
                if let Some(missing) = form.missing_required() {
                    return Err(missing);
                }
                let number = form.value("number");
                let items = parse_items(&form.value("items"))?;
                self.gate = form.value("gate");
                self.guard = form.value("guard");
                Ok(Cmd::post(
                    Tag::Done(format!("material back on gatepass {number}")),
                    format!("/admin/gatepasses/{}/return", enc(&number)),
                    json!({"items": items, "gate": self.gate, "guard": self.guard}),
                ))
            }
            _ => Err("not a gatepass form".into()),
        }
    }

    fn query(&self) -> Option<&str> {
        Some(&self.query)
    }

    fn search(&mut self, q: &str) -> Vec<Cmd> {
        set_query(&mut self.query, &mut self.sel, q);
        vec![self.list_cmd()]
    }

    fn back(&mut self) -> bool {
        self.detail.take().is_some()
    }

    fn scanned(&mut self, code: &str) -> Vec<Cmd> {
        self.detail = Some(Load::Waiting);
        vec![Cmd::get(
            Tag::GatepassDetail,
            format!("/admin/gatepasses/{}", enc(code.trim())),
        )]
    }

    fn keeps_stale(&self) -> bool {
        self.list.ready().is_some() && self.detail.is_none()
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.list.ready().map(Vec::len).unwrap_or(0);
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let [top, table, detail] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(2),
        ])
        .areas(area);
        let summary = match &self.summary {
            Load::Ready(s) => format!(
                "Inside {} · today {} · overdue {}",
                crate::data::figure(int(s, "inside")),
                crate::data::figure(int(s, "today")),
                crate::data::figure(int(s, "overdue"))
            ),
            _ => "Summary n/a".into(),
        };
        let view = VIEWS[self.view % VIEWS.len()];
        let search = if self.query.is_empty() {
            String::new()
        } else {
            format!(" · search \"{}\"", self.query)
        };
        let stale = match (ctx.offline, self.list_at) {
            (true, Some(t)) => format!(
                " · STALE since {}",
                local_datetime(t, ctx.tz)
                    .chars()
                    .skip(11)
                    .collect::<String>()
            ),
            (true, None) => " · STALE".into(),
            _ => String::new(),
        };
        draw_note(f, top, &format!("View: {view}{search}{stale} · {summary}"));
        if let Some(d) = &self.detail {
            let area = Rect {
                height: table.height + detail.height,
                ..table
            };
            match d {
                Load::Ready(p) => draw_detail(f, area, p, ctx),
                other => draw_note(f, area, &placeholder(other, "Gatepass").unwrap_or_default()),
            }
            return;
        }
        if let Some(note) = placeholder(&self.list, "Gatepasses") {
            draw_note(f, table, &note);
            return;
        }
        let list = self.list.ready().map(Vec::as_slice).unwrap_or(&[]);
        if list.is_empty() {
            let matching = if self.query.is_empty() {
                String::new()
            } else {
                format!(" matching \"{}\"", self.query)
            };
            draw_note(
                f,
                table,
                &format!(
                    "No gatepasses in view \"{view}\"{matching}. n issues one, v changes the view."
                ),
            );
            return;
        }
        let rows = list
            .iter()
            .map(|p| {
                // Only material that has left can be overdue: the word says it all.
                let status = if boolean(p, "overdue") {
                    "OVERDUE".to_string()
                } else {
                    text(p, "status")
                };
                // Material due back on a day; anyone else due out by a time.
                let due = match text(p, "return_due") {
                    d if !d.is_empty() => d,
                    _ => int(p, "valid_until_unix")
                        .map(|t| local_datetime(t, ctx.tz).chars().skip(5).collect())
                        .unwrap_or_default(),
                };
                vec![
                    text(p, "number"),
                    text(p, "kind"),
                    text(p, "name"),
                    text(p, "vehicle"),
                    status,
                    due,
                ]
            })
            .collect();
        draw_table(
            f,
            table,
            vec!["Number", "Kind", "Name", "Vehicle", "Status", "Due"],
            rows,
            &[
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Fill(1),
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(11),
            ],
            Some(self.sel.0),
        );
        if let Some(p) = list.get(self.sel.0) {
            let at = |k: &str| {
                int(p, k)
                    .map(|t| {
                        local_datetime(t, ctx.tz)
                            .chars()
                            .skip(11)
                            .collect::<String>()
                    })
                    .unwrap_or_else(|| "-".into())
            };
            let d = format!(
                "{} · host: {} · purpose: {} · in {} · out {}",
                text(p, "number"),
                text(p, "host"),
                text(p, "purpose"),
                at("in_unix"),
                at("out_unix")
            );
            draw_note(f, detail, &d);
        }
    }
}

/// One pass in full: who, what, where to, and every stamp at the gate.
fn draw_detail(f: &mut Frame, area: Rect, p: &Value, ctx: &Ctx) {
    use ratatui::text::Line;
    let mut lines = vec![Line::raw(format!(
        "{} · {} · {}{}   (i in · o out · p print · Esc list)",
        text(p, "number"),
        text(p, "kind"),
        text(p, "status"),
        if boolean(p, "overdue") {
            " · OVERDUE"
        } else {
            ""
        }
    ))];
    for (label, key) in [
        ("Name", "name"),
        ("Phone", "phone"),
        ("ID", "id_number"),
        ("Vehicle", "vehicle"),
        ("Driver", "driver"),
        ("Load", "load"),
        ("Labour code", "lcode"),
        ("Host", "host"),
        ("Purpose", "purpose"),
        ("Return by", "return_due"),
    ] {
        let v = text(p, key);
        if !v.is_empty() {
            let v = if key == "id_number" {
                format!("{} {v}", text(p, "id_type"))
            } else {
                v
            };
            lines.push(Line::raw(format!("{label:<12} {v}")));
        }
    }
    let items = crate::data::list(p, Some("items"));
    if !items.is_empty() {
        let list: Vec<String> = items
            .iter()
            .map(|i| {
                // 2.0 → "2", 2.5 → "2.5".
                let qty = crate::data::float(i, "qty")
                    .map(|q| format!("{q}"))
                    .unwrap_or_else(|| text(i, "qty"));
                format!("{} {qty} {}", text(i, "name"), text(i, "unit"))
            })
            .collect();
        for (k, item) in list.iter().enumerate() {
            let label = if k == 0 { "Items" } else { "" };
            lines.push(Line::raw(format!("{label:<12} {}. {item}", k + 1)));
        }
    }
    for (label, key) in [
        ("Issued", "issued"),
        ("In", "entered"),
        ("Out", "left"),
        ("Cancelled", "cancelled"),
    ] {
        if let Some(st) = p.get(key).filter(|v| v.is_object()) {
            let at = int(st, "at_unix")
                .map(|t| local_datetime(t, ctx.tz))
                .unwrap_or_default();
            lines.push(Line::raw(format!(
                "{label:<12} {at} at {} by {}",
                text(st, "gate"),
                text(st, "guard")
            )));
        }
    }
    f.render_widget(
        ratatui::widgets::Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        area,
    );
}
