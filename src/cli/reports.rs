//! Printable summaries (`gatehouse export closing|attendance-summary|muster-summary`) built
//! from the admin API's tables and lists, written as PDF (printpdf, pure Rust), CSV or XLSX.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::Admin;
use crate::config::Config;
use crate::service::transfer::Table;

/// (kind, what it is). Built in `build`.
pub const REPORTS: &[(&str, &str)] = &[
    (
        "closing",
        "the day's closing sheet for --from (default today): passes still inside, material \
         overdue, the day's passes by status",
    ),
    (
        "attendance-summary",
        "per employee over --from..--to: days present, punches, flagged punches; and per day",
    ),
    (
        "muster-summary",
        "per day and job over --from..--to: labourers, lines and net kg, with totals",
    ),
];

/// A titled set of tables.
pub struct Report {
    pub title: String,
    pub subtitle: String,
    pub sections: Vec<(String, Table)>,
}

impl Report {
    pub fn row_count(&self) -> usize {
        self.sections.iter().map(|(_, t)| t.rows.len()).sum()
    }

    /// One table for CSV: a `section` column before each section's own columns.
    pub fn flat(&self) -> Table {
        let width = self
            .sections
            .iter()
            .map(|(_, t)| t.headers.len())
            .max()
            .unwrap_or(0);
        let mut out = Table {
            headers: vec!["section".into()],
            rows: Vec::new(),
        };
        for i in 0..width {
            out.headers.push(format!("c{}", i + 1));
        }
        for (name, t) in &self.sections {
            let mut h = vec![name.clone()];
            h.extend(t.headers.iter().cloned());
            out.rows.push(h);
            for r in &t.rows {
                let mut row = vec![name.clone()];
                row.extend(r.iter().cloned());
                out.rows.push(row);
            }
        }
        out
    }

    /// One worksheet per section for XLSX.
    pub fn sheets(&self) -> Vec<(String, Table)> {
        self.sections.clone()
    }
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) -> Table {
    Table {
        headers: headers.iter().map(|s| s.to_string()).collect(),
        rows,
    }
}

pub(super) fn local_time(cfg: &Config, unix: Option<i64>) -> String {
    let Some(t) = unix else {
        return String::new();
    };
    let off = crate::domain::time::site_offset(cfg.site.timezone_offset_minutes);
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.with_timezone(&off).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn build(
    cfg: &Config,
    admin: &Admin,
    kind: &str,
    from: &str,
    to: &str,
) -> Result<Report, String> {
    let site = if cfg.site.name.is_empty() {
        "Gatehouse".to_string()
    } else {
        cfg.site.name.clone()
    };
    match kind {
        "closing" => closing(cfg, admin, &site, from),
        "attendance-summary" => {
            let t: Table = serde_json::from_value(admin.call(
                "GET",
                &format!("/admin/export/attendance?from={from}&to={to}"),
                None,
            )?)
            .map_err(|e| e.to_string())?;
            Ok(attendance_summary(&site, from, to, &t))
        }
        "muster-summary" => {
            let t: Table = serde_json::from_value(admin.call(
                "GET",
                &format!("/admin/export/muster?from={from}&to={to}"),
                None,
            )?)
            .map_err(|e| e.to_string())?;
            Ok(muster_summary(&site, from, to, &t))
        }
        other => Err(format!("unknown summary {other}")),
    }
}

fn closing(cfg: &Config, admin: &Admin, site: &str, day: &str) -> Result<Report, String> {
    let list = |view: &str| -> Result<Vec<Value>, String> {
        Ok(admin
            .call(
                "GET",
                &format!("/admin/gatepasses?view={view}&date={day}"),
                None,
            )?
            .as_array()
            .cloned()
            .unwrap_or_default())
    };
    let inside = list("inside")?;
    let overdue = list("overdue")?;
    let today = list("today")?;
    let inside_rows = inside
        .iter()
        .map(|p| {
            vec![
                s(&p["number"]),
                s(&p["kind"]),
                s(&p["name"]),
                s(&p["vehicle"]),
                s(&p["host"]),
                local_time(cfg, p["in_unix"].as_i64()),
                local_time(cfg, Some(p["valid_until_unix"].as_i64().unwrap_or(0))),
            ]
        })
        .collect();
    let overdue_rows = overdue
        .iter()
        .map(|p| {
            vec![
                s(&p["number"]),
                s(&p["name"]),
                s(&p["purpose"]),
                s(&p["return_due"]),
                local_time(cfg, p["out_unix"].as_i64()),
            ]
        })
        .collect();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for p in &today {
        *by_status.entry(s(&p["status"])).or_default() += 1;
    }
    let mut status_rows: Vec<Vec<String>> = by_status
        .into_iter()
        .map(|(k, n)| vec![k, n.to_string()])
        .collect();
    status_rows.push(vec!["total".into(), today.len().to_string()]);
    Ok(Report {
        title: format!("Daily closing - {site}"),
        subtitle: format!(
            "Day {day}; printed {} (site time). {} inside, {} material overdue.",
            local_time(cfg, Some(chrono::Utc::now().timestamp())),
            inside.len(),
            overdue.len()
        ),
        sections: vec![
            (
                "Still inside".into(),
                table(
                    &[
                        "pass",
                        "kind",
                        "holder",
                        "vehicle",
                        "host",
                        "in at",
                        "valid until",
                    ],
                    inside_rows,
                ),
            ),
            (
                "Material overdue".into(),
                table(
                    &["pass", "holder", "purpose", "return due", "out at"],
                    overdue_rows,
                ),
            ),
            (
                "Passes of the day".into(),
                table(&["status", "passes"], status_rows),
            ),
        ],
    })
}

fn col(t: &Table, name: &str) -> Option<usize> {
    t.headers.iter().position(|h| h.eq_ignore_ascii_case(name))
}

fn cell<'a>(t: &Table, row: &'a [String], name: &str) -> &'a str {
    col(t, name)
        .and_then(|i| row.get(i))
        .map(String::as_str)
        .unwrap_or("")
}

/// Per employee and per day, from the attendance export (one row per punch).
pub fn attendance_summary(site: &str, from: &str, to: &str, t: &Table) -> Report {
    #[derive(Default)]
    struct Emp {
        name: String,
        group: String,
        days: BTreeSet<String>,
        punches: usize,
        flagged: usize,
    }
    let mut emps: BTreeMap<String, Emp> = BTreeMap::new();
    let mut days: BTreeMap<String, (BTreeSet<String>, usize, usize)> = BTreeMap::new();
    for r in &t.rows {
        let code = cell(t, r, "employee_code").to_string();
        let day = cell(t, r, "attendance_day").to_string();
        let flagged = !cell(t, r, "flags").is_empty();
        let e = emps.entry(code.clone()).or_default();
        e.name = cell(t, r, "employee_name").to_string();
        e.group = cell(t, r, "group").to_string();
        e.days.insert(day.clone());
        e.punches += 1;
        e.flagged += flagged as usize;
        let d = days.entry(day).or_default();
        d.0.insert(code);
        d.1 += 1;
        d.2 += flagged as usize;
    }
    let emp_rows = emps
        .iter()
        .map(|(code, e)| {
            vec![
                code.clone(),
                e.name.clone(),
                e.group.clone(),
                e.days.len().to_string(),
                e.punches.to_string(),
                e.flagged.to_string(),
            ]
        })
        .collect();
    let day_rows = days
        .iter()
        .map(|(day, (who, n, f))| {
            vec![
                day.clone(),
                who.len().to_string(),
                n.to_string(),
                f.to_string(),
            ]
        })
        .collect();
    Report {
        title: format!("Attendance summary - {site}"),
        subtitle: format!(
            "{from} to {to} (attendance days, site time): {} employees, {} punches.",
            emps.len(),
            t.rows.len()
        ),
        sections: vec![
            (
                "By employee".into(),
                table(
                    &[
                        "code",
                        "name",
                        "group",
                        "days present",
                        "punches",
                        "flagged",
                    ],
                    emp_rows,
                ),
            ),
            (
                "By day".into(),
                table(&["day", "present", "punches", "flagged"], day_rows),
            ),
        ],
    }
}

/// Per day, firm and job, from the muster export (one row per muster line).
pub fn muster_summary(site: &str, from: &str, to: &str, t: &Table) -> Report {
    // (date, firm, job) -> (labourers, lines, net kg)
    type Key = (String, String, String);
    let mut groups: BTreeMap<Key, (BTreeSet<String>, usize, f64)> = BTreeMap::new();
    let mut total_kg = 0.0;
    let mut labourers = BTreeSet::new();
    for r in &t.rows {
        let key = (
            cell(t, r, "Date").to_string(),
            cell(t, r, "firmid").to_string(),
            cell(t, r, "Job").to_string(),
        );
        let kg: f64 = cell(t, r, "netWeight").parse().unwrap_or(0.0);
        let lcode = cell(t, r, "lcode").to_string();
        let g = groups.entry(key).or_default();
        g.0.insert(lcode.clone());
        g.1 += 1;
        g.2 += kg;
        total_kg += kg;
        labourers.insert(lcode);
    }
    let mut rows: Vec<Vec<String>> = groups
        .into_iter()
        .map(|((d, f, j), (who, n, kg))| {
            vec![
                d,
                f,
                j,
                who.len().to_string(),
                n.to_string(),
                format!("{kg:.2}"),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        String::new(),
        String::new(),
        labourers.len().to_string(),
        t.rows.len().to_string(),
        format!("{total_kg:.2}"),
    ]);
    Report {
        title: format!("Muster summary - {site}"),
        subtitle: format!(
            "{from} to {to} (task dates): {} lines, {} labourers, {total_kg:.2} kg net.",
            t.rows.len(),
            labourers.len()
        ),
        sections: vec![(
            "By day and job".into(),
            table(
                &["date", "firm", "job", "labourers", "lines", "net kg"],
                rows,
            ),
        )],
    }
}

/// A4 landscape, Helvetica, tables with ruled header rows; long cells are cut with "..".
pub fn write_pdf(rep: &Report, path: &Path) -> Result<(), String> {
    use printpdf::{BuiltinFont, Line, Mm, PdfDocument, Point};
    const W: f32 = 297.0;
    const H: f32 = 210.0;
    const MARGIN: f32 = 14.0;
    const ROW: f32 = 5.2;
    const SIZE: f32 = 9.0;
    // Helvetica glyphs average about 0.6 of the size in codes and capitals: 9 pt ~ 1.9 mm each.
    const CHAR_MM: f32 = SIZE * 0.3528 * 0.6;
    let (doc, p1, l1) = PdfDocument::new(&rep.title, Mm(W), Mm(H), "page");
    let e = |e: printpdf::Error| e.to_string();
    let font = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(e)?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(e)?;
    let mut layer = doc.get_page(p1).get_layer(l1);
    let mut page_no = 1;
    let footer = |layer: &printpdf::PdfLayerReference, n: usize| {
        layer.use_text(
            format!("{} - page {n}", rep.title),
            7.0,
            Mm(MARGIN),
            Mm(7.0),
            &font,
        );
    };
    let rule = |layer: &printpdf::PdfLayerReference, y: f32| {
        layer.set_outline_thickness(0.4);
        layer.add_line(Line {
            points: vec![
                (Point::new(Mm(MARGIN), Mm(y)), false),
                (Point::new(Mm(W - MARGIN), Mm(y)), false),
            ],
            is_closed: false,
        });
    };
    let mut y = H - MARGIN;
    layer.use_text(&rep.title, 16.0, Mm(MARGIN), Mm(y), &bold);
    y -= 7.0;
    layer.use_text(&rep.subtitle, 10.0, Mm(MARGIN), Mm(y), &font);
    y -= 9.0;
    for (name, t) in &rep.sections {
        // Column widths from the longest cell, scaled down to fit the page.
        let n = t.headers.len().max(1);
        let mut chars: Vec<usize> = t.headers.iter().map(|h| h.chars().count()).collect();
        for r in &t.rows {
            for (i, v) in r.iter().enumerate().take(n) {
                chars[i] = chars[i].max(v.chars().count().min(60));
            }
        }
        let want: Vec<f32> = chars.iter().map(|c| (*c as f32 + 2.5) * CHAR_MM).collect();
        let total: f32 = want.iter().sum();
        let scale = ((W - 2.0 * MARGIN) / total).min(1.0);
        let widths: Vec<f32> = want.iter().map(|w| w * scale).collect();
        let fit = |v: &str, w: f32| -> String {
            let max = ((w / CHAR_MM) as usize).saturating_sub(1).max(2);
            if v.chars().count() <= max {
                v.to_string()
            } else {
                let mut s: String = v.chars().take(max.saturating_sub(2)).collect();
                s.push_str("..");
                s
            }
        };
        let header = |layer: &printpdf::PdfLayerReference, y: f32| {
            let mut x = MARGIN;
            for (h, w) in t.headers.iter().zip(&widths) {
                layer.use_text(fit(h, *w), SIZE, Mm(x), Mm(y), &bold);
                x += w;
            }
            rule(layer, y - 1.5);
        };
        if y < MARGIN + 4.0 * ROW {
            footer(&layer, page_no);
            let (p, l) = doc.add_page(Mm(W), Mm(H), "page");
            layer = doc.get_page(p).get_layer(l);
            page_no += 1;
            y = H - MARGIN;
        }
        layer.use_text(
            format!("{name} ({})", t.rows.len()),
            12.0,
            Mm(MARGIN),
            Mm(y),
            &bold,
        );
        y -= 6.5;
        header(&layer, y);
        y -= ROW + 0.5;
        if t.rows.is_empty() {
            layer.use_text("(none)", SIZE, Mm(MARGIN), Mm(y), &font);
            y -= ROW;
        }
        for r in &t.rows {
            if y < MARGIN {
                footer(&layer, page_no);
                let (p, l) = doc.add_page(Mm(W), Mm(H), "page");
                layer = doc.get_page(p).get_layer(l);
                page_no += 1;
                y = H - MARGIN;
                header(&layer, y);
                y -= ROW + 0.5;
            }
            let mut x = MARGIN;
            let is_total = r.first().is_some_and(|c| c == "total");
            for (v, w) in r.iter().zip(&widths) {
                layer.use_text(
                    fit(v, *w),
                    SIZE,
                    Mm(x),
                    Mm(y),
                    if is_total { &bold } else { &font },
                );
                x += w;
            }
            y -= ROW;
        }
        y -= 6.0;
    }
    footer(&layer, page_no);
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    doc.save(&mut std::io::BufWriter::new(file)).map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn muster_summary_adds_up_by_day_and_job() {
        let t = table(
            &["Date", "firmid", "Job", "lcode", "netWeight"],
            vec![
                vec![
                    "2026-11-23".into(),
                    "1".into(),
                    "SP".into(),
                    "R1".into(),
                    "10.5".into(),
                ],
                vec![
                    "2026-11-23".into(),
                    "1".into(),
                    "SP".into(),
                    "R2".into(),
                    "9.5".into(),
                ],
                vec![
                    "2026-11-24".into(),
                    "1".into(),
                    "SP".into(),
                    "R1".into(),
                    "4".into(),
                ],
            ],
        );
        let r = muster_summary("X", "2026-11-23", "2026-11-24", &t);
        let rows = &r.sections[0].1.rows;
        assert_eq!(rows[0], vec!["2026-11-23", "1", "SP", "2", "2", "20.00"]);
        assert_eq!(rows[2], vec!["total", "", "", "2", "3", "24.00"]);
    }
}
