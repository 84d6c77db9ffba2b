# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live verdict: every item of the readiness map judged, and the report people sign.

Pure functions, no Ansible: the golive_report module feeds them the map
(playbooks/vars/readiness_checklist.yml), what the live probes found, and the sign-offs and waivers
of the inventory (docs/go-live.md#sign-offs-and-waivers).

An item's outcome:
- pass      automated: its probe ran live and passed; document: its page is linked (and present)
- fail      automated: its probe failed, or no probe ran for it; document: no page (the map says missing)
- signed    manual: a sign-off names who signed, when, and the evidence
- pending   manual: not signed yet
- waived    not met, and an unexpired waiver names the reason, the signer and the expiry
The verdict: no-go when an item fails, else pending sign-off when a manual item is pending, else go.
Nothing passes for want of a probe: an automated item without a live result fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import html

PASS, FAIL, SIGNED, PENDING, WAIVED = "pass", "fail", "signed", "pending", "waived"
OUTCOMES = (PASS, FAIL, SIGNED, PENDING, WAIVED)
GO, NO_GO, PENDING_SIGN_OFF = "go", "no-go", "pending sign-off"
SIGNOFF_FIELDS = ("signer", "date", "evidence")
WAIVER_FIELDS = ("reason", "signer", "expires")


class GoLiveInputError(ValueError):
    """A sign-off or waiver the evaluation refuses (the message names the item and the fix)."""


def _date(value, where):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise GoLiveInputError("%s: %r is not a date (YYYY-MM-DD)" % (where, value)) from None


def _checked_entries(variable, entries, fields, date_field, allowed, what):
    """One variable's entries, each naming an allowed item and holding every field; its date parsed."""
    checked = {}
    for item_id, entry in sorted((entries or {}).items()):
        where = "%s.%s" % (variable, item_id)
        if item_id not in allowed:
            raise GoLiveInputError(
                "%s: no %s of the readiness map has this id; use the ids of playbooks/vars/readiness_checklist.yml"
                % (where, what)
            )
        if any(not str((entry or {}).get(field) or "").strip() for field in fields):
            raise GoLiveInputError("%s needs %s (docs/go-live.md#sign-offs-and-waivers)" % (where, ", ".join(fields)))
        checked[item_id] = dict(entry, **{date_field: _date(entry[date_field], "%s.%s" % (where, date_field))})
    return checked


def check_declarations(items, signoffs, waivers):
    """Refuse sign-offs and waivers that name no map item or lack a field; return them with dates parsed."""
    manual = set(item["id"] for item in items if item["kind"] == "manual")
    known = set(item["id"] for item in items)
    return (
        _checked_entries("cdc_golive_signoffs", signoffs, SIGNOFF_FIELDS, "date", manual, "manual item"),
        _checked_entries("cdc_golive_waivers", waivers, WAIVER_FIELDS, "expires", known, "item"),
    )


def _unwaived_outcome(item, results, docs_present):
    """(outcome, detail) of an item on its own merits."""
    if item["kind"] == "automated":
        result = results.get(item.get("probe"))
        if result is None:
            return FAIL, {"reason": "no live probe ran for it (probe %s)" % item.get("probe")}
        return (PASS if result.get("passed") else FAIL), {"evidence": result}
    if item["kind"] == "document":
        page = (item.get("doc") or "").split("#")[0]
        if item.get("status") == "missing" or not page:
            return FAIL, {"reason": "the page does not exist yet"}
        if docs_present is not None and page not in docs_present:
            return FAIL, {"reason": "%s is not in this collection" % page, "doc": item.get("doc")}
        return PASS, {"doc": item.get("doc")}
    return PENDING, {"signer_role": item.get("signer"), "evidence_asked": item.get("evidence")}


def evaluate_item(item, results, signoffs, waivers, today, docs_present=None):
    """One map entry judged: its id, section, kind, outcome and what the outcome rests on."""
    outcome, detail = _unwaived_outcome(item, results, docs_present)
    if item["kind"] == "manual" and item["id"] in signoffs:
        outcome, detail = SIGNED, {"signoff": signoffs[item["id"]]}
    waiver = waivers.get(item["id"])
    if waiver is not None and outcome in (FAIL, PENDING):
        if waiver["expires"] >= today:
            detail = dict(detail, waiver=waiver)
            outcome = WAIVED
        else:
            detail = dict(detail, waiver_expired=waiver)
    evaluated = {"id": item["id"], "section": item["section"], "position": item["position"], "kind": item["kind"]}
    evaluated.update(outcome=outcome, **detail)
    return evaluated


def verdict(evaluated):
    outcomes = set(item["outcome"] for item in evaluated)
    if FAIL in outcomes:
        return NO_GO
    return PENDING_SIGN_OFF if PENDING in outcomes else GO


def section_counts(evaluated):
    """Per section, in the map's order: items and each outcome's count."""
    counts = {}
    for item in evaluated:
        section = counts.setdefault(item["section"], dict([("items", 0)] + [(outcome, 0) for outcome in OUTCOMES]))
        section["items"] += 1
        section[item["outcome"]] += 1
    return counts


def merge_host_results(host_results):
    """Per-host probe results (host -> probe -> result) as one result per probe.

    A probe passes when it passed on every host that ran it; its evidence keeps each host's result
    (failing hosts first, named in the result), the command and the latest time.
    """
    merged = {}
    for host in sorted(host_results or {}):
        for probe, result in sorted((host_results[host] or {}).items()):
            merged.setdefault(probe, []).append((host, result or {}))
    results = {}
    for probe, by_host in merged.items():
        failed = [host for host, result in by_host if not result.get("passed")]
        evidence = {"by_host": dict((host, result.get("result")) for host, result in by_host)}
        if failed:
            evidence["failed_on"] = failed
        results[probe] = {
            "passed": not failed,
            "command": by_host[0][1].get("command"),
            "result": evidence,
            "at": max(str(result.get("at") or "") for result in dict(by_host).values()) or None,
        }
    return results


def build_report(items, results, signoffs, waivers, now, docs_present=None):
    """The whole report as a JSON-ready dict."""
    signoffs, waivers = check_declarations(items, signoffs, waivers)
    evaluated = [evaluate_item(item, results, signoffs, waivers, now.date(), docs_present) for item in items]
    return {
        "report_version": 1,
        "generated_at": now.isoformat(),
        "verdict": verdict(evaluated),
        "failing": [item["id"] for item in evaluated if item["outcome"] == FAIL],
        "pending": [item["id"] for item in evaluated if item["outcome"] == PENDING],
        "sections": section_counts(evaluated),
        "items": evaluated,
    }


# --------------------------------------------------------------------------------------------
# The page people read: self-contained (no script, no external resource), every value escaped
# --------------------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1d1d1d}
.verdict{font-size:28px;font-weight:700;padding:.5em 1em;border-radius:6px;display:inline-block}
.go{background:#d9f2dd;color:#0b5d1e}.no-go{background:#f9d7d7;color:#8a1010}
.pending-sign-off{background:#fdf0c8;color:#6b4e00}
table{border-collapse:collapse;margin:1em 0;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f2f2f2}.o-pass,.o-signed{color:#0b5d1e}.o-fail{color:#8a1010;font-weight:700}
.o-pending{color:#6b4e00}.o-waived{color:#3d3d9e}pre{margin:0;white-space:pre-wrap;font-size:12px}
"""


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def _detail_html(item):
    parts = []
    for key in ("reason", "doc", "signer_role", "evidence_asked"):
        if item.get(key):
            parts.append("%s: %s" % (_e(key.replace("_", " ")), _e(item[key])))
    evidence = item.get("evidence")
    if isinstance(evidence, dict):
        for key in ("command", "result", "at"):
            if evidence.get(key) is not None:
                parts.append("%s: <pre>%s</pre>" % (_e(key), _e(evidence[key])))
    for key, label in (("signoff", "signed"), ("waiver", "waived"), ("waiver_expired", "waiver expired")):
        if item.get(key):
            fields = ", ".join("%s %s" % (_e(name), _e(value)) for name, value in sorted(item[key].items()))
            parts.append("%s: %s" % (_e(label), fields))
    return "<br>".join(parts)


def render_html(report):
    verdict_class = report["verdict"].replace(" ", "-")
    rows = []
    for name, counts in report["sections"].items():
        rows.append(
            "<tr><td>%s</td>%s</tr>" % (_e(name), "".join("<td>%d</td>" % counts[key] for key in ("items",) + OUTCOMES))
        )
    items = []
    for item in report["items"]:
        items.append(
            '<tr><td>%s</td><td>%s %s</td><td>%s</td><td class="o-%s">%s</td><td>%s</td></tr>'
            % (
                _e(item["section"]),
                _e(item["position"]),
                _e(item["id"]),
                _e(item["kind"]),
                _e(item["outcome"]),
                _e(item["outcome"]),
                _detail_html(item),
            )
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Go-live report: %s</title>'
        "<style>%s</style></head><body><h1>Go-live report</h1>"
        '<p class="verdict %s" id="verdict">%s</p><p>Generated %s. Failing: %s. Pending sign-off: %s.</p>'
        "<h2>Sections</h2><table><tr><th>section</th><th>items</th>%s</tr>%s</table>"
        "<h2>Items</h2><table><tr><th>section</th><th>item</th><th>kind</th><th>outcome</th><th>evidence</th></tr>%s"
        "</table></body></html>\n"
        % (
            _e(report["verdict"]),
            STYLE,
            _e(verdict_class),
            _e(report["verdict"]),
            _e(report["generated_at"]),
            _e(", ".join(report["failing"]) or "none"),
            _e(", ".join(report["pending"]) or "none"),
            "".join("<th>%s</th>" % _e(key) for key in OUTCOMES),
            "".join(rows),
            "".join(items),
        )
    )
