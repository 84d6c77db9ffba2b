#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_topic
short_description: Create, configure, grow and delete a Kafka topic
version_added: 0.1.0
description:
  - Creates the topic when it is missing, changes the keys of O(config) whose value differs (incremental
    alter, so settings not listed are left alone), and adds partitions up to O(partitions).
  - Config values are compared as strings with what the brokers describe. Booleans are written C(true)/C(false),
    numbers as digits and lists comma-separated (O(config) C(cleanup.policy=[compact, delete]) matches
    C(compact,delete)).
    A key set to C(null) removes the topic's own value, so the broker default applies again.
  - Refuses, before changing anything, what Kafka cannot do in place. Fewer partitions cannot be had
    (messages would be lost and keys would move), and a different replication factor needs a partition
    reassignment, which the C(confluent-kafka) AdminClient cannot make. The message names the fix
    (C(kafka-reassign-partitions.sh)).
  - Every change is first sent with C(validate_only), so the brokers check it (replication factor against the
    number of brokers, config names and values, ACLs) before anything is applied; check mode sends only that.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka
attributes:
  check_mode:
    support: full
    description:
      - The brokers validate the creation, config change or partition increase (C(validate_only)); nothing is applied.
  diff_mode:
    support: full
    description: Partitions, replication factor and the managed config keys before and after.
options:
  name:
    description:
      - Topic name (up to 249 characters from C([A-Za-z0-9._-])).
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the topic, C(absent) deletes it (and every message in it).
    type: str
    choices: [present, absent]
    default: present
  partitions:
    description:
      - Number of partitions. A new topic gets the broker default (C(num.partitions)) when this is not given;
        an existing one grows to it. A lower number than the topic has is refused, as is one outside 1 to
        2147483647 (checked before connecting).
      - A growth that fails after a config change of the same task puts the topic's previous settings back.
    type: int
  replication_factor:
    description:
      - Replicas per partition. A new topic gets the broker default (C(default.replication.factor)) when this is
        not given. For an existing topic a different value is refused with the reassignment to run instead.
      - Refused before connecting outside 1 to 32767 (the protocol's int16), and before any write when it is more
        than the brokers of the cluster.
    type: int
  config:
    description:
      - Topic settings, for example C(retention.ms), C(cleanup.policy), C(min.insync.replicas). Only these keys
        are managed; C(null) removes the topic's own value.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Change events topic of the CDC source
  cdc.pipeline.kafka_topic:
    bootstrap_servers: ["10.0.0.21:9092", "10.0.0.22:9092", "10.0.0.23:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    name: cdc.events
    partitions: 12
    replication_factor: 3
    config:
      min.insync.replicas: 2
      retention.ms: 604800000
      cleanup.policy: delete
  delegate_to: localhost

- name: Compacted topic for Connect offsets, connection set once for the block
  module_defaults:
    group/cdc.pipeline.kafka:
      bootstrap_servers: "{{ kafka_bootstrap_servers }}"
      sasl_username: admin
      sasl_password: "{{ kafka_admin_password }}"
      ca_cert: /etc/cdc/pki/root-ca.pem
  block:
    - name: Offsets topic
      cdc.pipeline.kafka_topic:
        name: connect-offsets
        partitions: 25
        replication_factor: 3
        config:
          cleanup.policy: compact
          retention.ms: null   # back to the broker default
      delegate_to: localhost

- name: Remove a test topic
  cdc.pipeline.kafka_topic:
    bootstrap_servers: ["10.0.0.21:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    name: scratch
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
topic:
  description: The topic name.
  returned: always
  type: str
  sample: cdc.events
existed:
  description: Whether the topic existed before the task.
  returned: always
  type: bool
  sample: true
partitions:
  description: Number of partitions after the task (predicted in check mode).
  returned: when O(state=present)
  type: int
  sample: 12
replication_factor:
  description: Replicas per partition after the task (the highest, should partitions differ).
  returned: when O(state=present)
  type: int
  sample: 3
config:
  description:
    - The topic's own settings after the task (not those inherited from the brokers), including every key of O(config)
      that is not C(null).
  returned: when O(state=present)
  type: dict
  sample: {"min.insync.replicas": "2", "retention.ms": "604800000"}
changed_keys:
  description:
    - What changed. The O(config) keys set or removed, plus C(partitions) when partitions were added; on
      creation every key of O(config) plus C(partitions) and C(replication_factor).
  returned: always
  type: list
  elements: str
  sample: [partitions, retention.ms]
"""

import re

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    KafkaModuleError,
    connection_argument_spec,
    node_id,
    replication_factors,
    run_module,
)

DYNAMIC_TOPIC_SOURCE = "DYNAMIC_TOPIC_CONFIG"


def config_value_string(value):
    """A wanted config value as Kafka describes it: true/false, numbers as digits, lists comma-joined."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(config_value_string(item) for item in value)
    return str(value).strip()


def topic_config_changes(wanted, current):
    """Compare the managed keys of a topic's config.

    wanted: {key: value or None}; None removes the topic's override (back to the broker default).
    current: {key: {"value": str, "source": str, ...}} as read with describe_configs.
    Returns (to_set {key: str}, to_delete [key]): only keys whose value differs.
    """
    to_set, to_delete = {}, []
    for key in sorted(wanted):
        value = config_value_string(wanted[key])
        entry = current.get(key)
        if value is None:
            if entry is not None and entry.get("source") == DYNAMIC_TOPIC_SOURCE:
                to_delete.append(key)
            continue
        if entry is None or entry.get("is_sensitive") or entry.get("value") != value:
            to_set[key] = value
    return to_set, to_delete


def topic_overrides(current):
    """The topic's own settings (not inherited from the broker)."""
    return dict(
        (key, entry.get("value"))
        for key, entry in sorted(current.items())
        if entry.get("source") == DYNAMIC_TOPIC_SOURCE
    )


def partition_change(name, current, wanted):
    """The partition count to grow to, or None; refuses a decrease with the reason."""
    if wanted is None or wanted == current:
        return None
    if wanted < current:
        raise KafkaModuleError(
            "topic %s has %d partitions and partitions is %d: Kafka cannot remove partitions (their messages would "
            "be lost and keys would move to other partitions). Keep partitions: %d, or create a new topic with %d "
            "partitions and move the producers and consumers to it" % (name, current, wanted, current, wanted)
        )
    return wanted


def replication_factor_refusal(name, current_factors, wanted):
    """None when the replication factor matches; otherwise the refusal naming the fix."""
    if wanted is None or current_factors == [wanted]:
        return None
    current = "/".join(str(factor) for factor in current_factors)
    return (
        "topic %s has replication factor %s and replication_factor is %d: changing it moves replicas between "
        "brokers (a partition reassignment), which the confluent-kafka AdminClient cannot do. Run "
        "kafka-reassign-partitions.sh --bootstrap-server <broker> --command-config <admin client properties> "
        "--reassignment-json-file <plan with %d replicas per partition> --execute, wait for --verify to report "
        "it complete, then run this task again" % (name, current, wanted, wanted)
    )


MAX_PARTITIONS = 2**31 - 1
MAX_REPLICATION_FACTOR = 2**15 - 1


def validate_topic_args(name, partitions, replication_factor):
    if not name or len(name) > 249 or not re.match(r"^[A-Za-z0-9._-]+$", name) or name in (".", ".."):
        raise KafkaModuleError(
            "topic name %r is not valid: use up to 249 characters from [A-Za-z0-9._-] (not . or ..)" % name
        )
    # The protocol carries partitions as int32 and the replication factor as int16: larger numbers
    # cannot even be sent (the client raised an OverflowError on them).
    if partitions is not None and not 1 <= partitions <= MAX_PARTITIONS:
        raise KafkaModuleError("partitions must be between 1 and %d (got %d)" % (MAX_PARTITIONS, partitions))
    if replication_factor is not None and not 1 <= replication_factor <= MAX_REPLICATION_FACTOR:
        raise KafkaModuleError(
            "replication_factor must be between 1 and %d, and no more than the brokers (got %d)"
            % (MAX_REPLICATION_FACTOR, replication_factor)
        )


def partition_dicts(description):
    """[{partition, leader, replicas, isr}] (broker ids) from a TopicDescription."""
    partitions = []
    for info in sorted(description.partitions, key=lambda p: p.id):
        partitions.append(
            {
                "partition": int(info.id),
                "leader": node_id(info.leader),
                "replicas": [node_id(node) for node in info.replicas],
                "isr": [node_id(node) for node in info.isr],
            }
        )
    return partitions


def broker_defaults(admin):
    """num.partitions and default.replication.factor of a broker (a new topic without both gets these)."""
    cluster = admin.cluster
    broker = cluster.controller if cluster.controller is not None else cluster.nodes[0]
    configs = admin.broker_configs(broker.id)

    def number(key, fallback):
        try:
            return int(configs[key]["value"])
        except (KeyError, TypeError, ValueError):
            return fallback

    return number("num.partitions", 1), number("default.replication.factor", 1)


def create(module, admin, result):
    params = module.params
    name = params["name"]
    partitions, replication_factor = params["partitions"], params["replication_factor"]
    if partitions is None or replication_factor is None:
        default_partitions, default_factor = broker_defaults(admin)
        partitions = default_partitions if partitions is None else partitions
        replication_factor = default_factor if replication_factor is None else replication_factor
    brokers = len(getattr(admin.cluster, "nodes", None) or [])
    if params["replication_factor"] is not None and brokers and replication_factor > brokers:
        raise KafkaModuleError(
            "replication_factor %d is more than the %d broker(s) of the cluster: each replica needs its own broker; "
            "give at most %d, or add brokers first" % (replication_factor, brokers, brokers)
        )
    config = dict(
        (key, config_value_string(value)) for key, value in (params["config"] or {}).items() if value is not None
    )
    admin.create_topic(name, partitions, replication_factor, config, validate_only=True)
    if not module.check_mode:
        admin.create_topic(name, partitions, replication_factor, config)
    after = {"name": name, "partitions": partitions, "replication_factor": replication_factor, "config": config}
    result.update(
        changed=True,
        partitions=partitions,
        replication_factor=replication_factor,
        config=dict(sorted(config.items())),
        changed_keys=sorted(config) + ["partitions", "replication_factor"],
        diff={"before": {}, "after": after},
    )
    return result


def update(module, admin, result, description):
    params = module.params
    name = params["name"]
    partitions = partition_dicts(description)
    factors = replication_factors(partitions)
    refusal = replication_factor_refusal(name, factors, params["replication_factor"])
    if refusal:
        raise KafkaModuleError(refusal)
    grow_to = partition_change(name, len(partitions), params["partitions"])
    wanted = params["config"] or {}
    current = admin.topic_configs([name])[name]
    to_set, to_delete = topic_config_changes(wanted, current)

    # Validate everything with the brokers first, so a refused part leaves nothing half done.
    if to_set or to_delete:
        admin.alter_topic_configs(name, to_set, to_delete, validate_only=True)
    if grow_to:
        admin.add_partitions(name, grow_to, validate_only=True)
    if not module.check_mode:
        undo = config_undo(current, to_set, to_delete)  # taken before the change
        if to_set or to_delete:
            admin.alter_topic_configs(name, to_set, to_delete)
        if grow_to:
            grow_or_roll_back(admin, name, grow_to, undo, sorted(set(to_set) | set(to_delete)))

    overrides = topic_overrides(current)
    overrides.update(to_set)
    for key in to_delete:
        overrides.pop(key, None)
    changed_keys = sorted(list(to_set) + to_delete) + (["partitions"] if grow_to else [])
    result.update(
        changed=bool(changed_keys),
        partitions=grow_to or len(partitions),
        replication_factor=max(factors) if factors else 0,
        config=overrides,
        changed_keys=changed_keys,
    )
    if changed_keys:
        managed = sorted(wanted)
        result["diff"] = {
            "before": {
                "name": name,
                "partitions": len(partitions),
                "replication_factor": result["replication_factor"],
                "config": dict((key, (current.get(key) or {}).get("value")) for key in managed),
            },
            "after": {
                "name": name,
                "partitions": result["partitions"],
                "replication_factor": result["replication_factor"],
                "config": dict(
                    (key, None if key in to_delete else to_set.get(key, (current.get(key) or {}).get("value")))
                    for key in managed
                ),
            },
        }
    return result


def config_undo(current, to_set, to_delete):
    """The (to_set, to_delete) that put the topic's own settings back as current has them."""
    undo_set, undo_delete = {}, []
    for key in sorted(set(to_set) | set(to_delete)):
        entry = current.get(key) or {}
        if entry.get("source") == DYNAMIC_TOPIC_SOURCE and entry.get("value") is not None:
            undo_set[key] = entry["value"]
        else:
            undo_delete.append(key)
    return undo_set, undo_delete


def grow_or_roll_back(admin, name, grow_to, undo, changed_keys):
    """Add partitions; when that fails after a config change, put the topic's previous settings back (undo)."""
    try:
        admin.add_partitions(name, grow_to)
    except KafkaModuleError as exc:
        if not changed_keys:
            raise
        try:
            admin.alter_topic_configs(name, undo[0], undo[1])
        except KafkaModuleError as undo_exc:
            raise KafkaModuleError(
                "topic %s: growing to %d partitions failed (%s), after its config was changed (%s); putting the "
                "previous config back failed too (%s): set it by hand or run the task again"
                % (name, grow_to, exc, ", ".join(changed_keys), undo_exc)
            ) from exc
        raise KafkaModuleError(
            "topic %s: growing to %d partitions failed (%s); the config change made before it was put back, so the "
            "topic is as it was. Run the task again once the brokers are healthy" % (name, grow_to, exc)
        ) from exc


def run(module, admin):
    params = module.params
    name = params["name"]
    validate_topic_args(name, params["partitions"], params["replication_factor"])
    description = admin.describe_topic(name)
    result = {"changed": False, "topic": name, "existed": description is not None, "changed_keys": []}

    if params["state"] == "absent":
        if description is not None:
            partitions = partition_dicts(description)
            result.update(
                changed=True,
                diff={
                    "before": {"name": name, "partitions": len(partitions)},
                    "after": {},
                },
            )
            if not module.check_mode:
                admin.delete_topic(name)
        return result

    if description is None:
        return create(module, admin, result)
    return update(module, admin, result, description)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        partitions=dict(type="int"),
        replication_factor=dict(type="int"),
        config=dict(type="dict", default={}),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
