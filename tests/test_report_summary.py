"""The report's summary: real runs whose baselines the tests refit and rescore, numbers equal to the storage's,
metric names stored in the study (new studies and older ones on resume), settings, the "not shown" list."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from automl import api, runner
from automl.report import figures as F
from automl.report import record
from automl.report import summary as S
from automl.report.html import packed_block, write_report


def _run(study_file, tmp_path: Path, **overrides):
    path = study_file(storage=f"sqlite:///{tmp_path / 's.db'}", **overrides)
    outcome = api.run_study_outcome(path)
    study = optuna.load_study(study_name=outcome.study.study_name, storage=f"sqlite:///{tmp_path / 's.db'}")
    return outcome, study


def _values(html_text: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r'data-key="([^"]+)" data-value="([^"]+)"', html_text)}


def test_regression_summary_baselines_are_real_fits_and_the_page_shows_the_storage(study_file, tmp_path: Path) -> None:
    # The trainer's default space: the warm start queues LightGBM's defaults as trial 0 (5-fold CV on 200 rows).
    outcome, study = _run(study_file, tmp_path, params=None, trials=6)
    prepared, data = outcome.prepared, outcome.prepared.data
    assert optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{tmp_path / 's.db'}").metric_names == ["rmse"]
    base = study.user_attrs[record.BASELINES_ATTR]
    t0 = study.trials[0]
    assert t0.user_attrs["automl:warm_start"] == "lightgbm-defaults" and base["defaults"]["trial"] == 0

    # The defaults baseline: LightGBM's defaults refit on train+valid (as the tuned model is) and scored on test.
    from automl.export import refit_data
    from automl.trainers.base import FitContext

    metric = prepared.metrics[0]
    ctx = FitContext(metric=metric, task="regression", threads=1, seed=0)
    params = prepared.trainer.final_params({**prepared.fixed, **t0.params}, t0.user_attrs)
    fit = prepared.trainer.fit(params, refit_data(data), lambda *a, **k: None, ctx)
    rmse = metric.score("regression", data.test.y, prepared.trainer.predict(fit, data.test.X))
    assert base["defaults"]["test"]["rmse"] == pytest.approx(rmse, rel=1e-9)
    # The constant predictor: the mean of the rows the tuned model was fitted on, scored with the study's metric.
    y_fit = np.concatenate([data.train.y, data.valid.y])
    const = math.sqrt(np.mean((data.test.y - y_fit.mean()) ** 2))
    assert base["constant"]["test"]["rmse"] == pytest.approx(const, rel=1e-9) and base["constant"]["fit_on"] == "train+valid"

    # The summary's numbers are the storage's.
    s = S.summary_data(study)
    best = study.best_trial
    tuned = study.user_attrs["automl:test_scores"][str(best.number)]["rmse"]
    assert s["best"]["number"] == best.number and s["best"]["test"]["rmse"] == tuned
    rows = {r["key"]: r for r in s["baselines"]}
    assert rows["defaults"]["improvement"] == pytest.approx((base["defaults"]["test"]["rmse"] - tuned) / base["defaults"]["test"]["rmse"])
    assert rows["constant"]["improvement"] == pytest.approx((const - tuned) / const) and rows["constant"]["improvement"] > 0.5
    states = {st.name.lower(): sum(t.state == st for t in study.trials) for st in TrialState}
    assert s["budget"]["counts"] == {k: v for k, v in states.items() if v}
    wall = (max(t.datetime_complete for t in study.trials) - min(t.datetime_start for t in study.trials)).total_seconds()
    assert s["budget"]["wall_seconds"] == pytest.approx(wall)
    assert s["data"]["rows"] == {"train": len(data.train), "valid": len(data.valid), "test": len(data.test)}
    assert s["data"]["columns"] == {"numeric": 2, "categorical": 1} and s["data"]["cv_folds"] == 5

    text = write_report(study, tmp_path / "r.html").read_text()
    shown = _values(text)
    assert shown["test:best:rmse"] == tuned and shown["valid:best"] == best.value
    assert shown["test:defaults:rmse"] == base["defaults"]["test"]["rmse"] and shown["test:constant:rmse"] == base["constant"]["test"]["rmse"]
    assert f"{abs(rows['constant']['improvement']) * 100:.1f}% better than a constant predictor" in text
    assert text.index('id="summary"') < text.index('id="settings"') < text.index('id="importance-0"')
    # Settings: what re-runs the study.
    st = study.user_attrs[record.SETTINGS_ATTR]
    assert st["sampler"] == {"name": "tpe", "class": "TPESampler", "options": {"seed": 0}}
    assert st["pruner"]["class"] == "MedianPruner" and st["pruner"]["options"]["n_warmup_steps"] == 10
    assert "MedianPruner" in text and "num_boost_round=30" in text and "n_warmup_steps=10" in text
    assert 'id="study-file"' in text and "model: lightgbm" in text
    assert study.user_attrs["automl:versions"]["optuna"] == optuna.__version__ and "run with" in text
    # Axes and table in the metric's words; no empty panel, one "not shown" list instead.
    figs = json.loads(packed_block(text, "automl-figures"))["figures"]
    curves = next(f["figure"] for f in figs if f["id"] == "fig-curves")["layout"]
    assert curves["xaxis"]["title"]["text"] == "boosting round" and curves["yaxis"]["title"]["text"] == "validation rmse"
    assert "fig-extras" not in {f["id"] for f in figs}
    assert re.search(r'<li data-panel="extras"><b>Training-side curves</b>: No trial recorded extra', text)
    assert "Intermediate Value" not in packed_block(text, "automl-figures")
    table = json.loads(re.search(r'id="automl-trials">(.*?)</script>', text).group(1))
    assert table["columns"][2] == "rmse" and table["best"] == [best.number]


def test_user_space_without_the_defaults_fits_them_at_the_end(study_file, tmp_path: Path) -> None:
    # num_leaves 4..16 leaves out LightGBM's 31: no warm-start trial, so the run fits the fixed parameters alone.
    outcome, study = _run(study_file, tmp_path, trials=3, data={"path": "reg.csv", "target": "y", "cv": 0})
    assert record.defaults_trial(study) is None  # portfolio configs may fit; the defaults do not
    base = study.user_attrs[record.BASELINES_ATTR]["defaults"]
    assert base["trial"] is None and "fixed parameters alone" in base["what"]
    prepared, data = outcome.prepared, outcome.prepared.data
    from automl.trainers.base import FitContext

    fit = prepared.trainer.fit(dict(prepared.fixed), data, lambda *a, **k: None,
                               FitContext(metric=prepared.metrics[0], task="regression", threads=1, seed=0))
    rmse = prepared.metrics[0].score("regression", data.test.y, prepared.trainer.predict(fit, data.test.X))
    assert base["test"]["rmse"] == pytest.approx(rmse, rel=1e-9)
    assert study.user_attrs[record.BASELINES_ATTR]["constant"]["fit_on"] == "train"


def test_binary_constant_predictor_is_the_class_priors(study_file, binary_csv: Path, tmp_path: Path) -> None:
    outcome, study = _run(study_file, tmp_path, trials=2, metric=["logloss", "accuracy"],
                          data={"path": binary_csv.name, "target": "label", "cv": 0})
    data = outcome.prepared.data
    p1 = data.train.y.mean()
    logloss = -np.mean(np.where(data.test.y == 1, np.log(p1), np.log(1 - p1)))
    majority = 1 if p1 >= 0.5 else 0
    const = study.user_attrs[record.BASELINES_ATTR]["constant"]["test"]
    assert const["logloss"] == pytest.approx(logloss, rel=1e-9)
    assert const["accuracy"] == pytest.approx(np.mean(data.test.y == majority))
    assert optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{tmp_path / 's.db'}").metric_names == ["logloss", "accuracy"]
    s = S.summary_data(study)
    assert s["pareto"] and {r["number"] for r in s["pareto"]} == {t.number for t in study.best_trials}
    text = write_report(study, tmp_path / "mo.html").read_text()
    import html

    assert 'id="pareto-table"' in text and html.escape(S.headline(s)) in text
    assert ("One trial" if len(s["pareto"]) == 1 else "Pareto-optimal trials trade off") in S.headline(s)
    shown = _values(text)
    for r in s["pareto"]:
        assert shown[f"pareto:{r['number']}:logloss"] == r["values"]["logloss"]
    assert shown["test:constant:accuracy"] == const["accuracy"]  # the baselines under the Pareto table


def test_an_older_study_gets_metric_names_and_attrs_on_resume(study_file, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    path = study_file(storage=url, trials=2)
    name = api.load_study_file(path).study_name
    # As an older automl left it: complete, with trials, but no metric names and none of the report's attributes.
    old = optuna.create_study(study_name=name, storage=url)
    old.set_user_attr(runner.COMPLETE_ATTR, True)
    old.add_trial(create_trial(value=1.0, params={"learning_rate": 0.1, "num_leaves": 8},
                               distributions={"learning_rate": FloatDistribution(0.05, 0.3, log=True),
                                              "num_leaves": optuna.distributions.IntDistribution(4, 16)}))
    assert optuna.load_study(study_name=name, storage=url).metric_names is None
    api.run_study_outcome(path)
    again = optuna.load_study(study_name=name, storage=url)
    assert again.metric_names == ["rmse"]
    for key in (record.VERSIONS_ATTR, record.SETTINGS_ATTR, record.DATA_FACTS_ATTR, record.STEP_UNIT_ATTR):
        assert key in again.user_attrs, key


def test_budget_saved_by_pruning_from_measured_durations() -> None:
    study = optuna.create_study()
    durations = {0: 4.0, 1: 6.0, 2: 5.0, 3: 1.0, 4: 2.0}  # 3 complete (median 5 s), 2 pruned after 1 and 2 s
    for i, d in durations.items():
        pruned = i >= 3
        t = create_trial(state=TrialState.PRUNED if pruned else TrialState.COMPLETE, value=None if pruned else float(i),
                         params={"x": 0.1}, distributions={"x": FloatDistribution(0.01, 10, log=True)},
                         intermediate_values={0: 1.0} if pruned else None)
        t.datetime_start = datetime(2026, 1, 1) + timedelta(seconds=10 * i)
        t.datetime_complete = t.datetime_start + timedelta(seconds=d)
        study.add_trial(t)
    b = S.budget_data(study)
    assert b["counts"] == {"complete": 3, "pruned": 2} and b["median_complete_seconds"] == 5.0
    assert b["saved_seconds"] == pytest.approx((5 - 1) + (5 - 2)) and b["pruned_seconds"] == 3.0
    assert b["wall_seconds"] == 42.0
    assert "Pruning saved about 7 s of trial time" in _budget_text(b)


def _budget_text(b: dict) -> str:
    from automl.report.html import _budget_sentence

    return _budget_sentence(b)


@pytest.mark.parametrize(("best_x", "edge", "words"), [
    (0.012, "low", "sit at the low edge of the range 0.01–10: widen it below 0.01."),
    (9.5, "high", "sit at the high edge of the range 0.01–10: widen it above 10."),
    (0.3, None, "of the range 0.01–10."),
])
def test_parameter_sentence_says_where_the_best_values_sit(best_x: float, edge: str | None, words: str) -> None:
    study = optuna.create_study()
    xs = list(np.geomspace(0.01, 10, 30))
    for x in xs:
        study.add_trial(create_trial(value=abs(math.log(x) - math.log(best_x)), params={"x": float(x), "y": 0.5},
                                     distributions={"x": FloatDistribution(0.01, 10, log=True), "y": FloatDistribution(0, 1)}))
    s = S.param_sentence(study, "x", 0.8, 0)
    assert s["edge"] == edge and s["sentence"].startswith("x matters most (0.80); ") and s["sentence"].endswith(words)
    panels = {p.key: p for p in F.build_panels(study)}
    summary = S.summary_data(study, panels["importance-0"].data["importances"])
    assert summary["params"][0]["name"] == "x"


def test_wall_clock_history_and_conditional_caveat() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        z = trial.suggest_float("z", 0, 1) if kind == "b" else 0.0
        return trial.suggest_float("x", 0, 1) + z

    study.optimize(objective, n_trials=20)
    d = F.history_time_data(study)
    assert d["best"] == [min(d["value"][: i + 1]) for i in range(len(d["value"]))]
    assert d["seconds"] == sorted(d["seconds"]) and len(d["seconds"]) == 20
    panels = {p.key: p for p in F.build_panels(study)}
    assert panels["history-time-0"].figure is not None
    assert "z is set only in some trials (conditional)" in panels["importance-0"].note
    assert S.conditional_params(study) == ["z"]


@pytest.mark.parametrize(("best", "base", "minimize", "want"), [
    (0.8, 1.0, True, 0.2),      # a loss 20% lower
    (1.2, 1.0, True, -0.2),     # worse
    (0.9, 0.6, False, 0.5),     # accuracy 50% higher
    (0.45, -0.01, False, None),  # r2 of a constant predictor: no meaningful share
    (0.5, 0.0, True, None),
])
def test_relative_improvement(best: float, base: float, minimize: bool, want: float | None) -> None:
    got = S.relative_improvement(best, base, minimize)
    assert got == (pytest.approx(want) if want is not None else None)


def test_odd_attributes_from_another_tool_do_not_break_the_summary(tmp_path: Path) -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    for k, v in {"automl:data_facts": {"file": "d.csv", "rows": {"train": "many"}, "columns": [1]},
                 "automl:baselines": {"constant": {"test": {"value": "low"}}, "defaults": 3},
                 "automl:test_scores": {"0": "n/a"}, "automl:settings": "tpe"}.items():
        study.set_user_attr(k, v)
    text = write_report(study, tmp_path / "odd.html").read_text()
    assert 'id="headline"' in text and "d.csv" in text and "could not be computed" not in text
