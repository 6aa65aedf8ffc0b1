"""The study's ensemble (automl.ensemble): greedy selection over out-of-fold predictions kept as Optuna artifacts,
members refit on train+valid, exported and served by predict, rebuilt from the storage after a resume."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl import api, ensemble, export
from automl.cli import app
from automl.metrics import METRICS
from automl.objective import PREDICTIONS_ATTR

RMSE = METRICS["rmse"]


def _score(y, p):
    return float(RMSE.score("regression", y, p))


def test_greedy_selection_starts_from_the_best_single_and_never_ends_worse():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    noise = [rng.normal(scale=s, size=300) for s in (0.5, 0.55, 0.6, 2.0)]
    preds = [y + n for n in noise]  # independent errors: averaging the first three beats each of them
    counts, value, history = ensemble.greedy_selection(preds, y, _score, greater_is_better=False, iterations=10)
    singles = [_score(y, p) for p in preds]
    assert history[0] == pytest.approx(min(singles))  # step 1 is the best single candidate
    assert value == pytest.approx(min(history)) and value < min(singles)
    assert len(counts) >= 2 and 3 not in counts  # the poor candidate is never chosen
    # Weights reproduce the score.
    n = sum(counts.values())
    assert _score(y, sum(preds[i] * c / n for i, c in counts.items())) == pytest.approx(value)


def test_greedy_selection_keeps_one_candidate_when_nothing_helps():
    y = np.linspace(0, 1, 50)
    counts, value, _ = ensemble.greedy_selection([y.copy(), y + 1.0], y, _score, greater_is_better=False)
    assert counts == {0: 1} and value == pytest.approx(0.0)


def _ens_study(study_file, **kw):
    doc = {"data": {"path": "reg.csv", "target": "y", "cv": 5}, "trials": 12,
           "params": {"learning_rate": {"type": "float", "low": 0.02, "high": 0.5, "log": True},
                      "num_leaves": {"type": "int", "low": 2, "high": 32, "log": True},
                      "min_child_samples": {"type": "int", "low": 2, "high": 40, "log": True}},
           "fixed": {"num_boost_round": 60, "num_threads": 1}}
    doc.update(kw)
    return study_file(**doc)


def test_cv_study_keeps_predictions_of_its_best_trials_and_stores_an_ensemble(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    outcome = api.run_study_outcome(_ens_study(study_file), storage=url, progress=False)
    study = outcome.study
    with_preds = [t for t in study.trials if PREDICTIONS_ATTR in t.user_attrs]
    assert len(with_preds) == len(study.trials) == 12  # fewer than POOL trials: all are candidates
    store = ensemble.store_for(url)
    with store.open_reader(with_preds[0].user_attrs[PREDICTIONS_ATTR]) as f:
        oof = np.load(f)
    assert oof.shape == (len(outcome.prepared.data.dev.y),) and oof.dtype == np.float32
    attr = study.user_attrs[ensemble.ENSEMBLE_ATTR]
    assert attr is not None, "12 trials of different learners should give an ensemble that beats the best one"
    weights = [m["weight"] for m in attr["members"]]
    assert len(weights) >= 2 and sum(weights) == pytest.approx(1.0)
    assert attr["valid"] < attr["best_single"]["valid"]  # by construction, strictly better on validation
    assert attr["best_single"]["trial"] == study.best_trial.number
    # The stored out-of-fold score is the weighted average's, recomputed from the artifacts.
    by_number = {t.number: t for t in study.trials}
    avg = 0
    for m in attr["members"]:
        with store.open_reader(by_number[m["trial"]].user_attrs[PREDICTIONS_ATTR]) as f:
            avg = avg + np.load(f).astype(float) * m["weight"]
    assert _score(outcome.prepared.data.dev.y, avg) == pytest.approx(attr["valid"], rel=1e-6)
    # The test score is the members' refit models' average on the test split.
    test = outcome.prepared.data.test
    pred = ensemble.predict(outcome.prepared.trainer, outcome.ensemble, test.X)
    assert attr["test"]["rmse"] == pytest.approx(_score(test.y, pred))


def test_exported_ensemble_reproduces_its_test_score_from_the_written_files(study_file, tmp_path):
    path = _ens_study(study_file)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    api.run_study_outcome(path, storage=url, progress=False)
    out = tmp_path / "exp"
    done = api.export_study(path, out, storage=url, test_rows=True)
    assert done.ensemble and len(done.ensemble) >= 2
    info = json.loads((out / "predict.json").read_text())
    assert [m["trial"] for m in info["ensemble"]] == [n for n, _ in done.ensemble]
    assert all((out / "model" / f"trial-{n}" / "model.txt").exists() for n, _ in done.ensemble)
    # predict reads only the folder: its score on the test rows equals the export's test score
    got = export.predict_file(out, out / "test_rows.csv")
    assert got.scores["rmse"] == pytest.approx(done.test_scores["rmse"], rel=1e-9)
    # ... and the best trial alone is another model (another score)
    single = api.export_study(path, tmp_path / "one", storage=url, ensemble=False)
    assert single.ensemble is None and single.trial == optuna.load_study(study_name="study", storage=url).best_trial.number
    assert single.test_scores["rmse"] != pytest.approx(done.test_scores["rmse"], rel=1e-9)


def test_ensemble_is_rebuilt_from_the_storage_after_a_resume(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    first = api.run_study_outcome(_ens_study(study_file, trials=8), storage=url, progress=False)
    again = api.run_study_outcome(_ens_study(study_file, trials=14), storage=url, progress=False)
    assert len(again.study.trials) == 14
    attr = again.study.user_attrs[ensemble.ENSEMBLE_ATTR]
    candidates = {t.number for t in first.study.trials}
    assert attr is None or attr["valid"] <= (first.study.user_attrs[ensemble.ENSEMBLE_ATTR] or {"valid": np.inf})["valid"] + 1e-12
    # trials of the first run keep their predictions and stay candidates
    assert all(PREDICTIONS_ATTR in t.user_attrs for t in again.study.trials if t.number in candidates)


def test_ensemble_false_keeps_no_predictions_and_exports_the_best_trial(study_file, tmp_path):
    path = _ens_study(study_file, ensemble=False)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    outcome = api.run_study_outcome(path, storage=url, progress=False)
    assert outcome.ensemble is None and ensemble.ENSEMBLE_ATTR not in outcome.study.user_attrs
    assert not any(PREDICTIONS_ATTR in t.user_attrs for t in outcome.study.trials)
    assert not (tmp_path / "e.db.artifacts").exists()
    result = CliRunner().invoke(app, ["export", str(path), "--storage", url, "-o", str(tmp_path / "x"), "--ensemble"])
    assert result.exit_code == 2 and "has no ensemble" in result.output
    assert not (tmp_path / "x").exists()


def test_holdout_studies_ensemble_on_the_valid_rows_and_multi_objective_ones_get_none(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    holdout = api.run_study_outcome(_ens_study(study_file, data={"path": "reg.csv", "target": "y", "cv": 0}),
                                    storage=url, progress=False)
    store = ensemble.store_for(url)
    t = holdout.study.trials[0]
    with store.open_reader(t.user_attrs[PREDICTIONS_ATTR]) as f:
        assert np.load(f).shape == (len(holdout.prepared.data.valid),)  # the valid rows' predictions
    attr = holdout.study.user_attrs.get(ensemble.ENSEMBLE_ATTR)
    if attr:
        assert attr["valid"] < attr["best_single"]["valid"]
        assert attr["best_single"]["valid"] == pytest.approx(holdout.study.best_value, rel=1e-6)  # float32 predictions
    # a deadline that leaves no room for refitting the members: the best trial alone
    late = ensemble.build(holdout.prepared, holdout.study, url, deadline=0.0, slack=0.0)
    assert late is None and holdout.study.user_attrs[ensemble.ENSEMBLE_ATTR] is None
    multi = api.run_study_outcome(_ens_study(study_file, metric=["rmse", "mae"], trials=4),
                                  storage=f"sqlite:///{tmp_path / 'm.db'}", progress=False)
    assert multi.ensemble is None and not any(PREDICTIONS_ATTR in t.user_attrs for t in multi.study.trials)


def test_cli_run_export_prints_and_writes_the_ensemble(study_file, tmp_path):
    path = _ens_study(study_file)
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress", "--export", str(tmp_path / "exp")])
    assert result.exit_code == 0, result.output
    assert "ensemble of " in result.output and "exported an ensemble of" in result.output
    df = pd.read_csv(tmp_path / "reg.csv")
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "exp"), str(tmp_path / "reg.csv"), "-o", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(df)
    both = CliRunner().invoke(app, ["export", str(path), "-o", str(tmp_path / "y"), "--ensemble", "--trial", "0"])
    assert both.exit_code == 2 and "give one of them" in both.output


def test_the_report_shows_the_ensemble_it_hands_over(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    outcome = api.run_study_outcome(_ens_study(study_file), storage=url, progress=False)
    attr = outcome.study.user_attrs[ensemble.ENSEMBLE_ATTR]
    assert attr is not None
    from automl.report import write_report

    html = write_report(outcome.study, tmp_path / "r.html", packed=False).read_text(encoding="utf-8")
    assert 'id="ensemble-row"' in html and f"the ensemble export hands over: {len(attr['members'])} trials" in html
    assert f'data-key="test:ensemble:rmse" data-value="{float(attr["test"]["rmse"])!r}"' in html
