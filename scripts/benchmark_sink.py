#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sink benchmark: rows/s through Kafka Connect into PostgreSQL, next to the machine's raw ceiling.

Not a timed test: playbooks/benchmark_sink.yml runs the steps below against a running environment
(the molecule/pipeline containers after converge, or the lab) and writes the report. The rows are
change events in the ScyllaDB CDC source's advanced format (a Debezium envelope with the full
after-image, JSON with schemas, as the workers convert them), upserted by a sink connector with
exactly postgres-sink's settings; the ceiling is the same rows upserted by psycopg directly, in
batches of the same size, as the same database user over TLS.

Steps (each bounded in rows and time, each printing one JSON object):
  prepare  PostgreSQL host, as root (peer login as postgres): the two tables, owned by the sink
           user, each with visible_at filled by PostgreSQL when the row is written.
  produce  controller (confluent-kafka): --rows change events to --topic, ids from --first-id, as
           fast as possible (--rate 0) or paced; produced_us is the time of each produce call.
  wait     PostgreSQL host: waits until the rows with ids in [first, first+rows) are there, then
           reports the sink's rows/s (first to last row written) and the produce-to-visible
           latency percentiles.
  direct   PostgreSQL host: the same rows upserted with psycopg, --batch-size per statement and
           transaction, as the sink user over TLS, --passes times into fresh keys; reports the best rows/s.
  drop     PostgreSQL host: drops the two tables.
  forget   controller: deletes the benchmark connector's consumer group (after the connector).

The controller and the PostgreSQL host need different libraries, so each step imports its own.
Passwords are read from 0600 files (--password-file), never from the command line or environment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

COLUMNS = [
    # name, CQL type of the source table, Connect schema type, PostgreSQL type
    ("id", "bigint", "int64", "bigint"),
    ("produced_us", "bigint", "int64", "bigint"),
    ("customer", "text", "string", "text"),
    ("amount", "double", "double", "double precision"),
    ("quantity", "int", "int32", "integer"),
    ("status", "text", "string", "text"),
    ("note", "text", "string", "text"),
    ("active", "boolean", "boolean", "boolean"),
]
NOTE = "Bestellung für Köln – 注文 🚀 "


def _read_secret(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip()


def row(i: int, produced_us: int) -> dict:
    """Row i of the benchmark, the same in both paths."""
    return {
        "id": i,
        "produced_us": produced_us,
        "customer": f"customer-{i % 5000:05d}",
        "amount": round((i % 10000) * 1.25, 2),
        "quantity": i % 97,
        "status": ("new", "paid", "shipped")[i % 3],
        "note": (NOTE * 4)[: 60 + i % 40],
        "active": i % 2 == 0,
    }


def envelope_schemas(topic: str) -> tuple[dict, dict]:
    """Key and value schemas as the ScyllaDB CDC source declares them (see molecule/pipeline/sink_e2e.py)."""
    fields = [{"type": t, "optional": True, "field": n} for n, _unused, t, _pg in COLUMNS]
    key = {"type": "struct", "optional": False, "name": f"{topic}.Key", "fields": [fields[0]]}
    source = {
        "type": "struct",
        "optional": False,
        "name": "com.scylladb.cdc.debezium.connector",
        "field": "source",
        "fields": [
            {"type": "string", "optional": False, "field": f}
            for f in ("version", "connector", "name", "db", "keyspace_name", "table_name")
        ]
        + [
            {"type": "int64", "optional": False, "field": "ts_ms"},
            {"type": "int64", "optional": True, "field": "ts_us"},
        ],
    }
    value = {
        "type": "struct",
        "optional": False,
        "name": f"{topic}.Envelope",
        "fields": [
            source,
            {"type": "struct", "optional": True, "name": f"{topic}.Before", "fields": fields, "field": "before"},
            {"type": "struct", "optional": True, "name": f"{topic}.After", "fields": fields, "field": "after"},
            {"type": "string", "optional": True, "field": "op"},
            {"type": "int64", "optional": True, "field": "ts_ms"},
        ],
    }
    return key, value


def cmd_produce(args) -> dict:
    from confluent_kafka import Producer  # noqa: PLC0415 - only the controller has confluent-kafka

    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": args.username,
            "sasl.password": _read_secret(args.password_file),
            "ssl.ca.location": args.ca,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 10,
            "compression.type": "lz4",
            "message.timeout.ms": int(args.timeout * 1000),
        }
    )
    _prefix, keyspace, table = args.topic.split(".", 2)
    # The schemas are the same in every record: serialised once (the JSON converter's envelope by hand).
    key_schema_json, value_schema_json = (
        json.dumps(schema, separators=(",", ":"), ensure_ascii=False) for schema in envelope_schemas(args.topic)
    )
    failed: list[str] = []

    def report(err, _msg):
        if err is not None:
            failed.append(str(err))

    def record(i: int, now_us: int) -> tuple[bytes, bytes]:
        source = {"version": "2.0.3", "connector": "scylla", "name": "cdc", "db": keyspace, "keyspace_name": keyspace,
                  "table_name": table, "ts_ms": now_us // 1000, "ts_us": now_us}  # fmt: skip
        value = {"source": source, "before": None, "after": row(i, now_us), "op": "c", "ts_ms": now_us // 1000}
        value_json = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        key = f'{{"schema":{key_schema_json},"payload":{{"id":{i}}}}}'
        return key.encode(), f'{{"schema":{value_schema_json},"payload":{value_json}}}'.encode()

    # Connections to every partition's leader first (TLS and SCRAM take a while on a busy machine): a row
    # stamped before the producer can send it would count the producer's start as the sink's latency.
    # Row 0 is outside every range the figures read.
    for partition in producer.list_topics(args.topic, timeout=30).topics[args.topic].partitions:
        key, payload = record(0, time.time_ns() // 1000)
        producer.produce(args.topic, key=key, value=payload, partition=partition, on_delivery=report)
    producer.flush(30)

    started = time.monotonic()
    deadline = started + args.timeout
    for n in range(args.rows):
        if args.rate > 0:
            time.sleep(max(0.0, started + n / args.rate - time.monotonic()))
        if time.monotonic() > deadline:
            failed.append(f"stopped at the time bound after {n} rows")
            break
        key, payload = record(args.first_id + n, time.time_ns() // 1000)
        while True:
            try:
                producer.produce(args.topic, key=key, value=payload, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.2)
        producer.poll(0)
    left = producer.flush(max(1.0, deadline - time.monotonic()))
    seconds = time.monotonic() - started
    if left:
        failed.append(f"{left} rows undelivered at the time bound")
    return {
        "rows": args.rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds),
        "failed": failed[:5],
    }


def _connect_admin(database: str):
    import psycopg2  # noqa: PLC0415 - only the PostgreSQL host has psycopg2 (Debian's python3-psycopg2)

    # As root on the PostgreSQL host: peer login as postgres (pg_ident maps root).
    return psycopg2.connect(dbname=database, user="postgres", host="/var/run/postgresql")


def cmd_prepare(args) -> dict:
    from psycopg2 import sql  # noqa: PLC0415 - PostgreSQL host only

    columns = sql.SQL(", ").join(sql.SQL(f"{name} {pg_type}") for name, _unused, _kafka, pg_type in COLUMNS)
    conn = _connect_admin(args.database)
    with conn, conn.cursor() as cur:
        for table in (args.sink_table, args.direct_table):
            ident = sql.Identifier(*table.split("."))
            cur.execute(
                sql.SQL(
                    "CREATE TABLE {} ({}, visible_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (id))"
                ).format(ident, columns)
            )
            # The sink user owns its tables, as when the sink creates them.
            cur.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(ident, sql.Identifier(args.owner)))
    return {"created": [args.sink_table, args.direct_table]}


def _figures(cur, table: str, first: int, rows: int) -> dict:
    from psycopg2 import sql  # noqa: PLC0415 - PostgreSQL host only

    query = sql.SQL(
        """
        SELECT count(*),
               extract(epoch FROM max(visible_at) - min(visible_at)),
               extract(epoch FROM max(visible_at)) - min(produced_us) / 1e6,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY lat),
               max(lat)
        FROM (SELECT visible_at, produced_us, extract(epoch FROM visible_at) * 1000 - produced_us / 1000.0 AS lat
              FROM {} WHERE id >= %s AND id < %s) AS t
        """
    ).format(sql.Identifier(*table.split(".")))
    cur.execute(query, (first, first + rows))
    count, write_span, total_span, pct, worst = cur.fetchone()
    # p50 and p99 of the rows produced in each second: a start-up transient or a stall shows as a bump.
    cur.execute(
        sql.SQL(
            """
            SELECT floor((produced_us - min(produced_us) OVER ()) / 1e6)::int AS second,
                   extract(epoch FROM visible_at) * 1000 - produced_us / 1000.0 AS lat
            FROM {} WHERE id >= %s AND id < %s
            """
        ).format(sql.Identifier(*table.split("."))),
        (first, first + rows),
    )
    seconds: dict[int, list[float]] = {}
    for second, lat in cur.fetchall():
        seconds.setdefault(second, []).append(float(lat))
    by_second = []
    for second in sorted(seconds):
        lats = sorted(seconds[second])
        by_second.append(
            [second, len(lats), round(lats[len(lats) // 2]), round(lats[min(len(lats) - 1, len(lats) * 99 // 100)])]
        )
    return {
        "rows": count,
        "sink_rows_per_s": round(count / float(write_span)) if write_span else None,
        "first_produce_to_last_visible_s": round(float(total_span), 2),
        "latency_ms": {"p50": round(pct[0]), "p95": round(pct[1]), "p99": round(pct[2]), "max": round(float(worst))},
        "latency_ms_by_second": {"columns": ["second", "rows", "p50", "p99"], "rows": by_second},
    }


def cmd_wait(args) -> dict:
    from psycopg2 import sql  # noqa: PLC0415 - PostgreSQL host only

    conn = _connect_admin(args.database)
    count_query = sql.SQL("SELECT count(*) FROM {} WHERE id >= %s AND id < %s").format(
        sql.Identifier(*args.table.split("."))
    )
    deadline, count = time.monotonic() + args.timeout, 0
    with conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(count_query, (args.first_id, args.first_id + args.rows))
            count = cur.fetchone()[0]
            conn.rollback()
            if count >= args.rows:
                break
            time.sleep(0.5)
        result = _figures(cur, args.table, args.first_id, args.rows)
    result["complete"] = count >= args.rows
    return result


def cmd_direct(args) -> dict:
    import psycopg2  # noqa: PLC0415 - PostgreSQL host only
    from psycopg2 import sql  # noqa: PLC0415
    from psycopg2.extras import execute_values  # noqa: PLC0415

    names = [c[0] for c in COLUMNS]
    statement = sql.SQL("INSERT INTO {} ({}) VALUES %s ON CONFLICT (id) DO UPDATE SET {}").format(
        sql.Identifier(*args.table.split(".")),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in names[1:]),
    )
    # Over TCP with TLS as the sink user, like the connector (which uses verify-full to the server's name).
    conn = psycopg2.connect(
        host=args.host, port=args.port, dbname=args.database, user=args.user, password=_read_secret(args.password_file),
        sslmode="verify-ca", sslrootcert=args.ca,
    )  # fmt: skip
    # The best of --passes passes, each into fresh keys: the ceiling is what this server can do, and one
    # short pass on a shared machine can land on a checkpoint or a neighbour's burst.
    deadline, rates = time.monotonic() + args.timeout, []
    with conn.cursor() as cur:
        query = statement.as_string(conn)
        for number in range(args.passes):
            first = args.first_id + number * args.rows
            started, written = time.monotonic(), 0
            for start in range(first, first + args.rows, args.batch_size):
                stop = min(start + args.batch_size, first + args.rows)
                now_us = time.time_ns() // 1000
                batch = [tuple(row(i, now_us)[n] for n in names) for i in range(start, stop)]
                execute_values(cur, query, batch, page_size=len(batch))
                conn.commit()
                written += len(batch)
                if time.monotonic() > deadline:
                    break
            rates.append(round(written / (time.monotonic() - started)))
            if written < args.rows:
                break
    conn.close()
    return {
        "rows": written,
        "batch_size": args.batch_size,
        "rows_per_s": max(rates),
        "passes_rows_per_s": rates,
    }


def cmd_drop(args) -> dict:
    from psycopg2 import sql  # noqa: PLC0415 - PostgreSQL host only

    conn = _connect_admin(args.database)
    with conn, conn.cursor() as cur:
        for table in (args.sink_table, args.direct_table):
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(*table.split("."))))
    return {"dropped": [args.sink_table, args.direct_table]}


def cmd_forget(args) -> dict:
    from confluent_kafka.admin import AdminClient  # noqa: PLC0415 - controller only

    admin = AdminClient(
        {
            "bootstrap.servers": args.bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": args.username,
            "sasl.password": _read_secret(args.password_file),
            "ssl.ca.location": args.ca,
        }
    )
    futures = admin.delete_consumer_groups([args.group], request_timeout=30)
    try:
        futures[args.group].result(timeout=60)
        return {"deleted_group": args.group}
    except Exception as exc:  # noqa: BLE001 - a group that is already gone is no failure of the benchmark
        return {"deleted_group": None, "note": str(exc)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    kafka = argparse.ArgumentParser(add_help=False)
    kafka.add_argument("--bootstrap", required=True)
    kafka.add_argument("--ca", required=True, help="CA of the brokers' certificates")
    kafka.add_argument("--username", default="admin", help="SCRAM user")
    kafka.add_argument("--password-file", required=True, help="file holding the SCRAM user's password")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--database", default="cdc")
    bounded = argparse.ArgumentParser(add_help=False)
    bounded.add_argument("--timeout", type=float, default=600.0, help="upper bound of the step in seconds")
    span = argparse.ArgumentParser(add_help=False)
    span.add_argument("--first-id", type=int, default=1)
    span.add_argument("--rows", type=int, default=50000)
    tables = argparse.ArgumentParser(add_help=False)
    tables.add_argument("--sink-table", required=True)
    tables.add_argument("--direct-table", required=True)

    p = sub.add_parser("produce", parents=[kafka, bounded, span])
    p.add_argument("--topic", required=True)
    p.add_argument("--rate", type=float, default=0.0, help="rows per second; 0 = as fast as possible")
    p = sub.add_parser("prepare", parents=[db, tables])
    p.add_argument("--owner", default="cdc_sink")
    p = sub.add_parser("wait", parents=[db, bounded, span])
    p.add_argument("--table", required=True)
    p = sub.add_parser("direct", parents=[db, bounded, span])
    p.add_argument("--table", required=True)
    p.add_argument("--batch-size", type=int, default=2000)
    p.add_argument("--passes", type=int, default=3, choices=range(1, 6), help="the best pass is the ceiling")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5432)
    p.add_argument("--user", default="cdc_sink")
    p.add_argument("--password-file", required=True, help="file holding the user's password")
    p.add_argument("--ca", required=True, help="CA of the server's certificate")
    sub.add_parser("drop", parents=[db, tables])
    p = sub.add_parser("forget", parents=[kafka])
    p.add_argument("--group", required=True)

    args = parser.parse_args()
    steps = {
        "produce": cmd_produce,
        "prepare": cmd_prepare,
        "wait": cmd_wait,
        "direct": cmd_direct,
        "drop": cmd_drop,
        "forget": cmd_forget,
    }
    print(json.dumps(steps[args.command](args), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
