# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""STAND-IN for ScyllaDB's own CDC, on an Apache Cassandra 5 node. TEST CODE ONLY.

Nothing here is ScyllaDB, and nothing here is a way to run production: no role, playbook or
module uses it, and it never ships in the collection build (tests/ is not part of it). It exists
because no ScyllaDB server can run on the build machines, while the real ScyllaDB CDC source
connector (scylla-cdc-source-connector 2.0.3, scylla-cdc-java 1.3.11) needs only plain CQL to read
ScyllaDB's CDC tables. This module makes a Cassandra 5 node serve those tables, so the real
connector can be tested end to end (../shared/field-notes.md, "Running the real ScyllaDB source
connector here"):

- the generation tables `system_distributed.cdc_generation_timestamps` and
  `system_distributed.cdc_streams_descriptions_v2`. Cassandra refuses CREATE TABLE there, so they
  are created in a scratch keyspace, their `system_schema.tables`/`columns` rows are copied under
  `system_distributed` (new table ids), and the node is restarted (`install_generation_tables`);
- one CDC generation whose stream ids cover every vnode of the node's token ring
  (`publish_generation`). A stream id is 16 bytes: the 8-byte big-endian token, then 8 bytes whose
  low 4 bits are the version (1), bits 4..25 the vnode index (22 bits) and bits 26..63 random
  (ScyllaDB docs/design-notes/cdc.md; scylla-cdc-java StreamId.getVNodeId masks 0x3FFFFF0);
- per base table, the `cdc` schema extension (`system_schema.tables.extensions['cdc']`, the option
  map ScyllaDB stores, from the same declared settings and normalisation as the scylla_cdc module)
  and the log table `<table>_scylla_cdc_log` (`enable_cdc`);
- a writer (`CdcTable`) that performs each base write the tests make and writes, in the same logged
  batch, the log rows ScyllaDB writes for it (docs/features/cdc: cdc-log-table, cdc-basic-operations,
  cdc-preimages): `cdc$operation` 0 preimage, 1 update, 2 insert, 3 row delete, 4 partition delete,
  9 postimage; one `cdc$time` (a timeuuid of the write timestamp) per write and stream,
  `cdc$batch_seq_no` from 0, `cdc$end_of_batch` true on the last row of the group; `cdc$deleted_<c>`
  for columns set to null; `cdc$ttl` for writes with a TTL (a TTL write that also sets nulls is split
  into a dead-cell row and a live-cell row, as ScyllaDB splits it); preimages (`'true'`: the
  columns the write changes, `'full'`: the whole row; only when the row existed; not for partition
  deletes) and postimages (the whole row after the write; inserts and updates only). Log rows live
  for the table's CDC `ttl` (0: forever).

What this does not reproduce (and so what these tests do not prove): ScyllaDB's atomic base+log
write path, its read-before-write consistency, generation changes on topology change, range deletes
(5-8), static columns, non-frozen collections/UDTs (`cdc$deleted_elements_`), counters, and the
merging of several statements on one row of one batch into one delta row. For those, a real
ScyllaDB is needed (the skipped molecule/scylla scenario).

The pure encoding (`encode_cdc_extension`, `stream_id`, `log_rows`) needs no server and is unit
tested in tests/unit/test_scylla_cdc_standin.py; the rest takes a cassandra-driver session.
"""

# Statements are built from identifiers quoted by module_utils/cql.py quote_identifier (values go as
# bound parameters); the random numbers make ids, not secrets.
# ruff: noqa: S608, S311

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import random
import struct
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

STANDIN = "STAND-IN for ScyllaDB CDC (tests/tools/scylla_cdc_standin.py, test code, not ScyllaDB)"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _project_module_utils():
    """The collection's cql and scylla_cdc_options module_utils (importable by their collection name)."""
    try:
        from ansible_collections.cdc.pipeline.plugins.module_utils import cql, scylla_cdc_options
    except ImportError:  # outside the unit suite: make the collection importable the same way
        from tests.tools.collection_path import make_importable

        make_importable()
        from ansible_collections.cdc.pipeline.plugins.module_utils import cql, scylla_cdc_options
    return cql, scylla_cdc_options


_cql, _options = _project_module_utils()

# The project's own option handling (the scylla_cdc module's): decoder, normalisation, suffix.
LOG_TABLE_SUFFIX = _options.LOG_TABLE_SUFFIX
CDC_KEYS = _options.CDC_KEYS
quote = _cql.quote_identifier

# cdc$operation (ScyllaDB docs/features/cdc/cdc-log-table, "Operation column").
PREIMAGE = 0
UPDATE = 1
INSERT = 2
ROW_DELETE = 3
PARTITION_DELETE = 4
POSTIMAGE = 9
DELTA_OPERATIONS = (UPDATE, INSERT, ROW_DELETE, PARTITION_DELETE)

# Stream id layout (ScyllaDB docs/design-notes/cdc.md, cdc/generation.cc stream_id::stream_id).
STREAM_ID_VERSION = 1
VERSION_BITS = 4
INDEX_BITS = 22
RANDOM_BITS = 38
INDEX_SHIFT = VERSION_BITS
RANDOM_SHIFT = VERSION_BITS + INDEX_BITS
TOKEN_MIN = -(2**63)
TOKEN_MAX = 2**63 - 1

# Timeuuid epoch offset (100 ns intervals between 1582-10-15 and 1970-01-01).
UUID_EPOCH_OFFSET = 0x01B21DD213814000

SYSTEM_DISTRIBUTED = "system_distributed"
GENERATION_TABLES = {
    "cdc_generation_timestamps": (
        "key text, time timestamp, expired timestamp, PRIMARY KEY (key, time)",
        "CLUSTERING ORDER BY (time DESC)",
    ),
    "cdc_streams_descriptions_v2": (
        "time timestamp, range_end bigint, streams frozen<set<blob>>, PRIMARY KEY (time, range_end)",
        "",
    ),
}
SCRATCH_KEYSPACE = "cdc_standin_scratch"

# Column kinds the log table can mirror. Non-frozen collections and UDTs need
# cdc$deleted_elements_ columns and a frozen log type; counters are not CDC-able: not done here.
_UNSUPPORTED_TYPE_PREFIXES = ("list<", "set<", "map<", "counter")


class StandInError(Exception):
    """Something the stand-in cannot do or did not find; the message says what."""


# --------------------------------------------------------------------------- pure encoding


def encode_cdc_extension(options: dict[str, str]) -> bytes:
    """ScyllaDB's serialised cdc option map: little-endian uint32 count, then uint32-length-prefixed
    UTF-8 key and value per entry (the inverse of module_utils.scylla_cdc_options.decode_cdc_extension,
    which checks every blob written here)."""
    parts = [struct.pack("<I", len(options))]
    for key, value in sorted(options.items()):  # ScyllaDB keeps the options in a std::map: sorted keys
        for text in (str(key), str(value)):
            raw = text.encode("utf-8")
            parts.append(struct.pack("<I", len(raw)) + raw)
    blob = b"".join(parts)
    if _options.decode_cdc_extension(blob) != {str(k): str(v) for k, v in options.items()}:
        raise StandInError(f"internal error: {options} does not round-trip through the project's decoder")
    return blob


def stream_id(token: int, vnode_index: int, random_bits: int) -> bytes:
    """A 16-byte ScyllaDB CDC stream id: token (big-endian int64), then version | index | random."""
    if not TOKEN_MIN <= token <= TOKEN_MAX:
        raise StandInError(f"token {token} is outside the Murmur3 range")
    if not 0 <= vnode_index < 2**INDEX_BITS:
        raise StandInError(f"vnode index {vnode_index} does not fit in {INDEX_BITS} bits")
    low = (
        (STREAM_ID_VERSION & (2**VERSION_BITS - 1))
        | (vnode_index << INDEX_SHIFT)
        | ((random_bits & (2**RANDOM_BITS - 1)) << RANDOM_SHIFT)
    )
    return struct.pack(">qQ", token, low)


def stream_token(stream: bytes) -> int:
    return struct.unpack(">q", bytes(stream)[:8])[0]


def stream_vnode_index(stream: bytes) -> int:
    """What scylla-cdc-java reads as the VNodeId: (low qword & 0x3FFFFF0) >> 4."""
    low = struct.unpack(">Q", bytes(stream)[8:16])[0]
    return (low & 0x3FFFFF0) >> 4


def stream_version(stream: bytes) -> int:
    return struct.unpack(">Q", bytes(stream)[8:16])[0] & 0xF


def shard_of(token: int, shard_count: int, ignore_msb: int = 0) -> int:
    """ScyllaDB's dht::shard_of for the Murmur3 partitioner (unbias, drop the ignored high bits, scale)."""
    adjusted = ((token - TOKEN_MIN) << ignore_msb) & (2**64 - 1)
    return (adjusted * shard_count) >> 64


def timeuuid_of(micros: int, rng: random.Random) -> uuid.UUID:
    """A version 1 UUID carrying the write timestamp (microseconds) and random clock sequence and node."""
    ticks = micros * 10 + UUID_EPOCH_OFFSET
    return uuid.UUID(
        fields=(
            ticks & 0xFFFFFFFF,
            (ticks >> 32) & 0xFFFF,
            ((ticks >> 48) & 0x0FFF) | 0x1000,
            0x80 | rng.getrandbits(6),
            rng.getrandbits(8),
            rng.getrandbits(48),
        )
    )


def micros_of_timeuuid(value: uuid.UUID) -> int:
    return (value.time - UUID_EPOCH_OFFSET) // 10


# Sends of one write batch before a node's timeout is final (see CdcTable._execute_batch).
WRITE_ATTEMPTS = 3


@dataclasses.dataclass(frozen=True)
class TableShape:
    """The columns of a base table, by kind, with their CQL types."""

    keyspace: str
    name: str
    partition_key: tuple[str, ...]
    clustering: tuple[str, ...]
    regular: tuple[str, ...]
    types: dict[str, str] = dataclasses.field(hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        return self.partition_key + self.clustering

    @property
    def log_table(self) -> str:
        return self.name + LOG_TABLE_SUFFIX

    def check(self, key: dict[str, Any], columns: Sequence[str], what: str) -> None:
        missing = [c for c in columns if key.get(c) is None]
        if missing:
            raise StandInError(f"{what} on {self.keyspace}.{self.name} needs {', '.join(missing)}")


@dataclasses.dataclass(frozen=True)
class CdcOptions:
    """A table's five CDC options, as ScyllaDB stores them (strings normalised by the scylla_cdc module)."""

    enabled: bool = False
    preimage: str = "false"  # false | true (changed columns) | full (whole row)
    postimage: bool = False
    delta: str = "full"  # full | keys
    ttl: int = 86400

    @classmethod
    def from_map(cls, stored: dict[str, str]) -> CdcOptions:
        options = _options.stored_cdc_options(stored)
        return cls(
            enabled=options["enabled"] == "true",
            preimage=options["preimage"],
            postimage=options["postimage"] == "true",
            delta=options["delta"],
            ttl=int(options["ttl"]),
        )


@dataclasses.dataclass(frozen=True)
class Change:
    """One base write statement: insert, update, row delete or partition delete."""

    kind: str  # insert | update | row_delete | partition_delete
    key: dict[str, Any]
    values: dict[str, Any] = dataclasses.field(default_factory=dict)  # None = set to null
    ttl: int | None = None

    @classmethod
    def insert(cls, row: dict[str, Any], shape: TableShape, ttl: int | None = None) -> Change:
        key = {c: row.get(c) for c in shape.key}
        shape.check(key, shape.key, "an insert")
        return cls("insert", key, {c: v for c, v in row.items() if c not in shape.key}, ttl)

    @classmethod
    def update(cls, key: dict[str, Any], values: dict[str, Any], shape: TableShape, ttl: int | None = None) -> Change:
        shape.check(key, shape.key, "an update")
        if not values:
            raise StandInError("an update sets at least one column")
        return cls("update", {c: key[c] for c in shape.key}, dict(values), ttl)

    @classmethod
    def delete_row(cls, key: dict[str, Any], shape: TableShape) -> Change:
        shape.check(key, shape.key, "a row delete")
        if not shape.clustering:
            # ScyllaDB logs DELETE ... WHERE <partition key> of a table without clustering key as a
            # partition deletion (a partition tombstone), never as a row deletion.
            return cls.delete_partition(key, shape)
        return cls("row_delete", {c: key[c] for c in shape.key})

    @classmethod
    def delete_partition(cls, key: dict[str, Any], shape: TableShape) -> Change:
        shape.check(key, shape.partition_key, "a partition delete")
        return cls("partition_delete", {c: key[c] for c in shape.partition_key})

    def row_key(self, shape: TableShape) -> tuple:
        return tuple(self.key.get(c) for c in shape.key)


def _log_row(shape: TableShape, operation: int, key: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"cdc$operation": operation}
    for column in shape.key:
        if column in key:
            row[column] = key[column]
    return row


def _delta_rows(shape: TableShape, options: CdcOptions, change: Change) -> list[dict[str, Any]]:
    """The delta row(s) of one statement (several when a TTL write also sets nulls)."""
    if change.kind == "row_delete":
        return [_log_row(shape, ROW_DELETE, change.key)]
    if change.kind == "partition_delete":
        return [_log_row(shape, PARTITION_DELETE, change.key)]
    operation = INSERT if change.kind == "insert" else UPDATE
    live = {c: v for c, v in change.values.items() if v is not None}
    dead = [c for c, v in change.values.items() if v is None]
    if options.delta == "keys":
        row = _log_row(shape, operation, change.key)
        if change.ttl and (live or operation == INSERT):
            row["cdc$ttl"] = change.ttl
        return [row]
    rows = []
    if change.ttl and dead and (live or operation == INSERT):
        # TTLs apply to live cells only: ScyllaDB splits the write by TTL (cdc/split.cc) into the dead
        # cells (no TTL; an update) and the live cells with the row marker (with the TTL).
        dead_row = _log_row(shape, UPDATE, change.key)
        dead_row.update({f"cdc$deleted_{c}": True for c in dead})
        live_row = _log_row(shape, operation, change.key)
        live_row.update(live)
        live_row["cdc$ttl"] = change.ttl
        return [dead_row, live_row]
    row = _log_row(shape, operation, change.key)
    row.update(live)
    row.update({f"cdc$deleted_{c}": True for c in dead})
    if change.ttl and (live or operation == INSERT):
        row["cdc$ttl"] = change.ttl
    rows.append(row)
    return rows


def _changed_columns(shape: TableShape, change: Change) -> list[str]:
    if change.kind == "row_delete":
        return list(shape.regular)
    return [c for c in shape.regular if c in change.values]


def _preimage_row(shape: TableShape, options: CdcOptions, before: dict[str, Any], columns: list[str]) -> dict:
    row = _log_row(shape, PREIMAGE, {c: before.get(c) for c in shape.key})
    shown = shape.regular if options.preimage == "full" else columns
    for column in shown:
        if before.get(column) is None:
            row[f"cdc$deleted_{column}"] = True
        else:
            row[column] = before[column]
    return row


def apply_change(before: dict[str, Any] | None, change: Change, shape: TableShape) -> dict[str, Any] | None:
    """The row after one statement (None: no live row), from the row before it."""
    if change.kind in ("row_delete", "partition_delete"):
        return None
    after = dict(before or {})
    after.update(change.key)
    after.update(change.values)
    if change.kind == "update" and before is None and all(v is None for v in change.values.values()):
        return None  # an update writing only nulls leaves no live cell (no row marker either)
    return after


def _images(
    shape: TableShape, options: CdcOptions, touched: dict, before: dict, after: dict
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Preimage rows (rows that existed, when preimage is on) and postimage rows (rows an insert or
    update left live, when postimage is on), in the order the rows were first touched."""
    preimages, postimages = [], []
    for key, entry in touched.items():
        row_before = before.get(key)
        if options.preimage in ("true", "full") and row_before:  # only when the read returned the row
            preimages.append(_preimage_row(shape, options, row_before, entry["columns"]))
        row_after = after.get(key)
        if options.postimage and entry["post"] and row_after is not None:
            row = _log_row(shape, POSTIMAGE, {c: row_after.get(c) for c in shape.key})
            row.update({c: row_after[c] for c in shape.regular if row_after.get(c) is not None})
            postimages.append(row)
    return preimages, postimages


def log_rows(
    shape: TableShape,
    options: CdcOptions,
    changes: Sequence[Change],
    before: dict[tuple, dict[str, Any] | None],
) -> list[dict[str, Any]]:
    """The log rows ScyllaDB writes for one write (one statement or one batch, one timestamp, one stream).

    before: the base rows as they were before the write, by full primary key (None or absent: no
    row). Order, as ScyllaDB's cdc/log.cc transformer emits them: every preimage, then every delta,
    then every postimage; `cdc$batch_seq_no` counts from 0 over the group and `cdc$end_of_batch` is
    true on its last row. Stream id and time are the writer's business (`CdcTable`).
    """
    if not options.enabled:
        return []
    deltas: list[dict[str, Any]] = []
    touched: dict[tuple, dict[str, list[str] | bool]] = {}
    state = {key: (dict(row) if row else None) for key, row in before.items()}
    for change in changes:
        deltas.extend(_delta_rows(shape, options, change))
        if change.kind == "partition_delete":
            # No images for partition deletes (their cost is unbounded); the rows are gone after it.
            prefix = tuple(change.key[c] for c in shape.partition_key)
            for key in list(state):
                if key[: len(shape.partition_key)] == prefix:
                    state[key] = None
            continue
        key = change.row_key(shape)
        entry = touched.setdefault(key, {"columns": [], "post": False})
        entry["columns"] = list(dict.fromkeys([*entry["columns"], *_changed_columns(shape, change)]))
        entry["post"] = change.kind in ("insert", "update")
        state[key] = apply_change(state.get(key), change, shape)
    preimages, postimages = _images(shape, options, touched, before, state)
    rows = preimages + deltas + postimages
    for number, row in enumerate(rows):
        row["cdc$batch_seq_no"] = number
        if number == len(rows) - 1:
            row["cdc$end_of_batch"] = True
    return rows


# --------------------------------------------------------------------------- generations


@dataclasses.dataclass(frozen=True)
class VNode:
    index: int
    range_end: int
    streams: tuple[bytes, ...]


@dataclasses.dataclass(frozen=True)
class Generation:
    time: datetime.datetime
    vnodes: tuple[VNode, ...]

    def vnode_of(self, token: int) -> VNode:
        """The vnode owning token: the first whose range end is >= token, else the wrapping first one."""
        for vnode in self.vnodes:
            if token <= vnode.range_end:
                return vnode
        return self.vnodes[0]

    def stream_of(self, token: int) -> bytes:
        vnode = self.vnode_of(token)
        return vnode.streams[shard_of(token, len(vnode.streams))]

    @property
    def streams(self) -> list[bytes]:
        return [s for vnode in self.vnodes for s in vnode.streams]


def make_generation(
    tokens: Sequence[int], start: datetime.datetime, streams_per_vnode: int = 1, rng: random.Random | None = None
) -> Generation:
    """One generation over the ring of tokens: a vnode per token (the range (previous, token], the
    first one wrapping), each with streams_per_vnode stream ids (one per shard, as a ScyllaDB node
    with that many shards) whose tokens lie in the vnode."""
    if not tokens:
        raise StandInError("no tokens: is the node's system.local readable?")
    rng = rng or random.Random()
    ends = sorted(set(int(t) for t in tokens))
    vnodes = []
    for index, end in enumerate(ends):
        previous = ends[index - 1] if index else ends[-1] - 2**64  # the wrapping range
        width = end - previous
        streams = []
        for shard in range(streams_per_vnode):
            # the middle of the shard's slice of the vnode, wrapped into the Murmur3 range
            token = previous + (width * (2 * shard + 1)) // (2 * streams_per_vnode)
            token = (token - TOKEN_MIN) % 2**64 + TOKEN_MIN
            streams.append(stream_id(token, index, rng.getrandbits(RANDOM_BITS)))
        vnodes.append(VNode(index, end, tuple(streams)))
    return Generation(start, tuple(vnodes))


# --------------------------------------------------------------------------- server side


def _rows(result) -> list[dict[str, Any]]:
    rows = []
    for row in result:
        rows.append(row if isinstance(row, dict) else row._asdict())
    return rows


def generation_tables_present(session) -> bool:
    rows = _rows(
        session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (SYSTEM_DISTRIBUTED,))
    )
    return set(GENERATION_TABLES) <= {row["table_name"] for row in rows}


def copy_generation_table_schemas(session) -> None:
    """Create the generation tables in a scratch keyspace and copy their schema rows to system_distributed.

    Cassandra refuses CREATE TABLE in system_distributed but takes writes to system_schema; the
    copied tables exist once the node restarts and reloads its schema.
    """
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {SCRATCH_KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    for table, (columns, clustering) in GENERATION_TABLES.items():
        options = f" WITH {clustering}" if clustering else ""
        session.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH_KEYSPACE}.{table} ({columns}){options}")
        for schema_table in ("tables", "columns"):
            rows = _rows(
                session.execute(
                    f"SELECT JSON * FROM system_schema.{schema_table} WHERE keyspace_name = %s AND table_name = %s",
                    (SCRATCH_KEYSPACE, table),
                )
            )
            if not rows:
                raise StandInError(f"system_schema.{schema_table} has no row for {SCRATCH_KEYSPACE}.{table}")
            for row in rows:
                document = json.loads(row["[json]"])
                document["keyspace_name"] = SYSTEM_DISTRIBUTED
                if schema_table == "tables":
                    document["id"] = str(uuid.uuid4())
                session.execute(f"INSERT INTO system_schema.{schema_table} JSON %s", (json.dumps(document),))


def install_generation_tables(
    open_session: Callable[[], contextlib.AbstractContextManager], restart: Callable[[], None]
) -> bool:
    """Make system_distributed serve ScyllaDB's generation tables; restart the node once if needed.

    open_session() opens a superuser session (a context manager); restart() restarts the node and
    returns when it takes logins again. Returns whether a restart was needed.
    """
    with open_session() as session:
        present = generation_tables_present(session)
        if present:
            fit_system_distributed_replication(session)
            return False
        copy_generation_table_schemas(session)
    restart()
    with open_session() as session:
        if not generation_tables_present(session):
            raise StandInError(
                "after the restart system_distributed still lacks "
                f"{', '.join(GENERATION_TABLES)}: Cassandra did not load the copied schema rows"
            )
        session.execute(f"DROP KEYSPACE IF EXISTS {SCRATCH_KEYSPACE}")
        fit_system_distributed_replication(session)
    return True


def fit_system_distributed_replication(session) -> int:
    """Replication factor of system_distributed = the number of nodes, at most 3.

    Cassandra gives system_distributed RF 3 whatever the cluster size, so on fewer nodes a QUORUM
    read of the generation tables (as the connector's library may make) finds too few replicas.
    """
    nodes = 1 + len(_rows(session.execute("SELECT peer FROM system.peers")))
    factor = min(3, nodes)
    session.execute(
        f"ALTER KEYSPACE {SYSTEM_DISTRIBUTED} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}"
    )
    return factor


def ring_tokens(session) -> list[int]:
    tokens = []
    for table in ("system.local", "system.peers"):
        for row in _rows(session.execute(f"SELECT tokens FROM {table}")):
            tokens.extend(int(t) for t in row["tokens"] or ())
    return sorted(tokens)


def publish_generation(
    session, streams_per_vnode: int = 1, start: datetime.datetime | None = None, rng: random.Random | None = None
) -> Generation:
    """Write one generation covering every vnode of the node's ring, starting now (or at start).

    The stream descriptions go first, the timestamp last, as ScyllaDB publishes them.
    """
    now = datetime.datetime.now(datetime.UTC)
    start = start or now.replace(microsecond=(now.microsecond // 1000) * 1000)
    generation = make_generation(ring_tokens(session), start, streams_per_vnode, rng)
    table = f"{SYSTEM_DISTRIBUTED}.cdc_streams_descriptions_v2"
    for vnode in generation.vnodes:
        session.execute(
            f"INSERT INTO {table} (time, range_end, streams) VALUES (%s, %s, %s)",
            (start, vnode.range_end, set(vnode.streams)),
        )
    session.execute(
        f"INSERT INTO {SYSTEM_DISTRIBUTED}.cdc_generation_timestamps (key, time, expired) "
        "VALUES ('timestamps', %s, null)",
        (start,),
    )
    return generation


def current_generation(session) -> Generation:
    """The newest published generation, read back as the connector reads it."""
    rows = _rows(
        session.execute(
            f"SELECT time FROM {SYSTEM_DISTRIBUTED}.cdc_generation_timestamps WHERE key = 'timestamps' LIMIT 1"
        )
    )
    if not rows:
        raise StandInError("no CDC generation published: call publish_generation first")
    start = rows[0]["time"]
    if start.tzinfo is None:  # the driver returns naive UTC datetimes
        start = start.replace(tzinfo=datetime.UTC)
    described = _rows(
        session.execute(
            f"SELECT range_end, streams FROM {SYSTEM_DISTRIBUTED}.cdc_streams_descriptions_v2 WHERE time = %s",
            (start,),
        )
    )
    vnodes = []
    for row in sorted(described, key=lambda r: r["range_end"]):
        streams = sorted(bytes(s) for s in row["streams"])
        index = stream_vnode_index(streams[0])
        streams.sort(key=stream_token)
        vnodes.append(VNode(index, row["range_end"], tuple(streams)))
    return Generation(start, tuple(vnodes))


def table_shape(session, keyspace: str, table: str) -> TableShape:
    rows = _rows(
        session.execute(
            "SELECT column_name, kind, position, type FROM system_schema.columns "
            "WHERE keyspace_name = %s AND table_name = %s",
            (keyspace, table),
        )
    )
    if not rows:
        raise StandInError(f"table {keyspace}.{table} does not exist")
    by_kind: dict[str, list[tuple[int, str]]] = {}
    types = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append((row["position"], row["column_name"]))
        types[row["column_name"]] = row["type"]
        if row["kind"] == "static":
            raise StandInError(f"{keyspace}.{table}.{row['column_name']}: static columns are not done by the stand-in")
        if row["type"].startswith(_UNSUPPORTED_TYPE_PREFIXES):
            raise StandInError(
                f"{keyspace}.{table}.{row['column_name']} {row['type']}: non-frozen collections and counters "
                "are not done by the stand-in"
            )

    def ordered(kind: str) -> tuple[str, ...]:
        return tuple(name for _pos, name in sorted(by_kind.get(kind, [])))

    return TableShape(keyspace, table, ordered("partition_key"), ordered("clustering"), ordered("regular"), types)


def log_table_cql(shape: TableShape, options: CdcOptions) -> str:
    columns = [
        '"cdc$stream_id" blob',
        '"cdc$time" timeuuid',
        '"cdc$batch_seq_no" int',
        '"cdc$end_of_batch" boolean',
        '"cdc$operation" tinyint',
        '"cdc$ttl" bigint',
    ]
    columns += [f"{quote(c)} {shape.types[c]}" for c in shape.key]
    for column in shape.regular:
        columns += [f"{quote(column)} {shape.types[column]}", f"{quote('cdc$deleted_' + column)} boolean"]
    comment = f"CDC log for {shape.keyspace}.{shape.name}: {STANDIN}"
    return (
        f"CREATE TABLE IF NOT EXISTS {quote(shape.keyspace)}.{quote(shape.log_table)} ("
        + ", ".join(columns)
        + ', PRIMARY KEY (("cdc$stream_id"), "cdc$time", "cdc$batch_seq_no"))'
        + ' WITH CLUSTERING ORDER BY ("cdc$time" ASC, "cdc$batch_seq_no" ASC)'
        + f" AND comment = {_cql.string_literal(comment)} AND gc_grace_seconds = 0"
    )


def stored_options(session, keyspace: str, table: str) -> dict[str, str]:
    rows = _rows(
        session.execute(
            "SELECT extensions FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
            (keyspace, table),
        )
    )
    if not rows:
        raise StandInError(f"table {keyspace}.{table} does not exist")
    blob = (rows[0]["extensions"] or {}).get("cdc")
    return _options.decode_cdc_extension(blob, f"extensions['cdc'] of {keyspace}.{table}")


def enable_cdc(session, keyspace: str, table: str, **declared: Any) -> CdcOptions:
    """Turn the stand-in's CDC on for a table: the `cdc` extension and the log table.

    declared: the table's CDC settings (enabled, preimage, postimage, delta, ttl; None or absent =
    not given), merged and normalised exactly as the scylla_cdc module does (wanted_cdc_options).
    enabled defaults to true here. The extension is written into system_schema.tables, where the
    connector's driver reads it (Cassandra accepts the write and keeps it; `WITH extensions` would be
    dropped).
    """
    requested = {key: declared.get(key) for key in CDC_KEYS}
    if requested["enabled"] is None:
        requested["enabled"] = True
    unknown = sorted(set(declared) - set(CDC_KEYS))
    if unknown:
        raise StandInError(f"unknown CDC option(s) {', '.join(unknown)}: ScyllaDB knows {', '.join(CDC_KEYS)}")
    current = _options.stored_cdc_options(stored_options(session, keyspace, table))
    wanted = _options.wanted_cdc_options(requested, current)
    shape = table_shape(session, keyspace, table)
    options = CdcOptions.from_map(wanted)
    if options.enabled:
        session.execute(log_table_cql(shape, options))
    # extensions is a frozen map: the whole map is written, the other entries kept.
    rows = _rows(
        session.execute(
            "SELECT extensions FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
            (keyspace, table),
        )
    )
    extensions = dict(rows[0]["extensions"] or {})
    extensions["cdc"] = encode_cdc_extension(wanted)
    session.execute(
        "UPDATE system_schema.tables SET extensions = %s WHERE keyspace_name = %s AND table_name = %s",
        (extensions, keyspace, table),
    )
    return options


# --------------------------------------------------------------------------- the writer


@dataclasses.dataclass
class WriteResult:
    timestamp: int  # microseconds, of the base write and of cdc$time
    time: uuid.UUID
    log_rows: dict[bytes, list[dict[str, Any]]]  # by stream id


class CdcTable:
    """Writes to one base table through the stand-in: the base statement(s) and their log rows.

    Each method is one write with one timestamp (microseconds, strictly increasing per writer);
    the base statements and the log rows go in one logged batch. Preimages and postimages come
    from a read of the touched rows before the write, as ScyllaDB does (read-before-write).
    """

    def __init__(
        self, session, keyspace: str, table: str, generation: Generation | None = None, seed: int | None = None
    ):
        self.session = session
        self.shape = table_shape(session, keyspace, table)
        self.options = CdcOptions.from_map(stored_options(session, keyspace, table))
        if not self.options.enabled:
            raise StandInError(f"CDC is not enabled on {keyspace}.{table}: call enable_cdc first")
        self.generation = generation or current_generation(session)
        self.rng = random.Random(seed)
        self._last_timestamp = 0
        # Writes may come from several threads (one session, batches of distinct keys at once): each
        # still gets a timestamp and a time UUID of its own.
        self._clock = threading.Lock()
        key_where = " AND ".join(f"{quote(c)} = ?" for c in self.shape.key)
        self._read = session.prepare(f"SELECT * FROM {self._table} WHERE {key_where}")
        pk_where = " AND ".join(f"{quote(c)} = ?" for c in self.shape.partition_key)
        self._routing = session.prepare(f"SELECT * FROM {self._table} WHERE {pk_where} LIMIT 1")

    @property
    def _table(self) -> str:
        return f"{quote(self.shape.keyspace)}.{quote(self.shape.name)}"

    # -- public operations

    def insert(self, row: dict[str, Any], ttl: int | None = None) -> WriteResult:
        return self.write([Change.insert(row, self.shape, ttl)])

    def update(self, key: dict[str, Any], values: dict[str, Any], ttl: int | None = None) -> WriteResult:
        return self.write([Change.update(key, values, self.shape, ttl)])

    def delete_row(self, key: dict[str, Any]) -> WriteResult:
        return self.write([Change.delete_row(key, self.shape)])

    def delete_partition(self, key: dict[str, Any]) -> WriteResult:
        return self.write([Change.delete_partition(key, self.shape)])

    def batch(self, changes: Sequence[Change]) -> WriteResult:
        return self.write(list(changes))

    # -- machinery

    def token(self, key: dict[str, Any]) -> int:
        """The Murmur3 token of a partition key, from the driver's routing key (no server round trip)."""
        from cassandra.metadata import Murmur3Token

        bound = self._routing.bind([key[c] for c in self.shape.partition_key])
        if bound.routing_key is None:
            raise StandInError(f"the driver gave no routing key for {self._table} (partition key {key})")
        return Murmur3Token.from_key(bound.routing_key).value

    def _timestamp(self) -> tuple[int, uuid.UUID]:
        with self._clock:
            now = time.time_ns() // 1000
            self._last_timestamp = max(now, self._last_timestamp + 1)
            return self._last_timestamp, timeuuid_of(self._last_timestamp, self.rng)

    def _before(self, changes: Sequence[Change]) -> dict[tuple, dict[str, Any] | None]:
        """The touched rows before the write (ScyllaDB's read-before-write), read concurrently."""
        keys = list(dict.fromkeys(c.row_key(self.shape) for c in changes if c.kind != "partition_delete"))
        pending = [(key, self.session.execute_async(self._read, list(key))) for key in keys]
        before: dict[tuple, dict[str, Any] | None] = {}
        for key, future in pending:
            rows = _rows(future.result())
            before[key] = rows[0] if rows else None
        return before

    def write(self, changes: list[Change]) -> WriteResult:
        from cassandra.query import BatchStatement, BatchType

        if not changes:
            raise StandInError("a write needs at least one change")
        timestamp, time_uuid = self._timestamp()
        if datetime.datetime.fromtimestamp(timestamp / 1e6, datetime.UTC) < self.generation.time:
            raise StandInError("the write is older than the generation: ScyllaDB would refuse it")
        before = self._before(changes)
        by_stream: dict[bytes, list[Change]] = {}
        for change in changes:
            by_stream.setdefault(self.generation.stream_of(self.token(change.key)), []).append(change)
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        for change in changes:
            batch.add(*self._base_statement(change, timestamp))
        written: dict[bytes, list[dict[str, Any]]] = {}
        for stream, group in by_stream.items():
            group_before = {k: v for k, v in before.items() if any(c.row_key(self.shape) == k for c in group)}
            rows = log_rows(self.shape, self.options, group, group_before)
            for row in rows:
                row["cdc$stream_id"] = stream
                row["cdc$time"] = time_uuid
                batch.add(*self._log_statement(row, timestamp))
            written[stream] = rows
        self._execute_batch(batch)
        return WriteResult(timestamp, time_uuid, written)

    def _execute_batch(self, batch) -> None:
        """The batch, sent again when the node timed out on it (at most WRITE_ATTEMPTS sends in all).

        Sending it again is safe: every cell carries the batch's own timestamp and every log row its
        own cdc$time, so a second send writes the same cells, never a second change. A loaded lab
        node (the stand-in shares two cores with the whole pipeline) times out now and then.
        """
        from cassandra import OperationTimedOut, WriteTimeout

        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self.session.execute(batch)
                return
            except (WriteTimeout, OperationTimedOut):
                if attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(attempt)

    def _base_statement(self, change: Change, timestamp: int) -> tuple[str, list[Any]]:
        using = f"USING TIMESTAMP {timestamp}" + (f" AND TTL {int(change.ttl)}" if change.ttl else "")
        where_columns = list(change.key)
        where = " AND ".join(f"{quote(c)} = %s" for c in where_columns)
        where_values = [change.key[c] for c in where_columns]
        if change.kind == "insert":
            columns = [*change.key, *change.values]
            values = [*change.key.values(), *change.values.values()]
            placeholders = ", ".join(["%s"] * len(columns))
            names = ", ".join(quote(c) for c in columns)
            return f"INSERT INTO {self._table} ({names}) VALUES ({placeholders}) {using}", values
        if change.kind == "update":
            sets = ", ".join(f"{quote(c)} = %s" for c in change.values)
            return f"UPDATE {self._table} {using} SET {sets} WHERE {where}", [*change.values.values(), *where_values]
        return f"DELETE FROM {self._table} USING TIMESTAMP {timestamp} WHERE {where}", where_values

    def _log_statement(self, row: dict[str, Any], timestamp: int) -> tuple[str, list[Any]]:
        names = ", ".join(quote(c) for c in row)
        placeholders = ", ".join(["%s"] * len(row))
        # Every statement of the batch carries its own timestamp (Cassandra takes no mix); log rows
        # live for the table's CDC ttl, as ScyllaDB writes them (0: no expiry).
        using = f" USING TIMESTAMP {timestamp}" + (f" AND TTL {self.options.ttl}" if self.options.ttl else "")
        log = f"{quote(self.shape.keyspace)}.{quote(self.shape.log_table)}"
        return f"INSERT INTO {log} ({names}) VALUES ({placeholders}){using}", list(row.values())


def keys_without_log(session, keyspace: str, table: str) -> list[tuple]:
    """Primary keys of live base rows that no insert/update log row mentions: writes that bypassed
    the stand-in (a real ScyllaDB never has any). The check the tests' negative controls use."""
    shape = table_shape(session, keyspace, table)
    names = ", ".join(quote(c) for c in shape.key)
    base = {
        tuple(r[c] for c in shape.key)
        for r in _rows(session.execute(f"SELECT {names} FROM {quote(keyspace)}.{quote(table)}"))
    }
    logged = set()
    log = f"{quote(keyspace)}.{quote(shape.log_table)}"
    for row in _rows(session.execute(f'SELECT {names}, "cdc$operation" FROM {log}')):
        if row["cdc$operation"] in (UPDATE, INSERT):
            logged.add(tuple(row[c] for c in shape.key))
    return sorted(base - logged)
