//! A part file written straight to HDFS or S3 as a multipart upload, a few MiB at a time: what
//! a task of `save_as_text_file` and the other part-file writes does when the output is not on
//! the local disk (see `save`).

use crate::error::{Error, Result};
use crate::network::runtime;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use std::io::Write;

/// Bytes gathered before they go to the store as one part of the upload.
const PART_BYTES: usize = 8 << 20;

/// Writes the object `to` (named `url` in messages) in `store` with `write`.
///
/// # Errors
/// `write` or the store failed; the upload is aborted then, so no half-written object appears.
pub(crate) fn upload(
    store: &dyn ObjectStore,
    to: &ObjectPath,
    url: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let store_error =
        |e: object_store::Error| Error::Input(ember_hadoop::object_stores::explain(url, &e));
    let rt = runtime();
    let upload = rt.block_on(store.put_multipart(to)).map_err(store_error)?;
    let _in_runtime = rt.enter();
    let mut parts = UploadWriter {
        url,
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
        return Err(Error::Input(format!("writing {url}: {e}")));
    }
    writer.write(&buffer);
    rt.block_on(writer.finish())
        .map(|_| ())
        .map_err(store_error)
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
