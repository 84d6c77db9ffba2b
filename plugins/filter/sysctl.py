# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare wanted sysctl values with what `sysctl` printed, so only drift is written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _normalize(value):
    # sysctl prints multi-value keys with tabs; the wanted value may use spaces.
    return " ".join(str(value).split())


def parse_sysctl_output(lines):
    """Parse `key = value` lines as printed by `sysctl key...` into a dict."""
    current = {}
    for line in lines or []:
        key, sep, value = line.partition("=")
        if sep:
            current[key.strip()] = _normalize(value)
    return current


def sysctl_drift(wanted, current_lines):
    """Return `key=value` assignments for every wanted key whose live value differs."""
    current = parse_sysctl_output(current_lines)
    return [
        "%s=%s" % (key, _normalize(value))
        for key, value in sorted((wanted or {}).items())
        if current.get(key) != _normalize(value)
    ]


class FilterModule(object):
    def filters(self):
        return {"sysctl_drift": sysctl_drift}
