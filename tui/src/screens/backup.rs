//! Backup now (online, through the server), the backup schedule and its last attempt, a full
//! store check, and restore (staged by the server, which restarts to apply it).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use serde_json::{json, Value};

use super::{Action, Ctx, Load, Screen};
use crate::data::{ago, boolean, bytes, int, list, local_datetime, text};
use crate::form::{Field, Form, FormKind};
use crate::io::{Cmd, Fetch, Reply, Tag};

#[derive(Debug, Default)]
pub struct Backup {
    /// The backup written from this console.
    pub last: Option<Load<Value>>,
    pub check: Option<Load<Value>>,
    /// `GET /admin/backup`: schedule and the last attempt (scheduled or not).
    pub status: Load<Value>,
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
    (
        "R",
        "restore",
        "restore from a backup file (asks first; the server restarts)",
    ),
    ("r", "", "refresh"),
];

impl Backup {
    fn default_path(&self, now: i64, tz: i32) -> String {
        let stamp: String = local_datetime(now, tz)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let scheduled_dir = self
            .status
            .ready()
            .map(|s| text(s, "dir"))
            .filter(|d| !d.is_empty());
        let dir = match scheduled_dir {
            Some(d) => d,
            None if self.state_dir.is_empty() => "/var/backups/gatehouse".to_string(),
            None => format!("{}/backups", self.state_dir.trim_end_matches('/')),
        };
        format!("{}/gatehouse-{stamp}.ghb", dir.trim_end_matches('/'))
    }

    fn status_lines(&self, ctx: &Ctx) -> Vec<Line<'static>> {
        let Some(s) = self.status.ready() else {
            return vec![];
        };
        let mut lines = Vec::new();
        let dir = text(s, "dir");
        if dir.is_empty() {
            lines.push(Line::raw(
                "Scheduled backups: off (no backup directory configured).",
            ));
        } else {
            let next = match int(s, "next_in_secs") {
                Some(n) if n <= 60 => "due now".to_string(),
                Some(n) => format!("next in {} min", n / 60),
                None => String::new(),
            };
            lines.push(Line::raw(format!(
                "Scheduled: every {} h to {dir}, keep {} · {next}",
                text(s, "every_hours"),
                text(s, "keep")
            )));
        }
        match s.get("last").filter(|l| l.is_object()) {
            None => lines.push(Line::raw("Last backup: never.")),
            Some(l) => {
                let at = int(l, "at_unix").unwrap_or(0);
                let when = format!("{} ({})", local_datetime(at, ctx.tz), ago(at, ctx.now));
                let how = if boolean(l, "scheduled") {
                    "scheduled"
                } else {
                    "by hand"
                };
                if boolean(l, "ok") {
                    lines.push(Line::raw(format!(
                        "Last backup: {when}, {how}, {}",
                        int(l, "bytes").map(bytes).unwrap_or_default()
                    )));
                    lines.push(Line::raw(format!("  {}", text(l, "file"))));
                } else {
                    lines.push(Line::raw(format!("LAST BACKUP FAILED: {when}, {how}")));
                    lines.push(Line::raw(format!(
                        "  {}: {}",
                        text(l, "file"),
                        text(l, "error")
                    )));
                }
            }
        }
        lines
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
        vec![Cmd::get(Tag::BackupStatus, "/admin/backup")]
    }

    fn on_reply(&mut self, reply: &Reply) {
        let slot = match reply.tag {
            Tag::Backup => &mut self.last,
            Tag::Check => &mut self.check,
            Tag::BackupStatus => {
                self.status.take(&reply.fetch, Value::clone);
                return;
            }
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
            KeyCode::Char('R') => {
                let last_file = self
                    .status
                    .ready()
                    .and_then(|s| s.get("last"))
                    .filter(|l| boolean(l, "ok"))
                    .map(|l| text(l, "file"))
                    .unwrap_or_default();
                Action::Form(Form::new(
                    FormKind::Restore,
                    "Restore from a backup file",
                    vec![Field::text("from", "Backup file").with(last_file).max(4096)],
                ))
            }
            KeyCode::Char('k') => {
                self.check = Some(Load::Waiting);
                Action::Send(Cmd::get(Tag::Check, "/admin/check"))
            }
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn submit_action(&mut self, form: &Form) -> Result<Action, String> {
        match form.kind {
            FormKind::Restore => {
                let from = form.value("from");
                if !from.starts_with('/') {
                    return Err("give the full path of the backup file (starting with /)".into());
                }
                Ok(Action::Confirm(
                    format!(
                        "Restore from {from}? Everything written since that backup is lost; the server restarts to apply it."
                    ),
                    Cmd::post(
                        Tag::Done(format!("restore from {from} staged; the server is restarting")),
                        "/admin/restore",
                        json!({"from": from}),
                    ),
                ))
            }
            _ => self.submit(form).map(Action::Send),
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
            "b: backup now (the server keeps serving) · k: check · R: restore",
        )];
        lines.extend(self.status_lines(ctx));
        lines.push(Line::raw(""));
        match &self.last {
            None => {}
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
        match &self.check {
            None => {}
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
            "Restore replaces everything with the backup's contents. The server checks the",
        ));
        lines.push(Line::raw(
            "file, stages it and restarts; systemd brings it back with the restored data.",
        ));
        lines.push(Line::raw(format!(
            "Times are site time (UTC{:+}h).",
            ctx.tz as f64 / 60.0
        )));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}
