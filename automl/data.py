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
    #: row weights (``data.weight``): used in training and in every metric; None = every row counts once
    w: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def take(self, ix: Any) -> Split:
        return Split(self.X.iloc[ix].reset_index(drop=True), self.y[ix], None if self.w is None else self.w[ix])


def join(a: Split, b: Split) -> Split:
    """``a``'s rows then ``b``'s (weights too)."""
    w = None if a.w is None or b.w is None else np.concatenate([a.w, b.w])
    return Split(pd.concat([a.X, b.X], ignore_index=True), np.concatenate([a.y, b.y]), w)


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
    #: how rows were split: random | time | group; folds follow it (see :meth:`use_cv`)
    split_kind: str = "random"
    #: the group of each ``dev`` row (group splits), for group folds
    dev_groups: np.ndarray | None = None
    #: the row identifier column (``data.id``), passed through by predict
    id_column: str | None = None
    #: the row weight column (``data.weight``); the splits carry the weights (``Split.w``)
    weight_column: str | None = None

    @property
    def cv(self) -> int:
        return len(self.folds)

    @property
    def dev(self) -> Split:
        """train + valid, in that order: what cross-validation folds index, and what export refits on."""
        cached = self.__dict__.get("_dev")
        if cached is None or cached[0] is not self.train or cached[1] is not self.valid:
            joined = join(self.train, self.valid)
            self.__dict__["_dev"] = cached = (self.train, self.valid, joined)
        return cached[2]

    def use_cv(self, k: int) -> None:
        """Score trials by ``k``-fold cross-validation of ``dev`` (stratified for classification; 0 = holdout)."""
        from sklearn.model_selection import KFold, StratifiedKFold

        if k < 2:
            self.folds = []
            return
        y = self.dev.y
        if self.split_kind == "time":
            # Forward chaining: each fold validates on rows later than all of its training rows (dev is in time order).
            from sklearn.model_selection import TimeSeriesSplit

            splits = TimeSeriesSplit(n_splits=k).split(np.zeros(len(y)))
        elif self.split_kind == "group":
            from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

            groups = self.dev_groups
            n_groups = len(pd.unique(groups))
            if n_groups < k:
                raise ValueError(f"{k} group folds need at least {k} groups in train+valid, found {n_groups}; use fewer folds")
            splitter = (GroupKFold(n_splits=k, shuffle=True, random_state=self.seed) if self.task == REGRESSION
                        else StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=self.seed))
            splits = splitter.split(np.zeros(len(y)), y, groups)
        else:
            splitter = (KFold if self.task == REGRESSION else StratifiedKFold)(n_splits=k, shuffle=True, random_state=self.seed)
            splits = splitter.split(np.zeros(len(y)), y)
        self.folds = [(np.asarray(tr), np.asarray(va)) for tr, va in splits]

    @property
    def covered(self) -> np.ndarray:
        """The ``dev`` rows some fold validates on (all of them, except the first block of a time split)."""
        if not self.folds:
            return np.arange(len(self.valid.y)) + len(self.train.y)
        return np.unique(np.concatenate([va for _tr, va in self.folds]))

    def fold(self, i: int) -> TabularData:
        """Fold ``i`` as a holdout data set (its train rows as ``train``, its valid rows as ``valid``)."""
        from dataclasses import replace

        tr, va = self.folds[i]
        dev = self.dev
        return replace(self, train=dev.take(tr), valid=dev.take(va), folds=[], dev_groups=None)

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
        from automl.errors import suggest

        raise DataError([Problem(label, "data.target", f"column {d.target!r} is not in {path.name}" + suggest(d.target, list(map(str, df.columns))))])
    df = df[df[d.target].notna()].reset_index(drop=True)
    y_raw = df[d.target]
    problems = check_target(y_raw, d.target, label) + role_problems(df, d, label, path.name)
    if problems:
        raise DataError(problems)
    split = split_of(d)
    weights = weight_column(df, d, label)
    feature_cols = feature_columns(df, d)
    if split.by == "time" and split.column in feature_cols:
        t = df[split.column]
        if not pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_datetime64_any_dtype(t):
            try:  # a time column of text: used as a time (seconds since 1970 UTC), not as categories
                df = df.assign(**{split.column: pd.to_datetime(t, utc=True, format="mixed")})
            except (ValueError, TypeError):
                pass  # time_split below names the column that cannot be ordered
    forced = [c for c in (d.categorical or []) if c in feature_cols]
    X, names, dt_cols = prepare_features(df[feature_cols], label)
    for c in forced:  # numbers used as categories (codes, zip codes): learned as categories below
        internal = next((k for k, v in names.items() if v == c), c)
        X[internal] = X[internal].astype("object").where(X[internal].notna(), None)
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
    groups = None
    if split.by == "time":
        train_idx, valid_idx, test_idx = time_split(df[split.column], d, label)
    elif split.by == "group":
        groups = df[split.column]
        train_idx, valid_idx, test_idx = group_split(groups, d, label)
    else:
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
        return Split(Xe.iloc[ix].reset_index(drop=True), y[ix], None if weights is None else weights[ix])

    from automl import leakage

    leakage.warn(label, X, y, task, classes, names, dt_cols, split.by, (train_idx, valid_idx, test_idx), target=d.target)
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
        split_kind=split.by,
        dev_groups=None if groups is None else np.concatenate([groups.to_numpy()[train_idx], groups.to_numpy()[valid_idx]]),
        id_column=d.id,
        weight_column=getattr(d, "weight", None),
    )


@dataclass(frozen=True)
class _Split:
    by: str = "random"
    column: str | None = None


def split_of(d: Any) -> Any:
    """The data spec's split as an object with ``by`` and ``column`` (``split: random`` or none: random)."""
    sp = getattr(d, "split", None)
    return _Split() if sp is None or sp == "random" else sp


def role_problems(df: pd.DataFrame, d: Any, label: str, file: str) -> list[Problem]:
    """Columns named in drop / features / categorical / id / split.column that the file lacks or that are the target."""
    from automl.errors import suggest

    cols = [str(c) for c in df.columns]
    out = []
    named: list[tuple[str, str]] = [(f"data.{f}", c) for f in ("drop", "features", "categorical") for c in (getattr(d, f, None) or [])]
    if getattr(d, "id", None):
        named.append(("data.id", d.id))
    if getattr(d, "weight", None):
        named.append(("data.weight", d.weight))
    sp = split_of(d)
    if sp.column:
        named.append(("data.split.column", sp.column))
    for where, c in named:
        if c not in cols:
            out.append(Problem(label, where, f"column {c!r} is not in {file}" + suggest(c, cols)))
        elif c == d.target:
            out.append(Problem(label, where, f"{c!r} is the target; remove it from {where.split('.', 1)[1]}"))
    feats = set(d.features or [])
    for c in d.categorical or []:
        if c in (d.drop or []) or (feats and c not in feats):
            out.append(Problem(label, "data.categorical", f"column {c!r} is not a feature (dropped or not in features); remove it from categorical"))
    return out


def feature_columns(df: pd.DataFrame, d: Any) -> list[str]:
    """The feature columns: ``features`` (or every column), less the target, ``drop``, ``id`` and a group split's
    column (an identifier: its groups are unseen at predict time). A time split's column stays a feature."""
    sp = split_of(d)
    out = [c for c in (d.features or [str(c) for c in df.columns])]
    never = {d.target, *(d.drop or []), *([d.id] if getattr(d, "id", None) else []),
             *([d.weight] if getattr(d, "weight", None) else [])}
    if sp.by == "group" and not d.features:
        never.add(sp.column)
    return [c for c in out if c not in never]


def weight_column(df: pd.DataFrame, d: Any, label: str) -> np.ndarray | None:
    """The row weights of ``data.weight``: numbers >= 0 on every row, not all 0 (None without a weight column)."""
    name = getattr(d, "weight", None)
    if not name:
        return None
    w = df[name]
    where = "data.weight"
    if not pd.api.types.is_numeric_dtype(w) or pd.api.types.is_bool_dtype(w):
        example = w.dropna().iloc[0] if len(w.dropna()) else None
        raise DataError([Problem(label, where, f"column {name!r} must hold numbers (got values such as {example!r}); "
                                               "weights are how much each row counts")])
    v = w.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        first = v[np.flatnonzero(bad)[0]]
        raise DataError([Problem(label, where, f"column {name!r} has {int(bad.sum())} missing, negative or infinite "
                                               f"weight(s) (e.g. {first!r}); weights must be numbers >= 0 on every row")])
    if not (v > 0).any():
        raise DataError([Problem(label, where, f"column {name!r} is 0 on every row; at least one row must count")])
    return v


def time_split(t: pd.Series, d: Any, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train on the earliest rows, validate on the next ``valid_size``, test on the last ``test_size`` (no shuffle)."""
    where = "data.split.column"
    if t.isna().any():
        raise DataError([Problem(label, where, f"column {t.name!r} has {int(t.isna().sum())} missing value(s); a time split needs a time on every row")])
    if pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t):
        key = t.to_numpy(dtype=float)
    else:
        try:
            key = datetime_seconds(t).to_numpy(dtype=float)
        except (ValueError, TypeError):
            example = t.dropna().iloc[0] if len(t.dropna()) else None
            raise DataError([Problem(label, where, f"column {t.name!r} cannot be ordered in time (it holds values such as {example!r}); "
                                                   "use a numeric or date column, or split: {by: group, ...}")]) from None
    order = np.argsort(key, kind="stable")
    n = len(order)
    n_test = int(round(n * d.test_size))
    n_valid = int(round(n * d.valid_size))
    if n - n_test - n_valid < 1 or n_valid < 1:
        raise DataError([Problem(label, "data.valid_size", f"cannot split {n} rows in time with valid_size {d.valid_size} and test_size {d.test_size}")])
    train, valid, test = order[: n - n_test - n_valid], order[n - n_test - n_valid: n - n_test], order[n - n_test:]
    return train, valid, test  # each in time order, so dev (train then valid) is too


def group_split(g: pd.Series, d: Any, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole groups to each split (GroupShuffleSplit): no group has rows in two splits."""
    from sklearn.model_selection import GroupShuffleSplit

    where = "data.split.column"
    if g.isna().any():
        raise DataError([Problem(label, where, f"column {g.name!r} has {int(g.isna().sum())} missing value(s); a group split needs a group on every row")])
    codes = pd.factorize(g.astype("object"))[0]
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    need = 3 if d.test_size > 0 else 2
    if n_groups < need:
        raise DataError([Problem(label, where, f"column {g.name!r} has {n_groups} group(s); a group split needs at least {need} "
                                               "(train, valid" + (", test" if need == 3 else "") + ")")])
    idx = np.arange(len(codes))
    if d.test_size > 0:
        rest_pos, test_pos = next(GroupShuffleSplit(n_splits=1, test_size=d.test_size, random_state=d.seed).split(idx, groups=codes))
        rest, test = idx[rest_pos], idx[test_pos]
    else:
        rest, test = idx, np.array([], dtype=int)
    frac = d.valid_size / (1 - d.test_size)
    if len(np.unique(codes[rest])) < 2:
        raise DataError([Problem(label, where, f"too few groups in {g.name!r} left for train and valid; use a smaller test_size")])
    tr_pos, va_pos = next(GroupShuffleSplit(n_splits=1, test_size=frac, random_state=d.seed).split(rest, groups=codes[rest]))
    return np.sort(rest[tr_pos]), np.sort(rest[va_pos]), np.sort(test)


def peek_task(spec: Any) -> str | None:
    """The task without splitting: given, or inferred from the target column (None if unreadable)."""
    if spec.data.task:
        return spec.data.task
    df = read_table(spec.data_path, spec.label)
    if spec.data.target and spec.data.target in df.columns:
        return infer_task(df[spec.data.target])
    return None


def refit_data(data: Any) -> Any:
    """Train+valid merged into the training split (valid is kept only for the trainer's reports)."""
    from dataclasses import replace

    return replace(data, train=join(data.train, data.valid))

