//! Which rack a host is in (Hadoop's `DNSToSwitchMapping`), as the cluster's configuration says.
//!
//! Hadoop clusters describe their network in one of two ways, and this module reads both:
//!
//! - a topology script (`net.topology.script.file.name`, Hadoop's `ScriptBasedMapping`): run with
//!   up to `net.topology.script.number.args` hosts as arguments (100 by default), it prints one
//!   rack per host;
//! - a topology table (`net.topology.node.switch.mapping.impl` set to
//!   `org.apache.hadoop.net.TableMapping`, with `net.topology.table.file.name`): lines of
//!   `host rack`.
//!
//! Hosts are given to the mapping as IP addresses, as Hadoop does, so a script keyed by address
//! places a host named by its name too. A host the mapping does not know, or every host when
//! there is no mapping or the script fails, is in [`DEFAULT_RACK`]. Answers are cached: racks do
//! not move while a job runs, and a script costs a process per call.

use crate::conf::HadoopConf;
use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The rack of hosts no mapping knows.
pub const DEFAULT_RACK: &str = "/default-rack";

/// The class name that selects the table mapping in `net.topology.node.switch.mapping.impl`.
const TABLE_MAPPING: &str = "org.apache.hadoop.net.TableMapping";

/// Resolves hosts to racks, caching every answer.
///
/// ```
/// use ember_hadoop::{HadoopConf, RackResolver, DEFAULT_RACK};
/// let dir = tempfile::tempdir().unwrap();
/// let table = dir.path().join("topology.table");
/// std::fs::write(&table, "10.0.0.1 /dc1/rack1\n").unwrap();
/// let mut conf = HadoopConf::empty();
/// conf.set("net.topology.node.switch.mapping.impl", "org.apache.hadoop.net.TableMapping");
/// conf.set("net.topology.table.file.name", table.to_str().unwrap());
/// let racks = RackResolver::new(&conf);
/// assert_eq!(racks.rack_of("10.0.0.1"), "/dc1/rack1");
/// assert_eq!(racks.rack_of("10.0.0.2"), DEFAULT_RACK);
/// ```
#[derive(Debug)]
pub struct RackResolver {
    mapping: Mapping,
    cache: Mutex<HashMap<String, String>>,
}

#[derive(Debug)]
enum Mapping {
    None,
    Script { path: PathBuf, max_args: usize },
    Table(PathBuf),
}

impl RackResolver {
    /// The mapping `conf` describes; [`DEFAULT_RACK`] for every host when it describes none.
    pub fn new(conf: &HadoopConf) -> Self {
        let table = conf
            .get("net.topology.node.switch.mapping.impl")
            .is_some_and(|class| class.trim() == TABLE_MAPPING);
        let mapping = match (table, conf.get("net.topology.table.file.name")) {
            (true, Some(file)) if !file.is_empty() => Mapping::Table(PathBuf::from(file)),
            _ => match conf.topology_script() {
                Some(path) => Mapping::Script {
                    path,
                    max_args: conf
                        .get("net.topology.script.number.args")
                        .and_then(|n| n.trim().parse().ok())
                        .filter(|&n| n > 0)
                        .unwrap_or(100),
                },
                None => Mapping::None,
            },
        };
        RackResolver {
            mapping,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The rack of `host`.
    pub fn rack_of(&self, host: &str) -> String {
        self.racks_of(&[host.to_string()]).remove(0)
    }

    /// The racks of `hosts`, in their order. Hosts not seen before are resolved in one go.
    pub fn racks_of(&self, hosts: &[String]) -> Vec<String> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut unknown: Vec<String> = hosts
            .iter()
            .filter(|h| !cache.contains_key(*h))
            .cloned()
            .collect();
        unknown.sort();
        unknown.dedup();
        if !unknown.is_empty() {
            let racks = self.resolve(&unknown);
            cache.extend(unknown.into_iter().zip(racks));
        }
        hosts.iter().map(|h| cache[h].clone()).collect()
    }

    /// Asks the mapping, one rack per host.
    fn resolve(&self, hosts: &[String]) -> Vec<String> {
        let addresses: Vec<String> = hosts.iter().map(|h| normalize(h)).collect();
        match &self.mapping {
            Mapping::None => vec![DEFAULT_RACK.to_string(); hosts.len()],
            Mapping::Table(file) => {
                let table = read_table(file);
                hosts
                    .iter()
                    .zip(&addresses)
                    .map(|(host, address)| {
                        table
                            .get(address)
                            .or_else(|| table.get(host))
                            .cloned()
                            .unwrap_or_else(|| DEFAULT_RACK.to_string())
                    })
                    .collect()
            }
            Mapping::Script { path, max_args } => addresses
                .chunks(*max_args)
                .flat_map(|chunk| run_script(path, chunk))
                .collect(),
        }
    }
}

/// `host` as the IP address it resolves to (Hadoop's `NetUtils.normalizeHostName`), or as
/// given when it does not resolve.
fn normalize(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host.to_string();
    }
    (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.find(|a| a.is_ipv4()))
        .map_or_else(|| host.to_string(), |a| a.ip().to_string())
}

/// `host rack` lines; a table that cannot be read maps nothing (with a warning).
fn read_table(file: &Path) -> HashMap<String, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                Some((fields.next()?.to_string(), fields.next()?.to_string()))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(
                "cannot read the topology table {} ({e}); every host is in {DEFAULT_RACK}",
                file.display()
            );
            HashMap::new()
        }
    }
}

/// Runs the topology script on `hosts`; a script that fails or prints the wrong number of
/// racks puts them all in the default rack, as Hadoop does.
fn run_script(script: &Path, hosts: &[String]) -> Vec<String> {
    let fallback = || vec![DEFAULT_RACK.to_string(); hosts.len()];
    let output = match Command::new(script).args(hosts).output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            tracing::warn!(
                "the topology script {} failed ({}): {}; hosts {hosts:?} are in {DEFAULT_RACK}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return fallback();
        }
        Err(e) => {
            tracing::warn!(
                "cannot run the topology script {} ({e}); check net.topology.script.file.name; \
                 hosts {hosts:?} are in {DEFAULT_RACK}",
                script.display()
            );
            return fallback();
        }
    };
    let racks: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if racks.len() != hosts.len() {
        tracing::warn!(
            "the topology script {} printed {} racks for {} hosts; they are in {DEFAULT_RACK}",
            script.display(),
            racks.len(),
            hosts.len()
        );
        return fallback();
    }
    racks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("topology.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn with_script(path: &Path, max_args: &str) -> RackResolver {
        let mut conf = HadoopConf::empty();
        conf.set("net.topology.script.file.name", path.to_str().unwrap());
        conf.set("net.topology.script.number.args", max_args);
        RackResolver::new(&conf)
    }

    #[test]
    fn no_mapping_puts_every_host_in_the_default_rack() {
        let racks = RackResolver::new(&HadoopConf::empty());
        assert_eq!(racks.rack_of("a"), DEFAULT_RACK);
    }

    #[test]
    fn the_script_is_asked_in_batches_and_each_host_once() {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        // One line per call in `calls`; each host's rack is /r-<last digit of the host>.
        let body = format!(
            "echo \"$@\" >> {}\nfor h in \"$@\"; do echo \"/r-${{h##*.}}\"; done",
            calls.display()
        );
        let racks = with_script(&script(dir.path(), &body), "2");
        let hosts: Vec<String> = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
            .map(String::from)
            .to_vec();
        assert_eq!(racks.racks_of(&hosts), ["/r-1", "/r-2", "/r-3"]);
        assert_eq!(racks.rack_of("10.0.0.2"), "/r-2");
        let calls = std::fs::read_to_string(calls).unwrap();
        assert_eq!(calls, "10.0.0.1 10.0.0.2\n10.0.0.3\n");
    }

    #[test]
    fn a_failing_or_miscounting_script_means_the_default_rack() {
        let dir = tempfile::tempdir().unwrap();
        let failing = with_script(&script(dir.path(), "exit 3"), "100");
        assert_eq!(failing.rack_of("10.0.0.1"), DEFAULT_RACK);
        let short = with_script(&script(dir.path(), "echo /only-one"), "100");
        let two = ["10.0.0.1", "10.0.0.2"].map(String::from);
        assert_eq!(short.racks_of(&two), [DEFAULT_RACK, DEFAULT_RACK]);
        let missing = with_script(&dir.path().join("nope.sh"), "100");
        assert_eq!(missing.rack_of("10.0.0.1"), DEFAULT_RACK);
    }

    #[test]
    fn names_are_asked_as_their_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let body = "for h in \"$@\"; do echo \"/by-$h\"; done";
        let racks = with_script(&script(dir.path(), body), "100");
        assert_eq!(racks.rack_of("localhost"), "/by-127.0.0.1");
    }
}
