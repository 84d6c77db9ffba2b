# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/check_dashboards.py: the pure logic (variables, metric names, panel walking, static rules,
live classification with a stand-in Prometheus) and the shipped dashboards themselves (--static is
how `make test` checks them without services)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import check_dashboards as cd  # noqa: E402
import gen_dashboards  # noqa: E402

pytestmark = pytest.mark.unit


# --- durations and built-in variables ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m30s", 90), ("2h", 7200), ("500ms", 0.5), ("1d", 86400), ("1.5m", 90)],
)
def test_parse_duration(text, seconds):
    assert cd.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "s", "1m x", "1x"])
def test_parse_duration_refuses_garbage(text):
    with pytest.raises(ValueError):
        cd.parse_duration(text)


def test_rate_interval_is_grafanas_formula():
    # max($__interval + scrape, 4 x scrape)
    assert cd.builtin_values("30s", "30s")["__rate_interval"] == "120s"
    assert cd.builtin_values("10s", "60s")["__rate_interval"] == "70s"
    assert cd.builtin_values("15s", "15s", "6h") == {
        "__rate_interval": "60s",
        "__rate_interval_ms": "60000",
        "__interval": "15s",
        "__interval_ms": "15000",
        "__range": "21600s",
        "__range_s": "21600",
        "__range_ms": "21600000",
    }


# --- substitution -----------------------------------------------------------------------------------
VALUES = {**cd.builtin_values("30s", "30s", "1h"), "instance": ".*", "job": "kafka"}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(x[$__rate_interval])", "rate(x[120s])"),
        ("rate(x[${__rate_interval}])", "rate(x[120s])"),
        ("increase(x[$__range])", "increase(x[3600s])"),
        # $__range_s is its own variable, not $__range followed by "_s"
        ("x / $__range_s", "x / 3600"),
        ('up{instance=~"$instance"}', 'up{instance=~".*"}'),
        ('up{instance=~"${instance:regex}"}', 'up{instance=~".*"}'),
        ('up{job="[[job]]"}', 'up{job="kafka"}'),
        # label_replace's $1 and names no dashboard declares are left alone
        ('label_replace(x, "c", "$1", "client_id", "(.+)")', 'label_replace(x, "c", "$1", "client_id", "(.+)")'),
        ('x{a="$unknown"}', 'x{a="$unknown"}'),
    ],
)
def test_substitute(expr, expected):
    assert cd.substitute(expr, VALUES) == expected


def test_unresolved_variables_ignore_capture_groups():
    assert cd.unresolved_variables('label_replace(x, "c", "$1", "s", "(.+)") + $nope', VALUES) == ["$nope"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ({"type": "query", "name": "i", "includeAll": True, "allValue": ".+"}, ".+"),
        ({"type": "query", "name": "i", "includeAll": True}, ".*"),
        ({"type": "query", "name": "i"}, ".*"),
        ({"type": "custom", "name": "c", "current": {"value": "b"}, "options": [{"value": "a"}]}, "b"),
        ({"type": "custom", "name": "c", "current": {"value": ["$__all"]}, "options": [{"value": "a"}]}, "a"),
        ({"type": "interval", "name": "w", "query": "1m,5m"}, "1m"),
        ({"type": "constant", "name": "k", "query": "cdc"}, "cdc"),
        ({"type": "datasource", "name": "datasource", "query": "prometheus"}, None),
    ],
)
def test_variable_value(variable, value):
    assert cd.variable_value(variable) == value


def test_dashboard_values_combine_builtins_and_variables():
    board = {"templating": {"list": [{"type": "datasource", "name": "datasource"}, {"type": "query", "name": "x"}]}}
    values = cd.dashboard_values(board, {"__interval": "30s"})
    assert values == {"__interval": "30s", "x": ".*"}


# --- metric names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('sum by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', {"node_cpu_seconds_total"}),
        ("sum(rate(a_total[1m])) by (job) / on (job) group_left (x) b", {"a_total", "b"}),
        (
            'max by (connector) (label_replace(lag{client_id=~"consumer-.+"}, "c", "$1", "client_id", "(.+)"))',
            {"lag"},
        ),
        # label values and strings that look like metric names are not metrics
        ('up{job="kafka_server_fake_total"} == bool 1', {"up"}),
        ("count(x == 0) or 0 * count(x)", {"x"}),
        ("time() - max by (stanza, type) (backup_ts)", {"backup_ts"}),
        ("vector(1) + scalar(y)", {"y"}),
        ("histogram_quantile(0.99, sum by (le) (rate(req_bucket[5m])))", {"req_bucket"}),
        ("rate(x[$__rate_interval]) > 1e3 and y offset 5m", {"x", "y"}),
        ("max_over_time(x[1h:1m])", {"x"}),
        ('{__name__="by_name_only"}', {"by_name_only"}),
        ("topk(5, x) unless ignoring (a, b) z", {"x", "z"}),
        ("recorded:rule:ratio * 100", {"recorded:rule:ratio"}),
        ('a{instance=~"$instance"} - b{instance=~"${instance}"}', {"a", "b"}),
        ("quantile_over_time(0.9, x[10m]) atan2 y", {"x", "y"}),
    ],
)
def test_metric_names(expr, names):
    assert cd.metric_names(expr) == names


def test_rate_windows():
    assert cd.rate_windows('rate(a[$__rate_interval]) + irate(b{x="y"}[5m]) + increase(c[10m])') == [
        ("rate", "$__rate_interval"),
        ("irate", "5m"),
    ]


@pytest.mark.parametrize(
    ("query", "expr", "label"),
    [
        ('label_values(up{job="kafka"}, instance)', 'up{job="kafka"}', "instance"),
        ({"query": "label_values(x, connector)", "refId": "A"}, "x", "connector"),
        ("query_result(topk(3, y))", "topk(3, y)", None),
        ("label_values(instance)", None, None),
        ("metrics(node_.*)", None, None),
    ],
)
def test_variable_query_expr(query, expr, label):
    variable = {"type": "query", "name": "v", "query": query}
    assert cd.variable_query_expr(variable) == expr
    assert cd.variable_query_label(variable) == label


# --- panels -----------------------------------------------------------------------------------------
def _panel(pid, title, expr="up", tags=()):
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "tags": list(tags),
        "gridPos": {"h": 4, "w": 4, "x": 0, "y": 0},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "targets": [{"refId": "A", "expr": expr, "datasource": {"type": "prometheus", "uid": "${datasource}"}}],
    }


def _row(pid, title, collapsed=False, panels=()):
    return {"id": pid, "type": "row", "title": title, "collapsed": collapsed, "panels": list(panels), "gridPos": {}}


def _board(panels, extra_variables=(), **more):
    return {
        "uid": "t",
        "title": "T",
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}, *extra_variables]},
        "panels": panels,
        **more,
    }


def test_walk_panels_open_and_collapsed_rows_and_old_schema():
    board = _board(
        [
            _panel(1, "top"),
            _row(2, "open"),
            _panel(3, "under open"),
            _row(4, "closed", collapsed=True, panels=[_panel(5, "inside closed"), _panel(6, "also inside")]),
            _row(7, "after"),
            _panel(8, "under after"),
        ],
        rows=[{"title": "legacy", "panels": [_panel(9, "legacy panel")]}],
    )
    found = [(ref.title, ref.row) for ref in cd.walk_panels(board)]
    assert found == [
        ("top", None),
        ("under open", "open"),
        ("inside closed", "closed"),
        ("also inside", "closed"),
        ("under after", "after"),
        ("legacy panel", "legacy"),
    ]
    with_rows = [ref.title for ref in cd.walk_panels(board, include_rows=True)]
    assert with_rows == [
        "top",
        "open",
        "under open",
        "closed",
        "inside closed",
        "also inside",
        "after",
        "under after",
        "legacy panel",
    ]


# --- static rules -----------------------------------------------------------------------------------
def test_a_clean_dashboard_has_no_problems():
    board = _board([_panel(1, "a", "rate(x_total[$__rate_interval])"), _row(2, "r", True, [_panel(3, "b", "y")])])
    assert cd.static_problems(board, {"x_total", "y"}) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b["panels"][1]["panels"][0].update(id=1), "panel id 1 is also used by a"),
        (lambda b: b["panels"][0]["targets"][0].update(expr=""), "no expr"),
        (
            lambda b: b["panels"][0]["targets"][0].update(
                datasource={"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
            ),
            "datasource is not",
        ),
        (lambda b: b["panels"][0]["targets"][0].update(expr="rate(x_total[5m])"), "use [$__rate_interval]"),
        (lambda b: b["panels"][0]["targets"][0].update(expr="not_a_known_metric"), "unknown metric not_a_known_metric"),
        (
            lambda b: b["panels"][1]["panels"][0]["targets"][0].update(expr="hidden_in_collapsed_row"),
            "unknown metric hidden_in_collapsed_row",
        ),
        (lambda b: b["panels"][0]["targets"][0].update(expr='up{i=~"$nowhere"}'), "$nowhere is not a variable"),
        (lambda b: b["templating"].update(list=[]), "no `datasource` variable"),
        (lambda b: b.pop("uid"), "no uid"),
        (lambda b: b["panels"][0].update(targets=[]), "no targets"),
        (lambda b: b["panels"][0]["targets"].append(dict(b["panels"][0]["targets"][0])), "duplicate refId"),
        (lambda b: b["panels"][0].pop("gridPos"), "no gridPos"),
    ],
)
def test_static_problems_are_found(mutate, expected):
    board = _board([_panel(1, "a", "rate(x_total[$__rate_interval])"), _row(2, "r", True, [_panel(3, "b", "y")])])
    mutate(board)
    problems = cd.static_problems(board, {"x_total", "y"})
    assert any(expected in problem for problem in problems), problems


def test_unknown_metric_in_a_variable_query_is_found():
    variable = {
        "name": "i",
        "type": "query",
        "datasource": {"uid": "${datasource}"},
        "query": "label_values(ghost, instance)",
    }
    problems = cd.static_problems(_board([_panel(1, "a")], [variable]), {"up"})
    assert problems == ["t: variable $i: unknown metric ghost"]


def test_structure_only_ignores_metric_names():
    assert cd.static_problems(_board([_panel(1, "a", "anything_at_all")]), None) == []


def test_contract_metrics_reads_only_the_contract_section():
    markdown = "\n".join(
        [
            "# Alerts",
            "| `not_in_contract` | x |",
            "## Metric contract",
            "| metric | labels |",
            "|---|---|",
            "| `kafka_x` | `client_id` |",
            "- `pg_up`: 1 when ...",
            "`vault_core_unsealed` from the endpoint",
            "## The alerts",
            "| `after_contract` | |",
        ]
    )
    assert cd.contract_metrics(markdown) == {"kafka_x", "pg_up", "vault_core_unsealed"}


def test_known_metrics_file_must_hold_lists():
    assert cd.known_metrics_from_file({"a": ["x", "y"], "b": ["z"]}) == {"x", "y", "z"}
    with pytest.raises(ValueError):
        cd.known_metrics_from_file({"a": "x"})


# --- live mode with a stand-in Prometheus -------------------------------------------------------------
def _answer(result):
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_classify():
    assert cd.classify(_answer([{"metric": {}, "value": [0, "1"]}])) is None
    assert cd.classify(_answer([])) == "no data"
    assert cd.classify({"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}}) is None
    assert "parse error" in cd.classify({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"})


def test_check_live_reports_data_no_data_errors_and_skips():
    board = _board(
        [
            _panel(1, "has data", 'up{instance=~"$instance"}'),
            _panel(2, "missing", "ghost_metric"),
            _panel(3, "broken", "sum(("),
            _row(4, "closed", True, [_panel(5, "needs scylla", "scylla_thing", tags=["source"])]),
            _panel(6, "named skip", "also_ghost"),
        ],
        [{"name": "instance", "type": "query", "includeAll": True, "query": "label_values(up, instance)"}],
    )
    asked = []

    def query(expr):
        asked.append(expr)
        if expr.startswith("up") or expr.startswith("count by (instance) (up"):
            return _answer([{"metric": {"instance": "a"}, "value": [0, "1"]}])
        if expr == "sum((":
            return {"status": "error", "errorType": "bad_data", "error": "unexpected end of input"}
        return _answer([])

    lines = []
    skips = cd.Skips(by_tag={"source": "no ScyllaDB here"}, by_panel={("t", "named skip"): "no such exporter yet"})
    outcome = cd.check_live({"t.json": board}, query, cd.builtin_values(), skips, say=lines.append)

    assert 'up{instance=~".*"}' in asked  # the variable's "All" value was substituted
    assert "count by (instance) (up)" in asked  # the variable query itself was evaluated
    assert "scylla_thing" not in asked and "also_ghost" not in asked
    assert outcome.passed == ["t / variable $instance", "t / has data [A]"]
    assert outcome.failed == [
        "t / missing [A]: no data: ghost_metric",
        "t / broken [A]: query error: bad_data unexpected end of input: sum((",
    ]
    assert "SKIPPED t / needs scylla: tag source: no ScyllaDB here" in lines
    assert "SKIPPED t / named skip: no such exporter yet" in lines


def test_check_live_turns_connection_errors_into_failures():
    def query(expr):
        raise ConnectionRefusedError("refused")

    outcome = cd.check_live(
        {"t.json": _board([_panel(1, "a")])}, query, cd.builtin_values(), cd.Skips(), say=lambda line: None
    )
    assert outcome.failed == ["t / a [A]: request failed: refused: up"]


def test_skips_need_a_reason(tmp_path):
    with pytest.raises(ValueError):
        cd.load_skips(["source"], [], None)
    with pytest.raises(ValueError):
        cd.load_skips([], ["no-slash=because"], None)
    allow = tmp_path / "allow.yml"
    allow.write_text("- {tag: source, reason: no ScyllaDB}\n- {dashboard: cdc-overview, panel: P, reason: r}\n")
    skips = cd.load_skips(["pgbackrest=no backups here"], ["cdc-kafka/Heap used=later"], allow)
    assert skips.by_tag == {"pgbackrest": "no backups here", "source": "no ScyllaDB"}
    assert skips.by_panel == {("cdc-kafka", "Heap used"): "later", ("cdc-overview", "P"): "r"}
    allow.write_text("- {tag: source}\n")
    with pytest.raises(ValueError):
        cd.load_skips([], [], allow)


# --- the shipped dashboards ---------------------------------------------------------------------------
def _shipped():
    return cd.load_dashboards(cd.DEFAULT_DASHBOARDS)


def test_shipped_dashboards_pass_the_static_check():
    known = cd.contract_metrics(cd.DEFAULT_CONTRACT.read_text(encoding="utf-8"))
    known |= cd.known_metrics_from_file(yaml.safe_load(cd.DEFAULT_KNOWN.read_text(encoding="utf-8")))
    problems = [p for name, board in _shipped().items() for p in cd.static_problems(board, known, name)]
    assert problems == []


def test_shipped_dashboards_are_what_the_generator_writes(tmp_path):
    assert gen_dashboards.main(["--check"]) == 0


def test_every_shipped_panel_names_the_components_it_needs():
    allowed = {
        "kafka",
        "connect",
        "source",
        "sink",
        "postgresql",
        "replica",
        "pgbouncer",
        "pgbackrest",
        "vault",
        "node",
        "certificates",
    }
    for name, board in _shipped().items():
        for ref in cd.walk_panels(board):
            assert ref.tags, f"{name} / {ref.title} has no tags"
            assert set(ref.tags) <= allowed, f"{name} / {ref.title}: {ref.tags}"


def test_the_seven_pipeline_dashboards_exist_with_a_collapsed_row():
    boards = _shipped()
    assert {board["uid"] for board in boards.values()} == {
        "cdc-overview",
        "cdc-kafka",
        "cdc-connect",
        "cdc-postgresql",
        "cdc-vault",
        "cdc-hosts",
        "cdc-scylla",
    }
    collapsed = [p for b in boards.values() for p in b["panels"] if p.get("type") == "row" and p.get("collapsed")]
    assert collapsed and all(row["panels"] for row in collapsed)


def test_main_static_exit_codes(tmp_path, capsys):
    assert cd.main(["--static"]) == 0
    board = copy.deepcopy(next(iter(_shipped().values())))
    board["panels"][1]["targets"][0]["expr"] = "sum(made_up_metric_total)"
    (tmp_path / "bad.json").write_text(json.dumps(board))
    assert cd.main(["--static", "--dashboards", str(tmp_path)]) == 1
    assert "unknown metric made_up_metric_total" in capsys.readouterr().out
    assert cd.main(["--static", "--dashboards", str(tmp_path / "none")]) == 2
