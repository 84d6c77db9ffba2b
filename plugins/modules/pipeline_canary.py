#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pipeline_canary
short_description: Send a canary row into the CDC pipeline
version_added: 0.1.0
description:
  - Upserts the one row of the canary table O(table) whose key is O(id), with a new O(nonce) and the time it was sent.
    Wait for that nonce downstream (the connectors role's C(canary) entry point reads it in PostgreSQL); this module
    only sends.
  - "The canary table, as it would be declared in ScyllaDB, has the columns C(id text PRIMARY KEY), C(nonce text),
    C(sent_at timestamp) and C(origin text). It must never be a table that holds data: its row is overwritten on every
    run."
  - O(origin=topic) produces one change event into the table's change topic C(<topic_prefix>.<keyspace>.<table>), in
    exactly the ScyllaDB CDC source connector's advanced output format (a key struct and a Debezium envelope with the
    full after-image, as Kafka Connect's JsonConverter with schemas writes them), the one the connector would write for
    an INSERT of the row. ScyllaDB and the source connector are not crossed; the sink and everything after it are.
  - The event is produced with C(acks=all), idempotence and the C(murmur2) partitioner, so it lands in the partition
    the connector's Java producer would choose for the key.
  - The topic must exist; the module never creates topics (C(playbooks/deploy_connectors.yml) creates the canary's).
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka
attributes:
  check_mode:
    support: full
    description:
      - Logs in, checks that the topic exists and encodes the event, but sends nothing; RV(sent) is false and RV(msg)
        says so.
  diff_mode:
    support: none
    description: A canary is not configuration; there is nothing to compare.
options:
  table:
    description:
      - The canary table, C(keyspace.table) (letters, digits and underscores), never a table that holds data.
    type: str
    default: cdc_canary.heartbeat
  id:
    description:
      - Key of the canary's one row. Every run upserts the same row, so the table stays one row per O(id).
    type: str
    default: site
  nonce:
    description:
      - The value that marks this run's canary. Default a new random one (32 hexadecimal characters).
    type: str
  origin:
    description:
      - Where the canary enters the pipeline. C(topic) produces the change event into the change topic, in the source
        connector's format.
      - Only C(topic) exists yet; writing the row to ScyllaDB itself over CQL is a later addition.
    type: str
    choices: [topic]
    default: topic
  topic_prefix:
    description:
      - The source connector's C(topic.prefix); the change topic is C(<topic_prefix>.<keyspace>.<table>).
    type: str
    default: cdc
notes:
  - O(request_timeout) also bounds the delivery of the event (C(message.timeout.ms)).
  - Registering the result with C(changed_when=false) keeps a validation run that sends a canary at changed=0.
"""

EXAMPLES = r"""
- name: A canary into cdc.cdc_canary.heartbeat, as the Kafka admin
  cdc.pipeline.pipeline_canary:
    bootstrap_servers: ["kafka-1.example.net:9092", "kafka-2.example.net:9092", "kafka-3.example.net:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    table: cdc_canary.heartbeat
    id: site
  delegate_to: localhost
  register: canary
  # A heartbeat, not a configuration change.
  changed_when: false

- name: Wait until PostgreSQL holds this run's nonce
  community.postgresql.postgresql_query:
    login_unix_socket: /var/run/postgresql
    login_user: postgres
    login_db: cdc
    query: SELECT nonce FROM cdc.cdc_cdc_canary_heartbeat WHERE id = %(id)s
    named_args:
      id: site
  delegate_to: "{{ groups['postgresql_primary'][0] }}"
  register: seen
  until: seen.query_result | default([]) | map(attribute='nonce') | list == [canary.nonce]
  retries: 60
  delay: 2
"""

RETURN = r"""
sent:
  description: Whether the event was sent (false in check mode).
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, or in check mode that nothing was sent.
  returned: always
  type: str
  sample: canary site sent to cdc.cdc_canary.heartbeat partition 2 offset 17
origin:
  description: Where the canary entered the pipeline (O(origin)).
  returned: always
  type: str
  sample: topic
topic:
  description: The change topic of O(table).
  returned: always
  type: str
  sample: cdc.cdc_canary.heartbeat
key:
  description: The row's key, as the record key's payload.
  returned: always
  type: dict
  sample: {"id": "site"}
nonce:
  description: This run's nonce; the row downstream carries it once the canary has arrived.
  returned: always
  type: str
  sample: 3f1c2a9be0d44c7c8a3f6d0e2b9a1c55
sent_at:
  description: When the canary was sent, in epoch milliseconds (the row's C(sent_at), the events' C(ts_ms)).
  returned: always
  type: int
  sample: 1790000000123
row:
  description: The whole row the event carries as its after-image.
  returned: always
  type: dict
  sample: {"id": "site", "nonce": "3f1c2a9be0d44c7c8a3f6d0e2b9a1c55", "sent_at": 1790000000123, "origin": "topic"}
partition:
  description: Partition the event was written to.
  returned: when RV(sent) is true
  type: int
  sample: 2
offset:
  description: Offset of the event in that partition.
  returned: when RV(sent) is true
  type: int
  sample: 17
"""

import time
import uuid

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    KafkaModuleError,
    RecordProducer,
    connection_argument_spec,
    run_module,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.scylla_cdc_event import (
    CdcEventError,
    CdcTable,
    change_event,
)

# The canary table: one row per id; every other column is what the run writes.
CANARY_KEY = [("id", "text")]
CANARY_COLUMNS = [("nonce", "text"), ("sent_at", "timestamp"), ("origin", "text")]
ORIGINS = ["topic"]


def canary_table(name, topic_prefix):
    """The CdcTable of the canary table name (keyspace.table)."""
    parts = (name or "").split(".")
    if len(parts) != 2:
        raise KafkaModuleError("table %r is not keyspace.table (for example cdc_canary.heartbeat)" % name)
    try:
        return CdcTable(parts[0], parts[1], CANARY_KEY, CANARY_COLUMNS, topic_prefix=topic_prefix)
    except CdcEventError as exc:
        raise KafkaModuleError("table %s: %s" % (name, exc)) from exc


def canary_row(row_id, nonce, sent_at, origin):
    """The canary's row: its key, this run's nonce, when it was sent (epoch ms) and how it entered."""
    if not row_id:
        raise KafkaModuleError("id is empty: give the key of the canary row (for example site)")
    if not nonce:
        raise KafkaModuleError("nonce is empty: leave it out for a random one")
    return {"id": row_id, "nonce": nonce, "sent_at": sent_at, "origin": origin}


def new_nonce():
    return uuid.uuid4().hex


def send_to_topic(module, admin, producer_factory=RecordProducer, clock=time.time):
    """origin=topic: one INSERT event of the canary row into the change topic (nothing in check mode)."""
    params = module.params
    table = canary_table(params["table"], params["topic_prefix"])
    if admin.describe_topic(table.topic) is None:
        raise KafkaModuleError(
            "topic %s does not exist: playbooks/deploy_connectors.yml (the connectors stage) creates it with the other "
            "change topics (connectors role, connectors_canary_table); run it first" % table.topic
        )
    sent_at = int(clock() * 1000)
    row = canary_row(params["id"], params["nonce"] or new_nonce(), sent_at, params["origin"])
    try:
        key, value = change_event(table, "c", row, sent_at)
    except CdcEventError as exc:
        raise KafkaModuleError("the canary cannot be encoded: %s" % exc) from exc
    result = {
        "changed": True,
        "sent": False,
        "origin": params["origin"],
        "topic": table.topic,
        "key": table.key_of(row),
        "nonce": row["nonce"],
        "sent_at": sent_at,
        "row": row,
    }
    if module.check_mode:
        result["msg"] = "check mode: the canary was not sent to %s (a check writes nothing)" % table.topic
        return result
    partition, offset = producer_factory(params).send(table.topic, key, value)
    result.update(
        sent=True,
        partition=partition,
        offset=offset,
        msg="canary %s sent to %s partition %d offset %d" % (row["id"], table.topic, partition, offset),
    )
    return result


SENDERS = {"topic": send_to_topic}


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        table=dict(type="str", default="cdc_canary.heartbeat"),
        id=dict(type="str", default="site"),
        nonce=dict(type="str"),
        origin=dict(type="str", choices=ORIGINS, default="topic"),
        topic_prefix=dict(type="str", default="cdc"),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    # Every origin so far goes through Kafka: log in first (run_module probes), then send.
    run_module(module, SENDERS[module.params["origin"]])


if __name__ == "__main__":
    main()
