# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cdc.pipeline.artifact role puts a verified artifact on a host, and refuses anything else.

Runs real `ansible-playbook` processes against localhost (ansible_connection=local, no containers):
a playbook in tmp_path calls the role with `include_role` the way the other roles do, and the
tests look at the file it wrote (content, sha256, mode), at the play recap (idempotence, check
mode) and at the failure messages. Staged mode takes the output of `make artifacts` from
$CDC_ARTIFACT_DIR or <repo>/.cache/artifacts; url mode downloads from an http.server on
127.0.0.1 (random free port) standing in for a mirror. Loopback only; every run is bounded.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tools.playbook_runner import LOOPBACK, PlayResult, run_playbook

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = REPO_ROOT / "roles" / "artifact" / "vars" / "main.yml"
# A small artifact (2.8 MiB) of kind `file`, with an upstream checksum: quick to copy and serve.
ARTIFACT = "jmx-prometheus-javaagent"
# Its upstream archive differs from the staged one (other checksum): shows which checksum a mirror uses.
MIRROR_ARTIFACT = "debezium-connector-jdbc"
# The catalog entry that cannot be staged: only overrides can install it.
UNAVAILABLE_ARTIFACT = "scylla-cdc-source-connector"
DOWNLOAD_TIMEOUT_S = 10


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corrupt_copy(src: Path, dest: Path) -> Path:
    """A copy of src with one byte flipped in the middle: same size, different sha256."""
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bytes(data))
    return dest


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(CATALOG_PATH.read_text())["artifact_catalog"]


@pytest.fixture(scope="module")
def entry(catalog) -> dict[str, Any]:
    return catalog[ARTIFACT]


@pytest.fixture(scope="module")
def staged_dir() -> Path:
    """Where the role looks by default: $CDC_ARTIFACT_DIR, else <repo>/.cache/artifacts."""
    chosen = os.environ.get("CDC_ARTIFACT_DIR") or str(REPO_ROOT / ".cache" / "artifacts")
    return Path(chosen).expanduser().resolve()


def staged_path(staged_dir: Path, entry: dict[str, Any]) -> Path:
    """The staged file of a catalog entry; skip if it is not staged, fail if it is corrupt."""
    path = staged_dir / entry["file"]
    if not path.is_file():
        pytest.skip(f"{path} is not staged: run `make artifacts` first")
    assert sha256_file(path) == entry["sha256"], (
        f"{path} does not match the catalog (roles/artifact/vars/main.yml): re-run `make artifacts`"
    )
    return path


@pytest.fixture(scope="module")
def staged_file(staged_dir, entry) -> Path:
    return staged_path(staged_dir, entry)


def run_role(
    ansible_home: Path,
    workdir: Path,
    role_vars: dict[str, Any],
    *,
    global_vars: dict[str, Any] | None = None,
    env: dict[str, str | None] | None = None,
    check: bool = False,
) -> PlayResult:
    """Run a one-task play that include_role's cdc.pipeline.artifact on localhost.

    global_vars are the cdc_artifact_* settings a site keeps in group_vars (play vars here);
    role_vars go on the include_role like the calling roles pass them. env entries set to None
    are removed from the environment.
    """
    play = [
        {
            "name": "Put one artifact on localhost",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": global_vars or {},
            "tasks": [
                {
                    "name": "Include the artifact role",
                    "ansible.builtin.include_role": {"name": "cdc.pipeline.artifact"},
                    "vars": role_vars,
                }
            ],
        }
    ]
    return run_playbook(ansible_home, workdir, play, env=env, check=check)


def assert_ok(result: PlayResult) -> None:
    assert not result.failed, f"play failed (rc {result.rc}): {result.failures}\nstderr:\n{result.stderr[-4000:]}"


def assert_installed(dest: Path, sha256: str, mode: int) -> None:
    assert dest.is_file(), f"{dest} was not created"
    assert sha256_file(dest) == sha256
    assert stat.S_IMODE(dest.stat().st_mode) == mode, oct(stat.S_IMODE(dest.stat().st_mode))


# --- staged mode ----------------------------------------------------------------------------------


def test_staged_installs_then_is_idempotent_and_check_mode_writes_nothing(ansible_home, tmp_path, staged_file, entry):
    dest = tmp_path / "out" / "agent.jar"
    dest.parent.mkdir()
    role_vars = {"artifact_name": ARTIFACT, "artifact_dest": str(dest), "artifact_mode": "0640"}
    staged = {"cdc_artifact_source": "staged"}

    # The role's default directory: $CDC_ARTIFACT_DIR if the caller set it, else the repo's
    # .cache/artifacts, found from role_path through the collection link.
    first = run_role(ansible_home, tmp_path, role_vars, global_vars=staged)
    assert_ok(first)
    assert first.changed == 1
    assert_installed(dest, entry["sha256"], 0o640)

    second = run_role(ansible_home, tmp_path, role_vars, global_vars=staged)
    assert_ok(second)
    assert second.changed == 0, second.stats
    assert_installed(dest, entry["sha256"], 0o640)

    fresh = tmp_path / "out" / "check.jar"
    checked = run_role(
        ansible_home, tmp_path, {**role_vars, "artifact_dest": str(fresh)}, global_vars=staged, check=True
    )
    assert_ok(checked)
    assert checked.changed == 1, "check mode should report the copy it would make"
    assert not fresh.exists(), "check mode created the file"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["agent.jar"]


def test_staged_corrupt_file_fails_naming_both_checksums(ansible_home, tmp_path, staged_file, entry):
    bad_dir = tmp_path / "staged"
    bad = corrupt_copy(staged_file, bad_dir / entry["file"])
    bad_sha = sha256_file(bad)
    dest = tmp_path / "agent.jar"

    # Through the environment variable, as `make artifacts` users set it, and relative: like
    # scripts/stage_artifacts.py, the role takes it from the directory ansible-playbook runs in
    # (run_role's cwd is tmp_path). The message names the file by its absolute path and its sha256,
    # so the role did find it there.
    result = run_role(
        ansible_home,
        tmp_path,
        {"artifact_name": ARTIFACT, "artifact_dest": str(dest)},
        global_vars={"cdc_artifact_source": "staged"},
        env={"CDC_ARTIFACT_DIR": bad_dir.name},
    )
    assert result.failed
    assert len(result.failures) == 1, result.failures
    msg = result.failure_text
    assert f"{bad.resolve()} has sha256" in msg
    assert f"has sha256 {bad_sha}" in msg
    assert f"the lock expects {entry['sha256']}" in msg
    assert "`make artifacts`" in msg
    assert "CDC_ARTIFACT_DIR" in msg
    assert not dest.exists()


def test_staged_missing_file_fails_telling_how_to_stage(ansible_home, tmp_path, staged_file, staged_dir, entry):
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    dest = tmp_path / "agent.jar"

    # cdc_artifact_dir wins over CDC_ARTIFACT_DIR, even when the latter holds a good file.
    result = run_role(
        ansible_home,
        tmp_path,
        {"artifact_name": ARTIFACT, "artifact_dest": str(dest)},
        global_vars={"cdc_artifact_source": "staged", "cdc_artifact_dir": str(empty_dir)},
        env={"CDC_ARTIFACT_DIR": str(staged_dir)},
    )
    assert result.failed
    msg = result.failure_text
    assert f"{empty_dir.resolve() / entry['file']} is missing" in msg
    assert "make artifacts" in msg
    assert "scripts/stage_artifacts.py stage" in msg
    assert "CDC_ARTIFACT_DIR" in msg
    assert "cdc_artifact_dir" in msg
    assert not dest.exists()


# --- url mode -------------------------------------------------------------------------------------


@dataclass
class Mirror:
    root: Path
    url: str
    requests: list[str]


@pytest.fixture
def mirror(tmp_path) -> Iterator[Mirror]:
    """A static web server on 127.0.0.1 (free port chosen by the kernel) serving tmp_path/mirror."""
    root = tmp_path / "mirror"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def send_head(self):
            requests.append(f"{self.command} {self.path}")
            return super().send_head()

        def log_message(self, format, *args):  # quiet; the requests are recorded in send_head
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="artifact-mirror", daemon=True)
    thread.start()
    try:
        yield Mirror(root=root, url=f"http://{LOOPBACK}:{server.server_address[1]}", requests=requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def url_globals(**extra: Any) -> dict[str, Any]:
    return {"cdc_artifact_source": "url", "cdc_artifact_download_timeout": DOWNLOAD_TIMEOUT_S, **extra}


def test_url_mirror_downloads_verified_file_once(ansible_home, tmp_path, staged_dir, catalog, mirror):
    # An artifact whose upstream checksum is not the lock's (the upstream archive differs from the
    # staged one): the mirror serves the staged bytes, so the lock's sha256 must be the one checked.
    entry = catalog[MIRROR_ARTIFACT]
    assert entry["upstream_checksum"] != f"sha256:{entry['sha256']}"
    source = staged_path(staged_dir, entry)
    (mirror.root / "cdc").mkdir()
    (mirror.root / "cdc" / entry["file"]).symlink_to(source)  # served as is, not copied
    dest = tmp_path / "plugin.tgz"
    role_vars = {"artifact_name": MIRROR_ARTIFACT, "artifact_dest": str(dest), "artifact_mode": "0600"}
    # A trailing slash on the mirror URL must not make a `//` path.
    settings = url_globals(cdc_artifact_mirror_url=f"{mirror.url}/cdc/")

    first = run_role(ansible_home, tmp_path, role_vars, global_vars=settings)
    assert_ok(first)
    assert first.changed == 1
    assert_installed(dest, entry["sha256"], 0o600)
    assert mirror.requests == [f"GET /cdc/{entry['file']}"]

    # The file on the host already has the pinned checksum: nothing downloaded, nothing changed.
    second = run_role(ansible_home, tmp_path, role_vars, global_vars=settings)
    assert_ok(second)
    assert second.changed == 0, second.stats
    assert mirror.requests == [f"GET /cdc/{entry['file']}"]
    assert_installed(dest, entry["sha256"], 0o600)


def test_url_mirror_with_wrong_content_fails_and_writes_nothing(ansible_home, tmp_path, staged_file, entry, mirror):
    bad = corrupt_copy(staged_file, mirror.root / entry["file"])
    dest = tmp_path / "agent.jar"

    result = run_role(
        ansible_home,
        tmp_path,
        {"artifact_name": ARTIFACT, "artifact_dest": str(dest)},
        global_vars=url_globals(cdc_artifact_mirror_url=mirror.url),
    )
    assert result.failed
    assert mirror.requests == [f"GET /{entry['file']}"], "the mirror, not the upstream URL, must be used"
    msg = result.failure_text
    # get_url names the expected digest without its algorithm prefix.
    assert f"did not match {entry['sha256']}" in msg
    assert f"it was {sha256_file(bad)}" in msg
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror", "play-0.yml"]


def test_url_override_installs_an_artifact_the_catalog_cannot_provide(ansible_home, tmp_path, catalog, mirror):
    assert catalog[UNAVAILABLE_ARTIFACT]["status"] == "unavailable"
    payload = mirror.root / "scylla-cdc-source-connector-jar-with-dependencies.jar"
    payload.write_bytes(b"PK\x03\x04 not really a jar, but pinned " + os.urandom(64))
    checksum = sha256_file(payload)
    dest = tmp_path / "connector.jar"

    result = run_role(
        ansible_home,
        tmp_path,
        {"artifact_name": UNAVAILABLE_ARTIFACT, "artifact_dest": str(dest), "artifact_mode": "0644"},
        global_vars=url_globals(
            # The mirror holds only what `make artifacts` staged; an unavailable artifact ignores it.
            cdc_artifact_mirror_url=f"{mirror.url}/nothing-here",
            cdc_artifact_overrides={
                UNAVAILABLE_ARTIFACT: {"url": f"{mirror.url}/{payload.name}", "checksum": f"sha256:{checksum}"}
            },
        ),
    )
    assert_ok(result)
    assert result.changed == 1
    assert mirror.requests == [f"GET /{payload.name}"]
    assert_installed(dest, checksum, 0o644)
