"""Ties a trial to a trainer: suggest -> fit(report=...) -> value(s).

Pruning lives here, once: the trainer's ``report(step, value)`` becomes ``trial.report`` +
``trial.should_prune()`` + ``raise optuna.TrialPruned``, as optuna-integration's callbacks do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import optuna

from automl import space
from automl.errors import TrialFailed
from automl.storage import WORKER_ATTR, worker_id
from automl.trainers.base import FitContext


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if hasattr(v, "item"):
        return v.item()
    return v


def make_objective(prepared: Any, *, threads: int = 1, seed: int | None = None) -> Callable[[optuna.Trial], Any]:
    """An Optuna objective over ``prepared`` (see :func:`automl.runner.prepare`)."""
    trainer, data, metrics = prepared.trainer, prepared.data, prepared.metrics
    params_spec, fixed = prepared.params, prepared.fixed
    multi = len(metrics) > 1
    ctx = FitContext(metric=metrics[0], task=prepared.task, threads=threads, seed=(prepared.spec.seed or 0) if seed is None else seed)

    def objective(trial: optuna.Trial) -> Any:
        trial.set_user_attr(WORKER_ATTR, worker_id())
        params = space.suggest(trial, params_spec)
        curve: list[dict[str, Any]] = []

        def report(step: int, value: float, **extras: Any) -> None:
            curve.append({"step": int(step), "value": _jsonable(float(value)), **{k: _jsonable(v) for k, v in extras.items()}})
            if not math.isfinite(value):
                raise TrialFailed(f"validation {metrics[0].name} is {value} at step {step}")
            if multi:
                return
            trial.report(float(value), int(step))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step} ({metrics[0].name} {value:.6g})")

        t0 = time.perf_counter()
        try:
            result = trainer.fit({**fixed, **params}, data, report, ctx)
            values = trainer.evaluate(result, data, "valid", metrics)
        except optuna.TrialPruned:
            trial.set_user_attr("pruned_at_step", curve[-1]["step"] if curve else 0)
            raise
        except Exception as e:
            trial.set_user_attr("fail_reason", f"{e.__class__.__name__}: {e}"[:500])
            raise
        finally:
            if curve:
                trial.set_user_attr("learning_curve", curve)
            trial.set_user_attr("fit_seconds", round(time.perf_counter() - t0, 4))
        bad = [m.name for m, v in zip(metrics, values) if not math.isfinite(v)]
        if bad:
            reason = f"validation {', '.join(bad)} is not finite ({values})"
            trial.set_user_attr("fail_reason", reason)
            raise TrialFailed(reason)
        for k, v in result.info.items():
            if k != "fit_seconds":
                trial.set_user_attr(k, _jsonable(v))
        for m, v in zip(metrics, values):
            trial.set_user_attr(f"valid_{m.name}", float(v))
        return values if multi else values[0]

    return objective
