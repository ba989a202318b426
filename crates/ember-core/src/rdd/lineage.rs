//! An RDD's lineage as text, drawn as Spark's `toDebugString` draws it.
//!
//! Each RDD is a line `(partitions) Kind[id] at operation [storage level]`. A parent reached
//! through a narrow dependency is written below its child at the same depth, after a `|`; a
//! parent reached through a shuffle starts a new, deeper branch with `+-`, so the stages can be
//! read off the indentation:
//!
//! ```text
//! (2) ShuffledRdd[3] at shuffle []
//!  +-(4) MapPartitionsRdd[2] at map []
//!     |  ParallelCollectionRdd[1] at parallelize []
//! ```

use super::{Dependency, RddBase};
use std::sync::Arc;

/// The lines of `rdd`'s lineage.
pub(crate) fn debug_lines(rdd: &dyn RddBase) -> Vec<String> {
    let count = partitions(rdd);
    let mut lines = vec![format!("{count} {}", describe(rdd))];
    children(rdd, &below(&count, ""), &mut lines);
    lines
}

/// `(n)`.
fn partitions(rdd: &dyn RddBase) -> String {
    format!("({})", rdd.num_partitions())
}

/// The prefix of the lines under an RDD whose partition count is `count`: a bar under its
/// middle.
fn below(count: &str, start: &str) -> String {
    let left = (count.len() - 1) / 2;
    format!(
        "{start}{}|{}",
        " ".repeat(left),
        " ".repeat(count.len() - left)
    )
}

fn describe(rdd: &dyn RddBase) -> String {
    let core = rdd.core();
    let label = core.label().map(|l| format!("{l} ")).unwrap_or_default();
    format!(
        "{label}{}[{}] at {} [{}]",
        rdd.kind(),
        core.id(),
        core.name(),
        core.storage_level().description()
    )
}

fn children(rdd: &dyn RddBase, prefix: &str, lines: &mut Vec<String>) {
    let dependencies = super::checkpoint::dependencies_of(rdd);
    let last = dependencies.len().saturating_sub(1);
    for (i, dependency) in dependencies.iter().enumerate() {
        match dependency {
            Dependency::Narrow(parent) => {
                lines.push(format!("{prefix}{}", describe(parent.as_ref())));
                children(parent.as_ref(), prefix, lines);
            }
            Dependency::Shuffle(shuffle) => {
                shuffle_parent(&shuffle.rdd(), prefix, i == last, lines);
            }
        }
    }
}

/// A parent across a shuffle: `+-` at the end of the child's bar, and a new bar beneath.
fn shuffle_parent(parent: &Arc<dyn RddBase>, prefix: &str, last: bool, lines: &mut Vec<String>) {
    let count = partitions(parent.as_ref());
    // The child's bar ends here; its last parent leaves no bar behind.
    let start = prefix.trim_end().strip_suffix('|').unwrap_or(prefix);
    lines.push(format!("{start}+-{count} {}", describe(parent.as_ref())));
    let continued = format!("{start}{}", if last { "  " } else { "| " });
    children(parent.as_ref(), &below(&count, &continued), lines);
}
