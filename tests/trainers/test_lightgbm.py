"""The LightGBM trainer on real fits: pruning through the shared objective, user attrs, categoricals."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from automl import api
from automl.objective import make_objective
from automl.runner import prepare


class PruneAtStep(optuna.pruners.BasePruner):
    """Deterministic pruner: prunes every trial once it has reported step >= `at`."""

    def __init__(self, at: int):
        self.at = at

    def prune(self, study, trial):
        step = trial.last_step
        return step is not None and step >= self.at


def test_deterministic_pruner_stops_a_real_fit_early(study_file):
    spec = api.load_study_file(study_file(fixed={"num_boost_round": 100, "report_every": 5, "early_stopping_rounds": 0}))
    prepared = prepare(spec)
    study = optuna.create_study(pruner=PruneAtStep(20))
    study.optimize(make_objective(prepared), n_trials=2)
    for t in study.trials:
        assert t.state == TrialState.PRUNED
        assert max(t.intermediate_values) == 20  # stopped at round 20 of 100
        assert sorted(t.intermediate_values) == [5, 10, 15, 20]
        assert [p["step"] for p in t.user_attrs["learning_curve"]] == [5, 10, 15, 20]
        assert t.user_attrs["pruned_at_step"] == 20


def test_median_pruner_prunes_bad_trials_in_a_real_study(study_file, tmp_path):
    # A bad region (tiny learning rate) next to a good one: the median pruner must stop some trials early.
    path = study_file(trials=14, sampler="random", seed=1, pruner={"name": "median", "n_startup_trials": 3, "n_warmup_steps": 10},
                      params={"learning_rate": {"type": "float", "low": 0.0005, "high": 0.3, "log": True}},
                      fixed={"num_boost_round": 200, "report_every": 10, "early_stopping_rounds": 0, "min_child_samples": 5, "num_threads": 1})
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'p.db'}")
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(pruned) + len(complete) == 14
    assert pruned, "median pruning should stop some slow learners"
    assert all(max(t.intermediate_values) < 200 for t in pruned)
    assert all(max(t.intermediate_values) == 200 for t in complete)
    # Pruned trials are the slow learners: their learning rate is below the completed trials' median.
    med = sorted(t.params["learning_rate"] for t in complete)[len(complete) // 2]
    assert sum(t.params["learning_rate"] < med for t in pruned) >= len(pruned) * 0.6


def test_user_attrs_and_early_stopping(study_file):
    spec = api.load_study_file(study_file(fixed={"num_boost_round": 500, "early_stopping_rounds": 10, "min_child_samples": 5}))
    prepared = prepare(spec)
    study = optuna.create_study()
    study.optimize(make_objective(prepared), n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.COMPLETE
    assert 1 <= t.user_attrs["best_iteration"] < t.user_attrs["rounds_trained"] <= 500
    assert t.user_attrs["valid_rmse"] == pytest.approx(t.value)
    assert t.user_attrs["fit_seconds"] > 0


@pytest.mark.parametrize("fixture,metric,direction", [
    ("binary_csv", "auc", "maximize"),
    ("binary_csv", "f1", "maximize"),
    ("multiclass_csv", "accuracy", "maximize"),
    ("multiclass_csv", "logloss", "minimize"),
])
def test_classification_metrics(request, tmp_path, fixture, metric, direction):
    import yaml

    csv = request.getfixturevalue(fixture)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({
        "data": {"path": csv.name, "target": "label"}, "model": "lightgbm", "metric": metric, "trials": 2,
        "fixed": {"num_boost_round": 40, "min_child_samples": 5, "num_threads": 1},
    }))
    study = api.run_study(path)
    assert study.direction.name.lower() == direction
    assert len([t for t in study.trials if t.state == TrialState.COMPLETE]) == 2
    if metric in ("auc", "accuracy", "f1"):
        assert study.best_value > 0.6  # far better than chance on this separable data


def test_string_column_is_used_as_a_category(tmp_path, regression_csv):
    from automl.data import load

    spec = api.load_study_file(_write(tmp_path, regression_csv))
    data = load(spec)
    assert str(data.train.X["color"].dtype) == "category"
    assert list(data.valid.X["color"].cat.categories) == list(data.train.X["color"].cat.categories)


def _write(tmp_path, csv):
    import yaml

    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"data": {"path": csv.name, "target": "y"}, "model": "lightgbm", "trials": 1}))
    return p


def test_datasets_are_binned_once_and_reused_with_the_same_results(study_file):
    # Trials that vary min_child_samples share one binned Dataset pair (feature_pre_filter=False) and score exactly
    # as fits on fresh Datasets do; a Dataset parameter (max_bin) gets its own pair.
    from automl.trainers.base import FitContext

    prepared = prepare(api.load_study_file(study_file()))
    ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=1, seed=0)
    trainer, data = prepared.trainer, prepared.data

    def score(params, fresh):
        if fresh:
            data.__dict__.pop("_lgb_datasets", None)
        p = {"num_boost_round": 40, "num_threads": 1, **params}
        result = trainer.fit(p, data, lambda *a, **k: None, ctx)
        return float(trainer.evaluate(result, data, "valid", prepared.metrics)[0])

    grid = [{"min_child_samples": m, "num_leaves": n} for m, n in [(20, 31), (2, 8), (60, 64), (5, 4)]]
    fresh = [score(p, fresh=True) for p in grid]
    data.__dict__.pop("_lgb_datasets", None)
    reused = [score(p, fresh=False) for p in grid]
    assert reused == fresh
    assert len(set(fresh)) > 1  # the parameters did change the fits
    assert len(data._lgb_datasets) == 1
    score({"max_bin": 15}, fresh=False)
    assert len(data._lgb_datasets) == 2


@pytest.mark.parametrize("pruner,fixed,expected", [
    (None, {}, ("MedianPruner", 10, 200)),  # the suite's choice: a fifth of the default 1,000 rounds
    ("median", {"num_boost_round": 30}, ("MedianPruner", 10, 10)),  # never below 10 steps
    ("percentile", {"num_boost_round": 500}, ("PercentilePruner", 10, 100)),
    ({"name": "median", "n_warmup_steps": 3}, {}, ("MedianPruner", 5, 3)),  # the user's options win
])
def test_lightgbm_pruner_defaults_scale_with_the_rounds(study_file, pruner, fixed, expected):
    from automl.runner import open_or_create

    overrides = {"fixed": {"min_child_samples": 5, "num_threads": 1, **fixed}}
    if pruner is not None:
        overrides["pruner"] = pruner
    prepared = prepare(api.load_study_file(study_file(**overrides)))
    p = open_or_create(prepared, "memory").pruner
    assert (type(p).__name__, p._n_startup_trials, p._n_warmup_steps) == expected
