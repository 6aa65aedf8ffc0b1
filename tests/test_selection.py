"""Issue 14's search features end to end: warm-start trials, k-fold cross-validation with pruning, a timeout
without a trial budget, and intermediate values sent to storage only where the pruner can use them."""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState

from automl import api, runner
from automl.objective import FOLDS_ATTR
from automl.trainers.lightgbm import LIGHTGBM_DEFAULTS

WARM = runner.WARM_ATTR


def _default_space_study(study_file, **kw):
    return study_file(params=None, fixed={"num_boost_round": 30, "num_threads": 1}, **kw)


def test_default_study_starts_with_lightgbm_defaults_then_the_portfolio_tagged(study_file, tmp_path):
    from automl.trainers import portfolio

    mined = portfolio.load("lightgbm")
    n = 1 + len(mined)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = api.run_study(_default_space_study(study_file, trials=n + 1), storage=url)
    trials = sorted(study.trials, key=lambda t: t.number)
    assert trials[0].user_attrs[WARM] == "lightgbm-defaults"
    assert trials[0].params == pytest.approx(LIGHTGBM_DEFAULTS)
    for i, cfg in enumerate(mined):
        t = trials[1 + i]
        assert t.user_attrs[WARM] == f"portfolio-{i + 1}"
        assert t.params == pytest.approx(cfg)
    assert WARM not in trials[n].user_attrs  # then the sampler takes over
    assert study.user_attrs[WARM] == n
    # A resume adds trials from the sampler only: nothing is queued again.
    again = api.run_study(_default_space_study(study_file, trials=n + 3), storage=url)
    tags = [t.user_attrs.get(WARM) for t in sorted(again.trials, key=lambda t: t.number)]
    assert len(tags) == n + 3 and tags[n:] == [None, None, None]
    assert sum(1 for t in tags if t == "lightgbm-defaults") == 1


def test_warm_start_skips_configurations_outside_the_users_ranges(study_file, tmp_path):
    # learning_rate 0.1 (the defaults) lies outside 0.2..0.3, so that configuration is skipped; a range holding it
    # keeps it, restricted to the user's names.
    out = api.run_study(study_file(trials=2, params={"learning_rate": {"type": "float", "low": 0.2, "high": 0.3}}),
                        storage=f"sqlite:///{tmp_path / 'a.db'}")
    assert all(t.user_attrs.get(WARM) != "lightgbm-defaults" for t in out.trials)
    assert all(0.2 <= t.params["learning_rate"] <= 0.3 for t in out.trials)
    inside = api.run_study(study_file(name="b.yaml", trials=1, params={"learning_rate": {"type": "float", "low": 0.05, "high": 0.3}}),
                           storage=f"sqlite:///{tmp_path / 'b.db'}")
    first = inside.trials[0]
    assert first.user_attrs[WARM] == "lightgbm-defaults" and first.params == {"learning_rate": 0.1}


def test_project_keeps_the_users_names_and_ranges():
    from automl.space import project
    from automl.studyfile import ParamSpec

    space = {"lr": ParamSpec(type="float", low=0.01, high=0.3, log=True), "leaves": ParamSpec(type="int", low=4, high=64, step=4),
             "boost": ParamSpec(type="categorical", choices=["gbdt", "dart"])}
    assert project({"lr": 0.1, "leaves": 32, "boost": "gbdt", "other": 5}, space) == {"lr": 0.1, "leaves": 32, "boost": "gbdt"}
    assert project({"lr": 0.5}, space) is None  # outside the range
    assert project({"leaves": 30}, space) is None  # off the step
    assert project({"leaves": 2.5}, space) is None  # not whole
    assert project({"boost": "goss"}, space) is None  # not a choice
    assert project({"other": 1}, space) is None  # nothing searched


def test_cv_k_stores_k_fold_values_whose_mean_is_the_trial_value(study_file, tmp_path):
    path = study_file(trials=3, data={"path": "reg.csv", "target": "y", "cv": 4})
    prepared = runner.prepare(api.load_study_file(path))
    assert prepared.data.cv == 4
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'cv.db'}")
    for t in study.trials:
        folds = t.user_attrs[FOLDS_ATTR]["rmse"]
        assert len(folds) == 4 and t.value == pytest.approx(sum(folds) / 4)
        assert t.user_attrs["valid_rmse"] == pytest.approx(t.value)
    # Each fold's validation rows are disjoint and cover train+valid once.
    import numpy as np

    rows = np.concatenate([va for _, va in prepared.data.folds])
    assert sorted(rows.tolist()) == list(range(len(prepared.data.train) + len(prepared.data.valid)))
    # The test score is of a model refit on train+valid with the trial's best number of rounds.
    assert study.user_attrs["automl:test_scores"]


def test_cv_reports_the_fold_mean_each_step_and_prunes(study_file):
    from automl.objective import make_objective

    class PruneAt(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return trial.last_step is not None and trial.last_step >= 10

    path = study_file(data={"path": "reg.csv", "target": "y", "cv": 3},
                      fixed={"num_boost_round": 60, "report_every": 5, "early_stopping_rounds": 0, "num_threads": 1})
    prepared = runner.prepare(api.load_study_file(path))
    study = optuna.create_study(pruner=PruneAt())
    study.optimize(make_objective(prepared), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.PRUNED, TrialState.PRUNED]
    assert sorted(study.trials[0].intermediate_values) == [5, 10]


def test_mlp_cv_fits_each_fold(study_file):
    path = study_file(model="mlp", trials=1, data={"path": "reg.csv", "target": "y", "cv": 2},
                      params={"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
                      fixed={"epochs": 3, "patience": 0})
    study = api.run_study(path, storage="memory")
    t = study.trials[0]
    assert t.state == TrialState.COMPLETE and len(t.user_attrs[FOLDS_ATTR]["rmse"]) == 2


def test_lightgbm_uses_cv_by_default_on_small_data_only():
    from automl.trainers.lightgbm import LightGBMTrainer

    tr = LightGBMTrainer()
    assert tr.default_cv(400, 10, None) == 5
    assert tr.default_cv(50_000, 10, None) == 0
    assert tr.default_cv(50_000, 10, 3600) == 5  # a long budget affords it (FLAML's rule)
    assert tr.default_cv(200_000, 2, 36_000) == 0



def test_multiclass_rounds_count_one_tree_per_class_in_the_cv_rule(tmp_path):
    """A 10-class boosting round grows 10 trees: the rule counts its cells 10 times (a 15 s budget ran 2-3 trials
    of 5-fold CV on such a table), while a plugin's three-argument rule is still called as before."""
    from automl.spec.resolve import _rule_cv
    from automl.trainers.lightgbm import LightGBMTrainer

    tr = LightGBMTrainer()
    assert tr.default_cv(1_437, 64, 15) == 5  # 92k cells: under the 200k floor
    assert tr.default_cv(1_437, 64, 15, classes=10) == 0  # 920k tree-cells: one validation split
    assert tr.default_cv(1_437, 64, 3_600, classes=10) == 5  # an hour affords CV (FLAML's budget term)
    assert tr.default_cv(400, 10, None, classes=3) == 5  # small multiclass data keeps CV

    class Data:
        task, n_classes = "multiclass", 10

    assert _rule_cv(tr.default_cv, 1_437, 64, 15, Data()) == 0
    seen = []
    assert _rule_cv(lambda rows, features, timeout: seen.append((rows, features, timeout)) or 3, 1_437, 64, 15, Data()) == 3
    assert seen == [(1_437, 64, 15)]


def test_cv_zero_or_one_validation_split(study_file):
    prepared = runner.prepare(api.load_study_file(study_file(data={"path": "reg.csv", "target": "y", "cv": 0})))
    assert prepared.data.cv == 0


def test_timeout_without_trials_runs_until_the_time_is_up(study_file, tmp_path):
    path = study_file(trials=None, timeout=2, fixed={"num_boost_round": 20, "num_threads": 1})
    t0 = time.perf_counter()
    outcome = api.run_study_outcome(path, storage=f"sqlite:///{tmp_path / 't.db'}", progress=False)
    took = time.perf_counter() - t0
    assert outcome.stopped_by == "timeout" and outcome.added >= 2
    assert took < 30


def test_no_pruner_sends_no_intermediate_values_but_keeps_the_curve(study_file, tmp_path):
    path = study_file(trials=2, pruner="none", fixed={"num_boost_round": 40, "report_every": 5, "num_threads": 1,
                                                      "early_stopping_rounds": 0})
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'n.db'}")
    for t in study.trials:
        assert t.intermediate_values == {}
        assert [p["step"] for p in t.user_attrs["learning_curve"]] == list(range(5, 41, 5))
    # Median pruner with a warm-up: only steps from the warm-up on go to storage.
    path = study_file(name="m.yaml", trials=2, pruner={"name": "median", "n_warmup_steps": 20},
                      fixed={"num_boost_round": 40, "report_every": 5, "num_threads": 1, "early_stopping_rounds": 0})
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'm.db'}")
    assert all(sorted(t.intermediate_values) == [20, 25, 30, 35, 40] for t in study.trials)
    from automl.report import figures

    d = figures.curves_data(study)
    assert all(c["steps"] == list(range(5, 41, 5)) for c in d["curves"])  # the report draws the whole curve


@pytest.mark.parametrize("ensemble", [False, True])
def test_run_export_hands_over_the_same_model_as_export(study_file, tmp_path, ensemble):
    import json

    from typer.testing import CliRunner

    from automl.cli import app

    path = study_file(trials=3 if not ensemble else 6, data={"path": "reg.csv", "target": "y", "cv": 3}, ensemble=ensemble)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    res = CliRunner().invoke(app, ["run", str(path), "--no-progress", "--storage", db, "--export", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert ("exported an ensemble of" if ensemble else "exported trial #") in res.output
    res = CliRunner().invoke(app, ["export", str(path), "--storage", db, "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    ma, mb = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in "ab")
    assert ma["test_scores"] == mb["test_scores"] and ma["trial"] == mb["trial"]
    models = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "model").rglob("model.txt"))
    assert len(models) == (1 if not ensemble else len(ma["ensemble"]["members"])) and (not ensemble or len(models) >= 2)
    for m in models:
        assert (tmp_path / "a" / m).read_text() == (tmp_path / "b" / m).read_text()


@pytest.mark.parametrize("cv", [0, 3])
def test_a_trial_still_training_at_the_deadline_keeps_its_model_so_far(study_file, cv):
    from automl.objective import make_objective

    path = study_file(data={"path": "reg.csv", "target": "y", "cv": cv},
                      fixed={"num_boost_round": 500, "early_stopping_rounds": 0, "num_threads": 1})
    prepared = runner.prepare(api.load_study_file(path))
    study = optuna.create_study()
    study.optimize(make_objective(prepared, deadline=time.time()), n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.COMPLETE and t.user_attrs["stopped_by_time"] is True
    assert t.user_attrs["rounds_trained"] == 10 and t.user_attrs["best_iteration"] == 10  # MIN_ROUNDS_BEFORE_STOP


def test_a_budget_shorter_than_start_up_still_hands_over_a_model(study_file, tmp_path):
    path = study_file(trials=None, timeout=0.01, fixed={"num_boost_round": 300, "num_threads": 1})
    outcome = api.run_study_outcome(path, storage=f"sqlite:///{tmp_path / 's.db'}", progress=False)
    assert outcome.added == 1 and outcome.study.best_trial.user_attrs["rounds_trained"] <= 300


def test_the_time_kept_after_the_last_trial_counts_the_ensemble_members_a_study_can_have():
    """A run stops starting trials when the next one and the refits after it would pass the deadline; a study of
    n complete trials refits at most n ensemble members, not 4 (a 15 s digits run stopped after one 4 s trial)."""
    from types import SimpleNamespace

    from automl.objective import refit_share
    from automl.run.loop import _expected

    cv5, holdout = SimpleNamespace(cv=5), SimpleNamespace(cv=0)
    assert refit_share(cv5) == pytest.approx(1.25 * 4 / 5)  # the run's full ensemble
    assert refit_share(cv5, 1) == pytest.approx(1.25 / 5) and refit_share(cv5, 2) == pytest.approx(1.25 * 2 / 5)
    assert refit_share(cv5, 40) == refit_share(cv5)
    assert refit_share(holdout, 1) == refit_share(holdout) == 1.25
    prepared = SimpleNamespace(data=cv5)
    assert _expected([], prepared, 1) == 0.0
    assert _expected([4.0], prepared, 2) == pytest.approx(4.0 * (1 + 0.5))
    assert _expected([4.0, 3.0, 5.0], prepared, None) == pytest.approx(4.0 * (1 + 1.0))


def test_the_refit_of_the_best_trial_so_far_is_kept_from_the_deadline(study_file):
    """With trials of very different cost (model: auto), the run ends with the refit of its best trial, which can
    be far longer than a typical trial's: no trial starts, and a running one is cut, unless that refit still fits
    before the deadline (a 60 s model: auto study on diamonds ran 69-80 s: a 19 s CatBoost trial was best)."""
    from types import SimpleNamespace

    from automl.objective import make_objective
    from automl.run.loop import _Best, _expected

    holdout = SimpleNamespace(data=SimpleNamespace(cv=0))
    assert _expected([1.0], holdout, 2, reserve=20.0) == pytest.approx(1.0 + 20.0)
    assert _expected([1.0], holdout, 2, reserve=0.5) == pytest.approx(1.0 * (1 + 1.25))  # the trial's own refit

    best = _Best(greater=False)
    def frozen(value, seconds, folds=None):
        attrs = {"fit_seconds": seconds, **({"fold_values": {"rmse": [value] * folds}} if folds else {})}
        return optuna.trial.create_trial(value=value, user_attrs=attrs)
    best.saw(frozen(3.0, 20.0))
    best.saw(frozen(4.0, 1.0))  # worse: the reserve stays the best trial's
    assert best.refit_seconds() == pytest.approx(25.0)
    best.saw(frozen(2.0, 10.0, folds=5))  # better, cross-validated: one fold's share
    assert best.refit_seconds() == pytest.approx(2.5)

    path = study_file(fixed={"num_boost_round": 500, "early_stopping_rounds": 0, "num_threads": 1})
    prepared = runner.prepare(api.load_study_file(path))
    runs = {}
    for kept in (0.0, 3600.0):  # the deadline is an hour away; the best trial's refit would take an hour
        study = optuna.create_study()
        study.optimize(make_objective(prepared, deadline=time.time() + 3600, reserve=lambda kept=kept: kept), n_trials=1)
        runs[kept] = study.trials[0].user_attrs
    assert "stopped_by_time" not in runs[0.0] or runs[0.0]["stopped_by_time"] is False
    assert runs[3600.0]["stopped_by_time"] is True and runs[3600.0]["rounds_trained"] == 10
