"""The Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna

from automl import attrs as attrs_mod
from automl import storage as storage_mod
from automl import studyfile
from automl.run import session
from automl.spec import Prepared, prepare
from automl.studyfile import StudySpec

REPORTS_DIR = Path("reports")


def load_study_file(path: str | Path) -> StudySpec:
    """Read and validate a study file (structure); raises StudyFileError listing every problem."""
    return studyfile.load(path)


def _spec(path_or_spec: str | Path | StudySpec | dict) -> StudySpec:
    if isinstance(path_or_spec, StudySpec):
        # Checked again as the CLI checks a file (StudySpec(...) alone runs pydantic's checks, not the
        # cross-field rules, and model_construct runs none): the same problems, the same StudyFileError.
        given = path_or_spec
        checked = studyfile.parse(given.model_dump(exclude_unset=True), given.label)
        checked.source = given.source
        return checked
    if isinstance(path_or_spec, dict):
        return studyfile.parse(path_or_spec, "<dict>")
    return load_study_file(path_or_spec)


def prepare_study(path_or_spec: str | Path | StudySpec | dict) -> Prepared:
    """Validate the file, its names and its data; nothing is written."""
    return prepare(_spec(path_or_spec))


def run_study_outcome(
    path_or_spec: str | Path | StudySpec | dict,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    storage: str | None = None,
    force: bool = False,
    progress: bool = False,
    jobs: int = 1,
    started: float | None = None,
) -> session.RunOutcome:
    """``timeout`` counts from ``started`` (``time.time()``; default: now), so loading the data is inside it;
    the CLI passes its process's start, so ``automl run`` with ``timeout: T`` ends about T seconds after launch."""
    import time

    started = time.time() if started is None else started
    spec = _spec(path_or_spec)
    prepared = prepare(spec)
    url = storage_mod.resolve_url(storage, spec)
    outcome = session.run(prepared, url, trials=trials, timeout=timeout, force=force, progress=progress, jobs=jobs,
                          started=started)
    outcome.prepared = prepared
    return outcome


def run_study(path_or_spec: str | Path | StudySpec | dict, **overrides: Any) -> optuna.Study:
    """Create or resume a study and run it to its budget; returns the Optuna study.

    ``overrides``: trials, timeout, storage, force, progress, jobs (worker processes), started.
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


def write_report(study: optuna.Study, path: str | Path | None = None, *, importance: str = "pedanova") -> Path:
    """Write the self-contained HTML report of any Optuna study (importance: ``pedanova`` or ``fanova``)."""
    from automl.report import write_report as _write

    return _write(study, path or default_report_path(study.study_name), importance=importance)


def _metric_names(study: optuna.Study) -> list[str]:
    names = attrs_mod.read(study).metric_names(len(study.directions))
    if names:
        return names
    return ["value"] if len(study.directions) == 1 else [f"value_{i}" for i in range(len(study.directions))]


def best_summary(study: optuna.Study) -> list[dict[str, Any]]:
    """The best trial (or the Pareto front) as plain dicts: number, values by metric, params, test scores."""
    names = _metric_names(study)
    try:
        best = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    except ValueError:
        return []
    tests = study.user_attrs.get(session.TEST_ATTR) or {}
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
    # object columns: an integer attribute stays an integer where other trials lack it (float64 would make it 61.0)
    return pd.DataFrame(rows, dtype=object)


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


# -- using a study's results and plugging automl into Optuna (automl/export.py, automl/plugins.py) ---------
def make_objective(path_or_spec: str | Path | StudySpec | dict, **kwargs: Any) -> Any:
    """``objective(trial) -> float`` for a plain Optuna ``study.optimize``: the study file's trainer, data,
    space, pruning and user attributes. ``objective.directions`` is what ``optuna.create_study`` needs."""
    from automl.plugins import Objective

    return Objective(prepare_study(path_or_spec), **kwargs)


def search_space(path_or_spec: str | Path | StudySpec | dict) -> dict[str, Any]:
    """The study file's search space as ``{name: optuna BaseDistribution}`` (the trainer's default if none)."""
    from automl import space

    return space.distributions(prepare(_spec(path_or_spec), load_data=False).params)


def export_study(
    path_or_spec: str | Path | StudySpec | dict | None, out_dir: str | Path, *, study_name: str | None = None,
    **kwargs: Any,
) -> Any:
    """Retrain the best trial on train+valid, score it on test, write model + params + manifest to ``out_dir``.

    Without a study file (``None``), ``study_name`` in ``storage`` is exported from the copy of its study file
    automl stored in it. ``kwargs``: storage, trial (a trial number), test_rows (also write the test rows as CSV).
    """
    from automl import export

    if path_or_spec is None:
        spec = spec_of_study(open_study(storage=kwargs.get("storage"), study_name=study_name))
    else:
        spec = _spec(path_or_spec)
        if study_name:
            spec = spec.model_copy(update={"name": study_name})
    return export.export(spec, out_dir, **kwargs)


def spec_of_study(study: optuna.Study) -> StudySpec:
    """The study file a study was run (or made with ``make_objective``) from, rebuilt from its ``automl:*``
    attributes: the stored copy of the file, with the study's name and the data file's absolute path."""
    from automl.errors import StorageError
    from automl.manifest import MANIFEST_ATTR

    attrs = study.user_attrs
    doc = attrs.get(attrs_mod.STUDY_FILE)
    if not isinstance(doc, dict):
        raise StorageError(
            f"study {study.study_name!r} holds no copy of its study file (it was not run by automl); "
            "pass the study file instead of --study"
        )
    doc = {k: v for k, v in doc.items() if k != "storage"}  # the stored copy is masked; the study is here
    data_file = ((attrs.get(MANIFEST_ATTR) or {}).get("data_file") or {}).get("path")
    if data_file:
        doc["data"] = {**doc.get("data", {}), "path": data_file}
    doc["name"] = study.study_name
    return studyfile.parse(doc, f"study {study.study_name!r}")


def predict(export_dir: str | Path, data: str | Path | Any) -> Any:
    """Predictions (a DataFrame) of an exported model for a CSV/Parquet file or a DataFrame."""
    from automl import export

    if isinstance(data, (str, Path)):
        return export.predict_file(export_dir, data).predictions
    return export.predict_frame(export.load(export_dir), data)


def list_trainers() -> list[dict[str, Any]]:
    """Installed trainers (built in and plugins) with their description, tasks and metrics."""
    from automl.plugins import installed

    return installed()


def study_schema() -> dict[str, Any]:
    """The JSON Schema of a study file."""
    from automl.schema import study_schema as _schema

    return _schema()
