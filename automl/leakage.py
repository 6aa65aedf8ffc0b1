"""Leakage and sanity checks of a study's data, run when it is loaded (``validate`` and ``run``): warnings, not
errors, each naming the column and the fix.

- a feature that equals or almost determines the target (a copy of it, or a column the target is a function of);
- an ID-like feature (text unique per row, or whole numbers that count the rows);
- a time column used as a plain feature with a random split (the future trains the model that predicts the past);
- a validation split too small for its metric (fewer than 30 rows, or fewer than 5 rows of a class) and classes
  missing from a split. (Cross-validated studies score every train+valid row: the check is for the one split.)
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataWarning
from automl.metrics import REGRESSION

MIN_VALID_ROWS = 30
MIN_CLASS_ROWS = 5


def _say(label: str, field: str, message: str) -> None:
    warnings.warn(DataWarning(f"{label}: {field}: {message}"), stacklevel=4)


def determines_target(x: pd.Series, y: np.ndarray, task: str) -> bool:
    """Whether ``x`` equals the target or the target is (almost) a function of it."""
    n = len(y)
    if n < 20:
        return False
    if task == REGRESSION:
        if not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
            return False
        v = x.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(v)
        if ok.sum() < 20 or np.nanstd(v[ok]) == 0 or np.std(y[ok]) == 0:
            return False
        return bool(abs(np.corrcoef(v[ok], y[ok])[0, 1]) >= 0.999)
    # classification: each value of x (with few distinct values) maps to one class in >= 99% of rows
    codes, uniques = pd.factorize(x.astype("object"), use_na_sentinel=True)
    if len(uniques) == 0 or len(uniques) > max(2, n // 10):
        return False
    frame = pd.DataFrame({"x": codes, "y": y})[codes >= 0]
    if len(frame) < 0.9 * n:
        return False
    majority = frame.groupby("x")["y"].agg(lambda s: s.value_counts().iloc[0]).sum()
    return bool(majority >= 0.99 * len(frame))


def id_like(x: pd.Series) -> bool:
    """Text unique per row, or whole numbers 0..n-1 / 1..n in some order (a row counter)."""
    n = len(x)
    if n < 20 or x.isna().any():
        return False
    if isinstance(x.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(x):
        return x.astype("object").nunique() == n
    if pd.api.types.is_bool_dtype(x):
        return False
    v = x.to_numpy(dtype=float)
    if not np.all(np.equal(np.mod(v, 1), 0)):
        return False
    return len(np.unique(v)) == n and v.max() - v.min() + 1 == n


_DATE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")


def looks_like_time(x: pd.Series) -> bool:
    """Text that holds dates (2024-01-31, 31/01/2024, with an optional time), as CSV files store them."""
    if pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
        return False
    sample = x.dropna().astype(str).head(50)
    if len(sample) < 5 or not all(_DATE.match(v) for v in sample):
        return False
    try:
        pd.to_datetime(sample, format="mixed")
    except (ValueError, TypeError):
        return False
    return True


def warn(label: str, X: pd.DataFrame, y: np.ndarray, task: str, classes: list[Any] | None, names: dict[str, str],
         datetimes: list[str], split_by: str, parts: tuple[np.ndarray, np.ndarray, np.ndarray], *, target: str) -> None:
    user = lambda c: names.get(c, c)  # noqa: E731 - the file's column name
    for c in X.columns:
        if determines_target(X[c], y, task):
            _say(label, "data.features", f"column {user(c)!r} equals or almost determines the target {target!r} "
                                         "(a leak: it would not be known at prediction time?); add it to data.drop")
        elif id_like(X[c]) and not looks_like_time(X[c]):
            _say(label, "data.features", f"column {user(c)!r} is unique per row, like an ID; a model cannot learn from it "
                                         "and may overfit: set data.id (kept for predict's output) or add it to data.drop")
    if split_by == "random":
        for c in [*datetimes, *(c for c in X.columns if c not in datetimes and looks_like_time(X[c]))]:
            _say(label, "data.split", f"column {user(c)!r} holds times and is a plain feature of a random split: rows "
                                      f"from the future train a model scored on the past; use split: {{by: time, column: {user(c)}}}")
    train, _valid, test = parts
    if classes:
        for name, ix in (("train", train), ("test", test)):
            _missing_classes(label, name, y[ix], classes)


def _missing_classes(label: str, name: str, y: np.ndarray, classes: list[Any]) -> np.ndarray | None:
    if not len(y):
        return None
    counts = np.bincount(y, minlength=len(classes))
    missing = [classes[i] for i, k in enumerate(counts) if k == 0]
    if missing:
        _say(label, "data", f"the {name} split has no row of class(es) {', '.join(map(repr, missing[:5]))}; "
                            "use more rows, or a split that keeps every class (stratified random)")
        return None
    return counts


def warn_valid(label: str, data: Any) -> None:
    """The one validation split of a study that is not cross-validated: too small for its metric?"""
    valid = data.valid
    if len(valid) and len(valid) < MIN_VALID_ROWS:
        _say(label, "data.valid_size", f"the validation split has {len(valid)} rows (< {MIN_VALID_ROWS}): its score is noise "
                                       "and many trials will overfit it; use data.cv: 5 or a larger valid_size")
    if data.classes:
        counts = _missing_classes(label, "valid", np.asarray(valid.y, dtype=int), data.classes)
        if counts is not None and counts.min() < MIN_CLASS_ROWS:
            rare = data.classes[int(counts.argmin())]
            _say(label, "data.valid_size", f"the validation split has {int(counts.min())} row(s) of class {rare!r} "
                                           f"(< {MIN_CLASS_ROWS}); use data.cv: 5 or a larger valid_size")
