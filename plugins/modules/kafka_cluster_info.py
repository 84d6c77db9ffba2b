#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_cluster_info
short_description: Report a Kafka cluster's brokers, controller and partition health
version_added: 0.1.0
description:
  - Reads the cluster id, the active controller, the brokers, and for every topic (or those of O(topics)) each
    partition's leader, replicas and in-sync replicas, plus the topic's effective C(min.insync.replicas).
  - Summarises what needs attention. RV(summary.under_replicated) lists partitions with fewer in-sync replicas than
    replicas, RV(summary.under_min_isr) those with fewer than C(min.insync.replicas) (producers with C(acks=all) are
    refused there), RV(summary.offline) those without a leader, and RV(summary.not_in_isr) the partitions each
    broker replicates but has fallen out of sync on.
  - Usable as a health gate before and after a rolling restart (assert on RV(summary.healthy)).
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka
attributes:
  check_mode:
    support: full
    description: An info module; it never changes anything.
  diff_mode:
    support: none
    description: An info module has nothing to compare.
options:
  topics:
    description:
      - Report only these topics (default all, internal ones such as C(__consumer_offsets) included).
        Names that do not exist are listed in RV(missing_topics).
    type: list
    elements: str
    default: []
  configs:
    description:
      - Topic settings to return for each topic in RV(topics[].configs), by name, for example C(retention.ms) or
        C(cleanup.policy). Each is the value in force, set on the topic or inherited from the broker.
    type: list
    elements: str
    default: []
  broker_configs:
    description:
      - Broker settings to return for each broker in RV(brokers[].configs), by name, for example
        C(auto.create.topics.enable). Each is the value in force on that broker.
    type: list
    elements: str
    default: []
  offsets:
    description:
      - Also read each partition's earliest and latest offset (RV(topics[].partitions)) and the records each
        topic holds (RV(topics[].records)), for example to see whether a dead letter queue is empty.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the cluster state
  cdc.pipeline.kafka_cluster_info:
    bootstrap_servers: ["10.0.0.21:9092", "10.0.0.22:9092", "10.0.0.23:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
  delegate_to: localhost
  register: kafka_state

- name: Three brokers, every partition fully replicated
  ansible.builtin.assert:
    that:
      - kafka_state.brokers | length == 3
      - kafka_state.summary.healthy
    fail_msg: "under-replicated: {{ kafka_state.summary.under_replicated }}, offline: {{ kafka_state.summary.offline }}"

- name: Retention and cleanup policy of every topic, auto-creation on every broker, what each topic holds
  cdc.pipeline.kafka_cluster_info:
    bootstrap_servers: ["10.0.0.21:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    configs: [retention.ms, cleanup.policy]
    broker_configs: [auto.create.topics.enable]
    offsets: true
  delegate_to: localhost
  register: kafka_settings
"""

RETURN = r"""
cluster_id:
  description: The cluster id.
  returned: always
  type: str
  sample: JHYjhRJQTami6ssupa9PMg
controller_id:
  description: Broker id the cluster reports as controller (-1 when none).
  returned: always
  type: int
  sample: 1
brokers:
  description: The brokers, sorted by id.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Broker id (C(node.id)).
      type: int
    host:
      description: Advertised host.
      type: str
    port:
      description: Advertised port of the listener the module connected to.
      type: int
    rack:
      description: C(broker.rack), or null.
      type: str
    configs:
      description: The settings of O(broker_configs) in force on this broker (name to value; null when unset).
      type: dict
topics:
  description: Per topic name, its partitions and settings.
  returned: always
  type: dict
  contains:
    partitions:
      description:
        - One entry per partition with C(partition), C(leader) (-1 without one), C(replicas) and C(isr) (broker ids);
          with O(offsets), also C(earliest_offset) and C(latest_offset).
      type: list
      elements: dict
    partition_count:
      description: Number of partitions.
      type: int
    replication_factor:
      description: Replicas per partition (the highest, should partitions differ).
      type: int
    min_insync_replicas:
      description: Effective C(min.insync.replicas) of the topic (null if it could not be read).
      type: int
    configs:
      description: The settings of O(configs) in force on the topic (name to value; null when unknown).
      type: dict
    records:
      description:
        - With O(offsets), the records the topic holds (latest minus earliest offset, summed over its partitions;
          transaction markers count as records).
      type: int
  sample:
    cdc.events:
      partition_count: 1
      replication_factor: 3
      min_insync_replicas: 2
      partitions: [{partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3]}]
missing_topics:
  description: Names from O(topics) that the cluster does not have (or does not let the user see).
  returned: always
  type: list
  elements: str
summary:
  description: What needs attention.
  returned: always
  type: dict
  contains:
    under_replicated:
      description:
        - Partitions whose ISR is smaller than their replica list (C(topic), C(partition), C(replicas), C(isr)).
      type: list
      elements: dict
    under_min_isr:
      description:
        - Partitions with fewer in-sync replicas than C(min.insync.replicas)
          (C(topic), C(partition), C(isr), C(min_insync_replicas)).
      type: list
      elements: dict
    offline:
      description: Partitions without a leader (C(topic), C(partition), C(replicas)).
      type: list
      elements: dict
    not_in_isr:
      description: Per broker id (as a string), the C(<topic>-<partition>) it replicates but is not in sync on.
      type: dict
    healthy:
      description: True when nothing is under-replicated, under min ISR or offline.
      type: bool
under_replicated:
  description: Same as RV(summary.under_replicated), at the top level for short C(until) conditions.
  returned: always
  type: list
  elements: dict
under_min_isr:
  description: Same as RV(summary.under_min_isr).
  returned: always
  type: list
  elements: dict
offline:
  description: Same as RV(summary.offline).
  returned: always
  type: list
  elements: dict
not_in_isr:
  description: Same as RV(summary.not_in_isr).
  returned: always
  type: dict
healthy:
  description: Same as RV(summary.healthy).
  returned: always
  type: bool
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    connection_argument_spec,
    node_id,
    replication_factors,
    run_module,
)


def partition_health(topics, min_isr, brokers=()):
    """Summary of partition health.

    topics: {topic: [{"partition", "leader", "replicas", "isr"}]}; min_isr: {topic: int}.
    Returns {under_replicated, under_min_isr, offline: [{topic, partition, ...}], not_in_isr:
    {broker id (str): ["topic-partition"]}} sorted by topic and partition.
    """
    summary = {"under_replicated": [], "under_min_isr": [], "offline": [], "not_in_isr": {}}
    for broker in brokers:
        summary["not_in_isr"][str(broker)] = []
    for topic in sorted(topics):
        minimum = min_isr.get(topic)
        for partition in sorted(topics[topic], key=lambda p: p["partition"]):
            where = {"topic": topic, "partition": partition["partition"]}
            replicas, isr = partition["replicas"], partition["isr"]
            if len(isr) < len(replicas):
                summary["under_replicated"].append(dict(where, replicas=replicas, isr=isr))
            if minimum is not None and len(isr) < minimum:
                summary["under_min_isr"].append(dict(where, isr=isr, min_insync_replicas=minimum))
            if partition["leader"] is None or partition["leader"] < 0:
                summary["offline"].append(dict(where, replicas=replicas))
            for broker in replicas:
                if broker not in isr:
                    summary["not_in_isr"].setdefault(str(broker), []).append("%s-%d" % (topic, partition["partition"]))
    summary["healthy"] = not (summary["under_replicated"] or summary["under_min_isr"] or summary["offline"])
    return summary


def metadata_partitions(topic_metadata):
    return [
        {
            "partition": int(partition.id),
            "leader": int(partition.leader),
            "replicas": [int(broker) for broker in partition.replicas],
            "isr": [int(broker) for broker in partition.isrs],
        }
        for partition in sorted(topic_metadata.partitions.values(), key=lambda p: p.id)
    ]


def min_isr_of(config):
    try:
        return int(config["min.insync.replicas"]["value"])
    except (KeyError, TypeError, ValueError):
        return None


def chosen_values(config, names):
    """{name: value} of the settings named, from a describe_configs answer (null where absent)."""
    return dict((name, (config.get(name) or {}).get("value")) for name in names)


def add_offsets(partitions, offsets):
    """Adds earliest_offset and latest_offset to each partition entry, from partition_offsets()."""
    for topic, entries in partitions.items():
        for entry in entries:
            found = offsets.get((topic, entry["partition"]), {})
            entry["earliest_offset"] = found.get("earliest", 0)
            entry["latest_offset"] = found.get("latest", 0)


def run(module, admin):
    cluster = admin.cluster
    brokers = sorted(
        (
            {"id": int(node.id), "host": node.host, "port": int(node.port), "rack": getattr(node, "rack", None)}
            for node in cluster.nodes
        ),
        key=lambda broker: broker["id"],
    )
    metadata = admin.list_topics()
    requested = module.params["topics"] or []
    visible = dict((name, topic) for name, topic in metadata.topics.items() if topic.error is None)
    names = sorted(name for name in visible if not requested or name in requested)
    missing = sorted(set(name for name in requested if name not in visible))

    for broker in brokers:
        if module.params["broker_configs"]:
            broker["configs"] = chosen_values(admin.broker_configs(broker["id"]), module.params["broker_configs"])

    partitions = dict((name, metadata_partitions(visible[name])) for name in names)
    configs = admin.topic_configs(names)
    min_isr = dict((name, min_isr_of(configs.get(name, {}))) for name in names)
    if module.params["offsets"]:
        pairs = [(name, entry["partition"]) for name in names for entry in partitions[name]]
        add_offsets(partitions, admin.partition_offsets(pairs))
    topics = {}
    for name in names:
        factors = replication_factors(partitions[name])
        topics[name] = {
            "partitions": partitions[name],
            "partition_count": len(partitions[name]),
            "replication_factor": max(factors) if factors else 0,
            "min_insync_replicas": min_isr[name],
        }
        if module.params["configs"]:
            topics[name]["configs"] = chosen_values(configs.get(name, {}), module.params["configs"])
        if module.params["offsets"]:
            topics[name]["records"] = sum(p["latest_offset"] - p["earliest_offset"] for p in partitions[name])
    summary = partition_health(partitions, min_isr, [broker["id"] for broker in brokers])
    result = {
        "changed": False,
        "cluster_id": cluster.cluster_id or "",
        "controller_id": node_id(cluster.controller),
        "brokers": brokers,
        "topics": topics,
        "missing_topics": missing,
        "summary": summary,
    }
    # The same lists at the top level, for short `until:` conditions in health gates.
    result.update(summary)
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        topics=dict(type="list", elements="str", default=[]),
        configs=dict(type="list", elements="str", default=[]),
        broker_configs=dict(type="list", elements="str", default=[]),
        offsets=dict(type="bool", default=False),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
