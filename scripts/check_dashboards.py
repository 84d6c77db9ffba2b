#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the pipeline's Grafana dashboards (roles/grafana/files/dashboards), statically or against a live Prometheus.

--static (no services; a stage of `make test` through tests/unit/test_check_dashboards.py):
  every dashboard is JSON with a uid and a title, declares the `datasource` variable (type
  datasource, query prometheus), has unique panel ids (rows and the panels of collapsed rows
  included), every panel query has an expression and points at the datasource variable, rates use
  $__rate_interval, and every metric name in a panel or variable query is known: listed in
  docs/alerts.md's metric contract or in roles/grafana/files/known_metrics.yml.

--prometheus URL (live): every panel target's expression, with Grafana's variables substituted
  ($__rate_interval, $__interval, $__range, the dashboard's variables with their "All" value), and
  every query variable, is evaluated with /api/v1/query. A query that errors or returns no data is a
  failure naming dashboard, panel and expression. Panels that need a component that cannot run
  where the check runs are skipped by tag (--skip-panel-tag TAG=REASON) or by name (--skip-panel,
  --allow-list FILE); each skip is printed as SKIPPED with its reason, never silently.

Exit status: 0 all passed, 1 a check failed, 2 bad usage or unreadable input.
See docs/grafana.md.
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DASHBOARDS = ROOT / "roles" / "grafana" / "files" / "dashboards"
DEFAULT_CONTRACT = ROOT / "docs" / "alerts.md"
DEFAULT_KNOWN = ROOT / "roles" / "grafana" / "files" / "known_metrics.yml"
DATASOURCE_VARIABLE = "datasource"

# --- durations and Grafana's built-in variables ------------------------------------------------------
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus/Grafana duration such as 30s, 1m30s, 2h, 500ms."""
    text = text.strip()
    parts = _DURATION_RE.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """A duration Prometheus accepts: whole seconds as `120s`, else milliseconds."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def builtin_values(scrape_interval: str = "30s", interval: str = "30s", range_: str = "1h") -> dict[str, str]:
    """Values of Grafana's built-in variables for one evaluation.

    $__rate_interval is Grafana's max($__interval + scrape interval, 4 x scrape interval), where the
    scrape interval is the datasource's timeInterval (the prometheus role's scrape interval).
    """
    scrape, step, span = parse_duration(scrape_interval), parse_duration(interval), parse_duration(range_)
    rate = max(step + scrape, 4 * scrape)
    return {
        "__rate_interval": format_duration(rate),
        "__rate_interval_ms": str(int(rate * 1000)),
        "__interval": format_duration(step),
        "__interval_ms": str(int(step * 1000)),
        "__range": format_duration(span),
        "__range_s": str(int(span)),
        "__range_ms": str(int(span * 1000)),
    }


# --- template variables ---------------------------------------------------------------------------
def variables(dashboard: dict) -> list[dict]:
    return list((dashboard.get("templating") or {}).get("list") or [])


def variable_value(variable: dict) -> str | None:
    """The value a variable takes when every option is selected ("All"), or its only value.

    query variables and any with includeAll: allValue, else `.*` (Grafana would join all options as a
    regex; `.*` selects the same series for `label=~"$var"`). custom/interval: the current value, else
    the first option. constant/textbox: the query or the current value. datasource: None (left alone).
    """
    kind = variable.get("type", "query")
    current = (variable.get("current") or {}).get("value")
    if isinstance(current, list):
        current = current[0] if current else None
    options = [option.get("value") for option in variable.get("options") or [] if option.get("value") != "$__all"]
    query = variable.get("query") if isinstance(variable.get("query"), str) else ""
    if kind == "datasource":
        value = None
    elif kind in ("constant", "textbox"):
        value = str(query or current or "")
    elif variable.get("includeAll") or kind == "query":
        value = str(variable.get("allValue") or ".*")
    elif current and current != "$__all":
        value = str(current)
    elif options:
        value = str(options[0])
    else:
        value = query.split(",")[0].strip() if query else ".*"
    return value


def dashboard_values(dashboard: dict, builtins: dict[str, str]) -> dict[str, str]:
    """Built-in values plus the "All" value of each of the dashboard's variables."""
    values = dict(builtins)
    for variable in variables(dashboard):
        value = variable_value(variable)
        if value is not None and variable.get("name"):
            values[variable["name"]] = value
    return values


_VARIABLE_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's variable interpolation: $name, ${name}, ${name:format}, [[name]]. Unknown names stay."""

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name, match.group(0))

    return _VARIABLE_RE.sub(replace, expr)


def unresolved_variables(expr: str, values: dict[str, str]) -> list[str]:
    """Variable references left after substitution ($1 of label_replace is not a variable)."""
    return [
        match.group(0)
        for match in _VARIABLE_RE.finditer(expr)
        if (match.group(1) or match.group(2) or match.group(3)) not in values
        and not (match.group(1) or match.group(2) or match.group(3)).isdigit()
    ]


# --- panels -----------------------------------------------------------------------------------------
@dataclass
class PanelRef:
    panel: dict
    row: str | None = None

    @property
    def title(self) -> str:
        return str(self.panel.get("title") or f"panel {self.panel.get('id')}")

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.panel.get("tags") or []]


def walk_panels(dashboard: dict, include_rows: bool = False) -> Iterator[PanelRef]:
    """Every panel: top level, inside rows (collapsed rows keep theirs in `panels`), and the old
    schema's `rows[].panels`. Rows themselves only with include_rows."""

    def visit(panels: list, row: str | None) -> Iterator[PanelRef]:
        for panel in panels or []:
            if panel.get("type") == "row":
                if include_rows:
                    yield PanelRef(panel, row)
                yield from visit(panel.get("panels") or [], panel.get("title"))
            else:
                yield PanelRef(panel, row)

    current_row = None
    for panel in dashboard.get("panels") or []:
        if panel.get("type") == "row":
            current_row = panel.get("title")
            if include_rows:
                yield PanelRef(panel, None)
            yield from visit(panel.get("panels") or [], current_row)
        else:
            yield PanelRef(panel, current_row)
    for old_row in dashboard.get("rows") or []:
        yield from visit(old_row.get("panels") or [], old_row.get("title"))


def panel_targets(panel: dict) -> list[dict]:
    return [target for target in panel.get("targets") or [] if isinstance(target, dict)]


def variable_query_expr(variable: dict) -> str | None:
    """The PromQL behind a query variable: label_values(expr, label) -> expr, query_result(expr) -> expr,
    label_values(label) and metrics(regex) -> None (no series to check)."""
    if variable.get("type") != "query":
        return None
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    if not isinstance(query, str):
        return None
    query = query.strip()
    match = re.fullmatch(r"label_values\((.*),\s*(\w+)\s*\)", query, re.DOTALL)
    if match:
        return match.group(1).strip()
    match = re.fullmatch(r"query_result\((.*)\)", query, re.DOTALL)
    if match:
        return match.group(1).strip()
    return None


def variable_query_label(variable: dict) -> str | None:
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    match = re.fullmatch(r"label_values\((.*),\s*(\w+)\s*\)", str(query or "").strip(), re.DOTALL)
    return match.group(2) if match else None


# --- metric names in PromQL -------------------------------------------------------------------------
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    "inf",
    "nan",
    "start",
    "end",
    # aggregation operators: `sum by (a) (x)` leaves `sum by (x)`, where sum is not followed by "("
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}
_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING_RE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NUMBER_RE = re.compile(r"(?<![\w:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?![\w:])")
_OFFSET_RE = re.compile(r"\boffset\s+-?[\w$]+")
_IDENT_RE = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, label names and values excluded).

    Also recognises {__name__="..."} selectors. Grafana variables are removed first.
    """
    names = set(re.findall(r'__name__\s*=\s*"([A-Za-z_:][A-Za-z0-9_:]*)"', expr))
    text = _VARIABLE_RE.sub(" ", expr)
    text = _STRING_RE.sub('""', text)
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)  # range and subquery windows
    text = _OFFSET_RE.sub(" ", text)
    text = re.sub(r"@\s*[\w.()]+", " ", text)
    # One pass: a second would take `by (metric)` of `sum by (a) (metric)` for another label list.
    text = _GROUPING_RE.sub(r" \1 ", text)
    text = _NUMBER_RE.sub(" ", text)
    for match in _IDENT_RE.finditer(text):
        token = match.group(0)
        rest = text[match.end() :].lstrip()
        if token in _KEYWORDS or rest.startswith("("):
            continue
        names.add(token)
    return names


_RATE_WINDOW_RE = re.compile(r"\b(i?rate)\s*\(\s*[^()\[\]]*\[([^\]]+)\]")


def rate_windows(expr: str) -> list[tuple[str, str]]:
    """(function, window) of every rate( and irate( over a plain selector."""
    return [(match.group(1), match.group(2).strip()) for match in _RATE_WINDOW_RE.finditer(expr)]


# --- known metric names -----------------------------------------------------------------------------
_CONTRACT_LINE_RES = (
    re.compile(r"^\|\s*`([A-Za-z_:][A-Za-z0-9_:]*)`\s*\|"),  # table row: | `name` | ...
    re.compile(r"^-\s+`([A-Za-z_:][A-Za-z0-9_:]*)`"),  # bullet: - `name`: ...
    re.compile(r"^`([A-Za-z_:][A-Za-z0-9_:]*)`\s"),  # paragraph starting with `name`
)


def contract_metrics(markdown: str) -> set[str]:
    """Metric names named in the "Metric contract" section of docs/alerts.md."""
    names, inside = set(), False
    for line in markdown.splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Metric contract"
            continue
        if not inside:
            continue
        for pattern in _CONTRACT_LINE_RES:
            match = pattern.match(line.strip())
            if match and match.group(1) not in ("metric",):
                names.add(match.group(1))
    return names


def known_metrics_from_file(document: dict) -> set[str]:
    """Names in known_metrics.yml: {exporter: [name, ...], ...}."""
    names = set()
    for exporter, entries in (document or {}).items():
        if not isinstance(entries, list):
            raise ValueError(f"known metrics: {exporter} must be a list of metric names")
        names.update(str(entry) for entry in entries)
    return names


# --- static checks ----------------------------------------------------------------------------------
def _datasource_ok(reference) -> bool:
    if isinstance(reference, str):
        return reference in ("$datasource", "${datasource}")
    if isinstance(reference, dict):
        return (
            reference.get("uid") in ("$datasource", "${datasource}")
            and reference.get("type", "prometheus") == "prometheus"
        )
    return False


def _unknown(names: set[str], known: set[str] | None) -> list[str]:
    return [] if known is None else sorted(names - known)


def _dashboard_problems(dashboard: dict, known: set[str] | None, label: str) -> list[str]:
    problems = [
        f"{label}: no {key}"
        for key in ("uid", "title")
        if not isinstance(dashboard.get(key), str) or not dashboard.get(key)
    ]
    declared = {variable.get("name"): variable for variable in variables(dashboard)}
    datasource = declared.get(DATASOURCE_VARIABLE)
    if not datasource or datasource.get("type") != "datasource" or datasource.get("query") != "prometheus":
        problems.append(f"{label}: no `{DATASOURCE_VARIABLE}` variable of type datasource for prometheus")
    for variable in variables(dashboard):
        if variable.get("type") == "query" and not _datasource_ok(variable.get("datasource")):
            problems.append(f"{label}: variable ${variable.get('name')} does not use the datasource variable")
        for metric in _unknown(metric_names(variable_query_expr(variable) or ""), known):
            problems.append(f"{label}: variable ${variable.get('name')}: unknown metric {metric}")
    return problems


def _target_problems(target: dict, panel: dict, at: str, values: dict[str, str], known: set[str] | None) -> list[str]:
    expr = target.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        return [f"{at}: no expr"]
    problems = []
    if not _datasource_ok(target.get("datasource", panel.get("datasource"))):
        problems.append(f"{at}: datasource is not the ${DATASOURCE_VARIABLE} variable")
    problems += [
        f"{at}: {function}() over [{window}], use [$__rate_interval]"
        for function, window in rate_windows(expr)
        if window != "$__rate_interval"
    ]
    problems += [f"{at}: {name} is not a variable of this dashboard" for name in unresolved_variables(expr, values)]
    problems += [
        f"{at}: unknown metric {metric} (not in docs/alerts.md or known_metrics.yml)"
        for metric in _unknown(metric_names(expr), known)
    ]
    return problems


def _panel_problems(panel: dict, where: str, values: dict[str, str], known: set[str] | None) -> list[str]:
    problems = [] if "gridPos" in panel else [f"{where}: no gridPos"]
    if panel.get("type") in ("row", "text", "news", "dashlist"):
        return problems
    if not isinstance(panel.get("tags", []), list):
        problems.append(f"{where}: tags must be a list")
    targets = panel_targets(panel)
    if not targets:
        problems.append(f"{where}: no targets")
    refs = [target.get("refId") for target in targets]
    if len(set(refs)) != len(refs):
        problems.append(f"{where}: duplicate refId in {refs}")
    for target in targets:
        problems += _target_problems(target, panel, f"{where} [{target.get('refId', '?')}]", values, known)
    return problems


def static_problems(dashboard: dict, known: set[str] | None, name: str = "") -> list[str]:
    """Everything wrong with one dashboard that can be seen without Prometheus (known=None: structure only)."""
    label = name or str(dashboard.get("uid") or dashboard.get("title") or "?")
    if not isinstance(dashboard.get("panels"), list):
        return [f"{label}: no panels list"]
    problems = _dashboard_problems(dashboard, known, label)
    values = dashboard_values(dashboard, builtin_values())
    ids: dict[object, str] = {}
    for ref in walk_panels(dashboard, include_rows=True):
        where, panel_id = f"{label} / {ref.title}", ref.panel.get("id")
        if not isinstance(panel_id, int):
            problems.append(f"{where}: panel id {panel_id!r} is not an integer")
        elif panel_id in ids:
            problems.append(f"{where}: panel id {panel_id} is also used by {ids[panel_id]}")
        else:
            ids[panel_id] = ref.title
        problems += _panel_problems(ref.panel, where, values, known)
    return problems


def needed_metrics(dashboard: dict) -> set[str]:
    names = set()
    for ref in walk_panels(dashboard):
        for target in panel_targets(ref.panel):
            names |= metric_names(str(target.get("expr") or ""))
    for variable in variables(dashboard):
        names |= metric_names(variable_query_expr(variable) or "")
    return names


# --- live checks ------------------------------------------------------------------------------------
@dataclass
class Skips:
    """Panels not evaluated, each with the reason printed."""

    by_tag: dict[str, str] = field(default_factory=dict)
    by_panel: dict[tuple[str, str], str] = field(default_factory=dict)

    def reason(self, dashboard: dict, file_name: str, ref: PanelRef) -> str | None:
        for tag in ref.tags:
            if tag in self.by_tag:
                return f"tag {tag}: {self.by_tag[tag]}"
        for key in (dashboard.get("uid"), dashboard.get("title"), file_name, Path(file_name).stem):
            reason = self.by_panel.get((str(key), ref.title))
            if reason:
                return reason
        return None


def classify(answer: dict) -> str | None:
    """None when a /api/v1/query answer has data, else why not."""
    if answer.get("status") != "success":
        return f"query error: {answer.get('errorType', '')} {answer.get('error', answer)}".strip()
    data = answer.get("data") or {}
    kind = data.get("resultType")
    if kind in ("vector", "matrix"):
        return None if data.get("result") else "no data"
    if kind in ("scalar", "string"):
        return None
    return f"unexpected answer: {data}"


@dataclass
class Outcome:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def check_live(
    dashboards: dict[str, dict],
    query: Callable[[str], dict],
    builtins: dict[str, str],
    skips: Skips,
    say: Callable[[str], None] = print,
) -> Outcome:
    """Evaluate every panel target and query variable of every dashboard with `query`."""
    outcome = Outcome()
    for file_name, dashboard in sorted(dashboards.items()):
        label = str(dashboard.get("uid") or file_name)
        values = dashboard_values(dashboard, builtins)

        def run(where: str, expr: str) -> None:
            try:
                problem = classify(query(expr))
            except OSError as exc:
                problem = f"request failed: {exc}"
            if problem:
                outcome.failed.append(f"{where}: {problem}: {expr}")
                say(f"FAIL    {where}: {problem}: {expr}")
            else:
                outcome.passed.append(where)
                say(f"ok      {where}")

        for variable in variables(dashboard):
            expr = variable_query_expr(variable)
            if expr is None:
                continue
            label_name = variable_query_label(variable)
            expr = substitute(expr, values)
            run(
                f"{label} / variable ${variable.get('name')}",
                f"count by ({label_name}) ({expr})" if label_name else expr,
            )
        for ref in walk_panels(dashboard):
            targets = [target for target in panel_targets(ref.panel) if str(target.get("expr") or "").strip()]
            if not targets:
                continue
            where = f"{label} / {ref.title}"
            reason = skips.reason(dashboard, file_name, ref)
            if reason:
                outcome.skipped.append(f"{where}: {reason}")
                say(f"SKIPPED {where}: {reason}")
                continue
            for target in targets:
                run(f"{where} [{target.get('refId', '?')}]", substitute(str(target["expr"]), values))
    return outcome


def prometheus_query_function(
    url: str,
    *,
    ca_cert: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    timeout: float = 15,
    at: float | None = None,
) -> Callable[[str], dict]:
    """query(expr) -> the JSON answer of POST <url>/api/v1/query (errors included)."""
    context = None
    if url.startswith("https://"):
        context = ssl.create_default_context(cafile=ca_cert)
        if client_cert:
            context.load_cert_chain(client_cert, client_key)
    endpoint = url.rstrip("/") + "/api/v1/query"

    def query(expr: str) -> dict:
        form = {"query": expr}
        if at is not None:
            form["time"] = str(at)
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(endpoint, data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as exc:
            # Prometheus answers 400/422/503 with a JSON error body.
            try:
                return json.loads(exc.read().decode("utf-8", "replace"))
            except ValueError:
                return {"status": "error", "errorType": f"http {exc.code}", "error": str(exc)}

    return query


# --- command line -----------------------------------------------------------------------------------
def load_dashboards(directory: Path) -> dict[str, dict]:
    dashboards = {}
    for path in sorted(directory.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise ValueError(f"{path}: not a dashboard object")
        dashboards[str(path.relative_to(directory))] = document
    if not dashboards:
        raise ValueError(f"no *.json dashboards in {directory}")
    return dashboards


def _reason_pairs(items: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, reason = item.split("=", 1) if "=" in item else (item, "")
        if not key.strip() or not reason.strip():
            raise ValueError(f"{what} needs KEY=REASON (a reason is printed with every skip): {item!r}")
        pairs[key.strip()] = reason.strip()
    return pairs


def load_yaml(path: Path):
    """A YAML file's content; ValueError when it is not YAML."""
    # Imported only where YAML is read, so the live mode runs on a host with the standard library alone
    # (a monitoring host, where the client key already is).
    import yaml  # noqa: PLC0415

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML: {exc}") from exc


def load_skips(tags: list[str], panels: list[str], allow_list: Path | None) -> Skips:
    skips = Skips(by_tag=_reason_pairs(tags, "--skip-panel-tag"))
    for key, reason in _reason_pairs(panels, "--skip-panel").items():
        dashboard, panel = key.split("/", 1) if "/" in key else (key, "")
        if not panel:
            raise ValueError(f"--skip-panel needs DASHBOARD/PANEL TITLE=REASON: {key!r}")
        skips.by_panel[(dashboard.strip(), panel.strip())] = reason
    if allow_list:
        entries = load_yaml(allow_list) or []
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("reason") or not (entry.get("tag") or entry.get("panel")):
                raise ValueError(f"{allow_list}: each entry needs tag or dashboard+panel, and a reason: {entry!r}")
            if entry.get("tag"):
                skips.by_tag[str(entry["tag"])] = str(entry["reason"])
            else:
                skips.by_panel[(str(entry.get("dashboard", "")), str(entry["panel"]))] = str(entry["reason"])
    return skips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", maxsplit=1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dashboards", type=Path, default=DEFAULT_DASHBOARDS, help="directory of *.json dashboards")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--static", action="store_true", help="structure and metric names, no Prometheus")
    mode.add_argument("--prometheus", metavar="URL", help="evaluate every query against this Prometheus")
    mode.add_argument("--list-metrics", action="store_true", help="print the metric names each dashboard needs")
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT, help="docs/alerts.md (metric contract)")
    parser.add_argument("--known-metrics", type=Path, default=DEFAULT_KNOWN, help="known_metrics.yml")
    parser.add_argument("--ca-cert", help="CA bundle that signed Prometheus' certificate")
    parser.add_argument("--client-cert", help="client certificate (Prometheus requires one of the pipeline PKI)")
    parser.add_argument("--client-key", help="key of --client-cert")
    parser.add_argument(
        "--scrape-interval", default="30s", help="the datasource's scrape interval (prometheus_scrape_interval)"
    )
    parser.add_argument("--interval", default="30s", help="value of $__interval")
    parser.add_argument("--range", default="1h", help="value of $__range")
    parser.add_argument("--timeout", type=float, default=15, help="seconds per query")
    parser.add_argument("--skip-panel-tag", action="append", default=[], metavar="TAG=REASON")
    parser.add_argument("--skip-panel", action="append", default=[], metavar="DASHBOARD/PANEL=REASON")
    parser.add_argument("--allow-list", type=Path, help="YAML list of {tag, reason} or {dashboard, panel, reason}")
    args = parser.parse_args(argv)

    try:
        dashboards = load_dashboards(args.dashboards)
        structural = [problem for name, board in dashboards.items() for problem in static_problems(board, None, name)]
        if args.list_metrics:
            for name, board in sorted(dashboards.items()):
                print(f"{name} ({board.get('uid')}):")
                for metric in sorted(needed_metrics(board)):
                    print(f"  {metric}")
            return 0
        if args.static:
            known = contract_metrics(args.contract.read_text(encoding="utf-8"))
            known |= known_metrics_from_file(load_yaml(args.known_metrics))
            problems = [
                problem for name, board in dashboards.items() for problem in static_problems(board, known, name)
            ]
            for problem in problems:
                print(f"FAIL {problem}")
            panels = sum(len(list(walk_panels(board))) for board in dashboards.values())
            summary = f"{len(dashboards)} dashboards, {panels} panels, {len(known)} known metric names"
            print(f"{summary}: {len(problems)} problems")
            return 1 if problems else 0
        builtins = builtin_values(args.scrape_interval, args.interval, args.range)
        skips = load_skips(args.skip_panel_tag, args.skip_panel, args.allow_list)
        query = prometheus_query_function(
            args.prometheus,
            ca_cert=args.ca_cert,
            client_cert=args.client_cert,
            client_key=args.client_key,
            timeout=args.timeout,
            at=time.time(),
        )
    except (OSError, ValueError, ssl.SSLError) as exc:
        print(f"check_dashboards: {exc}", file=sys.stderr)
        return 2
    for problem in structural:
        print(f"FAIL {problem}")
    outcome = check_live(dashboards, query, builtins, skips)
    print(
        f"{len(dashboards)} dashboards against {args.prometheus} ($__rate_interval={builtins['__rate_interval']}): "
        f"{len(outcome.passed)} queries with data, {len(outcome.failed) + len(structural)} failed, "
        f"{len(outcome.skipped)} panels skipped"
    )
    return 1 if outcome.failed or structural else 0


if __name__ == "__main__":
    sys.exit(main())
