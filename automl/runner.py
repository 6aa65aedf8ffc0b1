"""Prepare a study (every check before anything is written) and run the optimize loop:
exact budget, timeout, stale-trial recovery, progress, and the best trial's test score."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from automl import samplers, space, storage as storage_mod, trainers
from automl.errors import DataError, Problem, SearchSpaceChangedError, StorageError, StudyFileError, TooManyFailuresError
from automl.studyfile import ParamSpec, StudySpec, param_problems, suggest

SPACE_ATTR = "automl:space"


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
    try:
        trainer = trainers.get(spec.model)
    except KeyError:
        add("model", f"unknown trainer {spec.model!r}" + suggest(spec.model, trainers.names()))
        raise StudyFileError(problems) from None

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

    if spec.params is not None:
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
        try:
            grid = space.grid(params)
        except ValueError as e:
            add(f"params.{e.args[0]}", "has no finite grid for sampler grid; give it a step (and no log) or make it categorical")
    if sampler_name in ("cmaes", "gp", "qmc") and len(names) > 1:
        add("sampler", f"{sampler_name} optimizes one objective; use nsga2 (or tpe) with a list of metrics")
    if sampler_name in ("nsga2", "nsga3") and len(names) == 1:
        pass  # allowed: NSGA-II works on one objective too

    if problems:
        raise StudyFileError(problems)
    return Prepared(spec, trainer, data, task, metrics, params, fixed, grid)


def workers_threads(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def open_or_create(prepared: Prepared, url: str, *, force: bool = False, seed: int | None = None) -> optuna.Study:
    """Resume the study if it exists (checking its search space), else create it."""
    spec = prepared.spec
    storage = storage_mod.open_storage(url)
    n_obj = len(prepared.metrics)
    sampler = samplers.make_sampler(spec.sampler, seed=spec.seed if seed is None else seed, n_objectives=n_obj, grid=prepared.grid)
    pruner = samplers.make_pruner(spec.pruner, n_objectives=n_obj)
    fp = space.fingerprint(prepared.params)
    name = spec.study_name
    if name in storage_mod.study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        stored_dirs = [d.name.lower() for d in study.directions]
        if stored_dirs != prepared.directions:
            raise SearchSpaceChangedError(
                f"{spec.label}: metric: the stored study {name!r} optimizes {stored_dirs}, this file {prepared.directions}; "
                "use another name or storage"
            )
        stored = study.user_attrs.get(SPACE_ATTR)
        if stored is not None and not force:
            diff = space.changed(stored, fp)
            if diff:
                raise SearchSpaceChangedError(
                    f"{spec.label}: params.{diff[0]}: the search space changed since the study was created "
                    f"({', '.join(diff)}); rename the study, use another storage, or pass --force"
                )
        if force or stored is None:
            study.set_user_attr(SPACE_ATTR, fp)
        return study
    study = optuna.create_study(
        storage=storage, study_name=name, directions=prepared.directions, sampler=sampler, pruner=pruner,
        load_if_exists=True,
    )
    study.set_user_attr(SPACE_ATTR, fp)
    for k, v in study_attrs(prepared).items():
        study.set_user_attr(k, v)
    return study


def study_attrs(prepared: Prepared) -> dict[str, Any]:
    import automl

    spec = prepared.spec
    return {
        "automl:version": automl.__version__,
        "automl:model": spec.model,
        "automl:metric": [m.name for m in prepared.metrics],
        "automl:task": prepared.task,
        "automl:data": str(spec.data.path),
        "automl:data_fingerprint": getattr(prepared.data, "fingerprint", ""),
        "automl:study_file": spec.model_dump(mode="json", exclude_none=True),
    }


@dataclass
class RunOutcome:
    study: optuna.Study
    added: int = 0
    recovered: list[int] = field(default_factory=list)
    stopped_by: str = "budget"
    test_scores: dict[int, dict[str, float]] = field(default_factory=dict)


def budget_of(prepared: Prepared, trials: int | None) -> int:
    budget = trials if trials is not None else prepared.spec.trials
    if prepared.grid is not None:
        budget = min(budget, space.grid_size(prepared.grid))
    return budget


def run(
    prepared: Prepared,
    url: str,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    force: bool = False,
    progress: bool = True,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> RunOutcome:
    """Create or resume the study and top it up to ``trials`` finished (complete or pruned) trials."""
    from automl.objective import make_objective

    spec = prepared.spec
    budget = budget_of(prepared, trials)
    timeout = timeout if timeout is not None else spec.timeout
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_or_create(prepared, url, force=force)
    outcome = RunOutcome(study)
    outcome.recovered = storage_mod.recover_stale_trials(study)
    objective = make_objective(prepared, threads=workers_threads(1))

    bar = None
    done = storage_mod.count_finished(study)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=budget, initial=min(done, budget), desc=spec.study_name, unit="trial", dynamic_ncols=True)
    start = time.monotonic()
    failures = 0
    try:
        while True:
            done = storage_mod.count_finished(study)
            if done >= budget:
                outcome.stopped_by = "budget"
                break
            if timeout is not None and time.monotonic() - start >= timeout:
                outcome.stopped_by = "timeout"
                break
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
            last = study.trials[-1] if study.trials else None
            mine = _last_own_trial(study)
            if mine is not None and mine.state == TrialState.FAIL:
                failures += 1
                if failures >= spec.max_failures:
                    reason = mine.user_attrs.get("fail_reason", "see the trial's fail_reason")
                    raise TooManyFailuresError(
                        f"{spec.label}: stopped after {failures} failed trials in a row; last: {reason}"
                    )
            elif mine is not None:
                failures = 0
                outcome.added += 1
            if bar is not None:
                bar.n = min(storage_mod.count_finished(study), budget)
                best = _best_text(study)
                if best:
                    bar.set_postfix_str(best, refresh=False)
                bar.refresh()
            if on_trial and last is not None:
                on_trial(study, last)
    finally:
        if bar is not None:
            bar.close()
    outcome.test_scores = record_test_scores(prepared, study)
    return outcome


def _last_own_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    me = storage_mod.worker_id()
    for t in reversed(study.get_trials(deepcopy=False)):
        if t.user_attrs.get(storage_mod.WORKER_ATTR) == me and t.state != TrialState.RUNNING:
            return t
    return None


def _best_text(study: optuna.Study) -> str:
    try:
        if len(study.directions) > 1:
            return f"pareto={len(study.best_trials)}"
        return f"best={study.best_value:.6g}"
    except ValueError:
        return ""


TEST_ATTR = "automl:test_scores"


def record_test_scores(prepared: Prepared, study: optuna.Study, max_trials: int = 5) -> dict[int, dict[str, float]]:
    """Retrain the best trial (or up to 5 Pareto-optimal ones) and score it once on the test split.

    Stored as the study user attribute ``automl:test_scores`` = {trial number: {metric: value}}.
    """
    data = prepared.data
    if data is None or getattr(data, "test", None) is None:
        return {}
    try:
        best = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    except ValueError:
        return {}
    stored = {int(k): v for k, v in (study.user_attrs.get(TEST_ATTR) or {}).items()}
    from automl.trainers.base import FitContext

    for t in best[:max_trials]:
        if t.number in stored:
            continue
        ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=workers_threads(1), seed=prepared.spec.seed or 0)
        result = prepared.trainer.fit({**prepared.fixed, **t.params}, data, lambda *a, **k: None, ctx)
        values = prepared.trainer.evaluate(result, data, "test", prepared.metrics)
        stored[t.number] = {m.name: float(v) for m, v in zip(prepared.metrics, values) if math.isfinite(v)}
    keep = {t.number for t in best[:max_trials]}
    stored = {k: v for k, v in stored.items() if k in keep}
    study.set_user_attr(TEST_ATTR, {str(k): v for k, v in stored.items()})
    return stored
