# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offsets backup document of the connect_offsets module.

Build, validate and compare the document that holds one connector's offsets (canonical JSON,
checksums, the checks before a restore), and the backup files it lives in (names with a UTC
stamp, retention, atomic writes with mode 0600). Errors are raised as ConnectError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import math
import os
import re
import tempfile

from ansible_collections.cdc.pipeline.plugins.module_utils.kafka_connect import ConnectError

DOCUMENT_FORMAT = "cdc.pipeline.connect_offsets"
DOCUMENT_SCHEMA_VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A backup larger than this is refused before it is read (a ScyllaDB source's 100,000 partitions take ~30 MiB).
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
# Kafka Connect keeps offsets as Java longs; a sink's partition is an int32.
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
INT_MAX = 2**31 - 1
SINK_PARTITION_KEYS = ("kafka_partition", "kafka_topic")
SINK_OFFSET_KEYS = ("kafka_offset",)
# Problems listed in one message at most; the count of the rest follows.
SHOWN_PROBLEMS = 5


# One encoder for every call: json.dumps builds a new one per call with these options (100,000 offsets need
# millions of calls).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value):
    return _CANONICAL.encode(value)


def sha256_of(value):
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def config_sha256(config):
    """sha256 of the normalised config (keys sorted, `name` left out): tells whether the config changed since."""
    return sha256_of(dict((key, value) for key, value in (config or {}).items() if key != "name"))


def normalise_offsets(offsets):
    """Offsets sorted by partition (canonical JSON), each {"partition": {..}, "offset": {..}}; refuses bad entries."""
    keyed = []
    seen = set()
    if not isinstance(offsets, list):
        raise ConnectError("offsets must be a list of {partition, offset} entries")
    for index, entry in enumerate(offsets):
        if not isinstance(entry, dict) or not isinstance(entry.get("partition"), dict) or not entry["partition"]:
            raise ConnectError("offsets entry %d has no partition object" % index)
        if not isinstance(entry.get("offset"), dict):
            raise ConnectError(
                "offsets entry %d (partition %s) has no offset object" % (index, canonical_json(entry["partition"]))
            )
        key = canonical_json(entry["partition"])
        if key in seen:
            raise ConnectError("offsets list partition %s twice" % key)
        seen.add(key)
        keyed.append((key, {"partition": entry["partition"], "offset": entry["offset"]}))
    keyed.sort(key=lambda item: item[0])
    return [entry for _key, entry in keyed]


def offsets_index(offsets):
    return dict((canonical_json(entry["partition"]), canonical_json(entry["offset"])) for entry in offsets)


def as_index(offsets):
    """offsets as an index (a dict is taken as one already: callers that compare often index once)."""
    return offsets if isinstance(offsets, dict) else offsets_index(offsets)


def offsets_delta(current, wanted):
    """How wanted differs from current: partitions added, removed, changed, unchanged (counts)."""
    have, want = as_index(current), as_index(wanted)
    return {
        "added": len([key for key in want if key not in have]),
        "removed": len([key for key in have if key not in want]),
        "changed": len([key for key in want if key in have and have[key] != want[key]]),
        "unchanged": len([key for key in want if have.get(key) == want[key]]),
    }


def offsets_equal(current, wanted):
    return as_index(current) == as_index(wanted)


def offsets_patch(current, wanted):
    """The PATCH entries that turn current into wanted: changed and added partitions, and a null offset for each
    partition that wanted does not have (the worker resets a partition given a null offset). Nothing is reset
    wholesale, so a refused PATCH leaves the offsets as they were."""
    have = offsets_index(current)
    entries, wanted_keys = [], set()
    for entry in wanted:
        key = canonical_json(entry["partition"])
        wanted_keys.add(key)
        if have.get(key) != canonical_json(entry["offset"]):
            entries.append(entry)
    entries.extend(
        {"partition": entry["partition"], "offset": None}
        for entry in current
        if canonical_json(entry["partition"]) not in wanted_keys
    )
    return entries


def offsets_undo(current, entries):
    """The PATCH entries that put the partitions of entries back as they are in current (null where absent)."""
    have = dict((canonical_json(entry["partition"]), entry["offset"]) for entry in current)
    return [
        {"partition": entry["partition"], "offset": have.get(canonical_json(entry["partition"]))} for entry in entries
    ]


def value_kind(value):
    """The kind of a primitive offset value, as the shape check compares them."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "whole number of 0 or more" if value >= 0 else "whole number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "list" if isinstance(value, list) else "object"


def _kind_allowed(kind, seen):
    if kind in seen:
        return True
    if kind == "whole number of 0 or more" and "whole number" in seen:
        return True
    return kind in ("whole number", "whole number of 0 or more") and "number" in seen


def _value_problem(where, key, value):
    kind = value_kind(value)
    if kind in ("list", "object"):
        return "%s %s is a %s: Kafka Connect keeps only single values (text, numbers, true/false) there" % (
            where,
            key,
            kind,
        )
    if kind.startswith("whole number") and not LONG_MIN <= value <= LONG_MAX:
        return "%s %s is %d, past the range of a Java long" % (where, key, value)
    if kind == "number" and not math.isfinite(value):
        return "%s %s is %r, not a finite number" % (where, key, value)
    return None


def _kinds_seen(maps):
    """{key: set of kinds} over maps, and the distinct key sets."""
    kinds, key_sets = {}, set()
    for values in maps:
        key_sets.add(tuple(sorted(values)))
        for key, value in values.items():
            kinds.setdefault(key, set()).add(value_kind(value))
    return kinds, key_sets


def _sink_problems(index, entry):
    partition, offset = entry["partition"], entry["offset"]
    problems = []
    if tuple(sorted(partition)) != SINK_PARTITION_KEYS or tuple(sorted(offset)) != SINK_OFFSET_KEYS:
        problems.append(
            "entry %d is not a sink offset ({partition: {kafka_topic, kafka_partition}, offset: {kafka_offset}}): %s"
            % (index, canonical_json(entry))
        )
        return problems
    topic, number, position = partition["kafka_topic"], partition["kafka_partition"], offset["kafka_offset"]
    if not isinstance(topic, str) or not re.match(r"^[A-Za-z0-9._-]{1,249}$", topic):
        problems.append("entry %d has kafka_topic %r, not a topic name" % (index, topic))
    if value_kind(number) != "whole number of 0 or more" or number > INT_MAX:
        problems.append(
            "entry %d has kafka_partition %r: a partition number is a whole number of 0 or more" % (index, number)
        )
    if value_kind(position) != "whole number of 0 or more" or position > LONG_MAX:
        problems.append(
            "entry %d (%s-%s) has kafka_offset %r: an offset is a whole number of 0 or more"
            % (index, topic, number, position)
        )
    return problems


def _source_problems(index, entry, partition_kinds, offset_kinds, partition_keys, offset_keys):
    problems = []
    for where, values, kinds, key_sets in (
        ("partition", entry["partition"], partition_kinds, partition_keys),
        ("offset", entry["offset"], offset_kinds, offset_keys),
    ):
        if not values:
            problems.append("entry %d has an empty %s" % (index, where))
            continue
        for key in sorted(values):
            problem = _value_problem("entry %d %s" % (index, where), key, values[key])
            if problem:
                problems.append(problem)
        if problems or not key_sets:
            continue
        # A partition names what is read: its keys are fixed. An offset may carry keys a connector writes
        # only at times (the ScyllaDB source adds change_id_stream_id and change_id_time inside a window),
        # so it must have the keys every current offset has, and may have more.
        if where == "partition":
            fits = tuple(sorted(values)) in key_sets
        else:
            fits = set.intersection(*(set(keys) for keys in key_sets)) <= set(values)
        if not fits:
            problems.append(
                "entry %d has %s keys %s, the connector's %ss have %s"
                % (
                    index,
                    where,
                    ", ".join(sorted(values)),
                    where,
                    " or ".join(", ".join(keys) for keys in sorted(key_sets)),
                )
            )
            continue
        for key in sorted(values):
            kind = value_kind(values[key])
            if key in kinds and not _kind_allowed(kind, kinds[key]):
                problems.append(
                    "entry %d %s %s is %s (%s), the connector's are %s"
                    % (index, where, key, canonical_json(values[key]), kind, " or ".join(sorted(kinds[key])))
                )
    return problems


def offsets_shape_problems(wanted, connector_type, current):
    """What in wanted a connector of connector_type cannot take, as sentences (empty when all is well).

    A sink's offsets are Kafka positions: {kafka_topic, kafka_partition} and {kafka_offset}, whole numbers of 0
    or more. A source's are its own maps of single values; when the connector has offsets now, each entry's
    partition must have the keys its partitions have, its offset at least the keys all its offsets have, and
    every known key the same kind of value (a position the connector keeps as a whole number of 0 or more
    cannot be restored as -1, 1.5 or "12").
    """
    problems = []
    if connector_type == "sink":
        for index, entry in enumerate(wanted):
            problems.extend(_sink_problems(index, entry))
    else:
        partition_kinds, partition_keys = _kinds_seen(entry["partition"] for entry in current)
        offset_kinds, offset_keys = _kinds_seen(entry["offset"] for entry in current)
        for index, entry in enumerate(wanted):
            problems.extend(_source_problems(index, entry, partition_kinds, offset_kinds, partition_keys, offset_keys))
    return problems


def problems_text(problems):
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return shown + ("; and %d more" % more if more > 0 else "")


def utc_text(moment):
    return moment.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def parse_utc(text):
    try:
        return datetime.datetime.strptime(str(text), TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def build_offsets_document(worker, info, offsets, now):
    """The backup document of one connector: worker = GET /, info = GET /connectors/{n}, offsets = its offsets."""
    normalised = normalise_offsets(offsets)
    config = info.get("config") or {}
    return {
        "format": DOCUMENT_FORMAT,
        "schema_version": DOCUMENT_SCHEMA_VERSION,
        "created_at": utc_text(now),
        "kafka_cluster_id": worker.get("kafka_cluster_id"),
        "connect_version": worker.get("version"),
        "connector": {
            "name": info.get("name"),
            "class": config.get("connector.class"),
            "type": info.get("type"),
            "config_sha256": config_sha256(config),
        },
        "partition_count": len(normalised),
        "offsets_sha256": sha256_of(normalised),
        "offsets": normalised,
    }


def validate_offsets_document(document):
    """The document with its offsets normalised; a ConnectError listing every problem otherwise."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise ConnectError("not an offsets backup of this collection (format is not %s)" % DOCUMENT_FORMAT)
    version = document.get("schema_version")
    if version != DOCUMENT_SCHEMA_VERSION:
        raise ConnectError(
            "offsets backup schema_version %r is not %d: it was written by another version of cdc.pipeline; "
            "restore it with that version" % (version, DOCUMENT_SCHEMA_VERSION)
        )
    problems = []
    if parse_utc(document.get("created_at")) is None:
        problems.append("created_at %r is not a UTC time like 2026-11-27T03:00:00Z" % document.get("created_at"))
    connector = document.get("connector")
    if not isinstance(connector, dict) or not connector.get("name") or not connector.get("class"):
        problems.append("connector.name and connector.class are missing")
    try:
        offsets = normalise_offsets(document.get("offsets"))
    except ConnectError as exc:
        problems.append(str(exc))
        offsets = None
    if offsets is not None:
        if document.get("partition_count") != len(offsets):
            problems.append(
                "partition_count %r but %d offsets: the file is truncated or edited"
                % (document.get("partition_count"), len(offsets))
            )
        elif document.get("offsets_sha256") != sha256_of(offsets):
            problems.append("offsets_sha256 does not match the offsets: the file is damaged or edited")
    if problems:
        raise ConnectError("the offsets backup is not usable: %s" % "; ".join(problems))
    validated = dict(document)
    validated["offsets"] = offsets
    return validated


def same_backup_content(first, second):
    """Equal documents apart from created_at: a backup that would say nothing new."""
    if not isinstance(first, dict) or not isinstance(second, dict):
        return False
    return canonical_json(_without_time(first)) == canonical_json(_without_time(second))


def _without_time(document):
    return dict((key, value) for key, value in document.items() if key != "created_at")


def restore_refusals(document, name, current_class, kafka_cluster_id):
    """Why the document does not belong to this connector (empty when it does); force overrides these."""
    connector = document["connector"]
    refusals = []
    if connector["name"] != name:
        refusals.append("the backup is of connector %s, not %s" % (connector["name"], name))
    if connector["class"] != current_class:
        refusals.append("the backup is of class %s, the connector runs %s" % (connector["class"], current_class))
    if document.get("kafka_cluster_id") and kafka_cluster_id and document["kafka_cluster_id"] != kafka_cluster_id:
        refusals.append(
            "the backup was taken on Kafka cluster %s, the workers use %s"
            % (document["kafka_cluster_id"], kafka_cluster_id)
        )
    return refusals


def backup_age_seconds(document, now):
    return int((now - parse_utc(document["created_at"])).total_seconds())


def ttl_refusal(document, connector_type, cdc_log_ttl, now):
    """The refusal when a source backup is older than the CDC log TTL (its changes are gone from the log), else None."""
    if connector_type != "source" or not cdc_log_ttl:
        return None
    age = backup_age_seconds(document, now)
    if age <= cdc_log_ttl:
        return None
    return (
        "the backup is %d s old (taken %s), older than the CDC log TTL (cdc_log_ttl=%d s): the changes between its "
        "positions and the oldest entry still in the CDC log are gone, and the source would skip them silently. "
        "Restoring it means a reconciliation will be needed (compare or re-copy the tables for that period); "
        "set force=true to restore anyway" % (age, document["created_at"], cdc_log_ttl)
    )


# --------------------------------------------------------------------------------------------
# Backup files
# --------------------------------------------------------------------------------------------

_BACKUP_STAMP = r"\d{8}T\d{6}Z(-\d+)?"


def safe_file_part(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def backup_file_name(name, now, sequence=0):
    stamp = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return "%s-%s%s.json" % (safe_file_part(name), stamp, "-%d" % sequence if sequence else "")


def backups_in(directory, name):
    """Backup files of connector name in directory, oldest first (the time stamp in the name sorts them)."""
    pattern = re.compile(r"^%s-%s\.json$" % (re.escape(safe_file_part(name)), _BACKUP_STAMP))
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ConnectError("cannot list %s: %s" % (directory, exc)) from exc
    return [os.path.join(directory, entry) for entry in sorted(names, key=_stamp_order) if pattern.match(entry)]


def _stamp_order(file_name):
    match = re.search(r"(\d{8}T\d{6}Z)(?:-(\d+))?\.json$", file_name)
    return (match.group(1), int(match.group(2) or 0)) if match else ("", 0)


def backup_time(path):
    """The UTC time in a backup file name (<connector>-YYYYmmddTHHMMSSZ[-n].json), or None."""
    stamp = _stamp_order(os.path.basename(path))[0]
    try:
        return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def retention_victims(paths, keep_count, keep_days, now):
    """The backups of one connector (oldest first, as backups_in lists them) that retention deletes.

    Beyond the newest keep_count, and older than keep_days (0: no limit), except the newest one, which is
    always kept: an idle connector writes no new file, so its last backup stays the current one however old.
    """
    oldest_allowed = now - datetime.timedelta(days=keep_days) if keep_days else None
    victims = []
    for index, path in enumerate(reversed(paths)):
        if index == 0:
            continue
        too_many = bool(keep_count) and index >= keep_count
        taken = backup_time(path)
        too_old = oldest_allowed is not None and taken is not None and taken < oldest_allowed
        if too_many or too_old:
            victims.append(path)
    return sorted(victims, key=lambda path: _stamp_order(os.path.basename(path)))


def read_json_file(path):
    try:
        size = os.path.getsize(path)
        if size > MAX_DOCUMENT_BYTES:
            raise ConnectError(
                "%s is %d bytes, more than an offsets backup can be (%d): not an offsets backup"
                % (path, size, MAX_DOCUMENT_BYTES)
            )
        with open(path, "r") as handle:
            return json.load(handle)
    except (IOError, OSError) as exc:
        raise ConnectError("cannot read %s: %s" % (path, exc)) from exc
    except (ValueError, RecursionError) as exc:
        raise ConnectError("%s is not JSON (%s): not an offsets backup, or a damaged one" % (path, exc)) from exc


def read_json_if_any(path):
    """The JSON in path, or None when it is missing or not JSON (then it is simply not the same content)."""
    try:
        return read_json_file(path)
    except ConnectError:
        return None


def render_json(document):
    """Indented JSON, except an "offsets" list: one partition per line (10,000 lines stay fast and diffable)."""
    if not isinstance(document.get("offsets"), list):
        return json.dumps(document, indent=1, sort_keys=True) + "\n"
    head = dict((key, value) for key, value in document.items() if key != "offsets")
    head_text = json.dumps(head, indent=1, sort_keys=True).rstrip()[:-1].rstrip()
    lines = ",\n".join("  " + json.dumps(entry, sort_keys=True) for entry in document["offsets"])
    separator = ",\n" if head else "\n"
    offsets = "[\n%s\n ]" % lines if lines else "[]"
    return '%s%s "offsets": %s\n}\n' % (head_text, separator, offsets)


def write_json_atomic(path, document, replace=True):
    """Write document to path, mode 0600 from the first byte, via a temporary file in the same directory.

    replace=False never replaces an existing file (os.link fails on one): ConnectError then.
    """
    directory = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(render_json(document))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
        _fsync_directory(directory)
    except OSError as exc:
        raise ConnectError("cannot write %s: %s" % (path, exc)) from exc
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
