"""Fixtures shared by the integration tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ansible_home(tmp_path_factory) -> Path:
    """An ansible.cfg and a collection path of our own: the repo's config is not read.

    collections/ansible_collections/cdc/pipeline links to this checkout, so the roles under test
    are the ones in the working tree; the community collections (ansible.posix.json) come from the venv.
    """
    home = tmp_path_factory.mktemp("ansible")
    link = home / "collections" / "ansible_collections" / "cdc" / "pipeline"
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO_ROOT, target_is_directory=True)
    (home / "tmp").mkdir()
    (home / "ansible.cfg").write_text(
        "[defaults]\n"
        f"collections_path = {home / 'collections'}\n"
        f"local_tmp = {home / 'tmp' / 'local'}\n"
        f"remote_tmp = {home / 'tmp' / 'remote'}\n"
        "retry_files_enabled = false\n"
        "gathering = explicit\n"
        "nocows = true\n"
    )
    # The interpreter running pytest (the project venv) on the "managed" side too: interpreter
    # discovery on localhost may find a broken pyenv shim.
    (home / "hosts.ini").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return home
