"""Benchmarks only: a trainer whose fit sleeps ``seconds`` and uses no CPU, so a scale benchmark measures the
claim, the storage and the database, not the model (benchmarks/scale.py registers it as ``model: sleep``).

``$AUTOML_SCALE_BARRIER`` (a folder): after loading its data each worker writes ``ready-<pid>`` there and waits
for a file ``go``, so N workers that take a minute to start on a busy machine begin claiming together.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from automl.trainers import FitResult, TabularTrainer


class SleepTrainer(TabularTrainer):
    name = "sleep"
    description = "benchmarks only: each fit sleeps `seconds` (no CPU); the score is (x - 0.3)^2 plus the target mean"
    tasks = ("regression",)
    param_names = ("x", "seconds")

    def load_data(self, spec: Any) -> Any:
        data = super().load_data(spec)
        barrier = os.environ.get("AUTOML_SCALE_BARRIER")
        if barrier:
            (Path(barrier) / f"ready-{os.getpid()}").touch()
            while not (Path(barrier) / "go").exists():
                time.sleep(0.2)
        return data

    def fit(self, params: dict[str, Any], data: Any, report: Any, ctx: Any) -> FitResult:
        time.sleep(float(params.get("seconds", 1.0)))
        return FitResult(model=float(np.mean(data.train.y)) + (float(params.get("x", 0.5)) - 0.3) ** 2)

    def predict(self, result: FitResult, X: Any) -> Any:
        return np.full(len(X), result.model)
