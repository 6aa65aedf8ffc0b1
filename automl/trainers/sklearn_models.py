"""scikit-learn trainers: random forest, extra trees and a linear model (ridge / logistic regression).

Trees take numbers as they are (scikit-learn's trees handle missing values) and categories as their codes; the
forest grows in stages of ``stage_trees`` trees (``warm_start``), and the validation metric after each stage is
reported, so pruners stop a poor forest early. The linear model standardizes numbers and one-hot encodes
categories (the MLP's preprocessing) and reports once. Models are exported with joblib.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from automl.metrics import BINARY, MULTICLASS, REGRESSION
from automl.trainers.base import FitContext, FitResult, Knob, Report, TabularTrainer, _spec_problem, small_data_cv

MODEL_FILE, META_FILE = "model.joblib", "sklearn.json"

FOREST_KNOBS: dict[str, Knob] = {
    "n_estimators": Knob(300, "int", low=1),
    "stage_trees": Knob(50, "int", low=1),  # trees added per reported stage
    "max_features": Knob(1.0, "float", low=0.0, low_open=True, high=1.000001),  # share of the features per split
    "min_samples_leaf": Knob(1, "int", low=1),
    "max_depth": Knob(None, "int", low=1),
    "max_samples": Knob(None, "float", low=0.0, low_open=True, high=1.000001),  # bootstrap share (random forest)
    "n_jobs": Knob(None, "int", low=1),  # threads; default: 1 below 20,000 training rows, else the run's (as LightGBM)
    "criterion": Knob(None, "choice", choices=("squared_error", "absolute_error", "friedman_mse", "poisson",
                                               "gini", "entropy", "log_loss")),
}
LINEAR_KNOBS: dict[str, Knob] = {
    "C": Knob(1.0, "float", low=0.0, low_open=True),  # logistic regression: inverse regularization strength
    "alpha": Knob(1.0, "float", low=0.0),  # ridge: regularization strength
    "max_iter": Knob(1000, "int", low=1),
}


def _check(name: str, knobs: Mapping[str, Knob], names: Iterable[str] | Mapping[str, Any]) -> list[tuple[str, str]]:
    from automl.errors import suggest

    out = []
    items = names.items() if isinstance(names, Mapping) else ((n, None) for n in names)
    for n, v in items:
        if n not in knobs:
            hint = suggest(n, list(knobs))
            if not hint.startswith("; valid"):
                hint += f" (valid: {', '.join(knobs)})"
            out.append((n, f"is not a parameter of trainer {name!r}{hint}"))
        elif v is not None:
            problem = _spec_problem(knobs[n], v) if hasattr(v, "type") and hasattr(v, "choices") else knobs[n].value_problem(v)
            if problem:
                out.append((n, problem))
    return out


def tree_matrix(X: Any) -> np.ndarray:
    """Numbers as they are (NaN = missing), categories as their codes (missing = NaN): what sklearn's trees take."""
    import pandas as pd

    cols = []
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy(dtype=float)
            codes[codes < 0] = np.nan
            cols.append(codes)
        else:
            cols.append(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.zeros((len(X), 0))


class SklearnModel:
    """A fitted estimator, how to encode rows for it, and the task's prediction form."""

    def __init__(self, estimator: Any, task: str, n_classes: int, kind: str):
        self.estimator, self.task, self.n_classes, self.kind = estimator, task, n_classes, kind

    def encode(self, X: Any) -> Any:
        if self.kind == "linear":
            from automl.trainers.mlp import _to_object

            return _to_object(X)
        return tree_matrix(X)

    def predict_encoded(self, Xe: Any) -> np.ndarray:
        est = self.estimator
        if self.task == REGRESSION:
            return np.asarray(est.predict(Xe), dtype=float)
        proba = np.asarray(est.predict_proba(Xe), dtype=float)
        # A class absent from the training rows has no column: put the columns where the classes belong.
        full = np.zeros((len(proba), self.n_classes))
        full[:, np.asarray(est.classes_, dtype=int)] = proba
        return full[:, 1] if self.task == BINARY else full

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_encoded(self.encode(X))


class _SklearnTrainer(TabularTrainer):
    kind = "forest"
    knobs: dict[str, Knob] = {}

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        return _check(self.name, self.knobs, names)

    def default_cv(self, rows: int, features: int, timeout: float | None) -> int:
        """LightGBM's rule (5 folds on small data): these fits are as cheap, and one small split overfits."""
        return small_data_cv(rows, features, timeout)

    def _n_classes(self, data: Any) -> int:
        return int(getattr(data, "n_classes", 0) or 0) if data.task != REGRESSION else 0

    def predict(self, result: FitResult, X: Any) -> np.ndarray:
        return result.model.predict(X)

    @staticmethod
    def _threads(data: Any, ctx: FitContext) -> int:
        from automl.trainers.lightgbm import SMALL_DATA_ROWS

        return max(1, int(ctx.threads)) if len(data.train) >= SMALL_DATA_ROWS else 1

    def save_model(self, result: FitResult, directory: Any) -> None:
        import joblib

        d = Path(directory)
        m: SklearnModel = result.model
        joblib.dump(m.estimator, d / MODEL_FILE)
        doc = {"format": 1, "trainer": self.name, "task": m.task, "n_classes": m.n_classes, "kind": m.kind,
               "info": {k: v for k, v in result.info.items() if isinstance(v, (int, float, str, bool))}}
        (d / META_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    def load_model(self, directory: Any) -> FitResult:
        import joblib

        d = Path(directory)
        doc = json.loads((d / META_FILE).read_text(encoding="utf-8"))
        return FitResult(SklearnModel(joblib.load(d / MODEL_FILE), doc["task"], doc["n_classes"], doc["kind"]),
                         info=doc.get("info", {}))


class _ForestTrainer(_SklearnTrainer):
    kind = "forest"
    knobs = FOREST_KNOBS
    bootstrap = True

    def estimator_classes(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "max_features": {"type": "float", "low": 0.1, "high": 1.0},
            "min_samples_leaf": {"type": "int", "low": 1, "high": 32, "log": True},
        }

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        """Close to scikit-learn's defaults first: every feature per split for regression; for classification
        half of them (scikit-learn's sqrt(features) depends on the data, which this hook does not see)."""
        return [(f"{self.name}-defaults", {"max_features": 1.0 if task == REGRESSION else 0.5, "min_samples_leaf": 1})]

    def final_params(self, params: dict[str, Any], user_attrs: Any) -> dict[str, Any]:
        """The refit grows the trees the trial grew: a trial cut short at the deadline (or pruned and then chosen
        by ``--trial``) is refit as it was scored, not with the full ``n_estimators``, which on large data took
        several times the time left for the refit."""
        grown = (user_attrs or {}).get("n_estimators_fit")
        return {**params, "n_estimators": int(grown)} if grown else dict(params)

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        p = {n: params.get(n, k.default) for n, k in self.knobs.items()}
        reg_cls, clf_cls = self.estimator_classes()
        task, n_classes = data.task, self._n_classes(data)
        opts: dict[str, Any] = {"max_features": float(p["max_features"]), "min_samples_leaf": int(p["min_samples_leaf"]),
                                "max_depth": None if p["max_depth"] is None else int(p["max_depth"]),
                                "n_jobs": int(p["n_jobs"]) if p["n_jobs"] else self._threads(data, ctx),
                                "random_state": ctx.seed, "warm_start": True}
        if p["criterion"] is not None:
            opts["criterion"] = p["criterion"]
        if self.bootstrap and p["max_samples"] is not None:
            opts["max_samples"] = float(p["max_samples"])
        est = (reg_cls if task == REGRESSION else clf_cls)(n_estimators=0, **opts)
        model = SklearnModel(est, task, n_classes, self.kind)
        t0 = time.perf_counter()
        X, y = tree_matrix(data.train.X), np.asarray(data.train.y)
        Xv = tree_matrix(data.valid.X) if data.valid is not None and len(data.valid) else None
        total, step = int(p["n_estimators"]), max(1, int(p["stage_trees"]))
        grown = 0
        while grown < total:
            grown = min(total, grown + step)
            est.set_params(n_estimators=grown)
            est.fit(X, y, sample_weight=data.train.w)
            if Xv is not None:
                report(grown, float(ctx.metric.score(task, data.valid.y, model.predict_encoded(Xv), data.valid.w)))
            if ctx.stop is not None and grown < total and ctx.stop():
                break
        return FitResult(model, info={"n_estimators_fit": int(grown), "fit_seconds": round(time.perf_counter() - t0, 4)})


class RandomForestTrainer(_ForestTrainer):
    name = "random-forest"
    description = "scikit-learn random forest; grows in stages reported to the pruner; categories as codes"

    def estimator_classes(self) -> tuple[Any, Any]:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        return RandomForestRegressor, RandomForestClassifier


class ExtraTreesTrainer(_ForestTrainer):
    name = "extra-trees"
    description = "scikit-learn extremely randomized trees; grows in stages reported to the pruner; categories as codes"
    bootstrap = False

    def estimator_classes(self) -> tuple[Any, Any]:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        return ExtraTreesRegressor, ExtraTreesClassifier


class LinearTrainer(_SklearnTrainer):
    name = "linear"
    description = "scikit-learn ridge (regression) / logistic regression (classification) on standardized, one-hot inputs"
    kind = "linear"
    knobs = LINEAR_KNOBS

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        if task == REGRESSION:
            return {"alpha": {"type": "float", "low": 1e-4, "high": 1e3, "log": True}}
        return {"C": {"type": "float", "low": 1e-4, "high": 1e3, "log": True}}

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        return [("linear-defaults", {"alpha": 1.0} if task == REGRESSION else {"C": 1.0})]

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline

        from automl.trainers.mlp import _to_object, make_preprocessor

        p = {n: params.get(n, k.default) for n, k in self.knobs.items()}
        task = data.task
        head = (Ridge(alpha=float(p["alpha"]), random_state=ctx.seed) if task == REGRESSION
                else LogisticRegression(C=float(p["C"]), max_iter=int(p["max_iter"]), random_state=ctx.seed))
        t0 = time.perf_counter()
        est = make_pipeline(make_preprocessor(data.train.X), head)
        weight = {} if data.train.w is None else {f"{est.steps[-1][0]}__sample_weight": data.train.w}
        est.fit(_to_object(data.train.X), np.asarray(data.train.y), **weight)
        model = SklearnModel(est, task, self._n_classes(data), self.kind)
        if data.valid is not None and len(data.valid):
            report(1, float(ctx.metric.score(task, data.valid.y, model.predict(data.valid.X), data.valid.w)))
        return FitResult(model, info={"fit_seconds": round(time.perf_counter() - t0, 4)})


__all__ = ["ExtraTreesTrainer", "LinearTrainer", "RandomForestTrainer", "MULTICLASS"]
