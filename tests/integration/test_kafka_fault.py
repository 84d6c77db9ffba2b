# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No acknowledged message is lost when a broker dies, and the loss checker sees it when one is.

Starts a real 3-node KRaft cluster (combined broker+controller, PLAINTEXT on 127.0.0.1) from the
staged Kafka 4.4.0 distribution, each node its own JVM so one can be SIGKILLed or SIGSTOPped, and
runs tests/tools/kafka_loss_check.py against it as a subprocess, the way Molecule runs it:

* RF 3 / min ISR 2 / acks=all: a broker is SIGKILLed after 2000 acknowledgements while producing
  goes on; the checker must find every acknowledged message (exit 0), then the broker rejoins.
* negative control, RF 1 / acks=1: the leader of some partitions is SIGKILLed and not restarted;
  the checker with --expect-loss must report the damage (acknowledged messages it cannot read
  back, failed deliveries, unreadable partitions), or the check above proves nothing.
* RF 1 / acks=1, the leader is SIGSTOPped and resumed by --recover-command before reading back:
  deliveries fail while it is paused, and failed deliveries are not loss (exit 0).
* RF 1 / acks=1, the leader of partition 0 is SIGKILLed and, during recovery, restarted without
  that partition's directory: the checker must fail (exit 1) with the acknowledged messages
  missing from a readable partition, so a passing loss check is not a check that cannot fail.

Every process is stopped by the module fixture; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.tools.local_services import (
    KAFKA_ARTIFACT,
    LOOPBACK,
    extract,
    free_ports,
    jvm_env,
    log_tail,
    run_tool,
    staged_output,
    write_properties,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKER = REPO_ROOT / "tests" / "tools" / "kafka_loss_check.py"
NODE_IDS = (1, 2, 3)
HEAP = "-Xms128m -Xmx384m"
# Two busy cores and three JVMs: serial GC and the C1 compiler only start faster and steal less.
JVM_PERFORMANCE = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
CLUSTER_START_TIMEOUT_S = 180
REJOIN_TIMEOUT_S = 150
CHECKER_TIMEOUT_S = 300  # the checker's own watchdog ends it sooner
ADMIN_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20


@dataclass
class Node:
    node_id: int
    broker_port: int
    properties: Path
    console: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    starts: int = 0


@dataclass
class Cluster:
    home: Path
    nodes: dict[int, Node] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{LOOPBACK}:{node.broker_port}" for node in self.nodes.values())

    def start(self, node: Node) -> None:
        node.starts += 1
        argv = [str(self.home / "bin" / "kafka-server-start.sh"), str(node.properties)]
        with node.console.open("ab") as console:
            console.write(f"\n=== start {node.starts} ===\n".encode())
            console.flush()
            # kafka-server-start.sh and kafka-run-class.sh exec the JVM: this pid is the broker
            node.process = subprocess.Popen(argv, env=node.env, stdout=console, stderr=subprocess.STDOUT)

    def alive(self, node: Node) -> bool:
        return node.process is not None and node.process.poll() is None

    def stop_all(self) -> None:
        """SIGTERM every node at once, SIGKILL what still runs after STOP_TIMEOUT_S.

        One by one, the last node's controlled shutdown would wait for a controller quorum that
        is already gone.
        """
        running = [n.process for n in self.nodes.values() if n.process is not None and n.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)  # a paused JVM cannot act on SIGTERM
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in running:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)

    def logs(self) -> str:
        return "\n".join(f"--- node {n.node_id} ---\n{log_tail(n.console, 25)}" for n in self.nodes.values())


def node_settings(node_id: int, ports: dict[int, tuple[int, int]], data_dir: Path) -> dict[str, object]:
    broker_port, controller_port = ports[node_id]
    voters = ",".join(f"{i}@{LOOPBACK}:{c}" for i, (_b, c) in sorted(ports.items()))
    return {
        "process.roles": "broker,controller",
        "node.id": node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{LOOPBACK}:{broker_port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": data_dir,
        "auto.create.topics.enable": "false",
        "num.partitions": 1,
        "default.replication.factor": 3,
        "min.insync.replicas": 2,
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": 3,
        "transaction.state.log.replication.factor": 3,
        "transaction.state.log.min.isr": 2,
        "share.coordinator.state.topic.replication.factor": 3,
        "share.coordinator.state.topic.min.isr": 2,
        "group.initial.rebalance.delay.ms": 0,
        "num.network.threads": 2,
        "num.io.threads": 2,
        "background.threads": 2,
        "num.recovery.threads.per.data.dir": 1,
        "num.replica.fetchers": 1,
    }


def admin_client(cluster: Cluster):
    from confluent_kafka.admin import AdminClient

    # log_level 2: polling a starting (or deliberately killed) node logs a refused connection
    # every few milliseconds; the checker's own output and the node logs say what matters
    return AdminClient({"bootstrap.servers": cluster.bootstrap, "broker.address.family": "v4", "log_level": 2})


def registered_brokers(cluster: Cluster) -> set[int]:
    return set(admin_client(cluster).list_topics(timeout=5).brokers)


def wait_for(check, timeout_s: float, what: str, cluster: Cluster):
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last_error, result = exc, None
        if result:
            return result
        time.sleep(1)
    pytest.fail(f"{what}: not reached within {timeout_s} s (last error: {last_error})\n{cluster.logs()}")


def ensure_all_running(cluster: Cluster) -> None:
    """Restart any node a test left dead or paused; wait until all three are registered."""
    for node in cluster.nodes.values():
        if node.process is not None and cluster.alive(node):
            os.kill(node.process.pid, signal.SIGCONT)
        else:
            cluster.start(node)

    def all_registered() -> bool:
        for node in cluster.nodes.values():
            if not cluster.alive(node):
                pytest.fail(f"node {node.node_id} exited while starting:\n{log_tail(node.console)}")
        return registered_brokers(cluster) == set(NODE_IDS)

    wait_for(
        all_registered,
        CLUSTER_START_TIMEOUT_S,
        "all three brokers registered",
        cluster,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")
    tarball = staged_output(KAFKA_ARTIFACT)
    root = tmp_path_factory.mktemp("kafka-fault")
    extract(tarball, root)
    home = root / tarball.name.removesuffix(".tgz")
    flat = free_ports(2 * len(NODE_IDS))
    ports = {node_id: (flat[2 * i], flat[2 * i + 1]) for i, node_id in enumerate(NODE_IDS)}
    tool_env = jvm_env(root / "logs", HEAP)
    cluster_id = run_tool(home / "bin" / "kafka-storage.sh", "random-uuid", env=tool_env).strip()
    result = Cluster(home)
    for node_id in NODE_IDS:
        node_dir = root / f"node{node_id}"
        node_dir.mkdir()
        node_env = jvm_env(node_dir / "logs", HEAP)  # each node its own LOG_DIR (server.log)
        node_env["KAFKA_JVM_PERFORMANCE_OPTS"] = JVM_PERFORMANCE
        properties = write_properties(node_dir / "server.properties", node_settings(node_id, ports, node_dir / "data"))
        run_tool(home / "bin" / "kafka-storage.sh", "format", "-t", cluster_id, "-c", str(properties), env=node_env)
        result.nodes[node_id] = Node(node_id, ports[node_id][0], properties, node_dir / "console.log", node_env)
    try:
        ensure_all_running(result)
        yield result
    finally:
        result.stop_all()


@pytest.fixture
def healthy(cluster: Cluster) -> Cluster:
    """Every node running and registered before each test, whatever the previous test did."""
    ensure_all_running(cluster)
    return cluster


@pytest.fixture
def client_config(tmp_path: Path) -> Path:
    """Client settings go through --client-config, as the lab's SASL/TLS settings will."""
    return write_properties(
        tmp_path / "client.properties",
        {"broker.address.family": "v4", "client.id": "kafka-fault-test", "socket.connection.setup.timeout.ms": 5000},
    )


def create_topic(cluster: Cluster, topic: str, partitions: int, replication: int, min_isr: int) -> dict[int, int]:
    """Create a topic; return partition -> leader once every partition has one."""
    from confluent_kafka.admin import NewTopic

    admin = admin_client(cluster)
    new = NewTopic(topic, num_partitions=partitions, replication_factor=replication,
                   config={"min.insync.replicas": str(min_isr)})  # fmt: skip
    admin.create_topics([new])[topic].result(timeout=ADMIN_TIMEOUT_S)

    def leaders() -> dict[int, int] | None:
        found = admin.list_topics(timeout=5).topics.get(topic)
        if found is None or len(found.partitions) != partitions:
            return None
        result = {p: meta.leader for p, meta in found.partitions.items()}
        return result if all(leader in NODE_IDS for leader in result.values()) else None

    return wait_for(leaders, ADMIN_TIMEOUT_S, f"leaders of {topic}", cluster)


def run_checker(*args: str, workdir: Path, on_recover: Callable[[], None] | None = None) -> tuple[int, dict]:
    """Run the checker CLI; with on_recover, its --recover-command asks this process to act.

    The recovery command touches a request file and waits (bounded) for a done file, so a broker
    restarted during recovery is a child of the test, which stops it at the end.
    """
    argv = [sys.executable, str(CHECKER), *args]
    request, done = workdir / "recover.request", workdir / "recover.done"
    if on_recover is not None:
        argv += [
            "--recover-command",
            f"touch {request}; for _ in $(seq 600); do [ -f {done} ] && exit 0; sleep 0.2; done; exit 1",
        ]
    started = time.monotonic()
    stdout_path, stderr_path = workdir / "checker.out", workdir / "checker.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
    try:
        while process.poll() is None and time.monotonic() - started < CHECKER_TIMEOUT_S:
            if on_recover is not None and request.exists() and not done.exists():
                on_recover()
                done.touch()
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    took = time.monotonic() - started
    output, errors = stdout_path.read_text(), stderr_path.read_text(errors="replace")
    try:
        report = json.loads(output)
    except json.JSONDecodeError:
        pytest.fail(
            f"checker printed no JSON (exit {process.returncode} after {took:.0f} s):\n{output}\n{errors[-4000:]}"
        )
    print(f"checker exit {process.returncode} after {took:.1f} s:\n{json.dumps(report, indent=1)[:3000]}")
    return process.returncode, report


def reap_signalled(node: Node, expected: signal.Signals) -> None:
    """The fault command really hit the broker: its JVM died of `expected`."""
    assert node.process is not None
    try:
        node.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"node {node.node_id} still runs: the fault command did not kill it")
    assert node.process.returncode == -expected, f"node {node.node_id} exited {node.process.returncode}"


def isr_contains(cluster: Cluster, topic: str, node_id: int) -> bool:
    found = admin_client(cluster).list_topics(timeout=5).topics[topic]
    return all(node_id in meta.isrs for meta in found.partitions.values())


def test_acked_messages_survive_a_killed_broker(healthy: Cluster, client_config: Path, tmp_path: Path) -> None:
    cluster = healthy
    topic = f"fault-rf3-{uuid.uuid4().hex[:6]}"
    victim = cluster.nodes[2]
    assert victim.process is not None
    code, report = run_checker(
        "--bootstrap", cluster.bootstrap, "--client-config", str(client_config), "--topic", topic,
        "--create-topic", "--partitions", "6", "--replication-factor", "3", "--min-insync-replicas", "2",
        "--acks", "all", "--messages", "20000", "--duration", "40", "--rate", "1500",
        "--fault-after", "2000", "--fault-command", f"kill -9 {victim.process.pid}",
        "--message-timeout-ms", "30000", "--consume-timeout", "60", "--label", "positive",
        workdir=tmp_path,
    )  # fmt: skip
    reap_signalled(victim, signal.SIGKILL)

    layout = report["topic_layout"]
    assert layout["created"] is True
    assert (layout["partitions"], layout["replication_factor"], layout["min_insync_replicas"]) == (6, 3, 2)
    assert victim.node_id in layout["leaders"].values(), "the killed broker led no partition"
    fault = report["fault"]
    assert fault["started"] and fault["exit_status"] == 0
    assert fault["acked_at_start"] >= 2000
    # production went on after the kill and those acknowledgements were checked as well
    assert fault["acked_after_fault"] > 0
    assert report["acked"] > fault["acked_at_start"]
    assert report["lost"]["count"] == 0, report["lost"]
    assert report["unreadable_partitions"] == []
    assert report["consumed_of_this_run"] >= report["acked"]
    assert (report["verdict"], code) == ("no_loss", 0)

    cluster.start(victim)
    wait_for(lambda: isr_contains(cluster, topic, victim.node_id), REJOIN_TIMEOUT_S, "rejoined every ISR", cluster)


def test_negative_control_sees_loss_without_replication(healthy: Cluster, client_config: Path, tmp_path: Path) -> None:
    cluster = healthy
    topic = f"fault-rf1-{uuid.uuid4().hex[:6]}"
    leaders = create_topic(cluster, topic, partitions=6, replication=1, min_isr=1)
    victim = cluster.nodes[leaders[0]]
    victim_partitions = sorted(p for p, leader in leaders.items() if leader == victim.node_id)
    assert victim.process is not None
    code, report = run_checker(
        "--bootstrap", cluster.bootstrap, "--client-config", str(client_config), "--topic", topic,
        "--create-topic", "--partitions", "6", "--replication-factor", "1", "--min-insync-replicas", "1",
        "--acks", "1", "--messages", "8000", "--duration", "30", "--rate", "1000",
        "--fault-after", "1000", "--fault-command", f"kill -9 {victim.process.pid}",
        "--message-timeout-ms", "5000", "--consume-timeout", "10", "--label", "negative",
        "--expect-loss",
        workdir=tmp_path,
    )  # fmt: skip
    reap_signalled(victim, signal.SIGKILL)

    assert report["topic_layout"]["created"] is False  # made above; the same layout is accepted
    assert report["fault"]["started"] and report["fault"]["exit_status"] == 0
    # the damage, each kind on its own: acknowledged messages on the dead leader cannot be read
    # back, deliveries to it fail, and its partitions (only those) are unreadable
    assert report["lost"]["count"] > 0
    assert report["lost"]["in_unreadable_partitions"] == report["lost"]["count"]
    assert report["failed"]["count"] > 0
    assert sorted(u["partition"] for u in report["unreadable_partitions"]) == victim_partitions
    assert report["acked"] > 0
    assert (report["verdict"], code) == ("damage_observed", 0)


def test_failed_deliveries_to_a_paused_broker_are_not_loss(
    healthy: Cluster, client_config: Path, tmp_path: Path
) -> None:
    cluster = healthy
    topic = f"fault-pause-{uuid.uuid4().hex[:6]}"
    leaders = create_topic(cluster, topic, partitions=6, replication=1, min_isr=1)
    victim = cluster.nodes[leaders[0]]
    assert victim.process is not None
    pid = victim.process.pid
    code, report = run_checker(
        "--bootstrap", cluster.bootstrap, "--client-config", str(client_config), "--topic", topic,
        "--acks", "1", "--messages", "10000", "--duration", "30", "--rate", "1000",
        "--fault-after", "1000", "--fault-command", f"kill -STOP {pid}",
        "--recover-command", f"kill -CONT {pid}",
        "--message-timeout-ms", "5000", "--consume-timeout", "90", "--label", "pause",
        workdir=tmp_path,
    )  # fmt: skip
    assert cluster.alive(victim), "the paused broker should have been resumed, not killed"
    assert report["fault"]["exit_status"] == 0 and report["recovery"]["exit_status"] == 0
    assert report["failed"]["count"] > 0, "nothing failed while the leader was paused: no fault was seen"
    assert report["lost"]["count"] == 0, report["lost"]
    assert report["unreadable_partitions"] == []
    assert (report["verdict"], code) == ("no_loss", 0)


def test_the_checker_finds_acked_messages_a_wiped_disk_lost(
    healthy: Cluster, client_config: Path, tmp_path: Path
) -> None:
    """A loss the broker cannot hide: acknowledged messages missing from a readable partition.

    RF 1 / acks=1; the leader of partition 0 is SIGKILLed, and during recovery that partition's
    directory is deleted before the broker restarts, so it comes back empty and readable. The
    checker (without --expect-loss) must fail with the loss attributed to partition 0 only.
    """
    cluster = healthy
    topic = f"fault-wipe-{uuid.uuid4().hex[:6]}"
    leaders = create_topic(cluster, topic, partitions=6, replication=1, min_isr=1)
    victim = cluster.nodes[leaders[0]]
    assert victim.process is not None
    data_dir = victim.properties.parent / "data"

    def wipe_and_restart() -> None:
        reap_signalled(victim, signal.SIGKILL)
        partition_dir = data_dir / f"{topic}-0"
        assert partition_dir.is_dir(), f"no {partition_dir}"
        shutil.rmtree(partition_dir)
        cluster.start(victim)

    code, report = run_checker(
        "--bootstrap", cluster.bootstrap, "--client-config", str(client_config), "--topic", topic,
        "--acks", "1", "--messages", "4000", "--duration", "30", "--rate", "1000",
        "--fault-after", "2000", "--fault-command", f"kill -9 {victim.process.pid}",
        "--message-timeout-ms", "5000", "--consume-timeout", "90", "--label", "wipe",
        workdir=tmp_path, on_recover=wipe_and_restart,
    )  # fmt: skip
    assert report["recovery"]["exit_status"] == 0
    assert cluster.alive(victim)
    assert report["unreadable_partitions"] == []
    assert report["lost"]["count"] > 0
    assert report["lost"]["in_readable_partitions"] == report["lost"]["count"]
    assert set(report["lost"]["by_partition"]) == {"0"}
    assert (report["verdict"], code) == ("loss", 1)


def test_the_checker_refuses_what_it_cannot_judge(healthy: Cluster, client_config: Path, tmp_path: Path) -> None:
    """Exit 2 for a missing topic or one of another layout; a control without a fault is not proof."""
    cluster = healthy
    common = ("--bootstrap", cluster.bootstrap, "--client-config", str(client_config), "--setup-timeout", "20")
    code, report = run_checker(*common, "--topic", f"absent-{uuid.uuid4().hex[:6]}", workdir=tmp_path)
    assert (code, report["verdict"]) == (2, "setup_error")
    assert "does not exist" in report["error"]

    topic = f"layout-{uuid.uuid4().hex[:6]}"
    create_topic(cluster, topic, partitions=3, replication=1, min_isr=1)
    code, report = run_checker(
        *common, "--topic", topic, "--create-topic", "--partitions", "3", "--replication-factor", "3",
        workdir=tmp_path,
    )  # fmt: skip
    assert (code, report["verdict"]) == (2, "setup_error")
    assert "exists with another layout" in report["error"] and "replication_factor" in report["error"]

    # the same topic taken as it is, nothing injected: a negative control that shows nothing fails
    def clean_control(label: str) -> tuple[int, dict]:
        return run_checker(
            *common, "--topic", topic, "--acks", "1", "--messages", "300", "--expect-loss", "--consume-timeout", "30",
            "--label", label, workdir=tmp_path,
        )  # fmt: skip

    code, first = clean_control("control-a")
    assert first["acked"] == 300 and first["consumed_of_this_run"] == 300 and first["foreign_records"] == 0
    assert (code, first["verdict"]) == (1, "control_clean")
    # a second run on the same topic (as during an upgrade) counts only its own messages
    code, second = clean_control("control-b")
    assert second["run_id"].startswith("control-b-") and second["run_id"] != first["run_id"]
    assert second["consumed_of_this_run"] == 300 and second["foreign_records"] == 300
    assert (code, second["verdict"]) == (1, "control_clean")
