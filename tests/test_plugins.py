"""Trainer plugins: the entry-point registry, `automl trainers`, and the example plugin in examples/hgb-plugin.

The example is installed by the test itself with pip (`--no-deps --no-build-isolation`, a few seconds,
offline), as the README tells a user to, but into a temporary folder put on PYTHONPATH (`pip install
--target`), never into the environment running the tests: `automl trainers` there must not list it afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from typer.testing import CliRunner

from automl import trainers
from automl.cli import app

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "examples" / "hgb-plugin"
BIN = Path(sys.executable).parent
runner = CliRunner()


def test_automl_trainers_lists_builtins_with_tasks_and_metrics():
    res = runner.invoke(app, ["trainers", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    lgb = rows["lightgbm"]
    assert lgb["origin"] == "built-in"
    assert lgb["tasks"] == ["regression", "binary", "multiclass"]
    assert lgb["metrics"] == ["rmse", "mae", "r2", "logloss", "auc", "accuracy", "f1"]
    assert lgb["default_metric"] == {"regression": "rmse", "binary": "logloss", "multiclass": "logloss"}
    res = runner.invoke(app, ["trainers"])
    assert "lightgbm  (built-in)\n  gradient-boosted trees" in res.output


def test_a_broken_plugin_is_listed_with_its_error(monkeypatch):
    broken = EntryPoint(name="broken", value="no_such_module_xyz:Trainer", group=trainers.ENTRY_POINT_GROUP)
    monkeypatch.setattr(trainers, "entry_points", lambda group: [broken])
    res = runner.invoke(app, ["trainers"])
    assert res.exit_code == 0, res.output
    assert "broken  (plugin no_such_module_xyz:Trainer)\n  cannot be loaded: ModuleNotFoundError" in res.output


def _import_example():
    sys.path.insert(0, str(PLUGIN))
    try:
        import automl_hgb
    finally:
        sys.path.remove(str(PLUGIN))
    return automl_hgb


def test_example_plugin_follows_the_protocol_in_process(tmp_path, multiclass_csv):
    """The plugin's fit reports every 10 iterations, its export hooks round-trip (no install needed)."""
    from automl.api import load_study_file
    from automl.metrics import METRICS
    from automl.trainers.base import FitContext

    hgb = _import_example().HGBTrainer()
    assert hgb.check_params(["learning_rate", "max_iter"]) == []
    assert "did you mean 'max_leaf_nodes'" in hgb.check_params(["max_leaf_node"])[0][1]
    doc = {"data": {"path": multiclass_csv.name, "target": "label"}, "model": "hgb", "trials": 1}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    data = hgb.load_data(load_study_file(tmp_path / "s.yaml"))
    reports = []
    ctx = FitContext(metric=METRICS["logloss"], task="multiclass", seed=0)
    result = hgb.fit({"max_iter": 30, "learning_rate": 0.1}, data, lambda s, v, **k: reports.append((s, v)), ctx)
    assert [s for s, _ in reports] == [10, 20, 30]
    assert result.info["best_iteration"] == min(reports, key=lambda r: r[1])[0]
    assert hgb.final_params({"max_iter": 30}, result.info)["max_iter"] == result.info["best_iteration"]
    hgb.save_model(result, tmp_path)
    again = hgb.load_model(tmp_path)
    np.testing.assert_array_equal(hgb.predict(again, data.test.X), hgb.predict(result, data.test.X))


@pytest.mark.slow
def test_example_plugin_installs_lists_and_runs_a_study(tmp_path, binary_csv):
    source, target = tmp_path / "hgb-plugin", tmp_path / "site"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), str(source), "--no-deps",
         "--no-build-isolation"],
        check=True, capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([str(BIN / "automl"), "trainers"], capture_output=True, text=True, check=True, env=env).stdout
    assert "hgb  (plugin automl-hgb 0.1.0)" in out and "histogram gradient boosting" in out
    alone = subprocess.run([str(BIN / "automl"), "trainers"], capture_output=True, text=True, check=True).stdout
    assert "hgb" not in alone  # the test environment itself is untouched

    doc = {"data": {"path": binary_csv.name, "target": "label"}, "model": "hgb", "metric": "auc", "trials": 2,
           "seed": 0, "params": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True}},
           "fixed": {"max_iter": 20}}
    study_file = tmp_path / "hgb.yaml"
    study_file.write_text(yaml.safe_dump(doc))
    res = subprocess.run([str(BIN / "automl"), "run", str(study_file), "--no-progress"], capture_output=True, text=True,
                         env=env)
    assert res.returncode == 0, res.stderr
    assert "2 trials added, 2 finished" in res.stdout
    study = optuna.load_study(study_name="hgb", storage=f"sqlite:///{tmp_path / 'hgb.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.user_attrs["automl:model"] == "hgb"
    assert 0.5 < study.best_value <= 1.0
    assert [c["step"] for c in study.best_trial.user_attrs["learning_curve"]] == [10, 20]

    res = subprocess.run([str(BIN / "automl"), "export", str(study_file), "-o", str(tmp_path / "ex"), "--test-rows"],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "ex" / "model" / "model.pkl").exists()
    res = subprocess.run([str(BIN / "automl"), "predict", str(tmp_path / "ex"), str(tmp_path / "ex" / "test_rows.csv"),
                          "-o", str(tmp_path / "p.csv")], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    exported = json.loads((tmp_path / "ex" / "manifest.json").read_text())["test_scores"]["auc"]
    assert f"auc={exported:.6g}" in res.stdout
