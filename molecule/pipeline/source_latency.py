"""End-to-end latency of the source half, read where the rows land (molecule/pipeline verify_source.yml).

source_e2e.py `latency` writes, through the stand-in for ScyllaDB, updates whose `tags` column holds
`lat-<epoch ms of the write>-<nonce>`. This script runs on the PostgreSQL primary (as root: peer login
as postgres), polls the sink's table every --interval seconds, and takes each row's first sighting as
its arrival: latency = arrival - write time. Containers share the machine's clock. Bounded by
--timeout; prints one JSON report with the count and p50/p90/p99/max in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import psycopg2


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nonce", required=True)
    parser.add_argument("--rows", type=int, required=True, help="how many updates the writer makes")
    parser.add_argument("--table", default="cdc.cdc_shop_items")
    parser.add_argument("--database", default="cdc")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()
    schema, table = args.table.split(".", 1)
    conn = psycopg2.connect(dbname=args.database, user="postgres", host="/var/run/postgresql")
    conn.autocommit = True
    suffix = f"-{args.nonce}"
    arrived: dict[int, float] = {}
    deadline = time.monotonic() + args.timeout
    with conn.cursor() as cur:
        while len(arrived) < args.rows and time.monotonic() < deadline:
            cur.execute(
                f'SELECT id, tags FROM "{schema}"."{table}" WHERE tags LIKE %s',  # noqa: S608 - fixed names
                (f"lat-%{suffix}",),
            )
            now_ms = time.time() * 1000
            for key, tags in cur.fetchall():
                if key not in arrived:
                    written_ms = int(tags[len("lat-") : -len(suffix)])
                    arrived[key] = now_ms - written_ms
            time.sleep(args.interval)
    latencies = list(arrived.values())
    report = {"rows": args.rows, "arrived": len(latencies), "resolution_ms": round(args.interval * 1000)}
    if latencies:
        report.update(
            {
                name: round(percentile(latencies, share))
                for name, share in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99))
            }
        )
        report["max_ms"] = round(max(latencies))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
