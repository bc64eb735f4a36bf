//! Recent log events from the server's in-memory ring (`GET /admin/logs`), newest first,
//! filtered by level on the server and by text here.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::Value;

use super::{
    draw_note, draw_table, placeholder, rows_of, set_query, Action, Ctx, Load, Screen, Sel,
};
use crate::data::{int, list, text};
use crate::io::{Cmd, Reply, Tag};

/// "" = every level the server keeps.
pub const LEVELS: [&str; 5] = ["", "error", "warn", "info", "debug"];

#[derive(Debug, Default)]
pub struct Logs {
    pub list: Load<Vec<Value>>,
    pub sel: Sel,
    pub level: usize,
    pub query: String,
    /// The selected event in full (Enter), until Esc: a long line is never only cut.
    pub detail: bool,
}

const KEYS: &[(&str, &str, &str)] = &[
    ("↑/↓", "", "move through the events"),
    (
        "Enter",
        "full",
        "the event in full (long lines wrapped); Esc back",
    ),
    ("l", "level", "level: all / error / warn / info / debug"),
    ("/", "search", "filter by text"),
    ("r", "", "refresh"),
];

/// One event as a line of text: message then key=value fields.
pub fn event_text(e: &Value) -> String {
    let mut s = text(e, "message");
    for f in list(e, Some("fields")) {
        // Fields come as [key, value] pairs.
        if let Some([k, v]) = f.as_array().map(Vec::as_slice) {
            let k = k.as_str().unwrap_or("");
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            s.push_str(&format!(" {k}={}", crate::data::clean(&v)));
        }
    }
    s
}

impl Logs {
    pub fn visible(&self) -> Vec<&Value> {
        let q = self.query.to_lowercase();
        self.list
            .ready()
            .map(|l| {
                l.iter()
                    .rev()
                    .filter(|e| q.is_empty() || event_text(e).to_lowercase().contains(&q))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Screen for Logs {
    fn title(&self) -> &'static str {
        "Logs"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        let level = LEVELS[self.level % LEVELS.len()];
        let path = if level.is_empty() {
            "/admin/logs?limit=500".to_string()
        } else {
            format!("/admin/logs?level={level}&limit=500")
        };
        vec![Cmd::get(Tag::Logs, path)]
    }

    fn on_reply(&mut self, reply: &Reply) {
        if reply.tag == Tag::Logs {
            self.list.take(&reply.fetch, rows_of);
            let n = self.visible().len();
            self.sel.clamp(n);
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let n = self.visible().len();
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Enter if n > 0 => {
                self.detail = true;
                Action::None
            }
            KeyCode::Char('l') => {
                self.level = (self.level + 1) % LEVELS.len();
                self.sel = Sel(0);
                Action::Refresh
            }
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn query(&self) -> Option<&str> {
        Some(&self.query)
    }

    fn search(&mut self, q: &str) -> Vec<Cmd> {
        set_query(&mut self.query, &mut self.sel, q);
        vec![]
    }

    fn back(&mut self) -> bool {
        std::mem::take(&mut self.detail)
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.visible().len();
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let [top, table] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        let level = match LEVELS[self.level % LEVELS.len()] {
            "" => "all",
            l => l,
        };
        let search = if self.query.is_empty() {
            String::new()
        } else {
            format!(" · text \"{}\"", self.query)
        };
        draw_note(f, top, &format!("Level: {level}{search} · newest first"));
        if let Some(note) = placeholder(&self.list, "Logs") {
            draw_note(f, table, &note);
            return;
        }
        if self.detail {
            if let Some(e) = self.visible().get(self.sel.0) {
                draw_event(f, table, e, ctx);
                return;
            }
        }
        let rows = self
            .visible()
            .iter()
            .map(|e| {
                let time = int(e, "unix_ms")
                    .map(|ms| crate::data::local_datetime(ms / 1000, ctx.tz))
                    .map(|t| t.chars().skip(11).collect::<String>())
                    .unwrap_or_default();
                vec![time, text(e, "level"), event_text(e)]
            })
            .collect::<Vec<_>>();
        if rows.is_empty() {
            draw_note(f, table, "No events.");
            return;
        }
        draw_table(
            f,
            table,
            vec!["Time", "Level", "Event"],
            rows,
            &[
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Fill(1),
            ],
            Some(self.sel.0),
        );
    }
}

/// One event in full: time, level, target, the message wrapped, each field on its own line.
fn draw_event(f: &mut Frame, area: Rect, e: &Value, ctx: &Ctx) {
    use ratatui::text::Line;
    use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
    let time = int(e, "unix_ms")
        .map(|ms| crate::data::local_datetime(ms / 1000, ctx.tz))
        .unwrap_or_default();
    let mut lines = vec![
        Line::raw(format!(
            "{time}  {}  {}",
            text(e, "level"),
            text(e, "target")
        )),
        Line::raw(""),
        Line::raw(text(e, "message")),
    ];
    for fl in list(e, Some("fields")) {
        if let Some([k, v]) = fl.as_array().map(Vec::as_slice) {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            lines.push(Line::raw(format!(
                "{} = {}",
                k.as_str().unwrap_or(""),
                crate::data::clean(&v)
            )));
        }
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Event (Esc: back) "),
        ),
        area,
    );
}
