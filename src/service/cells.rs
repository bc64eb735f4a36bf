//! Cells of exported spreadsheets (CSV and XLSX, every export and report): a text that starts
//! with `=`, `+`, `-`, `@`, tab or CR would be run as a formula by the spreadsheet that opens
//! it (CSV/DDE injection). Such a text is written so that no spreadsheet evaluates it; plain
//! numbers (`-12.5`) stay numbers.

use std::borrow::Cow;

/// True when a spreadsheet could take `v` for a formula.
pub fn is_formula_like(v: &str) -> bool {
    v.starts_with(['=', '+', '-', '@', '\t', '\r'])
        && !v.parse::<f64>().is_ok_and(|n| n.is_finite())
}

/// The text for a CSV cell: a formula-like text gets a leading `'`, which spreadsheets show
/// as text and never evaluate.
pub fn csv_cell(v: &str) -> Cow<'_, str> {
    if is_formula_like(v) {
        Cow::Owned(format!("'{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// A CSV record with every cell neutralised.
pub fn csv_record<S: AsRef<str>>(row: &[S]) -> Vec<String> {
    row.iter()
        .map(|c| csv_cell(c.as_ref()).into_owned())
        .collect()
}

/// Writes a text cell to an XLSX sheet: a formula-like text carries the quote-prefix style
/// (shown exactly as written, kept as text even when the cell is edited).
pub fn xlsx_text<'a>(
    ws: &'a mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    v: &str,
) -> Result<&'a mut rust_xlsxwriter::Worksheet, rust_xlsxwriter::XlsxError> {
    if is_formula_like(v) {
        let quoted = rust_xlsxwriter::Format::new().set_quote_prefix();
        ws.write_string_with_format(row, col, v, &quoted)
    } else {
        ws.write_string(row, col, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_texts_are_neutralised_and_numbers_kept() {
        for v in [
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "=HYPERLINK(\"x\")",
        ] {
            assert!(is_formula_like(v), "{v:?}");
            assert_eq!(csv_cell(v), format!("'{v}"));
        }
        for v in [
            "-12.5",
            "+7",
            "0",
            "",
            "Budi",
            "a=b",
            "2026-04-01",
            "'quoted",
        ] {
            assert!(!is_formula_like(v), "{v:?}");
            assert_eq!(csv_cell(v), v);
        }
    }
}
