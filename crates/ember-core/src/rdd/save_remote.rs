//! Saving part files (`save_as_text_file`, `save_as_sequence_file`) to HDFS and S3: the same commit protocol as local output, through the
//! object stores of `ember-hadoop` (see `save`).
//!
//! Task attempts write `<out>/_temporary/0/_temporary/attempt_<stage>_<partition>_<id>/part-N`
//! (multipart uploads, a few MiB at a time), then commit by renaming it to
//! `<out>/_temporary/0/task_<partition>/part-N`; a later attempt of the same task renames onto
//! the same name with the same bytes. The job commit renames every task's file into `<out>`,
//! deletes `_temporary` and writes `_SUCCESS`; a failed job deletes everything under `<out>`
//! (only `_temporary` when it wrote into an existing output).
//! On HDFS renames are the NameNode's atomic renames; on S3 they are copies.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::runtime;
use ember_hadoop::ResolvedPath;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use std::io::Write;

/// Bytes gathered before they go to the store as one part of the upload.
const PART_BYTES: usize = 8 << 20;

fn store_error(url: &str, e: object_store::Error) -> Error {
    Error::Input(ember_hadoop::object_stores::explain(url, &e))
}

fn child(resolved: &ResolvedPath, parts: &[&str]) -> ObjectPath {
    parts
        .iter()
        .fold(resolved.path.clone(), |path, part| path.join(*part))
}

/// Whether the output exists already: as an object, or as a directory with anything in it.
///
/// # Errors
/// The store cannot be listed.
pub(crate) fn exists(out: &ResolvedPath) -> Result<bool> {
    runtime()
        .block_on(async {
            if out.store.head(&out.path).await.is_ok() {
                return Ok::<_, object_store::Error>(true);
            }
            let listing = out.store.list_with_delimiter(Some(&out.path)).await?;
            Ok(!listing.objects.is_empty() || !listing.common_prefixes.is_empty())
        })
        .map_err(|e| store_error(&out.url, e))
}

/// Writes one task attempt's part file with `write` and commits it as the task's output.
///
/// # Errors
/// The store failed; nothing of this attempt is left under the task's name then.
pub(crate) fn write_task(
    env: &Env,
    url: &str,
    stage: usize,
    partition: usize,
    attempt_id: u64,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let out = env.resolve(url)?;
    let name = format!("part-{partition:05}");
    let attempt_dir = format!("attempt_{stage}_{partition}_{attempt_id}");
    let attempt = child(
        &out,
        &["_temporary", "0", "_temporary", &attempt_dir, &name],
    );
    let task_dir = format!("task_{partition}");
    let task = child(&out, &["_temporary", "0", &task_dir, &name]);
    let written = upload(&out, &attempt, write);
    let committed = written.and_then(|_| {
        runtime()
            .block_on(out.store.rename(&attempt, &task))
            .map_err(|e| store_error(&out.url, e))
    });
    if committed.is_err() {
        let _ = runtime().block_on(out.store.delete(&attempt));
    }
    committed
}

fn upload(
    out: &ResolvedPath,
    to: &ObjectPath,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let rt = runtime();
    let upload = rt
        .block_on(out.store.put_multipart(to))
        .map_err(|e| store_error(&out.url, e))?;
    let _in_runtime = rt.enter();
    let mut parts = UploadWriter {
        url: &out.url,
        writer: WriteMultipart::new_with_chunk_size(upload, PART_BYTES),
        buffer: Vec::with_capacity(PART_BYTES),
    };
    let written = write(&mut parts);
    let UploadWriter {
        mut writer, buffer, ..
    } = parts;
    if let Err(e) = written {
        // No half-written object may appear: the parts sent so far are dropped.
        let _ = rt.block_on(writer.abort());
        return Err(Error::Input(format!("writing {}: {e}", out.url)));
    }
    writer.write(&buffer);
    rt.block_on(writer.finish())
        .map(|_| ())
        .map_err(|e| store_error(&out.url, e))
}

/// A multipart upload as `Write`: bytes gather into parts of `PART_BYTES`, at most a few
/// uploading at a time.
struct UploadWriter<'a> {
    url: &'a str,
    writer: WriteMultipart,
    buffer: Vec<u8>,
}

impl Write for UploadWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PART_BYTES {
            runtime()
                .block_on(self.writer.wait_for_capacity(4))
                .map_err(|e| {
                    std::io::Error::other(ember_hadoop::object_stores::explain(self.url, &e))
                })?;
            self.writer.write(&self.buffer);
            self.buffer.clear();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Moves every committed task's file into the output and marks it complete.
///
/// # Errors
/// The store failed.
pub(crate) fn commit_job(out: &ResolvedPath) -> Result<()> {
    let temp = child(out, &["_temporary", "0"]);
    runtime()
        .block_on(async {
            let tasks = out.store.list_with_delimiter(Some(&temp)).await?;
            for task in tasks
                .common_prefixes
                .iter()
                .filter(|p| p.filename().is_some_and(|n| n.starts_with("task_")))
            {
                for file in out.store.list_with_delimiter(Some(task)).await?.objects {
                    if let Some(name) = file.location.filename() {
                        out.store
                            .rename(&file.location, &out.path.clone().join(name))
                            .await?;
                    }
                }
            }
            delete_under(out, &child(out, &["_temporary"])).await?;
            out.store
                .put(&out.path.clone().join("_SUCCESS"), Vec::<u8>::new().into())
                .await?;
            Ok::<_, object_store::Error>(())
        })
        .map_err(|e| store_error(&out.url, e))
}

/// Removes what a failed job wrote: the whole output when the job created it, else only its
/// `_temporary` directory, leaving what was there before.
pub(crate) fn abort_job(out: &ResolvedPath, created: bool) {
    let prefix = if created {
        out.path.clone()
    } else {
        child(out, &["_temporary"])
    };
    let _ = runtime().block_on(delete_under(out, &prefix));
}

async fn delete_under(out: &ResolvedPath, prefix: &ObjectPath) -> object_store::Result<()> {
    use futures::TryStreamExt;
    let objects: Vec<ObjectPath> = out
        .store
        .list(Some(prefix))
        .map_ok(|m| m.location)
        .try_collect()
        .await?;
    for object in objects {
        out.store.delete(&object).await?;
    }
    Ok(())
}
