#!/usr/bin/env python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CQL steps of the scylla role that the collection's modules do not cover, run on the controller.

Roles inside a collection cannot carry their own modules (library/), and these steps belong to the
role, so they are one script the role runs with the controller's Python (ansible_playbook_python,
which has cassandra-driver) and the collection's CQL helpers (plugins/module_utils/cql.py: the same
connection handling, TLS and error wording as cdc.pipeline.scylla_role and scylla_cdc).

    cdc_scylla_cql.py probe|keyspace|compaction  < request.json

The request is JSON on stdin: {"connection": {login_hosts, login_port, login_user, ssl, ca_cert,
client_cert, client_key, connect_timeout, validate_certs}, "check_mode": bool, ...action options}.
The login password comes from the environment (CDC_SCYLLA_PASSWORD), so it is never an argument
(visible in ps) nor a task argument (shown with -vvv). The answer is one JSON object on stdout:
{"changed": bool, ...}, or {"failed": true, "msg": "..."} with exit status 1.

- probe: asks every host on its own whether it answers CQL and accepts the login (health gates,
  the admin bootstrap, validation that anonymous/wrong-password/plain logins are refused).
- keyspace: a keyspace with NetworkTopologyStrategy and vnodes (tablets off where the server has
  them; CDC is not supported on tablets), replication changed with ALTER KEYSPACE.
- compaction: a table's compaction strategy (auto: IncrementalCompactionStrategy where the server
  has it, else SizeTieredCompactionStrategy).
"""

import json
import os
import re
import sys
from pathlib import Path


def _put_collection_on_path():
    """<root>/ansible_collections/cdc/pipeline/roles/scylla/files/this.py: put <root> on sys.path."""
    here = Path(os.path.abspath(__file__))
    for parent in here.parents:
        if parent.name == "ansible_collections":
            sys.path.insert(0, str(parent.parent))
            return
    # The role run from a checkout's roles/ (roles_path): the link `make venv` makes.
    sys.path.insert(0, str(here.parents[3] / ".cache" / "collections"))


_put_collection_on_path()

from ansible_collections.cdc.pipeline.plugins.module_utils import cql  # noqa: E402

PASSWORD_ENV = "CDC_SCYLLA_PASSWORD"  # noqa: S105 - the name of the variable, not a password
NTS = "NetworkTopologyStrategy"
ICS = "IncrementalCompactionStrategy"
STCS = "SizeTieredCompactionStrategy"


class Refused(Exception):
    """A request this script will not carry out; the message names the fix."""


# --------------------------------------------------------------------------------------------
# connection
# --------------------------------------------------------------------------------------------


def connection_params(request, password):
    """The cql module_utils' connection options from the request (defaults as the modules have them)."""
    given = dict(request.get("connection") or {})
    params = {
        "login_hosts": given.get("login_hosts") or [],
        "login_port": int(given.get("login_port") or cql.DEFAULT_PORT),
        "login_user": given.get("login_user") or None,
        "login_password": password or None,
        "ssl": bool(given.get("ssl", True)),
        "validate_certs": bool(given.get("validate_certs", True)),
        "ca_cert": given.get("ca_cert") or None,
        "client_cert": given.get("client_cert") or None,
        "client_key": given.get("client_key") or None,
        "connect_timeout": int(given.get("connect_timeout") or 10),
    }
    if not params["login_user"]:
        params["login_password"] = None  # an anonymous probe
    return params


# --------------------------------------------------------------------------------------------
# probe
# --------------------------------------------------------------------------------------------


def failure_kind(exc, uses_tls):
    """auth, protocol, tls, unreachable or connection: what class of failure a connect raised."""
    if exc.kind == cql.AUTH:
        return cql.AUTH
    text = str(exc)
    if "do not speak TLS" in text or "closed the plain connection" in text:
        return cql.PROTOCOL
    if "TLS handshake" in text:
        return cql.TLS
    if "cannot reach" in text:
        return cql.UNREACHABLE
    return cql.classify_connection_errors({"node": exc}, uses_tls)[0] or "connection"


def probe_host(params, host, client_class=cql.CqlClient):
    """{answered, login, kind, message, release_version} of one host, asked on its own."""
    client = client_class(dict(params, login_hosts=[host]))
    try:
        client.connect()
        rows = client.rows("SELECT release_version FROM system.local", what="read system.local")
    except cql.CqlModuleError as exc:
        kind = failure_kind(exc, params.get("ssl", True))
        answered = kind == cql.AUTH
        return {"answered": answered, "login": False, "kind": kind, "message": str(exc), "release_version": None}
    finally:
        client.close()
    release = rows[0].get("release_version") if rows else None
    return {"answered": True, "login": True, "kind": "", "message": "", "release_version": release}


def probe(params, _request, client_class=cql.CqlClient):
    hosts = cql.validate_connection_params(params)
    results = dict((host, probe_host(params, host, client_class)) for host in hosts)
    return {
        "changed": False,
        "hosts": results,
        "all_login": all(result["login"] for result in results.values()),
        "all_answered": all(result["answered"] for result in results.values()),
        "all_refused_login": all(result["kind"] == cql.AUTH for result in results.values()),
    }


# --------------------------------------------------------------------------------------------
# keyspace
# --------------------------------------------------------------------------------------------


def wanted_replication(replication):
    """{'class': NTS, dc: 'rf'} with the factors as strings, as system_schema stores them."""
    if not replication:
        raise Refused("replication is empty: give the replication factor per datacenter, e.g. {dc1: 3}")
    wanted = {}
    for datacenter, factor in replication.items():
        try:
            number = int(factor)
        except (TypeError, ValueError):
            number = -1
        if number < 0:
            raise Refused(
                "replication factor of datacenter %s must be a whole number >= 0, not %r" % (datacenter, factor)
            )
        wanted[str(datacenter)] = str(number)
    wanted["class"] = NTS
    return wanted


def stored_replication(stored):
    """The stored replication map with the strategy's short class name."""
    result = dict((str(key), str(value)) for key, value in (stored or {}).items())
    result["class"] = result.get("class", "").rsplit(".", 1)[-1]
    return result


def replication_cql(replication):
    pairs = ["'class': '%s'" % NTS]
    pairs += [
        "%s: %s" % (cql.string_literal(dc), cql.string_literal(rf))
        for dc, rf in sorted(replication.items())
        if dc != "class"
    ]
    return "{%s}" % ", ".join(pairs)


def keyspace_statement(verb, name, replication, durable_writes, tablets_off_clause=False):
    text = "%s KEYSPACE %s WITH replication = %s AND durable_writes = %s" % (
        verb,
        cql.quote_identifier(name),
        replication_cql(replication),
        "true" if durable_writes else "false",
    )
    if tablets_off_clause:
        text += " AND tablets = {'enabled': false}"
    return cql.Statement(text, what="%s keyspace %s" % (verb.lower(), name))


def raised_factors(current, wanted):
    """Datacenters whose replication factor goes up: their new replicas hold no data until a repair."""
    return sorted(dc for dc, rf in wanted.items() if dc != "class" and int(rf) > int(current.get(dc, "0")))


def plan_keyspace(request, current, server_has_tablets, uses_tablets):
    """(statements, repair_needed, warnings) that give the keyspace the wanted replication with vnodes."""
    name = request["name"]
    wanted = wanted_replication(request.get("replication"))
    durable = bool(request.get("durable_writes", True))
    if current is None:
        # Where the server knows tablets, say so explicitly: its default for new keyspaces may be tablets.
        return [keyspace_statement("CREATE", name, wanted, durable, tablets_off_clause=server_has_tablets)], False, []
    if uses_tablets:
        raise Refused(
            "keyspace %s uses tablets, where ScyllaDB does not support CDC, and tablets cannot be turned off on an "
            "existing keyspace: create a new keyspace (the role creates it with tablets off) and move the data" % name
        )
    if current["replication"] == wanted and current["durable_writes"] == durable:
        return [], False, []
    raised = raised_factors(current["replication"], wanted)
    warnings = []
    if raised:
        warnings.append(
            "keyspace %s: replication factor raised in %s - run `nodetool repair -full %s` on every node of those "
            "datacenters, one node at a time, before relying on QUORUM reads" % (name, ", ".join(raised), name)
        )
    return [keyspace_statement("ALTER", name, wanted, durable)], bool(raised), warnings


def read_keyspace(client, name):
    rows = client.rows(
        "SELECT replication, durable_writes FROM system_schema.keyspaces WHERE keyspace_name = %s",
        [name],
        what="read system_schema.keyspaces",
    )
    if not rows:
        return None
    return {
        "replication": stored_replication(rows[0].get("replication")),
        "durable_writes": bool(rows[0].get("durable_writes")),
    }


def server_has_tablets(client):
    """Whether the server knows tablets: system_schema.scylla_keyspaces has an initial_tablets column."""
    rows = client.rows(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = 'system_schema' "
        "AND table_name = 'scylla_keyspaces'",
        what="read the columns of system_schema.scylla_keyspaces",
    )
    return any(row.get("column_name") == "initial_tablets" for row in rows)


def keyspace_uses_tablets(client, name):
    rows = client.rows(
        "SELECT initial_tablets FROM system_schema.scylla_keyspaces WHERE keyspace_name = %s",
        [name],
        what="read system_schema.scylla_keyspaces",
    )
    return any(row.get("initial_tablets") is not None for row in rows)


def keyspace(params, request, client_class=cql.CqlClient):
    client = client_class(params).connect()
    try:
        current = read_keyspace(client, request["name"])
        has_tablets = server_has_tablets(client)
        uses_tablets = current is not None and has_tablets and keyspace_uses_tablets(client, request["name"])
        statements, repair_needed, warnings = plan_keyspace(request, current, has_tablets, uses_tablets)
        if statements and not request.get("check_mode"):
            cql.apply_statements(client, statements)
    finally:
        client.close()
    return {
        "changed": bool(statements),
        "statements": [statement.shown for statement in statements],
        "repair_needed": repair_needed,
        "warnings": warnings,
        "before": current,
    }


# --------------------------------------------------------------------------------------------
# compaction
# --------------------------------------------------------------------------------------------


def short_class(name):
    return str(name or "").rsplit(".", 1)[-1]


def has_incremental_compaction(flavour):
    """ICS ships in ScyllaDB's year-numbered releases (Enterprise 2020.1+, and all from 2025.1), not in 5.x/6.x."""
    if flavour.get("product") != cql.SCYLLA:
        return False
    match = re.match(r"^(\d+)\.", str(flavour.get("version") or ""))
    return bool(match) and int(match.group(1)) >= 2000


def wanted_compaction(compaction, flavour):
    """The compaction map with a short class name (auto resolved) and string options."""
    wanted = dict((str(key), str(value)) for key, value in (compaction or {}).items())
    if not wanted.get("class"):
        raise Refused("the compaction map needs a class (a strategy name, or auto)")
    if wanted["class"] == "auto":
        wanted["class"] = ICS if has_incremental_compaction(flavour) else STCS
    wanted["class"] = short_class(wanted["class"])
    return wanted


def compaction_differs(current, wanted):
    """Whether the stored map lacks the wanted class or one of the wanted options."""
    stored = dict((str(key), str(value)) for key, value in (current or {}).items())
    if short_class(stored.get("class")) != wanted["class"]:
        return True
    return any(stored.get(key) != value for key, value in wanted.items() if key != "class")


def compaction_statement(keyspace_name, table, wanted):
    pairs = ", ".join(
        "%s: %s" % (cql.string_literal(key), cql.string_literal(value)) for key, value in sorted(wanted.items())
    )
    text = "ALTER TABLE %s WITH compaction = {%s}" % (cql.qualified_table(keyspace_name, table), pairs)
    return cql.Statement(text, what="set the compaction of %s.%s" % (keyspace_name, table))


def compaction(params, request, client_class=cql.CqlClient):
    keyspace_name, table = cql.parse_table_name(request["table"])
    client = client_class(params).connect()
    try:
        rows = client.rows(
            "SELECT compaction FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
            [keyspace_name, table],
            what="read the compaction of %s.%s" % (keyspace_name, table),
        )
        if not rows:
            raise Refused(
                "table %s.%s does not exist: the application creates its tables; run the cdc step after it did"
                % (keyspace_name, table)
            )
        current = dict(rows[0].get("compaction") or {})
        wanted = wanted_compaction(request.get("compaction"), cql.server_flavour(client))
        statements = [compaction_statement(keyspace_name, table, wanted)] if compaction_differs(current, wanted) else []
        if statements and not request.get("check_mode"):
            cql.apply_statements(client, statements)
    finally:
        client.close()
    return {
        "changed": bool(statements),
        "strategy": wanted["class"],
        "statements": [statement.shown for statement in statements],
        "before": current,
    }


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------

ACTIONS = {"probe": probe, "keyspace": keyspace, "compaction": compaction}


def run(argv, stdin_text, environ):
    """(exit status, answer dict) for one invocation."""
    if len(argv) != 2 or argv[1] not in ACTIONS:
        return 2, {"failed": True, "msg": "usage: cdc_scylla_cql.py %s < request.json" % "|".join(sorted(ACTIONS))}
    if not cql.HAS_CQL_DRIVER:
        return 1, {
            "failed": True,
            "msg": "the controller's Python lacks cassandra-driver (pip install cassandra-driver)",
        }
    try:
        request = json.loads(stdin_text or "{}")
        params = connection_params(request, environ.get(PASSWORD_ENV))
        return 0, ACTIONS[argv[1]](params, request)
    except (cql.CqlModuleError, Refused, ValueError, KeyError) as exc:
        return 1, {"failed": True, "msg": str(exc)}


def main():
    status, answer = run(sys.argv, sys.stdin.read(), os.environ)
    sys.stdout.write(json.dumps(answer, sort_keys=True) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
