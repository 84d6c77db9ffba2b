# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The declared credentials: the read_credentials filter, and the sink's credential written once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.cdc.pipeline.plugins.filter.credentials import read_credentials

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CATALOG = yaml.safe_load((ROOT / "roles/credentials/defaults/main.yml").read_text())["credentials_catalog"]
GROUPS = {"postgresql_primary": ["node-4"], "kafka_connect": ["node-4", "node-5"], "scylla": ["node-1"], "empty": []}
SINK = {"name": "sink-password", "path": "database/static-creds/pg-sink", "field": "password", "kv": False}
SOURCE = {"name": "scylla-password", "path": "connect/scylla-source", "field": "password", "kv": True}


def test_the_reader_gets_the_declared_passwords_as_its_agent_renders_them():
    assert read_credentials(CATALOG, "connect", GROUPS, "database") == [SOURCE, SINK]


def test_another_service_gets_nothing_and_no_database_host_means_nothing_rendered():
    assert read_credentials(CATALOG, "monitoring", GROUPS, "database") == []
    assert read_credentials(CATALOG, "connect", {"postgresql_primary": [], "scylla": ["node-1"]}, "database") == [
        SOURCE
    ]
    assert read_credentials(CATALOG, "connect", {"postgresql_primary": ["node-4"]}, "database") == [SINK]
    assert read_credentials(CATALOG, "connect", {}, "database") == []


def test_a_credential_names_exactly_one_store():
    both = {"x": {**CATALOG["sink_database"], "kv_path": "a/b"}}
    with pytest.raises(AnsibleFilterError, match=r"credentials_catalog.x lacks exactly one of static_role or kv_path"):
        read_credentials(both, "connect", GROUPS, "database")
    neither = {"x": {k: v for k, v in CATALOG["sink_database"].items() if k != "static_role"}}
    with pytest.raises(AnsibleFilterError, match="exactly one of static_role or kv_path"):
        read_credentials(neither, "connect", GROUPS, "database")


def test_the_mount_is_the_given_one():
    assert read_credentials(CATALOG, "connect", GROUPS, "/db-creds/")[1]["path"] == "db-creds/static-creds/pg-sink"


def test_an_incomplete_entry_is_refused_naming_what_it_lacks():
    broken = {"sink_database": {**CATALOG["sink_database"], "agent_file": ""}}
    with pytest.raises(AnsibleFilterError, match=r"credentials_catalog.sink_database lacks agent_file"):
        read_credentials(broken, "connect", GROUPS, "database")
    with pytest.raises(AnsibleFilterError, match="needs credentials_catalog"):
        read_credentials(["x"], "connect", GROUPS, "database")


# The credentials' names may appear in roles only in the credentials role, and in comments or
# documentation strings elsewhere: every role that wires a credential derives it.
DECLARED = [CATALOG["sink_database"][key] for key in ("user", "static_role", "agent_file")] + [
    CATALOG["scylla_source"][key] for key in ("user", "kv_path", "agent_file")
]


def wiring_lines(root: Path) -> list[str]:
    found = []
    for path in sorted(root.glob("roles/*/**/*")):
        if not path.is_file() or path.suffix not in {".yml", ".j2", ".py"} or "credentials" in path.parts:
            continue
        if path.name == "argument_specs.yml":
            continue  # descriptions name the defaults
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix != ".j2" else line
            if any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", code) for name in DECLARED):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_the_credentials_are_declared_once():
    assert wiring_lines(ROOT) == []


def test_a_second_place_that_names_it_is_found(tmp_path):
    role = tmp_path / "roles" / "kafka_connect" / "defaults"
    role.mkdir(parents=True)
    text = "kafka_connect_secrets_extra:\n  - {name: sink-password, path: x}\n# pg-sink in a comment\n"
    (role / "main.yml").write_text(text)
    assert wiring_lines(tmp_path) == ["roles/kafka_connect/defaults/main.yml:2: - {name: sink-password, path: x}"]
