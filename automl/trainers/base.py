"""The Trainer protocol: ``fit(params, data, report) -> FitResult``.

Trainers never import Optuna. They call ``report(step, value, **extras)`` with the validation metric
after each round/epoch; the objective (``automl.objective``) turns that into ``trial.report`` +
``should_prune`` in one place. ``extras`` (e.g. ``train_loss=...``) are stored as the learning curve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from automl.metrics import DEFAULT_METRIC, METRICS, Metric

Report = Callable[..., None]


@dataclass
class FitResult:
    """What a fit leaves behind: the model, and facts worth keeping as trial user attributes."""

    model: Any
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitContext:
    """How to fit, beyond the hyperparameters: the metric to report, threads, seed, task."""

    metric: Metric
    task: str
    threads: int = 1
    seed: int = 0


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


class TabularTrainer:
    """Shared behaviour of trainers on tabular data (LightGBM, MLP, plugins)."""

    name = "tabular"
    tasks: tuple[str, ...] = ("regression", "binary", "multiclass")
    description = ""
    #: Closed list of accepted parameter names, or None when ``check_params`` is overridden.
    param_names: tuple[str, ...] | None = None

    def metrics(self) -> Mapping[str, Metric]:
        return METRICS

    def default_metric(self, task: str) -> str:
        return DEFAULT_METRIC[task]

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {}

    def default_cv(self, rows: int, features: int, timeout: float | None) -> int:
        """Folds used when the study file gives no ``data.cv`` (0 = one validation split)."""
        return 0

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        from automl.studyfile import suggest

        if self.param_names is None:
            return []
        return [
            (n, f"is not a parameter of trainer {self.name!r}" + suggest(n, list(self.param_names)))
            for n in names
            if n not in self.param_names
        ]

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
        return [m.score(data.task, part.y, pred) for m in metrics]

    # -- export hooks (automl export / predict, see automl/export.py) ------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of the refit on train+valid, from the trial's (e.g. its best iteration)."""
        return dict(params)

    def save_model(self, result: FitResult, directory: Any) -> None:
        """Write ``result`` into ``directory`` (a pathlib.Path that exists) in the framework's format."""
        raise NotImplementedError(f"trainer {self.name!r} cannot save models")

    def load_model(self, directory: Any) -> FitResult:
        """Read back what :meth:`save_model` wrote."""
        raise NotImplementedError(f"trainer {self.name!r} cannot load models")

