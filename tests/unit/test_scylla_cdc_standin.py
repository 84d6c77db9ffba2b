# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the STAND-IN for ScyllaDB's CDC (tests/tools/scylla_cdc_standin.py, test code):
the bytes and rows it writes, checked against ScyllaDB's documented formats, with no server.

Sources of the expectations: ScyllaDB docs/features/cdc (cdc-log-table: operation codes, batch
sequence numbers, cdc$ttl and the TTL split; cdc-basic-operations; cdc-preimages: when preimages and
postimages appear and what they hold, with the worked examples reproduced below),
docs/design-notes/cdc.md (stream id layout), scylla-cdc-java StreamId.getVNodeId (0x3FFFFF0 >> 4),
and cdc/cdc_extension.hh via the project's own decoder (module_utils/scylla_cdc_options.py).
"""

from __future__ import annotations

import datetime
import random
import struct
import uuid

import pytest

from tests.tools import scylla_cdc_standin as standin

pytestmark = pytest.mark.unit

# The doc examples' table: CREATE TABLE ks.t (pk int, ck int, v1 int, v2 int, PRIMARY KEY (pk, ck))
SHAPE = standin.TableShape(
    "ks", "t", ("pk",), ("ck",), ("v1", "v2"), {"pk": "int", "ck": "int", "v1": "int", "v2": "int"}
)
# A table without clustering key (partition deletes are what its DELETEs are).
FLAT = standin.TableShape("ks", "flat", ("id",), (), ("name",), {"id": "int", "name": "text"})
KEY = {"pk": 0, "ck": 0}


def options(**given) -> standin.CdcOptions:
    return standin.CdcOptions(enabled=True, **given)


def ops(rows: list[dict]) -> list[int]:
    return [row["cdc$operation"] for row in rows]


def strip(rows: list[dict]) -> list[dict]:
    """Rows without the sequence columns (checked separately)."""
    return [{k: v for k, v in row.items() if k not in ("cdc$batch_seq_no", "cdc$end_of_batch")} for row in rows]


# --------------------------------------------------------------------------- naming


def test_it_says_it_is_a_stand_in() -> None:
    assert standin.__doc__.startswith("STAND-IN for ScyllaDB's own CDC")
    assert "TEST CODE ONLY" in standin.__doc__
    assert "STAND-IN" in standin.log_table_cql(SHAPE, options())


# --------------------------------------------------------------------------- the cdc extension


def test_extension_blob_is_scyllas_little_endian_map() -> None:
    wanted = {"enabled": "true", "preimage": "full", "postimage": "true", "delta": "full", "ttl": "0"}
    blob = standin.encode_cdc_extension(wanted)
    assert blob[:4] == b"\x05\x00\x00\x00"
    # Sorted keys, as ScyllaDB's std::map stores them: delta comes first.
    assert blob[4:17] == b"\x05\x00\x00\x00delta" + b"\x04\x00\x00\x00"
    assert blob[17:21] == b"full"
    assert blob[21:36] == b"\x07\x00\x00\x00enabled" + b"\x04\x00\x00\x00"
    assert blob.endswith(b"\x03\x00\x00\x00ttl\x01\x00\x00\x000")
    assert standin._options.decode_cdc_extension(blob) == wanted
    assert standin.CdcOptions.from_map(wanted) == standin.CdcOptions(True, "full", True, "full", 0)


def test_options_from_a_disabled_or_empty_map() -> None:
    assert standin.CdcOptions.from_map({}) == standin.CdcOptions()
    assert not standin.CdcOptions.from_map({"enabled": "false", "postimage": "true"}).enabled


# --------------------------------------------------------------------------- stream ids and generations


def test_stream_id_layout() -> None:
    random_bits = (1 << 37) | 0b101
    sid = standin.stream_id(-1234567890123, 5, random_bits)
    assert len(sid) == 16
    assert struct.unpack(">q", sid[:8])[0] == -1234567890123
    low = struct.unpack(">Q", sid[8:])[0]
    assert low & 0xF == 1, "version 1 in the low 4 bits"
    assert (low & 0x3FFFFF0) >> 4 == 5, "vnode index in bits 4..25 (scylla-cdc-java's mask)"
    assert low >> 26 == random_bits, "random in bits 26..63"
    assert (standin.stream_token(sid), standin.stream_vnode_index(sid), standin.stream_version(sid)) == (
        -1234567890123,
        5,
        1,
    )


def test_vnode_index_takes_22_bits() -> None:
    # 2**21 needs bit 25: an 18-bit field (bits 4..21) would lose it.
    assert standin.stream_vnode_index(standin.stream_id(0, 2**21, 0)) == 2**21
    assert standin.stream_vnode_index(standin.stream_id(0, 2**22 - 1, 2**38 - 1)) == 2**22 - 1
    with pytest.raises(standin.StandInError, match="22 bits"):
        standin.stream_id(0, 2**22, 0)
    with pytest.raises(standin.StandInError, match="Murmur3"):
        standin.stream_id(2**63, 0, 0)


def test_generation_covers_every_vnode_and_routes_tokens() -> None:
    start = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
    generation = standin.make_generation([500, -100, 0], start, streams_per_vnode=3, rng=random.Random(1))  # noqa: S311 - ids, not secrets
    assert [v.range_end for v in generation.vnodes] == [-100, 0, 500]
    ranges = {0: (500, -100), 1: (-100, 0), 2: (0, 500)}  # (previous, end]; vnode 0 wraps
    for vnode in generation.vnodes:
        assert len(vnode.streams) == 3 and len(set(vnode.streams)) == 3
        previous, end = ranges[vnode.index]
        for sid in vnode.streams:
            assert standin.stream_vnode_index(sid) == vnode.index
            token = standin.stream_token(sid)
            inside = (previous < token <= end) if previous < end else (token > previous or token <= end)
            assert inside, (vnode.index, token)
    cases = {-100: 0, -99: 1, 0: 1, 1: 2, 500: 2, 501: 0, standin.TOKEN_MIN: 0, standin.TOKEN_MAX: 0}
    for token, index in cases.items():
        assert generation.vnode_of(token).index == index, token
        assert generation.stream_of(token) in generation.vnode_of(token).streams


def test_shard_of_matches_scyllas_formula() -> None:
    assert standin.shard_of(standin.TOKEN_MIN, 4) == 0
    assert standin.shard_of(-1, 4) == 1
    assert standin.shard_of(0, 4) == 2
    assert standin.shard_of(standin.TOKEN_MAX, 4) == 3
    assert standin.shard_of(12345, 1) == 0


def test_timeuuid_carries_the_write_timestamp() -> None:
    micros = 1_765_000_000_123_456
    value = standin.timeuuid_of(micros, random.Random(3))  # noqa: S311
    assert value.version == 1 and value.variant == uuid.RFC_4122
    assert standin.micros_of_timeuuid(value) == micros
    # ScyllaDB's doc formula for cdc$time -> write timestamp
    assert int((value.time - 0x01B21DD213814000) / 10) == micros


# --------------------------------------------------------------------------- log rows


def test_insert_update_delete_codes_and_deleted_columns() -> None:
    update = standin.log_rows(SHAPE, options(), [standin.Change.update(KEY, {"v1": 0, "v2": None}, SHAPE)], {})
    assert strip(update) == [{"cdc$operation": 1, "pk": 0, "ck": 0, "v1": 0, "cdc$deleted_v2": True}]
    assert update[0]["cdc$batch_seq_no"] == 0 and update[0]["cdc$end_of_batch"] is True

    insert = standin.log_rows(SHAPE, options(), [standin.Change.insert({**KEY, "v2": 7}, SHAPE)], {})
    assert strip(insert) == [{"cdc$operation": 2, "pk": 0, "ck": 0, "v2": 7}]

    delete = standin.log_rows(SHAPE, options(), [standin.Change.delete_row(KEY, SHAPE)], {})
    assert strip(delete) == [{"cdc$operation": 3, "pk": 0, "ck": 0}]

    partition = standin.log_rows(SHAPE, options(), [standin.Change.delete_partition({"pk": 0}, SHAPE)], {})
    assert strip(partition) == [{"cdc$operation": 4, "pk": 0}], "clustering columns stay null"


def test_delete_on_a_table_without_clustering_key_is_a_partition_delete() -> None:
    change = standin.Change.delete_row({"id": 3}, FLAT)
    assert change.kind == "partition_delete"
    rows = standin.log_rows(FLAT, options(postimage=True), [change], {(3,): {"id": 3, "name": "x"}})
    assert strip(rows) == [{"cdc$operation": 4, "id": 3}]


def test_full_preimage_and_postimage_as_in_scyllas_example() -> None:
    """docs/features/cdc/cdc-preimages, 'Postimage rows': preimage 'full' + postimage true."""
    opts = options(preimage="full", postimage=True)
    first = standin.log_rows(SHAPE, opts, [standin.Change.update(KEY, {"v1": 0}, SHAPE)], {(0, 0): None})
    assert strip(first) == [
        {"cdc$operation": 1, "pk": 0, "ck": 0, "v1": 0},
        {"cdc$operation": 9, "pk": 0, "ck": 0, "v1": 0},  # v2 null
    ]
    assert [r["cdc$batch_seq_no"] for r in first] == [0, 1]
    assert [r.get("cdc$end_of_batch") for r in first] == [None, True]

    existing = {"pk": 0, "ck": 0, "v1": 0, "v2": None}
    insert = standin.log_rows(SHAPE, opts, [standin.Change.insert({**KEY, "v2": 0}, SHAPE)], {(0, 0): existing})
    assert ops(insert) == [0, 2, 9]
    assert strip(insert) == [
        {"cdc$operation": 0, "pk": 0, "ck": 0, "v1": 0, "cdc$deleted_v2": True},
        {"cdc$operation": 2, "pk": 0, "ck": 0, "v2": 0},
        {"cdc$operation": 9, "pk": 0, "ck": 0, "v1": 0, "v2": 0},
    ]

    full_row = {"pk": 0, "ck": 0, "v1": 0, "v2": 0}
    delete = standin.log_rows(SHAPE, opts, [standin.Change.delete_row(KEY, SHAPE)], {(0, 0): full_row})
    assert strip(delete) == [
        {"cdc$operation": 0, "pk": 0, "ck": 0, "v1": 0, "v2": 0},
        {"cdc$operation": 3, "pk": 0, "ck": 0},
    ], "a row delete has a preimage and no postimage"

    partition = standin.log_rows(SHAPE, opts, [standin.Change.delete_partition({"pk": 0}, SHAPE)], {})
    assert ops(partition) == [4], "no images for partition deletes"


def test_preimage_true_shows_only_the_changed_columns() -> None:
    """cdc-preimages, first example: 'preimage': true, the update changes v2 only."""
    before = {(0, 0): {"pk": 0, "ck": 0, "v1": 0, "v2": None}}
    rows = standin.log_rows(SHAPE, options(preimage="true"), [standin.Change.update(KEY, {"v2": 5}, SHAPE)], before)
    assert strip(rows) == [
        {"cdc$operation": 0, "pk": 0, "ck": 0, "cdc$deleted_v2": True},  # v1 not shown
        {"cdc$operation": 1, "pk": 0, "ck": 0, "v2": 5},
    ]
    no_row = standin.log_rows(SHAPE, options(preimage="true"), [standin.Change.update(KEY, {"v2": 5}, SHAPE)], {})
    assert ops(no_row) == [1], "no preimage when the row did not exist"


def test_ttl_write_setting_nulls_is_split_by_ttl() -> None:
    """cdc-log-table, 'Time-to-live column': UPDATE USING TTL 5 SET a = 0, b = null -> two rows."""
    change = standin.Change.update(KEY, {"v1": 0, "v2": None}, SHAPE, ttl=5)
    rows = standin.log_rows(SHAPE, options(), [change], {})
    assert strip(rows) == [
        {"cdc$operation": 1, "pk": 0, "ck": 0, "cdc$deleted_v2": True},
        {"cdc$operation": 1, "pk": 0, "ck": 0, "v1": 0, "cdc$ttl": 5},
    ]
    assert [r["cdc$batch_seq_no"] for r in rows] == [0, 1]
    live_only = standin.log_rows(SHAPE, options(), [standin.Change.update(KEY, {"v1": 1}, SHAPE, ttl=9)], {})
    assert strip(live_only) == [{"cdc$operation": 1, "pk": 0, "ck": 0, "v1": 1, "cdc$ttl": 9}]
    dead_only = standin.log_rows(SHAPE, options(), [standin.Change.update(KEY, {"v1": None}, SHAPE, ttl=9)], {})
    assert "cdc$ttl" not in dead_only[0], "a TTL on dead cells has no effect"


def test_batch_groups_rows_under_one_sequence() -> None:
    """cdc-log-table, 'Batch sequence number column': two rows of one partition in one batch."""
    changes = [
        standin.Change.update({"pk": 0, "ck": 0}, {"v1": 0}, SHAPE),
        standin.Change.update({"pk": 0, "ck": 1}, {"v1": 0}, SHAPE),
        standin.Change.delete_row({"pk": 0, "ck": 2}, SHAPE),
    ]
    before = {(0, 0): {"pk": 0, "ck": 0, "v1": 9, "v2": 1}, (0, 1): None, (0, 2): {"pk": 0, "ck": 2, "v1": 1}}
    rows = standin.log_rows(SHAPE, options(preimage="true", postimage=True), changes, before)
    # every preimage, then every delta, then every postimage
    assert ops(rows) == [0, 0, 1, 1, 3, 9, 9]
    assert [r["cdc$batch_seq_no"] for r in rows] == list(range(7))
    assert [r.get("cdc$end_of_batch") for r in rows] == [None] * 6 + [True]
    assert rows[-2] == {"cdc$operation": 9, "pk": 0, "ck": 0, "v1": 0, "v2": 1, "cdc$batch_seq_no": 5}


def test_delta_keys_mode_logs_only_keys() -> None:
    rows = standin.log_rows(
        SHAPE, options(delta="keys"), [standin.Change.update(KEY, {"v1": 3, "v2": None}, SHAPE)], {}
    )
    assert strip(rows) == [{"cdc$operation": 1, "pk": 0, "ck": 0}]


def test_disabled_table_gets_no_log_rows() -> None:
    assert standin.log_rows(SHAPE, standin.CdcOptions(), [standin.Change.insert({**KEY, "v1": 1}, SHAPE)], {}) == []


def test_changes_need_their_keys() -> None:
    with pytest.raises(standin.StandInError, match="needs ck"):
        standin.Change.update({"pk": 0}, {"v1": 1}, SHAPE)
    with pytest.raises(standin.StandInError, match="at least one column"):
        standin.Change.update(KEY, {}, SHAPE)


def test_log_table_mirrors_the_base_columns() -> None:
    statement = standin.log_table_cql(SHAPE, options())
    assert statement.startswith("CREATE TABLE IF NOT EXISTS ks.t_scylla_cdc_log (")
    for column in (
        '"cdc$stream_id" blob',
        '"cdc$time" timeuuid',
        '"cdc$batch_seq_no" int',
        '"cdc$end_of_batch" boolean',
        '"cdc$operation" tinyint',
        '"cdc$ttl" bigint',
        "pk int",
        "ck int",
        "v1 int",
        '"cdc$deleted_v1" boolean',
        '"cdc$deleted_v2" boolean',
    ):
        assert column in statement, column
    assert 'PRIMARY KEY (("cdc$stream_id"), "cdc$time", "cdc$batch_seq_no"))' in statement


# --------------------------------------------------------------------------- against a fake session


class FakeSession:
    """Answers the few schema queries the stand-in makes, from canned rows."""

    def __init__(self, columns: list[dict], extensions: dict, base_rows=(), log_rows=()):
        self.columns, self.extensions = columns, extensions
        self.base_rows, self.log = list(base_rows), list(log_rows)

    def execute(self, query, params=None):
        if "FROM system_schema.columns" in query:
            return self.columns
        if "SELECT extensions FROM system_schema.tables" in query:
            return [{"extensions": self.extensions}]
        if "_scylla_cdc_log" in query:
            return self.log
        return self.base_rows


COLUMNS = [
    {"column_name": "pk", "kind": "partition_key", "position": 0, "type": "int"},
    {"column_name": "ck", "kind": "clustering", "position": 0, "type": "int"},
    {"column_name": "v1", "kind": "regular", "position": -1, "type": "int"},
    {"column_name": "v2", "kind": "regular", "position": -1, "type": "int"},
]


def test_table_without_the_cdc_extension_is_refused() -> None:
    with pytest.raises(standin.StandInError, match="CDC is not enabled on ks.t"):
        standin.CdcTable(FakeSession(COLUMNS, {}), "ks", "t")


def test_shape_refuses_what_the_stand_in_does_not_log() -> None:
    for extra in (
        {"column_name": "tags", "kind": "regular", "position": -1, "type": "set<text>"},
        {"column_name": "s", "kind": "static", "position": -1, "type": "int"},
    ):
        with pytest.raises(standin.StandInError, match="not done by the stand-in"):
            standin.table_shape(FakeSession([*COLUMNS, extra], {}), "ks", "t")
    shape = standin.table_shape(FakeSession(COLUMNS, {}), "ks", "t")
    assert (shape.partition_key, shape.clustering, shape.regular) == (("pk",), ("ck",), ("v1", "v2"))


def test_check_finds_a_base_row_written_around_the_stand_in() -> None:
    base = [{"pk": 0, "ck": 0}, {"pk": 0, "ck": 1}]
    log = [{"pk": 0, "ck": 0, "cdc$operation": 2}, {"pk": 0, "ck": 1, "cdc$operation": 0}]
    session = FakeSession(COLUMNS, {}, base, log)
    assert standin.keys_without_log(session, "ks", "t") == [(0, 1)], "a preimage alone does not log a write"
    session.log.append({"pk": 0, "ck": 1, "cdc$operation": 1})
    assert standin.keys_without_log(session, "ks", "t") == []


def test_enable_refuses_unknown_options() -> None:
    with pytest.raises(standin.StandInError, match="unknown CDC option"):
        standin.enable_cdc(FakeSession(COLUMNS, {}), "ks", "t", postimage=True, pre_image=True)


class WriterSession(FakeSession):
    """Also prepares statements (routing keys as the driver serialises an int key) and keeps batches."""

    def __init__(self, stored_row=None):
        wanted = {"enabled": "true", "preimage": "full", "postimage": "true", "delta": "full", "ttl": "600"}
        super().__init__(COLUMNS, {"cdc": standin.encode_cdc_extension(wanted)})
        self.stored_row = stored_row
        self.batches = []

    def prepare(self, query):
        class Prepared:
            query_string = query
            is_read = query.startswith("SELECT * FROM ks.t WHERE pk = ? AND ck = ?")

            @staticmethod
            def bind(values):
                return type("Bound", (), {"routing_key": struct.pack(">i", values[0])})()

        return Prepared

    def execute(self, query, params=None):
        if hasattr(query, "_statements_and_parameters"):  # a BatchStatement: keep its CQL
            self.batches.append([text for _prepared, text, _params in query._statements_and_parameters])
            return []
        if getattr(query, "is_read", False):  # the read before the write
            return [self.stored_row] if self.stored_row else []
        return super().execute(query, params)

    def execute_async(self, query, params=None):
        result = self.execute(query, params)
        return type("Future", (), {"result": staticmethod(lambda: result)})()


def test_writer_batches_the_base_write_with_its_log_rows() -> None:
    from cassandra.metadata import Murmur3Token

    generation = standin.make_generation([-(2**62), 0, 2**62], datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    session = WriterSession(stored_row={"pk": 7, "ck": 1, "v1": 3, "v2": None})
    table = standin.CdcTable(session, "ks", "t", generation, seed=5)
    result = table.update({"pk": 7, "ck": 1}, {"v2": 4}, ttl=30)

    token = Murmur3Token.from_key(struct.pack(">i", 7)).value
    stream = generation.stream_of(token)
    assert list(result.log_rows) == [stream]
    assert ops(result.log_rows[stream]) == [0, 1, 9]
    (statements,) = session.batches
    base, *logged = statements
    assert base == f"UPDATE ks.t USING TIMESTAMP {result.timestamp} AND TTL 30 SET v2 = 4 WHERE pk = 7 AND ck = 1"  # noqa: S608
    assert len(logged) == 3
    for text in logged:
        assert text.startswith('INSERT INTO ks.t_scylla_cdc_log ("cdc$operation", pk, ck')
        assert f"0x{stream.hex()}" in text and str(result.time) in text
        assert text.endswith(f"USING TIMESTAMP {result.timestamp} AND TTL 600"), "log rows live for the CDC ttl"
    assert "cdc$ttl" in logged[1] and ", 30, " in logged[1]
    assert standin.micros_of_timeuuid(result.time) == result.timestamp
    second = table.delete_row({"pk": 7, "ck": 1})
    assert second.timestamp > result.timestamp, "timestamps strictly increase per writer"
    assert session.batches[1][0] == f"DELETE FROM ks.t USING TIMESTAMP {second.timestamp} WHERE pk = 7 AND ck = 1"  # noqa: S608


def test_a_batch_the_node_timed_out_on_is_sent_again_unchanged(monkeypatch) -> None:
    from cassandra import WriteTimeout, WriteType

    class TimingOutSession(WriterSession):
        def __init__(self, timeouts):
            super().__init__()
            self.timeouts = timeouts

        def execute(self, query, params=None):
            if hasattr(query, "_statements_and_parameters") and self.timeouts:
                self.timeouts -= 1
                self.batches.append([text for _prepared, text, _params in query._statements_and_parameters])
                raise WriteTimeout("Coordinator node timed out", write_type=WriteType.BATCH)
            return super().execute(query, params)

    monkeypatch.setattr(standin.time, "sleep", lambda _seconds: None)
    generation = standin.make_generation([-(2**62), 0, 2**62], datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    session = TimingOutSession(timeouts=standin.WRITE_ATTEMPTS - 1)
    standin.CdcTable(session, "ks", "t", generation, seed=5).update({"pk": 7, "ck": 1}, {"v2": 4})
    assert len(session.batches) == standin.WRITE_ATTEMPTS
    assert all(batch == session.batches[0] for batch in session.batches), "the same cells, timestamps and cdc$time"

    always = TimingOutSession(timeouts=standin.WRITE_ATTEMPTS)
    with pytest.raises(WriteTimeout):
        standin.CdcTable(always, "ks", "t", generation, seed=5).update({"pk": 7, "ck": 1}, {"v2": 4})
    assert len(always.batches) == standin.WRITE_ATTEMPTS
