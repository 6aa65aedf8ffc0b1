"""automl export / predict and the reproducibility manifest."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from automl import export as export_mod
from automl.api import export_study, run_study
from automl.cli import app
from automl.errors import DataChangedWarning, StudyFileError
from automl.manifest import MANIFEST_ATTR
from automl.metrics import METRICS

runner = CliRunner()

SMALL = {
    "params": {
        "learning_rate": {"type": "float", "low": 0.1, "high": 0.3, "log": True},
        "num_leaves": {"type": "int", "low": 4, "high": 8},
    },
    "fixed": {"num_boost_round": 25, "early_stopping_rounds": 5, "min_child_samples": 5, "num_threads": 1},
    "trials": 2,
}


def write_study(folder: Path, csv: Path, target: str, **overrides) -> Path:
    doc = {"data": {"path": csv.name, "target": target}, "model": "lightgbm", "seed": 0, **SMALL, **overrides}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("fixture", "target", "metric"),
    [("regression_csv", "y", "rmse"), ("binary_csv", "label", "logloss"), ("multiclass_csv", "label", "logloss")],
)
def test_export_then_predict_on_test_rows_reproduces_the_test_score(request, tmp_path, fixture, target, metric):
    csv: Path = request.getfixturevalue(fixture)
    study_path = write_study(tmp_path, csv, target, metric=metric)
    study = run_study(study_path, progress=False)
    out = tmp_path / "export"

    res = runner.invoke(app, ["export", str(study_path), "-o", str(out), "--test-rows"])
    assert res.exit_code == 0, res.output
    assert f"exported trial #{study.best_trial.number}" in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    exported = manifest["test_scores"][metric]

    # The held-back rows are rows of the data file: 20% of it, target included.
    original = pd.read_csv(csv)
    rows = pd.read_csv(out / "test_rows.csv")
    assert len(rows) == manifest["test_rows"] == round(0.2 * len(original))
    assert list(rows.columns) == list(original.drop(columns=[target]).columns) + [target]
    assert len(rows.merge(original, how="inner")) == len(rows)

    res = runner.invoke(app, ["predict", str(out), str(out / "test_rows.csv"), "-o", str(tmp_path / "pred.csv")])
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == len(rows)

    # Recompute the metric from the predictions file alone.
    if metric == "rmse":
        value = METRICS["rmse"].score("regression", rows[target].to_numpy(), pred["prediction"].to_numpy())
    else:
        classes = sorted(original[target].unique())
        proba = pred[[f"proba_{c}" for c in classes]].to_numpy()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
        assert set(pred["prediction"]) <= set(classes)  # original labels, not codes
        assert (pred["prediction"].to_numpy() == np.asarray(classes)[proba.argmax(axis=1)]).all()
        y = rows[target].map({c: i for i, c in enumerate(classes)}).to_numpy()
        task = "binary" if len(classes) == 2 else "multiclass"
        value = METRICS["logloss"].score(task, y, proba[:, 1] if task == "binary" else proba)
    assert value == pytest.approx(exported, abs=1e-9)
    assert f"{metric}={exported:.6g}" in res.output  # predict scores a file that has the target


def test_export_writes_native_model_params_and_manifest(tmp_path, study_file, regression_csv):
    path = study_file(**SMALL)
    study = run_study(path, progress=False)
    best = study.best_trial
    done = export_study(path, tmp_path / "ex")

    assert (tmp_path / "ex" / "model" / "model.txt").read_text().startswith("tree")  # LightGBM's text format
    params = json.loads((tmp_path / "ex" / "params.json").read_text())
    assert params["trial"] == best.number and params["params"] == best.params
    # The refit has no validation split to early-stop on: the trial's best round count, no early stopping.
    assert params["final"]["num_boost_round"] == best.user_attrs["best_iteration"]
    assert params["final"]["early_stopping_rounds"] == 0
    assert done.params == params["final"]

    m = json.loads((tmp_path / "ex" / "manifest.json").read_text())
    assert set(m["versions"]) >= {"python", "automl", "optuna", "lightgbm", "torch"}
    assert m["versions"]["optuna"].startswith("5.")
    assert m["data_file"]["sha256"] == sha(regression_csv)
    assert m["study_file"]["sha256"] == sha(path)
    assert m["seeds"] == {"sampler": 0, "split": 0, "trainer": 0}
    assert m["trial"] == best.number and m["test_scores"] == done.test_scores
    assert m["git"] is None  # tmp_path is not in a git work tree
    assert m["train_rows"] == 160  # train + valid of 200 rows

    info = json.loads((tmp_path / "ex" / "predict.json").read_text())
    assert info["trainer"] == "lightgbm" and info["task"] == "regression"
    assert info["features"] == ["x1", "x2", "color"] and info["numeric"] == ["x1", "x2"]
    assert info["categories"] == {"color": ["blue", "green", "red"]}


def test_torch_is_not_imported_by_the_manifest():
    import subprocess
    import sys

    code = "import sys, automl.manifest as m; v = m.versions(); print('torch' in sys.modules, v['torch'] is not None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_manifest_git_commit_of_the_study_files_repo(tmp_path):
    import subprocess

    from automl.manifest import git_info

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    f = tmp_path / "s.yaml"
    f.write_text("a: 1\n")
    env = ["-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", *env, "-C", str(tmp_path), "add", "s.yaml"], check=True)
    subprocess.run(["git", *env, "-C", str(tmp_path), "commit", "-qm", "x"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert git_info(f) == {"commit": head, "dirty": False, "root": str(tmp_path.resolve())}
    f.write_text("a: 2\n")
    assert git_info(f)["dirty"] is True


def test_run_stores_the_manifest_and_warns_when_the_data_changed(tmp_path, study_file, regression_csv):
    path = study_file(**{**SMALL, "trials": 1})
    study = run_study(path, progress=False)
    m = study.user_attrs[MANIFEST_ATTR]
    assert m["data_file"]["sha256"] == sha(regression_csv) and m["versions"]["lightgbm"]

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataChangedWarning)
        run_study(path, trials=1, progress=False)  # same data: no warning

    df = pd.read_csv(regression_csv)
    df.iloc[:5].to_csv(regression_csv, mode="a", header=False, index=False)
    res = runner.invoke(app, ["run", str(path), "--trials", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "warning: " in res.output and "data.path: reg.csv changed since study 'study' was created" in res.output
    study = run_study(path, trials=2, progress=False)
    assert study.user_attrs[MANIFEST_ATTR]["data_file"]["sha256"] == sha(regression_csv)  # this run's data
    with pytest.warns(DataChangedWarning, match="the export is trained and scored on the file as it is now"):
        export_study(path, tmp_path / "ex")


def test_multi_objective_export_takes_the_pareto_trial_best_on_the_first_metric(tmp_path, binary_csv):
    path = write_study(tmp_path, binary_csv, "label", metric=["logloss", "accuracy"], trials=3)
    study = run_study(path, progress=False)
    done = export_study(path, tmp_path / "ex")
    front = study.best_trials
    assert done.trial == min(front, key=lambda t: (t.values[0], t.number)).number
    assert set(done.test_scores) == {"logloss", "accuracy"}
    assert done.valid_values == dict(zip(["logloss", "accuracy"], study.trials[done.trial].values, strict=True))


def test_export_a_given_trial_and_errors(tmp_path, study_file):
    path = study_file(**SMALL)
    res = runner.invoke(app, ["export", str(path), "-o", str(tmp_path / "ex")])
    assert res.exit_code == 2 and "storage not found" in res.output  # nothing ran yet
    run_study(path, progress=False)
    assert export_study(path, tmp_path / "ex", trial=0).trial == 0
    res = runner.invoke(app, ["export", str(path), "-o", str(tmp_path / "ex"), "--trial", "7"])
    assert res.exit_code == 2 and "has no trial 7" in res.output


def test_predict_checks_its_input(tmp_path, study_file, regression_csv):
    path = study_file(**SMALL)
    run_study(path, progress=False)
    export_study(path, tmp_path / "ex")
    df = pd.read_csv(regression_csv).drop(columns=["y"])

    preds = export_mod.predict_frame(export_mod.load(tmp_path / "ex"), df)
    assert list(preds.columns) == ["prediction"] and len(preds) == len(df)
    # An unseen category and missing values still predict (LightGBM treats them as missing).
    odd = df.head(3).assign(color=["purple", None, "red"], x1=[np.nan, 0.0, 1.0])
    assert np.isfinite(export_mod.predict_frame(export_mod.load(tmp_path / "ex"), odd)["prediction"]).all()

    df.drop(columns=["x2"]).to_csv(tmp_path / "bad.csv", index=False)
    res = runner.invoke(app, ["predict", str(tmp_path / "ex"), str(tmp_path / "bad.csv"), "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "missing feature column(s) 'x2'" in res.output
    df.assign(x1="abc").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(StudyFileError, match="columns.x1: must be numeric"):
        export_mod.predict_file(tmp_path / "ex", tmp_path / "bad.csv")
    res = runner.invoke(app, ["predict", str(tmp_path), str(regression_csv), "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "is not an automl export" in res.output


def test_lightgbm_final_params():
    from automl.trainers.lightgbm import LightGBMTrainer

    t = LightGBMTrainer()
    assert t.final_params({"num_boost_round": 300, "early_stopping_rounds": 30, "num_leaves": 7}, {"best_iteration": 42}) == {
        "num_boost_round": 42, "early_stopping_rounds": 0, "num_leaves": 7}
    assert t.final_params({"num_boost_round": 300}, {}) == {"num_boost_round": 300, "early_stopping_rounds": 0}


@pytest.mark.slow
def test_export_the_mlp_trainer(tmp_path, multiclass_csv):
    from automl import trainers

    if "mlp" not in trainers.names():
        pytest.skip("the mlp trainer is not in this tree")
    trainer = trainers.get("mlp")
    if type(trainer).save_model is export_mod._base_hook("save_model"):
        pytest.skip("the mlp trainer has no export hooks yet")
    fixed = {k: v for k, v in {"epochs": 5, "max_epochs": 5}.items() if not trainer.check_params([k])}
    path = write_study(tmp_path, multiclass_csv, "label", model="mlp", metric="logloss", params=None, fixed=fixed, trials=1)
    run_study(path, progress=False)
    done = export_study(path, tmp_path / "ex", test_rows=True)
    got = export_mod.predict_file(tmp_path / "ex", tmp_path / "ex" / "test_rows.csv")
    assert got.scores["logloss"] == pytest.approx(done.test_scores["logloss"], abs=1e-6)


@pytest.mark.parametrize("model", ["lightgbm", "random-forest"])
def test_predict_in_a_fresh_process_equals_predict_in_this_one(tmp_path, binary_csv, model):
    """`automl predict` imports LightGBM with scikit-learn hidden from its probe (cli._lightgbm_without_its_sklearn_api):
    its predictions are the library's, and a scikit-learn model still loads in that process."""
    import subprocess
    import sys

    extra = {} if model == "lightgbm" else {
        "params": {"min_samples_leaf": {"type": "int", "low": 1, "high": 4}}, "fixed": {"n_estimators": 10}}
    path = write_study(tmp_path, binary_csv, "label", model=model, **extra)
    run_study(path, progress=False)
    export_study(path, tmp_path / "ex")
    want = export_mod.predict_frame(export_mod.load(tmp_path / "ex"), pd.read_csv(binary_csv).drop(columns=["label"]))
    r = subprocess.run([sys.executable, "-m", "automl", "predict", str(tmp_path / "ex"), str(binary_csv), "-o",
                        str(tmp_path / "p.csv")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(tmp_path / "p.csv")
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        if want[c].dtype.kind == "f":
            np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-6, atol=1e-9)
        else:
            assert got[c].astype(str).tolist() == want[c].astype(str).tolist()
