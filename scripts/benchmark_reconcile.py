#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cdc_reconcile's speed next to the raw ceiling: a plain full scan of both tables, same machine, same run.

Starts a throw-away Cassandra 5 node and PostgreSQL server on loopback (the integration tests' helpers,
TLS on both), fills a source table and its sink copy with --rows rows (the pipeline's shop.items shape),
then measures, best of --repeat:
- the ceiling: `SELECT` of every row at the source (paged, rows as tuples) then at the sink (server-side
  cursor), one after the other, each row fetched and nothing else done with it;
- cdc_reconcile on equal tables (its comparison code, in this process: no Ansible around it);
- cdc_reconcile after --differences rows were deleted and as many changed in the sink.
Prints one JSON report; the ratio is ceiling seconds / reconcile seconds (1.0: as fast as reading both).
Bounded: --rows at most 2,000,000; everything it starts stops when it ends.

    make benchmark-reconcile                        # 200,000 rows
    .venv/bin/python scripts/benchmark_reconcile.py --rows 50000
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.tools.collection_path import make_importable  # noqa: E402

make_importable()

import psycopg  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils.cql import TUPLE_ROWS, CqlClient  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.modules import cdc_reconcile  # noqa: E402
from cassandra.concurrent import execute_concurrent_with_args  # noqa: E402
from cassandra.query import SimpleStatement  # noqa: E402

from tests.tools.cassandra_server import started_cassandra  # noqa: E402
from tests.tools.postgres_server import started_postgres  # noqa: E402

MAX_ROWS = 2_000_000
PAGE = 5000


def item(key: int) -> tuple:
    return (
        key,
        f"item-{key}",
        None if key % 17 == 0 else key * 3,
        decimal.Decimal(f"{key}.50"),
        None if key % 11 == 0 else f"t{key % 7}",
        datetime.datetime(2026, 12, 6, 12, 0, 0) + datetime.timedelta(milliseconds=key),
    )


def fill(node, pg, rows: int) -> None:
    with node.session() as session:
        session.execute("CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute(
            "CREATE TABLE shop.items "
            "(id int PRIMARY KEY, name text, qty int, price decimal, tags text, updated_at timestamp)"
        )
        insert = session.prepare(
            "INSERT INTO shop.items (id, name, qty, price, tags, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        )
        for start in range(0, rows, 50_000):
            execute_concurrent_with_args(
                session, insert, [item(k) for k in range(start, min(rows, start + 50_000))], concurrency=64
            )
    with pg.admin() as admin:
        admin.execute("CREATE DATABASE cdc")
        admin.execute("CREATE ROLE cdc_reconcile LOGIN PASSWORD 'benchmark-only'")
    with pg.admin("cdc") as conn:
        conn.execute("CREATE SCHEMA cdc")
        conn.execute(
            "CREATE TABLE cdc.cdc_shop_items (id int PRIMARY KEY, name text, qty int, price numeric, tags text, "
            "updated_at timestamp)"
        )
        with conn.cursor().copy("COPY cdc.cdc_shop_items FROM STDIN") as copy:
            for k in range(rows):
                copy.write_row(item(k))
        conn.execute("GRANT USAGE ON SCHEMA cdc TO cdc_reconcile")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA cdc TO cdc_reconcile")
        conn.execute("VACUUM ANALYZE cdc.cdc_shop_items")


def params(node, pg) -> dict:
    return {
        "login_hosts": [node.host],
        "login_port": node.port,
        "login_user": "admin",
        "login_password": node.admin_password,
        "ssl": True,
        "validate_certs": True,
        "ca_cert": str(node.tls.ca_cert),
        "client_cert": None,
        "client_key": None,
        "connect_timeout": 30,
        "source_table": "shop.items",
        "sink_table": "cdc.cdc_shop_items",
        "sink_host": pg.host,
        "sink_port": pg.port,
        "sink_database": "cdc",
        "sink_user": "cdc_reconcile",
        "sink_password": "benchmark-only",
        "sink_sslmode": "verify-full",
        "sink_ca_cert": str(pg.tls.ca_cert),
        "columns": None,
        "ignore_columns": [],
        "token_ranges": None,  # the module's own choice (one slice for about 20,000 rows)
        "page_size": PAGE,
        "parallel": 4,
        "sample_limit": 100,
        "max_rows_in_memory": 1_000_000,
        "reemit_path": None,
    }


def ceiling(client: CqlClient, settings: dict) -> dict:
    """Every row of both tables fetched, one table after the other."""
    started = time.monotonic()
    source_rows = sum(
        1
        for _row in client.session.execute(
            SimpleStatement("SELECT * FROM shop.items", fetch_size=PAGE), execution_profile=TUPLE_ROWS
        )
    )
    source_seconds = time.monotonic() - started
    started = time.monotonic()
    sink_rows = 0
    with psycopg.connect(
        host=settings["sink_host"],
        port=settings["sink_port"],
        dbname="cdc",
        user="cdc_reconcile",
        password=settings["sink_password"],
        sslmode="verify-full",
        sslrootcert=settings["sink_ca_cert"],
    ) as conn:
        with conn.cursor(name="ceiling") as cur:
            cur.execute("SELECT * FROM cdc.cdc_shop_items")
            while batch := cur.fetchmany(PAGE):
                sink_rows += len(batch)
    sink_seconds = time.monotonic() - started
    return {
        "source_rows": source_rows,
        "sink_rows": sink_rows,
        "source_seconds": round(source_seconds, 2),
        "sink_seconds": round(sink_seconds, 2),
        "seconds": round(source_seconds + sink_seconds, 2),
    }


def run_reconcile(client: CqlClient, settings: dict) -> dict:
    found = cdc_reconcile.reconcile(settings, client)
    return {
        "seconds": round(found.seconds, 2),
        "counts": found.differences.counts,
        "slices": len(found.slices),
        "differing_slices": len(found.differing),
        "ranges_reread": found.ranges_reread,
        "sink_passes": found.sink.reads,
        "sink_lookups": found.sink.lookups,
    }


def best(measure, repeat: int) -> dict:
    runs = [measure() for _ in range(repeat)]
    return min(runs, key=lambda run: run["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--differences", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not 0 < args.rows <= MAX_ROWS:
        parser.error(f"--rows must be between 1 and {MAX_ROWS}")
    with tempfile.TemporaryDirectory(prefix="cdc-bench-reconcile-") as scratch:
        with started_cassandra(Path(scratch) / "cassandra") as node, started_postgres() as pg:
            started = time.monotonic()
            fill(node, pg, args.rows)
            filled = time.monotonic() - started
            settings = params(node, pg)
            client = CqlClient(settings).connect()
            try:
                raw = best(lambda: ceiling(client, settings), args.repeat)
                equal = best(lambda: run_reconcile(client, settings), args.repeat)
                with pg.admin("cdc") as conn:
                    step = max(1, args.rows // args.differences)
                    conn.execute(
                        "DELETE FROM cdc.cdc_shop_items WHERE id %% %s = 0 AND id < %s", (step, step * args.differences)
                    )
                    conn.execute(
                        "UPDATE cdc.cdc_shop_items SET qty = -1 WHERE id %% %s = 1 AND id < %s",
                        (step, step * args.differences),
                    )
                differing = best(lambda: run_reconcile(client, settings), args.repeat)
            finally:
                client.close()
    report = {
        "rows": args.rows,
        "fill_seconds": round(filled, 1),
        "ceiling": raw,
        "reconcile_equal": equal,
        "reconcile_with_differences": differing,
        "ratio_equal": round(raw["seconds"] / equal["seconds"], 2),
        "ratio_with_differences": round(raw["seconds"] / differing["seconds"], 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
