# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The comparison behind cdc.pipeline.cdc_reconcile, without any I/O.

A source table (CQL) and its sink table (PostgreSQL) are compared in slices of the Murmur3 token
ring. The source is read slice by slice (`token(pk) > start AND token(pk) <= end`); the sink has no
token, so each sink row's token is computed from its partition key exactly as the nodes compute it
(the key serialized as CQL, Murmur3). Each side folds every row of a slice into a digest; only the
slices whose digests differ are read again key by key: the source's rows by token range, the sink's
looked up by those rows' keys, and scanned only where its count says it holds rows the source lacks.
Values are compared in one canonical form per CQL type, so `1.50` (CQL decimal) equals `1.5`
(PostgreSQL numeric) and a timestamp equals its copy in a `timestamptz` column.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import bisect
import datetime
import decimal
import hashlib
import json
import struct
import uuid

RING_MIN = -(2**63)
RING_MAX = 2**63 - 1
RANGES_PER_SLICE = 256
DIGEST_BITS = 128
DIGEST_MODULUS = 2**DIGEST_BITS
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
EPOCH_NAIVE = EPOCH.replace(tzinfo=None)
EPOCH_DATE = datetime.date(1970, 1, 1)
ONE_MILLISECOND = datetime.timedelta(milliseconds=1)

MISSING = "missing"  # in the source, not in the sink
EXTRA = "extra"  # in the sink, not in the source
DIFFERENT = "different"  # in both, with other values
CLASSES = (MISSING, EXTRA, DIFFERENT)


class ReconcileError(Exception):
    """A problem worded for the operator (what happened and what to do)."""


# --------------------------------------------------------------------------------------------
# The token ring
# --------------------------------------------------------------------------------------------


def split_ring(count):
    """count slices of the Murmur3 ring as (start, end): token > start and token <= end; together they hold every token.

    The partitioner never yields RING_MIN (it maps it to RING_MAX), so the first slice's open start loses nothing.
    """
    if count < 1:
        raise ReconcileError("token_ranges must be at least 1")
    step = (RING_MAX - RING_MIN + 1) // count
    ends = [RING_MIN + step * (index + 1) for index in range(count - 1)] + [RING_MAX]
    starts = [RING_MIN] + ends[:-1]
    return list(zip(starts, ends, strict=True))


def subdivide(slices, parts):
    """Each slice cut into parts ranges, in ring order: slice i holds ranges i * parts to i * parts + parts - 1.

    The digests are kept per range, the queries made per slice: a few differing rows then cost re-reading their
    ranges, not their whole slices, with no more queries in the first pass.
    """
    ranges = []
    for start, end in slices:
        bounds = [start + (end - start) * step // parts for step in range(parts + 1)]
        ranges.extend((bounds[step], bounds[step + 1]) for step in range(parts))
    return ranges


def parts_per_slice(slice_count):
    """How many digest ranges each slice gets: 256, fewer when that would pass 65,536 ranges in all.

    Smaller ranges mean fewer rows read again around each differing row (about 80 a range at the 20,000 rows a slice
    the module aims for), at the cost of a list of 65,536 counts and sums at most."""
    return max(1, min(RANGES_PER_SLICE, 65536 // slice_count))


def slice_of(token, ends):
    """The index of the slice holding token (ends: the slices' inclusive ends, ascending)."""
    return bisect.bisect_left(ends, token)


def murmur3_token(routing_key, hash_fn):
    """The token of a serialized partition key (hash_fn: the driver's Murmur3 of the Murmur3Partitioner)."""
    token = hash_fn(routing_key)
    return RING_MAX if token == RING_MIN else token


def routing_key(serialized_parts):
    """The bytes the partitioner hashes: one part alone, or each part as <length:2><bytes><0> for a composite key."""
    if len(serialized_parts) == 1:
        return serialized_parts[0]
    return b"".join(struct.pack(">H", len(part)) + part + b"\x00" for part in serialized_parts)


# CQL type name -> the driver's cqltypes class name that serializes it (the partition key types supported).
PARTITION_KEY_TYPES = {
    "ascii": "AsciiType",
    "bigint": "LongType",
    "blob": "BytesType",
    "boolean": "BooleanType",
    "date": "SimpleDateType",
    "decimal": "DecimalType",
    "double": "DoubleType",
    "float": "FloatType",
    "inet": "InetAddressType",
    "int": "Int32Type",
    "smallint": "ShortType",
    "text": "UTF8Type",
    "time": "TimeType",
    "timestamp": "DateType",
    "timeuuid": "TimeUUIDType",
    "tinyint": "ByteType",
    "uuid": "UUIDType",
    "varchar": "UTF8Type",
    "varint": "IntegerType",
}


def partition_key_value(value, cql_type):  # noqa: PLR0911 - one conversion per type
    """A sink value as the driver serializes it for cql_type (PostgreSQL may hand back other Python types)."""
    if value is None:
        raise ReconcileError("a sink row has NULL in a partition key column: the sink table's key is not the source's")
    if cql_type in ("uuid", "timeuuid") and not isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if cql_type == "timestamp" and isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if cql_type == "timestamp" and isinstance(value, int):
        return EPOCH.replace(tzinfo=None) + datetime.timedelta(milliseconds=value)
    if cql_type == "date" and isinstance(value, datetime.date):
        # SimpleDateType takes days since the epoch as a Date or a date; both serialize the same.
        return value
    if cql_type == "blob" and isinstance(value, memoryview):
        return value.tobytes()
    if cql_type == "decimal" and not isinstance(value, decimal.Decimal):
        return decimal.Decimal(str(value))
    return value


# The partition key types whose sink values the driver serializes as they come (partition_key_value returns them).
KEY_TYPES_AS_IS = frozenset(
    ("ascii", "bigint", "boolean", "double", "float", "inet", "int", "smallint", "text", "tinyint", "varchar", "varint")
)


def partition_key_converter(cql_type):
    """partition_key_value for one type, chosen once per column: every sink row's token needs it."""
    if cql_type in KEY_TYPES_AS_IS:
        return _key_as_is
    return lambda value: partition_key_value(value, cql_type)


def _key_as_is(value):
    if value is None:
        return partition_key_value(value, None)  # the error it raises for NULL
    return value


# --------------------------------------------------------------------------------------------
# Canonical values
# --------------------------------------------------------------------------------------------


def base_type(cql_type):
    """'frozen<list<int>>' -> 'list'; 'int' -> 'int'; a quoted user type -> 'udt'."""
    text = cql_type.strip().lower()
    while text.startswith("frozen<") and text.endswith(">"):
        text = text[len("frozen<") : -1].strip()
    head = text.split("<", 1)[0].strip()
    if head in ("list", "set", "map", "tuple", "vector"):
        return head
    return head if head in CANONICAL_SCALARS else "udt"


def _integer(value):
    return int(value)


def _floating32(value):
    # CQL float and PostgreSQL real are 32 bits: compare the 32-bit value, not its decimal spelling.
    return struct.unpack(">f", struct.pack(">f", float(value)))[0]


def _floating64(value):
    return float(value)


def _decimal(value):
    number = (
        value
        if isinstance(value, decimal.Decimal)
        else decimal.Decimal(repr(value) if isinstance(value, float) else str(value))
    )
    if number.is_nan():
        return "NaN"
    if number == 0:
        return "0"
    normalized = number.normalize()
    text = str(normalized)  # quicker than format "f", and the same digits unless it writes an exponent
    return format(normalized, "f") if "E" in text else text


def _text(value):
    return str(value)


def _timestamp(value):
    """Milliseconds since the epoch (CQL timestamps hold milliseconds; naive values are UTC)."""
    if isinstance(value, datetime.datetime):
        # Whole milliseconds, rounded down (before the epoch too), in one division: a full scan converts every value.
        return (value - (EPOCH if value.tzinfo is not None else EPOCH_NAIVE)) // ONE_MILLISECOND
    return int(value)


def _date(value):
    """Days since the epoch (the driver's Date carries them; PostgreSQL returns a date)."""
    days = getattr(value, "days_from_epoch", None)
    if days is not None:
        return int(days)
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return (value - EPOCH_DATE).days
    return int(value)


def _time(value):
    """Nanoseconds since midnight (the driver's Time carries them; PostgreSQL returns a time)."""
    nanos = getattr(value, "nanosecond_time", None)
    if nanos is not None:
        return int(nanos)
    if isinstance(value, datetime.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000
    return int(value)


def _uuid(value):
    return str(value).lower()


def _boolean(value):
    return bool(value)


def _blob(value):
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)  # a sink that stores blobs as base64 text


def _inet(value):
    return str(value)


CANONICAL_SCALARS = {
    "ascii": _text,
    "bigint": _integer,
    "blob": _blob,
    "boolean": _boolean,
    "counter": _integer,
    "date": _date,
    "decimal": _decimal,
    "double": _floating64,
    "duration": _text,
    "float": _floating32,
    "inet": _inet,
    "int": _integer,
    "smallint": _integer,
    "text": _text,
    "time": _time,
    "timestamp": _timestamp,
    "timeuuid": _uuid,
    "tinyint": _integer,
    "uuid": _uuid,
    "varchar": _text,
    "varint": _integer,
}


def _plain(value):  # noqa: PLR0911 - one form per kind of value
    """A collection's items in a JSON-comparable form (collections of scalars, as the sink stores them)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(key): _plain(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, (set, frozenset)) or type(value).__name__ in ("SortedSet",):
        return sorted((_plain(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, datetime.datetime):
        return _timestamp(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _blob(value)
    if isinstance(value, uuid.UUID):
        return _uuid(value)
    if hasattr(value, "_asdict"):  # a user type the driver returns as a named tuple
        return _plain(value._asdict())
    return value


def _collection(value, kind):
    if isinstance(value, str):  # a sink that stores collections as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            return value
    plain = _plain(value)
    if kind == "set" and isinstance(plain, list):
        plain = sorted(plain, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)


def converter(cql_type):
    """The function that puts a value of cql_type (from either side) in the form both sides are compared in.

    Chosen once per column: a full scan calls it for every value. None stays None.
    """
    kind = base_type(cql_type)
    scalar = CANONICAL_SCALARS.get(kind)
    if scalar is _text:
        return _text_or_none
    if scalar is _integer:
        return _integer_or_none
    if scalar is _timestamp:
        return _timestamp_or_none
    if scalar is not None:
        return lambda value: None if value is None else scalar(value)
    if kind in ("list", "set", "map", "tuple", "vector", "udt"):
        # An empty collection is NULL in CQL; the sink may hold NULL or an empty value.
        return lambda value: (
            None if value is None or (not value and not isinstance(value, str)) else _collection(value, kind)
        )
    return lambda value: None if value is None else str(value)


def _text_or_none(value):
    return value if value is None or isinstance(value, str) else str(value)


def _timestamp_or_none(value):
    if value.__class__ is datetime.datetime:  # what both drivers return: converted here, one call less a value
        return (value - (EPOCH if value.tzinfo is not None else EPOCH_NAIVE)) // ONE_MILLISECOND
    return None if value is None else _timestamp(value)


def _integer_or_none(value):
    return value if value is None or isinstance(value, int) else int(value)


def canonical(value, cql_type):
    """value (from either side) in the one form both sides are compared in; None stays None."""
    return converter(cql_type)(value)


# --------------------------------------------------------------------------------------------
# Digests
# --------------------------------------------------------------------------------------------


def key_text(key_values):
    """A key as one string (JSON of its canonical values), the form reports and re-emit files use."""
    return json.dumps(list(key_values), ensure_ascii=False, separators=(",", ":"), default=str)


def row_digest(key_values, values):
    """128-bit digest of a row's key and values (canonical: tuples of None, bool, int, float and str, whose repr is
    the same on both sides), as an int."""
    return int.from_bytes(
        hashlib.blake2b(repr((key_values, values)).encode("utf-8"), digest_size=DIGEST_BITS // 8).digest(), "big"
    )


class SliceDigests:
    """Per slice of the ring: how many rows, and their digests summed (order-independent, so the sink's
    unordered scan and the source's token-ordered one fold to the same value when the rows are equal)."""

    def __init__(self, count):
        self.rows = [0] * count
        self.sums = [0] * count

    def add(self, index, digest):
        self.rows[index] += 1
        self.sums[index] = (self.sums[index] + digest) % DIGEST_MODULUS

    def folded(self, parts):
        """The digests of every parts consecutive ranges added up: per slice, from per range (sums add up)."""
        whole = SliceDigests(len(self.rows) // parts)
        for index in range(len(whole.rows)):
            whole.rows[index] = sum(self.rows[index * parts : (index + 1) * parts])
            whole.sums[index] = sum(self.sums[index * parts : (index + 1) * parts]) % DIGEST_MODULUS
        return whole

    def hexdigest(self, index):
        return "%032x" % self.sums[index]


def differing_slices(source, sink):
    """Indexes of the slices whose row counts or digests differ."""
    return [
        index
        for index in range(len(source.rows))
        if source.rows[index] != sink.rows[index] or source.sums[index] != sink.sums[index]
    ]


def slice_report(slices, source, sink):
    return [
        {
            "start": start,
            "end": end,
            "source_rows": source.rows[index],
            "sink_rows": sink.rows[index],
            "source_digest": source.hexdigest(index),
            "sink_digest": sink.hexdigest(index),
            "equal": source.rows[index] == sink.rows[index] and source.sums[index] == sink.sums[index],
        }
        for index, (start, end) in enumerate(slices)
    ]


class Differences:
    """The rows that differ: counts of every class, at most sample_limit sample keys per class, and (when asked)
    every key."""

    def __init__(self, sample_limit, keep_all=False):
        self.sample_limit = sample_limit
        self.counts = dict((name, 0) for name in CLASSES)
        self.samples = dict((name, []) for name in CLASSES)
        self.all_keys = [] if keep_all else None

    def add(self, kind, key, columns=None):
        self.counts[kind] += 1
        if len(self.samples[kind]) < self.sample_limit:
            sample = {"key": key}
            if columns:
                sample["columns"] = columns
            self.samples[kind].append(sample)
        if self.all_keys is not None:
            self.all_keys.append({"class": kind, "key": key})

    def total(self):
        return sum(self.counts.values())


def compare_rows(source_rows, sink_rows, column_names, differences):
    """Classify the rows of one slice: source_rows and sink_rows map key text -> canonical values (a tuple)."""
    for key in sorted(source_rows):
        if key not in sink_rows:
            differences.add(MISSING, key)
        elif source_rows[key] != sink_rows[key]:
            changed = [
                name
                for name, want, have in zip(column_names, source_rows[key], sink_rows[key], strict=True)
                if want != have
            ]
            differences.add(DIFFERENT, key, changed)
    for key in sorted(sink_rows):
        if key not in source_rows:
            differences.add(EXTRA, key)


# --------------------------------------------------------------------------------------------
# The second pass: the sink's rows looked up by the source's keys
# --------------------------------------------------------------------------------------------


def _timestamp_literal(millis, _sink_type):
    # With an offset: a timestamptz column takes the instant, a timestamp column the UTC wall time (read as UTC).
    return (EPOCH + datetime.timedelta(milliseconds=millis)).isoformat()


def _date_literal(days, _sink_type):
    return (EPOCH_DATE + datetime.timedelta(days=days)).isoformat()


def _time_literal(nanos, _sink_type):
    if nanos % 1000:
        return None  # PostgreSQL keeps microseconds: such a key can only be found by the scan
    seconds, micros = divmod(nanos // 1000, 10**6)
    return datetime.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micros).isoformat()


def _blob_literal(text, sink_type):
    # The canonical blob is base64: bytea takes hex input, a text column keeps the base64 itself.
    return "\\x" + base64.b64decode(text).hex() if sink_type == "bytea" else text


def _boolean_literal(value, _sink_type):
    return "true" if value else "false"


def _float_literal(value, _sink_type):
    return repr(value)


def _plain_literal(value, _sink_type):
    return str(value)


# The CQL key types whose canonical value has a PostgreSQL input text that finds the sink's row; a key of any
# other type (a collection, a user type) is not looked up, the sink is scanned for it instead.
KEY_LITERALS = {
    "ascii": _plain_literal,
    "bigint": _plain_literal,
    "blob": _blob_literal,
    "boolean": _boolean_literal,
    "date": _date_literal,
    "decimal": _plain_literal,
    "double": _float_literal,
    "float": _float_literal,
    "inet": _plain_literal,
    "int": _plain_literal,
    "smallint": _plain_literal,
    "text": _plain_literal,
    "time": _time_literal,
    "timestamp": _timestamp_literal,
    "timeuuid": _plain_literal,
    "tinyint": _plain_literal,
    "uuid": _plain_literal,
    "varchar": _plain_literal,
    "varint": _plain_literal,
}


def key_literals(key_values, cql_types, sink_types):
    """A canonical key as PostgreSQL input texts, one a column (cast to the sink column's type by the lookup query),
    or None when one of its values has none: that key is then not looked up."""
    literals = []
    for value, cql_type, sink_type in zip(key_values, cql_types, sink_types, strict=True):
        literal = KEY_LITERALS.get(base_type(cql_type))
        if value is None or literal is None:
            return None
        try:
            text = literal(value, sink_type)
        except (OverflowError, ValueError, TypeError):  # a date or timestamp beyond what Python represents
            return None
        if text is None:
            return None
        literals.append(text)
    return tuple(literals)


def ranges_to_scan(sink_counts, found):
    """The ranges whose sink rows the lookup cannot all have found: the first pass counted more sink rows in them
    than the lookup found for the source's keys (rows the source lacks, or keys the lookup could not match).

    sink_counts: range index -> the sink's rows in the first pass; found: range index -> rows the lookup found."""
    return [index for index in sorted(found) if sink_counts[index] > found[index]]


class BatchRows:
    """The rows of a batch of differing ranges, both sides, by range and key text: the source's read by token
    range, the sink's found by key lookup and, in the ranges ranges_to_scan names, by a scan."""

    def __init__(self, batch):
        self.source = dict((index, {}) for index in batch)
        self.sink = dict((index, {}) for index in batch)
        self.owner = {}  # key text -> range index, for the rows the lookup returns in any order

    def add_source(self, index, key, values):
        text = key_text(key)
        self.source[index][text] = values
        self.owner[text] = index

    def add_looked_up(self, key, values):
        """A row the lookup returned; one whose canonical key is none of the source's (an equality of PostgreSQL's
        that is not the comparison's) is left to the scan."""
        text = key_text(key)
        index = self.owner.get(text)
        if index is not None:
            self.sink[index][text] = values

    def add_scanned(self, index, key, values):
        self.sink[index].setdefault(key_text(key), values)

    def found(self):
        return dict((index, len(rows)) for index, rows in self.sink.items())

    def compare(self, column_names, differences):
        """Classify every range's rows, in range order (the order the samples are taken in)."""
        for index in sorted(self.source):
            compare_rows(self.source[index], self.sink[index], column_names, differences)
