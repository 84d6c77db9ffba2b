"""kafka_dlq_replay against a real dead letter queue: a Kafka Connect sink's own, written by its error handler.

One secured KRaft broker (SASL_SSL, SCRAM) and one Connect worker (tests/tools). A FileStream sink reads a topic with
value.converter.schemas.enable=true, errors.tolerance=all and a dead letter queue with context headers, as the
connectors role configures postgres-sink; its producer writes schemaless JSON, so every record is poison and Connect's
DeadLetterQueueReporter puts it in the queue with the __connect.errors.* headers. The fix is the converter setting
(the runbook's "a converter setting differs between source and sink"); after it, the replayed records reach the file.
The key "k3" is written twice: its first record must be refused (the later one is newer), and it stays out of the file.
What happened is read with independent consumers and the sink's file, never with the module.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.connect_worker import FILE_SINK_CLASS, ConnectWorker, started_connect_worker
from tests.tools.kafka_secure_server import CLIENT_TIMEOUT_S, started_secure_kafka, wait_for
from tests.tools.playbook_runner import PlayResult, run_playbook

pytestmark = pytest.mark.integration

# (key, value): schemaless JSON, which a JsonConverter with schemas.enable=true refuses.
WRITES = [
    ("k1", {"id": 1, "v": "first"}),
    ("k2", {"id": 2, "v": "second"}),
    ("k3", {"id": 3, "v": "old"}),
    ("k3", {"id": 3, "v": "new"}),
]


@dataclass
class Env:
    worker: ConnectWorker
    workdir: Path

    def conn(self) -> dict:
        kafka = self.worker.kafka
        return {
            "bootstrap_servers": [kafka.bootstrap],
            "sasl_username": "admin",
            "sasl_password": kafka.admin_password,
            "ca_cert": str(kafka.tls.ca_cert),
            "request_timeout": 20,
        }


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[Env]:
    with (
        started_secure_kafka(tmp_path_factory.mktemp("kafka-secure")) as kafka,
        started_connect_worker(kafka, tmp_path_factory.mktemp("connect")) as worker,
    ):
        yield Env(worker=worker, workdir=tmp_path_factory.mktemp("dlq-play"))


def replay(ansible_home, env: Env, check: bool = False, **args) -> tuple[PlayResult, dict]:
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "replay",
                    "cdc.pipeline.kafka_dlq_replay": {**env.conn(), **args},
                    "register": "out",
                    "ignore_errors": True,
                },
                {"name": "show", "ansible.builtin.debug": {"var": "out"}},
            ],
        }
    ]
    result = run_playbook(ansible_home, env.workdir, play, check=check, extra_args=["--diff"])
    shown = [
        entry["hosts"]["localhost"]
        for p in result.report["plays"]
        for entry in p["tasks"]
        if entry["task"]["name"] == "replay"
    ]
    return result, shown[0]


def create_topics(env: Env, *names: str) -> None:
    from confluent_kafka.admin import NewTopic

    admin = env.worker.kafka.admin()
    futures = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1) for name in names])
    for future in futures.values():
        future.result(timeout=CLIENT_TIMEOUT_S)


def produce(env: Env, topic: str, writes) -> None:
    from confluent_kafka import Producer

    producer = Producer({**env.worker.kafka.client_config(), "acks": "all"})
    for key, value in writes:
        producer.produce(topic, key=key.encode(), value=json.dumps(value).encode())
    assert producer.flush(CLIENT_TIMEOUT_S) == 0


def read_all(env: Env, topic: str) -> list:
    """Every record of partition 0 of topic, read to its end with a consumer of our own."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **env.worker.kafka.client_config(),
            "group.id": f"check-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "error_cb": lambda _err: None,
        }
    )
    records = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().name() == "_PARTITION_EOF":
                    break
                continue
            records.append(message)
    finally:
        consumer.close()
    return records


def full(records: list, count: int) -> list | None:
    return records if len(records) == count else None


def sink_config(topic: str, dlq: str, out: Path, schemas: bool) -> dict:
    return {
        "connector.class": FILE_SINK_CLASS,
        "tasks.max": 1,
        "topics": topic,
        "file": str(out),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": str(schemas).lower(),
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": 1,
        "errors.deadletterqueue.context.headers.enable": "true",
    }


def test_records_of_a_real_dead_letter_queue_are_replayed_after_the_fix_and_never_over_newer_data(
    ansible_home, env, tmp_path
):
    suffix = uuid.uuid4().hex[:6]
    topic, dlq, name, out = (
        f"cdc.shop.orders-{suffix}",
        f"cdc.dlq.sink-{suffix}",
        f"sink-{suffix}",
        tmp_path / "out.txt",
    )
    create_topics(env, topic, dlq)
    env.worker.request("PUT", f"/connectors/{name}/config", sink_config(topic, dlq, out, schemas=True))
    produce(env, topic, WRITES)
    queued = wait_for(lambda: full(read_all(env, dlq), len(WRITES)), 90, "the dead letter queue holds every record")
    headers = dict(queued[0].headers())
    assert headers["__connect.errors.topic"] == topic.encode() and headers["__connect.errors.offset"] == b"0"
    assert not out.exists() or out.read_text() == "", "a poison record reached the file"

    # Every record selected: k3's first record has a later record of its key, so nothing is replayed.
    _play, outcome = replay(ansible_home, env, dlq_topic=dlq)
    assert outcome.get("failed"), outcome
    assert (
        "1 of the 4 selected records" in outcome["msg"]
        and "0/2: a later record of its key is at offset 3" in outcome["msg"]
    )
    assert len(read_all(env, topic)) == len(WRITES), "a refused run wrote into the topic"

    # The fix: the sink reads schemaless JSON now.
    env.worker.request("PUT", f"/connectors/{name}/config", sink_config(topic, dlq, out, schemas=False))
    chosen = [{"partition": 0, "offset": offset} for offset in (0, 1, 3)]

    _play, plan = replay(ansible_home, env, check=True, dlq_topic=dlq, records=chosen)
    assert not plan.get("failed") and plan["changed"], plan
    assert [entry["offset"] for entry in plan["replayed"]] == [0, 1, 3]
    assert len(read_all(env, topic)) == len(WRITES), "check mode wrote into the topic"

    _play, result = replay(ansible_home, env, dlq_topic=dlq, records=chosen)
    assert not result.get("failed") and result["changed"], result
    replays = read_all(env, topic)[len(WRITES) :]
    assert [(m.key(), json.loads(m.value())["v"]) for m in replays] == [
        (b"k1", "first"),
        (b"k2", "second"),
        (b"k3", "new"),
    ]
    for message, dlq_offset in zip(replays, (0, 1, 3), strict=True):
        names = [header for header, _value in message.headers()]
        assert not [n for n in names if n.startswith("__connect.errors.")], names
        assert dict(message.headers())["cdc.replay.of"] == f"{dlq}/0/{dlq_offset}".encode()
    # The sink writes them now: the first and the newest of each key, never k3's old value.
    wait_for(lambda: out.exists() and out.read_text().count("\n") >= 3, 60, "the sink wrote the replayed records")
    # The file sink writes each value as a Java map ({id=1, v=first}, in the map's own order).
    written = sorted(re.search(r"v=(\w+)", line)[1] for line in out.read_text().splitlines())
    assert written == ["first", "new", "second"], out.read_text()

    # Again: every one is found replayed, nothing is written.
    _play, again = replay(ansible_home, env, dlq_topic=dlq, records=chosen)
    assert not again.get("failed") and not again["changed"], again
    assert [entry["dlq_offset"] for entry in again["already_replayed"]] == [0, 1, 3]
    assert len(read_all(env, topic)) == len(WRITES) + 3
