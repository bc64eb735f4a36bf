//! Biometric terminals (ZKTeco ADMS push): serial, model, firmware, address, last contact,
//! backlog stamp, clock drift and queued commands; approve or block; a terminal silent for
//! longer than its poll interval is marked SILENT. `c` shows the selected terminal's commands,
//! `u` the punches whose PIN belongs to nobody. Reached from the Licences screen with `t`.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::{json, Value};

use super::{
    draw_note, draw_table, matching, placeholder, rows_of, set_query, Action, Ctx, Load, Screen,
    Sel,
};
use crate::data::{ago, boolean, int, text};
use crate::io::{enc, Cmd, Reply, Tag};

/// What the lower part shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Panel {
    #[default]
    Details,
    Commands,
    Unknown,
}

#[derive(Debug, Default)]
pub struct Terminals {
    pub list: Load<Vec<Value>>,
    pub sel: Sel,
    pub panel: Panel,
    pub commands: Load<Vec<Value>>,
    pub unknown: Load<Vec<Value>>,
    pub query: String,
}

const KEYS: &[(&str, &str, &str)] = &[
    ("↑/↓", "", "choose a terminal"),
    (
        "a",
        "approve",
        "approve: its punches are accepted, the roll is sent to it",
    ),
    (
        "b",
        "block",
        "block: its data is refused (it keeps it) (asks first)",
    ),
    (
        "c",
        "commands",
        "the selected terminal's commands and their state",
    ),
    (
        "u",
        "unknown PINs",
        "punches whose PIN belongs to no employee",
    ),
    ("t", "handhelds", "back to the handheld licences"),
    ("/", "search", "filter by serial, model or address"),
    ("r", "", "refresh"),
];

impl Terminals {
    pub fn visible(&self) -> Vec<&Value> {
        matching(
            &self.list,
            &self.query,
            &["sn", "model", "ip", "firmware", "state"],
        )
    }

    fn selected(&self) -> Option<String> {
        self.visible()
            .get(self.sel.0)
            .map(|t| text(t, "sn"))
            .filter(|s| !s.is_empty())
    }

    fn panel_cmds(&self) -> Vec<Cmd> {
        match (self.panel, self.selected()) {
            (Panel::Commands, Some(sn)) => vec![Cmd::get(
                Tag::TerminalCommands,
                format!("/admin/terminals/commands?sn={}&limit=50", enc(&sn)),
            )],
            (Panel::Unknown, _) => vec![Cmd::get(
                Tag::TerminalUnknown,
                "/admin/terminals/unknown-punches?limit=100",
            )],
            _ => vec![],
        }
    }

    fn decide(&self, approve: bool) -> Action {
        let Some(sn) = self.selected() else {
            return Action::Message("no terminal selected".into());
        };
        let (verb, path) = if approve {
            ("approved", "/admin/terminals/approve")
        } else {
            ("blocked", "/admin/terminals/block")
        };
        let cmd = Cmd::post(
            Tag::Done(format!("terminal {sn} {verb}")),
            path,
            json!({ "sn": sn }),
        );
        if approve {
            Action::Send(cmd)
        } else {
            Action::Confirm(
                format!("Block terminal {sn}? Its punches will be refused (it keeps them)."),
                cmd,
            )
        }
    }

    fn toggle(&mut self, p: Panel) -> Action {
        self.panel = if self.panel == p { Panel::Details } else { p };
        match self.panel_cmds() {
            cmds if cmds.is_empty() => Action::None,
            mut cmds => Action::Send(cmds.remove(0)),
        }
    }

    fn state_word(t: &Value, now: i64) -> String {
        let _ = now;
        let st = text(t, "state");
        match (st.as_str(), boolean(t, "silent")) {
            ("pending", _) => "PENDING".into(),
            ("blocked", _) => "blocked".into(),
            (_, true) => "SILENT".into(),
            (s, false) => s.into(),
        }
    }

    fn draw_details(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let Some(t) = self.visible().get(self.sel.0).cloned() else {
            return;
        };
        let drift = match int(t, "clock_drift_secs") {
            Some(d) => format!("{d:+} s"),
            None => "unknown".into(),
        };
        let tz = int(t, "timezone_offset_minutes").unwrap_or(0);
        let lines = [
            format!(
                "{} · {} · firmware {} · push {}",
                text(t, "sn"),
                text(t, "model"),
                text(t, "firmware"),
                text(t, "push_version")
            ),
            format!(
                "clock drift {drift} · zone UTC{}{:02}:{:02}{} · polls every {} s",
                if tz < 0 { '-' } else { '+' },
                tz.abs() / 60,
                tz.abs() % 60,
                if boolean(t, "timezone_set_by_staff") { " (set)" } else { "" },
                int(t, "delay_secs").unwrap_or(0)
            ),
            format!(
                "punches {} · re-sent {} · malformed {} · unknown PIN {} · templates {} · photos {}",
                int(t, "punches_stored").unwrap_or(0),
                int(t, "duplicates").unwrap_or(0),
                int(t, "malformed_lines").unwrap_or(0),
                int(t, "unknown_pin_punches").unwrap_or(0),
                int(t, "templates").unwrap_or(0),
                int(t, "photos").unwrap_or(0)
            ),
            format!(
                "last upload {} · ATTLOG stamp {} · users {} · fingerprints {}",
                match int(t, "last_upload_unix") {
                    Some(u) => ago(u, ctx.now),
                    None => text(t, "last_upload"),
                },
                text(&t["stamps"], "ATTLOG"),
                int(t, "users").map(|v| v.to_string()).unwrap_or_else(|| "?".into()),
                int(t, "fingerprints").map(|v| v.to_string()).unwrap_or_else(|| "?".into()),
            ),
        ];
        draw_note(f, area, &lines.join("\n"));
    }
}

impl Screen for Terminals {
    fn title(&self) -> &'static str {
        "Terminals"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        let mut v = vec![Cmd::get(Tag::Terminals, "/admin/terminals")];
        v.extend(self.panel_cmds());
        v
    }

    fn on_reply(&mut self, reply: &Reply) {
        match reply.tag {
            Tag::Terminals => {
                self.list.take(&reply.fetch, rows_of);
                let n = self.visible().len();
                self.sel.clamp(n);
            }
            Tag::TerminalCommands => self.commands.take(&reply.fetch, rows_of),
            Tag::TerminalUnknown => self.unknown.take(&reply.fetch, rows_of),
            _ => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let n = self.visible().len();
        if self.sel.on_key(&key, n) {
            return match self.panel_cmds() {
                mut c if self.panel == Panel::Commands && !c.is_empty() => {
                    Action::Send(c.remove(0))
                }
                _ => Action::None,
            };
        }
        match key.code {
            KeyCode::Char('a') => self.decide(true),
            KeyCode::Char('b') => self.decide(false),
            KeyCode::Char('c') => self.toggle(Panel::Commands),
            KeyCode::Char('u') => self.toggle(Panel::Unknown),
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
        if self.panel != Panel::Details {
            self.panel = Panel::Details;
            return true;
        }
        false
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.visible().len();
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        if let Some(note) = placeholder(&self.list, "Biometric terminals") {
            draw_note(f, area, &note);
            return;
        }
        let all = self.list.ready().map(Vec::len).unwrap_or(0);
        let count = |w: &str| {
            self.list
                .ready()
                .map(|l| {
                    l.iter()
                        .filter(|t| Self::state_word(t, ctx.now) == w)
                        .count()
                })
                .unwrap_or(0)
        };
        let [top, table, lower] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(if self.panel == Panel::Details { 4 } else { 9 }),
        ])
        .areas(area);
        draw_note(
            f,
            top,
            &format!(
                "Terminals: {} pending · {} silent · {all} in all{} · t = handhelds",
                count("PENDING"),
                count("SILENT"),
                if self.query.is_empty() {
                    String::new()
                } else {
                    format!(" · matching \"{}\"", self.query)
                }
            ),
        );
        let rows: Vec<Vec<String>> = self
            .visible()
            .iter()
            .map(|t| {
                let seen = match int(t, "last_seen_unix") {
                    Some(s) if s > 0 => ago(s, ctx.now),
                    _ => "never".into(),
                };
                let model = text(t, "model");
                vec![
                    text(t, "sn"),
                    if model.is_empty() { "?".into() } else { model },
                    Self::state_word(t, ctx.now),
                    text(t, "ip"),
                    seen,
                    match int(t, "clock_drift_secs") {
                        Some(d) => format!("{d:+}s"),
                        None => "-".into(),
                    },
                    int(t, "queued_commands").unwrap_or(0).to_string(),
                    text(&t["stamps"], "ATTLOG"),
                ]
            })
            .collect();
        if rows.is_empty() {
            draw_note(
                f,
                table,
                "No terminal has contacted the box yet. Point a terminal's Cloud Server Setting at this box's address and port.",
            );
            return;
        }
        draw_table(
            f,
            table,
            vec![
                "Serial", "Model", "State", "Address", "Contact", "Drift", "Queue", "Stamp",
            ],
            rows,
            &[
                Constraint::Length(15),
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Length(15),
                Constraint::Length(9),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(8),
            ],
            Some(self.sel.0),
        );
        match self.panel {
            Panel::Details => self.draw_details(f, lower, ctx),
            Panel::Commands => {
                if let Some(note) = placeholder(&self.commands, "Commands") {
                    return draw_note(f, lower, &note);
                }
                let rows: Vec<Vec<String>> = self
                    .commands
                    .ready()
                    .map(|l| {
                        l.iter()
                            .map(|c| {
                                vec![
                                    int(c, "id").unwrap_or(0).to_string(),
                                    text(c, "state").to_uppercase(),
                                    int(c, "tries").unwrap_or(0).to_string(),
                                    int(c, "last_return")
                                        .map(|r| r.to_string())
                                        .unwrap_or_default(),
                                    text(c, "command"),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if rows.is_empty() {
                    return draw_note(f, lower, "No commands for this terminal.");
                }
                draw_table(
                    f,
                    lower,
                    vec!["Id", "State", "Tries", "Return", "Command"],
                    rows,
                    &[
                        Constraint::Length(6),
                        Constraint::Length(7),
                        Constraint::Length(5),
                        Constraint::Length(6),
                        Constraint::Fill(1),
                    ],
                    None,
                );
            }
            Panel::Unknown => {
                if let Some(note) = placeholder(&self.unknown, "Unknown PINs") {
                    return draw_note(f, lower, &note);
                }
                let rows: Vec<Vec<String>> = self
                    .unknown
                    .ready()
                    .map(|l| {
                        l.iter()
                            .map(|u| {
                                vec![
                                    text(u, "sn"),
                                    text(u, "pin"),
                                    text(u, "local_time"),
                                    int(u, "status").unwrap_or(0).to_string(),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if rows.is_empty() {
                    return draw_note(f, lower, "No punches with an unknown PIN.");
                }
                draw_table(
                    f,
                    lower,
                    vec!["Terminal", "PIN", "Terminal time", "Status"],
                    rows,
                    &[
                        Constraint::Length(15),
                        Constraint::Length(10),
                        Constraint::Length(20),
                        Constraint::Fill(1),
                    ],
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Fetch;

    fn loaded() -> Terminals {
        let mut t = Terminals::default();
        t.on_reply(&Reply {
            tag: Tag::Terminals,
            fetch: Fetch::Ok(json!([
                {"sn": "CQZ7224460271", "state": "approved", "silent": true, "ip": "10.0.0.9"},
                {"sn": "NEWGATE01", "state": "pending", "silent": false},
            ])),
        });
        t
    }

    #[test]
    fn approve_sends_block_asks_and_c_loads_the_commands() {
        let mut t = loaded();
        assert_eq!(Terminals::state_word(t.visible()[0], 0), "SILENT");
        assert_eq!(Terminals::state_word(t.visible()[1], 0), "PENDING");
        t.on_key(KeyEvent::from(KeyCode::Down));
        match t.on_key(KeyEvent::from(KeyCode::Char('a'))) {
            Action::Send(c) => {
                assert_eq!(c.path, "/admin/terminals/approve");
                assert_eq!(c.body, Some(json!({"sn": "NEWGATE01"})));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.on_key(KeyEvent::from(KeyCode::Char('b'))),
            Action::Confirm(..)
        ));
        match t.on_key(KeyEvent::from(KeyCode::Char('c'))) {
            Action::Send(c) => {
                assert_eq!(c.path, "/admin/terminals/commands?sn=NEWGATE01&limit=50")
            }
            other => panic!("{other:?}"),
        }
        assert!(t.back(), "Esc closes the commands panel");
        assert!(!t.back());
        t.search("cqz");
        assert_eq!(t.visible().len(), 1);
    }
}
