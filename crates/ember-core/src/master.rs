//! Master URLs: where an application's tasks run.
//!
//! ember-core parses the local forms itself, as Spark does: `local`, `local[N]`, `local[*]`,
//! `local[N,F]` and `local-cluster[E,C,M]`. Any other URL belongs to a cluster manager that
//! another crate registers ([`deploy::cluster_manager`](crate::deploy::cluster_manager)); a URL
//! no one accepts is refused with the list of every master this program knows.

use crate::deploy::cluster_manager::{self, available_masters, Executors};
use crate::error::{Error, Result};

/// A parsed master URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Master {
    /// `local`, `local[N]`, `local[*]`, `local[N,F]`: tasks run on threads of this process.
    Local {
        /// Task slots (threads).
        threads: usize,
        /// Attempts per task, when the URL gives them (`local[N,F]`).
        max_failures: Option<usize>,
    },
    /// `local-cluster[E,C,M]`: a driver and E executor processes of this binary on this machine,
    /// each with C task slots and M MiB of memory, talking over loopback.
    LocalCluster {
        /// Executor processes.
        executors: usize,
        /// Task slots per executor.
        cores: usize,
        /// Memory budget per executor, in MiB.
        memory_mib: u64,
    },
    /// A URL that a registered [cluster manager](crate::deploy::ExternalClusterManager)
    /// accepts: executors on a cluster, started by that manager.
    External {
        /// The manager's [name](crate::deploy::ExternalClusterManager::name).
        manager: &'static str,
        /// The executors the application asks for.
        executors: Executors,
    },
}

impl Master {
    /// Parses a master URL: the local forms as Spark does, anything else by the registered
    /// cluster manager that accepts it, which sizes its executors with the defaults of its
    /// settings ([`parse_with`](Self::parse_with) applies an application's own).
    ///
    /// ```
    /// use ember_core::Master;
    /// assert_eq!(Master::parse("local[3]").unwrap(), Master::Local { threads: 3, max_failures: None });
    /// assert!(Master::parse("local[0]").is_err());
    /// assert_eq!(
    ///     Master::parse("local-cluster[2,1,1024]").unwrap(),
    ///     Master::LocalCluster { executors: 2, cores: 1, memory_mib: 1024 }
    /// );
    /// let unknown = Master::parse("mesos://host:5050").unwrap_err().to_string();
    /// assert!(unknown.contains("local-cluster[E,C,M]"), "{unknown}");
    /// ```
    ///
    /// # Errors
    /// [`Error::Master`] for a URL of no known form, a malformed local form, or a URL that
    /// more than one cluster manager accepts; the manager's own error for a URL it accepts but
    /// finds malformed.
    pub fn parse(url: &str) -> Result<Master> {
        Master::parse_with(url, &crate::EmberConf::empty())
    }

    /// Parses `url` for an application with `conf`: as [`parse`](Self::parse), with a cluster
    /// manager's executors sized by `conf` (`ember.executor.instances` and
    /// `ember.executor.cores`, or whatever settings that manager reads).
    ///
    /// # Errors
    /// As [`parse`](Self::parse), or a bad value of a setting the manager reads.
    pub fn parse_with(url: &str, conf: &crate::EmberConf) -> Result<Master> {
        let trimmed = url.trim();
        if trimmed == "local" {
            return Ok(Master::Local {
                threads: 1,
                max_failures: None,
            });
        }
        if let Some(inner) = trimmed
            .strip_prefix("local-cluster[")
            .and_then(|r| r.strip_suffix(']'))
        {
            return parse_local_cluster(inner).ok_or_else(|| {
                bad(
                    url,
                    "local-cluster[E,C,M] takes three positive numbers: executors, cores of \
                     each, MiB of memory of each, as in local-cluster[2,1,1024]",
                )
            });
        }
        if let Some(inner) = trimmed
            .strip_prefix("local[")
            .and_then(|r| r.strip_suffix(']'))
        {
            return parse_local(inner).ok_or_else(|| {
                bad(
                    url,
                    "local[N] takes a positive number of threads or *, and local[N,F] also a \
                     positive number of attempts per task, as in local[4] or local[4,2]",
                )
            });
        }
        match cluster_manager::for_url(trimmed)? {
            Some(manager) => Ok(Master::External {
                manager: manager.name(),
                executors: manager.executors(trimmed, conf)?,
            }),
            None => Err(bad(
                url,
                "no built-in master or linked cluster manager accepts it (a cluster manager \
                 comes with its crate: an application that depends on the ember crate has all \
                 of ember's)",
            )),
        }
    }

    /// Task slots across the application.
    pub fn total_cores(&self) -> usize {
        match self {
            Master::Local { threads, .. } => *threads,
            Master::LocalCluster {
                executors, cores, ..
            } => executors * cores,
            Master::External { executors, .. } => executors.total_cores(),
        }
    }
}

/// The error for `url`: what is wrong with it, and every master this program knows.
fn bad(url: &str, reason: &str) -> Error {
    Error::Master {
        url: url.to_string(),
        reason: reason.to_string(),
        available: available_masters().join(", "),
    }
}

fn parse_local(inner: &str) -> Option<Master> {
    let (threads, failures) = match inner.split_once(',') {
        Some((t, f)) => (t.trim(), Some(f.trim())),
        None => (inner.trim(), None),
    };
    let threads = match threads {
        "*" => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n.parse().ok().filter(|&n| n > 0)?,
    };
    let max_failures = match failures {
        Some(f) => Some(f.parse().ok().filter(|&n| n > 0)?),
        None => None,
    };
    Some(Master::Local {
        threads,
        max_failures,
    })
}

fn parse_local_cluster(inner: &str) -> Option<Master> {
    let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
    let [executors, cores, memory] = fields[..] else {
        return None;
    };
    let positive = |s: &str| s.parse::<usize>().ok().filter(|&n| n > 0);
    Some(Master::LocalCluster {
        executors: positive(executors)?,
        cores: positive(cores)?,
        memory_mib: positive(memory)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_forms_parse() {
        assert_eq!(Master::parse("local").unwrap().total_cores(), 1);
        assert!(Master::parse("local[*]").unwrap().total_cores() >= 1);
        assert_eq!(
            Master::parse("local[4, 2]").unwrap(),
            Master::Local {
                threads: 4,
                max_failures: Some(2)
            }
        );
        assert_eq!(
            Master::parse("local-cluster[3, 2, 512]")
                .unwrap()
                .total_cores(),
            6
        );
    }

    #[test]
    fn a_bad_url_is_refused_with_every_built_in_form() {
        for (bad, says) in [
            ("", "no built-in master"),
            ("local[", "no built-in master"),
            ("spark://host:7077", "no built-in master"),
            ("local[x]", "local[N] takes"),
            ("local[2,0]", "local[N] takes"),
            ("local-cluster[2,1]", "local-cluster[E,C,M] takes"),
            ("local-cluster[0,1,512]", "local-cluster[E,C,M] takes"),
            ("local-cluster[2,1,512", "no built-in master"),
        ] {
            let err = Master::parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(
                err.contains(&format!("invalid master URL '{bad}'")),
                "{bad}: {err}"
            );
            for form in cluster_manager::BUILT_IN_MASTERS {
                assert!(err.contains(form), "{bad}: {form} missing from {err}");
            }
        }
    }
}
