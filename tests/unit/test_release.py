"""The release metadata agrees with itself and with what is tested.

- every plugin's version_added is a version this collection has released (or 0.1.0, the first milestone that
  the changelog starts after), or galaxy.yml's version while that is the one in development; none is later;
- galaxy.yml's version is released in changelogs/changelog.yaml and CHANGELOG.rst (antsibull-changelog), or it
  is the next one, in development, later than every release;
- requires_ansible's lower bound is the ansible-core every test here runs (constraints.txt), and the roles'
  min_ansible_version says the same minor release.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.compat.version import LooseVersion

from tests.tools.requirement_pins import pins

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
GALAXY_VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
CHANGELOG = yaml.safe_load((REPO_ROOT / "changelogs" / "changelog.yaml").read_text())
RELEASED = set(CHANGELOG.get("releases") or {}) | {CHANGELOG.get("ancestor")} - {None}
TESTED_CORE = pins(REPO_ROOT / "constraints.txt")["ansible-core"]


def versions_added():
    for path in sorted([*REPO_ROOT.glob("plugins/**/*.py"), *REPO_ROOT.glob("plugins/filter/*.yml")]):
        for version in re.findall(r"(?m)^\s*version_added:\s*['\"]?([0-9.]+)", path.read_text()):
            yield path.relative_to(REPO_ROOT), version


def test_every_version_added_is_a_released_version():
    found = list(versions_added())
    assert len(found) > 40
    wrong = [(str(path), version) for path, version in found if version not in RELEASED | {GALAXY_VERSION}]
    assert not wrong, f"version_added not released (released: {sorted(RELEASED)}): {wrong}"
    later = [str(path) for path, version in found if LooseVersion(version) > LooseVersion(GALAXY_VERSION)]
    assert not later, f"version_added later than galaxy.yml's {GALAXY_VERSION}: {later}"


def test_the_version_is_released_or_the_next_one():
    releases = CHANGELOG.get("releases") or {}
    if GALAXY_VERSION in releases:
        assert f"v{GALAXY_VERSION}" in (REPO_ROOT / "CHANGELOG.rst").read_text()
    else:
        assert all(LooseVersion(GALAXY_VERSION) > LooseVersion(done) for done in RELEASED), GALAXY_VERSION


def test_requires_ansible_is_what_the_tests_run():
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == f">={TESTED_CORE}"
    minor = ".".join(TESTED_CORE.split(".")[:2])
    for meta in REPO_ROOT.glob("roles/*/meta/main.yml"):
        assert str(yaml.safe_load(meta.read_text())["galaxy_info"]["min_ansible_version"]) == minor, meta
