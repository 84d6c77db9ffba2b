# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for scripts/gen_role_docs.py (role variable pages from argument specs)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_role_docs.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("gen_role_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


gen = _load_script()

SAMPLE_SPEC = textwrap.dedent("""\
    ---
    argument_specs:
      tls:
        short_description: Only the certificates
        options:
          sample_cert_days:
            type: int
            default: 30
            description: Days a certificate is valid.
      main:
        short_description: Sample role for the generator tests
        description:
          - First paragraph with C(code) and I(emphasis).
          - Second paragraph.
        options:
          sample_plain:
            description: No type given, so a string.
          sample_port:
            type: int
            default: 9092
            description: Port to listen on.
          sample_enabled:
            type: bool
            default: true
            description: Turn it on.
          sample_mode:
            type: str
            default: "no"
            choices: ["no", "yes-please", strict]
            description: How strict.
          sample_password:
            type: str
            required: true
            no_log: true
            description: A secret.
          sample_empty:
            type: str
            default: ""
            description: Empty by default.
          sample_packages:
            type: list
            elements: str
            default: [a, b]
            description: Packages.
          sample_filter:
            type: str
            default: "{{ items | select('match', 'x') | list }}"
            description: A Jinja default with pipes | in it.
          sample_listeners:
            type: list
            elements: dict
            default: []
            description: Listeners.
            options:
              name:
                type: str
                required: true
                description: Listener name.
              port:
                type: int
                description: Listener port.
              tls:
                type: dict
                description: TLS settings of the listener.
                options:
                  enabled:
                    type: bool
                    default: false
                    description: Use TLS.
          sample_settings:
            type: dict
            default: {retries: 3}
            description: Settings.
            options:
              retries:
                type: int
                description: Retries.
    """)


def make_role(root: Path, name: str = "sample", spec: str = SAMPLE_SPEC) -> Path:
    """Create roles/<name>/meta/argument_specs.yml under root and return the spec path."""
    meta = root / "roles" / name / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    path = meta / "argument_specs.yml"
    path.write_text(spec, encoding="utf-8")
    return path


def make_project(root: Path) -> Path:
    """A throwaway project with galaxy.yml and one role."""
    (root / "galaxy.yml").write_text("namespace: cdc\nname: pipeline\nversion: 0.1.0\n", encoding="utf-8")
    make_role(root)
    return root


def table_rows(page: str) -> dict[str, list[str]]:
    """Map the variable name of every table row to its cells (without the variable cell)."""
    rows = {}
    for line in page.splitlines():
        if not line.startswith("| `"):
            continue
        # split on unescaped pipes only
        cells = [cell.strip().replace("\\|", "|") for cell in line.replace("\\|", "\0").strip("|").split("|")]
        cells = [cell.replace("\0", "|") for cell in cells]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def page(project):
    pages, without = gen.render_all(project)
    assert without == []
    return pages["sample.md"]


def test_page_header_and_entry_points(page):
    lines = page.splitlines()
    assert lines[0].startswith(gen.GENERATED_MARKER)
    assert "roles/sample/meta/argument_specs.yml" in lines[0]
    assert "# Role `cdc.pipeline.sample`: variables" in lines
    # main comes first even though the file lists tls first
    assert page.index("## Entry point `main`") < page.index("## Entry point `tls`")
    assert "Use with `tasks_from: tls`." in page
    assert "First paragraph with `code` and *emphasis*.\n\nSecond paragraph." in page
    assert page.count(gen.TABLE_HEADER) == 2
    assert page.endswith("|\n") and not page.endswith("\n\n")


def test_types(page):
    rows = table_rows(page)
    assert rows["sample_plain"][0] == "str"
    assert rows["sample_port"][0] == "int"
    assert rows["sample_enabled"][0] == "bool"
    assert rows["sample_packages"][0] == "list of str"
    assert rows["sample_listeners"][0] == "list of dict"
    assert rows["sample_settings"][0] == "dict"


def test_defaults_required_choices(page):
    rows = table_rows(page)
    # columns after the variable: type, default, required, choices, description
    assert rows["sample_port"][1] == "`9092`"
    assert rows["sample_enabled"][1] == "`true`"
    assert rows["sample_mode"][1] == "`no`"
    assert rows["sample_empty"][1] == '`""`'
    assert rows["sample_packages"][1] == '`["a", "b"]`'
    assert rows["sample_settings"][1] == '`{"retries": 3}`'
    assert rows["sample_listeners"][1] == "`[]`"
    assert rows["sample_plain"][1] == ""
    assert rows["sample_password"][1] == ""
    assert rows["sample_password"][2] == "yes"
    assert rows["sample_port"][2] == "no"
    assert rows["sample_mode"][3] == "`no`, `yes-please`, `strict`"
    assert rows["sample_port"][3] == ""
    assert rows["sample_password"][4] == "A secret.<br><br>Secret (not logged)."


def test_pipes_are_escaped(page):
    line = next(line for line in page.splitlines() if line.startswith("| `sample_filter`"))
    # every pipe inside a cell is escaped, so the row has exactly 7 bare separators
    assert line.replace("\\|", "").count("|") == 7
    assert "`{{ items \\| select('match', 'x') \\| list }}`" in line
    assert "with pipes \\| in it." in line


def test_nested_options_flattened_with_dotted_names(page):
    rows = table_rows(page)
    assert rows["sample_listeners.name"] == ["str", "", "yes", "", "Listener name."]
    assert rows["sample_listeners.port"][0] == "int"
    assert rows["sample_listeners.tls"][0] == "dict"
    assert rows["sample_listeners.tls.enabled"][:3] == ["bool", "`false`", "no"]
    assert rows["sample_settings.retries"][0] == "int"
    names = list(rows)
    # nested rows follow their parent, in the order of the spec
    start = names.index("sample_listeners")
    assert names[start : start + 5] == [
        "sample_listeners",
        "sample_listeners.name",
        "sample_listeners.port",
        "sample_listeners.tls",
        "sample_listeners.tls.enabled",
    ]


def test_index_lists_roles_and_entry_points(tmp_path):
    make_project(tmp_path)
    make_role(
        tmp_path,
        "another",
        "argument_specs:\n  main:\n    short_description: Another one\n",
    )
    (tmp_path / "roles" / "no_spec" / "tasks").mkdir(parents=True)
    pages, without = gen.render_all(tmp_path)
    assert without == ["no_spec"]
    assert sorted(pages) == ["README.md", "another.md", "sample.md"]
    index = pages["README.md"]
    assert "# Role variables of `cdc.pipeline`" in index
    rows = [line for line in index.splitlines() if line.startswith("| [")]
    assert rows == [
        "| [another](another.md) | `main` | Another one |",
        "| [sample](sample.md) | `main` | Sample role for the generator tests |",
        "| [sample](sample.md) | `tls` | Only the certificates |",
    ]
    assert "This entry point takes no variables." in pages["another.md"]


def test_no_roles(tmp_path):
    pages, without = gen.render_all(tmp_path)
    assert without == []
    assert list(pages) == ["README.md"]
    assert "No role has an argument spec yet." in pages["README.md"]


def test_output_is_deterministic(project):
    first = gen.render_all(project)[0]
    second = gen.render_all(project)[0]
    assert first == second
    assert gen.main(["--root", str(project)]) == 0
    out = project / "docs" / "variables"
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert gen.main(["--root", str(project)]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == written
    assert all(b"\r" not in content for content in written.values())


def test_check_mode_detects_stale_pages(project, capsys):
    out = project / "docs" / "variables"
    # nothing generated yet: both pages missing
    assert gen.main(["--root", str(project), "--check"]) == 1
    err = capsys.readouterr().err
    assert "docs/variables/README.md: missing" in err
    assert "docs/variables/sample.md: missing" in err
    assert not out.exists()  # check mode writes nothing

    assert gen.main(["--root", str(project)]) == 0
    assert gen.main(["--root", str(project), "--check"]) == 0
    capsys.readouterr()

    # someone changes the argument spec without regenerating
    spec = project / "roles" / "sample" / "meta" / "argument_specs.yml"
    spec.write_text(SAMPLE_SPEC.replace("default: 9092", "default: 9093"), encoding="utf-8")
    before = (out / "sample.md").read_text(encoding="utf-8")
    assert gen.main(["--root", str(project), "--check"]) == 1
    err = capsys.readouterr().err
    assert "docs/variables/sample.md: out of date" in err
    assert "README.md" not in err
    assert (out / "sample.md").read_text(encoding="utf-8") == before

    assert gen.main(["--root", str(project)]) == 0
    assert "`9093`" in (out / "sample.md").read_text(encoding="utf-8")
    assert gen.main(["--root", str(project), "--check"]) == 0


def test_check_mode_detects_hand_edits(project, capsys):
    out = project / "docs" / "variables"
    assert gen.main(["--root", str(project)]) == 0
    with (out / "README.md").open("a", encoding="utf-8") as handle:
        handle.write("hand edit\n")
    assert gen.main(["--root", str(project), "--check"]) == 1
    assert "docs/variables/README.md: out of date" in capsys.readouterr().err


def test_obsolete_pages(project, capsys):
    out = project / "docs" / "variables"
    make_role(project, "gone", "argument_specs:\n  main:\n    options: {}\n")
    assert gen.main(["--root", str(project)]) == 0
    assert (out / "gone.md").is_file()
    (out / "notes.md").write_text("# hand-written, not generated\n", encoding="utf-8")

    (project / "roles" / "gone" / "meta" / "argument_specs.yml").unlink()
    capsys.readouterr()
    assert gen.main(["--root", str(project), "--check"]) == 1
    err = capsys.readouterr().err
    assert "docs/variables/gone.md: obsolete" in err
    assert "notes.md" not in err

    assert gen.main(["--root", str(project)]) == 0
    assert not (out / "gone.md").exists()
    assert (out / "notes.md").is_file()
    assert gen.main(["--root", str(project), "--check"]) == 0


@pytest.mark.parametrize(
    "bad_spec, message",
    [
        ("argument_specs: [main]\n", "expected a mapping"),
        (
            "argument_specs:\n  main:\n    options: [a, b]\n",
            '"options" is not a mapping',
        ),
        (
            "argument_specs:\n  main:\n    options:\n      a:\n        type: dict\n        options: [x]\n",
            "option 'a': nested \"options\" is not a mapping",
        ),
        ("argument_specs:\n  main: {options: {a: 1}}\n", "option 'a' is not a mapping"),
        ("argument_specs: {main: [\n", "cannot read"),
    ],
)
def test_bad_spec_exits_2(tmp_path, capsys, bad_spec, message):
    make_role(tmp_path, "broken", bad_spec)
    assert gen.main(["--root", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err
    assert "roles/broken/meta/argument_specs.yml" in err
    assert message in err


def test_markup_and_code_spans():
    assert (
        gen.ansible_markup_to_markdown("Set C(foo=1) or V(bar), see I(x) B(y)") == "Set `foo=1` or `bar`, see *x* **y**"
    )
    assert (
        gen.ansible_markup_to_markdown("L(the docs, https://example.invalid/d) U(https://example.invalid)")
        == "[the docs](https://example.invalid/d) <https://example.invalid>"
    )
    assert gen.code_span("a`b") == "``a`b``"
    assert gen.code_span("`x`") == "`` `x` ``"


def test_command_line_check_exit_status(project):
    """The script as `make test` runs it: a stale tree makes --check exit 1 with the page listed."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(project), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "docs/variables/sample.md: missing" in result.stderr
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(project), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
