//! The configuration reference, `docs/configuration.md`: generated from the
//! registry ([`super::registry`]), never edited by hand.
//!
//! [`markdown`] writes the page from the keys linked into the running program. ember-cli's test
//! `configuration` (built with its `sql` feature, so that every crate with keys is linked)
//! compares it with the committed page and fails when they differ; [`REGENERATE`] is the
//! command that rewrites it. The committed page is also how a program that does not link every
//! crate learns the other crates' key names: ember-core embeds it ([`COMMITTED`]) and reads
//! them back with [`keys_in`], so that the `ember` command, built without ember-sql, knows the
//! SQL keys.
//!
//! Layout: one `##` section per area (areas in alphabetical order, keys sorted within them),
//! each a table whose rows begin with the key in backquotes. [`keys_in`] reads that shape back.

use super::registry::{self, ConfigKey, OPEN_PREFIXES};
use std::collections::BTreeMap;

/// Where the page lives, from the repository's root.
pub const PATH: &str = "docs/configuration.md";

/// The page as committed when this crate was built: how a program learns the keys of the ember
/// crates it does not link (see [`registry::unknown_keys`]).
pub const COMMITTED: &str = include_str!("../../../../docs/configuration.md");

/// The command that regenerates the page, run from the repository's root.
pub const REGENERATE: &str =
    "EMBER_BLESS=1 cargo test -p ember-cli --features sql,kafka --test configuration";

/// The configuration reference of every key linked into this program, as markdown.
pub fn markdown() -> String {
    let mut areas: BTreeMap<String, (&str, Vec<&dyn ConfigKey>)> = BTreeMap::new();
    for group in registry::KEY_GROUPS.iter() {
        let (_, keys) = areas
            .entry(group.area.to_lowercase())
            .or_insert_with(|| (group.area, Vec::new()));
        keys.extend(group.keys.iter().copied());
    }
    let mut page = format!(
        "# Configuration\n\
         \n\
         <!-- Generated from ember's configuration registry; do not edit. Regenerate with\n     \
         {REGENERATE} -->\n\
         \n\
         Every `ember.*` key that ember's crates declare, by area. Settings come from\n\
         `ember-defaults.conf` in `$EMBER_CONF_DIR` (or `$EMBER_HOME/conf`), then from\n\
         `ember submit --conf key=value`, then from the application's code (`EmberConf::set`);\n\
         later ones win. Keys mean what Spark's `spark.*` keys of the same name mean, unless\n\
         said otherwise. Sizes take the suffixes `k`, `m`, `g` and `t`, durations `ms`, `s`,\n\
         `min` and `h`; each key says what a bare number means.\n\
         \n\
         An `ember.*` key that no crate declares is ignored: the application, and `ember submit`\n\
         for its `--conf` settings, log a warning that names the nearest key there is.\n\
         \n\
         Keys under these prefixes are passed on rather than declared one by one:\n\
         \n"
    );
    for open in OPEN_PREFIXES {
        page.push_str(&format!("- `{}*`: {}\n", open.prefix, open.doc));
    }
    for (area, mut keys) in areas.into_values() {
        keys.sort_by_key(|k| k.key());
        page.push_str(&format!(
            "\n## {area}\n\n| key | default | meaning | since |\n| --- | --- | --- | --- |\n"
        ));
        for key in keys {
            let default = key
                .default_value()
                .map_or_else(|| "(none)".to_string(), |d| format!("`{d}`"));
            page.push_str(&format!(
                "| `{}` | {default} | {} | {} |\n",
                key.key(),
                cell(key.doc()),
                key.since()
            ));
        }
    }
    page
}

/// `text` as one markdown table cell: pipes escaped, and `<...>` shown rather than taken for
/// HTML.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The keys a page written by [`markdown`] lists.
pub fn keys_in(page: &str) -> impl Iterator<Item = &str> {
    page.lines().filter_map(|line| {
        let rest = line.strip_prefix("| `")?;
        let key = &rest[..rest.find('`')?];
        key.starts_with("ember.").then_some(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::keys;

    #[test]
    fn the_page_lists_every_registered_key_once_and_reads_back() {
        let page = markdown();
        let mut listed: Vec<&str> = keys_in(&page).collect();
        let mut registered: Vec<&str> = registry::keys().map(|k| k.key()).collect();
        listed.sort_unstable();
        registered.sort_unstable();
        assert_eq!(listed, registered);
    }

    #[test]
    fn a_row_gives_default_meaning_and_version() {
        let page = markdown();
        let row = page
            .lines()
            .find(|l| l.starts_with(&format!("| `{}`", keys::EXECUTOR_MEMORY.key)))
            .unwrap();
        assert_eq!(
            row,
            format!(
                "| `ember.executor.memory` | `1g` | {} | 0.1.0 |",
                keys::EXECUTOR_MEMORY.doc
            )
        );
        assert!(page.contains("\n## Memory and storage\n"), "{page}");
        assert!(page.contains("- `ember.hadoop.*`: "), "{page}");
    }

    #[test]
    fn cells_escape_pipes_and_angle_brackets() {
        assert_eq!(cell("a|b <id>"), "a\\|b &lt;id&gt;");
    }
}
