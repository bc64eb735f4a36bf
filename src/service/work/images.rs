//! Task photos: the file is a blob named by its SHA-256, the record is its metadata.

use crate::domain::identity::{Permission, User};
use crate::domain::work::tasks::{self as dt, ImageMedia, Task, TaskId, TaskImage, TaskImageId};
use crate::service::identity::next_id;
use crate::store::tables::work::count_images;
use crate::store::{counters, BlobId, Tx};

use super::{not_found, require};
use crate::service::{Result, ServiceError, Services};

pub struct NewImage<'a> {
    pub bytes: &'a [u8],
    pub caption: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

fn image_key(task: TaskId, image: TaskImageId) -> Vec<u8> {
    [task.key(), image.key()].concat()
}

/// Writes an image's file (fsynced) off the async workers and outside the writer lock, so
/// `save_image` then only names it. Only what `save_image` could accept is written; an image
/// whose record never commits leaves an unnamed blob, which is harmless.
pub async fn store_file(svc: &Services, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.is_empty()
        || bytes.len() > svc.config.http.max_image_bytes
        || ImageMedia::sniff(&bytes).is_none()
    {
        return Ok(bytes);
    }
    let store = svc.store.clone();
    tokio::task::spawn_blocking(move || store.blobs().put(&bytes).map(|_| bytes))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(Into::into)
}

/// Save Task Image / Save Image Task. The size limit is `http.max_image_bytes` of image
/// bytes (after base64 decoding); the format is read from the bytes themselves.
pub fn save_image(
    svc: &Services,
    tx: &mut Tx,
    actor: &User,
    task: TaskId,
    new: NewImage<'_>,
) -> Result<TaskImage> {
    require(actor, Permission::TasksEdit)?;
    if tx.get::<Task>(&task.key())?.is_none() {
        return Err(not_found("task.not_found"));
    }
    let limit = svc.config.http.max_image_bytes;
    if new.bytes.is_empty() {
        return Err(ServiceError::invalid("image", "field.required", vec![]));
    }
    if new.bytes.len() > limit {
        return Err(ServiceError::invalid(
            "image",
            "task.image.too_large",
            vec![("limit", limit.to_string())],
        ));
    }
    let media = ImageMedia::sniff(new.bytes)
        .ok_or_else(|| ServiceError::invalid("image", "task.image.format", vec![]))?;
    let caption = new.caption.trim().to_string();
    if caption.chars().count() > dt::CAPTION_MAX {
        return Err(ServiceError::invalid(
            "caption",
            "field.length",
            vec![("min", "0".into()), ("max", dt::CAPTION_MAX.to_string())],
        ));
    }
    let existing = tx
        .get::<counters::Counter>(count_images(task).as_bytes())?
        .map_or(0, |c| c.n as usize);
    if existing >= dt::MAX_IMAGES_PER_TASK {
        return Err(ServiceError::Conflict {
            key: "task.image.too_many",
            args: vec![("max", dt::MAX_IMAGES_PER_TASK.to_string())],
        });
    }
    // The file first: if the record never commits, an unnamed blob is harmless; a record
    // naming a missing file would not be.
    let blob = svc.store.blobs().put(new.bytes)?;
    let id = TaskImageId(next_id(tx, "work.task_image")?);
    let img = TaskImage {
        id,
        task,
        sha256: blob.as_str().to_string(),
        media,
        bytes: new.bytes.len() as u64,
        caption,
        uploaded_by: actor.id,
        uploaded_unix: svc.now_unix(),
        latitude: new.latitude,
        longitude: new.longitude,
    };
    tx.put(&image_key(task, id), &img);
    counters::add(tx, &count_images(task), 1)?;
    Ok(img)
}

/// Get Task Image List / Get Image Task: a task's photos, oldest first.
pub fn images(svc: &Services, actor: &User, task: TaskId) -> Result<Vec<TaskImage>> {
    require(actor, Permission::TasksView)?;
    super::tasks::load(&svc.store, task)?;
    Ok(svc
        .store
        .scan::<TaskImage>(&task.key())?
        .into_iter()
        .map(|(_, i)| i)
        .collect())
}

/// One photo's file.
pub fn image_file(
    svc: &Services,
    actor: &User,
    task: TaskId,
    image: TaskImageId,
) -> Result<(TaskImage, Vec<u8>)> {
    require(actor, Permission::TasksView)?;
    let img = svc
        .store
        .get::<TaskImage>(&image_key(task, image))?
        .ok_or_else(|| not_found("task.image.not_found"))?;
    let id = BlobId::parse(&img.sha256)
        .ok_or_else(|| ServiceError::Internal(format!("image {image}: bad blob name")))?;
    let bytes = svc.store.blobs().get(&id)?;
    Ok((img, bytes))
}

/// Delete Task Image.
pub fn delete_image(
    tx: &mut Tx,
    actor: &User,
    task: TaskId,
    image: TaskImageId,
) -> Result<TaskImage> {
    require(actor, Permission::TasksEdit)?;
    let key = image_key(task, image);
    let img = tx
        .get::<TaskImage>(&key)?
        .ok_or_else(|| not_found("task.image.not_found"))?;
    tx.delete::<TaskImage>(&key);
    counters::add(tx, &count_images(task), -1)?;
    Ok(img)
}

/// How many photos a task has (for lists): its counter, kept with every photo saved or
/// deleted. 0 when the counter cannot be read (a list still answers).
pub fn count(svc: &Services, task: TaskId) -> usize {
    counters::get(&svc.store, &count_images(task)).unwrap_or(0) as usize
}

/// `count` for a page of tasks, read together; 0s when the counters cannot be read.
pub fn counts(svc: &Services, tasks: impl Iterator<Item = TaskId>) -> Vec<usize> {
    let keys: Vec<String> = tasks.map(count_images).collect();
    counters::get_many(&svc.store, &keys)
        .map(|n| n.into_iter().map(|n| n as usize).collect())
        .unwrap_or_else(|_| vec![0; keys.len()])
}
