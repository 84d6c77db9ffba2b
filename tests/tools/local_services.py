# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the integration tests share to run services on loopback: the staged artifacts (checked against
artifacts/lock.yml), free ports, JVM processes that are always stopped, bounded waits, and a single-node
KRaft broker's settings. The servers built on it are beside it (kafka_secure_server, connect_worker,
cassandra_server, postgres_server, openbao_server, prometheus_server).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts import stage_artifacts as stage  # scripts/ is on pythonpath (pyproject.toml)
from tests.tools.archives import extract_tar

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


def get_json(url: str) -> object:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    with opener.open(url, timeout=10) as response:
        return json.load(response)
