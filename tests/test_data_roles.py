"""The data side of a study (issue 18): column roles, time and group splits (and folds that follow them),
leakage and sanity warnings."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import STUDIES, make_regression_frame
from typer.testing import CliRunner

from automl import api, data, export
from automl.cli import app
from automl.errors import DataWarning


def _frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    df = make_regression_frame(n=n, seed=seed)
    rng = np.random.default_rng(seed)
    df["row_id"] = [f"r{i:05d}" for i in range(n)]
    df["day"] = pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    df["store"] = rng.integers(0, 12, size=n)
    df["code"] = rng.choice([10, 20, 30], size=n)
    return df


def _spec(tmp_path, df, **data_kw):
    df.to_csv(tmp_path / "d.csv", index=False)
    doc = {"data": {"path": "d.csv", "target": "y", **data_kw}, "model": "lightgbm", "trials": 2, "seed": 0,
           "params": {"num_leaves": {"type": "int", "low": 4, "high": 8}},
           "fixed": {"num_boost_round": 20, "min_child_samples": 5, "num_threads": 1}}
    (tmp_path / "s.yaml").write_text(json.dumps(doc))
    return tmp_path / "s.yaml"


def _load(path):
    return data.load(api.load_study_file(path))


def test_drop_id_and_categorical_roles_shape_the_features_and_predict_passes_the_id(tmp_path):
    path = _spec(tmp_path, _frame(), drop=["day"], id="row_id", categorical=["code"], cv=0)
    d = _load(path)
    feats = d.user_features if hasattr(d, "user_features") else d.features
    assert "row_id" not in feats and "day" not in feats and "y" not in feats
    assert set(feats) == {"x1", "x2", "color", "store", "code"}
    assert "code" in d.categories and sorted(d.categories["code"]) == [10, 20, 30]
    url = f"sqlite:///{tmp_path / 's.db'}"
    api.run_study(path, storage=url, progress=False)
    done = api.export_study(path, tmp_path / "exp", storage=url)
    info = json.loads((tmp_path / "exp" / "predict.json").read_text())
    assert info["id"] == "row_id" and "row_id" not in info["features"] and "day" not in info["features"]
    out = export.predict_file(tmp_path / "exp", tmp_path / "d.csv", tmp_path / "p.csv")
    got = pd.read_csv(tmp_path / "p.csv")
    assert list(got.columns[:2]) == ["row_id", "prediction"] and got["row_id"].iloc[3] == "r00003"
    assert out.scores and done.trial >= 0
    # the dropped column may be missing at predict time
    pd.read_csv(tmp_path / "d.csv").drop(columns=["day"]).to_csv(tmp_path / "nod.csv", index=False)
    assert len(export.predict_file(tmp_path / "exp", tmp_path / "nod.csv").predictions) == 240


def test_features_is_an_allow_list(tmp_path):
    d = _load(_spec(tmp_path, _frame(), features=["x1", "color"], cv=0))
    assert sorted(d.features) == ["color", "x1"]


def test_time_split_trains_on_the_past_and_its_folds_chain_forward(tmp_path):
    df = _frame().sample(frac=1.0, random_state=3).reset_index(drop=True)  # rows out of order in the file
    d = _load(_spec(tmp_path, df, split={"by": "time", "column": "day"}, cv=0))
    day = lambda part: part.X["day"].to_numpy()  # noqa: E731 - the time column stays a feature (seconds)
    assert day(d.train).max() < day(d.valid).min() and day(d.valid).max() < day(d.test).min()
    d.use_cv(4)
    dev_day = d.dev.X["day"].to_numpy()
    assert np.all(np.diff(dev_day) > 0)  # dev in time order
    for tr, va in d.folds:
        assert dev_day[tr].max() < dev_day[va].min()  # each fold validates on later rows


def test_group_split_keeps_each_group_in_one_split_and_folds_follow(tmp_path):
    d = _load(_spec(tmp_path, _frame(), split={"by": "group", "column": "store"}, cv=0))
    assert "store" not in d.features  # a group id is no feature
    raw = _frame()
    # recover each split's stores through the untouched x1 values
    store_of = dict(zip(raw["x1"].round(12), raw["store"]))
    stores = [{store_of[round(v, 12)] for v in part.X["x1"]} for part in (d.train, d.valid, d.test)]
    assert not (stores[0] & stores[1]) and not (stores[0] & stores[2]) and not (stores[1] & stores[2])
    d.use_cv(3)
    for tr, va in d.folds:
        assert not set(d.dev_groups[tr]) & set(d.dev_groups[va])


def test_a_time_split_study_runs_cross_validated_with_an_ensemble(tmp_path):
    path = _spec(tmp_path, _frame(), split={"by": "time", "column": "day"}, cv=3)
    doc = json.loads(path.read_text())
    doc["trials"] = 5
    path.write_text(json.dumps(doc))
    outcome = api.run_study_outcome(path, storage=f"sqlite:///{tmp_path / 't.db'}", progress=False)
    assert len(outcome.study.trials) == 5 and all(t.state.name == "COMPLETE" for t in outcome.study.trials)


@pytest.mark.parametrize("data_kw, needle", [
    ({"drop": ["nosuch"]}, "data.drop: column 'nosuch' is not in d.csv"),
    ({"drop": ["y"]}, "data.drop: 'y' is the target"),
    ({"features": ["x1", "x9"]}, "data.features: column 'x9' is not in d.csv"),
    ({"id": "y"}, "data.id: 'y' is the target"),
    ({"categorical": ["x1"], "drop": ["x1"]}, "data.categorical: column 'x1' is not a feature"),
    ({"cv": 1}, "data.cv: must be 0 (one validation split) or a number of folds >= 2"),
    ({"split": {"by": "time"}}, "data.split.column: is required for a time split"),
    ({"split": {"by": "time", "column": "color"}}, "data.split.column: column 'color' cannot be ordered in time"),
    ({"split": {"by": "group", "column": "store"}, "cv": 20}, "data.cv: 20 group folds need at least 20 groups"),
    ({"split": {"by": "group", "column": "nosuch"}}, "data.split.column: column 'nosuch' is not in d.csv"),
])
def test_bad_column_roles_and_splits_are_study_file_errors(tmp_path, data_kw, needle):
    path = _spec(tmp_path, _frame(), **data_kw)
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "s.yaml"]


def _warnings_of(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.prepare_study(path)
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def test_leakage_checks_fire_on_planted_cases(tmp_path):
    df = _frame().drop(columns=["row_id"])
    df["y_copy"] = df["y"] * 2 + 1          # a copy of the target
    df["rowno"] = np.arange(len(df))        # a row counter
    df["when"] = pd.date_range("2024-01-01", periods=len(df), freq="h")  # a timestamp, random split
    said = " | ".join(_warnings_of(_spec(tmp_path, df, cv=0, valid_size=0.1, test_size=0.1)))
    assert "'y_copy' equals or almost determines the target" in said
    assert "'rowno' is unique per row, like an ID" in said
    assert "'when' holds times and is a plain feature of a random split" in said
    assert "the validation split has 24 rows (< 30)" in said


def test_leakage_checks_stay_quiet_on_the_shipped_studies_and_the_suite_tasks(tmp_path):
    for study in sorted(STUDIES.glob("*.yaml")):
        spec = api.load_study_file(study)
        if spec.model in ("causal-lm", "lm-decode"):
            continue
        said = _warnings_of(study)
        assert not [w for w in said if "determines" in w or "like an ID" in w or "plain feature" in w or "rows (<" in w], (study, said)
    from benchmarks.suite import tasks as tmod

    for name in ("diabetes", "breast_cancer", "wine", "digits", "caravan", "bikeshare", "default", "diamonds"):
        task = tmod.TASKS[name]
        try:
            df = task.load()
        except tmod.TaskUnavailable:
            continue  # its package is not installed here (pip install --no-deps ISLP plotnine)
        if task.task == "regression":
            y = df[task.target].to_numpy(dtype=float)
            codes, classes = y, None
        else:
            classes = sorted(df[task.target].astype("object").unique().tolist(), key=str)
            codes = df[task.target].astype("object").map({c: i for i, c in enumerate(classes)}).to_numpy()
        X = df.drop(columns=[task.target])
        from automl import leakage

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            leakage.warn(name, X, codes, task.task, classes, {}, [], "random",
                         (np.arange(len(df)), np.array([], dtype=int), np.array([], dtype=int)), target=task.target)
        assert not caught, (name, [str(w.message) for w in caught])


def test_weights_change_the_fitted_model_and_every_metric(tmp_path):
    from automl.metrics import METRICS

    df = _frame().drop(columns=["row_id", "day"])
    rng = np.random.default_rng(1)
    df["w"] = np.where(df["color"] == "red", 10.0, 0.1) * rng.uniform(0.5, 1.5, len(df))
    path = _spec(tmp_path, df, weight="w", cv=0)
    d = _load(path)
    assert "w" not in d.features and d.train.w is not None and len(d.train.w) == len(d.train)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = api.run_study(path, storage=url, progress=False)
    prepared = api.prepare_study(path)
    trainer, data_ = prepared.trainer, prepared.data
    from automl.trainers.base import FitContext

    t = study.best_trial
    ctx = FitContext(metric=METRICS["rmse"], task="regression", threads=1, seed=0)
    params = {**prepared.fixed, **t.params}
    fit = trainer.fit(params, data_, lambda *a, **k: None, ctx)
    pred = trainer.predict(fit, data_.valid.X)
    weighted = METRICS["rmse"].score("regression", data_.valid.y, pred, data_.valid.w)
    assert t.value == pytest.approx(weighted, rel=1e-9)  # the trial's value is the weighted metric
    assert weighted != pytest.approx(METRICS["rmse"].score("regression", data_.valid.y, pred), rel=1e-6)
    # the same parameters without weights fit another model
    from dataclasses import replace

    plain = replace(data_, train=replace(data_.train, w=None), valid=replace(data_.valid, w=None))
    other = trainer.predict(trainer.fit(params, plain, lambda *a, **k: None, ctx), data_.valid.X)
    assert not np.allclose(pred, other)
    # export's test score is weighted, and predicting its test rows (weight column included) reproduces it
    done = api.export_study(path, tmp_path / "exp", storage=url, test_rows=True)
    got = export.predict_file(tmp_path / "exp", tmp_path / "exp" / "test_rows.csv")
    assert got.scores["rmse"] == pytest.approx(done.test_scores["rmse"], rel=1e-9)
    # predict needs no weight column
    pd.read_csv(tmp_path / "exp" / "test_rows.csv").drop(columns=["w"]).to_csv(tmp_path / "now.csv", index=False)
    assert len(export.predict_file(tmp_path / "exp", tmp_path / "now.csv").predictions) == len(data_.test)


@pytest.mark.parametrize("values, needle", [
    (lambda n: ["a"] * n, "data.weight: column 'w' must hold numbers"),
    (lambda n: [-1.0] + [1.0] * (n - 1), "data.weight: column 'w' has 1 missing, negative or infinite weight(s)"),
    (lambda n: [0.0] * n, "data.weight: column 'w' is 0 on every row"),
])
def test_bad_weights_are_study_file_errors(tmp_path, values, needle):
    df = _frame()
    df["w"] = values(len(df))
    result = CliRunner().invoke(app, ["run", str(_spec(tmp_path, df, weight="w")), "--no-progress"])
    assert result.exit_code == 2 and needle in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "s.yaml"]


@pytest.mark.parametrize("model", ["mlp", "random-forest", "linear", "xgboost", "catboost"])
def test_every_tabular_trainer_takes_weights(tmp_path, model):
    if model in ("xgboost", "catboost"):
        pytest.importorskip(model)
    df = _frame(n=120).drop(columns=["row_id", "day"])
    df["w"] = np.linspace(0.1, 3.0, len(df))
    path = _spec(tmp_path, df, weight="w", cv=0)
    doc = json.loads(path.read_text())
    doc.update(model=model, params=None, fixed={"epochs": 5} if model == "mlp" else {})
    path.write_text(json.dumps(doc))
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'm.db'}", progress=False, trials=2)
    assert all(t.state.name == "COMPLETE" for t in study.trials)


def test_the_report_names_the_columns_by_role_and_the_split(tmp_path):
    df = _frame()
    df["w"] = 1.0 + (df["store"] % 3)
    path = _spec(tmp_path, df, drop=["day"], id="row_id", weight="w", categorical=["code"],
                 split={"by": "group", "column": "store"}, cv=3)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = api.run_study(path, storage=url, progress=False)
    facts = study.user_attrs["automl:data_facts"]
    assert facts["roles"] == {"dropped": ["day"], "categorical": ["code"], "id": "row_id", "weight": "w"}
    assert facts["split"] == {"by": "group", "column": "store"} and facts["cv_folds"] == 3
    html = api.write_report(study, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "columns by role: dropped: day; as categories: code; row id: row_id; row weights: w" in html
    assert "split by group (store)" in html and "3-fold cross-validation on train+valid (group folds)" in html
