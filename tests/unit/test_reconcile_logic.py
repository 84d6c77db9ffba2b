"""The comparison rules of cdc_reconcile (plugins/module_utils/reconcile.py) and the sink_table filter.

The module against real servers: tests/integration/test_cdc_reconcile.py.
"""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.cdc.pipeline.plugins.filter.connectors import sink_table
from ansible_collections.cdc.pipeline.plugins.module_utils import reconcile as r


def test_the_slices_cover_the_ring_without_gap_or_overlap():
    for count in (1, 2, 3, 64, 256, 1000):
        slices = r.split_ring(count)
        assert len(slices) == count
        assert slices[0][0] == r.RING_MIN and slices[-1][1] == r.RING_MAX
        assert all(slices[i][1] == slices[i + 1][0] for i in range(count - 1))
        assert all(start < end for start, end in slices)
    with pytest.raises(r.ReconcileError):
        r.split_ring(0)


def test_a_token_falls_in_the_slice_whose_end_holds_it():
    slices = r.split_ring(4)
    ends = [end for _start, end in slices]
    assert r.slice_of(r.RING_MIN + 1, ends) == 0
    assert r.slice_of(ends[0], ends) == 0  # an end is inclusive
    assert r.slice_of(ends[0] + 1, ends) == 1  # a start is exclusive
    assert r.slice_of(r.RING_MAX, ends) == 3


def test_tokens_are_the_murmur3_partitioners():
    from cassandra import cqltypes
    from cassandra.metadata import Murmur3Token

    def token(*parts):
        return r.murmur3_token(r.routing_key(list(parts)), Murmur3Token.hash_fn)

    # Known tokens of Cassandra's Murmur3Partitioner (SELECT token(id) ... for these int keys).
    assert token(cqltypes.Int32Type.serialize(1, 4)) == -4069959284402364209
    assert token(cqltypes.Int32Type.serialize(2, 4)) == -3248873570005575792
    # A composite key hashes <length><bytes><0> per part, not the parts run together.
    a, b = cqltypes.UTF8Type.serialize("a", 4), cqltypes.Int32Type.serialize(1, 4)
    assert r.routing_key([a, b]) == b"\x00\x01a\x00\x00\x04\x00\x00\x00\x01\x00"
    assert token(a, b) != r.murmur3_token(a + b, Murmur3Token.hash_fn)
    # The partitioner never yields the ring's minimum: it becomes the maximum.
    assert r.murmur3_token(b"", lambda _key: r.RING_MIN) == r.RING_MAX


@pytest.mark.parametrize(
    ("cql_type", "source", "sink"),
    [
        ("decimal", decimal.Decimal("1.50"), decimal.Decimal("1.5")),
        ("decimal", decimal.Decimal("0.00"), decimal.Decimal("0")),
        ("decimal", decimal.Decimal("100"), 100.0),
        ("float", 1.100000023841858, 1.1),  # CQL float as the driver unpacks it, PostgreSQL real as text
        ("double", 0.1, 0.1),
        (
            "timestamp",
            datetime.datetime(2026, 12, 6, 12, 0, 0, 123000),
            datetime.datetime(2026, 12, 6, 13, 0, 0, 123000, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
        ),
        ("date", datetime.date(2026, 12, 6), datetime.datetime(2026, 12, 6, 0, 0)),
        ("uuid", uuid.UUID(int=7), str(uuid.UUID(int=7)).upper()),
        ("blob", b"\x00\xff", memoryview(b"\x00\xff")),
        ("blob", b"\x00\xff", "AP8="),  # a sink that keeps blobs as base64 text
        ("set<text>", {"b", "a"}, '["a", "b"]'),
        ("list<int>", [3, 1], [3, 1]),
        ("map<text, int>", {"b": 2, "a": 1}, '{"a": 1, "b": 2}'),
        ("frozen<set<int>>", set(), None),  # an empty collection is NULL in CQL
        ("time", datetime.time(1, 2, 3, 4), datetime.time(1, 2, 3, 4)),
        ("boolean", True, True),
    ],
)
def test_each_type_compares_equal_across_the_two_databases(cql_type, source, sink):
    assert r.canonical(source, cql_type) == r.canonical(sink, cql_type)


@pytest.mark.parametrize(
    ("cql_type", "source", "sink"),
    [
        ("decimal", decimal.Decimal("1.50"), decimal.Decimal("1.51")),
        ("timestamp", datetime.datetime(2026, 12, 6, 12, 0, 0, 1000), datetime.datetime(2026, 12, 6, 12, 0, 0, 2000)),
        ("text", "a", "a "),
        ("int", 1, None),
        ("list<int>", [1, 3], [3, 1]),  # a list keeps its order
        ("blob", b"\x00", b"\x01"),
    ],
)
def test_real_differences_stay_different(cql_type, source, sink):
    assert r.canonical(source, cql_type) != r.canonical(sink, cql_type)


def test_a_swap_between_two_rows_changes_the_slice_digest():
    one, two = r.SliceDigests(1), r.SliceDigests(1)
    for digests, names in ((one, ("a", "b")), (two, ("b", "a"))):
        digests.add(0, r.row_digest((1,), (names[0],)))
        digests.add(0, r.row_digest((2,), (names[1],)))
    assert one.rows == two.rows and one.sums != two.sums
    # Order does not matter: the same rows read in another order fold to the same digest.
    again = r.SliceDigests(1)
    again.add(0, r.row_digest((2,), ("b",)))
    again.add(0, r.row_digest((1,), ("a",)))
    assert again.sums == one.sums and r.differing_slices(one, again) == []


def test_rows_are_classified_and_samples_capped():
    differences = r.Differences(sample_limit=2, keep_all=True)
    source = {r.key_text([k]): (f"v{k}",) for k in range(10)}
    sink = {key: values for key, values in source.items() if key not in ("[1]", "[2]", "[3]")}
    sink["[4]"] = ("changed",)
    sink["[99]"] = ("extra",)
    r.compare_rows(source, sink, ["name"], differences)
    assert differences.counts == {"missing": 3, "extra": 1, "different": 1}
    assert [s["key"] for s in differences.samples["missing"]] == ["[1]", "[2]"]
    assert differences.samples["different"] == [{"key": "[4]", "columns": ["name"]}]
    assert len(differences.all_keys) == 5 and differences.total() == 5


def test_the_sink_table_rule_is_the_connectors_one():
    assert sink_table("shop.items", "cdc.${topic}", "cdc") == "cdc.cdc_shop_items"
    assert sink_table("shop.items", "${source.keyspace_name}.${source.table_name}", "cdc") == "shop.items"
    assert sink_table("cdc_canary.heartbeat", "cdc.${topic}", "cdc") == "cdc.cdc_cdc_canary_heartbeat"
    with pytest.raises(AnsibleFilterError, match="not keyspace.table"):
        sink_table("items", "cdc.${topic}", "cdc")


def test_ranges_subdivide_slices_and_their_digests_add_up_to_the_slices():
    slices = r.split_ring(4)
    parts = r.parts_per_slice(len(slices))
    ranges = r.subdivide(slices, parts)
    assert parts == 256 and len(ranges) == 1024
    assert [ranges[i * parts][0] for i in range(4)] == [start for start, _end in slices]
    assert [ranges[i * parts + parts - 1][1] for i in range(4)] == [end for _start, end in slices]
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    assert r.parts_per_slice(16) == 256 and r.parts_per_slice(4096) == 16 and r.parts_per_slice(65536) == 1
    fine = r.SliceDigests(len(ranges))
    whole = r.SliceDigests(len(slices))
    ends = [end for _start, end in ranges]
    slice_ends = [end for _start, end in slices]
    for token, digest in ((r.RING_MIN + 5, 11), (0, 22), (r.RING_MAX, 33), (-1, 44)):
        fine.add(r.slice_of(token, ends), digest)
        whole.add(r.slice_of(token, slice_ends), digest)
    assert fine.folded(parts).rows == whole.rows and fine.folded(parts).sums == whole.sums


# --------------------------------------------------------------------------------------------
# The second pass: the sink looked up by the source's keys, scanned only where it holds more
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cql_type", "source", "sink_type", "literal"),
    [
        ("int", 42, "int4", "42"),
        ("text", "quote ' and \\", "text", "quote ' and \\"),
        ("decimal", decimal.Decimal("1.50"), "numeric", "1.5"),
        (
            "timestamp",
            datetime.datetime(2026, 12, 6, 12, 0, 0, 123000),
            "timestamptz",
            "2026-12-06T12:00:00.123000+00:00",
        ),
        ("date", datetime.date(2026, 12, 6), "date", "2026-12-06"),
        ("time", datetime.time(1, 2, 3, 4), "time", "01:02:03.000004"),
        ("uuid", uuid.UUID(int=7), "uuid", str(uuid.UUID(int=7))),
        ("blob", b"\x00\xff", "bytea", "\\x00ff"),
        ("blob", b"\x00\xff", "text", "AP8="),  # a sink that keeps blobs as base64 text
        ("boolean", False, "bool", "false"),
        ("double", 0.1, "float8", "0.1"),
    ],
)
def test_a_key_is_looked_up_by_the_text_its_sink_column_reads(cql_type, source, sink_type, literal):
    key = (r.canonical(source, cql_type),)
    assert r.key_literals(key, [cql_type], [sink_type]) == (literal,)


def test_a_key_without_such_a_text_is_left_to_the_scan():
    assert r.key_literals(("a", 1), ["text", "int"], ["text", "int4"]) == ("a", "1")
    assert r.key_literals((r.canonical({1}, "frozen<set<int>>"),), ["frozen<set<int>>"], ["jsonb"]) is None
    assert r.key_literals((r.canonical(10**9 + 1, "time"),), ["time"], ["time"]) is None  # nanoseconds
    assert r.key_literals((10**9,), ["date"], ["date"]) is None  # a date beyond Python's
    assert r.key_literals(("a", None), ["text", "int"], ["text", "int4"]) is None


def test_only_ranges_with_more_sink_rows_than_found_are_scanned():
    assert r.ranges_to_scan([5, 3, 0, 7], {0: 5, 1: 2, 3: 7}) == [1]
    assert r.ranges_to_scan([5, 3], {0: 4, 1: 3}) == [0]


def batch_rows(source, found, scanned=()):
    """A BatchRows of range 0 filled as the second pass fills it: source rows, then looked up, then scanned."""
    rows = r.BatchRows([0])
    for key, values in source.items():
        rows.add_source(0, key, values)
    for key, values in found.items():
        rows.add_looked_up(key, values)
    for key, values in scanned:
        rows.add_scanned(0, key, values)
    return rows


def test_a_row_differing_in_a_column_is_found_by_lookup_alone():
    source = {(k,): ("v%d" % k, k) for k in range(4)}
    found = {**source, (2,): ("v2", -1)}
    rows = batch_rows(source, found)
    assert r.ranges_to_scan([4], rows.found()) == []  # every sink row found: no scan
    differences = r.Differences(sample_limit=100)
    rows.compare(["name", "qty"], differences)
    assert differences.counts == {"missing": 0, "extra": 0, "different": 1}
    assert differences.samples["different"] == [{"key": "[2]", "columns": ["qty"]}]


def test_extra_sink_rows_in_a_range_with_missing_ones_are_found_by_the_scan():
    source = {(k,): ("v%d" % k,) for k in range(4)}
    found = {key: values for key, values in source.items() if key != (1,)}  # (1,) lost by the sink
    sink_scan = [*found.items(), ((90,), ("extra",)), ((91,), ("extra",))]  # deleted at the source
    rows = batch_rows(source, found)
    # 3 source keys found, the first pass counted 5 sink rows: the sink holds rows the source lacks.
    assert r.ranges_to_scan([5], rows.found()) == [0]
    for key, values in sink_scan:
        rows.add_scanned(0, key, values)
    differences = r.Differences(sample_limit=100, keep_all=True)
    rows.compare(["name"], differences)
    assert differences.counts == {"missing": 1, "extra": 2, "different": 0}
    assert [s["key"] for s in differences.samples["extra"]] == ["[90]", "[91]"]


def test_a_looked_up_row_whose_key_is_not_the_sources_is_left_to_the_scan():
    # PostgreSQL's equality may match a row whose canonical key is another (numeric(10,2) rounds 1.505 to 1.51):
    # it is neither found nor compared by key, the count sends the range to the scan, which classifies it.
    rows = batch_rows({("1.505",): ("a",)}, {("1.51",): ("a",)})
    assert rows.found() == {0: 0} and r.ranges_to_scan([1], rows.found()) == [0]
    rows.add_scanned(0, ("1.51",), ("a",))
    differences = r.Differences(sample_limit=100)
    rows.compare(["name"], differences)
    assert differences.counts == {"missing": 1, "extra": 1, "different": 0}


class FakeSource:
    """The source side of cdc_reconcile's second pass: rows by token (one range per token here)."""

    columns = ["name"]

    def __init__(self, rows):
        self.rows = rows  # token -> [(key, values)]

    def slice_rows(self, start, end):
        for token in sorted(self.rows):
            if start < token <= end:
                for key, values in self.rows[token]:
                    yield token, key, values


class FakeSink:
    """The sink side: rows by token, looked up by key and scanned; counts its lookups and scans."""

    def __init__(self, rows, page_size=2):
        self.rows_by_token = rows
        self.params = {"page_size": page_size}
        self.reads = 0
        self.lookups = 0

    def key_literals(self, key):
        return tuple(str(value) for value in key)

    def looked_up(self, chunks):
        every = {
            tuple(str(v) for v in key): (key, values) for rows in self.rows_by_token.values() for key, values in rows
        }
        for chunk in chunks:
            self.lookups += 1
            yield from (every[literals] for literals in chunk if literals in every)

    def rows(self, ends, wanted=None):
        self.reads += 1
        for token, rows in self.rows_by_token.items():
            index = r.slice_of(token, ends)
            if wanted is None or index in wanted:
                for key, values in rows:
                    yield index, key, values


def run_second_pass(source_rows, sink_rows):
    from ansible_collections.cdc.pipeline.plugins.modules import cdc_reconcile

    ranges = [(token - 1, token) for token in range(1, 5)]
    sink_counts = [len(sink_rows.get(end, [])) for _start, end in ranges]
    sink, differences = FakeSink(sink_rows), r.Differences(sample_limit=100, keep_all=True)
    cdc_reconcile.second_pass(FakeSource(source_rows), sink, ranges, [0, 2, 3], sink_counts, 2, differences)
    return sink, differences


def test_the_second_pass_scans_the_sink_only_for_extra_rows():
    source = {1: [((1,), ("a",)), ((2,), ("b",))], 3: [((3,), ("c",))], 4: [((4,), ("d",)), ((5,), ("e",))]}
    changed = {1: [((1,), ("a",)), ((2,), ("B",))], 3: [((3,), ("c",))], 4: [((4,), ("d",))]}
    sink, differences = run_second_pass(source, changed)
    assert differences.counts == {"missing": 1, "extra": 0, "different": 1}
    assert sink.reads == 0 and sink.lookups == 3  # 5 keys, 2 a lookup; the sink never read whole
    with_extra = {**changed, 3: [((3,), ("c",)), ((33,), ("x",))]}
    sink, differences = run_second_pass(source, with_extra)
    assert differences.counts == {"missing": 1, "extra": 1, "different": 1}
    assert differences.samples["extra"] == [{"key": "[33]"}] and sink.reads == 1


def test_the_fast_conversions_give_the_same_forms():
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

    def milliseconds(value):  # the rule: whole milliseconds since the epoch, rounded down, naive values UTC
        delta = (value if value.tzinfo else value.replace(tzinfo=datetime.UTC)) - epoch
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000

    east = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    for value in (
        datetime.datetime(2026, 12, 6, 12, 0, 0, 123999),
        datetime.datetime(1969, 12, 31, 23, 59, 59, 999500),
        datetime.datetime(1, 1, 1, 0, 0, 0, 1),
        datetime.datetime(2026, 12, 6, 12, 0, 0, 1500, tzinfo=east),
    ):
        assert r.canonical(value, "timestamp") == r._timestamp(value) == milliseconds(value)
    for text, form in (("1.50", "1.5"), ("100", "100"), ("1E+5", "100000"), ("1.23E-7", "0.000000123"), ("-0", "0")):
        assert r.canonical(decimal.Decimal(text), "decimal") == form
    with pytest.raises(r.ReconcileError, match="NULL in a partition key"):
        r.partition_key_converter("int")(None)
    assert r.partition_key_converter("int")(7) == 7
    assert r.partition_key_converter("uuid")(str(uuid.UUID(int=7))) == uuid.UUID(int=7)
