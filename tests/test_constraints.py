"""``constraints:`` (automl.constraints): measured on every trial, set with trial.set_constraint, met by the best
trial, the ensemble and the export."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from automl import api, constraints, export
from automl.cli import app


def _study(study_file, limit, **kw):
    doc = {"trials": 10, "data": {"path": "reg.csv", "target": "y", "cv": 3},
           "params": {"num_leaves": {"type": "int", "low": 2, "high": 64, "log": True},
                      "learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True}},
           "fixed": {"num_boost_round": 80, "min_child_samples": 2, "num_threads": 1},
           "constraints": {"model_bytes": {"max": limit}, "predict_ms_per_1k": {"max": 10_000}}}
    doc.update(kw)
    return study_file(**doc)


def test_every_trial_is_measured_and_the_export_meets_the_limits_on_a_re_measurement(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    # First without a real limit: the sizes the space spans.
    free = api.run_study(_study(study_file, 1e12, name="free"), storage=url, progress=False)
    sizes = sorted(t.user_attrs["model_bytes"] for t in free.trials)
    assert sizes[0] < sizes[-1] and all(t.user_attrs["predict_ms_per_1k"] > 0 for t in free.trials)
    limit = (sizes[0] + sizes[-1]) / 2  # some trials over, some under
    path = _study(study_file, limit, name="tight")
    outcome = api.run_study_outcome(path, storage=url, progress=False)
    study = outcome.study
    over = [t for t in study.trials if t.user_attrs["model_bytes"] > limit]
    assert over and all(t.constraints["model_bytes"] > 0 for t in over)
    best = study.best_trial
    assert best.user_attrs["model_bytes"] <= limit and constraints.feasible(best)
    # an infeasible trial with a better value is not the best
    assert all(t.value >= best.value for t in study.trials if constraints.feasible(t))
    done = api.export_study(path, tmp_path / "exp", storage=url)
    files = [p for p in (tmp_path / "exp" / "model").rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= limit  # re-measured on what was written
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert done.ensemble or manifest["constraints"]["measured"]["model_bytes"] <= limit
    loaded = export.load(tmp_path / "exp")
    assert loaded is not None
    # the report marks the trials that broke a constraint, with the constraint and by how much
    from automl.report.html import feasibility, trial_rows

    cols, rows = trial_rows(study)
    col = cols.index("feasible")
    marks = {r[0]: r[col] for r in rows}
    assert all(marks[t.number].startswith("no: model_bytes +") for t in over)
    assert all(marks[t.number] == "yes" for t in study.trials if constraints.feasible(t))
    assert feasibility(over[0]) == marks[over[0].number]
    page = api.write_report(study, tmp_path / "r.html").read_text()
    assert f"{len(over)} broke a constraint" in page


def test_an_unknown_constraint_is_a_study_file_error_listing_the_known_ones(study_file, tmp_path):
    path = _study(study_file, 1e6, constraints={"model_size": {"max": 3}})
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 2
    assert "constraints.model_size: unknown constraint; known: model_bytes, predict_ms_per_1k" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.csv", "study.yaml"]


def test_no_feasible_trial_is_a_clear_export_error(study_file, tmp_path):
    path = _study(study_file, 1, trials=3)  # 1 byte: nothing fits
    url = f"sqlite:///{tmp_path / 'n.db'}"
    api.run_study(path, storage=url, progress=False)
    result = CliRunner().invoke(app, ["export", str(path), "--storage", url, "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no trial that meets its constraints" in result.output
    assert not (tmp_path / "x").exists()
    with pytest.raises(export.ExportError):
        api.export_study(path, tmp_path / "y", storage=url)
