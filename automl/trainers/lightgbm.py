"""LightGBM trainer: LightGBM's own parameter names (and aliases), plus num_boost_round,
early_stopping_rounds and report_every. Reports the validation metric to the pruner from a callback."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from automl.metrics import BINARY, MULTICLASS, Metric
from automl.trainers import base as _base
from automl.trainers.base import (
    FitContext,
    FitResult,
    Report,
    knob_problems,
    library_value_problems,
)

#: Our own keys, consumed here and not passed to LightGBM, with the values each accepts (checked before a study
#: is written; LightGBM's own parameters are LightGBM's to check).
EXTRA_KNOBS = _base.BOOSTING_KNOBS
EXTRA = {n: k.default for n, k in EXTRA_KNOBS.items()}

#: A trial cut short by the time budget keeps at least this many rounds.
MIN_ROUNDS_BEFORE_STOP = 10

#: LightGBM's defaults in the default space's names (lambda 0 as the log range's floor, 1e-8).
LIGHTGBM_DEFAULTS = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 1.0,
                     "bagging_fraction": 1.0, "lambda_l1": 1e-8, "lambda_l2": 1e-8}

#: The default cross-validation rule (see automl.trainers.base.small_data_cv), importable from here as before.
CV_MAX_ROWS, CV_MIN_CELLS = _base.CV_MAX_ROWS, _base.CV_MIN_CELLS

#: Below this many training rows a fit uses one thread (see lgb_params).
SMALL_DATA_ROWS = 20_000

# Our metric name -> (LightGBM metric per task, transform of LightGBM's number into ours)
NATIVE = {
    "rmse": ({"regression": "rmse"}, None),
    "mae": ({"regression": "l1"}, None),
    "logloss": ({BINARY: "binary_logloss", MULTICLASS: "multi_logloss"}, None),
    "auc": ({BINARY: "auc"}, None),
    "accuracy": ({BINARY: "binary_error", MULTICLASS: "multi_error"}, lambda v: 1.0 - v),
}


@lru_cache(maxsize=1)
def known_params() -> frozenset[str]:
    """Every LightGBM parameter name and alias, as the installed library reports them."""
    from lightgbm.basic import _ConfigAliases

    names: set[str] = set()
    for main, aliases in _ConfigAliases._get_all_param_aliases().items():
        names.add(main)
        names.update(aliases)
    return frozenset(names)


#: LightGBM parameters whose values are checked before any trial by LightGBM itself (its config checks): scalar
#: ones whose validity depends on neither the task nor the data (``monotone_constraints`` and the like need the
#: columns, ``num_class`` the objective). Aliases count (``eta`` is ``learning_rate``).
NATIVE_CHECKED = frozenset({
    "learning_rate", "num_leaves", "max_depth", "min_data_in_leaf", "min_sum_hessian_in_leaf", "bagging_fraction",
    "pos_bagging_fraction", "neg_bagging_fraction", "bagging_freq", "feature_fraction", "feature_fraction_bynode",
    "lambda_l1", "lambda_l2", "min_gain_to_split", "max_bin", "min_data_in_bin", "path_smooth", "drop_rate",
    "max_drop", "skip_drop", "top_rate", "other_rate", "max_delta_step", "linear_lambda", "cat_l2", "cat_smooth",
    "max_cat_threshold", "min_data_per_group", "num_threads",
})


@lru_cache(maxsize=1)
def _canonical() -> dict[str, str]:
    """alias (and main name) -> LightGBM's main parameter name."""
    from lightgbm.basic import _ConfigAliases

    out = {}
    for main, aliases in _ConfigAliases._get_all_param_aliases().items():
        out[main] = main
        for a in aliases:
            out.setdefault(a, main)
    return out


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null meanwhile (what a C library writes there, too)."""
    import os
    import sys

    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def native_refusal(name: str, value: Any) -> str | None:
    """What LightGBM says about ``name=value`` alone (a Booster on 8 rows, nothing trained), or None."""
    import re

    import lightgbm as lgb
    import numpy as np

    ds = lgb.Dataset(np.arange(8.0).reshape(-1, 1), label=np.arange(8.0), params={"verbose": -1})
    try:
        with _quiet_stderr():  # LightGBM's C++ writes its "[Fatal]" line to stderr before raising
            lgb.Booster(params={name: value, "verbose": -1, "num_threads": 1}, train_set=ds)
    except lgb.basic.LightGBMError as e:
        text = str(e).splitlines()[0] if str(e) else "refused"
        m = re.match(r"Check failed: \((\w+)\) (\S+) \((.+?)\)", text)
        if m:
            return f"must be {m.group(2)} {m.group(3)} (LightGBM's check of {m.group(1)})"
        m = re.match(r"Parameter (\w+) should be of type (\w+)", text)
        if m:
            return f"must be of type {m.group(2)} (LightGBM)"
        return "is refused by LightGBM: " + re.sub(r" at /\S+.*$", "", text)
    return None


@dataclass
class _Boosting:
    """One fit's LightGBM set-up (see LightGBMTrainer._boosting) and what its callback saw."""

    params: dict[str, Any]
    rounds: int
    feval: Any
    callbacks: list[Any]
    trained: int = 0
    stopped: bool = False


class Model:
    """A Booster and the iteration to predict with."""

    def __init__(self, booster: Any, best_iteration: int):
        self.booster = booster
        self.best_iteration = best_iteration

    def predict(self, X: Any) -> np.ndarray:
        return self.booster.predict(X, num_iteration=self.best_iteration or None)


def _report_every(num_boost_round: int) -> int:
    # One trial.report on SQLite costs milliseconds; reporting every round of a 1,000-round fit would
    # cost seconds. ~100 reports per fit keep the overhead small while pruners see the whole curve.
    return max(1, num_boost_round // 100)


class LightGBMTrainer(_base.BoostingTrainer):
    name = "lightgbm"
    description = "gradient-boosted trees (LightGBM); accepts LightGBM's parameter names and aliases"

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "num_leaves": {"type": "int", "low": 4, "high": 256, "log": True},
            "min_child_samples": {"type": "int", "low": 2, "high": 100, "log": True},
            "feature_fraction": {"type": "float", "low": 0.4, "high": 1.0},
            "bagging_fraction": {"type": "float", "low": 0.4, "high": 1.0},
            "lambda_l1": {"type": "float", "low": 1e-8, "high": 10.0, "log": True},
            "lambda_l2": {"type": "float", "low": 1e-8, "high": 10.0, "log": True},
        }

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        """The first trials of a study, before the sampler takes over: LightGBM's own defaults (strong, and
        where LightGBMTuner starts), then the portfolio mined offline on other data
        (automl/trainers/lightgbm_portfolio.json, made by benchmarks/portfolio/mine.py), as (tag, params)."""
        from automl.trainers import portfolio

        out = [("lightgbm-defaults", dict(LIGHTGBM_DEFAULTS))]
        out += [(f"portfolio-{i + 1}", cfg) for i, cfg in enumerate(portfolio.load("lightgbm"))]
        return out

    def default_fixed(self, task: str) -> dict[str, Any]:
        return {"bagging_freq": 1}

    def pruner_defaults(self, fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Median/percentile pruning waits for a fifth of the fit (200 of 1,000 rounds) and 10 finished trials.

        Chosen by the benchmark suite (benchmarks/results/suite-full.md, the automl-warmup ablation): the generic
        default (warm-up 10 steps, 5 startup trials) compares trials at round 10, where a learning rate of 0.01 always
        looks worse than 0.3, so it pruned the slow learners that win on larger data (diamonds, bikeshare) and
        spent the trial budget in seconds."""
        return _base.boosting_pruner_defaults(fixed.get("num_boost_round", EXTRA["num_boost_round"]))

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        from automl.errors import suggest

        known = known_params() | set(EXTRA)
        unknown = [
            (n, "is not a LightGBM parameter or alias" + suggest(n, sorted(known)))
            for n in names
            if n not in known
        ]
        if not isinstance(names, Mapping):
            return unknown
        return unknown + knob_problems(EXTRA_KNOBS, names) + library_value_problems(
            {n: v for n, v in names.items() if n in known}, native_refusal,
            lambda n: _canonical().get(n) in NATIVE_CHECKED)

    def lgb_params(self, params: dict[str, Any], data: Any, ctx: FitContext) -> dict[str, Any]:
        p = {k: v for k, v in params.items() if k not in EXTRA}
        objective = {"regression": "regression", BINARY: "binary", MULTICLASS: "multiclass"}[data.task]
        p.setdefault("objective", objective)
        if data.task == MULTICLASS:
            p.setdefault("num_class", data.n_classes)
        p.setdefault("verbosity", -1)
        # Small data gains nothing from threads, and LightGBM's OpenMP threads spin while they wait: on a busy
        # machine a 2-thread fit of a few thousand rows ran 30x slower than a 1-thread one.
        p.setdefault("num_threads", ctx.threads if len(data.train) >= SMALL_DATA_ROWS else 1)
        p.setdefault("seed", ctx.seed)
        p.setdefault("deterministic", True)
        p.setdefault("force_col_wise", True)
        p["feature_pre_filter"] = False  # lets min_data_in_leaf vary across trials on one Dataset
        native = NATIVE.get(ctx.metric.name, ({}, None))[0].get(data.task)
        p["metric"] = native if native else "None"
        return p

    def _boosting(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> _Boosting:
        """What ``lgb.train`` and ``lgb.cv`` share: parameters, the custom metric, the callback that reports the
        validation metric (every ``report_every`` rounds) and stops at the time budget, and early stopping."""
        import lightgbm as lgb

        extra = {k: params.get(k, v) for k, v in EXTRA.items()}
        rounds = int(extra["num_boost_round"])
        every = int(extra["report_every"] or _report_every(rounds))
        p = self.lgb_params(params, data, ctx)
        metric: Metric = ctx.metric
        transform = NATIVE.get(metric.name, (None, None))[1]
        feval = None
        if p["metric"] == "None":
            task = data.task

            def feval(preds, ds):  # noqa: ANN001 - LightGBM's callback signature
                return metric.name, metric.score(task, ds.get_label(), preds, ds.get_weight()), metric.greater_is_better

        run = _Boosting(p, rounds, feval, [])

        def pruning_callback(env: Any) -> None:
            step = env.iteration + 1
            run.trained = step
            if ctx.stop is not None and step >= MIN_ROUNDS_BEFORE_STOP and ctx.stop():
                run.stopped = True
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)
            if step % every and step != env.end_iteration:
                return
            for dataset, _name, value, *_ in env.evaluation_result_list:
                if dataset == "valid":  # lgb.cv names the fold mean "valid" too
                    report(step, float(transform(value) if transform else value))
                    return

        pruning_callback.order = 25  # after record_evaluation, before early stopping (order 30)
        run.callbacks.append(pruning_callback)
        esr = extra["early_stopping_rounds"]
        boosting = next((p[k] for k in ("boosting", "boosting_type", "boost") if k in p), "gbdt")
        if esr and boosting != "dart":  # LightGBM cannot early-stop dart (it rewrites earlier trees)
            run.callbacks.append(lgb.early_stopping(int(esr), first_metric_only=True, verbose=False))
        return run

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        import lightgbm as lgb

        run = self._boosting(params, data, report, ctx)
        p, rounds, feval, callbacks = run.params, run.rounds, run.feval, run.callbacks
        train, valid = self.datasets(p, data)
        t0 = time.perf_counter()
        booster = lgb.train(
            p, train, num_boost_round=rounds, valid_sets=[valid], valid_names=["valid"],
            feval=feval, callbacks=callbacks,
        )
        best = booster.best_iteration or booster.current_iteration()
        return FitResult(
            Model(booster, best),
            info={"best_iteration": int(best), "rounds_trained": int(run.trained or booster.current_iteration()),
                  "fit_seconds": round(time.perf_counter() - t0, 4), **({"stopped_by_time": True} if run.stopped else {})},
        )

    def fit_cv(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext,
               metrics: list[Metric]) -> tuple[FitResult, list[list[float]]]:
        """K-fold cross-validation in lockstep (``lightgbm.cv``): the K boosters grow one round at a time, the
        fold mean is reported each step (so pruners act on it, as on a holdout curve), early stopping watches the
        mean, and every fold stops at the same best iteration. Returns the per-fold values of every metric at
        that iteration (fold i's model on fold i's validation rows)."""
        import lightgbm as lgb

        run = self._boosting(params, data, report, ctx)
        p, rounds = run.params, run.rounds
        full = self.dev_dataset(p, data)
        t0 = time.perf_counter()
        out = lgb.cv(p, full, num_boost_round=rounds, folds=data.folds, feval=run.feval, callbacks=run.callbacks,
                     return_cvbooster=True)
        cvb = out["cvbooster"]
        best = int(cvb.best_iteration) if (cvb.best_iteration or 0) > 0 else int(run.trained or rounds)
        dev = data.dev
        per_fold: list[list[float]] = [[] for _ in metrics]
        oof = None
        for booster, (_tr, va) in zip(cvb.boosters, data.folds, strict=True):
            pred = booster.predict(dev.X.iloc[va], num_iteration=best)
            if oof is None:
                oof = np.zeros((len(dev.y), *np.shape(pred)[1:]), dtype=np.float32)
            oof[va] = pred
            for j, m in enumerate(metrics):
                per_fold[j].append(float(m.score(data.task, dev.y[va], pred, None if dev.w is None else dev.w[va])))
        return (
            FitResult(Model(cvb.boosters[0], best),
                      info={"best_iteration": best, "rounds_trained": int(run.trained or best),
                            "fit_seconds": round(time.perf_counter() - t0, 4), **({"stopped_by_time": True} if run.stopped else {})},
                      predictions=oof),
            per_fold,
        )

    def dev_dataset(self, p: dict[str, Any], data: Any) -> Any:
        """train+valid as one Dataset for ``lightgbm.cv``, binned once per study (see :meth:`datasets`)."""
        import threading

        import lightgbm as lgb

        dataset_params = lgb.Dataset(None, params=p).get_params()
        key = ("cv", threading.get_ident(), id(data.train), id(data.valid), repr(sorted(dataset_params.items())), p.get("seed"))
        cache: dict[Any, Any] = data.__dict__.setdefault("_lgb_datasets", {})
        if key not in cache:
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            dev = data.dev
            cache[key] = lgb.Dataset(dev.X, dev.y, weight=dev.w, params={"verbosity": -1}, free_raw_data=False)
        return cache[key]

    def datasets(self, p: dict[str, Any], data: Any) -> tuple[Any, Any]:
        """The training and validation Datasets, binned once and reused by every later trial of the study.

        Binning is the same for every trial unless a Dataset parameter (max_bin, min_data_in_bin, ...) changes,
        and ``feature_pre_filter=False`` lets min_data_in_leaf vary on one Dataset; so the pair is cached on the
        data object, keyed by the Dataset parameters (and the thread, since a Dataset must not be trained on by
        two threads at once). A trial that tunes max_bin gets a new pair per value.
        """
        import threading

        import lightgbm as lgb

        dataset_params = lgb.Dataset(None, params=p).get_params()
        key = (threading.get_ident(), id(data.train), id(data.valid), repr(sorted(dataset_params.items())), p.get("seed"))
        cache: dict[Any, tuple[Any, Any]] = data.__dict__.setdefault("_lgb_datasets", {})
        if key not in cache:
            if len(cache) >= 8:  # a study that tunes max_bin: keep memory bounded
                cache.pop(next(iter(cache)))
            train = lgb.Dataset(data.train.X, data.train.y, weight=data.train.w, params={"verbosity": -1}, free_raw_data=False)
            valid = lgb.Dataset(data.valid.X, data.valid.y, weight=data.valid.w, reference=train, free_raw_data=False)
            cache[key] = (train, valid)
        return cache[key]

    # -- export hooks ---------------------------------------------------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Any) -> dict[str, Any]:
        """The refit has no validation split to early-stop on: train the trial's best number of rounds."""
        return _base.boosting_refit_params(params, user_attrs)

    def save_model(self, result: FitResult, directory: Any) -> None:
        result.model.booster.save_model(str(directory / "model.txt"), num_iteration=result.model.best_iteration or None)

    def load_model(self, directory: Any) -> FitResult:
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(directory / "model.txt"))
        return FitResult(Model(booster, booster.current_iteration()), info={})
