//! The staging directory: where the client puts what the application's containers need
//! (Spark's `.sparkStaging`).
//!
//! It is `<ember.yarn.stagingDir>/<appId>`, by default `/user/<user>/.emberStaging/<appId>` on
//! `fs.defaultFS`, made readable by its owner only (0700); NodeManagers localize its files as
//! the application's user. Each file becomes a PRIVATE `LocalResource` with the size and
//! modification time HDFS reports, which YARN checks before it localizes the file.

use crate::error::{Error, Result};
use crate::keys;
use crate::proto;
use bytes::Bytes;
use ember_hadoop::HadoopConf;
use hdfs_native::{Client, WriteOptions};
use std::collections::HashMap;
use std::path::Path;

/// Bytes written to HDFS at a time.
const CHUNK: usize = 4 << 20;
/// The block size of staged files.
const STAGING_BLOCK_SIZE: u64 = 128 << 20;

/// One application's staging directory on HDFS.
pub struct Staging {
    client: Client,
    /// `hdfs://authority`.
    root: String,
    /// The directory's path in that file system.
    dir: String,
}

impl std::fmt::Debug for Staging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Staging({})", self.url())
    }
}

impl Staging {
    /// Opens the staging directory `dir` (a path or an `hdfs://` URL) without creating it.
    ///
    /// # Errors
    /// `dir` is not on HDFS, or the HDFS client cannot be configured.
    pub fn open(conf: &HadoopConf, dir: &str) -> Result<Self> {
        let url = ember_hadoop::object_stores::qualify(dir, conf)?;
        let Some(rest) = url.strip_prefix("hdfs://") else {
            return Err(Error::Usage(format!(
                "the staging directory {url} is not on HDFS; YARN applications stage their \
                 files on HDFS: set fs.defaultFS or {} to an hdfs:// location",
                keys::STAGING_DIR.key
            )));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let root = format!("hdfs://{authority}");
        let settings: HashMap<String, String> = conf
            .keys()
            .filter_map(|k| conf.get(k).map(|v| (k.to_string(), v)))
            .collect();
        let client = hdfs_native::ClientBuilder::new()
            .with_url(root.clone())
            .with_config(settings)
            .build()
            .map_err(|e| staging_error(&url, e))?;
        Ok(Staging {
            client,
            root,
            dir: format!("/{}", path.trim_matches('/')),
        })
    }

    /// The default staging directory of `app` for `user`, or under `ember.yarn.stagingDir`.
    pub fn default_dir(base: Option<&str>, user: &str, app: &str) -> String {
        match base {
            Some(base) => format!("{}/{app}", base.trim_end_matches('/')),
            None => format!("/user/{user}/.emberStaging/{app}"),
        }
    }

    /// The directory's URL.
    pub fn url(&self) -> String {
        format!("{}{}", self.root, self.dir)
    }

    /// Creates the directory, readable by its owner only.
    ///
    /// # Errors
    /// HDFS refused.
    pub async fn create(&self) -> Result<()> {
        self.client
            .mkdirs(&self.dir, 0o700, true)
            .await
            .map_err(|e| staging_error(&self.url(), e))?;
        // mkdirs applies the umask; the directory must be private whatever it is.
        self.client
            .set_permission(&self.dir, 0o700)
            .await
            .map_err(|e| staging_error(&self.url(), e))
    }

    /// Copies local file `from` into the directory as `name`, and describes it for YARN.
    ///
    /// # Errors
    /// The file cannot be read, or HDFS refused.
    pub async fn upload(&self, from: &Path, name: &str) -> Result<proto::LocalResource> {
        use tokio::io::AsyncReadExt;
        let unreadable = |e: std::io::Error| Error::Staging {
            path: from.display().to_string(),
            message: format!("cannot read it: {e}"),
        };
        let mut file = tokio::fs::File::open(from).await.map_err(unreadable)?;
        let path = format!("{}/{name}", self.dir);
        let url = format!("{}{path}", self.root);
        // Large blocks: a binary is read whole by every NodeManager, and a file of many small
        // blocks can outpace replication (the NameNode then refuses the next block).
        let options = WriteOptions {
            overwrite: true,
            block_size: Some(STAGING_BLOCK_SIZE),
            ..WriteOptions::default()
        };
        let mut writer = self
            .client
            .create(&path, options)
            .await
            .map_err(|e| staging_error(&url, e))?;
        // A chunk at a time: binaries run to hundreds of MiB.
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            let read = (&mut file)
                .take(CHUNK as u64)
                .read_to_end(&mut chunk)
                .await
                .map_err(unreadable)?;
            if read == 0 {
                break;
            }
            writer
                .write(Bytes::from(chunk))
                .await
                .map_err(|e| staging_error(&url, e))?;
        }
        writer.close().await.map_err(|e| staging_error(&url, e))?;
        self.resource_of(name).await
    }

    /// The `LocalResource` of file `name` of the directory.
    ///
    /// # Errors
    /// HDFS cannot tell the file's status.
    pub async fn resource_of(&self, name: &str) -> Result<proto::LocalResource> {
        let path = format!("{}/{name}", self.dir);
        let path = path.as_str();
        let url = format!("{}{path}", self.root);
        let status = self
            .client
            .get_file_info(path)
            .await
            .map_err(|e| staging_error(&url, e))?;
        let authority = self.root.trim_start_matches("hdfs://");
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().unwrap_or(-1)),
            // A name service: no port.
            None => (authority.to_string(), -1),
        };
        Ok(proto::LocalResource {
            resource: Some(proto::Url {
                scheme: Some("hdfs".into()),
                host: Some(host),
                port: Some(port),
                file: Some(path.to_string()),
                user_info: None,
            }),
            size: Some(status.length as i64),
            timestamp: Some(status.modification_time as i64),
            r#type: Some(proto::LocalResourceType::File as i32),
            visibility: Some(proto::LocalResourceVisibility::Private as i32),
        })
    }

    /// Removes the directory and everything in it.
    ///
    /// # Errors
    /// HDFS refused.
    pub async fn delete(&self) -> Result<()> {
        self.client
            .delete(&self.dir, true)
            .await
            .map(|_| ())
            .map_err(|e| staging_error(&self.url(), e))
    }

    /// Whether the directory exists.
    pub async fn exists(&self) -> bool {
        self.client.get_file_info(&self.dir).await.is_ok()
    }
}

fn staging_error(path: &str, e: hdfs_native::HdfsError) -> Error {
    Error::Staging {
        path: path.to_string(),
        message: e.to_string(),
    }
}
