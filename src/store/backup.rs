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
    // A backup holds master.key and password hashes: never silently replace one, and keep
    // it readable by the owner alone whatever the umask.
    if out.exists() {
        return Err(StoreError::Io(format!(
            "{} already exists: choose another name or remove it first",
            out.display()
        )));
    }
    let tmp = out.with_extension("partial");
    let schema_version = schema::current(store)?
        .map(|m| m.version)
        .unwrap_or(schema::SCHEMA_VERSION);
    let mut w = HashingWriter {
        inner: BufWriter::new(private_file(&tmp)?),
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
    // link() refuses an existing name, so a backup written meanwhile is not replaced either.
    let linked = fs::hard_link(&tmp, out);
    let _ = fs::remove_file(&tmp);
    linked.map_err(|e| StoreError::Io(format!("{}: {e}", out.display())))?;
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

/// Reads `n` bytes. `n` comes from the file, so it is not trusted: the bytes are read as they
/// come (a length past the end of the file fails at the end, having allocated only what the
/// file held) rather than allocated up front, which for a forged length would abort the process.
fn read_vec(r: &mut impl Read, n: u64) -> Result<Vec<u8>> {
    let mut v = Vec::with_capacity(n.min(1 << 16) as usize);
    r.take(n).read_to_end(&mut v)?;
    if (v.len() as u64) < n {
        return Err(StoreError::Schema(
            "backup file ended inside a record".into(),
        ));
    }
    Ok(v)
}

/// One record of a backup body.
#[derive(Debug)]
pub enum Record {
    Entry {
        tree: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Blob {
        id: String,
        bytes: Vec<u8>,
    },
    File {
        name: String,
        bytes: Vec<u8>,
    },
}

/// Checks the magic, format and schema version; returns the schema version.
pub fn read_header(r: &mut impl Read) -> Result<u32> {
    let magic = read_vec(r, MAGIC.len() as u64)?;
    if magic != MAGIC {
        return Err(StoreError::Schema("not a gatehouse backup file".into()));
    }
    let format = read_u32(r)?;
    if format != FORMAT {
        return Err(StoreError::Schema(format!(
            "backup format {format} is not supported"
        )));
    }
    let version = read_u32(r)?;
    if version > schema::SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "backup has schema version {version}, newer than this binary ({}): use the newer binary",
            schema::SCHEMA_VERSION
        )));
    }
    Ok(version)
}

/// Reads the records after the header up to the end marker, handing each to `on`.
pub fn read_records(r: &mut impl Read, on: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
    fn name(r: &mut impl Read, what: &str) -> Result<String> {
        let mut n = [0u8; 2];
        r.read_exact(&mut n)?;
        String::from_utf8(read_vec(r, u16::from_be_bytes(n) as u64)?)
            .map_err(|_| StoreError::Schema(format!("bad {what} name in backup")))
    }
    loop {
        let mut tag = [0u8; 1];
        r.read_exact(&mut tag)?;
        let rec = match tag[0] {
            0 => return Ok(()),
            1 => {
                let tree = name(r, "tree")?;
                let kl = read_u32(r)?;
                let key = read_vec(r, kl as u64)?;
                let vl = read_u32(r)?;
                let value = read_vec(r, vl as u64)?;
                Record::Entry { tree, key, value }
            }
            2 => {
                let id = String::from_utf8(read_vec(r, 64)?)
                    .map_err(|_| StoreError::Schema("bad blob id in backup".into()))?;
                let mut n = [0u8; 8];
                r.read_exact(&mut n)?;
                let bytes = read_vec(r, u64::from_be_bytes(n))?;
                Record::Blob { id, bytes }
            }
            3 => {
                let name = name(r, "file")?;
                if !STATE_FILES.contains(&name.as_str()) {
                    return Err(StoreError::Schema(format!(
                        "unexpected file {name} in backup"
                    )));
                }
                let mut n = [0u8; 8];
                r.read_exact(&mut n)?;
                let bytes = read_vec(r, u64::from_be_bytes(n))?;
                Record::File { name, bytes }
            }
            t => return Err(StoreError::Schema(format!("unknown record {t} in backup"))),
        };
        on(rec)?;
    }
}

/// Restores `from` into `state_dir` (no server may be running on it). The current database is
/// kept beside it as `store.before-restore-<time>` until the operator deletes it.
pub fn restore(
    from: &Path,
    state_dir: &Path,
    opts: StoreOptions,
) -> Result<super::schema::CheckReport> {
    verify_digest(from)?;
    let body_len = fs::metadata(from)?.len().saturating_sub(32);
    let mut r = BufReader::new(File::open(from)?).take(body_len);
    read_header(&mut r)?;
    fs::create_dir_all(state_dir)?;
    let staging = state_dir.join("store.restoring");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    {
        let engine = super::redb_engine::RedbEngine::open(&staging, opts.cache_bytes)?;
        let blobs = super::Blobs::open(&state_dir.join("blobs"))?;
        let mut ops = Vec::with_capacity(1024);
        read_records(&mut r, &mut |rec| {
            match rec {
                Record::Entry { tree, key, value } => {
                    ops.push(Op {
                        tree,
                        key,
                        value: Some(value),
                    });
                    if ops.len() >= 1024 {
                        super::Engine::apply(&engine, &ops)?;
                        ops.clear();
                    }
                }
                Record::Blob { id, bytes } => {
                    let stored = blobs.put(&bytes)?;
                    if stored.as_str() != id {
                        return Err(StoreError::Schema(format!(
                            "blob {id} in backup does not match its content"
                        )));
                    }
                }
                Record::File { name, bytes } => write_private(&state_dir.join(&name), &bytes)?,
            }
            Ok(())
        })?;
        super::Engine::apply(&engine, &ops)?;
        super::Engine::flush(&engine)?;
    }
    let live = state_dir.join(super::STORE_DIR);
    // A sled store of an earlier release is moved into redb first, so what is set aside below
    // is always this release's store.
    super::migrate_sled::run(state_dir, &live, opts.cache_bytes)?;
    if live.exists() {
        // Its log goes with it: set back in place, it would replay itself.
        fs::rename(&live, super::aside_path(state_dir, "store.before-restore"))?;
    }
    fs::rename(&staging, &live)?;
    super::wal::sync_dir(state_dir)?;
    let store = Store::open(state_dir, opts)?;
    schema::check(&store)
}

/// A new (or emptied) file of mode 0600 exactly, whatever the process umask.
fn private_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(f)
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
