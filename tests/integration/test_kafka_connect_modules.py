"""The Kafka Connect modules against a real distributed Connect worker (HTTPS REST, client certificate required).

One secured KRaft broker (kafka_secure_server.py) and one Connect worker (connect_worker.py) serve the
whole file. Every module runs through ansible-playbook, as in production, so check mode, diff mode and
no_log are Ansible's own. What the modules did is checked with the worker's REST API through an
independent client (connect_worker.ConnectWorker.request), with Kafka consumers, and with files the
FileStream connectors read and write; never with the modules themselves. Each test uses its own
connectors, topics and files.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.connect_worker import FILE_SINK_CLASS, FILE_SOURCE_CLASS, ConnectWorker, started_connect_worker
from tests.tools.kafka_secure_server import CLIENT_TIMEOUT_S, started_secure_kafka, wait_for
from tests.tools.local_services import REPO_ROOT, free_ports
from tests.tools.playbook_runner import PlayResult, run_playbook

pytestmark = pytest.mark.integration

WAIT_S = 60


@dataclass
class Env:
    worker: ConnectWorker
    workdir: Path

    def conn(self, **overrides) -> dict:
        tls = self.worker.kafka.tls
        args = {
            "url": self.worker.url,
            "ca_cert": str(tls.ca_cert),
            "client_cert": str(tls.client_cert),
            "client_key": str(tls.client_key),
            "timeout": 15,
        }
        args.update(overrides)
        return {key: value for key, value in args.items() if value is not None}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[Env]:
    """One secured broker and one Connect worker for the whole file."""
    with (
        started_secure_kafka(tmp_path_factory.mktemp("kafka-secure")) as kafka,
        started_connect_worker(kafka, tmp_path_factory.mktemp("connect")) as worker,
    ):
        yield Env(worker=worker, workdir=tmp_path_factory.mktemp("connect-play"))


# -- running plays ---------------------------------------------------------------------------------


def task(name: str, module: str, args: dict, **extra) -> dict:
    return {"name": name, f"cdc.pipeline.{module}": args, **extra}


def run(ansible_home, env: Env, *tasks: dict) -> PlayResult:
    return run_playbook(
        ansible_home, env.workdir, [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]
    )


def results(result: PlayResult) -> dict[str, dict]:
    return {
        entry["task"]["name"]: entry["hosts"]["localhost"]
        for p in result.report["plays"]
        for entry in p["tasks"]
        if "localhost" in entry["hosts"]
    }


def assert_ok(result: PlayResult) -> None:
    assert not result.failed, result.failure_text


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# -- checking with independent clients -------------------------------------------------------------


def create_topic(env: Env, name: str) -> None:
    from confluent_kafka.admin import NewTopic

    admin = env.worker.kafka.admin()
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=CLIENT_TIMEOUT_S)


def topic_values(env: Env, topic: str, expected: int) -> list[str]:
    """The string values in topic, read until `expected` arrived (then 1 s more, to see any extra)."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            **env.worker.kafka.client_config(),
            "group.id": unique("check"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "error_cb": lambda _err: None,
        }
    )
    values: list[str] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        settle_until = None
        while time.monotonic() < deadline and (settle_until is None or time.monotonic() < settle_until):
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            values.append(message.value().decode())
            if len(values) >= expected and settle_until is None:
                settle_until = time.monotonic() + 1
    finally:
        consumer.close()
    return values


def produce_strings(env: Env, topic: str, values: list[str]) -> None:
    from confluent_kafka import Producer

    producer = Producer({**env.worker.kafka.client_config(), "acks": "all"})
    for value in values:
        producer.produce(topic, value=value.encode())
    assert producer.flush(CLIENT_TIMEOUT_S) == 0


def source_config(path: Path, topic: str, **extra) -> dict:
    config = {"connector.class": FILE_SOURCE_CLASS, "tasks.max": 1, "file": str(path), "topic": topic}
    config.update(extra)
    return config


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def offsets_document(name: str, offsets: list[dict], cluster_id: str, created_at: datetime.datetime) -> dict:
    """A backup document written from the documented format (docs/connectors.md), not with the collection's code."""
    ordered = sorted(offsets, key=lambda entry: canonical(entry["partition"]))
    return {
        "format": "cdc.pipeline.connect_offsets",
        "schema_version": 1,
        "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kafka_cluster_id": cluster_id,
        "connect_version": "4.3.1",
        "connector": {"name": name, "class": FILE_SOURCE_CLASS, "type": "source", "config_sha256": "unknown"},
        "partition_count": len(ordered),
        "offsets_sha256": hashlib.sha256(canonical(ordered).encode()).hexdigest(),
        "offsets": ordered,
    }


def as_set(offsets: list[dict]) -> set[tuple[str, str]]:
    return {(canonical(entry["partition"]), canonical(entry["offset"])) for entry in offsets}


def rest_get(env: Env, title: str, path: str, until: str | None = None, status_code: int = 200) -> dict:
    """An ansible.builtin.uri GET with the test client certificate: an independent look from inside a play,
    between two module steps. With `until` (a Jinja test on `answer`), it polls once a second until it holds."""
    tls = env.worker.kafka.tls
    entry: dict = {
        "name": title,
        "ansible.builtin.uri": {
            "url": env.worker.url + path,
            "ca_path": str(tls.ca_cert),
            "client_cert": str(tls.client_cert),
            "client_key": str(tls.client_key),
            "use_proxy": False,
            "status_code": status_code,
        },
    }
    if until:
        entry.update(register="answer", until=until, retries=WAIT_S, delay=1)
    return entry


def states(answer: dict) -> tuple[str, list[str]]:
    status = answer["json"]
    return status["connector"]["state"], [t["state"] for t in status["tasks"]]


# -- playbooks/backup_offsets.yml ----------------------------------------------------------------------


def test_backup_offsets_playbook_backs_up_every_connector_with_retention(ansible_home, env, tmp_path):
    """The playbook from the controller side (localhost, the test certificate): one file per connector, none on a
    rerun, the connector's old files dropped by age. Its schedule play (tag `schedule`) is not run here.
    First in the file, so few connectors exist yet: every one of them costs a module run per pass."""
    tls = env.worker.kafka.tls
    name, topic = unique("nightly"), unique("cdc.nightly")
    create_topic(env, topic)
    (tmp_path / "in.txt").write_text("")
    config = {key: str(value) for key, value in source_config(tmp_path / "in.txt", topic).items()}
    env.worker.request("POST", "/connectors", {"name": name, "config": config, "initial_state": "STOPPED"})
    backups = tmp_path / "offsets"
    old = backups / f"{name}-20200101T000000Z.json"
    backups.mkdir(mode=0o700)
    old.write_text("{}")
    settings = {
        "cdc_offsets_backup_host": "localhost",
        "cdc_offsets_backup_become": False,
        "cdc_offsets_backup_dir": str(backups),
        "cdc_offsets_connect_url": env.worker.url,
        "cdc_offsets_connect_ca_cert": str(tls.ca_cert),
        "cdc_offsets_connect_client_cert": str(tls.client_cert),
        "cdc_offsets_connect_client_key": str(tls.client_key),
    }
    playbook = [{"ansible.builtin.import_playbook": str(REPO_ROOT / "playbooks" / "backup_offsets.yml")}]

    def run_backup() -> PlayResult:
        return run_playbook(ansible_home, env.workdir, playbook, extra_args=["-e", json.dumps(settings)])

    first = run_backup()
    assert_ok(first)
    connectors = env.worker.connectors()
    files = sorted(p.name for p in backups.iterdir())
    assert len(files) == len(connectors), f"one file per connector: {files} for {connectors}"
    assert sorted(f.rsplit("-", 1)[0] for f in files) == sorted(connectors)
    assert old.name not in files, "a file older than keep_days (7) stays only while it is the newest"
    assert backups.stat().st_mode & 0o777 == 0o700
    assert all((backups / f).stat().st_mode & 0o777 == 0o600 for f in files)

    again = run_backup()
    assert_ok(again)
    assert sorted(p.name for p in backups.iterdir()) == files, "a rerun with unmoved offsets wrote new files"
    assert again.changed == 0


# -- kafka_connector --------------------------------------------------------------------------------


def test_connector_create_update_check_mode_and_validation(ansible_home, env, tmp_path):
    name, topic = unique("src"), unique("cdc.lines")
    create_topic(env, topic)
    source = tmp_path / "in.txt"
    source.write_text("")
    reference = env.worker.write_secret("db-password", "from-the-secrets-agent")
    literal = "literal-" + uuid.uuid4().hex
    config = source_config(
        source, topic, **{"batch.size": 100, "cdc.test.password": reference, "cdc.test.api.secret": literal}
    )
    args = {**env.conn(), "name": name, "state": "running", "config": config}
    without_batch = {key: value for key, value in config.items() if key != "batch.size"}
    invalid = {key: value for key, value in config.items() if key != "topic"} | {"tasks.max": 0}
    play = run(
        ansible_home,
        env,
        task("create invalid", "kafka_connector", {**args, "config": invalid}, ignore_errors=True),
        task("predict", "kafka_connector", args, check_mode=True, diff=True),
        rest_get(env, "after predict", f"/connectors/{name}/config", status_code=404),
        task("create", "kafka_connector", args, diff=True),
        task("again", "kafka_connector", args),
        task("drop a key", "kafka_connector", {**args, "config": without_batch}, check_mode=True, diff=True),
        task("remove key", "kafka_connector", {**args, "config": without_batch}, diff=True),
        task("removed again", "kafka_connector", {**args, "config": without_batch}),
        task("update invalid", "kafka_connector", {**args, "config": invalid}, ignore_errors=True),
        task(
            "unknown class",
            "kafka_connector",
            {**args, "name": unique("nope"), "config": {"connector.class": "com.example.NoSuchConnector"}},
            ignore_errors=True,
        ),
    )
    answers = results(play)
    for step in ("predict", "create", "again", "drop a key", "remove key", "removed again"):
        assert not answers[step].get("failed"), answers[step].get("msg")
    assert literal not in json.dumps(play.report) + play.stderr, "a literal secret reached the output"

    # Validation by the plugin, before anything is written: a create leaves nothing, an update changes nothing.
    for step in ("create invalid", "update invalid"):
        assert answers[step]["failed"] is True
        assert "nothing was changed" in answers[step]["msg"]
        assert "tasks.max: Invalid value 0 for configuration tasks.max" in answers[step]["msg"]
        assert 'topic: Missing required configuration "topic"' in answers[step]["msg"]
        assert sorted(answers[step]["validation_errors"]) == ["tasks.max", "topic"]

    unknown = answers["unknown class"]["msg"]
    assert "cannot validate connector.class com.example.NoSuchConnector" in unknown
    assert FILE_SOURCE_CLASS in unknown, "the installed classes are listed"

    predicted = answers["predict"]
    assert (predicted["changed"], predicted["actions"], predicted["connector_state"]) == (True, ["create"], "RUNNING")
    assert predicted["diff"]["before"] == {}
    assert answers["after predict"]["status"] == 404, "check mode (or the invalid create) made the connector"

    create = answers["create"]
    assert (create["changed"], create["existed"], create["connector_state"]) == (True, False, "RUNNING")
    assert [t["state"] for t in create["tasks"]] == ["RUNNING"]
    assert create["wait_progress"], "the wait is reported"
    assert create["config"]["cdc.test.password"] == reference, "a reference is safe to show"
    assert create["config"]["cdc.test.api.secret"] == "********"
    assert create["diff"]["after"]["config"]["cdc.test.api.secret"] == "********"
    assert any("cdc.test.api.secret holds a literal secret" in w for w in create.get("warnings", []))
    assert answers["again"]["changed"] is False
    assert answers["drop a key"]["config_changes"] == {"added": [], "changed": [], "removed": ["batch.size"]}
    remove = answers["remove key"]
    assert (remove["changed"], remove["actions"]) == (True, ["update_config"]), "check mode applied the removal"
    assert "batch.size" in remove["diff"]["before"]["config"]
    assert "batch.size" not in remove["diff"]["after"]["config"]
    assert answers["removed again"]["changed"] is False

    held = env.worker.config(name)
    assert "batch.size" not in held
    assert (held["tasks.max"], held["topic"]) == ("1", topic), "the invalid update changed the config"
    assert held["cdc.test.api.secret"] == literal, "the worker holds the real value"
    assert held["cdc.test.password"] == reference, "the config topic holds the reference"
    assert states({"json": env.worker.status(name)}) == ("RUNNING", ["RUNNING"])


def test_connector_lifecycle_states(ansible_home, env, tmp_path):
    name, topic = unique("life"), unique("cdc.life")
    create_topic(env, topic)
    (tmp_path / "in.txt").write_text("")
    base = {**env.conn(), "name": name, "config": source_config(tmp_path / "in.txt", topic)}

    def step(state: str, **extra) -> list[dict]:
        args = {**base, "state": state, **extra}
        return [
            task(f"predict {state}", "kafka_connector", args, check_mode=True),
            task(f"{state}", "kafka_connector", args),
            task(f"{state} again", "kafka_connector", args),
        ]

    play = run(
        ansible_home,
        env,
        task("create", "kafka_connector", {**base, "state": "running"}),
        *step("paused"),
        rest_get(env, "after pause", f"/connectors/{name}/status"),
        *step("stopped"),
        rest_get(env, "after stop", f"/connectors/{name}/status"),
        *step("running"),
        rest_get(env, "after resume", f"/connectors/{name}/status"),
        task("restarted", "kafka_connector", {**base, "state": "restarted"}),
        task("absent", "kafka_connector", {**base, "state": "absent"}),
        task("absent again", "kafka_connector", {**base, "state": "absent"}),
    )
    assert_ok(play)
    answers = results(play)
    for state, action in (("paused", "pause"), ("stopped", "stop"), ("running", "resume")):
        predicted, applied = answers[f"predict {state}"], answers[state]
        # The real run still had the work to do, so the check-mode task before it changed nothing.
        assert (predicted["changed"], predicted["actions"]) == (True, [action])
        assert (applied["changed"], applied["actions"]) == (True, [action])
        assert predicted["connector_state"] == applied["connector_state"]
        assert answers[f"{state} again"]["changed"] is False
    assert states(answers["after pause"]) == ("PAUSED", ["PAUSED"])
    assert states(answers["after stop"]) == ("STOPPED", [])
    assert states(answers["after resume"]) == ("RUNNING", ["RUNNING"])
    restarted = answers["restarted"]
    assert (restarted["changed"], restarted["actions"], restarted["connector_state"]) == (True, ["restart"], "RUNNING")
    # Task creations in the worker log: the create made one, the resume from STOPPED one, the restart one more.
    assert env.worker.task_starts(name) == 3
    assert (answers["absent"]["changed"], answers["absent again"]["changed"]) == (True, False)
    assert name not in env.worker.connectors()


def test_connection_refusals_and_a_failed_task_give_one_clear_error(ansible_home, env, tmp_path):
    tls = env.worker.kafka.tls
    (dead_port,) = free_ports(1)
    args = {"name": "any", "state": "present"}
    failing, topic = unique("failing"), unique("cdc.failing")
    create_topic(env, topic)
    # The file sink cannot open a file in a missing directory: its task fails at start.
    broken_sink = {"connector.class": FILE_SINK_CLASS, "topics": topic, "file": str(tmp_path / "missing" / "out.txt")}
    play = run(
        ansible_home,
        env,
        task(
            "unreachable",
            "kafka_connector_info",
            env.conn(url=f"https://127.0.0.1:{dead_port}", timeout=5),
            ignore_errors=True,
        ),
        task(
            "no client certificate",
            "kafka_connector",
            {**env.conn(client_cert=None, client_key=None), **args},
            ignore_errors=True,
        ),
        task("wrong CA", "kafka_connector", {**env.conn(ca_cert=str(tls.other_ca_cert)), **args}, ignore_errors=True),
        task(
            "plain http",
            "connect_offsets",
            {**env.conn(url=env.worker.url.replace("https", "http")), "name": "x", "state": "backup", "dest": "."},
            ignore_errors=True,
        ),
        task(
            "failing task",
            "kafka_connector",
            {**env.conn(), "name": failing, "config": broken_sink, "wait_timeout": 60},
            ignore_errors=True,
        ),
        rest_get(env, "deleted again", f"/connectors/{failing}", status_code=404),
        task(
            "create it without waiting",
            "kafka_connector",
            {**env.conn(), "name": failing, "config": broken_sink, "wait": False},
        ),
        rest_get(
            env,
            "its task failed",
            f"/connectors/{failing}/status",
            until="answer.json.tasks | length > 0 and answer.json.tasks[0].state == 'FAILED'",
        ),
        task("info on the failure", "kafka_connector_info", {**env.conn(), "name": [failing]}),
        task("stop it", "kafka_connector", {**env.conn(), "name": failing, "state": "stopped"}),
    )
    answers = results(play)
    unreachable = answers["unreachable"]["msg"]
    assert f"cannot reach Kafka Connect at https://127.0.0.1:{dead_port}" in unreachable
    assert "firewall" in unreachable
    no_cert = answers["no client certificate"]["msg"]
    assert "no client certificate was given" in no_cert
    assert "set client_cert and client_key" in no_cert
    wrong_ca = answers["wrong CA"]["msg"]
    assert "TLS verification of https://127.0.0.1" in wrong_ca
    assert "set ca_cert" in wrong_ca
    assert "speaks HTTPS; use https:// in url" in answers["plain http"]["msg"]
    for step in ("unreachable", "no client certificate", "wrong CA", "plain http", "failing task"):
        assert answers[step]["failed"] is True, step

    failed = answers["failing task"]
    assert (
        f"connector {failing} (state=present with the given config): the wait for RUNNING failed: task 0 FAILED"
        in (failed["msg"])
    )
    assert "Couldn't find or create file" in failed["msg"]
    assert "rolled back: the connector, new in this task, was deleted again" in failed["msg"]
    assert (failed["applied"], failed["rolled_back"]) == (
        ["create"],
        ["the connector, new in this task, was deleted again"],
    )
    assert failed["failed_parts"][0]["trace"].startswith("org.apache.kafka.connect.errors.ConnectException")
    assert failed["wait_progress"]
    info = answers["info on the failure"]
    assert info["summary"]["failed"] == [failing]
    assert "Couldn't find or create file" in info["connectors"][0]["tasks"][0]["trace"]
    assert answers["stop it"]["connector_state"] == "STOPPED"
    assert env.worker.status(failing)["tasks"] == [], "stopping ends the failed task too"


# -- connect_offsets and kafka_connector_info ----------------------------------------------------------


def offsets_at(field: str, value: int) -> str:
    return f"answer.json.offsets | length == 1 and answer.json.offsets[0].offset['{field}'] == {value}"


def test_source_offsets_backup_move_on_restore_exactly(ansible_home, env, tmp_path):
    name, topic = unique("offsets"), unique("cdc.offsets")
    create_topic(env, topic)
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\nthree\n")  # 14 bytes
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    base = {**env.conn(), "name": name}
    backup_args = {**base, "state": "backup", "dest": str(backups)}
    restore_args = {**base, "state": "restore", "src": "{{ backup.path }}"}
    offsets_path = f"/connectors/{name}/offsets"
    play = run(
        ansible_home,
        env,
        task("create", "kafka_connector", {**base, "state": "running", "config": source_config(source, topic)}),
        rest_get(env, "3 lines committed", offsets_path, until=offsets_at("position", 14)),
        task("predict backup", "connect_offsets", backup_args, check_mode=True),
        task("backup", "connect_offsets", backup_args, register="backup"),
        task("backup again", "connect_offsets", backup_args),
        # Move the connector on: the task reads two more lines (appended in place, the file stays the same).
        {"name": "append", "ansible.builtin.shell": f"printf 'four\\nfive\\n' >> {source}"},
        rest_get(env, "5 lines committed", offsets_path, until=offsets_at("position", 24)),
        task("pause", "kafka_connector", {**base, "state": "paused"}),
        task("predict restore", "connect_offsets", restore_args, check_mode=True, diff=True),
        rest_get(env, "after predict", offsets_path),
        task("restore", "connect_offsets", restore_args),
        task("restore again", "connect_offsets", restore_args),
        rest_get(env, "read back", offsets_path),
        rest_get(env, "state after restore", f"/connectors/{name}/status"),
        task("resume", "kafka_connector", {**base, "state": "running"}),
        task("info", "kafka_connector_info", {**env.conn(), "name": [name, "no-such-connector"]}),
    )
    assert_ok(play)
    answers = results(play)
    assert answers["predict backup"]["changed"] is True
    backup = answers["backup"]
    assert (backup["changed"], backup["partition_count"], backup["connector_type"]) == (True, 1, "source")
    assert (answers["backup again"]["changed"], answers["backup again"]["path"]) == (False, backup["path"])
    assert [p.name for p in backups.iterdir()] == [Path(backup["path"]).name], "check mode or the rerun wrote"
    saved = answers["3 lines committed"]["json"]["offsets"]
    document = json.loads(Path(backup["path"]).read_text())
    assert Path(backup["path"]).stat().st_mode & 0o777 == 0o600
    assert document["offsets"] == saved
    assert document["kafka_cluster_id"] == env.worker.cluster_id
    assert (document["connector"]["name"], document["connector"]["class"]) == (name, FILE_SOURCE_CLASS)

    predicted = answers["predict restore"]
    assert (predicted["changed"], predicted["delta"]["changed"], predicted["previous_state"]) == (True, 1, "PAUSED")
    assert answers["after predict"]["json"]["offsets"] == answers["5 lines committed"]["json"]["offsets"]
    assert answers["restore"]["changed"] is True
    assert answers["restore"]["connector_state"] == "PAUSED"
    assert answers["restore again"]["changed"] is False
    assert answers["read back"]["json"]["offsets"] == saved, "the offsets read back differ from the backup"
    assert states(answers["state after restore"])[0] == "PAUSED", "not returned to its previous state"

    # The task starts at the restored position: lines four and five are read a second time.
    values = [json.loads(value)["payload"] for value in topic_values(env, topic, 7)]
    assert values == ["one", "two", "three", "four", "five", "four", "five"]
    check_info(answers["info"], env, name, source)


def check_info(info: dict, env: Env, name: str, source: Path) -> None:
    assert info["missing"] == ["no-such-connector"]
    assert info["worker"]["kafka_cluster_id"] == env.worker.cluster_id
    assert info["worker"]["version"] == "4.3.1"
    (entry,) = info["connectors"]
    assert (entry["name"], entry["type"], entry["state"]) == (name, "source", "RUNNING")
    assert [(t["id"], t["state"]) for t in entry["tasks"]] == [(0, "RUNNING")]
    assert entry["tasks"][0]["worker_id"] == entry["worker_id"]
    assert entry["config"]["file"] == str(source)


def test_sink_consumer_group_offsets_round_trip(ansible_home, env, tmp_path):
    name, topic = unique("sink"), unique("cdc.sink")
    create_topic(env, topic)
    produce_strings(env, topic, ["a", "b", "c", "d", "e"])
    out = tmp_path / "out.txt"
    config = {
        "connector.class": FILE_SINK_CLASS,
        "tasks.max": 1,
        "topics": topic,
        "file": str(out),
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }
    base = {**env.conn(), "name": name}
    backup_path = tmp_path / "sink-offsets.json"
    offsets_path = f"/connectors/{name}/offsets"
    first = run(
        ansible_home,
        env,
        task("create", "kafka_connector", {**base, "config": config}),
        rest_get(env, "offset 5 committed", offsets_path, until=offsets_at("kafka_offset", 5)),
        task("backup", "connect_offsets", {**base, "state": "backup", "dest": str(backup_path)}),
    )
    assert_ok(first)
    saved = results(first)["offset 5 committed"]["json"]["offsets"]
    assert saved == [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]
    assert json.loads(backup_path.read_text())["offsets"] == saved

    produce_strings(env, topic, ["f", "g", "h"])
    second = run(
        ansible_home,
        env,
        rest_get(env, "offset 8 committed", offsets_path, until=offsets_at("kafka_offset", 8)),
        task("restore", "connect_offsets", {**base, "state": "restore", "src": str(backup_path)}),
    )
    assert_ok(second)
    answer = results(second)["restore"]
    assert (answer["changed"], answer["previous_state"], answer["connector_state"]) == (True, "RUNNING", "RUNNING")
    assert answer["reconciliation_needed"] is False
    # Back at offset 5, the sink writes f, g and h again.
    wait_for(lambda: len(out.read_text().splitlines()) >= 11, WAIT_S, "sink re-read from the restored offset")
    assert out.read_text().splitlines() == ["a", "b", "c", "d", "e", "f", "g", "h", "f", "g", "h"]


def test_ten_thousand_source_partitions_against_the_worker(ansible_home, env, tmp_path):
    name = unique("scylla-like")
    (tmp_path / "in.txt").write_text("")
    base = {**env.conn(), "name": name}
    # Partitions shaped like the ScyllaDB source's (vnode x table x generation); the file source's own
    # alterOffsets wants a filename in each partition and a position in each offset, so both are added.
    offsets = [
        {
            "partition": {
                "filename": str(tmp_path / "in.txt"),
                "keyspace_name": "app",
                "table_name": f"t{i % 4}",
                "vnode_id": i // 4,
                "generation_start": 1795000000000,
            },
            "offset": {"position": 0, "window_start": 1795700000000 + i, "window_end": 1795700030000 + i},
        }
        for i in range(10_000)
    ]
    now = datetime.datetime.now(datetime.UTC)
    stale, fresh = tmp_path / "stale.json", tmp_path / "fresh.json"
    stale.write_text(
        json.dumps(offsets_document(name, offsets, env.worker.cluster_id, now - datetime.timedelta(days=2)))
    )
    fresh.write_text(json.dumps(offsets_document(name, offsets, env.worker.cluster_id, now)))
    dest = tmp_path / "backup.json"
    started = time.monotonic()
    play = run(
        ansible_home,
        env,
        task(
            "create stopped",
            "kafka_connector",
            {**base, "state": "stopped", "config": source_config(tmp_path / "in.txt", unique("cdc.scylla"))},
        ),
        task("restore stale", "connect_offsets", {**base, "state": "restore", "src": str(stale)}, ignore_errors=True),
        task("restore", "connect_offsets", {**base, "state": "restore", "src": str(fresh)}),
        task("backup", "connect_offsets", {**base, "state": "backup", "dest": str(dest)}),
    )
    elapsed = time.monotonic() - started
    answers = results(play)
    assert answers["create stopped"]["connector_state"] == "STOPPED"
    stale_answer = answers["restore stale"]
    assert stale_answer["failed"] is True
    assert "older than the CDC log TTL (cdc_log_ttl=86400 s)" in stale_answer["msg"]
    assert "reconciliation will be needed" in stale_answer["msg"]
    for step in ("create stopped", "restore", "backup"):
        assert not answers[step].get("failed"), answers[step].get("msg")
    restore = answers["restore"]
    assert (restore["changed"], restore["partition_count"], restore["delta"]["added"]) == (True, 10_000, 10_000)
    assert restore["connector_state"] == "STOPPED", "a stopped connector stays stopped"

    held = env.worker.offsets(name)
    assert len(held) == 10_000
    assert as_set(held) == as_set(offsets), "the worker's offsets differ from the restored document"
    written = json.loads(dest.read_text())
    assert written["partition_count"] == 10_000
    assert written["offsets_sha256"] == json.loads(fresh.read_text())["offsets_sha256"]
    assert as_set(written["offsets"]) == as_set(offsets)
    assert elapsed < 90, f"10,000 partitions took {elapsed:.0f} s through the modules"


# -- hostile input -----------------------------------------------------------------------------------

HOSTILE_NAMES = ["", "a\nb", " lead", "a\x7fb", "..", "a/b", "../x", "a%2Fb", "a?b"]


def file_document(tmp_path: Path, file_name: str, name: str, offsets: list[dict], **connector) -> str:
    document = offsets_document(name, offsets, "", datetime.datetime.now(datetime.UTC))
    document["connector"].update(connector)
    path = tmp_path / file_name
    path.write_text(json.dumps(document))
    return str(path)


def sink_config(path: Path, topic: str) -> dict:
    return {"connector.class": FILE_SINK_CLASS, "tasks.max": "1", "topics": topic, "file": str(path)}


def hostile_connect_cases(env: Env, tmp_path: Path, names: tuple, source: Path, topics: tuple, secret: str):
    """(case, module, option the message must name, args); every case is refused or rolled back."""
    conn = env.conn()
    name, fresh, sink = names
    topic, sink_topic = topics
    base = {**conn, "name": name}
    partition = {"filename": str(source)}

    def backup_with(file_name: str, offset: object) -> str:
        return file_document(tmp_path, file_name, name, [{"partition": partition, "offset": offset}])

    restore = {**base, "state": "restore"}
    garbage = tmp_path / "ten-mib.json"
    garbage.write_text("x" * (10 * 1024 * 1024))
    sink_doc = file_document(
        tmp_path,
        "sink-shaped.json",
        name,
        [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 1}}],
    )
    config = source_config(source, topic)
    cases = [
        (
            "restore negative position",
            "connect_offsets",
            "src",
            {**restore, "src": backup_with("neg.json", {"position": -1})},
        ),
        (
            "restore fractional position",
            "connect_offsets",
            "src",
            {**restore, "src": backup_with("frac.json", {"position": 1.5})},
        ),
        (
            "restore position as text",
            "connect_offsets",
            "src",
            {**restore, "src": backup_with("text.json", {"position": "12"})},
        ),
        (
            "restore nested position",
            "connect_offsets",
            "src",
            {**restore, "src": backup_with("nest.json", {"position": {"at": 1}})},
        ),
        ("restore other offset key", "connect_offsets", "src", {**restore, "src": backup_with("key.json", {"pos": 6})}),
        ("restore sink offsets, forced", "connect_offsets", "src", {**restore, "src": sink_doc, "force": True}),
        ("restore 10 MiB of garbage", "connect_offsets", "src", {**restore, "src": str(garbage)}),
        ("restore a missing file", "connect_offsets", "src", {**restore, "src": str(tmp_path / "nope.json")}),
        (
            "restore the worker refuses",  # the fresh connector has no offsets to compare with: the worker says no
            "connect_offsets",
            "no offset was changed",
            {
                **conn,
                "name": fresh,
                "state": "restore",
                "src": file_document(
                    tmp_path, "fresh-neg.json", fresh, [{"partition": partition, "offset": {"position": -5}}]
                ),
            },
        ),
        (
            "backup into /proc",
            "connect_offsets",
            "dest",
            {**base, "state": "backup", "dest": "/proc/hostile-backup.json"},
        ),
        (
            "backup wait_timeout 0",
            "connect_offsets",
            "wait_timeout",
            {**base, "state": "backup", "dest": str(tmp_path), "wait_timeout": 0},
        ),
        (
            "connector topic as a list",
            "kafka_connector",
            "config key topic",
            {**base, "config": {**config, "topic": [topic, "other"]}},
        ),
        (
            "connector list element with a comma",
            "kafka_connector",
            "config key file",
            {**base, "config": {**config, "file": ["a,b"]}},
        ),
        (
            "connector nested mapping",
            "kafka_connector",
            "config key transforms",
            {**base, "config": {**config, "transforms": {"a": 1}}},
        ),
        (
            "connector tasks.max a word",
            "kafka_connector",
            "tasks.max",
            {**base, "config": {**config, "tasks.max": "many", "db.password": secret}},
        ),
        (
            "connector unknown class",
            "kafka_connector",
            "connector.class",
            {**base, "config": {**config, "connector.class": "com.example.Nope"}},
        ),
        ("connector no class", "kafka_connector", "connector.class", {**base, "config": {"topic": topic}}),
        ("connector other name in config", "kafka_connector", "name", {**base, "config": {**config, "name": "other"}}),
        ("connector config as a list", "kafka_connector", "config", {**base, "config": ["a"]}),
        (
            "connector update that fails at start",  # the sink cannot create its file: the task fails; rolled back
            "kafka_connector",
            "rolled back: the previous config was put back",
            {
                **conn,
                "name": sink,
                "state": "running",
                "wait_timeout": 40,
                "config": {**sink_config(tmp_path / "missing" / "out.txt", sink_topic), "db.password": secret},
            },
        ),
    ]
    for index, hostile in enumerate(HOSTILE_NAMES):
        cases.append(
            (f"connector name {hostile!r}", "kafka_connector", "name", {**conn, "name": hostile, "config": config})
        )
        cases.append(
            (
                f"offsets name {hostile!r}",
                "connect_offsets",
                "name",
                {**conn, "name": hostile, "state": "backup", "dest": str(tmp_path)},
            )
        )
        if index < 3:
            cases.append((f"info name {hostile!r}", "kafka_connector_info", "name", {**conn, "name": [name, hostile]}))
    return cases


def connect_state(env: Env, names: list[str]) -> tuple:
    worker = env.worker
    return (
        worker.connectors(),
        [worker.config(name) for name in names],
        [states({"json": worker.status(name)}) for name in names],
        [as_set(worker.offsets(name)) for name in names],
    )


def test_hostile_input_is_refused_or_rolled_back_and_nothing_changes(ansible_home, env, tmp_path):
    """A table of hostile arguments and backups, one play: each case fails with one line naming the option (or
    saying what was rolled back), the worker's connectors, configs, states and offsets read back unchanged, and
    no secret appears anywhere in the run's output."""
    import resource

    name, fresh, sink, topic = (
        unique("hostile-src"),
        unique("hostile-fresh"),
        unique("hostile-sink"),
        unique("cdc.hostile"),
    )
    create_topic(env, topic)
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\nthree\n")
    env.worker.request(
        "POST", "/connectors", {"name": name, "config": {**source_config(source, topic), "tasks.max": "1"}}
    )
    env.worker.request(
        "POST",
        "/connectors",
        {"name": fresh, "config": {**source_config(source, topic), "tasks.max": "1"}, "initial_state": "STOPPED"},
    )
    quiet_topic = unique("cdc.hostile-quiet")  # the sink reads a topic nothing writes to: its offsets stay still
    create_topic(env, quiet_topic)
    env.worker.request("POST", "/connectors", {"name": sink, "config": sink_config(tmp_path / "out.txt", quiet_topic)})
    wait_for(
        lambda: (
            states({"json": env.worker.status(sink)}) == ("RUNNING", ["RUNNING"])
            and states({"json": env.worker.status(name)}) == ("RUNNING", ["RUNNING"])
            and env.worker.offsets(name) == [{"partition": {"filename": str(source)}, "offset": {"position": 14}}]
        ),
        WAIT_S,
        "the hostile battery's connector running at position 14",
    )
    before = connect_state(env, [name, fresh, sink])
    secret = "hunter2-connect-Zq7"  # noqa: S105 - a fake secret, searched for in the output
    (tmp_path / "docs").mkdir()
    cases = hostile_connect_cases(env, tmp_path / "docs", (name, fresh, sink), source, (topic, quiet_topic), secret)
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    play = run(ansible_home, env, *(task(case, module, args, ignore_errors=True) for case, module, _o, args in cases))
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    print(f"connect hostile battery: {len(cases)} cases in {elapsed:.1f} s, {cpu:.1f} s CPU")
    answers = results(play)
    for case, _module, _option, _args in cases:
        print(f"  {case}: {answers[case].get('msg')}")
    for case, _module, option, _args in cases:
        answer = answers[case]
        assert answer.get("failed") is True, f"{case}: not refused: {answer}"
        message = str(answer.get("msg", ""))
        assert message and "\n" not in message.strip(), f"{case}: not one line: {message!r}"
        assert "Traceback" not in json.dumps(answer) and "<html" not in message.lower(), f"{case}: {answer}"
        assert option in message, f"{case}: the message does not name {option}: {message}"
    wait_for(
        lambda: connect_state(env, [name, fresh, sink]) == before,
        WAIT_S,
        "the connectors back as they were (a rolled-back update restarts the task)",
    )
    assert not (tmp_path / "docs" / f"{name}.json").exists()
    output = json.dumps(play.report) + play.stderr
    assert secret not in output
