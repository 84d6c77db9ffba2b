#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: scylla_cdc
short_description: Enable, disable or tune ScyllaDB CDC on tables
version_added: 0.1.0
description:
  - Sets the CDC options of each table in O(tables) with C(ALTER TABLE <ks>.<table> WITH cdc = {...}). ScyllaDB then
    creates (or drops) the log table C(<table>_scylla_cdc_log) that the ScyllaDB CDC source connector reads.
  - Reads the current options from C(system_schema.tables), column C(extensions), key C(cdc) (ScyllaDB's own
    binary encoding, decoded by the module; C(system_schema.scylla_tables.cdc) is stale since ScyllaDB 4.0 and not
    read). The encoding is ScyllaDB's serialisation of a C(std::map<sstring, sstring>) (source
    C(cdc/cdc_extension.hh), C(serializer_impl.hh) and C(serializer.hh) in scylladb/scylladb) - a little-endian
    uint32 entry count, then for each entry a uint32 byte length and the UTF-8 key, a uint32 byte length and the
    UTF-8 value. A table without the key, with an empty map, or with C(enabled) other than C(true) has CDC off.
  - Options not given keep the table's current value while CDC is on (so O(ttl) alone tunes only the TTL); a table
    whose CDC is off starts from ScyllaDB's defaults (C(preimage=false), C(postimage=false), C(delta=full),
    C(ttl=86400)). The statement always carries all five options, because ScyllaDB reads a map without
    C(enabled) as "CDC off".
  - With O(enabled=false) the other options are not compared (a table with CDC off keeps none); a table already off
    reports no change.
  - Every table is checked before anything is changed, and the task fails naming the fix when one is missing, is
    itself a CDC log table, lives in a tablets keyspace (ScyllaDB does not support CDC there; create the keyspace
    with the C(tablets) option C(enabled) set to C(false)), or when a table named C(<table>_scylla_cdc_log) already
    exists that CDC would need to create. A server that is not ScyllaDB (for example Apache Cassandra, whose C(cdc)
    table option is a different, commit-log based feature) is refused with "not a ScyllaDB server".
  - Table names and option values are checked before connecting - a keyspace or table name has only letters, digits
    and C(_) (quoted or not, as CQL allows), at most 48 characters for a keyspace and 222 for a table.
  - There is no CQL transaction over several C(ALTER TABLE). Should the server refuse one after the checks passed (or
    stop answering), the task fails naming the tables whose new options it reads back, and those it does not; run it
    again once the cause is fixed.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.cql
attributes:
  check_mode:
    support: full
    description: Reads and checks every table and reports the statements it would run; changes nothing.
  diff_mode:
    support: full
    description: The five CDC options of each changed table before and after.
options:
  tables:
    description:
      - Tables to manage, as C(keyspace.table). Names as C(system_schema) stores them (lower case unless the table
        was created with a quoted name); C("double-quote") a part that has upper case.
    type: list
    elements: str
    required: true
  enabled:
    description:
      - C(true) turns CDC on (or keeps it on and applies the other options), C(false) turns it off. Turning it off
        drops the log table with every change not yet read from it.
    type: bool
    default: true
  preimage:
    description:
      - Log the row as it was before each change. C(false) none, C(true) only the changed columns, C(full) the whole
        row. Not given - the table's current value (ScyllaDB's default C(false) for a table without CDC).
    type: raw
  postimage:
    description:
      - Log the whole row as it is after each change. The pipeline needs C(true) - without it an update event
        carries only the changed columns and the JDBC sink writes NULL into the others.
      - Not given - the table's current value (ScyllaDB's default C(false) for a table without CDC).
    type: bool
  delta:
    description:
      - What the delta row carries. C(full) every written column, C(keys) only the primary key.
      - Not given - the table's current value (ScyllaDB's default C(full)).
    type: str
    choices: [full, keys]
  ttl:
    description:
      - Seconds a change stays in the log table (C(0) - forever). A connector stopped longer than this loses the
        changes that expired meanwhile. Not given - the table's current value (ScyllaDB's default 86400, one day).
    type: int
"""

EXAMPLES = r"""
- name: CDC with full after-images on the source tables (what the pipeline's connector needs)
  cdc.pipeline.scylla_cdc:
    login_hosts: ["10.0.0.31", "10.0.0.32", "10.0.0.33"]
    login_user: cdc_admin
    login_password: "{{ scylla_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    tables:
      - shop.orders
      - shop.customers
    postimage: true
    preimage: false
    ttl: 259200   # three days: longer than any planned connector downtime
  delegate_to: localhost

- name: Only lengthen the log TTL, keep the other options as they are
  module_defaults:
    group/cdc.pipeline.cql:
      login_hosts: "{{ scylla_hosts }}"
      login_user: cdc_admin
      login_password: "{{ scylla_admin_password }}"
      ca_cert: /etc/cdc/pki/root-ca.pem
  block:
    - name: Seven days of CDC log
      cdc.pipeline.scylla_cdc:
        tables: [shop.orders]
        ttl: 604800
      delegate_to: localhost

- name: Turn CDC off (drops the log table)
  cdc.pipeline.scylla_cdc:
    login_hosts: ["10.0.0.31"]
    login_user: cdc_admin
    login_password: "{{ scylla_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    tables: [shop.scratch]
    enabled: false
  delegate_to: localhost
"""

RETURN = r"""
tables:
  description:
    - Per table C(keyspace.table) - C(before) and C(after) (the five options as ScyllaDB stores them, as strings;
      after is the prediction in check mode) and C(changed_keys).
  returned: always
  type: dict
  sample:
    shop.orders:
      before: {enabled: "false", preimage: "false", postimage: "false", delta: full, ttl: "86400"}
      after: {enabled: "true", preimage: "false", postimage: "true", delta: full, ttl: "259200"}
      changed_keys: [enabled, postimage, ttl]
statements:
  description: The C(ALTER TABLE) statements run (or, in check mode, that would run), in order.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      ALTER TABLE shop.orders WITH cdc = {'enabled': 'true', 'preimage': 'false', 'postimage': 'true',
      'delta': 'full', 'ttl': '259200'}
server:
  description: What the module talked to (C(product) C(scylladb), ScyllaDB's own C(version) when it reports one).
  returned: always
  type: dict
  sample: {product: scylladb, release_version: 3.0.8, version: 2025.1.4}
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.cql import (
    SCYLLA,
    ApplyError,
    CqlModuleError,
    Statement,
    apply_statements,
    connection_argument_spec,
    parse_table_name,
    run_module,
    server_flavour,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.scylla_cdc_options import (
    CDC_EXTENSION,
    LOG_TABLE_SUFFIX,
    alter_cdc_statement,
    cdc_changed_keys,
    decode_cdc_extension,
    stored_cdc_options,
    wanted_cdc_options,
)

REQUESTED_KEYS = ("enabled", "preimage", "postimage", "delta", "ttl")


def not_scylla_message(flavour, params):
    return (
        "the CQL server at %s port %s is not a ScyllaDB server: it is Apache Cassandra %s (its keyspace system has "
        "no scylla_* tables). CDC as this module manages it (the table option cdc = {...}, read by the ScyllaDB CDC "
        "source connector) exists only in ScyllaDB: point login_hosts at the ScyllaDB nodes"
        % (", ".join(params.get("login_hosts") or []), params.get("login_port"), flavour.get("release_version"))
    )


def target_tables(names):
    """[(keyspace, table)] in the given order, without duplicates; log tables refused."""
    targets = []
    for name in names or []:
        keyspace, table = parse_table_name(name)
        if table.endswith(LOG_TABLE_SUFFIX):
            raise CqlModuleError(
                "%s.%s is a CDC log table: manage CDC on its base table %s.%s instead"
                % (keyspace, table, keyspace, table[: -len(LOG_TABLE_SUFFIX)])
            )
        if (keyspace, table) not in targets:
            targets.append((keyspace, table))
    if not targets:
        raise CqlModuleError("tables is empty: list the tables as keyspace.table")
    return targets


def keyspace_uses_tablets(client, keyspace):
    """Whether ScyllaDB created the keyspace with tablets (a system_schema.scylla_keyspaces row with initial_tablets).

    The same check as ScyllaDB's test/cqlpy util.keyspace_has_tablets: releases without tablets have no such table
    or no such column, and keyspaces without tablets have no row (or a null initial_tablets).
    """
    try:
        rows = client.rows(
            "SELECT * FROM system_schema.scylla_keyspaces WHERE keyspace_name = %s",
            [keyspace],
            what="read system_schema.scylla_keyspaces",
        )
    except CqlModuleError as exc:
        if exc.kind == "invalid":  # "unconfigured table scylla_keyspaces": a release before tablets
            return False
        raise
    return any(row.get("initial_tablets") is not None for row in rows)


def read_keyspace(client, keyspace):
    """{"tables": {name: extensions map}, "tablets": bool}, or None when the keyspace does not exist."""
    found = client.rows(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
        [keyspace],
        what="read system_schema.keyspaces",
    )
    if not found:
        return None
    rows = client.rows(
        "SELECT table_name, extensions FROM system_schema.tables WHERE keyspace_name = %s",
        [keyspace],
        what="read system_schema.tables of keyspace %s" % keyspace,
    )
    return {
        "tables": dict((row["table_name"], dict(row.get("extensions") or {})) for row in rows),
        "tablets": keyspace_uses_tablets(client, keyspace),
    }


def current_options(keyspace, table, extensions):
    where = "system_schema.tables.extensions['%s'] of %s.%s" % (CDC_EXTENSION, keyspace, table)
    return stored_cdc_options(decode_cdc_extension(extensions.get(CDC_EXTENSION), where))


def table_problem(keyspace, table, info, wanted):
    """Why the table cannot get `wanted`, naming the fix; None when it can."""
    if info is None:
        return "keyspace %s does not exist" % keyspace
    if table not in info["tables"]:
        return "table %s.%s does not exist" % (keyspace, table)
    if wanted["enabled"] != "true":
        return None
    if info["tablets"]:
        return (
            "keyspace %s uses tablets, where ScyllaDB does not support CDC: keep the CDC source tables in a keyspace "
            "created WITH tablets = {'enabled': false}" % keyspace
        )
    return None


def log_table_collision(keyspace, table, info, current, wanted):
    """A table named <table>_scylla_cdc_log while CDC is off: ScyllaDB refuses to enable CDC then."""
    log_name = table + LOG_TABLE_SUFFIX
    if current["enabled"] == "true" or wanted["enabled"] != "true" or log_name not in info["tables"]:
        return None
    return (
        "table %s.%s already exists, and ScyllaDB needs that name for the CDC log of %s.%s: rename or drop it first"
        % (keyspace, log_name, keyspace, table)
    )


def plan(client, targets, requested):
    """Every table's current and wanted options, checked; raises one error listing every problem."""
    keyspaces = {}
    plans, problems = [], []
    for keyspace, table in targets:
        if keyspace not in keyspaces:
            keyspaces[keyspace] = read_keyspace(client, keyspace)
        info = keyspaces[keyspace]
        exists = info is not None and table in info["tables"]
        current = current_options(keyspace, table, info["tables"][table]) if exists else None
        wanted = wanted_cdc_options(requested, current or {})
        problem = table_problem(keyspace, table, info, wanted) or log_table_collision(
            keyspace, table, info, current, wanted
        )
        if problem:
            problems.append(problem)
            continue
        plans.append(
            {
                "keyspace": keyspace,
                "table": table,
                "before": current,
                "after": wanted if cdc_changed_keys(current, wanted) else current,
                "changed_keys": cdc_changed_keys(current, wanted),
            }
        )
    if problems:
        raise CqlModuleError("nothing was changed: " + "; ".join(problems))
    return plans


def verify_applied(client, plans):
    """Read the options back: the server must store what was sent (ScyllaDB normalises, never drops, a valid map)."""
    keyspaces = {}
    for item in plans:
        if not item["changed_keys"]:
            continue
        keyspace, table = item["keyspace"], item["table"]
        if keyspace not in keyspaces:
            keyspaces[keyspace] = read_keyspace(client, keyspace)
        stored = current_options(keyspace, table, keyspaces[keyspace]["tables"].get(table, {}))
        if cdc_changed_keys(stored, item["after"]):
            raise CqlModuleError(
                "%s.%s: the server accepted the change but stores %s instead of %s: check the ScyllaDB logs"
                % (keyspace, table, stored, item["after"])
            )


def validate(params):
    """Table names and option values, checked before connecting; returns (targets, requested)."""
    targets = target_tables(params["tables"])
    requested = dict((key, params.get(key)) for key in REQUESTED_KEYS)
    wanted_cdc_options(requested, {})  # every given value normalises, or the option is named
    return targets, requested


def run(module, client):
    params = module.params
    targets, requested = validate(params)
    flavour = server_flavour(client)
    if flavour["product"] != SCYLLA:
        raise CqlModuleError(not_scylla_message(flavour, params))
    plans = plan(client, targets, requested)

    statements = [
        Statement(
            alter_cdc_statement(item["keyspace"], item["table"], item["after"]),
            what="change the CDC options of %s.%s" % (item["keyspace"], item["table"]),
        )
        for item in plans
        if item["changed_keys"]
    ]
    changed = [item for item in plans if item["changed_keys"]]
    result = {
        "changed": bool(statements),
        "server": flavour,
        "statements": [statement.shown for statement in statements],
        "tables": dict(
            (
                "%s.%s" % (item["keyspace"], item["table"]),
                {"before": item["before"], "after": item["after"], "changed_keys": item["changed_keys"]},
            )
            for item in plans
        ),
    }
    if changed:
        result["diff"] = {
            "before": dict(("%s.%s" % (i["keyspace"], i["table"]), i["before"]) for i in changed),
            "after": dict(("%s.%s" % (i["keyspace"], i["table"]), i["after"]) for i in changed),
        }
    if statements and not module.check_mode:
        try:
            apply_statements(client, statements)
        except ApplyError as exc:
            raise CqlModuleError("%s. %s" % (exc.cause, changed_after_failure(client, plans)), kind=exc.kind) from exc
        verify_applied(client, plans)
    return result


def changed_after_failure(client, plans):
    """Words for which tables hold new CDC options after a failure, read back from the server."""
    changed, unchanged = [], []
    try:
        keyspaces = {}
        for item in plans:
            if not item["changed_keys"]:
                continue
            keyspace, table = item["keyspace"], item["table"]
            if keyspace not in keyspaces:
                keyspaces[keyspace] = read_keyspace(client, keyspace)
            stored = current_options(keyspace, table, keyspaces[keyspace]["tables"].get(table, {}))
            name = "%s.%s" % (keyspace, table)
            (unchanged if cdc_changed_keys(stored, item["after"]) else changed).append(name)
    except CqlModuleError as exc:
        return (
            "Could not read the tables back after the failure (%s): which tables were changed is unknown; check "
            "system_schema.tables before running again" % exc
        )
    return (
        "Applied before the failure (read back from the server): new CDC options on %s; not applied on %s; run the "
        "task again once the cause is fixed" % (", ".join(changed) or "no table", ", ".join(unchanged) or "any table")
    )


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        tables=dict(type="list", elements="str", required=True),
        enabled=dict(type="bool", default=True),
        preimage=dict(type="raw"),
        postimage=dict(type="bool"),
        delta=dict(type="str", choices=["full", "keys"]),
        ttl=dict(type="int"),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run, validate=validate)


if __name__ == "__main__":
    main()
