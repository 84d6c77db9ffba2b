"""Decisions of the Kafka Connect modules against an in-memory Connect REST API: what is read, validated,
written and refused, and that check mode predicts exactly what a real run then does."""
# ruff: noqa: S105 - fake secrets are what these tests follow

from __future__ import annotations

import datetime
import importlib
import json
import re
import urllib.parse

import pytest
from ansible_collections.cdc.pipeline.plugins.module_utils import secret_keys as sk
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import secret_argument_values

# test_kafka_connect_utils puts the collection on sys.path, so the modules import after it.
from test_kafka_connect_utils import NOW, URL, FakeClock, kc, offsets_doc, params, scylla_offsets

kafka_connector, kafka_connector_info, connect_offsets = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("kafka_connector", "kafka_connector_info", "connect_offsets")
)

pytestmark = pytest.mark.unit

SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class FakeWorker:
    """A Kafka Connect REST API in memory: connectors, their states, tasks and offsets; records every request.

    State changes take effect at once. `conflicts` makes the next N write requests answer 409 (a rebalance);
    `failing` connectors' tasks are FAILED whenever they run.
    """

    def __init__(self, version="4.4.0", cluster_id="cluster-A"):
        self.version = version
        self.cluster_id = cluster_id
        self.connectors: dict[str, dict] = {}
        self.requests: list[tuple[str, str, object]] = []
        self.conflicts = 0
        self.failing: set[str] = set()
        self.drop_on_patch = 0  # partitions a PATCH "loses" (a read-back that differs)
        self.lagging_reads = 0  # GETs that miss the last partition (an offset store still catching up)

    # -- helpers for tests ---------------------------------------------------------------------------

    def add(self, name, config, state="RUNNING", offsets=None, tasks=1):
        connector_class = config["connector.class"]
        self.connectors[name] = {
            "config": dict(config, name=name),
            "state": state,
            "tasks": tasks,
            "type": "sink" if connector_class == SINK else "source",
            "offsets": {},
        }
        self.set_offsets(name, offsets or [])

    def set_offsets(self, name, offsets):
        self.connectors[name]["offsets"] = {offsets_doc.canonical_json(entry["partition"]): entry for entry in offsets}

    def offsets_of(self, name):
        return offsets_doc.normalise_offsets(list(self.connectors[name]["offsets"].values()))

    def writes(self):
        return [(method, path) for method, path, _body in self.requests if method in WRITES and "validate" not in path]

    def status_of(self, name):
        connector = self.connectors[name]
        state = connector["state"]
        if state == "STOPPED":
            tasks = []
        else:
            task_state = "FAILED" if name in self.failing and state == "RUNNING" else state
            tasks = [
                {"id": i, "state": task_state, "worker_id": "w1:8083"}
                | (
                    {"trace": "org.apache.kafka.connect.errors.ConnectException: boom\n\tat X"}
                    if task_state == "FAILED"
                    else {}
                )
                for i in range(connector["tasks"])
            ]
        return {
            "name": name,
            "connector": {"state": state, "worker_id": "w1:8083"},
            "tasks": tasks,
            "type": connector["type"],
        }

    # -- the transport ---------------------------------------------------------------------------------

    def __call__(self, method, url, data, timeout):
        assert url.startswith(URL)
        path = url[len(URL) :]
        body = json.loads(data) if data else None
        self.requests.append((method, path, body))
        if method in WRITES and "validate" not in path and self.conflicts:
            self.conflicts -= 1
            return self.answer(409, {"error_code": 409, "message": "Cannot complete request: rebalance in progress"})
        status, payload = self.route(method, path, body)
        return self.answer(status, payload)

    @staticmethod
    def answer(status, payload):
        return status, json.dumps(payload).encode() if payload is not None else b""

    def route(self, method, path, body):  # noqa: PLR0911, PLR0912 - one branch per endpoint
        parsed = urllib.parse.urlsplit(path)
        parts = [urllib.parse.unquote(p) for p in parsed.path.strip("/").split("/")] if parsed.path != "/" else []
        if not parts:
            return 200, {"version": self.version, "commit": "c0ffee", "kafka_cluster_id": self.cluster_id}
        if parts[0] == "connector-plugins":
            if len(parts) == 1:
                return 200, [{"class": SOURCE, "type": "source"}, {"class": SINK, "type": "sink"}]
            return self.validate(parts[1], body)
        if parts == ["connectors"] and method == "GET":
            return 200, {
                name: {"status": self.status_of(name), "info": self.info(name)} for name in sorted(self.connectors)
            }
        if parts == ["connectors"] and method == "POST":
            if body["name"] in self.connectors:
                return 409, {"error_code": 409, "message": "Connector %s already exists" % body["name"]}
            self.add(body["name"], body["config"], state=body.get("initial_state", "RUNNING"))
            return 201, self.info(body["name"])
        name = parts[1]
        if name not in self.connectors:
            return 404, {"error_code": 404, "message": "Connector %s not found" % name}
        connector = self.connectors[name]
        action = parts[2] if len(parts) > 2 else None
        if action is None and method == "GET":
            return 200, self.info(name)
        if action is None and method == "DELETE":
            del self.connectors[name]
            return 204, None
        if action == "config" and method == "GET":
            return 200, dict(connector["config"])
        if action == "config" and method == "PUT":
            connector["config"] = dict(body)
            return 200, self.info(name)
        if action == "status":
            return 200, self.status_of(name)
        if action in ("pause", "resume", "stop"):
            connector["state"] = {"pause": "PAUSED", "resume": "RUNNING", "stop": "STOPPED"}[action]
            return 202, None
        if action == "restart":
            return 202, self.status_of(name)
        if action == "offsets":
            return self.offsets(name, method, body)
        return 405, {"error_code": 405, "message": "HTTP 405 Method Not Allowed"}

    def info(self, name):
        connector = self.connectors[name]
        return {"name": name, "config": dict(connector["config"]), "tasks": [], "type": connector["type"]}

    def validate(self, connector_class, body):
        if connector_class not in (SOURCE, SINK):
            return 500, {"error_code": 500, "message": "Failed to find any class that implements Connector"}
        configs = []
        if "tasks.max" in body and not body["tasks.max"].isdigit() or body.get("tasks.max") == "0":
            configs.append({"value": {"name": "tasks.max", "errors": ["Value must be at least 1"]}})
        required = "topic" if connector_class == SOURCE else "topics"
        if required not in body:
            configs.append({"value": {"name": required, "errors": ['Missing required configuration "%s"' % required]}})
        return 200, {"name": connector_class, "error_count": len(configs), "configs": configs}

    def offsets(self, name, method, body):
        connector = self.connectors[name]
        if method == "GET":
            held = list(connector["offsets"].values())  # answer() serialises: a copy
            if self.lagging_reads and held:
                self.lagging_reads -= 1
                held = held[:-1]
            return 200, {"offsets": held}
        if connector["state"] != "STOPPED":
            return 400, {"error_code": 400, "message": "Connectors must be in the STOPPED state"}
        if method == "DELETE":
            connector["offsets"] = {}
            return 200, {"message": "The offsets for this connector have been reset successfully"}
        for entry in body["offsets"][self.drop_on_patch :]:
            key = offsets_doc.canonical_json(entry["partition"])
            if entry["offset"] is None:
                connector["offsets"].pop(key, None)  # a null offset resets that partition
            else:
                connector["offsets"][key] = entry  # PATCH upserts what it lists
        return 200, {"message": "The offsets for this connector have been altered successfully"}


class Module:
    def __init__(self, check_mode=False, **module_params):
        self.params = module_params
        self.check_mode = check_mode
        self.warnings: list[str] = []
        self.no_log_values: set[str] = set()

    def warn(self, text):
        self.warnings.append(text)


def client_for(worker: FakeWorker) -> kc.ConnectClient:
    clock = FakeClock()
    return kc.ConnectClient(params(), transport=worker, sleep=clock.sleep, clock=clock.monotonic)


def source_config(**overrides) -> dict:
    config = {"connector.class": SOURCE, "tasks.max": 1, "file": "/var/lib/in.txt", "topic": "cdc.lines"}
    config.update(overrides)
    return config


def connector_module(check_mode=False, **overrides) -> Module:
    values = params(name="src", state="present", config=None, restart_only_failed=False, wait=True, wait_timeout=30)
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


def run_connector(worker, check_mode=False, **overrides) -> tuple[dict, Module]:
    module = connector_module(check_mode=check_mode, **overrides)
    return kafka_connector.run(module, client_for(worker)), module


# -- kafka_connector -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["present", "running", "paused", "stopped"])
def test_create_in_each_state_validates_first_and_check_mode_writes_nothing(state):
    worker = FakeWorker()
    predicted, _module = run_connector(worker, check_mode=True, state=state, config=source_config())
    assert predicted["changed"] is True
    assert predicted["actions"] == ["create"]
    assert predicted["connector_state"] == kafka_connector.INITIAL_STATE[state]
    assert predicted["diff"]["before"] == {}
    assert worker.writes() == [], "check mode wrote"
    assert any("validate" in path for _m, path, _b in worker.requests), "check mode must validate too"

    applied, _module = run_connector(worker, state=state, config=source_config())
    assert applied["actions"] == ["create"]
    assert applied["connector_state"] == kafka_connector.INITIAL_STATE[state]
    create = [body for method, path, body in worker.requests if method == "POST"]
    assert create == [
        {
            "name": "src",
            "config": {**kafka_connector.normalise_config("src", source_config()), "name": "src"},
            "initial_state": kafka_connector.INITIAL_STATE[state],
        }
    ]
    assert applied["config_changes"]["added"] == sorted(source_config())
    again, _module = run_connector(worker, state=state, config=source_config())
    assert (again["changed"], again["actions"]) == (False, [])


def test_unchanged_connector_is_not_validated_or_written():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()))
    result, _module = run_connector(worker, config=source_config(**{"tasks.max": "1"}))
    assert result["changed"] is False
    assert result["config_changes"] == {"added": [], "changed": [], "removed": []}
    assert "diff" not in result
    assert [m for m, p, _b in worker.requests if "validate" in p or m in WRITES] == []


def test_a_removed_key_is_drift_and_is_gone_after_the_update():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config(**{"batch.size": 100})))
    wanted = source_config(**{"tasks.max": 1})
    predicted, _module = run_connector(worker, check_mode=True, config=wanted)
    assert predicted["changed"] is True
    assert predicted["config_changes"] == {"added": [], "changed": [], "removed": ["batch.size"]}
    assert "batch.size" in predicted["diff"]["before"]["config"]
    assert "batch.size" not in predicted["diff"]["after"]["config"]
    assert worker.writes() == []

    applied, _module = run_connector(worker, config=wanted)
    assert applied["actions"] == ["update_config"]
    assert "batch.size" not in worker.connectors["src"]["config"]
    assert applied["config"] == kafka_connector.normalise_config("src", wanted)
    assert run_connector(worker, config=wanted)[0]["changed"] is False


def test_invalid_config_is_refused_with_each_field_and_nothing_is_written():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()))
    bad = {"connector.class": SOURCE, "tasks.max": 0, "file": "/x"}
    for check_mode in (True, False):
        with pytest.raises(kc.ConnectError) as raised:
            run_connector(worker, check_mode=check_mode, config=bad)
        message = str(raised.value)
        assert "tasks.max: Value must be at least 1" in message
        assert 'topic: Missing required configuration "topic"' in message
        assert "nothing was changed" in message
        assert sorted(raised.value.details["validation_errors"]) == ["tasks.max", "topic"]
    assert worker.writes() == []
    assert worker.connectors["src"]["config"]["tasks.max"] == "1"


def test_unknown_class_lists_the_installed_ones():
    worker = FakeWorker()
    with pytest.raises(kc.ConnectError, match="is the plugin installed.*FileStreamSinkConnector"):
        run_connector(worker, config={"connector.class": "com.example.Missing", "topic": "t"})
    assert worker.writes() == []


def test_literal_secrets_are_masked_hidden_and_warned_about_while_references_show():
    worker = FakeWorker()
    reference = "${directory:/run/cdc-secrets/connect:db-password}"
    config = source_config(**{"db.password": reference, "api.secret": "s3cr3t-literal"})
    result, module = run_connector(worker, config=config)
    assert result["config"]["db.password"] == reference
    assert result["config"]["api.secret"] == sk.MASK
    assert result["diff"]["after"]["config"]["api.secret"] == sk.MASK
    assert "s3cr3t-literal" not in json.dumps(result)
    hidden = secret_argument_values({"config": config}, {"config": {"type": "dict"}})
    assert "s3cr3t-literal" in hidden, "Ansible must mask it in the invocation too"
    assert reference not in hidden
    assert any("api.secret holds a literal secret" in w for w in module.warnings)
    assert worker.connectors["src"]["config"]["api.secret"] == "s3cr3t-literal", "the worker gets the real value"


TRANSITIONS = [
    ("RUNNING", "paused"),
    ("RUNNING", "stopped"),
    ("PAUSED", "running"),
    ("STOPPED", "running"),
    ("STOPPED", "paused"),
    ("PAUSED", "stopped"),
    ("RUNNING", "restarted"),
    ("STOPPED", "restarted"),
    ("RUNNING", "running"),
    ("PAUSED", "paused"),
]


@pytest.mark.parametrize(("current", "state"), TRANSITIONS)
def test_check_mode_predicts_exactly_what_the_run_does(current, state):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), state=current)
    predicted, _module = run_connector(worker, check_mode=True, state=state)
    assert worker.writes() == []
    applied, _module = run_connector(worker, state=state)
    assert predicted["actions"] == applied["actions"]
    assert predicted["changed"] == applied["changed"]
    assert predicted["connector_state"] == applied["connector_state"]
    expected_state = {"running": "RUNNING", "paused": "PAUSED", "stopped": "STOPPED", "restarted": "RUNNING"}[state]
    assert worker.connectors["src"]["state"] == expected_state
    if applied["changed"]:
        assert applied["wait_progress"], "a change is followed by a wait"
    again, _module = run_connector(worker, state=state)
    assert again["changed"] is (state == "restarted"), "only restarted changes on every run"


def test_restart_only_failed_is_a_no_op_when_nothing_failed():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()))
    result, _module = run_connector(worker, state="restarted", restart_only_failed=True)
    assert (result["changed"], worker.writes()) == (False, [])


def test_a_failed_task_fails_the_task_with_its_trace():
    worker = FakeWorker()
    worker.failing.add("src")
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, state="running", config=source_config())
    assert "task 0 FAILED on w1:8083: org.apache.kafka.connect.errors.ConnectException: boom" in str(raised.value)
    assert raised.value.details["failed_parts"][0]["trace"].startswith("org.apache.kafka")
    assert raised.value.details["wait_progress"]


def test_present_reports_failed_tasks_without_touching_them():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()))
    worker.failing.add("src")
    result, module = run_connector(worker, config=source_config())
    assert (result["changed"], worker.writes()) == (False, [])
    assert result["tasks"][0]["trace"].startswith("org.apache.kafka")
    assert any("FAILED" in w for w in module.warnings)


def test_rebalance_409_is_retried_through_the_update():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()))
    worker.conflicts = 2
    result, _module = run_connector(worker, config=source_config(**{"tasks.max": 2}))
    assert result["config_changes"]["changed"] == ["tasks.max"]
    assert worker.connectors["src"]["config"]["tasks.max"] == "2"
    assert [m for m, p in worker.writes()] == ["PUT", "PUT", "PUT"], "two 409s, then the write"


def test_absent_deletes_only_the_named_connector():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()))
    worker.add("other", kafka_connector.normalise_config("other", source_config()))
    predicted, _module = run_connector(worker, check_mode=True, state="absent")
    assert (predicted["changed"], predicted["diff"]["after"]) == (True, {})
    assert sorted(worker.connectors) == ["other", "src"]
    result, _module = run_connector(worker, state="absent")
    assert result["actions"] == ["delete"]
    assert sorted(worker.connectors) == ["other"]
    assert run_connector(worker, state="absent")[0]["changed"] is False


def test_refusals_before_anything_is_read_or_written():
    worker = FakeWorker()
    with pytest.raises(kc.ConnectError, match="does not exist and no config was given"):
        run_connector(worker, state="running")
    with pytest.raises(kc.ConnectError, match="no connector.class"):
        run_connector(worker, config={"topic": "t"})
    with pytest.raises(kc.ConnectError, match="differs from name"):
        run_connector(worker, config=source_config(name="else"))
    old = FakeWorker(version="3.6.2")
    with pytest.raises(kc.ConnectError, match="needs Kafka Connect 3.7"):
        run_connector(old, config=source_config())
    assert worker.writes() == [] and old.writes() == []


# -- kafka_connector_info --------------------------------------------------------------------------


def test_info_reports_state_tasks_traces_and_masked_config():
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config(**{"db.password": "literal-pw"})))
    worker.add("sink", {"connector.class": SINK, "topics": "t", "tasks.max": "2"}, state="PAUSED", tasks=2)
    worker.add("broken", kafka_connector.normalise_config("broken", source_config()))
    worker.failing.add("broken")
    module = Module(**params(name=[]))
    result = kafka_connector_info.run(module, client_for(worker))
    assert result["worker"] == {
        "url": URL,
        "version": "4.4.0",
        "commit": "c0ffee",
        "kafka_cluster_id": "cluster-A",
    }
    by_name = {entry["name"]: entry for entry in result["connectors"]}
    assert [entry["name"] for entry in result["connectors"]] == ["broken", "sink", "src"]
    assert by_name["src"]["config"]["db.password"] == sk.MASK
    assert "literal-pw" not in json.dumps(result)
    assert by_name["sink"]["type"] == "sink"
    assert [t["state"] for t in by_name["sink"]["tasks"]] == ["PAUSED", "PAUSED"]
    assert by_name["broken"]["tasks"][0]["trace"].startswith("org.apache.kafka")
    assert result["summary"] == {"total": 3, "failed": ["broken"], "not_running": ["sink"]}
    assert result["changed"] is False
    assert worker.writes() == []

    filtered = kafka_connector_info.run(Module(**params(name=["src", "nope"])), client_for(worker))
    assert [entry["name"] for entry in filtered["connectors"]] == ["src"]
    assert filtered["missing"] == ["nope"]


# -- connect_offsets ---------------------------------------------------------------------------------


def offsets_module(check_mode=False, **overrides) -> Module:
    values = params(
        name="src",
        state="backup",
        dest=None,
        src=None,
        force=False,
        cdc_log_ttl=86400,
        keep_count=0,
        keep_days=0,
        wait_timeout=30,
    )
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


def run_offsets(worker, check_mode=False, **overrides) -> tuple[dict, Module]:
    module = offsets_module(check_mode=check_mode, **overrides)
    return connect_offsets.run(module, client_for(worker)), module


@pytest.fixture
def fixed_now(monkeypatch):
    """connect_offsets.utc_now, settable: the module's clock for backup times and the TTL check."""
    moments = {"now": NOW}
    monkeypatch.setattr(connect_offsets, "utc_now", lambda: moments["now"])
    return moments


def file_offsets(position: int) -> list[dict]:
    return [{"partition": {"filename": "/var/lib/in.txt"}, "offset": {"position": position}}]


def test_backup_to_a_directory_writes_a_new_file_only_when_something_moved(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(6))
    predicted, _module = run_offsets(worker, check_mode=True, dest=str(tmp_path))
    assert predicted["changed"] is True
    assert list(tmp_path.iterdir()) == [], "check mode wrote a file"

    first, _module = run_offsets(worker, dest=str(tmp_path))
    assert first["path"] == str(tmp_path / "src-20261127T030000Z.json")
    assert (first["partition_count"], first["connector_type"]) == (1, "source")
    path = tmp_path / "src-20261127T030000Z.json"
    assert path.stat().st_mode & 0o777 == 0o600
    document = json.loads(path.read_text())
    assert document["connector"]["class"] == SOURCE
    assert document["kafka_cluster_id"] == "cluster-A"
    assert document["offsets"] == file_offsets(6)

    fixed_now["now"] = NOW + datetime.timedelta(hours=1)
    same, _module = run_offsets(worker, dest=str(tmp_path))
    assert (same["changed"], same["path"], same["created_at"]) == (False, first["path"], "2026-11-27T03:00:00Z")

    worker.set_offsets("src", file_offsets(12))
    moved, _module = run_offsets(worker, dest=str(tmp_path))
    assert moved["changed"] is True
    assert moved["path"] == str(tmp_path / "src-20261127T040000Z.json")
    assert moved["diff"]["before"]["path"] == first["path"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src-20261127T030000Z.json", "src-20261127T040000Z.json"]


def test_backup_to_a_file_replaces_it_and_refuses_a_missing_directory(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(6))
    target = tmp_path / "src.json"
    assert run_offsets(worker, dest=str(target))[0]["changed"] is True
    assert run_offsets(worker, dest=str(target))[0]["changed"] is False
    worker.set_offsets("src", file_offsets(7))
    assert run_offsets(worker, dest=str(target))[0]["changed"] is True
    assert json.loads(target.read_text())["offsets"] == file_offsets(7)
    with pytest.raises(kc.ConnectError, match="its directory does not exist"):
        run_offsets(worker, dest=str(tmp_path / "missing" / "src.json"))
    with pytest.raises(kc.ConnectError, match="no connector nope"):
        run_offsets(worker, name="nope", dest=str(target))


def test_backup_retention_by_count_and_age_touches_only_that_connector(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(1))
    for stamp in ("20261101T000000Z", "20261125T000000Z", "20261126T000000Z"):
        (tmp_path / f"src-{stamp}.json").write_text("{}")
    (tmp_path / "src-other-20261101T000000Z.json").write_text("{}")  # another connector's file
    keep = {"dest": str(tmp_path), "keep_count": 2, "keep_days": 30}
    predicted, _module = run_offsets(worker, check_mode=True, **keep)
    assert predicted["removed"] == [
        str(tmp_path / "src-20261101T000000Z.json"),
        str(tmp_path / "src-20261125T000000Z.json"),
    ]
    assert len(list(tmp_path.iterdir())) == 4, "check mode deleted or wrote"

    result, _module = run_offsets(worker, **keep)
    assert result["removed"] == predicted["removed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "src-20261126T000000Z.json",
        "src-20261127T030000Z.json",
        "src-other-20261101T000000Z.json",
    ]
    again, _module = run_offsets(worker, **keep)
    assert (again["changed"], again["removed"]) == (False, [])
    with pytest.raises(kc.ConnectError, match="apply to a directory dest"):
        run_offsets(worker, dest=str(tmp_path / "one.json"), keep_count=3)


def backup_file(tmp_path, worker, name="src") -> str:
    result, _module = run_offsets(worker, name=name, dest=str(tmp_path))
    return result["path"]


@pytest.mark.parametrize("previous", ["RUNNING", "PAUSED", "STOPPED"])
def test_restore_stops_patches_verifies_and_returns_to_the_previous_state(tmp_path, fixed_now, previous):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), state=previous, offsets=file_offsets(6))
    saved = backup_file(tmp_path, worker)
    worker.set_offsets("src", file_offsets(42) + [{"partition": {"filename": "/old.txt"}, "offset": {"position": 1}}])
    worker.requests.clear()

    predicted, _module = run_offsets(worker, check_mode=True, state="restore", src=saved)
    assert predicted["changed"] is True
    assert predicted["delta"] == {"added": 0, "removed": 1, "changed": 1, "unchanged": 0}
    assert predicted["previous_state"] == previous
    assert worker.writes() == [], "check mode stopped or wrote something"

    result, _module = run_offsets(worker, state="restore", src=saved)
    assert worker.offsets_of("src") == file_offsets(6), "exactly the backup: the extra partition is gone"
    assert worker.connectors["src"]["state"] == previous
    assert result["connector_state"] == previous
    calls = [(m, p.rsplit("/", 1)[-1]) for m, p in worker.writes()]
    expected = [("PUT", "stop")] if previous != "STOPPED" else []
    expected += [("PATCH", "offsets")]  # no DELETE: the extra partition goes by a null offset in the PATCH
    expected += {"RUNNING": [("PUT", "resume")], "PAUSED": [("PUT", "pause")], "STOPPED": []}[previous]
    assert calls == expected

    worker.requests.clear()
    again, _module = run_offsets(worker, state="restore", src=saved)
    assert (again["changed"], worker.writes()) == (False, []), "equal offsets: nothing stopped, nothing written"


def test_restore_refuses_another_connector_class_or_cluster_unless_forced(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(6))
    worker.add("sink", {"connector.class": SINK, "topics": "t"}, offsets=[])
    saved = backup_file(tmp_path, worker)
    with pytest.raises(kc.ConnectError, match="backup is of connector src, not sink.*of class .*FileStreamSource"):
        run_offsets(worker, name="sink", state="restore", src=saved)
    other_cluster = FakeWorker(cluster_id="cluster-B")
    other_cluster.add("src", kafka_connector.normalise_config("src", source_config()), offsets=[])
    with pytest.raises(kc.ConnectError, match="taken on Kafka cluster cluster-A, the workers use cluster-B"):
        run_offsets(other_cluster, state="restore", src=saved)
    assert worker.writes() == [] and other_cluster.writes() == []
    forced, module = run_offsets(other_cluster, state="restore", src=saved, force=True)
    assert forced["changed"] is True
    assert any("cluster-B" in w for w in module.warnings)
    assert other_cluster.offsets_of("src") == file_offsets(6)


def test_restore_refuses_a_source_backup_older_than_the_cdc_log_ttl(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(6))
    saved = backup_file(tmp_path, worker)
    worker.set_offsets("src", file_offsets(9))
    fixed_now["now"] = NOW + datetime.timedelta(days=2)
    worker.requests.clear()
    with pytest.raises(kc.ConnectError, match="older than the CDC log TTL .*reconciliation will be needed"):
        run_offsets(worker, state="restore", src=saved)
    assert worker.writes() == []
    assert worker.offsets_of("src") == file_offsets(9)
    assert run_offsets(worker, state="restore", src=saved, cdc_log_ttl=3 * 86400)[0]["changed"] is True
    worker.set_offsets("src", file_offsets(9))
    forced, module = run_offsets(worker, state="restore", src=saved, force=True)
    assert forced["reconciliation_needed"] is True
    assert any("reconciliation" in w for w in module.warnings)


def test_sink_backups_are_not_held_to_the_cdc_ttl(tmp_path, fixed_now):
    worker = FakeWorker()
    sink_offsets = [{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]
    worker.add("sink", {"connector.class": SINK, "topics": "t"}, offsets=sink_offsets)
    saved = backup_file(tmp_path, worker, name="sink")
    worker.set_offsets("sink", [])
    fixed_now["now"] = NOW + datetime.timedelta(days=30)
    result, _module = run_offsets(worker, name="sink", state="restore", src=saved)
    assert (result["changed"], result["reconciliation_needed"]) == (True, False)
    assert worker.offsets_of("sink") == sink_offsets


def moved_since_backup(tmp_path):
    """A source backed up at position 6 that has since moved to 9: (worker, backup file)."""
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(6))
    saved = backup_file(tmp_path, worker)
    worker.set_offsets("src", file_offsets(9))
    return worker, saved


def test_a_read_back_that_differs_keeps_the_previous_offsets_and_state(tmp_path, fixed_now):
    worker, saved = moved_since_backup(tmp_path)
    worker.drop_on_patch = 1
    with pytest.raises(kc.ConnectError, match="differ from the backup.*no offset was changed.*returned to RUNNING"):
        run_offsets(worker, state="restore", src=saved)
    assert worker.connectors["src"]["state"] == "RUNNING"
    assert worker.offsets_of("src") == file_offsets(9)


def test_a_read_back_that_catches_up_is_not_a_difference(tmp_path, fixed_now):
    worker, saved = moved_since_backup(tmp_path)
    worker.lagging_reads = 3
    result, _module = run_offsets(worker, state="restore", src=saved)
    assert result["changed"] is True
    assert worker.lagging_reads == 0, "the read-back was not asked again"
    assert worker.offsets_of("src") == file_offsets(6)


def test_restore_needs_the_connector_and_a_sound_document(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config()), offsets=file_offsets(6))
    saved = backup_file(tmp_path, worker)
    del worker.connectors["src"]
    with pytest.raises(kc.ConnectError, match="create it first with cdc.pipeline.kafka_connector state=stopped"):
        run_offsets(worker, state="restore", src=saved)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(re.sub(r'"position": 6', '"position": 7', open(saved).read()))
    with pytest.raises(kc.ConnectError, match="offsets_sha256 does not match"):
        run_offsets(worker, state="restore", src=str(damaged))


def test_ten_thousand_partitions_restore_exactly_in_chunks(tmp_path, fixed_now):
    worker = FakeWorker()
    worker.add("scylla", {"connector.class": SOURCE, "topic": "t"}, state="RUNNING", offsets=scylla_offsets(10_000))
    saved = backup_file(tmp_path, worker, name="scylla")
    moved = scylla_offsets(10_000)
    for entry in moved[:2500]:
        entry["offset"]["window_start"] += 60_000
    worker.set_offsets("scylla", offsets_doc.normalise_offsets(moved[:9000]))
    worker.requests.clear()

    result, _module = run_offsets(worker, name="scylla", state="restore", src=saved)
    assert result["partition_count"] == 10_000
    assert result["delta"]["added"] == 1000
    assert offsets_doc.offsets_equal(worker.offsets_of("scylla"), scylla_offsets(10_000))
    patches = [len(body["offsets"]) for method, _path, body in worker.requests if method == "PATCH"]
    assert patches == [2500 + 1000], "only the changed and the added partitions are written"
    assert len(result["diff"]["before"]["offsets"]) == connect_offsets.DIFF_PARTITIONS
    assert worker.connectors["scylla"]["state"] == "RUNNING"
