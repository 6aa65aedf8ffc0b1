"""Metric names -> scikit-learn scoring functions and their direction. One table, one place.

Predictions handed to ``Metric.score`` are what trainers' ``predict`` returns: values for regression,
class probabilities for classification (shape ``(n,)`` = P(class 1) for binary, ``(n, k)`` for multiclass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

REGRESSION = "regression"
BINARY = "binary"
MULTICLASS = "multiclass"
TASKS = (REGRESSION, BINARY, MULTICLASS)
CLASSIFICATION = (BINARY, MULTICLASS)


def _labels(task: str, proba: np.ndarray) -> np.ndarray:
    if task == BINARY:
        return (np.asarray(proba) >= 0.5).astype(int)
    return np.asarray(proba).argmax(axis=1)


# rmse, mae and logloss are computed here with NumPy, the formulas scikit-learn uses (tests/test_metrics.py checks
# them against sklearn.metrics): sklearn's input validation cost 0.6 ms (rmse) and 5 ms (logloss) per call on
# 455 rows, and a run scores thousands of candidate blends when it builds its ensemble (automl.ensemble) and
# every fold of every cross-validated trial.
def _rmse(task, y, p, w=None):
    if y.ndim != 1 or y.shape != p.shape:
        from sklearn.metrics import root_mean_squared_error

        return root_mean_squared_error(y, p, sample_weight=w)
    return float(np.sqrt(np.average((y - p) ** 2, weights=w)))


def _mae(task, y, p, w=None):
    if y.ndim != 1 or y.shape != p.shape:
        from sklearn.metrics import mean_absolute_error

        return mean_absolute_error(y, p, sample_weight=w)
    return float(np.average(np.abs(y - p), weights=w))


def _r2(task, y, p, w=None):
    from sklearn.metrics import r2_score

    return r2_score(y, p, sample_weight=w)


def _logloss(task, y, p, w=None):
    p = np.asarray(p, dtype=float)
    if task == BINARY:
        p = np.column_stack([1 - p, p])
    codes = y.astype(np.int64, copy=False) if y.dtype.kind in "iub" or (
        y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)) else None
    if codes is None or p.ndim != 2 or len(codes) != len(p) or codes.min(initial=0) < 0 or codes.max(initial=0) >= p.shape[1]:
        from sklearn.metrics import log_loss

        return log_loss(y, p, labels=np.arange(p.shape[1]), sample_weight=w)
    # sklearn.metrics.log_loss (1.9): clip to [eps, 1 - eps] of the dtype, the mean of -log p(true class).
    eps = np.finfo(p.dtype).eps
    picked = np.clip(p[np.arange(len(codes)), codes], eps, 1 - eps)
    return float(-np.average(np.log(picked), weights=w))


def _auc(task, y, p, w=None):
    from sklearn.metrics import roc_auc_score

    if task == BINARY:
        return roc_auc_score(y, p, sample_weight=w)
    p = np.asarray(p, dtype=float)
    p = p / p.sum(axis=1, keepdims=True)
    return roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]), sample_weight=w)


def _accuracy(task, y, p, w=None):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, _labels(task, p), sample_weight=w)


def _f1(task, y, p, w=None):
    from sklearn.metrics import f1_score

    return f1_score(y, _labels(task, p), average="binary" if task == BINARY else "macro", sample_weight=w)


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "minimize" | "maximize"
    tasks: tuple[str, ...]
    fn: Callable[..., float]
    description: str

    def score(self, task: str, y_true, y_pred, weight=None) -> float:
        """The metric of ``y_pred`` against ``y_true``; ``weight``: row weights (``data.weight``), or None."""
        if weight is None:
            return float(self.fn(task, np.asarray(y_true), np.asarray(y_pred)))
        return float(self.fn(task, np.asarray(y_true), np.asarray(y_pred), np.asarray(weight, dtype=float)))

    @property
    def greater_is_better(self) -> bool:
        return self.direction == "maximize"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("rmse", "minimize", (REGRESSION,), _rmse, "root mean squared error"),
        Metric("mae", "minimize", (REGRESSION,), _mae, "mean absolute error"),
        Metric("r2", "maximize", (REGRESSION,), _r2, "coefficient of determination"),
        Metric("logloss", "minimize", CLASSIFICATION, _logloss, "cross-entropy of the predicted probabilities"),
        Metric("auc", "maximize", CLASSIFICATION, _auc, "ROC AUC (one-vs-rest for multiclass)"),
        Metric("accuracy", "maximize", CLASSIFICATION, _accuracy, "fraction of correct labels"),
        Metric("f1", "maximize", CLASSIFICATION, _f1, "F1 (macro-averaged for multiclass)"),
    ]
}

DEFAULT_METRIC = {REGRESSION: "rmse", BINARY: "logloss", MULTICLASS: "logloss"}

