//! Memory and CPU time of a whole process tree, read from Linux's `/proc`.
//!
//! `/usr/bin/time -v` reports the peak of the largest single process. Engines
//! that run several processes (Spark's JVM plus its Python workers) use more
//! than that, so `measure` also samples the sum over the tree, and the CPU
//! time the tree and the rest of the machine use, to tell whether other work
//! ran at the same time.

use std::fs;

/// One process, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent's process id.
    pub ppid: u32,
    /// CPU time used so far, user and system, in clock ticks (`USER_HZ`).
    pub cpu_ticks: u64,
    /// CPU time of the children it has waited for, and of theirs, in clock ticks.
    pub children_cpu_ticks: u64,
}

/// Every process visible in `/proc`.
pub fn processes() -> Vec<Process> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(pid, &stat)
    })
    .collect()
}

/// Reads the text of `/proc/<pid>/stat`.
pub fn parse_stat(pid: u32, stat: &str) -> Option<Process> {
    // "pid (command name, which may hold spaces and parentheses) state ppid
    //  pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
    //  cutime cstime ..."
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Process {
        pid,
        ppid: u32::try_from(number(1)?).ok()?,
        cpu_ticks: number(11)? + number(12)?,
        children_cpu_ticks: number(13)? + number(14)?,
    })
}

/// `root` and all its descendants.
pub fn descendants(root: u32, processes: &[Process]) -> Vec<u32> {
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(
            processes
                .iter()
                .filter(|p| p.ppid == parent && p.pid != parent)
                .map(|p| p.pid),
        );
        next += 1;
    }
    tree
}

/// Memory figures of one process, in KiB, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Resident set size (`VmRSS`).
    pub rss_kib: u64,
    /// Size of the address space (`VmSize`).
    pub size_kib: u64,
}

/// Memory of one process; zero once it has exited (or is a zombie).
pub fn memory(pid: u32) -> Memory {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| memory_from_status(&status))
        .unwrap_or_default()
}

/// The `VmRSS` and `VmSize` figures in the text of `/proc/<pid>/status`.
pub fn memory_from_status(status: &str) -> Memory {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        size_kib: field("VmSize:"),
    }
}

/// What one look at a process tree saw.
#[derive(Debug, Clone, Default)]
pub struct TreeSample {
    /// Summed resident memory of the tree, in KiB (see [`sum_tree`]).
    pub rss_kib: u64,
    /// CPU ticks used so far by each process of the tree, by pid.
    pub cpu_ticks: Vec<(u32, u64)>,
}

/// Looks at `root` and its descendants now.
pub fn sample_tree(root: u32) -> TreeSample {
    let all = processes();
    let tree = descendants(root, &all);
    let cpu_ticks = all
        .iter()
        .filter(|p| tree.contains(&p.pid))
        .map(|p| (p.pid, p.cpu_ticks))
        .collect();
    TreeSample {
        rss_kib: sum_tree(root, &all, memory),
        cpu_ticks,
    }
}

/// Sum of the resident set sizes, in KiB, of `root` and its descendants, with
/// `memory` reading one process's figures.
///
/// A child whose resident and virtual sizes both equal its parent's is taken
/// to share its parent's address space and is not added again: that is what a
/// JVM's `posix_spawn` (a `vfork`) child looks like until it calls `exec`, and
/// counting it would briefly double the JVM.
pub fn sum_tree(root: u32, processes: &[Process], memory: impl Fn(u32) -> Memory) -> u64 {
    let memories: Vec<(u32, Memory)> = descendants(root, processes)
        .into_iter()
        .map(|pid| (pid, memory(pid)))
        .collect();
    let of = |pid: u32| memories.iter().find(|(p, _)| *p == pid).map(|(_, m)| *m);
    let parent_of = |pid: u32| processes.iter().find(|p| p.pid == pid).map(|p| p.ppid);
    memories
        .iter()
        .filter(|(pid, mem)| {
            *pid == root
                || parent_of(*pid)
                    .and_then(of)
                    .is_none_or(|parent| parent != *mem)
        })
        .map(|(_, mem)| mem.rss_kib)
        .sum()
}

/// This process as `/proc/self/stat` shows it now.
pub fn this_process() -> Option<Process> {
    parse_stat(
        std::process::id(),
        &fs::read_to_string("/proc/self/stat").ok()?,
    )
}

/// Ticks of all CPUs together since boot, from the `cpu` line of `/proc/stat`:
/// `(busy, total)`, where busy is everything but idle and I/O wait.
pub fn machine_ticks() -> Option<(u64, u64)> {
    parse_cpu_line(fs::read_to_string("/proc/stat").ok()?.lines().next()?)
}

/// Reads the `cpu` line of `/proc/stat`: `(busy, total)` ticks.
pub fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq steal; guest time is already
    // part of user and nice.
    let ticks: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if ticks.len() < 4 {
        return None;
    }
    let total: u64 = ticks.iter().sum();
    let idle = ticks[3] + ticks.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, ppid: u32) -> Process {
        Process {
            pid,
            ppid,
            cpu_ticks: 0,
            children_cpu_ticks: 0,
        }
    }

    #[test]
    fn parses_stat_with_awkward_names() {
        let stat = "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 25 5 3 4 20 0 1 0";
        assert_eq!(
            parse_stat(42, stat),
            Some(Process {
                pid: 42,
                ppid: 7,
                cpu_ticks: 30,
                children_cpu_ticks: 7,
            })
        );
        assert_eq!(parse_stat(1, "1 (init) S 0 1"), None);
    }

    #[test]
    fn parses_status() {
        let s = "Name:\tx\nVmPeak:\t  100 kB\nVmSize:\t  90 kB\nVmRSS:\t   2048 kB\nThreads: 1\n";
        let m = memory_from_status(s);
        assert_eq!((m.rss_kib, m.size_kib), (2048, 90));
        assert_eq!(memory_from_status("Name:\tzombie\n"), Memory::default());
    }

    #[test]
    fn parses_the_cpu_line() {
        let line = "cpu  100 5 50 1000 20 1 2 3 40 0";
        assert_eq!(parse_cpu_line(line), Some((161, 1181)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4"), None);
    }

    #[test]
    fn walks_the_tree() {
        let all = [
            process(2, 1),
            process(3, 2),
            process(4, 1),
            process(5, 9),
            process(6, 3),
        ];
        let mut tree = descendants(2, &all);
        tree.sort();
        assert_eq!(tree, vec![2, 3, 6]);
    }

    #[test]
    fn a_child_sharing_its_parents_memory_counts_once() {
        let all = [process(2, 1), process(3, 2), process(4, 2)];
        let memory = |pid| match pid {
            2 | 3 => Memory {
                rss_kib: 1000,
                size_kib: 5000,
            },
            _ => Memory {
                rss_kib: 1000,
                size_kib: 4000,
            },
        };
        assert_eq!(sum_tree(2, &all, memory), 2000);
        assert_eq!(sum_tree(3, &all, memory), 1000);
    }

    #[test]
    fn sees_this_process() {
        let me = std::process::id();
        let sample = sample_tree(me);
        assert!(sample.rss_kib >= memory(me).rss_kib / 2);
        assert!(sample.cpu_ticks.iter().any(|&(pid, _)| pid == me));
        let (busy, total) = machine_ticks().unwrap();
        assert!(busy <= total && total > 0);
    }
}
