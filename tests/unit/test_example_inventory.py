"""inventories/example stays a production-shaped inventory that site.yml accepts (docs/inventory.md).

It loads, every group has the size the readiness checklist asks for, no host serves two groups,
`site.yml --syntax-check` passes against it, and every variable it sets is a role variable (an
argument spec) or a collection-wide variable documented in docs/inventory.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "inventories" / "example"
BIN = Path(sys.executable).parent
# group: [fewest hosts, must be odd], as the go-live probe group_sizes judges a site
CHECKLIST_SIZES = yaml.safe_load((REPO_ROOT / "roles" / "golive" / "vars" / "main.yml").read_text())[
    "golive_group_sizes"
]


def ansible(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def inventory() -> dict:
    answer = ansible("ansible-inventory", "-i", str(EXAMPLE), "--list")
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_every_group_has_its_checklist_size_on_hosts_of_its_own(inventory):
    members = {group: inventory.get(group, {}).get("hosts", []) for group in CHECKLIST_SIZES}
    for group, (fewest, odd) in CHECKLIST_SIZES.items():
        assert len(members[group]) >= fewest, f"{group}: {members[group]}"
        assert not odd or len(members[group]) % 2 == 1, f"{group} needs an odd number of hosts"
    hosts = [host for group in members.values() for host in group]
    assert len(hosts) == len(set(hosts)), "a host serves two groups: the example shows dedicated hosts"
    for host in hosts:
        assert re.match(r"^\d+\.\d+\.\d+\.\d+$", inventory["_meta"]["hostvars"][host]["cdc_address"])


def test_site_yml_accepts_it():
    answer = ansible("ansible-playbook", "-i", str(EXAMPLE), "site.yml", "--syntax-check")
    assert answer.returncode == 0, answer.stdout[-2000:] + answer.stderr[-2000:]


def test_every_variable_is_a_role_variable_or_a_documented_global():
    known = set()
    for spec_file in REPO_ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(spec_file.read_text())["argument_specs"] or {}).values():
            known.update(entry.get("options") or {})
    documented = set(re.findall(r"`(cdc_[a-z_]+)`", (REPO_ROOT / "docs" / "inventory.md").read_text()))
    unknown = []
    for vars_file in sorted(EXAMPLE.glob("group_vars/**/*.yml")):
        for name in yaml.safe_load(vars_file.read_text()) or {}:
            if not (name in known or name in documented or name.startswith("ansible_")):
                unknown.append(f"{vars_file.relative_to(EXAMPLE)}: {name}")
    assert not unknown, f"not a role variable nor in docs/inventory.md: {unknown}"
