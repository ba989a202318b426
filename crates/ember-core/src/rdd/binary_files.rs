//! `binary_files`: whole files as bytes (Spark's `SparkContext.binaryFiles`).
//!
//! Files are listed, grouped into partitions and named exactly as `whole_text_files` does it
//! (`text_file`'s `WholeFilesRdd`), so every path it reads (local, `hdfs://`, `s3://`, `s3a://`)
//! reads here too. Spark hands out a `PortableDataStream` to open later; ember reads each
//! file's bytes when its task iterates to it, and keeps them as they are stored: a `.gz` file
//! stays compressed.

use super::text_file::{group_files, list_input_files, WholeFilesRdd};
use super::Rdd;
use crate::context::Context;
use crate::error::Result;

impl Context {
    /// Whole files as `(path, bytes)` pairs, in at least `min_partitions` partitions of similar
    /// size (Spark's `binaryFiles`, with the bytes rather than a stream): a file, a directory,
    /// a glob, or a comma-separated list of them. Paths are named as
    /// [`Context::whole_text_files`] names them (`file:/absolute/path`, or the URL).
    ///
    /// ```
    /// use ember_core::Context;
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("a.bin"), [0u8, 159, 146, 150]).unwrap();
    /// std::fs::write(dir.path().join("b.bin"), b"").unwrap();
    /// let files = ctx.binary_files(dir.path().to_str().unwrap(), 0).unwrap();
    /// let mut got = files.collect().unwrap();
    /// got.sort();
    /// assert!(got[0].0.starts_with("file:/") && got[0].0.ends_with("a.bin"));
    /// assert_eq!(got[0].1, [0, 159, 146, 150]);
    /// assert_eq!(got[1].1, b"");
    /// ```
    ///
    /// # Errors
    /// As [`Context::text_file`]: a path that matches nothing, or a directory that cannot be
    /// listed.
    pub fn binary_files(
        &self,
        path: &str,
        min_partitions: usize,
    ) -> Result<Rdd<(String, Vec<u8>)>> {
        let files = list_input_files(path, self.env())?;
        let groups = group_files(files, self.min_partitions(min_partitions));
        Ok(Rdd::from_impl(
            self,
            WholeFilesRdd::<Vec<u8>>::new(self.new_rdd_core("binary_files"), groups),
        ))
    }
}
