"""The Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna

from automl import runner, storage as storage_mod, studyfile
from automl.studyfile import StudySpec

REPORTS_DIR = Path("reports")


def load_study_file(path: str | Path) -> StudySpec:
    """Read and validate a study file (structure); raises StudyFileError listing every problem."""
    return studyfile.load(path)


def _spec(path_or_spec: str | Path | StudySpec | dict) -> StudySpec:
    if isinstance(path_or_spec, StudySpec):
        return path_or_spec
    if isinstance(path_or_spec, dict):
        return studyfile.parse(path_or_spec, "<dict>")
    return load_study_file(path_or_spec)


def prepare_study(path_or_spec: str | Path | StudySpec | dict) -> runner.Prepared:
    """Validate the file, its names and its data; nothing is written."""
    return runner.prepare(_spec(path_or_spec))


def run_study_outcome(
    path_or_spec: str | Path | StudySpec | dict,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    storage: str | None = None,
    force: bool = False,
    progress: bool = False,
) -> runner.RunOutcome:
    spec = _spec(path_or_spec)
    prepared = runner.prepare(spec)
    url = storage_mod.resolve_url(storage, spec)
    outcome = runner.run(prepared, url, trials=trials, timeout=timeout, force=force, progress=progress)
    outcome.url = url
    outcome.finished = storage_mod.count_finished(outcome.study)
    return outcome


def run_study(path_or_spec: str | Path | StudySpec | dict, **overrides: Any) -> optuna.Study:
    """Create or resume a study and run it to its budget; returns the Optuna study.

    ``overrides``: trials, timeout, storage, force, progress.
    """
    return run_study_outcome(path_or_spec, **overrides).study


def open_study(
    study_file: str | Path | None = None, *, storage: str | None = None, study_name: str | None = None
) -> optuna.Study:
    """Load an existing study from a study file's storage, or any study by storage URL and name."""
    spec = load_study_file(study_file) if study_file is not None else None
    url = storage_mod.resolve_url(storage, spec)
    st = storage_mod.open_storage(url, must_exist=True)
    name = study_name or (spec.study_name if spec else None)
    return storage_mod.load_study(st, name, url)


def default_report_path(name: str) -> Path:
    return REPORTS_DIR / f"{name}.html"


def write_report(study: optuna.Study, path: str | Path | None = None) -> Path:
    """Write the self-contained HTML report of any Optuna study."""
    from automl.report import write_report as _write

    return _write(study, path or default_report_path(study.study_name))


def _metric_names(study: optuna.Study) -> list[str]:
    names = study.user_attrs.get("automl:metric")
    if names and len(names) == len(study.directions):
        return list(names)
    return ["value"] if len(study.directions) == 1 else [f"value_{i}" for i in range(len(study.directions))]


def best_summary(study: optuna.Study) -> list[dict[str, Any]]:
    """The best trial (or the Pareto front) as plain dicts: number, values by metric, params, test scores."""
    names = _metric_names(study)
    try:
        best = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    except ValueError:
        return []
    tests = study.user_attrs.get(runner.TEST_ATTR) or {}
    return [
        {
            "number": t.number,
            "values": dict(zip(names, t.values)),
            "params": dict(t.params),
            "test": tests.get(str(t.number)),
            "user_attrs": {k: v for k, v in t.user_attrs.items() if k != "learning_curve"},
        }
        for t in best
    ]


def trials_frame(study: optuna.Study) -> Any:
    """Every trial: number, state, values, duration, params (blank when inactive), user attributes."""
    import pandas as pd

    names = _metric_names(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        for n, v in zip(names, t.values or [None] * len(names)):
            row[n] = v
        row["duration_s"] = t.duration.total_seconds() if t.duration else None
        for k, v in t.params.items():
            row[f"params_{k}"] = v
        for k, v in t.user_attrs.items():
            if k != "learning_curve":
                row[f"user_attrs_{k}"] = v
        rows.append(row)
    df = pd.DataFrame(rows)
    return df


def list_studies(storage: str | None) -> list[dict[str, Any]]:
    url = storage_mod.resolve_url(storage, None)
    st = storage_mod.open_storage(url, must_exist=True)
    out = []
    for s in optuna.get_all_study_summaries(st, include_best_trial=False):
        study = optuna.load_study(study_name=s.study_name, storage=st)
        best = None
        if len(study.directions) == 1:
            try:
                best = study.best_value
            except ValueError:
                best = None
        out.append(
            {
                "name": s.study_name,
                "trials": s.n_trials,
                "finished": storage_mod.count_finished(study),
                "directions": "/".join(d.name.lower() for d in s.directions),
                "best": best if best is None or math.isfinite(best) else None,
            }
        )
    return out
