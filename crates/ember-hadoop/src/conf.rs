//! Hadoop configuration files (Hadoop's `Configuration`), as a Hadoop client reads them.
//!
//! # What is read
//! `core-site.xml`, `hdfs-site.xml` and `yarn-site.xml` of `$HADOOP_CONF_DIR`, in that order;
//! a missing file is skipped, a malformed one is an error naming the file and line. Each
//! `<property>` has a `<name>`, a `<value>` and optionally `<final>true</final>`.
//!
//! # Rules, as in Hadoop
//! - A later file's value replaces an earlier one's, unless the earlier one was `final`: then the
//!   later one is ignored (and logged by the caller through [`HadoopConf::ignored_overrides`]).
//! - [`HadoopConf::set`] (how `--conf ember.hadoop.<key>=<value>` arrives, like Spark's
//!   `spark.hadoop.*`) always wins, final or not.
//! - Values are expanded when read: `${name}` becomes the value of property `name`,
//!   `${env.NAME}` the environment variable `NAME` (`${env.NAME:-default}` with a fallback when
//!   it is unset or empty, `${env.NAME-default}` when unset); expansion repeats for nested
//!   references up to 20 times, and a reference that cannot be resolved is left as written.
//!
//! XInclude (`<xi:include>`) and the `*-default.xml` files built into Hadoop's jars are not read:
//! every key this crate offers a typed accessor for has its default here.

use crate::error::{Error, Result};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variable naming the directory of the site files.
pub const HADOOP_CONF_DIR: &str = "HADOOP_CONF_DIR";

/// The site files a client reads, in order. `hive-site.xml` joins them as Spark's Hive support
/// adds it to the Hadoop configuration: that is where `hive.metastore.uris` is found.
pub const SITE_FILES: [&str; 4] = [
    "core-site.xml",
    "hdfs-site.xml",
    "yarn-site.xml",
    "hive-site.xml",
];

/// The prefix of the ember settings that set a Hadoop key (Spark's `spark.hadoop.`):
/// `ember.hadoop.fs.defaultFS` sets `fs.defaultFS` (see [`HadoopConf::with_overrides`]).
pub const HADOOP_KEY_PREFIX: &str = "ember.hadoop.";

/// How many rounds of `${...}` expansion a value gets (Hadoop's limit).
const MAX_SUBSTITUTIONS: usize = 20;

#[derive(Debug, Clone)]
struct Property {
    value: String,
    is_final: bool,
    source: String,
}

/// A Hadoop configuration: properties from site files and overrides.
///
/// ```
/// use ember_hadoop::HadoopConf;
/// let mut conf = HadoopConf::empty();
/// conf.set("fs.defaultFS", "hdfs://nn:8020");
/// conf.set("ember.staging", "${fs.defaultFS}/user/${env.EMBER_TEST_NO_SUCH_VAR:-nobody}");
/// assert_eq!(conf.get("ember.staging").unwrap(), "hdfs://nn:8020/user/nobody");
/// assert_eq!(conf.default_fs(), "hdfs://nn:8020");
/// ```
#[derive(Debug, Clone, Default)]
pub struct HadoopConf {
    properties: BTreeMap<String, Property>,
    ignored: Vec<String>,
}

impl HadoopConf {
    /// No properties at all.
    pub fn empty() -> Self {
        HadoopConf::default()
    }

    /// The site files of `$HADOOP_CONF_DIR`; empty when the variable is unset.
    ///
    /// # Errors
    /// A site file that cannot be read or parsed; a `HADOOP_CONF_DIR` that is not a directory.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(HADOOP_CONF_DIR) {
            Some(dir) if !dir.is_empty() => HadoopConf::load_dir(Path::new(&dir)),
            _ => Ok(HadoopConf::empty()),
        }
    }

    /// The site files of `dir`, in [`SITE_FILES`] order; missing ones are skipped.
    ///
    /// # Errors
    /// `dir` is not a directory, or a site file cannot be read or parsed.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::ConfDir(dir.to_path_buf()));
        }
        let mut conf = HadoopConf::empty();
        for name in SITE_FILES {
            let file = dir.join(name);
            if file.is_file() {
                conf.add_file(&file)?;
            }
        }
        Ok(conf)
    }

    /// Adds the properties of one site file, later than those already there.
    ///
    /// # Errors
    /// The file cannot be read or is not a Hadoop configuration file.
    pub fn add_file(&mut self, file: &Path) -> Result<()> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        self.add_xml(&text, &file.display().to_string())
            .map_err(|(line, message)| Error::Parse {
                path: file.to_path_buf(),
                line,
                message,
            })
    }

    /// Adds the properties of a configuration document; `source` names it for
    /// [`HadoopConf::source`]. Errors carry a 1-based line.
    fn add_xml(&mut self, text: &str, source: &str) -> std::result::Result<(), (usize, String)> {
        for (property, at) in parse(text).map_err(|(at, m)| (line_of(text, at), m))? {
            let Some(name) = property.name else {
                return Err((line_of(text, at), "a <property> without a <name>".into()));
            };
            // Hadoop ignores a property without a value.
            let Some(value) = property.value else {
                continue;
            };
            if self.properties.get(&name).is_some_and(|p| p.is_final) {
                self.ignored.push(format!(
                    "{source}: {name} is final in {} and keeps its value",
                    self.properties[&name].source
                ));
                continue;
            }
            self.properties.insert(
                name,
                Property {
                    value,
                    is_final: property.is_final,
                    source: source.to_string(),
                },
            );
        }
        Ok(())
    }

    /// Sets `key`, whatever the files said, final or not.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.properties.insert(
            key.into(),
            Property {
                value: value.into(),
                is_final: false,
                source: "set programmatically".into(),
            },
        );
    }

    /// Applies `ember.hadoop.<key>=<value>` settings as `<key>=<value>`; other keys are left.
    pub fn with_overrides<'a>(
        mut self,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        for (key, value) in settings {
            if let Some(hadoop_key) = key.strip_prefix(HADOOP_KEY_PREFIX) {
                self.set(hadoop_key, value);
            }
        }
        self
    }

    /// The value of `key`, expanded.
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_raw(key).map(|v| self.expand(v))
    }

    /// The value of `key` as written.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(|p| p.value.as_str())
    }

    /// The value of `key`, expanded, or `default`.
    pub fn get_or(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or_else(|| default.to_string())
    }

    /// Where `key`'s value came from: a file's path, or `set programmatically`.
    pub fn source(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(|p| p.source.as_str())
    }

    /// Values of later files that a `final` property kept out.
    pub fn ignored_overrides(&self) -> &[String] {
        &self.ignored
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys().map(String::as_str)
    }

    fn expand(&self, value: &str) -> String {
        let mut current = value.to_string();
        for _ in 0..MAX_SUBSTITUTIONS {
            let next = self.expand_once(&current);
            if next == current {
                break;
            }
            current = next;
        }
        current
    }

    /// Replaces every resolvable `${...}` of `value` once.
    fn expand_once(&self, value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start + 2..].find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let reference = &rest[start + 2..start + 2 + len];
            match self.resolve(reference) {
                Some(resolved) => out.push_str(&resolved),
                None => out.push_str(&rest[start..start + 3 + len]),
            }
            rest = &rest[start + 3 + len..];
        }
        out.push_str(rest);
        out
    }

    fn resolve(&self, reference: &str) -> Option<String> {
        let Some(env) = reference.strip_prefix("env.") else {
            return self.get_raw(reference).map(str::to_string);
        };
        if let Some((name, default)) = env.split_once(":-") {
            return Some(
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.to_string()),
            );
        }
        if let Some((name, default)) = env.split_once('-') {
            return Some(std::env::var(name).unwrap_or_else(|_| default.to_string()));
        }
        std::env::var(env).ok()
    }

    /// The default file system: `fs.defaultFS` (or the old `fs.default.name`), else `file:///`.
    pub fn default_fs(&self) -> String {
        self.get("fs.defaultFS")
            .or_else(|| self.get("fs.default.name"))
            .unwrap_or_else(|| "file:///".to_string())
    }

    /// The HDFS name services (`dfs.nameservices`), for HA and federation.
    pub fn name_services(&self) -> Vec<String> {
        list(&self.get_or("dfs.nameservices", ""))
    }

    /// The NameNode RPC addresses of `authority` (a name service or a `host:port`), by NameNode
    /// id: `dfs.ha.namenodes.<ns>` and `dfs.namenode.rpc-address.<ns>.<id>` for a name service,
    /// else the authority itself.
    pub fn namenode_addresses(&self, authority: &str) -> Vec<(String, String)> {
        let ids = list(&self.get_or(&format!("dfs.ha.namenodes.{authority}"), ""));
        if ids.is_empty() {
            let single = self.get(&format!("dfs.namenode.rpc-address.{authority}"));
            return vec![(
                authority.to_string(),
                single.unwrap_or_else(|| authority.to_string()),
            )];
        }
        ids.into_iter()
            .filter_map(|id| {
                let address = self.get(&format!("dfs.namenode.rpc-address.{authority}.{id}"))?;
                Some((id, address))
            })
            .collect()
    }

    /// What `s3a://` (and `s3://`) URLs need, from the `fs.s3a.*` keys.
    pub fn s3a(&self) -> S3aSettings {
        let ssl = self.get_or("fs.s3a.connection.ssl.enabled", "true") == "true";
        S3aSettings {
            endpoint: self.get("fs.s3a.endpoint").map(|e| {
                if e.contains("://") {
                    e
                } else {
                    format!("{}://{e}", if ssl { "https" } else { "http" })
                }
            }),
            access_key: self.get("fs.s3a.access.key"),
            secret_key: self.get("fs.s3a.secret.key"),
            region: self.get("fs.s3a.endpoint.region"),
            path_style_access: self.get_or("fs.s3a.path.style.access", "false") == "true",
        }
    }

    /// The rack topology script (`net.topology.script.file.name`), if one is configured.
    pub fn topology_script(&self) -> Option<PathBuf> {
        self.get("net.topology.script.file.name")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    }
}

/// The `fs.s3a.*` settings of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3aSettings {
    /// `fs.s3a.endpoint`, with a scheme (`http` when `fs.s3a.connection.ssl.enabled` is false).
    pub endpoint: Option<String>,
    /// `fs.s3a.access.key`.
    pub access_key: Option<String>,
    /// `fs.s3a.secret.key`.
    pub secret_key: Option<String>,
    /// `fs.s3a.endpoint.region`.
    pub region: Option<String>,
    /// `fs.s3a.path.style.access`.
    pub path_style_access: bool,
}

/// Splits a comma-separated list, dropping blanks.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Default)]
struct RawProperty {
    name: Option<String>,
    value: Option<String>,
    is_final: bool,
}

/// The properties of a document with the byte offset of each; errors with the offset.
fn parse(text: &str) -> std::result::Result<Vec<(RawProperty, usize)>, (usize, String)> {
    let mut reader = Reader::from_str(text);
    let mut properties = Vec::new();
    let mut current: Option<(RawProperty, usize)> = None;
    let mut field: Option<String> = None;
    let mut root_seen = false;
    loop {
        let at = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| (reader.error_position() as usize, e.to_string()))?;
        match event {
            Event::Start(tag) => {
                let name = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
                match (name.as_str(), &current) {
                    ("configuration", None) if !root_seen => root_seen = true,
                    ("property", None) if root_seen => current = Some((RawProperty::default(), at)),
                    (_, Some(_)) => field = Some(name),
                    (other, None) if !root_seen => {
                        return Err((at, format!("expected <configuration>, found <{other}>")))
                    }
                    _ => {}
                }
            }
            Event::End(tag) => {
                let name = tag.name();
                if name.as_ref() == b"property" {
                    if let Some(done) = current.take() {
                        properties.push(done);
                    }
                }
                field = None;
            }
            Event::Text(text) => {
                let value = text
                    .xml_content()
                    .map_err(|e| (at, e.to_string()))?
                    .trim()
                    .to_string();
                set_field(&mut current, field.as_deref(), value);
            }
            Event::CData(data) => {
                let value = String::from_utf8_lossy(&data).trim().to_string();
                set_field(&mut current, field.as_deref(), value);
            }
            Event::Empty(tag) if tag.name().as_ref() == b"value" => {
                set_field(&mut current, Some("value"), String::new());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err((0, "no <configuration> element".into()));
    }
    Ok(properties)
}

fn set_field(current: &mut Option<(RawProperty, usize)>, field: Option<&str>, text: String) {
    let Some((property, _)) = current else {
        return;
    };
    match field {
        Some("name") => property.name = Some(text),
        Some("value") => property.value = Some(text),
        Some("final") => property.is_final = text == "true",
        _ => {}
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(props: &[(&str, &str, bool)]) -> String {
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
        for (name, value, is_final) in props {
            xml.push_str(&format!(
                "  <property>\n    <name>{name}</name>\n    <value>{value}</value>\n{}  </property>\n",
                if *is_final { "    <final>true</final>\n" } else { "" }
            ));
        }
        xml.push_str("</configuration>\n");
        xml
    }

    #[test]
    fn site_files_load_in_order_and_final_values_stay() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("core-site.xml"),
            site(&[
                ("fs.defaultFS", "hdfs://nn:8020", false),
                ("a", "core", true),
            ]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("hdfs-site.xml"),
            site(&[("a", "hdfs", false), ("b", "hdfs", false)]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("yarn-site.xml"),
            site(&[("b", "yarn", false)]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("hive-site.xml"),
            site(&[("hive.metastore.uris", "thrift://ms:9083", false)]),
        )
        .unwrap();
        let mut conf = HadoopConf::load_dir(dir.path()).unwrap();
        assert_eq!(conf.get("hive.metastore.uris").unwrap(), "thrift://ms:9083");
        assert_eq!(conf.default_fs(), "hdfs://nn:8020");
        assert_eq!(conf.get("a").unwrap(), "core", "final in core-site");
        assert_eq!(conf.get("b").unwrap(), "yarn", "later file wins");
        assert!(conf.source("b").unwrap().ends_with("yarn-site.xml"));
        assert_eq!(conf.ignored_overrides().len(), 1);
        assert!(conf.ignored_overrides()[0].contains("a is final"));
        conf = conf.with_overrides([("ember.hadoop.a", "override"), ("ember.master", "x")]);
        assert_eq!(conf.get("a").unwrap(), "override", "--conf wins over final");
        assert!(conf.get("ember.master").is_none());
    }

    #[test]
    fn values_expand_references_to_properties_and_the_environment() {
        let mut conf = HadoopConf::empty();
        conf.set("host", "nn.example");
        conf.set("port", "8020");
        conf.set("address", "${host}:${port}");
        conf.set(
            "url",
            "hdfs://${address}/user/${env.EMBER_HADOOP_TEST_UNSET-anon}",
        );
        conf.set("loop", "${loop}x");
        conf.set("unknown", "${nope} and ${env.EMBER_HADOOP_TEST_UNSET}");
        assert_eq!(conf.get("url").unwrap(), "hdfs://nn.example:8020/user/anon");
        assert_eq!(
            conf.get("unknown").unwrap(),
            "${nope} and ${env.EMBER_HADOOP_TEST_UNSET}"
        );
        assert!(
            conf.get("loop").unwrap().starts_with("${loop}x"),
            "stops after 20 rounds"
        );
        assert_eq!(conf.get_raw("address"), Some("${host}:${port}"));
    }

    #[test]
    fn high_availability_name_services_list_their_namenodes() {
        let mut conf = HadoopConf::empty();
        conf.set("dfs.nameservices", "prod, backup");
        conf.set("dfs.ha.namenodes.prod", "nn1,nn2");
        conf.set("dfs.namenode.rpc-address.prod.nn1", "a:8020");
        conf.set("dfs.namenode.rpc-address.prod.nn2", "b:8020");
        assert_eq!(conf.name_services(), vec!["prod", "backup"]);
        assert_eq!(
            conf.namenode_addresses("prod"),
            vec![
                ("nn1".into(), "a:8020".into()),
                ("nn2".into(), "b:8020".into())
            ]
        );
        assert_eq!(
            conf.namenode_addresses("c:9000"),
            vec![("c:9000".to_string(), "c:9000".to_string())]
        );
    }

    #[test]
    fn s3a_keys_become_object_store_settings() {
        let mut conf = HadoopConf::empty();
        conf.set("fs.s3a.endpoint", "127.0.0.1:5055");
        conf.set("fs.s3a.connection.ssl.enabled", "false");
        conf.set("fs.s3a.access.key", "k");
        conf.set("fs.s3a.secret.key", "s");
        conf.set("fs.s3a.path.style.access", "true");
        let s3 = conf.s3a();
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:5055"));
        assert_eq!(s3.access_key.as_deref(), Some("k"));
        assert!(s3.path_style_access);
        assert_eq!(HadoopConf::empty().s3a(), S3aSettings::default());
    }

    #[test]
    fn malformed_files_are_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("core-site.xml");
        std::fs::write(
            &file,
            "<configuration>\n<property>\n<name>a</name>\n<value>1</oops>\n",
        )
        .unwrap();
        let err = HadoopConf::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("core-site.xml:4"), "{err}");
        std::fs::write(&file, "<settings/>\n").unwrap();
        let err = HadoopConf::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("configuration"), "{err}");
        let err = HadoopConf::load_dir(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("HADOOP_CONF_DIR"), "{err}");
    }
}
