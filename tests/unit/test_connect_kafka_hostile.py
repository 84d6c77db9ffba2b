"""Hostile input for the Kafka Connect and Kafka modules, against in-memory services: every case is refused
before any write, or rolled back, with one message naming the option; nothing half applied.

The fakes answer like the real services where these cases depend on it: the Connect worker checks the
offsets a PATCH carries (as FileStreamSourceConnector and the sink framework do), a step can be made to
fail mid-apply (a 500 to pause, a task that fails with the new config), and the validate answer carries
each setting's type (STRING, LIST, ...).
"""
# ruff: noqa: S105, S106 - fake passwords are what these tests follow

from __future__ import annotations

import copy
import importlib
import json
import tempfile
import time

import pytest
from ansible_collections.cdc.pipeline.plugins.module_utils import secret_keys as sk

# test_kafka_connect_modules puts the collection on sys.path and holds the fake worker.
from test_kafka_connect_modules import (
    SINK,
    SOURCE,
    FakeWorker,
    backup_file,
    client_for,
    connect_offsets,
    file_offsets,
    kafka_connector,
    kafka_connector_info,
    offsets_doc,
    run_connector,
    run_offsets,
    source_config,
)
from test_kafka_connect_modules import Module as ConnectModule
from test_kafka_connect_utils import NOW, kc, params, scylla_offsets
from test_kafka_modules_logic import FakeAdmin, description, kafka_acl, kafka_topic, topic_module
from test_kafka_utils import ku

pytestmark = pytest.mark.unit

DEFINITIONS = {"topic": "STRING", "topics": "LIST", "file": "STRING", "tasks.max": "INT", "batch.size": "INT"}


@pytest.fixture
def fixed_now(monkeypatch):
    """connect_offsets.utc_now fixed at NOW (backup times and the TTL check)."""
    monkeypatch.setattr(connect_offsets, "utc_now", lambda: NOW)


class HostileWorker(FakeWorker):
    """FakeWorker that checks offsets like the real plugins, fails chosen calls, and types its settings.

    fail: {(method, last path part): [status, ...]}, one answer per call, consumed in order.
    bad_marker: a connector whose config has file=<bad_marker> has FAILED tasks while it runs.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fail: dict[tuple[str, str], list[int]] = {}
        self.bad_marker = "/no/such/file"

    def __call__(self, method, url, data, timeout):
        action = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        answers = self.fail.get((method, action))
        if answers:
            self.requests.append((method, url[len("https://10.0.0.31:8083") :], json.loads(data) if data else None))
            return self.answer(answers.pop(0), {"error_code": 500, "message": "injected failure"})
        return super().__call__(method, url, data, timeout)

    def status_of(self, name):
        status = super().status_of(name)
        config = self.connectors[name]["config"]
        if config.get("file") == self.bad_marker and status["connector"]["state"] == "RUNNING":
            for task in status["tasks"]:
                task.update(state="FAILED", trace="java.io.FileNotFoundException: %s\n\tat X" % self.bad_marker)
        return status

    def validate(self, connector_class, body):
        status, answer = super().validate(connector_class, body)
        if status == 200:
            for key, kind in DEFINITIONS.items():
                answer["configs"].append({"definition": {"name": key, "type": kind}, "value": {"name": key}})
        return status, answer

    def offsets(self, name, method, body):
        if method == "PATCH" and self.connectors[name]["state"] == "STOPPED":
            problem = self.refused_offset(self.connectors[name]["type"], body["offsets"])
            if problem:
                return 400, {"error_code": 400, "message": problem}
        return super().offsets(name, method, body)

    @staticmethod
    def refused_offset(connector_type, entries):
        for entry in entries:
            offset = entry["offset"]
            if offset is None:
                continue
            field = "kafka_offset" if connector_type == "sink" else "position"
            value = offset.get(field) if field in offset else offset.get("window_start", 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return "Offset %s must be a non-negative integer" % field
        return None


def running_source(worker, name="src", offsets=None, state="RUNNING"):
    worker.add(name, kafka_connector.normalise_config(name, source_config()), state=state, offsets=offsets)


def edited_backup(tmp_path, saved, edit, file_name="edited.json") -> str:
    """The backup at saved with edit(document) applied, its count and checksum made to match again."""
    document = json.loads(open(saved).read())
    edit(document)
    document["partition_count"] = len(document["offsets"])
    document["offsets_sha256"] = offsets_doc.sha256_of(document["offsets"])
    path = tmp_path / file_name
    path.write_text(json.dumps(document))
    return str(path)


def one_line_naming(exc: Exception, option: str) -> str:
    message = str(exc)
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert option in message, message
    return message


# -- connect_offsets restore: validated whole before any write ----------------------------------------


def set_position(value):
    def edit(document):
        document["offsets"][0]["offset"]["position"] = value

    return edit


def replace_offset(value):
    def edit(document):
        document["offsets"][0]["offset"] = value

    return edit


def replace_partition(value):
    def edit(document):
        document["offsets"][0]["partition"] = value

    return edit


HOSTILE_SOURCE_BACKUPS = [
    ("negative position", set_position(-1)),
    ("fractional position", set_position(1.5)),
    ("position as text", set_position("12")),
    ("position as true", set_position(True)),
    ("position past a long", set_position(2**63)),
    ("nested offset", set_position({"at": 1})),
    ("list offset", set_position([1])),
    ("other offset key", replace_offset({"pos": 6})),
    ("empty offset", replace_offset({})),
    ("nested partition", replace_partition({"filename": {"x": 1}})),
]


@pytest.mark.parametrize(("case", "edit"), HOSTILE_SOURCE_BACKUPS, ids=[case for case, _ in HOSTILE_SOURCE_BACKUPS])
def test_a_misshapen_source_backup_is_refused_before_any_write(tmp_path, fixed_now, case, edit):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6))
    saved = edited_backup(tmp_path, backup_file(tmp_path, worker), edit)
    worker.set_offsets("src", file_offsets(9))
    worker.requests.clear()
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, state="restore", src=saved)
    one_line_naming(raised.value, "src")
    assert worker.writes() == [], "%s: the connector was stopped or written" % case
    assert worker.offsets_of("src") == file_offsets(9)
    assert worker.connectors["src"]["state"] == "RUNNING"


SINK_OFFSETS = [{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]


@pytest.mark.parametrize(
    ("case", "entry"),
    [
        ("negative offset", {"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": -5}}),
        (
            "negative partition",
            {"partition": {"kafka_topic": "t", "kafka_partition": -1}, "offset": {"kafka_offset": 5}},
        ),
        ("no topic", {"partition": {"kafka_partition": 0}, "offset": {"kafka_offset": 5}}),
        ("offset as text", {"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": "5"}}),
        ("source-shaped", {"partition": {"filename": "/x"}, "offset": {"position": 5}}),
    ],
)
def test_a_misshapen_sink_backup_is_refused_before_any_write(tmp_path, fixed_now, case, entry):
    worker = HostileWorker()
    worker.add("sink", {"connector.class": SINK, "topics": "t"}, offsets=SINK_OFFSETS)
    saved = backup_file(tmp_path, worker, name="sink")

    def edit(document):
        document["offsets"] = [entry]

    hostile = edited_backup(tmp_path, saved, edit)
    worker.set_offsets("sink", [])
    worker.requests.clear()
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, name="sink", state="restore", src=hostile)
    one_line_naming(raised.value, "src")
    assert worker.writes() == [], case
    assert worker.connectors["sink"]["state"] == "RUNNING"


def test_restore_never_resets_and_writes_only_what_changes(tmp_path, fixed_now):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6))
    saved = backup_file(tmp_path, worker)
    extra = {"partition": {"filename": "/old.txt"}, "offset": {"position": 1}}
    worker.set_offsets("src", file_offsets(42) + [extra])
    worker.requests.clear()
    result, _module = run_offsets(worker, state="restore", src=saved)
    assert [(m, p.rsplit("/", 1)[-1]) for m, p in worker.writes()] == [
        ("PUT", "stop"),
        ("PATCH", "offsets"),
        ("PUT", "resume"),
    ], "no DELETE: the offsets are never reset"
    patch = [body for method, _p, body in worker.requests if method == "PATCH"][0]["offsets"]
    assert {"partition": extra["partition"], "offset": None} in patch, "the extra partition is removed by a null"
    assert worker.offsets_of("src") == file_offsets(6)
    assert result["connector_state"] == "RUNNING"


@pytest.mark.parametrize("previous", ["RUNNING", "PAUSED"])
def test_a_patch_the_worker_refuses_leaves_the_previous_offsets_and_state(tmp_path, fixed_now, previous):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6), state=previous)
    saved = backup_file(tmp_path, worker)
    worker.set_offsets("src", file_offsets(9))
    worker.fail[("PATCH", "offsets")] = [500]
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, state="restore", src=saved)
    message = one_line_naming(raised.value, "src")
    assert "no offset was changed" in message, message
    assert "returned to %s" % previous in message, message
    assert worker.offsets_of("src") == file_offsets(9)
    assert worker.connectors["src"]["state"] == previous


def test_a_patch_failing_in_its_second_chunk_puts_the_first_chunk_back(tmp_path, fixed_now):
    worker = HostileWorker()
    worker.add("scylla", {"connector.class": SOURCE, "topic": "t"}, offsets=scylla_offsets(8_000))
    saved = backup_file(tmp_path, worker, name="scylla")
    moved = scylla_offsets(8_000)
    for entry in moved:
        entry["offset"]["window_start"] += 60_000
    worker.set_offsets("scylla", moved)
    before = worker.offsets_of("scylla")
    worker.fail[("PATCH", "offsets")] = []  # first chunk passes

    original = worker.offsets

    def second_chunk_fails(name, method, body, calls=[]):  # noqa: B006 - a counter across calls
        if method == "PATCH":
            calls.append(1)
            if len(calls) == 2:
                return 500, {"error_code": 500, "message": "broker went away"}
        return original(name, method, body)

    worker.offsets = second_chunk_fails
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, name="scylla", state="restore", src=saved)
    message = one_line_naming(raised.value, "src")
    assert "put back" in message, message
    assert offsets_doc.offsets_equal(worker.offsets_of("scylla"), before)
    assert worker.connectors["scylla"]["state"] == "RUNNING"


def test_a_read_back_that_differs_puts_the_previous_offsets_back(tmp_path, fixed_now):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6) + [{"partition": {"filename": "/b"}, "offset": {"position": 2}}])
    saved = backup_file(tmp_path, worker)
    worker.set_offsets("src", file_offsets(9) + [{"partition": {"filename": "/b"}, "offset": {"position": 3}}])
    before = worker.offsets_of("src")
    worker.drop_on_patch = 1  # the worker loses the first partition of the (first) PATCH

    original = worker.offsets

    def drop_once(name, method, body):
        answer = original(name, method, body)
        if method == "PATCH":
            worker.drop_on_patch = 0
        return answer

    worker.offsets = drop_once
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, state="restore", src=saved)
    message = one_line_naming(raised.value, "src")
    assert "differ" in message and "put back" in message, message
    assert worker.offsets_of("src") == before
    assert worker.connectors["src"]["state"] == "RUNNING"


def test_when_the_previous_offsets_cannot_be_put_back_the_connector_stays_stopped(tmp_path, fixed_now):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6) + [{"partition": {"filename": "/b"}, "offset": {"position": 2}}])
    saved = backup_file(tmp_path, worker)
    worker.set_offsets("src", file_offsets(9) + [{"partition": {"filename": "/b"}, "offset": {"position": 3}}])
    worker.drop_on_patch = 1
    worker.fail[("PATCH", "offsets")] = []

    original = worker.offsets

    def undo_fails(name, method, body, calls=[]):  # noqa: B006 - a counter across calls
        if method == "PATCH":
            calls.append(1)
            if len(calls) > 1:
                return 500, {"error_code": 500, "message": "offsets topic unavailable"}
        return original(name, method, body)

    worker.offsets = undo_fails
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, state="restore", src=saved)
    message = one_line_naming(raised.value, "src")
    assert "left STOPPED" in message and "offsets topic unavailable" in message, message
    assert worker.connectors["src"]["state"] == "STOPPED"


def test_restore_of_a_missing_or_oversized_src_names_the_option(tmp_path, fixed_now, monkeypatch):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6))
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, state="restore", src=str(tmp_path / "nope.json"))
    one_line_naming(raised.value, "src")
    big = tmp_path / "big.json"
    big.write_text("{}")
    monkeypatch.setattr(offsets_doc, "MAX_DOCUMENT_BYTES", 1)
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, state="restore", src=str(big))
    one_line_naming(raised.value, "src")
    assert worker.writes() == []


# -- connect_offsets backup --------------------------------------------------------------------------


def test_backup_to_an_unwritable_place_is_one_message(tmp_path, fixed_now, monkeypatch):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6))

    def refused(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    for dest in (tmp_path, tmp_path / "one.json"):
        with pytest.raises(kc.ConnectError) as raised:
            run_offsets(worker, dest=str(dest))
        message = one_line_naming(raised.value, "dest")
        assert "Permission denied" in message
    assert list(tmp_path.iterdir()) == []


def test_check_mode_predicts_the_first_backup_into_a_directory_an_earlier_task_creates(tmp_path, fixed_now):
    worker = HostileWorker()
    running_source(worker, offsets=file_offsets(6))
    dest = tmp_path / "offsets"  # the playbook's directory task has not run: check mode
    result, _module = run_offsets(worker, check_mode=True, dest=str(dest), keep_count=3)
    assert result["changed"] is True
    assert result["path"].startswith(str(dest) + "/src-") and result["path"].endswith(".json")
    assert result["removed"] == []
    assert not dest.exists(), "check mode writes nothing"
    # Without check mode the directory must exist: the same call is refused, naming dest.
    with pytest.raises(kc.ConnectError) as raised:
        run_offsets(worker, dest=str(dest), keep_count=3)
    one_line_naming(raised.value, "dest")


def test_a_hundred_thousand_offsets_back_up_and_restore(tmp_path, fixed_now):
    started = time.process_time()
    worker = HostileWorker()
    worker.add("scylla", {"connector.class": SOURCE, "topic": "t"}, offsets=scylla_offsets(100_000))
    saved = backup_file(tmp_path, worker, name="scylla")
    worker.set_offsets("scylla", scylla_offsets(100_000)[:99_000])
    result, _module = run_offsets(worker, name="scylla", state="restore", src=saved)
    assert result["delta"]["added"] == 1000
    assert offsets_doc.offsets_equal(worker.offsets_of("scylla"), scylla_offsets(100_000))
    assert time.process_time() - started < 60


# -- kafka_connector: rolled back when a step fails after the config was written -------------------


def test_a_pause_that_fails_after_the_config_was_written_puts_the_config_back():
    worker = HostileWorker()
    running_source(worker)
    before = copy.deepcopy(worker.connectors["src"]["config"])
    worker.fail[("PUT", "pause")] = [500]
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, state="paused", config=source_config(**{"tasks.max": 2}))
    message = one_line_naming(raised.value, "config")
    assert "rolled back" in message, message
    assert raised.value.details["applied"] == ["update_config"]
    assert worker.connectors["src"]["config"] == before
    assert worker.connectors["src"]["state"] == "RUNNING"


def test_an_update_that_fails_at_start_puts_the_previous_config_back():
    worker = HostileWorker()
    running_source(worker)
    before = copy.deepcopy(worker.connectors["src"]["config"])
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, state="running", config=source_config(file=worker.bad_marker))
    message = one_line_naming(raised.value, "config")
    assert "FileNotFoundException" in message and "rolled back" in message, message
    assert raised.value.details["failed_parts"], "the trace of the failure is kept"
    assert worker.connectors["src"]["config"] == before
    status = worker.status_of("src")
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]


def test_a_create_that_fails_at_start_is_deleted_again():
    worker = HostileWorker()
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, state="running", config=source_config(file=worker.bad_marker))
    message = one_line_naming(raised.value, "config")
    assert "deleted again" in message, message
    assert "src" not in worker.connectors


def test_a_resume_that_fails_puts_the_stopped_state_back():
    worker = HostileWorker()
    worker.add("src", kafka_connector.normalise_config("src", source_config(file=worker.bad_marker)), state="STOPPED")
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, state="running")
    message = one_line_naming(raised.value, "state")
    assert "STOPPED" in message, message
    assert worker.connectors["src"]["state"] == "STOPPED"


@pytest.mark.parametrize(
    ("config", "key"),
    [
        (source_config(topic=["a", "b"]), "topic"),
        (source_config(file=["/a", "/b"]), "file"),
        (source_config(**{"tasks.max": [1, 2]}), "tasks.max"),
    ],
)
def test_a_list_where_the_plugin_wants_one_value_is_refused(config, key):
    worker = HostileWorker()
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, config=config)
    message = one_line_naming(raised.value, "config key %s" % key)
    assert "list" in message
    assert worker.writes() == []


def test_a_list_for_a_list_setting_is_joined_and_an_element_with_a_comma_is_refused():
    worker = HostileWorker()
    worker.add("sink", {"connector.class": SINK, "topics": "t"})
    result, _module = run_connector(worker, name="sink", config={"connector.class": SINK, "topics": ["a", "b"]})
    assert worker.connectors["sink"]["config"]["topics"] == "a,b"
    assert result["changed"] is True
    with pytest.raises(kc.ConnectError) as raised:
        run_connector(worker, name="sink", config={"connector.class": SINK, "topics": ["a,c", "b"]})
    one_line_naming(raised.value, "config key topics")


HOSTILE_NAMES = [
    "",
    "   ",
    " src",
    "a\nb",
    "a\tb",
    "a\x00b",
    "a\x7fb",
    ".",
    "..",
    "a/b",
    "../x",
    "a%2Fb",
    "a\\b",
    "a?b",
    "a#b",
    "a;b",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n) for n in HOSTILE_NAMES])
def test_a_hostile_connector_name_is_refused_before_any_request(tmp_path, name):
    runs = [
        lambda worker: run_connector(worker, name=name, config=source_config()),
        lambda worker: run_connector(worker, name=name, state="absent"),
        lambda worker: run_offsets(worker, name=name, dest=str(tmp_path)),
        lambda worker: kafka_connector_info.run(ConnectModule(**params(name=["ok", name])), client_for(worker)),
    ]
    for attempt in runs:
        worker = HostileWorker()
        with pytest.raises(kc.ConnectError) as raised:
            attempt(worker)
        one_line_naming(raised.value, "name")
        assert worker.requests == [], "asked the worker about %r" % name


def test_an_html_error_page_becomes_a_short_line():
    page = (
        "<html>\n<head>\n<title>Error 400 Ambiguous URI empty segment</title>\n</head>\n<body><h2>HTTP ERROR 400 "
        "Ambiguous URI empty segment</h2>\n<table>\n<tr><th>URI:</th><td>/badURI</td></tr>"
        + "x" * 5000
        + "</body></html>"
    )
    text = kc.describe_http_error(400, {"_raw": page}, "GET", "/connectors/x", "https://w:8083")
    assert "\n" not in text and "<" not in text and len(text) < 400, text
    assert "Ambiguous URI empty segment" in text


# -- kafka_topic and kafka_acl --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"partitions": 2**31}, "partitions"),
        ({"partitions": 0}, "partitions"),
        ({"replication_factor": 40000}, "replication_factor"),
        ({"replication_factor": 0}, "replication_factor"),
        ({"replication_factor": 3}, "replication_factor"),  # FakeAdmin's cluster has 2 brokers
        ({"name": "a/b"}, "name"),
        ({"name": "a" * 250}, "name"),
        ({"name": "..", "state": "absent"}, "name"),
    ],
)
def test_topic_sizes_and_names_out_of_range_are_refused_before_any_write(overrides, option):
    admin = FakeAdmin()
    with pytest.raises(ku.KafkaModuleError) as raised:
        kafka_topic.run(topic_module(**overrides), admin)
    one_line_naming(raised.value, option)
    assert admin.changes() == []


class FailingAdmin(FakeAdmin):
    """FakeAdmin that applies config changes and ACLs, and fails the operation named in fail_on once."""

    def __init__(self, fail_on, **kwargs):
        super().__init__(**kwargs)
        self.fail_on = fail_on

    def _maybe_fail(self, what, validate_only=False):
        if what == self.fail_on and not validate_only:
            self.fail_on = None
            raise ku.KafkaModuleError("the brokers failed to %s (injected)" % what)

    def add_partitions(self, name, total, validate_only=False):
        super().add_partitions(name, total, validate_only)
        self._maybe_fail("add_partitions", validate_only)

    def alter_topic_configs(self, name, to_set, to_delete, validate_only=False):
        super().alter_topic_configs(name, to_set, to_delete, validate_only)
        self._maybe_fail("alter_topic_configs", validate_only)
        if not validate_only:
            configs = self.configs.setdefault(name, {})
            for key, value in to_set.items():
                configs[key] = {"value": value, "source": "DYNAMIC_TOPIC_CONFIG", "is_sensitive": False}
            for key in to_delete:
                configs.pop(key, None)

    def create_acls(self, acls):
        super().create_acls(acls)
        self._maybe_fail("create_acls")
        self.acls.extend(a for a in acls if a not in self.acls)

    def delete_acls(self, acls):
        super().delete_acls(acls)
        self._maybe_fail("delete_acls")
        self.acls[:] = [a for a in self.acls if a not in acls]


def test_topic_growth_that_fails_after_the_config_change_puts_the_config_back():
    configs = {
        "cdc.events": {"retention.ms": {"value": "1000", "source": "DYNAMIC_TOPIC_CONFIG", "is_sensitive": False}}
    }
    admin = FailingAdmin("add_partitions", topics={"cdc.events": description(2)}, configs=copy.deepcopy(configs))
    with pytest.raises(ku.KafkaModuleError) as raised:
        kafka_topic.run(topic_module(partitions=4, config={"retention.ms": 2000, "segment.ms": 5}), admin)
    message = one_line_naming(raised.value, "partitions")
    assert "put back" in message, message
    assert admin.configs == configs


@pytest.mark.parametrize("fail_on", ["create_acls", "delete_acls"])
def test_acl_changes_that_fail_halfway_are_undone(fail_on):
    old = kafka_acl.normalize_acl(
        {"principal": "User:connect", "resource_type": "topic", "resource_name": "old", "operation": "read"}
    )
    admin = FailingAdmin(fail_on, acls=[old])
    wanted = {"principal": "User:connect", "resource_type": "topic", "resource_name": "new", "operation": "read"}
    module = ConnectModule(**params(acls=[wanted], state="present", exclusive_principals=["User:connect"]))
    with pytest.raises(ku.KafkaModuleError) as raised:
        kafka_acl.run(module, admin)
    message = one_line_naming(raised.value, "acls")
    assert "undone" in message, message
    assert admin.acls == [old]


# -- secrets ----------------------------------------------------------------------------------------


FAMILY = [
    "connect_offsets",
    "kafka_connector",
    "kafka_connector_info",
    "kafka_topic",
    "kafka_acl",
    "kafka_scram_user",
    "kafka_cluster_info",
]


@pytest.mark.parametrize("name", FAMILY)
def test_every_secret_option_is_no_log(name, monkeypatch):
    module = importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    captured = {}

    class Captured(Exception):
        pass

    def capture(argument_spec, **_kwargs):
        captured.update(argument_spec)
        raise Captured

    monkeypatch.setattr(module, "SecretSafeModule", capture)
    with pytest.raises(Captured):
        module.main()

    def walk(spec, where=""):
        for option, definition in spec.items():
            if sk.is_secret_key(option) and definition.get("no_log") is not False:  # False: declared not secret
                assert definition.get("no_log") is True, "%s: option %s%s is not no_log" % (name, where, option)
            walk(definition.get("options") or {}, where + option + ".")

    walk(captured)


def test_a_malformed_nested_option_is_reported_by_its_name():
    from types import SimpleNamespace

    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import argument_error_naming_the_option

    spec = {
        "acls": {"type": "list", "elements": "dict", "options": {"principal": {"type": "str"}}},
        "sasl_password": {"type": "str", "no_log": True},
    }
    result = ArgumentSpecValidator(spec).validate({"acls": "User:x", "sasl_password": "hunter2-Zq7"})
    module = SimpleNamespace(validation_result=result)
    first = result.errors.msg
    assert "acls" not in first, "Ansible's first error names no option (if it does now, this can go)"
    assert "option 'acls'" in argument_error_naming_the_option(module, first)
    assert argument_error_naming_the_option(module, "something else") == "something else"
