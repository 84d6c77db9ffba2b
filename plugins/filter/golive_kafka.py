# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live probes of the Kafka cluster, judged from one cdc.pipeline.kafka_cluster_info answer
(read with configs, broker_configs and offsets): replication, min ISR, retention, cleanup policy,
partitions, the brokers' settings, the dead letter queues. Unit-tested in
tests/unit/test_golive_kafka_filters.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The settings the judgements read (the golive role asks kafka_cluster_info for exactly these).
TOPIC_SETTINGS = ["cleanup.policy", "retention.ms", "compression.type"]
BROKER_SETTINGS = ["auto.create.topics.enable", "compression.type"]
COMMAND = "cdc.pipeline.kafka_cluster_info (topic and broker settings, offsets) as the Kafka admin"
HOUR_MS = 3600 * 1000
KAFKA_OWN_PREFIX = "__"


def _result(passed, found, at):
    return {"passed": bool(passed), "command": COMMAND, "result": found, "at": at}


def _matches(pattern, name):
    return re.search(pattern, name) is not None


def _policies(topic):
    text = (topic.get("configs") or {}).get("cleanup.policy") or ""
    return set(part.strip() for part in text.split(",") if part.strip())


def _judge(offenders, checked, what):
    """One probe's result: its offenders, or how many topics passed."""
    if not checked:
        return False, "no topic to check (%s): the cluster answered with none" % what
    if offenders:
        return False, offenders
    return True, "%d topic(s), every one %s" % (len(checked), what)


def _replication(topics, expect):
    need = int(expect["min_replication_factor"])
    offenders = [
        "%s: replication factor %d" % (name, topic.get("replication_factor", 0))
        for name, topic in sorted(topics.items())
        if topic.get("replication_factor", 0) < need
    ]
    return _judge(offenders, topics, "with a replication factor of at least %d" % need)


def _min_insync(topics, expect):
    need = int(expect["min_insync_replicas"])
    offenders = []
    for name, topic in sorted(topics.items()):
        value = topic.get("min_insync_replicas")
        if value is None or value < need:
            offenders.append("%s: min.insync.replicas %s" % (name, value))
        elif value >= topic.get("replication_factor", 0):
            # min ISR equal to the replicas stops every acks=all write when one broker is down.
            offenders.append(
                "%s: min.insync.replicas %d is not below its replication factor %d"
                % (name, value, topic.get("replication_factor", 0))
            )
    return _judge(offenders, topics, "with min.insync.replicas of at least %d and below its replicas" % need)


def _retention(topics, expect):
    low, high = [float(hours) for hours in expect["change_topic_retention_hours"]]
    offenders, checked = [], []
    for name, topic in sorted(topics.items()):
        if "delete" not in _policies(topic):
            continue  # compacted: keeps the latest record of each key, whatever its age
        checked.append(name)
        try:
            retention = int((topic.get("configs") or {}).get("retention.ms"))
        except (TypeError, ValueError):
            offenders.append("%s: retention.ms unreadable" % name)
            continue
        if retention < 0:
            offenders.append("%s: retention.ms -1 (kept forever)" % name)
        elif _matches(expect["change_topics"], name) and not low <= retention / HOUR_MS <= high:
            offenders.append("%s: retention %g h, change topics keep %g-%g h" % (name, retention / HOUR_MS, low, high))
    return _judge(offenders, checked, "deleting with a finite retention (change topics %g-%g h)" % (low, high))


def _cleanup(topics, expect):
    offenders = []
    for name, topic in sorted(topics.items()):
        policies = _policies(topic)
        if _matches(expect["compacted_topics"], name):
            if "compact" not in policies:
                offenders.append("%s: cleanup.policy %s, a state topic must be compacted" % (name, ",".join(policies)))
        elif policies != {"delete"}:
            offenders.append("%s: cleanup.policy %s, expected delete" % (name, ",".join(sorted(policies)) or "unset"))
    return _judge(offenders, topics, "with the cleanup policy its role needs (state topics compact, others delete)")


def _partitions(topics, expect):
    need = int(expect["min_partitions"])
    changes = dict((name, topic) for name, topic in topics.items() if _matches(expect["change_topics"], name))
    offenders = [
        "%s: %d partition(s)" % (name, topic.get("partition_count", 0))
        for name, topic in sorted(changes.items())
        if topic.get("partition_count", 0) < need
    ]
    return _judge(offenders, changes, "a change topic with at least %d partitions" % need)


def _brokers(brokers, topics, expect):
    allowed = list(expect["compression_types"])
    offenders = []
    for broker in brokers:
        configs = broker.get("configs") or {}
        if str(configs.get("auto.create.topics.enable")).lower() != "false":
            offenders.append(
                "broker %s: auto.create.topics.enable %s" % (broker.get("id"), configs.get("auto.create.topics.enable"))
            )
        if configs.get("compression.type") not in allowed:
            offenders.append("broker %s: compression.type %s" % (broker.get("id"), configs.get("compression.type")))
    for name, topic in sorted(topics.items()):
        value = (topic.get("configs") or {}).get("compression.type")
        if name.startswith(KAFKA_OWN_PREFIX):
            continue  # Kafka's own topics (__consumer_offsets, __transaction_state) keep Kafka's codec
        if value not in allowed:
            offenders.append("%s: compression.type %s" % (name, value))
    if not brokers:
        return False, "no broker answered"
    if offenders:
        return False, offenders
    return (
        True,
        "%d broker(s): no topic auto-creation, compression %s on every broker and topic (Kafka's own aside)"
        % (
            len(brokers),
            "/".join(allowed),
        ),
    )


def _acknowledged(acknowledged, topic, partition):
    """The highest offset signed off for (topic, partition), or None: an entry counts only with a
    reason and a signer."""
    through = None
    for entry in acknowledged or []:
        if entry.get("topic") != topic or int(entry.get("partition", 0)) != partition:
            continue
        if not str(entry.get("reason") or "").strip() or not str(entry.get("signed_by") or "").strip():
            continue
        through = max(int(entry.get("through_offset", -1)), -1 if through is None else through)
    return through


def _dlq(topics, expect, acknowledged):
    queues = dict((name, topic) for name, topic in topics.items() if _matches(expect["dlq_topics"], name))
    if not queues:
        return False, "no dead letter queue topic (pattern %s): the sink's error tolerance has nowhere to send" % (
            expect["dlq_topics"]
        )
    found, passed = [], True
    for name, topic in sorted(queues.items()):
        for partition in topic.get("partitions") or []:
            earliest, latest = partition.get("earliest_offset", 0), partition.get("latest_offset", 0)
            if latest <= earliest:
                continue
            through = _acknowledged(acknowledged, name, partition["partition"])
            if through is not None and through >= latest - 1:
                found.append(
                    "%s-%d: offsets %d-%d acknowledged (golive_dlq_acknowledged)"
                    % (name, partition["partition"], earliest, latest - 1)
                )
                continue
            passed = False
            first = earliest if through is None else max(earliest, through + 1)
            found.append(
                "%s-%d: offsets %d-%d not acknowledged (%d record(s))"
                % (name, partition["partition"], first, latest - 1, latest - first)
            )
    if passed and not found:
        return True, "%d dead letter queue(s), all empty: %s" % (len(queues), ", ".join(sorted(queues)))
    return passed, found


def golive_kafka_results(info, expect, acknowledged, at):
    """The Kafka probes judged from a kafka_cluster_info answer: {probe: {passed, command, result, at}}.

    expect: min_replication_factor, min_insync_replicas, change_topic_retention_hours ([low, high]),
    min_partitions, compression_types, and the name patterns change_topics, dlq_topics and
    compacted_topics. acknowledged: golive_dlq_acknowledged ([{topic, partition, through_offset,
    reason, signed_by}]). An answer without topics (a failed read) fails every probe with its message.
    """
    probes = [
        "topic_replication",
        "min_insync_replicas",
        "topic_retention",
        "topic_config",
        "topic_partitions",
        "broker_config",
        "dlq_empty",
    ]
    if not info or info.get("failed") or "topics" not in info:
        message = "the cluster did not answer: %s" % ((info or {}).get("msg") or "no result")
        return dict((probe, _result(False, message, at)) for probe in probes)
    topics = info.get("topics") or {}
    judged = {
        "topic_replication": _replication(topics, expect),
        "min_insync_replicas": _min_insync(topics, expect),
        "topic_retention": _retention(topics, expect),
        "topic_config": _cleanup(topics, expect),
        "topic_partitions": _partitions(topics, expect),
        "broker_config": _brokers(info.get("brokers") or [], topics, expect),
        "dlq_empty": _dlq(topics, expect, acknowledged),
    }
    return dict((probe, _result(passed, found, at)) for probe, (passed, found) in judged.items())


def golive_kafka_settings(which):
    """The setting names the judgements read: `topic` or `broker` (the kafka_cluster_info options)."""
    return list(TOPIC_SETTINGS if which == "topic" else BROKER_SETTINGS)


class FilterModule(object):
    def filters(self):
        return {
            "golive_kafka_results": golive_kafka_results,
            "golive_kafka_settings": golive_kafka_settings,
        }
