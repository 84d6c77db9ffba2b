# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No role includes a role that includes it back.

The graph: an edge A -> B when roles/A/tasks/*.yml, roles/A/handlers/*.yml or roles/A/meta/main.yml
name role B through include_role, import_role or a meta dependency (``cdc.pipeline.B`` or plain ``B``).
Any cycle fails the test, with its path. A synthetic graph with a cycle checks that the search finds one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = REPO_ROOT / "roles"
COLLECTION = "cdc.pipeline."
INCLUDE_ACTIONS = {
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("include_role", "import_role")
}
# Keys that hold nested task lists.
NESTED = ("block", "rescue", "always")


def _role_name(name: object) -> str | None:
    """cdc.pipeline.X or X -> X; another collection's role (or a templated name) -> None."""
    if not isinstance(name, str) or "{{" in name:
        return None
    if name.startswith(COLLECTION):
        return name[len(COLLECTION) :]
    return None if "." in name else name


def _included_roles(tasks: object) -> set[str]:
    """Roles named by include_role/import_role anywhere in a task list, blocks included."""
    found: set[str] = set()
    if not isinstance(tasks, list):
        return found
    for task in tasks:
        if not isinstance(task, dict):
            continue
        for key in NESTED:
            found |= _included_roles(task.get(key))
        for action in INCLUDE_ACTIONS & task.keys():
            args = task[action]
            name = args.get("name") if isinstance(args, dict) else None
            role = _role_name(name)
            if role:
                found.add(role)
    return found


def _dependencies(meta: object) -> set[str]:
    """Roles of a meta/main.yml's dependencies (strings or dicts with role/name)."""
    found: set[str] = set()
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    for dep in deps or []:
        name = dep if isinstance(dep, str) else (dep.get("role") or dep.get("name")) if isinstance(dep, dict) else None
        role = _role_name(name)
        if role:
            found.add(role)
    return found


def role_graph(roles_dir: Path) -> dict[str, set[str]]:
    """Role -> the roles it includes, imports or depends on (itself left out: a role's own entry points)."""
    graph: dict[str, set[str]] = {}
    for role_dir in sorted(path for path in roles_dir.iterdir() if path.is_dir()):
        edges: set[str] = set()
        for sub in ("tasks", "handlers"):
            for path in sorted((role_dir / sub).glob("*.yml")):
                edges |= _included_roles(yaml.safe_load(path.read_text(encoding="utf-8")))
        meta = role_dir / "meta" / "main.yml"
        if meta.exists():
            edges |= _dependencies(yaml.safe_load(meta.read_text(encoding="utf-8")))
        edges.discard(role_dir.name)
        graph[role_dir.name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, str] = {}  # absent: not seen; "open": on the current path; "done": no cycle through it
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_parser_finds_the_known_edges():
    """The graph is read, not empty: the service roles log in through vault and take certificates."""
    graph = role_graph(ROLES)
    assert "vault" in graph["kafka"]
    assert "pki_certificate" in graph["kafka"]
    assert {"vault", "pki_certificate"} <= graph["log_shipping"]


def test_no_role_includes_a_role_that_includes_it_back():
    graph = role_graph(ROLES)
    cycle = find_cycle(graph)
    assert cycle is None, "role include cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, ["a", "b", "c", "a"]),
        ({"x": {"y"}, "y": {"z"}, "z": {"y"}}, ["y", "z", "y"]),
    ],
)
def test_a_synthetic_cycle_is_detected(graph, expected):
    assert find_cycle(graph) == expected


def test_an_acyclic_graph_passes():
    """A diamond (two roles sharing a third) is no cycle."""
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None


def test_includes_are_found_in_blocks_and_meta(tmp_path):
    """Nested blocks, import_role, plain and FQCN names, meta dependencies; other collections ignored."""
    (tmp_path / "one" / "tasks").mkdir(parents=True)
    (tmp_path / "one" / "tasks" / "main.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "outer",
                    "block": [
                        {"name": "in a block", "ansible.builtin.include_role": {"name": "cdc.pipeline.two"}},
                        {"name": "rescue", "rescue": [{"name": "x", "import_role": {"name": "three"}}]},
                    ],
                },
                {"name": "other collection", "ansible.builtin.include_role": {"name": "community.general.foo"}},
                {"name": "self", "ansible.builtin.include_role": {"name": "cdc.pipeline.one", "tasks_from": "x"}},
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "two" / "meta").mkdir(parents=True)
    (tmp_path / "two" / "meta" / "main.yml").write_text(
        yaml.safe_dump({"dependencies": [{"role": "cdc.pipeline.one"}]}), encoding="utf-8"
    )
    (tmp_path / "three" / "handlers").mkdir(parents=True)
    (tmp_path / "three" / "handlers" / "main.yml").write_text(
        yaml.safe_dump([{"name": "h", "ansible.builtin.include_role": {"name": "two"}}]), encoding="utf-8"
    )
    graph = role_graph(tmp_path)
    assert graph == {"one": {"two", "three"}, "two": {"one"}, "three": {"two"}}
    assert find_cycle(graph) == ["one", "three", "two", "one"]
