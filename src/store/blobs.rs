//! Content-addressed files under `<state>/blobs/`: named by SHA-256, written to a temp file,
//! fsynced, renamed, directory fsynced. sled keeps only metadata about them.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Result, StoreError};

/// Lower-case hex SHA-256 of the content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct BlobId(String);

impl BlobId {
    pub fn of(bytes: &[u8]) -> Self {
        BlobId(hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            bytes,
        )))
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| BlobId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir.join("tmp"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self, id: &BlobId) -> PathBuf {
        self.dir.join(&id.0[..2]).join(&id.0)
    }

    /// Stores `bytes` durably; storing the same content twice is a no-op.
    pub fn put(&self, bytes: &[u8]) -> Result<BlobId> {
        let id = BlobId::of(bytes);
        let path = self.path(&id);
        if path.exists() {
            return Ok(id);
        }
        let parent = path.parent().expect("blob path has a parent");
        fs::create_dir_all(parent)?;
        // A name no other put uses (process, counter, clock), created exclusively: two puts
        // of the same bytes at once each write their own temp file, and neither truncates the
        // other's before its rename.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp =
            self.dir
                .join("tmp")
                .join(format!("{}.{}.{seq}.{nanos:08x}", id.0, std::process::id()));
        let written = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        if let Err(e) = written {
            // A disk that filled mid-write must not keep the partial file (and its space).
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        fs::rename(&tmp, &path)?;
        File::open(parent)?.sync_all()?;
        Ok(id)
    }

    pub fn get(&self, id: &BlobId) -> Result<Vec<u8>> {
        fs::read(self.path(id)).map_err(|e| StoreError::Io(format!("blob {}: {e}", id.0)))
    }

    /// Removes a stored file (nothing may name it any more); a missing file is no error.
    pub fn remove(&self, id: &BlobId) -> Result<()> {
        match fs::remove_file(self.path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn exists(&self, id: &BlobId) -> bool {
        self.path(id).exists()
    }

    /// Every stored blob id (for backup and check).
    pub fn list(&self) -> Result<Vec<BlobId>> {
        let mut out = Vec::new();
        for shard in fs::read_dir(&self.dir)? {
            let shard = shard?;
            if shard.file_name() == "tmp" || !shard.file_type()?.is_dir() {
                continue;
            }
            for f in fs::read_dir(shard.path())? {
                if let Some(id) = f?.file_name().to_str().and_then(BlobId::parse) {
                    out.push(id);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Concurrent puts of the same bytes (a retried upload racing its original) all succeed
    /// and leave the whole content: none truncates another's temp file.
    #[test]
    fn concurrent_puts_of_the_same_bytes_all_succeed_intact() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = std::sync::Arc::new(Blobs::open(dir.path()).unwrap());
        for round in 0..20u32 {
            let bytes: Vec<u8> = (0..(256 * 1024u32))
                .map(|i| (i.wrapping_mul(31) ^ round) as u8)
                .collect();
            let bytes = std::sync::Arc::new(bytes);
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let (b, bytes, barrier) = (blobs.clone(), bytes.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        b.put(&bytes)
                    })
                })
                .collect();
            for h in handles {
                let id = h.join().unwrap().expect("every put succeeds");
                assert_eq!(blobs.get(&id).unwrap(), *bytes, "round {round}");
            }
        }
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
