# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/shared_folder.py: the shared folder beside a checkout, or beside the one a clone came from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts import shared_folder  # scripts/ is on pythonpath (pyproject.toml)
from scripts import stage_artifacts as stage

pytestmark = pytest.mark.unit

VENDOR = Path("shared/vendor")


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_beside_the_checkout_comes_first(tmp_path):
    repo = tmp_path / "work" / "main"
    repo.mkdir(parents=True)
    assert shared_folder.candidates(repo, VENDOR)[0] == tmp_path / "work" / VENDOR


def test_a_clone_elsewhere_finds_the_folder_beside_its_origin(tmp_path, monkeypatch):
    origin = tmp_path / "work" / "main"
    (tmp_path / "work" / VENDOR).mkdir(parents=True)
    git("init", "-q", str(origin))
    clone = tmp_path / "ci" / "clone"
    git("init", "-q", str(clone))
    existing = [p for p in shared_folder.candidates(clone, VENDOR) if p.is_dir()]
    assert existing == []  # the negative control: without an origin nothing is found
    git("-C", str(clone), "remote", "add", "origin", str(origin))
    assert [p for p in shared_folder.candidates(clone, VENDOR) if p.is_dir()] == [tmp_path / "work" / VENDOR]
    monkeypatch.setattr(stage, "REPO_ROOT", clone)
    monkeypatch.delenv("CDC_VENDOR_DIR", raising=False)
    assert stage.vendor_dir_from() == tmp_path / "work" / VENDOR


@pytest.mark.parametrize("url", ["https://github.com/x/y.git", "git@github.com:x/y.git", "ssh://host/x"])
def test_a_remote_origin_is_not_a_place_to_look(tmp_path, url):
    git("init", "-q", str(tmp_path / "clone"))
    git("-C", str(tmp_path / "clone"), "remote", "add", "origin", url)
    assert shared_folder.origin_checkout(tmp_path / "clone") is None


def test_the_named_folder_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CDC_VENDOR_DIR", str(tmp_path))
    assert stage.vendor_dir_from() == tmp_path.resolve()
