# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of scripts/stage_artifacts.py: lock parsing, checksums, deterministic archives,
the layout of a built Kafka distribution and of a Java application (Cassandra), plugin
repackaging, `lock --only`, and the committed lock, manifest and role catalog agreeing with each
other. No network: downloads use file:// URLs, mvn is replaced where a lock step needs it."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from scripts import stage_artifacts as stage  # scripts/ is on pythonpath (pyproject.toml)
from tests.tools.archives import extract_tar

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- helpers


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def fake_jar(path: Path, class_names: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for name in class_names:
            jar.writestr(name.replace(".", "/") + ".class", b"\xca\xfe\xba\xbe")
    return path


def input_item(path: Path, use: str) -> dict:
    return {
        "file": path.name,
        "url": path.as_uri(),
        "sha256": stage.sha256_file(path),
        "size": path.stat().st_size,
        "use": use,
    }


def tar_names(path: Path) -> list[str]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getnames()


def valid_lock() -> dict:
    return {
        "schema": 1,
        "artifacts": {
            "agent": {
                "kind": "file",
                "status": "available",
                "version": "1.0",
                "output": {"file": "agent-1.0.jar", "sha256": "a" * 64, "size": 3},
                "build": {},
                "inputs": [
                    {
                        "file": "agent-1.0.jar",
                        "url": "https://repo.example.invalid/agent-1.0.jar",
                        "sha256": "a" * 64,
                        "use": "file",
                    }
                ],
            },
            "gone": {
                "kind": "connect-plugin",
                "status": "unavailable",
                "reason": "not served",
                "checked": "2026-11-26",
            },
        },
    }


# --------------------------------------------------------------------------- lock parsing


def test_parse_lock_accepts_a_valid_lock() -> None:
    artifacts = stage.parse_lock(valid_lock())
    assert set(artifacts) == {"agent", "gone"}
    assert set(stage.available(artifacts)) == {"agent"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda lock: lock.update(schema=2), "schema"),
        (lambda lock: lock["artifacts"]["agent"]["output"].pop("sha256"), "sha256"),
        (
            lambda lock: lock["artifacts"]["agent"]["inputs"][0].update(sha256="xyz"),
            "sha256",
        ),
        (
            lambda lock: lock["artifacts"]["agent"]["inputs"][0].update(url="http://a/b.jar"),
            "https",
        ),
        (lambda lock: lock["artifacts"]["agent"].update(inputs=[]), "no inputs"),
        (lambda lock: lock["artifacts"]["agent"].update(kind="zip"), "kind"),
    ],
)
def test_parse_lock_rejects_broken_entries(mutate, message: str) -> None:
    lock = valid_lock()
    mutate(lock)
    with pytest.raises(stage.StageError, match=message):
        stage.parse_lock(lock)


def test_committed_lock_parses_and_covers_the_manifest() -> None:
    manifest = stage.load_yaml(stage.MANIFEST_PATH)
    lock = stage.load_yaml(stage.LOCK_PATH)
    artifacts = stage.parse_lock(lock)
    assert [entry["name"] for entry in stage.manifest_entries(manifest)] == list(artifacts)
    assert lock["manifest_sha256"] == stage.data_digest(manifest), (
        "artifacts/manifest.yml changed after the lock was written: run stage_artifacts.py lock"
    )


def test_committed_catalog_matches_the_lock() -> None:
    lock = stage.load_yaml(stage.LOCK_PATH)
    assert stage.load_yaml(stage.CATALOG_PATH) == stage.catalog_from_lock(lock)


def test_committed_kafka_locks_pin_every_jar_and_core_main_classes() -> None:
    artifacts = stage.parse_lock(stage.load_yaml(stage.LOCK_PATH))
    for name in ("kafka-4.4.0", "kafka-4.3.1"):
        entry = artifacts[name]
        files = [item["file"] for item in entry["inputs"]]
        version = entry["version"]
        assert f"kafka_2.13-{version}.jar" in files
        assert f"connect-runtime-{version}.jar" in files
        assert any(f.startswith("log4j-core-") for f in files)
        assert any(f.startswith("log4j-slf4j-impl-") for f in files)
        assert entry["build"]["main_classes"]["kafka-server-start.sh"] == "kafka.Kafka"
        assert all(item["url"].startswith("https://repo1.maven.org/") for item in entry["inputs"])


def test_unavailable_artifact_records_reason_and_date() -> None:
    artifacts = stage.parse_lock(stage.load_yaml(stage.LOCK_PATH))
    scylla = artifacts["scylla-cdc-source-connector"]
    assert scylla["status"] == "unavailable"
    assert scylla["checked"] and "404" in scylla["reason"]


# --------------------------------------------------------------------------- checksums and downloads


def test_require_checksum_rejects_a_corrupted_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jar", b"original bytes")
    expected = stage.sha256_file(path)
    stage.require_checksum(path, expected, "a.jar")
    path.write_bytes(b"original bytez")
    with pytest.raises(stage.ChecksumMismatch, match="expected " + expected):
        stage.require_checksum(path, expected, "a.jar")
    assert not stage.file_matches(path, expected)


def test_download_rejects_a_corrupted_file_and_keeps_nothing(tmp_path: Path) -> None:
    source = write(tmp_path / "upstream" / "lib.jar", b"corrupted in transit")
    dest = tmp_path / "cache" / "lib.jar"
    with pytest.raises(stage.ChecksumMismatch, match="the lock expects"):
        stage.download(source.as_uri(), dest, sha256_bytes(b"what the lock pinned"))
    assert not dest.exists()
    assert not dest.with_name("lib.jar.part").exists()


def test_fetch_pinned_downloads_once_and_replaces_a_corrupted_cache_entry(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "upstream" / "lib.jar", b"jar bytes")
    item = input_item(source, "lib")
    cache = tmp_path / "cache"
    path, reused = stage.fetch_pinned(item, cache)
    assert (reused, path.read_bytes()) == (False, b"jar bytes")
    assert stage.fetch_pinned(item, cache) == (path, True)
    path.write_bytes(b"bit rot")
    path2, reused = stage.fetch_pinned(item, cache)
    assert (path2, reused, path2.read_bytes()) == (path, False, b"jar bytes")


# --------------------------------------------------------------------------- deterministic tar


def sample_tree(root: Path) -> dict:
    jar = write(root / "libs" / "x.jar", b"jar")
    return {
        "top/libs/x.jar": stage.Member(path=jar),
        "top/bin/run.sh": stage.Member(data=b"#!/bin/sh\n", mode=0o755),
        "top/config/a.yaml": stage.Member(data=b"a: 1\n"),
    }


def test_deterministic_tgz_same_input_same_sha256(tmp_path: Path) -> None:
    tree = sample_tree(tmp_path / "src")
    first, second = tmp_path / "1.tgz", tmp_path / "2.tgz"
    stage.write_deterministic_tgz(tree, first)
    jar = tmp_path / "src" / "libs" / "x.jar"
    os.utime(jar, (1_000_000, 1_000_000))
    jar.chmod(0o600)
    stage.write_deterministic_tgz(dict(reversed(list(tree.items()))), second)
    assert stage.sha256_file(first) == stage.sha256_file(second)


def test_deterministic_tgz_normalizes_metadata(tmp_path: Path) -> None:
    out = tmp_path / "out.tgz"
    stage.write_deterministic_tgz(sample_tree(tmp_path / "src"), out)
    with tarfile.open(out, "r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {"top", "top/bin", "top/config", "top/libs"} <= set(names)
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and not m.uname for m in members)
    modes = {m.name: m.mode for m in members}
    assert modes["top/bin/run.sh"] == 0o755 and modes["top/config/a.yaml"] == 0o644
    assert out.read_bytes()[4:8] == b"\0\0\0\0", "gzip header mtime must be 0"


def test_different_content_gives_a_different_sha256(tmp_path: Path) -> None:
    tree = sample_tree(tmp_path / "src")
    stage.write_deterministic_tgz(tree, tmp_path / "1.tgz")
    tree["top/config/a.yaml"] = stage.Member(data=b"a: 2\n")
    stage.write_deterministic_tgz(tree, tmp_path / "2.tgz")
    assert stage.sha256_file(tmp_path / "1.tgz") != stage.sha256_file(tmp_path / "2.tgz")


# --------------------------------------------------------------------------- Kafka distribution


CORE_CLASSES = [
    "kafka.Kafka",
    "kafka.tools.StorageTool",
    "org.apache.kafka.connect.cli.ConnectDistributed",
    "org.apache.kafka.tools.TopicCommand",
]


def test_choose_main_classes_takes_the_first_candidate_present() -> None:
    chosen = stage.choose_main_classes(set(CORE_CLASSES) | {"org.apache.kafka.tools.StorageTool"})
    assert chosen["kafka-storage.sh"] == "kafka.tools.StorageTool"
    assert set(chosen) == stage.REQUIRED_KAFKA_TOOLS
    only_new = set(CORE_CLASSES) - {"kafka.tools.StorageTool"} | {"org.apache.kafka.tools.StorageTool"}
    assert stage.choose_main_classes(only_new)["kafka-storage.sh"] == "org.apache.kafka.tools.StorageTool"


def test_choose_main_classes_requires_the_core_tools() -> None:
    with pytest.raises(stage.StageError, match="kafka-server-start.sh"):
        stage.choose_main_classes(set(CORE_CLASSES) - {"kafka.Kafka"})


@pytest.fixture
def built_distribution(tmp_path: Path) -> Path:
    jars = [
        fake_jar(tmp_path / "m2" / "kafka_2.13-9.9.9.jar", CORE_CLASSES[:2]),
        fake_jar(tmp_path / "m2" / "connect-runtime-9.9.9.jar", CORE_CLASSES[2:3]),
        fake_jar(tmp_path / "m2" / "kafka-tools-9.9.9.jar", CORE_CLASSES[3:]),
    ]
    inputs = [input_item(jar, "lib") for jar in jars]
    entry = {
        "kind": "kafka-distribution",
        "inputs": inputs,
        "output": {"file": "kafka_2.13-9.9.9.tgz"},
        "build": {
            "top_dir": "kafka_2.13-9.9.9",
            "main_classes": stage.choose_main_classes(stage.classes_in_jars(jars)),
        },
    }
    paths = {item["sha256"]: jar for item, jar in zip(inputs, jars, strict=True)}
    part = stage.build_output(entry, paths, tmp_path)
    extracted = tmp_path / "extracted"
    extract_tar(part, extracted)
    return extracted / "kafka_2.13-9.9.9"


def test_distribution_is_laid_out_like_apaches_tarball(
    built_distribution: Path,
) -> None:
    home = built_distribution
    assert sorted(p.name for p in (home / "libs").iterdir()) == [
        "connect-runtime-9.9.9.jar",
        "kafka-tools-9.9.9.jar",
        "kafka_2.13-9.9.9.jar",
    ]
    for script in [*stage.REQUIRED_KAFKA_TOOLS, "kafka-run-class.sh"]:
        assert os.access(home / "bin" / script, os.X_OK), script
    for name in ("log4j2.yaml", "connect-log4j2.yaml", "tools-log4j2.yaml"):
        assert "Configuration" in yaml.safe_load((home / "config" / name).read_text())
    assert "process.roles=broker,controller" in (home / "config" / "server.properties").read_text()
    assert "kafka_2.13-9.9.9.jar" in (home / "MAVEN-SOURCES.txt").read_text()


def test_wrappers_run_their_main_class_with_libs_on_the_class_path(
    built_distribution: Path,
) -> None:
    bin_dir = built_distribution / "bin"
    assert 'exec "$bin_dir/kafka-run-class.sh" kafka.Kafka "$@"' in (bin_dir / "kafka-server-start.sh").read_text()
    assert "log4j2.yaml" in (bin_dir / "kafka-server-start.sh").read_text()
    assert "connect-log4j2.yaml" in (bin_dir / "connect-distributed.sh").read_text()
    assert 'class_path="$base_dir/libs/*"' in (bin_dir / "kafka-run-class.sh").read_text()
    for script in bin_dir.iterdir():
        subprocess.run(["sh", "-n", str(script)], check=True)


def test_server_start_without_arguments_prints_usage(built_distribution: Path) -> None:
    result = subprocess.run(
        [str(built_distribution / "bin" / "kafka-server-start.sh")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "usage:" in result.stderr


# --------------------------------------------------------------------------- plugin and wheel


def upstream_plugin(path: Path) -> Path:
    files = {
        "plugin/README.md": b"readme",
        "plugin/connector-1.0.jar": b"connector",
        "plugin/postgresql-42.7.11.jar": b"old driver",
        "plugin/mysql-connector-j-9.1.0.jar": b"mysql",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def test_connect_plugin_is_repackaged_with_the_replacement_driver(
    tmp_path: Path,
) -> None:
    base = upstream_plugin(tmp_path / "up" / "plugin.tar.gz")
    driver = write(tmp_path / "up" / "postgresql-42.7.14.jar", b"new driver")
    inputs = [input_item(base, "base"), input_item(driver, "add")]
    entry = {
        "kind": "connect-plugin",
        "inputs": inputs,
        "output": {"file": "plugin.tgz"},
        "build": {
            "top_dir": "plugin",
            "remove": ["postgresql-*.jar", "mysql-connector-j-*.jar"],
        },
    }
    paths = {inputs[0]["sha256"]: base, inputs[1]["sha256"]: driver}
    part = stage.build_output(entry, paths, tmp_path)
    assert tar_names(part) == [
        "plugin",
        "plugin/CDC-PIPELINE-STAGED.txt",
        "plugin/README.md",
        "plugin/connector-1.0.jar",
        "plugin/postgresql-42.7.14.jar",
    ]


def test_connect_plugin_rejects_members_outside_the_top_dir(tmp_path: Path) -> None:
    base = upstream_plugin(tmp_path / "plugin.tar.gz")
    with pytest.raises(stage.StageError, match="outside"):
        stage.read_plugin_archive(base, "other", [])


def test_wheel_binary_is_extracted_with_its_mode(tmp_path: Path) -> None:
    wheel = tmp_path / "tool-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tool-1.0.data/purelib/tool/bin/tool", b"\x7fELF binary")
        archive.writestr("tool/__init__.py", b"")
    item = input_item(wheel, "wheel")
    entry = {
        "kind": "wheel-binary",
        "inputs": [item],
        "output": {"file": "tool-1.0", "mode": "0755"},
        "build": {"member": "tool/bin/tool"},
    }
    part = stage.build_output(entry, {item["sha256"]: wheel}, tmp_path)
    assert part.read_bytes() == b"\x7fELF binary"
    assert part.stat().st_mode & 0o777 == 0o755


def test_coordinates_map_to_maven_repository_urls() -> None:
    plugin = stage.Coordinates.parse("io.debezium:debezium-connector-jdbc:3.6.0.Final:tar.gz:plugin")
    assert plugin.url("https://repo1.maven.org/maven2/") == (
        "https://repo1.maven.org/maven2/io/debezium/debezium-connector-jdbc/3.6.0.Final/"
        "debezium-connector-jdbc-3.6.0.Final-plugin.tar.gz"
    )
    assert stage.Coordinates.parse("org.postgresql:postgresql:42.7.14").file_name == "postgresql-42.7.14.jar"
    with pytest.raises(stage.StageError):
        stage.Coordinates.parse("org.postgresql:postgresql")


# --------------------------------------------------------------------------- stage and verify


def file_lock(tmp_path: Path, output_sha256: str | None = None) -> dict:
    source = write(tmp_path / "upstream" / "agent-1.0.jar", b"agent bytes")
    item = input_item(source, "file")
    lock = valid_lock()
    agent = lock["artifacts"]["agent"]
    agent["inputs"] = [item]
    agent["output"]["sha256"] = output_sha256 or item["sha256"]
    return lock["artifacts"]


def test_stage_builds_then_reuses_and_reports_unavailable(tmp_path: Path, capsys) -> None:
    artifacts = file_lock(tmp_path)
    out_dir = tmp_path / "staged"
    first = {row.name: row for row in stage.stage(artifacts, out_dir, jobs=2)}
    assert first["agent"].status == "built (1 downloaded)"
    assert first["gone"].status.startswith("not staged: unavailable")
    second = {row.name: row for row in stage.stage(artifacts, out_dir, jobs=2)}
    assert second["agent"].status == "reused"
    assert second["agent"].sha256 == first["agent"].sha256
    assert (out_dir / "SHA256SUMS").read_text() == f"{first['agent'].sha256}  agent-1.0.jar\n"
    assert "not staged: unavailable" in capsys.readouterr().out


def test_stage_fails_when_the_built_output_does_not_match(tmp_path: Path) -> None:
    artifacts = file_lock(tmp_path, output_sha256="b" * 64)
    out_dir = tmp_path / "staged"
    with pytest.raises(stage.ChecksumMismatch, match="the lock"):
        stage.stage(artifacts, out_dir, jobs=1)
    assert not (out_dir / "agent-1.0.jar").exists()
    assert (out_dir / "agent-1.0.jar.mismatch").exists()


def test_verify_reports_missing_and_corrupted_outputs(tmp_path: Path) -> None:
    artifacts = file_lock(tmp_path)
    out_dir = tmp_path / "staged"
    _verified, errors = stage.verify_outputs(artifacts, out_dir)
    assert len(errors) == 1 and "missing" in errors[0] and "make artifacts" in errors[0]
    stage.stage(artifacts, out_dir, jobs=1)
    assert stage.verify_outputs(artifacts, out_dir)[1] == []
    (out_dir / "agent-1.0.jar").write_bytes(b"tampered")
    _verified, errors = stage.verify_outputs(artifacts, out_dir)
    assert len(errors) == 1 and "the lock expects" in errors[0]


def test_verify_command_exits_non_zero_on_a_mismatch(tmp_path: Path, capsys) -> None:
    lock_path = tmp_path / "lock.yml"
    lock_path.write_text(yaml.safe_dump(valid_lock()))
    write(tmp_path / "staged" / "agent-1.0.jar", b"not what the lock says")
    argv = ["--artifact-dir", str(tmp_path / "staged"), "--lock", str(lock_path)]
    argv += [
        "--manifest",
        str(tmp_path / "none.yml"),
        "--catalog",
        str(tmp_path / "none.yml"),
    ]
    assert stage.main([*argv, "verify"]) == 1
    assert "the lock expects" in capsys.readouterr().err


def test_artifact_dir_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CDC_ARTIFACT_DIR", str(tmp_path))
    assert stage.artifact_dir_from(None) == tmp_path.resolve()
    monkeypatch.delenv("CDC_ARTIFACT_DIR")
    assert stage.artifact_dir_from(None) == REPO_ROOT / ".cache" / "artifacts"


# --------------------------------------------------------------------------- Java application (Cassandra)


def test_committed_cassandra_lock_pins_the_closure_and_its_main_class() -> None:
    entry = stage.parse_lock(stage.load_yaml(stage.LOCK_PATH))["cassandra-5.0.9"]
    assert entry["kind"] == "java-application"
    assert entry["build"] == {
        "top_dir": "cassandra-5.0.9",
        "main_class": "org.apache.cassandra.service.CassandraDaemon",
    }
    files = [item["file"] for item in entry["inputs"]]
    assert "cassandra-all-5.0.9.jar" in files
    assert any(f.startswith("jamm-") for f in files)  # the agent tests/tools/cassandra_server.py loads
    assert all(item["use"] == "lib" for item in entry["inputs"])
    assert all(item["url"].startswith("https://repo1.maven.org/") for item in entry["inputs"])


def java_application_entry(tmp_path: Path) -> tuple[dict, dict]:
    jars = [
        fake_jar(tmp_path / "m2" / "app-1.0.jar", ["org.example.Main"]),
        fake_jar(tmp_path / "m2" / "dep-2.0.jar", ["org.example.dep.Util"]),
    ]
    inputs = [input_item(jar, "lib") for jar in jars]
    entry = {
        "kind": "java-application",
        "inputs": inputs,
        "output": {"file": "app-1.0-lib.tgz"},
        "build": {"top_dir": "app-1.0", "main_class": "org.example.Main"},
    }
    return entry, {item["sha256"]: jar for item, jar in zip(inputs, jars, strict=True)}


def test_java_application_is_its_jars_in_lib_and_the_provenance(tmp_path: Path) -> None:
    entry, paths = java_application_entry(tmp_path)
    part = stage.build_output(entry, paths, tmp_path)
    assert tar_names(part) == [
        "app-1.0",
        "app-1.0/MAVEN-SOURCES.txt",
        "app-1.0/lib",
        "app-1.0/lib/app-1.0.jar",
        "app-1.0/lib/dep-2.0.jar",
    ]
    with tarfile.open(part, "r:gz") as tar:
        sources = tar.extractfile("app-1.0/MAVEN-SOURCES.txt").read().decode()
    assert "org.example.Main" in sources and "dep-2.0.jar" in sources
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    assert stage.sha256_file(stage.build_output(entry, paths, again_dir)) == stage.sha256_file(part)


def test_lock_java_application_requires_its_main_class(tmp_path: Path, monkeypatch) -> None:
    entry, paths = java_application_entry(tmp_path)
    jars = list(paths.values())
    monkeypatch.setattr(stage, "pin_maven_closure", lambda spec, repository, cache_dir: (entry["inputs"], jars))
    spec = {"name": "app", "main_class": "org.example.Main", "top_dir": "app-1.0", "upstream": {"note": "n"}}
    locked = stage.lock_java_application(spec, "https://repo.example.invalid", tmp_path)
    assert locked["build"] == {"top_dir": "app-1.0", "main_class": "org.example.Main"}
    assert locked["upstream"] == {"url": None, "checksum": None, "note": "n"}
    with pytest.raises(stage.StageError, match="main class org.example.Missing is in none"):
        stage.lock_java_application(dict(spec, main_class="org.example.Missing"), "https://x.invalid", tmp_path)


def test_manifest_java_application_needs_a_main_class() -> None:
    spec = {
        "name": "app",
        "kind": "java-application",
        "version": "1.0",
        "output": "app-1.0-lib.tgz",
        "top_dir": "app-1.0",
        "maven": ["org.example:app:1.0"],
    }
    with pytest.raises(stage.StageError, match="app: missing main_class"):
        stage.check_manifest_entry(spec)
    stage.check_manifest_entry(dict(spec, main_class="org.example.Main"))


# --------------------------------------------------------------------------- lock --only


def small_manifest() -> dict:
    return {
        "schema": 1,
        "maven_repository": "https://repo.example.invalid/maven2",
        "pypi_simple_index": "https://pypi.example.invalid/simple",
        "artifacts": [
            {"name": "agent", "kind": "file", "version": "1.0", "output": "agent-1.0.jar", "maven": "a:agent:1.0"},
            {"name": "new", "kind": "file", "version": "2.0", "output": "new-2.0.jar", "maven": "a:new:2.0"},
        ],
    }


def previous_lock() -> dict:
    lock = valid_lock()
    lock["built_with"] = stage.current_build_tools()
    return lock


def test_lock_only_resolves_the_named_entries_and_keeps_the_others(tmp_path: Path, monkeypatch) -> None:
    resolved = []

    def lock_entry(spec, manifest, cache_dir):
        resolved.append(spec["name"])
        return {"kind": "file", "status": "available", "version": "2.0", "output": {"file": spec["output"]}}

    monkeypatch.setattr(stage, "lock_entry", lock_entry)
    monkeypatch.setattr(stage, "record_output", lambda name, entry, cache_dir, artifact_dir: None)
    manifest, previous = small_manifest(), previous_lock()
    lock = stage.build_lock(manifest, tmp_path, only=["new"], previous=previous)
    assert resolved == ["new"]
    assert list(lock["artifacts"]) == ["agent", "new"]
    assert lock["artifacts"]["agent"] == previous["artifacts"]["agent"]
    assert lock["manifest_sha256"] == stage.data_digest(manifest)


@pytest.mark.parametrize(
    ("only", "mutate", "message"),
    [
        (["nope"], lambda lock: None, "--only nope: not in the manifest"),
        (["new"], lambda lock: lock["artifacts"].pop("agent"), "agent is not in the current lock"),
        (["new"], lambda lock: lock.update(built_with={"python": "3.0", "zlib": "0"}), "run lock without --only"),
    ],
)
def test_lock_only_refuses_what_it_cannot_keep(tmp_path: Path, only, mutate, message: str) -> None:
    previous = previous_lock()
    mutate(previous)
    with pytest.raises(stage.StageError, match=message):
        stage.build_lock(small_manifest(), tmp_path, only=only, previous=previous)
