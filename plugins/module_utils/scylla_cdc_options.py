# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ScyllaDB's per-table CDC options, for the scylla_cdc module.

The codec of the `cdc` schema extension (system_schema.tables.extensions['cdc']), the
normalisation of the five options ScyllaDB keeps there, and the ALTER TABLE that sets them.
Errors are raised as CqlModuleError; the connection and CQL quoting come from cql.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.cdc.pipeline.plugins.module_utils.cql import CqlModuleError, qualified_table, string_literal

CDC_EXTENSION = "cdc"
LOG_TABLE_SUFFIX = "_scylla_cdc_log"
# Order of the keys in the statements and results (ScyllaDB's cdc::options::to_map has these five).
CDC_KEYS = ("enabled", "preimage", "postimage", "delta", "ttl")
# ScyllaDB's defaults (cdc/cdc_options.hh): what a table gets for a key the map leaves out.
CDC_DEFAULTS = {"enabled": "false", "preimage": "false", "postimage": "false", "delta": "full", "ttl": "86400"}
CDC_TTL_MAX = 2147483647  # ScyllaDB parses ttl with std::stoi into an int
_TRUE_TEXTS = ("true", "1", "yes", "on")
_FALSE_TEXTS = ("false", "0", "no", "off")


def decode_cdc_extension(blob, where="the cdc extension"):
    """ScyllaDB's serialised cdc options (system_schema.tables.extensions['cdc']) as a dict of strings.

    The format is ScyllaDB's IDL serialisation of std::map<sstring, sstring>
    (cdc/cdc_extension.hh: ser::serialize_to_buffer(options.to_map())): a uint32 entry count,
    then per entry a uint32 byte length and the UTF-8 key, a uint32 byte length and the UTF-8
    value; every integer little-endian (serializer.hh serialize_integral: cpu_to_le;
    serializer_impl.hh serializer<std::map> and serializer<sstring>). None (no extension) is {}.
    Anything else that does not parse exactly raises CqlModuleError.
    """
    if blob is None:
        return {}
    data = bytes(blob)
    reader = _BlobReader(data, where)
    count = reader.uint32("entry count")
    # Each entry takes at least 8 bytes (two lengths): a larger count cannot be real.
    if count > (len(data) - 4) // 8:
        reader.fail("entry count %d does not fit in %d bytes" % (count, len(data)))
    options = {}
    for index in range(count):
        key = reader.text("key %d" % index)
        value = reader.text("value of %r" % key)
        if key in options:
            reader.fail("key %r appears twice" % key)
        options[key] = value
    if reader.remaining():
        reader.fail("%d bytes left after %d entries" % (reader.remaining(), count))
    return options


class _BlobReader:
    def __init__(self, data, where):
        self.data = data
        self.where = where
        self.offset = 0

    def remaining(self):
        return len(self.data) - self.offset

    def fail(self, detail):
        shown = self.data[:48].hex() + ("..." if len(self.data) > 48 else "")
        raise CqlModuleError(
            "%s is not ScyllaDB's cdc options encoding (little-endian uint32 entry count, then uint32-length-prefixed "
            "UTF-8 key and value per entry): %s (%d bytes: %s). Check that the server is ScyllaDB and report these "
            "bytes with its version" % (self.where, detail, len(self.data), shown or "empty")
        )

    def uint32(self, what):
        if self.remaining() < 4:
            self.fail("%s: need 4 bytes at offset %d, %d left" % (what, self.offset, self.remaining()))
        (value,) = struct.unpack_from("<I", self.data, self.offset)
        self.offset += 4
        return value

    def text(self, what):
        length = self.uint32("length of " + what)
        if length > self.remaining():
            self.fail("%s: length %d at offset %d, only %d bytes left" % (what, length, self.offset, self.remaining()))
        raw = self.data[self.offset : self.offset + length]
        self.offset += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("%s is not UTF-8" % what)


def _bool_text(value, option):
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in _TRUE_TEXTS:
        return "true"
    if text in _FALSE_TEXTS:
        return "false"
    raise CqlModuleError("%s must be true or false (got %r)" % (option, value))


def preimage_text(value):
    """preimage as ScyllaDB stores it: 'false', 'true' (changed columns) or 'full' (the whole row)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text == "full":
        return "full"
    try:
        return _bool_text(text, "preimage")
    except CqlModuleError:
        raise CqlModuleError(
            "preimage must be false, true (changed columns) or full (whole row), got %r" % value
        ) from None


def delta_text(value):
    text = str(value).strip().lower()
    if text not in ("full", "keys"):
        raise CqlModuleError("delta must be full or keys (got %r)" % value)
    return text


def ttl_text(value):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CqlModuleError("ttl must be a number of seconds (got %r)" % value) from None
    if not 0 <= number <= CDC_TTL_MAX:
        raise CqlModuleError(
            "ttl must be between 0 (log rows never expire) and %d seconds (got %d)" % (CDC_TTL_MAX, number)
        )
    return str(number)


_NORMALISERS = {
    "enabled": lambda value: _bool_text(value, "enabled"),
    "preimage": preimage_text,
    "postimage": lambda value: _bool_text(value, "postimage"),
    "delta": delta_text,
    "ttl": ttl_text,
}


def stored_cdc_options(stored):
    """The five managed options of a table, complete, from its decoded extension map.

    ScyllaDB stores a disabled table as an empty map (older releases) or with enabled=false; a
    missing key has ScyllaDB's default. Unknown keys (newer releases keep internal state there)
    are left out: they are not options one can set. A value this module cannot read falls back
    to the raw text, so a diff shows it rather than failing.
    """
    lowered = dict((str(key).lower(), str(value).lower()) for key, value in (stored or {}).items())
    options = {}
    for key in CDC_KEYS:
        value = lowered.get(key, CDC_DEFAULTS[key])
        try:
            options[key] = _NORMALISERS[key](value)
        except CqlModuleError:
            options[key] = value
    return options


def wanted_cdc_options(requested, current):
    """The complete option map to send: requested values over the current ones.

    requested: {key: value or None} (None = not given). An enabled table keeps its current values
    for keys not given (tuning one option changes only that one); a disabled table starts from
    ScyllaDB's defaults, as ScyllaDB itself would.
    """
    base = dict(current) if current.get("enabled") == "true" else dict(CDC_DEFAULTS)
    for key in CDC_KEYS:
        if requested.get(key) is not None:
            base[key] = _NORMALISERS[key](requested[key])
    return dict((key, base[key]) for key in CDC_KEYS)


def cdc_changed_keys(current, wanted):
    """Keys whose value differs; nothing when CDC is off and stays off (a disabled table keeps no options)."""
    if current.get("enabled") != "true" and wanted.get("enabled") != "true":
        return []
    return [key for key in CDC_KEYS if current.get(key) != wanted.get(key)]


def alter_cdc_statement(keyspace, table, options):
    """ALTER TABLE with the complete cdc map: a map without `enabled` would silently mean "disabled"."""
    missing = [key for key in CDC_KEYS if key not in options]
    if missing:
        raise CqlModuleError("internal error: cdc options without %s" % ", ".join(missing))
    pairs = ", ".join("%s: %s" % (string_literal(key), string_literal(options[key])) for key in CDC_KEYS)
    return "ALTER TABLE %s WITH cdc = {%s}" % (qualified_table(keyspace, table), pairs)
