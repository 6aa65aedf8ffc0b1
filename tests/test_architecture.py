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
    assert len(graph) > 30 and "automl.spec" in graph["automl.api"]  # the scan sees the package
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


PRIVATE_ROOTS = ("optuna", "optuna_integration")
COMPAT = "automl/_optuna_compat.py"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_optuna_uses(root: Path, package: str = "automl", allowed: tuple[str, ...] = (COMPAT,)) -> list[str]:
    """``file:line: what`` for each private Optuna name used under ``root/package`` outside ``allowed`` files.

    Caught: an import of a ``_``-prefixed module or name of optuna/optuna_integration, and any ``obj._name``
    attribute (or ``getattr(obj, "_name")``) whose name automl does not define itself (a private attribute on
    an object is Optuna's unless automl's own code defines or assigns it), except on a name imported from
    another library (lightgbm's private names are lightgbm's business, not an Optuna upgrade's)."""
    files = sorted((root / package).rglob("*.py"))
    trees = {f: ast.parse(f.read_text(encoding="utf-8"), str(f)) for f in files}
    own: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.arg):
                own.add(node.arg)
    found = []
    for f, tree in trees.items():
        rel = f.relative_to(root).as_posix()
        if rel in allowed:
            continue
        foreign: set[str] = set()  # local names bound to another library's objects
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    parts = a.name.split(".")
                    if parts[0] in PRIVATE_ROOTS and any(_private(p) for p in parts):
                        found.append(f"{rel}:{node.lineno}: import {a.name}")
                    elif parts[0] not in PRIVATE_ROOTS and parts[0] != package:
                        foreign.add((a.asname or a.name).split(".")[0])
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                parts = node.module.split(".")
                for a in node.names:
                    if parts[0] in PRIVATE_ROOTS and (any(_private(p) for p in parts) or _private(a.name)):
                        found.append(f"{rel}:{node.lineno}: from {node.module} import {a.name}")
                    elif parts[0] not in PRIVATE_ROOTS and parts[0] != package:
                        foreign.add(a.asname or a.name)
        for node in ast.walk(tree):
            name = base = None
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
                name, base = node.attr, node.value
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2
                  and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
                  and _private(node.args[1].value) and node.args[1].value not in own):
                name, base = node.args[1].value, node.args[0]
            if name is None:
                continue
            while isinstance(base, (ast.Attribute, ast.Call, ast.Subscript)):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name) and base.id in foreign:
                continue
            found.append(f"{rel}:{node.lineno}: .{name}")
    return found


def test_private_optuna_names_only_in_the_compat_module():
    found = private_optuna_uses(REPO)
    assert not found, "private Optuna names outside automl/_optuna_compat.py (move them there, with a test):\n" + "\n".join(found)
    assert private_optuna_uses(REPO, allowed=())  # the compat module itself is seen


def test_the_private_name_scan_catches_imports_attributes_and_getattr(tmp_path):
    pkg = tmp_path / "automl"
    pkg.mkdir()
    (pkg / "_optuna_compat.py").write_text("def f(study):\n    return study._storage\n")
    (pkg / "ok.py").write_text(
        "from lightgbm.basic import _ConfigAliases\nimport optuna\n\nclass A:\n    def __init__(self):\n"
        "        self._mine = 1\n\n    def g(self, other):\n        return other._mine, _ConfigAliases._get_all(), optuna.__version__\n"
    )
    (pkg / "bad.py").write_text(
        "from optuna.storages._heartbeat import is_heartbeat_enabled\nimport optuna.study._tell\n"
        "from optuna.study import _tell\n\ndef f(study, trial):\n    return study._study_id, getattr(trial, '_trial_id')\n"
    )
    assert private_optuna_uses(tmp_path) == [
        "automl/bad.py:1: from optuna.storages._heartbeat import is_heartbeat_enabled",
        "automl/bad.py:2: import optuna.study._tell",
        "automl/bad.py:3: from optuna.study import _tell",
        "automl/bad.py:6: ._study_id",
        "automl/bad.py:6: ._trial_id",
    ]


def automl_key_literals(root: Path, package: str = "automl", home: str = "automl/attrs.py") -> list[str]:
    """``file:line: 'automl:...'`` for each string constant that is a whole ``automl:*`` attribute key outside
    ``home`` (docstrings and messages that merely contain one are prose, not keys)."""
    import re

    key = re.compile(r"automl:[A-Za-z_]+")
    found = []
    for f in sorted((root / package).rglob("*.py")):
        rel = f.relative_to(root).as_posix()
        if rel == home:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and key.fullmatch(node.value):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    return found


def test_automl_attribute_keys_are_named_only_in_attrs():
    found = automl_key_literals(REPO)
    assert not found, "automl:* keys written out of automl/attrs.py (use its constants):\n" + "\n".join(found)
    assert automl_key_literals(REPO, home="")  # the scan sees attrs.py's own


def test_study_meta_reads_what_a_run_stored_and_nothing_from_a_plain_study(study_file, tmp_path):
    import optuna

    import automl
    from automl import api, attrs

    plain = attrs.read(optuna.create_study())
    assert plain == attrs.StudyMeta() and not plain.by_automl and plain.metric_names(1) is None
    study = api.run_study(study_file(trials=2), storage=f"sqlite:///{tmp_path / 'm.db'}")
    meta = attrs.read(study)
    assert meta.by_automl and meta.model == "lightgbm" and meta.metric == ["rmse"] and meta.task == "regression"
    assert meta.metric_names(1) == ["rmse"] and meta.metric_names(2) is None
    assert meta.complete and meta.data == "reg.csv" and len(meta.data_fingerprint or "") == 16
    assert meta.study_file["model"] == "lightgbm" and meta.manifest["versions"]
    assert meta.version == automl.__version__
    assert set(meta.test_scores) == {study.best_trial.number} and "rmse" in meta.test_scores[study.best_trial.number]
    assert meta.test_scores_of and meta.space is not None and meta.warm_start is not None
    assert attrs.read(study.user_attrs) == meta
    odd = attrs.read({attrs.METRIC: "auc", attrs.TEST_SCORES: "x", attrs.COMPLETE: "yes", attrs.WARM_START: True})
    assert odd.metric == ["auc"] and odd.test_scores == {} and not odd.complete and odd.warm_start is None


#: The public surface (issue 16): everything else in automl/ is internal and may change between versions.
PUBLIC = ("automl", "automl.trainers", "automl.errors", "automl.testing")


def _automl_imports(path: Path) -> set[str]:
    """The automl modules a file imports (``from automl import x`` of a module counts as ``automl.x``)."""
    mods = modules(REPO)
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "automl")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "automl" and not node.level:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in mods else node.module)
    return out


def test_the_public_modules_name_what_they_export():
    import importlib

    for name in PUBLIC:
        module = importlib.import_module(name)
        assert module.__all__, name
        for attr in module.__all__:
            assert getattr(module, attr) is not None, f"{name}.{attr}"


def test_the_example_plugin_uses_only_the_public_surface():
    for f in (REPO / "examples").rglob("*.py"):
        internal = sorted(m for m in _automl_imports(f) if m not in PUBLIC)
        assert not internal, f"{f.relative_to(REPO)} imports internal modules: {internal}"


def test_benchmarks_use_the_public_api_or_say_why_not():
    """A benchmark that imports an internal module says why in its docstring (a line starting "Internal API:")."""
    silent = []
    for f in sorted((REPO / "benchmarks").rglob("*.py")):
        internal = sorted(m for m in _automl_imports(f) if m not in PUBLIC)
        doc = ast.get_docstring(ast.parse(f.read_text())) or ""
        if internal and not any(line.strip().startswith("Internal API:") for line in doc.splitlines()):
            silent.append(f"{f.relative_to(REPO)}: {', '.join(internal)}")
    assert not silent, "benchmarks importing internals without saying why:\n" + "\n".join(silent)


def test_the_run_layer_takes_the_search_as_spec_built_it():
    """From cli.run to trainer.fit each layer is entered once (issue 16): the sampler, pruner, space fingerprint
    and warm start are built in automl.spec; the run layer (automl/run/) does not reach back into them."""
    graph = import_graph(REPO)
    back = {m: sorted(d for d in deps if d in ("automl.samplers", "automl.space", "automl.studyfile"))
            for m, deps in graph.items() if m.startswith("automl.run")}
    assert not any(back.values()), back
