"""Decision logic of the Kafka modules with a fake admin client: what is read, validated, written and refused."""
# ruff: noqa: S105, S106 - fake passwords and password-named options are what these tests follow

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from ansible_collections.cdc.pipeline.plugins.module_utils import secret_keys as sk

# test_kafka_utils puts the collection on sys.path, so the modules import after it.
from test_kafka_utils import ku, params

kafka_topic, kafka_acl, kafka_scram_user, kafka_cluster_info = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("kafka_topic", "kafka_acl", "kafka_scram_user", "kafka_cluster_info")
)

pytestmark = pytest.mark.unit


def node(broker_id, host="10.0.0.21", port=9092):
    return SimpleNamespace(id=broker_id, host=host, port=port, rack=None)


def description(partitions, replicas=(1,)):
    return SimpleNamespace(
        partitions=[
            SimpleNamespace(
                id=i, leader=node(replicas[0]), replicas=[node(r) for r in replicas], isr=[node(replicas[0])]
            )
            for i in range(partitions)
        ]
    )


def entry(value, source="DEFAULT_CONFIG"):
    return {"value": value, "source": source, "is_default": source == "DEFAULT_CONFIG", "is_sensitive": False}


class FakeAdmin:
    """Answers reads from dicts; records every call that would change (or validate) something."""

    def __init__(self, topics=None, configs=None, acls=None, scram=None):
        self.topics = topics or {}
        self.configs = configs or {}
        self.acls = acls or []
        self.scram = scram or {}
        self.calls = []
        self.cluster = SimpleNamespace(controller=node(1), nodes=[node(2, port=9093), node(1)], cluster_id="cid")

    def describe_topic(self, name):
        return self.topics.get(name)

    def topic_configs(self, names):
        return {name: self.configs.get(name, {}) for name in names}

    def broker_configs(self, broker_id):
        self.calls.append(("broker_configs", broker_id))
        return {"num.partitions": entry("6"), "default.replication.factor": entry("3")}

    def create_topic(self, name, partitions, replication_factor, config, validate_only=False):
        self.calls.append(("create_topic", name, partitions, replication_factor, config, validate_only))

    def delete_topic(self, name):
        self.calls.append(("delete_topic", name))

    def add_partitions(self, name, total, validate_only=False):
        self.calls.append(("add_partitions", name, total, validate_only))

    def alter_topic_configs(self, name, to_set, to_delete, validate_only=False):
        self.calls.append(("alter_topic_configs", name, to_set, to_delete, validate_only))

    def describe_acls_of(self, principals):
        self.calls.append(("describe_acls_of", tuple(principals)))
        return [acl for acl in self.acls if acl["principal"] in principals]

    def create_acls(self, acls):
        self.calls.append(("create_acls", [kafka_acl.acl_text(a) for a in acls]))

    def delete_acls(self, acls):
        self.calls.append(("delete_acls", [kafka_acl.acl_text(a) for a in acls]))

    def scram_credentials(self, user):
        return dict(self.scram.get(user, {}))

    def upsert_scram(self, user, mechanism, iterations, password):
        self.calls.append(("upsert_scram", user, mechanism, iterations, password))

    def delete_scram(self, user, mechanism):
        self.calls.append(("delete_scram", user, mechanism))

    def list_topics(self):
        def partition(i, leader, replicas, isrs):
            return SimpleNamespace(id=i, leader=leader, replicas=replicas, isrs=isrs)

        topics = {
            "cdc.events": SimpleNamespace(
                error=None, partitions={1: partition(1, 2, [2, 1], [2]), 0: partition(0, 1, [1, 2], [1, 2])}
            ),
            "hidden": SimpleNamespace(error="TOPIC_AUTHORIZATION_FAILED", partitions={}),
            "__consumer_offsets": SimpleNamespace(error=None, partitions={0: partition(0, -1, [1], [])}),
        }
        return SimpleNamespace(topics=topics)

    def changes(self):
        return [call for call in self.calls if call[0] not in ("describe_acls_of", "broker_configs")]


class Module:
    def __init__(self, check_mode=False, **module_params):
        self.params = module_params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


# -- kafka_topic ---------------------------------------------------------------------------------


def topic_module(check_mode=False, **overrides):
    values = params(name="cdc.events", state="present", partitions=None, replication_factor=None, config={})
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


@pytest.mark.parametrize("check_mode", [True, False])
def test_create_validates_first_and_applies_only_outside_check_mode(check_mode):
    admin = FakeAdmin()
    module = topic_module(check_mode, partitions=3, replication_factor=1, config={"retention.ms": 1000, "x": None})
    result = kafka_topic.run(module, admin)
    expected = [("create_topic", "cdc.events", 3, 1, {"retention.ms": "1000"}, True)]
    if not check_mode:
        expected.append(("create_topic", "cdc.events", 3, 1, {"retention.ms": "1000"}, False))
    assert admin.changes() == expected
    assert result["changed"] is True
    assert (result["partitions"], result["replication_factor"], result["config"]) == (3, 1, {"retention.ms": "1000"})
    assert result["changed_keys"] == ["retention.ms", "partitions", "replication_factor"]
    assert result["diff"]["before"] == {}


def test_create_without_sizes_uses_the_broker_defaults():
    admin = FakeAdmin()
    result = kafka_topic.run(topic_module(True), admin)
    assert ("broker_configs", 1) in admin.calls
    assert (result["partitions"], result["replication_factor"]) == (6, 3)


def test_existing_topic_in_state_is_unchanged():
    admin = FakeAdmin(
        topics={"cdc.events": description(3, replicas=(1, 2, 3))},
        configs={"cdc.events": {"retention.ms": entry("1000", "DYNAMIC_TOPIC_CONFIG"), "x": entry("y")}},
    )
    result = kafka_topic.run(topic_module(partitions=3, replication_factor=3, config={"retention.ms": 1000}), admin)
    assert admin.changes() == []
    assert result == {
        "changed": False,
        "topic": "cdc.events",
        "existed": True,
        "changed_keys": [],
        "partitions": 3,
        "replication_factor": 3,
        "config": {"retention.ms": "1000"},
    }


@pytest.mark.parametrize("check_mode", [True, False])
def test_config_change_and_growth(check_mode):
    admin = FakeAdmin(
        topics={"cdc.events": description(2)},
        configs={
            "cdc.events": {
                "retention.ms": entry("1000", "DYNAMIC_TOPIC_CONFIG"),
                "segment.ms": entry("5", "DYNAMIC_TOPIC_CONFIG"),
                "cleanup.policy": entry("delete"),
            }
        },
    )
    module = topic_module(check_mode, partitions=4, config={"retention.ms": 2000, "segment.ms": None})
    result = kafka_topic.run(module, admin)
    validate = [
        ("alter_topic_configs", "cdc.events", {"retention.ms": "2000"}, ["segment.ms"], True),
        ("add_partitions", "cdc.events", 4, True),
    ]
    apply = [
        ("alter_topic_configs", "cdc.events", {"retention.ms": "2000"}, ["segment.ms"], False),
        ("add_partitions", "cdc.events", 4, False),
    ]
    assert admin.changes() == validate + ([] if check_mode else apply)
    assert result["changed_keys"] == ["retention.ms", "segment.ms", "partitions"]
    assert result["config"] == {"retention.ms": "2000"}
    assert result["diff"]["before"]["config"] == {"retention.ms": "1000", "segment.ms": "5"}
    assert result["diff"]["after"]["config"] == {"retention.ms": "2000", "segment.ms": None}
    assert (result["diff"]["before"]["partitions"], result["diff"]["after"]["partitions"]) == (2, 4)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"partitions": 1}, "cannot remove partitions"),
        ({"replication_factor": 3}, "kafka-reassign-partitions"),
    ],
)
def test_refusals_change_nothing(overrides, message):
    admin = FakeAdmin(topics={"cdc.events": description(2)}, configs={"cdc.events": {}})
    with pytest.raises(ku.KafkaModuleError, match=message):
        kafka_topic.run(topic_module(config={"retention.ms": 1}, **overrides), admin)
    assert admin.changes() == []


@pytest.mark.parametrize(("exists", "changed"), [(True, True), (False, False)])
def test_absent(exists, changed):
    admin = FakeAdmin(topics={"cdc.events": description(2)} if exists else {})
    result = kafka_topic.run(topic_module(state="absent"), admin)
    assert result["changed"] is changed
    assert admin.changes() == ([("delete_topic", "cdc.events")] if exists else [])
    check_admin = FakeAdmin(topics={"cdc.events": description(2)} if exists else {})
    assert kafka_topic.run(topic_module(True, state="absent"), check_admin)["changed"] is changed
    assert check_admin.changes() == []


# -- kafka_acl -----------------------------------------------------------------------------------


def acl(principal="User:connect", operation="read", **extra):
    return {"principal": principal, "resource_type": "topic", "resource_name": "t", "operation": operation, **extra}


def acl_module(check_mode=False, **overrides):
    values = params(acls=[], state="present", exclusive_principals=[])
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


@pytest.mark.parametrize("check_mode", [True, False])
def test_acl_exclusive_plan(check_mode):
    current = [
        kafka_acl.normalize_acl(acl()),
        kafka_acl.normalize_acl(acl(operation="delete")),
        kafka_acl.normalize_acl(acl("User:other", "write")),
    ]
    admin = FakeAdmin(acls=current)
    module = acl_module(check_mode, acls=[acl(), acl(operation="write")], exclusive_principals=["connect"])
    result = kafka_acl.run(module, admin)
    assert ("describe_acls_of", ("User:connect",)) in admin.calls, "only the principals concerned are read"
    assert [a["operation"] for a in result["acls_added"]] == ["write"]
    assert [a["operation"] for a in result["acls_removed"]] == ["delete"]
    assert sorted(a["operation"] for a in result["acls"]) == ["read", "write"]
    assert "User:connect ALLOW DELETE topic:t (literal) from *" in result["diff"]["before"]
    expected = [
        ("create_acls", ["User:connect ALLOW WRITE topic:t (literal) from *"]),
        ("delete_acls", ["User:connect ALLOW DELETE topic:t (literal) from *"]),
    ]
    assert admin.changes() == ([] if check_mode else expected)


def test_acl_idempotent_and_absent():
    current = [kafka_acl.normalize_acl(acl())]
    admin = FakeAdmin(acls=current)
    assert kafka_acl.run(acl_module(acls=[acl()]), admin)["changed"] is False
    assert admin.changes() == []
    result = kafka_acl.run(acl_module(acls=[acl(), acl(operation="write")], state="absent"), admin)
    assert [a["operation"] for a in result["acls_removed"]] == ["read"]


def test_acl_exclusive_with_absent_is_refused():
    admin = FakeAdmin()
    with pytest.raises(ku.KafkaModuleError, match="exclusive_principals only works with state=present"):
        kafka_acl.run(acl_module(state="absent", exclusive_principals=["User:x"]), admin)
    assert admin.calls == []


def test_no_acls_and_no_principals_reads_nothing():
    admin = FakeAdmin()
    assert kafka_acl.run(acl_module(), admin)["changed"] is False
    assert admin.calls == []


# -- kafka_scram_user ----------------------------------------------------------------------------

PASSWORD = "connect-password-123"


def scram_module(check_mode=False, **overrides):
    values = params(
        name="connect",
        password=PASSWORD,
        mechanism="SCRAM-SHA-512",
        iterations=8192,
        state="present",
        update_password="on_mismatch",
    )
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


@pytest.fixture
def probe(monkeypatch):
    """Replace the login probe: answers[0] is what the next login says; records each login."""
    state = SimpleNamespace(answers=[True], logins=0)

    def login_works(module_params):
        state.logins += 1
        assert module_params["password"] == PASSWORD
        return state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]

    monkeypatch.setattr(kafka_scram_user, "login_works", login_works)
    return state


def test_scram_matching_password_is_unchanged(probe):
    admin = FakeAdmin(scram={"connect": {"SCRAM-SHA-512": 8192}})
    result = kafka_scram_user.run(scram_module(), admin)
    assert (result["changed"], result["reason"], probe.logins) == (False, "the password logs in", 1)
    assert admin.changes() == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_scram_mismatch_is_rewritten(probe, check_mode):
    probe.answers = [False, True]  # refused before, accepted after the write
    admin = FakeAdmin(scram={"connect": {"SCRAM-SHA-512": 8192}})
    module = scram_module(check_mode)
    result = kafka_scram_user.run(module, admin)
    assert (result["changed"], result["password_changed"], result["existed"]) == (True, True, True)
    assert result["diff"]["before"]["password"] == sk.MASK
    assert PASSWORD not in repr(result)
    assert admin.changes() == ([] if check_mode else [("upsert_scram", "connect", "SCRAM-SHA-512", 8192, PASSWORD)])
    assert probe.logins == (1 if check_mode else 2), "after the write the new password is tested once more"
    assert module.warnings == []


def test_scram_create_never_probes_before(probe):
    probe.answers = [True]
    admin = FakeAdmin()
    result = kafka_scram_user.run(scram_module(), admin)
    assert (result["changed"], result["existed"], result["mechanisms"]) == (True, False, {"SCRAM-SHA-512": 8192})
    assert probe.logins == 1, "only the check after the write"
    assert result["diff"]["before"] == {"name": "connect", "mechanisms": {}}


def test_scram_on_create_and_always_do_not_probe(probe):
    admin = FakeAdmin(scram={"connect": {"SCRAM-SHA-512": 8192}})
    assert kafka_scram_user.run(scram_module(update_password="on_create"), admin)["changed"] is False
    assert kafka_scram_user.run(scram_module(update_password="always"), admin)["changed"] is True
    assert probe.logins == 0


def test_scram_absent_keeps_other_mechanisms(probe):
    admin = FakeAdmin(scram={"connect": {"SCRAM-SHA-512": 8192, "SCRAM-SHA-256": 4096}})
    result = kafka_scram_user.run(scram_module(state="absent", password=None), admin)
    assert admin.changes() == [("delete_scram", "connect", "SCRAM-SHA-512")]
    assert result["mechanisms"] == {"SCRAM-SHA-256": 4096}
    assert "password" not in result["diff"]["after"]


def test_scram_probe_needs_a_sasl_listener():
    module = scram_module(security_protocol="SSL")
    with pytest.raises(ku.KafkaModuleError, match="needs a SASL listener"):
        kafka_scram_user.login_works(module.params)


# -- kafka_cluster_info --------------------------------------------------------------------------


def info_params(**values):
    """kafka_cluster_info's parameters: the connection's, its options' defaults, then values."""
    return params(**{"configs": [], "broker_configs": [], "offsets": False, **values})


def test_cluster_info():
    admin = FakeAdmin(
        configs={
            "cdc.events": {"min.insync.replicas": entry("2", "DYNAMIC_TOPIC_CONFIG")},
            "__consumer_offsets": {"min.insync.replicas": entry("1")},
        }
    )
    result = kafka_cluster_info.run(Module(True, **info_params(topics=[])), admin)
    assert result["brokers"] == [
        {"id": 1, "host": "10.0.0.21", "port": 9092, "rack": None},
        {"id": 2, "host": "10.0.0.21", "port": 9093, "rack": None},
    ]
    assert (result["cluster_id"], result["controller_id"]) == ("cid", 1)
    assert sorted(result["topics"]) == ["__consumer_offsets", "cdc.events"], "unauthorized topics are left out"
    events = result["topics"]["cdc.events"]
    assert (events["partition_count"], events["replication_factor"], events["min_insync_replicas"]) == (2, 2, 2)
    assert events["partitions"][0] == {"partition": 0, "leader": 1, "replicas": [1, 2], "isr": [1, 2]}
    summary = result["summary"]
    assert [(p["topic"], p["partition"]) for p in summary["under_replicated"]] == [
        ("__consumer_offsets", 0),
        ("cdc.events", 1),
    ]
    assert [(p["topic"], p["partition"]) for p in summary["under_min_isr"]] == [
        ("__consumer_offsets", 0),
        ("cdc.events", 1),
    ]
    assert [(p["topic"], p["partition"]) for p in summary["offline"]] == [("__consumer_offsets", 0)]
    assert summary["not_in_isr"] == {"1": ["__consumer_offsets-0", "cdc.events-1"], "2": []}
    assert summary["healthy"] is False
    for key in ("under_replicated", "under_min_isr", "offline", "not_in_isr", "healthy"):
        assert result[key] == summary[key], "the top-level copy health gates use"
    assert admin.changes() == []


def test_cluster_info_restricted_to_topics():
    admin = FakeAdmin()
    result = kafka_cluster_info.run(Module(**info_params(topics=["cdc.events", "hidden", "nope"])), admin)
    assert sorted(result["topics"]) == ["cdc.events"]
    assert result["missing_topics"] == ["hidden", "nope"]
