"""The built collection holds the collection and nothing else: no lab secrets, no local state, no toolchain.

A copy of the checkout (the files git tracks) gets the files a working checkout gathers: the lab's
secrets after `make demo`, Ansible's and Molecule's local state, caches, a virtualenv. It is built with
`ansible-galaxy collection build` as a user would, and the tarball must hold only the collection's own
top-level entries, none of the planted files, and never the planted secret's text. The declared
dependencies must be exactly the collections the shipped files call.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ANSIBLE_GALAXY = BIN / "ansible-galaxy"
SHIPPED_TOP_LEVEL = {
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "COPYING",
    "CHANGELOG.rst",
    "meta",
    "plugins",
    "roles",
    "playbooks",
    "docs",
    "changelogs",
    "inventories",
    "site.yml",
}
SECRET_MARKER = "planted-secret-3f9c0a"  # noqa: S105 - a marker to search the tarball for, not a secret
PLANTED = [
    ".secrets/cdc-demo/vault-init.json",
    ".secrets/cdc-demo/ssh/id_ed25519",
    ".secrets/lab/admin-approle.json",
    ".ansible/tmp/ansible-local-1/state",
    ".cache/facts/node-1",
    ".cache/artifacts/kafka.tgz",
    ".venv/bin/activate",
    "molecule/pipeline/.state.yml",
    "tests/output/junit.xml",
    "inventories/lab/host_vars/node-1.yml",
    "playbooks/lab/scratch.yml",
    "scripts/scratch.sh",
    "site.retry",
    "build/old.tar.gz",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """(the tarball, {member name: content})."""
    if not ANSIBLE_GALAXY.exists():
        pytest.fail(f"{ANSIBLE_GALAXY} is missing: run `make venv` first")
    checkout = tmp_path_factory.mktemp("checkout")
    tracked = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z"], check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in tracked)):
        source = REPO_ROOT / name
        if source.is_file():
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for name in PLANTED:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(f"{SECRET_MARKER} {name}\n")
    out = tmp_path_factory.mktemp("build")
    subprocess.run(
        [str(ANSIBLE_GALAXY), "collection", "build", "--output-path", str(out), str(checkout)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (tarball,) = out.glob("*.tar.gz")
    contents = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member) if member.isfile() else None
            contents[member.name] = handle.read() if handle else b""
    return tarball, contents


def test_only_the_collection_ships(built):
    _tarball, contents = built
    top_level = {name.split("/", 1)[0] for name in contents}
    assert top_level <= SHIPPED_TOP_LEVEL, f"not part of the collection: {sorted(top_level - SHIPPED_TOP_LEVEL)}"
    for name in (
        "COPYING",
        "CHANGELOG.rst",
        "site.yml",
        "meta/runtime.yml",
        "plugins/modules/kafka_topic.py",
        "roles/kafka/tasks/main.yml",
    ):
        assert name in contents, f"{name} is missing from the build"


def test_no_planted_file_and_no_secret_text_ships(built):
    _tarball, contents = built
    assert not [name for name in PLANTED if name in contents]
    assert not [name for name in contents if name.startswith(("playbooks/lab", "inventories/lab", "molecule"))]
    leaked = [name for name, data in contents.items() if SECRET_MARKER.encode() in data]
    assert not leaked, f"planted secret text inside {leaked}"


def test_dependencies_are_exactly_the_collections_the_shipped_files_call(built):
    _tarball, contents = built
    installed = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"
    known = {f"{ns.name}.{coll.name}" for ns in installed.iterdir() if ns.is_dir() for coll in ns.iterdir()}
    fqcn = re.compile(rb"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*")
    # ansible-core's own Python packages (from ansible.utils.display import ...) are no collection calls.
    core_import = re.compile(rb"(?m)^\s*(from|import)\s+ansible\.\S+.*$")
    called = set()
    for name, data in contents.items():
        # changelogs/ is history, whose text names collections the code no longer calls
        if name.endswith((".yml", ".yaml", ".py", ".j2")) and not name.startswith("changelogs/"):
            text = core_import.sub(b"", data) if name.endswith(".py") else data
            called.update(f"{ns.decode()}.{coll.decode()}" for ns, coll in fqcn.findall(text))
    called = (called & known) - {"ansible.builtin", "cdc.pipeline"}
    declared = set(yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["dependencies"] or {})
    assert declared == called, (
        f"declared but not called: {declared - called}; called but not declared: {called - declared}"
    )


def test_the_installed_collection_runs_its_site_playbook_by_name(built, tmp_path):
    """Installed from the tarball into a clean path, `cdc.pipeline.site` parses against the example inventory.

    The dependencies come from the `ansible` package in this virtualenv (Galaxy is out of reach here). The
    commands run outside the checkout, so its ansible.cfg (which links the checkout in) is not read.
    """
    tarball, _contents = built
    collections = tmp_path / "collections"
    env = {"PATH": str(BIN), "HOME": str(tmp_path), "ANSIBLE_COLLECTIONS_PATH": str(collections)}

    def run(*argv):
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)

    install = run(str(ANSIBLE_GALAXY), "collection", "install", "--no-deps", "-p", str(collections), str(tarball))
    assert install.returncode == 0, install.stderr
    installed = collections / "ansible_collections" / "cdc" / "pipeline"
    assert (installed / "playbooks" / "site.yml").is_file(), install.stdout
    inventory = str(installed / "inventories" / "example")
    syntax = run(str(BIN / "ansible-playbook"), "-i", inventory, "cdc.pipeline.site", "--syntax-check")
    assert syntax.returncode == 0, syntax.stdout[-2000:] + syntax.stderr[-2000:]
