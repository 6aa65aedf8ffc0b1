"""``check_trainer(trainer)``: the conformance checks every trainer passes, built-in or plugin.

As scikit-learn's ``check_estimator`` and Optuna's ``optuna.testing`` do for their own protocols: each check
fits the trainer on a few rows and looks at what the rest of automl relies on (declared names and tasks, a
default space written in the study-file syntax, parameter-name checks, ``report`` called with increasing
steps and finite values, pruning able to stop a fit from inside ``report``, ``evaluate`` returning one finite
number per metric, the same seed giving the same model, save/load giving the same predictions). A plugin
author runs it in their own tests::

    from automl.testing import check_trainer
    from automl_hgb import HGBTrainer

    def test_conforms():
        check_trainer(HGBTrainer())

It raises :class:`TrainerCheckError` naming every check that failed, each with its reason. Tabular trainers get
generated data (one small table per task they declare); a trainer of other data (``data_kind`` other than
``"tabular"``, e.g. the language-model trainers) needs ``study``: the fields of a small study file of its kind
(``data.path``, ``fixed``, ...), relative paths resolved against ``folder``.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["TrainerCheckError", "check_trainer"]


class TrainerCheckError(AssertionError):
    """One line per failed check: ``check name: what was wrong``."""

    def __init__(self, trainer: str, failures: list[tuple[str, str]]):
        self.failures = failures
        lines = "\n".join(f"  {name}: {why}" for name, why in failures)
        super().__init__(f"trainer {trainer!r} failed {len(failures)} conformance check(s):\n{lines}")


class _Stop(Exception):
    """Raised from ``report`` by the pruning check: the trainer must let it through."""


def check_trainer(trainer: Any, *, study: Mapping[str, Any] | None = None, fixed: Mapping[str, Any] | None = None,
                  folder: str | Path | None = None) -> None:
    """Run every conformance check on ``trainer`` (an instance, or a class taking no arguments).

    ``fixed``: parameters added to each fit (e.g. fewer boosting rounds, to keep the checks quick).
    ``study``: for trainers of other data than tables, the study-file fields the checks run on."""
    if isinstance(trainer, type):
        trainer = trainer()
    name = str(getattr(trainer, "name", type(trainer).__name__))
    failures: list[tuple[str, str]] = []

    def run(check: str, fn: Callable[[], None]) -> bool:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure becomes one line of the report
            failures.append((check, f"{type(e).__name__}: {e}" if not isinstance(e, AssertionError) else str(e)))
            return False
        return True

    if not run("declares", lambda: _declares(trainer)) and not isinstance(trainer, _base()):
        raise TrainerCheckError(name, failures)  # nothing else can be relied on
    run("check_params", lambda: _check_params(trainer))
    with tempfile.TemporaryDirectory(prefix="automl-check-") as tmp:
        cases: list[tuple[str, Any]] = []
        run("data", lambda: cases.extend(_cases(trainer, study, Path(folder) if folder else None, Path(tmp))))
        for label, spec in cases:
            loaded: dict[str, Any] = {}
            if not run(f"load_data[{label}]", lambda spec=spec, out=loaded: out.update(d=trainer.load_data(spec))):
                continue
            run(f"fit[{label}]", lambda spec=spec, out=loaded: _fit_checks(trainer, spec, out["d"], dict(fixed or {}), Path(tmp)))
    if failures:
        raise TrainerCheckError(name, failures)


# -- the checks ------------------------------------------------------------------------------------------------
def _base() -> type:
    from automl.trainers.base import BaseTrainer

    return BaseTrainer


def _declares(trainer: Any) -> None:
    from automl.metrics import TASKS
    from automl.trainers.base import BaseTrainer

    assert isinstance(trainer, BaseTrainer), (
        f"is a {type(trainer).__name__}; subclass automl.trainers.base.BaseTrainer (or TabularTrainer)")
    assert isinstance(trainer.name, str) and trainer.name, "name must be a non-empty string"
    assert isinstance(trainer.description, str), "description must be a string"
    tasks = tuple(trainer.tasks)
    assert tasks and all(isinstance(t, str) for t in tasks), f"tasks must be a non-empty tuple of names (got {tasks!r})"
    if trainer.data_kind == "tabular":
        assert set(tasks) <= set(TASKS), f"a tabular trainer's tasks are among {TASKS} (got {tasks!r})"
    metrics = trainer.metrics()
    for task in tasks:
        default = trainer.default_metric(task)
        assert default in metrics, f"default_metric({task!r}) = {default!r} is not in metrics()"
        assert task in metrics[default].tasks, f"default_metric({task!r}) = {default!r} does not apply to {task!r}"
        space = trainer.default_space(task)
        assert isinstance(space, dict), f"default_space({task!r}) must be a dict (got {type(space).__name__})"
        _parse_space(space, f"default_space({task!r})")
        assert isinstance(trainer.default_fixed(task), dict), f"default_fixed({task!r}) must be a dict"


def _parse_space(space: Mapping[str, Any], where: str) -> dict[str, Any]:
    from automl.studyfile import ParamSpec

    out = {}
    for pname, raw in space.items():
        try:
            out[pname] = ParamSpec.model_validate(raw)
        except Exception as e:  # noqa: BLE001 - pydantic's error, one line
            raise AssertionError(f"{where}: {pname!r} is not a study-file parameter: {str(e).splitlines()[0]}") from None
    return out


def _check_params(trainer: Any) -> None:
    for task in trainer.tasks:
        names = [*trainer.default_space(task), *trainer.default_fixed(task)]
        problems = trainer.check_params(names)
        assert not problems, f"check_params refuses its own default space/fixed for {task!r}: {problems}"
    bogus = "no_such_parameter_xyz"
    problems = trainer.check_params([bogus])
    assert problems and problems[0][0] == bogus, (
        f"check_params([{bogus!r}]) must name it as unknown (got {problems!r}): a typo in a study file would be silent")


def _cases(trainer: Any, study: Mapping[str, Any] | None, folder: Path | None, tmp: Path) -> list[tuple[str, Any]]:
    """(label, StudySpec) to fit on: one generated table per declared task, or the given study."""
    import yaml

    from automl import studyfile

    if study is not None:
        doc = {"model": trainer.name, "seed": 0, "trials": 1, **dict(study)}
        path = (folder or tmp) / "check-trainer.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        try:
            return [("study", studyfile.load(path))]
        finally:
            path.unlink()
    if trainer.data_kind != "tabular":
        raise TypeError(f"trainer {trainer.name!r} reads {trainer.data_kind!r} data: pass study={{...}} to check it")
    out = []
    for task in trainer.tasks:
        csv = _table(task, tmp)
        doc = {"model": trainer.name, "seed": 0, "trials": 1,
               "data": {"path": csv.name, "target": "y", "task": task, "cv": 0, "seed": 0}}
        path = tmp / f"check-{task}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        out.append((task, studyfile.load(path)))
    return out


def _table(task: str, folder: Path) -> Path:
    """120 rows: four numbers, one text column (a category) and the target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 120
    X = rng.normal(size=(n, 4))
    color = rng.choice(["red", "green", "blue"], size=n)
    signal = X[:, 0] + 0.5 * X[:, 1] + (color == "red")
    if task == "regression":
        y: Any = signal + 0.1 * rng.normal(size=n)
    elif task == "binary":
        y = np.where(signal + 0.3 * rng.normal(size=n) > 0.3, "yes", "no")
    else:
        y = np.array(["a", "b", "c"])[np.digitize(signal + 0.3 * rng.normal(size=n), [-0.3, 0.8])]
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]).assign(color=color, y=y)
    path = folder / f"{task}.csv"
    df.to_csv(path, index=False)
    return path


def _params(trainer: Any, task: str, fixed: dict[str, Any]) -> dict[str, Any]:
    """The trainer's fixed defaults, the middle of each default-space range (first choice), then ``fixed``."""
    out = dict(trainer.default_fixed(task))
    for pname, p in _parse_space(trainer.default_space(task), "default_space").items():
        if p.type == "categorical":
            out[pname] = p.choices[0]
        elif p.log:
            v = math.sqrt(p.low * p.high)
            out[pname] = round(v) if p.type == "int" else v
        else:
            v = (p.low + p.high) / 2
            out[pname] = round(v) if p.type == "int" else v
    return {**out, **fixed}


def _fit_checks(trainer: Any, spec: Any, data: Any, fixed: dict[str, Any], tmp: Path) -> None:
    from automl.trainers.base import FitContext, exportable

    task = getattr(data, "task", None) or trainer.peek_task(spec)
    metric = trainer.metrics()[trainer.default_metric(task)]
    params = _params(trainer, task, {**dict(spec.fixed or {}), **fixed})
    ctx = FitContext(metric=metric, task=task, threads=1, seed=0)

    steps: list[tuple[Any, Any]] = []
    result = trainer.fit(dict(params), data, lambda step, value, **extras: steps.append((step, value)), ctx)
    if trainer.reports_steps:
        _reports(trainer, params, data, ctx, steps)
    values = {}
    for split in ("valid", "test"):
        if getattr(data, split, None) is None:
            continue
        got = trainer.evaluate(result, data, split, [metric])
        assert len(got) == 1 and isinstance(got[0], (int, float)) and math.isfinite(float(got[0])), (
            f"evaluate(..., {split!r}, [{metric.name}]) must return one finite number (got {got!r})")
        values[split] = float(got[0])
    again = trainer.fit(dict(params), data, lambda *a, **k: None, ctx)
    for split, v in values.items():
        w = float(trainer.evaluate(again, data, split, [metric])[0])
        assert math.isclose(v, w, rel_tol=1e-6, abs_tol=1e-9), (
            f"two fits with seed {ctx.seed} scored {v!r} and {w!r} on {split}: use ctx.seed for every random generator")
    final = trainer.final_params(dict(params), {"best_iteration": 3})
    assert isinstance(final, dict), f"final_params must return a dict (got {type(final).__name__})"
    if exportable(trainer):
        folder = Path(tempfile.mkdtemp(dir=tmp))
        trainer.save_model(result, folder)
        loaded = trainer.load_model(folder)
        for split, v in values.items():
            w = float(trainer.evaluate(loaded, data, split, [metric])[0])
            assert math.isclose(v, w, rel_tol=1e-6, abs_tol=1e-9), (
                f"the model saved and loaded scores {w!r} on {split}, the fitted one {v!r}")


def _reports(trainer: Any, params: dict[str, Any], data: Any, ctx: Any, steps: list[tuple[Any, Any]]) -> None:
    assert steps, ("fit never called report(step, value): no learning curve, and pruners cannot act "
                   "(a trainer without steps sets reports_steps = False)")
    for (s0, _), (s1, _) in zip(steps, steps[1:], strict=False):
        assert isinstance(s1, int) and s1 > s0, f"report steps must be increasing whole numbers (got {s0!r} then {s1!r})"
    bad = [(s, v) for s, v in steps if not isinstance(v, (int, float)) or not math.isfinite(float(v))]
    assert not bad, f"report values must be finite numbers (got {bad[:3]!r})"

    def stop_at_first(step: Any, value: Any, **extras: Any) -> None:
        raise _Stop

    try:
        trainer.fit(dict(params), data, stop_at_first, ctx)
    except _Stop:
        pass
    else:
        raise AssertionError("an exception raised in report (how a pruner stops a trial) was swallowed by fit")

