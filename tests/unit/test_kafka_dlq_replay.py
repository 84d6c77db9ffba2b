"""kafka_dlq_replay's decisions with a fake cluster: what is replayed, where, with which headers, and what is refused.

The records in the fake queue carry the headers Kafka Connect's DeadLetterQueueReporter writes
(__connect.errors.topic/partition/offset and the error context). The module against a real broker and a real
Connect worker's dead letter queue: tests/integration/test_kafka_dlq_replay.py.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from ansible_collections.cdc.pipeline.plugins.module_utils import kafka as ku
from test_kafka_utils import params

replay = importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules.kafka_dlq_replay")

pytestmark = pytest.mark.unit

DLQ = "cdc.dlq.postgres-sink"
ORDERS = "cdc.shop.orders"


def dlq_record(offset, origin_offset, key=b'{"id":1}', value=b'{"bad":', origin_partition=2, extra_headers=()):
    headers = [
        ("__connect.errors.topic", ORDERS.encode()),
        ("__connect.errors.partition", str(origin_partition).encode()),
        ("__connect.errors.offset", str(origin_offset).encode()),
        ("__connect.errors.stage", b"VALUE_CONVERTER"),
        ("__connect.errors.exception.message", b"Converting byte[] to Kafka Connect data failed"),
        *extra_headers,
    ]
    return {"offset": offset, "key": key, "value": value, "headers": headers, "timestamp": 0}


def topic_record(offset, key=b'{"id":1}', headers=()):
    return {"offset": offset, "key": key, "value": b"{}", "headers": list(headers), "timestamp": 0}


class Cluster:
    """Partitions as {(topic, partition): [records]} with an earliest offset each; serves admin, reader, producer."""

    def __init__(self, partitions, earliest=None):
        self.partitions = partitions
        self.earliest = earliest or {}
        self.sent = []
        self.reads = []

    def span(self, topic, partition):
        records = self.partitions.get((topic, partition), [])
        earliest = self.earliest.get((topic, partition), records[0]["offset"] if records else 0)
        latest = records[-1]["offset"] + 1 if records else earliest
        return earliest, latest

    # admin
    def describe_topic(self, name):
        ids = sorted(p for t, p in self.partitions if t == name)
        return SimpleNamespace(partitions=[SimpleNamespace(id=p) for p in ids]) if ids else None

    def partition_offsets(self, pairs):
        return {pair: dict(zip(("earliest", "latest"), self.span(*pair), strict=True)) for pair in pairs}

    # reader
    def reader(self, _params):
        return self

    def read(self, topic, partition, start, end):
        self.reads.append((topic, partition, start, end))
        return [r for r in self.partitions.get((topic, partition), []) if start <= r["offset"] < end]

    def close(self):
        pass

    # producer
    def producer(self, _params):
        return self

    def send(self, topic, key, value, partition=None, headers=None):
        self.sent.append({"topic": topic, "key": key, "value": value, "partition": partition, "headers": headers})
        records = self.partitions.setdefault((topic, partition), [])
        offset = self.span(topic, partition)[1]
        records.append({"offset": offset, "key": key, "value": value, "headers": headers, "timestamp": 0})
        return partition, offset


class Module:
    def __init__(self, check_mode=False, diff=False, **overrides):
        self.params = params(dlq_topic=DLQ, records=None, force=False, max_scan=200000)
        self.params.update(overrides)
        self.check_mode = check_mode
        self._diff = diff


def run(cluster, **kwargs):
    return replay.replay_records(
        Module(**kwargs), cluster, reader_factory=cluster.reader, producer_factory=cluster.producer
    )


def orders(*records):
    return {(ORDERS, 2): list(records)}


def test_every_record_goes_back_to_its_partition_with_its_own_headers_and_the_marker():
    cluster = Cluster(
        {
            (DLQ, 0): [dlq_record(0, 5, extra_headers=[("trace", b"t1")]), dlq_record(1, 6, key=b'{"id":2}')],
            **orders(topic_record(5), topic_record(6, key=b'{"id":2}'), topic_record(7, key=b'{"id":3}')),
        }
    )
    result = run(cluster)
    assert result["changed"] and not result["refused"] and not result["already_replayed"]
    assert [(s["topic"], s["partition"], s["key"]) for s in cluster.sent] == [
        (ORDERS, 2, b'{"id":1}'),
        (ORDERS, 2, b'{"id":2}'),
    ]
    first = cluster.sent[0]["headers"]
    assert first == [("trace", b"t1"), ("cdc.replay.of", b"cdc.dlq.postgres-sink/0/0")]
    assert [(r["dlq_offset"], r["offset"], r["replay_offset"]) for r in result["replayed"]] == [(0, 5, 8), (1, 6, 9)]
    assert "key_bytes" not in result["replayed"][0] and "value" not in result["replayed"][0]


def test_a_second_run_finds_the_replays_and_changes_nothing():
    cluster = Cluster({(DLQ, 0): [dlq_record(0, 5)], **orders(topic_record(5))})
    assert run(cluster)["changed"]
    again = run(cluster)
    assert not again["changed"] and len(cluster.sent) == 1
    assert [(r["dlq_offset"], r["replay_offset"]) for r in again["already_replayed"]] == [(0, 6)]
    # force does not replay a record whose replay is there
    assert not run(cluster, force=True)["changed"] and len(cluster.sent) == 1


def test_check_mode_judges_everything_and_sends_nothing():
    cluster = Cluster({(DLQ, 0): [dlq_record(0, 5)], **orders(topic_record(5))})
    result = run(cluster, check_mode=True, diff=True)
    assert result["changed"] and cluster.sent == []
    assert "would be replayed" in result["msg"]
    assert result["diff"]["after"] == (
        'replay cdc.dlq.postgres-sink/0/0 -> cdc.shop.orders partition 2 (was offset 5, key {"id":1})\n'
    )


def test_a_later_record_of_the_key_refuses_the_replay_of_every_record_unless_forced():
    cluster = Cluster(
        {
            (DLQ, 0): [dlq_record(0, 5), dlq_record(1, 6, key=b'{"id":2}')],
            **orders(topic_record(5), topic_record(6, key=b'{"id":2}'), topic_record(7)),
        }
    )
    with pytest.raises(ku.KafkaModuleError) as refused:
        run(cluster)
    message = str(refused.value)
    assert "1 of the 2 selected records of cdc.dlq.postgres-sink would not be replayed, so none was" in message
    assert "0/0: a later record of its key is at offset 7" in message
    assert "playbooks/reconcile.yml" in message and "force: true" in message
    assert cluster.sent == []
    assert [r["dlq_offset"] for r in refused.value.details["refused"]] == [0]
    # the other one alone goes
    assert run(cluster, records=[{"partition": 0, "offset": 1}])["changed"]
    assert [s["key"] for s in cluster.sent] == [b'{"id":2}']
    forced = run(cluster, records=[{"partition": 0, "offset": 0}], force=True)
    assert [r["dlq_offset"] for r in forced["replayed"]] == [0]
    assert forced["refused"][0]["reason"] == "a later record of its key is at offset 7"


def test_records_the_queue_does_not_hold_are_refused_before_anything_is_read():
    cluster = Cluster({(DLQ, 0): [dlq_record(3, 5), dlq_record(4, 6)], **orders(topic_record(5), topic_record(6))})
    with pytest.raises(
        ku.KafkaModuleError,
        match=r"records 0/2, 1/0 are not in the dead letter queue \(it holds "
        r"partition 0 offsets 3-4\)",
    ):
        run(cluster, records=[{"partition": 0, "offset": 2}, {"partition": 1, "offset": 0}])
    assert cluster.reads == [] and cluster.sent == []


def test_a_record_without_connects_origin_headers_is_never_replayed():
    bare = {"offset": 0, "key": b"k", "value": b"v", "headers": [], "timestamp": 0}
    cluster = Cluster({(DLQ, 0): [bare]})
    for force in (False, True):
        with pytest.raises(ku.KafkaModuleError, match="no __connect.errors.topic/partition/offset headers"):
            run(cluster, force=force)
    assert cluster.sent == []


@pytest.mark.parametrize(
    ("cluster_kwargs", "module_kwargs", "reason"),
    [
        # the original partition starts after the record: later records may have been deleted
        ({"earliest": {(ORDERS, 2): 9}}, {}, "deleted by retention (the partition starts at offset 9)"),
        ({}, {"max_scan": 1}, "has 2 records after it, more than max_scan (1)"),
    ],
)
def test_later_records_that_cannot_all_be_read_refuse_the_replay(cluster_kwargs, module_kwargs, reason):
    partitions = {
        (DLQ, 0): [dlq_record(0, 5)],
        **orders(topic_record(5), topic_record(6, key=b"x"), topic_record(7, key=b"y")),
    }
    if "earliest" in cluster_kwargs:
        partitions[(ORDERS, 2)] = [topic_record(9, key=b"x")]
    cluster = Cluster(partitions, **cluster_kwargs)
    with pytest.raises(ku.KafkaModuleError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        run(cluster, **module_kwargs)
    assert cluster.sent == []


def test_a_record_without_key_is_refused_unless_forced():
    cluster = Cluster({(DLQ, 0): [dlq_record(0, 5, key=None)], **orders(topic_record(5, key=None))})
    with pytest.raises(ku.KafkaModuleError, match="it has no key"):
        run(cluster)
    assert run(cluster, force=True)["changed"]


def test_an_empty_queue_and_a_missing_queue():
    cluster = Cluster({(DLQ, 0): []})
    result = run(cluster)
    assert (
        not result["changed"] and result["msg"] == "nothing to replay from cdc.dlq.postgres-sink (0 already replayed)"
    )
    with pytest.raises(ku.KafkaModuleError, match="dead letter queue cdc.dlq.other does not exist"):
        run(cluster, dlq_topic="cdc.dlq.other")
    with pytest.raises(ku.KafkaModuleError, match="max_scan is 0"):
        run(cluster, max_scan=0)


def test_a_failure_while_producing_names_what_was_already_replayed():
    cluster = Cluster(
        {
            (DLQ, 0): [dlq_record(0, 5), dlq_record(1, 6, key=b'{"id":2}')],
            **orders(topic_record(5), topic_record(6, key=b'{"id":2}')),
        }
    )
    real_send = cluster.send

    def send_once(topic, key, value, partition=None, headers=None):
        if cluster.sent:
            raise ku.KafkaModuleError("the brokers refused the write")
        return real_send(topic, key, value, partition, headers)

    cluster.send = send_once
    with pytest.raises(
        ku.KafkaModuleError, match=r"refused the write; replayed before the failure: cdc.dlq.postgres-sink/0/0"
    ):
        run(cluster)
