"""Run a play with ansible-playbook against localhost and read its JSON report.

Shared by the integration tests that drive roles for real without containers
(ansible_connection=local). The `ansible_home` fixture (conftest.py) gives each module an
ansible.cfg and collection path of its own, so the repository's config is not read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"
PLAYBOOK_TIMEOUT_S = 120
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@dataclass
class PlayResult:
    rc: int
    stats: dict[str, int]
    failures: list[str]
    report: dict[str, Any] = field(repr=False)
    stderr: str = field(repr=False)

    @property
    def changed(self) -> int:
        return self.stats["changed"]

    @property
    def failed(self) -> bool:
        return self.rc != 0 or self.stats["failures"] > 0

    @property
    def failure_text(self) -> str:
        return "\n".join(self.failures)


def ansible_playbook_bin() -> str:
    candidate = Path(sys.executable).parent / "ansible-playbook"
    found = str(candidate) if candidate.exists() else shutil.which("ansible-playbook")
    if not found:
        pytest.fail("ansible-playbook not found next to the test interpreter nor on PATH: run `make venv`")
    return found


def failure_messages(result: dict[str, Any]) -> list[str]:
    """The task's message, plus the message of every failed loop item (a loop's own is generic)."""
    items = [item.get("msg", "") for item in result.get("results", []) if item.get("failed")]
    return [result.get("msg", ""), *items]


def run_playbook(
    ansible_home: Path,
    workdir: Path,
    play: list[dict[str, Any]],
    *,
    env: dict[str, str | None] | None = None,
    check: bool = False,
    extra_args: list[str] | None = None,
) -> PlayResult:
    """Write `play` to workdir and run it on localhost; env entries set to None are removed."""
    workdir.mkdir(parents=True, exist_ok=True)
    playbook = workdir / f"play-{len(list(workdir.glob('play-*.yml')))}.yml"
    playbook.write_text(json.dumps(play, indent=2))  # JSON is YAML

    run_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ANSIBLE_") and key not in PROXY_VARS and key.lower() != "no_proxy"
    }
    run_env.update(
        {
            "ANSIBLE_CONFIG": str(ansible_home / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "no_proxy": f"{LOOPBACK},localhost",
            "NO_PROXY": f"{LOOPBACK},localhost",
        }
    )
    for key, value in (env or {}).items():
        if value is None:
            run_env.pop(key, None)
        else:
            run_env[key] = value

    cmd = [ansible_playbook_bin(), "-i", str(ansible_home / "hosts.ini"), str(playbook), *(extra_args or [])]
    if check:
        cmd.append("--check")
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT_S,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"ansible-playbook (rc {proc.returncode}) did not print the json report\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    failures = [
        f"{task['task']['name']}: {message}"
        for p in report["plays"]
        for task in p["tasks"]
        for result in task["hosts"].values()
        if result.get("failed")
        for message in failure_messages(result)
    ]
    return PlayResult(
        rc=proc.returncode,
        stats=report["stats"]["localhost"],
        failures=failures,
        report=report,
        stderr=proc.stderr,
    )
