#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_dlq_replay
short_description: Replay records of a Kafka Connect dead letter queue into the topics they came from
version_added: 0.3.0
description:
  - Reads records of the dead letter queue O(dlq_topic) that Kafka Connect's error handler wrote (with
    C(errors.deadletterqueue.context.headers.enable), as the connectors role configures the sink), and produces each
    again, with its key, value and own headers, into the partition of the topic it came from (the headers
    C(__connect.errors.topic) and C(__connect.errors.partition)), so that the connector reads it once more after the
    cause was fixed (a converter setting, a table the sink could not write).
  - B(A replay never overwrites newer data by default.) The sink applies a replayed record after every event already in
    its topic, and an old after-image applied late would overwrite the newer row in PostgreSQL. So each record's
    partition is read after the record's own offset (C(__connect.errors.offset)); when a later record with the same
    key is there, the row already holds something newer and the record is refused. So is a record whose later
    records cannot all be read (deleted by retention, or more than O(max_scan)), or that has no key.
  - When any selected record is refused, nothing is replayed and the task fails naming each refused record and why.
    Then replay the others by naming them in O(records), re-read the refused keys from the source
    (playbooks/reconcile.yml), or, after checking their rows, set O(force=true).
  - Each replayed record carries the header C(cdc.replay.of) (C(<dlq_topic>/<partition>/<offset>)). A record whose
    replay is found after it is reported in RV(already_replayed) and not produced again, so a second run changes
    nothing.
  - Records leave the dead letter queue only by its retention; a replay does not remove them. Acknowledge the replayed
    offsets for go-live (C(golive_dlq_acknowledged), docs/go-live.md).
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka
attributes:
  check_mode:
    support: full
    description: Reads and judges every selected record and reports what would be replayed; produces nothing.
  diff_mode:
    support: full
    description: One line for each record that is, or would be, replayed, with where it goes.
options:
  dlq_topic:
    description:
      - The dead letter queue, for example C(cdc.dlq.postgres-sink) (the connectors role's
        C(connectors_sink_dlq_topic)).
    type: str
    required: true
  records:
    description:
      - The records to replay, by their position in O(dlq_topic). Default every record the queue holds now.
      - Each must be held by the queue (between its partition's earliest and latest offset); otherwise nothing is
        replayed and the task says which offsets the queue holds.
    type: list
    elements: dict
    suboptions:
      partition:
        description: Partition of O(dlq_topic).
        type: int
        required: true
      offset:
        description: Offset of the record in that partition.
        type: int
        required: true
  force:
    description:
      - Replay records that would be refused because a later record of their key exists, their later records cannot
        all be read, or they have no key. A record whose replay is found after it is still not produced again (when its
        partition could be read); a record without Connect's origin headers is never replayed.
      - Only after checking, for each key, that the row the record carries is the one wanted.
    type: bool
    default: false
  max_scan:
    description:
      - The most records read, per partition of an original topic, after the oldest selected record of that partition,
        to look for later records of the same key. A partition with more is not read, and its records are refused
        (unless O(force)).
    type: int
    default: 200000
notes:
  - Needs the principal to read O(dlq_topic) and the original topics and to write to the original topics (the Kafka
    admin has both). No consumer group is joined and no offset is committed.
  - The original record's timestamp is not kept; the replay gets the time it was produced.
"""

EXAMPLES = r"""
- name: What the sink's dead letter queue would replay (check mode changes nothing)
  cdc.pipeline.kafka_dlq_replay:
    bootstrap_servers: ["kafka-1.example.net:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    dlq_topic: cdc.dlq.postgres-sink
  check_mode: true
  delegate_to: localhost
  register: plan

- name: Replay two records after the fix
  cdc.pipeline.kafka_dlq_replay:
    bootstrap_servers: ["kafka-1.example.net:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    dlq_topic: cdc.dlq.postgres-sink
    records:
      - {partition: 0, offset: 12}
      - {partition: 0, offset: 13}
  delegate_to: localhost
"""

RETURN = r"""
replayed:
  description:
    - The records produced again (in check mode, those that would be), oldest first, each with its place in the
      queue, where it came from, and (not in check mode) where the replay was written.
  returned: always
  type: list
  elements: dict
  sample:
    - {dlq_partition: 0, dlq_offset: 12, topic: cdc.shop.orders, partition: 2, offset: 5120, key: '{"id":7}',
       replay_offset: 5931}
already_replayed:
  description: Selected records whose replay is already in their topic (not produced again), with its offset.
  returned: always
  type: list
  elements: dict
  sample: [{dlq_partition: 0, dlq_offset: 11, topic: cdc.shop.orders, partition: 2, offset: 5119, replay_offset: 5930}]
refused:
  description:
    - Selected records that are not replayed, each with the reason (a later record of its key and its offset, later
      records not readable, no key, no origin headers). Only records replayed by O(force) despite a reason are listed
      in RV(replayed) too.
  returned: always
  type: list
  elements: dict
  sample: [{dlq_partition: 0, dlq_offset: 10, topic: cdc.shop.orders, partition: 2, offset: 5100,
            reason: "a later record of its key is at offset 5102"}]
msg:
  description: What was done, in one line.
  returned: always
  type: str
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    KafkaModuleError,
    RecordProducer,
    RecordReader,
    connection_argument_spec,
    run_module,
)

# The headers Kafka Connect's DeadLetterQueueReporter adds (KIP-298); they describe the failure, not the record.
CONNECT_ERROR_HEADER = "__connect.errors."
ORIGIN_TOPIC = CONNECT_ERROR_HEADER + "topic"
ORIGIN_PARTITION = CONNECT_ERROR_HEADER + "partition"
ORIGIN_OFFSET = CONNECT_ERROR_HEADER + "offset"
REPLAY_HEADER = "cdc.replay.of"
NO_ORIGIN = (
    "it has no __connect.errors.topic/partition/offset headers (Kafka Connect writes them with "
    "errors.deadletterqueue.context.headers.enable=true), so where it came from is unknown"
)
KEY_SHOWN = 120


def replay_marker(dlq_topic, partition, offset):
    """The value of REPLAY_HEADER on the replay of one queue record."""
    return "%s/%d/%d" % (dlq_topic, partition, offset)


def header_value(headers, name):
    """The last value of header name as text, or None."""
    found = None
    for key, value in headers or []:
        if key == name and value is not None:
            found = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return found


def origin_of(headers):
    """(topic, partition, offset) the record came from, from Connect's error context headers, or None."""
    topic = header_value(headers, ORIGIN_TOPIC)
    try:
        partition = int(header_value(headers, ORIGIN_PARTITION))
        offset = int(header_value(headers, ORIGIN_OFFSET))
    except (TypeError, ValueError):
        return None
    return (topic, partition, offset) if topic else None


def replay_headers(headers, marker):
    """The record's own headers (Connect's error context left out), and the replay marker."""
    return [(key, value) for key, value in headers or [] if not key.startswith(CONNECT_ERROR_HEADER)] + [
        (REPLAY_HEADER, marker.encode("utf-8"))
    ]


def shown_key(key):
    if key is None:
        return None
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
    return text if len(text) <= KEY_SHOWN else text[:KEY_SHOWN] + "..."


def selected_positions(records, held):
    """[(partition, offset)] to replay, sorted: the records asked for, or every one the queue holds.

    held is {partition: (earliest, latest)}; a record outside it is an error naming what the queue holds."""
    if not records:
        return [(partition, offset) for partition in sorted(held) for offset in range(*held[partition])]
    wrong = []
    for record in records:
        span = held.get(record["partition"])
        if span is None or not span[0] <= record["offset"] < span[1]:
            wrong.append("%d/%d" % (record["partition"], record["offset"]))
    if wrong:
        holds = ", ".join(
            "partition %d offsets %d-%d" % (p, span[0], span[1] - 1)
            if span[1] > span[0]
            else "partition %d nothing" % p
            for p, span in sorted(held.items())
        )
        raise KafkaModuleError(
            "records %s are not in the dead letter queue (it holds %s): name records it holds"
            % (", ".join(wrong), holds)
        )
    return sorted(set((record["partition"], record["offset"]) for record in records))


def judge(candidates, later, force):
    """Split candidates into (replay, already_replayed, refused).

    candidates: dicts with dlq_partition, dlq_offset, marker, topic, partition, offset, key_bytes (origin known).
    later: {(topic, partition): {"records": [...], "readable_from": offset or None (None: could not be read)}}, the
    records after the oldest candidate of each original partition.
    """
    replay, already, refused = [], [], []
    for candidate in candidates:
        scanned = later[(candidate["topic"], candidate["partition"])]
        after = [record for record in scanned["records"] if record["offset"] > candidate["offset"]]
        replayed_at = [
            record["offset"]
            for record in after
            if header_value(record["headers"], REPLAY_HEADER) == candidate["marker"]
        ]
        if replayed_at:
            already.append(dict(candidate, replay_offset=replayed_at[0]))
            continue
        if candidate["key_bytes"] is None:
            reason = "it has no key, so a later record of its key cannot be told"
        elif scanned["readable_from"] is None:
            reason = scanned["why_unreadable"]
        elif scanned["readable_from"] > candidate["offset"] + 1:
            reason = (
                "records after it were deleted by retention (the partition starts at offset %d)"
                % scanned["readable_from"]
            )
        else:
            newer = [record["offset"] for record in after if record["key"] == candidate["key_bytes"]]
            reason = "a later record of its key is at offset %d" % newer[0] if newer else None
        if reason is not None:
            refused.append(dict(candidate, reason=reason))
        if reason is None or force:
            replay.append(candidate)
    return replay, already, refused


def public(entry):
    return dict((key, value) for key, value in entry.items() if key not in ("key_bytes", "value", "headers", "marker"))


def read_candidates(params, reader, positions):
    """The selected queue records as candidates; those without Connect's origin headers are refused at once."""
    dlq_topic = params["dlq_topic"]
    candidates, no_origin = [], []
    by_partition = {}
    for partition, offset in positions:
        by_partition.setdefault(partition, []).append(offset)
    for partition, offsets in sorted(by_partition.items()):
        wanted = set(offsets)
        for record in reader.read(dlq_topic, partition, min(offsets), max(offsets) + 1):
            if record["offset"] not in wanted:
                continue
            origin = origin_of(record["headers"])
            entry = {"dlq_partition": partition, "dlq_offset": record["offset"], "key": shown_key(record["key"])}
            if origin is None:
                no_origin.append(dict(entry, reason=NO_ORIGIN))
                continue
            entry.update(
                topic=origin[0],
                partition=origin[1],
                offset=origin[2],
                key_bytes=record["key"],
                value=record["value"],
                headers=record["headers"],
                marker=replay_marker(dlq_topic, partition, record["offset"]),
            )
            candidates.append(entry)
    return candidates, no_origin


def read_later(params, admin, reader, candidates):
    """For each original partition: its records after the oldest candidate there, bounded by max_scan."""
    pairs = sorted(set((candidate["topic"], candidate["partition"]) for candidate in candidates))
    offsets = admin.partition_offsets(pairs)
    later = {}
    for topic, partition in pairs:
        oldest = min(c["offset"] for c in candidates if (c["topic"], c["partition"]) == (topic, partition))
        earliest, latest = offsets[(topic, partition)]["earliest"], offsets[(topic, partition)]["latest"]
        start = max(oldest + 1, earliest)
        if latest - start > params["max_scan"]:
            later[(topic, partition)] = {
                "records": [],
                "readable_from": None,
                "why_unreadable": "%s-%d has %d records after it, more than max_scan (%d): raise max_scan"
                % (topic, partition, latest - start, params["max_scan"]),
            }
            continue
        later[(topic, partition)] = {"records": reader.read(topic, partition, start, latest), "readable_from": earliest}
    return later


def replay_records(module, admin, reader_factory=RecordReader, producer_factory=RecordProducer):
    params = module.params
    dlq_topic = params["dlq_topic"]
    if params["max_scan"] < 1:
        raise KafkaModuleError(
            "max_scan is %d: give how many later records may be read (at least 1)" % params["max_scan"]
        )
    description = admin.describe_topic(dlq_topic)
    if description is None:
        raise KafkaModuleError(
            "dead letter queue %s does not exist: give the connector's errors.deadletterqueue.topic.name "
            "(the connectors role's connectors_sink_dlq_topic)" % dlq_topic
        )
    partitions = sorted(p.id for p in description.partitions)
    spans = admin.partition_offsets([(dlq_topic, p) for p in partitions])
    held = dict((p, (spans[(dlq_topic, p)]["earliest"], spans[(dlq_topic, p)]["latest"])) for p in partitions)
    positions = selected_positions(params["records"], held)
    reader = reader_factory(params)
    try:
        candidates, no_origin = read_candidates(params, reader, positions)
        later = read_later(params, admin, reader, candidates) if candidates else {}
    finally:
        reader.close()
    replay, already, judged_refused = judge(candidates, later, params["force"])
    refused = no_origin + judged_refused
    result = {
        "changed": bool(replay),
        "replayed": [public(entry) for entry in replay],
        "already_replayed": [public(entry) for entry in already],
        "refused": [public(entry) for entry in refused],
    }
    if module._diff:
        result["diff"] = {
            "before": "",
            "after": "".join(
                "replay %s -> %s partition %d (was offset %d, key %s)\n"
                % (entry["marker"], entry["topic"], entry["partition"], entry["offset"], shown_key(entry["key_bytes"]))
                for entry in replay
            ),
        }
    # force replays what judge refused, never a record whose topic is unknown.
    blocking = no_origin + ([] if params["force"] else judged_refused)
    if blocking:
        error = KafkaModuleError(
            "%d of the %d selected records of %s would not be replayed, so none was: %s. Replay the others by naming "
            "them in records; re-read these keys from the source (playbooks/reconcile.yml) instead; or, after checking "
            "their rows, set force: true"
            % (
                len(blocking),
                len(positions),
                dlq_topic,
                "; ".join("%d/%d: %s" % (e["dlq_partition"], e["dlq_offset"], e["reason"]) for e in blocking),
            )
        )
        error.details = dict((key, value) for key, value in result.items() if key != "changed")
        raise error
    if not replay:
        result["msg"] = "nothing to replay from %s (%d already replayed)" % (dlq_topic, len(already))
        return result
    if module.check_mode:
        result["msg"] = "check mode: %d records of %s would be replayed (a check writes nothing)" % (
            len(replay),
            dlq_topic,
        )
        return result
    producer = producer_factory(params)
    done = []
    for entry in sorted(replay, key=lambda e: (e["topic"], e["partition"], e["offset"])):
        try:
            _partition, offset = producer.send(
                entry["topic"],
                entry["key_bytes"],
                entry["value"],
                partition=entry["partition"],
                headers=replay_headers(entry["headers"], entry["marker"]),
            )
        except KafkaModuleError as exc:
            raise KafkaModuleError(
                "%s; replayed before the failure: %s (a run after the fix finds them and does not replay them again)"
                % (exc, ", ".join(e["marker"] for e in done) or "none")
            ) from exc
        entry["replay_offset"] = offset
        done.append(entry)
    result["replayed"] = [public(entry) for entry in done]
    result["msg"] = "%d records of %s replayed into their topics" % (len(done), dlq_topic)
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        dlq_topic=dict(type="str", required=True),
        records=dict(
            type="list",
            elements="dict",
            options=dict(partition=dict(type="int", required=True), offset=dict(type="int", required=True)),
        ),
        force=dict(type="bool", default=False),
        max_scan=dict(type="int", default=200000),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, replay_records)


if __name__ == "__main__":
    main()
