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


def _resets_others(key):
    # Writing ip_forward or a *.forwarding key makes the kernel reset accept_redirects (and
    # other per-interface settings) to its routing defaults, so those keys go first.
    return key == "net.ipv4.ip_forward" or key.endswith(".forwarding")


def sysctl_ordered(wanted):
    """Return (key, value) pairs in the order they must be applied: forwarding keys first."""
    return sorted((wanted or {}).items(), key=lambda item: (not _resets_others(item[0]), item[0]))


def sysctl_drift(wanted, current_lines):
    """Return `key=value` assignments, in apply order, for every wanted key whose live value differs.

    `current_lines` is the output of `sysctl -e key...`, which omits keys the kernel lacks.
    """
    current = parse_sysctl_output(current_lines)
    # Keys the kernel does not have (net.ipv6.* with IPv6 disabled) cannot be set live; the
    # sysctl.d file still records them for a kernel that has them.
    ordered = [(key, value) for key, value in sysctl_ordered(wanted) if key in current]
    differs = [key for key, value in ordered if current[key] != _normalize(value)]
    if any(_resets_others(key) for key in differs):
        # A forwarding write will reset keys that are right now, so write them all again.
        differs = [key for key, _value in ordered]
    return ["%s=%s" % (key, _normalize(wanted[key])) for key in differs]


class FilterModule(object):
    def filters(self):
        return {"sysctl_drift": sysctl_drift, "sysctl_ordered": sysctl_ordered}
