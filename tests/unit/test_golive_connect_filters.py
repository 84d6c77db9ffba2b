"""The go-live probes of the connectors' configs (plugins/filter/golive_connect.py), from
kafka_connector_info answers shaped as the module returns them (secrets masked)."""

from __future__ import annotations

import pytest

from plugins.filter.golive_connect import golive_connector_config_result, golive_literal_secrets_result

pytestmark = pytest.mark.unit

AT = "2027-01-15T09:30:00Z"
EXPECT = {"sink_batch_size": [1000, 5000], "source_heartbeat_max_ms": 30000}


def info():
    return {
        "worker": {"url": "https://10.0.0.31:8083"},
        "connectors": [
            {
                "name": "postgres-sink",
                "config": {
                    "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
                    "batch.size": "2000",
                    "errors.tolerance": "all",
                    "errors.deadletterqueue.topic.name": "cdc.dlq.postgres-sink",
                    "flush.max.retries": "10",
                    "errors.retry.timeout": "300000",
                    "insert.mode": "upsert",
                    "primary.key.mode": "record_key",
                    "connection.password": "${directory:/run/cdc-secrets/connect:sink-password}",
                },
            },
            {
                "name": "scylla-source",
                "config": {
                    "connector.class": "com.scylladb.cdc.debezium.connector.ScyllaConnector",
                    "heartbeat.interval.ms": "30000",
                    "scylla.password": "${directory:/run/cdc-secrets/connect:scylla-password}",
                },
            },
        ],
    }


def test_the_deployed_configs_pass():
    result = golive_connector_config_result(info(), EXPECT, AT)
    assert result["passed"], result["result"]
    assert result["result"] == ["postgres-sink: as required", "scylla-source: as required"]
    assert result["command"] == "GET https://10.0.0.31:8083/connectors?expand=info"


@pytest.mark.parametrize(
    ("connector", "key", "value", "named"),
    [
        (0, "batch.size", "100", "batch.size 100, expected 1000-5000"),
        (0, "errors.tolerance", "none", "without a dead letter queue"),
        (0, "flush.max.retries", "0", "no retries"),
        (0, "insert.mode", "insert", "not written idempotently"),
        (1, "heartbeat.interval.ms", "60000", "heartbeat.interval.ms 60000"),
        (1, "heartbeat.interval.ms", None, "heartbeat.interval.ms None"),
    ],
)
def test_each_drift_fails_naming_the_connector_and_setting(connector, key, value, named):
    answer = info()
    config = answer["connectors"][connector]["config"]
    if value is None:
        del config[key]
    else:
        config[key] = value
    result = golive_connector_config_result(answer, EXPECT, AT)
    assert not result["passed"]
    assert named in result["result"][connector]


def test_no_judgeable_connector_is_not_a_pass():
    answer = {"connectors": [{"name": "other", "config": {"connector.class": "org.example.Other"}}]}
    result = golive_connector_config_result(answer, EXPECT, AT)
    assert not result["passed"]
    assert result["result"] == ["other: org.example.Other, not judged", "no sink or ScyllaDB source connector to judge"]
    assert not golive_connector_config_result({}, EXPECT, AT)["passed"]


def test_references_pass_and_a_masked_literal_fails():
    result = golive_literal_secrets_result(info(), AT)
    assert result["passed"], result["result"]
    assert result["result"][0] == "postgres-sink: references only (connection.password)"
    answer = info()
    answer["connectors"][1]["config"]["scylla.ssl.truststore.password"] = "********"
    failed = golive_literal_secrets_result(answer, AT)
    assert not failed["passed"]
    assert failed["result"][1] == "scylla-source: a literal value in scylla.ssl.truststore.password"
    assert not golive_literal_secrets_result({"connectors": []}, AT)["passed"]


def test_an_unmasked_literal_under_a_secret_key_fails_by_the_collections_rule():
    # secret_keys' rule (the one kafka_connector_info masks by) judges the keys, not the mask alone.
    answer = info()
    answer["connectors"][0]["config"]["connection.password"] = "written-into-the-config"
    failed = golive_literal_secrets_result(answer, AT)
    assert not failed["passed"]
    assert failed["result"][0] == "postgres-sink: a literal value in connection.password"
    answer["connectors"][0]["config"]["connection.password"] = "${directory:/run/cdc-secrets/connect:sink-password}"
    assert golive_literal_secrets_result(answer, AT)["passed"]
