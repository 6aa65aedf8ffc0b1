"""A value a trainer cannot take is a study-file error before any trial (issue 16): LightGBM and XGBoost are
asked themselves (their own config checks, on 8 rows, nothing trained), the other trainers check their knobs."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from automl import trainers
from automl.cli import app
from automl.studyfile import ParamSpec

runner = CliRunner()


def _run(tmp_path, regression_csv, model, fixed, params=None):
    doc = {"data": {"path": str(regression_csv), "target": "y"}, "model": model, "trials": 2, "fixed": fixed}
    if params:
        doc["params"] = params
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    res = runner.invoke(app, ["run", str(path), "--no-progress"])
    return res, path


@pytest.mark.parametrize(("model", "fixed", "params", "lines"), [
    ("lightgbm", {"eta": -0.1, "bagging_fraction": 2}, {"num_leaves": {"type": "int", "low": 0, "high": 1}},
     ["params.num_leaves: every value must be > 1 (LightGBM's check of num_leaves) (got 0 and 1)",
      "fixed.eta: must be > 0.0 (LightGBM's check of learning_rate) (got -0.1)",
      "fixed.bagging_fraction: must be <= 1.0 (LightGBM's check of bagging_fraction) (got 2)"]),
    ("xgboost", {"eta": -1, "subsample": 2}, {"max_bin": {"type": "categorical", "choices": [0, 1]}},
     ["params.max_bin: every value must be >= 2 (XGBoost's check of max_bin) (got 0 and 1)",
      "fixed.eta: must be >= 0 (XGBoost's check of learning_rate) (got -1)",
      "fixed.subsample: must be in [0, 1] (XGBoost's check of subsample) (got 2)"]),
    ("catboost", {"depth": 40, "learning_rate": -1}, {"l2_leaf_reg": {"type": "float", "low": -2, "high": -1}},
     ["params.l2_leaf_reg: every value is refused by CatBoost: L2LeafRegularizer should be >= 0", "fixed.depth: is refused by CatBoost: Maximum tree depth is 16",
      "fixed.learning_rate: must be > 0 (got -1)"]),
    ("auto", {"lightgbm.learning_rate": -1, "random-forest.n_estimators": 0}, None,
     ["fixed.lightgbm.learning_rate: must be > 0.0 (LightGBM's check of learning_rate) (got -1)",
      "fixed.random-forest.n_estimators: must be >= 1 (got 0)"]),
])
def test_values_the_library_refuses_are_study_file_errors(tmp_path, regression_csv, model, fixed, params, lines):
    if model in ("xgboost", "catboost"):
        pytest.importorskip(model)
    res, path = _run(tmp_path, regression_csv, model, fixed, params)
    assert res.exit_code == 2, res.output
    for line in lines:
        assert f"{path}: {line}" in res.output, res.output
    assert "Traceback" not in res.output and "[LightGBM]" not in res.output
    assert not (tmp_path / "s.db").exists()  # nothing written


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
def test_the_defaults_spaces_and_warm_starts_pass_the_library_checks(name):
    if name in ("xgboost", "catboost"):
        pytest.importorskip(name)
    t = trainers.get(name)
    for task in t.tasks:
        space = {n: ParamSpec.model_validate(p) for n, p in t.default_space(task).items()}
        assert t.check_params(space) == []
        assert t.check_params(t.default_fixed(task)) == []
        for tag, config in t.warm_start(task):
            assert t.check_params(config) == [], tag
    lgbm = trainers.get("lightgbm")
    # Values a task or the data decide stay with the fit: LightGBM's per-column constraints are not asked about.
    assert lgbm.check_params({"monotone_constraints": [1, -1], "max_depth": -1}) == []
    # A range partly outside what LightGBM takes still runs (its refused values fail their trials).
    assert lgbm.check_params({"num_leaves": ParamSpec(type="int", low=1, high=9, step=2)}) == []


def test_run_study_with_an_invalid_studyspec_raises_the_cli_s_problems(tmp_path, regression_csv):
    from automl import api
    from automl.errors import StudyFileError
    from automl.studyfile import StudySpec

    doc = {"data": {"path": str(regression_csv), "target": "y", "valid_size": 0.6, "test_size": 0.5},
           "model": "lightgbm", "fixed": {"eta": -1}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    cli = runner.invoke(app, ["run", str(path), "--no-progress"])
    assert cli.exit_code == 2
    want = {line.split(": ", 2)[1] for line in cli.output.strip().splitlines()}  # the fields named
    assert {"trials", "data.valid_size"} <= want
    for spec in (StudySpec.model_validate(doc), StudySpec.model_construct(**doc)):
        with pytest.raises(StudyFileError) as e:
            api.run_study(spec, storage=f"sqlite:///{tmp_path}/api.db")
        assert {p.field for p in e.value.problems} == want
    assert not (tmp_path / "api.db").exists()
