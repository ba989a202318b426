//! Configuration: `ember.*` keys, each defined once with its type, default and meaning.
//!
//! Settings come from three places, later ones winning, as in Spark:
//! 1. `ember-defaults.conf` in `$EMBER_CONF_DIR` (or `$EMBER_HOME/conf`): `key value` lines,
//!    `#` comments;
//! 2. `ember submit --conf key=value` (handed to the application through `EMBER_SUBMIT_CONF`);
//! 3. [`EmberConf::set`] in the application's code.
//!
//! Keys mirror Spark's `spark.*` keys where they mean the same. Each is a typed [`ConfigEntry`]
//! declared once, in the crate that reads it, inside [`config_keys!`](crate::config_keys),
//! which also adds it to the [`registry`] of every key linked into the program. The registry
//! is what the rest reads from:
//! - a [`Context`](crate::Context) that starts, and `ember submit`, warn about `ember.*` keys
//!   no crate declares, naming the nearest one ([`registry::unknown_keys`]);
//! - the configuration reference, `docs/configuration.md`, is generated from it
//!   ([`reference::markdown`]) and a test fails when the committed page differs.
//!
//! The core engine's keys are in [`keys`], with those that every cluster manager reads
//! (executor counts and sizes, the deploy mode); ember-sql's are beside the code that reads
//! them (`ember_sql::session`, `ember_sql::hive`, ...), and a cluster manager's own beside its
//! code, in its crate.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub mod keys;
pub mod reference;
pub mod registry;

pub use registry::{ConfigKey, KeyGroup, UnknownKey};

/// The environment variable `ember submit` uses to hand `--conf` settings to an application:
/// `key=value` pairs separated by newlines.
pub const SUBMIT_CONF_ENV: &str = "EMBER_SUBMIT_CONF";
/// Names a file of settings (`key=value` lines) a submitter passed on, read before
/// [`SUBMIT_CONF_ENV`]: how processes a cluster starts (in containers) get theirs.
pub const SUBMIT_CONF_FILE_ENV: &str = "EMBER_SUBMIT_CONF_FILE";

/// One typed configuration key (Spark's `ConfigEntry`).
pub struct ConfigEntry<T> {
    /// The key, `ember.*`.
    pub key: &'static str,
    /// The default, in the same text form a user would write; `None` when derived at run time.
    pub default: Option<&'static str>,
    /// What the key means.
    pub doc: &'static str,
    /// The ember version that introduced it.
    pub since: &'static str,
    parse: fn(&str) -> std::result::Result<T, String>,
}

/// Constructors of keys, one per type and parser, for crates that keep keys of their own.
macro_rules! typed_entries {
    ($($(#[$doc:meta])* $name:ident: $type:ty = $parse:ident;)+) => {
        $(
            impl ConfigEntry<$type> {
                $(#[$doc])*
                pub const fn $name(
                    key: &'static str,
                    default: Option<&'static str>,
                    doc: &'static str,
                    since: &'static str,
                ) -> Self {
                    ConfigEntry {
                        key,
                        default,
                        doc,
                        since,
                        parse: $parse,
                    }
                }
            }
        )+
    };
}

typed_entries! {
    /// A `true`/`false` key.
    boolean: bool = parse_bool;
    /// A text key.
    text: String = parse_string;
    /// A size in bytes: `10m`, `512k`, or a bare number of bytes.
    bytes: u64 = parse_byte_count;
    /// A size in bytes: `512m`, `2g`, or a bare number of MiB.
    mebibytes: u64 = parse_mebibytes;
    /// A positive whole number.
    positive: usize = parse_positive;
    /// A whole number, 0 or more.
    count: u64 = parse_count;
    /// A share from 0 to 1.
    ratio: f64 = parse_ratio;
    /// A duration: `500ms`, `30s`, `2min`, or a bare number of seconds.
    seconds: std::time::Duration = parse_seconds;
    /// A duration: `500ms`, `30s`, `2min`, or a bare number of milliseconds (keys ending `.ms`).
    milliseconds: std::time::Duration = parse_millis;
}

impl<T> fmt::Debug for ConfigEntry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigEntry")
            .field("key", &self.key)
            .field("default", &self.default)
            .finish()
    }
}

/// An application's settings (Spark's `SparkConf`).
///
/// ```
/// use ember_core::{EmberConf, conf::keys};
/// let conf = EmberConf::empty().set(keys::TASK_MAX_FAILURES.key, "2");
/// assert_eq!(conf.get(&keys::TASK_MAX_FAILURES).unwrap(), Some(2));
/// assert_eq!(conf.get(&keys::LOCAL_DIR).unwrap().as_deref(), Some("/tmp"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct EmberConf {
    settings: BTreeMap<String, String>,
}

impl EmberConf {
    /// Settings from `ember-defaults.conf` and `ember submit --conf`, ready for code to add to.
    ///
    /// # Errors
    /// A defaults file or submit setting that cannot be parsed.
    pub fn new() -> Result<Self> {
        let mut conf = EmberConf::empty();
        if let Some(dir) = conf_dir() {
            let file = dir.join("ember-defaults.conf");
            if file.is_file() {
                conf.load_defaults_file(&file)?;
            }
        }
        if let Some(file) = std::env::var_os(SUBMIT_CONF_FILE_ENV) {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            conf.add_submitted(SUBMIT_CONF_FILE_ENV, &text)?;
        }
        if let Ok(text) = std::env::var(SUBMIT_CONF_ENV) {
            conf.add_submitted(SUBMIT_CONF_ENV, &text)?;
        }
        Ok(conf)
    }

    /// Adds the `key=value` lines a submitter passed on.
    fn add_submitted(&mut self, source: &str, text: &str) -> Result<()> {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = split_key_value(line).ok_or_else(|| Error::Config {
                key: source.into(),
                value: line.into(),
                reason: "expected key=value".into(),
            })?;
            self.settings.insert(k.into(), v.into());
        }
        Ok(())
    }

    /// No settings at all: every key at its default.
    pub fn empty() -> Self {
        EmberConf::default()
    }

    /// Sets `key` to `value`, replacing what was there.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// Sets the master URL (`ember.master`).
    pub fn set_master(self, master: &str) -> Self {
        self.set(keys::MASTER.key, master)
    }

    /// Sets the application name (`ember.app.name`).
    pub fn set_app_name(self, name: &str) -> Self {
        self.set(keys::APP_NAME.key, name)
    }

    /// The raw value of `key`, if set.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// All settings, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The typed value of `entry`: the setting, else the default, else `None`.
    ///
    /// # Errors
    /// The setting (or default) does not parse as the key's type; the error names the key.
    pub fn get<T>(&self, entry: &ConfigEntry<T>) -> Result<Option<T>> {
        let Some(raw) = self.get_raw(entry.key).or(entry.default) else {
            return Ok(None);
        };
        (entry.parse)(raw.trim())
            .map(Some)
            .map_err(|reason| Error::Config {
                key: entry.key.into(),
                value: raw.into(),
                reason,
            })
    }

    /// The `ember.*` keys set here that no linked crate declares, each with the declared key
    /// nearest to it (see [`registry::unknown_keys`]).
    pub fn unknown_keys(&self) -> Vec<UnknownKey> {
        registry::unknown_keys(self.settings.keys().map(String::as_str))
    }

    /// Logs a warning for each of [`unknown_keys`](Self::unknown_keys), such as "unknown
    /// configuration key ember.executor.memroy; did you mean ember.executor.memory?", once per
    /// key and process. A [`Context`](crate::Context) calls it as it starts: an unknown key is
    /// ignored, never an error.
    pub fn warn_unknown_keys(&self) {
        registry::warn_unknown(&self.unknown_keys());
    }

    /// Like [`get`](Self::get), for keys that always have a default.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn require<T>(&self, entry: &ConfigEntry<T>) -> Result<T> {
        self.get(entry)?
            .ok_or_else(|| Error::Internal(format!("{} has no default", entry.key)))
    }

    /// Reads `key value` (or `key=value`) lines; `#` starts a comment.
    ///
    /// # Errors
    /// The file cannot be read, or a line has a key but no value.
    pub fn load_defaults_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = split_key_value(line).ok_or_else(|| Error::ConfigFile {
                path: path.into(),
                line: n + 1,
                reason: format!("'{line}' has no value; write 'key value'"),
            })?;
            self.settings
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
        Ok(())
    }
}

fn conf_dir() -> Option<std::path::PathBuf> {
    if let Ok(dir) = std::env::var("EMBER_CONF_DIR") {
        return Some(dir.into());
    }
    std::env::var("EMBER_HOME")
        .ok()
        .map(|home| Path::new(&home).join("conf"))
}

fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let at = line.find(|c: char| c == '=' || c.is_whitespace())?;
    let (k, rest) = line.split_at(at);
    let v = rest[1..].trim_start_matches(|c: char| c == '=' || c.is_whitespace());
    (!k.is_empty() && !v.is_empty()).then_some((k, v.trim_end()))
}

fn parse_string(s: &str) -> std::result::Result<String, String> {
    Ok(s.to_string())
}

fn parse_positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive integer".into()),
    }
}

fn parse_count(s: &str) -> std::result::Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| "expected a whole number, 0 or more".into())
}

fn parse_mebibytes(s: &str) -> std::result::Result<u64, String> {
    parse_bytes(s, 1 << 20)
}

fn parse_byte_count(s: &str) -> std::result::Result<u64, String> {
    parse_bytes(s, 1)
}

fn parse_bool(s: &str) -> std::result::Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) && f > 0.0 => Ok(f),
        _ => Err("expected a number in (0, 1]".into()),
    }
}

fn parse_ratio(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("expected a number from 0 to 1".into()),
    }
}

/// Parses durations like Spark's time strings: `500ms`, `10s`, `2min`, `1h`; a bare number is
/// in `default_unit`.
pub fn parse_duration(
    s: &str,
    default_unit: std::time::Duration,
) -> std::result::Result<std::time::Duration, String> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u32 = digits
        .parse()
        .map_err(|_| "expected a duration such as 500ms, 10s or 2min".to_string())?;
    let unit = match unit {
        "" => default_unit,
        "ms" => std::time::Duration::from_millis(1),
        "s" => std::time::Duration::from_secs(1),
        "m" | "min" => std::time::Duration::from_secs(60),
        "h" => std::time::Duration::from_secs(3600),
        _ => return Err("expected a duration such as 500ms, 10s or 2min".into()),
    };
    Ok(unit * n)
}

fn parse_seconds(s: &str) -> std::result::Result<std::time::Duration, String> {
    parse_duration(s, std::time::Duration::from_secs(1))
}

fn parse_millis(s: &str) -> std::result::Result<std::time::Duration, String> {
    parse_duration(s, std::time::Duration::from_millis(1))
}

/// Parses sizes like Spark's byte strings: `512m`, `2g`, `64k`, `1t`, `100b`; a bare number is in
/// `default_unit` bytes.
pub fn parse_bytes(s: &str, default_unit: u64) -> std::result::Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let lower = lower
        .strip_suffix('b')
        .filter(|r| !r.is_empty())
        .unwrap_or(&lower);
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let unit = match unit {
        "" if s.to_ascii_lowercase().ends_with('b') => 1,
        "" => default_unit,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err("expected a size such as 512m, 2g or 1048576b".into()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| "expected a size such as 512m, 2g or 1048576b".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_spark_byte_strings() {
        assert_eq!(parse_bytes("512m", 1), Ok(512 << 20));
        assert_eq!(parse_bytes("2G", 1), Ok(2 << 30));
        assert_eq!(parse_bytes("100b", 1 << 20), Ok(100));
        assert_eq!(parse_bytes("3", 1 << 20), Ok(3 << 20));
        assert!(parse_bytes("lots", 1).is_err());
        assert!(parse_bytes("", 1).is_err());
    }

    #[test]
    fn durations_parse_like_spark_time_strings() {
        use std::time::Duration;
        assert_eq!(parse_seconds("120s"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_seconds("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_millis("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_millis("2min"), Ok(Duration::from_secs(120)));
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("5 weeks").is_err());
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let conf = EmberConf::empty().set(keys::TASK_MAX_FAILURES.key, "zero");
        let err = conf.get(&keys::TASK_MAX_FAILURES).unwrap_err().to_string();
        assert!(err.contains(keys::TASK_MAX_FAILURES.key), "{err}");
        assert!(err.contains("positive integer"), "{err}");
    }

    #[test]
    fn defaults_file_loses_to_settings_already_made() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ember-defaults.conf");
        std::fs::write(&file, "# c\nember.task.maxFailures 7\nember.local.dir=/x\n").unwrap();
        let mut conf = EmberConf::empty().set(keys::LOCAL_DIR.key, "/y");
        conf.load_defaults_file(&file).unwrap();
        assert_eq!(conf.get(&keys::TASK_MAX_FAILURES).unwrap(), Some(7));
        assert_eq!(conf.get_raw(keys::LOCAL_DIR.key), Some("/y"));
    }

    #[test]
    fn a_key_without_value_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ember-defaults.conf");
        std::fs::write(&file, "\nember.local.dir\n").unwrap();
        let err = EmberConf::empty().load_defaults_file(&file).unwrap_err();
        assert!(err.to_string().contains(":2:"), "{err}");
    }
}
