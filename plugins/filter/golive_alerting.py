# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alert_routes: where the running Alertmanager sends an alert of each severity and service, judged
from its /api/v2/status (the configuration it runs, not the file). Unit-tested in
tests/unit/test_golive_alerting_filters.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import yaml

COMMAND = "GET /api/v2/status of the Alertmanager on %s: each severity and service routed through its route tree"
# A receiver's ways of notifying somebody (Alertmanager's *_configs).
INTEGRATIONS = (
    "pagerduty_configs",
    "slack_configs",
    "email_configs",
    "opsgenie_configs",
    "webhook_configs",
    "victorops_configs",
    "pushover_configs",
    "wechat_configs",
    "telegram_configs",
    "sns_configs",
    "msteams_configs",
    "webex_configs",
    "discord_configs",
)
MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def _matches(matcher, labels):
    found = MATCHER.match(matcher)
    if not found:
        return False
    name, op, value = found.groups()
    have = labels.get(name, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    fully = re.fullmatch(value, have) is not None
    return fully if op == "=~" else not fully


def _route_matches(route, labels):
    matchers = list(route.get("matchers") or [])
    # The older forms: match (equality) and match_re (regular expressions).
    matchers += ['%s="%s"' % item for item in (route.get("match") or {}).items()]
    matchers += ['%s=~"%s"' % item for item in (route.get("match_re") or {}).items()]
    return all(_matches(matcher, labels) for matcher in matchers)


def receivers_for(route, labels, inherited=None):
    """The receivers an alert with these labels reaches, walking the tree as Alertmanager does: the first
    matching child (and the next ones while a match says continue), else this route's own receiver."""
    receiver = route.get("receiver") or inherited
    found = []
    for child in route.get("routes") or []:
        if _route_matches(child, labels):
            found += receivers_for(child, labels, receiver)
            if not child.get("continue"):
                break
    return found or [receiver]


def _integrations(receiver):
    return [kind.replace("_configs", "") for kind in INTEGRATIONS if (receiver or {}).get(kind)]


def golive_alert_routes_result(answer, server, services, severities, at, test_receivers=("cdc-test-webhook",)):
    """alert_routes passes when an alert of every severity, for every service, reaches a receiver with at
    least one integration that is not the collection's test webhook. answer: the uri result of
    /api/v2/status on server."""
    host = server
    body = answer.get("json") or {}
    original = (body.get("config") or {}).get("original")
    if not original:
        seen = answer.get("msg") or "no answer (status %s)" % answer.get("status")
        return {
            "passed": False,
            "command": COMMAND % host,
            "result": "Alertmanager did not answer: %s" % seen,
            "at": at,
        }
    config = yaml.safe_load(original) or {}
    receivers = dict((one.get("name"), one) for one in config.get("receivers") or [])
    offenders, routed = [], {}
    for severity in severities:
        for service in services:
            labels = {"severity": severity, "service": service, "alertname": "CdcGoLiveRouteProbe"}
            for name in receivers_for(config.get("route") or {}, labels):
                kinds = _integrations(receivers.get(name)) if name not in test_receivers else []
                if not kinds:
                    offenders.append("%s %s alerts reach %s, which notifies nobody" % (severity, service, name))
                else:
                    routed.setdefault("%s -> %s (%s)" % (severity, name, ", ".join(kinds)), []).append(service)
    if offenders:
        return {"passed": False, "command": COMMAND % host, "result": offenders, "at": at}
    found = ["%s: %s" % (route, ", ".join(services)) for route, services in sorted(routed.items())]
    return {"passed": True, "command": COMMAND % host, "result": found, "at": at}


class FilterModule(object):
    def filters(self):
        return {"golive_alert_routes_result": golive_alert_routes_result}
