"""End-to-end test of the postgres-sink connector with the ScyllaDB CDC source's record format.

The sink's cases need records the real source never sends on cue (poison records, partial rows, a
string where an int is declared, a 64 KiB value), so this script writes into the change topics what
the ScyllaDB CDC source writes, and more: change events in its advanced output format
(cdc.output.format=advanced, cdc.include.after=full), as the workers' JSON converter with schemas
encodes them. Key: a struct of the primary key columns (optional fields, as the connector
declares them). Value: a Debezium envelope named <prefix>.<keyspace>.<table>.Envelope with source,
before, after, op (c/u/d), ts_ms, transaction, ts_us, ts_ns. A delete is a DELETE record (before with
the key, after null) followed by a tombstone. Modelled on ScyllaSchema.java and
ScyllaSourceInfoStructMaker.java of scylladb/scylla-cdc-source-connector 2.0.x. verify_source.yml runs
the real connector (against the stand-in for ScyllaDB); the rows written here exist in the sink only,
so reconciliations leave these tables out.

Subcommands (each bounded in records and time, and printing one JSON report):
  produce  inserts, full-row updates, deletes with tombstones, nulls, unicode and a wide row into the
           source topics; two poison records and a good record after them in one partition; then
           one sentinel row per partition. Writes the expected final state (for sink_state.py).
  load     a steady stream of changes to one topic until a stop file appears (the broker upgrade
           runs meanwhile); then sentinels. Writes the expected final state.
  dlq      the poison records are in the dead letter queue, from the partition and offset they
           were written to, with the __connect.errors.* context headers.
  search   how many records of a topic hold $SEARCH_SECRET, and (the control) --control.
Runs on the controller (confluent-kafka), as the Kafka admin; the password comes in $KAFKA_PASSWORD.
"""

from __future__ import annotations

import argparse
import base64
import copy
import importlib.util
import json
import os
import sys
import time
import uuid
import zlib
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

PREFIX = "cdc"
ERROR_HEADERS = (
    "__connect.errors.topic",
    "__connect.errors.partition",
    "__connect.errors.offset",
    "__connect.errors.connector.name",
    "__connect.errors.task.id",
    "__connect.errors.stage",
    "__connect.errors.class.name",
    "__connect.errors.exception.class.name",
    "__connect.errors.exception.message",
    "__connect.errors.exception.stacktrace",
)

# The connector's record schema has one definition, the canary's encoder in the collection
# (plugins/module_utils/scylla_cdc_event.py: CQL type mapping, source and transaction structs).
# It needs only the standard library, so it is loaded from its file, without Ansible.
_spec = importlib.util.spec_from_file_location(
    "scylla_cdc_event", Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "scylla_cdc_event.py"
)
cdc_event = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cdc_event)
SOURCE_SCHEMA_NAME = cdc_event.SOURCE_SCHEMA_NAME
CQL_TYPES = cdc_event.CQL_TYPES


class Table:
    """A source table: its key and other columns, in the connector's order (partition, clustering, rest)."""

    def __init__(self, keyspace: str, name: str, key: list[tuple[str, str]], columns: list[tuple[str, str]]):
        self.keyspace, self.name, self.key, self.columns = keyspace, name, key, columns
        self.topic = f"{PREFIX}.{keyspace}.{name}"
        self.key_names = [c for c, _type in key]

    def sink_table(self, schema: str) -> str:
        # collection.name.format "<schema>.${topic}": Debezium turns the topic's dots into underscores.
        return f"{schema}.{self.topic.replace('.', '_')}"

    def _fields(self, cols, required=()):
        return [{**CQL_TYPES[t], "optional": c not in required, "field": c} for c, t in cols]

    def key_schema(self) -> dict:
        return {"type": "struct", "fields": self._fields(self.key), "optional": False, "name": f"{self.topic}.Key"}

    def row_schema(self, suffix: str, required=()) -> dict:
        return {
            "type": "struct",
            "fields": self._fields(self.key + self.columns, required),
            "optional": True,
            "name": f"{self.topic}.{suffix}",
        }

    def value_schema(self, required=()) -> dict:
        # The canary's envelope, except that verify can make After's fields required (poison records).
        source = {
            "type": "struct",
            "optional": False,
            "name": SOURCE_SCHEMA_NAME,
            "fields": copy.deepcopy(cdc_event.SOURCE_FIELDS),
            "field": "source",
        }
        transaction = copy.deepcopy(cdc_event.TRANSACTION_SCHEMA)
        return {
            "type": "struct",
            "optional": False,
            "name": f"{self.topic}.Envelope",
            "fields": [
                source,
                {**self.row_schema("Before"), "field": "before"},
                {**self.row_schema("After", required), "field": "after"},
                {"type": "string", "optional": True, "field": "op"},
                {"type": "int64", "optional": True, "field": "ts_ms"},
                transaction,
                {"type": "int64", "optional": True, "field": "ts_us"},
                {"type": "int64", "optional": True, "field": "ts_ns"},
            ],
        }

    def full_row(self, key: dict, values: dict) -> dict:
        row = {c: None for c, _type in self.key + self.columns}
        row.update(values)
        row.update(key)
        return row


ORDERS = Table(
    "shop",
    "orders",
    key=[("customer_id", "int"), ("order_id", "bigint")],
    columns=[
        ("status", "text"),
        ("amount", "double"),
        ("quantity", "int"),
        ("small", "smallint"),
        ("ratio", "float"),
        ("paid", "boolean"),
        ("note", "text"),
        ("created_at", "timestamp"),
        ("ship_date", "date"),
        ("payload", "blob"),
    ],
)
WIDE_TYPES = ("text", "bigint", "double", "boolean", "int")
WIDE = Table("shop", "wide_rows", key=[("id", "int")], columns=[(f"c{i:03d}", WIDE_TYPES[i % 5]) for i in range(120)])
LOAD = Table("shop", "upgrade_load", key=[("id", "int")], columns=[("version", "bigint"), ("body", "text")])

UNICODE = [
    "Grüße aus Köln",
    "日本語のテキスト",
    "emoji 🚀🔥 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "שלום עולם (right to left)",
    "e\u0301 combining accent, ß, Ω, ﬁ",
    "O'Brien; DROP TABLE cdc.x; -- quotes \" and \\ backslash",
    "tab\tnew\nline",
]


def _client_conf(args) -> dict:
    """The admin over SCRAM and TLS, as the scenario's other clients on the controller."""
    return {
        "bootstrap.servers": args.bootstrap,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": args.username,
        "sasl.password": os.environ["KAFKA_PASSWORD"],
        "ssl.ca.location": args.ca,
    }


class Writer:
    """Produces keyed records with explicit partitions and keeps the expected state per table."""

    def __init__(self, args, tables):
        conf = _client_conf(args)
        self.producer = Producer(
            {**conf, "acks": "all", "enable.idempotence": True, "linger.ms": 5, "message.timeout.ms": 300000}
        )
        metadata = AdminClient(conf).list_topics(timeout=30)
        self.partitions = {}
        for table in tables:
            topic = metadata.topics.get(table.topic)
            if topic is None or topic.error is not None:
                raise SystemExit(f"topic {table.topic} does not exist: deploy_connectors.yml creates it")
            self.partitions[table.topic] = len(topic.partitions)
        self.expected = {t.topic: {} for t in tables}
        self.delivered, self.failed, self.positions = 0, [], {}
        self.ts = 1_790_000_000_000  # source.ts_ms of the first event; each event one ms later

    def key_bytes(self, table: Table, key: dict) -> bytes:
        payload = {c: key[c] for c in table.key_names}
        return json.dumps({"schema": table.key_schema(), "payload": payload}, separators=(",", ":")).encode()

    def partition_of(self, table: Table, key_bytes: bytes) -> int:
        return zlib.crc32(key_bytes) % self.partitions[table.topic]

    def send(self, table: Table, key: dict, value, partition=None, label=None):
        kb = self.key_bytes(table, key)
        part = self.partition_of(table, kb) if partition is None else partition

        def report(err, msg, label=label):
            if err is not None:
                self.failed.append(f"{label}: {err}")
            else:
                self.delivered += 1
                if label:
                    self.positions[label] = {"partition": msg.partition(), "offset": msg.offset()}

        while True:
            try:
                self.producer.produce(table.topic, key=kb, value=value, partition=part, on_delivery=report)
                break
            except BufferError:
                self.producer.poll(0.5)
        self.producer.poll(0)
        return part

    def envelope(self, table: Table, op: str, before, after) -> bytes:
        self.ts += 1
        source = {
            "version": "2.0.3",
            "connector": "scylla",
            "name": PREFIX,
            "ts_ms": self.ts,
            "snapshot": "false",
            "db": table.keyspace,
            "sequence": None,
            "ts_us": self.ts * 1000,
            "ts_ns": None,
            "keyspace_name": table.keyspace,
            "table_name": table.name,
        }
        payload = {
            "source": source,
            "before": before,
            "after": after,
            "op": op,
            "ts_ms": self.ts + 30_000,
            "transaction": None,
            "ts_us": (self.ts + 30_000) * 1000,
            "ts_ns": None,
        }
        return json.dumps(
            {"schema": table.value_schema(), "payload": payload}, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def upsert(self, table: Table, key: dict, values: dict, op: str = "c"):
        row = table.full_row(key, values)
        self.send(table, key, self.envelope(table, op, None, row))
        self.expected[table.topic][_key_id(table, key)] = row

    def delete(self, table: Table, key: dict):
        # The connector's DELETE: before holds the key (no pre-image configured), after is null.
        self.send(table, key, self.envelope(table, "d", table.full_row(key, {}), None))
        self.send(table, key, None)  # the tombstone
        self.expected[table.topic].pop(_key_id(table, key), None)

    def sentinels(self, table: Table, nonce: str, key_of, values_of):
        """One row per partition, written last, carrying this run's nonce: seen in PostgreSQL, it proves the sink
        has applied everything written to that partition before it."""
        found, candidate = {}, 0
        while len(found) < self.partitions[table.topic]:
            candidate += 1
            key = key_of(candidate)
            part = self.partition_of(table, self.key_bytes(table, key))
            if part not in found:
                found[part] = key
        for _part, key in sorted(found.items()):
            self.upsert(table, key, values_of(nonce))
        return len(found)

    def flush(self, timeout: float):
        left = self.producer.flush(timeout)
        if left:
            self.failed.append(f"{left} records still undelivered after {timeout} s")

    def write_expected(self, path: str, tables, nonce: str, schema: str, extra=None):
        doc = {
            "nonce": nonce,
            "tables": {
                t.sink_table(schema): {
                    "key": t.key_names,
                    "sentinel_column": "note" if t is ORDERS else ("c000" if t is WIDE else "body"),
                    "rows": list(self.expected[t.topic].values()),
                }
                for t in tables
            },
        }
        doc.update(extra or {})
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)


def _key_id(table: Table, key: dict) -> str:
    return json.dumps([key[c] for c in table.key_names])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def order_values(i: int, variant: int = 0) -> dict:
    """A full row of shop.orders: every column set, except where a test wants a NULL."""
    return {
        "status": ["new", "paid", "shipped", "returned"][(i + variant) % 4],
        "amount": round(10.5 * i + variant * 0.25, 2),
        "quantity": i + variant,
        "small": (i * 7 + variant) % 30000,
        "ratio": [0.25, 0.5, 1.5, -2.75][(i + variant) % 4],
        "paid": (i + variant) % 2 == 0,
        "note": UNICODE[(i + variant) % len(UNICODE)],
        "created_at": 1_700_000_000_000 + i * 86_400_000 + variant,
        "ship_date": 19_700 + i + variant,
        "payload": _b64(bytes([(i + variant + b) % 256 for b in range(16)])),
    }


def wide_values(i: int, variant: int = 0) -> dict:
    values = {}
    for n, (col, cql) in enumerate(WIDE.columns):
        if cql == "text":
            values[col] = f"{UNICODE[(i + n) % len(UNICODE)]} #{i}.{n}.{variant}"
        elif cql == "bigint":
            values[col] = (i * 1_000_003 + n * 7 + variant) * (1 if n % 2 else -1)
        elif cql == "double":
            values[col] = (i + n) / 8 + variant
        elif cql == "boolean":
            values[col] = (i + n + variant) % 3 == 0
        else:
            values[col] = i * n - variant
    return values


def okey(customer_id: int, order_id: int) -> dict:
    return {"customer_id": customer_id, "order_id": order_id}


def cmd_produce(args) -> dict:
    w = Writer(args, [ORDERS, WIDE])
    nonce = uuid.uuid4().hex

    # Inserts: 40 orders of 8 customers, some with NULLs in a few columns.
    for i in range(1, 41):
        values = order_values(i)
        if i % 5 == 0:
            values.update({"amount": None, "note": None, "ship_date": None})
        w.upsert(ORDERS, okey(i % 8 + 1, 1000 + i), values, "c")
    # Updates, each a full after-image: new values, a value set to NULL, a NULL set to a value.
    for i in range(1, 21):
        values = order_values(i, variant=3)
        if i % 4 == 0:
            values["status"] = None
        w.upsert(ORDERS, okey(i % 8 + 1, 1000 + i), values, "u")
    # Deletes: a DELETE record and a tombstone each; one key is inserted again afterwards.
    for i in (3, 7, 11, 33):
        w.delete(ORDERS, okey(i % 8 + 1, 1000 + i))
    w.upsert(ORDERS, okey(7 % 8 + 1, 1007), order_values(7, variant=9), "c")
    # The partial-row trap: an update that carries only the changed column (what the source sends
    # without a full after-image) makes the upsert write NULL into every other column. Pinned here;
    # the source config's cdc.include.after=full is what prevents it.
    trap_key = okey(15 % 8 + 1, 1015)
    w.upsert(ORDERS, trap_key, {"status": "partial-update"}, "u")
    # A string where an int is declared is not refused: Kafka's JsonConverter reads the text node
    # as 0 (checked with connect-json 4.4.0). Pinned, so an upgrade that starts refusing it shows.
    coerced_key = okey(8001, 1)
    bad_type = json.loads(w.envelope(ORDERS, "c", None, ORDERS.full_row(coerced_key, order_values(1))))
    bad_type["payload"]["after"]["quantity"] = "forty-two"
    w.send(ORDERS, coerced_key, json.dumps(bad_type).encode())
    w.expected[ORDERS.topic][_key_id(ORDERS, coerced_key)] = ORDERS.full_row(
        coerced_key, {**order_values(1), "quantity": 0}
    )

    # Poison records, both in one partition, then a good record after them in the same partition.
    poison_key = okey(9001, 1)
    poison_part = w.partition_of(ORDERS, w.key_bytes(ORDERS, poison_key))
    required_null = json.loads(w.envelope(ORDERS, "c", None, ORDERS.full_row(poison_key, order_values(2))))
    required_null["schema"] = ORDERS.value_schema(required=("status",))
    required_null["payload"]["after"]["status"] = None
    w.send(ORDERS, poison_key, json.dumps(required_null).encode(), poison_part, label="poison-required-null")
    w.send(ORDERS, okey(9001, 2), b'{"schema": {"type": "struct", "fields": [', poison_part, label="poison-not-json")
    after_poison = okey(9002, 1)
    w.send(
        ORDERS,
        after_poison,
        w.envelope(ORDERS, "c", None, ORDERS.full_row(after_poison, {**order_values(5), "note": nonce})),
        poison_part,
        label="good-after-poison",
    )
    w.expected[ORDERS.topic][_key_id(ORDERS, after_poison)] = ORDERS.full_row(
        after_poison, {**order_values(5), "note": nonce}
    )

    # Wide rows: 120 columns of five types, one with a 64 KiB text; updated, one deleted.
    for i in range(1, 11):
        values = wide_values(i)
        if i == 4:
            values["c000"] = ("wide " + UNICODE[2]) * 4096
        if i == 6:
            values.update({c: None for c, _type in WIDE.columns[::3]})
        w.upsert(WIDE, {"id": i}, values, "c")
    for i in (2, 4, 6):
        w.upsert(WIDE, {"id": i}, wide_values(i, variant=1), "u")
    w.delete(WIDE, {"id": 9})

    counts = {
        "orders_sentinels": w.sentinels(ORDERS, nonce, lambda n: okey(-1, n), lambda s: {**order_values(0), "note": s}),
        "wide_sentinels": w.sentinels(WIDE, nonce, lambda n: {"id": -n}, lambda s: {**wide_values(0), "c000": s}),
    }
    w.flush(args.timeout)
    w.write_expected(
        args.out,
        [ORDERS, WIDE],
        nonce,
        args.schema,
        {
            "poison": {
                "topic": ORDERS.topic,
                "records": [w.positions.get(k) for k in ("poison-required-null", "poison-not-json")],
                "good_after": w.positions.get("good-after-poison"),
            },
            "trap_key": [trap_key[c] for c in ORDERS.key_names],
            "coerced_key": [coerced_key[c] for c in ORDERS.key_names],
        },
    )
    return {"delivered": w.delivered, "failed": w.failed, "positions": w.positions, "nonce": nonce, **counts}


def cmd_load(args) -> dict:
    """Changes to shop.upgrade_load at --rate per second until --stop-file exists (or the bounds)."""
    w = Writer(args, [LOAD])
    started, events, versions = time.monotonic(), 0, {}
    while (
        events < args.max_events and time.monotonic() - started < args.duration and not os.path.exists(args.stop_file)
    ):
        key = {"id": events % args.keys + 1}
        version = versions.get(key["id"], 0) + 1
        versions[key["id"]] = version
        if version % 7 == 0:
            w.delete(LOAD, key)
        else:
            w.upsert(
                LOAD,
                key,
                {"version": version, "body": f"{UNICODE[version % len(UNICODE)]} v{version}"},
                "c" if version == 1 else "u",
            )
        events += 1
        time.sleep(max(0.0, started + events / args.rate - time.monotonic()))
    nonce = uuid.uuid4().hex
    sentinels = w.sentinels(LOAD, nonce, lambda n: {"id": -n}, lambda s: {"version": 0, "body": s})
    w.flush(args.timeout)
    w.write_expected(args.out, [LOAD], nonce, args.schema)
    return {
        "events": events,
        "delivered": w.delivered,
        "failed": w.failed,
        "seconds": round(time.monotonic() - started, 1),
        "sentinels": sentinels,
    }


def cmd_dlq(args) -> dict:
    with open(args.expected, encoding="utf-8") as fh:
        poison = json.load(fh)["poison"]
    consumer = Consumer(
        {**_client_conf(args), "group.id": f"molecule-dlq-check-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    wanted = {(poison["topic"], r["partition"], r["offset"]) for r in poison["records"] if r}
    found, deadline = {}, time.monotonic() + args.timeout
    try:
        metadata = consumer.list_topics(args.dlq, timeout=30).topics.get(args.dlq)
        if metadata is None or metadata.error is not None:
            return {"ok": False, "error": f"dead letter queue {args.dlq} does not exist"}
        consumer.assign([TopicPartition(args.dlq, p, 0) for p in metadata.partitions])
        while len(found) < len(wanted) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            headers = {k: (v.decode("utf-8", "replace") if v is not None else None) for k, v in (msg.headers() or [])}
            origin = (
                headers.get("__connect.errors.topic"),
                int(headers.get("__connect.errors.partition", -1)),
                int(headers.get("__connect.errors.offset", -1)),
            )
            if origin in wanted:
                found[origin] = {
                    "dlq_offset": msg.offset(),
                    "missing_headers": [h for h in ERROR_HEADERS if h not in headers],
                    "connector": headers.get("__connect.errors.connector.name"),
                    "stage": headers.get("__connect.errors.stage"),
                    "exception": headers.get("__connect.errors.exception.class.name"),
                    "message": (headers.get("__connect.errors.exception.message") or "")[:160],
                    "key_kept": msg.key() is not None,
                }
    finally:
        consumer.close()
    records = [found.get(w, {"missing": list(w)}) for w in sorted(wanted)]
    ok = (
        len(found) == len(wanted) == 2
        and all(
            not r["missing_headers"] and r["connector"] == args.connector and r["stage"] == "VALUE_CONVERTER"
            for r in found.values()
        )
        and all(r["exception"] == "org.apache.kafka.connect.errors.DataException" for r in found.values())
    )
    return {"ok": ok, "records": records}


def cmd_search(args) -> dict:
    """Reads a whole topic (Connect's config topic) and counts the records that hold the secret or the control."""
    consumer = Consumer(
        {**_client_conf(args), "group.id": f"molecule-search-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    secret, control = os.environ["SEARCH_SECRET"].encode(), args.control.encode()
    counts = {"records": 0, "secret": 0, "control": 0}
    try:
        metadata = consumer.list_topics(args.topic, timeout=30).topics[args.topic]
        ends = {}
        for p in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=30)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(args.topic, p, 0) for p in ends])
        deadline = time.monotonic() + args.timeout
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and not msg.error():
                data = (msg.key() or b"") + b"\n" + (msg.value() or b"")
                counts["records"] += 1
                counts["secret"] += secret in data
                counts["control"] += control in data
            # Positions, not the last offset seen: transaction markers (the config topic is written
            # transactionally) take offsets no record has.
            for tp in consumer.position([TopicPartition(args.topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    ends.pop(tp.partition)
        counts["complete"] = not ends
    finally:
        consumer.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("produce", "load", "dlq", "search"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True)
        p.add_argument("--ca", required=True)
        p.add_argument("--username", default="admin", help="SCRAM user; the password is read from $KAFKA_PASSWORD")
        p.add_argument("--timeout", type=float, default=120.0)
    for name in ("produce", "load"):
        sub.choices[name].add_argument("--out", required=True, help="file for the expected state")
        sub.choices[name].add_argument("--schema", default="cdc", help="PostgreSQL schema of the sink's tables")
    load = sub.choices["load"]
    load.add_argument("--stop-file", required=True)
    load.add_argument("--rate", type=float, default=20.0)
    load.add_argument("--keys", type=int, default=200)
    load.add_argument("--max-events", type=int, default=20000)
    load.add_argument("--duration", type=float, default=900.0)
    dlq = sub.choices["dlq"]
    dlq.add_argument("--expected", required=True)
    dlq.add_argument("--dlq", required=True)
    dlq.add_argument("--connector", required=True)
    search = sub.choices["search"]
    search.add_argument("--topic", required=True)
    search.add_argument("--control", required=True, help="a string the topic must hold (shows the search can find)")
    args = parser.parse_args()
    commands = {"produce": cmd_produce, "load": cmd_load, "dlq": cmd_dlq, "search": cmd_search}
    result = commands[args.command](args)
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
