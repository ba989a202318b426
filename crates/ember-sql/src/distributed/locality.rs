//! Where scan tasks prefer to run: the hosts holding most of the bytes a task reads from HDFS.
//!
//! A stage whose fragment scans files computes partition `p` from the scan's file group `p`
//! (the operators above a scan keep its partitions). For each group the planner sums, host by
//! host, the bytes of the group's file ranges that each host's block replicas hold, and prefers
//! the three hosts with the most, as Spark does for its file partitions. The task scheduler
//! then applies delay scheduling as for `text_file`.

use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use ember_core::Env;
use ember_hadoop::BlockLocation;
use std::collections::HashMap;
use std::sync::Arc;

/// Hosts preferred by each task of a stage running `fragment` with `tasks` tasks; empty when it
/// reads no HDFS file, or reads several scans whose partitions need not line up with its own.
pub(crate) fn scan_hosts(
    env: &Env,
    fragment: &Arc<dyn ExecutionPlan>,
    tasks: usize,
) -> Vec<Vec<String>> {
    let mut scans = Vec::new();
    file_scans(fragment, &mut scans);
    let [scan] = scans.as_slice() else {
        return Vec::new();
    };
    let url = scan.object_store_url.as_str();
    let Some(authority) = url
        .strip_prefix("hdfs://")
        .map(|rest| rest.trim_end_matches('/'))
    else {
        return Vec::new();
    };
    if scan.file_groups.len() != tasks {
        return Vec::new();
    }
    // The NameNode is asked on the process's I/O runtime, as every Hadoop connection is.
    let Ok(runtime) = ember_hadoop::io_runtime() else {
        return Vec::new();
    };
    let mut blocks: HashMap<String, Vec<BlockLocation>> = HashMap::new();
    scan.file_groups
        .iter()
        .map(|group| {
            let mut bytes: HashMap<String, u64> = HashMap::new();
            for file in group.files() {
                let path = file.object_meta.location.to_string();
                let size = file.object_meta.size;
                let held = blocks.entry(path.clone()).or_insert_with(|| {
                    let asked = ember_hadoop::block_locations(&env.hadoop, authority, &path, size);
                    // Locations are a hint: without them the task runs anywhere.
                    runtime.block_on(asked).unwrap_or_default()
                });
                let (start, end) = file
                    .range
                    .as_ref()
                    .map_or((0, size), |r| (r.start as u64, r.end as u64));
                for block in held.iter() {
                    let overlap = end
                        .min(block.offset + block.length)
                        .saturating_sub(start.max(block.offset));
                    for host in &block.hosts {
                        *bytes.entry(host.clone()).or_default() += overlap;
                    }
                }
            }
            top_hosts(bytes)
        })
        .collect()
}

/// The three hosts holding the most bytes (ties by name, for stable plans).
fn top_hosts(bytes: HashMap<String, u64>) -> Vec<String> {
    let mut hosts: Vec<(String, u64)> = bytes.into_iter().filter(|(_, b)| *b > 0).collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    hosts.into_iter().take(3).map(|(h, _)| h).collect()
}

/// The file scans in `plan`.
fn file_scans<'a>(plan: &'a Arc<dyn ExecutionPlan>, found: &mut Vec<&'a FileScanConfig>) {
    if let Some(scan) = plan
        .downcast_ref::<DataSourceExec>()
        .and_then(|source| source.data_source().downcast_ref::<FileScanConfig>())
    {
        found.push(scan);
    }
    for child in plan.children() {
        file_scans(child, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_with_the_most_bytes_come_first() {
        let bytes = [("a", 10), ("b", 30), ("c", 30), ("d", 5), ("e", 0)];
        let bytes = bytes.into_iter().map(|(h, b)| (h.to_string(), b)).collect();
        assert_eq!(top_hosts(bytes), vec!["b", "c", "a"]);
    }
}
