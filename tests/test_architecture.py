"""The layout holds: no module imports another in a circle (imports made inside functions
count too), nothing imports the app factory, and the import contracts of pyproject.toml are
kept (the same check as `make lint`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("petitions", "notifications", "ops", "config")


def _graph():
    return grimp.build_graph(*PACKAGES, include_external_packages=True, exclude_type_checking_imports=True)


def _circles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), over the project's modules."""
    ours = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(start: str) -> None:
        # Iterative, so that a deep import chain cannot exhaust the recursion limit.
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start) & ours)))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
                continue
            if child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & ours))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for module in sorted(ours):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_another_in_a_circle():
    assert _circles(_graph()) == []


def test_the_circle_finder_finds_a_circle():
    """The check above can fail: a graph with a circle in it is reported."""

    class Graph:
        modules = {"petitions.a", "petitions.b", "petitions.c"}
        edges = {"petitions.a": {"petitions.b"}, "petitions.b": {"petitions.a"}, "petitions.c": set()}

        def find_modules_directly_imported_by(self, module):
            return self.edges[module]

    assert _circles(Graph()) == [["petitions.a", "petitions.b"]]


def test_nothing_imports_the_app_factory():
    graph = _graph()
    importers = graph.find_modules_that_directly_import("app") if "app" in graph.modules else set()
    assert importers == set()


def test_the_import_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
