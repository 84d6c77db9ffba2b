"""Pure logic of the Kafka modules: connection settings, failure wording, topic/ACL/SCRAM plans, health."""
# ruff: noqa: S105, S106 - fake passwords and password-named options are what these tests follow

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.unit


# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.

from ansible_collections.cdc.pipeline.plugins.module_utils import kafka as ku  # noqa: E402

kafka_topic, kafka_acl, kafka_scram_user, kafka_cluster_info = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("kafka_topic", "kafka_acl", "kafka_scram_user", "kafka_cluster_info")
)

SERVERS = ["10.0.0.21:9092", "10.0.0.22:9092"]


def params(**overrides) -> dict:
    base = {
        "bootstrap_servers": list(SERVERS),
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "admin",
        "sasl_password": "admin-secret",
        "ca_cert": None,
        "client_cert": None,
        "client_key": None,
        "verify_hostname": True,
        "request_timeout": 30,
    }
    base.update(overrides)
    return base


# -- connection settings -------------------------------------------------------------------------


def test_argument_spec_matches_the_documented_names():
    spec = ku.connection_argument_spec()
    assert sorted(spec) == [
        "bootstrap_servers",
        "ca_cert",
        "client_cert",
        "client_key",
        "request_timeout",
        "sasl_mechanism",
        "sasl_password",
        "sasl_username",
        "security_protocol",
        "verify_hostname",
    ]
    assert spec["sasl_password"]["no_log"] is True
    assert spec["security_protocol"]["default"] == "SASL_SSL"
    assert spec["sasl_mechanism"]["default"] == "SCRAM-SHA-512"
    assert spec["bootstrap_servers"]["required"] is True


def test_sasl_ssl_config(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    config = ku.build_client_config(params(ca_cert=str(ca), request_timeout=12))
    assert config["bootstrap.servers"] == "10.0.0.21:9092,10.0.0.22:9092"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("admin", "admin-secret")
    assert config["ssl.ca.location"] == str(ca)
    assert config["ssl.endpoint.identification.algorithm"] == "https"
    assert config["socket.timeout.ms"] == 12000
    assert "ssl.certificate.location" not in config


def test_verify_hostname_false_and_mtls(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("C")
    key.write_text("K")
    config = ku.build_client_config(
        params(security_protocol="SSL", verify_hostname=False, client_cert=str(cert), client_key=str(key))
    )
    assert config["ssl.endpoint.identification.algorithm"] == "none"
    assert (config["ssl.certificate.location"], config["ssl.key.location"]) == (str(cert), str(key))
    assert not any(key.startswith("sasl.") for key in config)


def test_plaintext_has_neither_tls_nor_sasl():
    config = ku.build_client_config(params(security_protocol="PLAINTEXT", sasl_username=None, sasl_password=None))
    assert not any(key.startswith(("ssl.", "sasl.")) for key in config)


def test_probe_credentials_replace_the_admin_ones():
    config = ku.build_client_config(params(sasl_mechanism="SCRAM-SHA-256"), username="connect", password="pw")
    assert (config["sasl.username"], config["sasl.password"], config["sasl.mechanism"]) == (
        "connect",
        "pw",
        "SCRAM-SHA-256",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bootstrap_servers": []}, "bootstrap_servers is empty"),
        ({"bootstrap_servers": ["  "]}, "bootstrap_servers is empty"),
        ({"bootstrap_servers": ["kafka-1"]}, "'kafka-1' is not host:port"),
        ({"bootstrap_servers": ["kafka-1:99999"]}, "is not host:port"),
        ({"bootstrap_servers": ["http://kafka-1:9092"]}, "is not host:port"),
        ({"sasl_password": None}, "set sasl_username and sasl_password"),
        ({"sasl_username": ""}, "set sasl_username and sasl_password"),
        ({"ca_cert": "/nonexistent/ca.pem"}, "ca_cert /nonexistent/ca.pem does not exist"),
        ({"client_cert": "/x.pem"}, "client_cert and client_key go together"),
        ({"request_timeout": 0}, "request_timeout must be at least 1"),
    ],
)
def test_invalid_connection_settings_are_refused(overrides, message):
    with pytest.raises(ku.KafkaModuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ku.validate_connection_params(params(**overrides))


def test_accepted_server_forms():
    servers = ["kafka-1.example.org:9092", "10.0.0.21:9093", "[fd00::21]:9092", "localhost:1"]
    assert ku.validate_connection_params(params(bootstrap_servers=servers)) == servers


def test_missing_files_are_not_checked_without_tls():
    ku.validate_connection_params(
        params(security_protocol="SASL_PLAINTEXT", ca_cert="/nonexistent/ca.pem", client_cert="/x.pem")
    )


def test_warnings():
    assert ku.connection_warnings(params()) == []
    plain = ku.connection_warnings(params(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN"))
    assert any("clear text" in warning for warning in plain)
    assert any(
        "sasl_username/sasl_password are ignored" in w for w in ku.connection_warnings(params(security_protocol="SSL"))
    )
    assert any("verify_hostname=false" in w for w in ku.connection_warnings(params(verify_hostname=False)))
    assert any(
        "ca_cert/client_cert/client_key are ignored" in w
        for w in ku.connection_warnings(params(security_protocol="SASL_PLAINTEXT", ca_cert="/ca.pem"))
    )


def test_missing_library_names_the_pip_package(monkeypatch):
    failures = []

    class Module:
        def fail_json(self, **kwargs):
            failures.append(kwargs)
            raise SystemExit(1)

    monkeypatch.setattr(ku, "HAS_KAFKA", False)
    with pytest.raises(SystemExit):
        ku.require_kafka(Module())
    assert "confluent-kafka" in failures[0]["msg"]


# -- failure classification ----------------------------------------------------------------------
# Texts as librdkafka 2.16 reports them (error_cb name, message).

AUTH_ERROR = (
    "_AUTHENTICATION",
    "sasl_ssl://127.0.0.1:52335/bootstrap: SASL authentication error: Authentication failed during authentication "
    "due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 324ms in state AUTH_REQ)",
)
TLS_ERROR = (
    "_SSL",
    "sasl_ssl://127.0.0.1:52335/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify "
    "failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root "
    "CA certificates are installed (install ca-certificates package) (after 9ms in state SSL_HANDSHAKE)",
)
REFUSED = (
    "_TRANSPORT",
    "sasl_ssl://127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state "
    "CONNECT)",
)
ALL_DOWN = ("_ALL_BROKERS_DOWN", "1/1 brokers are down")
PROTOCOL_LOG = (
    "LOG",
    "FAIL [rdkafka#producer-7] [thrd:sasl_plaintext://127.0.0.1:52335/bootstrap]: "
    "sasl_plaintext://127.0.0.1:52335/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN "
    "(after 2ms in state APIVERSION_QUERY)",
)


@pytest.mark.parametrize(
    ("events", "kind", "detail"),
    [
        ([AUTH_ERROR, ALL_DOWN], ku.AUTH, "SASL authentication error"),
        ([TLS_ERROR, ALL_DOWN], ku.TLS, "certificate verify failed"),
        ([REFUSED, ALL_DOWN], ku.UNREACHABLE, "Connection refused"),
        ([ALL_DOWN], ku.UNREACHABLE, "1/1 brokers are down"),
        ([ALL_DOWN, PROTOCOL_LOG], ku.UNREACHABLE, "APIVERSION_QUERY"),
        ([ALL_DOWN, PROTOCOL_LOG, PROTOCOL_LOG], ku.PROTOCOL, "APIVERSION_QUERY"),
        ([REFUSED, AUTH_ERROR], ku.AUTH, "invalid credentials"),
        (
            [("_AUTHENTICATION", "SASL authentication error: Unsupported SASL mechanism: SCRAM-SHA-256")],
            ku.UNSUPPORTED_MECHANISM,
            "Unsupported",
        ),
        ([], None, ""),
        ([("LOG", "some debug line")], None, ""),
    ],
)
def test_classify_client_errors(events, kind, detail):
    found_kind, found_detail = ku.classify_client_errors(events)
    assert found_kind == kind
    assert detail in found_detail
    assert not found_detail.startswith("sasl_ssl://"), "the broker prefix is noise"


def test_failure_messages_name_the_fix():
    p = params()
    auth = ku.failure_message(ku.AUTH, "invalid credentials", p)
    assert "login of user 'admin'" in auth
    assert "sasl_username and sasl_password" in auth
    assert "10.0.0.21:9092, 10.0.0.22:9092" in auth
    tls = ku.failure_message(ku.TLS, "certificate verify failed", p)
    assert "ca_cert" in tls
    assert "verify_hostname" in tls
    assert "subjectAltName" in tls
    unreachable = ku.failure_message(ku.UNREACHABLE, "Connection refused", p)
    assert "bootstrap_servers" in unreachable
    assert "firewall" in unreachable
    protocol = ku.failure_message(ku.PROTOCOL, "", p)
    assert "set security_protocol" in protocol
    assert "sasl_mechanism" in ku.failure_message(ku.UNSUPPORTED_MECHANISM, "", p)
    assert all("admin-secret" not in text for text in (auth, tls, unreachable, protocol))


def test_operation_errors():
    p = params()
    denied = ku.describe_operation_error("TOPIC_AUTHORIZATION_FAILED", "denied", "create topic x", p)
    assert "may not create topic x" in denied
    assert "super.users" in denied
    assert "kafka_acl" in denied
    assert "bootstrap_servers" in ku.describe_operation_error("_TIMED_OUT", "", "describe topic x", p)
    refused = ku.describe_operation_error("INVALID_CONFIG", "Unknown topic config name: retention.msx", "alter", p)
    assert "retention.msx" in refused


def test_kafka_error_parts():
    class FakeError:
        def name(self):
            return "UNKNOWN_TOPIC_OR_PART"

        def str(self):
            return "Broker: Unknown topic or partition"

    assert ku.kafka_error_parts(Exception(FakeError())) == (
        "UNKNOWN_TOPIC_OR_PART",
        "Broker: Unknown topic or partition",
    )
    assert ku.kafka_error_parts(ValueError("boom")) == ("ValueError", "boom")


# -- topics --------------------------------------------------------------------------------------


def entry(value, source="DYNAMIC_TOPIC_CONFIG", sensitive=False):
    return {"value": value, "source": source, "is_default": source == "DEFAULT_CONFIG", "is_sensitive": sensitive}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (604800000, "604800000"),
        ("604800000", "604800000"),
        (True, "true"),
        (False, "false"),
        (["compact", "delete"], "compact,delete"),
        (0.5, "0.5"),
        (" delete ", "delete"),
        (None, None),
    ],
)
def test_config_value_string(value, text):
    assert kafka_topic.config_value_string(value) == text


def test_topic_config_changes_compare_strings_and_only_managed_keys():
    current = {
        "retention.ms": entry("604800000", "DEFAULT_CONFIG"),
        "cleanup.policy": entry("compact,delete"),
        "min.insync.replicas": entry("2", "STATIC_BROKER_CONFIG"),
        "segment.bytes": entry("1073741824"),
        "unclean.leader.election.enable": entry("false", "DEFAULT_CONFIG"),
    }
    wanted = {
        "retention.ms": 604800000,
        "cleanup.policy": ["compact", "delete"],
        "min.insync.replicas": 3,
        "unclean.leader.election.enable": False,
        "max.message.bytes": 2097152,
    }
    to_set, to_delete = kafka_topic.topic_config_changes(wanted, current)
    assert to_set == {"min.insync.replicas": "3", "max.message.bytes": "2097152"}
    assert to_delete == []


def test_null_removes_only_a_topic_override():
    current = {"retention.ms": entry("1000"), "segment.ms": entry("604800000", "DEFAULT_CONFIG")}
    to_set, to_delete = kafka_topic.topic_config_changes(
        {"retention.ms": None, "segment.ms": None, "absent.key": None}, current
    )
    assert (to_set, to_delete) == ({}, ["retention.ms"])


def test_sensitive_values_are_always_written():
    to_set, to_delete = kafka_topic.topic_config_changes(
        {"secret.thing": "x"}, {"secret.thing": entry(None, sensitive=True)}
    )
    assert (to_set, to_delete) == ({"secret.thing": "x"}, [])


def test_topic_overrides():
    current = {"a": entry("1"), "b": entry("2", "DEFAULT_CONFIG"), "c": entry("3", "STATIC_BROKER_CONFIG")}
    assert kafka_topic.topic_overrides(current) == {"a": "1"}


def test_partition_change():
    assert kafka_topic.partition_change("t", 3, None) is None
    assert kafka_topic.partition_change("t", 3, 3) is None
    assert kafka_topic.partition_change("t", 3, 6) == 6
    with pytest.raises(ku.KafkaModuleError) as refused:
        kafka_topic.partition_change("t", 6, 3)
    message = str(refused.value)
    assert "topic t has 6 partitions and partitions is 3" in message
    assert "cannot remove partitions" in message
    assert "Keep partitions: 6" in message


def test_replication_factor_refusal_names_the_reassignment():
    assert kafka_topic.replication_factor_refusal("t", [3], None) is None
    assert kafka_topic.replication_factor_refusal("t", [3], 3) is None
    message = kafka_topic.replication_factor_refusal("t", [1], 3)
    assert "replication factor 1 and replication_factor is 3" in message
    assert "kafka-reassign-partitions.sh" in message
    assert "confluent-kafka AdminClient cannot" in message
    assert "replication factor 2/3" in kafka_topic.replication_factor_refusal("t", [2, 3], 3)


def test_replication_factors():
    partitions = [{"replicas": [1, 2, 3]}, {"replicas": [2, 3, 1]}, {"replicas": [1, 2]}]
    assert ku.replication_factors(partitions) == [2, 3]


@pytest.mark.parametrize(
    ("name", "partitions", "factor", "message"),
    [
        ("", None, None, "is not valid"),
        ("a b", None, None, "is not valid"),
        ("..", None, None, "is not valid"),
        ("x" * 250, None, None, "is not valid"),
        ("ok", 0, None, "partitions must be between 1 and 2147483647"),
        ("ok", 2**31, None, "partitions must be between 1 and 2147483647"),
        ("ok", None, 0, "replication_factor must be between 1 and 32767"),
        ("ok", None, 40000, "replication_factor must be between 1 and 32767"),
    ],
)
def test_invalid_topic_args(name, partitions, factor, message):
    with pytest.raises(ku.KafkaModuleError, match=message):
        kafka_topic.validate_topic_args(name, partitions, factor)


def test_partition_dicts_sort_and_map_node_ids():
    def node(i):
        return SimpleNamespace(id=i)

    description = SimpleNamespace(
        partitions=[
            SimpleNamespace(id=1, leader=None, replicas=[node(2), node(1)], isr=[node(1)]),
            SimpleNamespace(id=0, leader=node(1), replicas=[node(1), node(2)], isr=[node(1), node(2)]),
        ]
    )
    assert kafka_topic.partition_dicts(description) == [
        {"partition": 0, "leader": 1, "replicas": [1, 2], "isr": [1, 2]},
        {"partition": 1, "leader": -1, "replicas": [2, 1], "isr": [1]},
    ]


# -- ACLs ----------------------------------------------------------------------------------------


def acl(**overrides):
    base = {"principal": "User:connect", "resource_type": "topic", "resource_name": "cdc.events", "operation": "read"}
    base.update(overrides)
    return base


def test_normalize_acl_defaults_and_forms():
    assert kafka_acl.normalize_acl(acl(principal="connect")) == {
        "principal": "User:connect",
        "resource_type": "topic",
        "resource_name": "cdc.events",
        "pattern_type": "literal",
        "operation": "read",
        "permission": "allow",
        "host": "*",
    }
    normalized = kafka_acl.normalize_acl(
        acl(resource_type="cluster", resource_name=None, operation="IDEMPOTENT-WRITE", permission="DENY")
    )
    assert (normalized["resource_name"], normalized["operation"], normalized["permission"]) == (
        "kafka-cluster",
        "idempotent_write",
        "deny",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"principal": ""}, "empty principal"),
        ({"principal": "User:"}, "is not Type:name"),
        ({"resource_type": "broker"}, "resource_type 'broker' is not one of"),
        ({"resource_name": None}, "needs resource_name"),
        ({"resource_type": "cluster", "resource_name": "other"}, "always kafka-cluster"),
        ({"pattern_type": "match"}, "pattern_type 'match' is not one of"),
        ({"resource_name": "*", "pattern_type": "prefixed"}, "literal wildcard"),
        ({"operation": "any"}, "operation 'any' is not one of"),
    ],
)
def test_invalid_acls(overrides, message):
    with pytest.raises(ku.KafkaModuleError, match=message):
        kafka_acl.normalize_acl(acl(**overrides))


def test_plan_present_adds_only_missing():
    read, write = kafka_acl.normalize_acl(acl()), kafka_acl.normalize_acl(acl(operation="write"))
    to_add, to_remove = kafka_acl.plan_acls([read, write, read], [read])
    assert (to_add, to_remove) == ([write], [])
    assert kafka_acl.plan_acls([read, write], [read, write]) == ([], [])


def test_plan_exclusive_removes_drift_of_listed_principals_only():
    read = kafka_acl.normalize_acl(acl())
    drift = kafka_acl.normalize_acl(acl(operation="delete"))
    other = kafka_acl.normalize_acl(acl(principal="User:other", operation="write"))
    to_add, to_remove = kafka_acl.plan_acls([read], [read, drift, other], exclusive_principals=["connect"])
    assert (to_add, to_remove) == ([], [drift])
    # a listed principal with no wanted ACL loses all of its ACLs
    assert kafka_acl.plan_acls([], [read, drift, other], exclusive_principals=["User:other"]) == ([], [other])


def test_plan_absent_removes_existing_wanted_only():
    read, write = kafka_acl.normalize_acl(acl()), kafka_acl.normalize_acl(acl(operation="write"))
    assert kafka_acl.plan_acls([read, write], [read], state="absent") == ([], [read])
    assert kafka_acl.plan_acls([write], [read], state="absent") == ([], [])


def test_acl_text():
    line = kafka_acl.acl_text(kafka_acl.normalize_acl(acl(pattern_type="prefixed", resource_name="cdc.")))
    assert line == "User:connect ALLOW READ topic:cdc. (prefixed) from *"


def test_acl_binding_round_trip():
    pytest.importorskip("confluent_kafka")
    for wanted in (
        kafka_acl.normalize_acl(acl()),
        kafka_acl.normalize_acl(acl(resource_type="cluster", resource_name=None, operation="describe_configs")),
        kafka_acl.normalize_acl(
            acl(resource_type="group", resource_name="g-", pattern_type="prefixed", permission="deny")
        ),
        kafka_acl.normalize_acl(acl(resource_type="transactional_id", resource_name="tx", host="10.0.0.5")),
    ):
        assert ku.acl_from_binding(ku.acl_binding(wanted)) == wanted
        assert ku.acl_binding(wanted, as_filter=True).principal == wanted["principal"]


# -- SCRAM ---------------------------------------------------------------------------------------

MECH = "SCRAM-SHA-512"


def never_asked():
    raise AssertionError("the login probe must not run here")


@pytest.mark.parametrize(
    ("credentials", "state", "update", "matches", "action"),
    [
        ({}, "present", "on_mismatch", never_asked, "create"),
        ({"SCRAM-SHA-256": 8192}, "present", "on_mismatch", never_asked, "create"),
        ({MECH: 8192}, "present", "on_mismatch", lambda: True, None),
        ({MECH: 8192}, "present", "on_mismatch", lambda: False, "update"),
        ({MECH: 4096}, "present", "on_mismatch", never_asked, "update"),
        ({MECH: 8192}, "present", "always", never_asked, "update"),
        ({MECH: 8192}, "present", "on_create", never_asked, None),
        ({MECH: 4096}, "present", "on_create", never_asked, None),
        ({}, "present", "on_create", never_asked, "create"),
        ({MECH: 8192}, "absent", "on_mismatch", never_asked, "delete"),
        ({"SCRAM-SHA-256": 8192}, "absent", "on_mismatch", never_asked, None),
    ],
)
def test_scram_plan(credentials, state, update, matches, action):
    assert kafka_scram_user.scram_plan(credentials, MECH, 8192, state, update, matches)[0] == action


@pytest.mark.parametrize(
    ("iterations", "password", "state", "message"),
    [
        (1024, "pw", "present", "iterations 1024 is too low"),
        (4095, "pw", "present", "too low"),
        (20000, "pw", "present", "at most 16384"),
        (8192, "", "present", "password is required"),
    ],
)
def test_invalid_scram_args(iterations, password, state, message):
    with pytest.raises(ku.KafkaModuleError, match=message):
        kafka_scram_user.validate_scram_args("connect", password, MECH, iterations, state)


def test_valid_scram_args():
    kafka_scram_user.validate_scram_args("connect", "pw", MECH, 4096, "present")
    kafka_scram_user.validate_scram_args("connect", None, MECH, 8192, "absent")


def test_scram_mechanism_names():
    pytest.importorskip("confluent_kafka")
    for name in kafka_scram_user.SCRAM_MECHANISMS:
        assert ku.scram_mechanism_name(ku.scram_mechanism(name)) == name


# -- health --------------------------------------------------------------------------------------


def test_partition_health():
    topics = {
        "b": [
            {"partition": 1, "leader": 2, "replicas": [2, 3, 1], "isr": [2]},
            {"partition": 0, "leader": 1, "replicas": [1, 2, 3], "isr": [1, 2, 3]},
        ],
        "a": [{"partition": 0, "leader": -1, "replicas": [3], "isr": []}],
    }
    summary = kafka_cluster_info.partition_health(topics, {"a": 1, "b": 2}, [1, 2, 3, 4])
    assert summary["under_replicated"] == [
        {"topic": "a", "partition": 0, "replicas": [3], "isr": []},
        {"topic": "b", "partition": 1, "replicas": [2, 3, 1], "isr": [2]},
    ]
    assert summary["under_min_isr"] == [
        {"topic": "a", "partition": 0, "isr": [], "min_insync_replicas": 1},
        {"topic": "b", "partition": 1, "isr": [2], "min_insync_replicas": 2},
    ]
    assert summary["offline"] == [{"topic": "a", "partition": 0, "replicas": [3]}]
    assert summary["not_in_isr"] == {"1": ["b-1"], "2": [], "3": ["a-0", "b-1"], "4": []}
    assert summary["healthy"] is False


def test_healthy_cluster():
    topics = {"t": [{"partition": 0, "leader": 1, "replicas": [1, 2], "isr": [2, 1]}]}
    summary = kafka_cluster_info.partition_health(topics, {"t": None}, [1, 2])
    assert summary == {
        "under_replicated": [],
        "under_min_isr": [],
        "offline": [],
        "not_in_isr": {"1": [], "2": []},
        "healthy": True,
    }
