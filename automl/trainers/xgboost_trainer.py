"""XGBoost trainer (optional: ``pip install 'automl[boost]'``): XGBoost's own parameter names, plus
num_boost_round, early_stopping_rounds and report_every; the validation metric is reported to the pruner from a
training callback; pandas categories go in as XGBoost categoricals (``enable_categorical``)."""

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
    Report,
    knob_problems,
    library_value_problems,
)

EXTRA_KNOBS = BOOSTING_KNOBS
EXTRA = {n: k.default for n, k in EXTRA_KNOBS.items()}
#: XGBoost's tree-booster parameters (and aliases) that a study may set; XGBoost checks their values.
PARAMS = frozenset({
    "learning_rate", "eta", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "colsample_bylevel",
    "colsample_bynode", "reg_lambda", "lambda", "reg_alpha", "alpha", "gamma", "min_split_loss", "max_delta_step",
    "max_leaves", "max_bin", "grow_policy", "tree_method", "booster", "scale_pos_weight", "max_cat_to_onehot",
    "max_cat_threshold", "nthread", "seed", "verbosity", "sampling_method", "num_parallel_tree",
})
#: Scalar parameters XGBoost itself checks before any trial (one boosting round on 8 rows; nothing else set).
NATIVE_CHECKED = frozenset({
    "learning_rate", "eta", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "colsample_bylevel",
    "colsample_bynode", "reg_lambda", "lambda", "reg_alpha", "alpha", "gamma", "min_split_loss", "max_delta_step",
    "max_leaves", "max_bin", "max_cat_to_onehot", "max_cat_threshold", "nthread",
})


def native_refusal(name: str, value: Any) -> str | None:
    """What XGBoost says about ``name=value`` alone, or None."""
    import re

    import numpy as np
    import xgboost as xgb

    try:
        xgb.train({name: value, "nthread": 1, "verbosity": 0},
                  xgb.DMatrix(np.arange(8.0).reshape(-1, 1), label=np.arange(8.0)), num_boost_round=1)
    except xgb.core.XGBoostError as e:
        text = (str(e).strip().splitlines() or ["refused"])[0]
        m = re.search(r"for Parameter (\w+) should be greater equal to (\S+)", text)
        if m:
            return f"must be >= {m.group(2)} (XGBoost's check of {m.group(1)})"
        m = re.search(r"for Parameter (\w+) exceed bound \[(\S+),(\S+)\]", text)
        if m:
            return f"must be in [{m.group(2)}, {m.group(3)}] (XGBoost's check of {m.group(1)})"
        return "is refused by XGBoost: " + re.sub(r"^\[[^]]*\] \S+: ", "", text)[:200]
    return None


XGBOOST_DEFAULTS = {"learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0,
                    "colsample_bytree": 1.0, "reg_lambda": 1.0, "reg_alpha": 1e-8}
# our metric -> (XGBoost's eval metric per task, its number -> ours)
NATIVE = {
    "rmse": ({REGRESSION: "rmse"}, None),
    "mae": ({REGRESSION: "mae"}, None),
    "logloss": ({BINARY: "logloss", MULTICLASS: "mlogloss"}, None),
    "auc": ({BINARY: "auc"}, None),
    "accuracy": ({BINARY: "error", MULTICLASS: "merror"}, lambda v: 1.0 - v),
}
MODEL_FILE, META_FILE = "model.json", "xgboost.json"


class Model:
    def __init__(self, booster: Any, best_iteration: int, task: str):
        self.booster, self.best_iteration, self.task = booster, best_iteration, task

    def predict(self, X: Any) -> np.ndarray:
        import xgboost as xgb

        d = xgb.DMatrix(X, enable_categorical=True)
        out = np.asarray(self.booster.predict(d, iteration_range=(0, int(self.best_iteration))), dtype=float)
        if out.ndim == 2:  # softprob in float32: rows sum to 1 again in float64
            out /= out.sum(axis=1, keepdims=True)
        return out


class XGBoostTrainer(BoostingTrainer):
    name = "xgboost"
    description = "gradient-boosted trees (XGBoost, optional: pip install 'automl[boost]'); XGBoost's parameter names"

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "max_depth": {"type": "int", "low": 2, "high": 10},
            "min_child_weight": {"type": "float", "low": 0.01, "high": 20.0, "log": True},
            "subsample": {"type": "float", "low": 0.5, "high": 1.0},
            "colsample_bytree": {"type": "float", "low": 0.4, "high": 1.0},
            "reg_lambda": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
            "reg_alpha": {"type": "float", "low": 1e-8, "high": 10.0, "log": True},
        }

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        return [("xgboost-defaults", dict(XGBOOST_DEFAULTS))]

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        from automl.errors import suggest

        known = sorted(PARAMS | set(EXTRA))
        out = [(n, "is not an XGBoost parameter automl passes on" + suggest(n, known)) for n in names if n not in PARAMS | set(EXTRA)]
        if not isinstance(names, Mapping):
            return out
        return out + knob_problems(EXTRA_KNOBS, names) + library_value_problems(
            names, native_refusal, lambda n: n in NATIVE_CHECKED)

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        import xgboost as xgb

        from automl.trainers.lightgbm import SMALL_DATA_ROWS, _report_every

        extra = {k: params.get(k, v) for k, v in EXTRA.items()}
        rounds = int(extra["num_boost_round"])
        every = int(extra["report_every"] or _report_every(rounds))
        task = data.task
        p = {k: v for k, v in params.items() if k not in EXTRA}
        p.setdefault("objective", {REGRESSION: "reg:squarederror", BINARY: "binary:logistic",
                                   MULTICLASS: "multi:softprob"}[task])
        if task == MULTICLASS:
            p.setdefault("num_class", data.n_classes)
        p.setdefault("nthread", ctx.threads if len(data.train) >= SMALL_DATA_ROWS else 1)
        p.setdefault("seed", ctx.seed)
        p.setdefault("tree_method", "hist")
        p.setdefault("verbosity", 0)
        metric = ctx.metric
        native, transform = NATIVE.get(metric.name, ({}, None))
        custom = None
        if native.get(task):
            p["eval_metric"] = native[task]
        else:
            p["disable_default_eval_metric"] = 1

            def custom(preds: Any, dm: Any) -> tuple[str, float]:  # noqa: ANN401
                w = dm.get_weight()
                return metric.name, float(metric.score(task, dm.get_label(), preds, w if len(w) else None))

        dtrain = xgb.DMatrix(data.train.X, np.asarray(data.train.y), weight=data.train.w, enable_categorical=True)
        dvalid = xgb.DMatrix(data.valid.X, np.asarray(data.valid.y), weight=data.valid.w, enable_categorical=True)
        state = {"trained": 0, "stopped": False}

        class Reporter(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                step = epoch + 1
                state["trained"] = step
                if ctx.stop is not None and step >= 10 and ctx.stop():
                    state["stopped"] = True
                    return True
                if step % every == 0 or step == rounds:
                    values = next(iter(evals_log.get("valid", {}).values()), None)
                    if values:
                        v = float(values[-1])
                        report(step, transform(v) if transform else v)
                return False

        callbacks: list[Any] = [Reporter()]
        esr = int(extra["early_stopping_rounds"] or 0)
        if esr:
            # XGBoost knows the direction of its own metrics; ours (custom) says it
            callbacks.append(xgb.callback.EarlyStopping(rounds=esr, maximize=None if native.get(task) else metric.greater_is_better,
                                                        save_best=False))
        t0 = time.perf_counter()
        booster = xgb.train(p, dtrain, num_boost_round=rounds, evals=[(dvalid, "valid")], custom_metric=custom,
                            callbacks=callbacks, verbose_eval=False)
        best = int(booster.attr("best_iteration") or (state["trained"] - 1)) + 1 if esr else int(state["trained"] or rounds)
        info = {"best_iteration": best, "rounds_trained": int(state["trained"]), "fit_seconds": round(time.perf_counter() - t0, 4)}
        if state["stopped"]:
            info["stopped_by_time"] = True
        return FitResult(Model(booster, best, task), info=info)

    def predict(self, result: FitResult, X: Any) -> np.ndarray:
        return result.model.predict(X)

    def save_model(self, result: FitResult, directory: Any) -> None:
        d = Path(directory)
        m: Model = result.model
        m.booster.save_model(str(d / MODEL_FILE))
        (d / META_FILE).write_text(json.dumps({"format": 1, "best_iteration": m.best_iteration, "task": m.task}) + "\n",
                                   encoding="utf-8")

    def load_model(self, directory: Any) -> FitResult:
        import xgboost as xgb

        d = Path(directory)
        meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
        booster = xgb.Booster()
        booster.load_model(str(d / MODEL_FILE))
        return FitResult(Model(booster, int(meta["best_iteration"]), meta["task"]), info={})
