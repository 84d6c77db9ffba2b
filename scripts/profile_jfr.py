#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a Kafka Connect worker's CPU goes, from a Java Flight Recorder recording (docs/benchmarks.md).

Reads the recording with the JDK's `jfr` tool and prints one JSON report:
- threads: each group of threads' share of the worker's CPU (jdk.ThreadCPULoad), so the part spent
  outside the connector's tasks (garbage collection, the JIT compiler, client threads) is counted too;
- stages: the sink tasks' sampled stacks (jdk.ExecutionSample, the stacks through WorkerSinkTask: the
  executor names the threads pool-N-thread-M), each given to the library nearest its top
  frame that is not the JDK's own (TLS and compression count as themselves): JSON converter,
  transforms, the Debezium sink, Hibernate, the PostgreSQL driver, the Kafka consumer, Connect;
- top: the methods most often on top of a task's stack.

Record on the worker's host while the benchmark's sink runs (the worker runs Java 17; jcmd from a JDK
17 on the host attaches to it by its host pid, also inside a container):
    jcmd <pid> JFR.start name=sink settings=profile duration=60s filename=/tmp/sink.jfr
    scripts/profile_jfr.py /proc/<pid>/root/tmp/sink.jfr
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys

# Nearest the top of the stack wins; frames of the JDK itself are passed over (their caller is charged),
# except TLS and compression, which are their own cost.
LIBRARIES = (
    ("TLS", ("sun.security.ssl.", "javax.crypto.", "com.sun.crypto.", "sun.security.provider.", "javax.net.ssl.")),
    ("compression", ("net.jpountz.", "org.apache.kafka.common.compress.", "java.util.zip.")),
    ("PostgreSQL driver (pgjdbc)", ("org.postgresql.",)),
    ("Hibernate", ("org.hibernate.",)),
    ("Debezium JDBC sink", ("io.debezium.connector.jdbc.", "io.debezium.sink.", "io.debezium.bindings.")),
    ("transforms", ("io.debezium.transforms.", "org.apache.kafka.connect.transforms.", "io.debezium.")),
    ("JSON converter", ("org.apache.kafka.connect.json.", "com.fasterxml.jackson.")),
    ("Kafka consumer", ("org.apache.kafka.clients.", "org.apache.kafka.common.")),
    ("Connect runtime", ("org.apache.kafka.connect.",)),
)
JDK = ("java.", "javax.", "jdk.", "sun.", "com.sun.")
SINK_TASK = "org.apache.kafka.connect.runtime.WorkerSinkTask"
THREAD_GROUPS = (
    ("metrics scrapes (JMX exporter)", re.compile(r"^prometheus-http")),
    ("garbage collection", re.compile(r"^(GC Thread|G1 |VM Periodic|ZGC|Shenandoah)")),
    ("JIT compiler", re.compile(r"CompilerThread")),
    ("Kafka clients' network threads", re.compile(r"^kafka-(producer|coordinator|admin)|heartbeat")),
    ("JFR itself", re.compile(r"^JFR ")),
)


def jfr_events(path: str, events: str) -> list[dict]:
    jfr = shutil.which("jfr")
    if not jfr:
        raise SystemExit(
            "profile_jfr: the JDK's jfr tool is not on PATH; install a JDK 17 (Debian: openjdk-17-jdk-headless)"
        )
    out = subprocess.run([jfr, "print", "--json", "--events", events, path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["recording"]["events"]


def frame_class(frame: dict) -> str:
    return frame["method"]["type"]["name"].replace("/", ".")


def library_of(frames: list[dict]) -> str:
    for frame in frames:  # the top of the stack first
        name = frame_class(frame)
        for library, prefixes in LIBRARIES:
            if name.startswith(prefixes):
                return library
        if not name.startswith(JDK):
            return "other"
    return "JDK"


def thread_group(name: str, task_threads: set[str]) -> str:
    if name in task_threads:
        return "sink tasks"
    for group, pattern in THREAD_GROUPS:
        if pattern.search(name):
            return group
    return "other threads"


def shares(counter: collections.Counter) -> dict:
    total = sum(counter.values()) or 1
    return {name: round(100.0 * value / total, 1) for name, value in counter.most_common()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording")
    parser.add_argument("--task", default=SINK_TASK, help="a class on every stack of the tasks to profile")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    # Sink task threads are named by the worker's executor (pool-N-thread-M), so a task is found by its stack.
    stages, top, samples, task_threads = collections.Counter(), collections.Counter(), 0, set()
    for event in jfr_events(args.recording, "jdk.ExecutionSample"):
        values = event["values"]
        frames = (values.get("stackTrace") or {}).get("frames") or []
        if not any(frame_class(frame) == args.task for frame in frames):
            continue
        samples += 1
        task_threads.add(values["sampledThread"].get("javaName") or "")
        stages[library_of(frames)] += 1
        top[f"{frame_class(frames[0])}.{frames[0]['method']['name']}"] += 1

    cpu = collections.Counter()
    for event in jfr_events(args.recording, "jdk.ThreadCPULoad"):
        values = event["values"]
        thread = values.get("eventThread") or {}
        thread = thread.get("javaName") or thread.get("osName", "?")
        cpu[thread_group(thread, task_threads)] += float(values["user"]) + float(values["system"])

    report = {
        "recording": args.recording,
        "thread_cpu_percent": shares(cpu),
        "task_samples": samples,
        "task_stage_percent": shares(stages),
        "top_methods_percent": dict(list(shares(top).items())[: args.top]),
    }
    print(json.dumps(report, indent=2))
    return 0 if samples else 1


if __name__ == "__main__":
    sys.exit(main())
