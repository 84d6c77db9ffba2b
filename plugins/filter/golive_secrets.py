# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live probe secret_rotation_age, judged from what the secrets store answered: the database
static roles' last rotation, the Kafka SCRAM passwords' current KV version, the AppRole secret IDs'
creation. Unit-tested in tests/unit/test_golive_secrets_filters.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

COMMAND = "the secrets store as the admin: database static roles, Kafka SCRAM versions, AppRole secret IDs"


def _epoch(text):
    """Seconds since the epoch of an RFC 3339 UTC time as OpenBao writes it (nanoseconds, Z), or None."""
    if not text:
        return None
    try:
        return calendar.timegm(time.strptime(str(text)[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def golive_secret_id_accessors(listings):
    """[{role, accessor}] from the results of listing each AppRole's secret-id accessors (loop over
    role names; a role without a live secret ID answers 404 and yields nothing)."""
    pairs = []
    for listing in listings or []:
        keys = ((listing.get("data") or {}).get("data") or {}).get("keys") or []
        pairs.extend({"role": listing.get("item"), "accessor": accessor} for accessor in keys)
    return pairs


def _data(read):
    return ((read or {}).get("data") or {}).get("data") or {}


def _ages(reads, now):
    """(kind, name, age in days or None) of every credential read."""
    for read in reads.get("static_roles") or []:
        yield "database static role", read.get("item"), _age(_data(read).get("last_vault_rotation"), now)
    for read in reads.get("scram") or []:
        data = _data(read)
        version = (data.get("versions") or {}).get(str(data.get("current_version"))) or {}
        yield "Kafka SCRAM password", read.get("item"), _age(version.get("created_time"), now)
    for read in reads.get("secret_ids") or []:
        item = read.get("item") or {}
        yield "AppRole secret ID", item.get("role"), _age(_data(read).get("creation_time"), now)


def _age(text, now):
    moment = _epoch(text)
    return None if moment is None else (float(now) - moment) / 86400.0


def golive_secret_age_result(reads, max_days, now, at):
    """secret_rotation_age: every credential read is younger than max_days. reads: {static_roles,
    scram, secret_ids}, each the results of a read loop. A credential without a readable date fails,
    and so does an answer with nothing in it (a store that holds nothing rotated proves nothing)."""
    found, passed, counts = [], True, {}
    for kind, name, age in _ages(reads or {}, now):
        counts[kind] = counts.get(kind, 0) + 1
        if age is None:
            passed = False
            found.append("%s %s: no date to judge" % (kind, name))
        elif age > float(max_days):
            passed = False
            found.append("%s %s: %.1f days old, the limit is %s" % (kind, name, age, max_days))
    if not counts:
        return {"passed": False, "command": COMMAND, "result": "the store answered with no credential", "at": at}
    if passed:
        summary = ", ".join("%d %s(s)" % (count, kind) for kind, count in sorted(counts.items()))
        found = "%s, every one younger than %s days" % (summary, max_days)
    return {"passed": passed, "command": COMMAND, "result": found, "at": at}


class FilterModule(object):
    def filters(self):
        return {
            "golive_secret_id_accessors": golive_secret_id_accessors,
            "golive_secret_age_result": golive_secret_age_result,
        }
