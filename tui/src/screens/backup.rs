//! Backup now (online, through the server) and how to restore (the server must be stopped,
//! so the console can only say how).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use serde_json::{json, Value};

use super::{Action, Ctx, Load, Screen};
use crate::data::{bytes, int, list, local_datetime, text};
use crate::form::{Field, Form, FormKind};
use crate::io::{Cmd, Fetch, Reply, Tag};

#[derive(Debug, Default)]
pub struct Backup {
    /// The last backup written from this console.
    pub last: Option<Load<Value>>,
    pub check: Option<Load<Value>>,
    /// The server's state directory (from the dashboard), to offer a default file name.
    pub state_dir: String,
    pub tz: i32,
}

const KEYS: &[(&str, &str, &str)] = &[
    (
        "b",
        "backup now",
        "write a backup file now (the server keeps running)",
    ),
    (
        "k",
        "check",
        "check the store: decode every record, verify every blob",
    ),
];

impl Backup {
    fn default_path(&self, now: i64, tz: i32) -> String {
        let stamp: String = local_datetime(now, tz)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let dir = if self.state_dir.is_empty() {
            "/var/backups/gatehouse".to_string()
        } else {
            format!("{}/backups", self.state_dir.trim_end_matches('/'))
        };
        format!("{dir}/gatehouse-{stamp}.backup")
    }
}

impl Screen for Backup {
    fn title(&self) -> &'static str {
        "Backup"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        vec![]
    }

    fn on_reply(&mut self, reply: &Reply) {
        let slot = match reply.tag {
            Tag::Backup => &mut self.last,
            Tag::Check => &mut self.check,
            Tag::Dashboard => {
                if let Fetch::Ok(d) = &reply.fetch {
                    self.state_dir = text(d, "state_dir");
                    self.tz = int(d, "timezone_offset_minutes").unwrap_or(0) as i32;
                }
                return;
            }
            _ => return,
        };
        let mut l = slot.take().unwrap_or(Load::Waiting);
        l.take(&reply.fetch, Value::clone);
        *slot = Some(l);
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Char('b') => {
                let now = crate::data::now_unix();
                Action::Form(Form::new(
                    FormKind::Backup,
                    "Backup now",
                    vec![Field::text("out", "Backup file")
                        .with(self.default_path(now, self.tz))
                        .max(4096)],
                ))
            }
            KeyCode::Char('k') => {
                self.check = Some(Load::Waiting);
                Action::Send(Cmd::get(Tag::Check, "/admin/check"))
            }
            _ => Action::None,
        }
    }

    fn submit(&mut self, form: &Form) -> Result<Cmd, String> {
        let out = form.value("out");
        if !out.starts_with('/') {
            return Err("give the full path of the backup file (starting with /)".into());
        }
        self.last = Some(Load::Waiting);
        Ok(Cmd::post(Tag::Backup, "/admin/backup", json!({"out": out})))
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let mut lines = vec![Line::raw(
            "Backup now: press b. The server keeps serving while it writes.",
        )];
        match &self.last {
            None => lines.push(Line::raw("No backup written from this console yet.")),
            Some(Load::Waiting) => lines.push(Line::raw("Writing the backup…")),
            Some(Load::Ready(b)) => {
                lines.push(Line::raw(format!("Backup written: {}", text(b, "file"))));
                lines.push(Line::raw(format!(
                    "  {} records, {} blobs, {}",
                    text(b, "entries"),
                    text(b, "blobs"),
                    int(b, "bytes").map(bytes).unwrap_or_default()
                )));
                let sha = text(b, "sha256");
                lines.push(Line::raw(format!(
                    "  sha256 {}",
                    crate::data::fit(&sha, 64)
                )));
            }
            Some(Load::NotAvailable) => {
                lines.push(Line::raw("Backup: not available on this server."))
            }
            Some(Load::Failed(e)) => lines.push(Line::raw(format!("BACKUP FAILED: {e}"))),
        }
        lines.push(Line::raw(""));
        match &self.check {
            None => lines.push(Line::raw(
                "Check the store: press k (reads every record; may take a while).",
            )),
            Some(Load::Waiting) => lines.push(Line::raw("Checking the store…")),
            Some(Load::Ready(c)) => {
                let errors = list(c, Some("errors"));
                if errors.is_empty() {
                    lines.push(Line::raw(format!(
                        "Check passed: {} trees, {} blobs verified.",
                        list(c, Some("trees")).len(),
                        text(c, "blobs")
                    )));
                } else {
                    lines.push(Line::raw(format!("CHECK FOUND {} PROBLEMS:", errors.len())));
                    for e in errors.iter().take(5) {
                        lines.push(Line::raw(format!("  {}", e.as_str().unwrap_or(""))));
                    }
                }
            }
            Some(Load::NotAvailable) => {
                lines.push(Line::raw("Check: not available on this server."))
            }
            Some(Load::Failed(e)) => lines.push(Line::raw(format!("CHECK FAILED: {e}"))),
        }
        lines.push(Line::raw(""));
        lines.push(Line::raw(
            "Restore (replaces everything; the server must be stopped):",
        ));
        lines.push(Line::raw("  sudo systemctl stop gatehouse"));
        lines.push(Line::raw(
            "  sudo -u gatehouse gatehouse restore --from FILE",
        ));
        lines.push(Line::raw("  sudo systemctl start gatehouse"));
        lines.push(Line::raw(format!(
            "Times are site time (UTC{:+}h).",
            ctx.tz as f64 / 60.0
        )));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}
