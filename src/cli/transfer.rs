//! `gatehouse import` and `gatehouse export`: file handling, progress and the error report.
//! Rows travel to the admin API in batches, so a running server applies them itself.
//!
//! Imports take what spreadsheets write (a UTF-8 byte-order mark, CRLF line ends, `;` or `,`
//! between fields) and refuse a file whose header does not fit its kind before any line is
//! sent. Exports pick their format from `--out`'s extension; XLSX cells carry real dates and
//! numbers, codes stay text; `--excel` CSV starts with a byte-order mark.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{emit, Admin, Global};
use crate::config::Config;
use crate::service::transfer::{Table, EXPORTERS, IMPORTERS, IMPORT_REQUIRED};

const BATCH: usize = 1000;

/// `gatehouse import --help`: every kind with its columns, from the import registry.
pub fn import_kinds_help() -> String {
    let mut s = String::from("Kinds and their columns (header names, any order, any case):\n");
    for (kind, desc, _) in IMPORTERS {
        s.push_str(&format!("\n  {kind}\n      {desc}\n"));
        if let Some((_, req)) = IMPORT_REQUIRED.iter().find(|(k, _)| k == kind) {
            s.push_str(&format!("      required: {}\n", req.join(", ")));
        }
    }
    s.push_str(
        "\nA line that is refused is reported with its line number; the others are applied.\n\
         Files saved by Excel or LibreOffice (BOM, CRLF, ';' separators) are read as they are.",
    );
    s
}

/// `gatehouse export --help`: the export kinds and the printable summaries.
pub fn export_kinds_help() -> String {
    let mut s = String::from("Kinds (csv or xlsx):\n");
    for (kind, desc, _) in EXPORTERS {
        s.push_str(&format!("\n  {kind}\n      {desc}\n"));
    }
    s.push_str("\nPrintable summaries (pdf, also csv or xlsx):\n");
    for (kind, desc) in super::reports::REPORTS {
        s.push_str(&format!("\n  {kind}\n      {desc}\n"));
    }
    s.push_str(
        "\nExamples:\n  gatehouse export attendance --from 2026-11-01 --to 2026-11-30 --out nov.xlsx\n  \
         gatehouse export closing --from 2026-11-23 --out closing.pdf\n  \
         gatehouse export muster --from 2026-11-01 --to 2026-11-30 --out nov.csv --excel",
    );
    s
}

/// The separator a spreadsheet used: the most frequent of `,` `;` and tab in the header line
/// (outside quotes).
fn detect_delimiter(first_line: &[u8]) -> u8 {
    let (mut quoted, mut counts) = (false, [0usize; 3]);
    for &b in first_line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

fn delimiter_name(d: u8) -> &'static str {
    match d {
        b';' => "';'",
        b'\t' => "tab",
        _ => "','",
    }
}

pub fn import(cfg: &Config, g: &Global, kind: &str, file: &Path) -> Result<(), String> {
    if !IMPORTERS.iter().any(|(k, _, _)| *k == kind) {
        let kinds: Vec<&str> = IMPORTERS.iter().map(|(k, _, _)| *k).collect();
        return Err(format!(
            "unknown import kind '{kind}': one of {} (gatehouse import --help lists their columns)",
            kinds.join(", ")
        ));
    }
    let raw = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    // Spreadsheets save UTF-8 CSV with a byte-order mark; line numbers are unaffected.
    let bytes = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let delimiter = detect_delimiter(first_line);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: the header line is unreadable: {e}", file.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let missing = crate::service::transfer::missing_columns(kind, &headers);
    if headers.iter().all(|h| h.is_empty()) || !missing.is_empty() {
        let cols = IMPORTERS
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, d, _)| *d)
            .unwrap_or("");
        return Err(format!(
            "{} does not look like a '{kind}' file: its header line lacks {} \
             (found: {}; fields separated by {}).\nA '{kind}' file has a header line naming \
             its columns: {cols}",
            file.display(),
            missing.join(", "),
            if headers.iter().all(|h| h.is_empty()) {
                "nothing".to_string()
            } else {
                headers.join(", ")
            },
            delimiter_name(delimiter),
        ));
    }
    let mut rows = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    // Line numbers from byte offsets: the csv crate's own line count skips line breaks inside
    // quoted fields (an address typed with Alt+Enter), which would shift every later line.
    let (mut counted_to, mut line_no) = (0usize, 1usize);
    let mut line_at = |byte: u64| -> usize {
        // With CRLF the reader puts a record's start on the '\n' of the line before it.
        let mut byte = (byte as usize).min(bytes.len());
        while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
            byte += 1;
        }
        if byte > counted_to {
            line_no += bytes[counted_to..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted_to = byte;
        }
        line_no
    };
    for rec in reader.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| line_at(p.byte())).unwrap_or(0);
                if r.iter().all(str::is_empty) {
                    continue; // a blank line a spreadsheet left at the end
                }
                rows.push(json!({"line": line, "values": r.iter().collect::<Vec<_>>()}));
            }
            Err(e) => {
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
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
        "delimiter": (delimiter as char).to_string(),
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

pub struct ExportOpts<'a> {
    pub format: Option<&'a str>,
    pub out: Option<&'a Path>,
    /// CSV with a byte-order mark (Excel then reads it as UTF-8).
    pub excel: bool,
}

const FORMATS: &[&str] = &["csv", "xlsx", "pdf"];

/// The format: `--out`'s extension when it has a known one (a `--format` that disagrees is
/// refused), else `--format`, else csv.
pub fn resolve_format(format: Option<&str>, out: Option<&Path>) -> Result<String, String> {
    let ext = out
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = format.map(str::to_ascii_lowercase);
    if let Some(f) = &format {
        if !FORMATS.contains(&f.as_str()) {
            return Err(format!("--format must be csv, xlsx or pdf, not {f}"));
        }
    }
    match (ext, format) {
        (Some(e), Some(f)) if FORMATS.contains(&e.as_str()) && e != f => Err(format!(
            "--format {f} disagrees with --out's extension .{e}: name the file .{f}, or drop --format"
        )),
        (Some(e), _) if FORMATS.contains(&e.as_str()) => Ok(e),
        (Some(e), None) => Err(format!(
            "cannot tell the format from --out's extension .{e}: name the file .csv, .xlsx or .pdf, or give --format"
        )),
        (_, Some(f)) => Ok(f),
        (None, None) => Ok("csv".into()),
    }
}

pub fn export(
    cfg: &Config,
    g: &Global,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    opts: ExportOpts<'_>,
) -> Result<(), String> {
    let format = resolve_format(opts.format, opts.out)?;
    let report = super::reports::REPORTS.iter().any(|(k, _)| *k == kind);
    let plain = EXPORTERS.iter().any(|(k, _, _)| *k == kind);
    if format == "pdf" && !report {
        return Err(format!(
            "{kind} exports as csv or xlsx; pdf is for the printable summaries: {}",
            super::reports::REPORTS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !report && !plain {
        let mut kinds: Vec<&str> = EXPORTERS.iter().map(|(k, _, _)| *k).collect();
        kinds.extend(super::reports::REPORTS.iter().map(|(k, _)| *k));
        return Err(format!(
            "unknown export kind '{kind}': one of {}",
            kinds.join(", ")
        ));
    }
    if opts.excel && format != "csv" {
        return Err("--excel is for CSV files (XLSX opens in Excel as it is)".into());
    }
    let today =
        crate::domain::time::local_day(chrono::Utc::now(), cfg.site.timezone_offset_minutes)
            .to_string();
    let from = from.unwrap_or(&today).to_string();
    let to = to.unwrap_or(&from).to_string();
    for (name, d) in [("--from", &from), ("--to", &to)] {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            return Err(format!("{name} must be a date YYYY-MM-DD, not '{d}'"));
        }
    }
    let admin = Admin::connect(cfg)?;
    let path: PathBuf = opts
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{kind}-{from}-{to}.{format}")));
    let rows = if report {
        let rep = super::reports::build(cfg, &admin, kind, &from, &to)?;
        let rows = rep.row_count();
        match format.as_str() {
            "pdf" => super::reports::write_pdf(&rep, &path),
            "csv" => write_csv(&rep.flat(), &path, opts.excel),
            _ => write_xlsx_sheets(&rep.sheets(), &path),
        }
        .map(|()| rows)
    } else {
        let table = admin.call(
            "GET",
            &format!("/admin/export/{kind}?from={from}&to={to}"),
            None,
        )?;
        let table: Table = serde_json::from_value(table).map_err(|e| e.to_string())?;
        let rows = table.rows.len();
        match format.as_str() {
            "csv" => write_csv(&table, &path, opts.excel),
            _ => write_xlsx(&table, &path, kind),
        }
        .map(|()| rows)
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let d =
        json!({"kind": kind, "from": from, "to": to, "format": format, "file": path, "rows": rows});
    emit(g, &d, || {
        format!(
            "{rows} rows of {kind} from {from} to {to} written to {}",
            path.display()
        )
    })
}

fn write_csv(t: &Table, path: &Path, bom: bool) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    if bom {
        file.write_all(b"\xEF\xBB\xBF").map_err(|e| e.to_string())?;
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(if bom {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(file);
    w.write_record(&t.headers).map_err(|e| e.to_string())?;
    for r in &t.rows {
        w.write_record(crate::service::cells::csv_record(r))
            .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn write_xlsx(t: &Table, path: &Path, sheet: &str) -> Result<(), String> {
    write_xlsx_sheets(&[(sheet.to_string(), t.clone())], path)
}

/// One worksheet per table: a bold, frozen, filterable header row; dates and date-times as
/// real date cells, numbers as numbers, codes (IMEI, phone, ids, leading zeros) as text.
fn write_xlsx_sheets(sheets: &[(String, Table)], path: &Path) -> Result<(), String> {
    use rust_xlsxwriter::{Format, Workbook};
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let datetime_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (name, t) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(name)).map_err(e)?;
        for (c, h) in t.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)
                .map_err(e)?;
        }
        let text_cols: Vec<bool> = t.headers.iter().map(|h| is_code_column(h)).collect();
        for (r, row) in t.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                let cell = if text_cols.get(c as usize).copied().unwrap_or(false) {
                    Cell::Text
                } else {
                    classify(v)
                };
                match cell {
                    Cell::Date(d) => ws.write_datetime_with_format(r, c, &d, &date_fmt),
                    Cell::DateTime(d) => ws.write_datetime_with_format(r, c, &d, &datetime_fmt),
                    Cell::Number(n) => ws.write_number(r, c, n),
                    Cell::Text => crate::service::cells::xlsx_text(ws, r, c, v),
                }
                .map_err(e)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(e)?;
        let last_col = t.headers.len().saturating_sub(1) as u16;
        ws.autofilter(0, 0, t.rows.len() as u32, last_col)
            .map_err(e)?;
        ws.autofit();
    }
    wb.save(path).map_err(e)
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    clean.chars().take(31).collect()
}

enum Cell {
    Date(rust_xlsxwriter::ExcelDateTime),
    DateTime(rust_xlsxwriter::ExcelDateTime),
    Number(f64),
    Text,
}

/// Columns that hold codes, never numbers to sum: IMEI, phone numbers, ids, PINs, pass numbers.
fn is_code_column(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    let words: Vec<&str> = h
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    [
        "imei", "phone", "mobile", "pin", "number", "code", "lcode", "nik", "pan", "sn", "serial",
    ]
    .iter()
    .any(|k| words.contains(k))
        || h.ends_with("code")
        || h.ends_with("id")
        || h.ends_with("_no")
        || h.ends_with("slipno")
        || h == "id"
}

fn classify(v: &str) -> Cell {
    use rust_xlsxwriter::ExcelDateTime;
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r.clone()].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| v[r].parse::<u16>().unwrap_or(0);
    if b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
    {
        if let Ok(d) = ExcelDateTime::from_ymd(num(0..4), num(5..7) as u8, num(8..10) as u8) {
            if b.len() == 10 {
                return Cell::Date(d);
            }
            // 2026-11-23T07:05[:09][.123][Z|+05:30] or with a space: the wall time as written.
            if b.len() >= 16
                && (b[10] == b'T' || b[10] == b' ')
                && digits(11..13)
                && b[13] == b':'
                && digits(14..16)
            {
                let sec = if b.len() >= 19 && b[16] == b':' && digits(17..19) {
                    num(17..19)
                } else {
                    0
                };
                let rest_ok = {
                    let end = if b.len() >= 19 && b[16] == b':' {
                        19
                    } else {
                        16
                    };
                    let rest = &v[end..];
                    let rest = rest
                        .strip_prefix('.')
                        .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
                        .unwrap_or(rest);
                    rest.is_empty()
                        || rest == "Z"
                        || ((rest.starts_with('+') || rest.starts_with('-')) && rest.len() <= 6)
                };
                if rest_ok {
                    if let Ok(dt) = d.and_hms(num(11..13), num(14..16) as u8, sec) {
                        return Cell::DateTime(dt);
                    }
                }
            }
        }
        return Cell::Text;
    }
    // Numbers stay numbers so the spreadsheet can sum them; long digit strings (codes that
    // Excel would round) and leading zeros (009) stay text.
    let digit_count = v.chars().filter(char::is_ascii_digit).count();
    match v.parse::<f64>() {
        Ok(n)
            if n.is_finite()
                && digit_count <= 11
                && !v.contains(['e', 'E', 'i', 'I', 'n', 'N'])
                && !(v.len() > 1 && v.starts_with('0') && !v.starts_with("0."))
                && !v.starts_with('+') =>
        {
            Cell::Number(n)
        }
        _ => Cell::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter(b"code;name;\"a,b\",x"), b';');
        assert_eq!(detect_delimiter(b"code,name,sex"), b',');
        assert_eq!(detect_delimiter(b"code\tname"), b'\t');
        assert_eq!(detect_delimiter(b"code"), b',');
    }

    #[test]
    fn formats_follow_the_extension() {
        let p = |s: &'static str| Some(Path::new(s));
        assert_eq!(resolve_format(None, p("a.XLSX")).unwrap(), "xlsx");
        assert_eq!(resolve_format(Some("pdf"), p("a.pdf")).unwrap(), "pdf");
        assert!(resolve_format(Some("csv"), p("a.xlsx")).is_err());
        assert!(resolve_format(None, p("a.txt")).is_err());
        assert_eq!(resolve_format(Some("xlsx"), p("a.txt")).unwrap(), "xlsx");
        assert_eq!(resolve_format(None, None).unwrap(), "csv");
        assert!(resolve_format(Some("doc"), None).is_err());
    }

    #[test]
    fn cells_are_typed() {
        assert!(matches!(classify("2026-11-23"), Cell::Date(_)));
        assert!(matches!(
            classify("2026-11-23T07:05:09Z"),
            Cell::DateTime(_)
        ));
        assert!(matches!(classify("2026-11-23 07:05"), Cell::DateTime(_)));
        assert!(matches!(
            classify("2026-11-23T07:05:09+05:30"),
            Cell::DateTime(_)
        ));
        assert!(matches!(classify("2026-13-23"), Cell::Text));
        assert!(matches!(classify("12.5"), Cell::Number(_)));
        assert!(matches!(classify("009"), Cell::Text));
        assert!(matches!(classify("352099001761481"), Cell::Text));
        assert!(matches!(classify("NaN"), Cell::Text));
        assert!(is_code_column("imei"));
        assert!(is_code_column("employee_code"));
        assert!(is_code_column("lineID"));
        assert!(!is_code_column("netWeight"));
        assert!(!is_code_column("worked_hours"));
    }
}
