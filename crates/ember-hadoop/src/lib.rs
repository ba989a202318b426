//! ember's Hadoop side: what it takes to be a client of the Hadoop clusters users already have.
//!
//! This crate owns Hadoop's configuration files ([`HadoopConf`]: `core-site.xml`,
//! `hdfs-site.xml`, `yarn-site.xml` of `HADOOP_CONF_DIR`, with Hadoop's rules for `final` and
//! `${...}`) and the object store registry ([`resolve`]: `hdfs://`, `s3://`/`s3a://`,
//! `file://` and bare paths to an `object_store`), HDFS block locations ([`block_locations`])
//! and the racks of hosts ([`RackResolver`], from the topology script or table), the output
//! commit protocol ([`commit`]: Hadoop's `FileOutputCommitter`, algorithms 1 and 2), Hadoop IPC
//! ([`ipc`]: framing, SIMPLE and TOKEN/DIGEST-MD5 authentication) and token files ([`tokens`]).
//! It also owns the process's one I/O runtime ([`io_runtime`]): every HDFS, S3, Hadoop IPC
//! and ember RPC connection of a process lives on it.
//! It knows nothing of ember's engine: `ember-core` reads and writes through it, and YARN's
//! protocols are built on its IPC client.
//!
//! ```
//! use ember_hadoop::HadoopConf;
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(
//!     dir.path().join("core-site.xml"),
//!     "<configuration><property><name>fs.defaultFS</name>\
//!      <value>hdfs://localhost:8020</value></property></configuration>",
//! )
//! .unwrap();
//! let conf = HadoopConf::load_dir(dir.path()).unwrap();
//! assert_eq!(conf.default_fs(), "hdfs://localhost:8020");
//! ```
#![deny(missing_docs)]

pub mod block_locations;
pub mod commit;
mod conf;
mod error;
pub mod io_runtime;
pub mod ipc;
pub mod object_stores;
pub mod tokens;
mod topology;

pub use block_locations::{block_locations, BlockLocation};
pub use conf::{HadoopConf, S3aSettings, HADOOP_CONF_DIR, HADOOP_KEY_PREFIX, SITE_FILES};
pub use error::{Error, Result};
pub use io_runtime::{io_runtime, IO_THREAD_NAME};
pub use object_stores::{resolve, ResolvedPath};
pub use topology::{RackResolver, DEFAULT_RACK};

/// The user this process acts as towards Hadoop: `HADOOP_USER_NAME`, else the login name.
pub fn user_name() -> String {
    ["HADOOP_USER_NAME", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "ember".into())
}
