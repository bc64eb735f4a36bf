//! The dashboard: today's figures at the gate and the server's health, from one
//! `GET /admin/dashboard`.

use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use serde_json::Value;

use super::logs::event_text;
use super::{placeholder, Action, Ctx, Load, Screen};
use crate::data::{ago, boolean, bytes, float, int, list, local_datetime, text};
use crate::io::{Cmd, Reply, Tag};

#[derive(Debug, Default)]
pub struct Dashboard {
    pub data: Load<Value>,
    /// Charts and what needs action (`/admin/dashboard/charts`), reloaded less often.
    pub charts: Load<Value>,
    /// When the charts were last asked for (they read a week of data: every 30 s is enough).
    pub charts_asked: std::cell::Cell<i64>,
}

/// Seconds between chart reloads.
pub const CHARTS_EVERY: i64 = 30;

const KEYS: &[(&str, &str, &str)] =
    &[("r", "refresh", "refresh now (it also refreshes every 2 s)")];

/// "n/a" for an area the server does not report (yet).
const NA: &str = "n/a";

fn area_figure(d: &Value, area: &str, key: &str) -> String {
    match d.get(area) {
        Some(a) if a.is_object() => int(a, key)
            .map(|n| n.to_string())
            .unwrap_or_else(|| NA.into()),
        _ => NA.into(),
    }
}

impl Screen for Dashboard {
    fn title(&self) -> &'static str {
        "Dashboard"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::get(Tag::Dashboard, "/admin/dashboard")];
        let now = crate::data::now_unix();
        if self.charts.ready().is_none() || now - self.charts_asked.get() >= CHARTS_EVERY {
            self.charts_asked.set(now);
            cmds.push(Cmd::get(Tag::Charts, "/admin/dashboard/charts"));
        }
        cmds
    }

    fn on_reply(&mut self, reply: &Reply) {
        if reply.tag == Tag::Dashboard {
            self.data.take(&reply.fetch, Value::clone);
        }
        if reply.tag == Tag::Charts {
            self.charts.take(&reply.fetch, Value::clone);
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            crossterm::event::KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let Some(d) = self.data.ready() else {
            super::draw_note(
                f,
                area,
                &placeholder(&self.data, "Dashboard").unwrap_or_default(),
            );
            return;
        };
        let [figures, charts, warnings] = Layout::vertical([
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Fill(1),
        ])
        .areas(area);
        match self.charts.ready() {
            Some(c) => super::charts::draw_charts(f, charts, c),
            None => super::draw_note(
                f,
                charts,
                &placeholder(&self.charts, "Charts").unwrap_or_default(),
            ),
        }
        let cols = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(figures);
        let date = text(d, "local_date");
        let time = text(d, "local_time");
        let pair = |a: String, b: String| format!("{a} / {b}");
        let devices = match d.get("devices") {
            Some(v) if v.is_object() => format!(
                "{} online, {} pending",
                int(v, "online").map(|n| n.to_string()).unwrap_or(NA.into()),
                int(v, "pending")
                    .map(|n| n.to_string())
                    .unwrap_or(NA.into())
            ),
            _ => NA.into(),
        };
        let today = vec![
            row("Devices", devices),
            row(
                "Punches in/out",
                pair(
                    area_figure(d, "attendance", "punches_in"),
                    area_figure(d, "attendance", "punches_out"),
                ),
            ),
            row("Staff clocked in", area_figure(d, "attendance", "present")),
            row("Passes inside", area_figure(d, "gatepasses", "inside")),
            row("Gatepasses today", area_figure(d, "gatepasses", "today")),
            row("Overdue passes", area_figure(d, "gatepasses", "overdue")),
            row(
                "Muster lines",
                area_figure(d, "estate", "muster_lines_today"),
            ),
            row(
                "Labourers/faces",
                pair(
                    area_figure(d, "estate", "labourers"),
                    area_figure(d, "estate", "faces"),
                ),
            ),
            row("Upstream", upstream(d)),
        ];
        let req = d.get("requests").cloned().unwrap_or(Value::Null);
        let attempt = d.get("last_backup").filter(|b| b.is_object());
        let (last_backup, backup_ago) = match (attempt, int(d, "last_backup_unix")) {
            (Some(b), _) if !boolean(b, "ok") => {
                let at = int(b, "at_unix").unwrap_or(0);
                let day_time: String = local_datetime(at, ctx.tz).chars().skip(5).collect();
                (
                    format!("FAILED {day_time}"),
                    format!("({})", ago(at, ctx.now)),
                )
            }
            (_, Some(t)) if t > 0 => (local_datetime(t, ctx.tz), format!("({})", ago(t, ctx.now))),
            _ => ("never".to_string(), String::new()),
        };
        let server = vec![
            row(
                "Requests/s",
                float(&req, "per_sec_1m")
                    .map(|r| format!("{r:.2} (last minute)"))
                    .unwrap_or(NA.into()),
            ),
            row(
                "Requests",
                int(&req, "total")
                    .map(|n| n.to_string())
                    .unwrap_or(NA.into()),
            ),
            row(
                "Errors 4xx/5xx",
                pair(
                    int(&req, "client_errors")
                        .map(|n| n.to_string())
                        .unwrap_or(NA.into()),
                    int(&req, "server_errors")
                        .map(|n| n.to_string())
                        .unwrap_or(NA.into()),
                ),
            ),
            row(
                "Store size",
                int(d, "store_bytes").map(bytes).unwrap_or(NA.into()),
            ),
            row("Last backup", last_backup),
            row("", backup_ago),
            row(
                "Uptime",
                int(d, "uptime_secs").map(uptime).unwrap_or(NA.into()),
            ),
            row("Version", text(d, "version")),
        ];
        let recent = list(d, Some("recent_warnings"));
        // What needs someone's action comes first, in whole phrases; then the latest warnings.
        let mut lines: Vec<Line> = Vec::new();
        let todo = self
            .charts
            .ready()
            .map(super::charts::needs_action)
            .unwrap_or_default();
        if !todo.is_empty() {
            let mut line = String::from("NEEDS ACTION:");
            let w = warnings.width.saturating_sub(2) as usize;
            for t in todo {
                if line.chars().count() + 3 + t.chars().count() > w {
                    lines.push(Line::raw(std::mem::take(&mut line)));
                    line = format!("  {t}");
                } else if line == "NEEDS ACTION:" {
                    line.push(' ');
                    line.push_str(&t);
                } else {
                    line.push_str(" · ");
                    line.push_str(&t);
                }
            }
            lines.push(Line::raw(line));
        }
        let warn_lines: Vec<Line> = recent
            .iter()
            .rev()
            .map(|e| {
                let time: String = int(e, "unix_ms")
                    .map(|ms| local_datetime(ms / 1000, ctx.tz).chars().skip(11).collect())
                    .unwrap_or_default();
                Line::raw(format!("{time} {:<5} {}", text(e, "level"), event_text(e)))
            })
            .collect();
        if warn_lines.is_empty() {
            lines.push(Line::raw(
                "No warnings or errors logged since the server started.",
            ));
        }
        lines.extend(warn_lines);
        f.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Needs action · latest warnings (7 Logs) "),
            ),
            warnings,
        );
        f.render_widget(
            Paragraph::new(today).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" Today {date} {time} ")),
            ),
            cols[0],
        );
        f.render_widget(
            Paragraph::new(server).block(Block::default().borders(Borders::ALL).title(" Server ")),
            cols[1],
        );
    }
}

/// Replication upstream: off, caught up, or how far behind (and why, when it fails).
fn upstream(d: &Value) -> String {
    match d.get("upstream") {
        Some(u) if u.is_object() => {
            if !boolean(u, "enabled") {
                return "off".into();
            }
            let pending = int(u, "pending").unwrap_or(0);
            let lag = int(u, "lag_s").unwrap_or(0);
            match u.get("last_error").and_then(Value::as_str) {
                Some(_) => format!("FAILING, {pending} pending ({lag} s)"),
                None if pending == 0 => "up to date".into(),
                None => format!("{pending} pending ({lag} s)"),
            }
        }
        _ => NA.into(),
    }
}

fn row(label: &str, value: String) -> Line<'static> {
    Line::raw(format!("{label:<16} {value}"))
}

fn uptime(s: i64) -> String {
    let s = s.max(0);
    if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3600)
    }
}
