//! The printed gate pass: a slip with the pass number as a QR code and a Code 128 barcode (a
//! guard's USB scanner reads either and types the number), the holder, vehicle, items, validity
//! and the issuing guard. Rendered as a PDF (printpdf, built-in Helvetica, every bar and QR
//! module a filled rectangle: no images, no fonts to embed) for CUPS or a file, and as ESC/POS
//! bytes for a raw receipt printer (the printer draws QR and barcode itself: sharper at 203 dpi).
//!
//! Sending it somewhere (`print`) follows `[print]`: `pdf` saves a file, `cups` runs
//! `lp -d <printer> <file>`, `escpos` writes to a device such as /dev/usb/lp0 or /dev/ttyUSB0.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::domain::gatepass::{fmt_qty, Gatepass, Subject};
use crate::service::{Result, ServiceError, Services};

/// What a slip says, in the order it is printed. Built from a pass; plain text only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slip {
    pub site: String,
    pub number: String,
    pub kind: String,
    /// (label, value) lines: holder, vehicle, host, purpose ...
    pub lines: Vec<(String, String)>,
    /// One entry per item: "Knapsack sprayer 2 pcs".
    pub items: Vec<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub issued_by: String,
}

/// Text the built-in PDF fonts and a receipt printer's code page both can show: ASCII, with
/// anything else as '?', control characters as spaces.
fn plain(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_control() => ' ',
            _ => '?',
        })
        .collect()
}

pub fn slip_of(svc: &Services, p: &Gatepass) -> Slip {
    let c = &p.content;
    let mut lines = Vec::new();
    let mut add = |label: &str, v: &str| {
        if !v.trim().is_empty() {
            lines.push((label.to_string(), plain(v)));
        }
    };
    match &c.subject {
        Subject::Visitor(v) => {
            add("Holder", &v.name);
            add("Phone", &v.phone);
            if let Some(id) = &v.id_document {
                add("ID", &format!("{} {}", id.kind, id.number));
            }
        }
        Subject::Vehicle(v) => {
            add("Vehicle", &v.number);
            add("Driver", &v.driver);
            add("Load", &v.load);
        }
        Subject::Material(m) => {
            add("Holder", &m.carrier);
            add("Vehicle", m.vehicle.as_deref().unwrap_or(""));
            if let Some(d) = m.return_due {
                add("Return by", &d.format("%Y-%m-%d").to_string());
            }
        }
        Subject::LabourExit(l) => {
            add("Labourer", &l.name);
            add("Code", &l.lcode);
        }
    }
    add("Host", &c.host);
    add("Purpose", &c.purpose);
    let items = c
        .material()
        .map(|m| {
            m.items
                .iter()
                .map(|i| plain(&format!("{} {} {}", i.name, fmt_qty(i.qty), i.unit)))
                .collect()
        })
        .unwrap_or_default();
    let t = |u: i64| super::local_time(svc, u)[..16].to_string();
    Slip {
        site: plain(&svc.config.site.name),
        number: p.number.as_str().to_string(),
        kind: p.kind().as_str().to_string(),
        lines,
        items,
        valid_from: t(p.issued.at_unix),
        valid_until: t(p.valid_until_unix),
        issued_by: plain(&format!("{} at {}", p.issued.guard, p.issued.gate)),
    }
}

// ---- Code 128 (set B: every printable ASCII character; pass numbers are ASCII) ----

/// Bar/space widths of the 107 Code 128 symbols (ISO/IEC 15417); 106 is the stop (7 elements).
const CODE128: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];
const START_B: usize = 104;
const STOP: usize = 106;

/// The bars of `text` in Code 128 B: alternating bar/space widths in modules, bar first.
/// `None` when a character is outside printable ASCII.
pub fn code128(text: &str) -> Option<Vec<u8>> {
    let mut values = vec![START_B];
    for b in text.bytes() {
        if !(32..=126).contains(&b) {
            return None;
        }
        values.push((b - 32) as usize);
    }
    let check = values
        .iter()
        .enumerate()
        .map(|(i, v)| if i == 0 { *v } else { v * i })
        .sum::<usize>()
        % 103;
    values.push(check);
    values.push(STOP);
    Some(
        values
            .iter()
            .flat_map(|v| CODE128[*v].bytes().map(|d| d - b'0'))
            .collect(),
    )
}

/// The QR code of `text`: its side in modules and the dark modules, row by row.
pub fn qr(text: &str) -> Result<(usize, Vec<bool>)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ServiceError::Internal(format!("QR code: {e}")))?;
    let w = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((w, dark))
}

// ---- PDF ----

const PAGE_W: f32 = 80.0;
const MARGIN: f32 = 5.0;
const LINE: f32 = 4.6;
/// Characters of 9 pt Helvetica that fit a line of the slip (conservatively).
const COLS: usize = 38;

/// Splits `s` into lines of at most `cols` characters, at spaces where it can.
fn wrap(s: &str, cols: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > cols {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(cols).collect();
            word = word.chars().skip(cols).collect();
            out.push(head);
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > cols {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The text lines below the codes, each already wrapped.
fn body_lines(s: &Slip) -> Vec<(bool, String)> {
    let mut out = vec![];
    for (label, v) in &s.lines {
        for l in wrap(&format!("{label}: {v}"), COLS) {
            out.push((false, l));
        }
    }
    if !s.items.is_empty() {
        out.push((true, format!("Items ({})", s.items.len())));
        for it in &s.items {
            for l in wrap(&format!("- {it}"), COLS) {
                out.push((false, l));
            }
        }
    }
    out.push((true, "Valid".into()));
    out.push((false, format!("from {}", s.valid_from)));
    out.push((false, format!("until {}", s.valid_until)));
    for l in wrap(&format!("Issued by {}", s.issued_by), COLS) {
        out.push((false, l));
    }
    out
}

/// The slip as a one-page PDF, 80 mm wide (a receipt roll or cut from A4), as tall as it needs.
pub fn pdf(s: &Slip) -> Result<Vec<u8>> {
    use printpdf::{BuiltinFont, CustomPdfConformance, Mm, PdfConformance, PdfDocument, Rect};
    let (qr_side, dark) = qr(&s.number)?;
    let bars = code128(&s.number)
        .ok_or_else(|| ServiceError::Internal("the pass number is not printable ASCII".into()))?;
    let text = body_lines(s);
    let qr_mm = 40.0f32;
    let bar_h = 12.0f32;
    let height = MARGIN * 2.0 + 14.0 + qr_mm + 4.0 + bar_h + 10.0 + LINE * text.len() as f32;
    let (doc, page, layer) = PdfDocument::new(
        format!("Gate pass {}", s.number),
        Mm(PAGE_W),
        Mm(height),
        "slip",
    );
    let doc = doc.with_conformance(PdfConformance::Custom(CustomPdfConformance {
        requires_icc_profile: false,
        requires_xmp_metadata: false,
        ..Default::default()
    }));
    let err = |e: printpdf::Error| ServiceError::Internal(format!("PDF: {e}"));
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(err)?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(err)?;
    let l = doc.get_page(page).get_layer(layer);
    // y runs down from the top edge.
    let mut y = height - MARGIN;
    y -= 4.5;
    l.use_text(
        format!("{} - GATE PASS", s.site),
        11.0,
        Mm(MARGIN),
        Mm(y),
        &bold,
    );
    y -= 6.0;
    l.use_text(
        format!("{}  ({})", s.number, s.kind),
        12.0,
        Mm(MARGIN),
        Mm(y),
        &bold,
    );
    y -= 3.5;
    // QR: a 4-module quiet zone on each side, centred.
    let module = qr_mm / (qr_side as f32 + 8.0);
    let left = (PAGE_W - qr_mm) / 2.0 + 4.0 * module;
    let top = y - 4.0 * module;
    for (i, d) in dark.iter().enumerate() {
        if *d {
            let (cx, cy) = ((i % qr_side) as f32, (i / qr_side) as f32);
            let x0 = left + cx * module;
            let y1 = top - cy * module;
            l.add_rect(Rect::new(Mm(x0), Mm(y1 - module), Mm(x0 + module), Mm(y1)));
        }
    }
    y -= qr_mm + 4.0;
    // Code 128: 10-module quiet zones, scaled to the slip's width.
    let modules: u32 = bars.iter().map(|w| u32::from(*w)).sum::<u32>() + 20;
    let unit = ((PAGE_W - 2.0 * MARGIN) / modules as f32).min(0.5);
    let mut x = (PAGE_W - unit * modules as f32) / 2.0 + 10.0 * unit;
    for (i, w) in bars.iter().enumerate() {
        let wmm = unit * f32::from(*w);
        if i % 2 == 0 {
            l.add_rect(Rect::new(Mm(x), Mm(y - bar_h), Mm(x + wmm), Mm(y)));
        }
        x += wmm;
    }
    y -= bar_h + 4.0;
    l.use_text(s.number.clone(), 9.0, Mm(MARGIN), Mm(y), &regular);
    y -= 6.0;
    for (strong, line) in &text {
        l.use_text(
            line.clone(),
            9.0,
            Mm(MARGIN),
            Mm(y),
            if *strong { &bold } else { &regular },
        );
        y -= LINE;
    }
    doc.save_to_bytes().map_err(err)
}

// ---- ESC/POS ----

/// The slip for a raw receipt printer: text, then the printer's own QR (GS ( k) and Code 128
/// (GS k 73) of the pass number, then a feed and a cut.
pub fn escpos(s: &Slip) -> Vec<u8> {
    let mut b: Vec<u8> = Vec::new();
    let line = |b: &mut Vec<u8>, t: &str| {
        b.extend_from_slice(plain(t).as_bytes());
        b.push(b'\n');
    };
    b.extend_from_slice(&[0x1b, b'@']); // initialise
    b.extend_from_slice(&[0x1b, b'a', 1]); // centre
    b.extend_from_slice(&[0x1b, b'E', 1]);
    line(&mut b, &format!("{} - GATE PASS", s.site));
    line(&mut b, &format!("{} ({})", s.number, s.kind));
    b.extend_from_slice(&[0x1b, b'E', 0]);
    // QR, model 2, module size 6, error correction M.
    let data = s.number.as_bytes();
    let n = data.len() + 3;
    b.extend_from_slice(&[0x1d, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0]);
    b.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, 0x31, 0x43, 6]);
    b.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, 0x31, 0x45, 0x31]);
    b.extend_from_slice(&[
        0x1d,
        b'(',
        b'k',
        (n & 0xff) as u8,
        (n >> 8) as u8,
        0x31,
        0x50,
        0x30,
    ]);
    b.extend_from_slice(data);
    b.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
    b.push(b'\n');
    // Code 128 set B, 80 dots high, text below.
    b.extend_from_slice(&[0x1d, b'h', 80, 0x1d, b'w', 2, 0x1d, b'H', 2]);
    let code: Vec<u8> = [b'{', b'B'].iter().chain(data).copied().collect();
    b.extend_from_slice(&[0x1d, b'k', 73, code.len().min(255) as u8]);
    b.extend_from_slice(&code[..code.len().min(255)]);
    b.push(b'\n');
    b.extend_from_slice(&[0x1b, b'a', 0]); // left
    for (label, v) in &s.lines {
        line(&mut b, &format!("{label}: {v}"));
    }
    if !s.items.is_empty() {
        line(&mut b, &format!("Items ({}):", s.items.len()));
        for it in &s.items {
            line(&mut b, &format!("- {it}"));
        }
    }
    line(&mut b, &format!("Valid from {}", s.valid_from));
    line(&mut b, &format!("      until {}", s.valid_until));
    line(&mut b, &format!("Issued by {}", s.issued_by));
    b.extend_from_slice(b"\n\n\n");
    b.extend_from_slice(&[0x1d, b'V', 66, 0]); // feed and cut
    b
}

// ---- sending it ----

/// Where a slip went.
#[derive(Debug, Clone, Serialize)]
pub struct Printed {
    /// `pdf`, `cups` or `escpos`.
    pub mode: String,
    /// The PDF written (pdf, cups).
    pub file: Option<String>,
    /// The CUPS printer or the device written to.
    pub printer: Option<String>,
    pub bytes: usize,
}

/// A slip that could not go out (no device, printer refused, disk full): a conflict with the
/// reason, not a server fault.
fn print_failed(detail: String) -> ServiceError {
    ServiceError::Conflict {
        key: "gatepass.print.failed",
        args: vec![("detail", detail)],
    }
}

fn slips_dir(svc: &Services) -> PathBuf {
    let d = &svc.config.print.pdf_dir;
    if d.as_os_str().is_empty() {
        svc.store.state_dir().join("slips")
    } else {
        d.clone()
    }
}

/// Writes `bytes` to `path` durably (temp file, fsync, rename).
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| print_failed(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("pdf.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// The default file of a pass's slip: `<pdf_dir>/gatepass-<number>.pdf` ('/' in handheld
/// numbers becomes '_').
pub fn default_file(svc: &Services, number: &str) -> PathBuf {
    slips_dir(svc).join(format!("gatepass-{}.pdf", number.replace('/', "_")))
}

/// Sends the slip where `[print]` says, or saves the PDF to `file` when one is given
/// (`save` = a file even when a printer is configured). Blocking: call off the async workers.
pub fn print(svc: &Services, s: &Slip, save: bool, file: Option<PathBuf>) -> Result<Printed> {
    let cfg = &svc.config.print;
    let mode = if save || file.is_some() {
        "pdf"
    } else {
        cfg.mode.as_str()
    };
    match mode {
        "escpos" => {
            if cfg.device.is_empty() {
                return Err(print_failed(
                    "print.mode is escpos but print.device is empty".into(),
                ));
            }
            let bytes = escpos(s);
            let mut dev = std::fs::OpenOptions::new()
                .write(true)
                .open(&cfg.device)
                .map_err(|e| print_failed(format!("{}: {e}", cfg.device)))?;
            dev.write_all(&bytes)
                .and_then(|_| dev.flush())
                .map_err(|e| print_failed(format!("{}: {e}", cfg.device)))?;
            Ok(Printed {
                mode: "escpos".into(),
                file: None,
                printer: Some(cfg.device.clone()),
                bytes: bytes.len(),
            })
        }
        "cups" => {
            let bytes = pdf(s)?;
            let path = default_file(svc, &s.number);
            write_file(&path, &bytes)?;
            let mut cmd = std::process::Command::new(&cfg.lp_command);
            if !cfg.cups_printer.is_empty() {
                cmd.arg("-d").arg(&cfg.cups_printer);
            }
            let out = cmd
                .arg(&path)
                .output()
                .map_err(|e| print_failed(format!("{}: {e}", cfg.lp_command)))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Err(print_failed(format!(
                    "{} refused the slip: {err}",
                    cfg.lp_command
                )));
            }
            Ok(Printed {
                mode: "cups".into(),
                file: Some(path.display().to_string()),
                printer: Some(cfg.cups_printer.clone()),
                bytes: bytes.len(),
            })
        }
        _ => {
            let bytes = pdf(s)?;
            let path = file.unwrap_or_else(|| default_file(svc, &s.number));
            write_file(&path, &bytes)?;
            Ok(Printed {
                mode: "pdf".into(),
                file: Some(path.display().to_string()),
                printer: None,
                bytes: bytes.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip() -> Slip {
        Slip {
            site: "Kebun Satu".into(),
            number: "GP-20261123-0001".into(),
            kind: "material".into(),
            lines: vec![("Holder".into(), "Pak Joko".into())],
            items: vec!["urea 2 bags".into(), "pump 1 pc".into()],
            valid_from: "2026-11-23 08:00".into(),
            valid_until: "2026-11-23 20:00".into(),
            issued_by: "Siti at Main gate".into(),
        }
    }

    #[test]
    fn code128_has_start_checksum_and_stop() {
        // "PJJ123C", the usual worked example: 54 in set A (start 103), so 55 in set B.
        let bars = code128("PJJ123C").unwrap();
        let symbols = (bars.len() - 7) / 6;
        assert_eq!(symbols, 1 + 7 + 1, "start, 7 characters, check");
        assert_eq!(&bars[..6], &[2, 1, 1, 2, 1, 4], "start B");
        let check: Vec<u8> = CODE128[55].bytes().map(|d| d - b'0').collect();
        assert_eq!(&bars[48..54], check.as_slice());
        assert_eq!(&bars[bars.len() - 7..], &[2, 3, 3, 1, 1, 1, 2], "stop");
        // Every symbol is 11 modules wide, the stop 13.
        assert_eq!(bars.iter().map(|b| *b as u32).sum::<u32>(), 11 * 9 + 13);
        assert!(code128("é").is_none());
    }

    #[test]
    fn the_pdf_and_the_receipt_carry_the_number_and_every_item() {
        let s = slip();
        let p = pdf(&s).unwrap();
        assert!(p.starts_with(b"%PDF-"));
        let e = escpos(&s);
        let text = String::from_utf8_lossy(&e);
        assert!(text.contains("- urea 2 bags\n- pump 1 pc\n"), "{text}");
        // The QR store command carries the number, and so does the barcode.
        assert!(text.contains("1P0GP-20261123-0001"), "{text}");
        assert!(text.contains("{BGP-20261123-0001"), "{text}");
        assert_eq!(&e[e.len() - 4..], &[0x1d, b'V', 66, 0], "ends with a cut");
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap(&"x".repeat(9), 4).len(), 3);
        assert_eq!(plain("Bü\u{7}"), "B? ");
    }
}
