"""Wait until the sink's tables in PostgreSQL equal the expected state, key by key (molecule/pipeline verify_sink.yml).

Reads the expected-state files sink_e2e.py wrote (produce, load), then polls the tables, as root on
the PostgreSQL host (peer login as postgres), until every sentinel row carries the run's nonce and
every table equals its expected rows, or --timeout passes. Values are compared in the form the
change events carry them: timestamps as epoch milliseconds, dates as days, bytes as base64.
Prints one JSON report: equal, and per table the missing, unexpected and differing keys.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import sys
import time

import psycopg2
from psycopg2 import sql


def _canonical(value):
    """PostgreSQL values in the form the events carry them (what the JSON converter wrote)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return round(value.timestamp() * 1000)
    if isinstance(value, datetime.date):
        return (value - datetime.date(1970, 1, 1)).days
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return float(value)  # Decimal
    return value


def _connect(database: str):
    # As root on the PostgreSQL host: peer login as postgres (pg_ident maps root), no password needed.
    return psycopg2.connect(dbname=database, user="postgres", host="/var/run/postgresql")


def _table_rows(conn, table: str, key: list) -> dict | None:
    schema, name = table.split(".", 1)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", (schema, name))
        if cur.fetchone() is None:
            return None
        cur.execute(sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
        columns = [d[0] for d in cur.description]
        rows = {}
        for record in cur.fetchall():
            row = {c: _canonical(v) for c, v in zip(columns, record, strict=True)}
            rows[json.dumps([row[k] for k in key])] = row
    conn.rollback()
    return rows


def _compare(expected: dict, actual: dict | None, key: list) -> dict:
    if actual is None:
        return {"table_missing": True}
    want = {json.dumps([r[k] for k in key]): r for r in expected}
    missing = sorted(set(want) - set(actual))
    unexpected = sorted(set(actual) - set(want))
    differing = {}
    for k in sorted(set(want) & set(actual)):
        diff = {
            c: {"expected": v, "actual": actual[k].get(c, "<no column>")}
            for c, v in want[k].items()
            if actual[k].get(c, "<no column>") != v
        }
        if diff:
            differing[k] = dict(list(diff.items())[:5])
    return {
        "rows": len(actual),
        "expected_rows": len(want),
        "missing": missing[:20],
        "unexpected": unexpected[:20],
        "differing": dict(list(differing.items())[:10]),
    }


def cmd_check(args) -> dict:
    docs = []
    for path in args.expected:
        with open(path, encoding="utf-8") as fh:
            docs.append(json.load(fh))
    conn = _connect(args.database)
    deadline = time.monotonic() + args.timeout
    while True:
        result, ok = {}, True
        for doc in docs:
            for table, spec in doc["tables"].items():
                actual = _table_rows(conn, table, spec["key"])
                sentinels = [r for r in spec["rows"] if r.get(spec["sentinel_column"]) == doc["nonce"]]
                seen = sum(
                    1
                    for r in sentinels
                    if actual
                    and actual.get(json.dumps([r[k] for k in spec["key"]]), {}).get(spec["sentinel_column"])
                    == doc["nonce"]
                )
                comparison = _compare(spec["rows"], actual, spec["key"])
                comparison["sentinels"] = f"{seen}/{len(sentinels)}"
                equal = not comparison.get("table_missing") and not (
                    comparison["missing"] or comparison["unexpected"] or comparison["differing"]
                )
                comparison["equal"] = equal
                result[table] = comparison
                ok = ok and equal
        if ok or time.monotonic() > deadline:
            break
        time.sleep(3)
    for doc in docs:
        if "trap_key" in doc:
            table = next(iter(doc["tables"]))
            actual = _table_rows(conn, table, doc["tables"][table]["key"]) or {}
            trap = actual.get(json.dumps(doc["trap_key"]), {})
            result["partial_row_trap"] = {
                "status": trap.get("status"),
                "amount": trap.get("amount"),
                "quantity": trap.get("quantity"),
            }
            coerced = actual.get(json.dumps(doc["coerced_key"]), {})
            result["text_in_int_column"] = coerced.get("quantity", "<row missing>")
    return {"equal": ok, "tables": result, "waited": round(args.timeout - max(0.0, deadline - time.monotonic()), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expected", required=True, action="append", help="an expected-state file (repeatable)")
    parser.add_argument("--database", default="cdc")
    parser.add_argument("--timeout", type=float, default=240.0)
    print(json.dumps(cmd_check(parser.parse_args()), ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
