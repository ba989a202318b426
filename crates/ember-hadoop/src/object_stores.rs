//! From a path as users write it to an object store that reads and writes it (the role of
//! Hadoop's `FileSystem.get`).
//!
//! - `hdfs://authority/path`: HDFS through hdfs-native; the authority is a NameNode address or an
//!   HA name service of the configuration, which is handed over whole (`ember.hadoop.*` overrides
//!   included).
//! - `s3://bucket/key`, `s3a://bucket/key`: S3 (or an S3-compatible server) with the `fs.s3a.*`
//!   endpoint, credentials, region and path style of the configuration; the standard `AWS_*`
//!   environment variables fill what the configuration leaves out.
//! - `file:///path` and bare paths: bare paths are resolved against `fs.defaultFS`, as Hadoop
//!   and Spark do, so a bare path means HDFS on a cluster and the local disk elsewhere.
//!
//! # Where the I/O runs
//!
//! HDFS and S3 stores do their network I/O on the process's [`io_runtime`], whatever awaits
//! their futures: a task thread blocking on it, one of DataFusion's runtimes, or no runtime at
//! all. Their connections outlive a call (hdfs-native caches idle DataNode connections for the
//! whole process; an S3 store keeps a pool and is shared by every query), and a connection only
//! works while the runtime it was made on runs, so they must all be made on the one runtime that
//! is never shut down. Local files are read by the caller (on its runtime's blocking threads
//! when it has one): they hold nothing open between calls.

use crate::conf::HadoopConf;
use crate::error::{Error, Result};
use crate::io_runtime::io_runtime;
use object_store::aws::AmazonS3Builder;
use object_store::client::SpawnedReqwestConnector;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::sync::Arc;

/// A path resolved to its store: which store, and where in it.
#[derive(Debug, Clone)]
pub struct ResolvedPath {
    /// The store, shared by every path with the same scheme and authority.
    pub store: Arc<dyn ObjectStore>,
    /// The path inside the store.
    pub path: ObjectPath,
    /// The fully qualified URL, such as `hdfs://nn:8020/data/x`.
    pub url: String,
}

/// Resolves `path` (a URL or a bare path) to the store that holds it.
///
/// # Errors
/// A scheme ember does not read, a malformed URL, or a store that cannot be configured.
pub fn resolve(path: &str, conf: &HadoopConf) -> Result<ResolvedPath> {
    let location = locate(path, conf)?;
    Ok(ResolvedPath {
        store: store_for(&location.store_url, conf)?,
        path: location.path,
        url: location.url,
    })
}

/// Where a path is, before any store is made: for callers that keep one store per
/// [`Location::store_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The fully qualified URL.
    pub url: String,
    /// The store's URL: scheme and authority, such as `hdfs://nn:8020` or `s3a://bucket`.
    pub store_url: String,
    /// The path inside the store.
    pub path: ObjectPath,
}

/// Qualifies `path` and splits it into its store and the path inside.
///
/// # Errors
/// A malformed URL or path.
pub fn locate(path: &str, conf: &HadoopConf) -> Result<Location> {
    let url = qualify(path, conf)?;
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad_url(&url))?;
    let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
    let path = ObjectPath::from_url_path(key).map_err(|e| Error::Url {
        url: url.clone(),
        message: e.to_string(),
    })?;
    Ok(Location {
        store_url: format!("{scheme}://{authority}"),
        url,
        path,
    })
}

/// The store for `store_url` (a [`Location::store_url`]).
///
/// # Errors
/// A scheme ember does not read, or a store that cannot be configured.
pub fn store_for(store_url: &str, conf: &HadoopConf) -> Result<Arc<dyn ObjectStore>> {
    let (scheme, authority) = store_url
        .split_once("://")
        .ok_or_else(|| bad_url(store_url))?;
    Ok(match scheme {
        "file" if authority.is_empty() => Arc::new(LocalFileSystem::new()),
        "hdfs" => Arc::new(hdfs(authority, conf)?),
        "s3" | "s3a" => Arc::new(s3(authority, conf)?),
        "file" => return Err(bad_url(store_url)),
        other => {
            return Err(Error::UnsupportedScheme {
                url: store_url.to_string(),
                scheme: other.to_string(),
            })
        }
    })
}

/// `path` as a URL: bare paths are resolved against `fs.defaultFS` (relative ones against the
/// working directory when that is the local file system).
pub fn qualify(path: &str, conf: &HadoopConf) -> Result<String> {
    if path.contains("://") {
        return Ok(path.to_string());
    }
    if let Some(rest) = path.strip_prefix("file:") {
        return Ok(format!("file://{rest}"));
    }
    let default_fs = conf.default_fs();
    let default_fs = default_fs.trim_end_matches('/');
    if default_fs == "file:" || default_fs.starts_with("file:") {
        let absolute = std::path::absolute(path).map_err(|e| Error::Url {
            url: path.to_string(),
            message: e.to_string(),
        })?;
        return Ok(format!("file://{}", absolute.display()));
    }
    if !path.starts_with('/') {
        return Err(Error::Url {
            url: path.to_string(),
            message: format!(
                "a relative path on {default_fs} needs a home directory; write it from the root \
                 (/{path}) or as a full URL"
            ),
        });
    }
    Ok(format!("{default_fs}{path}"))
}

fn hdfs(authority: &str, conf: &HadoopConf) -> Result<hdfs_native_object_store::HdfsObjectStore> {
    let settings: Vec<(String, String)> = conf
        .keys()
        .filter_map(|k| conf.get(k).map(|v| (k.to_string(), v)))
        .collect();
    hdfs_native_object_store::HdfsObjectStoreBuilder::new()
        .with_url(format!("hdfs://{authority}"))
        .with_config(settings)
        .with_io_runtime(io_runtime()?.handle().clone())
        .build()
        .map_err(|e| Error::Store {
            url: format!("hdfs://{authority}"),
            message: e.to_string(),
        })
}

fn s3(bucket: &str, conf: &HadoopConf) -> Result<object_store::aws::AmazonS3> {
    let settings = conf.s3a();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_http_connector(SpawnedReqwestConnector::new(io_runtime()?.handle().clone()));
    if let Some(endpoint) = &settings.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(key) = &settings.access_key {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &settings.secret_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(region) = &settings.region {
        builder = builder.with_region(region);
    }
    builder
        .with_virtual_hosted_style_request(!settings.path_style_access)
        .build()
        .map_err(|e| Error::Store {
            url: format!("s3://{bucket}"),
            message: e.to_string(),
        })
}

/// What went wrong with a store operation on `url`, in words that say what to check: a
/// NameNode or S3 endpoint that does not answer, a bucket that does not exist, credentials the
/// server refuses. Other errors keep the store's own message.
pub fn explain(url: &str, error: &object_store::Error) -> String {
    let detail = error_chain(error);
    let authority = url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    let s3 = url.starts_with("s3://") || url.starts_with("s3a://");
    let refused = [
        "Connection refused",
        "connection refused",
        "error trying to connect",
    ]
    .iter()
    .any(|m| detail.contains(m));
    if refused && url.starts_with("hdfs://") {
        return format!(
            "{url}: cannot reach the NameNode of {authority} (connection refused); check that \
             HDFS is running and that the URL or fs.defaultFS names its RPC address"
        );
    }
    if refused && s3 {
        return format!(
            "{url}: cannot reach the S3 endpoint (connection refused); check fs.s3a.endpoint \
             or AWS_ENDPOINT"
        );
    }
    if s3 && detail.contains("NoSuchBucket") {
        return format!("{url}: bucket {authority} does not exist; create it or correct the URL");
    }
    if s3
        && [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
        ]
        .iter()
        .any(|m| detail.contains(m))
    {
        return format!(
            "{url}: the S3 server refused the credentials; check fs.s3a.access.key and \
             fs.s3a.secret.key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        );
    }
    format!("{url}: {detail}")
}

/// An error and its sources, joined: object_store's own message often leaves the cause out.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

fn bad_url(url: &str) -> Error {
    Error::Url {
        url: url.to_string(),
        message: "expected scheme://authority/path, such as hdfs://namenode:8020/data".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    #[test]
    fn bare_paths_resolve_against_the_default_file_system() {
        let mut conf = HadoopConf::empty();
        assert!(qualify("/tmp/x", &conf)
            .unwrap()
            .starts_with("file:///tmp/x"));
        conf.set("fs.defaultFS", "hdfs://nn:8020/");
        assert_eq!(
            qualify("/data/in", &conf).unwrap(),
            "hdfs://nn:8020/data/in"
        );
        assert_eq!(qualify("s3a://b/k", &conf).unwrap(), "s3a://b/k");
        assert_eq!(qualify("file:/tmp/y", &conf).unwrap(), "file:///tmp/y");
        let err = qualify("data/in", &conf).unwrap_err().to_string();
        assert!(err.contains("/data/in"), "{err}");
    }

    #[test]
    fn unknown_schemes_name_the_ones_that_work() {
        let err = resolve("gopher://x/y", &HadoopConf::empty())
            .unwrap_err()
            .to_string();
        assert!(err.contains("gopher"), "{err}");
        assert!(err.contains("hdfs://"), "{err}");
    }

    #[test]
    fn store_errors_are_explained_with_what_to_check() {
        let refused = object_store::Error::Generic {
            store: "HdfsObjectStore",
            source: "IO error: Connection refused (os error 111)".into(),
        };
        let text = explain("hdfs://nn:8020/x", &refused);
        assert!(
            text.contains("cannot reach the NameNode of nn:8020"),
            "{text}"
        );
        let bucket = object_store::Error::Generic {
            store: "S3",
            source: "404 Not Found: <Error><Code>NoSuchBucket</Code></Error>".into(),
        };
        let text = explain("s3a://data/in", &bucket);
        assert!(text.contains("bucket data does not exist"), "{text}");
        let other = object_store::Error::NotFound {
            path: "x".into(),
            source: "gone".into(),
        };
        assert!(explain("s3a://b/x", &other).starts_with("s3a://b/x: "));
    }

    #[test]
    fn local_paths_resolve_to_the_local_store() {
        let dir = std::env::temp_dir();
        let resolved = resolve(dir.to_str().unwrap(), &HadoopConf::empty()).unwrap();
        assert!(resolved.url.starts_with("file:///"), "{}", resolved.url);
        assert_eq!(
            resolved.path.as_ref(),
            dir.to_str().unwrap().trim_matches('/')
        );
    }

    /// A runtime like a caller's, but without an I/O driver: a store that made its connections
    /// on the caller's runtime would panic on it ("IO is disabled").
    fn caller_without_io() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    /// Answers every HTTP request with 404 until the test ends.
    fn not_found_server() -> std::net::SocketAddr {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(|s| s.ok()) {
                let mut reader = std::io::BufReader::new(stream);
                let mut line = String::new();
                // One request per connection: read its head, answer, close.
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        address
    }

    #[test]
    fn s3_requests_run_on_the_io_runtime_not_on_the_callers() {
        let mut conf = HadoopConf::empty();
        conf.set("fs.s3a.endpoint", format!("http://{}", not_found_server()));
        conf.set("fs.s3a.access.key", "key");
        conf.set("fs.s3a.secret.key", "secret");
        conf.set("fs.s3a.endpoint.region", "us-east-1");
        conf.set("fs.s3a.path.style.access", "true");
        let resolved = resolve("s3a://bucket/some/key", &conf).unwrap();
        let answer = caller_without_io().block_on(resolved.store.head(&resolved.path));
        assert!(
            matches!(answer, Err(object_store::Error::NotFound { .. })),
            "the server's 404 did not come back: {answer:?}"
        );
    }

    #[test]
    fn hdfs_connections_are_made_on_the_io_runtime_not_on_the_callers() {
        // A port nothing listens on: the NameNode refuses, and the refusal must come back as
        // an error from the I/O runtime rather than a panic on the caller's.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut conf = HadoopConf::empty();
        conf.set("ipc.client.connect.max.retries", "0");
        let caller = caller_without_io();
        // Made inside the caller's runtime, as DataFusion's planning makes its stores: without
        // a runtime of its own, hdfs-native would take the caller's.
        let resolved = {
            let _in_caller = caller.enter();
            resolve(&format!("hdfs://{closed}/x"), &conf).unwrap()
        };
        let answer = caller.block_on(resolved.store.head(&resolved.path));
        assert!(answer.is_err(), "a NameNode answered on a closed port");
    }
}
