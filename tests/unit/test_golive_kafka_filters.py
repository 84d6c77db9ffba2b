"""The go-live probes of the Kafka cluster (plugins/filter/golive_kafka.py), judged from
kafka_cluster_info answers shaped as the module returns them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from plugins.filter.golive_kafka import golive_kafka_results, golive_kafka_settings

pytestmark = pytest.mark.unit

AT = "2027-01-15T09:30:00Z"
ROLE_VARS = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/golive/vars/main.yml").read_text())
EXPECT = {
    "min_replication_factor": 3,
    "min_insync_replicas": 2,
    "change_topic_retention_hours": [24, 48],
    "min_partitions": 3,
    "compression_types": ["lz4", "snappy", "zstd"],
    "change_topics": r"^cdc\.(?!dlq\.|heartbeat\.)",
    "dlq_topics": r"^cdc\.dlq\.",
    "compacted_topics": r"^__|-(configs|offsets|status)$",
}
HOURS_48 = str(48 * 3600 * 1000)


def topic(partitions=6, rf=3, min_isr=2, policy="delete", retention=HOURS_48, compression="lz4", offsets=None):
    entries = []
    for number in range(partitions):
        entry = {"partition": number, "leader": 1, "replicas": [1, 2, 3][:rf], "isr": [1, 2, 3][:rf]}
        entry["earliest_offset"], entry["latest_offset"] = (offsets or {}).get(number, (0, 0))
        entries.append(entry)
    return {
        "partitions": entries,
        "partition_count": partitions,
        "replication_factor": rf,
        "min_insync_replicas": min_isr,
        "configs": {"cleanup.policy": policy, "retention.ms": retention, "compression.type": compression},
        "records": sum(latest - earliest for earliest, latest in (offsets or {}).values()),
    }


def healthy():
    return {
        "changed": False,
        "brokers": [
            {"id": n, "configs": {"auto.create.topics.enable": "false", "compression.type": "lz4"}} for n in (1, 2, 3)
        ],
        "topics": {
            "cdc.shop.items": topic(),
            "cdc.dlq.postgres-sink": topic(partitions=1, retention=str(14 * 24 * 3600 * 1000)),
            "connect-configs": topic(partitions=1, policy="compact", retention="-1"),
            # Kafka's own topics keep Kafka's codec; the source's heartbeat topic is no change topic (1 h, 1 partition).
            "__consumer_offsets": topic(partitions=50, policy="compact", compression="producer"),
            "__transaction_state": topic(partitions=50, policy="compact", compression="uncompressed"),
            "cdc.heartbeat.cdc": topic(partitions=1, retention=str(3600 * 1000)),
        },
    }


def judge(info, acknowledged=()):
    return golive_kafka_results(info, EXPECT, list(acknowledged), AT)


def test_a_healthy_cluster_passes_every_probe():
    info = healthy()
    results = judge(info)
    # Exactly the probes the golive role's kafka entry point records (one list, in the role's vars).
    assert sorted(results) == sorted(ROLE_VARS["golive_kafka_probes"])
    failed = dict((name, r["result"]) for name, r in results.items() if not r["passed"])
    assert failed == {}
    assert all(r["at"] == AT and "kafka_cluster_info" in r["command"] for r in results.values())
    assert "all empty: cdc.dlq.postgres-sink" in results["dlq_empty"]["result"]


@pytest.mark.parametrize(
    ("probes", "change", "named"),
    [
        # RF 2 with min ISR 2 also leaves min ISR not below the replicas: both are named
        (
            "topic_replication min_insync_replicas",
            lambda i: i["topics"]["cdc.shop.items"].update(replication_factor=2),
            "cdc.shop.items",
        ),
        ("min_insync_replicas", lambda i: i["topics"]["cdc.shop.items"].update(min_insync_replicas=1), "min.insync"),
        # min ISR equal to the replicas: one broker down stops every acks=all write
        ("min_insync_replicas", lambda i: i["topics"]["cdc.shop.items"].update(min_insync_replicas=3), "not below"),
        (
            "topic_retention",
            lambda i: i["topics"]["cdc.shop.items"]["configs"].update({"retention.ms": "-1"}),
            "forever",
        ),
        (
            "topic_retention",
            lambda i: i["topics"]["cdc.shop.items"]["configs"].update({"retention.ms": str(7 * 24 * 3600 * 1000)}),
            "168 h",
        ),
        # a state topic turned to delete keeps its infinite retention: deleted never, compacted never
        (
            "topic_config topic_retention",
            lambda i: i["topics"]["connect-configs"]["configs"].update({"cleanup.policy": "delete"}),
            "compacted",
        ),
        (
            "topic_config",
            lambda i: i["topics"]["cdc.shop.items"]["configs"].update({"cleanup.policy": "compact"}),
            "expected delete",
        ),
        ("topic_partitions", lambda i: i["topics"]["cdc.shop.items"].update(partition_count=1), "1 partition"),
        (
            "broker_config",
            lambda i: i["brokers"][1]["configs"].update({"auto.create.topics.enable": "true"}),
            "broker 2: auto.create",
        ),
        ("broker_config", lambda i: i["brokers"][0]["configs"].update({"compression.type": "producer"}), "broker 1"),
        (
            "broker_config",
            lambda i: i["topics"]["cdc.shop.items"]["configs"].update({"compression.type": "uncompressed"}),
            "cdc.shop.items: compression",
        ),
    ],
)
def test_each_fault_fails_its_probes_alone_and_is_named(probes, change, named):
    """probes: the probes that must fail, space-separated; the first names the fault."""
    info = healthy()
    change(info)
    results = judge(info)
    failed = sorted(name for name, r in results.items() if not r["passed"])
    assert failed == sorted(probes.split())
    naming = results[probes.split()[0]]["result"]
    assert named in " ".join(naming), naming


def test_records_in_a_dead_letter_queue_fail_until_signed_off_with_a_reason_and_a_signer():
    info = healthy()
    info["topics"]["cdc.dlq.postgres-sink"] = topic(partitions=1, offsets={0: (10, 14)})
    failed = judge(info)["dlq_empty"]
    assert not failed["passed"]
    assert failed["result"] == ["cdc.dlq.postgres-sink-0: offsets 10-13 not acknowledged (4 record(s))"]

    signed = {
        "topic": "cdc.dlq.postgres-sink",
        "partition": 0,
        "through_offset": 13,
        "reason": "replayed",
        "signed_by": "ops",
    }
    passed = judge(info, [signed])["dlq_empty"]
    assert passed["passed"], passed["result"]
    assert "acknowledged" in passed["result"][0]

    # A sign-off that stops short names the records after it; one without a signer counts for nothing.
    short = judge(info, [dict(signed, through_offset=11)])["dlq_empty"]
    assert short["result"] == ["cdc.dlq.postgres-sink-0: offsets 12-13 not acknowledged (2 record(s))"]
    unsigned = judge(info, [dict(signed, signed_by=" ")])["dlq_empty"]
    assert not unsigned["passed"]


def test_no_dead_letter_queue_at_all_fails():
    info = healthy()
    del info["topics"]["cdc.dlq.postgres-sink"]
    result = judge(info)["dlq_empty"]
    assert not result["passed"] and "no dead letter queue" in result["result"]


def test_a_failed_read_fails_every_probe_with_its_message():
    results = judge({"failed": True, "msg": "SASL authentication failed for admin"})
    assert len(results) == 7
    assert all(not r["passed"] and "SASL authentication failed" in r["result"] for r in results.values())


def test_no_topics_fails_rather_than_passing_on_silence():
    info = copy.deepcopy(healthy())
    info["topics"] = {}
    results = judge(info)
    assert not any(r["passed"] for name, r in results.items() if name != "broker_config")


def test_the_settings_read_are_those_judged():
    assert golive_kafka_settings("topic") == ["cleanup.policy", "retention.ms", "compression.type"]
    assert golive_kafka_settings("broker") == ["auto.create.topics.enable", "compression.type"]
