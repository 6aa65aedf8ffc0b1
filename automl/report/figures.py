"""Figures from a study: Optuna's visualization where it has one. Data first, then the figure."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState


def history_data(study: optuna.Study) -> dict[str, list[Any]]:
    """Per finished trial: number, value, best-so-far (single objective)."""
    direction = study.directions[0]
    numbers, values, best = [], [], []
    cur = None
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        v = t.values[0]
        if cur is None or (v < cur if direction == optuna.study.StudyDirection.MINIMIZE else v > cur):
            cur = v
        numbers.append(t.number)
        values.append(v)
        best.append(cur)
    return {"number": numbers, "value": values, "best": best}


def history_figure(study: optuna.Study) -> Any:
    return optuna.visualization.plot_optimization_history(study)
