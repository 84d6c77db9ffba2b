# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for scripts/check_alert_rules.py: which alerts are tested, without promtool."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_alert_rules.py"
spec = importlib.util.spec_from_file_location("check_alert_rules", SCRIPT)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

RULES = """
groups:
  - name: example
    rules:
      - record: job:up:sum
        expr: sum(up)
      - alert: Tested
        expr: up == 0
        labels: {severity: critical, service: host}
        annotations: {summary: s, description: d, runbook_url: "docs/alerts.md#tested"}
      - alert: Untested
        expr: up == 2
        labels: {severity: warning, service: host}
        annotations: {summary: s, description: d, runbook_url: "docs/alerts.md#untested"}
"""

TESTS = """
tests:
  - interval: 1m
    input_series: []
    alert_rule_test:
      - eval_time: 5m
        alertname: Tested
        exp_alerts: [{exp_labels: {severity: critical}}]
      - {eval_time: 1m, alertname: Tested, exp_alerts: []}
      - {eval_time: 1m, alertname: Untested, exp_alerts: []}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_alert_without_firing_case_is_reported():
    problems = check.untested([yaml.safe_load(RULES)], [yaml.safe_load(TESTS)])
    assert problems == ["Untested: no test case expects it to fire"]


def test_alert_without_silent_case_is_reported():
    tests = yaml.safe_load(TESTS)
    tests["tests"][0]["alert_rule_test"] = tests["tests"][0]["alert_rule_test"][:1]
    problems = check.untested([yaml.safe_load(RULES)], [tests])
    assert "Tested: no test case expects it to stay silent" in problems


def test_recording_rules_need_no_test():
    assert [rule["alert"] for rule in check.alert_rules(yaml.safe_load(RULES))] == ["Tested", "Untested"]


def test_cases_in_any_test_file_count():
    other = {"tests": [{"alert_rule_test": [{"alertname": "Untested", "eval_time": "1m", "exp_alerts": [{}]}]}]}
    assert check.untested([yaml.safe_load(RULES)], [yaml.safe_load(TESTS), other]) == []


def test_metadata_problems(tmp_path):
    write(tmp_path / "docs/alerts.md", "# Alerts\n\n## Tested\n")
    rules = yaml.safe_load(RULES)
    rules["groups"][0]["rules"][1]["labels"] = {"severity": "page"}
    problems = check.metadata_problems(rules, root=tmp_path)
    assert problems == [
        "Tested: severity label must be one of ['critical', 'warning']",
        "Tested: no service label",
        "Untested: runbook anchor #untested not found in docs/alerts.md",
    ]


def test_heading_anchors_follow_github():
    assert check.heading_anchors("## A node restarted, and is sealed\n### `cdc:x` (TTL)") == {
        "a-node-restarted-and-is-sealed",
        "cdcx-ttl",
    }


def test_main_fails_for_an_untested_rule(tmp_path, monkeypatch):
    """The build check: promtool passes (stubbed), yet the untested rule fails main()."""
    write(tmp_path / "rules/example.yml", RULES)
    write(tmp_path / "tests/example_test.yml", TESTS)
    write(tmp_path / "docs/alerts.md", "# Alerts\n## Tested\n## Untested\n")
    monkeypatch.setattr(check, "ROOT", tmp_path)
    monkeypatch.setattr(check, "promtool_ok", lambda *_: True)
    argv = ["--rules-dir", str(tmp_path / "rules"), "--tests-dir", str(tmp_path / "tests")]
    assert check.main(argv) == 1
    write(tmp_path / "tests/more_test.yml", "tests: [{alert_rule_test: [{alertname: Untested, exp_alerts: [{}]}]}]")
    assert check.main(argv) == 0
