//! The notification outbox: messages the server wants delivered to people (password reset
//! codes, mostly). At a site without SMS the gatehouse staff read them out or pass them on.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::Value;

use super::{draw_note, draw_table, placeholder, rows_of, Action, Ctx, Load, Screen, Sel};
use crate::data::{boolean, int, local_datetime, text};
use crate::io::{Cmd, Reply, Tag};

#[derive(Debug, Default)]
pub struct Outbox {
    pub list: Load<Vec<Value>>,
    pub sel: Sel,
}

const KEYS: &[(&str, &str, &str)] = &[
    ("↑/↓", "", "choose a message; its full text shows below"),
    ("r", "refresh", "refresh"),
];

/// "pending" is what staff act on: upper case so it stands out without colour.
fn state(m: &Value) -> String {
    let st = match text(m, "status") {
        s if s.is_empty() => if boolean(m, "sent") {
            "sent"
        } else {
            "pending"
        }
        .to_string(),
        s => s,
    };
    if boolean(m, "expired") {
        "expired".into()
    } else if st == "pending" {
        "PENDING".into()
    } else {
        st
    }
}

/// The phone it goes to, or — for messages the desk passes on by hand — whose it is.
fn recipient(m: &Value) -> String {
    match text(m, "to") {
        to if !to.is_empty() => to,
        _ => match int(m, "user_id") {
            Some(id) => format!("user #{id}"),
            None => "(desk)".into(),
        },
    }
}

fn purpose(m: &Value) -> String {
    match text(m, "purpose") {
        p if p.is_empty() => String::new(),
        p => format!(" ({p})"),
    }
}

impl Screen for Outbox {
    fn title(&self) -> &'static str {
        "Outbox"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        vec![Cmd::get(Tag::Outbox, "/admin/outbox")]
    }

    fn on_reply(&mut self, reply: &Reply) {
        if reply.tag == Tag::Outbox {
            self.list.take(&reply.fetch, |v| {
                // Newest first: the code someone is waiting for is the last one made.
                let mut rows = rows_of(v);
                rows.sort_by_key(|r| std::cmp::Reverse(int(r, "created_unix").unwrap_or(0)));
                rows
            });
            let n = self.list.ready().map(Vec::len).unwrap_or(0);
            self.sel.clamp(n);
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let n = self.list.ready().map(Vec::len).unwrap_or(0);
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.list.ready().map(Vec::len).unwrap_or(0);
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        if let Some(note) = placeholder(&self.list, "Notification outbox") {
            draw_note(f, area, &note);
            return;
        }
        let list = self.list.ready().map(Vec::as_slice).unwrap_or(&[]);
        if list.is_empty() {
            draw_note(
                f,
                area,
                "The outbox is empty: no reset codes or notices waiting.",
            );
            return;
        }
        let [table, detail] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(3)]).areas(area);
        let rows = list
            .iter()
            .map(|m| {
                vec![
                    int(m, "created_unix")
                        .map(|t| local_datetime(t, ctx.tz))
                        .unwrap_or_default(),
                    recipient(m),
                    text(m, "channel"),
                    state(m),
                    text(m, "text"),
                ]
            })
            .collect();
        draw_table(
            f,
            table,
            vec!["Created", "To", "Via", "State", "Text"],
            rows,
            &[
                Constraint::Length(16),
                Constraint::Length(14),
                Constraint::Length(7),
                Constraint::Length(9),
                Constraint::Fill(1),
            ],
            Some(self.sel.0),
        );
        if let Some(m) = list.get(self.sel.0) {
            draw_note(
                f,
                detail,
                &format!("For {}{}: {}", recipient(m), purpose(m), text(m, "text")),
            );
        }
    }
}
