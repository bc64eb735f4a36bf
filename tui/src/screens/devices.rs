//! Device licences: handhelds asking to be licensed (Codelayer `system/license`), to approve,
//! reject or block; with when each was last seen and its app version.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::{json, Value};

use super::{
    draw_note, draw_table, matching, placeholder, rows_of, set_query, Action, Ctx, Load, Screen,
    Sel,
};
use crate::data::{ago, int, text};
use crate::io::{Cmd, Reply, Tag};

#[derive(Debug, Default)]
pub struct Devices {
    pub list: Load<Vec<Value>>,
    pub sel: Sel,
    /// Show only the ones waiting for a decision.
    pub pending_only: bool,
    pub query: String,
    /// `t`: the biometric terminals instead of the handhelds (they are approved here too).
    pub show_terminals: bool,
    pub terminals: super::terminals::Terminals,
}

const KEYS: &[(&str, &str, &str)] = &[
    ("↑/↓", "", "choose a device"),
    ("a", "approve", "approve the licence"),
    ("x", "reject", "reject it (asks first)"),
    ("b", "block", "block the device (asks first)"),
    ("k", "new key", "re-issue the licence key (asks first)"),
    ("f", "pending/all", "pending only / all devices"),
    ("/", "search", "filter by IMEI, name or mobile"),
    ("r", "", "refresh"),
    ("t", "terminals", "biometric terminals (ZKTeco) and back"),
];

impl Devices {
    /// The rows shown, after the pending filter and the search.
    pub fn visible(&self) -> Vec<&Value> {
        let fields = ["imei", "device_name", "mobile", "app_id", "client_id"];
        matching(&self.list, &self.query, &fields)
            .into_iter()
            .filter(|d| !self.pending_only || text(d, "status") == "pending")
            .collect()
    }

    fn selected(&self) -> Option<String> {
        self.visible()
            .get(self.sel.0)
            .map(|d| text(d, "imei"))
            .filter(|s| !s.is_empty())
    }

    fn decide(&self, verb: &'static str) -> Action {
        let Some(imei) = self.selected() else {
            return Action::Message("no device selected".into());
        };
        let cmd = Cmd::post(
            Tag::Done(format!("device {imei} {verb}")),
            format!(
                "/admin/devices/{}",
                match verb {
                    "approved" => "approve",
                    "rejected" => "reject",
                    "given a new licence key" => "reissue",
                    _ => "block",
                }
            ),
            json!({"imei": imei}),
        );
        if verb == "approved" {
            Action::Send(cmd)
        } else {
            Action::Confirm(
                match verb {
                    "rejected" => format!("Reject device {imei}? It will not be able to sign in."),
                    "blocked" => format!("Block device {imei}? It will not be able to sign in."),
                    _ => format!(
                        "New licence key for {imei}? The next licence request gets it; the old \
                         key and its sessions stop working."
                    ),
                },
                cmd,
            )
        }
    }
}

impl Screen for Devices {
    fn title(&self) -> &'static str {
        "Licences"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        if self.show_terminals {
            return self.terminals.keys();
        }
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        if self.show_terminals {
            return self.terminals.refresh();
        }
        vec![Cmd::get(Tag::Devices, "/admin/devices")]
    }

    fn on_reply(&mut self, reply: &Reply) {
        self.terminals.on_reply(reply);
        if reply.tag == Tag::Devices {
            self.list.take(&reply.fetch, rows_of);
            let n = self.visible().len();
            self.sel.clamp(n);
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.code == KeyCode::Char('t') {
            self.show_terminals = !self.show_terminals;
            return Action::Refresh;
        }
        if self.show_terminals {
            return self.terminals.on_key(key);
        }
        let n = self.visible().len();
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Char('a') => self.decide("approved"),
            KeyCode::Char('x') => self.decide("rejected"),
            KeyCode::Char('b') => self.decide("blocked"),
            KeyCode::Char('k') => self.decide("given a new licence key"),
            KeyCode::Char('f') => {
                self.pending_only = !self.pending_only;
                self.sel = Sel(0);
                Action::Message(if self.pending_only {
                    "showing pending licences only".into()
                } else {
                    "showing all devices".into()
                })
            }
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn query(&self) -> Option<&str> {
        if self.show_terminals {
            return self.terminals.query();
        }
        Some(&self.query)
    }

    fn search(&mut self, q: &str) -> Vec<Cmd> {
        if self.show_terminals {
            return self.terminals.search(q);
        }
        set_query(&mut self.query, &mut self.sel, q);
        vec![]
    }

    fn back(&mut self) -> bool {
        self.show_terminals && self.terminals.back()
    }

    fn scroll(&mut self, delta: i32) {
        if self.show_terminals {
            return self.terminals.scroll(delta);
        }
        let n = self.visible().len();
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        if self.show_terminals {
            return self.terminals.draw(f, area, ctx);
        }
        if let Some(note) = placeholder(&self.list, "Device licences") {
            draw_note(f, area, &note);
            return;
        }
        let [top, table] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        let all = self.list.ready().map(Vec::len).unwrap_or(0);
        let pending = self
            .list
            .ready()
            .map(|l| l.iter().filter(|d| text(d, "status") == "pending").count())
            .unwrap_or(0);
        draw_note(
            f,
            top,
            &format!(
                "{pending} pending of {all} devices · showing {}{}",
                if self.pending_only { "pending" } else { "all" },
                if self.query.is_empty() {
                    String::new()
                } else {
                    format!(" matching \"{}\"", self.query)
                }
            ),
        );
        let rows: Vec<Vec<String>> = self
            .visible()
            .iter()
            .map(|d| {
                let status = text(d, "status");
                let seen = match int(d, "last_seen_unix") {
                    Some(t) if t > 0 => ago(t, ctx.now),
                    _ => "never".into(),
                };
                vec![
                    text(d, "imei"),
                    text(d, "app_id"),
                    text(d, "device_name"),
                    // Upper case for pending: it stands out without colour.
                    if status == "pending" {
                        "PENDING".into()
                    } else {
                        status
                    },
                    seen,
                    text(d, "app_version"),
                ]
            })
            .collect();
        if rows.is_empty() {
            draw_note(f, table, "No devices to show.");
            return;
        }
        draw_table(
            f,
            table,
            vec!["IMEI", "App", "Name", "Status", "Last seen", "Version"],
            rows,
            &[
                Constraint::Length(17),
                Constraint::Length(9),
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Length(11),
                Constraint::Length(9),
            ],
            Some(self.sel.0),
        );
    }
}
