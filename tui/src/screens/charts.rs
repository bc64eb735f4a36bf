//! The dashboard's small charts (`GET /admin/dashboard/charts`): punches per hour today, passes
//! per day this week, muster kg per day; and the "needs action" line. Values are also written
//! in the titles, so nothing depends on reading a bar's height or its colour.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Sparkline};
use ratatui::Frame;
use serde_json::Value;

use crate::data::{as_int, boolean, float, int, list, text};

/// Draws the three charts side by side.
pub fn draw_charts(f: &mut Frame, area: Rect, c: &Value) {
    let cols = Layout::horizontal([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .split(area);
    let per_hour: Vec<u64> = list(c, Some("punches_per_hour"))
        .iter()
        .map(|v| as_int(v).unwrap_or(0).max(0) as u64)
        .collect();
    let total: u64 = per_hour.iter().sum();
    f.render_widget(
        Sparkline::default().data(&per_hour).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" Punches/hour: {total} ")),
        ),
        cols[0],
    );
    let week = |key: &str, value: &dyn Fn(&Value) -> u64| -> (Vec<(String, u64)>, u64) {
        let v: Vec<(String, u64)> = list(c, Some(key))
            .iter()
            .map(|d| {
                // "2026-11-23" → its day of the month, "23".
                let day: String = text(d, "date").chars().skip(8).collect();
                (day, value(d))
            })
            .collect();
        let today = v.last().map(|(_, n)| *n).unwrap_or(0);
        (v, today)
    };
    let (passes, today_passes) = week("passes_per_day", &|d| {
        int(d, "count").unwrap_or(0).max(0) as u64
    });
    let (kg, today_kg) = week("muster_kg_per_day", &|d| {
        float(d, "kg").unwrap_or(0.0).max(0.0).round() as u64
    });
    bars(
        f,
        cols[1],
        &format!(" Passes/day: {today_passes} today "),
        &passes,
    );
    bars(f, cols[2], &format!(" Muster kg/day: {today_kg} "), &kg);
}

fn bars(f: &mut Frame, area: Rect, title: &str, data: &[(String, u64)]) {
    let bars: Vec<Bar> = data
        .iter()
        .map(|(label, v)| {
            Bar::default()
                .value(*v)
                .text_value(String::new())
                .label(label.clone().into())
        })
        .collect();
    f.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(2)
            .bar_gap(1)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(title.to_string()),
            ),
        area,
    );
}

/// What needs someone's action, as short whole phrases ("2 licences pending"); empty when
/// nothing does.
pub fn needs_action(c: &Value) -> Vec<String> {
    let Some(n) = c.get("needs_action").filter(|v| v.is_object()) else {
        return vec![];
    };
    let mut out = Vec::new();
    let count = |k: &str| int(n, k).unwrap_or(0);
    let plural = |k: i64, one: &str, many: &str| {
        if k == 1 {
            format!("1 {one}")
        } else {
            format!("{k} {many}")
        }
    };
    if count("pending_licences") > 0 {
        out.push(plural(
            count("pending_licences"),
            "licence pending (screen 2)",
            "licences pending (screen 2)",
        ));
    }
    if count("pending_terminals") > 0 {
        out.push(plural(
            count("pending_terminals"),
            "terminal pending",
            "terminals pending",
        ));
    }
    if count("overdue_material") > 0 {
        out.push(plural(
            count("overdue_material"),
            "pass with material overdue (screen 3)",
            "passes with material overdue (screen 3)",
        ));
    }
    if count("locked_accounts") > 0 {
        out.push(plural(
            count("locked_accounts"),
            "account locked (screen 5)",
            "accounts locked (screen 5)",
        ));
    }
    if count("locked_devices") > 0 {
        out.push(plural(
            count("locked_devices"),
            "device locked out",
            "devices locked out",
        ));
    }
    if boolean(n, "last_backup_failed") {
        out.push("LAST BACKUP FAILED (screen 8)".into());
    } else if boolean(n, "backup_too_old") {
        out.push(match int(n, "last_backup_age_secs") {
            Some(s) if s >= 0 => format!("backup {} d old (screen 8)", s / 86_400),
            _ => "no backup yet (screen 8)".into(),
        });
    }
    out
}
