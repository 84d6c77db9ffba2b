# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change events in the ScyllaDB CDC source connector's advanced output format (one job: the bytes).

What the connector (scylla-cdc-source-connector 2.0.x, ``cdc.output.format=advanced``,
``cdc.include.after=full``, ``cdc.include.before=none``) writes for one change of one row, as the
Connect workers' JsonConverter with ``schemas.enable=true`` encodes it (the connectors role pins that
converter on both connectors):

* key: ``{"schema": <struct <topic>.Key of the primary key columns>, "payload": {column: value}}``.
  The connector declares the struct required and each of its fields optional.
* value: ``{"schema": <struct <topic>.Envelope>, "payload": {...}}``, a Debezium envelope with
  ``source`` (connector ``scylla``, ``keyspace_name``, ``table_name``, ``ts_ms``/``ts_us`` of the
  write), ``before``, ``after`` (every column: the full after-image), ``op`` (``c``, ``u`` or ``d``),
  ``ts_ms``/``ts_us`` of the event, ``transaction`` (null).

A ``d`` event carries the key columns in ``before`` and a null ``after``; the connector follows it with
a tombstone (same key, null value), which is the producer's business, not this encoder's.

Modelled on ScyllaSchema.java and ScyllaSourceInfoStructMaker.java of the connector, and on what the
Debezium JDBC sink accepted in the molecule/kafka end-to-end test. The encoding is deterministic:
the same table, row and times give the same bytes. Nothing here talks to Kafka.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

SOURCE_SCHEMA_NAME = "com.scylladb.cdc.debezium.connector"
CONNECTOR = "scylla"
# source.version of the records (the connector release the format was read from).
CONNECTOR_VERSION = "2.0.3"
OPERATIONS = ("c", "u", "d")

# Connect schema of each CQL type, as the connector maps them (ScyllaSchema.computeColumnSchema).
# JsonConverter names FLOAT64 "double" and FLOAT32 "float"; timestamps are epoch milliseconds, dates
# days since the epoch, blobs base64.
CQL_TYPES = {
    "ascii": {"type": "string"},
    "text": {"type": "string"},
    "varchar": {"type": "string"},
    "int": {"type": "int32"},
    "bigint": {"type": "int64"},
    "smallint": {"type": "int16"},
    "tinyint": {"type": "int8"},
    "double": {"type": "double"},
    "float": {"type": "float"},
    "boolean": {"type": "boolean"},
    "blob": {"type": "bytes"},
    "timestamp": {"type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
    "date": {"type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1},
}

_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")

# Debezium 2.7's common source fields (the connector's source struct is built on them), then the
# connector's own two.
SOURCE_FIELDS = [
    {"type": "string", "optional": False, "field": "version"},
    {"type": "string", "optional": False, "field": "connector"},
    {"type": "string", "optional": False, "field": "name"},
    {"type": "int64", "optional": False, "field": "ts_ms"},
    {
        "type": "string",
        "optional": True,
        "name": "io.debezium.data.Enum",
        "version": 1,
        "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
        "default": "false",
        "field": "snapshot",
    },
    {"type": "string", "optional": False, "field": "db"},
    {"type": "string", "optional": True, "field": "sequence"},
    {"type": "int64", "optional": True, "field": "ts_us"},
    {"type": "int64", "optional": True, "field": "ts_ns"},
    {"type": "string", "optional": False, "field": "keyspace_name"},
    {"type": "string", "optional": False, "field": "table_name"},
]

TRANSACTION_SCHEMA = {
    "type": "struct",
    "optional": True,
    "name": "event.block",
    "version": 1,
    "fields": [
        {"type": "string", "optional": False, "field": "id"},
        {"type": "int64", "optional": False, "field": "total_order"},
        {"type": "int64", "optional": False, "field": "data_collection_order"},
    ],
    "field": "transaction",
}


class CdcEventError(ValueError):
    """A table or row the connector could not have produced; the message says which part."""


class CdcTable(object):
    """A source table as the connector sees it: primary key columns (partition, then clustering) and the rest.

    key and columns are lists of (column name, CQL type) in the table's order.
    """

    def __init__(self, keyspace, name, key, columns, topic_prefix="cdc"):
        for what, value in (("keyspace", keyspace), ("table", name), ("topic prefix", topic_prefix)):
            if not value or not _NAME_RE.match(value):
                raise CdcEventError("%s %r is not a name of letters, digits and underscores" % (what, value))
        if not key:
            raise CdcEventError("table %s.%s needs at least one primary key column" % (keyspace, name))
        seen = set()
        for column, cql_type in list(key) + list(columns):
            if column in seen:
                raise CdcEventError("column %s of %s.%s is listed twice" % (column, keyspace, name))
            seen.add(column)
            if cql_type not in CQL_TYPES:
                raise CdcEventError(
                    "column %s has CQL type %r, which this encoder does not map (known: %s)"
                    % (column, cql_type, ", ".join(sorted(CQL_TYPES)))
                )
        self.keyspace = keyspace
        self.name = name
        self.key = list(key)
        self.columns = list(columns)
        self.topic_prefix = topic_prefix
        # The connector's topic: <topic.prefix>.<keyspace>.<table>.
        self.topic = "%s.%s.%s" % (topic_prefix, keyspace, name)

    @property
    def key_names(self):
        return [column for column, _cql_type in self.key]

    @property
    def column_names(self):
        return [column for column, _cql_type in self.key + self.columns]

    # -- schemas ------------------------------------------------------------------------------

    @staticmethod
    def _fields(columns):
        fields = []
        for column, cql_type in columns:
            field = dict(CQL_TYPES[cql_type])
            field.update(optional=True, field=column)
            fields.append(field)
        return fields

    def key_schema(self):
        return {"type": "struct", "fields": self._fields(self.key), "optional": False, "name": self.topic + ".Key"}

    def row_schema(self, suffix):
        """The Before or After struct: every column, optional, the struct itself optional."""
        return {
            "type": "struct",
            "fields": self._fields(self.key + self.columns),
            "optional": True,
            "name": "%s.%s" % (self.topic, suffix),
        }

    def value_schema(self):
        source = {
            "type": "struct",
            "optional": False,
            "name": SOURCE_SCHEMA_NAME,
            "fields": copy.deepcopy(SOURCE_FIELDS),
            "field": "source",
        }
        before = dict(self.row_schema("Before"), field="before")
        after = dict(self.row_schema("After"), field="after")
        return {
            "type": "struct",
            "optional": False,
            "name": self.topic + ".Envelope",
            "fields": [
                source,
                before,
                after,
                {"type": "string", "optional": True, "field": "op"},
                {"type": "int64", "optional": True, "field": "ts_ms"},
                copy.deepcopy(TRANSACTION_SCHEMA),
                {"type": "int64", "optional": True, "field": "ts_us"},
                {"type": "int64", "optional": True, "field": "ts_ns"},
            ],
        }

    # -- rows ---------------------------------------------------------------------------------

    def full_row(self, row):
        """Every column of the table, in its order: the given values, None for the rest.

        Refuses a row without a value for each key column, and columns the table does not have.
        """
        unknown = sorted(set(row) - set(self.column_names))
        if unknown:
            raise CdcEventError("%s.%s has no column %s" % (self.keyspace, self.name, ", ".join(unknown)))
        missing = [column for column in self.key_names if row.get(column) is None]
        if missing:
            raise CdcEventError("the row has no value for key column %s" % ", ".join(missing))
        return dict((column, row.get(column)) for column in self.column_names)

    def key_of(self, row):
        return dict((column, row[column]) for column in self.key_names)


def _json_bytes(document):
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def source_info(table, ts_ms):
    """The envelope's source struct: the write at ts_ms (epoch milliseconds) in table."""
    return {
        "version": CONNECTOR_VERSION,
        "connector": CONNECTOR,
        "name": table.topic_prefix,
        "ts_ms": ts_ms,
        "snapshot": "false",
        "db": table.keyspace,
        "sequence": None,
        "ts_us": ts_ms * 1000,
        "ts_ns": None,
        "keyspace_name": table.keyspace,
        "table_name": table.name,
    }


def key_document(table, row):
    """The key as JsonConverter writes it: {"schema", "payload"} of the primary key struct."""
    return {"schema": table.key_schema(), "payload": table.key_of(table.full_row(row))}


def value_document(table, op, row, ts_ms, emitted_ms=None):
    """The value as JsonConverter writes it: {"schema", "payload"} of the Debezium envelope.

    op c or u: after is the full row (cdc.include.after=full), before is null (cdc.include.before=none).
    op d: before holds the key columns, after is null. ts_ms is when the write happened in ScyllaDB,
    emitted_ms when the connector emitted the event (default ts_ms).
    """
    if op not in OPERATIONS:
        raise CdcEventError("op %r is not one of %s" % (op, ", ".join(OPERATIONS)))
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool) or ts_ms < 0:
        raise CdcEventError("ts_ms must be epoch milliseconds (a non-negative integer), not %r" % (ts_ms,))
    emitted_ms = ts_ms if emitted_ms is None else emitted_ms
    full = table.full_row(row)
    if op == "d":
        before, after = table.full_row(table.key_of(full)), None
    else:
        before, after = None, full
    payload = {
        "source": source_info(table, ts_ms),
        "before": before,
        "after": after,
        "op": op,
        "ts_ms": emitted_ms,
        "transaction": None,
        "ts_us": emitted_ms * 1000,
        "ts_ns": None,
    }
    return {"schema": table.value_schema(), "payload": payload}


def change_event(table, op, row, ts_ms, emitted_ms=None):
    """(key bytes, value bytes) of one change event, ready to produce into table.topic."""
    return (
        _json_bytes(key_document(table, row)),
        _json_bytes(value_document(table, op, row, ts_ms, emitted_ms)),
    )
