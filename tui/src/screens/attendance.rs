//! Attendance and muster of a day (←/→ a day back or on): per gang or department who is
//! present, late and absent; the day's muster kg by gang and by task; flagged punches with
//! their reasons.

use chrono::{Duration, NaiveDate};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;

use super::{draw_note, draw_table, placeholder, Action, Ctx, Load, Screen, Sel};
use crate::data::{clean, figure, float, int, list, text};
use crate::io::{Cmd, Reply, Tag};

/// What the screen shows of the day.
pub const VIEWS: [&str; 3] = ["attendance", "muster", "flagged"];

#[derive(Debug, Default)]
pub struct Attendance {
    pub data: Load<Value>,
    pub muster: Load<Value>,
    /// The day in view; `None` = the site's today (the server says which day that is).
    pub date: Option<NaiveDate>,
    pub view: usize,
    pub sel: Sel,
}

const KEYS: &[(&str, &str, &str)] = &[
    ("←/→", "day", "the day before / after (t = today)"),
    ("t", "", "back to today"),
    (
        "v",
        "view",
        "view: attendance by gang / muster kg / flagged punches",
    ),
    (
        "↑/↓",
        "",
        "choose a gang: its late, absent and present people",
    ),
    ("r", "", "refresh"),
];

fn groups(d: &Value) -> &[Value] {
    list(d, Some("groups"))
}

/// A person as "Name (code)", or whatever the server sent.
fn person(v: &Value) -> String {
    match v {
        Value::String(s) => clean(s),
        Value::Object(_) => {
            let name = text(v, "name");
            let id = text(v, "code");
            match (name.is_empty(), id.is_empty()) {
                (false, false) => format!("{name} ({id})"),
                (false, true) => name,
                _ => id,
            }
        }
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl Attendance {
    /// The day in view: the chosen one, else the day the server answered for.
    fn day(&self) -> Option<NaiveDate> {
        self.date.or_else(|| {
            self.data
                .ready()
                .and_then(|d| NaiveDate::parse_from_str(&text(d, "date"), "%Y-%m-%d").ok())
        })
    }

    fn rows(&self) -> usize {
        match VIEWS[self.view % VIEWS.len()] {
            "flagged" => self
                .data
                .ready()
                .map(|d| list(d, Some("flagged")).len())
                .unwrap_or(0),
            "muster" => self
                .muster
                .ready()
                .map(|d| list(d, Some("by_gang")).len())
                .unwrap_or(0),
            _ => self.data.ready().map(|d| groups(d).len()).unwrap_or(0),
        }
    }

    fn go(&mut self, days: i64) -> Action {
        let Some(d) = self.day() else {
            return Action::None;
        };
        self.date = Some(d + Duration::days(days));
        self.data = Load::Waiting;
        self.muster = Load::Waiting;
        self.sel = Sel(0);
        Action::Refresh
    }
}

impl Screen for Attendance {
    fn title(&self) -> &'static str {
        "Attendance"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        let q = self
            .date
            .map(|d| format!("?date={}", d.format("%Y-%m-%d")))
            .unwrap_or_default();
        vec![
            Cmd::get(Tag::Attendance, format!("/admin/attendance/day{q}")),
            Cmd::get(Tag::MusterDay, format!("/admin/muster/day{q}")),
        ]
    }

    fn on_reply(&mut self, reply: &Reply) {
        match reply.tag {
            Tag::Attendance => self.data.take(&reply.fetch, Value::clone),
            Tag::MusterDay => self.muster.take(&reply.fetch, Value::clone),
            _ => return,
        }
        let n = self.rows();
        self.sel.clamp(n);
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let n = self.rows();
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Left => self.go(-1),
            KeyCode::Right => self.go(1),
            KeyCode::Char('t') => {
                self.date = None;
                self.sel = Sel(0);
                Action::Refresh
            }
            KeyCode::Char('v') => {
                self.view = (self.view + 1) % VIEWS.len();
                self.sel = Sel(0);
                Action::None
            }
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.rows();
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, _ctx: &Ctx) {
        let [top, body] =
            Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(area);
        let view = VIEWS[self.view % VIEWS.len()];
        let day = match (self.day(), self.date) {
            (Some(d), None) => format!("{} (today)", d.format("%Y-%m-%d")),
            (Some(d), Some(_)) => d.format("%Y-%m-%d").to_string(),
            (None, _) => "today".into(),
        };
        let figures = match self.data.ready() {
            Some(d) => format!(
                "present {} · late {} · absent {} · punches in {} / out {} · {} flagged",
                figure(int(d, "present")),
                figure(int(d, "late")),
                figure(int(d, "absent")),
                figure(int(d, "punches_in")),
                figure(int(d, "punches_out")),
                list(d, Some("flagged")).len(),
            ),
            None => String::new(),
        };
        draw_note(f, top, &format!("◀ {day} ▶ · view: {view} (v) · {figures}"));
        match view {
            "muster" => self.draw_muster(f, body),
            "flagged" => self.draw_flagged(f, body),
            _ => self.draw_groups(f, body),
        }
    }
}

impl Attendance {
    fn draw_groups(&self, f: &mut Frame, area: Rect) {
        let Some(d) = self.data.ready() else {
            draw_note(
                f,
                area,
                &placeholder(&self.data, "Attendance").unwrap_or_default(),
            );
            return;
        };
        let gs = groups(d);
        if gs.is_empty() {
            draw_note(
                f,
                area,
                "No gangs or departments with people on the roll this day.",
            );
            return;
        }
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(area);
        let rows = gs
            .iter()
            .map(|g| {
                vec![
                    text(g, "name"),
                    figure(int(g, "expected")),
                    list(g, Some("present")).len().to_string(),
                    list(g, Some("late")).len().to_string(),
                    list(g, Some("absent")).len().to_string(),
                ]
            })
            .collect();
        draw_table(
            f,
            left,
            vec!["Gang / department", "Exp", "Pres", "Late", "Abs"],
            rows,
            &[
                Constraint::Fill(1),
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Length(4),
            ],
            Some(self.sel.0),
        );
        let (title, lines) = match gs.get(self.sel.0) {
            Some(g) => {
                let mut lines = Vec::new();
                let late = list(g, Some("late"));
                if !late.is_empty() {
                    lines.push(Line::raw(format!("LATE ({})", late.len())));
                    for p in late {
                        lines.push(Line::raw(format!(
                            "- {} in {} (+{} min)",
                            person(p),
                            text(p, "in"),
                            figure(int(p, "late_min"))
                        )));
                    }
                }
                let absent = list(g, Some("absent"));
                lines.push(Line::raw(format!("ABSENT ({})", absent.len())));
                for p in absent {
                    lines.push(Line::raw(format!("- {}", person(p))));
                }
                let present = list(g, Some("present"));
                lines.push(Line::raw(format!("PRESENT ({})", present.len())));
                for p in present {
                    lines.push(Line::raw(format!("- {} in {}", person(p), text(p, "in"))));
                }
                (format!(" {} ", text(g, "name")), lines)
            }
            None => (" People ".into(), vec![]),
        };
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::ALL).title(title)),
            right,
        );
    }

    fn draw_muster(&self, f: &mut Frame, area: Rect) {
        let Some(m) = self.muster.ready() else {
            draw_note(
                f,
                area,
                &placeholder(&self.muster, "Muster").unwrap_or_default(),
            );
            return;
        };
        let [head, tables] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        draw_note(
            f,
            head,
            &format!(
                "Muster: {} lines · {:.2} kg net",
                figure(int(m, "lines")),
                float(m, "kg").unwrap_or(0.0)
            ),
        );
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .spacing(2)
                .areas(tables);
        let rows_of = |key: &str| -> Vec<Vec<String>> {
            list(m, Some(key))
                .iter()
                .map(|r| {
                    vec![
                        text(r, "name"),
                        format!("{:.1}", float(r, "kg").unwrap_or(0.0)),
                        figure(int(r, "lines")),
                    ]
                })
                .collect()
        };
        let widths = [
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(5),
        ];
        draw_table(
            f,
            left,
            vec!["Gang", "kg", "Lines"],
            rows_of("by_gang"),
            &widths,
            Some(self.sel.0),
        );
        draw_table(
            f,
            right,
            vec!["Task", "kg", "Lines"],
            rows_of("by_task"),
            &widths,
            None,
        );
    }

    fn draw_flagged(&self, f: &mut Frame, area: Rect) {
        let Some(d) = self.data.ready() else {
            draw_note(
                f,
                area,
                &placeholder(&self.data, "Flagged punches").unwrap_or_default(),
            );
            return;
        };
        let flagged = list(d, Some("flagged"));
        if flagged.is_empty() {
            draw_note(f, area, "No flagged punches this day.");
            return;
        }
        let [table, why] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(4)]).areas(area);
        let rows = flagged
            .iter()
            .map(|p| {
                let who = match text(p, "name") {
                    n if n.is_empty() => text(p, "employee_code"),
                    n => format!("{n} ({})", text(p, "employee_code")),
                };
                let reasons: Vec<String> = list(p, Some("reasons"))
                    .iter()
                    .map(|r| r.as_str().map(clean).unwrap_or_default())
                    .collect();
                vec![
                    text(p, "time"),
                    text(p, "direction"),
                    who,
                    reasons.join("; "),
                ]
            })
            .collect();
        draw_table(
            f,
            table,
            vec!["Time", "Dir", "Employee", "Reasons"],
            rows,
            &[
                Constraint::Length(5),
                Constraint::Length(3),
                Constraint::Length(22),
                Constraint::Fill(1),
            ],
            Some(self.sel.0),
        );
        if let Some(p) = flagged.get(self.sel.0) {
            let reasons: Vec<String> = list(p, Some("reasons"))
                .iter()
                .map(|r| r.as_str().map(clean).unwrap_or_default())
                .collect();
            draw_note(f, why, &format!("Why: {}", reasons.join("; ")));
        }
    }
}
