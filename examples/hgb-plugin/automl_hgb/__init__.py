"""An automl trainer plugin: scikit-learn's HistGradientBoosting{Regressor,Classifier} as ``model: hgb``.

Everything a trainer needs, in one file: its parameter names, default search space, metrics (the
inherited table), ``fit`` reporting the validation metric as it trains (so pruners can stop it), and the
three export hooks. It never imports Optuna; ``automl`` turns ``report`` into pruning.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import TrialFailed
from automl.trainers import FitContext, FitResult, Report, TabularTrainer

#: Our own keys, not passed to scikit-learn: boosting iterations between two reports.
REPORT_EVERY = 10


class HGBTrainer(TabularTrainer):
    name = "hgb"
    tasks = ("regression", "binary", "multiclass")
    description = "histogram gradient boosting (scikit-learn); an example plugin, see docs/plugins.md"
    #: A closed list: any other name in a study file's params/fixed is an error with a suggestion.
    param_names = (
        "learning_rate", "max_iter", "max_leaf_nodes", "max_depth", "min_samples_leaf",
        "l2_regularization", "max_features", "max_bins", "interaction_cst", "report_every",
    )

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "max_leaf_nodes": {"type": "int", "low": 4, "high": 128, "log": True},
            "min_samples_leaf": {"type": "int", "low": 2, "high": 60, "log": True},
            "l2_regularization": {"type": "float", "low": 1e-8, "high": 10.0, "log": True},
        }

    def default_fixed(self, task: str) -> dict[str, Any]:
        return {"max_iter": 200}

    def _estimator(self, params: dict[str, Any], task: str, seed: int) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
        p = {k: v for k, v in params.items() if k not in ("max_iter", "report_every")}
        # warm_start lets fit() add REPORT_EVERY iterations at a time, so we can report in between;
        # categorical_features="from_dtype" uses the pandas `category` columns automl's data loader makes.
        return cls(**p, warm_start=True, early_stopping=False, categorical_features="from_dtype", random_state=seed)

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        total = int(params.get("max_iter", 200))
        every = int(params.get("report_every", REPORT_EVERY))
        model = self._estimator(params, data.task, ctx.seed)
        result = FitResult(model)
        best, best_step = None, 0
        t0 = time.perf_counter()
        for step in [*range(every, total, every), total]:
            model.set_params(max_iter=step)
            model.fit(data.train.X, data.train.y)
            value = ctx.metric.score(data.task, data.valid.y, self.predict(result, data.valid.X))
            if not np.isfinite(value):
                raise TrialFailed(f"validation {ctx.metric.name} is {value} after {step} iterations")
            report(step, value)  # automl may raise here to prune the trial
            if best is None or (value > best if ctx.metric.greater_is_better else value < best):
                best, best_step = value, step
        result.info.update(best_iteration=best_step, fit_seconds=round(time.perf_counter() - t0, 4))
        return result

    def predict(self, result: FitResult, X: Any) -> np.ndarray:
        """Values for regression; P(class 1) for binary; (n, k) probabilities for multiclass."""
        model = result.model
        if not hasattr(model, "predict_proba"):
            return model.predict(X)
        proba = model.predict_proba(X)
        return proba[:, 1] if proba.shape[1] == 2 else proba

    # -- export hooks: automl export / automl predict ----------------------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Any) -> dict[str, Any]:
        """Refit on train+valid with the number of iterations that scored best on valid."""
        out = dict(params)
        if user_attrs.get("best_iteration"):
            out["max_iter"] = int(user_attrs["best_iteration"])
        return out

    def save_model(self, result: FitResult, directory: Path) -> None:
        # scikit-learn's own persistence format is pickle; load it only from exports you trust.
        with open(directory / "model.pkl", "wb") as f:
            pickle.dump(result.model, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load_model(self, directory: Path) -> FitResult:
        with open(directory / "model.pkl", "rb") as f:
            return FitResult(pickle.load(f))  # noqa: S301 - our own export, see save_model
