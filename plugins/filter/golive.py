# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live probes' judgements: what a probe's raw answer means, as the result the
golive_report module reads ({passed, command, result, at}). The golive role's tasks fetch the
answers; these functions decide, so the decisions are unit-tested (tests/unit/test_golive_filters.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.errors import AnsibleFilterError

DENYING_HOOKS = ("input", "forward")


def _result(passed, command, found, at):
    return {"passed": bool(passed), "command": command, "result": found, "at": at}


def _series(series):
    labels = ", ".join("%s=%s" % item for item in sorted((series.get("metric") or {}).items()))
    return "{%s} %s" % (labels, (series.get("value") or [None, "?"])[1])


def golive_prometheus_queries(probe):
    """The two queries of one probe ({key: name, value: {offenders, present, missing}}), as uri loop items.

    `missing` (optional) is what to do when the present query finds nothing, such as the playbook whose
    run record the probe reads; it rides on the present item to the result's evidence.
    """
    items = [{"probe": probe["key"], "part": part, "query": probe["value"][part]} for part in ("offenders", "present")]
    if probe["value"].get("missing"):
        items[1]["missing"] = probe["value"]["missing"]
    return items


# The label that tells the queries of one batch apart (cdc.pipeline.golive_prometheus_batch).
BATCH_LABEL = "cdc_golive_query"


def golive_prometheus_batch(items):
    """Every query of the uri loop items as one PromQL expression: each labelled with its position, joined by `or`.

    A probe's queries are instant vectors; label_replace adds the label to every series of one query, so no
    series of one query can match one of another and `or` keeps them all. One request instead of one per query.
    """
    if not items:
        raise AnsibleFilterError("golive_prometheus_batch: no queries")
    return " or ".join(
        'label_replace((%s), "%s", "%d", "", "")' % (item["query"], BATCH_LABEL, index)
        for index, item in enumerate(items)
    )


def golive_prometheus_unbatch(answer, items):
    """The uri result of a golive_prometheus_batch query split into one uri-loop-like result per item.

    Each result holds its query's series (the batch label removed), shaped as golive_prometheus_results reads
    them. An answer that is not a success gives [] (the caller then asks each query alone, so each error is
    its own probe's evidence).
    """
    body = (answer or {}).get("json") or {}
    if body.get("status") != "success" or (body.get("data") or {}).get("resultType") != "vector":
        return []
    by_index = {}
    for series in body["data"].get("result") or []:
        metric = dict(series.get("metric") or {})
        index = metric.pop(BATCH_LABEL, None)
        by_index.setdefault(index, []).append(dict(series, metric=metric))
    return [
        {
            "item": item,
            "status": answer.get("status"),
            "json": {"status": "success", "data": {"resultType": "vector", "result": by_index.get(str(index), [])}},
        }
        for index, item in enumerate(items)
    ]


def golive_prometheus_results(answers, server, at):
    """Each Prometheus probe judged from the uri results of its two queries on one server.

    answers: the `results` of a uri loop whose items are {probe, part, query}, part `offenders`
    (every series is a failure) or `present` (must return a series, else the data is missing).
    A probe fails when Prometheus did not answer, when its data is missing, or on any offender.
    """
    by_probe = {}
    for answer in answers or []:
        item = answer.get("item") or {}
        by_probe.setdefault(item.get("probe"), {})[item.get("part")] = answer
    results = {}
    for probe, parts in sorted(by_probe.items()):
        errors, series = [], {}
        for part in ("offenders", "present"):
            answer = parts.get(part) or {}
            body = answer.get("json") or {}
            if body.get("status") == "success":
                series[part] = body.get("data", {}).get("result") or []
            else:
                errors.append(
                    "%s: %s"
                    % (part, body.get("error") or answer.get("msg") or "no answer (status %s)" % answer.get("status"))
                )
        query = ((parts.get("offenders") or {}).get("item") or {}).get("query")
        needed = ((parts.get("present") or {}).get("item") or {}).get("query")
        if errors:
            passed, found = False, "Prometheus did not answer: " + "; ".join(errors)
        elif not series["present"]:
            fix = ((parts.get("present") or {}).get("item") or {}).get("missing")
            passed, found = (
                False,
                "no series of %s: the data this probe reads is missing%s"
                % (
                    needed,
                    "; " + fix if fix else "",
                ),
            )
        elif series["offenders"]:
            passed, found = False, [_series(one) for one in series["offenders"]]
        else:
            passed, found = True, "no offender among %d series of %s" % (len(series["present"]), needed)
        results[probe] = _result(passed, "Prometheus %s: %s" % (server, query), found, at)
    return results


def golive_firewall_result(command, at):
    """firewall_default_deny from the result of `nft --json list ruleset`: input and forward each
    have a base chain with policy drop. A packet must be accepted by every base chain of its hook,
    so one dropping chain a hook (the common role's cdc_filter) makes the host deny by default,
    whatever other tables add. A command that failed (no nft) fails the probe with its error."""
    if command.get("rc") != 0:
        error = (command.get("stderr") or command.get("msg") or "no output").strip()
        return _result(False, "nft --json list ruleset", ["nft failed: " + error[:300]], at)
    try:
        ruleset = json.loads(command.get("stdout") or "{}")
    except ValueError:
        return _result(False, "nft --json list ruleset", ["nft printed no JSON"], at)
    chains = [
        entry["chain"]
        for entry in (ruleset or {}).get("nftables", [])
        if "chain" in entry and entry["chain"].get("hook") in DENYING_HOOKS
    ]
    dropping = set(chain["hook"] for chain in chains if chain.get("policy") == "drop")
    described = [
        "%s %s %s: hook %s, policy %s"
        % (chain.get("family"), chain.get("table"), chain.get("name"), chain["hook"], chain.get("policy", "accept"))
        for chain in chains
    ]
    missing = [hook for hook in DENYING_HOOKS if hook not in dropping]
    if missing:
        described.append("no chain drops by default on hook %s" % ", ".join(missing))
    return _result(not missing, "nft --json list ruleset", described, at)


def golive_connector_result(info, at):
    """connector_state from cdc.pipeline.kafka_connector_info: at least one connector, each RUNNING
    with at least one task and every task RUNNING (a PAUSED or STOPPED connector carries no data)."""
    connectors = (info or {}).get("connectors") or []
    found, passed = [], bool(connectors)
    for connector in connectors:
        tasks = connector.get("tasks") or []
        states = ", ".join("task %s %s" % (task.get("id"), task.get("state")) for task in tasks) or "no task"
        healthy = (
            connector.get("state") == "RUNNING" and tasks and all(task.get("state") == "RUNNING" for task in tasks)
        )
        passed = passed and bool(healthy)
        found.append("%s: %s (%s)" % (connector.get("name"), connector.get("state"), states))
    if not connectors:
        found.append("the Connect cluster has no connector")
    return _result(
        passed, "GET %s/connectors?expand=status" % ((info or {}).get("worker") or {}).get("url", ""), found, at
    )


# What a TLS-only server says to a plaintext client (a PostgreSQL or PgBouncer refusal, an HTTPS
# server's answer to HTTP). An answer without these words is not a proven refusal.
PLAINTEXT_REFUSALS = ("no encryption", "ssl off", "ssl required", "https", "tls", "ssl")
NOTHING_LISTENS = ("connection refused", "timed out", "no route to host", "name or service not known")


def golive_listener_targets(listeners, groups, hostvars, disabled=None):
    """Every (listener, host) pair to probe: listeners are {name, group, port, port_var, protocol};
    a host's own value of port_var (the role's port variable, set in the inventory) wins. Listeners
    named in `disabled` (name -> reason) are left out."""
    targets = []
    for listener in listeners or []:
        if listener["name"] in (disabled or {}):
            continue
        for host in groups.get(listener["group"], []):
            variables = hostvars.get(host, {})
            targets.append(
                {
                    "name": listener["name"],
                    "host": host,
                    "address": variables.get("cdc_address") or variables.get("ansible_host") or host,
                    "port": int(variables.get(listener.get("port_var") or "", listener["port"])),
                    "protocol": listener.get("protocol", "http"),
                    "client_cert": bool(listener.get("client_cert", False)),
                }
            )
    return targets


def _plaintext_outcome(target, answer):
    """(refused, what was seen) for one listener's answer to a plaintext client."""
    if target["protocol"] == "postgresql":
        seen = (answer.get("conn_err_msg") or answer.get("msg") or "").strip()
        if answer.get("is_available"):
            return False, "accepted a session without TLS"
    else:
        status = answer.get("status")
        seen = ("HTTP %s %s" % (status, answer.get("content") or answer.get("msg") or "")).strip()
        if isinstance(status, int) and status > 0 and not (status == 400 and "https" in seen.lower()):
            return False, "answered plain HTTP: " + seen[:200]
    lowered = seen.lower()
    if any(words in lowered for words in NOTHING_LISTENS):
        return False, "nothing listens: " + seen[:200]
    if target["protocol"] == "postgresql" and not any(words in lowered for words in PLAINTEXT_REFUSALS):
        return False, "not refused for want of TLS: " + seen[:200]
    return True, "refused: " + (seen[:200] or "closed without an answer")


def golive_plaintext_result(answers, at, disabled=None):
    """refuses_plaintext from the answers of every listener (loop results whose items are targets of
    golive_listener_targets): each must refuse a plaintext client while listening. The listeners
    left out (`disabled`, name -> reason) are named with their reason."""
    found, passed = [], bool(answers)
    for answer in answers or []:
        target = answer.get("item") or {}
        refused, seen = _plaintext_outcome(target, answer)
        passed = passed and refused
        found.append(
            "%s %s:%s (%s): %s"
            % (target.get("name"), target.get("host"), target.get("port"), target.get("protocol"), seen)
        )
    if not answers:
        found.append("no listener was probed")
    for name, reason in sorted((disabled or {}).items()):
        found.append("%s: not probed (%s)" % (name, reason))
    return _result(passed, "a plaintext client (HTTP, or PostgreSQL with sslmode=disable) to each listener", found, at)


# What a TLS client without a certificate hears from a server that requires one: the handshake
# refused (an alert), or the connection dropped during it.
CERTIFICATE_REFUSALS = ("certificate required", "bad certificate", "handshake failure", "alert", "eof", "reset by peer")


def golive_client_cert_result(answers, at, disabled=None):
    """requires_client_cert from HTTPS requests without a client certificate to every listener that
    requires one: each must refuse the handshake while listening. An HTTP answer of any status means
    the TLS session was accepted without a certificate."""
    found, passed = [], bool(answers)
    for answer in answers or []:
        target = answer.get("item") or {}
        status = answer.get("status")
        seen = (answer.get("msg") or "").strip()
        lowered = seen.lower()
        if isinstance(status, int) and status > 0:
            refused, seen = False, "answered HTTP %s without a client certificate" % status
        elif any(words in lowered for words in NOTHING_LISTENS):
            refused, seen = False, "nothing listens: " + seen[:200]
        elif any(words in lowered for words in CERTIFICATE_REFUSALS):
            refused, seen = True, "refused: " + seen[:200]
        else:
            refused, seen = False, "not refused for want of a certificate: " + seen[:200]
        passed = passed and refused
        found.append("%s %s:%s: %s" % (target.get("name"), target.get("host"), target.get("port"), seen))
    if not answers:
        found.append("no listener was probed")
    for name, reason in sorted((disabled or {}).items()):
        found.append("%s: not probed (%s)" % (name, reason))
    return _result(
        passed, "an HTTPS request without a client certificate to each listener that requires one", found, at
    )


# What a server says when it refuses a login (PostgreSQL and PgBouncer), as opposed to not answering.
LOGIN_REFUSALS = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "no pg_hba.conf entry",
    "not allowed",
    "pg_hba.conf rejects",
)


def golive_login_targets(attempts, targets):
    """Each login attempt of `attempts` ({probe, listener, user, password, path}) on every host of its
    listener (targets from golive_listener_targets), as loop items. Attempts on a listener left out
    (disabled, or not in the map) yield nothing; golive_login_result names them."""
    items = []
    for attempt in attempts or []:
        for target in targets or []:
            if target["name"] == attempt["listener"]:
                item = dict(target)
                item.update(attempt)
                items.append(item)
    return items


def _login_outcome(target, answer):
    """(refused, what was seen) for one login attempt's answer."""
    who = "as %s" % target["user"] if target.get("user") else "without credentials"
    status = answer.get("status")
    if target.get("protocol") == "postgresql":
        seen = (answer.get("conn_err_msg") or answer.get("msg") or "").strip()
        accepted = bool(answer.get("is_available"))
        refused = any(words in seen.lower() for words in LOGIN_REFUSALS)
    else:
        seen = ("HTTP %s %s" % (status, answer.get("msg") or "")).strip()
        accepted = isinstance(status, int) and 200 <= status < 400
        refused = status in (401, 403)
    if accepted:
        outcome = False, "accepted a login %s%s" % (who, ": " + seen[:200] if seen else "")
    elif refused:
        outcome = True, "refused %s: %s" % (who, seen[:200])
    elif any(words in seen.lower() for words in NOTHING_LISTENS):
        outcome = False, "nothing listens (not proven): " + seen[:200]
    else:
        outcome = False, "not refused for its credentials (not proven): " + seen[:200]
    return outcome


LOGIN_COMMANDS = {
    "no_default_credentials": "a login with each default superuser's default password to each listener, over TLS",
    "pooler_serves_tls": (
        "a login without credentials to each pooler, over TLS verified against the pipeline's CA (verify-full)"
    ),
}


def golive_login_result(answers, probe, attempts, at, disabled=None):
    """no_default_credentials, refuses_anonymous or pooler_serves_tls (`probe`) from the answers to its login attempts
    (loop results whose items come from golive_login_targets): every attempt must be refused for its
    credentials by a server that answered. An attempt whose listener is left out is named with the
    reason; an attempt on no host at all fails the probe (nothing was proven)."""
    mine = [answer for answer in answers or [] if (answer.get("item") or {}).get("probe") == probe]
    wanted = [attempt for attempt in attempts or [] if attempt.get("probe") == probe]
    found, passed = [], bool(mine)
    for answer in mine:
        target = answer["item"]
        refused, seen = _login_outcome(target, answer)
        passed = passed and refused
        found.append("%s %s:%s: %s" % (target.get("name"), target.get("host"), target.get("port"), seen))
    tried = set((answer["item"].get("listener"), answer["item"].get("user")) for answer in mine)
    for attempt in wanted:
        if (attempt["listener"], attempt.get("user")) in tried:
            continue
        reason = (disabled or {}).get(attempt["listener"])
        if reason:
            found.append("%s: not tried (%s)" % (attempt["listener"], reason))
        else:
            passed = False
            found.append("%s: no host to try it on" % attempt["listener"])
    if not mine:
        found.append("no login was tried")
    command = LOGIN_COMMANDS.get(probe, "a login without credentials to each listener, over TLS")
    return _result(passed, command, found, at)


DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def _duration_seconds(text):
    """Seconds of a Prometheus duration (30d, 720h, 1w2d, 1y), None when it is not one."""
    matches = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text or "")
    if not matches or "".join(number + unit for number, unit in matches) != text:
        return None
    return sum(int(number) * DURATION_UNITS[unit] for number, unit in matches)


def golive_retention_result(answer, min_days, max_days, at):
    """metrics_retention from a Prometheus server's /api/v1/status/flags: storage.tsdb.retention.time
    (or the older storage.tsdb.retention) within min_days..max_days."""
    flags = ((answer or {}).get("json") or {}).get("data") or {}
    command = "GET /api/v1/status/flags: storage.tsdb.retention.time"
    if not flags:
        seen = (answer or {}).get("msg") or "no answer (status %s)" % (answer or {}).get("status")
        return _result(False, command, "Prometheus did not answer: %s" % seen, at)
    value = flags.get("storage.tsdb.retention.time") or flags.get("storage.tsdb.retention") or ""
    seconds = _duration_seconds(value)
    if seconds is None:
        return _result(False, command, "no retention time among the flags (%r)" % value, at)
    days = seconds / 86400.0
    passed = min_days <= days <= max_days
    return _result(passed, command, "%s (%g days; allowed %s-%s)" % (value, days, min_days, max_days), at)


def golive_group_sizes_result(groups, sizes, answered, at):
    """group_sizes: each group of `sizes` ({group: [fewest, must_be_odd]}) has enough hosts (an odd
    number where a quorum needs it), and every host of the inventory answered this run's probes."""
    found, passed = [], True
    for group, (fewest, odd) in sorted(sizes.items()):
        count = len(groups.get(group, []))
        short = count < fewest or (odd and count % 2 == 0)
        passed = passed and not short
        found.append(
            "%s: %d host(s)%s"
            % (group, count, ", needs %d%s" % (fewest, " and an odd number" if odd else "") if short else "")
        )
    silent = sorted(set(groups.get("all", [])) - set(answered or []))
    if silent:
        passed = False
        found.append("did not answer: %s" % ", ".join(silent))
    return _result(passed, "inventory groups, and the hosts that answered", found, at)


class FilterModule(object):
    def filters(self):
        return {
            "golive_prometheus_batch": golive_prometheus_batch,
            "golive_prometheus_queries": golive_prometheus_queries,
            "golive_prometheus_unbatch": golive_prometheus_unbatch,
            "golive_prometheus_results": golive_prometheus_results,
            "golive_firewall_result": golive_firewall_result,
            "golive_connector_result": golive_connector_result,
            "golive_listener_targets": golive_listener_targets,
            "golive_plaintext_result": golive_plaintext_result,
            "golive_group_sizes_result": golive_group_sizes_result,
            "golive_client_cert_result": golive_client_cert_result,
            "golive_retention_result": golive_retention_result,
            "golive_login_targets": golive_login_targets,
            "golive_login_result": golive_login_result,
        }
