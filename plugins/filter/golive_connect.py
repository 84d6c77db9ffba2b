# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live probes of the connectors' configs, judged from cdc.pipeline.kafka_connector_info (the
configs as the workers hold them, secrets masked): connector_config and no_literal_secrets.
Unit-tested in tests/unit/test_golive_connect_filters.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The collection's one rule of what a secret is: kafka_connector_info shows a secret key's literal value as MASK,
# a ${provider:...} reference as is.
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import MASK, is_reference, literal_secrets

SINK_CLASS = "JdbcSinkConnector"
SOURCE_CLASS = "ScyllaConnector"


def _result(passed, command, found, at):
    return {"passed": bool(passed), "command": command, "result": found, "at": at}


def _command(info):
    return "GET %s/connectors?expand=info" % ((info or {}).get("worker") or {}).get("url", "")


def _number(config, key):
    try:
        return int(config.get(key))
    except (TypeError, ValueError):
        return None


def _sink_offences(config, expect):
    low, high = [int(value) for value in expect["sink_batch_size"]]
    offences = []
    batch = _number(config, "batch.size")
    if batch is None or not low <= batch <= high:
        offences.append("batch.size %s, expected %d-%d" % (config.get("batch.size"), low, high))
    if config.get("errors.tolerance") != "all" or not config.get("errors.deadletterqueue.topic.name"):
        offences.append("errors.tolerance %s without a dead letter queue" % config.get("errors.tolerance"))
    if (_number(config, "flush.max.retries") or 0) < 1 or (_number(config, "errors.retry.timeout") or 0) <= 0:
        offences.append(
            "no retries (flush.max.retries %s, errors.retry.timeout %s)"
            % (config.get("flush.max.retries"), config.get("errors.retry.timeout"))
        )
    # At-least-once delivery is made effectively once by idempotent writes: an upsert on the record's key.
    if config.get("insert.mode") != "upsert" or config.get("primary.key.mode") != "record_key":
        offences.append(
            "insert.mode %s, primary.key.mode %s: a redelivered record is not written idempotently"
            % (config.get("insert.mode"), config.get("primary.key.mode"))
        )
    return offences


def _source_offences(config, expect):
    heartbeat = _number(config, "heartbeat.interval.ms")
    if heartbeat is None or not 0 < heartbeat <= int(expect["source_heartbeat_max_ms"]):
        return [
            "heartbeat.interval.ms %s, expected at most %s (offsets of idle tables must move)"
            % (config.get("heartbeat.interval.ms"), expect["source_heartbeat_max_ms"])
        ]
    return []


def golive_connector_config_result(info, expect, at):
    """connector_config: every sink batches within expect.sink_batch_size, tolerates errors into a dead
    letter queue, retries, and writes idempotently (upsert on the record key); every ScyllaDB source
    sends heartbeats at least every expect.source_heartbeat_max_ms. Other connectors are named, not judged."""
    connectors = (info or {}).get("connectors") or []
    found, passed, judged = [], bool(connectors), 0
    for connector in connectors:
        config = connector.get("config") or {}
        kind = config.get("connector.class", "")
        if kind.endswith(SINK_CLASS):
            offences = _sink_offences(config, expect)
        elif kind.endswith(SOURCE_CLASS):
            offences = _source_offences(config, expect)
        else:
            found.append("%s: %s, not judged" % (connector.get("name"), kind))
            continue
        judged += 1
        passed = passed and not offences
        found.append("%s: %s" % (connector.get("name"), "; ".join(offences) or "as required"))
    if not judged:
        passed = False
        found.append("no sink or ScyllaDB source connector to judge")
    return _result(passed, _command(info), found, at)


def golive_literal_secrets_result(info, at):
    """no_literal_secrets: no connector config holds a secret's value itself; each secret key holds a
    ${provider:...} reference the worker resolves (kafka_connector_info masks a literal as ********)."""
    connectors = (info or {}).get("connectors") or []
    found, passed = [], bool(connectors)
    for connector in connectors:
        config = connector.get("config") or {}
        # A secret key holding its value (unmasked by a worker that did not know the key), or any key masked.
        literal = sorted(
            set(key for key, _value in literal_secrets(config))
            | set(key for key, value in config.items() if value == MASK)
        )
        references = sorted(key for key, value in config.items() if is_reference(value))
        passed = passed and not literal
        if literal:
            found.append("%s: a literal value in %s" % (connector.get("name"), ", ".join(literal)))
        else:
            found.append("%s: references only (%s)" % (connector.get("name"), ", ".join(references) or "no secret key"))
    if not connectors:
        found.append("the Connect cluster has no connector")
    return _result(passed, _command(info), found, at)


class FilterModule(object):
    def filters(self):
        return {
            "golive_connector_config_result": golive_connector_config_result,
            "golive_literal_secrets_result": golive_literal_secrets_result,
        }
