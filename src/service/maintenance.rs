//! Backups (on demand and scheduled, with rotation), the backup log the dashboard shows, and
//! restores staged from the console: the server checks the file, leaves a marker and restarts;
//! the next start restores before it opens the store.

use std::path::{Path, PathBuf};

use super::{Result, ServiceError, Services};
pub use crate::store::backup::BackupLog;
use crate::store::backup::{self, BackupSummary};
use crate::store::{Op, Record, Store, StoreOptions};

const LAST: &[u8] = b"last";
pub const PREFIX: &str = "gatehouse-";
pub const SUFFIX: &str = ".ghb";
/// Name of the marker left by a staged restore, in the state directory.
pub const RESTORE_MARKER: &str = "restore.pending";

pub fn last_backup(store: &Store) -> Result<Option<BackupLog>> {
    Ok(store.get::<BackupLog>(LAST)?)
}

fn log(store: &Store, entry: &BackupLog) -> Result<()> {
    // Written outside the writer lock on purpose: a backup may take a while and the log is not
    // an acknowledged client write.
    store.apply(&[Op {
        tree: BackupLog::TREE.into(),
        key: LAST.to_vec(),
        value: Some(crate::store::codec::encode(entry)),
    }])?;
    Ok(())
}

/// Writes a backup to `out` and records the attempt (success or failure).
pub async fn backup_now(svc: &Services, out: PathBuf, scheduled: bool) -> Result<BackupSummary> {
    if out.exists() {
        // Never replaced silently: a backup is the one copy someone may be counting on.
        return Err(ServiceError::conflict(format!(
            "{} already exists: choose another name or remove it first",
            out.display()
        )));
    }
    let store = svc.store.clone();
    let target = out.clone();
    let result = tokio::task::spawn_blocking(move || backup::backup(&store, &target))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let entry = BackupLog {
        at_unix: svc.now_unix(),
        file: out.display().to_string(),
        ok: result.is_ok(),
        bytes: result.as_ref().map(|s| s.bytes).unwrap_or(0),
        error: result
            .as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        scheduled,
    };
    log(&svc.store, &entry)?;
    svc.store.durable().await?;
    result.map_err(|e| ServiceError::Internal(format!("backup to {}: {e}", out.display())))
}

/// One scheduled backup into `config.backup.dir`, then rotation down to `config.backup.keep`.
pub async fn scheduled_backup(svc: &Services) -> Result<Option<BackupSummary>> {
    let dir = svc.config.backup.dir.clone();
    if dir.as_os_str().is_empty() {
        return Ok(None);
    }
    let name = format!(
        "{PREFIX}{}{SUFFIX}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let summary = backup_now(svc, dir.join(name), true).await?;
    let removed = rotate(&dir, svc.config.backup.keep.max(1))
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    tracing::info!(file = %summary.file.display(), bytes = summary.bytes, removed, "scheduled backup written");
    Ok(Some(summary))
}

/// Keeps the newest `keep` scheduled backups in `dir` (by name, which sorts by time).
pub fn rotate(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for n in &names[..excess] {
        std::fs::remove_file(dir.join(n))?;
    }
    Ok(excess)
}

/// Seconds until the next scheduled backup is due, from the log.
pub fn next_backup_in(svc: &Services) -> i64 {
    let every = (svc.config.backup.every_hours.max(1) * 3600) as i64;
    match last_backup(&svc.store)
        .ok()
        .flatten()
        .filter(|l| l.scheduled)
    {
        Some(l) if l.ok => (l.at_unix + every - svc.now_unix()).max(0),
        // A failed attempt (USB stick pulled) is retried in 15 minutes, not every minute.
        Some(l) => (l.at_unix + 900 - svc.now_unix()).max(0),
        None => 0,
    }
}

/// Checks a backup file and stages it: the next start of the server restores it.
pub fn stage_restore(svc: &Services, from: &Path) -> Result<()> {
    backup::verify(from).map_err(|e| {
        ServiceError::invalid("from", "field.format", vec![("expected", e.to_string())])
    })?;
    let marker = svc.store.state_dir().join(RESTORE_MARKER);
    std::fs::write(&marker, from.display().to_string())
        .map_err(|e| ServiceError::Internal(format!("{}: {e}", marker.display())))?;
    tracing::warn!(file = %from.display(), "restore staged; the server restarts to apply it");
    Ok(())
}

/// Called by `serve` before it opens the store: applies a staged restore, if any.
pub fn apply_staged_restore(
    state_dir: &Path,
    opts: StoreOptions,
) -> std::result::Result<Option<String>, String> {
    let marker = state_dir.join(RESTORE_MARKER);
    let Ok(from) = std::fs::read_to_string(&marker) else {
        return Ok(None);
    };
    // Remove the marker first: a restore that fails must not loop the service forever.
    std::fs::remove_file(&marker).map_err(|e| format!("{}: {e}", marker.display()))?;
    let report = backup::restore(Path::new(from.trim()), state_dir, opts)
        .map_err(|e| format!("staged restore from {from}: {e}"))?;
    if !report.ok() {
        return Err(format!(
            "staged restore from {from}: check failed: {}",
            report.errors.join("; ")
        ));
    }
    Ok(Some(from))
}

const FIRST_RUN_KEY: &[u8] = b"credentials";
const FIRST_RUN_CONTEXT: &[u8] = b"first-run";

/// Where the first-run credentials wait for the console: a file of mode 0600 in the state
/// directory, never stdout or the journal (which keep them for ever).
pub const FIRST_RUN_FILE: &str = "first-run-credentials.txt";

/// Writes the first-run credentials to `<state>/first-run-credentials.txt` (0600 exactly,
/// whatever the umask); returns its path, which is all a log line may name.
pub fn keep_first_run_notice(svc: &Services, text: &str) -> Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = svc.store.state_dir().join(FIRST_RUN_FILE);
    let io = |e: std::io::Error| ServiceError::Internal(format!("{}: {e}", path.display()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io)?;
    f.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(path)
}

/// The first-run credentials, once: taking them deletes the file (and any notice an older
/// version kept sealed in the store).
pub async fn take_first_run_notice(svc: &Services) -> Result<Option<String>> {
    let path = svc.store.state_dir().join(FIRST_RUN_FILE);
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => {
            std::fs::remove_file(&path)
                .map_err(|e| ServiceError::Internal(format!("{}: {e}", path.display())))?;
            Some(t.trim_end().to_string())
        }
        Err(_) => None,
    };
    let mut tx = svc.store.begin().await;
    if let Some(notice) = tx.get::<crate::domain::appliance::FirstRunNotice>(FIRST_RUN_KEY)? {
        tx.delete::<crate::domain::appliance::FirstRunNotice>(FIRST_RUN_KEY);
        if text.is_none() {
            text = svc
                .secrets
                .open(&notice.sealed_text, FIRST_RUN_CONTEXT)
                .map(|b| String::from_utf8_lossy(&b).into_owned());
        }
    }
    tx.commit().await?;
    Ok(text)
}

/// Decodes every stored value and re-hashes every blob (off the async threads).
pub async fn check(svc: &Services) -> Result<crate::store::schema::CheckReport> {
    let store = svc.store.clone();
    Ok(
        tokio::task::spawn_blocking(move || crate::store::schema::check(&store))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??,
    )
}

/// True while the store answers reads: its schema record, through the cache of hot records
/// (a probe many times a second re-reads it only after the tree was written; a storage fault
/// is reported by `storage::current`, which /healthz checks beside this).
pub fn healthy(svc: &Services) -> bool {
    crate::store::schema::readable(&svc.store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest_and_ignores_other_files() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "gatehouse-20260101T000000Z.ghb",
            "gatehouse-20260102T000000Z.ghb",
            "gatehouse-20260103T000000Z.ghb",
            "notes.txt",
        ] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        assert_eq!(rotate(d.path(), 2).unwrap(), 1);
        let mut left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                "gatehouse-20260102T000000Z.ghb",
                "gatehouse-20260103T000000Z.ghb",
                "notes.txt"
            ]
        );
    }
}
