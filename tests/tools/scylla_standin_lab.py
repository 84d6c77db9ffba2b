# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's STAND-IN for ScyllaDB, driven from the controller. TEST CODE ONLY, not ScyllaDB.

playbooks/lab/scylla_standin.yml runs a Cassandra 5 node on the first host of the scylla group and
calls this script to make it serve ScyllaDB's CDC tables (tests/tools/scylla_cdc_standin.py, whose
docstring says what it does and does not reproduce). Subcommands, each reading one JSON document on
stdin and printing one JSON result ({"changed": ..., ...}); passwords come in the environment, never
in argv or the JSON:

  admin    the superuser: log in as it ($STANDIN_ADMIN_PASSWORD), else create it with Cassandra's
           default superuser and take that one's login away (a random password nobody keeps).
  write    the rows of "rows" ([{"table": "ks.table", "row": {...}}]) through the stand-in's writer,
           which writes the log rows ScyllaDB would (`make demo` shows them reaching PostgreSQL).
  prepare  ScyllaDB's generation tables (says restart_needed once: the node must reload the copied
           schema rows), the keyspaces (replication factor 1), the declared tables, CDC on each with
           the declared options, and one CDC generation if none is published.

JSON in: {"host", "port", "ca_cert", "admin_user", and for prepare "tables": {"ks.table": "<column
definitions and PRIMARY KEY, as in CREATE TABLE>"}, "cdc": {"postimage", "preimage", "ttl"}}.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Any

from tests.tools import scylla_cdc_standin as standin
from tests.tools.cassandra_node import cql_session

DEFAULT_SUPERUSER = ("cassandra", "cassandra")
TIMEOUT_S = 30


def session(spec: dict[str, Any], user: str, password: str):
    """A session to the stand-in (spec: host, port, ca_cert) as user."""
    return cql_session(spec["host"], spec["port"], spec["ca_cert"], user, password, TIMEOUT_S)


def admin_session(spec: dict[str, Any]):
    return session(spec, spec["admin_user"], os.environ["STANDIN_ADMIN_PASSWORD"])


def ensure_admin(spec: dict[str, Any]) -> dict[str, Any]:
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    try:
        with admin_session(spec) as s:
            s.execute("SELECT release_version FROM system.local")
        return {"changed": False}
    except NoHostAvailable as exc:
        if not any(isinstance(e, AuthenticationFailed) for e in exc.errors.values()):
            raise
    user, password = spec["admin_user"], os.environ["STANDIN_ADMIN_PASSWORD"]
    with session(spec, *DEFAULT_SUPERUSER) as s:
        s.execute(
            f"CREATE ROLE IF NOT EXISTS {standin.quote(user)} WITH PASSWORD = %s AND LOGIN = true AND SUPERUSER = true",
            (password,),
        )
    with admin_session(spec) as s:
        # No default password stays: the default superuser keeps no login anyone knows.
        s.execute(
            f"ALTER ROLE {DEFAULT_SUPERUSER[0]} WITH PASSWORD = %s AND LOGIN = false AND SUPERUSER = false",
            (secrets.token_hex(24),),
        )
    return {"changed": True}


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    changed = False
    with admin_session(spec) as s:
        if not standin.generation_tables_present(s):
            standin.copy_generation_table_schemas(s)
            return {"changed": True, "restart_needed": True}
        s.execute(f"DROP KEYSPACE IF EXISTS {standin.SCRATCH_KEYSPACE}")
        standin.fit_system_distributed_replication(s)
        existing = {
            (r["keyspace_name"], r["table_name"])
            for r in standin._rows(s.execute("SELECT keyspace_name, table_name FROM system_schema.tables"))
        }
        keyspaces = sorted({name.split(".")[0] for name in spec["tables"]})
        for keyspace in keyspaces:
            if not any(k == keyspace for k, _ in existing):
                s.execute(
                    f"CREATE KEYSPACE IF NOT EXISTS {standin.quote(keyspace)} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}"
                )
                changed = True
        cdc = spec.get("cdc", {})
        for name, definition in sorted(spec["tables"].items()):
            keyspace, table = name.split(".")
            if (keyspace, table) not in existing:
                s.execute(f"CREATE TABLE IF NOT EXISTS {standin.quote(keyspace)}.{standin.quote(table)} ({definition})")
                changed = True
            before = standin.stored_options(s, keyspace, table)
            standin.enable_cdc(
                s, keyspace, table, postimage=cdc.get("postimage", True), preimage=cdc.get("preimage", False),
                ttl=cdc.get("ttl"),
            )  # fmt: skip
            changed = changed or standin.stored_options(s, keyspace, table) != before
        try:
            generation = standin.current_generation(s)
        except standin.StandInError:
            generation = standin.publish_generation(s)
            changed = True
        return {
            "changed": changed,
            "restart_needed": False,
            "generation": generation.time.isoformat(),
            "vnodes": len(generation.vnodes),
            "stand_in": standin.STANDIN,
        }


def write(spec: dict[str, Any]) -> dict[str, Any]:
    with admin_session(spec) as s:
        for entry in spec["rows"]:
            keyspace, table = entry["table"].split(".")
            standin.CdcTable(s, keyspace, table).insert(entry["row"])
    return {"changed": True, "rows": len(spec["rows"]), "stand_in": standin.STANDIN}


COMMANDS = {"admin": ensure_admin, "prepare": prepare, "write": write}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python -m tests.tools.scylla_standin_lab {{{'|'.join(COMMANDS)}}} < spec.json", file=sys.stderr)
        return 2
    spec = json.load(sys.stdin)
    try:
        result = COMMANDS[argv[0]](spec)
    except standin.StandInError as exc:
        print(json.dumps({"failed": True, "msg": f"{standin.STANDIN}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
