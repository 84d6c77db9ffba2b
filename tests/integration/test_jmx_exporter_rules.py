# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The JMX exporter rules of the kafka and kafka_connect roles produce the metric contract of docs/alerts.md.

A real KRaft node (the staged kafka-4.4.0) and a real distributed Connect worker (kafka-4.3.1, the one the
FileStream plugin loads on, see connect_worker.py) run on loopback with the staged Prometheus JMX exporter
agent (artifacts/manifest.yml `jmx-prometheus-javaagent`, 1.0.1) and the rules rendered from the roles'
own templates (roles/kafka/templates/jmx-exporter.yml.j2, roles/kafka_connect/templates/jmx-exporter.yml.j2).
A FileStream source writes into a topic that a FileStream sink (with a dead letter queue) reads, so the
source-task, sink-task, task-error and consumer beans exist. /metrics is then read the way Prometheus 2.42
asks for it (OpenMetrics first) and as plain text, and every metric the alert rules read must be there with
the labels the rules use, and nothing of the known bad shapes (client ids with topic/partition appended,
names from a pattern without `<>`).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest
import yaml

from tests.tools.connect_worker import FILE_SINK_CLASS, FILE_SOURCE_CLASS, connect_file_plugin
from tests.tools.local_services import (
    BROKER_START_TIMEOUT_S,
    CLIENT_TIMEOUT_S,
    CONNECT_START_TIMEOUT_S,
    LOOPBACK,
    REPO_ROOT,
    broker_ready,
    broker_settings,
    extract,
    free_ports,
    get_json,
    jvm_env,
    run_tool,
    running,
    staged_output,
    wait_until,
    write_properties,
)

pytestmark = pytest.mark.integration

KAFKA_ARTIFACT = "kafka-4.4.0"
CONNECT_ARTIFACT = "kafka-4.3.1"  # the FileStream plugin's version (connect_worker.py)
AGENT_ARTIFACT = "jmx-prometheus-javaagent"
# What Prometheus 2.42 sends: OpenMetrics preferred, the text format as fallback.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
TEXT_ACCEPT = "text/plain;version=0.0.4"
METRICS_WAIT_S = 120
SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Series:
    name: str
    labels: dict[str, str]
    value: float


def render(template: Path, dest: Path) -> Path:
    """The role's template as Ansible renders it (it only uses ansible_managed)."""
    text = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(  # noqa: S701 - YAML
        template.read_text()
    )
    dest.write_text(text.render(ansible_managed="Ansible managed (test)"))
    return dest


def parse(exposition: str) -> list[Series]:
    series = []
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SERIES.match(line)
        assert match, f"unparseable exposition line: {line!r}"
        name, labels, value = match.groups()
        series.append(Series(name, dict(LABEL.findall(labels or "")), float(value)))
    return series


def scrape(url: str, accept: str) -> list[Series]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    with opener.open(request, timeout=30) as response:
        text = response.read().decode()
    dump_dir = os.environ.get("CDC_JMX_DUMP_DIR")
    if dump_dir:  # to read what the rules made when a test fails
        name = re.sub(r"\W+", "_", f"{url}_{accept[:24]}")
        Path(dump_dir, f"{name}.txt").write_text(text)
    return parse(text)


def named(series: list[Series], name: str) -> list[Series]:
    return [s for s in series if s.name == name]


def agent_opts(agent: Path, port: int, rules: Path) -> str:
    return f"-javaagent:{agent}={LOOPBACK}:{port}:{rules}"


@dataclass
class Stack:
    broker_metrics: str
    connect_metrics: str
    source: str
    sink: str
    topic: str


def start_broker(root: Path, agent: Path) -> tuple[list[str], dict[str, str], str, str]:
    tarball = staged_output(KAFKA_ARTIFACT)
    extract(tarball, root)
    home = root / tarball.name.removesuffix(".tgz")
    rules = render(REPO_ROOT / "roles/kafka/templates/jmx-exporter.yml.j2", root / "jmx-exporter.yml")
    broker_port, controller_port, metrics_port = free_ports(3)
    env = jvm_env(root / "logs", "-Xms256M -Xmx512M")
    env["KAFKA_JVM_PERFORMANCE_OPTS"] = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
    properties = write_properties(
        root / "server.properties", broker_settings(root / "data", broker_port, controller_port)
    )
    storage = home / "bin" / "kafka-storage.sh"
    cluster_id = run_tool(storage, "random-uuid", env=env).strip()
    run_tool(storage, "format", "--standalone", "-t", cluster_id, "-c", str(properties), env=env)
    # The agent only for the server itself, as in kafka.service.j2 (not for the storage tool above).
    env["KAFKA_OPTS"] = agent_opts(agent, metrics_port, rules)
    argv = [str(home / "bin" / "kafka-server-start.sh"), str(properties)]
    return argv, env, f"{LOOPBACK}:{broker_port}", f"http://{LOOPBACK}:{metrics_port}/metrics"


def connect_config(bootstrap: str, plugin_path: Path, rest_port: int) -> dict[str, object]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"jmx-connect-{suffix}",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "config.storage.topic": f"jmx-connect-configs-{suffix}",
        "offset.storage.topic": f"jmx-connect-offsets-{suffix}",
        "status.storage.topic": f"jmx-connect-status-{suffix}",
        "config.storage.replication.factor": 1,
        "offset.storage.replication.factor": 1,
        "offset.storage.partitions": 1,
        "status.storage.replication.factor": 1,
        "status.storage.partitions": 1,
        "offset.flush.interval.ms": 1000,
        "scheduled.rebalance.max.delay.ms": 0,
        "listeners": f"http://{LOOPBACK}:{rest_port}",
        "rest.advertised.host.name": LOOPBACK,
        "rest.advertised.port": rest_port,
        "plugin.path": plugin_path,
        "plugin.discovery": "service_load",
    }


def put_connector(rest: str, name: str, config: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"{rest}/connectors/{name}/config",
        data=json.dumps(config).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        assert response.status in (200, 201), response.status


def running_states(rest: str, name: str) -> bool:
    status = get_json(f"{rest}/connectors/{name}/status")
    return status["connector"]["state"] == "RUNNING" and [t["state"] for t in status["tasks"]] == ["RUNNING"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")
    agent = staged_output(AGENT_ARTIFACT)
    root = tmp_path_factory.mktemp("jmx")
    broker_argv, broker_env, bootstrap, broker_metrics = start_broker(root / "kafka", agent)
    with running(broker_argv, broker_env, root / "broker-console.log") as broker:
        wait_until(
            lambda: broker_ready(bootstrap), BROKER_START_TIMEOUT_S, "broker", broker, root / "broker-console.log"
        )

        connect_root = root / "connect"
        tarball = staged_output(CONNECT_ARTIFACT)
        extract(tarball, connect_root / "dist")
        home = connect_root / "dist" / tarball.name.removesuffix(".tgz")
        plugin_path = connect_file_plugin(connect_root / "plugins")
        rules = render(
            REPO_ROOT / "roles/kafka_connect/templates/jmx-exporter.yml.j2", connect_root / "jmx-exporter.yml"
        )
        rest_port, metrics_port = free_ports(2)
        properties = write_properties(
            connect_root / "connect-distributed.properties", connect_config(bootstrap, plugin_path, rest_port)
        )
        env = jvm_env(connect_root / "logs", "-Xms128M -Xmx512M")
        env["KAFKA_JVM_PERFORMANCE_OPTS"] = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
        env["KAFKA_OPTS"] = agent_opts(agent, metrics_port, rules)
        rest = f"http://{LOOPBACK}:{rest_port}"
        console = root / "connect-console.log"
        argv = [str(home / "bin" / "connect-distributed.sh"), str(properties)]
        with running(argv, env, console) as worker:
            wait_until(
                lambda: any(p["class"] == FILE_SOURCE_CLASS for p in get_json(f"{rest}/connector-plugins")),
                CONNECT_START_TIMEOUT_S,
                "Connect worker with the FileStream plugin",
                worker,
                console,
            )
            topic, source, sink = "jmx-lines", "jmx-file-source", "jmx-file-sink"
            source_file, sink_file = root / "in.txt", root / "out.txt"
            source_file.write_text("".join(f"line {i}\n" for i in range(20)))
            put_connector(
                rest,
                source,
                {"connector.class": FILE_SOURCE_CLASS, "tasks.max": 1, "file": str(source_file), "topic": topic},
            )
            put_connector(
                rest,
                sink,
                {
                    "connector.class": FILE_SINK_CLASS,
                    "tasks.max": 1,
                    "file": str(sink_file),
                    "topics": topic,
                    # As the production sink: errors tolerated into a dead letter queue (task-error-metrics).
                    "errors.tolerance": "all",
                    "errors.deadletterqueue.topic.name": f"{sink}-dlq",
                    "errors.deadletterqueue.topic.replication.factor": 1,
                },
            )
            for name in (source, sink):
                wait_until(lambda n=name: running_states(rest, n), CLIENT_TIMEOUT_S, f"{name} running", worker, console)
            wait_until(
                lambda: sink_file.is_file() and len(sink_file.read_text().splitlines()) >= 20,
                CLIENT_TIMEOUT_S,
                "the sink wrote the 20 lines the source read",
                worker,
                console,
            )
            yield Stack(broker_metrics, f"http://{LOOPBACK}:{metrics_port}/metrics", source, sink, topic)


def wait_for_series(url: str, accept: str, wanted) -> list[Series]:
    """Scrape until wanted(series) is true (bounded): some beans appear only after the first fetch or flush."""
    deadline = time.monotonic() + METRICS_WAIT_S
    series: list[Series] = []
    while time.monotonic() < deadline:
        series = scrape(url, accept)
        if wanted(series):
            return series
        time.sleep(2)
    return series


BROKER_CONTRACT = (
    "kafka_server_replicamanager_underreplicatedpartitions",
    "kafka_server_replicamanager_underminisrpartitioncount",
    "kafka_controller_kafkacontroller_offlinepartitionscount",
    "kafka_controller_kafkacontroller_activecontrollercount",
    "kafka_server_raft_current_leader",
)


@pytest.mark.parametrize("accept", [PROMETHEUS_ACCEPT, TEXT_ACCEPT], ids=["openmetrics", "text"])
def test_broker_exports_the_contract_names(stack: Stack, accept: str) -> None:
    series = wait_for_series(stack.broker_metrics, accept, lambda s: all(named(s, n) for n in BROKER_CONTRACT))
    for name in BROKER_CONTRACT:
        found = named(series, name)
        assert len(found) == 1, f"{name}: expected one series, got {found}"
        assert found[0].labels == {}, f"{name} carries labels {found[0].labels}"
    values = {name: named(series, name)[0].value for name in BROKER_CONTRACT}
    # A single healthy combined node: it is the active controller and the quorum leader, nothing is offline.
    assert values["kafka_controller_kafkacontroller_activecontrollercount"] == 1
    assert values["kafka_server_raft_current_leader"] == 1  # node.id 1
    assert values["kafka_controller_kafkacontroller_offlinepartitionscount"] == 0
    assert values["kafka_server_replicamanager_underreplicatedpartitions"] == 0
    assert values["kafka_server_replicamanager_underminisrpartitioncount"] == 0
    # Stable names: no pattern may fold a second key=value of the bean into the name.
    bad = sorted({s.name for s in series if re.search(r"_(clientid|request|version|topic)_", s.name)})
    assert not bad, f"bean properties folded into metric names: {bad}"
    # Per-topic rates keep the topic as a label.
    rates = named(series, "kafka_server_brokertopicmetrics_messagesinpersec_total")
    assert rates, "kafka_server_brokertopicmetrics_messagesinpersec_total missing"


# Broker names the dashboards read besides the contract (roles/grafana/files/known_metrics.yml).
DASHBOARD_BROKER_NAMES = tuple(
    name
    for name in yaml.safe_load((REPO_ROOT / "roles/grafana/files/known_metrics.yml").read_text())["jmx_exporter"]
    if name.startswith(("kafka_server_", "kafka_controller_", "kafka_network_", "kafka_cluster_"))
)
# With every bean (no includeObjectNames) one broker exported about 6,200 series, 3,900 of them request
# histogram percentiles nothing reads, and a scrape cost seconds of CPU.
BROKER_SERIES_MAX = 2000


def test_broker_exports_what_the_dashboards_read_and_no_more(stack: Stack) -> None:
    """The include list gives the agent every bean a dashboard or alert reads, and keeps the scrape small."""
    assert DASHBOARD_BROKER_NAMES, "known_metrics.yml lists no broker names"
    wanted = (*BROKER_CONTRACT, *DASHBOARD_BROKER_NAMES)
    series = wait_for_series(stack.broker_metrics, TEXT_ACCEPT, lambda s: all(named(s, n) for n in wanted))
    missing = [name for name in wanted if not named(series, name)]
    assert not missing, f"the broker's exporter does not export {missing}"
    latency = {s.labels.get("request") for s in named(series, "kafka_network_requestmetrics_total_time_ms")}
    assert {"Produce", "FetchConsumer", "FetchFollower"} <= latency, latency
    assert len(series) < BROKER_SERIES_MAX, f"{len(series)} series: the include list no longer limits the beans"


def connect_contract(stack: Stack) -> dict[str, dict[str, str]]:
    """Metric name -> labels one of its series must carry exactly (docs/alerts.md#metric-contract)."""
    sink_client = f"connector-consumer-{stack.sink}-0"
    return {
        "kafka_connect_connector_status": {"connector": stack.source, "status": "running"},
        "kafka_connect_task_status": {"connector": stack.sink, "task": "0", "status": "running"},
        "kafka_connect_source_task_source_record_write_total": {"connector": stack.source, "task": "0"},
        "kafka_connect_task_error_deadletterqueue_produce_requests": {"connector": stack.sink, "task": "0"},
        "kafka_connect_consumer_records_lag_max": {"client_id": sink_client},
        "kafka_connect_consumer_records_lag": {"client_id": sink_client, "topic": stack.topic, "partition": "0"},
    }


def has_contract(series: list[Series], contract: dict[str, dict[str, str]]) -> bool:
    return all(any(s.labels == labels for s in named(series, name)) for name, labels in contract.items())


@pytest.mark.parametrize("accept", [PROMETHEUS_ACCEPT, TEXT_ACCEPT], ids=["openmetrics", "text"])
def test_connect_exports_the_contract_names(stack: Stack, accept: str) -> None:
    contract = connect_contract(stack)
    series = wait_for_series(stack.connect_metrics, accept, lambda s: has_contract(s, contract))
    names = sorted({s.name for s in series if s.name.startswith("kafka_connect")})
    for name, labels in contract.items():
        found = [s.labels for s in named(series, name)]
        assert labels in found, f"{name}{labels} not exported; its series: {found}; kafka_connect names: {names}"

    # Status: value 1, one series per connector/task (its current state).
    for name, keys in (
        ("kafka_connect_connector_status", ("connector",)),
        ("kafka_connect_task_status", ("connector", "task")),
    ):
        seen: dict[tuple, int] = {}
        for s in named(series, name):
            assert s.value == 1, s
            key = tuple(s.labels[k] for k in keys)
            seen[key] = seen.get(key, 0) + 1
        assert all(count == 1 for count in seen.values()), f"{name}: several states for one object: {seen}"

    # The source has written its 20 lines.
    writes = [
        s
        for s in named(series, "kafka_connect_source_task_source_record_write_total")
        if s.labels["connector"] == stack.source
    ]
    assert writes and writes[0].value >= 20, writes

    # Consumer lag: the client-level series carry only the bare client id (the rules' regex needs it),
    # the per-partition lag carries topic and partition as labels, never inside client_id.
    for s in named(series, "kafka_connect_consumer_records_lag_max"):
        assert set(s.labels) == {"client_id"}, s
        assert re.fullmatch(r"[^,=\s]+", s.labels["client_id"]), f"client_id with a bean suffix: {s}"
    lag = [
        s
        for s in named(series, "kafka_connect_consumer_records_lag")
        if s.labels.get("client_id") == f"connector-consumer-{stack.sink}-0"
    ]
    assert lag and all(s.value == 0 for s in lag), f"the sink read everything, its lag must be 0: {lag}"

    # No name from a pattern that missed `<>` (worker and rebalance metrics).
    assert not [n for n in names if "__" in n], f"malformed names: {[n for n in names if '__' in n]}"
    # Cumulative -total attributes keep their suffix (the agent drops it from gauges).
    for name in (
        "kafka_connect_sink_task_sink_record_read_total",
        "kafka_connect_worker_connector_startup_success_total",
    ):
        assert named(series, name), f"{name} missing; kafka_connect names: {names}"
    worker = named(series, "kafka_connect_worker_connector_count")
    assert worker and worker[0].value == 2, worker
    per_connector = list(named(series, "kafka_connect_worker_connector_running_task_count"))
    assert {s.labels.get("connector") for s in per_connector} >= {stack.source, stack.sink}, per_connector
