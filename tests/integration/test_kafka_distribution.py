# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The staged Kafka 4.4.0 distribution runs a KRaft node and a Kafka Connect worker.

Takes the outputs of `make artifacts` (scripts/stage_artifacts.py stage) from $CDC_ARTIFACT_DIR
or <repo>/.cache/artifacts, checks them against artifacts/lock.yml, and runs them on loopback
ports only: one combined broker+controller formatted with the distribution's kafka-storage.sh,
a topic round trip with confluent-kafka, and a Connect worker whose plugin.path holds the staged
Debezium JDBC sink. Every process is stopped in a finally block; every wait is bounded.
Needs Java 17 on PATH (or JAVA_HOME).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.local_services import (
    BROKER_START_TIMEOUT_S,
    CLIENT_TIMEOUT_S,
    CONNECT_START_TIMEOUT_S,
    JDBC_SINK_CLASS,
    KAFKA_ARTIFACT,
    LOOPBACK,
    PLUGIN_ARTIFACT,
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


@dataclass
class Broker:
    home: Path
    bootstrap: str
    log_dir: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")
    tarball = staged_output(KAFKA_ARTIFACT)
    root = tmp_path_factory.mktemp("kafka")
    extract(tarball, root)
    home = root / tarball.name.removesuffix(".tgz")
    log_dir = root / "logs"
    env = jvm_env(log_dir, "-Xms256M -Xmx512M")
    broker_port, controller_port = free_ports(2)
    properties = write_properties(
        root / "server.properties",
        broker_settings(root / "data", broker_port, controller_port),
    )
    cluster_id = run_tool(home / "bin" / "kafka-storage.sh", "random-uuid", env=env).strip()
    run_tool(
        home / "bin" / "kafka-storage.sh",
        "format", "--standalone", "-t", cluster_id, "-c", str(properties),
        env=env,
    )  # fmt: skip
    bootstrap = f"{LOOPBACK}:{broker_port}"
    argv = [str(home / "bin" / "kafka-server-start.sh"), str(properties)]
    console = root / "broker-console.log"
    with running(argv, env, console) as process:
        wait_until(
            lambda: broker_ready(bootstrap),
            BROKER_START_TIMEOUT_S,
            "broker",
            process,
            console,
        )
        yield Broker(home, bootstrap, log_dir, env)


def create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    futures[topic].result(timeout=CLIENT_TIMEOUT_S)


def produce_one(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    from confluent_kafka import Producer

    delivered: list[object] = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "broker.address.family": "v4",
            "acks": "all",
            "enable.idempotence": True,
        }
    )
    producer.produce(topic, key=key, value=value, on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(CLIENT_TIMEOUT_S) == 0, "message still queued after flush"
    assert delivered == [None], f"delivery failed: {delivered}"


def consume_one(bootstrap: str, topic: str) -> tuple[bytes, bytes]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "broker.address.family": "v4",
            "group.id": f"staged-smoke-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            assert message.error() is None, message.error()
            return message.key(), message.value()
        pytest.fail(f"no message consumed from {topic} within {CLIENT_TIMEOUT_S} s")
    finally:
        consumer.close()


def test_kraft_node_round_trips_a_message(broker: Broker) -> None:
    topic = "staged-distribution-smoke"
    create_topic(broker.bootstrap, topic)
    described = run_tool(
        broker.home / "bin" / "kafka-topics.sh",
        "--bootstrap-server", broker.bootstrap, "--describe", "--topic", topic,
        env=broker.env,
    )  # fmt: skip
    assert f"Topic: {topic}" in described

    produce_one(broker.bootstrap, topic, b"key-1", b"hello from the staged distribution")
    assert consume_one(broker.bootstrap, topic) == (
        b"key-1",
        b"hello from the staged distribution",
    )

    server_log = broker.log_dir / "server.log"
    assert server_log.is_file(), "config/log4j2.yaml did not write server.log under LOG_DIR"
    assert "Kafka Server started" in server_log.read_text(errors="replace")


def connect_settings(broker: Broker, plugin_dir: Path, rest_port: int) -> dict[str, object]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "bootstrap.servers": broker.bootstrap,
        "group.id": f"staged-connect-{suffix}",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "config.storage.topic": f"connect-configs-{suffix}",
        "offset.storage.topic": f"connect-offsets-{suffix}",
        "status.storage.topic": f"connect-status-{suffix}",
        "config.storage.replication.factor": 1,
        "offset.storage.replication.factor": 1,
        "status.storage.replication.factor": 1,
        "listeners": f"http://{LOOPBACK}:{rest_port}",
        "rest.advertised.host.name": LOOPBACK,
        "rest.advertised.port": rest_port,
        "plugin.path": plugin_dir,
    }


def test_connect_worker_loads_the_debezium_jdbc_sink(broker: Broker, tmp_path: Path) -> None:
    plugin_archive = staged_output(PLUGIN_ARTIFACT)
    plugin_dir = tmp_path / "plugins"
    extract(plugin_archive, plugin_dir)
    (rest_port,) = free_ports(1)
    properties = write_properties(
        tmp_path / "connect-distributed.properties",
        connect_settings(broker, plugin_dir, rest_port),
    )
    log_dir = tmp_path / "logs"
    env = jvm_env(log_dir, "-Xms128M -Xmx512M")
    argv = [str(broker.home / "bin" / "connect-distributed.sh"), str(properties)]
    console = tmp_path / "connect-console.log"
    url = f"http://{LOOPBACK}:{rest_port}/connector-plugins"
    with running(argv, env, console) as process:
        plugins = wait_until(
            lambda: get_json(url),
            CONNECT_START_TIMEOUT_S,
            "Connect REST API",
            process,
            console,
        )
    classes = {plugin["class"]: plugin for plugin in plugins}
    assert JDBC_SINK_CLASS in classes, f"{JDBC_SINK_CLASS} not in {sorted(classes)}"
    assert classes[JDBC_SINK_CLASS]["type"] == "sink"
    assert (log_dir / "connect.log").is_file(), "config/connect-log4j2.yaml wrote no connect.log"
