//! Register Face and Download Face File: face images/templates are blobs; each firm keeps a
//! change log keyed by the estate-wide face version, so a handheld can ask for the changes
//! after the version it holds.

use crate::domain::estate::faces::{plan_sync, FaceChange, FaceRecord, FaceSync, MAX_IMAGES};
use crate::domain::estate::labour::Labourer;
use crate::domain::estate::{FirmId, LabourCode};
use crate::store::tables::estate::FirmFaceVersion;
use crate::store::tables::estate::COUNT_FACES;
use crate::store::{self, BlobId, Store, Tx};

use super::super::{identity::next_id, Result, ServiceError, Services};

fn change_key(firm: &FirmId, version: u64) -> Vec<u8> {
    store::key(&[firm.key(), &version.to_be_bytes()])
}

/// Writes face images (and template) as blobs, before the transaction: a blob nobody
/// references after a failure is harmless, and the writer lock is not held across fsyncs.
pub fn save_blobs(
    svc: &Services,
    images: &[Vec<u8>],
    template: Option<&[u8]>,
) -> Result<(Vec<String>, Option<String>)> {
    let limit = svc.config.http.max_image_bytes;
    if images.is_empty() || images.len() > MAX_IMAGES {
        return Err(ServiceError::invalid(
            "faceImages",
            "field.range",
            vec![("min", "1".into()), ("max", MAX_IMAGES.to_string())],
        ));
    }
    for (i, img) in images.iter().enumerate() {
        if img.is_empty() || img.len() > limit {
            return Err(ServiceError::invalid(
                &format!("faceImages[{i}]"),
                "estate.face.image_size",
                vec![("max", limit.to_string())],
            ));
        }
    }
    if template.is_some_and(|t| t.is_empty() || t.len() > limit) {
        return Err(ServiceError::invalid(
            "faceTemplate",
            "estate.face.image_size",
            vec![("max", limit.to_string())],
        ));
    }
    let blobs = svc.store.blobs();
    let names = images
        .iter()
        .map(|b| blobs.put(b).map(|id| id.as_str().to_string()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let template = template
        .map(|t| blobs.put(t).map(|id| id.as_str().to_string()))
        .transpose()?;
    Ok((names, template))
}

fn bump(svc: &Services, tx: &mut Tx, firm: &FirmId, change: &FaceChange) -> Result<u64> {
    let _ = svc;
    let version = next_id(tx, "estate.face_version")?;
    tx.put(&change_key(firm, version), change);
    tx.put(firm.key(), &FirmFaceVersion(version));
    Ok(version)
}

/// Registers (or replaces) a labourer's face.
pub fn register(
    svc: &Services,
    tx: &mut Tx,
    lcode: &LabourCode,
    images: Vec<String>,
    template: Option<String>,
    imei: &str,
) -> Result<FaceRecord> {
    let lab = tx
        .get::<Labourer>(lcode.key())?
        .filter(|l| l.active)
        .ok_or(ServiceError::NotFound {
            key: "estate.labour.not_found",
        })?;
    let old = tx.get::<FaceRecord>(lcode.key())?;
    if old.is_none() {
        crate::store::counters::add(tx, COUNT_FACES, 1)?;
    }
    if let Some(old) = old {
        tx.delete::<FaceChange>(&change_key(&old.firm, old.version));
        if old.firm != lab.muster_firm {
            bump(
                svc,
                tx,
                &old.firm,
                &FaceChange {
                    lcode: lcode.clone(),
                    removed: true,
                },
            )?;
        }
    }
    let version = bump(
        svc,
        tx,
        &lab.muster_firm,
        &FaceChange {
            lcode: lcode.clone(),
            removed: false,
        },
    )?;
    let rec = FaceRecord {
        lcode: lcode.clone(),
        firm: lab.muster_firm.clone(),
        images,
        template,
        version,
        registered_unix: svc.now_unix(),
        imei: imei.to_string(),
    };
    tx.put(lcode.key(), &rec);
    Ok(rec)
}

/// Keeps a labourer's face in the right firm's file when the labourer changes firm or is
/// deactivated (called by `put_labourer`).
pub fn follow_labourer(svc: &Services, tx: &mut Tx, lab: &Labourer) -> Result<()> {
    let Some(mut face) = tx.get::<FaceRecord>(lab.lcode.key())? else {
        return Ok(());
    };
    if lab.active && face.firm == lab.muster_firm {
        return Ok(());
    }
    tx.delete::<FaceChange>(&change_key(&face.firm, face.version));
    let change = |removed| FaceChange {
        lcode: lab.lcode.clone(),
        removed,
    };
    bump(svc, tx, &face.firm, &change(true))?;
    if lab.active {
        face.firm = lab.muster_firm.clone();
        face.version = bump(svc, tx, &face.firm, &change(false))?;
        tx.put(lab.lcode.key(), &face);
    } else {
        tx.delete::<FaceRecord>(lab.lcode.key());
        crate::store::counters::add(tx, COUNT_FACES, -1)?;
    }
    Ok(())
}

pub fn current_version(store: &Store, firm: &FirmId) -> Result<u64> {
    Ok(store.get::<FirmFaceVersion>(firm.key())?.map_or(0, |v| v.0))
}

pub struct FaceEntry {
    pub lcode: LabourCode,
    pub version: u64,
    pub removed: bool,
    pub images: Vec<Vec<u8>>,
    pub template: Option<Vec<u8>>,
}

pub struct FaceFile {
    /// The version the handheld holds once it has applied this answer.
    pub version: u64,
    /// The handheld must replace its whole file with these entries.
    pub full: bool,
    pub modified: bool,
    /// More changes follow: ask again with `version`.
    pub more: bool,
    pub entries: Vec<FaceEntry>,
}

/// The data version of every firm's face file (changes with any face write).
pub fn face_files_version(store: &Store) -> u64 {
    use crate::store::Record as _;
    store.version_of(&[FaceChange::TREE, FaceRecord::TREE, FirmFaceVersion::TREE])
}

/// The face file of `firm` for a handheld holding `held`, at most about `budget` bytes of
/// images per answer (always at least one entry).
pub fn face_file(svc: &Services, firm: &FirmId, held: u64, budget: usize) -> Result<FaceFile> {
    let store = &svc.store;
    let current = current_version(store, firm)?;
    let plan = plan_sync(held, current);
    let (from, full) = match plan {
        FaceSync::NotModified => {
            return Ok(FaceFile {
                version: current,
                full: false,
                modified: false,
                more: false,
                entries: Vec::new(),
            })
        }
        FaceSync::Full => (1, true),
        FaceSync::Since(v) => (v + 1, false),
    };
    let start = change_key(firm, from);
    let end = change_key(firm, u64::MAX);
    let mut entries = Vec::new();
    let mut bytes = 0usize;
    let mut version = current;
    let mut more = false;
    for item in store.engine().range(FaceChange::TREE, &start, &end)? {
        let (k, v) = item?;
        let change: FaceChange = store::codec::decode(&v)?;
        let mut be = [0u8; 8];
        be.copy_from_slice(&k[k.len() - 8..]);
        let at = u64::from_be_bytes(be);
        if full && change.removed {
            continue;
        }
        if bytes >= budget && !entries.is_empty() {
            more = true;
            break;
        }
        let mut entry = FaceEntry {
            lcode: change.lcode.clone(),
            version: at,
            removed: change.removed,
            images: Vec::new(),
            template: None,
        };
        if !change.removed {
            if let Some(face) = store.get::<FaceRecord>(change.lcode.key())? {
                for name in &face.images {
                    let img = read_blob(store, name)?;
                    bytes += img.len();
                    entry.images.push(img);
                }
                if let Some(t) = &face.template {
                    let t = read_blob(store, t)?;
                    bytes += t.len();
                    entry.template = Some(t);
                }
            }
        }
        version = at;
        entries.push(entry);
    }
    if !more {
        version = current;
    }
    Ok(FaceFile {
        version,
        full,
        modified: true,
        more,
        entries,
    })
}

use crate::store::Record;

fn read_blob(store: &Store, name: &str) -> Result<Vec<u8>> {
    let id = BlobId::parse(name)
        .ok_or_else(|| ServiceError::Internal(format!("bad blob name {name}")))?;
    Ok(store.blobs().get(&id)?)
}

/// How many labourers have a registered face.
/// A counter kept with every register and removal, not a walk of the tree.
pub fn count(store: &Store) -> Result<usize> {
    Ok(crate::store::counters::get(store, COUNT_FACES)? as usize)
}
