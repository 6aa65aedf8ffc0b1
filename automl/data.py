"""Load CSV/Parquet, infer the task, split train/valid/test, and make columns model-ready.

pandas 3 reads text as dtype ``str``, which LightGBM rejects: text and bool columns become ``category``
with the categories learned on the training split, reused for valid/test/predict so the codes line up.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataError, DataWarning, Problem
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
    #: internal (trainer-safe) feature name -> the user's column name, for every renamed feature
    names: dict[str, str] = field(default_factory=dict)
    #: internal names of the features that were datetimes in the file (used as seconds since 1970 UTC)
    datetimes: list[str] = field(default_factory=list)

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
        """The feature names trainers see (safe for LightGBM); ``user_features`` are the file's names."""
        return list(self.train.X.columns)

    @property
    def user_features(self) -> list[str]:
        return [self.user_name(c) for c in self.features]

    def user_name(self, internal: str) -> str:
        return self.names.get(internal, internal)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """Apply the training split's encoding to new rows with the file's column names (data to predict)."""
        X = X[self.user_features].copy()
        X.columns = self.features
        for c in self.datetimes:
            X[c] = datetime_seconds(X[c])
        return encode_features(X, self.categories)


def fingerprint(path: Path) -> str:
    """sha256 of the file's bytes (first 16 hex digits), to notice a data file that changed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _header(path: Path, kind: str) -> list[str]:
    """The column names exactly as the file has them (pandas renames a repeated CSV name to ``name.1``)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        return [str(n) for n in pq.read_schema(path).names if not str(n).startswith("__index_level_")]
    row = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return [str(v) for v in row.iloc[0].tolist()] if len(row) else []


def read_frame(path: Path, label: str, field: str = "data.path") -> pd.DataFrame:
    """Read a .csv/.parquet file; every problem (type, missing, permission, format, repeated column
    names) is one :class:`DataError` line. Column names become strings."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError([Problem(label, field, f"unsupported file type {path.suffix!r}; use .csv or .parquet")])
    try:
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "file not found"
            raise DataError([Problem(label, field, f"{what}: {path}; check the path (relative to the study file)")])
        df = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
        header = _header(path, kind)
    except OSError as e:
        why = e.strerror or str(e).splitlines()[0]
        raise DataError([Problem(label, field, f"cannot read {path}: {why}; check the file's and its folders' permissions")]) from None
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure is a data problem to report in one line
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise DataError([Problem(label, field, f"cannot read {path.name}: {first}; is it a valid {kind} file?")]) from None
    names = header if len(header) == df.shape[1] else [str(c) for c in df.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError([Problem(label, field, f"{path.name} has repeated column names: "
                                 + ", ".join(f"{n!r} ({names.count(n)} times)" for n in repeated)
                                 + "; give every column a unique name")])
    df.columns = names
    return df


def read_table(path: Path, label: str) -> pd.DataFrame:
    df = read_frame(path, label)
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
    with np.errstate(invalid="ignore"):
        fractional = pd.api.types.is_float_dtype(y) and not np.all(np.mod(y.to_numpy(dtype=float), 1) == 0)
    if fractional:
        return REGRESSION
    if n <= 20 and n < 0.05 * len(y) + 3:
        return MULTICLASS
    return REGRESSION


#: Characters LightGBM refuses in feature names (JSON-special), and whitespace, which it rewrites to "_".
UNSAFE_NAME = re.compile(r'[",:\[\]{}\s]')
#: The largest |target| a regression trainer can take: LightGBM stores labels as 32-bit floats.
MAX_TARGET = float(np.finfo(np.float32).max)


def safe_names(names: list[str]) -> dict[str, str]:
    """The file's column name -> a name every trainer accepts (unchanged when already safe).

    Unsafe characters become ``_``; a name that would then collide with another gets ``__2``, ``__3``, ...
    """
    taken = {n for n in names if not UNSAFE_NAME.search(n) and n}
    out: dict[str, str] = {}
    for n in names:
        if n in taken and n not in out.values():
            out[n] = n
            continue
        base = UNSAFE_NAME.sub("_", n) or "_"
        cand, i = base, 1
        while cand in taken or cand in out.values():
            i += 1
            cand = f"{base}__{i}"
        taken.add(cand)
        out[n] = cand
    return out


def datetime_seconds(s: pd.Series) -> pd.Series:
    """A datetime column as float seconds since 1970-01-01 UTC (naive times are taken as UTC).

    Numbers are taken as seconds already (``test_rows.csv`` holds them so); text is parsed as dates.
    """
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, utc=True, format="mixed")
    elif s.dt.tz is None:
        s = s.dt.tz_localize("UTC")
    out = (s - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return out.astype(float)


def _unhashable(s: pd.Series) -> Any:
    """The first list/dict/set/array value of an object column, or None."""
    if s.dtype != object:
        return None
    for v in s:
        if isinstance(v, (list, dict, set, tuple, np.ndarray)):
            return v
    return None


def _short(v: Any) -> str:
    r = repr(v.tolist() if isinstance(v, np.ndarray) else v)
    return r if len(r) <= 40 else r[:37] + "..."


def check_target(y: pd.Series, name: str, label: str) -> list[Problem]:
    """Target values no trainer can learn from: containers, and (for numbers) inf or beyond float32."""
    v = _unhashable(y)
    if v is not None:
        return [Problem(label, "data.target", f"column {name!r} holds lists or mappings (e.g. {_short(v)}); the target must hold one number or label per row")]
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y) and not pd.api.types.is_complex_dtype(y):
        vals = y.to_numpy(dtype=float)
        bad = ~np.isfinite(vals) | (np.abs(np.nan_to_num(vals)) > MAX_TARGET)
        if bad.any():
            first = float(vals[np.flatnonzero(bad)[0]])
            return [Problem(label, "data.target", f"column {name!r} has {int(bad.sum())} value(s) that are infinite or beyond "
                            f"±{MAX_TARGET:.3g} (e.g. {first!r}); remove those rows or rescale the target")]
    return []


def prepare_features(X: pd.DataFrame, label: str, field: str = "data.path") -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Columns as trainers need them: safe names, datetimes as seconds, containers and complex numbers refused.

    Returns the frame with internal names, the internal -> file name map (renamed columns only) and the
    internal names of converted datetime columns.
    """
    problems, dt_cols = [], []
    X = X.copy()
    for c in X.columns:
        s = X[c]
        v = _unhashable(s)
        if v is not None:
            problems.append(Problem(label, field, f"column {c!r} holds lists or mappings (e.g. {_short(v)}); flatten it into one column per item or drop it"))
        elif pd.api.types.is_complex_dtype(s):
            problems.append(Problem(label, field, f"column {c!r} holds complex numbers; split it into real and imaginary columns"))
        elif pd.api.types.is_timedelta64_dtype(s):
            X[c] = s.dt.total_seconds()
        elif pd.api.types.is_datetime64_any_dtype(s):
            X[c] = datetime_seconds(s)
            dt_cols.append(c)
    if problems:
        raise DataError(problems)
    mapping = safe_names(list(X.columns))
    X.columns = [mapping[c] for c in X.columns]
    names = {new: old for old, new in mapping.items() if new != old}
    infinite = {names.get(c, c): int(np.isinf(X[c].to_numpy(dtype=float, na_value=np.nan)).sum())
                for c in X.columns if pd.api.types.is_float_dtype(X[c])}
    infinite = {c: n for c, n in infinite.items() if n}
    if infinite:
        warnings.warn(DataWarning(f"{label}: {field}: infinite values are used as missing values: "
                                  + ", ".join(f"{c!r} {n} row(s)" for c, n in infinite.items())), stacklevel=3)
    if dt_cols:
        warnings.warn(DataWarning(f"{label}: {field}: datetime column(s) {', '.join(map(repr, dt_cols))} are used as "
                                  "seconds since 1970-01-01 UTC"), stacklevel=3)
    return X, names, [mapping[c] for c in dt_cols]


def encode_features(X: pd.DataFrame, categories: dict[str, list[Any]]) -> pd.DataFrame:
    """Categories as the training split's; ±inf in numbers becomes missing (the MLP's scaler cannot take it)."""
    X = X.copy()
    for col in X.columns:
        if col not in categories and pd.api.types.is_float_dtype(X[col]):
            X[col] = X[col].mask(np.isinf(X[col].to_numpy(dtype=float, na_value=np.nan)))
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
    problems = check_target(y_raw, d.target, label)
    if problems:
        raise DataError(problems)
    X, names, dt_cols = prepare_features(df.drop(columns=[d.target]), label)
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
        names=names,
        datetimes=dt_cols,
    )


def peek_task(spec: Any) -> str | None:
    """The task without splitting: given, or inferred from the target column (None if unreadable)."""
    if spec.data.task:
        return spec.data.task
    df = read_table(spec.data_path, spec.label)
    if spec.data.target and spec.data.target in df.columns:
        return infer_task(df[spec.data.target])
    return None
