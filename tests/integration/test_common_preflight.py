"""The common role refuses unsafe or unexplained settings before it changes anything.

Runs only the role's preflight (`--tags preflight`) on localhost with ansible_connection=local:
those tasks read facts and inventory, and fail before any task that changes a host, so this
machine is never touched. Each case must fail with a message that names the fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.playbook_runner import run_playbook

pytestmark = pytest.mark.integration

VALID_ADMIN = ["192.0.2.0/24"]


def run_preflight(ansible_home, tmp_path, role_vars: dict[str, Any]):
    play = [
        {
            "name": "Preflight of the common role",
            "hosts": "localhost",
            "gather_facts": True,
            "vars": {"cdc_address": "127.0.0.1", **role_vars},
            "roles": [{"role": "cdc.pipeline.common"}],
        }
    ]
    # Not an SSH session, even when the tests themselves run in one.
    return run_playbook(ansible_home, tmp_path, play, env={"SSH_CLIENT": None}, extra_args=["--tags", "preflight"])


def test_valid_settings_pass_preflight(ansible_home, tmp_path):
    result = run_preflight(ansible_home, tmp_path, {"common_admin_cidrs": VALID_ADMIN})
    assert not result.failed, result.failure_text or result.stderr[-2000:]
    assert result.changed == 0


@pytest.mark.parametrize(
    ("role_vars", "expected"),
    [
        ({"common_admin_cidrs": []}, "common_admin_cidrs is empty"),
        (
            {"common_admin_cidrs": VALID_ADMIN, "common_sysctl_overrides": {"vm.swappiness": {"value": 10}}},
            "must be {value: ..., reason",
        ),
        (
            {
                "common_admin_cidrs": VALID_ADMIN,
                "common_firewall_extra_rules": [{"name": "backup", "port": 7480, "from_cidrs": ["192.0.2.8/29"]}],
            },
            "must carry a 'reason'",
        ),
        (
            {"common_admin_cidrs": VALID_ADMIN, "common_firewall_input_policy": "accept"},
            "common_firewall_input_policy",
        ),
    ],
    ids=["no-admin-range", "override-without-reason", "extra-rule-without-reason", "policy-not-a-choice"],
)
def test_unsafe_settings_are_refused_with_the_fix(ansible_home, tmp_path, role_vars, expected):
    result = run_preflight(ansible_home, tmp_path, role_vars)
    assert result.failed, "preflight accepted an unsafe setting"
    assert expected in (result.failure_text + result.stderr), result.failure_text


def ssh_session(client: str, user: str) -> dict[str, str]:
    """The login environment sshd gives a session from `client` as `user` (the local connection passes
    it on to the preflight, which reads it as the login user: sudo would drop SSH_CLIENT)."""
    return {"SSH_CLIENT": f"{client} 50022 22", "USER": user}


@pytest.mark.parametrize(
    ("client", "user", "role_vars", "expected"),
    [
        ("198.51.100.7", "admin", {}, "would close SSH to it"),
        ("192.0.2.10", "root", {}, "logs in to localhost as root"),
        ("192.0.2.10", "admin", {}, None),
        ("192.0.2.10", "root", {"common_ssh_permit_root_login": "prohibit-password"}, None),
    ],
    ids=["controller-outside-admin-range", "root-login-forbidden-while-used", "admin-in-range", "root-key-login-kept"],
)
def test_ssh_run_cannot_lock_itself_out(ansible_home, tmp_path, client, user, role_vars, expected):
    play = [
        {
            "name": "Preflight of the common role over a simulated SSH session",
            "hosts": "localhost",
            "gather_facts": True,
            "vars": {"cdc_address": "127.0.0.1", "common_admin_cidrs": VALID_ADMIN, **role_vars},
            "roles": [{"role": "cdc.pipeline.common"}],
        }
    ]
    result = run_playbook(
        ansible_home, tmp_path, play, env=ssh_session(client, user), extra_args=["--tags", "preflight"]
    )
    if expected is None:
        assert not result.failed, result.failure_text or result.stderr[-2000:]
    else:
        assert result.failed, "preflight let the run lock itself out"
        assert expected in result.failure_text, result.failure_text
