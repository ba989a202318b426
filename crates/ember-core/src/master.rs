//! Master URLs: where an application's tasks run.

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
    /// `yarn`: executors in YARN containers, started by the application's ApplicationMaster
    /// (`ember submit --master yarn`); the cluster comes from `HADOOP_CONF_DIR`.
    Yarn {
        /// Executors asked for (`ember.executor.instances`).
        executors: usize,
        /// Task slots per executor (`ember.executor.cores`).
        cores: usize,
    },
}

impl Master {
    /// Parses a master URL as Spark does for the local forms, `local-cluster` and `yarn`.
    ///
    /// ```
    /// use ember_core::Master;
    /// assert_eq!(Master::parse("local[3]").unwrap(), Master::Local { threads: 3, max_failures: None });
    /// assert!(Master::parse("local[0]").is_err());
    /// assert_eq!(
    ///     Master::parse("local-cluster[2,1,1024]").unwrap(),
    ///     Master::LocalCluster { executors: 2, cores: 1, memory_mib: 1024 }
    /// );
    /// ```
    ///
    /// # Errors
    /// [`Error::Master`] for anything else.
    pub fn parse(url: &str) -> Result<Master> {
        let bad = || Error::Master(url.to_string());
        if url == "yarn" {
            return Ok(Master::Yarn {
                executors: 2,
                cores: 1,
            });
        }
        if url == "local" {
            return Ok(Master::Local {
                threads: 1,
                max_failures: None,
            });
        }
        if let Some(inner) = url
            .strip_prefix("local-cluster[")
            .and_then(|r| r.strip_suffix(']'))
        {
            return parse_local_cluster(inner).ok_or_else(bad);
        }
        let inner = url
            .strip_prefix("local[")
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(bad)?;
        let (threads, failures) = match inner.split_once(',') {
            Some((t, f)) => (t.trim(), Some(f.trim())),
            None => (inner.trim(), None),
        };
        let threads = match threads {
            "*" => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n.parse().ok().filter(|&n| n > 0).ok_or_else(bad)?,
        };
        let max_failures = match failures {
            Some(f) => Some(f.parse().ok().filter(|&n| n > 0).ok_or_else(bad)?),
            None => None,
        };
        Ok(Master::Local {
            threads,
            max_failures,
        })
    }

    /// Task slots across the application.
    pub fn total_cores(&self) -> usize {
        match self {
            Master::Local { threads, .. } => *threads,
            Master::LocalCluster {
                executors, cores, ..
            }
            | Master::Yarn { executors, cores } => executors * cores,
        }
    }

    /// This master with the executor counts of `conf` where the URL does not give them (YARN's
    /// come from `ember.executor.instances` and `ember.executor.cores`).
    ///
    /// # Errors
    /// A bad value of either key.
    pub fn sized_by(self, conf: &crate::EmberConf) -> Result<Master> {
        use crate::conf::keys;
        Ok(match self {
            Master::Yarn { .. } => Master::Yarn {
                executors: conf.require(&keys::EXECUTOR_INSTANCES)?,
                cores: conf.require(&keys::EXECUTOR_CORES)?,
            },
            other => other,
        })
    }
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
        for bad in [
            "",
            "yarn-ish",
            "local[",
            "local[x]",
            "local[2,0]",
            "local-cluster[2,1]",
            "local-cluster[0,1,512]",
            "local-cluster[2,1,512",
            "yarn-cluster",
        ] {
            let err = Master::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("local[N]") && err.contains("yarn"),
                "{bad}: {err}"
            );
        }
    }
}
