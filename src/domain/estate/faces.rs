//! Registered faces and the face file handhelds download for offline matching.
//!
//! Every registration takes the next value of one estate-wide face version. A handheld keeps
//! the version of the face file it holds; asking with it yields only what changed after it, or
//! nothing when it is current.

use serde::{Deserialize, Serialize};

use super::{FirmId, LabourCode};

/// Images per registration.
pub const MAX_IMAGES: usize = 5;

/// A labourer's registered face: images (and an optional matcher template) are blobs named by
/// their SHA-256 hex; only the names live here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRecord {
    pub lcode: LabourCode,
    /// The firm whose face file carries it (the labourer's muster firm).
    pub firm: FirmId,
    pub images: Vec<String>,
    pub template: Option<String>,
    pub version: u64,
    pub registered_unix: i64,
    pub imei: String,
}

/// One entry of a firm's change log, keyed by (firm, version). `removed` tells the handheld to
/// drop the face (the labourer left the firm or was deactivated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceChange {
    pub lcode: LabourCode,
    pub removed: bool,
}

/// What a download with the handheld's version amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceSync {
    /// The handheld holds the current file.
    NotModified,
    /// Everything of the firm (first download, or a version this server never issued).
    Full,
    /// The changes after this version.
    Since(u64),
}

/// `held`: the version the handheld reports (0 = none); `current`: the firm's latest version.
pub fn plan_sync(held: u64, current: u64) -> FaceSync {
    if held == 0 || held > current {
        // A version from the future means the store was restored or the handheld was pointed at
        // another box: only a full file is safe.
        if current == 0 && held == 0 {
            FaceSync::NotModified
        } else {
            FaceSync::Full
        }
    } else if held == current {
        FaceSync::NotModified
    } else {
        FaceSync::Since(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_plans() {
        assert_eq!(plan_sync(0, 0), FaceSync::NotModified);
        assert_eq!(plan_sync(0, 7), FaceSync::Full);
        assert_eq!(plan_sync(7, 7), FaceSync::NotModified);
        assert_eq!(plan_sync(3, 7), FaceSync::Since(3));
        assert_eq!(plan_sync(9, 7), FaceSync::Full);
    }
}
