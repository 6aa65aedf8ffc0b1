"""Ties a trial to a trainer: suggest -> fit(report=...) -> value(s).

Pruning lives here, once: the trainer's ``report(step, value)`` becomes ``trial.report`` +
``trial.should_prune()`` + ``raise optuna.TrialPruned``, as optuna-integration's callbacks do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import optuna

from automl import _optuna_compat, space
from automl.ensemble import PREDICTIONS_ATTR, family_of  # noqa: F401 - also automl.objective.PREDICTIONS_ATTR, as before
from automl.errors import TrialFailed
from automl.storage import WORKER_ATTR, worker_id
from automl.trainers.base import FitContext


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if hasattr(v, "item"):
        return v.item()
    return v


def describe(e: BaseException) -> str:
    """``Class: message`` of an exception, even of one whose ``__str__`` raises (the failure must keep a reason)."""
    try:
        text = str(e)
    except Exception as inner:  # noqa: BLE001 - any error of a broken __str__; the trial's own error matters
        text = f"<its message could not be read: {inner.__class__.__name__}>"
    return (f"{e.__class__.__name__}: {text}" if text else e.__class__.__name__)[:500]


def make_objective(prepared: Any, *, threads: int = 1, seed: int | None = None,
                   deadline: float | None = None, recorder: Any = None,
                   reserve: Callable[[], float] | None = None) -> Callable[[optuna.Trial], Any]:
    """An Optuna objective over ``prepared`` (see :func:`automl.spec.prepare`).

    ``deadline`` (``time.time()``): a trial still training then is cut short, keeping its model so far, early
    enough that refitting it (see :func:`refit_share`) also ends by the deadline; or, when longer, the seconds
    ``reserve()`` keeps (the refit of the best trial so far, which the run ends with if this one is no better).
    ``recorder`` (an :class:`automl.ensemble.Recorder`): stores the out-of-fold predictions of good trials."""
    trainer, data, metrics = prepared.trainer, prepared.data, prepared.metrics
    params_spec, fixed = prepared.params, prepared.fixed
    multi = len(metrics) > 1
    limits = getattr(prepared.spec, "constraints", None)
    ctx = FitContext(metric=metrics[0], task=prepared.task, threads=threads, seed=(prepared.spec.seed or 0) if seed is None else seed,
                     keep_predictions=recorder is not None)

    def objective(trial: optuna.Trial) -> Any:
        trial.set_user_attr(WORKER_ATTR, worker_id())
        if deadline is not None:
            started, share = time.time(), refit_share(data)
            kept = reserve() if reserve is not None else 0.0

            def stop() -> bool:
                now = time.time()
                return now + max((now - started) * share, kept) >= deadline

            fit_ctx = replace(ctx, stop=stop)
        else:
            fit_ctx = ctx
        params = space.suggest(trial, params_spec)
        curve: list[dict[str, Any]] = []
        first_used = None if multi else _optuna_compat.first_step_used(trial.study.pruner)

        def report(step: int, value: float, **extras: Any) -> None:
            curve.append({"step": int(step), "value": _jsonable(float(value)), **{k: _jsonable(v) for k, v in extras.items()}})
            if not math.isfinite(value):
                raise TrialFailed(f"validation {metrics[0].name} is {value} at step {step}")
            if first_used is None or step < first_used:
                return  # no pruner can use this step: it stays in the curve, stored once at the end
            trial.report(float(value), int(step))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step} ({metrics[0].name} {value:.6g})")

        t0 = time.perf_counter()
        attrs: dict[str, Any] = {}  # written in one storage transaction when the trial ends
        try:
            result, values, folds = fit_and_score(trainer, {**fixed, **params}, data, report, fit_ctx, metrics)
            bad = [m.name for m, v in zip(metrics, values) if not math.isfinite(v)]
            if bad:
                raise TrialFailed(f"validation {', '.join(bad)} is not finite ({values})")
            attrs.update({k: _jsonable(v) for k, v in result.info.items() if k != "fit_seconds"})
            attrs.update({f"valid_{m.name}": float(v) for m, v in zip(metrics, values)})
            if folds is not None:
                attrs[FOLDS_ATTR] = {m.name: [float(v) for v in f] for m, f in zip(metrics, folds)}
            family = family_of({**fixed, **params}) if recorder is not None else None
            if recorder is not None and recorder.wants(values[0], family):
                preds = result.predictions
                if preds is None and not getattr(data, "folds", None):  # one split: the valid rows' predictions
                    import numpy as np

                    preds = np.asarray(trainer.predict(result, data.valid.X), dtype=np.float32)
                if preds is not None:
                    attrs[PREDICTIONS_ATTR] = recorder.record(trial, values[0], preds, family)
            if limits:
                from automl import constraints

                rows = data.dev.X if getattr(data, "folds", None) else data.valid.X
                measured = constraints.measure(limits, trainer, result, rows)
                attrs.update(measured)
                for name, over in constraints.excess(limits, measured).items():
                    trial.set_constraint(name, over)
        except optuna.TrialPruned:
            attrs["pruned_at_step"] = curve[-1]["step"] if curve else 0
            raise
        except SystemExit as e:
            # sys.exit() in a trainer fails its trial, not the whole run (which would leave the trial RUNNING).
            reason = f"SystemExit: the trainer called sys.exit({e.code!r})"
            attrs["fail_reason"] = reason
            raise TrialFailed(reason) from None
        except Exception as e:
            attrs["fail_reason"] = describe(e)
            raise
        finally:
            if curve:
                attrs["learning_curve"] = curve
            attrs["fit_seconds"] = round(time.perf_counter() - t0, 4)
            _optuna_compat.set_user_attrs(trial, attrs)
        return values if multi else values[0]

    return objective


def refit_share(data: Any, complete: int | None = None) -> float:
    """The refit that follows a run (test score, export) as a share of one trial's time: the model on
    train+valid, about 1.25x one holdout fit, or one fold's share of a K-fold trial; a cross-validated study
    refits the members of its ensemble too: automl.ensemble.EXPECTED_MEMBERS of them, or as many as the study
    will have ``complete`` trials when fewer (a study of 2 trials has at most 2 members to refit)."""
    from automl.ensemble import EXPECTED_MEMBERS

    k = getattr(data, "cv", 0) or 0
    members = EXPECTED_MEMBERS if complete is None else max(1, min(EXPECTED_MEMBERS, complete))
    return 1.25 * members / k if k else 1.25


#: A cross-validated trial's value of every metric on each fold (its value is their mean).
FOLDS_ATTR = "fold_values"


def _silent(step: int, value: float, **extras: Any) -> None:
    return None


def fit_and_score(trainer: Any, params: dict[str, Any], data: Any, report: Callable[..., None], ctx: FitContext,
                  metrics: list[Any]) -> tuple[Any, list[float], list[list[float]] | None]:
    """Fit and score one configuration: (fit result, validation values, per-fold values or None).

    With cross-validation folds (``data.folds``) the values are the fold means. A trainer with ``fit_cv`` trains
    the folds in lockstep and reports the fold mean each step (LightGBM); any other trainer fits the folds one
    after another, reporting the first fold's curve to the pruner (so a bad configuration is pruned during fold
    1, as on a holdout split) and the rest silently.
    """
    if not getattr(data, "folds", None):
        result = trainer.fit(params, data, report, ctx)
        return result, list(trainer.evaluate(result, data, "valid", metrics)), None
    if hasattr(trainer, "fit_cv"):
        result, per_fold = trainer.fit_cv(params, data, report, ctx, metrics)
    else:
        result, per_fold = fit_folds(trainer, params, data, report, ctx, metrics)
    values = [sum(f) / len(f) for f in per_fold]
    return result, values, per_fold


def fit_folds(trainer: Any, params: dict[str, Any], data: Any, report: Callable[..., None], ctx: FitContext,
              metrics: list[Any]) -> tuple[Any, list[list[float]]]:
    """Cross-validation for a trainer without ``fit_cv``: the folds one after another, the first fold's curve
    reported to the pruner and the rest silent; (the last fold's result, each metric's per-fold values)."""
    per_fold: list[list[float]] = [[] for _ in metrics]
    infos = []
    oof = None
    for i in range(data.cv):
        part = data.fold(i)
        result = trainer.fit(params, part, report if i == 0 else _silent, ctx)
        infos.append(result.info)
        for j, v in enumerate(trainer.evaluate(result, part, "valid", metrics)):
            per_fold[j].append(float(v))
        if ctx.keep_predictions:
            import numpy as np

            pred = np.asarray(trainer.predict(result, part.valid.X), dtype=np.float32)
            if oof is None:
                oof = np.zeros((len(data.dev.y), *pred.shape[1:]), dtype=np.float32)
            oof[data.folds[i][1]] = pred
    result.predictions = oof
    # Whole-number facts (best_iteration, best_epoch, ...) become the folds' rounded mean, for the refit.
    for k in infos[0]:
        vals = [inf.get(k) for inf in infos]
        if all(isinstance(x, int) and not isinstance(x, bool) for x in vals):
            result.info[k] = int(round(sum(vals) / len(vals)))
    return result, per_fold
