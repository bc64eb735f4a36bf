//! Attendance today: punches, who is present, and per gang or department who is missing.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;

use super::{draw_note, draw_table, placeholder, Action, Ctx, Load, Screen, Sel};
use crate::data::{clean, figure, int, list, text};
use crate::io::{Cmd, Reply, Tag};

#[derive(Debug, Default)]
pub struct Attendance {
    pub data: Load<Value>,
    pub sel: Sel,
}

const KEYS: &[(&str, &str, &str)] = &[
    (
        "↑/↓",
        "",
        "choose a gang or department; its missing people show on the right",
    ),
    ("r", "refresh", "refresh"),
];

fn groups(d: &Value) -> &[Value] {
    list(d, Some("by_gang_or_department"))
}

/// A missing person may come as a name or as an object with a name.
fn person(v: &Value) -> String {
    match v {
        Value::String(s) => clean(s),
        Value::Object(_) => {
            let name = text(v, "name");
            let id = ["code", "employee_code", "id"]
                .iter()
                .map(|k| text(v, k))
                .find(|s| !s.is_empty())
                .unwrap_or_default();
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

impl Screen for Attendance {
    fn title(&self) -> &'static str {
        "Attendance"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        vec![Cmd::get(Tag::Attendance, "/admin/attendance/today")]
    }

    fn on_reply(&mut self, reply: &Reply) {
        if reply.tag == Tag::Attendance {
            self.data.take(&reply.fetch, Value::clone);
            let n = self.data.ready().map(|d| groups(d).len()).unwrap_or(0);
            self.sel.clamp(n);
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let n = self.data.ready().map(|d| groups(d).len()).unwrap_or(0);
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.data.ready().map(|d| groups(d).len()).unwrap_or(0);
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, _ctx: &Ctx) {
        let Some(d) = self.data.ready() else {
            draw_note(
                f,
                area,
                &placeholder(&self.data, "Attendance today").unwrap_or_default(),
            );
            return;
        };
        let [top, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        draw_note(
            f,
            top,
            &format!(
                "{} · punches in {} / out {} · present {}{}",
                text(d, "date"),
                figure(int(d, "punches_in")),
                figure(int(d, "punches_out")),
                figure(int(d, "present")),
                match int(d, "flagged") {
                    Some(n) if n > 0 => format!(" · {n} FLAGGED (spoofing?)"),
                    _ => String::new(),
                }
            ),
        );
        let gs = groups(d);
        if gs.is_empty() {
            draw_note(
                f,
                body,
                "No gangs or departments with expected people today.",
            );
            return;
        }
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        let rows = gs
            .iter()
            .map(|g| {
                let missing = list(g, Some("missing")).len();
                vec![
                    text(g, "name"),
                    figure(int(g, "expected")),
                    figure(int(g, "present")),
                    missing.to_string(),
                ]
            })
            .collect();
        draw_table(
            f,
            left,
            vec!["Gang / department", "Exp", "Pres", "Miss"],
            rows,
            &[
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(5),
            ],
            Some(self.sel.0),
        );
        let (title, lines) = match gs.get(self.sel.0) {
            Some(g) => {
                let missing: Vec<Line> = list(g, Some("missing"))
                    .iter()
                    .map(|p| Line::raw(format!("- {}", person(p))))
                    .collect();
                let lines = if missing.is_empty() {
                    vec![Line::raw("Nobody missing.")]
                } else {
                    missing
                };
                (format!(" Missing: {} ", text(g, "name")), lines)
            }
            None => (" Missing ".into(), vec![]),
        };
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::ALL).title(title)),
            right,
        );
    }
}
