"""The go-live report's HTML page as a browser shows it: Debian's Chromium, headless, reads the page.

tests/unit/test_golive_report.py checks the page's source; here the report built from the real readiness
map (a go, a no-go and a pending one) is rendered by render_html, opened by Chromium (.ci/run installs the
Debian package), and the DOM the browser built is read back: the verdict people see, one row per section
of the map with counts that add up to every item, the failing item's row, a hostile probe result shown as
text, and nothing the page could load from elsewhere. One Chromium call per test (1-2 s each).

The page's screenshot in docs/go-live.md is made from the same no-go report, from the repository's root:
    .venv/bin/python -m tests.integration.test_golive_html docs/images/golive-report.png
"""

from __future__ import annotations

import collections
import datetime
import html.parser
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.tools.collection_path import make_importable

make_importable()
from ansible_collections.cdc.pipeline.plugins.module_utils import golive  # noqa: E402

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
READINESS = yaml.safe_load((REPO_ROOT / "playbooks" / "vars" / "readiness_checklist.yml").read_text())
MAP = READINESS["readiness_checklist"]
SECTIONS = list(dict.fromkeys(item["section"] for item in MAP))
NOW = datetime.datetime(2027, 1, 15, 9, 30, tzinfo=datetime.UTC)
DOCS_PRESENT = sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "docs").rglob("*.md"))
FAILING_PROBE = "connector_state"
FAILED_RESULT = "postgres-sink task 1 FAILED after the worker on node-4 was stopped; not reassigned in 120 s"
HOSTILE = "<script>alert(1)</script>"
CHROMIUM_TIMEOUT = 60  # seconds; a call takes 1-2 s, more beside the Molecule scenarios of `make test`


# --- the reports: the real map, illustrative probe results, sign-offs and waivers ------------------


def _results(failed: dict[str, str]) -> dict:
    """Every probe of the map passed, except those of `failed` (probe: what it found)."""
    probes = sorted({item["probe"] for item in MAP if item["kind"] == "automated"})
    return {
        probe: {
            "passed": probe not in failed,
            "command": f"probe {probe}",
            "result": failed.get(probe, "as required on every host"),
            "at": "2027-01-15T09:12:00Z",
        }
        for probe in probes
    }


def _signoffs(unsigned_section: str | None = None) -> dict:
    """A sign-off for every manual item, except those of `unsigned_section`."""
    return {
        item["id"]: {"signer": f"Jane Doe ({item['signer']})", "date": "2027-01-12", "evidence": item["evidence"]}
        for item in MAP
        if item["kind"] == "manual" and item["section"] != unsigned_section
    }


# The document items the map says are missing: only a waiver lets such a report be go.
WAIVERS = {
    item["id"]: {"reason": "written after go-live (change CHG-1042)", "signer": "Sam Lee", "expires": "2027-03-31"}
    for item in MAP
    if item["kind"] == "document" and item["status"] == "missing"
}


def build(failed: dict[str, str] | None = None, unsigned_section: str | None = None) -> dict:
    return golive.build_report(MAP, _results(failed or {}), _signoffs(unsigned_section), WAIVERS, NOW, DOCS_PRESENT)


def go_report() -> dict:
    """Every probe passed, every manual item signed, every document page present (or waived)."""
    return build()


def pending_report() -> dict:
    """As go, but the Go-Live section's sign-offs (go-live day and after) are not given yet."""
    return build(unsigned_section="Go-Live")


def no_go_report() -> dict:
    """As pending, and the connector failover probe failed: the page of the screenshot in docs/go-live.md."""
    return build(failed={FAILING_PROBE: FAILED_RESULT}, unsigned_section="Go-Live")


# --- Chromium -------------------------------------------------------------------------------------


def chromium_binary() -> str | None:
    return shutil.which("chromium")


def chromium(page: Path, *args: str) -> str:
    """Run headless Chromium on a local page and return what it printed; skip when it is not installed."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium on PATH (Debian package chromium; .ci/run installs it)")
    with tempfile.TemporaryDirectory(prefix="cdc-chromium-") as profile:
        # --no-sandbox: Chromium refuses to start as root with its sandbox, and CI runs as root; the pages
        # opened are files this test wrote. A profile of its own: nothing read from or left in $HOME.
        argv = [binary, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}", *args]
        argv.append(page.resolve().as_uri())
        # A session of its own: on a timeout the browser's helper processes are killed with it.
        with subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        ) as process:
            try:
                out, err = process.communicate(timeout=CHROMIUM_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                out, err = process.communicate()
                # e.g. a script of the page opened a dialog (alert()): headless Chromium waits for it forever
                pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT} s (a dialog open?): {err[-2000:]}")
    if process.returncode != 0:
        pytest.fail(f"chromium exited {process.returncode}: {err[-2000:]}")
    return out


def shown(page_html: str, tmp_path: Path, name: str = "golive-report.html") -> tuple[Node, Node]:
    """(the page as parsed from its source, the DOM Chromium built from it)."""
    page = tmp_path / name
    page.write_text(page_html, encoding="utf-8")
    return parse(page_html), parse(chromium(page, "--dump-dom"))


# --- the DOM, read back ---------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LOADING_TAGS = {"audio", "base", "embed", "frame", "iframe", "img", "link", "object", "script", "source", "video"}
LOADING_ATTRS = {"action", "background", "data", "formaction", "href", "poster", "src", "srcset"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def find_all(self, tag: str) -> list[Node]:
        return [node for node in self.iter() if node.tag == tag]

    def by_id(self, element_id: str) -> Node:
        found = [node for node in self.iter() if node.attrs.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id}"
        return found[0]


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag, attrs):
        self.open[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        self.open[-1].children.append(data)


def parse(markup: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


def outline(root: Node) -> tuple[list, str]:
    """Elements (tag and attributes, in order) and the text, whitespace collapsed; the <tbody> a browser adds
    to a table is left out."""
    elements = [(node.tag, node.attrs) for node in root.iter() if node.tag not in {"#document", "tbody"}]
    return elements, " ".join(root.text().split())


def loads_from_elsewhere(root: Node) -> list[str]:
    """What in the page could make the browser fetch or run something: tags, attributes, CSS url()/@import."""
    found = []
    for node in root.iter():
        if node.tag in LOADING_TAGS:
            found.append(f"<{node.tag}>")
        for name, value in node.attrs.items():
            if name in LOADING_ATTRS and not (value or "").startswith("#"):
                found.append(f"<{node.tag} {name}={value!r}>")
            if (name == "style" and "url(" in (value or "")) or name == "http-equiv":
                found.append(f"<{node.tag} {name}={value!r}>")
        if node.tag == "style" and ("url(" in node.text() or "@import" in node.text()):
            found.append("<style> with url() or @import")
    return found


def table_rows(table: Node) -> list[list[Node]]:
    return [[cell for cell in row.children if isinstance(cell, Node)] for row in table.find_all("tr")]


def cell_texts(row: list[Node]) -> list[str]:
    return [" ".join(cell.text().split()) for cell in row]


# --- the tests ------------------------------------------------------------------------------------

# case: (the report, its verdict, the verdict element's class, the failing items)
CASES = {
    "go": (go_report, golive.GO, "verdict go", []),
    "no-go": (no_go_report, golive.NO_GO, "verdict no-go", [i["id"] for i in MAP if i.get("probe") == FAILING_PROBE]),
    "pending": (pending_report, golive.PENDING_SIGN_OFF, "verdict pending-sign-off", []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_browser_shows_the_verdict_every_section_and_every_item(case, tmp_path):
    make_report, expected_verdict, verdict_class, expected_failing = CASES[case]
    report = make_report()
    assert (report["verdict"], report["failing"]) == (expected_verdict, expected_failing)  # the inputs are right
    source, dom = shown(golive.render_html(report), tmp_path)

    # What the browser holds is the page as written (no element added, dropped or changed, except the
    # <tbody> a browser puts in each table), and nothing in it could load or run anything.
    assert outline(dom) == outline(source)
    assert loads_from_elsewhere(dom) == []

    verdict = dom.by_id("verdict")
    assert (verdict.tag, verdict.text(), verdict.attrs["class"]) == ("p", expected_verdict, verdict_class)
    assert dom.find_all("title")[0].text() == f"Go-live report: {expected_verdict}"
    if case == "no-go":
        assert verdict.text() != golive.GO  # a no-go page never reads as go

    section_table, item_table = dom.find_all("table")
    header, *sections = table_rows(section_table)
    assert cell_texts(header) == ["section", "items", *golive.OUTCOMES]
    counted = {name: [int(count) for count in counts] for name, *counts in map(cell_texts, sections)}
    assert list(counted) == SECTIONS  # one row per section of the map, in its order
    assert {name: counts[0] for name, counts in counted.items()} == collections.Counter(i["section"] for i in MAP)
    assert all(sum(counts[1:]) == counts[0] for counts in counted.values())
    assert sum(counts[0] for counts in counted.values()) == READINESS["readiness_checklist_items"] == 126

    header, *items = table_rows(item_table)
    assert cell_texts(header) == ["section", "item", "kind", "outcome", "evidence"]
    assert len(items) == len(MAP)
    # Every row: the map's item (section, "position id", kind) in the map's order, its outcome in the cell's class.
    texts = [cell_texts(row) for row in items]
    assert [row[:3] for row in texts] == [[i["section"], f"{i['position']} {i['id']}", i["kind"]] for i in MAP]
    assert all(row[3].attrs["class"] == f"o-{text[3]}" for row, text in zip(items, texts, strict=True))
    # The section table's counts are those of the item rows.
    seen = collections.Counter(text[3] for text in texts)
    assert {outcome: seen[outcome] for outcome in golive.OUTCOMES} == {
        outcome: sum(counts[1 + n] for counts in counted.values()) for n, outcome in enumerate(golive.OUTCOMES)
    }
    failing = [text for text in texts if text[3] == golive.FAIL]
    assert [text[1].split(" ", 1)[1] for text in failing] == expected_failing
    assert all(FAILED_RESULT in text[4] for text in failing)


def test_a_hostile_probe_result_is_shown_as_text_and_never_run(tmp_path):
    report = build(failed={FAILING_PROBE: HOSTILE})
    source, dom = shown(golive.render_html(report), tmp_path)
    assert outline(dom) == outline(source)
    assert dom.find_all("script") == [] and loads_from_elsewhere(dom) == []
    assert HOSTILE in [" ".join(pre.text().split()) for pre in dom.find_all("pre")]
    assert dom.by_id("verdict").text() == golive.NO_GO


def test_negative_control_a_page_that_rewrites_its_verdict_is_caught(tmp_path):
    """A page whose script turns "no-go" into "go": the browser runs it, and each check above sees it."""
    page = golive.render_html(no_go_report()).replace(
        "</body>", '<script>document.getElementById("verdict").textContent = "go"</script></body>'
    )
    source, dom = shown(page, tmp_path)
    assert source.by_id("verdict").text() == golive.NO_GO
    assert dom.by_id("verdict").text() == golive.GO  # what people would see: read from the browser, not the file
    assert outline(dom) != outline(source)
    assert loads_from_elsewhere(dom) == ["<script>"]


def test_negative_control_the_self_contained_check_names_what_would_load():
    page = parse(
        '<p>x</p><img src="https://example.invalid/logo.png"><a href="#items">items</a>'
        '<link rel="stylesheet" href="//example.invalid/a.css"><style>p{background:url(http://e.invalid/b)}</style>'
    )
    assert loads_from_elsewhere(page) == [
        "<img>",
        "<img src='https://example.invalid/logo.png'>",
        "<link>",
        "<link href='//example.invalid/a.css'>",
        "<style> with url() or @import",
    ]


# --- the screenshot in docs/go-live.md ------------------------------------------------------------


def main(argv: list[str]) -> int:
    """Write the no-go report's page as a PNG (1280x1600): python -m tests.integration.test_golive_html OUT.png"""
    if len(argv) != 1:
        print(f"usage: python -m tests.integration.test_golive_html OUT.png\n{main.__doc__}", file=sys.stderr)
        return 2
    if chromium_binary() is None:
        print("no chromium on PATH: apt-get install chromium", file=sys.stderr)
        return 1
    out = Path(argv[0]).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cdc-golive-") as work:
        page = Path(work) / "golive-report.html"
        page.write_text(golive.render_html(no_go_report()), encoding="utf-8")
        chromium(page, f"--screenshot={out}", "--window-size=1280,1600", "--hide-scrollbars")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
