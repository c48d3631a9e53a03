"""The package's import graph: no circle, and only the build's entry point and watch start workers."""

from __future__ import annotations

import ast
from pathlib import Path

import renditions

PKG = Path(renditions.__file__).parent
#: The only modules allowed to import the process-pool module.
POOL_USERS = {"pipeline", "watch"}


def imports() -> dict[str, set[str]]:
    """module → the renditions modules it imports (at any depth of the file, lazy imports too)."""
    graph: dict[str, set[str]] = {}
    names = {p.stem for p in PKG.glob("*.py")}
    for path in PKG.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    found.add(node.module.split(".")[0])
                elif node.level == 1:  # from . import x, y
                    found |= {a.name for a in node.names if a.name in names}
                elif node.module and node.module.split(".")[0] == "renditions":
                    parts = node.module.split(".")
                    found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names if a.name in names}
            elif isinstance(node, ast.Import):
                for a in node.names:
                    parts = a.name.split(".")
                    if parts[0] == "renditions" and len(parts) > 1:
                        found.add(parts[1])
        graph[path.stem] = found & names - {path.stem}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as the path that closes it (depth-first search)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_graph_is_read():
    """The parser sees relative, package and lazy imports (a blind parser would pass anything)."""
    graph = imports()
    assert "workers" in graph["pipeline"]  # from .workers import ...
    assert "pipeline" in graph["watch"]  # from . import pipeline
    assert "session" in graph["status"]
    assert "shard" in graph["cli"]  # a lazy import inside a command


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert cycles(imports()) == []


def test_only_the_build_entry_point_and_watch_import_the_process_pool():
    users = {m for m, deps in imports().items() if "workers" in deps}
    assert users <= POOL_USERS, f"{sorted(users - POOL_USERS)} import workers.py: import the small module you need instead"
