"""``model: auto`` / a list of trainers (automl.trainers.auto) and the scikit-learn trainers behind it."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from automl import api, export
from automl.cli import app
from automl.trainers.auto import MODEL_PARAM, FamilyPruner

FAST = {"lightgbm.num_boost_round": 40, "xgboost.num_boost_round": 40, "catboost.num_boost_round": 40, "random-forest.n_estimators": 20, "random-forest.stage_trees": 10,
        "extra-trees.n_estimators": 20, "extra-trees.stage_trees": 10}


def _auto(study_file, **kw):
    from automl.trainers.auto import installed_families

    fast = {k: v for k, v in FAST.items() if k.split(".", 1)[0] in installed_families()}
    doc = {"model": "auto", "params": None, "fixed": fast, "trials": 8, "data": {"path": "reg.csv", "target": "y", "cv": 3}}
    doc.update(kw)
    return study_file(**doc)


def test_model_auto_searches_several_families_and_trials_shows_each(study_file, tmp_path):
    path = _auto(study_file)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    outcome = api.run_study_outcome(path, storage=url, progress=False)
    study = outcome.study
    families = [t.params[MODEL_PARAM] for t in sorted(study.trials, key=lambda t: t.number)]
    # the first trials are each family's defaults, cheapest first
    from automl.trainers.auto import installed_families

    installed = installed_families()
    assert families[:4] == installed[:4] and installed[:2] == ["linear", "lightgbm"]
    assert len(set(families)) >= 3
    for t in study.trials:  # a trial holds only its own family's parameters
        f = t.params[MODEL_PARAM]
        assert all(k == MODEL_PARAM or k.startswith(f + ".") for k in t.params)
    result = CliRunner().invoke(app, ["trials", str(path), "--storage", url])
    assert result.exit_code == 0, result.output
    assert "params_model" in result.output and "random-forest" in result.output and "linear" in result.output


def test_model_auto_exports_and_predicts_whatever_won(study_file, tmp_path):
    path = _auto(study_file)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    api.run_study_outcome(path, storage=url, progress=False)
    for ens in (False, None):
        out = tmp_path / f"exp-{ens}"
        done = api.export_study(path, out, storage=url, test_rows=True, ensemble=ens)
        got = export.predict_file(out, out / "test_rows.csv")
        assert got.scores["rmse"] == pytest.approx(done.test_scores["rmse"], rel=1e-9)
        assert json.loads((out / "predict.json").read_text())["trainer"] == "auto"


def test_model_list_and_prefixed_params_and_fixed(study_file, tmp_path):
    params = {"random-forest.min_samples_leaf": {"type": "int", "low": 2, "high": 4},
              "model": {"type": "categorical", "choices": ["random-forest", "linear"]}}
    fixed = {k: v for k, v in FAST.items() if not k.startswith(("extra-trees.", "xgboost.", "catboost."))}
    path = _auto(study_file, model=["random-forest", "linear", "lightgbm"], params=params, trials=6, fixed=fixed)
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'l.db'}", progress=False)
    fams = {t.params[MODEL_PARAM] for t in study.trials}
    assert fams <= {"random-forest", "linear"} and len(fams) == 2  # the user's model choices narrow the list
    leaves = [t.params["random-forest.min_samples_leaf"] for t in study.trials if t.params[MODEL_PARAM] == "random-forest"]
    assert leaves and all(2 <= v <= 4 for v in leaves)
    rf = [t for t in study.trials if t.params[MODEL_PARAM] == "random-forest"]
    assert all(t.user_attrs["n_estimators_fit"] == 20 for t in rf)  # fixed random-forest.n_estimators reached it


@pytest.mark.parametrize("model, fixed, needle", [
    (["lightgbm", "nosuch"], {}, "model: unknown trainer 'nosuch'"),
    (["lightgbm", "lightgbm"], {}, "must name each trainer once"),
    ("auto", {"num_leaves": 8}, "fixed.num_leaves: with several trainers, prefix a parameter with its trainer"),
    ("auto", {"lightgbm.num_leavs": 8}, "fixed.lightgbm.num_leavs: is not a LightGBM parameter"),
    ("auto", {"mlp.epochs": 4}, "'mlp' is not one of this study's trainers"),
    ("auto", {"random-forest.n_estimators": 0}, "fixed.random-forest.n_estimators: must be >= 1"),
])
def test_bad_model_lists_and_names_are_study_file_errors(study_file, tmp_path, model, fixed, needle):
    path = _auto(study_file, model=model, fixed=fixed)
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.csv", "study.yaml"]  # nothing written


def test_family_pruner_compares_a_trial_only_with_its_own_family():
    study = optuna.create_study(pruner=FamilyPruner(optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)))
    dist = {MODEL_PARAM: optuna.distributions.CategoricalDistribution(["a", "b"])}

    def done(family, value):
        t = optuna.trial.create_trial(params={MODEL_PARAM: family}, distributions=dist, value=value,
                                      intermediate_values={1: value})
        study.add_trial(t)

    done("a", 10.0)  # family a: a high value at step 1
    done("b", 1.0)   # family b: low
    study.enqueue_trial({MODEL_PARAM: "a"})
    trial = study.ask()
    trial.suggest_categorical(MODEL_PARAM, ["a", "b"])
    trial.report(5.0, 1)
    assert not trial.should_prune()  # better than family a's median, though worse than b's
    study.tell(trial, 5.0)
    study.enqueue_trial({MODEL_PARAM: "b"})
    trial = study.ask()
    trial.suggest_categorical(MODEL_PARAM, ["a", "b"])
    trial.report(5.0, 1)
    assert trial.should_prune()  # worse than family b's median


@pytest.mark.parametrize("model", ["random-forest", "extra-trees", "linear"])
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_sklearn_trainers_classify_export_and_predict(tmp_path, model, kind):
    from conftest import make_classification_frame

    df = make_classification_frame(n=150, classes=2 if kind == "binary" else 3)
    df["cat"] = np.where(df["a"] > 0, "hi", "lo")
    df.loc[::7, "b"] = np.nan  # missing values
    df.to_csv(tmp_path / "c.csv", index=False)
    doc = {"data": {"path": "c.csv", "target": "label", "cv": 3}, "model": model, "trials": 3, "seed": 0,
           "fixed": {"n_estimators": 20} if model != "linear" else {}}
    (tmp_path / "s.yaml").write_text(json.dumps(doc))
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = api.run_study(tmp_path / "s.yaml", storage=url, progress=False)
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    done = api.export_study(tmp_path / "s.yaml", tmp_path / "exp", storage=url, test_rows=True)
    got = export.predict_file(tmp_path / "exp", tmp_path / "exp" / "test_rows.csv")
    assert got.scores["logloss"] == pytest.approx(done.test_scores["logloss"], rel=1e-9)
    probs = got.predictions.filter(like="proba_").to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_forest_reports_each_stage_to_the_pruner(study_file, tmp_path):
    path = study_file(model="random-forest", params=None, trials=3, data={"path": "reg.csv", "target": "y", "cv": 0},
                      fixed={"n_estimators": 40, "stage_trees": 10})
    study = api.run_study(path, storage=f"sqlite:///{tmp_path / 'r.db'}", progress=False)
    curve = study.trials[0].user_attrs["learning_curve"]
    assert [c["step"] for c in curve] == [10, 20, 30, 40]
    assert all(np.isfinite(c["value"]) for c in curve)


def test_model_auto_resumes_with_jobs_and_reports(study_file, tmp_path):
    path = _auto(study_file, trials=5)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = api.run_study(path, storage=url, progress=False)
    queued = first.user_attrs["automl:warm_start"]
    again = api.run_study_outcome(_auto(study_file, trials=9), storage=url, progress=False, jobs=2)
    study = again.study
    assert len([t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]) == 9
    assert study.user_attrs["automl:warm_start"] == queued  # nothing queued again on resume
    assert not [t for t in study.trials if t.state.name in ("WAITING", "RUNNING")]
    report = api.write_report(study, tmp_path / "r.html")
    html = report.read_text(encoding="utf-8")
    assert "random-forest" in html and "linear" in html


@pytest.mark.parametrize("trainer", ["xgboost", "catboost"])
@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
def test_boosting_trainers_fit_report_export_and_predict(tmp_path, kind, trainer):
    pytest.importorskip(trainer)
    from conftest import make_classification_frame, make_regression_frame

    if kind == "regression":
        df, target = make_regression_frame(n=160), "y"
    else:
        df, target = make_classification_frame(n=160, classes=2 if kind == "binary" else 3), "label"
        df["cat"] = np.where(df["a"] > 0, "hi", "lo")
    df.to_csv(tmp_path / "x.csv", index=False)
    doc = {"data": {"path": "x.csv", "target": target, "cv": 0}, "model": trainer, "trials": 3, "seed": 0,
           "fixed": {"num_boost_round": 40, "early_stopping_rounds": 10}}
    (tmp_path / "s.yaml").write_text(json.dumps(doc))
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = api.run_study(tmp_path / "s.yaml", storage=url, progress=False)
    t0 = min(study.trials, key=lambda t: t.number)
    assert t0.user_attrs["automl:warm_start"] == f"{trainer}-defaults"
    assert t0.user_attrs["learning_curve"] and t0.user_attrs["best_iteration"] <= 40
    done = api.export_study(tmp_path / "s.yaml", tmp_path / "exp", storage=url, test_rows=True)
    got = export.predict_file(tmp_path / "exp", tmp_path / "exp" / "test_rows.csv")
    metric = "rmse" if kind == "regression" else "logloss"
    assert got.scores[metric] == pytest.approx(done.test_scores[metric], rel=1e-6)


def test_a_listed_trainer_that_is_not_installed_names_the_install_command(study_file, tmp_path, monkeypatch):
    from automl import trainers

    monkeypatch.setitem(trainers.REQUIRES, "xgboost", "no_such_module_for_this_test")
    path = _auto(study_file, model=["lightgbm", "xgboost"], fixed={})
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 2
    assert "model: unknown trainer 'xgboost'; install it: pip install 'automl[boost]'" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.csv", "study.yaml"]


def test_a_forest_cut_short_is_refit_with_the_trees_it_grew(study_file):
    """The deadline stops a forest between stages; its refit (export, ensemble) grows as many trees as the trial
    did, so the refit costs what the time reserved for it assumed (it grew the full n_estimators before)."""
    from dataclasses import replace

    from automl.data import refit_data
    from automl.trainers.base import FitContext

    for model in ("random-forest", "extra-trees"):
        prepared = api.prepare_study(study_file(model=model, params=None, fixed=None, trials=1,
                                                data={"path": "reg.csv", "target": "y", "cv": 0}))
        trainer = prepared.trainer
        ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=1, seed=0)
        params = {"n_estimators": 300, "stage_trees": 10}
        cut = trainer.fit(params, prepared.data, lambda *a, **k: None, replace(ctx, stop=lambda: True))
        assert cut.info["n_estimators_fit"] == 10
        final = trainer.final_params(params, {"n_estimators_fit": cut.info["n_estimators_fit"]})
        refit = trainer.fit(final, refit_data(prepared.data), lambda *a, **k: None, ctx)
        assert len(refit.model.estimator.estimators_) == 10
        assert trainer.final_params(params, {}) == params  # no fact stored: the trial's own parameters


def test_the_ensemble_candidates_hold_each_familys_best_trials_too(study_file, tmp_path, monkeypatch):
    """TPE settles on one family, so the best POOL trials alone can be near-copies of one model: the best
    FAMILY_POOL of every family keep their predictions and are candidates too."""
    from automl import ensemble
    from automl.objective import PREDICTIONS_ATTR

    monkeypatch.setattr(ensemble, "POOL", 2)
    monkeypatch.setattr(ensemble, "FAMILY_POOL", 1)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = api.run_study_outcome(_auto(study_file), storage=url, progress=False).study
    done = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: (t.value, t.number))
    families = {t.params[MODEL_PARAM] for t in done}
    assert len(families) >= 3
    best_of = {f: next(t for t in done if t.params[MODEL_PARAM] == f) for f in families}
    assert all(PREDICTIONS_ATTR in t.user_attrs for t in best_of.values())  # recorded while the study ran
    chosen = ensemble.candidates(done)
    assert [t.number for t in chosen[:2]] == [t.number for t in done[:2]]  # the overall best first, in order
    assert {t.number for t in best_of.values()} <= {t.number for t in chosen}
    assert len(chosen) <= 2 + len(families)
    # a one-trainer study has no families: the best POOL alone
    assert ensemble.family_of({"num_leaves": 31}) is None


def test_the_recorder_keeps_a_familys_best_beyond_the_overall_pool(monkeypatch):
    from automl import ensemble

    monkeypatch.setattr(ensemble, "POOL", 2)
    monkeypatch.setattr(ensemble, "FAMILY_POOL", 1)
    monkeypatch.setattr(optuna.artifacts, "upload_artifact", lambda **kw: "id")
    monkeypatch.setattr(ensemble, "store_for", lambda url: object())
    rec = ensemble.Recorder("sqlite:///unused.db", greater_is_better=False)
    for v in (0.1, 0.2):
        assert rec.wants(v, "linear")
        rec.record(None, v, np.zeros(3), "linear")
    assert not rec.wants(0.3, "linear") and not rec.wants(0.3)  # worse than the pool and than linear's best
    assert rec.wants(0.9, "lightgbm")  # lightgbm's first: a candidate although 0.9 is outside the pool
    rec.record(None, 0.9, np.zeros(3), "lightgbm")
    assert not rec.wants(0.95, "lightgbm") and rec.wants(0.8, "lightgbm")
    assert not rec.wants(float("nan"), "xgboost")
