//! The gatepass desk: who and what is inside, issue a pass, mark in/out, search by person or
//! vehicle, and the returnables that are overdue.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::{json, Map, Value};

use super::{draw_note, draw_table, placeholder, rows_of, Action, Ctx, Load, Screen, Sel};
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
        "m",
        "returned",
        "material came back (all or part of what left)",
    ),
    ("v", "view", "view: inside / today / overdue / all"),
    ("/", "search", "search by person, vehicle or number"),
    ("r", "", "refresh"),
];

impl Gatepass {
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

/// Step two: the fields of that kind (the server checks them again).
pub fn issue_form(kind: &'static str, gate: &str, guard: &str) -> Form {
    let mut fields = match kind {
        "vehicle" => vec![
            Field::text("vehicle", "Vehicle no. *").max(20),
            Field::text("driver", "Driver *").max(100),
            Field::text("load", "Load").max(200),
        ],
        "material" => vec![
            Field::text("name", "Carried by *").max(100),
            Field::text("vehicle", "Vehicle no.").max(20),
            Field::text("items", "Items * (a 2 bag;b 1 pc)").max(1000),
            Field::choice("returnable", "Returnable", &["no", "yes"]),
            Field::text("return_due", "Return by (yyyy-mm-dd)").max(10),
        ],
        "labour" => vec![
            Field::text("lcode", "Labour code *").max(20),
            Field::text("name", "Name").max(100),
        ],
        _ => vec![
            Field::text("name", "Name *").max(100),
            Field::text("phone", "Phone").max(20),
            Field::choice(
                "id_type",
                "ID type",
                &["none", "KTP", "SIM", "passport", "other"],
            ),
            Field::text("id_number", "ID number").max(40),
        ],
    };
    if kind == "visitor" {
        fields.push(Field::text("host", "Visiting (host) *").max(100));
    } else {
        fields.push(Field::text("host", "Host").max(100));
    }
    fields.extend([
        Field::text("purpose", "Purpose *").max(200),
        Field::text("valid_hours", "Valid hours").max(4),
        Field::text("gate", "Gate").with(gate).max(40),
        Field::text("guard", "Guard").with(guard).max(64),
    ]);
    Form::new(
        FormKind::IssueGatepass(kind),
        format!("Issue a {kind} gatepass (* = required)"),
        fields,
    )
}

/// "cement 10 bag; pipe 3 pcs" → `[{name, qty, unit}]`: each item is its name, then how many,
/// then the unit.
pub fn parse_items(s: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let at = words
            .iter()
            .rposition(|w| w.replace(',', ".").parse::<f64>().is_ok())
            .filter(|&i| i > 0 && i + 1 < words.len())
            .ok_or_else(|| {
                format!("\"{part}\": write each item as name, quantity, unit (e.g. cement 10 bag)")
            })?;
        let qty: f64 = words[at].replace(',', ".").parse().unwrap_or(0.0);
        out.push(json!({
            "name": words[..at].join(" "),
            "qty": qty,
            "unit": words[at + 1..].join(" "),
        }));
    }
    if out.is_empty() {
        return Err("list at least one item (e.g. cement 10 bag; pipe 3 pcs)".into());
    }
    Ok(out)
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
                let n = self.list.ready().map(Vec::len).unwrap_or(0);
                self.sel.clamp(n);
            }
            Tag::GatepassSummary => self.summary.take(&reply.fetch, Value::clone),
            Tag::GatepassDetail => {
                if let Some(d) = self.detail.as_mut() {
                    d.take(&reply.fetch, Value::clone);
                }
            }
            _ => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
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
                        Field::text("items", "Items back *").max(1000),
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
                            Err(_) => return Err("valid hours must be a whole number".into()),
                        },
                        "items" => Value::Array(parse_items(v)?),
                        _ => Value::String(v.to_string()),
                    };
                    body.insert(fl.name.to_string(), value);
                }
                self.gate = form.value("gate");
                self.guard = form.value("guard");
                Ok(Cmd::post(
                    Tag::Done(format!("{kind} gatepass issued to {}", subject_of(form))),
                    "/admin/gatepasses",
                    Value::Object(body),
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

    fn searchable(&self) -> bool {
        true
    }

    fn query(&self) -> &str {
        &self.query
    }

    fn search(&mut self, q: &str) -> Vec<Cmd> {
        self.query = q.to_string();
        self.sel = Sel(0);
        vec![self.list_cmd()]
    }

    fn back(&mut self) -> bool {
        self.detail.take().is_some()
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
        draw_note(f, top, &format!("View: {view}{search} · {summary}"));
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
        "{} · {} · {}{}   (Esc: back to the list)",
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
            .map(|i| format!("{} {} {}", text(i, "name"), text(i, "qty"), text(i, "unit")))
            .collect();
        lines.push(Line::raw(format!("{:<12} {}", "Items", list.join("; "))));
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
