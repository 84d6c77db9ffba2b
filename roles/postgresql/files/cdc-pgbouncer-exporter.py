#!/usr/bin/env python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer exporter on Debian's prometheus-pgbouncer-exporter (1.7): its collectors, fixed for PgBouncer 1.18.

Debian 12's exporter reads SHOW STATS column `total_requests`, which PgBouncer 1.8 renamed: against
Debian 12's PgBouncer (1.18) it dies at start with KeyError. It also opens one connection for its
lifetime and has no `pgbouncer_up`. This entry point keeps the package's collectors for SHOW POOLS
(extended with the server-side columns), SHOW DATABASES and SHOW LISTS, reads SHOW STATS by the
current column names, connects afresh for every scrape and always answers, with `pgbouncer_up` 0
when the admin console cannot be queried. The password comes from PGPASSFILE (libpq), never from
the command line. docs/exporters.md lists the metrics.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading

import psycopg2
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
from prometheus_pgbouncer_exporter.collectors import DatabasesCollector, ListsCollector, PoolsCollector

LOG = logging.getLogger("cdc-pgbouncer-exporter")

# SHOW STATS (PgBouncer >= 1.8): column -> (metric name without _total, help). Times are microseconds.
STATS_COUNTERS = {
    "total_xact_count": ("pgbouncer_transactions", "SQL transactions pooled"),
    "total_query_count": ("pgbouncer_queries", "SQL queries pooled"),
    "total_received": ("pgbouncer_received_bytes", "Bytes received from clients"),
    "total_sent": ("pgbouncer_sent_bytes", "Bytes sent to clients"),
    "total_xact_time": ("pgbouncer_transaction_microseconds", "Microseconds spent in transactions"),
    "total_query_time": ("pgbouncer_query_microseconds", "Microseconds spent in queries"),
    "total_wait_time": ("pgbouncer_client_wait_microseconds", "Microseconds clients waited for a server"),
}


class Pools(PoolsCollector):
    """The package's client columns plus the server side of each pool and the longest wait."""

    metrics = {
        **PoolsCollector.metrics,
        "sv_active": ("active_servers", "Server connections linked to a client"),
        "sv_idle": ("idle_servers", "Server connections idle and ready"),
        # Not used_servers: SHOW LISTS has that name (the total), and a name may have one family only.
        "sv_used": ("used_idle_servers", "Server connections idle longer than server_check_delay"),
        "sv_login": ("login_servers", "Server connections logging in"),
        "maxwait": ("max_wait_seconds", "Age of the oldest waiting client"),
    }


class Databases(DatabasesCollector):
    metrics = {
        **DatabasesCollector.metrics,
        "current_connections": ("database_current_connections", "Server connections to this database"),
    }

    def get_labels_for_row(self, row):
        # PgBouncer's name of the database, as SHOW POOLS and SHOW STATS label it: the package takes the
        # server database, which two aliases (cdc, cdc_session) share, and would export one series twice.
        return [row["name"]]


class StatsTotals:
    def __init__(self, connection):
        self.connection = connection

    def collect(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW STATS;")
            columns = [column.name for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        for column, (name, documentation) in STATS_COUNTERS.items():
            family = CounterMetricFamily(name, documentation, labels=["database"])
            for row in rows:
                if column in row:
                    family.add_metric([row["database"]], row[column])
            yield family


class PgBouncer:
    """Collector of the registry: one admin console connection per scrape."""

    def __init__(self, args: argparse.Namespace):
        self.args = args

    def connect(self):
        connection = psycopg2.connect(
            dbname="pgbouncer",
            user=self.args.pgbouncer_user,
            host=self.args.pgbouncer_host,
            port=self.args.pgbouncer_port,
            connect_timeout=self.args.timeout,
        )
        # The admin console has no transactions.
        connection.set_session(autocommit=True)
        return connection

    def collect(self):
        up = GaugeMetricFamily("pgbouncer_up", "1 when PgBouncer's admin console answered this scrape")
        families = []
        try:
            connection = self.connect()
            try:
                for collector in (
                    StatsTotals(connection),
                    Pools(connection=connection, databases=None),
                    Databases(connection=connection, databases=None),
                    ListsCollector(connection=connection),
                ):
                    families.extend(collector.collect())
            finally:
                connection.close()
        except (psycopg2.Error, KeyError) as exc:
            LOG.warning("PgBouncer admin console: %s", str(exc).strip())
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def describe(self):
        # Names only (no query) so registering does not need PgBouncer to be up.
        return [GaugeMetricFamily("pgbouncer_up", "")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen-address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9127)
    parser.add_argument("--pgbouncer-host", default="/var/run/postgresql", help="socket directory or host")
    parser.add_argument("--pgbouncer-port", type=int, default=6432)
    parser.add_argument("--pgbouncer-user", default="pgbouncer_exporter")
    parser.add_argument("--timeout", type=int, default=5, help="connect timeout, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    REGISTRY.register(PgBouncer(args))
    start_http_server(args.port, addr=args.listen_address)
    LOG.info("listening on %s:%d", args.listen_address, args.port)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
