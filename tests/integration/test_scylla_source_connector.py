# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The REAL ScyllaDB CDC source connector against the STAND-IN for ScyllaDB's CDC on Cassandra 5.

No ScyllaDB server runs here. The connector plugin is the staged archive
(`scylla-cdc-source-connector-plugin`, built from the upstream sources at v2.0.3: PROVENANCE.md in
the vendor folder), unpacked into the plugin path of a Kafka Connect 4.3.1 worker (the staged
kafka-4.3.1 distribution; not 4.4.0, where the connector's Debezium 2.7 fails, see WORKER_ARTIFACT) with
the staged `log4j-1.2-api` on its class path.
Its jar has no ServiceLoader manifests: Kafka's own `connect-plugin-path sync-manifests` writes them
before the worker starts, so the worker keeps `plugin.discovery=service_load`.

The CQL side is one Apache Cassandra 5 node with 4 vnodes, made to serve ScyllaDB's CDC tables by
tests/tools/scylla_cdc_standin.py, a STAND-IN for ScyllaDB's own CDC (test code; see its docstring
for what it does not reproduce). Every base write goes through the stand-in, which writes the log
rows ScyllaDB would write; the connector reads only those. Kafka is the secured node of
kafka_secure_server.py (SASL_SSL, ACLs); the worker is connect_worker.py's (HTTPS REST with client
certificates). The connector's Cassandra password goes by reference (DirectoryConfigProvider).

One connector run: `cdc.output.format=advanced`, `cdc.include.after=full` (the tables have
postimage true), `cdc.include.before=none`. Checked on the change topics: an insert (op c, full
after), an update (op u, full after), a batch of two inserts, a row delete (op d, then a tombstone)
and a partition delete of a table without clustering key (op d, then a tombstone), each with the
right key. Negative control: a row written to the base table around the stand-in has no log row
(keys_without_log finds it) and never reaches the topic.

The worker runs with the Prometheus JMX exporter agent and the kafka_connect role's rules. A second
connector run (its own topic prefix) checks the connector's own Debezium beans come out under the
kafka_connect_scylla_source_* names that roles/prometheus/files/rules/scylla.yml and the ScyllaDB
dashboard read, with a negative control (the rules without those for debezium.* beans export none).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_jmx_exporter_rules import AGENT_ARTIFACT, PROMETHEUS_ACCEPT, TEXT_ACCEPT, Series, agent_opts, named, render
from test_jmx_exporter_rules import scrape as scrape_metrics

from tests.tools import scylla_cdc_standin as standin
from tests.tools.cassandra_server import CassandraNode, started_cassandra
from tests.tools.connect_worker import ConnectWorker, RestError, started_connect_worker
from tests.tools.kafka_secure_server import SecureKafka, quiet_logger, started_secure_kafka, wait_for
from tests.tools.local_services import REPO_ROOT, free_ports, run_tool, staged_output

pytestmark = pytest.mark.integration

CONNECTOR_CLASS = "com.scylladb.cdc.debezium.connector.ScyllaConnector"
PLUGIN_ARTIFACT = "scylla-cdc-source-connector-plugin"
LOG4J_BRIDGE_ARTIFACT = "log4j-1.2-api"
# Not kafka-4.4.0 (kafka_connect_version's default): Kafka 4.4 moved org.apache.kafka.common.utils.Sanitizer
# to ...utils.internals, and the connector's Debezium 2.7.4 (io.debezium.metrics.Metrics) fails every task
# start there with NoClassDefFoundError (measured 2026-12-06). Connect 4.3.1 still has the class.
WORKER_ARTIFACT = "kafka-4.3.1"
PLUGIN_PATH_TOOL = "org.apache.kafka.tools.ConnectPluginPath"
KEYSPACE = "shop"
PREFIX = "standin"
VNODES = 4
RECORDS_TIMEOUT_S = 120
RUNNING_TIMEOUT_S = 90
JMX_RULES_TEMPLATE = REPO_ROOT / "roles/kafka_connect/templates/jmx-exporter.yml.j2"
METRICS_TIMEOUT_S = 90
METRICS_PREFIX = "metrics"


@dataclass
class Source:
    node: CassandraNode
    generation: standin.Generation
    items: standin.CdcTable  # (id int PRIMARY KEY, name text, qty int): no clustering key
    lines: standin.CdcTable  # ((order_id), line, sku): with clustering key
    truststore: Path
    truststore_password: str
    restarted: bool


def cassandra_truststore(node: CassandraNode, directory: Path) -> tuple[Path, str]:
    """PKCS12 truststore holding the node's test CA, for the connector's driver (keytool: Java trusts
    a PKCS12 certificate entry only with its own trusted-usage attribute)."""
    path, password = directory / "cassandra-truststore.p12", uuid.uuid4().hex
    subprocess.run(
        [
            "keytool", "-importcert", "-noprompt", "-alias", "cassandra-test-ca", "-file", str(node.tls.ca_cert),
            "-keystore", str(path), "-storetype", "PKCS12", "-storepass", password,
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path, password


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """A Cassandra node serving the stand-in's CDC tables, two CDC tables and one generation."""
    root = tmp_path_factory.mktemp("cassandra-standin")
    with started_cassandra(root, num_tokens=VNODES) as node:
        restarted = standin.install_generation_tables(node.session, node.restart)
        with node.session() as session:
            session.execute(
                f"CREATE KEYSPACE {KEYSPACE} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            )
            session.execute(f"CREATE TABLE {KEYSPACE}.items (id int PRIMARY KEY, name text, qty int)")
            session.execute(
                f"CREATE TABLE {KEYSPACE}.lines (order_id int, line int, sku text, PRIMARY KEY (order_id, line))"
            )
            # The project's settings (roles/scylla defaults): postimage on, preimage off, delta full.
            for table in ("items", "lines"):
                standin.enable_cdc(session, KEYSPACE, table, postimage=True, preimage=False, ttl=3600)
            generation = standin.publish_generation(session)
            truststore, password = cassandra_truststore(node, root)
            yield Source(
                node=node,
                generation=generation,
                items=standin.CdcTable(session, KEYSPACE, "items", generation, seed=1),
                lines=standin.CdcTable(session, KEYSPACE, "lines", generation, seed=2),
                truststore=truststore,
                truststore_password=password,
                restarted=restarted,
            )


@dataclass
class PluginSetup:
    sync_manifests_s: float = 0.0
    output: str = ""
    metrics_url: str = ""  # the worker's Prometheus JMX exporter agent
    jmx_rules: Path | None = None  # the agent's rules file (roles/kafka_connect/templates/jmx-exporter.yml.j2)


def unzip_plugin(plugin_path: Path) -> None:
    with zipfile.ZipFile(staged_output(PLUGIN_ARTIFACT)) as archive:
        archive.extractall(plugin_path)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConnectWorker, PluginSetup]]:
    """The secured broker and a Connect 4.3.1 worker with the connector, manifests synced.

    The worker runs with the Prometheus JMX exporter agent and the kafka_connect role's rules, as
    kafka_connect.service does, so the connector's own beans can be read under the role's names.
    """
    setup = PluginSetup()
    bridge = staged_output(LOG4J_BRIDGE_ARTIFACT)
    agent = staged_output(AGENT_ARTIFACT)

    def sync_manifests(home: Path, plugin_path: Path, env: dict[str, str]) -> None:
        started = time.monotonic()
        setup.output = run_tool(
            home / "bin" / "kafka-run-class.sh", PLUGIN_PATH_TOOL, "sync-manifests", "--plugin-path", str(plugin_path),
            env=env,
        )  # fmt: skip
        setup.sync_manifests_s = time.monotonic() - started
        # The agent for the worker only (set after the tool ran, which would otherwise bind the port too).
        setup.jmx_rules = render(JMX_RULES_TEMPLATE, plugin_path.parent / "jmx-exporter.yml")
        (metrics_port,) = free_ports(1)
        env["KAFKA_OPTS"] = agent_opts(agent, metrics_port, setup.jmx_rules)
        setup.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

    with (
        started_secure_kafka(tmp_path_factory.mktemp("kafka-secure")) as kafka,
        started_connect_worker(
            kafka,
            tmp_path_factory.mktemp("connect-scylla"),
            connect_artifact=WORKER_ARTIFACT,
            file_plugin=False,
            add_plugins=unzip_plugin,
            classpath=[bridge],
            plugin_discovery="service_load",
            before_start=sync_manifests,
            ready_class=CONNECTOR_CLASS,
        ) as connect,
    ):
        yield connect, setup


def connector_config(source: Source, connect: ConnectWorker) -> dict[str, str]:
    return {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "topic.prefix": PREFIX,
        "scylla.cluster.ip.addresses": f"{source.node.host}:{source.node.port}",
        "scylla.table.names": f"{KEYSPACE}.items,{KEYSPACE}.lines",
        "scylla.user": "admin",
        "scylla.password": connect.write_secret("cassandra-password", source.node.admin_password),
        "scylla.ssl.enabled": "true",
        "scylla.ssl.provider": "JDK",
        "scylla.ssl.truststore.path": str(source.truststore),
        "scylla.ssl.truststore.password": connect.write_secret("cassandra-truststore", source.truststore_password),
        "scylla.consistency.level": "ONE",
        "scylla.query.time.window.size": "2000",
        "scylla.confidence.window.size": "1000",
        "scylla.initial.lookback.ms": "0",  # from the generation's start: nothing written before is skipped
        "cdc.output.format": "advanced",
        "cdc.include.after": "full",
        "cdc.include.before": "none",
        # Explicit: with this 2.0.3 build the documented default did not apply (measured 2026-12-06: records
        # had a null key and no key columns in `after`, and the JsonConverter failed the task).
        "cdc.include.primary-key.placement": "kafka-key,payload-after,payload-before",
        "heartbeat.interval.ms": "5000",
        "topic.creation.default.replication.factor": "1",
        "topic.creation.default.partitions": "1",
    }


def connector_running(connect: ConnectWorker, name: str) -> bool:
    status = connect.status(name)
    tasks = status.get("tasks", [])
    failed = [t for t in [status["connector"], *tasks] if t.get("state") == "FAILED"]
    if failed:
        pytest.fail(f"connector {name} failed: {json.dumps(failed)[:3000]}")
    return status["connector"]["state"] == "RUNNING" and bool(tasks) and all(t["state"] == "RUNNING" for t in tasks)


@contextlib.contextmanager
def consumer(kafka: SecureKafka, topics: list[str]):
    from confluent_kafka import Consumer

    client = Consumer(
        kafka.client_config(
            **{
                "group.id": f"standin-check-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "topic.metadata.refresh.interval.ms": 1000,
                "error_cb": lambda _err: None,
                "logger": quiet_logger(),
            }
        )
    )
    try:
        client.subscribe(topics)
        yield client
    finally:
        client.close()


def read_records(kafka: SecureKafka, topics: list[str], done, timeout_s: float) -> list[tuple[str, dict, dict | None]]:
    """(topic, key payload, value payload or None for a tombstone) in topic order, until done(records).

    Each message once: a rebalance (the second topic appearing) makes this consumer, which commits
    nothing, read a partition again from the start.
    """
    records: list[tuple[str, dict, dict | None]] = []
    seen: set[tuple[str, int, int]] = set()
    deadline = time.monotonic() + timeout_s
    with consumer(kafka, topics) as client:
        while time.monotonic() < deadline and not done(records):
            message = client.poll(1.0)
            if message is None or message.error() is not None:
                continue
            where = (message.topic(), message.partition(), message.offset())
            if where in seen:
                continue
            seen.add(where)
            key = json.loads(message.key())["payload"]
            value = json.loads(message.value())["payload"] if message.value() is not None else None
            records.append((message.topic(), key, value))
    return records


def by_key(records, topic: str) -> dict[tuple, list[dict | None]]:
    grouped: dict[tuple, list[dict | None]] = {}
    for record_topic, key, value in records:
        if record_topic == topic:
            grouped.setdefault(tuple(sorted(key.items())), []).append(value)
    return grouped


def k(**columns) -> tuple:
    return tuple(sorted(columns.items()))


def change(value: dict | None) -> tuple[str, dict | None] | None:
    """(op, after) of an envelope; None for a tombstone."""
    return None if value is None else (value["op"], value["after"])


def test_sync_manifests_makes_the_plugin_visible_to_service_load(worker) -> None:
    connect, setup = worker
    plugins = {p["class"]: p for p in connect.request("GET", "/connector-plugins")}
    assert plugins[CONNECTOR_CLASS]["type"] == "source"
    assert plugins[CONNECTOR_CLASS]["version"] == "2.0.3"
    print(  # the measured start cost, for the test log
        f"\nsync-manifests {setup.sync_manifests_s:.1f} s; worker ready after {connect.ready_after_s:.1f} s "
        "(plugin.discovery=service_load)"
    )


def test_real_connector_streams_the_stand_in_changes(source: Source, worker) -> None:
    connect, _setup = worker
    items, lines = source.items, source.lines
    assert len(source.generation.vnodes) == VNODES
    assert {standin.stream_vnode_index(s) for s in source.generation.streams} == set(range(VNODES))

    # Before the connector starts (read from the generation's start).
    items.insert({"id": 1, "name": "apple", "qty": 1})
    items.insert({"id": 2, "name": "pear"})
    lines.batch(
        [
            standin.Change.insert({"order_id": 10, "line": 1, "sku": "x-1"}, lines.shape),
            standin.Change.insert({"order_id": 10, "line": 2, "sku": "x-2"}, lines.shape),
        ]
    )
    with source.node.session() as session:
        # Negative control: a write around the stand-in has no log row, so no change event.
        session.execute("INSERT INTO shop.items (id, name, qty) VALUES (99, 'unlogged', 0)")
        assert standin.keys_without_log(session, KEYSPACE, "items") == [(99,)]
        assert standin.keys_without_log(session, KEYSPACE, "lines") == []

    name = f"scylla-standin-{uuid.uuid4().hex[:6]}"
    connect.request("PUT", f"/connectors/{name}/config", connector_config(source, connect))
    try:
        wait_for(lambda: connector_running(connect, name), RUNNING_TIMEOUT_S, f"connector {name} RUNNING")
        # While it runs.
        items.update({"id": 1}, {"qty": 2})
        items.delete_partition({"id": 2})
        lines.delete_row({"order_id": 10, "line": 1})

        items_topic, lines_topic = f"{PREFIX}.{KEYSPACE}.items", f"{PREFIX}.{KEYSPACE}.lines"
        expected_count = 5 + 4  # items: c u (id 1), c d tombstone (id 2); lines: c d tombstone, c

        records = read_records(
            connect.kafka,
            [items_topic, lines_topic],
            lambda got: len(got) >= expected_count,
            RECORDS_TIMEOUT_S,
        )
        got_items, got_lines = by_key(records, items_topic), by_key(records, lines_topic)
        context = f"records: {json.dumps(records, default=str)[:4000]}\nstatus: {connect.status(name)}"

        assert [change(v) for v in got_items.get(k(id=1), [])] == [
            ("c", {"id": 1, "name": "apple", "qty": 1}),
            ("u", {"id": 1, "name": "apple", "qty": 2}),  # the full row: postimage + include.after=full
        ], context
        assert [change(v) for v in got_items.get(k(id=2), [])] == [
            ("c", {"id": 2, "name": "pear", "qty": None}),
            ("d", None),  # the partition delete of a table without clustering key
            None,  # then the tombstone
        ], context
        assert [change(v) for v in got_lines.get(k(order_id=10, line=1), [])] == [
            ("c", {"order_id": 10, "line": 1, "sku": "x-1"}),
            ("d", None),  # the row delete
            None,
        ], context
        assert [change(v) for v in got_lines.get(k(order_id=10, line=2), [])] == [
            ("c", {"order_id": 10, "line": 2, "sku": "x-2"}),
        ], context
        assert k(id=99) not in got_items, "a base write without log rows must not become an event"

        delete = next(v for v in got_items[k(id=2)] if v and v["op"] == "d")
        # include.before=none and no preimage: the connector leaves `before` empty on deletes.
        assert delete["before"] is None, context
        assert delete["source"]["keyspace_name"] == KEYSPACE and delete["source"]["table_name"] == "items"
    finally:
        with contextlib.suppress(RestError):
            connect.request("DELETE", f"/connectors/{name}")


# The source connector's names the alert rules and the ScyllaDB dashboard read (kafka_connect_scylla_source_*):
# each must be exported by the real connector through the kafka_connect role's rules.
SCYLLA_SOURCE_NAME = re.compile(r"\bkafka_connect_scylla_source_[a-z_]+[a-z]")
SCYLLA_RULES = REPO_ROOT / "roles/prometheus/files/rules/scylla.yml"
SCYLLA_DASHBOARD = REPO_ROOT / "roles/grafana/files/dashboards/scylla-cdc.json"


def names_read() -> set[str]:
    return {name for path in (SCYLLA_RULES, SCYLLA_DASHBOARD) for name in SCYLLA_SOURCE_NAME.findall(path.read_text())}


def by_server(series: list[Series], name: str, server: str) -> list[Series]:
    return [s for s in named(series, name) if s.labels.get("server") == server]


def events_seen(series: list[Series], server: str, at_least: int) -> bool:
    seen = by_server(series, "kafka_connect_scylla_source_events_seen_total", server)
    return bool(seen) and seen[0].value >= at_least


def records_written(series: list[Series], connector: str) -> float:
    """Connect's count of the connector's task 0 records the producer has written (0 if none yet)."""
    writes = [
        s for s in named(series, "kafka_connect_source_task_source_record_write_total")
        if s.labels == {"connector": connector, "task": "0"}
    ]  # fmt: skip
    return writes[0].value if writes else 0


def scrape_until(url: str, accept: str, wanted, what: str) -> list[Series]:
    """Scrape until wanted(series) (bounded); fail naming what is missing."""
    state: dict[str, list[Series]] = {"series": []}

    def check() -> bool:
        state["series"] = scrape_metrics(url, accept)
        return wanted(state["series"])

    wait_for(check, METRICS_TIMEOUT_S, what)
    return state["series"]


def rules_without_scylla_source(rules: Path) -> str:
    """The agent's rules file without the rules for the connector's own beans (the negative control)."""
    doc = yaml.safe_load(rules.read_text())
    doc["rules"] = [rule for rule in doc["rules"] if not rule["pattern"].startswith("debezium.")]
    return yaml.safe_dump(doc, sort_keys=False)


def replace_rules(rules: Path, text: str) -> None:
    """Rewrite the rules; the agent reloads its file when the modification time moves on."""
    before = rules.stat().st_mtime
    rules.write_text(text)
    os.utime(rules, (before + 2, before + 2))


def test_real_connector_exports_the_metrics_the_rules_read(source: Source, worker) -> None:
    """The real connector's own beans come out under the names scylla.yml and the dashboard read.

    Debezium 2.7 (inside the connector) registers debezium.scylla:type=connector-metrics,
    context=<streaming|snapshot>,server=<topic.prefix>: no task key. The kafka_connect role's rules
    turn the streaming bean into kafka_connect_scylla_source_*{server}. Negative control: the same
    worker with the rules minus those for debezium.* beans exports none of these names (the agent
    drops beans no rule matches). Connect's own source metrics that pipeline.yml reads are checked
    for the real connector too.
    """
    connect, setup = worker
    assert setup.jmx_rules is not None
    name = f"scylla-metrics-{uuid.uuid4().hex[:6]}"
    config = connector_config(source, connect)
    config["topic.prefix"] = METRICS_PREFIX  # its own bean and topics, apart from the other test's connector
    wanted = names_read()
    assert {
        "kafka_connect_scylla_source_milliseconds_behind_source",
        "kafka_connect_scylla_source_events_seen_total",
        "kafka_connect_scylla_source_connected",
    } <= wanted, f"scylla.yml and the dashboard no longer read the names this test expects: {sorted(wanted)}"
    connect.request("PUT", f"/connectors/{name}/config", config)
    try:
        wait_for(lambda: connector_running(connect, name), RUNNING_TIMEOUT_S, f"connector {name} RUNNING")
        source.items.insert({"id": 300, "name": "fig", "qty": 3})
        source.items.update({"id": 300}, {"qty": 4})
        source.items.delete_partition({"id": 300})
        # Everything since the generation's start (initial lookback 0): at least these three changes,
        # counted by Debezium when dispatched and by Connect once the producer has written them.
        for accept in (PROMETHEUS_ACCEPT, TEXT_ACCEPT):
            series = scrape_until(
                setup.metrics_url,
                accept,
                lambda s: events_seen(s, METRICS_PREFIX, 3) and records_written(s, name) >= 3,
                f"kafka_connect_scylla_source_events_seen_total{{server={METRICS_PREFIX!r}}} >= 3 and "
                f"kafka_connect_source_task_source_record_write_total{{connector={name!r}}} >= 3",
            )
            scylla = sorted({s.name for s in series if s.name.startswith("kafka_connect_scylla_source_")})
            missing = sorted(n for n in wanted if not by_server(series, n, METRICS_PREFIX))
            assert not missing, f"not exported by the real connector: {missing}; its names: {scylla}"
            for n in scylla:
                for s in named(series, n):
                    assert set(s.labels) == {"server"}, s
            value = {n: s.value for n in scylla for s in by_server(series, n, METRICS_PREFIX)}
            assert value["kafka_connect_scylla_source_connected"] == 1, value
            for op in ("create", "update", "delete"):
                assert value[f"kafka_connect_scylla_source_{op}_events_seen_total"] >= 1, value
            assert value["kafka_connect_scylla_source_milliseconds_since_last_event"] >= 0, value
            assert value["kafka_connect_scylla_source_queue_total_capacity"] > 0, value
            # Pinned: 2.0.3 gives Debezium no event timestamp (ScyllaEventMetadataProvider returns null),
            # so the lag stays -1. When a version fills it, CdcSourceBehindConfidenceWindow becomes live:
            # update docs/alerts.md#source-lag-the-assumption and this assertion.
            assert value["kafka_connect_scylla_source_milliseconds_behind_source"] == -1, value
            # No bean folded into a name, no snapshot context, nothing under Debezium's default names.
            assert not [n for n in scylla if "__" in n or "snapshot" in n], scylla
            assert not [s.name for s in series if s.name.startswith("debezium")], "unmatched debezium beans exported"

            # What pipeline.yml reads for a source connector, for the real one.
            status = named(series, "kafka_connect_connector_status")
            assert any(s.labels == {"connector": name, "status": "running"} for s in status), status
            assert any(
                s.labels == {"connector": name, "task": "0", "status": "running"}
                for s in named(series, "kafka_connect_task_status")
            ), named(series, "kafka_connect_task_status")
            assert records_written(series, name) >= 3  # waited for above

        # Negative control: without the debezium.* rules, the same beans give none of these names.
        rules_text = setup.jmx_rules.read_text()
        replace_rules(setup.jmx_rules, rules_without_scylla_source(setup.jmx_rules))
        try:
            series = scrape_until(
                setup.metrics_url,
                TEXT_ACCEPT,
                lambda s: not [x for x in s if x.name.startswith("kafka_connect_scylla_source_")],
                "the agent reloaded its rules without the debezium.* rules",
            )
            assert named(series, "kafka_connect_connector_status"), "the reloaded rules export nothing at all"
            assert not [s.name for s in series if s.name.startswith("debezium")], "unmatched debezium beans exported"
        finally:
            replace_rules(setup.jmx_rules, rules_text)
        scrape_until(
            setup.metrics_url,
            TEXT_ACCEPT,
            lambda s: events_seen(s, METRICS_PREFIX, 3),
            "the agent reloaded the role's rules again",
        )
    finally:
        with contextlib.suppress(RestError):
            connect.request("DELETE", f"/connectors/{name}")
