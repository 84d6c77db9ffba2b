# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render series in the Prometheus text format, for the node exporter's textfile collector."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible.errors import AnsibleFilterError

_METRIC_NAME = re.compile(r"^cdc_[a-zA-Z0-9_]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _label_value(value):
    # The text format's escapes: backslash, double quote and line feed.
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(name, value):
    if isinstance(value, bool):
        raise AnsibleFilterError("prometheus_textfile: the value of %s is a boolean, not a number: give 0 or 1" % name)
    if not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError) as error:
            raise AnsibleFilterError(
                "prometheus_textfile: the value of %s is not a number: %r" % (name, value)
            ) from error
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise AnsibleFilterError("prometheus_textfile: the value of %s is not finite: %r" % (name, value))
    return repr(value) if isinstance(value, float) else str(value)


def prometheus_textfile(series):
    """Render [{name, help, labels, value}] as text-format lines: HELP and TYPE once per name, gauges."""
    by_name = {}
    for one in series or []:
        name = one.get("name", "")
        if not _METRIC_NAME.match(name):
            raise AnsibleFilterError(
                "prometheus_textfile: %r is not a metric name of this collection (cdc_ then letters, digits, _)" % name
            )
        labels = one.get("labels") or {}
        for label in labels:
            if not _LABEL_NAME.match(str(label)) or str(label).startswith("__"):
                raise AnsibleFilterError("prometheus_textfile: %r is not a label name (series %s)" % (label, name))
        entry = by_name.setdefault(name, {"help": one.get("help") or name, "lines": []})
        rendered = ",".join('%s="%s"' % (key, _label_value(labels[key])) for key in sorted(labels))
        entry["lines"].append(
            "%s%s %s" % (name, "{%s}" % rendered if rendered else "", _number(name, one.get("value")))
        )
    out = []
    for name, entry in by_name.items():
        out.append("# HELP %s %s" % (name, " ".join(str(entry["help"]).split()).replace("\\", "\\\\")))
        out.append("# TYPE %s gauge" % name)
        out.extend(entry["lines"])
    return "\n".join(out) + "\n" if out else ""


class FilterModule(object):
    def filters(self):
        return {"prometheus_textfile": prometheus_textfile}
