#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the pipeline's Prometheus alert rules (roles/prometheus/files/rules).

1. `promtool check rules` on every rules file, `promtool test rules` on every test file.
2. Every alert has a test case that expects it to fire (non-empty exp_alerts) and one that
   expects it silent (empty exp_alerts): a rule without a test fails the build.
3. Every alert carries severity (critical|warning) and service labels, summary, description and a
   runbook_url annotation whose docs/ page and anchor exist.

Usage: scripts/check_alert_rules.py [--promtool PATH] [--rules-dir DIR] [--tests-dir DIR]
See docs/alerts.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SEVERITIES = {"critical", "warning"}
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")


def alert_rules(rules_doc: dict) -> list[dict]:
    """The alerting rules (not recording rules) of one parsed rules file."""
    return [rule for group in rules_doc.get("groups") or [] for rule in group.get("rules") or [] if "alert" in rule]


def tested_alerts(test_doc: dict) -> tuple[set[str], set[str]]:
    """(alerts some case expects to fire, alerts some case expects silent) in one parsed test file."""
    firing, silent = set(), set()
    for test in test_doc.get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    return firing, silent


def untested(rules_docs: list[dict], test_docs: list[dict]) -> list[str]:
    """One message per alert that has no firing case or no silent case in any test file."""
    firing, silent = set(), set()
    for doc in test_docs:
        doc_firing, doc_silent = tested_alerts(doc)
        firing |= doc_firing
        silent |= doc_silent
    problems = []
    for name in sorted({rule["alert"] for doc in rules_docs for rule in alert_rules(doc)}):
        if name not in firing:
            problems.append(f"{name}: no test case expects it to fire")
        if name not in silent:
            problems.append(f"{name}: no test case expects it to stay silent")
    return problems


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page (lowercase, punctuation dropped)."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"#+\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def metadata_problems(rules_doc: dict, root: Path) -> list[str]:
    """Missing labels or annotations, and runbook links (relative to root) that do not resolve."""
    problems = []
    for rule in alert_rules(rules_doc):
        name, labels, annotations = rule["alert"], rule.get("labels") or {}, rule.get("annotations") or {}
        if labels.get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity label must be one of {sorted(SEVERITIES)}")
        if not labels.get("service"):
            problems.append(f"{name}: no service label")
        problems += [f"{name}: no {key} annotation" for key in REQUIRED_ANNOTATIONS if not annotations.get(key)]
        page, _hash, anchor = str(annotations.get("runbook_url", "")).partition("#")
        if page and not (root / page).is_file():
            problems.append(f"{name}: runbook page {page} does not exist")
        elif page and anchor not in heading_anchors((root / page).read_text(encoding="utf-8")):
            problems.append(f"{name}: runbook anchor #{anchor} not found in {page}")
    return problems


def load(paths: list[Path]) -> list[dict]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) or {} for path in paths]


def promtool_ok(promtool: str, command: str, paths: list[Path]) -> bool:
    """Run `promtool <check|test> rules` on the files; its own output says what failed."""
    return subprocess.run([promtool, *command.split(), *map(str, paths)], check=False).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default=os.environ.get("PROMTOOL", str(ROOT / ".cache/bin/promtool")))
    parser.add_argument("--rules-dir", type=Path, default=ROOT / "roles/prometheus/files/rules")
    parser.add_argument("--tests-dir", type=Path, default=ROOT / "tests/promtool")
    args = parser.parse_args(argv)

    rules_files = sorted(args.rules_dir.glob("*.yml"))
    test_files = sorted(args.tests_dir.glob("*.yml"))
    if not rules_files or not test_files:
        print(f"check_alert_rules: no rules in {args.rules_dir} or no tests in {args.tests_dir}", file=sys.stderr)
        return 1

    ok = promtool_ok(args.promtool, "check rules", rules_files)
    ok = promtool_ok(args.promtool, "test rules", test_files) and ok
    rules_docs = load(rules_files)
    problems = untested(rules_docs, load(test_files))
    problems += [problem for doc in rules_docs for problem in metadata_problems(doc, ROOT)]
    for problem in problems:
        print(f"check_alert_rules: {problem}", file=sys.stderr)
    if ok and not problems:
        count = sum(len(alert_rules(doc)) for doc in rules_docs)
        print(f"check_alert_rules: {count} alerts in {len(rules_files)} files, each tested firing and silent")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
