# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the `vendored` kind of scripts/stage_artifacts.py: a file no registry serves, read
from the vendor folder ($CDC_VENDOR_DIR), pinned by the manifest's sha256 and staged unchanged
(the ScyllaDB CDC source connector plugin archive). No network."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scripts import stage_artifacts as stage  # scripts/ is on pythonpath (pyproject.toml)

pytestmark = pytest.mark.unit

PAYLOAD = b"PK\x03\x04 a plugin archive, as far as staging cares"
RELATIVE = "connector/plugin-1.0.zip"


@pytest.fixture
def vendor_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "vendor"
    (folder / "connector").mkdir(parents=True)
    (folder / RELATIVE).write_bytes(PAYLOAD)
    monkeypatch.setenv("CDC_VENDOR_DIR", str(folder))
    return folder


def spec(sha256: str | None = None) -> dict:
    return {
        "name": "plugin",
        "kind": "vendored",
        "version": "1.0",
        "vendored": RELATIVE,
        "sha256": sha256 or hashlib.sha256(PAYLOAD).hexdigest(),
        "output": "plugin-1.0.zip",
        "top_dir": "plugin-1.0",
        "upstream": {"url": None, "checksum": None, "note": "set the override"},
    }


def locked(tmp_path: Path) -> dict:
    entry = stage.lock_entry(spec(), {"maven_repository": "https://repo.example.invalid"}, tmp_path / "cache")
    stage.record_output("plugin", entry, tmp_path / "cache", tmp_path)
    return {"plugin": entry}


def test_manifest_entry_needs_the_path_and_the_checksum() -> None:
    stage.check_manifest_entry(spec())
    incomplete = spec()
    del incomplete["sha256"]
    with pytest.raises(stage.StageError, match="missing sha256"):
        stage.check_manifest_entry(incomplete)


def test_lock_pins_the_vendored_file_by_the_manifest_checksum(tmp_path: Path, vendor_dir: Path) -> None:
    artifacts = locked(tmp_path)
    entry = artifacts["plugin"]
    assert entry["inputs"] == [
        {
            "file": "plugin-1.0.zip",
            "vendored": RELATIVE,
            "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
            "use": "vendored",
            "size": len(PAYLOAD),
        }
    ]
    assert entry["build"] == {"top_dir": "plugin-1.0"}
    assert entry["output"]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest(), "staged unchanged"
    stage.check_lock_entry("plugin", entry)
    catalog = stage.catalog_from_lock({"artifacts": artifacts})["artifact_catalog"]["plugin"]
    assert catalog["top_dir"] == "plugin-1.0" and catalog["upstream_url"] is None


def test_lock_refuses_a_vendored_file_with_other_bytes(tmp_path: Path, vendor_dir: Path) -> None:
    with pytest.raises(stage.ChecksumMismatch, match="differs from the manifest"):
        stage.lock_entry(spec("0" * 64), {"maven_repository": "https://x.invalid"}, tmp_path / "cache")


@pytest.mark.parametrize("bad", ["/abs/plugin.zip", "../outside/plugin.zip"])
def test_lock_entry_refuses_a_path_outside_the_vendor_folder(tmp_path: Path, vendor_dir: Path, bad: str) -> None:
    entry = locked(tmp_path)["plugin"]
    entry["inputs"][0]["vendored"] = bad
    with pytest.raises(stage.StageError, match="relative to the vendor folder"):
        stage.check_lock_entry("plugin", entry)


def test_stage_copies_then_reuses(tmp_path: Path, vendor_dir: Path) -> None:
    artifacts = locked(tmp_path)
    out_dir = tmp_path / "staged"
    first = {row.name: row for row in stage.stage(artifacts, out_dir, jobs=1)}
    assert first["plugin"].status == "built (cache)"
    assert (out_dir / "plugin-1.0.zip").read_bytes() == PAYLOAD
    second = {row.name: row for row in stage.stage(artifacts, out_dir, jobs=1)}
    assert second["plugin"].status == "reused"
    rows, errors = stage.verify_outputs(artifacts, out_dir)
    assert errors == [] and rows[0].status == "ok"


def test_stage_without_the_vendor_folder_reports_not_staged(
    tmp_path: Path, vendor_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    artifacts = locked(tmp_path)
    monkeypatch.setenv("CDC_VENDOR_DIR", str(tmp_path / "no-such-folder"))
    rows = stage.stage(artifacts, tmp_path / "staged", jobs=1)
    assert rows[0].status == "not staged: vendored file missing"
    assert not (tmp_path / "staged" / "plugin-1.0.zip").exists()
    assert "no-such-folder" in capsys.readouterr().err
    rows, errors = stage.verify_outputs(artifacts, tmp_path / "staged")
    assert errors == [] and rows[0].status == "not staged: vendored file missing"


def test_stage_fails_on_a_changed_vendored_file(tmp_path: Path, vendor_dir: Path) -> None:
    artifacts = locked(tmp_path)
    (vendor_dir / RELATIVE).write_bytes(PAYLOAD + b"!")
    with pytest.raises(stage.ChecksumMismatch, match="vendored plugin-1.0.zip"):
        stage.stage(artifacts, tmp_path / "staged", jobs=1)
    assert not (tmp_path / "staged" / "plugin-1.0.zip").exists()


def test_the_committed_lock_stages_the_connector_archive_from_the_vendor_folder() -> None:
    entry = stage.parse_lock(stage.load_yaml(stage.LOCK_PATH))["scylla-cdc-source-connector-plugin"]
    assert entry["kind"] == "vendored"
    assert entry["inputs"][0]["vendored"].startswith("scylla-cdc-source-connector/")
    # The sha256 PROVENANCE.md states for the archive built from the upstream sources.
    assert entry["output"]["sha256"] == "306ad0965b07ec5f44b1a59875cec86dcb2596818ad48cf01353a081749a90cf"
    assert entry["upstream"]["url"] is None and entry["upstream"]["checksum"] is None, "no default in url mode"
