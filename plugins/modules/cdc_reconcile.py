#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cdc_reconcile
short_description: Compare a ScyllaDB source table with its PostgreSQL sink table, row by row
version_added: 0.2.0
description:
  - Tells whether the sink holds what the source holds - the rows that are missing in the sink, extra in the sink,
    or there with other values - without shipping either table whole.
  - The source is read by slices of the token ring (O(token_ranges)), each with
    C(token(partition key) > start AND token(partition key) <= end), paged (O(page_size)), O(parallel) slices at
    a time. The sink has no token, so the module computes each sink row's token from its partition key the way
    the nodes do (the key serialized as CQL, Murmur3) while it reads the sink table once, through a server-side
    cursor. Each side folds the rows of every slice into a count and a 128-bit digest.
  - Each side keeps its digests per range, up to 256 ranges a slice. Only the ranges whose counts or digests differ
    are read again, key by key. The source's rows of those ranges are read by token range, O(parallel) ranges at a
    time; meanwhile their keys are looked up in the sink by primary key, O(page_size) keys a query (each key's text
    cast to its sink column's type). The sink table is read whole again only when, in a differing range, the first
    read counted more sink rows than the lookup found - the sink holds rows the source lacks (C(extra)), or keys the
    lookup cannot match (a key column of a collection type, a time with nanoseconds); that read keeps the rows of
    those ranges only. That second read is what the report's rows come from, so a row that was only in
    flight during the first read is not reported. At most O(max_rows_in_memory) rows of those ranges are held at
    once; more ranges take more batches.
  - Values are compared in one form per CQL type of the source column, whatever the sink column's type -
    a timestamp as milliseconds since the epoch (a sink C(timestamp) without time zone is read as UTC), a
    decimal as its normalized digits (C(1.50) equals C(1.5)), a float as its 32-bit value, a blob as its bytes
    (or base64 text), a uuid as text, a collection as canonical JSON (an empty collection equals NULL, as in CQL).
  - The primary key of both tables is the source's (partition key and clustering columns, same names). Every
    source column must exist in the sink unless O(ignore_columns) lists it; extra sink columns are not compared.
  - Read-only on both databases. With O(reemit_path) it writes every differing key, one JSON object a line, on the
    host that runs the module (see O(reemit_path)); that is the only write, and it is skipped in check mode.
  - Needs C(cassandra-driver) and C(psycopg) (3) or C(psycopg2) where it runs (the controller, with
    C(delegate_to) C(localhost)).
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.cql
attributes:
  check_mode:
    support: full
    description: Compares the same way; the re-emit file is not written (C(changed) says whether it would be).
  diff_mode:
    support: full
    description: The number of keys in the re-emit file before and after.
options:
  source_table:
    description:
      - The source table as C(keyspace.table) (a part with upper case in C("double quotes")).
    type: str
    required: true
  sink_table:
    description:
      - The sink table as C(schema.table). The pipeline's JDBC sink writes C(<keyspace>.<table>) to
        C(cdc.cdc_<keyspace>_<table>) by default (C(collection.name.format)).
    type: str
    required: true
  sink_host:
    description: PostgreSQL host (the primary, or a replica to keep the load off the primary).
    type: str
    required: true
  sink_port:
    description: PostgreSQL port.
    type: int
    default: 5432
  sink_database:
    description: The sink database.
    type: str
    default: cdc
  sink_user:
    description: A login allowed C(SELECT) on the sink table (the pipeline's C(cdc_reconcile) reporting user).
    type: str
    required: true
  sink_password:
    description: Its password.
    type: str
  sink_sslmode:
    description:
      - libpq C(sslmode). C(verify-full) checks the server certificate against O(sink_ca_cert) and its name.
    type: str
    choices: [disable, require, verify-ca, verify-full]
    default: verify-full
  sink_ca_cert:
    description: The PEM CA that signed the PostgreSQL server certificate (needed by C(verify-ca) and C(verify-full)).
    type: path
  columns:
    description:
      - The non-key source columns to compare. Default - every column of the source table except O(ignore_columns).
    type: list
    elements: str
  ignore_columns:
    description: Source columns not compared (for example one the sink does not carry).
    type: list
    elements: str
    default: []
  token_ranges:
    description:
      - Slices of the token ring the tables are compared in; each is one CQL query at the source. More slices mean
        smaller re-reads when a few rows differ, fewer mean less overhead per query.
      - Not given - one slice for about 20,000 rows of the sink table (PostgreSQL's row estimate), at least 16 and at
        most 4096.
    type: int
  page_size:
    description: Rows a page, at both sides.
    type: int
    default: 5000
  parallel:
    description: Source slices read at once.
    type: int
    default: 4
  sample_limit:
    description: Sample keys reported for each class of difference (at most 100).
    type: int
    default: 100
  max_rows_in_memory:
    description: Rows of differing ranges held at once during the key-by-key read (each side).
    type: int
    default: 1000000
  reemit_path:
    description:
      - When set, every differing key (not only the samples) is written to this file on the host that runs the
        module, one JSON object a line - C({"class" "missing|extra|different", "key" {column value}}) - sorted,
        mode C(0600), replaced atomically. C(missing) and C(different) keys are rows to write again at the source
        (an update re-emits them), C(extra) keys rows the sink must delete. An existing file with the same keys is
        left alone.
    type: path
"""

EXAMPLES = r"""
- name: Does the sink hold what the source holds?
  cdc.pipeline.cdc_reconcile:
    login_hosts: "{{ groups['scylla'] }}"
    login_user: cdc_reconcile
    login_password: "{{ lookup('cdc.pipeline.vault_secret', 'scylla/clients/reconcile', key='password') }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    source_table: shop.items
    sink_table: cdc.cdc_shop_items
    sink_host: "{{ groups['postgresql_replica'][0] }}"
    sink_user: cdc_reconcile
    sink_password: "{{ lookup('cdc.pipeline.vault_secret', 'postgresql/users/cdc_reconcile', key='password') }}"
    sink_ca_cert: /etc/cdc/pki/root-ca.pem
  delegate_to: localhost
  register: reconciled

- name: Fail when they differ
  ansible.builtin.assert:
    that: reconciled.equal
    fail_msg: "{{ reconciled.counts }} - sample keys: {{ reconciled.samples }}"

- name: The keys to re-emit, for the re-emit job
  cdc.pipeline.cdc_reconcile:
    login_hosts: ["10.0.0.31"]
    login_user: cdc_reconcile
    login_password: "{{ scylla_reconcile_password }}"
    source_table: shop.items
    sink_table: cdc.cdc_shop_items
    sink_host: 10.0.0.41
    sink_user: cdc_reconcile
    sink_password: "{{ sink_reconcile_password }}"
    sink_ca_cert: /etc/cdc/pki/root-ca.pem
    reemit_path: /var/tmp/shop.items.reemit.jsonl
  delegate_to: localhost
"""

RETURN = r"""
equal:
  description: True when no row is missing, extra or different.
  returned: success
  type: bool
  sample: false
counts:
  description: Rows of each class of difference.
  returned: success
  type: dict
  sample: {missing: 2, extra: 0, different: 1}
samples:
  description:
    - At most O(sample_limit) keys of each class, as C({column value}), in key order; a C(different) sample also
      names the columns that differ.
  returned: success
  type: dict
  sample:
    missing: [{key: {id: 17}}, {key: {id: 4242}}]
    extra: []
    different: [{key: {id: 5}, columns: [qty]}]
source_rows:
  description: Rows read from the source in the first pass.
  returned: success
  type: int
  sample: 10000
sink_rows:
  description: Rows read from the sink in the first pass.
  returned: success
  type: int
  sample: 9998
sink_table_exists:
  description:
    - False when the sink table does not exist yet (the sink creates it with its first record of the table). Every
      source row then counts as missing, and an empty source table is equal; the module warns.
  returned: success
  type: bool
  sample: true
key_columns:
  description: The primary key (partition key, then clustering columns).
  returned: success
  type: list
  elements: str
  sample: [id]
columns:
  description: The non-key columns compared.
  returned: success
  type: list
  elements: str
  sample: [name, price, qty, tags, updated_at]
slices:
  description:
    - Every slice of the token ring - C(start) (exclusive), C(end) (inclusive), C(source_rows), C(sink_rows),
      C(source_digest), C(sink_digest) (hex) and C(equal).
  returned: success
  type: list
  elements: dict
differing_slices:
  description: How many slices differed in the first pass.
  returned: success
  type: int
  sample: 1
ranges_reread:
  description:
    - How many ranges were read again key by key. Each slice keeps its digests in up to 256 ranges, so a few differing
      rows cost re-reading their ranges, not their slices.
  returned: success
  type: int
  sample: 1
sink_passes:
  description:
    - Times the sink table was read whole - one, plus one for each batch of differing ranges where the sink held
      rows the lookup by key did not find (extra rows).
  returned: success
  type: int
  sample: 1
sink_lookups:
  description: Queries that looked the source's keys of the differing ranges up in the sink (O(page_size) keys each).
  returned: success
  type: int
  sample: 1
seconds:
  description: Wall time of the comparison.
  returned: success
  type: float
  sample: 3.2
reemit_keys:
  description: Keys written (or, in check mode, to be written) to O(reemit_path).
  returned: when reemit_path is set
  type: int
  sample: 3
"""

import contextlib
import json
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.cql import (
    TUPLE_ROWS,
    CqlModuleError,
    connection_argument_spec,
    operation_error,
    parse_table_name,
    qualified_table,
    quote_identifier,
    run_module,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.reconcile import (
    CLASSES,
    PARTITION_KEY_TYPES,
    BatchRows,
    Differences,
    ReconcileError,
    SliceDigests,
    converter,
    differing_slices,
    key_literals,
    murmur3_token,
    parts_per_slice,
    partition_key_converter,
    ranges_to_scan,
    routing_key,
    row_digest,
    slice_of,
    slice_report,
    split_ring,
    subdivide,
)

try:
    import psycopg as pg
    from psycopg import sql as pg_sql
except ImportError:
    try:
        import psycopg2 as pg
        from psycopg2 import sql as pg_sql
    except ImportError:
        pg = None  # validate() names the missing library before anything uses it
        pg_sql = None

try:
    from cassandra import cqltypes
    from cassandra.metadata import Murmur3Token
    from cassandra.query import SimpleStatement
except ImportError:
    cqltypes = None  # run_module reports the missing driver before anything uses these

PROTOCOL_VERSION = 4  # partition key values serialize the same in every protocol version the nodes speak
MAX_SAMPLES = 100


class SinkError(CqlModuleError):
    """A PostgreSQL failure, worded with its fix (a CqlModuleError, so the module's run reports it the same way)."""


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _split_sink_table(text):
    parts = [part.strip() for part in str(text).split(".")]
    if len(parts) != 2 or not all(parts):
        raise CqlModuleError("sink_table %r is not schema.table (for example cdc.cdc_shop_items)" % text)
    return tuple(
        part[1:-1].replace('""', '"') if part.startswith('"') and part.endswith('"') else part for part in parts
    )


def validate(params):
    parse_table_name(params["source_table"], option="source_table")
    _split_sink_table(params["sink_table"])
    for option, low in (("token_ranges", 1), ("page_size", 1), ("parallel", 1), ("max_rows_in_memory", 1)):
        if params[option] is not None and params[option] < low:
            raise CqlModuleError("%s must be at least %d" % (option, low))
    if (params["token_ranges"] or 0) > 65536:
        raise CqlModuleError("token_ranges must be at most 65536 (one CQL query each)")
    if not 0 <= params["sample_limit"] <= MAX_SAMPLES:
        raise CqlModuleError("sample_limit must be between 0 and %d" % MAX_SAMPLES)
    if params["sink_sslmode"] in ("verify-ca", "verify-full") and params.get("sink_ca_cert"):
        if not os.path.isfile(params["sink_ca_cert"]):
            raise CqlModuleError(
                "sink_ca_cert %s does not exist here: give the PEM CA that signed the PostgreSQL server certificate"
                % params["sink_ca_cert"]
            )
    path = params.get("reemit_path")
    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise CqlModuleError("reemit_path %s: its directory does not exist; create it or choose another path" % path)
    if pg is None:
        raise CqlModuleError(missing_required_lib("psycopg (3) or psycopg2"))


# --------------------------------------------------------------------------------------------
# The source
# --------------------------------------------------------------------------------------------


class SourceTable:
    """The source table's key and columns (from system_schema) and its slices, read by token range."""

    def __init__(self, client, table_text, params):
        self.client = client
        self.keyspace, self.table = parse_table_name(table_text, option="source_table")
        self.page_size = params["page_size"]
        rows = client.rows(
            "SELECT column_name, kind, position, type FROM system_schema.columns "
            "WHERE keyspace_name = %s AND table_name = %s",
            (self.keyspace, self.table),
            what="read the columns of %s.%s from system_schema" % (self.keyspace, self.table),
        )
        if not rows:
            raise CqlModuleError(
                "source table %s.%s does not exist (or the login may not see it): check source_table and that the role "
                "has SELECT on its keyspace" % (self.keyspace, self.table)
            )
        by_kind = {}
        self.types = {}
        for row in rows:
            by_kind.setdefault(row["kind"], []).append((row["position"], row["column_name"]))
            self.types[row["column_name"]] = row["type"]
        self.partition_key = [name for _position, name in sorted(by_kind.get("partition_key", []))]
        self.clustering = [name for _position, name in sorted(by_kind.get("clustering", []))]
        self.key_columns = self.partition_key + self.clustering
        regular = sorted(name for kind in ("regular", "static") for _position, name in by_kind.get(kind, []))
        ignored = set(params.get("ignore_columns") or [])
        unknown = sorted((ignored | set(params.get("columns") or [])) - set(self.types))
        if unknown:
            raise CqlModuleError(
                "%s.%s has no column %s: check columns and ignore_columns"
                % (self.keyspace, self.table, ", ".join(unknown))
            )
        keys_given = sorted(set(params.get("columns") or []) & set(self.key_columns))
        if keys_given:
            raise CqlModuleError(
                "columns lists key columns (%s): the key is always compared, list only the other columns"
                % ", ".join(keys_given)
            )
        wanted = params.get("columns") or regular
        self.columns = [name for name in wanted if name not in ignored]
        for name in self.partition_key:
            if self.types[name] not in PARTITION_KEY_TYPES:
                raise CqlModuleError(
                    "partition key column %s is of type %s, which this module cannot hash to a token (supported: %s)"
                    % (name, self.types[name], ", ".join(sorted(PARTITION_KEY_TYPES)))
                )
        self.serializers = [
            getattr(cqltypes, PARTITION_KEY_TYPES[self.types[name]]).serialize for name in self.partition_key
        ]
        self.to_driver = [partition_key_converter(self.types[name]) for name in self.partition_key]
        self.key_width = len(self.key_columns)
        self.key_converters = [converter(self.types[name]) for name in self.key_columns]
        self.value_converters = [converter(self.types[name]) for name in self.columns]
        self.converters = self.key_converters + self.value_converters
        selected = ", ".join(quote_identifier(name) for name in self.key_columns + self.columns)
        partition = ", ".join(quote_identifier(name) for name in self.partition_key)
        # Identifiers quoted by quote_identifier; the token bounds are bound values.
        self.query = "SELECT token(%s), %s FROM %s WHERE token(%s) > %%s AND token(%s) <= %%s" % (  # noqa: S608
            partition,
            selected,
            qualified_table(self.keyspace, self.table),
            partition,
            partition,
        )

    def canonical_row(self, record):
        """(key, values) of a row from either side, each a tuple of canonical values."""
        # One pass over the whole row, then cut in two: a full scan calls this for every row of both tables.
        converted = [convert(value) for convert, value in zip(self.converters, record, strict=True)]
        return tuple(converted[: self.key_width]), tuple(converted[self.key_width :])

    def slice_rows(self, start, end):
        """The rows of one slice of the ring as (token, key, values), paged."""
        statement = SimpleStatement(self.query, fetch_size=self.page_size)
        try:
            for record in self.client.session.execute(statement, (start, end), execution_profile=TUPLE_ROWS):
                key, values = self.canonical_row(record[1:])
                yield record[0], key, values
        except CqlModuleError:
            raise
        except Exception as exc:  # the driver raises many unrelated classes: all become one worded error
            raise operation_error(exc, "read %s.%s" % (self.keyspace, self.table), self.client.username) from exc

    def token(self, key_values):
        """The token of a sink row's partition key (its values as the sink returned them)."""
        parts = [
            serialize(to_driver(value), PROTOCOL_VERSION)
            for value, to_driver, serialize in zip(key_values, self.to_driver, self.serializers, strict=True)
        ]
        return murmur3_token(parts[0] if len(parts) == 1 else routing_key(parts), Murmur3Token.hash_fn)


# --------------------------------------------------------------------------------------------
# The sink
# --------------------------------------------------------------------------------------------


class SinkTable:
    """The sink table: read whole through a server-side cursor (the only way to get every row's key to a slice), and
    its rows looked up by primary key for the source's keys of the differing ranges."""

    def __init__(self, params, source):
        self.params = params
        self.source = source
        self.schema, self.table = _split_sink_table(params["sink_table"])
        self.where = "%s:%s database %s" % (params["sink_host"], params["sink_port"], params["sink_database"])
        self.reads = 0
        self.lookups = 0
        with self._connect() as conn:
            # A table the sink has not created yet holds none of the source's rows (the sink creates it with
            # its first record): every source row counts as missing, an empty source table is equal.
            self.exists = self._exists(conn)
            present = self._columns(conn) if self.exists else None
        if not self.exists:
            return
        wanted = source.key_columns + source.columns
        absent = [name for name in wanted if name not in present]
        if absent:
            raise SinkError(
                "sink table %s.%s has no column %s: the sink writes every source column under its own name; list a "
                "column the sink does not carry in ignore_columns" % (self.schema, self.table, ", ".join(absent))
            )
        self.query = pg_sql.SQL("SELECT {} FROM {}.{}").format(
            pg_sql.SQL(", ").join(pg_sql.Identifier(name) for name in wanted),
            pg_sql.Identifier(self.schema),
            pg_sql.Identifier(self.table),
        )
        self.key_cql_types = [source.types[name] for name in source.key_columns]
        self.key_types = [present[name][1] for name in source.key_columns]
        self.lookup_query = self._lookup_query(wanted, [present[name] for name in source.key_columns])

    def _lookup_query(self, wanted, key_types):
        """SELECT the rows whose primary key is in the arrays bound to it, one text[] a key column, each text cast to
        its column's type: (k1, k2) IN (SELECT wanted.k0::type, wanted.k1::type FROM unnest(%s::text[], ...))."""
        names = ["k%d" % position for position in range(len(key_types))]
        return pg_sql.SQL("SELECT {} FROM {}.{} WHERE ({}) IN (SELECT {} FROM unnest({}) AS wanted({}))").format(
            pg_sql.SQL(", ").join(pg_sql.Identifier(name) for name in wanted),
            pg_sql.Identifier(self.schema),
            pg_sql.Identifier(self.table),
            pg_sql.SQL(", ").join(pg_sql.Identifier(name) for name in self.source.key_columns),
            pg_sql.SQL(", ").join(
                pg_sql.SQL("{}::{}").format(pg_sql.Identifier("wanted", name), pg_sql.Identifier(*key_type))
                for name, key_type in zip(names, key_types, strict=True)
            ),
            pg_sql.SQL(", ").join(pg_sql.SQL("%s::text[]") for _name in names),
            pg_sql.SQL(", ").join(pg_sql.Identifier(name) for name in names),
        )

    def _connect(self):
        options = dict(
            host=self.params["sink_host"],
            port=self.params["sink_port"],
            dbname=self.params["sink_database"],
            user=self.params["sink_user"],
            password=self.params.get("sink_password") or "",
            sslmode=self.params["sink_sslmode"],
            connect_timeout=self.params.get("connect_timeout") or 10,
            application_name="cdc_reconcile",
        )
        if self.params.get("sink_ca_cert"):
            options["sslrootcert"] = self.params["sink_ca_cert"]
        try:
            conn = pg.connect(**options)
        except pg.OperationalError as exc:
            raise SinkError(self._connection_message(exc)) from exc
        # Read-only transactions: the module cannot write to the sink even through a bug of its own.
        if hasattr(conn, "set_session"):
            conn.set_session(readonly=True)  # psycopg2
        else:
            conn.read_only = True  # psycopg 3
        return contextlib.closing(conn)

    def _connection_message(self, exc):
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        lowered = text.lower()
        if "password authentication failed" in lowered or "no password supplied" in lowered:
            return "PostgreSQL (%s) refused the login of %s (%s): check sink_user and sink_password" % (
                self.where,
                self.params["sink_user"],
                text,
            )
        if "certificate" in lowered or "ssl" in lowered or "root cert" in lowered:
            return (
                "TLS with PostgreSQL (%s) failed (%s): set sink_ca_cert to the PEM CA that signed the server "
                "certificate "
                "and use the name in its subjectAltName as sink_host" % (self.where, text)
            )
        if "pg_hba" in lowered or "no pg_hba.conf entry" in lowered:
            return "PostgreSQL (%s) allows no login of %s from here (%s): add a pg_hba rule for this host" % (
                self.where,
                self.params["sink_user"],
                text,
            )
        return (
            "cannot reach PostgreSQL (%s): %s. Check sink_host, sink_port, that it runs and that the firewall "
            "lets this host in"
            % (
                self.where,
                text,
            )
        )

    def _exists(self, conn):
        """Whether the table exists at all (the catalog, which needs no grant on the table)."""
        with conn.cursor() as cur:
            cur.execute(
                "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL", (self.schema, self.table)
            )
            found = cur.fetchone()[0]
        conn.rollback()
        return found

    def _columns(self, conn):
        """Column name -> (schema, name) of its type (a domain's base type), the type the lookup casts a key to."""
        with conn.cursor() as cur:
            cur.execute(
                "SELECT column_name, udt_schema, udt_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (self.schema, self.table),
            )
            names = dict((row[0], (row[1], row[2])) for row in cur.fetchall())
        conn.rollback()
        if not names:
            raise SinkError(
                "sink table %s.%s in %s shows no column to %s: grant it SELECT on the table (and USAGE on the schema)"
                % (self.schema, self.table, self.where, self.params["sink_user"])
            )
        return names

    def estimated_rows(self):
        """PostgreSQL's estimate of the table's rows (0 when it has none yet): no scan."""
        if not self.exists:
            return 0
        with self._connect() as conn:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s",
                    (self.schema, self.table),
                )
                row = cur.fetchone()
            conn.rollback()
        return max(0, int(row[0])) if row else 0

    def rows(self, ends, wanted=None):
        """Every row as (range index, key, values), key and values canonical; the index is that of the range of
        ends (inclusive ends, ascending) holding the token of the row's partition key. With wanted (a set of
        indexes), only the rows in those ranges (the others are not converted at all)."""
        self.reads += 1
        if not self.exists:
            return
        source = self.source
        partition_width = len(source.partition_key)
        try:
            with self._connect() as conn:
                with conn.cursor(name="cdc_reconcile") as cur:
                    cur.itersize = self.params["page_size"]
                    cur.execute(self.query)
                    while True:
                        batch = cur.fetchmany(self.params["page_size"])
                        if not batch:
                            break
                        for record in batch:
                            index = slice_of(source.token(record[:partition_width]), ends)
                            if wanted is None or index in wanted:
                                key, values = source.canonical_row(record)
                                yield index, key, values
                conn.rollback()
        except pg.Error as exc:
            raise self._read_error(exc) from exc

    def _read_error(self, exc):
        return SinkError(
            "reading sink table %s.%s from %s failed: %s. Check the login's SELECT grant and that the server runs"
            % (self.schema, self.table, self.where, str(exc).strip())
        )

    def key_literals(self, key):
        """A source row's canonical key as the lookup's input texts, or None when it cannot be looked up."""
        if not self.exists:
            return None
        return key_literals(key, self.key_cql_types, self.key_types)

    def looked_up(self, chunks):
        """The rows whose primary keys are those of chunks (lists of key_literals, consumed as they come) as
        (key, values), canonical, in any order; one query a chunk, on one connection."""
        if not self.exists:
            # The chunks are read all the same: reading them collects the source's rows.
            for _chunk in chunks:
                pass
            return
        try:
            with self._connect() as conn:
                for chunk in chunks:
                    yield from self._look_up(conn, chunk)
                conn.rollback()
        except pg.Error as exc:
            raise self._read_error(exc) from exc

    def _look_up(self, conn, chunk):
        self.lookups += 1
        try:
            with conn.cursor() as cur:
                cur.execute(self.lookup_query, [list(column) for column in zip(*chunk, strict=True)])
                records = cur.fetchall()
        except pg.DataError:
            # A key text the sink column's type refuses: those keys count as not found, so the scan reads them.
            conn.rollback()
            return
        for record in records:
            yield self.source.canonical_row(record)


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


ROWS_PER_SLICE = 20000
MIN_SLICES = 16
MAX_SLICES = 4096


def auto_slices(estimated_rows):
    """About ROWS_PER_SLICE rows a slice: a small table is read in few queries, a large one re-read in small parts."""
    return max(MIN_SLICES, min(MAX_SLICES, int(estimated_rows or 0) // ROWS_PER_SLICE))


def first_pass(source, sink, slices, ranges, parallel):
    """Both tables folded into per-range counts and digests: the source read slice by slice (parallel at a time),
    the sink read once meanwhile."""
    parts = len(ranges) // len(slices)
    ends = [end for _start, end in ranges]
    source_digests, sink_digests = SliceDigests(len(ranges)), SliceDigests(len(ranges))
    lock = threading.Lock()

    def read_source_slice(index):
        start, end = slices[index]
        low = index * parts
        folded, own_ends = SliceDigests(parts), ends[low : low + parts]
        for token, key, values in source.slice_rows(start, end):
            folded.add(slice_of(token, own_ends), row_digest(key, values))
        with lock:
            source_digests.rows[low : low + parts] = folded.rows
            source_digests.sums[low : low + parts] = folded.sums

    def read_sink():
        for index, key, values in sink.rows(ends):
            sink_digests.add(index, row_digest(key, values))

    with ThreadPoolExecutor(max_workers=parallel + 1) as pool:
        sink_read = pool.submit(read_sink)
        for future in [pool.submit(read_source_slice, index) for index in range(len(slices))]:
            future.result()
        sink_read.result()
    return source_digests, sink_digests


def batches_of(indexes, source_digests, sink_digests, max_rows):
    """The differing ranges in groups that hold at most max_rows rows a side (a range larger than that alone)."""
    batch, held = [], 0
    for index in indexes:
        size = max(source_digests.rows[index], sink_digests.rows[index])
        if batch and held + size > max_rows:
            yield batch
            batch, held = [], 0
        batch.append(index)
        held += size
    if batch:
        yield batch


def second_pass(source, sink, ranges, batch, sink_counts, parallel, differences):
    """Read the ranges of batch again, key by key, and classify their rows: the source's by token range (parallel at
    a time), the sink's looked up by those keys meanwhile, and scanned only in the ranges where the first pass
    counted more sink rows than the lookup found (rows the source lacks: no key of the source finds them)."""
    rows = BatchRows(batch)

    def read_source_range(index):
        return index, list(source.slice_rows(*ranges[index]))

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        read = pool.map(read_source_range, batch)
        for key, values in sink.looked_up(lookup_chunks(read, rows, sink)):
            rows.add_looked_up(key, values)
    scan = ranges_to_scan(sink_counts, rows.found())
    if scan:
        for index, key, values in sink.rows([end for _start, end in ranges], wanted=set(scan)):
            rows.add_scanned(index, key, values)
    rows.compare(source.columns, differences)


def lookup_chunks(read, rows, sink):
    """The keys of the source's rows as their ranges come in (read: (range index, rows) in batch order), added to
    rows on the way, in chunks of page_size keys: the sink looks one chunk up while the source reads the next."""
    chunk, size = [], sink.params["page_size"]
    for index, source_rows in read:
        for _token, key, values in source_rows:
            rows.add_source(index, key, values)
            literals = sink.key_literals(key)
            if literals is not None:
                chunk.append(literals)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


class Comparison:
    """What reconcile() found: the tables' shapes, the digests per slice, the differences and how long it took."""

    def __init__(self, source, sink, slices, source_digests, sink_digests, ranges_reread, differences, seconds):
        self.source = source
        self.sink = sink
        self.slices = slices
        self.source_digests = source_digests
        self.sink_digests = sink_digests
        self.differing = differing_slices(source_digests, sink_digests)
        self.ranges_reread = ranges_reread
        self.differences = differences
        self.seconds = seconds


def reconcile(params, client):
    started = time.monotonic()
    source = SourceTable(client, params["source_table"], params)
    sink = SinkTable(params, source)
    slices = split_ring(params["token_ranges"] or auto_slices(sink.estimated_rows()))
    parts = parts_per_slice(len(slices))
    ranges = subdivide(slices, parts)
    source_digests, sink_digests = first_pass(source, sink, slices, ranges, params["parallel"])
    differing_ranges = differing_slices(source_digests, sink_digests)
    differences = Differences(params["sample_limit"], keep_all=bool(params.get("reemit_path")))
    for batch in batches_of(differing_ranges, source_digests, sink_digests, params["max_rows_in_memory"]):
        second_pass(source, sink, ranges, batch, sink_digests.rows, params["parallel"], differences)
    return Comparison(
        source,
        sink,
        slices,
        source_digests.folded(parts),
        sink_digests.folded(parts),
        len(differing_ranges),
        differences,
        time.monotonic() - started,
    )


def key_order(key):
    """Sort order of a key text: by its values (a NULL first), not by its JSON spelling ([1499] after [5])."""
    return [(value is not None, value) for value in json.loads(key)]


def key_document(key, key_columns):
    return dict(zip(key_columns, json.loads(key), strict=True))


def reemit_lines(differences, key_columns):
    entries = sorted(differences.all_keys or [], key=lambda entry: (entry["key"], entry["class"]))
    return [
        json.dumps(
            {"class": entry["class"], "key": key_document(entry["key"], key_columns)},
            ensure_ascii=False,
            sort_keys=True,
        )
        + "\n"
        for entry in entries
    ]


def write_reemit_file(module, path, lines):
    """(changed, keys before): the file replaced atomically when its keys differ; nothing written in check mode."""
    content = "".join(lines)
    before = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            before = handle.read()
    if before == content:
        return False, len(lines)
    if not module.check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".cdc-reconcile-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(content)
            os.chmod(temporary, 0o600)
            module.atomic_move(temporary, path)
            os.chmod(path, 0o600)  # atomic_move gives a new file the umask's mode
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return True, None if before is None else before.count("\n")


def run(module, client):
    params = module.params
    try:
        found = reconcile(params, client)
    except ReconcileError as exc:
        raise CqlModuleError(str(exc)) from exc
    differences, key_columns = found.differences, found.source.key_columns
    result = dict(
        changed=False,
        equal=differences.total() == 0,
        counts=differences.counts,
        samples=dict(
            (
                kind,
                [
                    dict(sample, key=key_document(sample["key"], key_columns))
                    for sample in sorted(differences.samples[kind], key=lambda sample: key_order(sample["key"]))
                ],
            )
            for kind in CLASSES
        ),
        source_rows=sum(found.source_digests.rows),
        sink_rows=sum(found.sink_digests.rows),
        sink_table_exists=found.sink.exists,
        key_columns=key_columns,
        columns=found.source.columns,
        slices=slice_report(found.slices, found.source_digests, found.sink_digests),
        differing_slices=len(found.differing),
        ranges_reread=found.ranges_reread,
        sink_passes=found.sink.reads,
        sink_lookups=found.sink.lookups,
        seconds=round(found.seconds, 3),
    )
    if not found.sink.exists:
        module.warn(
            "sink table %s does not exist in %s: the sink has written none of its rows yet (it creates the table with "
            "the first), so every source row counts as missing" % (params["sink_table"], found.sink.where)
        )
    path = params.get("reemit_path")
    if path:
        lines = reemit_lines(differences, key_columns)
        changed, keys_before = write_reemit_file(module, path, lines)
        result.update(changed=changed, reemit_keys=len(lines))
        if changed and module._diff:
            result["diff"] = dict(
                before="%s keys\n" % ("no file" if keys_before is None else keys_before),
                after="%d keys\n" % len(lines),
                before_header=path,
                after_header=path,
            )
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        source_table=dict(type="str", required=True),
        sink_table=dict(type="str", required=True),
        sink_host=dict(type="str", required=True),
        sink_port=dict(type="int", default=5432),
        sink_database=dict(type="str", default="cdc"),
        sink_user=dict(type="str", required=True),
        sink_password=dict(type="str", no_log=True),
        sink_sslmode=dict(
            type="str", default="verify-full", choices=["disable", "require", "verify-ca", "verify-full"]
        ),
        sink_ca_cert=dict(type="path"),
        columns=dict(type="list", elements="str"),
        ignore_columns=dict(type="list", elements="str", default=[]),
        token_ranges=dict(type="int", no_log=False),
        page_size=dict(type="int", default=5000),
        parallel=dict(type="int", default=4),
        sample_limit=dict(type="int", default=100),
        max_rows_in_memory=dict(type="int", default=1000000),
        reemit_path=dict(type="path"),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run, validate=validate)


if __name__ == "__main__":
    main()
