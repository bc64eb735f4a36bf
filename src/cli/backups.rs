//! Backup files for technicians: unique timestamped names when `--out` is a folder,
//! `backup list`, `backup prune --keep N`, and the questions `restore` asks before it replaces
//! a live store. Names follow the scheduled backups' scheme (`gatehouse-<UTC time>.ghb`), so
//! list and prune see both.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::{json, Value};

use super::{emit, Global};
use crate::config::Config;
use crate::service::maintenance::{PREFIX, SUFFIX};

#[derive(Subcommand, Debug)]
pub enum BackupCmd {
    /// List the backup files in a folder, newest first.
    List {
        /// Folder to look in (default: the configured [backup] dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Delete all but the newest N backup files in a folder (only gatehouse-*.ghb files).
    Prune {
        /// How many of the newest backups to keep (at least 1).
        #[arg(long)]
        keep: usize,
        /// Folder to prune (default: the configured [backup] dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// The store lives in `<state>/store` (or, before its first start on this release, in sled's
/// `<state>/db`); without it there is nothing to administer.
pub fn require_store(state_dir: &Path) -> Result<(), String> {
    if crate::store::Store::exists(state_dir) {
        return Ok(());
    }
    Err(format!(
        "no gatehouse store in {}: check --state (or state_dir in the configuration); \
         nothing was created (only `gatehouse serve` creates a store)",
        state_dir.display()
    ))
}

/// A new backup file name for `now`: `gatehouse-20261202T071500Z.ghb`.
pub fn file_name(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", now.format("%Y%m%dT%H%M%SZ"))
}

/// Where `backup --out` writes: a folder gets a new timestamped file that does not exist yet.
pub fn target(out: &Path) -> Result<PathBuf, String> {
    if !out.is_dir() {
        return Ok(out.to_path_buf());
    }
    // Two backups in the same second: wait for the next second rather than overwrite.
    for _ in 0..3 {
        let p = out.join(file_name(chrono::Utc::now()));
        if !p.exists() {
            return Ok(p);
        }
        std::thread::sleep(std::time::Duration::from_millis(1000));
    }
    Err(format!(
        "{}: could not find a free backup name",
        out.display()
    ))
}

fn folder(cfg: &Config, dir: Option<PathBuf>) -> Result<PathBuf, String> {
    match dir {
        Some(d) => Ok(d),
        None if !cfg.backup.dir.as_os_str().is_empty() => Ok(cfg.backup.dir.clone()),
        None => Err("no folder: give --dir, or set [backup] dir in the configuration".into()),
    }
}

/// Backup files in `dir`, newest first: (name, bytes, modified unix seconds).
fn files(dir: &Path) -> Result<Vec<(String, u64, i64)>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<(String, u64, i64)> = rd
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
                return None;
            }
            let md = e.metadata().ok()?;
            let modified = md
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Some((name, md.len(), modified))
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(out)
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

pub fn run(cfg: &Config, g: &Global, cmd: BackupCmd) -> Result<(), String> {
    let now = chrono::Utc::now().timestamp();
    match cmd {
        BackupCmd::List { dir } => {
            let dir = folder(cfg, dir)?;
            let list = files(&dir)?;
            let d: Value = json!({
                "dir": dir,
                "backups": list.iter().map(|(n, b, m)| json!({
                    "file": n, "bytes": b, "modified_unix": m, "age_secs": now - m,
                })).collect::<Vec<_>>(),
            });
            emit(g, &d, || {
                if list.is_empty() {
                    return format!("no backups in {}", dir.display());
                }
                let mut s = format!("{} backup(s) in {}:", list.len(), dir.display());
                for (n, b, m) in &list {
                    s.push_str(&format!("\n  {n}  {:>12} bytes  {}", b, age(now - m)));
                }
                s
            })
        }
        BackupCmd::Prune { keep, dir } => {
            if keep == 0 {
                return Err("--keep must be at least 1: prune never deletes every backup".into());
            }
            let dir = folder(cfg, dir)?;
            let list = files(&dir)?;
            let mut removed = Vec::new();
            for (n, _, _) in list.iter().skip(keep) {
                let p = dir.join(n);
                std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                removed.push(n.clone());
            }
            let kept: Vec<&String> = list.iter().take(keep).map(|(n, _, _)| n).collect();
            let d = json!({"dir": dir, "kept": kept, "removed": removed});
            emit(g, &d, || {
                format!(
                    "{} backup(s) removed, {} kept in {}",
                    removed.len(),
                    kept.len(),
                    dir.display()
                )
            })
        }
    }
}

/// Before `restore`: the file must be a sound backup, and a live store is replaced only when
/// the operator says so (`--yes`, or "yes" typed on the terminal). Returns whether a live
/// store exists (it is then kept beside the new one).
pub fn confirm_restore(cfg: &Config, from: &Path, yes: bool) -> Result<bool, String> {
    crate::store::backup::verify(from)
        .map_err(|e| format!("restore from {}: {e}", from.display()))?;
    if !crate::store::Store::exists(&cfg.state_dir) {
        return Ok(false);
    }
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "{} holds a live store and there is no terminal to ask on: run with --yes to replace \
             it (it is kept as {}/store.before-restore-<time>)",
            cfg.state_dir.display(),
            cfg.state_dir.display()
        ));
    }
    eprint!(
        "Replace the store in {} with {}?\nThe current store is kept as store.before-restore-<time> \
         beside it. Type yes to go on: ",
        cfg.state_dir.display(),
        from.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "yes" | "y") {
        Ok(true)
    } else {
        Err("restore cancelled; nothing was changed".into())
    }
}

/// The store a restore just set aside (the newest `store.before-restore-*`).
pub fn previous_store(state_dir: &Path) -> Option<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(state_dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("store.before-restore-"))
        .collect();
    // store.before-restore-<stamp>[-<n>]: by stamp, then by n (a second restore in one second).
    let key = |n: &String| {
        let rest = n.trim_start_matches("store.before-restore-");
        let (stamp, k) = rest.split_once('-').unwrap_or((rest, "1"));
        (stamp.to_string(), k.parse::<u32>().unwrap_or(0))
    };
    names.sort_by_key(key);
    names.pop().map(|n| state_dir.join(n))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backup_names_sort_by_time() {
        use chrono::TimeZone;
        let a = super::file_name(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 7, 5, 9).unwrap());
        let b = super::file_name(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 17, 0, 0).unwrap());
        assert_eq!(a, "gatehouse-20261202T070509Z.ghb");
        assert!(a < b);
    }
}
