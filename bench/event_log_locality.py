#!/usr/bin/env python3
"""Locality levels of the scan stage, read from an event log of ember or of Apache Spark.

    event_log_locality.py LOG

Both engines write one JSON object per line with the same event and field names. The scan
stage is the first stage submitted (the stage reading the input). Prints one line:

    tasks=<n> PROCESS_LOCAL=<n> NODE_LOCAL=<n> NO_PREF=<n> RACK_LOCAL=<n> ANY=<n> hosts=<h:n,...>

counting every attempt of the stage that ended (as both engines' summaries do), with the hosts
they ran on. Exits non-zero when the log has no stage or no ended task in it.
"""

import json
import sys
from collections import Counter

LEVELS = ["PROCESS_LOCAL", "NODE_LOCAL", "NO_PREF", "RACK_LOCAL", "ANY"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: event_log_locality.py LOG")
    scan = None
    levels = Counter()
    hosts = Counter()
    with open(sys.argv[1], encoding="utf-8") as log:
        for line in log:
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerStageSubmitted" and scan is None:
                scan = event["Stage Info"]["Stage ID"]
            elif kind == "SparkListenerTaskEnd" and event["Stage ID"] == scan:
                info = event["Task Info"]
                levels[info["Locality"]] += 1
                hosts[info["Host"]] += 1
    if scan is None or not levels:
        sys.exit(f"{sys.argv[1]}: no scan stage with ended tasks")
    unknown = set(levels) - set(LEVELS)
    if unknown:
        sys.exit(f"{sys.argv[1]}: unknown locality levels {sorted(unknown)}")
    counts = " ".join(f"{level}={levels[level]}" for level in LEVELS)
    where = ",".join(f"{h}:{n}" for h, n in sorted(hosts.items()))
    print(f"tasks={sum(levels.values())} {counts} hosts={where}")


if __name__ == "__main__":
    main()
