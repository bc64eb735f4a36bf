//! `gatehouse import` and `gatehouse export`: file handling, progress and the error report.
//! Rows travel to the admin API in batches, so a running server applies them itself.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{emit, Admin, Global};
use crate::config::Config;

const BATCH: usize = 1000;

pub fn import(cfg: &Config, g: &Global, kind: &str, file: &Path) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let mut headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: {e}", file.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(first) = headers.first_mut() {
        // Spreadsheets save UTF-8 CSV with a byte-order mark.
        *first = first.trim_start_matches('\u{feff}').to_string();
    }
    let mut rows = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    for rec in reader.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                rows.push(json!({"line": line, "values": r.iter().collect::<Vec<_>>()}));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                errors.push(json!({"line": line, "message": format!("unreadable CSV: {e}")}));
            }
        }
    }
    let admin = Admin::connect(cfg)?;
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    if g.json || !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} lines ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("importing {kind}"));
    let (mut inserted, mut updated, mut unchanged) = (0u64, 0u64, 0u64);
    for chunk in rows.chunks(BATCH) {
        let d = admin.call(
            "POST",
            &format!("/admin/import/{kind}"),
            Some(json!({"headers": headers, "rows": chunk})),
        )?;
        inserted += d["inserted"].as_u64().unwrap_or(0);
        updated += d["updated"].as_u64().unwrap_or(0);
        unchanged += d["unchanged"].as_u64().unwrap_or(0);
        errors.extend(d["errors"].as_array().cloned().unwrap_or_default());
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    errors.sort_by_key(|e| e["line"].as_u64().unwrap_or(0));
    let summary = json!({
        "kind": kind, "file": file, "lines": rows.len(), "inserted": inserted, "updated": updated,
        "unchanged": unchanged, "refused": errors.len(), "errors": errors,
    });
    emit(g, &summary, || {
        let mut s = format!(
            "{kind}: {} lines read; {inserted} inserted, {updated} updated, {unchanged} unchanged, {} refused",
            rows.len(),
            errors.len()
        );
        for e in &errors {
            s.push_str(&format!(
                "\n  line {}: {}",
                e["line"],
                e["message"].as_str().unwrap_or("")
            ));
        }
        s
    })?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} line(s) of {} were refused (see the report above)",
            errors.len(),
            file.display()
        ))
    }
}

pub fn export(
    cfg: &Config,
    g: &Global,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    format: &str,
    out: Option<&Path>,
) -> Result<(), String> {
    if !matches!(format, "csv" | "xlsx") {
        return Err(format!("--format must be csv or xlsx, not {format}"));
    }
    let today =
        crate::domain::time::local_day(chrono::Utc::now(), cfg.site.timezone_offset_minutes)
            .to_string();
    let from = from.unwrap_or(&today).to_string();
    let to = to.unwrap_or(&from).to_string();
    let admin = Admin::connect(cfg)?;
    let table = admin.call(
        "GET",
        &format!("/admin/export/{kind}?from={from}&to={to}"),
        None,
    )?;
    let table: crate::service::transfer::Table =
        serde_json::from_value(table).map_err(|e| e.to_string())?;
    let path: PathBuf = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{kind}-{from}-{to}.{format}")));
    match format {
        "csv" => write_csv(&table, &path),
        _ => write_xlsx(&table, &path, kind),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let d = json!({"kind": kind, "from": from, "to": to, "format": format, "file": path, "rows": table.rows.len()});
    emit(g, &d, || {
        format!(
            "{} rows of {kind} from {from} to {to} written to {}",
            table.rows.len(),
            path.display()
        )
    })
}

fn write_csv(t: &crate::service::transfer::Table, path: &Path) -> Result<(), String> {
    let mut w = csv::Writer::from_path(path).map_err(|e| e.to_string())?;
    w.write_record(&t.headers).map_err(|e| e.to_string())?;
    for r in &t.rows {
        w.write_record(crate::service::cells::csv_record(r))
            .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn write_xlsx(t: &crate::service::transfer::Table, path: &Path, sheet: &str) -> Result<(), String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(|e| e.to_string())?;
    let bold = Format::new().set_bold();
    for (c, h) in t.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)
            .map_err(|e| e.to_string())?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            // Numbers stay numbers so the spreadsheet can sum them; codes with leading zeros
            // (009) stay text.
            match v.parse::<f64>() {
                Ok(n)
                    if n.is_finite()
                        && !(v.len() > 1 && v.starts_with('0') && !v.starts_with("0.")) =>
                {
                    ws.write_number(r, c, n).map_err(|e| e.to_string())?
                }
                _ => crate::service::cells::xlsx_text(ws, r, c, v).map_err(|e| e.to_string())?,
            };
        }
    }
    ws.autofit();
    wb.save(path).map_err(|e| e.to_string())
}
