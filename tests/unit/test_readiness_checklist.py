# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The readiness map (playbooks/vars/readiness_checklist.yml) against the checklist it maps.

The checklist is the mission's `shared/mission/production-readiness-checklist.md`, outside the
repository: beside the checkout (/work/main -> /work/shared/mission/...), found by searching upwards
from the repository, or named by CDC_READINESS_CHECKLIST. Where it cannot be found (a fresh CI clone
elsewhere) the tests that need it skip, naming every path tried; the rest (the map's own rules, the
comparison's negative controls, the counts in docs/go-live.md) always run. docs/go-live.md.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from scripts import shared_folder  # scripts/ is on pythonpath (pyproject.toml)

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
MAP_FILE = REPO_ROOT / "playbooks" / "vars" / "readiness_checklist.yml"
GO_LIVE_PAGE = REPO_ROOT / "docs" / "go-live.md"
CHECKLIST_RELATIVE = Path("shared") / "mission" / "production-readiness-checklist.md"
ENV_VAR = "CDC_READINESS_CHECKLIST"

KINDS = {"automated", "document", "manual"}
STATUSES = ("met", "built_untested", "documented_only", "missing")
COMMON_FIELDS = {"id", "section", "position", "kind", "status"}
OPTIONAL_FIELDS = {"subsection", "note", "doc"}
KIND_FIELDS = {"automated": {"check", "probe"}, "document": {"doc"}, "manual": {"signer", "evidence"}}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
COUNTS_START = "<!-- readiness-counts:start -->"
COUNTS_END = "<!-- readiness-counts:end -->"

_spec = importlib.util.spec_from_file_location("check_alert_rules", REPO_ROOT / "scripts" / "check_alert_rules.py")
_check_alert_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_check_alert_rules)
heading_anchors = _check_alert_rules.heading_anchors  # the anchor rule the alert runbook links use


@dataclass(frozen=True)
class Item:
    section: str
    subsection: str | None
    position: int


def parse_checklist(markdown: str) -> list[Item]:
    """Every `- [ ]` item under a `## ` section, with its bold sub-heading and 1-based position.

    Fenced code blocks are skipped (the checklist has a cron example and shell snippets); sections
    without items (the title, the deployment steps, production support) yield nothing.
    """
    items: list[Item] = []
    section, subsection, position, fenced = None, None, 0, False
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        heading = re.match(r"^##\s+(.+?)\s*$", line)
        if heading:
            section, subsection, position = heading.group(1), None, 0
            continue
        bold = re.match(r"^\*\*(.+?)\*\*:?\s*$", stripped)
        if bold:
            subsection = bold.group(1).rstrip(":")
            continue
        if re.match(r"^- \[[ xX]\] ", line) and section is not None:
            position += 1
            items.append(Item(section, subsection, position))
    return items


def compare(checklist: list[Item], entries: list[dict]) -> list[str]:
    """What keeps the map from being exactly one entry per checklist item, in the checklist's order."""
    problems = []
    ids = Counter(entry.get("id") for entry in entries)
    problems += [f"id {name!r} is used {count} times" for name, count in ids.items() if count > 1]
    keyed = Counter((entry.get("section"), entry.get("position")) for entry in entries)
    problems += [f"{section} #{position}: {count} entries" for (section, position), count in keyed.items() if count > 1]
    wanted = {(item.section, item.position): item for item in checklist}
    for key in wanted:
        if key not in keyed:
            problems.append(f"{key[0]} #{key[1]}: no entry in the map")
    for entry in entries:
        key = (entry.get("section"), entry.get("position"))
        if key not in wanted:
            problems.append(f"{entry.get('id')}: {key[0]} #{key[1]} is not an item of the checklist")
        elif entry.get("subsection") != wanted[key].subsection:
            said = wanted[key].subsection
            problems.append(f"{entry.get('id')}: subsection {entry.get('subsection')!r}, the checklist says {said!r}")
    order = [(item.section, item.position) for item in checklist]
    mapped = [
        (entry.get("section"), entry.get("position"))
        for entry in entries
        if (entry.get("section"), entry.get("position")) in wanted
    ]
    if not problems and mapped != order:
        problems.append("the entries are not in the checklist's order")
    sections_map = list(dict.fromkeys(entry.get("section") for entry in entries))
    sections_checklist = list(dict.fromkeys(item.section for item in checklist))
    if not problems and sections_map != sections_checklist:
        problems.append(f"sections {sections_map} differ from the checklist's {sections_checklist}")
    return problems


def candidate_paths(repo: Path, environ: dict) -> list[Path]:
    """Where the checklist may be: the variable, beside the checkout, every directory above, and the
    same beside the checkout this one was cloned from."""
    paths = [Path(environ[ENV_VAR])] if environ.get(ENV_VAR) else []
    return list(dict.fromkeys(paths + shared_folder.candidates(repo, CHECKLIST_RELATIVE)))


def locate_checklist(repo: Path, environ: dict) -> Path | None:
    if environ.get(ENV_VAR):
        # A named file that is missing is a mistake, not a reason to skip.
        named = Path(environ[ENV_VAR])
        assert named.is_file(), f"{ENV_VAR}={named} does not exist"
        return named
    return next((path for path in candidate_paths(repo, environ) if path.is_file()), None)


def counts_table(entries: list[dict]) -> str:
    """The status-by-section table docs/go-live.md keeps between its readiness-counts markers."""
    sections = list(dict.fromkeys(entry["section"] for entry in entries))
    header = "| section | items | automated | document | manual | " + " | ".join(STATUSES) + " |"
    lines = [header, "|---" * (5 + len(STATUSES)) + "|"]
    rows = [(section, [entry for entry in entries if entry["section"] == section]) for section in sections]
    rows.append(("**total**", entries))
    for name, group in rows:
        kinds = Counter(entry["kind"] for entry in group)
        statuses = Counter(entry["status"] for entry in group)
        cells = [
            name,
            len(group),
            kinds["automated"],
            kinds["document"],
            kinds["manual"],
            *(statuses[s] for s in STATUSES),
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def readiness() -> dict:
    return yaml.safe_load(MAP_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def entries(readiness) -> list[dict]:
    return readiness["readiness_checklist"]


@pytest.fixture(scope="module")
def checklist() -> list[Item]:
    path = locate_checklist(REPO_ROOT, dict(os.environ))
    if path is None:
        tried = ", ".join(str(p) for p in candidate_paths(REPO_ROOT, dict(os.environ)))
        pytest.skip(f"readiness checklist not found (set {ENV_VAR}); tried: {tried}")
    print(f"readiness checklist: {path}")  # the path used: visible with -s
    return parse_checklist(path.read_text(encoding="utf-8"))


# --- the map against the checklist ---------------------------------------------------------------


def test_a_clone_finds_the_checklist_beside_the_checkout_it_was_cloned_from(tmp_path):
    """CI clones the checkout into a directory of its own: the checklist beside the origin is found."""
    target = tmp_path / "work" / CHECKLIST_RELATIVE
    target.parent.mkdir(parents=True)
    target.write_text("## S\n\n- [ ] one\n", encoding="utf-8")
    origin = tmp_path / "work" / "main"
    subprocess.run(["git", "init", "-q", str(origin)], check=True)
    clone = tmp_path / "elsewhere" / "ci-clone"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    assert locate_checklist(clone, {}) is None  # no origin yet: nothing beside or above the clone
    subprocess.run(["git", "-C", str(clone), "remote", "add", "origin", str(origin)], check=True)
    assert locate_checklist(clone, {}) == target


def test_the_checklist_is_found_from_this_checkout_layout(tmp_path):
    """/work/main finds /work/shared/mission/...: beside the checkout, and from deeper checkouts too."""
    target = tmp_path / CHECKLIST_RELATIVE
    target.parent.mkdir(parents=True)
    target.write_text("## S\n\n- [ ] one\n", encoding="utf-8")
    assert locate_checklist(tmp_path / "main", {}) == target
    assert locate_checklist(tmp_path / "ci" / "clone", {}) == target
    assert locate_checklist(tmp_path / "main", {ENV_VAR: str(target)}) == target
    assert locate_checklist(Path("/nonexistent/clone"), {}) is None
    with pytest.raises(AssertionError, match=ENV_VAR):
        locate_checklist(tmp_path / "main", {ENV_VAR: str(tmp_path / "missing.md")})


def test_the_checklist_has_the_items_the_map_declares(checklist, readiness):
    assert len(checklist) == readiness["readiness_checklist_items"], Counter(item.section for item in checklist)


def test_exactly_one_entry_per_checklist_item_in_its_order(checklist, entries):
    assert compare(checklist, entries) == []


def test_same_sections_and_counts_as_the_checklist(checklist, entries):
    assert Counter(entry["section"] for entry in entries) == Counter(item.section for item in checklist)


# --- the map's own rules (no checklist needed) -------------------------------------------------------


def test_the_map_declares_its_count_and_positions_run_1_to_n(readiness, entries):
    assert len(entries) == readiness["readiness_checklist_items"]
    for section in dict.fromkeys(entry["section"] for entry in entries):
        positions = [entry["position"] for entry in entries if entry["section"] == section]
        assert positions == list(range(1, len(positions) + 1)), section


def test_ids_are_unique_snake_case(entries):
    ids = [entry["id"] for entry in entries]
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    assert [name for name in ids if not SNAKE.match(name)] == []


def test_every_entry_has_the_fields_of_its_kind_and_no_others(entries):
    problems = []
    for entry in entries:
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(f"{entry.get('id')}: kind {kind!r}")
            continue
        if entry.get("status") not in STATUSES:
            problems.append(f"{entry['id']}: status {entry.get('status')!r}")
        missing = (COMMON_FIELDS | KIND_FIELDS[kind]) - set(entry)
        extra = set(entry) - COMMON_FIELDS - OPTIONAL_FIELDS - KIND_FIELDS[kind]
        empty = [field for field in set(entry) - {"position"} if not entry[field]]
        problems += [
            f"{entry['id']}: {label} {sorted(fields)}"
            for label, fields in (("missing", missing), ("unexpected", extra), ("empty", empty))
            if fields
        ]
        if kind == "automated" and not SNAKE.match(str(entry.get("probe", ""))):
            problems.append(f"{entry['id']}: probe {entry.get('probe')!r} is not a snake_case name")
        if kind == "manual" and entry.get("status") == "met":
            problems.append(f"{entry['id']}: a manual item is signed on a site, never met by the collection")
    assert problems == []


def test_every_check_names_something_in_the_repository(entries):
    absent = [
        f"{entry['id']}: {path}"
        for entry in entries
        if entry["kind"] == "automated"
        for path in entry["check"]
        if not (REPO_ROOT / path).exists()
    ]
    assert absent == []


def test_every_doc_link_is_a_page_and_anchor_of_docs(entries):
    problems = []
    for entry in entries:
        if "doc" not in entry:
            continue
        page, _hash, anchor = entry["doc"].partition("#")
        if not page.startswith("docs/") or not (REPO_ROOT / page).is_file():
            problems.append(f"{entry['id']}: {page} is not a page of docs/")
        elif anchor and anchor not in heading_anchors((REPO_ROOT / page).read_text(encoding="utf-8")):
            problems.append(f"{entry['id']}: no heading #{anchor} in {page}")
    assert problems == []


def test_go_live_page_shows_the_counts_of_the_map(entries):
    page = GO_LIVE_PAGE.read_text(encoding="utf-8")
    assert COUNTS_START in page and COUNTS_END in page, f"docs/go-live.md lacks the {COUNTS_START} markers"
    shown = page.split(COUNTS_START, 1)[1].split(COUNTS_END, 1)[0].strip()
    expected = counts_table(entries)
    assert shown == expected, (
        f"docs/go-live.md's counts are stale; replace the table between the markers with:\n{expected}"
    )


# --- the operator pages the map points at (item 4 of the go-live work) ------------------------------

OPERATOR_PAGES = (
    "go-live.md",
    "runbooks.md",
    "troubleshooting.md",
    "slo.md",
    "incident-response.md",
    "change-management.md",
    "rollback.md",
    "compliance.md",
)
ALERT_LINK = re.compile(r"\[([A-Z][a-z]+[A-Z][A-Za-z]*)\]\(([^)#]+\.md)#([^)]+)\)")


@pytest.fixture(scope="module")
def alerts() -> dict[str, str]:
    """Every alert of the rule files, with its runbook_url."""
    found = {}
    for rules_file in sorted((REPO_ROOT / "roles" / "prometheus" / "files" / "rules").glob("*.yml")):
        for group in yaml.safe_load(rules_file.read_text(encoding="utf-8"))["groups"]:
            found.update(
                {rule["alert"]: rule["annotations"]["runbook_url"] for rule in group["rules"] if "alert" in rule}
            )
    assert found, "no alert rules found"
    return found


def test_the_runbook_index_lists_every_alert_with_its_runbook(alerts):
    page = (REPO_ROOT / "docs" / "runbooks.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| ") and line.count("|") >= 5
    }
    problems = []
    for name, runbook_url in alerts.items():
        target = runbook_url.removeprefix("docs/")
        if name not in rows:
            problems.append(f"{name}: no row")
        elif f"]({target})" not in rows[name]:
            problems.append(f"{name}: its row does not link {target}")
    assert problems == []


def test_every_alert_an_objective_names_exists_and_links_its_runbook(alerts):
    page = (REPO_ROOT / "docs" / "slo.md").read_text(encoding="utf-8")
    named = ALERT_LINK.findall(page)
    assert len({name for name, _page, _anchor in named}) >= 10, (
        "slo.md names its alerts as [Name](page.md#anchor) links"
    )
    problems = [f"{name}: not an alert of the rule files" for name, _page, _anchor in named if name not in alerts]
    problems += [
        f"{name}: links {page_name}#{anchor}, the rule says {alerts[name]}"
        for name, page_name, anchor in named
        if name in alerts and f"docs/{page_name}#{anchor}" != alerts[name]
    ]
    objectives = [line for line in page.splitlines() if re.match(r"^\| \d+ \|", line)]
    problems += [f"objective without an alert: {line[:60]}" for line in objectives if not ALERT_LINK.search(line)]
    assert objectives and problems == []


@pytest.mark.parametrize("page", OPERATOR_PAGES)
def test_operator_page_links_resolve(page):
    text = (REPO_ROOT / "docs" / page).read_text(encoding="utf-8")
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+://", target):
            continue
        path, _hash, anchor = target.partition("#")
        resolved = (REPO_ROOT / "docs" / path) if path else REPO_ROOT / "docs" / page
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif (
            anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no such heading")
    assert problems == []


def test_the_docs_index_links_every_operator_page():
    index = (REPO_ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    assert [page for page in OPERATOR_PAGES if f"]({page})" not in index] == []


# --- the comparison's negative controls (a synthetic checklist: they run everywhere) ------------------

SYNTHETIC = """# Title

## Production Readiness Checklist

## Alpha

- [ ] first
- [ ] second

## Beta

**One**:
- [ ] third
  ```cron
  - [ ] not an item, inside a fence
  ## not a section either
  ```
**Two**:
- [x] fourth

## Steps

1. **Step**
   ```bash
   # a comment, not a heading
   ```
"""


def synthetic_entries() -> list[dict]:
    return [
        {"id": "a1", "section": "Alpha", "position": 1},
        {"id": "a2", "section": "Alpha", "position": 2},
        {"id": "b1", "section": "Beta", "subsection": "One", "position": 1},
        {"id": "b2", "section": "Beta", "subsection": "Two", "position": 2},
    ]


def test_parse_keeps_sections_subsections_and_positions_and_skips_fences():
    assert parse_checklist(SYNTHETIC) == [
        Item("Alpha", None, 1),
        Item("Alpha", None, 2),
        Item("Beta", "One", 1),
        Item("Beta", "Two", 2),
    ]


def test_compare_accepts_the_exact_map():
    assert compare(parse_checklist(SYNTHETIC), synthetic_entries()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda entries: entries.pop(1), "Alpha #2: no entry"),
        (lambda entries: entries.append(dict(entries[0], id="again")), "Alpha #1: 2 entries"),
        (lambda entries: entries.append(dict(entries[0])), "id 'a1' is used 2 times"),
        (
            lambda entries: entries.append({"id": "x", "section": "Gamma", "position": 1}),
            "not an item of the checklist",
        ),
        (lambda entries: entries[2].update(subsection="Two"), "subsection 'Two'"),
        (lambda entries: entries.reverse(), "not in the checklist's order"),
        (lambda entries: entries[3].update(position=3), "Beta #2: no entry"),
    ],
    ids=["missing", "duplicate-item", "duplicate-id", "unknown-section", "wrong-subsection", "order", "position"],
)
def test_compare_refuses_a_wrong_map(change, expected):
    entries = synthetic_entries()
    change(entries)
    problems = compare(parse_checklist(SYNTHETIC), entries)
    assert any(expected in problem for problem in problems), problems


def test_counts_table_adds_up():
    entries = [
        {"section": "Alpha", "kind": "automated", "status": "met"},
        {"section": "Alpha", "kind": "manual", "status": "documented_only"},
        {"section": "Beta", "kind": "document", "status": "missing"},
    ]
    rows = counts_table(entries).splitlines()
    assert rows[2] == "| Alpha | 2 | 1 | 0 | 1 | 1 | 0 | 1 | 0 |"
    assert rows[-1] == "| **total** | 3 | 1 | 1 | 1 | 1 | 0 | 1 | 1 |"
