#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify step's independent CQL client: runs statements over TLS as a given role, at QUORUM, and
prints the rows of each as JSON (one list per statement). The password comes from CDC_CQL_PASSWORD.

    cql_client.py --hosts 10.0.0.31,10.0.0.32 --ca ca.pem --user cdc_admin "SELECT ..." ["..."]

Exit 0 with {"results": [[row, ...], ...]}; exit 1 with {"error": "<class>: <message>"} when the
login or a statement fails (the verify step asserts on refusals too).
"""

import argparse
import json
import os
import ssl
import sys

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import dict_factory


def plain(value):
    """A JSON-friendly cell (blobs as hex, sets as sorted lists, maps as dicts)."""
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (set, frozenset)):
        return sorted(plain(item) for item in value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return dict((str(key), plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", required=True)
    parser.add_argument("--port", type=int, default=9142)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("statements", nargs="+")
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    hosts = args.hosts.split(",")
    # QUORUM both ways: a read right after a write sees it (RF 3), CDC log rows included.
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy(hosts),
        row_factory=dict_factory,
        consistency_level=ConsistencyLevel.QUORUM,
    )
    cluster = Cluster(
        hosts,
        port=args.port,
        ssl_context=context,
        auth_provider=PlainTextAuthProvider(args.user, os.environ.get("CDC_CQL_PASSWORD", "")),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=15,
    )
    try:
        session = cluster.connect()
        results = [[plain(row) for row in session.execute(statement, timeout=60)] for statement in args.statements]
    except Exception as exc:  # the verify step asserts on the failure class and message
        print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
        return 1
    finally:
        cluster.shutdown()
    print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
