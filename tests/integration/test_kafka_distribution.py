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

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import stage_artifacts as stage  # scripts/ is on pythonpath (pyproject.toml)
from tests.tools.archives import extract_tar

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_ARTIFACT = "kafka-4.4.0"
PLUGIN_ARTIFACT = "debezium-connector-jdbc"
JDBC_SINK_CLASS = "io.debezium.connector.jdbc.JdbcSinkConnector"
LOOPBACK = "127.0.0.1"
TOOL_TIMEOUT_S = 120
BROKER_START_TIMEOUT_S = 120
CONNECT_START_TIMEOUT_S = 180
CLIENT_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
# Options a caller's environment might carry into the JVMs; the tests set their own.
CLEARED_ENV = (
    "KAFKA_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_HEAP_OPTS",
    "CLASSPATH",
)


def staged_output(name: str) -> Path:
    """The staged output of one lock entry; skip if it is not staged, fail if it is corrupt."""
    entry = stage.parse_lock(stage.load_yaml(stage.LOCK_PATH))[name]
    path = stage.artifact_dir_from(None) / entry["output"]["file"]
    if not path.is_file():
        pytest.skip(f"{path} is not staged: run `make artifacts` first")
    assert stage.sha256_file(path) == entry["output"]["sha256"], (
        f"{path} does not match artifacts/lock.yml: re-run `make artifacts`"
    )
    return path


def extract(archive: Path, dest: Path) -> None:
    extract_tar(archive, dest)


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open while choosing, so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _attempt in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def jvm_env(log_dir: Path, heap: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env.update({"KAFKA_HEAP_OPTS": heap, "LOG_DIR": str(log_dir)})
    return env


def write_properties(path: Path, settings: dict[str, object]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return path


def run_tool(script: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script.name} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def log_tail(path: Path, lines: int = 60) -> str:
    if not path.is_file():
        return f"(no {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], console_log: Path) -> Iterator[subprocess.Popen]:
    """Start a process and always stop it: SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
    with console_log.open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def wait_until(
    check: Callable[[], object],
    timeout_s: float,
    what: str,
    process: subprocess.Popen,
    log: Path,
) -> object:
    """Poll check() until it returns a truthy value; fail early if the process died."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what}: process exited with {process.returncode}:\n{log_tail(log)}")
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error, result = exc, None
        if result:
            return result
        time.sleep(1)
    pytest.fail(f"{what}: not ready after {timeout_s} s (last error: {last_error}):\n{log_tail(log)}")


@dataclass
class Broker:
    home: Path
    bootstrap: str
    log_dir: Path
    env: dict[str, str]


def broker_settings(data_dir: Path, broker_port: int, controller_port: int) -> dict[str, object]:
    return {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{broker_port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": data_dir,
        "num.partitions": 1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
    }


def broker_ready(bootstrap: str) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
    return bool(admin.list_topics(timeout=5).brokers)


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


def get_json(url: str) -> object:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    with opener.open(url, timeout=10) as response:
        return json.load(response)


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
