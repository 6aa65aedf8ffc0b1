"""The package's shape, checked from its source (ast, nothing imported): no import cycle in automl/."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def modules(root: Path, package: str = "automl") -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``root/package`` (a package is its __init__.py)."""
    out = {}
    for f in sorted((root / package).rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def import_graph(root: Path, package: str = "automl") -> dict[str, dict[str, int]]:
    """``{module: {imported module: first line}}`` over the package's own modules.

    Every ``import``/``from ... import`` counts, at module level and inside functions alike (a lazy import is
    still a dependency). ``from automl import x`` is an import of ``automl.x`` when that is a module, else of
    the package ``automl`` (its __init__.py). A module's implicit import of its parent packages is not counted
    (Python runs ``automl/__init__.py`` before any ``automl.x``; a package's face re-exporting its own modules
    is no cycle)."""
    mods = modules(root, package)

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for name, path in mods.items():
        deps: dict[str, int] = {}
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                if t == package or t.startswith(package + "."):
                    found = owner(t)
                    if found and found != name:
                        deps.setdefault(found, node.lineno)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def describe(graph: dict[str, dict[str, int]], comp: list[str]) -> str:
    return "; ".join(f"{a} -> {b} (line {graph[a][b]})" for a in comp for b in sorted(graph[a]) if b in comp)


def test_no_import_cycle_in_automl():
    graph = import_graph(REPO)
    assert len(graph) > 30 and "automl.runner" in graph["automl.api"]  # the scan sees the package
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(describe(graph, c) for c in found)


def test_the_cycle_check_finds_cycles_at_any_depth_and_in_function_level_imports(tmp_path):
    pkg = tmp_path / "automl"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from automl import b\n")
    (pkg / "b.py").write_text("import automl.sub.c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("def f():\n    from ..a import thing\n")  # lazy and relative: still an edge
    (pkg / "d.py").write_text("from automl.a import x\n")  # imports the loop, is not in it
    graph = import_graph(tmp_path)
    assert graph["automl.sub.c"] == {"automl.a": 2}
    assert cycles(graph) == [["automl.a", "automl.b", "automl.sub.c"]]
    (pkg / "sub" / "c.py").write_text("x = 1\n")
    assert cycles(import_graph(tmp_path)) == []
