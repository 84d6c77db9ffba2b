#!/usr/bin/env python
"""Run the long test stages side by side, a bounded number at a time.

`make test` hands this script its slow stages (the integration suite and each Molecule scenario).
They use disjoint resources (loopback ports, one podman network per scenario), and most of their
time is spent waiting on services, so two at a time on two cores finish well before one after
the other.

Each stage writes its whole output to .cache/logs/<name>.log. This script prints one line when a
stage starts or ends, a heartbeat while any runs (so a CI log is never silent for long), the
time of each stage into the timing file, and the end of the log of every stage that failed. It
starts every stage even after one failed, so one run shows every failure, and exits 1 if any did.
The very last lines it prints are the failures themselves (Ansible's failed tasks with their
messages, pytest's failed tests and assertion lines): a CI system that keeps only the end of the
output still shows what failed.

    run_parallel.py --jobs 2 --times .cache/test-times.txt \
        'molecule vault=molecule test -s vault' 'integration=make integration'

Stages start in the order given: put the longest first.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TAIL_LINES = 150
EXCERPT_LINES = 120
EXCERPT_LINE_CHARS = 400
# Where a failure starts: Ansible's failed task result and error line, pytest's summary and assertion lines.
FAILURE_START = re.compile(r"^(fatal|failed): \[|^\[ERROR\]: |^(FAILED|ERROR) (?!- RETRYING)\S|^E {3}")
# Molecule colours Ansible's output and frames it ("  │ fatal: ..."): both go before matching.
DECORATION = re.compile(r"\x1b\[[0-9;]*m")
MOLECULE_FRAME = re.compile(r"^\s*│ ?")
# Where an Ansible failure's message ends.
RESULT_END = re.compile(
    r"^(TASK|PLAY|RUNNING HANDLER|PLAY RECAP) |^\s*$|^\.\.\.ignoring|^(fatal|failed|ok|changed|skipping): \["
)
HEARTBEAT_SECONDS = 300
POLL_SECONDS = 2


@dataclass
class Stage:
    name: str
    command: str
    log: Path
    process: subprocess.Popen | None = None
    started: float = 0.0
    returncode: int | None = None
    elapsed: int = 0
    # CPU seconds (user + system) of the stage's own process tree. Containers a stage starts run
    # under podman's conmon, not under the stage: their CPU shows in the machine's busy share only.
    cpu_seconds: float = 0.0
    log_handle: object = field(default=None, repr=False)


def parse_stage(spec: str, log_dir: Path) -> Stage:
    name, sep, command = spec.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise argparse.ArgumentTypeError(f"stage {spec!r} is not NAME=COMMAND")
    slug = "-".join(name.split())
    return Stage(name=name.strip(), command=command.strip(), log=log_dir / f"{slug}.log")


def start(stage: Stage) -> None:
    stage.log.parent.mkdir(parents=True, exist_ok=True)
    stage.log_handle = stage.log.open("w")
    stage.started = time.monotonic()
    stage.process = subprocess.Popen(
        ["bash", "-c", stage.command],
        stdout=stage.log_handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    print(f"run_parallel: started {stage.name} (log: {stage.log})", flush=True)


def reap(stage: Stage) -> bool:
    """Whether the stage ended; if so, its exit code and its process tree's CPU time are kept."""
    pid, status, usage = os.wait4(stage.process.pid, os.WNOHANG)
    if pid == 0:
        return False
    stage.process.returncode = stage.returncode = os.waitstatus_to_exitcode(status)
    stage.cpu_seconds = usage.ru_utime + usage.ru_stime
    return True


def finish(stage: Stage, times: Path | None) -> None:
    stage.elapsed = int(time.monotonic() - stage.started)
    stage.log_handle.close()
    verdict = "passed" if stage.returncode == 0 else f"FAILED (exit {stage.returncode})"
    cpu = f"{stage.cpu_seconds:.0f}s cpu"
    print(f"run_parallel: {stage.name} {verdict} in {stage.elapsed}s ({cpu})", flush=True)
    if times is not None:
        with times.open("a") as handle:
            handle.write(f"{stage.name}: {stage.elapsed}s ({cpu}){'' if stage.returncode == 0 else ' FAILED'}\n")


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, from /proc/stat (0, 0 where there is none)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def tail(path: Path, lines: int) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def failure_excerpt(text: str) -> list[str]:
    """The lines that say what failed: each failed Ansible task (its TASK line and result) and
    pytest's failure lines. Failures Ansible ignored (followed by "...ignoring") are left out."""
    lines = [MOLECULE_FRAME.sub("", DECORATION.sub("", line)) for line in text.splitlines()]
    out: list[str] = []
    task_header = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task_header = line
        if not FAILURE_START.search(line):
            index += 1
            continue
        if not line.startswith(("fatal", "failed")):
            out.append(line)
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not RESULT_END.search(lines[end]):
            end += 1
        ignored = end < len(lines) and lines[end].strip() == "...ignoring"
        if not ignored:
            out.extend([task_header, *lines[index:end]] if task_header else lines[index:end])
        index = end
    # The last ones: a play stops at its failure, so what ended the run comes last.
    return [line[:EXCERPT_LINE_CHARS] for line in out[-EXCERPT_LINES:]]


def run(stages: list[Stage], jobs: int, times: Path | None) -> int:
    pending = list(stages)
    running: list[Stage] = []
    last_heartbeat = time.monotonic()
    busy_start, total_start = cpu_ticks()
    while pending or running:
        while pending and len(running) < jobs:
            stage = pending.pop(0)
            start(stage)
            running.append(stage)
        time.sleep(POLL_SECONDS)
        for stage in list(running):
            if reap(stage):
                finish(stage, times)
                running.remove(stage)
        if running and time.monotonic() - last_heartbeat >= HEARTBEAT_SECONDS:
            last_heartbeat = time.monotonic()
            status = ", ".join(f"{s.name} {int(time.monotonic() - s.started)}s" for s in running)
            print(f"run_parallel: still running: {status}", flush=True)
    busy_end, total_end = cpu_ticks()
    if total_end > total_start:
        # Near 100 % the cores were the limit: a stage is faster only if the others use less CPU.
        share = 100 * (busy_end - busy_start) / (total_end - total_start)
        line = f"cores busy while the stages ran: {share:.0f}%"
        print(f"run_parallel: {line}", flush=True)
        if times is not None:
            with times.open("a") as handle:
                handle.write(line + "\n")
    failed = [s for s in stages if s.returncode != 0]
    if failed and times is not None and times.exists():
        # `make test` prints the timing file only when everything passed; a failed run needs it too.
        print("\n== time per stage ==\n" + times.read_text().rstrip(), flush=True)
    for stage in failed:
        print(f"\n===== {stage.name} failed; last {TAIL_LINES} lines of {stage.log} =====", flush=True)
        print(tail(stage.log, TAIL_LINES), flush=True)
    for stage in failed:
        excerpt = failure_excerpt(stage.log.read_text(errors="replace"))
        print(f"\n===== what failed in {stage.name} ({len(excerpt)} lines from {stage.log}) =====", flush=True)
        print("\n".join(excerpt) or "(no failed task or test found in the log; see its tail above)", flush=True)
    if failed:
        print(f"run_parallel: failed: {', '.join(s.name for s in failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("CDC_TEST_JOBS", "2")))
    parser.add_argument("--times", type=Path, help="append 'NAME: SECONDSs' lines to this file")
    parser.add_argument("--log-dir", type=Path, default=Path(".cache/logs"))
    parser.add_argument("stages", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    stages = [parse_stage(spec, args.log_dir) for spec in args.stages]
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        parser.error(f"stage names repeat: {names}")
    return run(stages, args.jobs, args.times)


if __name__ == "__main__":
    sys.exit(main())
