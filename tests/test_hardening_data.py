"""Issue 15, data items: odd targets and columns are one line each (exit 2, nothing written), names LightGBM
refuses and datetime columns train, trials keep their integers, predict warns on unseen categories and the
two test scores are labelled apart."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
DIABETES = REPO / "studies" / "data" / "diabetes.csv"


def base_frame() -> pd.DataFrame:
    df = pd.read_csv(DIABETES)
    df["progression"] = df["progression"].astype(float)
    return df


def write_study(folder: Path, data_name: str, trials: int = 2, **extra) -> Path:
    doc = {
        "data": {"path": data_name, "target": "progression"},
        "model": "lightgbm",
        "trials": trials,
        "seed": 0,
        "params": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True}},
        "fixed": {"num_boost_round": 20, "num_threads": 1},
        **extra,
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(res, folder: Path, field: str, *words: str) -> str:
    """Exit 2, exactly one line naming the study file and the field, no traceback, nothing written."""
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"{folder / 'study.yaml'}: {field}: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in res.output
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".db", ".log", ".html")) == []
    return lines[0]


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e308, -5e38])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_regression_target_beyond_float32_is_one_line(tmp_path, value, command):
    df = base_frame()
    df.loc[3, "progression"] = value
    df.to_csv(tmp_path / "d.csv", index=False)
    path = write_study(tmp_path, "d.csv")
    with _no_runtime_warning():
        res = invoke(command, path, *(["--no-progress"] if command == "run" else []))
    assert_one_line_error(res, tmp_path, "data.target", "'progression'", "1 value(s)", "infinite")


class _no_runtime_warning:
    """The old code printed numpy's 'invalid value encountered in mod' before saying ok."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings(record=True)
        self.caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        runtime = [w for w in self.caught if issubclass(w.category, RuntimeWarning)]
        assert not runtime, [str(w.message) for w in runtime]
        return False


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_list_typed_parquet_column_is_one_line(tmp_path, command):
    df = base_frame().assign(tags=[[1, 2]] * 442)
    df.to_parquet(tmp_path / "d.parquet")
    path = write_study(tmp_path, "d.parquet")
    res = invoke(command, path, *(["--no-progress"] if command == "run" else []))
    assert_one_line_error(res, tmp_path, "data.path", "'tags'", "lists")


def test_a_list_typed_target_is_one_line(tmp_path):
    df = base_frame()
    df["progression"] = [[v] for v in df["progression"]]
    df.to_parquet(tmp_path / "d.parquet")
    res = invoke("validate", write_study(tmp_path, "d.parquet"))
    assert_one_line_error(res, tmp_path, "data.target", "'progression'", "lists")


def test_a_data_folder_without_permission_is_one_line(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    base_frame().to_csv(data / "d.csv", index=False)
    path = write_study(tmp_path, "data/d.csv")
    if os.geteuid() != 0:
        data.chmod(0)
    else:  # root reads everything: make stat() fail as it does for a user without permission
        real_stat = os.stat

        def stat(p, *a, **k):
            if str(p).startswith(str(data) + os.sep):
                raise PermissionError(13, "Permission denied", str(p))
            return real_stat(p, *a, **k)

        monkeypatch.setattr(os, "stat", stat)
    try:
        res = invoke("validate", path)
    finally:
        data.chmod(0o755)
    assert_one_line_error(res, tmp_path, "data.path", "Permission denied", "permissions")


def test_repeated_column_names_are_an_error_naming_them(tmp_path):
    df = base_frame()
    df["dup"] = df["progression"]
    text = df.to_csv(index=False).replace(",dup\n", ",progression\n", 1)
    (tmp_path / "d.csv").write_text(text)
    for command in ("validate", "run"):
        res = invoke(command, write_study(tmp_path, "d.csv"), *(["--no-progress"] if command == "run" else []))
        line = assert_one_line_error(res, tmp_path, "data.path", "'progression' (2 times)", "unique name")
        assert "progression.1" not in line


USER_NAMES = {"bmi": "bmi, kg/m2", "bp": 'bp:"mm"', "s1": "s1 [a]", "s2": "{s2}", "sex": "sex kind"}


def test_names_lightgbm_refuses_train_and_stay_the_users_everywhere(tmp_path):
    df = base_frame().rename(columns=USER_NAMES)
    df["bmi__kg/m2"] = 0.0  # a safe name that "bmi, kg/m2" with each unsafe character as "_" collides with
    df.to_csv(tmp_path / "d.csv", index=False)
    path = write_study(tmp_path, "d.csv")
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 0, res.output
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'study.db'}")
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE"], [t.system_attrs.get("fail_reason") for t in study.trials]
    assert 40 < study.best_value < 90

    res = invoke("export", path, "-o", tmp_path / "ex", "--test-rows")
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "ex" / "predict.json").read_text())
    user_features = [c for c in df.columns if c != "progression"]
    assert info["features"] == user_features
    assert set(info["internal_names"]) == set(USER_NAMES.values())
    internal = list(info["internal_names"].values())
    assert len(set(internal)) == len(internal) and info["internal_names"]["bmi, kg/m2"] != "bmi__kg/m2"
    assert "sex kind" in info["categories"]
    rows = pd.read_csv(tmp_path / "ex" / "test_rows.csv")
    assert list(rows.columns) == user_features + ["progression"]
    res = invoke("predict", tmp_path / "ex", tmp_path / "ex" / "test_rows.csv", "-o", tmp_path / "p.csv")
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "ex" / "manifest.json").read_text())
    assert f"rmse={manifest['test_scores']['rmse']:.6g}" in res.output


def test_datetime_columns_become_seconds_and_predict_takes_dates(tmp_path):
    df = base_frame()
    df["when"] = pd.date_range("2020-01-01", periods=len(df), freq="D")
    df.to_parquet(tmp_path / "d.parquet")
    path = write_study(tmp_path, "d.parquet")
    res = runner.invoke(app, ["run", str(path), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "datetime column(s) 'when' are used as seconds since 1970-01-01 UTC" in res.output
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]

    assert invoke("export", path, "-o", tmp_path / "ex").exit_code == 0
    assert json.loads((tmp_path / "ex" / "predict.json").read_text())["datetimes"] == ["when"]
    new = df.head(5).drop(columns=["progression"])
    new.to_parquet(tmp_path / "new.parquet")
    as_text = new.assign(when=new["when"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    as_text.to_csv(tmp_path / "new.csv", index=False)
    out = {}
    for name in ("new.parquet", "new.csv"):
        res = invoke("predict", tmp_path / "ex", tmp_path / name, "-o", tmp_path / f"{name}.out.csv")
        assert res.exit_code == 0, res.output
        out[name] = pd.read_csv(tmp_path / f"{name}.out.csv")["prediction"].to_numpy()
    np.testing.assert_allclose(out["new.parquet"], out["new.csv"])
    as_text.assign(when="not a date").to_csv(tmp_path / "bad.csv", index=False)
    res = invoke("predict", tmp_path / "ex", tmp_path / "bad.csv", "-o", tmp_path / "bad.out.csv")
    assert res.exit_code == 2 and res.output.startswith(f"{tmp_path / 'bad.csv'}: columns.when: must hold dates")
    assert not (tmp_path / "bad.out.csv").exists()


def test_predict_warns_with_counts_of_unseen_categories(tmp_path):
    df = base_frame()
    df["city"] = np.where(np.arange(len(df)) % 2, "Oslo", "Lima")
    df.to_csv(tmp_path / "d.csv", index=False)
    path = write_study(tmp_path, "d.csv")
    assert invoke("run", path, "--no-progress").exit_code == 0
    assert invoke("export", path, "-o", tmp_path / "ex").exit_code == 0
    new = df.head(6).drop(columns=["progression"])
    new["city"] = ["Oslo", "Paris", "Paris", None, "Rome", "Lima"]
    new["sex"] = ["M", "F", "X", "M", "F", "M"]
    new.to_csv(tmp_path / "new.csv", index=False)
    res = invoke("predict", tmp_path / "ex", tmp_path / "new.csv", "-o", tmp_path / "p.csv")
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 1, res.output
    assert "'sex' 1 row(s) (e.g. 'X')" in warn[0] and "'city' 3 row(s) (e.g. 'Paris')" in warn[0]
    assert len(pd.read_csv(tmp_path / "p.csv")) == 6


def test_the_run_and_the_export_label_their_test_scores_apart(tmp_path):
    base_frame().to_csv(tmp_path / "d.csv", index=False)
    path = write_study(tmp_path, "d.csv")
    doc = yaml.safe_load(path.read_text())
    doc["data"]["cv"] = 0  # one validation split: the run's test score is of the model trained on the train split
    path.write_text(yaml.safe_dump(doc))
    res = invoke("run", path, "--no-progress")
    test_line = next(ln for ln in res.output.splitlines() if ln.strip().startswith("test:"))
    assert test_line.endswith("(this trial's model, trained on the train split)")
    res = invoke("export", path, "-o", tmp_path / "ex")
    assert res.exit_code == 0 and "refit on train+valid)" in res.output  # one trial's model or the ensemble's members
    manifest = json.loads((tmp_path / "ex" / "manifest.json").read_text())
    assert manifest["test_scores_of"] == "refit on train+valid"
    res = invoke("report", path, "-o", tmp_path / "r.html")
    assert res.exit_code == 0
    assert "test split (model trained on the train split)" in (tmp_path / "r.html").read_text()


def test_trials_json_and_csv_keep_integers_and_leave_inactive_parameters_empty(tmp_path):
    base_frame().to_csv(tmp_path / "d.csv", index=False)
    params = {
        "boosting": {"type": "categorical", "choices": ["gbdt", "dart"]},
        "drop_rate": {"type": "float", "low": 0.05, "high": 0.5, "when": {"boosting": "dart"}},
        "num_leaves": {"type": "int", "low": 4, "high": 16},
    }
    path = write_study(tmp_path, "d.csv", trials=6, params=params)
    assert invoke("run", path, "--no-progress").exit_code == 0
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert {t.params["boosting"] for t in study.trials} == {"gbdt", "dart"}  # seed 0 draws both

    res = invoke("trials", path, "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    for row, t in zip(rows, study.trials, strict=True):
        assert row["user_attrs_best_iteration"] == t.user_attrs["best_iteration"]
        assert isinstance(row["user_attrs_best_iteration"], int) and isinstance(row["params_num_leaves"], int)
        assert row["params_drop_rate"] == t.params.get("drop_rate")  # None (null) when inactive
    assert "NaN" not in res.output

    res = invoke("trials", path, "--format", "csv")
    import csv
    import io

    for cells, t in zip(csv.DictReader(io.StringIO(res.output)), study.trials, strict=True):
        assert cells["user_attrs_best_iteration"] == str(t.user_attrs["best_iteration"])
        assert cells["params_num_leaves"] == str(t.params["num_leaves"])
        assert cells["params_drop_rate"] == ("" if "drop_rate" not in t.params else repr(t.params["drop_rate"]))


def test_a_cross_validated_run_labels_its_test_score_as_a_refit(tmp_path):
    base_frame().to_csv(tmp_path / "d.csv", index=False)
    path = write_study(tmp_path, "d.csv")
    doc = yaml.safe_load(path.read_text())
    doc["data"]["cv"] = 3
    path.write_text(yaml.safe_dump(doc))
    res = invoke("run", path, "--no-progress", "--export", tmp_path / "ex")
    assert res.exit_code == 0, res.output
    test_line = next(ln for ln in res.output.splitlines() if ln.strip().startswith("test:"))
    assert test_line.endswith("(this trial's model, refit on train+valid)")
    assert "; model refit on train+valid)" in res.output.splitlines()[-1]
    assert invoke("report", path, "-o", tmp_path / "r.html").exit_code == 0
    assert "test split (model refit on train+valid)" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("model", ["lightgbm", "mlp"])
def test_infinite_feature_values_are_missing_values_for_every_trainer(tmp_path, model):
    df = base_frame()
    df["s1"] = df["s1"].astype(float)
    df.loc[[3, 9], "s1"] = [np.inf, -np.inf]
    df.to_csv(tmp_path / "d.csv", index=False)
    extra = {"model": model, "fixed": {"epochs": 2}} if model == "mlp" else {}
    path = write_study(tmp_path, "d.csv", **extra)
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "warning: " + f"{path}: data.path: infinite values are used as missing values: 's1' 2 row(s)" in res.output
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
