"""Constraints users deploy under (study file ``constraints:``), measured on every trial.

Each trial's model is measured after it is fitted and the excess over each limit is set with Optuna's
``trial.set_constraint(name, value - max)`` (feasible when every excess is <= 0). Optuna's samplers that handle
constraints (TPE, NSGA-II/III, GP) read them, and ``study.best_trial`` / ``best_trials`` return feasible trials
only, so the run's best trial, its test score and ``automl export`` never hand over an infeasible model (unless
``--trial N`` names one). The ensemble uses feasible trials only, and is dropped when its members together
exceed a limit. The measured values are trial user attributes of the same names.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

#: name -> what is measured (the study file's error message lists these).
KNOWN = {
    "model_bytes": "bytes of the model's saved files (what automl export writes for it)",
    "predict_ms_per_1k": "milliseconds to predict 1,000 rows (best of 3 runs on up to 1,000 validation rows)",
}


def problems(constraints: Any, trainer: Any, label_field: str = "constraints") -> list[tuple[str, str]]:
    """(field, message) for each constraint name this version does not know or cannot measure."""
    from automl.trainers.base import exportable

    out = []
    for name, spec in (constraints or {}).items():
        if name not in KNOWN:
            out.append((f"{label_field}.{name}", f"unknown constraint; known: {', '.join(KNOWN)}"))
        elif not exportable(trainer):
            out.append((f"{label_field}.{name}", f"trainer {trainer.name!r} cannot save or predict models, so {name} "
                                                  "cannot be measured; remove constraints"))
        elif spec.max is None:
            out.append((f"{label_field}.{name}.max", "is required, e.g. max: 1000000"))
    return out


def model_bytes(trainer: Any, result: Any) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        trainer.save_model(result, Path(tmp))
        return sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())


def predict_ms_per_1k(trainer: Any, result: Any, X: Any) -> float:
    rows = X.iloc[:1000] if len(X) > 1000 else X
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        trainer.predict(result, rows)
        best = min(best, time.perf_counter() - t0)
    return best * 1000.0 * 1000.0 / max(1, len(rows))


def measure(constraints: Any, trainer: Any, result: Any, X: Any) -> dict[str, float]:
    """Each constrained quantity of ``result`` (rows ``X`` for prediction time)."""
    out: dict[str, float] = {}
    for name in constraints or {}:
        if name == "model_bytes":
            out[name] = float(model_bytes(trainer, result))
        elif name == "predict_ms_per_1k":
            out[name] = round(predict_ms_per_1k(trainer, result, X), 4)
    return out


def excess(constraints: Any, measured: dict[str, float]) -> dict[str, float]:
    """value - max per constraint (<= 0: met)."""
    return {n: float(measured[n]) - float(spec.max) for n, spec in (constraints or {}).items() if n in measured}


def feasible(trial: Any) -> bool:
    return all(v <= 0.0 for v in (getattr(trial, "constraints", None) or {}).values())
