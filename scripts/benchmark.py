#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make benchmark`: the sink benchmark (playbooks/benchmark_sink.yml), repeated, as a table and a plot.

Each variant (a set of extra variables, for example another sink setting) runs --repetitions times, one
run after the other, against one environment:
- the pipeline scenario's containers after `molecule converge -s pipeline` (--scenario pipeline: its
  inventory and the environment Molecule gives its playbooks);
- or an inventory (--inventory, the `make demo` lab by default).
Writes, into --out (.cache/benchmarks):
- benchmark-<stamp>.json: every run's report, and the median of each figure per variant;
- benchmark-<stamp>.md: the table docs/benchmarks.md shows;
- benchmark-<stamp>.png: throughput (sink and ceiling) and produce-to-visible latency per variant.
A failed run stops the benchmark (its report names the playbook's output); nothing is left behind: the
playbook removes its connector, topics and tables, also after a failure (its cleanup tag).

    make benchmark                                          # the demo lab, defaults, 3 runs
    make benchmark BENCH_ARGS="--scenario pipeline --variants scripts/benchmarks/sink-levers.yml"
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "benchmark_sink.yml"
MAX_REPETITIONS = 10


def scenario_environment(scenario: str) -> tuple[str, dict]:
    """The inventory and environment Molecule gives a scenario's playbooks, from its ephemeral directory."""
    scenario_dir = REPO / "molecule" / scenario
    home = Path(os.environ.get("HOME", "/root"))
    found = sorted((home / ".ansible" / "tmp").glob(f"molecule.*.{scenario}"))
    if len(found) != 1:
        raise SystemExit(
            f"benchmark: {len(found)} ephemeral directories of scenario {scenario} under {home}/.ansible/tmp; "
            f"converge it first (molecule converge -s {scenario}) with this HOME, and keep exactly one"
        )
    ephemeral = found[0]
    env = {
        "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
        "MOLECULE_PROJECT_DIRECTORY": str(REPO),
        "MOLECULE_SCENARIO_DIRECTORY": str(scenario_dir),
        "MOLECULE_FILE": str(scenario_dir / "molecule.yml"),
    }
    provisioner = yaml.safe_load((scenario_dir / "molecule.yml").read_text())["provisioner"]
    for name, value in (provisioner.get("env") or {}).items():
        env[name] = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), os.environ.get(m.group(1), "")), str(value))
    return str(ephemeral / "inventory"), env


def run_once(target: tuple[str, dict], extra_vars: dict, run_id: str, report_dir: Path) -> dict:
    """One run of the playbook; its report. target: the inventory and the environment for ansible-playbook."""
    inventory, env = target
    variables = {**extra_vars, "benchmark_run_id": run_id, "benchmark_report_dir": str(report_dir)}
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        inventory,
        str(PLAYBOOK),
        "-e",
        json.dumps(variables),
    ]
    log = report_dir / f"benchmark-{run_id}.log"
    with log.open("w") as out:
        run = {"cwd": REPO, "env": {**os.environ, **env}, "stdout": out, "stderr": subprocess.STDOUT}
        rc = subprocess.run(argv, check=False, **run).returncode
        report = report_dir / f"sink-{run_id}.json"
        if rc != 0 or not report.exists():
            # The connector, topics and tables of the failed run go; the playbook's cleanup tag removes them.
            subprocess.run([*argv, "--tags", "cleanup"], check=False, **run)
            raise SystemExit(f"benchmark: run {run_id} failed (exit {rc}); its output is in {log}")
    return json.loads(report.read_text())


def figures(report: dict) -> dict:
    """The figures of one run that the table and the plot show."""
    paced = report["connect_paced"]
    return {
        "sink_rows_per_s": report["connect_backlog"]["sink_rows_per_s"],
        "ceiling_rows_per_s": report["direct"]["rows_per_s"],
        "ratio": float(report["connect_to_ceiling_ratio"]),
        "paced_rows_per_s": report["produce_paced"]["rows_per_s"],
        **{f"latency_{name}_ms": value for name, value in paced["latency_ms"].items()},
    }


def medians(runs: list[dict]) -> dict:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def table(results: dict) -> str:
    lines = [
        "| variant | runs | sink rows/s | ceiling rows/s | ratio | paced rows/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, result in results.items():
        m, runs = result["median"], result["runs"]
        spread = f"{min(r['ratio'] for r in runs):.2f}-{max(r['ratio'] for r in runs):.2f}"
        lines.append(
            f"| {variant} | {len(runs)} | {m['sink_rows_per_s']:,.0f} | {m['ceiling_rows_per_s']:,.0f} | "
            f"**{m['ratio']:.2f}** ({spread}) | {m['paced_rows_per_s']:,.0f} | {m['latency_p50_ms']:,.0f} | "
            f"{m['latency_p95_ms']:,.0f} | **{m['latency_p99_ms']:,.0f}** | {m['latency_max_ms']:,.0f} |"
        )
    return "\n".join(lines) + "\n\nMedians of the runs; the ratio's range across runs in brackets.\n"


def plot(results: dict, title: str, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only `make benchmark` installs it (requirements-benchmark.txt)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    names = list(results)
    xs = range(len(names))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.38
    bars = ((-width / 2, "sink_rows_per_s", "Connect sink"), (width / 2, "ceiling_rows_per_s", "psycopg ceiling"))
    for offset, key, label in bars:
        runs = [[r[key] for r in results[n]["runs"]] for n in names]
        mids = [statistics.median(v) for v in runs]
        spread = [
            [m - min(v) for m, v in zip(mids, runs, strict=True)],
            [max(v) - m for m, v in zip(mids, runs, strict=True)],
        ]
        left.bar([x + offset for x in xs], mids, width, yerr=spread, capsize=4, label=label)
    for x, n in zip(xs, names, strict=True):
        median = results[n]["median"]
        left.annotate(
            f"{median['ratio']:.2f}",
            (x - width / 2, median["sink_rows_per_s"]),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 6),
            textcoords="offset points",
        )
    left.set_title("Throughput on a backlog (rows/s; ratio above the sink)")
    left.set_xticks(list(xs), names, rotation=15)
    left.legend()
    for offset, key in ((-0.27, "latency_p50_ms"), (0, "latency_p95_ms"), (0.27, "latency_p99_ms")):
        right.bar([x + offset for x in xs], [results[n]["median"][key] for n in names], 0.27, label=key.split("_")[1])
    right.axhline(1000, color="grey", linestyle="--", linewidth=1)
    right.set_title("Produce to visible, paced at half the sink's rate (ms)")
    right.set_xticks(list(xs), names, rotation=15)
    right.legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scenario", help="a converged Molecule scenario (pipeline)")
    where.add_argument("--inventory", default=str(REPO / "inventories" / "lab"), help="an inventory (the demo lab)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--variants", help="YAML: variant name -> extra variables (default: one, the defaults)")
    parser.add_argument("--extra-vars", default="{}", help="JSON: extra variables for every run (benchmark_rows ...)")
    parser.add_argument("--out", default=str(REPO / ".cache" / "benchmarks"))
    args = parser.parse_args()
    if not 1 <= args.repetitions <= MAX_REPETITIONS:
        parser.error(f"--repetitions must be 1-{MAX_REPETITIONS}")

    target = scenario_environment(args.scenario) if args.scenario else (args.inventory, {})
    variants = yaml.safe_load(Path(args.variants).read_text()) if args.variants else {"defaults": {}}
    common = json.loads(args.extra_vars)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")

    results = {}
    for number, (variant, extra) in enumerate(variants.items()):
        runs = []
        for repetition in range(1, args.repetitions + 1):
            run_id = f"{stamp}v{number}r{repetition}"
            report = run_once(target, {**common, **(extra or {})}, run_id, out)
            runs.append(figures(report))
            print(f"{variant} #{repetition}: {json.dumps(runs[-1])}", flush=True)
        results[variant] = {"extra_vars": extra or {}, "runs": runs, "median": medians(runs)}

    where_ran = f"scenario {args.scenario}" if args.scenario else f"inventory {args.inventory}"
    title = f"Sink benchmark {stamp} on {where_ran}, {os.cpu_count()} CPUs, {args.repetitions} runs per variant"
    (out / f"benchmark-{stamp}.json").write_text(json.dumps({"title": title, "results": results}, indent=2) + "\n")
    (out / f"benchmark-{stamp}.md").write_text(f"{title}\n\n{table(results)}")
    plot(results, title, out / f"benchmark-{stamp}.png")
    print(table(results))
    print(f"Written: {out}/benchmark-{stamp}.json, .md and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
