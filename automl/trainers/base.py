"""The Trainer protocol: ``fit(params, data, report) -> FitResult``.

Trainers never import Optuna. They call ``report(step, value, **extras)`` with the validation metric
after each round/epoch; the objective (``automl.objective``) turns that into ``trial.report`` +
``should_prune`` in one place. ``extras`` (e.g. ``train_loss=...``) are stored as the learning curve.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from automl.metrics import DEFAULT_METRIC, METRICS, Metric


@dataclass(frozen=True)
class Knob:
    """One hyperparameter of the trainer: its default and the values it accepts (one table, one place)."""

    default: Any
    kind: str  # "float" | "int" | "choice"
    low: float | None = None  # inclusive
    high: float | None = None  # exclusive
    choices: tuple[Any, ...] = ()
    low_open: bool = False  # low itself is not allowed

    def value_problem(self, v: Any) -> str | None:
        """Why ``v`` is not a valid value, or None."""
        if v is None and self.default is None:
            return None  # None is the default, and means "automl decides"
        if self.kind == "choice":
            return None if any(v == c and type(v) is type(c) for c in self.choices) else (
                f"must be one of {', '.join(map(_show, self.choices))} (got {_show(v)})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return f"must be a {'whole ' if self.kind == 'int' else ''}number (got {_show(v)})"
        if self.kind == "int" and not float(v).is_integer():
            return f"must be a whole number (got {_show(v)})"
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return f"must be {'>' if self.low_open else '>='} {_show(self.low)} (got {_show(v)})"
        if self.high is not None and v >= self.high:
            return f"must be < {_show(self.high)} (got {_show(v)})"
        return None


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    return repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)


def _spec_problem(knob: Knob, p: Any) -> str | None:
    """Problems of a searched parameter (a ParamSpec) against the knob's accepted values."""
    if p.type == "categorical":
        for c in p.choices or []:
            problem = knob.value_problem(c)
            if problem and knob.kind == "choice":
                return f"choices must be among {', '.join(map(_show, knob.choices))} (got {_show(c)})"
            if problem:
                return f"every choice {problem}"
        return None
    if knob.kind == "choice":
        return f"must be type categorical with choices from {', '.join(map(_show, knob.choices))} (got type {p.type})"
    if knob.kind == "int" and p.type != "int":
        return f"must be type int (got type {p.type})"
    for bound in (p.low, p.high):
        if bound is not None and knob.value_problem(bound):
            return f"every value in the range {knob.value_problem(bound)}"
    return None


def knob_problems(knobs: Mapping[str, Knob], items: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, message) for each value (a fixed value, or a searched ParamSpec) that its knob cannot take."""
    out = []
    for n, v in items.items():
        if n in knobs and v is not None:
            problem = _spec_problem(knobs[n], v) if hasattr(v, "type") and hasattr(v, "choices") \
                else knobs[n].value_problem(v)
            if problem:
                out.append((n, problem))
    return out

def library_value_problems(items: Mapping[str, Any], refuses: Callable[[str, Any], str | None],
                           checked: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(name, message) for each value the training library itself refuses, asked before any trial.

    ``items``: fixed values or searched ParamSpecs (each bound of a range, each numeric choice is asked; a
    searched parameter is refused when none of them passes);
    ``refuses(name, value)``: the library's complaint about that one parameter, or None; ``checked(name)``: the
    parameters worth asking about alone (scalar ones whose validity does not depend on the task or the data)."""
    out = []
    for n, v in items.items():
        if v is None or not checked(n):
            continue
        if hasattr(v, "type") and hasattr(v, "choices"):  # a searched parameter: its bounds, or its choices
            values = list(v.choices or []) if v.type == "categorical" else [b for b in (v.low, v.high) if b is not None]
            values = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)]
            if v.type == "int":
                values = [int(x) for x in values]
            # A range the library refuses only part of (num_leaves 1-9: 1 is refused) runs, its refused values
            # failing their trials as before; one it refuses whole (both bounds, every choice) cannot run.
            whys = [refuses(n, x) for x in values]
            if values and all(whys):
                shown = " and ".join(_show(x) for x in values) if len(values) <= 3 else f"{len(values)} choices"
                out.append((n, f"every value {whys[0]} (got {shown})"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            why = refuses(n, v)
            if why:
                out.append((n, f"{why} (got {_show(v)})"))
    return out


Report = Callable[..., None]

#: The parameter naming a trial's model family in a ``model: auto`` study (automl.trainers.auto).
MODEL_PARAM = "model"

#: The default cross-validation rule (see :func:`small_data_cv`).
CV_MAX_ROWS = 100_000
CV_MIN_CELLS = 200_000


def small_data_cv(rows: int, features: int, timeout: float | None, trees_per_round: int = 1) -> int:
    """5-fold CV on small data, one validation split on large (FLAML's rule, ``flaml.automl``): CV while
    rows x features < 10M x budget/3600 x 0.9 and rows < 100,000, with a floor of 200,000 cells (a budget of
    trials and no timeout counts as that floor). One small validation split overfits as trials accumulate
    (benchmarks/results/suite-wallclock.md); a large one is a precise estimate and CV would cost 4-5x. The rule of
    the boosted-tree, forest and linear trainers (their fits cost about the same).

    ``trees_per_round``: what one boosting round grows, as a multiple of a binary or regression round: a
    multiclass round of LightGBM or XGBoost grows one tree per class, so its cells count that many times. On a
    10-class table of 1,437 rows x 64 features a 5-fold trial took 2.6-3.5 s and a 15 s budget ran 2-3 trials;
    one validation split ran 8-18 (benchmarks/results/suite-wallclock.md)."""
    cells = rows * features * max(1, int(trees_per_round))
    budget_cells = 10_000_000 * (timeout or 0) / 3600 * 0.9
    return 5 if rows < CV_MAX_ROWS and cells <= max(CV_MIN_CELLS, budget_cells) else 0


def boosting_refit_params(params: Mapping[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A boosted-tree refit (LightGBM, XGBoost) has no validation split to early-stop on: the trial's best number
    of rounds, no early stopping."""
    out = dict(params)
    best = user_attrs.get("best_iteration")
    if best:
        out["num_boost_round"] = int(best)
    out["early_stopping_rounds"] = 0
    return out


#: The knobs every boosted-tree trainer adds to its library's parameters (consumed by automl, not passed on).
BOOSTING_KNOBS = {
    "num_boost_round": Knob(1000, "int", low=1),
    "early_stopping_rounds": Knob(50, "int", low=0),  # 0 = no early stopping
    "report_every": Knob(None, "int", low=1),  # None: about 100 reports per fit at most
}


def boosting_pruner_defaults(rounds: Any) -> dict[str, dict[str, Any]]:
    """Median/percentile pruning of boosted trees waits for a fifth of the fit (200 of 1,000 rounds) and 10 finished
    trials (see LightGBMTrainer.pruner_defaults for why)."""
    warmup = max(10, int(rounds) // 5) if isinstance(rounds, (int, float)) else 200
    opts = {"n_startup_trials": 10, "n_warmup_steps": warmup}
    return {"median": opts, "percentile": {"percentile": 25.0, **opts}}


@dataclass
class FitResult:
    """What a fit leaves behind: the model, and facts worth keeping as trial user attributes."""

    model: Any
    info: dict[str, Any] = field(default_factory=dict)
    #: Out-of-fold validation predictions of a cross-validated fit (one per train+valid row, ``data.dev``'s
    #: order), kept for the study's ensemble (automl.ensemble); not stored as an attribute.
    predictions: Any = None


@dataclass
class FitContext:
    """How to fit, beyond the hyperparameters: the metric to report, threads, seed, task."""

    metric: Metric
    task: str
    threads: int = 1
    seed: int = 0
    #: The run's time budget: ``stop()`` True means end training now and keep the model so far (a trainer that
    #: can, LightGBM, stops boosting there, as early stopping would); None = no time limit.
    stop: Callable[[], bool] | None = None
    #: Fold-by-fold cross-validation keeps each fold's validation predictions (``FitResult.predictions``).
    keep_predictions: bool = False


@runtime_checkable
class Trainer(Protocol):
    name: str
    tasks: tuple[str, ...]
    description: str

    def metrics(self) -> Mapping[str, Metric]: ...

    def default_metric(self, task: str) -> str: ...

    def default_space(self, task: str) -> dict[str, dict[str, Any]]: ...

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]: ...

    def load_data(self, spec: Any) -> Any: ...

    def peek_task(self, spec: Any) -> str | None: ...

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult: ...

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]: ...


class BaseTrainer(abc.ABC):
    """What every trainer is: four abstract methods (how it reads its data, which task a study file is, one fit,
    the score of a fit) and every optional hook with its default. automl calls the hooks; a trainer overrides
    the ones it has something to say in. ``automl.testing.check_trainer`` checks a trainer against this.

    Optional capabilities, looked up by name because their absence means something (a trainer without them
    cannot do that): ``fit_cv(params, data, report, ctx, ...)`` (cross-validated trials in one call; else automl
    fits fold by fold), ``user_space(task, params)`` (a study file's ``params:`` rewritten for the trainer, e.g.
    ``model: auto``'s per-family names), ``wrap_pruner(pruner)``, ``refit_data(data)`` (train+valid for the
    export's refit, when the data is not a table). Exporting is the :class:`Exportable` protocol."""

    name: str = ""
    tasks: tuple[str, ...] = ()
    description: str = ""
    #: What one ``report(step, ...)`` step is, for the report's learning-curve axes.
    step_unit: str = "step"
    #: What ``load_data`` reads: "tabular" (a CSV/Parquet table with a target column), "jsonl-prompts" (the
    #: language-model trainers' prompt/completion records), or a plugin's own kind.
    data_kind: str = "tabular"
    #: Closed list of accepted parameter names, or None when ``check_params`` is overridden.
    param_names: tuple[str, ...] | None = None
    #: Whether ``fit`` calls ``report`` after each step (False: a trial is one step, e.g. decoding without
    #: training, and no pruner can act on it).
    reports_steps: bool = True
    #: Whether ``fit`` trains a model (False: it only sets up one to use as it is, e.g. decoding knobs), so a test
    #: score is of "this trial's settings", not of a model trained on the train split.
    trains: bool = True

    @abc.abstractmethod
    def load_data(self, spec: Any) -> Any:
        """The study's data (``spec``: the StudySpec), split into train/valid/test."""

    @abc.abstractmethod
    def peek_task(self, spec: Any) -> str | None:
        """The task of the study file's data, read cheaply (before loading it), or None when it cannot tell."""

    @abc.abstractmethod
    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        """Train with ``params`` on ``data``'s train split; call ``report(step, value)`` after each step."""

    @abc.abstractmethod
    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]:
        """One value per metric of ``result`` on ``data``'s ``split`` ("valid", "test")."""

    def metrics(self) -> Mapping[str, Metric]:
        return METRICS

    def default_metric(self, task: str) -> str:
        return DEFAULT_METRIC[task]

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        """The search space of a study file without ``params:``, in the study-file syntax."""
        return {}

    def default_fixed(self, task: str) -> dict[str, Any]:
        """Fixed parameters used unless the study file sets them."""
        return {}

    def default_cv(self, rows: int, features: int, timeout: float | None) -> int:
        """Folds used when the study file gives no ``data.cv`` (0 = one validation split). A trainer's rule may take
        a keyword ``classes`` too (a multiclass task's number of classes, else 0): the study passes it then."""
        return 0

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        """(tag, params) queued as a new study's first trials, before the sampler takes over."""
        return []

    def pruner_defaults(self, fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """{pruner name: options} for a pruner the study file names without options, in this trainer's steps."""
        return {}

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        """(name, message) for each parameter name the trainer does not take."""
        from automl.errors import suggest

        if self.param_names is None:
            return []
        return [
            (n, f"is not a parameter of trainer {self.name!r}" + suggest(n, list(self.param_names)))
            for n in names
            if n not in self.param_names
        ]

    def final_params(self, params: dict[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of the refit on train+valid, from the trial's (e.g. its best iteration)."""
        return dict(params)


@runtime_checkable
class Exportable(Protocol):
    """A trainer whose models ``automl export`` writes and ``automl predict`` (and an ensemble) serves."""

    def save_model(self, result: FitResult, directory: Any) -> None: ...

    def load_model(self, directory: Any) -> FitResult: ...

    def predict(self, result: FitResult, X: Any) -> Any: ...


class TabularTrainer(BaseTrainer):
    """Shared behaviour of trainers on tabular data (LightGBM, MLP, plugins)."""

    name = "tabular"
    tasks: tuple[str, ...] = ("regression", "binary", "multiclass")
    description = ""

    def load_data(self, spec: Any) -> Any:
        from automl import data

        return data.load(spec)

    def peek_task(self, spec: Any) -> str | None:
        from automl import data

        return data.peek_task(spec)

    def predict(self, result: FitResult, X: Any) -> Any:
        return result.model.predict(X)

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]:
        part = getattr(data, split)
        pred = self.predict(result, part.X)
        return [m.score(data.task, part.y, pred, part.w) for m in metrics]

    # -- export hooks (automl export / predict, see automl/export.py) ------------------------------
    def save_model(self, result: FitResult, directory: Any) -> None:
        """Write ``result`` into ``directory`` (a pathlib.Path that exists) in the framework's format."""
        raise NotImplementedError(f"trainer {self.name!r} cannot save models")

    def load_model(self, directory: Any) -> FitResult:
        """Read back what :meth:`save_model` wrote."""
        raise NotImplementedError(f"trainer {self.name!r} cannot load models")


def exportable(trainer: Any) -> bool:
    """Whether ``trainer`` saves and reloads its models (``save_model`` of its own and ``predict``): what export,
    predict and an ensemble need."""
    cls = type(trainer)
    return getattr(cls, "save_model", None) not in (None, TabularTrainer.save_model) and hasattr(cls, "predict")


class BoostingTrainer(TabularTrainer):
    """What the boosted-tree trainers (LightGBM, XGBoost, CatBoost) share: rounds as steps, :data:`BOOSTING_KNOBS`,
    the small-data CV rule, pruning that waits for a fifth of the rounds and a refit of the trial's best number of
    rounds (each one's training callback also stops the fit at the deadline, ``ctx.stop()``)."""

    step_unit = "boosting round"

    def default_cv(self, rows: int, features: int, timeout: float | None, classes: int = 0) -> int:
        """5-fold CV on small data, one validation split on large (:func:`small_data_cv`, FLAML's rule with a floor),
        a multiclass round counting ``classes`` times (LightGBM and XGBoost grow one tree per class; CatBoost one
        tree whose leaves hold a value per class)."""
        return small_data_cv(rows, features, timeout, trees_per_round=classes)

    def pruner_defaults(self, fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return boosting_pruner_defaults(fixed.get("num_boost_round", BOOSTING_KNOBS["num_boost_round"].default))

    def final_params(self, params: dict[str, Any], user_attrs: Any) -> dict[str, Any]:
        """The refit has no validation split to early-stop on: train the trial's best number of rounds."""
        return boosting_refit_params(params, user_attrs)
