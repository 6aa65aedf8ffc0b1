"""Read and validate a study file into a typed spec (pydantic models).

Validation is declarative and collects every problem of a file in one pass, each as one line
``studies/x.yaml: params.lr.low: must be > 0 when log is true (got 0)``. Structure (types, unknown
fields) is checked by the pydantic models; the cross-field rules live in one table per model below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from automl.errors import Problem, StudyFileError, suggest  # noqa: F401 - suggest: re-exported

Scalar = str | int | float | bool | None


class ParamSpec(BaseModel):
    """One searched hyperparameter; maps to exactly one Optuna distribution."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["float", "int", "categorical"] = Field(description="float | int | categorical")
    low: float | None = Field(None, description="lower bound (float/int)")
    high: float | None = Field(None, description="upper bound, inclusive (float/int)")
    log: bool = Field(False, description="sample on a log scale (low must be > 0)")
    step: float | None = Field(None, description="discretization step (float/int); not with log")
    choices: list[Scalar] | None = Field(None, description="the values of a categorical parameter")
    when: dict[str, Scalar | list[Scalar]] | None = Field(
        None, description="sample only when another parameter has this value (or one of these values)"
    )


class ConstraintSpec(BaseModel):
    """A limit on a measured fact of every trial's model (see automl/constraints.py)."""

    model_config = ConfigDict(extra="forbid")

    max: float | None = Field(None, description="the largest value a model may have to be handed over")


class SplitSpec(BaseModel):
    """How rows are split: ``by: time`` (train on the past, validate and test on later rows) or ``by: group``
    (a group's rows stay in one split)."""

    model_config = ConfigDict(extra="forbid")

    by: Literal["random", "time", "group"] = Field(description="random | time | group")
    column: str | None = Field(None, description="the time or group column (time and group splits)")


class DataSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description=".csv, .parquet (or .jsonl for language-model trainers), relative to the study file")
    target: str | None = Field(None, description="the column to predict (tabular trainers)")
    task: Literal["regression", "binary", "multiclass"] | None = Field(None, description="inferred when omitted")
    valid_size: float = Field(0.2, description="fraction scored by the objective")
    test_size: float = Field(0.2, description="fraction scored once for the best trial (0 = none)")
    seed: int = Field(0, description="split seed; classification splits are stratified")
    drop: list[str] | None = Field(None, description="columns that are never features (also ignored by predict)")
    features: list[str] | None = Field(None, description="the only columns used as features (an allow-list)")
    categorical: list[str] | None = Field(None, description="columns used as categories even when they hold numbers")
    id: str | None = Field(None, description="a row identifier: never a feature, passed through to predict's output")
    weight: str | None = Field(None, description="a column of row weights (numbers >= 0): used in training and in "
                                                 "every metric (validation and test); not needed by predict")
    split: Literal["random"] | SplitSpec | None = Field(
        None, description="random (default), {by: time, column: C} or {by: group, column: C}; cross-validation "
                          "folds follow it (forward-chaining for time, group folds for group)")
    cv: int | None = Field(
        None,
        description="k-fold cross-validation: K >= 2 scores each trial by the mean over K folds of train+valid "
        "(the test split stays held out); 0 = one validation split; default: the trainer's rule "
        "(LightGBM: 5 folds on small data, see README)",
    )


class StudySpec(BaseModel):
    """A whole study file. ``source`` (where it was read from) is set by :func:`load`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="the Optuna study name; default: the file's stem")
    storage: str | None = Field(None, description="storage URL; default: sqlite <name>.db beside the study file")
    data: DataSpec
    model: str | list[str] = Field(
        description="the trainer, e.g. lightgbm or mlp; auto = model selection across the installed tabular trainers "
                    "(linear, lightgbm, extra-trees, random-forest); or a list of trainers to choose among")
    metric: str | list[str] | None = Field(None, description="a metric name, or a list for multi-objective")
    trials: int | None = Field(
        None, description="total number of finished trials the study holds when done; omit to run until timeout"
    )
    timeout: float | None = Field(None, description="seconds for one invocation")
    seed: int | None = Field(None, description="sampler seed")
    sampler: str | dict[str, Any] | None = Field(None, description="a name, or {name: ..., <options>}")
    pruner: str | dict[str, Any] | None = Field(None, description="a name, or {name: ..., <options>}; none = off")
    params: dict[str, ParamSpec] | None = Field(None, description="the search space; default: the trainer's")
    fixed: dict[str, Any] = Field(default_factory=dict, description="passed to the trainer as is")
    max_failures: int = Field(10, description="stop after this many failed trials in a row")
    constraints: dict[str, ConstraintSpec] | None = Field(
        None, description="limits on measured facts of each trial's model: model_bytes, predict_ms_per_1k "
                          "({max: N}); the best trial, the ensemble and the export meet them")
    ensemble: bool | None = Field(
        None, description="combine the best trials into a weighted ensemble when it beats the best one on validation "
                          "(single-objective studies; default: on); false = the best trial alone")

    # Not part of the file: where it came from (for relative paths and messages).
    source: str | None = Field(None, exclude=True, json_schema_extra={"readOnly": True})

    # -- derived ---------------------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    @property
    def study_name(self) -> str:
        return self.name or (Path(self.source).stem if self.source else "automl-study")

    @property
    def data_path(self) -> Path:
        p = Path(self.data.path)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def metrics(self) -> list[str] | None:
        if self.metric is None:
            return None
        return [self.metric] if isinstance(self.metric, str) else list(self.metric)

    @property
    def label(self) -> str:
        return self.source or "<study>"


TOP_FIELDS = [n for n in StudySpec.model_fields if n != "source"]
FIELDS_AT = {"": TOP_FIELDS, "data": list(DataSpec.model_fields), "params.*": list(ParamSpec.model_fields)}


@cache
def _adapter(model: type[BaseModel], field: str) -> TypeAdapter:
    return TypeAdapter(model.model_fields[field].annotation)


def converted(model: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    """``raw``'s fields as pydantic converts them ('0.5' -> 0.5, 'yes' -> True, a set -> a list), so the
    cross-field rules check what Optuna will get. Unknown fields and values pydantic rejects are left out
    (pydantic reports those)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in model.model_fields:
            try:
                out[key] = _adapter(model, key).validate_python(value)
            except ValidationError:
                continue
    return out


@dataclass(frozen=True)
class Range:
    """The numbers a field accepts. One row of :data:`RANGES`, checked after pydantic's conversion."""

    what: str  # the message, e.g. "must be > 0 seconds"
    fix: str = ""  # said after the value, e.g. "omit it for no timeout"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, given: Any, value: Any) -> str | None:
        """Why ``value`` (``given`` once converted; None if it did not convert) is out of range, or None."""
        if value is None:
            return None
        ok = (not isinstance(given, bool) and math.isfinite(value)
              and (self.low is None or value > self.low or (value == self.low and not self.low_open))
              and (self.high is None or value < self.high or (value == self.high and not self.high_open)))
        return None if ok else f"{self.what} (got {_fmt(given)})" + (f"; {self.fix}" if self.fix else "")


SEED_RANGE = Range("must be a whole number from 0 to 2**32 - 1", "numpy's seed range", low=0, high=2**32 - 1)

#: Numeric fields and the values they accept: one row per field (JSON Schema bounds come from here too).
RANGES: dict[str, Range] = {
    "trials": Range("must be a positive whole number", low=0, low_open=True),
    "timeout": Range("must be > 0 seconds", "a finite number; omit timeout for none", low=0, low_open=True),
    "max_failures": Range("must be a positive whole number", low=0, low_open=True),
    "seed": SEED_RANGE,
    "data.seed": SEED_RANGE,
    "data.valid_size": Range("must be a fraction between 0 and 1", low=0, high=1, low_open=True, high_open=True),
    "data.test_size": Range("must be a fraction in [0, 1)", low=0, high=1, high_open=True),
}

#: Longest ``name`` (UTF-8 bytes): it names <name>.db and reports/<name>.html, and file names stop at 255.
NAME_MAX_BYTES = 200


def _equal_pair(values: list[Any]) -> tuple[Any, Any] | None:
    """Two values of a list that compare equal (1, 1.0 and true do), or None."""
    for i, a in enumerate(values):
        for b in values[:i]:
            if a == b:
                return b, a
    return None


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


# -- cross-field rules of a parameter: (applies, message) -------------------------------------------
def param_problems(name: str, raw: Any, all_params: dict[str, Any]) -> list[tuple[str, str]]:
    """Rules pydantic's types cannot express. Returns (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return out
    given = raw
    raw = converted(ParamSpec, raw)  # '0.5' -> 0.5, 'yes' -> True: the rules see what Optuna will get
    t = raw.get("type")
    low, high, step, log = raw.get("low"), raw.get("high"), raw.get("step"), raw.get("log", False)

    def shown(f: str) -> str:
        return _fmt(given.get(f))

    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if t in ("float", "int"):
        for f in ("low", "high"):
            if raw.get(f) is None:
                out.append((f, f"required for type {t}"))
        if raw.get("choices") is not None:
            out.append(("choices", f"only for type categorical (this parameter is {t}); remove it"))
        if num(low) and num(high) and low > high:
            out.append(("low", f"must be <= high (got low {shown('low')} > high {shown('high')})"))
        if log is True and num(low) and low <= 0:
            out.append(("low", f"must be > 0 when log is true (got {shown('low')})"))
        if num(step) and step <= 0:
            out.append(("step", f"must be > 0 (got {shown('step')})"))
        if log is True and step is not None:
            out.append(("step", "cannot be combined with log: true; drop one of them"))
        if t == "int":
            for f in ("low", "high", "step"):
                v = raw.get(f)
                if num(v) and not float(v).is_integer():
                    out.append((f, f"must be a whole number for type int (got {shown(f)})"))
        for f in ("low", "high", "step"):
            v = raw.get(f)
            if num(v) and not math.isfinite(v):
                out.append((f, f"must be finite (got {shown(f)})"))
    elif t == "categorical":
        ch = raw.get("choices")
        if ch is None:
            out.append(("choices", "required for type categorical: a non-empty list of values"))
        elif given.get("choices") is not None and not isinstance(given.get("choices"), list):
            out.append(("choices", f"must be a YAML list, e.g. [a, b] (got a {type(given['choices']).__name__})"))
        elif isinstance(ch, list) and len(ch) == 0:
            out.append(("choices", "must not be empty; list at least one value"))
        elif isinstance(ch, list) and _equal_pair(ch):
            a, b = _equal_pair(ch)
            out.append(("choices", f"must not repeat a value: {_fmt(a)} and {_fmt(b)} are equal in Python and "
                                   f"Optuna stores both as {_fmt(a)}; keep one (got {ch})"))
        for f in ("low", "high", "step"):
            if raw.get(f) is not None:
                out.append((f, "only for types float and int (this parameter is categorical); remove it"))
        if log is True:
            out.append(("log", "only for types float and int; remove it"))
    when = raw.get("when")
    if isinstance(when, dict):
        if not when:
            out.append(("when", "must name at least one parameter, e.g. {boosting: dart}"))
        for other, value in when.items():
            if other == name:
                out.append((f"when.{other}", "a parameter cannot depend on itself"))
            elif other not in all_params:
                out.append((f"when.{other}", "names an unknown parameter" + suggest(other, list(all_params))))
            else:
                o = converted(ParamSpec, all_params[other]) if isinstance(all_params[other], dict) else None
                if isinstance(o, dict) and o.get("type") in ("float", "int"):
                    out.append((f"when.{other}", f"{other} is type {o['type']}; when can only name a categorical "
                                                 f"parameter (make {other} categorical, or drop the condition)"))
                if isinstance(o, dict) and o.get("type") == "categorical" and isinstance(o.get("choices"), list):
                    wanted = value if isinstance(value, list) else [value]
                    for w in wanted:
                        if w not in o["choices"]:
                            out.append(
                                (f"when.{other}", f"{_fmt(w)} is not one of {other}'s choices {o['choices']}")
                            )
    return out


def _cycles(params: dict[str, Any]) -> list[tuple[str, str]]:
    deps = {n: list((p.get("when") or {}).keys()) if isinstance(p, dict) and isinstance(p.get("when"), dict) else []
            for n, p in params.items()}
    out = []
    for start in deps:
        seen, stack = set(), list(deps[start])
        while stack:
            n = stack.pop()
            if n == start:
                out.append((f"params.{start}.when", "conditions form a cycle; one parameter must be unconditional"))
                break
            if n in seen or n not in deps:
                continue
            seen.add(n)
            stack.extend(deps[n])
    return out


def _pydantic_problems(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"]]
        field = ".".join(loc)
        if e["type"] == "extra_forbidden":
            parent = loc[:-1]
            key = "" if not parent else ("params.*" if parent[0] == "params" and len(parent) == 2 else parent[0])
            options = FIELDS_AT.get(key, [])
            out.append((field, "unknown field" + (suggest(loc[-1], options) if options else "")))
            continue
        if e["type"] == "missing":
            out.append((field, "required field is missing"))
            continue
        # Drop union-member suffixes such as 'str' / 'dict[str,any]' from the location.
        while loc and ("[" in loc[-1] or loc[-1] in ("str", "int", "float", "bool", "list", "dict", "none")):
            loc = loc[:-1]
            field = ".".join(loc)
        msg = e["msg"]
        if e["type"] == "literal_error" and "expected" in e.get("ctx", {}):
            expected = e["ctx"]["expected"]
            msg = f"must be one of {expected}" + suggest(e["input"], [x.strip(" '") for x in expected.replace(" or ", ",").split(",")])
        out.append((field, f"{msg[0].lower() + msg[1:]} (got {_fmt(e.get('input'))})"))
    # De-duplicate (unions report once per member).
    seen, uniq = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    return uniq


def _top_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if raw.get("trials") is None and raw.get("timeout") is None:
        out.append(("trials", "required unless timeout is given: a number of trials, a timeout in seconds, or both"))
    for path, rule in RANGES.items():
        model, section, key = (DataSpec, raw.get("data"), path[5:]) if path.startswith("data.") else (StudySpec, raw, path)
        if not isinstance(section, dict) or section.get(key) is None:
            continue
        value = converted(model, {key: section[key]}).get(key)
        problem = rule.problem(section[key], value)
        if problem:
            out.append((path, problem))
    data = converted(DataSpec, raw["data"]) if isinstance(raw.get("data"), dict) else {}
    cv = data.get("cv")
    if isinstance(cv, int) and not isinstance(raw["data"].get("cv"), bool) and (cv == 1 or cv < 0):
        out.append(("data.cv", f"must be 0 (one validation split) or a number of folds >= 2 (got {_fmt(raw['data']['cv'])})"))
    split = data.get("split")
    if isinstance(split, SplitSpec) and split.by in ("time", "group") and not split.column:
        out.append(("data.split.column", f"is required for a {split.by} split: the {split.by} column's name"))
    vs, ts = data.get("valid_size", 0.2), data.get("test_size", 0.2)
    if all(isinstance(v, float) and not RANGES[f"data.{k}"].problem(v, v) for k, v in (("valid_size", vs), ("test_size", ts))) \
            and vs + ts >= 1:
        out.append(("data.valid_size", f"valid_size + test_size must be < 1 to leave training rows (got {vs} + {ts})"))
    name = raw.get("name")
    if isinstance(name, str):
        if not name.strip():
            out.append(("name", "must not be empty; omit it to use the file's stem"))
        elif "/" in name or "\0" in name:
            out.append(("name", f"must not contain '/' or NUL: it names files (<name>.db, reports/<name>.html); "
                                f"use - or _ instead (got {_fmt(name)})"))
        elif len(name.encode("utf-8")) > NAME_MAX_BYTES:
            out.append(("name", f"is {len(name.encode('utf-8'))} bytes; it names files (<name>.db, reports/<name>.html), "
                                f"so at most {NAME_MAX_BYTES}: shorten it"))
    storage = raw.get("storage")
    if isinstance(storage, str):
        for scheme in ("sqlite", "journal"):  # sqlite://, sqlite:/// and :memory: keep nothing once the run ends
            rest = storage.strip()[len(scheme) + 3:].strip("/ ") if storage.strip().startswith(scheme + "://") else None
            if rest in ("", ":memory:"):
                out.append(("storage", f"{storage!r} names no file; give one, e.g. {scheme}:///study.db, "
                                       "or omit storage for <name>.db beside the study file"))
    metric = raw.get("metric")
    if isinstance(metric, list):
        if not metric:
            out.append(("metric", "must not be an empty list"))
        elif len(set(map(str, metric))) != len(metric):
            out.append(("metric", f"lists a metric twice (got {metric})"))
    for key in ("sampler", "pruner"):
        v = raw.get(key)
        if isinstance(v, dict) and "name" not in v:
            out.append((key, f"needs a name, e.g. {{name: {'tpe' if key == 'sampler' else 'median'}, ...}}"))
    params = raw.get("params")
    if isinstance(params, dict):
        if not params:
            out.append(("params", "is empty; list at least one parameter, or omit params to use the trainer's defaults"))
        for name, p in params.items():
            if p is None:
                out.append((f"params.{name}", "is empty; give at least a type, e.g. {type: float, low: 0, high: 1}"))
                continue
            for field, msg in param_problems(name, p, params):
                out.append((f"params.{name}.{field}", msg))
        out.extend(_cycles(params))
        fixed = raw.get("fixed")
        if isinstance(fixed, dict):
            for n in params:
                if n in fixed:
                    out.append((f"fixed.{n}", "is also in params; a parameter is either searched or fixed"))
    return out


#: Bounds on a study file, so a hostile one cannot exhaust memory: its size in bytes, and the number of
#: nodes once every alias is expanded (a "billion laughs" file is a few lines that expand to 10**9).
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000
_MERGE = "tag:yaml.org,2002:merge"


def _yaml_problems(root: Any, label: str) -> list[Problem]:
    """Duplicate keys (naming both lines) and the alias-expanded size of a composed YAML document."""
    import yaml

    problems: list[Problem] = []
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def walk(node: Any, path: str) -> int:
        if id(node) in active:
            problems.append(Problem(label, path, "contains itself (a recursive alias); write the value out"))
            return 1
        if id(node) in sizes:  # an alias: counted again (that is what expanding costs), walked once
            return sizes[id(node)]
        active.add(id(node))
        total = 1
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
                    field = f"{path}.{key.value}" if path else str(key.value)
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in first:
                        problems.append(Problem(label, field, f"duplicate key: set on line {first[key.tag, key.value]} "
                                                              f"and again on line {line}; keep one of them"))
                    else:
                        first[key.tag, key.value] = line
                else:
                    field = path
                total += walk(key, path) + walk(value, field)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += walk(item, f"{path}.{i}" if path else str(i))
        total = min(total, MAX_NODES + 1)  # enough to know it is too big; keeps the numbers small
        sizes[id(node)] = total
        active.discard(id(node))
        return total

    if walk(root, "") > MAX_NODES:
        problems.append(Problem(label, "", f"expands to more than {MAX_NODES:,} values once its aliases (*name) are "
                                           "expanded; a study file needs far fewer: write the values out"))
    return problems


def read_yaml(path: Path, label: str) -> Any:
    """Parse a study file with YAML's safe loader, bounded (size, alias expansion, nesting) and strict about
    duplicate keys, which YAML would otherwise merge silently (the later one wins)."""
    import yaml

    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise StudyFileError([Problem(label, "", "file not found; check the path")]) from None
    except OSError as e:
        raise StudyFileError([Problem(label, "", f"cannot be read ({e.__class__.__name__}: {e.strerror or e}); "
                                                 "check its permissions")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise StudyFileError([Problem(label, "", f"is larger than {MAX_FILE_BYTES:,} bytes; a study file is a few "
                                                 "lines: check that this is the right file")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise StudyFileError([Problem(label, "", f"cannot be read (not UTF-8 text: {e.reason} at byte {e.start}); "
                                                 "save it as UTF-8")]) from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        problems = _yaml_problems(root, label)
        if problems:
            raise StudyFileError(problems)
        return loader.construct_document(root)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "yaml"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise StudyFileError([Problem(label, where, f"invalid YAML: {problem}; fix the syntax there")]) from None
    except RecursionError:
        raise StudyFileError([Problem(label, "", "is nested too deeply to read; a study file needs a few levels")]) from None
    finally:
        loader.dispose()


def parse(raw: Any, label: str) -> StudySpec:
    """Validate a mapping (a parsed study file) into a StudySpec, collecting every problem."""
    if raw is None:
        raise StudyFileError([Problem(label, "", "file is empty; a study needs at least data, model and trials")])
    if not isinstance(raw, dict):
        raise StudyFileError(
            [Problem(label, "", f"must be a mapping of fields (data, model, trials, ...), got {type(raw).__name__}")]
        )
    problems: list[tuple[str, str]] = []
    spec = None
    try:
        spec = StudySpec.model_validate({k: v for k, v in raw.items() if k != "source"})
    except ValidationError as err:
        problems.extend(_pydantic_problems(err))
    for p in _top_problems(raw):
        if p not in problems:
            problems.append(p)
    if problems or spec is None:
        raise StudyFileError([Problem(label, f, m) for f, m in problems])
    spec.source = label
    return spec


def load(path: str | Path) -> StudySpec:
    """Read and validate a study file (structure; :func:`automl.spec.prepare` checks names, metric and data)."""
    path = Path(path)
    raw = read_yaml(path, str(path))
    try:
        return parse(raw, str(path))
    except StudyFileError as err:
        if isinstance(raw, dict):
            from automl.checks import raw_problems

            extra = [p for p in raw_problems(raw, str(path), path.resolve().parent) if p not in err.problems]
            if extra:
                raise StudyFileError(err.problems + extra) from None
        raise
