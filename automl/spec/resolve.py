"""Prepare a study file for a run: every check that needs the trainer, the metric table and the data, before
anything is written; one StudyFileError lists every problem found."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automl import samplers, space, trainers
from automl.errors import DataError, Problem, StudyFileError, suggest
from automl.studyfile import ParamSpec, StudySpec, param_problems


@dataclass
class Search:
    """The search a study runs, built once from the checked file so the run layer takes it as it is: the sampler
    (a new one per seed: each worker and each resume draws its own), the pruner with the trainer's defaults (and,
    for the report, the options both are built with), the space's fingerprint (stored on the study; a resume
    checks it), the warm-start trials (the trainer's defaults and portfolio restricted to the space, in order, each
    tagged), and a grid's size (its budget cap)."""

    new_sampler: Callable[[int | None], Any]
    new_pruner: Callable[[], Any]
    fingerprint: dict[str, str]
    warm_start: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    grid_size: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # what the report shows of it (``automl:settings``)

    def changed_since(self, stored: dict[str, str]) -> list[str]:
        """The parameters added, removed or changed since the study stored its fingerprint ``stored``."""
        return space.changed(stored, self.fingerprint)


@dataclass
class Prepared:
    spec: StudySpec
    trainer: Any
    data: Any
    task: str
    metrics: list[Any]
    params: dict[str, ParamSpec]
    fixed: dict[str, Any]
    grid: dict[str, list[Any]] | None = None
    search: Search = None  # type: ignore[assignment]  # set by prepare()

    @property
    def directions(self) -> list[str]:
        return [m.direction for m in self.metrics]


def prepare(spec: StudySpec, *, load_data: bool = True) -> Prepared:
    """Check names, metric/task fit, grid, data and target; raise one StudyFileError listing every problem."""
    label = spec.label
    problems: list[Problem] = []

    def add(field_: str, msg: str) -> None:
        problems.append(Problem(label, field_, msg))

    for f, m in samplers.option_problems("sampler", spec.sampler, samplers.SAMPLERS, samplers.DEFAULT_SAMPLER):
        add(f, m)
    for f, m in samplers.option_problems("pruner", spec.pruner, samplers.PRUNERS, samplers.DEFAULT_PRUNER):
        add(f, m)
    if isinstance(spec.model, list) and (not spec.model or len(set(spec.model)) != len(spec.model)):
        add("model", "a list of trainers must name each trainer once and at least one (or write model: auto)")
        raise StudyFileError(problems)
    try:
        from automl.trainers.auto import resolve

        trainer = resolve(spec.model)
    except KeyError as e:
        name = e.args[0]
        from automl.trainers.auto import INSTALL

        how = f"; install it: {INSTALL[name]}" if name in INSTALL else suggest(name, [n for n in trainers.names() if n != "auto"])
        add("model", f"unknown trainer {name!r}{how}")
        raise StudyFileError(problems) from None

    from automl import constraints as constraints_mod

    for f, m in constraints_mod.problems(spec.constraints, trainer):
        add(f, m)
    for n, m in trainer.check_params(spec.params or {}):
        add(f"params.{n}", m)
    for n, m in trainer.check_params(spec.fixed):
        add(f"fixed.{n}", m)

    data = None
    task = None
    try:
        if load_data:
            data = trainer.load_data(spec)
            task = getattr(data, "task", None)
        else:
            task = trainer.peek_task(spec)
    except DataError as e:
        problems.extend(e.problems)
    task = task or spec.data.task or (trainer.tasks[0] if len(trainer.tasks) == 1 else None)
    if data is not None:
        for f, m in choose_cv(spec, trainer, data):
            add(f, m)

    table = trainer.metrics()
    names = spec.metrics or ([trainer.default_metric(task)] if task else [])
    metrics = []
    for i, name in enumerate(names):
        where = "metric" if isinstance(spec.metric, str) or spec.metric is None else f"metric.{i}"
        if name not in table:
            add(where, f"unknown metric {name!r}" + suggest(name, list(table)))
        elif task and task not in table[name].tasks:
            fits = [n for n, m in table.items() if task in m.tasks]
            add(where, f"{name!r} does not fit a {task} task; use one of {', '.join(fits)}")
        else:
            metrics.append(table[name])

    if spec.params is not None and hasattr(trainer, "user_space") and task:
        params = trainer.user_space(task, spec.params)  # model: auto: the user's params on top of every family's
        params = {n: p for n, p in params.items() if n not in spec.fixed}
    elif spec.params is not None:
        params = dict(spec.params)
    else:
        raw = trainer.default_space(task) if task else {}
        params = {n: ParamSpec.model_validate(p) for n, p in raw.items()}
        for n, p in raw.items():
            for f, m in param_problems(n, p, raw):
                add(f"params.{n}.{f}", f"(trainer default) {m}")
        params = {n: p for n, p in params.items() if n not in spec.fixed}
    fixed = {**(trainer.default_fixed(task) if task and hasattr(trainer, "default_fixed") else {}), **spec.fixed}

    grid = None
    sampler_name = samplers.split_name(spec.sampler, samplers.DEFAULT_SAMPLER)[0] if spec.sampler else None
    if sampler_name == "grid":
        grid_problems = space.grid_problems(params)
        for f, m in grid_problems:
            add(f, m)
        grid = None if grid_problems else space.grid(params)
    if sampler_name in ("cmaes", "gp", "qmc") and len(names) > 1:
        add("sampler", f"{sampler_name} optimizes one objective; use nsga2 (or tpe) with a list of metrics")
    if sampler_name in ("nsga2", "nsga3") and len(names) == 1:
        pass  # allowed: NSGA-II works on one objective too

    if problems:
        raise StudyFileError(problems)
    prepared = Prepared(spec, trainer, data, task, metrics, params, fixed, grid)
    prepared.search = search_of(prepared)
    return prepared


def search_of(prepared: Prepared) -> Search:
    """The :class:`Search` of a checked study file (see :func:`prepare`)."""
    spec, n_obj, grid = prepared.spec, len(prepared.metrics), prepared.grid
    return Search(
        new_sampler=functools.partial(_sampler, spec.sampler, n_obj, grid),
        new_pruner=functools.partial(samplers.study_pruner, prepared),
        fingerprint=space.fingerprint(prepared.params),
        warm_start=warm_start(prepared),
        grid_size=space.grid_size(grid) if grid is not None else None,
        settings=settings(prepared),
    )


def settings(prepared: Prepared) -> dict[str, Any]:
    """The sampler and pruner as built (name, Optuna class, options), seeds and fixed parameters."""
    spec, n = prepared.spec, len(prepared.metrics)
    sname, sopts = samplers.sampler_choice(spec.sampler, seed=spec.seed, n_objectives=n)
    pname, popts = samplers.pruner_choice(spec.pruner, n_objectives=n, defaults=samplers.pruner_defaults(prepared))
    return {
        "sampler": {"name": sname, "class": samplers.SAMPLERS[sname][0].__name__, "options": sopts},
        "pruner": {"name": pname, "class": samplers.PRUNERS[pname][0].__name__, "options": popts,
                   **({"note": "Optuna cannot prune multi-objective trials"} if n > 1 else {})},
        "seeds": {"sampler": spec.seed, "split": spec.data.seed, "trainer": spec.seed or 0},
        "fixed": dict(prepared.fixed),
        "budget": {"trials": spec.trials, "timeout_s": spec.timeout},
    }


def _sampler(value: Any, n_objectives: int, grid: Any, seed: int | None) -> Any:
    return samplers.make_sampler(value, seed=seed, n_objectives=n_objectives, grid=grid)


def warm_start(prepared: Prepared) -> list[tuple[str, dict[str, Any]]]:
    """The trainer's warm-start configurations (``warm_start(task)``: its defaults, a mined portfolio) restricted
    to the study's space (:func:`automl.space.project`), in order, as (tag, params): one outside a user's
    ``params:`` ranges, or the same as an earlier one there, is skipped. None for a grid study (it walks its grid)."""
    hook = getattr(prepared.trainer, "warm_start", None)
    if hook is None or prepared.grid is not None or not prepared.task:
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    for tag, config in hook(prepared.task):
        params = space.project(config, prepared.params)
        if params is not None and all(params != p for _t, p in out):
            out.append((tag, params))
    return out


def _rule_cv(rule: Any, rows: int, features: int, timeout: float | None, data: Any) -> int:
    """The trainer's ``default_cv``, given a multiclass task's ``classes`` where the rule takes them (a plugin's
    three-argument rule is called as before)."""
    import inspect

    from automl.metrics import MULTICLASS

    try:
        takes = "classes" in inspect.signature(rule).parameters
    except (TypeError, ValueError):
        takes = False
    if not takes:
        return rule(rows, features, timeout)
    return rule(rows, features, timeout, classes=data.n_classes if getattr(data, "task", None) == MULTICLASS else 0)


def choose_cv(spec: StudySpec, trainer: Any, data: Any) -> list[tuple[str, str]]:
    """Set the data's cross-validation folds: ``data.cv`` from the file, else the trainer's rule."""
    k = spec.data.cv
    if not hasattr(data, "use_cv"):
        return [("data.cv", f"is for tabular trainers; {spec.model!r} scores one validation split, remove it")] if k else []
    rows = len(data.train) + len(data.valid)
    if k is None:
        rule = getattr(trainer, "default_cv", None)  # optional for plugins (TabularTrainer has it)
        k = _rule_cv(rule, rows, len(data.features), spec.timeout, data) if rule else 0
    if k > rows:
        return [("data.cv", f"{k} folds need at least {k} rows of train+valid, found {rows}; use fewer folds")]
    try:
        data.use_cv(k)
    except ValueError as e:  # group folds: fewer groups than folds
        return [("data.cv", str(e))]
    if not k:
        from automl import leakage

        leakage.warn_valid(spec.label, data)
    return []
