#!/usr/bin/env python3
"""Peak memory of a YARN application's executors, sampled from /proc while it runs.

    python3 bench/yarn_rss.py --log SUBMIT_LOG --report FILE [--samples FILE] [--interval 0.1]

Started just before `ember submit` or `spark-submit`, whose output goes to SUBMIT_LOG: the
application's id is the first `application_<ts>_<n>` that appears there. Its containers are
then the processes whose environment holds CONTAINER_ID=container_<ts>_<n>_..., on every
NodeManager of this machine. Container 000001 is the ApplicationMaster (with the driver, in
cluster mode); each other container holds an executor:

* ember: the process whose environment holds EMBER_EXECUTOR_ID;
* Spark: the JVM running (Yarn)CoarseGrainedExecutorBackend, and the Python daemon and
  workers forked from it.

An executor's memory is the RSS of that process and its descendants (pages shared between
forked Python workers count in each, as `ps` shows them); YARN's bash wrappers around the
command are left out. Every --interval seconds the sampler adds up each executor, and keeps
the peak of the sum over executors and each executor's own peak. A spike shorter than the
interval can fall between samples: the kernel's high-water mark (VmHWM) of each executor's
main process (ember's executor, Spark's executor JVM) is kept too, as last read.

On SIGTERM or SIGINT it goes on sampling until the application's processes are gone (at most
--linger seconds): containers end after the submitting command has seen the application
finish, and their last seconds belong to the run (the next run must not start beside them).
Then it writes FILE as key=value lines: app_id, executors, executor_sum_peak_kib,
executor_max_peak_kib, executor_peaks_kib (id:KiB,...), executor_max_high_water_kib (the
highest VmHWM of an executor's main process), driver_peak_kib (the ApplicationMaster's
container), submitted_s, executors_seen_s, gone_s (seconds from the sampler's start at which
the id appeared, the first executor process appeared, and the last process of the
application was gone), app_cpu_s (the CPU time of the application's processes, each as
last read: the last 100 ms of a process can be missed), samples and sampler_cpu_s (the
sampler's own CPU time).
"""

import argparse
import os
import re
import signal
import sys
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
APP_ID = re.compile(rb"application_(\d+)_(\d+)")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
SPARK_EXECUTOR = b"CoarseGrainedExecutorBackend"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", required=True, help="the submitting command's output")
    parser.add_argument("--report", required=True, help="where to write the key=value report")
    parser.add_argument("--samples", help="where to write every sample (TSV)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between samples")
    parser.add_argument(
        "--linger",
        type=float,
        default=20.0,
        help="seconds to wait, once told to stop, for the application's processes to end",
    )
    return parser.parse_args()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def high_water_kib(pid):
    """The kernel's high-water mark of a process's RSS (VmHWM), 0 if it is gone."""
    for line in (read(f"/proc/{pid}/status") or b"").splitlines():
        if line.startswith(b"VmHWM:"):
            return int(line.split()[1])
    return 0


def proc_stat(pid):
    """(comm, ppid, start time, RSS KiB, CPU ticks of its own) of a process, or None if it is
    gone."""
    stat = read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name is in parentheses and may hold spaces or parentheses itself.
    close = stat.rfind(b")")
    comm = stat[stat.find(b"(") + 1 : close]
    fields = stat[close + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    return comm, int(fields[1]), int(fields[19]), int(fields[21]) * PAGE_KIB, ticks


class Process:
    """What a process's environment and command line say, read once per exec."""

    def __init__(self, pid, comm):
        self.comm = comm
        environ = read(f"/proc/{pid}/environ") or b""
        self.container = None
        self.ember_executor = None
        for var in environ.split(b"\0"):
            if var.startswith(b"CONTAINER_ID="):
                self.container = var[len(b"CONTAINER_ID=") :].decode(errors="replace")
            elif var.startswith(b"EMBER_EXECUTOR_ID="):
                self.ember_executor = var[len(b"EMBER_EXECUTOR_ID=") :].decode(errors="replace")
        self.spark_executor = None
        if self.container is not None and comm == b"java":
            args = (read(f"/proc/{pid}/cmdline") or b"").split(b"\0")
            if any(SPARK_EXECUTOR in a for a in args):
                self.spark_executor = "?"
                if b"--executor-id" in args:
                    at = args.index(b"--executor-id") + 1
                    if at < len(args):
                        self.spark_executor = args[at].decode(errors="replace")

    def executor_id(self):
        return self.ember_executor or self.spark_executor


class Sampler:
    def __init__(self, args):
        self.args = args
        self.started = time.monotonic()
        self.known = {}  # (pid, start time, comm) -> Process
        self.prefix = None
        self.app_id = None
        self.submitted = self.executors_seen = self.gone = None
        self.sum_peak = 0
        self.driver_peak = 0
        self.peaks = {}  # executor id -> KiB
        self.ticks = {}  # (pid, start time) -> CPU ticks of the process itself, as last read
        self.high_water = {}  # executor id -> KiB, of its main process
        self.samples = 0
        self.rows = []

    def now(self):
        return time.monotonic() - self.started

    def find_app(self):
        """The application id, once the submitting command has printed it."""
        log = read(self.args.log)
        match = APP_ID.search(log or b"")
        if match:
            ts, seq = match.group(1).decode(), match.group(2).decode()
            self.app_id = f"application_{ts}_{seq}"
            self.prefix = re.compile(rf"container_(e\d+_)?{ts}_{seq}_\d+_(\d+)$")
            self.submitted = self.now()

    def processes(self):
        """pid -> (Process, ppid, RSS KiB, container number) of the application's processes."""
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = proc_stat(entry)
            if stat is None:
                continue
            comm, ppid, start, rss, ticks = stat
            key = (entry, start, comm)
            proc = self.known.get(key)
            if proc is None:
                proc = self.known[key] = Process(entry, comm)
            if proc.container is None:
                continue
            match = self.prefix.match(proc.container)
            if match:
                self.ticks[(entry, start)] = ticks
                found[int(entry)] = (proc, ppid, rss, int(match.group(2)))
        return found

    def sample(self):
        found = self.processes()
        if not found:
            return False
        roots = {
            pid: p.executor_id()
            for pid, (p, _, _, n) in found.items()
            if n != 1 and p.executor_id()
        }
        executors = {}
        driver = 0
        for pid, (proc, _, rss, number) in found.items():
            if number == 1:
                # The ApplicationMaster's container, less YARN's bash wrappers.
                if proc.comm != b"bash":
                    driver += rss
                continue
            owner = self.owner(pid, found, roots)
            if owner is not None:
                executors[owner] = executors.get(owner, 0) + rss
        if executors and self.executors_seen is None:
            self.executors_seen = self.now()
        total = sum(executors.values())
        self.sum_peak = max(self.sum_peak, total)
        self.driver_peak = max(self.driver_peak, driver)
        for executor, kib in executors.items():
            self.peaks[executor] = max(self.peaks.get(executor, 0), kib)
        for pid, executor in roots.items():
            hwm = high_water_kib(pid)
            self.high_water[executor] = max(self.high_water.get(executor, 0), hwm)
        self.samples += 1
        self.rows.append((self.now(), driver, total, len(executors)))
        return True

    @staticmethod
    def owner(pid, found, roots):
        """The executor whose process `pid` is, or descends from."""
        seen = 0
        while pid in found and seen < 64:
            if pid in roots:
                return roots[pid]
            pid = found[pid][1]
            seen += 1
        return None

    def run(self):
        stop_at = None

        def stop(_signum, _frame):
            nonlocal stop_at
            if stop_at is None:
                stop_at = time.monotonic() + self.args.linger

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            tick = time.monotonic()
            if self.prefix is None:
                self.find_app()
            alive = self.prefix is not None and self.sample()
            if alive:
                self.gone = None
            elif self.prefix is not None and self.gone is None:
                self.gone = self.now()
            if stop_at is not None and (not alive or time.monotonic() >= stop_at):
                break
            time.sleep(max(0.0, self.args.interval - (time.monotonic() - tick)))
        self.write()

    def write(self):
        def secs(t):
            return "" if t is None else f"{t:.2f}"

        peaks = ",".join(f"{e}:{k}" for e, k in sorted(self.peaks.items(), key=lambda p: p[0]))
        cpu = os.times()
        lines = [
            f"app_id={self.app_id or ''}",
            f"executors={len(self.peaks)}",
            f"executor_sum_peak_kib={self.sum_peak}",
            f"executor_max_peak_kib={max(self.peaks.values(), default=0)}",
            f"executor_peaks_kib={peaks}",
            f"executor_max_high_water_kib={max(self.high_water.values(), default=0)}",
            f"driver_peak_kib={self.driver_peak}",
            f"submitted_s={secs(self.submitted)}",
            f"executors_seen_s={secs(self.executors_seen)}",
            f"gone_s={secs(self.gone)}",
            f"app_cpu_s={sum(self.ticks.values()) / CLOCK_TICKS:.2f}",
            f"samples={self.samples}",
            f"sampler_cpu_s={cpu.user + cpu.system:.2f}",
        ]
        with open(self.args.report, "w") as f:
            f.write("\n".join(lines) + "\n")
        if self.args.samples:
            with open(self.args.samples, "w") as f:
                f.write("seconds\tdriver_kib\texecutors_kib\texecutors\n")
                for t, driver, total, n in self.rows:
                    f.write(f"{t:.2f}\t{driver}\t{total}\t{n}\n")


def main():
    Sampler(parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
