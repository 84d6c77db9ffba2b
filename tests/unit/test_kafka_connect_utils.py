"""Pure logic of the Kafka Connect modules: connection checks, error wording, 409 retry, config drift and
masking, state plans and waits, offsets documents (a 10,000-partition one included)."""

from __future__ import annotations

import datetime
import http.client
import importlib
import json
import random
import socket
import ssl
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit


# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.

from ansible_collections.cdc.pipeline.plugins.module_utils import connect_offsets_document as offsets_doc  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils import kafka_connect as kc  # noqa: E402

kafka_connector = importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules.kafka_connector")

URL = "https://10.0.0.31:8083"
SOURCE_CLASS = "com.scylladb.cdc.debezium.connector.ScyllaConnector"
NOW = datetime.datetime(2026, 11, 27, 3, 0, 0, tzinfo=datetime.UTC)


def params(**overrides) -> dict:
    base = {
        "url": URL,
        "ca_cert": None,
        "client_cert": None,
        "client_key": None,
        "validate_certs": True,
        "timeout": 30,
    }
    base.update(overrides)
    return base


class FakeClock:
    """time.monotonic and time.sleep for code under test: sleeping advances the clock, nothing waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedTransport:
    """Answers each request with the next (status, body) of a script; the last one repeats."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[tuple[str, str, object]] = []

    def __call__(self, method, url, data, timeout):
        self.requests.append((method, url, json.loads(data) if data else None))
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return status, json.dumps(body).encode() if body is not None else b""


def client_with(transport, clock=None) -> kc.ConnectClient:
    clock = clock or FakeClock()
    return kc.ConnectClient(params(), transport=transport, sleep=clock.sleep, clock=clock.monotonic)


# -- connection options ----------------------------------------------------------------------------


def test_argument_spec_matches_the_doc_fragment():
    from ansible_collections.cdc.pipeline.plugins.doc_fragments.kafka_connect import ModuleDocFragment

    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = kc.connection_argument_spec()
    assert sorted(spec) == sorted(documented)
    for name, option in spec.items():
        assert option["type"] == documented[name]["type"], name
        assert option.get("default") == documented[name].get("default"), name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "10.0.0.31:8083"}, "https://<worker>:8083"),
        ({"url": "https://10.0.0.31:8083/connectors"}, "no path"),
        ({"timeout": 0}, "timeout must be at least 1"),
        ({"ca_cert": "/nonexistent/ca.pem"}, "ca_cert /nonexistent/ca.pem does not exist"),
        ({"client_cert": "/etc/hostname"}, "client_cert and client_key go together"),
        ({"client_cert": "/nonexistent.pem", "client_key": "/etc/hostname"}, "client_cert /nonexistent.pem"),
    ],
)
def test_connection_params_are_refused_before_any_request(overrides, message):
    with pytest.raises(kc.ConnectError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kc.validate_connection_params(params(**overrides))


def test_unusable_certificate_files_are_reported_before_any_request(tmp_path):
    garbage = tmp_path / "not-pem.txt"
    garbage.write_text("not a certificate")
    with pytest.raises(kc.ConnectError, match="cannot load ca_cert .*not-pem.txt"):
        kc.ssl_context(params(ca_cert=str(garbage)))
    with pytest.raises(kc.ConnectError, match="cannot load client_cert .* unencrypted PEM key"):
        kc.ssl_context(params(client_cert=str(garbage), client_key=str(garbage)))


def test_url_is_normalised_and_warnings_name_the_risk():
    assert kc.validate_connection_params(params(url=" https://w1:8083/ ")) == "https://w1:8083"
    warnings = kc.connection_warnings(params(url="http://w1:8083", validate_certs=False))
    assert any("validate_certs=false" in w for w in warnings)
    assert any("plain http://" in w for w in warnings)


# -- error wording ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "client_cert", "expected"),
    [
        (ssl.SSLCertVerificationError("certificate verify failed: unable to get local issuer"), None, "set ca_cert"),
        (
            ssl.SSLCertVerificationError("certificate verify failed: IP address mismatch"),
            None,
            "does not name this address",
        ),
        (ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate"), None, "no client cert"),
        (
            ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required"),
            None,
            "listeners.https.ssl.client.auth=required",
        ),
        (ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"), "/c.pem", "refused the client cert"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), None, "does not answer TLS"),
        (ConnectionRefusedError(111, "Connection refused"), None, "cannot reach Kafka Connect"),
        (TimeoutError("timed out"), None, "did not answer within 30 s"),
        (socket.gaierror(-2, "Name or service not known"), None, "cannot reach Kafka Connect"),
    ],
)
def test_transport_failures_name_the_fix(exc, client_cert, expected):
    import urllib.error

    for raised in (exc, urllib.error.URLError(exc)):
        message = kc.describe_transport_error(raised, URL, params(client_cert=client_cert), 30)
        assert expected in message, message
        assert URL in message


def test_a_tls_answer_to_plain_http_says_use_https():
    alert = http.client.BadStatusLine("\x15\x03\x03\x00\x02\x02P")
    assert "use https:// in url" in kc.describe_transport_error(alert, "http://w1:8083", params(), 30)


def test_a_closed_connection_on_plain_http_says_use_https():
    closed = http.client.RemoteDisconnected("Remote end closed connection without response")
    assert "use https://" in kc.describe_transport_error(closed, "http://w1:8083", params(), 30)
    assert "client_cert" in kc.describe_transport_error(closed, URL, params(), 30)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "rejected PUT /connectors/x/config (HTTP 400: bad value)"),
        (404, "has nothing at PUT /connectors/x/config"),
        (500, "see the worker log"),
        (409, "rebalancing without end"),
    ],
)
def test_http_errors_carry_the_workers_message(status, expected):
    message = kc.describe_http_error(
        status, {"error_code": status, "message": "bad  value"}, "PUT", "/connectors/x/config", URL
    )
    assert expected in message  # whitespace of the worker's message collapsed


# -- the client: 409 retry ----------------------------------------------------------------------------


def test_409_is_retried_with_growing_pauses_then_succeeds():
    clock = FakeClock()
    transport = ScriptedTransport(
        (409, {"error_code": 409, "message": "Cannot complete request momentarily due to stale configuration"}),
        (409, {"error_code": 409, "message": "rebalance in progress"}),
        (200, {"ok": True}),
    )
    client = client_with(transport, clock)
    assert client.request("PUT", "/connectors/x/pause") == {"ok": True}
    assert client.conflict_retries == 2
    assert clock.sleeps == [0.5, 1.0]
    assert len(transport.requests) == 3


def test_409_forever_gives_up_within_the_bound():
    clock = FakeClock()
    client = client_with(ScriptedTransport((409, {"error_code": 409, "message": "rebalance"})), clock)
    with pytest.raises(kc.ConnectError, match="kept answering 409"):
        client.request("POST", "/connectors/x/restart")
    assert sum(clock.sleeps) <= kc.CONFLICT_RETRY_S
    assert max(clock.sleeps) <= kc.CONFLICT_MAX_DELAY_S
    assert clock.sleeps[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_a_transient_500_on_a_read_is_retried():
    clock = FakeClock()
    failed_read = (500, {"error_code": 500, "message": "Failed to retrieve offsets for source connector x"})
    transport = ScriptedTransport(failed_read, (200, {"offsets": []}))
    client = client_with(transport, clock)
    assert client.offsets("x") == []
    assert client.read_retries == 1
    assert len(transport.requests) == 2


def test_a_500_on_a_write_is_not_retried():
    transport = ScriptedTransport((500, {"error_code": 500, "message": "boom"}), (200, {}))
    client = client_with(transport, FakeClock())
    with pytest.raises(kc.ConnectError) as failure:
        client.request("PATCH", "/connectors/x/offsets", {"offsets": []})
    assert failure.value.status == 500
    assert len(transport.requests) == 1


def test_a_read_failing_for_good_gives_up_within_the_bound():
    clock = FakeClock()
    client = client_with(ScriptedTransport((503, {"error_code": 503, "message": "unavailable"})), clock)
    with pytest.raises(kc.ConnectError) as failure:
        client.request("GET", "/connectors/x/offsets")
    assert failure.value.status == 503
    assert sum(clock.sleeps) <= kc.CONFLICT_RETRY_S


def test_409_already_exists_is_not_retried():
    transport = ScriptedTransport((409, {"error_code": 409, "message": "Connector x already exists"}))
    client = client_with(transport)
    with pytest.raises(kc.ConnectError, match="created by someone else"):
        client.create("x", {"connector.class": SOURCE_CLASS}, "RUNNING")
    assert len(transport.requests) == 1


def test_404_is_none_only_where_a_missing_object_is_an_answer():
    client = client_with(ScriptedTransport((404, {"error_code": 404, "message": "Connector x not found"})))
    assert client.config("x") is None
    with pytest.raises(kc.ConnectError, match="has nothing at GET /connectors/x/offsets"):
        client.offsets("x")


def test_names_are_quoted_in_paths():
    transport = ScriptedTransport((200, {}))
    client_with(transport).status("a b/c")
    assert transport.requests[0][1] == URL + "/connectors/a%20b%2Fc/status"


def test_old_workers_are_refused_with_the_version():
    client = client_with(ScriptedTransport((200, {"version": "3.4.1", "kafka_cluster_id": "c"})))
    with pytest.raises(kc.ConnectError, match="needs Kafka Connect 3.7 or later; the worker at .* runs 3.4.1"):
        client.require_version(kafka_connector.CONNECTOR_MIN_VERSION, "kafka_connector")
    client_with(ScriptedTransport((200, {"version": "4.4.0"}))).require_version((3, 7), "x")


def test_large_offsets_are_patched_in_chunks():
    transport = ScriptedTransport((200, {"message": "ok"}))
    offsets = [{"partition": {"p": i}, "offset": {"o": i}} for i in range(kc.PATCH_CHUNK * 2 + 1)]
    client_with(transport).alter_offsets("s", offsets)
    sizes = [len(body["offsets"]) for _method, _url, body in transport.requests]
    assert sizes == [kc.PATCH_CHUNK, kc.PATCH_CHUNK, 1]


# -- config ---------------------------------------------------------------------------------------------


def test_config_is_normalised_as_connect_stores_it():
    wanted = kafka_connector.normalise_config(
        "sink",
        {
            "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
            "tasks.max": 3,
            "delete.enabled": True,
            "topics": ["cdc.a", "cdc.b"],
            "errors.tolerance": None,
            "name": "sink",
        },
    )
    assert wanted == {
        "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
        "tasks.max": "3",
        "delete.enabled": "true",
        "topics": "cdc.a,cdc.b",
    }


def test_config_refusals():
    with pytest.raises(kc.ConnectError, match="differs from name"):
        kafka_connector.normalise_config("sink", {"name": "other"})
    with pytest.raises(kc.ConnectError, match="flat key/value"):
        kafka_connector.normalise_config("sink", {"transforms": {"unwrap": "x"}})


def test_drift_sees_added_changed_and_removed_keys_and_ignores_name():
    current = {"name": "s", "connector.class": "C", "tasks.max": "1", "errors.tolerance": "all", "batch.size": "10"}
    wanted = {"connector.class": "C", "tasks.max": "2", "batch.size": "10", "topic.prefix": "cdc"}
    drift = kafka_connector.config_drift(wanted, current)
    assert drift == {"added": ["topic.prefix"], "changed": ["tasks.max"], "removed": ["errors.tolerance"]}
    assert kafka_connector.drift_keys(drift) == ["errors.tolerance", "tasks.max", "topic.prefix"]
    same = {"connector.class": "C", "tasks.max": "1", "errors.tolerance": "all", "batch.size": "10"}
    assert kafka_connector.drift_keys(kafka_connector.config_drift(same, current)) == []


def test_only_a_removed_key_is_drift():
    drift = kafka_connector.config_drift({"connector.class": "C"}, {"name": "s", "connector.class": "C", "x": "1"})
    assert drift == {"added": [], "changed": [], "removed": ["x"]}


def test_connector_config_masking_sorts_and_shows_references():
    config = {"scylla.password": "hunter2-literal", "connection.password": "${directory:/d:sink-password}"}
    assert list(kc.mask_config(config)) == ["connection.password", "scylla.password"]
    assert kc.mask_config(config)["connection.password"] == config["connection.password"]
    assert kc.mask_config(None) is None


def test_validation_errors_name_every_refused_field():
    answer = {
        "name": SOURCE_CLASS,
        "error_count": 2,
        "configs": [
            {"value": {"name": "tasks.max", "value": "0", "errors": ["Value must be at least 1"]}},
            {"value": {"name": "topic.prefix", "value": None, "errors": ["Missing required configuration"]}},
            {"value": {"name": "batch.size", "value": "10", "errors": []}},
        ],
    }
    errors = kafka_connector.validation_errors(answer)
    assert errors == {"tasks.max": ["Value must be at least 1"], "topic.prefix": ["Missing required configuration"]}
    message = kafka_connector.validation_message("src", SOURCE_CLASS, errors)
    assert "nothing was changed" in message
    assert "tasks.max: Value must be at least 1" in message
    assert "topic.prefix: Missing required configuration" in message


# -- states ----------------------------------------------------------------------------------------------


def status(connector: str, *tasks: str, trace: str | None = None) -> dict:
    entry = {
        "name": "c",
        "connector": {"state": connector, "worker_id": "w1:8083"},
        "tasks": [{"id": i, "state": s, "worker_id": "w1:8083"} for i, s in enumerate(tasks)],
        "type": "source",
    }
    for task in entry["tasks"]:
        if task["state"] == "FAILED":
            task["trace"] = trace or "org.apache.kafka.connect.errors.ConnectException: boom\n\tat X"
    return entry


DRIFT = {"added": [], "changed": ["tasks.max"], "removed": []}
NO_DRIFT = {"added": [], "changed": [], "removed": []}


@pytest.mark.parametrize(
    ("state", "current", "drift", "only_failed", "actions", "target"),
    [
        ("present", None, NO_DRIFT, False, ["create"], "RUNNING"),
        ("paused", None, NO_DRIFT, False, ["create"], "PAUSED"),
        ("stopped", None, NO_DRIFT, False, ["create"], "STOPPED"),
        ("absent", None, None, False, [], None),
        ("absent", status("RUNNING", "RUNNING"), None, False, ["delete"], None),
        ("present", status("RUNNING", "RUNNING"), NO_DRIFT, False, [], None),
        ("present", status("RUNNING", "RUNNING"), None, False, [], None),
        ("present", status("PAUSED", "PAUSED"), DRIFT, False, ["update_config"], "PAUSED"),
        ("present", status("STOPPED"), DRIFT, False, ["update_config"], "STOPPED"),
        ("present", status("RUNNING", "FAILED"), DRIFT, False, ["update_config", "restart_failed"], "RUNNING"),
        ("present", status("RUNNING", "FAILED"), NO_DRIFT, False, [], None),
        ("running", status("RUNNING", "RUNNING"), NO_DRIFT, False, [], "RUNNING"),
        ("running", status("PAUSED", "PAUSED"), NO_DRIFT, False, ["resume"], "RUNNING"),
        ("running", status("STOPPED"), DRIFT, False, ["update_config", "resume"], "RUNNING"),
        ("running", status("RUNNING", "RUNNING", "FAILED"), NO_DRIFT, False, ["restart_failed"], "RUNNING"),
        ("running", status("FAILED"), NO_DRIFT, False, ["restart_failed"], "RUNNING"),
        ("paused", status("RUNNING", "RUNNING"), NO_DRIFT, False, ["pause"], "PAUSED"),
        ("paused", status("PAUSED", "PAUSED"), NO_DRIFT, False, [], "PAUSED"),
        ("paused", status("STOPPED"), NO_DRIFT, False, ["pause"], "PAUSED"),
        ("stopped", status("RUNNING", "FAILED"), NO_DRIFT, False, ["stop"], "STOPPED"),
        ("stopped", status("STOPPED"), NO_DRIFT, False, [], "STOPPED"),
        ("restarted", status("RUNNING", "RUNNING"), NO_DRIFT, False, ["restart"], "RUNNING"),
        ("restarted", status("PAUSED", "PAUSED"), NO_DRIFT, False, ["restart", "resume"], "RUNNING"),
        ("restarted", status("STOPPED"), NO_DRIFT, False, ["resume"], "RUNNING"),
        ("restarted", status("RUNNING", "RUNNING"), DRIFT, False, ["update_config", "restart"], "RUNNING"),
        ("restarted", status("RUNNING", "RUNNING"), NO_DRIFT, True, [], "RUNNING"),
        ("restarted", status("RUNNING", "FAILED"), NO_DRIFT, True, ["restart_failed"], "RUNNING"),
    ],
)
def test_plan(state, current, drift, only_failed, actions, target):
    assert kafka_connector.plan_connector(state, current, drift, only_failed) == {"actions": actions, "target": target}


def test_targets():
    assert kc.target_reached(status("RUNNING", "RUNNING", "RUNNING"), "RUNNING")
    assert not kc.target_reached(status("RUNNING"), "RUNNING"), "a running connector without tasks is not there yet"
    assert not kc.target_reached(status("RUNNING", "RUNNING", "UNASSIGNED"), "RUNNING")
    assert kc.target_reached(status("PAUSED"), "PAUSED")
    assert kc.target_reached(status("PAUSED", "PAUSED"), "PAUSED")
    assert not kc.target_reached(status("PAUSED", "RUNNING"), "PAUSED")
    assert kc.target_reached(status("STOPPED"), "STOPPED")
    assert not kc.target_reached(status("STOPPED", "RUNNING"), "STOPPED"), "tasks still shutting down"
    assert kc.intended_state(status("FAILED")) == "RUNNING"
    assert kc.intended_state(status("UNASSIGNED")) == "RUNNING"
    assert kc.status_summary(status("RUNNING", "RUNNING", "FAILED")) == "connector RUNNING; tasks FAILED x1, RUNNING x1"
    assert kc.status_summary(None) == "not known to the workers yet"


class StatusSequence:
    """A client whose status() walks through a list (the last one repeats), on a fake clock."""

    def __init__(self, *statuses):
        self.statuses = list(statuses)
        fake_clock = FakeClock()
        self.clock = fake_clock.monotonic
        self.sleep = fake_clock.sleep
        self.calls = 0

    def status(self, _name):
        self.calls += 1
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


def sequence(*statuses) -> StatusSequence:
    return StatusSequence(*statuses)


def test_wait_needs_the_state_on_two_polls_and_records_progress():
    client = sequence(None, status("RUNNING"), status("RUNNING", "RUNNING"))
    final, progress, waited = kc.wait_for_target(client, "c", "RUNNING", 60)
    assert kc.target_reached(final, "RUNNING")
    poll = kc.POLL_INTERVAL_S
    assert progress == [
        "0.0s: not known to the workers yet",
        "%.1fs: connector RUNNING; tasks none" % poll,
        "%.1fs: connector RUNNING; tasks RUNNING x1" % (2 * poll),
    ]
    assert waited == 2 * poll + kc.SETTLE_S, "the state is confirmed SETTLE_S later"


def test_wait_survives_a_stale_failed_status_after_a_restart():
    client = sequence(status("RUNNING", "FAILED"), status("RUNNING", "RESTARTING"), status("RUNNING", "RUNNING"))
    final, _progress, _waited = kc.wait_for_target(client, "c", "RUNNING", 60)
    assert kc.target_reached(final, "RUNNING")


def test_wait_reports_a_failed_task_with_its_trace():
    trace = "org.apache.kafka.connect.errors.ConnectException: Connection to db refused\n\tat io.x.Y"
    client = sequence(status("RUNNING", "RUNNING", "FAILED", trace=trace))
    with pytest.raises(kc.ConnectError) as raised:
        kc.wait_for_target(client, "c", "RUNNING", 60)
    message = str(raised.value)
    assert "task 1 FAILED on w1:8083: org.apache.kafka.connect.errors.ConnectException: Connection to db" in message
    assert "state=restarted" in message
    assert raised.value.details["failed_parts"] == [{"part": "task 1", "worker_id": "w1:8083", "trace": trace}]
    assert client.clock() - 1000.0 <= kc.FAILED_CONFIRM_S + 1


def test_a_failed_task_does_not_fail_a_stop():
    client = sequence(status("STOPPED", "FAILED"), status("STOPPED", "FAILED"), status("STOPPED"))
    for _poll in range(8):
        client.statuses.insert(0, status("STOPPED", "FAILED"))  # failed for 4 s while the stop goes through
    final, _progress, _waited = kc.wait_for_target(client, "c", "STOPPED", 60)
    assert kc.target_reached(final, "STOPPED")


def test_wait_is_bounded_and_says_what_it_saw():
    client = sequence(status("RUNNING"))
    with pytest.raises(kc.ConnectError) as raised:
        kc.wait_for_target(client, "c", "RUNNING", 5)
    assert "did not reach RUNNING within wait_timeout (5 s); last seen: connector RUNNING; tasks none" in str(
        raised.value
    )
    assert "made no task" in str(raised.value)
    assert raised.value.details["wait_progress"] == ["0.0s: connector RUNNING; tasks none"]
    assert client.calls <= 5 / kc.POLL_INTERVAL_S + 1, "polled beyond the timeout"


# -- offsets documents ----------------------------------------------------------------------------------


def scylla_offsets(count: int, seed: int = 7) -> list[dict]:
    """Offsets shaped like the ScyllaDB source's: one per vnode, table and generation, in random order."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    offsets = [
        {
            "partition": {
                "keyspace_name": "app",
                "table_name": "t%d" % (i % 5),
                "vnode_id": i // 5,
                "generation_start": 1795000000000 + (i % 2),
            },
            "offset": {"window_start": 1795700000000 + i, "window_end": 1795700030000 + i},
        }
        for i in range(count)
    ]
    rng.shuffle(offsets)
    return offsets


WORKER = {"version": "4.4.0", "commit": "abc", "kafka_cluster_id": "cluster-A"}
INFO = {
    "name": "scylla-source",
    "type": "source",
    "config": {"connector.class": SOURCE_CLASS, "name": "scylla-source", "topic.prefix": "cdc"},
    "tasks": [],
}


def test_offsets_are_normalised_in_a_stable_order_and_refused_when_malformed():
    offsets = scylla_offsets(50)
    normalised = offsets_doc.normalise_offsets(offsets)
    assert normalised == offsets_doc.normalise_offsets(list(reversed(offsets)))
    assert offsets_doc.offsets_equal(offsets, normalised)
    with pytest.raises(kc.ConnectError, match="twice"):
        offsets_doc.normalise_offsets(offsets + offsets[:1])
    with pytest.raises(kc.ConnectError, match="entry 0 has no partition"):
        offsets_doc.normalise_offsets([{"offset": {"x": 1}}])
    with pytest.raises(kc.ConnectError, match="has no offset object"):
        offsets_doc.normalise_offsets([{"partition": {"x": 1}, "offset": None}])


def test_offsets_delta():
    current = [
        {"partition": {"p": 1}, "offset": {"o": 1}},
        {"partition": {"p": 2}, "offset": {"o": 2}},
        {"partition": {"p": 3}, "offset": {"o": 3}},
    ]
    wanted = [
        {"partition": {"p": 1}, "offset": {"o": 1}},
        {"partition": {"p": 2}, "offset": {"o": 20}},
        {"partition": {"p": 4}, "offset": {"o": 4}},
    ]
    assert offsets_doc.offsets_delta(current, wanted) == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    assert not offsets_doc.offsets_equal(current, wanted)


def test_document_round_trip_and_integrity_checks():
    document = offsets_doc.build_offsets_document(WORKER, INFO, scylla_offsets(20), NOW)
    assert document["format"] == offsets_doc.DOCUMENT_FORMAT
    assert document["schema_version"] == 1
    assert document["created_at"] == "2026-11-27T03:00:00Z"
    assert document["kafka_cluster_id"] == "cluster-A"
    assert document["connector"] == {
        "name": "scylla-source",
        "class": SOURCE_CLASS,
        "type": "source",
        "config_sha256": offsets_doc.config_sha256({"connector.class": SOURCE_CLASS, "topic.prefix": "cdc"}),
    }
    assert document["partition_count"] == 20
    assert offsets_doc.validate_offsets_document(json.loads(json.dumps(document)))["offsets"] == document["offsets"]

    edited = json.loads(json.dumps(document))
    edited["offsets"][0]["offset"]["window_start"] += 1
    with pytest.raises(kc.ConnectError, match="offsets_sha256 does not match"):
        offsets_doc.validate_offsets_document(edited)
    truncated = json.loads(json.dumps(document))
    del truncated["offsets"][-1]
    with pytest.raises(kc.ConnectError, match="partition_count 20 but 19 offsets"):
        offsets_doc.validate_offsets_document(truncated)
    with pytest.raises(kc.ConnectError, match="schema_version 2"):
        offsets_doc.validate_offsets_document({**document, "schema_version": 2})
    with pytest.raises(kc.ConnectError, match="not an offsets backup"):
        offsets_doc.validate_offsets_document({"offsets": []})
    with pytest.raises(kc.ConnectError, match="created_at"):
        offsets_doc.validate_offsets_document({**document, "created_at": "yesterday"})


def test_same_content_ignores_only_the_time():
    first = offsets_doc.build_offsets_document(WORKER, INFO, scylla_offsets(10), NOW)
    later = offsets_doc.build_offsets_document(
        WORKER, INFO, scylla_offsets(10, seed=3), NOW + datetime.timedelta(hours=1)
    )
    assert offsets_doc.same_backup_content(first, later), "same offsets in another order, another time"
    moved = scylla_offsets(10)
    moved[0]["offset"]["window_end"] += 1
    assert not offsets_doc.same_backup_content(first, offsets_doc.build_offsets_document(WORKER, INFO, moved, NOW))
    assert not offsets_doc.same_backup_content(None, first)


def test_restore_refusals_name_what_differs():
    document = offsets_doc.build_offsets_document(WORKER, INFO, [], NOW)
    assert offsets_doc.restore_refusals(document, "scylla-source", SOURCE_CLASS, "cluster-A") == []
    refusals = offsets_doc.restore_refusals(document, "other", "x.Y", "cluster-B")
    assert refusals == [
        "the backup is of connector scylla-source, not other",
        "the backup is of class %s, the connector runs x.Y" % SOURCE_CLASS,
        "the backup was taken on Kafka cluster cluster-A, the workers use cluster-B",
    ]


@pytest.mark.parametrize(
    ("age_s", "connector_type", "ttl", "refused"),
    [
        (3600, "source", 86400, False),
        (86400, "source", 86400, False),
        (86401, "source", 86400, True),
        (7 * 86400, "source", 0, False),
        (7 * 86400, "sink", 86400, False),
        (7200, "source", 3600, True),
    ],
)
def test_ttl_refusal(age_s, connector_type, ttl, refused):
    document = offsets_doc.build_offsets_document(WORKER, INFO, [], NOW)
    message = offsets_doc.ttl_refusal(document, connector_type, ttl, NOW + datetime.timedelta(seconds=age_s))
    assert bool(message) is refused
    if refused:
        assert "older than the CDC log TTL (cdc_log_ttl=%d s)" % ttl in message
        assert "reconciliation will be needed" in message
        assert "force=true" in message


def test_ten_thousand_partitions_round_trip_through_a_file(tmp_path):
    offsets = scylla_offsets(10_000)
    started = time.monotonic()
    document = offsets_doc.build_offsets_document(WORKER, INFO, offsets, NOW)
    path = tmp_path / "scylla-source.json"
    offsets_doc.write_json_atomic(str(path), document)
    restored = offsets_doc.validate_offsets_document(offsets_doc.read_json_file(str(path)))
    elapsed = time.monotonic() - started
    assert restored["partition_count"] == 10_000
    assert offsets_doc.offsets_equal(restored["offsets"], offsets)
    assert offsets_doc.offsets_delta(offsets, restored["offsets"]) == {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "unchanged": 10_000,
    }
    assert offsets_doc.same_backup_content(
        document, offsets_doc.build_offsets_document(WORKER, INFO, scylla_offsets(10_000, 9), NOW)
    )
    assert path.stat().st_mode & 0o777 == 0o600
    assert elapsed < 30, "pure handling of 10,000 partitions took %.1f s" % elapsed


def test_atomic_write_never_replaces_when_told_not_to(tmp_path):
    path = tmp_path / "b.json"
    offsets_doc.write_json_atomic(str(path), {"a": 1}, replace=False)
    with pytest.raises(kc.ConnectError, match="cannot write"):
        offsets_doc.write_json_atomic(str(path), {"a": 2}, replace=False)
    assert json.loads(path.read_text()) == {"a": 1}
    offsets_doc.write_json_atomic(str(path), {"a": 3})
    assert json.loads(path.read_text()) == {"a": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"], "no temporary file left behind"


def test_backup_files_of_a_connector_sort_by_time(tmp_path):
    for name in (
        "src-20261127T030000Z.json",
        "src-20261126T030000Z.json",
        "src-20261127T030000Z-1.json",
        "src-extra-20261128T030000Z.json",  # another connector whose name starts the same
        "src-notes.txt",
    ):
        (tmp_path / name).write_text("{}")
    found = [Path(p).name for p in offsets_doc.backups_in(str(tmp_path), "src")]
    assert found == ["src-20261126T030000Z.json", "src-20261127T030000Z.json", "src-20261127T030000Z-1.json"]
    assert offsets_doc.backup_file_name("a/b c", NOW) == "a_b_c-20261127T030000Z.json"
    assert offsets_doc.backup_file_name("a", NOW, 2) == "a-20261127T030000Z-2.json"


def test_retention_keeps_the_newest_and_drops_by_count_and_age():
    names = [
        "src-20261101T000000Z.json",
        "src-20261120T000000Z.json",
        "src-20261125T000000Z.json",
        "src-20261126T000000Z.json",
        "src-20261126T000000Z-1.json",
    ]
    paths = ["/b/" + name for name in names]
    assert offsets_doc.retention_victims(paths, 0, 0, NOW) == []
    assert offsets_doc.retention_victims(paths, 2, 0, NOW) == paths[:3]
    assert offsets_doc.retention_victims(paths, 0, 3, NOW) == paths[:2], "older than 3 days before 2026-11-27T03:00Z"
    assert offsets_doc.retention_victims(paths, 4, 3, NOW) == paths[:2]
    # An idle connector's only backup is its current one, however old.
    assert offsets_doc.retention_victims(paths[:1], 1, 1, NOW) == []
    assert offsets_doc.retention_victims(paths[:2], 0, 1, NOW) == paths[:1]
    assert offsets_doc.backup_time(paths[4]) == datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)


# The ScyllaDB source's offsets (measured in the pipeline scenario): {window_start, window_end} for a vnode
# between windows, plus change_id_stream_id and change_id_time while it is inside one.
SCYLLA_PARTITION = {"keyspace_name": "shop", "table_name": "orders", "vnode_id": 3, "generation_start": 1796500000000}
SCYLLA_IDLE = {"window_start": 1796500100000, "window_end": 1796500130000}
SCYLLA_INSIDE = {
    **SCYLLA_IDLE,
    "change_id_stream_id": "AUGF9D6Y",
    "change_id_time": "3bc7b8a0-d3a3-11f1-8080-808080808080",
}


def test_a_source_offset_may_carry_the_keys_a_connector_writes_only_inside_a_window():
    current = [{"partition": SCYLLA_PARTITION, "offset": SCYLLA_IDLE}]
    wanted = [{"partition": SCYLLA_PARTITION, "offset": SCYLLA_INSIDE}]
    assert offsets_doc.offsets_shape_problems(wanted, "source", current) == []
    # The keys are learnt from the connector's offsets now: while every one of them is inside a window,
    # nothing shows that the connector also writes window_start and window_end alone, so that is refused.
    assert offsets_doc.offsets_shape_problems(current, "source", wanted) == [
        "entry 0 has offset keys window_end, window_start, the connector's offsets have "
        "change_id_stream_id, change_id_time, window_end, window_start"
    ]


def test_a_source_offset_without_a_key_every_current_offset_has_is_refused():
    current = [
        {"partition": SCYLLA_PARTITION, "offset": SCYLLA_IDLE},
        {"partition": SCYLLA_PARTITION, "offset": SCYLLA_INSIDE},
    ]
    missing = [{"partition": SCYLLA_PARTITION, "offset": {"window_start": 1796500100000}}]
    assert offsets_doc.offsets_shape_problems(missing, "source", current) == [
        "entry 0 has offset keys window_start, the connector's offsets have "
        "change_id_stream_id, change_id_time, window_end, window_start or window_end, window_start"
    ]
    other_partition = [{"partition": {**SCYLLA_PARTITION, "extra": 1}, "offset": SCYLLA_IDLE}]
    assert offsets_doc.offsets_shape_problems(other_partition, "source", current)[0].startswith(
        "entry 0 has partition keys extra, generation_start, keyspace_name"
    )
