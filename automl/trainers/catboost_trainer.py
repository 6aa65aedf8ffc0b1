"""CatBoost trainer (optional: ``pip install 'automl[boost]'``): CatBoost's own parameter names, plus
num_boost_round, early_stopping_rounds and report_every as the other boosted-tree trainers have them; the
validation metric is reported to the pruner from a training callback; pandas categories go in as CatBoost
categorical features (their codes, -1 for missing), which CatBoost encodes itself (ordered target statistics)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from automl.metrics import BINARY, MULTICLASS, REGRESSION
from automl.trainers.base import (
    BOOSTING_KNOBS,
    BoostingTrainer,
    FitContext,
    FitResult,
    Knob,
    Report,
    knob_problems,
    library_value_problems,
)

EXTRA_KNOBS = BOOSTING_KNOBS
EXTRA = {n: k.default for n, k in EXTRA_KNOBS.items()}
#: Values CatBoost accepts without a word but that make no model (a negative learning rate trains backwards).
OWN_KNOBS = {"learning_rate": Knob(0.1, "float", low=0.0, low_open=True)}
#: CatBoost's parameters (and aliases) a study may set; CatBoost checks their values.
PARAMS = frozenset({
    "learning_rate", "eta", "depth", "max_depth", "l2_leaf_reg", "reg_lambda", "random_strength",
    "bagging_temperature", "subsample", "bootstrap_type", "border_count", "max_bin", "min_data_in_leaf",
    "min_child_samples", "grow_policy", "max_leaves", "num_leaves", "rsm", "colsample_bylevel", "one_hot_max_size",
    "leaf_estimation_iterations", "leaf_estimation_method", "boosting_type", "auto_class_weights",
    "scale_pos_weight", "model_size_reg", "thread_count", "random_seed", "od_pval", "score_function",
    "feature_border_type", "langevin", "diffusion_temperature", "nan_mode",
})
#: Scalar parameters CatBoost itself checks before any trial (one iteration on 8 rows, nothing else set).
NATIVE_CHECKED = frozenset({
    "depth", "max_depth", "l2_leaf_reg", "reg_lambda", "random_strength", "bagging_temperature", "border_count",
    "max_bin", "min_data_in_leaf", "min_child_samples", "max_leaves", "num_leaves", "rsm", "colsample_bylevel",
    "one_hot_max_size", "leaf_estimation_iterations", "model_size_reg", "thread_count", "grow_policy",
    "bootstrap_type", "boosting_type", "leaf_estimation_method", "score_function", "nan_mode",
})


def native_refusal(name: str, value: Any) -> str | None:
    """What CatBoost says about ``name=value`` alone (one iteration on 8 rows), or None."""
    import re

    from catboost import CatBoost, CatBoostError, Pool

    try:
        CatBoost({name: value, "iterations": 1, "thread_count": 1, "verbose": False, "allow_writing_files": False}).fit(
            Pool(np.arange(8.0).reshape(-1, 1), label=np.arange(8.0)))
    except CatBoostError as e:
        text = (str(e).strip().splitlines() or ["refused"])[0]
        return "is refused by CatBoost: " + re.sub(r"^\S+\.cpp:\d+: ", "", text)[:200]
    except (TypeError, ValueError) as e:
        return f"is refused by CatBoost: {str(e)[:200]}"
    return None


#: CatBoost's defaults (depth 6, l2_leaf_reg 3, random_strength 1, bagging_temperature 1), with learning rate 0.1:
#: unset, CatBoost picks one from the data size and the number of iterations.
CATBOOST_DEFAULTS = {"learning_rate": 0.1, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0,
                     "bagging_temperature": 1.0}
# our metric -> (CatBoost's eval metric per task, its number -> ours)
NATIVE = {
    "rmse": ({REGRESSION: "RMSE"}, None),
    "mae": ({REGRESSION: "MAE"}, None),
    "r2": ({REGRESSION: "R2"}, None),
    "logloss": ({BINARY: "Logloss", MULTICLASS: "MultiClass"}, None),
    "auc": ({BINARY: "AUC"}, None),
    "accuracy": ({BINARY: "Accuracy", MULTICLASS: "Accuracy"}, None),
}
LOSS = {REGRESSION: "RMSE", BINARY: "Logloss", MULTICLASS: "MultiClass"}
MODEL_FILE, META_FILE = "model.cbm", "catboost.json"


def _pool(X: Any, y: Any = None, w: Any = None) -> Any:
    """A CatBoost Pool of an automl feature table: category columns as their integer codes (-1 = missing)."""
    import pandas as pd
    from catboost import Pool

    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    if cats:
        X = X.copy()
        for c in cats:
            X[c] = X[c].cat.codes.astype("int64")
    return Pool(X, label=None if y is None else np.asarray(y), weight=w, cat_features=cats or None)


class Model:
    def __init__(self, booster: Any, task: str):
        self.booster, self.task = booster, task

    def predict(self, X: Any) -> np.ndarray:
        if self.task == REGRESSION:
            return np.asarray(self.booster.predict(_pool(X)), dtype=float)
        p = np.asarray(self.booster.predict(_pool(X), prediction_type="Probability"), dtype=float)
        return p[:, 1] if self.task == BINARY and p.ndim == 2 else p


class CatBoostTrainer(BoostingTrainer):
    name = "catboost"
    description = ("gradient-boosted oblivious trees (CatBoost, optional: pip install 'automl[boost]'); CatBoost's "
                   "parameter names, its own encoding of categories")

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "depth": {"type": "int", "low": 3, "high": 10},
            "l2_leaf_reg": {"type": "float", "low": 0.5, "high": 30.0, "log": True},
            "random_strength": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
            "bagging_temperature": {"type": "float", "low": 0.0, "high": 2.0},
        }

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        return [("catboost-defaults", dict(CATBOOST_DEFAULTS))]

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        from automl.errors import suggest

        known = sorted(PARAMS | set(EXTRA))
        out = [(n, "is not a CatBoost parameter automl passes on" + suggest(n, known)) for n in names
               if n not in PARAMS | set(EXTRA)]
        if not isinstance(names, Mapping):
            return out
        return out + knob_problems({**EXTRA_KNOBS, **OWN_KNOBS}, names) + library_value_problems(
            names, native_refusal, lambda n: n in NATIVE_CHECKED)

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        from catboost import CatBoost

        from automl.trainers.lightgbm import SMALL_DATA_ROWS, _report_every

        extra = {k: params.get(k, v) for k, v in EXTRA.items()}
        rounds = int(extra["num_boost_round"])
        every = int(extra["report_every"] or _report_every(rounds))
        task = data.task
        p = {k: v for k, v in params.items() if k not in EXTRA}
        p.setdefault("loss_function", LOSS[task])
        p.setdefault("thread_count", ctx.threads if len(data.train) >= SMALL_DATA_ROWS else 1)
        p.setdefault("random_seed", ctx.seed)
        p.update(iterations=rounds, verbose=False, allow_writing_files=False)
        metric = ctx.metric
        native, transform = NATIVE.get(metric.name, ({}, None))
        eval_name = native.get(task) or LOSS[task]  # our metric when CatBoost has it, else its loss watches
        p["eval_metric"] = eval_name
        esr = int(extra["early_stopping_rounds"] or 0)
        state: dict[str, Any] = {"trained": 0, "stopped": False, "raised": None}

        class Reporter:
            def after_iteration(self, info: Any) -> bool:
                step = info.iteration + 1 if info.iteration is not None else state["trained"] + 1
                state["trained"] = step
                if ctx.stop is not None and step >= 10 and ctx.stop():
                    state["stopped"] = True
                    return False
                if native.get(task) and (step % every == 0 or step == rounds):
                    values = info.metrics.get("validation", {}).get(eval_name)
                    if values:
                        v = float(values[-1])
                        try:
                            report(step, transform(v) if transform else v)
                        except BaseException as e:  # noqa: BLE001 - a prune: CatBoost would wrap it in its own error
                            state["raised"] = e
                            return False
                return True

        model = CatBoost(p)
        t0 = time.perf_counter()
        model.fit(_pool(data.train.X, data.train.y, data.train.w),
                  eval_set=_pool(data.valid.X, data.valid.y, data.valid.w),
                  early_stopping_rounds=esr or None, use_best_model=bool(esr), callbacks=[Reporter()])
        if state["raised"] is not None:  # what report raised (the pruner's TrialPruned), raised here instead
            raise state["raised"]
        best = int(model.get_best_iteration()) + 1 if esr and model.get_best_iteration() is not None else int(model.tree_count_)
        info = {"best_iteration": best, "rounds_trained": int(state["trained"] or model.tree_count_),
                "fit_seconds": round(time.perf_counter() - t0, 4)}
        if state["stopped"]:
            info["stopped_by_time"] = True
        return FitResult(Model(model, task), info=info)

    def predict(self, result: FitResult, X: Any) -> np.ndarray:
        return result.model.predict(X)

    def save_model(self, result: FitResult, directory: Any) -> None:
        d = Path(directory)
        m: Model = result.model
        m.booster.save_model(str(d / MODEL_FILE))
        (d / META_FILE).write_text(json.dumps({"format": 1, "task": m.task}) + "\n", encoding="utf-8")

    def load_model(self, directory: Any) -> FitResult:
        from catboost import CatBoost

        d = Path(directory)
        meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
        booster = CatBoost()
        booster.load_model(str(d / MODEL_FILE))
        return FitResult(Model(booster, meta["task"]), info={})
