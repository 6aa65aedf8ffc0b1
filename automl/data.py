"""Load CSV/Parquet, infer the task, split train/valid/test, and make columns model-ready.

pandas 3 reads text as dtype ``str``, which LightGBM rejects: text and bool columns become ``category``
with the categories learned on the training split, reused for valid/test/predict so the codes line up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataError, Problem
from automl.metrics import BINARY, MULTICLASS, REGRESSION

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class Split:
    X: pd.DataFrame
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class TabularData:
    """A tabular data set, split and encoded. ``classes`` maps encoded labels back to the originals."""

    task: str
    target: str
    train: Split
    valid: Split
    test: Split | None
    classes: list[Any] | None
    categories: dict[str, list[Any]] = field(default_factory=dict)
    path: str = ""
    fingerprint: str = ""
    #: k-fold cross-validation over train+valid (``dev``): (train rows, valid rows) index pairs into ``dev``;
    #: empty = one validation split. Set by :meth:`use_cv`.
    folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    seed: int = 0

    @property
    def cv(self) -> int:
        return len(self.folds)

    @property
    def dev(self) -> Split:
        """train + valid, in that order: what cross-validation folds index, and what export refits on."""
        cached = self.__dict__.get("_dev")
        if cached is None or cached[0] is not self.train or cached[1] is not self.valid:
            joined = Split(pd.concat([self.train.X, self.valid.X], ignore_index=True), np.concatenate([self.train.y, self.valid.y]))
            self.__dict__["_dev"] = cached = (self.train, self.valid, joined)
        return cached[2]

    def use_cv(self, k: int) -> None:
        """Score trials by ``k``-fold cross-validation of ``dev`` (stratified for classification; 0 = holdout)."""
        from sklearn.model_selection import KFold, StratifiedKFold

        if k < 2:
            self.folds = []
            return
        y = self.dev.y
        splitter = (KFold if self.task == REGRESSION else StratifiedKFold)(n_splits=k, shuffle=True, random_state=self.seed)
        self.folds = [(np.asarray(tr), np.asarray(va)) for tr, va in splitter.split(np.zeros(len(y)), y)]

    def fold(self, i: int) -> TabularData:
        """Fold ``i`` as a holdout data set (its train rows as ``train``, its valid rows as ``valid``)."""
        from dataclasses import replace

        tr, va = self.folds[i]
        dev = self.dev
        return replace(self, train=Split(dev.X.iloc[tr].reset_index(drop=True), dev.y[tr]),
                       valid=Split(dev.X.iloc[va].reset_index(drop=True), dev.y[va]), folds=[])

    @property
    def features(self) -> list[str]:
        return list(self.train.X.columns)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """Apply the training split's categories to new rows (valid, test, or data to predict)."""
        return encode_features(X[self.features], self.categories)


def fingerprint(path: Path) -> str:
    """sha256 of the file's bytes (first 16 hex digits), to notice a data file that changed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def read_table(path: Path, label: str) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError([Problem(label, "data.path", f"unsupported file type {path.suffix!r}; use .csv or .parquet")])
    if not path.exists():
        raise DataError([Problem(label, "data.path", f"file not found: {path}; check the path (relative to the study file)")])
    try:
        df = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is a data problem to report in one line
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise DataError([Problem(label, "data.path", f"cannot read {path.name}: {first}; is it a valid {kind} file?")]) from None
    if df.empty or df.shape[1] < 2:
        raise DataError([Problem(label, "data.path", f"{path.name} has {len(df)} rows and {df.shape[1]} columns; need rows and at least one feature besides the target")])
    return df


def infer_task(y: pd.Series) -> str:
    """regression for real numbers; binary for 2 distinct values; multiclass for text or few integer values."""
    y = y.dropna()
    n = y.nunique()
    if n == 2:
        return BINARY
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return MULTICLASS
    if pd.api.types.is_float_dtype(y) and not np.all(np.mod(y.to_numpy(dtype=float), 1) == 0):
        return REGRESSION
    if n <= 20 and n < 0.05 * len(y) + 3:
        return MULTICLASS
    return REGRESSION


def encode_features(X: pd.DataFrame, categories: dict[str, list[Any]]) -> pd.DataFrame:
    X = X.copy()
    for col, cats in categories.items():
        X[col] = pd.Categorical(X[col].astype("object").where(X[col].notna(), None), categories=cats)
    return X


def learn_categories(X: pd.DataFrame) -> dict[str, list[Any]]:
    cats = {}
    for col in X.columns:
        s = X[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            cats[col] = sorted(s.dropna().astype("object").unique().tolist(), key=str)
    return cats


def load(spec: Any) -> TabularData:
    """Load and split the data a study spec points to; every problem is a :class:`DataError`."""
    from sklearn.model_selection import train_test_split

    label = spec.label
    d = spec.data
    path = spec.data_path
    df = read_table(path, label)
    if not d.target:
        raise DataError([Problem(label, "data.target", "required for tabular trainers: the column to predict")])
    if d.target not in df.columns:
        from automl.studyfile import suggest

        raise DataError([Problem(label, "data.target", f"column {d.target!r} is not in {path.name}" + suggest(d.target, list(map(str, df.columns))))])
    df = df[df[d.target].notna()].reset_index(drop=True)
    y_raw = df[d.target]
    X = df.drop(columns=[d.target])
    task = d.task or infer_task(y_raw)
    classes = None
    if task == REGRESSION:
        if not pd.api.types.is_numeric_dtype(y_raw) or pd.api.types.is_bool_dtype(y_raw):
            raise DataError([Problem(label, "data.task", f"regression needs a numeric target, but {d.target!r} holds text; use task: binary or multiclass")])
        y = y_raw.to_numpy(dtype=float)
    else:
        classes = sorted(y_raw.unique().tolist(), key=lambda v: (str(type(v)), v))
        if task == BINARY and len(classes) != 2:
            raise DataError([Problem(label, "data.task", f"binary needs exactly 2 classes in {d.target!r}, found {len(classes)}; use task: multiclass" if len(classes) > 2 else f"binary needs 2 classes in {d.target!r}, found {len(classes)}")])
        if task == MULTICLASS and len(classes) < 2:
            raise DataError([Problem(label, "data.task", f"classification needs at least 2 classes in {d.target!r}, found {len(classes)}")])
        lookup = {c: i for i, c in enumerate(classes)}
        y = y_raw.map(lookup).to_numpy(dtype=int)
    n = len(y)
    strat = y if task != REGRESSION else None
    idx = np.arange(n)
    try:
        if d.test_size > 0:
            rest, test_idx = train_test_split(idx, test_size=d.test_size, random_state=d.seed, stratify=strat)
        else:
            rest, test_idx = idx, np.array([], dtype=int)
        valid_frac = d.valid_size / (1 - d.test_size)
        train_idx, valid_idx = train_test_split(
            rest, test_size=valid_frac, random_state=d.seed, stratify=None if strat is None else strat[rest]
        )
    except ValueError as e:
        raise DataError([Problem(label, "data.valid_size", f"cannot split {n} rows: {e}; use more rows or other fractions")]) from None
    cats = learn_categories(X.iloc[train_idx])
    Xe = encode_features(X, cats)

    def part(ix):
        return Split(Xe.iloc[ix].reset_index(drop=True), y[ix])

    return TabularData(
        task=task,
        target=d.target,
        train=part(train_idx),
        valid=part(valid_idx),
        test=part(test_idx) if len(test_idx) else None,
        classes=classes,
        categories=cats,
        path=str(path),
        fingerprint=fingerprint(path),
        seed=d.seed,
    )


def peek_task(spec: Any) -> str | None:
    """The task without splitting: given, or inferred from the target column (None if unreadable)."""
    if spec.data.task:
        return spec.data.task
    df = read_table(spec.data_path, spec.label)
    if spec.data.target and spec.data.target in df.columns:
        return infer_task(df[spec.data.target])
    return None
