"""No module echoes a secret argument, whatever else is wrong with its arguments.

Each case gives a module its secrets (a SASL, CQL or store password, a token, a password inside a
connector config or a store object) together with an argument that is wrong: a string where a list of
dicts belongs, a word where a number belongs, an unknown choice. Ansible's own masking stops when a
nested option is malformed, so before SecretSafeModule the failure's `invocation` carried the
password in clear. The whole report of the run (results, invocation, messages) and stderr are
searched for every secret. The services are closed loopback ports: every case fails before
or at its first connection, which is what makes it a failure case.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.openbao_server import closed_port
from tests.tools.playbook_runner import run_playbook

pytestmark = pytest.mark.integration


def secret(name: str) -> str:
    return f"hunter2-{name}-Zq7"


def cases(port: int) -> list[tuple[str, str, dict[str, Any]]]:
    kafka = {"bootstrap_servers": [f"127.0.0.1:{port}"], "sasl_username": "admin", "request_timeout": 2}
    cql = {"login_hosts": ["127.0.0.1"], "login_port": port, "login_user": "admin", "connect_timeout": 2}
    vault = {"url": f"https://127.0.0.1:{port}", "timeout": 2}
    connect = {"url": f"https://127.0.0.1:{port}", "timeout": 2}
    return [
        ("kafka_acl", "acls as a string", {**kafka, "sasl_password": secret("acl"), "acls": "User:x"}),
        ("kafka_topic", "config as a string", {**kafka, "sasl_password": secret("topic"), "name": "t", "config": "x"}),
        (
            "kafka_scram_user",
            "iterations as a word",
            {
                **kafka,
                "sasl_password": secret("scram-admin"),
                "name": "u",
                "password": secret("scram-user"),
                "iterations": "many",
            },
        ),
        ("kafka_cluster_info", "unknown option", {**kafka, "sasl_password": secret("info"), "brokers_wanted": 3}),
        (
            "pipeline_canary",
            "timeout as a word",
            {**kafka, "sasl_password": secret("canary"), "request_timeout": "soon"},
        ),
        (
            "scylla_role",
            "permissions as a string",
            {
                **cql,
                "login_password": secret("cql-admin"),
                "name": "r",
                "password": secret("cql-role"),
                "permissions": "ALL",
            },
        ),
        (
            "scylla_cdc",
            "port as a word",
            {**cql, "login_password": secret("cdc"), "login_port": "ninety", "tables": ["a.b"]},
        ),
        (
            "kafka_connector",
            "unknown state",
            {
                **connect,
                "name": "c",
                "state": "sideways",
                "config": {"connector.class": "X", "connection.password": secret("connector")},
            },
        ),
        (
            "kafka_connector",
            "unreachable worker",
            {**connect, "name": "c", "config": {"connector.class": "X", "connection.password": secret("connector-2")}},
        ),
        ("vault_cluster_info", "unknown option", {**vault, "token": secret("token-info"), "peers_wanted": 3}),
        (
            "vault_mount",
            "options as a string",
            {**vault, "token": secret("token-mount"), "path": "kv", "options": "v2"},
        ),
        (
            "vault_object",
            "unknown state",
            {
                **vault,
                "token": secret("token-object"),
                "path": "cdc/data/x",
                "state": "sideways",
                "data": {"password": secret("object-data")},
            },
        ),
        (
            "vault_object",
            "unreachable store",
            {
                **vault,
                "token": secret("token-object-2"),
                "path": "cdc/data/x",
                "data": {"password": secret("object-2")},
            },
        ),
        (
            "vault_object",
            "data as a list",
            {**vault, "token": secret("token-object-3"), "path": "cdc/data/x", "data": [secret("object-3")]},
        ),
        (
            "scylla_role",
            "permissions as a list of strings",
            {
                **cql,
                "login_password": secret("cql-admin-2"),
                "name": "r",
                "password": secret("cql-role-2"),
                "permissions": ["SELECT"],
            },
        ),
        (
            "vault_pki_ca",
            "ttl as a list",
            {**vault, "token": secret("token-pki"), "intermediate_common_name": "ca", "renew_before": ["1h"]},
        ),
    ]


def test_no_failure_echoes_a_secret_argument(ansible_home, tmp_path):
    port = closed_port()
    all_cases = cases(port)
    play = [
        {
            "name": "Modules with secrets and a wrong argument",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": f"{module}: {why}", f"cdc.pipeline.{module}": args, "ignore_errors": True}
                for module, why, args in all_cases
            ],
        }
    ]
    result = run_playbook(ansible_home, tmp_path, play)
    ran = {task["task"]["name"]: task["hosts"]["localhost"] for task in result.report["plays"][0]["tasks"]}
    assert len(ran) == len(all_cases), sorted(ran)
    not_failed = [name for name, answer in ran.items() if not answer.get("failed")]
    assert not not_failed, f"these cases did not fail, so they test nothing: {not_failed}"
    output = str(result.report) + result.stderr
    secrets = {value for _m, _w, args in all_cases for value in _strings(args) if value.startswith("hunter2-")}
    leaked = sorted(value for value in secrets if value in output)
    assert not leaked, f"secret arguments in the output: {leaked}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []
