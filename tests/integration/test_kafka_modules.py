"""The Kafka admin modules against a real secured KRaft node (SASL_SSL, SCRAM-SHA-512, ACLs) on loopback.

Every module runs through ansible-playbook, as in production, so check mode, diff mode and
idempotence are Ansible's own. What the modules did is then checked with a separate
confluent-kafka client (as admin, or as the users the tests create), never with the modules
themselves. One broker serves the whole file (kafka_secure_server.py); each test uses its own
topics and users, so the tests also run one at a time.
"""
# ruff: noqa: S105, S106 - fake passwords are what these tests follow

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.kafka_secure_server import (
    ADMIN_USER,
    CLIENT_TIMEOUT_S,
    SecureKafka,
    random_password,
    started_secure_kafka,
    wait_for,
)
from tests.tools.playbook_runner import PlayResult, run_playbook

pytestmark = pytest.mark.integration


@dataclass
class Env:
    kafka: SecureKafka
    workdir: Path

    def conn(self, user: str = ADMIN_USER, password: str | None = None, **overrides) -> dict:
        args = {
            "bootstrap_servers": [self.kafka.bootstrap],
            "sasl_username": user,
            "sasl_password": self.kafka.admin_password if password is None else password,
            "ca_cert": str(self.kafka.tls.ca_cert),
            "request_timeout": 15,
        }
        args.update(overrides)
        return args


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[Env]:
    """One secured broker for the whole file, and where the plays are written."""
    with started_secure_kafka(tmp_path_factory.mktemp("kafka-secure")) as kafka:
        yield Env(kafka=kafka, workdir=tmp_path_factory.mktemp("kafka-play"))


# -- running plays ---------------------------------------------------------------------------------


def task(name: str, module: str, args: dict, **extra) -> dict:
    return {"name": name, f"cdc.pipeline.{module}": args, **extra}


def run(ansible_home, env: Env, *tasks: dict, check: bool = False, diff: bool = False) -> PlayResult:
    return run_playbook(
        ansible_home,
        env.workdir,
        [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}],
        check=check,
        extra_args=["--diff"] if diff else None,
    )


def results(result: PlayResult) -> dict[str, dict]:
    return {
        entry["task"]["name"]: entry["hosts"]["localhost"]
        for p in result.report["plays"]
        for entry in p["tasks"]
        if "localhost" in entry["hosts"]
    }


def output_of(result: PlayResult) -> str:
    return json.dumps(result.report) + result.stderr


def assert_ok(result: PlayResult) -> None:
    assert not result.failed, result.failure_text


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# -- checking with an independent client -----------------------------------------------------------


def topic_state(kafka: SecureKafka, name: str) -> dict | None:
    """{"partitions", "replication_factor", "config"} as the admin client sees it, or None."""
    from confluent_kafka import KafkaException, TopicCollection
    from confluent_kafka.admin import ConfigResource, ResourceType

    admin = kafka.admin()
    try:
        description = admin.describe_topics(TopicCollection([name]))[name].result(timeout=CLIENT_TIMEOUT_S)
    except KafkaException as exc:
        if exc.args[0].name() == "UNKNOWN_TOPIC_OR_PART":
            return None
        raise
    resource = ConfigResource(ResourceType.TOPIC, name)
    entries = admin.describe_configs([resource])[resource].result(timeout=CLIENT_TIMEOUT_S)
    return {
        "partitions": len(description.partitions),
        "replication_factor": len(description.partitions[0].replicas),
        "config": {key: entry.value for key, entry in entries.items()},
    }


def acls_of(kafka: SecureKafka, principal: str) -> set[tuple[str, ...]]:
    """(resource_type, name, pattern, operation, permission, host) of every ACL of principal."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    acl_filter = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY, AclPermissionType.ANY
    )
    admin = kafka.admin()  # held: a collected client cancels its futures
    bindings = admin.describe_acls(acl_filter).result(timeout=CLIENT_TIMEOUT_S)
    return {
        (
            b.restype.name.lower(),
            b.name,
            b.resource_pattern_type.name.lower(),
            b.operation.name.lower(),
            b.permission_type.name.lower(),
            b.host,
        )
        for b in bindings
    }


def add_acls(kafka: SecureKafka, principal: str, *specs: tuple[str, str, str]) -> None:
    """Create literal allow ACLs (resource_type, name, operation) directly, as drift the module must see."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    bindings = [
        AclBinding(
            ResourceType[kind.upper()],
            name,
            ResourcePatternType.LITERAL,
            principal,
            "*",
            AclOperation[operation.upper()],
            AclPermissionType.ALLOW,
        )
        for kind, name, operation in specs
    ]
    admin = kafka.admin()
    for future in admin.create_acls(bindings).values():
        future.result(timeout=CLIENT_TIMEOUT_S)


def scram_users(kafka: SecureKafka) -> dict[str, list[str]]:
    admin = kafka.admin()
    descriptions = admin.describe_user_scram_credentials().result(timeout=CLIENT_TIMEOUT_S)
    return {
        user: [info.mechanism.name for info in description.scram_credential_infos]
        for user, description in descriptions.items()
    }


def set_scram_password(kafka: SecureKafka, user: str, password: str) -> None:
    from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    alteration = UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode()
    )
    admin = kafka.admin()
    admin.alter_user_scram_credentials([alteration])[user].result(timeout=CLIENT_TIMEOUT_S)
    wait_for(lambda: login(kafka, user, password) is True, CLIENT_TIMEOUT_S, f"login of {user} after setting it")


def login(kafka: SecureKafka, user: str, password: str, timeout_s: float = 10) -> bool | str:
    """True when user/password log in over SASL_SSL; False when the brokers refuse the login."""
    from confluent_kafka.admin import AdminClient

    errors: list[str] = []
    admin = AdminClient(kafka.client_config(user, password, error_cb=lambda err: errors.append(err.name())))
    future = admin.describe_cluster(request_timeout=timeout_s)
    deadline = time.monotonic() + timeout_s + 5
    while not future.done() and time.monotonic() < deadline:
        admin.poll(0.1)
        if "_AUTHENTICATION" in errors:
            return False
    if not future.done():
        return f"no answer (errors: {errors})"
    return future.exception() is None or f"failed: {future.exception()}"


def produce(kafka: SecureKafka, topic: str, value: bytes) -> None:
    from confluent_kafka import Producer

    delivered: list[object] = []
    producer = Producer({**kafka.client_config(), "acks": "all"})
    producer.produce(topic, value=value, on_delivery=lambda err, _msg: delivered.append(err))
    assert producer.flush(CLIENT_TIMEOUT_S) == 0, "message still queued"
    assert delivered == [None], delivered


def consume_as(kafka: SecureKafka, user: str, password: str, topic: str, group: str) -> bytes | str:
    """The first message user reads from topic, or the name of the error the brokers answered with."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            **kafka.client_config(user, password),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "error_cb": lambda _err: None,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().name() in ("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED"):
                    return message.error().name()
                continue
            return message.value()
        return "nothing within the timeout"
    finally:
        consumer.close()


def create_topic(kafka: SecureKafka, name: str, partitions: int = 1) -> None:
    """A topic made directly (tests whose subject is not kafka_topic)."""
    from confluent_kafka.admin import NewTopic

    admin = kafka.admin()
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(
        timeout=CLIENT_TIMEOUT_S
    )
    wait_for(lambda: topic_state(kafka, name), CLIENT_TIMEOUT_S, f"topic {name} created")


# -- kafka_topic ----------------------------------------------------------------------------------
# Task-level check_mode/diff let one play hold several steps; every "changes nothing" claim is
# checked with the independent client right after the play whose last step is the check-mode one.


def test_topic_create_check_mode_then_create_then_idempotent(ansible_home, env):
    name = unique("orders")
    args = {**env.conn(), "name": name, "partitions": 3, "replication_factor": 1, "config": {"retention.ms": 3600000}}

    predicted = run(ansible_home, env, task("predict", "kafka_topic", args), check=True, diff=True)
    assert_ok(predicted)
    assert predicted.changed == 1
    answer = results(predicted)["predict"]
    assert (answer["partitions"], answer["replication_factor"]) == (3, 1)
    assert answer["diff"]["before"] == {}
    assert answer["diff"]["after"]["config"] == {"retention.ms": "3600000"}
    assert topic_state(env.kafka, name) is None, "check mode created the topic"

    applied = run(ansible_home, env, task("create", "kafka_topic", args), task("again", "kafka_topic", args))
    assert_ok(applied)
    create, again = results(applied)["create"], results(applied)["again"]
    assert (create["changed"], create["existed"]) == (True, False)
    assert (again["changed"], again["existed"], again["changed_keys"]) == (False, True, [])
    assert again["config"] == {"retention.ms": "3600000"}
    state = topic_state(env.kafka, name)
    assert (state["partitions"], state["replication_factor"]) == (3, 1)
    assert state["config"]["retention.ms"] == "3600000"


def test_topic_config_change_with_diff_and_broker_defaults(ansible_home, env):
    name = unique("events")
    change_args = {
        **env.conn(),
        "name": name,
        "config": {"retention.ms": 7200000, "cleanup.policy": ["compact", "delete"], "min.insync.replicas": 1},
    }
    first = run(
        ansible_home,
        env,
        task("create with broker defaults", "kafka_topic", {**env.conn(), "name": name}),
        task("predict", "kafka_topic", change_args, check_mode=True, diff=True),
    )
    assert_ok(first)
    assert results(first)["predict"]["changed"] is True
    state = topic_state(env.kafka, name)
    assert (state["partitions"], state["replication_factor"]) == (1, 1), "broker defaults num.partitions=1, RF 1"
    assert state["config"]["retention.ms"] == "604800000", "check mode altered the config"

    reset_args = {**env.conn(), "name": name, "config": {"retention.ms": None}}
    second = run(
        ansible_home,
        env,
        task("change", "kafka_topic", change_args, diff=True),
        task("change again", "kafka_topic", change_args),
        task("reset", "kafka_topic", reset_args),
        task("reset again", "kafka_topic", reset_args),
    )
    assert_ok(second)
    answers = results(second)
    change = answers["change"]
    # min.insync.replicas is already 1 (the default): compared as a string, it is not a change.
    assert change["changed_keys"] == ["cleanup.policy", "retention.ms"]
    assert change["diff"]["before"]["config"] == {
        "cleanup.policy": "delete",
        "min.insync.replicas": "1",
        "retention.ms": "604800000",
    }
    assert change["diff"]["after"]["config"] == {
        "cleanup.policy": "compact,delete",
        "min.insync.replicas": "1",
        "retention.ms": "7200000",
    }
    assert answers["change again"]["changed"] is False
    # null removes the topic's own value (it had one: the change applied), and only once.
    assert (answers["reset"]["changed"], answers["reset"]["changed_keys"]) == (True, ["retention.ms"])
    assert answers["reset again"]["changed"] is False
    config = topic_state(env.kafka, name)["config"]
    assert (config["cleanup.policy"], config["retention.ms"]) == ("compact,delete", "604800000")


def test_topic_partitions_grow_and_refusals(ansible_home, env):
    name = unique("grow")
    base = {**env.conn(), "name": name, "replication_factor": 1}
    grow = {**base, "partitions": 4}
    first = run(
        ansible_home,
        env,
        task("create", "kafka_topic", {**base, "partitions": 2}),
        task("predict", "kafka_topic", grow, check_mode=True),
    )
    assert_ok(first)
    assert (results(first)["predict"]["changed"], results(first)["predict"]["partitions"]) == (True, 4)
    assert topic_state(env.kafka, name)["partitions"] == 2, "check mode added partitions"

    # Each refusal also carries a config change: nothing of it may be applied.
    second = run(
        ansible_home,
        env,
        task("grow", "kafka_topic", grow, diff=True),
        task("grow again", "kafka_topic", grow),
        task("shrink", "kafka_topic", {**base, "partitions": 2, "config": {"retention.ms": 1000}}, ignore_errors=True),
        task(
            "replication",
            "kafka_topic",
            {**grow, "replication_factor": 3, "config": {"retention.ms": 1000}},
            ignore_errors=True,
        ),
        task("bad config", "kafka_topic", {**base, "config": {"retention.msx": 1000}}, ignore_errors=True),
    )
    answers = results(second)
    assert answers["grow"]["changed_keys"] == ["partitions"]
    assert (answers["grow"]["diff"]["before"]["partitions"], answers["grow"]["diff"]["after"]["partitions"]) == (2, 4)
    assert answers["grow again"]["changed"] is False
    assert answers["shrink"]["failed"] is True
    assert "cannot remove partitions" in answers["shrink"]["msg"]
    assert "Keep partitions: 4" in answers["shrink"]["msg"]
    assert answers["replication"]["failed"] is True
    assert "replication factor 1 and replication_factor is 3" in answers["replication"]["msg"]
    assert "kafka-reassign-partitions" in answers["replication"]["msg"]
    assert answers["bad config"]["failed"] is True
    assert "retention.msx" in answers["bad config"]["msg"]
    state = topic_state(env.kafka, name)
    assert (state["partitions"], state["replication_factor"]) == (4, 1)
    assert state["config"]["retention.ms"] == "604800000"


def test_topic_absent(ansible_home, env):
    name = unique("scratch")
    delete = {**env.conn(), "name": name, "state": "absent"}
    first = run(
        ansible_home,
        env,
        task("create", "kafka_topic", {**env.conn(), "name": name}),
        task("predict", "kafka_topic", delete, check_mode=True),
    )
    assert_ok(first)
    assert results(first)["predict"]["changed"] is True
    assert topic_state(env.kafka, name) is not None, "check mode deleted the topic"

    second = run(ansible_home, env, task("delete", "kafka_topic", delete), task("again", "kafka_topic", delete))
    assert_ok(second)
    assert (results(second)["delete"]["changed"], results(second)["again"]["changed"]) == (True, False)
    assert topic_state(env.kafka, name) is None


# -- kafka_acl -----------------------------------------------------------------------------------


def reader_acls(principal: str, topic: str, group_prefix: str) -> list[dict]:
    return [
        {"principal": principal, "resource_type": "topic", "resource_name": topic, "operation": "read"},
        {
            "principal": principal,
            "resource_type": "group",
            "resource_name": group_prefix,
            "pattern_type": "prefixed",
            "operation": "read",
        },
    ]


def test_acl_grant_is_idempotent_and_enforced(ansible_home, env):
    kafka = env.kafka
    topic, reader, stranger = unique("acl-topic"), unique("reader"), unique("stranger")
    reader_pw, stranger_pw = random_password(), random_password()
    create_topic(kafka, topic)
    produce(kafka, topic, b"only for readers")
    set_scram_password(kafka, reader, reader_pw)
    set_scram_password(kafka, stranger, stranger_pw)
    # The stranger may use its consumer group, so only the topic ACL tells the two apart.
    add_acls(kafka, f"User:{stranger}", ("group", f"{stranger}-g", "read"))
    assert consume_as(kafka, reader, reader_pw, topic, f"{reader}-g1") in (
        "TOPIC_AUTHORIZATION_FAILED",
        "GROUP_AUTHORIZATION_FAILED",
    ), "without ACLs the reader must be denied (allow.everyone.if.no.acl.found=false)"

    grant = {**env.conn(), "acls": reader_acls(reader, topic, f"{reader}-")}
    predicted = run(ansible_home, env, task("predict", "kafka_acl", grant), check=True, diff=True)
    assert_ok(predicted)
    assert predicted.changed == 1
    assert len(results(predicted)["predict"]["acls_added"]) == 2
    assert f"User:{reader} ALLOW READ topic:{topic} (literal) from *" in results(predicted)["predict"]["diff"]["after"]
    assert acls_of(kafka, f"User:{reader}") == set(), "check mode created ACLs"

    applied = run(ansible_home, env, task("grant", "kafka_acl", grant), task("again", "kafka_acl", grant))
    assert_ok(applied)
    assert (results(applied)["grant"]["changed"], results(applied)["again"]["changed"]) == (True, False)
    assert acls_of(kafka, f"User:{reader}") == {
        ("topic", topic, "literal", "read", "allow", "*"),
        ("group", f"{reader}-", "prefixed", "read", "allow", "*"),
    }

    assert consume_as(kafka, reader, reader_pw, topic, f"{reader}-g2") == b"only for readers"
    assert consume_as(kafka, stranger, stranger_pw, topic, f"{stranger}-g") == "TOPIC_AUTHORIZATION_FAILED"


def test_acl_exclusive_principals_remove_drift_only_for_them(ansible_home, env):
    kafka = env.kafka
    topic, app, other = unique("drift"), unique("app"), unique("other")
    wanted = reader_acls(app, topic, f"{app}-")
    add_acls(kafka, f"User:{app}", ("topic", topic, "read"), ("topic", topic, "write"), ("topic", topic, "delete"))
    add_acls(kafka, f"User:{other}", ("topic", topic, "write"))

    exclusive = {**env.conn(), "acls": wanted, "exclusive_principals": [f"User:{app}"]}
    predicted = run(ansible_home, env, task("predict", "kafka_acl", exclusive), check=True)
    assert_ok(predicted)
    answer = results(predicted)["predict"]
    assert [acl["resource_type"] for acl in answer["acls_added"]] == ["group"]
    assert sorted(acl["operation"] for acl in answer["acls_removed"]) == ["delete", "write"]
    assert len(acls_of(kafka, f"User:{app}")) == 3, "check mode changed ACLs"

    revoke = {**env.conn(), "acls": wanted[:1], "state": "absent"}
    applied = run(
        ansible_home,
        env,
        task("exclusive", "kafka_acl", exclusive, diff=True),
        task("exclusive again", "kafka_acl", exclusive),
        task("revoke", "kafka_acl", revoke),
        task("revoke again", "kafka_acl", revoke),
    )
    assert_ok(applied)
    answers = results(applied)
    assert sorted(acl["operation"] for acl in answers["exclusive"]["acls_removed"]) == ["delete", "write"]
    assert f"User:{app} ALLOW WRITE topic:{topic}" in answers["exclusive"]["diff"]["before"]
    assert f"User:{app} ALLOW WRITE topic:{topic}" not in answers["exclusive"]["diff"]["after"]
    assert sorted(acl_line for acl_line in answers["exclusive"]["diff"]["after"].splitlines()) == [
        f"User:{app} ALLOW READ group:{app}- (prefixed) from *",
        f"User:{app} ALLOW READ topic:{topic} (literal) from *",
    ]
    assert answers["exclusive again"]["changed"] is False
    assert answers["revoke"]["changed"] is True
    assert answers["revoke again"]["changed"] is False
    assert acls_of(kafka, f"User:{app}") == {("group", f"{app}-", "prefixed", "read", "allow", "*")}
    assert acls_of(kafka, f"User:{other}") == {("topic", topic, "literal", "write", "allow", "*")}, (
        "a principal not in exclusive_principals was touched"
    )


# -- kafka_scram_user -------------------------------------------------------------------------------


def test_scram_user_create_probe_and_rotate(ansible_home, env):
    kafka = env.kafka
    user = unique("connect")
    old_pw, new_pw = "first-" + random_password(), "second-" + random_password()

    def user_task(name: str, password: str | None, **options) -> dict:
        args = {**env.conn(), "name": user, **options}
        if password is not None:
            args["password"] = password
        return task(name, "kafka_scram_user", args)

    predicted = run(ansible_home, env, user_task("predict", old_pw), check=True, diff=True)
    assert_ok(predicted)
    assert predicted.changed == 1
    assert user not in scram_users(kafka), "check mode created the user"

    created = run(
        ansible_home,
        env,
        {**user_task("create", old_pw), "diff": True},
        user_task("again", old_pw),
        {**user_task("predict rotation", new_pw), "check_mode": True},
    )
    assert_ok(created)
    answers = results(created)
    assert (answers["create"]["existed"], answers["create"]["password_changed"]) == (False, True)
    assert answers["create"]["mechanisms"] == {"SCRAM-SHA-512": 8192}
    assert answers["create"]["diff"]["after"]["password"].startswith("********")
    assert (answers["again"]["changed"], answers["again"]["reason"]) == (False, "the password logs in")
    assert answers["predict rotation"]["changed"] is True
    assert answers["predict rotation"]["reason"] == "the password does not log in"
    assert scram_users(kafka)[user] == ["SCRAM_SHA_512"]
    assert login(kafka, user, old_pw) is True, "check mode changed the password"
    assert login(kafka, user, new_pw) is False

    rotated = run(
        ansible_home,
        env,
        {**user_task("rotate", new_pw), "diff": True},
        user_task("rotate again", new_pw),
        # on_create never touches an existing credential
        user_task("on_create", old_pw, update_password="on_create"),
    )
    assert_ok(rotated)
    answers = results(rotated)
    assert (answers["rotate"]["changed"], answers["rotate"]["existed"]) == (True, True)
    assert answers["rotate"]["diff"]["before"]["password"] == "********"
    assert answers["rotate again"]["changed"] is False
    assert answers["on_create"]["changed"] is False
    assert login(kafka, user, new_pw) is True
    assert login(kafka, user, old_pw) is False

    finished = run(
        ansible_home,
        env,
        user_task("always", new_pw, update_password="always"),
        user_task("delete", None, state="absent"),
        user_task("delete again", None, state="absent"),
    )
    assert_ok(finished)
    answers = results(finished)
    assert [answers[name]["changed"] for name in ("always", "delete", "delete again")] == [True, True, False]
    assert user not in scram_users(kafka)
    assert login(kafka, user, new_pw) is False

    everything = "".join(output_of(r) for r in (predicted, created, rotated, finished))
    for secret in (old_pw, new_pw, kafka.admin_password):
        assert secret not in everything


# -- refusals and connection failures --------------------------------------------------------------


def test_refusals_and_connection_failures_are_one_clear_message(ansible_home, env):
    from tests.tools.openbao_server import closed_port

    info = "kafka_cluster_info"
    weak_user = unique("weak")
    started = time.monotonic()
    result = run(
        ansible_home,
        env,
        task("wrong admin password", info, env.conn(password="not-the-password"), ignore_errors=True),
        task(
            "unreachable",
            info,
            env.conn(bootstrap_servers=[f"127.0.0.1:{closed_port()}"], request_timeout=3),
            ignore_errors=True,
        ),
        task("wrong ca", info, env.conn(ca_cert=str(env.kafka.tls.other_ca_cert)), ignore_errors=True),
        task("wrong protocol", info, env.conn(security_protocol="SASL_PLAINTEXT"), ignore_errors=True),
        task(
            "admin without password",
            "kafka_topic",
            {**env.conn(), "sasl_password": None, "name": "never-created"},
            ignore_errors=True,
        ),
        task(
            "few iterations",
            "kafka_scram_user",
            {**env.conn(), "name": weak_user, "password": "x" * 20, "iterations": 1024},
            ignore_errors=True,
        ),
    )
    elapsed = time.monotonic() - started
    answers = results(result)
    assert all(answer.get("failed") for answer in answers.values()), answers

    auth = answers["wrong admin password"]["msg"]
    assert "refused the SASL SCRAM-SHA-512 login of user 'admin'" in auth
    assert "sasl_username and sasl_password" in auth
    unreachable = answers["unreachable"]["msg"]
    assert "cannot reach any broker in bootstrap_servers" in unreachable
    assert "firewall" in unreachable
    assert "Connection refused" in unreachable
    assert "ca_cert" in answers["wrong ca"]["msg"]
    assert "certificate verify failed" in answers["wrong ca"]["msg"]
    assert "set security_protocol" in answers["wrong protocol"]["msg"]
    assert "set sasl_username and sasl_password" in answers["admin without password"]["msg"]
    assert "iterations 1024 is too low" in answers["few iterations"]["msg"]
    assert weak_user not in scram_users(env.kafka)
    assert "not-the-password" not in output_of(result)
    assert env.kafka.admin_password not in output_of(result)
    # A refused login, a TLS failure or a wrong protocol ends at once; only the unreachable case
    # waits out its request_timeout (3 s), nowhere near the default 30 s of each.
    assert elapsed < 45, f"the failures took {elapsed:.0f} s"


# -- kafka_cluster_info ----------------------------------------------------------------------------


def test_cluster_info_reports_topics_and_health(ansible_home, env):
    kafka = env.kafka
    name = unique("info")
    create_topic(kafka, name, partitions=2)
    admin = kafka.admin()
    expected_id = admin.describe_cluster().result(timeout=CLIENT_TIMEOUT_S).cluster_id
    # Once through mutual TLS (the listener verifies a client certificate when one is sent).
    mtls = env.conn(client_cert=str(kafka.tls.client_cert), client_key=str(kafka.tls.client_key))
    result = run(
        ansible_home,
        env,
        task("all", "kafka_cluster_info", mtls),
        task("one", "kafka_cluster_info", {**env.conn(), "topics": [name, "no-such-topic"]}),
        check=True,
    )
    assert_ok(result)
    assert result.changed == 0
    everything, one = results(result)["all"], results(result)["one"]

    assert everything["cluster_id"] == expected_id
    assert everything["controller_id"] == 1
    host, port = kafka.bootstrap.split(":")
    assert everything["brokers"] == [{"id": 1, "host": host, "port": int(port), "rack": None}]
    assert name in everything["topics"]
    assert everything["summary"]["healthy"] is True
    assert everything["summary"]["under_replicated"] == []
    assert everything["summary"]["offline"] == []
    assert everything["summary"]["under_min_isr"] == []
    assert everything["summary"]["not_in_isr"] == {"1": []}

    assert sorted(one["topics"]) == [name]
    assert one["missing_topics"] == ["no-such-topic"]
    topic = one["topics"][name]
    assert (topic["partition_count"], topic["replication_factor"], topic["min_insync_replicas"]) == (2, 1, 1)
    assert topic["partitions"] == [
        {"partition": 0, "leader": 1, "replicas": [1], "isr": [1]},
        {"partition": 1, "leader": 1, "replicas": [1], "isr": [1]},
    ]

    # A topic demanding more in-sync replicas than it has is reported as under min ISR.
    raised = run(
        ansible_home,
        env,
        task("raise", "kafka_topic", {**env.conn(), "name": name, "config": {"min.insync.replicas": 2}}),
        task("after", "kafka_cluster_info", {**env.conn(), "topics": [name]}),
    )
    assert_ok(raised)
    after = results(raised)["after"]
    assert after["summary"]["healthy"] is False
    assert after["healthy"] is False
    assert after["under_min_isr"] == after["summary"]["under_min_isr"]
    assert [(p["topic"], p["partition"]) for p in after["summary"]["under_min_isr"]] == [(name, 0), (name, 1)]
    assert after["summary"]["under_replicated"] == []


def test_cluster_info_reads_settings_and_what_each_topic_holds(ansible_home, env):
    kafka = env.kafka
    name, empty = unique("held"), unique("empty")
    create_topic(kafka, name, partitions=2)
    create_topic(kafka, empty)
    for number in range(3):
        produce(kafka, name, b"record %d" % number)
    admin = kafka.admin()
    from confluent_kafka.admin import ConfigResource, ResourceType

    broker = admin.describe_configs([ConfigResource(ResourceType.BROKER, "1")])
    auto_create = list(broker.values())[0].result(timeout=CLIENT_TIMEOUT_S)["auto.create.topics.enable"].value
    result = run(
        ansible_home,
        env,
        task("settings", "kafka_topic", {**env.conn(), "name": name, "config": {"retention.ms": 3600000}}),
        task(
            "info",
            "kafka_cluster_info",
            {
                **env.conn(),
                "topics": [name, empty],
                "configs": ["retention.ms", "cleanup.policy", "no.such.setting"],
                "broker_configs": ["auto.create.topics.enable"],
                "offsets": True,
            },
        ),
    )
    assert_ok(result)
    info = results(result)["info"]
    held = info["topics"][name]
    assert held["configs"] == {"retention.ms": "3600000", "cleanup.policy": "delete", "no.such.setting": None}
    assert held["records"] == 3
    assert sum(p["latest_offset"] for p in held["partitions"]) == 3
    assert all(p["earliest_offset"] == 0 for p in held["partitions"])
    assert info["topics"][empty]["records"] == 0
    # The broker's own value, as another client reads it (not a default the module made up).
    assert [b["configs"] for b in info["brokers"]] == [{"auto.create.topics.enable": auto_create}]


# -- hostile input -----------------------------------------------------------------------------------


def hostile_kafka_cases(env: Env, user_password: str) -> list[tuple[str, str, str, dict]]:
    """(case, module, option the message must name, args): each must be refused, with nothing changed."""
    conn = env.conn()
    topic = {**conn, "name": "hostile-never"}
    acl = {"principal": "User:hostile", "resource_type": "topic", "resource_name": "t", "operation": "read"}
    scram = {**conn, "name": "hostile-user", "password": user_password}
    return [
        ("topic partitions 2**31", "kafka_topic", "partitions", {**topic, "partitions": 2**31}),
        ("topic partitions 0", "kafka_topic", "partitions", {**topic, "partitions": 0}),
        ("topic partitions -1", "kafka_topic", "partitions", {**topic, "partitions": -1}),
        ("topic partitions as a word", "kafka_topic", "partitions", {**topic, "partitions": "many"}),
        ("topic replication 40000", "kafka_topic", "replication_factor", {**topic, "replication_factor": 40000}),
        ("topic replication 0", "kafka_topic", "replication_factor", {**topic, "replication_factor": 0}),
        ("topic replication above brokers", "kafka_topic", "replication_factor", {**topic, "replication_factor": 2}),
        ("topic name empty", "kafka_topic", "name", {**topic, "name": ""}),
        ("topic name ..", "kafka_topic", "name", {**topic, "name": ".."}),
        ("topic name slash", "kafka_topic", "name", {**topic, "name": "a/b"}),
        ("topic name newline", "kafka_topic", "name", {**topic, "name": "a\nb"}),
        ("topic name unicode", "kafka_topic", "name", {**topic, "name": "t\u00f3pico"}),
        ("topic name 250 chars", "kafka_topic", "name", {**topic, "name": "t" * 250}),
        ("topic config as a list", "kafka_topic", "config", {**topic, "config": ["retention.ms", 1]}),
        ("topic config unknown key", "kafka_topic", "no.such.setting", {**topic, "config": {"no.such.setting": 1}}),
        ("acls as a string", "kafka_acl", "acls", {**conn, "acls": "User:hostile"}),
        ("acls a list of strings", "kafka_acl", "acls", {**conn, "acls": ["User:hostile"]}),
        ("acl empty principal", "kafka_acl", "principal", {**conn, "acls": [{**acl, "principal": ""}]}),
        ("acl principal newline", "kafka_acl", "principal", {**conn, "acls": [{**acl, "principal": "User:a\nb"}]}),
        ("acl operation unknown", "kafka_acl", "operation", {**conn, "acls": [{**acl, "operation": "explode"}]}),
        (
            "acl prefixed wildcard",
            "kafka_acl",
            "pattern_type",
            {**conn, "acls": [{**acl, "resource_name": "*", "pattern_type": "prefixed"}]},
        ),
        (
            "acl exclusive with absent",
            "kafka_acl",
            "exclusive_principals",
            {**conn, "acls": [acl], "state": "absent", "exclusive_principals": ["User:hostile"]},
        ),
        ("scram name empty", "kafka_scram_user", "name", {**scram, "name": ""}),
        ("scram name newline", "kafka_scram_user", "name", {**scram, "name": "a\nb"}),
        ("scram iterations 2**31", "kafka_scram_user", "iterations", {**scram, "iterations": 2**31}),
        ("scram iterations a word", "kafka_scram_user", "iterations", {**scram, "iterations": "many"}),
        ("scram mechanism unknown", "kafka_scram_user", "mechanism", {**scram, "mechanism": "MD5"}),
        ("scram no password", "kafka_scram_user", "password", {**scram, "password": None}),
        ("info topics as a mapping", "kafka_cluster_info", "topics", {**conn, "topics": {"a": 1}}),
        ("info unknown option", "kafka_cluster_info", "brokers_wanted", {**conn, "brokers_wanted": 3}),
    ]


def kafka_state(kafka: SecureKafka) -> tuple:
    admin = kafka.admin()
    topics = sorted(admin.list_topics(timeout=CLIENT_TIMEOUT_S).topics)
    return topics, sorted(acls_of(kafka, "User:hostile")), scram_users(kafka)


def assert_refused_one_line(answers: dict, case: str, option: str) -> None:
    answer = answers[case]
    assert answer.get("failed") is True, f"{case}: not refused: {answer}"
    message = str(answer.get("msg", ""))
    assert message and "\n" not in message.strip(), f"{case}: not one line: {message!r}"
    assert "Traceback" not in json.dumps(answer), f"{case}: a traceback: {answer}"
    assert option in message, f"{case}: the message does not name {option}: {message}"


def test_hostile_input_is_refused_with_one_line_and_nothing_changes(ansible_home, env):
    """A table of hostile arguments, one play: each case fails with one line naming the option, the brokers'
    topics, ACLs and SCRAM users read back unchanged, and no password appears anywhere in the run's output."""
    import resource

    user_password = random_password()
    cases = hostile_kafka_cases(env, user_password)
    before = kafka_state(env.kafka)
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = run(ansible_home, env, *(task(case, module, args, ignore_errors=True) for case, module, _o, args in cases))
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    print(f"kafka hostile battery: {len(cases)} cases in {elapsed:.1f} s, {cpu:.1f} s CPU")
    answers = results(result)
    for case, _module, _option, _args in cases:
        print(f"  {case}: {answers[case].get('msg')}")
    for case, _module, option, _args in cases:
        assert_refused_one_line(answers, case, option)
    assert kafka_state(env.kafka) == before, "a refused case changed the brokers' state"
    output = output_of(result)
    assert env.kafka.admin_password not in output
    assert user_password not in output
