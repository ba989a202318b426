//! `docs/configuration.md`, the configuration reference, is what the configuration registry of
//! every ember crate generates. This test binary links them all (ember-cli's `sql` and `kafka`
//! features bring ember-sql and ember-kafka), compares, and with `EMBER_BLESS=1` rewrites the
//! page instead.

use ember::conf::reference;
use std::path::Path;

#[test]
fn the_configuration_reference_is_generated_from_every_crates_keys() {
    let generated = reference::markdown();
    // The SQL engine's keys are there: its crate is linked and registered them.
    for key in [
        ember::sql::DISTRIBUTED.key,
        ember::sql::CREATION_SIDE_THRESHOLD.key,
        ember::kafka::conf::POLL_TIMEOUT.key,
    ] {
        assert!(
            reference::keys_in(&generated).any(|k| k == key),
            "{key} is not in the registry: its crate's keys did not register"
        );
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(reference::PATH);
    if std::env::var_os("EMBER_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("the reference can be written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is out of date; regenerate it with {}\nfirst difference at line {}:\n  committed: {}\n  generated: {}",
            reference::PATH,
            reference::REGENERATE,
            first + 1,
            committed.lines().nth(first).unwrap_or("(end of file)"),
            generated.lines().nth(first).unwrap_or("(end of file)"),
        );
    }
}
