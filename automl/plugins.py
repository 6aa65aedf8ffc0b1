"""Both plugin faces of automl.

- For Optuna users: :class:`Objective` plugs a study file's trainer, data, search space, pruning and user
  attributes into a plain ``study.optimize(...)`` with the caller's own sampler, storage and callbacks.
- For trainer authors: :func:`installed` lists the trainers registered built in or under the entry-point
  group ``automl.trainers`` (see docs/plugins.md), as ``automl trainers`` prints them.
"""

from __future__ import annotations

from typing import Any

import optuna

from automl import attrs as attrs_mod
from automl.errors import AutomlError


class Objective:
    """``objective(trial) -> float`` (a list for several metrics) over a prepared study.

    On its first trial in a study it stores automl's study user attributes (model, metric names, task,
    data fingerprint, manifest) unless present, so ``automl report`` reads the study like one automl ran.
    """

    def __init__(self, prepared: Any, *, threads: int | None = None, seed: int | None = None):
        from automl.objective import make_objective
        from automl.run.loop import threads_per_worker
        from automl.run.study import study_attrs

        self.prepared = prepared
        self._inner = make_objective(prepared, threads=threads or threads_per_worker(1), seed=seed)
        self._attrs = study_attrs(prepared)
        self._ready: set[int] = set()

    @property
    def directions(self) -> list[str]:
        """What ``optuna.create_study(directions=...)`` needs for this study file's metrics."""
        return list(self.prepared.directions)

    @property
    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        from automl import space

        return space.distributions(self.prepared.params)

    def _setup(self, study: optuna.Study) -> None:
        from automl import _optuna_compat as compat
        from automl import space
        from automl.run.study import SPACE_ATTR

        key = id(compat.storage_of(study)), compat.study_id(study)
        if key in self._ready:
            return
        wanted = self.directions
        have = [d.name.lower() for d in study.directions]
        if have != wanted:
            raise AutomlError(
                f"study {study.study_name!r} optimizes {have} but metric {self._attrs[attrs_mod.METRIC]} needs "
                f"{wanted}; create it with optuna.create_study(directions=objective.directions)"
            )
        attrs = study.user_attrs
        if attrs_mod.MODEL not in attrs:
            for k, v in {SPACE_ATTR: space.fingerprint(self.prepared.params), **self._attrs}.items():
                study.set_user_attr(k, v)
        self._ready.add(key)

    def __call__(self, trial: optuna.Trial) -> Any:
        self._setup(trial.study)
        return self._inner(trial)


def installed() -> list[dict[str, Any]]:
    """Every registered trainer: name, origin, description, tasks, metrics (or the error loading it)."""
    from automl import trainers

    rows = []
    for name, target in trainers.registry().items():
        if isinstance(target, str):
            origin = "built-in"
        else:
            dist = getattr(target, "dist", None)
            origin = f"plugin {dist.name} {dist.version}" if dist is not None else f"plugin {target.value}"
        row: dict[str, Any] = {"name": name, "origin": origin}
        try:
            t = trainers.get(name)
            tasks = list(getattr(t, "tasks", ()))
            table = t.metrics()
            row.update(
                description=getattr(t, "description", ""),
                tasks=tasks,
                metrics=[m for m, spec in table.items() if set(tasks) & set(getattr(spec, "tasks", tasks))],
                default_metric={task: t.default_metric(task) for task in tasks},
            )
        except Exception as e:  # noqa: BLE001 - a broken plugin is listed with its error, not fatal
            row["error"] = f"{e.__class__.__name__}: {e}"
        rows.append(row)
    return rows
