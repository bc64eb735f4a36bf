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
        let tmp = self
            .dir
            .join("tmp")
            .join(format!("{}.{}", id.0, std::process::id()));
        let written = (|| {
            let mut f = File::create(&tmp)?;
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
