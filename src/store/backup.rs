//! Online backup to one file, and restore from it.
//!
//! Format: `GATEHOUSE-BACKUP\n`, u32 format, u32 schema version, then records
//! (1 = tree entry: u16 name, u32 key, u32 value; 2 = blob: 64-byte id, u64 length, bytes),
//! then 0 and the SHA-256 of everything before it. Restore checks that digest before it
//! touches anything, so a truncated or corrupted file (a pulled USB stick) is refused whole.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ring::digest::{Context, SHA256};
use serde::Serialize;

use super::{schema, Op, Result, Store, StoreError, StoreOptions};

const MAGIC: &[u8] = b"GATEHOUSE-BACKUP\n";
const FORMAT: u32 = 1;
/// Files beside the database that a restore needs.
const STATE_FILES: &[&str] = &["master.key"];

struct HashingWriter<W: Write> {
    inner: W,
    ctx: Context,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The last backup attempt (tree `backup_log`), shown on the dashboard.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BackupLog {
    pub at_unix: i64,
    pub file: String,
    pub ok: bool,
    pub bytes: u64,
    pub error: String,
    pub scheduled: bool,
}

impl super::Record for BackupLog {
    const TREE: &'static str = "backup_log";
}

#[derive(Debug, Serialize, Clone)]
pub struct BackupSummary {
    pub file: PathBuf,
    pub entries: u64,
    pub blobs: u64,
    pub bytes: u64,
    pub schema_version: u32,
    pub sha256: String,
}

/// Writes a backup of the live store to `out` (via a temp file, fsynced, renamed).
pub fn backup(store: &Store, out: &Path) -> Result<BackupSummary> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let tmp = out.with_extension("partial");
    let schema_version = schema::current(store)?
        .map(|m| m.version)
        .unwrap_or(schema::SCHEMA_VERSION);
    let mut w = HashingWriter {
        inner: BufWriter::new(File::create(&tmp)?),
        ctx: Context::new(&SHA256),
    };
    w.write_all(MAGIC)?;
    w.write_all(&FORMAT.to_be_bytes())?;
    w.write_all(&schema_version.to_be_bytes())?;
    let (mut entries, mut blobs) = (0u64, 0u64);
    let mut names = store.engine().tree_names();
    names.sort();
    for name in &names {
        for item in store.engine().scan(name, b"")? {
            let (k, v) = item?;
            w.write_all(&[1])?;
            w.write_all(&(name.len() as u16).to_be_bytes())?;
            w.write_all(name.as_bytes())?;
            w.write_all(&(k.len() as u32).to_be_bytes())?;
            w.write_all(&k)?;
            w.write_all(&(v.len() as u32).to_be_bytes())?;
            w.write_all(&v)?;
            entries += 1;
        }
    }
    for id in store.blobs().list()? {
        let bytes = store.blobs().get(&id)?;
        w.write_all(&[2])?;
        w.write_all(id.as_str().as_bytes())?;
        w.write_all(&(bytes.len() as u64).to_be_bytes())?;
        w.write_all(&bytes)?;
        blobs += 1;
    }
    // State files outside the database (the master key that seals client keys).
    for name in STATE_FILES {
        if let Ok(bytes) = fs::read(store.state_dir().join(name)) {
            w.write_all(&[3])?;
            w.write_all(&(name.len() as u16).to_be_bytes())?;
            w.write_all(name.as_bytes())?;
            w.write_all(&(bytes.len() as u64).to_be_bytes())?;
            w.write_all(&bytes)?;
        }
    }
    w.write_all(&[0])?;
    let digest = w.ctx.clone().finish();
    let mut inner = w.inner;
    inner.write_all(digest.as_ref())?;
    let file = inner
        .into_inner()
        .map_err(|e| StoreError::Io(e.to_string()))?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, out)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(BackupSummary {
        file: out.to_path_buf(),
        entries,
        blobs,
        bytes: fs::metadata(out)?.len(),
        schema_version,
        sha256: hex::encode(digest.as_ref()),
    })
}

/// Checks a backup file's digest without restoring it.
pub fn verify(path: &Path) -> Result<()> {
    verify_digest(path)
}

fn verify_digest(path: &Path) -> Result<()> {
    let len = fs::metadata(path)?.len();
    if len < (MAGIC.len() + 8 + 1 + 32) as u64 {
        return Err(StoreError::Schema(
            "backup file is too short to be a gatehouse backup".into(),
        ));
    }
    let mut r = BufReader::new(File::open(path)?);
    let mut ctx = Context::new(&SHA256);
    let mut remaining = len - 32;
    let mut buf = vec![0u8; 1 << 16];
    while remaining > 0 {
        let n = r.read(&mut buf[..remaining.min(1 << 16) as usize])?;
        if n == 0 {
            return Err(StoreError::Schema("backup file ended early".into()));
        }
        ctx.update(&buf[..n]);
        remaining -= n as u64;
    }
    let mut want = [0u8; 32];
    r.read_exact(&mut want)?;
    crate::domain::credentials::ct_eq(ctx.finish().as_ref(), &want)
        .then_some(())
        .ok_or_else(|| StoreError::Schema("backup file is corrupt (checksum mismatch)".into()))
}

fn read_u32(r: &mut impl Read) -> Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn read_vec(r: &mut impl Read, n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// Restores `from` into `state_dir` (no server may be running on it). The current database is
/// kept beside it as `db.before-restore-<time>` until the operator deletes it.
pub fn restore(
    from: &Path,
    state_dir: &Path,
    opts: StoreOptions,
) -> Result<super::schema::CheckReport> {
    verify_digest(from)?;
    let mut r = BufReader::new(File::open(from)?);
    let magic = read_vec(&mut r, MAGIC.len())?;
    if magic != MAGIC {
        return Err(StoreError::Schema("not a gatehouse backup file".into()));
    }
    let format = read_u32(&mut r)?;
    if format != FORMAT {
        return Err(StoreError::Schema(format!(
            "backup format {format} is not supported"
        )));
    }
    let version = read_u32(&mut r)?;
    if version > schema::SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "backup has schema version {version}, newer than this binary ({}): use the newer binary",
            schema::SCHEMA_VERSION
        )));
    }
    fs::create_dir_all(state_dir)?;
    let staging = state_dir.join("db.restoring");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    {
        let engine = super::SledEngine::open(&staging, opts.cache_bytes)?;
        let blobs = super::Blobs::open(&state_dir.join("blobs"))?;
        let mut ops = Vec::with_capacity(1024);
        loop {
            let mut tag = [0u8; 1];
            r.read_exact(&mut tag)?;
            match tag[0] {
                0 => break,
                1 => {
                    let mut n = [0u8; 2];
                    r.read_exact(&mut n)?;
                    let name = String::from_utf8(read_vec(&mut r, u16::from_be_bytes(n) as usize)?)
                        .map_err(|_| StoreError::Schema("bad tree name in backup".into()))?;
                    let kl = read_u32(&mut r)? as usize;
                    let key = read_vec(&mut r, kl)?;
                    let vl = read_u32(&mut r)? as usize;
                    let value = read_vec(&mut r, vl)?;
                    ops.push(Op {
                        tree: name,
                        key,
                        value: Some(value),
                    });
                    if ops.len() >= 1024 {
                        super::Engine::apply(&engine, &ops)?;
                        ops.clear();
                    }
                }
                2 => {
                    let id = String::from_utf8(read_vec(&mut r, 64)?)
                        .map_err(|_| StoreError::Schema("bad blob id in backup".into()))?;
                    let mut n = [0u8; 8];
                    r.read_exact(&mut n)?;
                    let bytes = read_vec(&mut r, u64::from_be_bytes(n) as usize)?;
                    let stored = blobs.put(&bytes)?;
                    if stored.as_str() != id {
                        return Err(StoreError::Schema(format!(
                            "blob {id} in backup does not match its content"
                        )));
                    }
                }
                3 => {
                    let mut n = [0u8; 2];
                    r.read_exact(&mut n)?;
                    let name = String::from_utf8(read_vec(&mut r, u16::from_be_bytes(n) as usize)?)
                        .map_err(|_| StoreError::Schema("bad file name in backup".into()))?;
                    if !STATE_FILES.contains(&name.as_str()) {
                        return Err(StoreError::Schema(format!(
                            "unexpected file {name} in backup"
                        )));
                    }
                    let mut n = [0u8; 8];
                    r.read_exact(&mut n)?;
                    let bytes = read_vec(&mut r, u64::from_be_bytes(n) as usize)?;
                    write_private(&state_dir.join(&name), &bytes)?;
                }
                t => return Err(StoreError::Schema(format!("unknown record {t} in backup"))),
            }
        }
        for chunk in ops.chunks(1024) {
            super::Engine::apply(&engine, chunk)?;
        }
        super::Engine::flush(&engine)?;
    }
    let live = state_dir.join("db");
    if live.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
        let mut keep = state_dir.join(format!("db.before-restore-{stamp}"));
        // Two restores in one second must not collide (nor replace the first one's copy).
        let mut n = 2;
        while keep.exists() {
            keep = state_dir.join(format!("db.before-restore-{stamp}-{n}"));
            n += 1;
        }
        fs::rename(&live, &keep)?;
    }
    fs::rename(&staging, &live)?;
    let store = Store::open(state_dir, opts)?;
    schema::check(&store)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("restoring");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}
