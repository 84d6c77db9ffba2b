"""The canary: the ScyllaDB source's advanced-format encoder and pipeline_canary's logic, with fake clients."""
# ruff: noqa: S105, S106 - fake passwords and password-named options are what these tests follow

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
import yaml

# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.
from ansible_collections.cdc.pipeline.plugins.module_utils import kafka as ku
from ansible_collections.cdc.pipeline.plugins.module_utils import scylla_cdc_event as ev
from test_kafka_utils import params

canary = importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules.pipeline_canary")

pytestmark = pytest.mark.unit

TS = 1_790_000_000_123

ORDERS = ev.CdcTable(
    "shop",
    "orders",
    key=[("customer_id", "int"), ("order_id", "bigint")],
    columns=[("status", "text"), ("amount", "double"), ("created_at", "timestamp")],
)


def decode(data: bytes) -> dict:
    return json.loads(data.decode("utf-8"))


# -- the encoder --------------------------------------------------------------------------------


def test_key_is_the_primary_key_struct_with_optional_fields():
    key, _value = ev.change_event(ORDERS, "c", {"customer_id": 7, "order_id": 1001, "status": "new"}, TS)
    assert decode(key) == {
        "schema": {
            "type": "struct",
            "fields": [
                {"type": "int32", "optional": True, "field": "customer_id"},
                {"type": "int64", "optional": True, "field": "order_id"},
            ],
            "optional": False,
            "name": "cdc.shop.orders.Key",
        },
        "payload": {"customer_id": 7, "order_id": 1001},
    }


def test_insert_envelope_carries_the_full_after_image_and_the_source():
    _key, value = ev.change_event(ORDERS, "c", {"customer_id": 7, "order_id": 1001, "status": "new"}, TS)
    doc = decode(value)
    schema, payload = doc["schema"], doc["payload"]
    assert (schema["type"], schema["optional"], schema["name"]) == ("struct", False, "cdc.shop.orders.Envelope")
    assert [f["field"] for f in schema["fields"]] == [
        "source",
        "before",
        "after",
        "op",
        "ts_ms",
        "transaction",
        "ts_us",
        "ts_ns",
    ]
    fields = {f["field"]: f for f in schema["fields"]}
    assert fields["source"]["name"] == "com.scylladb.cdc.debezium.connector"
    assert [f["field"] for f in fields["source"]["fields"]] == [
        "version",
        "connector",
        "name",
        "ts_ms",
        "snapshot",
        "db",
        "sequence",
        "ts_us",
        "ts_ns",
        "keyspace_name",
        "table_name",
    ]
    for image, name in (("before", "cdc.shop.orders.Before"), ("after", "cdc.shop.orders.After")):
        assert fields[image]["name"] == name
        assert fields[image]["optional"] is True
        assert [(f["field"], f["type"], f["optional"]) for f in fields[image]["fields"]] == [
            ("customer_id", "int32", True),
            ("order_id", "int64", True),
            ("status", "string", True),
            ("amount", "double", True),
            ("created_at", "int64", True),
        ]
    created_at = fields["after"]["fields"][-1]
    assert (created_at["name"], created_at["version"]) == ("org.apache.kafka.connect.data.Timestamp", 1)
    assert fields["transaction"]["name"] == "event.block"

    # cdc.include.after=full: every column, NULL where the row has none; cdc.include.before=none.
    assert payload["after"] == {"customer_id": 7, "order_id": 1001, "status": "new", "amount": None, "created_at": None}
    assert payload["before"] is None
    assert payload["op"] == "c"
    assert (payload["ts_ms"], payload["ts_us"], payload["ts_ns"], payload["transaction"]) == (TS, TS * 1000, None, None)
    assert payload["source"] == {
        "version": ev.CONNECTOR_VERSION,
        "connector": "scylla",
        "name": "cdc",
        "ts_ms": TS,
        "snapshot": "false",
        "db": "shop",
        "sequence": None,
        "ts_us": TS * 1000,
        "ts_ns": None,
        "keyspace_name": "shop",
        "table_name": "orders",
    }


def test_event_time_can_differ_from_the_write_time():
    doc = ev.value_document(ORDERS, "u", {"customer_id": 1, "order_id": 2}, TS, emitted_ms=TS + 30_000)
    assert doc["payload"]["source"]["ts_ms"] == TS
    assert (doc["payload"]["ts_ms"], doc["payload"]["ts_us"]) == (TS + 30_000, (TS + 30_000) * 1000)
    assert doc["payload"]["op"] == "u"


def test_delete_has_the_key_in_before_and_no_after():
    payload = ev.value_document(ORDERS, "d", {"customer_id": 1, "order_id": 2, "status": "gone"}, TS)["payload"]
    assert payload["op"] == "d"
    assert payload["after"] is None
    assert payload["before"] == {"customer_id": 1, "order_id": 2, "status": None, "amount": None, "created_at": None}


def test_encoding_is_compact_utf8_and_deterministic():
    row = {"customer_id": 1, "order_id": 2, "status": "Grüße 🚀"}
    first = ev.change_event(ORDERS, "c", row, TS)
    assert first == ev.change_event(ORDERS, "c", dict(row), TS)
    assert "Grüße 🚀".encode() in first[1]
    assert b", " not in first[0] and b": " not in first[0]


def test_the_schema_is_a_fresh_copy_each_time():
    first = ORDERS.value_schema()
    first["fields"][0]["fields"].clear()
    first["fields"][5]["fields"].clear()
    again = ORDERS.value_schema()
    assert len(again["fields"][0]["fields"]) == 11
    assert len(again["fields"][5]["fields"]) == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ev.value_document(ORDERS, "x", {"customer_id": 1, "order_id": 2}, TS), "op 'x'"),
        (lambda: ev.value_document(ORDERS, "c", {"customer_id": 1}, TS), "key column order_id"),
        (lambda: ev.value_document(ORDERS, "c", {"customer_id": 1, "order_id": 2, "colour": "red"}, TS), "no column"),
        (lambda: ev.value_document(ORDERS, "c", {"customer_id": 1, "order_id": 2}, 1.5), "epoch milliseconds"),
        (lambda: ev.value_document(ORDERS, "c", {"customer_id": 1, "order_id": 2}, True), "epoch milliseconds"),
        (lambda: ev.CdcTable("shop", "orders", [], [("a", "text")]), "primary key"),
        (lambda: ev.CdcTable("shop", "or-ders", [("id", "int")], []), "table 'or-ders'"),
        (lambda: ev.CdcTable("shop", "t", [("id", "int")], [("m", "map<text,int>")]), "does not map"),
        (lambda: ev.CdcTable("shop", "t", [("id", "int")], [("id", "text")]), "listed twice"),
        (lambda: ev.CdcTable("shop", "t", [("id", "int")], [], topic_prefix="cdc.x"), "topic prefix"),
    ],
)
def test_what_the_connector_cannot_produce_is_refused(call, message):
    with pytest.raises(ev.CdcEventError, match=message):
        call()


# -- the canary's row and event -----------------------------------------------------------------


def test_canary_table_topic_and_columns():
    table = canary.canary_table("cdc_canary.heartbeat", "cdc")
    assert table.topic == "cdc.cdc_canary.heartbeat"
    assert table.key_names == ["id"]
    assert table.column_names == ["id", "nonce", "sent_at", "origin"]
    for bad in ("heartbeat", "a.b.c", "", "cdc-canary.heartbeat"):
        with pytest.raises(ku.KafkaModuleError):
            canary.canary_table(bad, "cdc")


def test_canary_event_carries_the_nonce_and_the_send_time():
    table = canary.canary_table("cdc_canary.heartbeat", "cdc")
    row = canary.canary_row("site", "n0nce", TS, "topic")
    key, value = ev.change_event(table, "c", row, TS)
    assert decode(key)["payload"] == {"id": "site"}
    assert decode(key)["schema"]["name"] == "cdc.cdc_canary.heartbeat.Key"
    payload = decode(value)["payload"]
    assert payload["after"] == {"id": "site", "nonce": "n0nce", "sent_at": TS, "origin": "topic"}
    assert payload["source"]["ts_ms"] == TS
    assert payload["source"]["keyspace_name"] == "cdc_canary"
    assert payload["source"]["table_name"] == "heartbeat"
    sent_at = [f for f in decode(value)["schema"]["fields"][2]["fields"] if f["field"] == "sent_at"][0]
    assert sent_at["name"] == "org.apache.kafka.connect.data.Timestamp"


def test_new_nonces_are_random_hex():
    nonces = {canary.new_nonce() for attempt in range(50)}
    assert len(nonces) == 50
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


@pytest.mark.parametrize(("row_id", "nonce"), [("", "n"), ("site", "")])
def test_an_empty_id_or_nonce_is_refused(row_id, nonce):
    with pytest.raises(ku.KafkaModuleError):
        canary.canary_row(row_id, nonce, TS, "topic")


# -- the module: check mode, sending, refusals (fake admin and producer) ------------------------


class Module:
    def __init__(self, check_mode=False, **module_params):
        self.params = module_params
        self.check_mode = check_mode


class FakeAdmin:
    def __init__(self, topics=("cdc.cdc_canary.heartbeat",)):
        self.topics = set(topics)
        self.described = []

    def describe_topic(self, name):
        self.described.append(name)
        return SimpleNamespace(partitions=[]) if name in self.topics else None


class FakeProducer:
    """Stands for kafka.RecordProducer: records what would be produced."""

    instances: list[FakeProducer] = []

    def __init__(self, module_params):
        self.params = module_params
        self.sent = []
        FakeProducer.instances.append(self)

    def send(self, topic, key, value):
        self.sent.append((topic, key, value))
        return 4, 117


@pytest.fixture(autouse=True)
def _fresh_producers():
    FakeProducer.instances = []


def canary_module(check_mode=False, **overrides):
    values = params(table="cdc_canary.heartbeat", id="site", nonce=None, origin="topic", topic_prefix="cdc")
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


def send(module, admin=None):
    return canary.send_to_topic(module, admin or FakeAdmin(), producer_factory=FakeProducer, clock=lambda: TS / 1000)


def test_check_mode_sends_nothing_and_says_so():
    admin = FakeAdmin()
    result = send(canary_module(check_mode=True), admin)
    assert FakeProducer.instances == []
    assert admin.described == ["cdc.cdc_canary.heartbeat"]
    assert result["sent"] is False
    assert "not sent" in result["msg"] and "check mode" in result["msg"]
    assert "partition" not in result and "offset" not in result
    assert result["topic"] == "cdc.cdc_canary.heartbeat"
    assert len(result["nonce"]) == 32


def test_a_real_run_sends_one_event_with_this_runs_nonce():
    result = send(canary_module(nonce="abc123"))
    [producer] = FakeProducer.instances
    [(topic, key, value)] = producer.sent
    assert topic == "cdc.cdc_canary.heartbeat"
    assert decode(key)["payload"] == {"id": "site"}
    after = decode(value)["payload"]["after"]
    assert after == {"id": "site", "nonce": "abc123", "sent_at": TS, "origin": "topic"}
    assert result == {
        "changed": True,
        "sent": True,
        "origin": "topic",
        "topic": "cdc.cdc_canary.heartbeat",
        "key": {"id": "site"},
        "nonce": "abc123",
        "sent_at": TS,
        "row": after,
        "partition": 4,
        "offset": 117,
        "msg": "canary site sent to cdc.cdc_canary.heartbeat partition 4 offset 117",
    }


def test_each_run_gets_a_new_nonce():
    first, second = send(canary_module()), send(canary_module())
    assert first["nonce"] != second["nonce"]
    assert [decode(p.sent[0][2])["payload"]["after"]["nonce"] for p in FakeProducer.instances] == [
        first["nonce"],
        second["nonce"],
    ]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_missing_topic_is_refused_before_anything_is_sent(check_mode):
    with pytest.raises(
        ku.KafkaModuleError, match=r"topic cdc\.cdc_canary\.heartbeat does not exist.*deploy_connectors"
    ):
        send(canary_module(check_mode), FakeAdmin(topics=()))
    assert FakeProducer.instances == []


def test_the_topic_follows_the_prefix_and_table():
    admin = FakeAdmin(topics=("pipe.ops.beat",))
    result = send(canary_module(table="ops.beat", topic_prefix="pipe"), admin)
    assert result["topic"] == "pipe.ops.beat"
    assert FakeProducer.instances[0].sent[0][0] == "pipe.ops.beat"


def test_every_origin_has_a_sender_and_the_documentation_matches_the_spec():
    doc = yaml.safe_load(canary.DOCUMENTATION)
    assert doc["options"]["origin"]["choices"] == canary.ORIGINS == sorted(canary.SENDERS)
    assert set(doc["options"]) == {"table", "id", "nonce", "origin", "topic_prefix"}
    returned = yaml.safe_load(canary.RETURN)
    result = send(canary_module())
    assert set(result) - {"changed"} == set(returned)


# -- kafka.RecordProducer (the canary's): delivery reports and failures, with a fake confluent-kafka Producer


class FakeKafkaError:
    def __init__(self, name, text):
        self._name, self._text = name, text

    def name(self):
        return self._name

    def str(self):
        return self._text


class FakeConfluentProducer:
    """Calls the delivery callback from flush(), as librdkafka does, with the outcome the test sets."""

    outcome: dict = {}
    configs: list = []
    produced: list = []

    def __init__(self, config):
        FakeConfluentProducer.configs.append(config)
        self.config = config
        self.pending = []

    def produce(self, topic, key=None, value=None, on_delivery=None, **extra):
        FakeConfluentProducer.produced.append((topic, key, value, extra))
        self.pending.append(on_delivery)

    def flush(self, timeout):
        outcome = FakeConfluentProducer.outcome
        if outcome.get("undelivered"):
            return len(self.pending)
        for callback in self.pending:
            if outcome.get("error"):
                callback(FakeKafkaError(*outcome["error"]), None)
            else:
                callback(None, SimpleNamespace(partition=lambda: 1, offset=lambda: 42))
        self.pending = []
        return 0


@pytest.fixture
def fake_confluent(monkeypatch):
    FakeConfluentProducer.outcome, FakeConfluentProducer.configs, FakeConfluentProducer.produced = {}, [], []
    monkeypatch.setattr(ku, "Producer", FakeConfluentProducer)
    return FakeConfluentProducer


def test_producer_settings_and_delivery(fake_confluent):
    producer = ku.RecordProducer(params(request_timeout=10))
    assert producer.send("cdc.cdc_canary.heartbeat", b"k", b"v") == (1, 42)
    [config] = fake_confluent.configs
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert config["partitioner"] == "murmur2_random"
    assert config["message.timeout.ms"] == 10_000
    assert (config["security.protocol"], config["sasl.username"]) == ("SASL_SSL", "admin")
    # No partition or headers given: the partitioner chooses by key, and no header is added.
    assert fake_confluent.produced == [("cdc.cdc_canary.heartbeat", b"k", b"v", {})]


def test_a_partition_and_headers_are_passed_on(fake_confluent):
    ku.RecordProducer(params()).send("cdc.shop.orders", b"k", b"v", partition=3, headers=[("h", b"1")])
    assert fake_confluent.produced == [("cdc.shop.orders", b"k", b"v", {"partition": 3, "headers": [("h", b"1")]})]


def test_a_refused_delivery_is_worded_with_its_fix(fake_confluent):
    fake_confluent.outcome = {"error": ("TOPIC_AUTHORIZATION_FAILED", "Topic authorization failed")}
    with pytest.raises(ku.KafkaModuleError, match=r"may not produce to topic cdc\.cdc_canary\.heartbeat"):
        ku.RecordProducer(params()).send("cdc.cdc_canary.heartbeat", b"k", b"v")


def test_an_undelivered_event_fails_instead_of_passing(fake_confluent):
    fake_confluent.outcome = {"undelivered": True}
    with pytest.raises(ku.KafkaModuleError, match="not delivered within 30s"):
        ku.RecordProducer(params()).send("cdc.cdc_canary.heartbeat", b"k", b"v")


def test_a_login_failure_seen_while_producing_names_the_credentials(fake_confluent):
    fake_confluent.outcome = {"undelivered": True}
    producer = ku.RecordProducer(params())
    producer._on_error(FakeKafkaError("_AUTHENTICATION", "SASL authentication error: Authentication failed"))
    with pytest.raises(ku.KafkaModuleError, match="refused the SASL SCRAM-SHA-512 login of user 'admin'"):
        producer.send("cdc.cdc_canary.heartbeat", b"k", b"v")
