"""The connectors role refuses a connector config that holds a password itself, before anything is deployed.

Runs only the role's preflight tasks (tasks_from: preflight) on localhost: they read variables and fail
before any task that talks to a worker, so this machine is never touched. The rule is the modules' own
(cdc.pipeline.literal_secrets): the same key that the modules would mask is refused here.
"""
# ruff: noqa: S105 - the fake secrets are what these tests follow

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.playbook_runner import run_playbook

pytestmark = pytest.mark.integration

REFERENCE = "${directory:/run/cdc-secrets/connect:sink-password}"


def run_preflight(ansible_home, tmp_path, sink_extra: dict[str, Any]):
    play = [
        {
            "name": "Preflight of the connectors role",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"connectors_source_tables": ["shop.orders"], "connectors_sink_config_extra": sink_extra},
            "tasks": [
                {
                    "name": "Preflight",
                    "ansible.builtin.include_role": {"name": "cdc.pipeline.connectors", "tasks_from": "preflight"},
                }
            ],
        }
    ]
    return run_playbook(ansible_home, tmp_path, play)


def test_references_pass(ansible_home, tmp_path):
    result = run_preflight(ansible_home, tmp_path, {"connection.password": REFERENCE, "token_ttl": "3600"})
    assert not result.failed, result.failure_text or result.stderr[-2000:]


@pytest.mark.parametrize(
    "key",
    ["connection.password", "aws.secret.access.key", "basic.auth.user.info", "consumer.override.sasl.jaas.config"],
)
def test_a_literal_secret_is_refused_and_not_echoed(ansible_home, tmp_path, key):
    literal = "hunter2-literal-in-" + key
    result = run_preflight(ansible_home, tmp_path, {key: literal})
    assert result.failed, "the preflight let a literal secret through"
    assert key in result.failure_text
    assert "${provider:path:key}" in result.failure_text
    assert literal not in result.failure_text
