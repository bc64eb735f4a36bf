//! CSV/XLSX import and export (`gatehouse import|export`).

use std::path::Path;

use crate::cli::Global;
use crate::config::Config;

pub fn import_cli(_cfg: &Config, _g: &Global, kind: &str, _file: &Path) -> Result<(), String> {
    Err(format!(
        "import of '{kind}' is not available in this build yet"
    ))
}

pub fn export_cli(
    _cfg: &Config,
    _g: &Global,
    kind: &str,
    _from: Option<&str>,
    _to: Option<&str>,
    _format: &str,
    _out: Option<&Path>,
) -> Result<(), String> {
    Err(format!(
        "export of '{kind}' is not available in this build yet"
    ))
}
