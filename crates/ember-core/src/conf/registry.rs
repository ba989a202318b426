//! The registry of configuration keys (Spark's `ConfigEntry` registry and its unrecognised
//! property warnings): every `ember.*` key of every ember crate linked into this program.
//!
//! # How a key gets here
//! A crate declares its keys inside [`config_keys!`](crate::config_keys): the macro defines
//! each typed [`ConfigEntry`] constant once and adds them all, as one [`KeyGroup`] of the
//! configuration reference, to [`KEY_GROUPS`]. A key cannot be declared without being
//! registered, and nothing restates it.
//!
//! # Why a slice the linker assembles
//! ember-core cannot name the crates built on it (ember-sql, ember-yarn, an application's own),
//! yet a [`Context`](crate::Context) must know all their keys when it starts. On stable Rust
//! there were three ways:
//! 1. A `register()` function in each crate, called by whoever links it. Forgettable, and
//!    ember-core cannot call it: an application that starts its Context before it first
//!    touches ember-sql would be warned about every SQL key it set.
//! 2. Constructors that run before `main` (`ctor`, `inventory`) and push into a global list.
//!    The list is complete only once every constructor has run, and the executor role itself
//!    runs inside a constructor (see `executor`), so what a lookup saw would depend on the
//!    order the linker put them in.
//! 3. A distributed slice (`linkme`): each group is a `static` the linker gathers into one
//!    section, read as `&'static [KeyGroup]`. Complete from the process's first instruction,
//!    no code runs, no lock, no order.
//!
//! The third is what this module does. Its one limit is the point of it: the slice holds the
//! crates linked into this binary. But an `ember.*` key that some ember crate declares is not
//! unknown to a program that does not link that crate: the `ember` command is built without
//! ember-sql, yet `ember submit --conf ember.sql.distributed=true` is right for an application
//! that has it, and an RDD-only application may share an `ember-defaults.conf` with SQL ones.
//! So the check also knows the keys of the committed configuration reference, which lists
//! every crate's keys and which ember-core embeds when it is built
//! ([`reference::COMMITTED`](super::reference::COMMITTED)); ember-cli's `configuration` test,
//! which links every crate, fails when that page misses a key.
//!
//! # Guarantees
//! - Every registered key is unique and its default parses with its own parser (tested over
//!   everything a test binary links, and over every crate in ember-cli's reference test).
//! - An unknown key is warned about, never refused: a setting for a newer ember, or for a crate
//!   this program does not link, must not stop an application.
//! - Each unknown key is warned about once per process, and not again by a child process that
//!   `ember submit` starts after warning about it ([`WARNED_KEYS_ENV`]).

use super::ConfigEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Mutex, OnceLock};

#[doc(hidden)]
pub use linkme as __linkme;

/// What the registry knows of a key, whatever its type: a [`ConfigEntry`] seen through its text.
pub trait ConfigKey: Sync {
    /// The key, `ember.*`.
    fn key(&self) -> &'static str;
    /// The default as a user would write it; `None` when it is derived at run time.
    fn default_value(&self) -> Option<&'static str>;
    /// What the key means.
    fn doc(&self) -> &'static str;
    /// The ember version that introduced it.
    fn since(&self) -> &'static str;
    /// Whether `value` parses as the key's type.
    ///
    /// # Errors
    /// What is wrong with `value`, as [`EmberConf::get`](super::EmberConf::get) would say.
    fn check(&self, value: &str) -> Result<(), String>;
}

impl<T> ConfigKey for ConfigEntry<T> {
    fn key(&self) -> &'static str {
        self.key
    }
    fn default_value(&self) -> Option<&'static str> {
        self.default
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
    fn since(&self) -> &'static str {
        self.since
    }
    fn check(&self, value: &str) -> Result<(), String> {
        (self.parse)(value.trim()).map(|_| ())
    }
}

/// The keys one [`config_keys!`](crate::config_keys) declares: one area of the configuration
/// reference, or part of one (groups of several crates may share an area).
pub struct KeyGroup {
    /// The area's heading in the reference, such as `Shuffle` or `SQL`.
    pub area: &'static str,
    /// Its keys, in the order declared.
    pub keys: &'static [&'static dyn ConfigKey],
}

impl fmt::Debug for KeyGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyGroup")
            .field("area", &self.area)
            .field(
                "keys",
                &self.keys.iter().map(|k| k.key()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Every group of keys linked into this program, in no particular order.
#[linkme::distributed_slice]
pub static KEY_GROUPS: [KeyGroup];

/// Declares typed configuration keys and registers them as one area of the reference.
///
/// Each item is an ordinary `const` [`ConfigEntry`](crate::conf::ConfigEntry) with its doc
/// comment; the macro defines them as written and adds them to
/// [`KEY_GROUPS`](crate::conf::registry::KEY_GROUPS), so that every key declared is also known
/// to the unknown-key warnings and the configuration reference. Crates built on ember-core use
/// it without depending on `linkme` themselves.
///
/// ```
/// use ember_core::conf::{registry, ConfigEntry};
/// ember_core::config_keys! {
///     area: "Examples";
///     /// What the example application says.
///     pub const GREETING: ConfigEntry<String> = ConfigEntry::text(
///         "ember.example.greeting", Some("hello"), "what to say", "0.1.0");
/// }
/// assert_eq!(GREETING.key, "ember.example.greeting");
/// assert_eq!(registry::lookup("ember.example.greeting").unwrap().since(), "0.1.0");
/// ```
#[macro_export]
macro_rules! config_keys {
    (
        area: $area:literal;
        $(
            $(#[$attr:meta])*
            $vis:vis const $name:ident: $ty:ty = $value:expr;
        )+
    ) => {
        $(
            $(#[$attr])*
            $vis const $name: $ty = $value;
        )+
        const _: () = {
            #[$crate::conf::registry::__linkme::distributed_slice(
                $crate::conf::registry::KEY_GROUPS
            )]
            #[linkme(crate = $crate::conf::registry::__linkme)]
            static GROUP: $crate::conf::KeyGroup = $crate::conf::KeyGroup {
                area: $area,
                keys: &[$(&$name),+],
            };
        };
    };
}

/// Every registered key, group by group.
pub fn keys() -> impl Iterator<Item = &'static dyn ConfigKey> {
    KEY_GROUPS
        .iter()
        .flat_map(|group| group.keys.iter().copied())
}

/// The registered key named `key`.
pub fn lookup(key: &str) -> Option<&'static dyn ConfigKey> {
    static INDEX: OnceLock<BTreeMap<&'static str, &'static dyn ConfigKey>> = OnceLock::new();
    INDEX
        .get_or_init(|| keys().map(|k| (k.key(), k)).collect())
        .get(key)
        .copied()
}

/// A family of keys passed on as they come rather than declared one by one.
#[derive(Debug, Clone, Copy)]
pub struct OpenPrefix {
    /// The prefix, ending in a dot.
    pub prefix: &'static str,
    /// What keys under it do.
    pub doc: &'static str,
}

/// Every open prefix: keys under them are never unknown.
pub const OPEN_PREFIXES: &[OpenPrefix] = &[OpenPrefix {
    prefix: ember_hadoop::HADOOP_KEY_PREFIX,
    doc: "a Hadoop setting: `ember.hadoop.fs.defaultFS=hdfs://nn:8020` sets `fs.defaultFS` over \
          `$HADOOP_CONF_DIR`'s files, in the driver and every executor (Spark's `spark.hadoop.*`)",
}];

/// An `ember.*` key that no linked crate declares, with the declared key nearest to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as set.
    pub key: String,
    /// The known key nearest by edit distance, if one is near enough to be a likely typo.
    pub nearest: Option<String>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.nearest {
            Some(nearest) => write!(
                f,
                "unknown configuration key {}; did you mean {nearest}?",
                self.key
            ),
            None => write!(
                f,
                "unknown configuration key {}: no ember crate declares it and it is ignored; \
                 the keys are listed in {}",
                self.key,
                super::reference::PATH
            ),
        }
    }
}

/// The `ember.*` keys among `keys` that no ember crate declares, in the order given, without
/// repeats. A key is declared when it is registered in this program, or listed in the
/// committed reference (the keys of ember crates this program does not link); keys under an
/// [open prefix](OPEN_PREFIXES) are never unknown, nor are keys outside `ember.*`, which belong
/// to the application.
pub fn unknown_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<UnknownKey> {
    let declared = |key: &str| lookup(key).is_some() || reference_keys().contains(&key);
    let mut seen = BTreeSet::new();
    keys.into_iter()
        .filter(|key| key.starts_with("ember.") && !declared(key))
        .filter(|key| !OPEN_PREFIXES.iter().any(|p| key.starts_with(p.prefix)))
        .filter(|key| seen.insert(*key))
        .map(|key| UnknownKey {
            key: key.to_string(),
            nearest: nearest(
                key,
                self::keys()
                    .map(|k| k.key())
                    .chain(reference_keys().iter().copied()),
            ),
        })
        .collect()
}

/// The keys the committed reference lists: every ember crate's, linked here or not.
fn reference_keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| super::reference::keys_in(super::reference::COMMITTED).collect())
}

/// The candidate nearest to `key` by edit distance (ties to the first in key order), if it is
/// near enough to be the key meant: at most a quarter of the key's length apart, and never
/// further than two edits for short keys.
fn nearest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (key.len() / 4).max(2);
    candidates
        .map(|candidate| (edit_distance(key, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate.to_string())
}

/// Edits between `a` and `b` ignoring case: insertions, deletions, substitutions and swaps of
/// neighbours (the optimal string alignment distance), so that `memroy` is one edit from
/// `memory`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // d[i][j]: edits between the first i chars of a and the first j of b.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Names the unknown keys a parent process has already warned about, separated by commas, so
/// that the application `ember submit` starts does not warn about them a second time.
pub const WARNED_KEYS_ENV: &str = "EMBER_CONF_WARNED";

/// Logs a warning for each of `unknown` not yet warned about in this process (or by the
/// `ember submit` that started it). Returns the messages logged.
pub fn warn_unknown(unknown: &[UnknownKey]) -> Vec<String> {
    static WARNED: Mutex<Option<BTreeSet<String>>> = Mutex::new(None);
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let warned = warned.get_or_insert_with(|| {
        std::env::var(WARNED_KEYS_ENV)
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect()
    });
    let mut logged = Vec::new();
    for key in unknown {
        if warned.insert(key.key.clone()) {
            tracing::warn!("{key}");
            logged.push(key.to_string());
        }
    }
    logged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::{keys as core_keys, EmberConf};

    #[test]
    fn every_registered_key_is_unique() {
        let mut seen = BTreeSet::new();
        for key in keys() {
            assert!(seen.insert(key.key()), "{} is registered twice", key.key());
        }
        assert!(seen.len() >= 37, "only {} keys registered", seen.len());
    }

    #[test]
    fn every_default_parses_with_its_own_parser() {
        for key in keys() {
            if let Some(default) = key.default_value() {
                assert_eq!(
                    key.check(default),
                    Ok(()),
                    "{}'s default {default:?} does not parse",
                    key.key()
                );
            }
        }
    }

    #[test]
    fn every_key_is_an_ember_key_with_doc_and_version() {
        for key in keys() {
            let name = key.key();
            assert!(name.starts_with("ember."), "{name} is not under ember.");
            assert!(!name.ends_with('.') && !name.contains(".."), "{name}");
            assert!(!key.doc().is_empty(), "{name} has no doc");
            assert!(!key.since().is_empty(), "{name} has no since-version");
        }
    }

    #[test]
    fn keys_a_doc_names_are_registered() {
        for key in keys() {
            for word in key
                .doc()
                .split(|c: char| !(c.is_alphanumeric() || c == '.'))
            {
                let word = word.trim_end_matches('.');
                if word.starts_with("ember.") {
                    assert!(
                        lookup(word).is_some(),
                        "{}'s doc names {word}, which no crate declares",
                        key.key()
                    );
                }
            }
        }
    }

    #[test]
    fn the_core_keys_are_registered_once_declared() {
        for entry in [
            core_keys::MASTER.key,
            core_keys::EXECUTOR_INSTANCES.key,
            core_keys::SHUFFLE_COMPRESS.key,
            core_keys::LOCALITY_WAIT_RACK.key,
        ] {
            assert_eq!(lookup(entry).map(|k| k.key()), Some(entry));
        }
        assert!(lookup("ember.no.such.key").is_none());
    }

    #[test]
    fn edit_distance_counts_swaps_as_one_edit() {
        assert_eq!(edit_distance("memory", "memory"), 0);
        assert_eq!(edit_distance("memroy", "memory"), 1);
        assert_eq!(edit_distance("Memory", "memory"), 0);
        assert_eq!(edit_distance("memor", "memory"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_misspelled_key_is_answered_with_the_nearest_registered_key() {
        let unknown = unknown_keys([
            "ember.executor.memroy",
            "ember.task.maxfailures",
            "ember.shuffle.compres",
        ]);
        let nearest: Vec<_> = unknown.iter().map(|u| u.nearest.as_deref()).collect();
        assert_eq!(
            nearest,
            [
                Some(core_keys::EXECUTOR_MEMORY.key),
                Some(core_keys::TASK_MAX_FAILURES.key),
                Some(core_keys::SHUFFLE_COMPRESS.key)
            ]
        );
        assert_eq!(
            unknown[0].to_string(),
            "unknown configuration key ember.executor.memroy; did you mean ember.executor.memory?"
        );
    }

    #[test]
    fn a_key_near_nothing_is_reported_without_a_guess() {
        let unknown = unknown_keys(["ember.completely.different.thing"]);
        assert_eq!(unknown[0].nearest, None);
        assert_eq!(
            unknown[0].to_string(),
            "unknown configuration key ember.completely.different.thing: no ember crate declares \
             it and it is ignored; the keys are listed in docs/configuration.md"
        );
    }

    #[test]
    fn declared_open_and_foreign_keys_are_not_unknown() {
        let unknown = unknown_keys([
            core_keys::EXECUTOR_MEMORY.key,
            "ember.hadoop.fs.defaultFS",
            "ember.hadoop.validateOutputSpecs",
            "myapp.threshold",
            "ember.unknown.once",
            "ember.unknown.once",
        ]);
        let keys: Vec<_> = unknown.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys, ["ember.unknown.once"]);
    }

    #[test]
    fn keys_of_crates_this_program_does_not_link_are_known_from_the_reference() {
        // ember-core's tests link no ember-sql: its keys come from docs/configuration.md.
        assert!(lookup("ember.sql.distributed").is_none());
        assert_eq!(unknown_keys(["ember.sql.distributed"]), []);
        let unknown = unknown_keys(["ember.sql.distributd"]);
        assert_eq!(unknown[0].nearest.as_deref(), Some("ember.sql.distributed"));
    }

    #[test]
    fn the_committed_reference_lists_every_key_this_program_links() {
        for key in keys() {
            assert!(
                reference_keys().contains(&key.key()),
                "{} is out of date: it misses {}; regenerate it with {}",
                super::super::reference::PATH,
                key.key(),
                super::super::reference::REGENERATE
            );
        }
    }

    /// The lines a `tracing` subscriber writes, kept for a test to read.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_while(f: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn an_unknown_key_logs_a_warning_naming_it_and_the_nearest_key_once() {
        let conf = EmberConf::empty()
            .set("ember.executor.heartbeatIntervall", "5s")
            .set(core_keys::LOCAL_DIR.key, "/tmp");
        let log = logged_while(|| conf.warn_unknown_keys());
        assert!(log.contains("WARN"), "{log}");
        assert!(
            log.contains(
                "unknown configuration key ember.executor.heartbeatIntervall; did you mean \
                 ember.executor.heartbeatInterval?"
            ),
            "{log}"
        );
        assert_eq!(log.lines().count(), 1, "{log}");
        let again = logged_while(|| conf.warn_unknown_keys());
        assert_eq!(again, "", "a key is warned about once per process");
    }

    #[test]
    fn a_context_warns_about_unknown_keys_and_starts() {
        let conf = EmberConf::empty()
            .set_master("local[1]")
            .set(core_keys::SHOW_CONSOLE_PROGRESS.key, "false")
            .set("ember.default.paralelism", "3");
        let mut started = None;
        let log = logged_while(|| started = Some(crate::Context::new(conf)));
        started
            .unwrap()
            .expect("an unknown key is no reason to fail");
        assert!(
            log.contains(
                "unknown configuration key ember.default.paralelism; did you mean \
                 ember.default.parallelism?"
            ),
            "{log}"
        );
    }
}
