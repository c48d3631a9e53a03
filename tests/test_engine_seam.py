"""The engine seam holds: no import circle, no engine imports the other, and only the engine
modules (and the encoders they share) touch an imaging library. Read from the source, every
import counted, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "renditions"
IMAGING = {"PIL", "pyvips"}
MAY_IMPORT_IMAGING = {"engine_vips", "engine_pillow", "encoders"}


def imports(module: str) -> set[str]:
    """Every module `module` imports: package modules by their short name, others by their top name."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add((node.module or "").split(".")[0])
            elif node.module:
                found.add(node.module.split(".")[0])
            else:  # from . import a, b
                found |= {a.name for a in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    return {m: imports(m) & modules for m in modules}


def cycles_through(start: str, edges: dict[str, set[str]]) -> list[list[str]]:
    found, stack = [], [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start:
                found.append(path + [start])
            elif nxt not in path:
                stack.append((nxt, path + [nxt]))
    return found


def test_no_import_circle_through_the_engine_modules():
    edges = graph()
    for module in ("engine", "engines", "engine_vips", "engine_pillow", "encoders", "formats"):
        assert not cycles_through(module, edges), f"{module}: {cycles_through(module, edges)[0]}"


def test_the_engines_are_apart():
    edges = graph()
    assert "engine_pillow" not in edges["engine_vips"] and "engine_vips" not in edges["engine_pillow"]
    assert not edges["engine"] & {"engines", "engine_vips", "engine_pillow", "encoders"}
    assert edges["formats"] == set(), "the formats table is plain data"
    assert {"engine_vips", "engine_pillow"} <= edges["engines"]
    assert "encoders" in edges["engine_vips"] and "encoders" in edges["engine_pillow"]


def test_only_the_engines_and_their_encoders_import_an_imaging_library():
    offenders = {m: sorted(imports(m) & IMAGING) for m in graph() if imports(m) & IMAGING and m not in MAY_IMPORT_IMAGING}
    assert not offenders, offenders
