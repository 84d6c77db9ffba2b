# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the benchmark's tools: scripts/benchmark.py (figures, medians, the table, the scenario's
environment) and scripts/profile_jfr.py (which library a sampled stack is charged to)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


benchmark = _load("benchmark")
profile_jfr = _load("profile_jfr")


def report(sink: int, ceiling: int, p99: int) -> dict:
    """The parts of a playbooks/benchmark_sink.yml report the figures come from."""
    return {
        "connect_backlog": {"sink_rows_per_s": sink},
        "direct": {"rows_per_s": ceiling},
        "connect_to_ceiling_ratio": str(round(sink / ceiling, 3)),
        "produce_paced": {"rows_per_s": sink // 2},
        "connect_paced": {"latency_ms": {"p50": p99 // 3, "p95": p99 // 2, "p99": p99, "max": p99 + 100}},
    }


def test_medians_and_table_show_each_variant_with_the_ratio_range():
    runs = [benchmark.figures(report(s, 10000, p)) for s, p in ((5000, 900), (7000, 1200), (6000, 800))]
    result = {"defaults": {"runs": runs, "median": benchmark.medians(runs)}}
    assert result["defaults"]["median"]["sink_rows_per_s"] == 6000
    assert result["defaults"]["median"]["latency_p99_ms"] == 900
    row = benchmark.table(result).splitlines()[2]
    assert row.startswith("| defaults | 3 | 6,000 | 10,000 | **0.60** (0.50-0.70) |")
    assert "**900**" in row


def test_scenario_environment_is_what_molecule_gives_its_playbooks(tmp_path, monkeypatch):
    ephemeral = tmp_path / ".ansible" / "tmp" / "molecule.AB12.pipeline"
    (ephemeral / "inventory").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path))
    inventory, env = benchmark.scenario_environment("pipeline")
    assert inventory == str(ephemeral / "inventory")
    assert env["MOLECULE_EPHEMERAL_DIRECTORY"] == str(ephemeral)
    # molecule.yml's provisioner environment, with its ${...} references filled in.
    assert env["CDC_LAB_NAME"] == "cdc-mol-pipeline"
    assert env["ANSIBLE_ASYNC_DIR"] == f"{ephemeral}/async"


def test_scenario_environment_refuses_a_scenario_not_converged(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SystemExit, match="converge it first"):
        benchmark.scenario_environment("pipeline")


def frame(cls: str, method: str = "m") -> dict:
    return {"method": {"type": {"name": cls.replace(".", "/")}, "name": method}}


@pytest.mark.parametrize(
    ("stack", "library"),
    [
        # Jackson's parser called by the JSON converter: the converter's cost.
        (["com.fasterxml.jackson.core.json.UTF8StreamJsonParser", "org.apache.kafka.connect.json.JsonConverter"],
         "JSON converter"),
        # The JDK's own frames are charged to their caller.
        (["java.util.HashMap", "java.lang.String", "org.postgresql.core.v3.QueryExecutorImpl", "org.hibernate.X"],
         "PostgreSQL driver (pgjdbc)"),
        # TLS is its own cost, whoever called it.
        (["sun.security.ssl.SSLCipher", "org.postgresql.core.PGStream"], "TLS"),
        (["io.debezium.transforms.ExtractNewRecordState", "org.apache.kafka.connect.runtime.TransformationChain"],
         "transforms"),
        (["io.debezium.connector.jdbc.JdbcChangeEventSink"], "Debezium JDBC sink"),
        (["org.apache.kafka.clients.consumer.internals.Fetcher"], "Kafka consumer"),
        (["java.lang.Thread"], "JDK"),
        (["com.example.Unknown", "org.apache.kafka.connect.json.JsonConverter"], "other"),
    ],
)  # fmt: skip
def test_a_sampled_stack_is_charged_to_the_library_nearest_its_top(stack, library):
    assert profile_jfr.library_of([frame(cls) for cls in stack]) == library


def test_thread_groups():
    tasks = {"pool-3-thread-5"}  # the threads whose stacks went through WorkerSinkTask
    assert profile_jfr.thread_group("pool-3-thread-5", tasks) == "sink tasks"
    assert profile_jfr.thread_group("prometheus-http-1-1", tasks) == "metrics scrapes (JMX exporter)"
    assert profile_jfr.thread_group("GC Thread#1", tasks) == "garbage collection"
    assert profile_jfr.thread_group("C2 CompilerThread0", tasks) == "JIT compiler"
    assert profile_jfr.thread_group("kafka-producer-network-thread | x", tasks) == "Kafka clients' network threads"
    assert profile_jfr.thread_group("qtp123-45", tasks) == "other threads"
