"""The HTML report: figure data functions, edge-case studies, escaping, masking, the page's JSON and the CLI.

Studies are synthetic and in memory (create_trial / a trivial objective): no model is trained here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from automl.errors import ReportError
from automl.report import figures as F
from automl.report.html import header_facts, packed_block, trial_rows, write_report

XSS = "</script><script>alert(1)</script>"
FIGURE_KEYS = ("importance-0", "importance-duration", "parallel", "history-0", "history-time-0", "slice", "contour", "curves", "edf-0", "timeline")


@pytest.fixture(autouse=True)
def _quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    yield
    optuna.logging.set_verbosity(level)


def _quadratic(n: int = 20, seed: int = 0, name: str = "q") -> optuna.Study:
    """Value depends on x only; y is noise-free but irrelevant."""
    study = optuna.create_study(study_name=name, sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(lambda t: (t.suggest_float("x", -3, 3) ** 2) + 0 * t.suggest_float("y", 0, 1), n_trials=n)
    return study


def _with_pruned(n: int = 16) -> optuna.Study:
    """Trials report 6 steps; trial numbers divisible by 4 are pruned after 2 steps (deterministic)."""
    study = optuna.create_study(study_name="pruned")
    for i in range(n):
        pruned = i % 4 == 0
        steps = 2 if pruned else 6
        x = (i % 7) / 7
        curve = {s: x + 1 / (s + 1) for s in range(steps)}
        study.add_trial(create_trial(
            state=TrialState.PRUNED if pruned else TrialState.COMPLETE, value=None if pruned else x,
            params={"x": x}, distributions={"x": FloatDistribution(0, 1)}, intermediate_values=curve,
            user_attrs={"learning_curve": [{"step": s, "value": v, "train_loss": v / 2} for s, v in curve.items()]},
        ))
    return study


def _panels(study: optuna.Study, **kw) -> dict[str, F.Panel]:
    return {p.key: p for p in F.build_panels(study, **kw)}


def _page_json(html_text: str, element_id: str) -> dict:
    """A JSON block of the page: plain (``application/json``) or packed (deflate + base85, see html.pack)."""
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html_text, re.S)
    if m is None:
        return json.loads(packed_block(html_text, element_id))
    return json.loads(m.group(1))


# ------------------------------------------------------------------------------------------ figure data


def test_history_data_tracks_best_so_far() -> None:
    study = _quadratic(12)
    d = F.history_data(study)
    values = [t.value for t in study.trials]
    assert d["number"] == list(range(12)) and d["value"] == values
    assert d["best"] == [min(values[: i + 1]) for i in range(12)]
    fig = F.history_figure(study, d)
    assert [tr.name for tr in fig.data][:2] == ["value", "Best Value"]


def test_importance_data_ranks_the_parameter_that_matters_and_the_figure_draws_it() -> None:
    study = _quadratic(40)
    d = F.importance_data(study)
    assert d["evaluator"] == "PED-ANOVA" and d["trials"] == 40
    assert list(d["importances"])[0] == "x" and d["importances"]["x"] > d["importances"]["y"]
    assert sum(d["importances"].values()) == pytest.approx(1.0)
    fig = F.importance_figure(study, d)
    bars = dict(zip(fig.data[0].y, fig.data[0].x, strict=True))  # horizontal bars: y = names, x = importances
    assert bars == pytest.approx(d["importances"])
    fan = F.importance_data(study, evaluator="fanova")
    assert fan["evaluator"] == "fANOVA" and list(fan["importances"])[0] == "x"
    dur = F.importance_data(study, "duration")
    assert dur["target"] == "duration (s)" and set(dur["importances"]) == {"x", "y"}
    with pytest.raises(ReportError, match="pedanova, fanova"):
        F.importance_data(study, evaluator="shap")


def test_parallel_data_thins_to_the_best_trials_and_says_so() -> None:
    study = _quadratic(30)
    d = F.parallel_data(study, max_lines=10)
    best10 = sorted(sorted(study.trials, key=lambda t: t.value)[:10], key=lambda t: t.number)
    assert d["thinned"] and d["total"] == 30 and d["trials"] == [t.number for t in best10]
    fig = F.parallel_figure(study, d)
    lines = [tr for tr in fig.data if tr.mode == "lines" and tr.x is not None and len(tr.x) > 1]
    assert len(lines) == 10
    p = _panels(study, max_lines=10)["parallel"]
    assert p.note == "Showing the best 10 of 30 complete trials (thinned so the page stays responsive)."
    assert not F.parallel_data(study)["thinned"]


def test_curves_data_marks_pruned_trials_cut_short() -> None:
    study = _with_pruned()
    d = F.curves_data(study)
    assert d["pruned"] == [0, 4, 8, 12] and d["max_step"] == 5 and not d["thinned"]
    by_number = {c["number"]: c for c in d["curves"]}
    assert by_number[4]["steps"] == [0, 1] and by_number[5]["steps"] == list(range(6))
    assert by_number[5]["extras"]["train_loss"][0] == [0, pytest.approx(by_number[5]["values"][0] / 2)]
    fig = F.curves_figure(study, d)
    red = [tr for tr in fig.data if tr.line.color == "#d62728"]
    assert sorted(tr.name for tr in red) == ["Trial0", "Trial12", "Trial4", "Trial8"]
    assert all(tr.marker.symbol[-1] == "x" and len(tr.x) == 2 for tr in red)
    thin = F.curves_data(study, max_curves=6)
    assert thin["thinned"] and len(thin["curves"]) == 6 and thin["pruned"] == [4, 8, 12]  # latest 3 pruned + best 3
    ex = F.extras_data(study)
    assert ex["names"] == ["train_loss"] and len(ex["curves"]) == 16


def test_contour_uses_the_two_most_important_parameters_and_caps_its_input() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: 5 * t.suggest_float("b", 0, 1) + t.suggest_float("a", 0, 1) + 0 * t.suggest_float("c", 0, 1),
                   n_trials=30)
    d = F.contour_data(study, {"c": 0.6, "b": 0.3, "a": 0.1})
    assert d["params"] == ["c", "b"] and d["by_importance"] and not d["thinned"]
    capped = F.contour_data(study, None, max_trials=10)
    ranked = sorted(study.trials, key=lambda t: t.value)
    assert capped["params"] == ["a", "b"] and capped["thinned"] and len(capped["trials"]) == 10
    assert {t.number for t in ranked[:5]} <= set(capped["trials"])
    fig = F.contour_figure(study, capped)
    assert len(fig.data[1].x) == 10  # the scatter of trials drawn on the contour


def test_pareto_data_is_the_front() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=15)
    d = F.pareto_data(study)
    assert d["front"] == sorted(t.number for t in study.best_trials)
    assert d["directions"] == ["minimize", "maximize"] and d["names"] == ["value_0", "value_1"]


# ----------------------------------------------------------------------------------- edge-case studies


def test_empty_study_gives_reasons_not_figures(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="empty")
    panels = _panels(study)
    assert all(p.figure is None and p.reason == "The study has no trials yet." for p in panels.values())
    text = write_report(study, tmp_path / "e.html").read_text()
    assert "no complete trial yet" in text and _page_json(text, "automl-trials")["rows"] == []
    assert _page_json(text, "automl-figures")["figures"] == []


def test_one_trial() -> None:
    study = _quadratic(1)
    panels = _panels(study)
    assert panels["importance-0"].reason.startswith("Needs at least 2 complete trials")
    assert panels["contour"].reason == "A contour needs two parameters that vary; this study has 0 (none)."
    assert all(panels[k].figure is not None for k in ("parallel", "history-0", "slice", "edf-0", "timeline"))
    assert panels["parallel"].note == "All 1 complete trial."


def test_all_trials_failed() -> None:
    study = optuna.create_study()

    def fail(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise ValueError("boom")

    study.optimize(fail, n_trials=3, catch=(ValueError,))
    panels = _panels(study)
    for key in ("importance-0", "parallel", "history-0", "slice", "contour", "edf-0"):
        assert panels[key].figure is None and "the study has 0 (3 fail)" in panels[key].reason, key
    assert panels["timeline"].figure is not None
    cols, rows = trial_rows(study)
    assert [r[1] for r in rows] == ["FAIL"] * 3 and all(r[2] is None for r in rows)
    assert header_facts(study)["best"] == []


def test_only_categorical_parameters() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: {"a": 1, "b": 2}[t.suggest_categorical("c", ["a", "b"])]
                   + {"u": 0, "v": 0.1}[t.suggest_categorical("d", ["u", "v"])], n_trials=12)
    panels = _panels(study)
    assert all(panels[k].figure is not None for k in FIGURE_KEYS if k != "curves"), {k: p.reason for k, p in panels.items()}
    assert list(panels["importance-0"].data["importances"])[0] == "c"
    assert panels["contour"].data["params"] == ["c", "d"]


def test_conditional_parameters_blank_when_inactive() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(t: optuna.Trial) -> float:
        kind = t.suggest_categorical("kind", ["p", "q"])
        return t.suggest_float("p", 0, 1) if kind == "p" else t.suggest_float("q", 0, 1) + 1

    study.optimize(objective, n_trials=14)
    cols, rows = trial_rows(study)
    ip, iq = cols.index("p"), cols.index("q")
    for t, r in zip(study.trials, rows, strict=True):
        assert (r[ip] is None) == (t.params["kind"] == "q") and (r[iq] is None) == (t.params["kind"] == "p")
    panels = _panels(study)
    assert panels["contour"].reason.startswith("No two parameters vary together")
    assert panels["importance-0"].figure is not None and panels["parallel"].figure is not None
    fan = _panels(study, importance="fanova")["importance-0"]
    assert fan.figure is not None and list(fan.data["importances"]) == ["kind"]  # the only always-present param


def test_multi_objective_report(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="mo", directions=["minimize", "maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr("automl:metric", ["rmse", "r2"])
    study.set_user_attr("automl:test_scores", {str(study.trials[0].number) if study.trials else "0": {"rmse": 1.5}})
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) + t.suggest_float("z", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=15)
    panels = _panels(study)
    assert {"pareto", "importance-0", "importance-1", "history-0", "history-1", "edf-0", "edf-1"} <= set(panels)
    assert panels["pareto"].figure is not None and panels["importance-1"].data["target"] == "r2"
    assert all(p.figure is not None for k, p in panels.items() if k not in ("curves", "extras"))
    text = write_report(study, tmp_path / "mo.html").read_text()
    table = _page_json(text, "automl-trials")
    assert table["columns"][:4] == ["number", "state", "rmse", "r2"] and table["columns"][-1] == "pareto"
    front = {t.number for t in study.best_trials}
    assert {r[0] for r in table["rows"] if r[-1] == "yes"} == front
    assert "Pareto front" in text and f"{len(front)} trials" in text


# ------------------------------------------------------------------------------------------ the page


def test_page_is_self_contained_and_study_text_is_data(tmp_path: Path) -> None:
    from plotly.offline import get_plotlyjs

    study = optuna.create_study(study_name=XSS)
    study.set_user_attr("automl:model", XSS)
    for i in range(6):
        study.add_trial(create_trial(
            value=float(i), params={XSS: XSS if i % 2 else "a", "lr": 0.1 * (i + 1)},
            distributions={XSS: CategoricalDistribution(["a", XSS]), "lr": FloatDistribution(0.01, 1)},
            user_attrs={"note": XSS, "nan": float("nan"), "nested": {"k": [1, XSS]}},
        ))
    text = write_report(study, tmp_path / "x.html").read_text()
    assert packed_block(text, "automl-plotly") == get_plotlyjs()  # plotly.js inline (packed), exactly once
    assert "<script>alert(1)" not in text and "<script src" not in text and "<link" not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the header shows it as text
    # config, trials JSON, packed plotly.js and figures, the unpacker, the page scripts
    assert len(re.findall(r"<script\b", text)) == 7
    assert re.findall(r"https?://|//cdn|@import|url\(", text) == []  # nothing names a URL (plotly.js is packed)
    assert XSS not in packed_block(text, "automl-figures")  # figure text is JSON-escaped before packing
    plain = write_report(study, tmp_path / "plain.html", packed=False).read_text()
    assert plain.count(get_plotlyjs()) == 1 and _page_json(plain, "automl-figures") == _page_json(text, "automl-figures")
    table = _page_json(text, "automl-trials")  # the JSON escaping round-trips
    cols, rows = trial_rows(study)
    assert table["columns"] == cols and table["columns"][4] == XSS and "attr:note" in cols
    assert [r[0] for r in table["rows"]] == list(range(6))
    assert table["rows"][1][cols.index("attr:note")] == XSS and table["rows"][1][cols.index("attr:nan")] == "nan"
    figs = _page_json(text, "automl-figures")
    # create_trial gives every trial the same (zero) duration, and no trial reported intermediate values.
    assert [f["id"] for f in figs["figures"]] == [f"fig-{k}" for k in FIGURE_KEYS if k not in ("curves", "importance-duration")]
    assert "Every complete trial has the same duration (s), so no parameter explains it." in text


def test_storage_password_is_masked(tmp_path: Path) -> None:
    study = _quadratic(3)
    text = write_report(study, tmp_path / "m.html", storage="postgresql+psycopg://alice:s3cr3t-pw@db.example/automl").read_text()
    assert "s3cr3t-pw" not in text and "postgresql+psycopg://alice:***@db.example/automl" in text


def test_header_facts_from_automl_attrs(tmp_path: Path) -> None:
    study = _quadratic(5, name="facts")
    best = study.best_trial
    for k, v in {"automl:model": "lightgbm", "automl:metric": ["rmse"], "automl:task": "regression",
                 "automl:data": "data/d.csv", "automl:data_fingerprint": "abc123",
                 "automl:test_scores": {str(best.number): {"rmse": 0.5}}, "automl:versions": {"automl": "0.0.9"}}.items():
        study.set_user_attr(k, v)
    f = header_facts(study)
    assert f["metrics"] == ["rmse"] and f["counts"] == {"complete": 5} and f["model"] == "lightgbm"
    assert f["best"][0]["number"] == best.number and f["best"][0]["params"] == best.params
    assert f["versions_report"]["optuna"] == optuna.__version__ and f["versions_study"] == {"automl": "0.0.9"}
    assert f["time"]["trial_seconds_total"] == pytest.approx(sum(t.duration.total_seconds() for t in study.trials))
    text = write_report(study, tmp_path / "f.html").read_text()
    for needle in ("rmse (minimize)", "lightgbm (regression)", "data/d.csv (fingerprint abc123)", "rmse=0.5",
                   f"(trial {best.number})", "5: 5 complete", "run with"):
        assert needle in text, needle


def test_plain_optuna_study_falls_back(tmp_path: Path) -> None:
    f = header_facts(_with_pruned())
    assert f["metrics"] == ["value"] and f["model"] is None and f["test_scores"] == {}
    assert f["counts"] == {"complete": 12, "pruned": 4}


def test_cli_report_from_any_storage(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from automl.cli import app

    url = f"sqlite:///{tmp_path / 'any.db'}"
    study = optuna.create_study(study_name="plain", storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=8)
    out = tmp_path / "plain.html"
    res = CliRunner().invoke(app, ["report", "--storage", url, "--study", "plain", "-o", str(out), "--importance", "fanova"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "fANOVA importance for value" in packed_block(text, "automl-figures") and f"sqlite:///{tmp_path / 'any.db'}" in text
    bad = CliRunner().invoke(app, ["report", "--storage", url, "--study", "plain", "-o", str(out), "--importance", "x"])
    assert bad.exit_code == 2 and "choose one of: pedanova, fanova" in bad.output


@pytest.mark.slow
def test_5000_trials_are_thinned_and_the_page_says_so(tmp_path: Path) -> None:
    dists = {"x": FloatDistribution(0, 1), "k": CategoricalDistribution(["a", "b"]), "z": FloatDistribution(0, 1)}
    trials = []
    for i in range(5000):
        x, k = (i * 0.618) % 1, "ab"[i % 2]
        params = {"x": x, "k": k, **({"z": (i * 0.377) % 1} if k == "b" else {})}
        pruned = i % 5 == 0
        curve = {s: x + 1 / (s + 1) for s in range(2 if pruned else 8)}
        trials.append(create_trial(state=TrialState.PRUNED if pruned else TrialState.COMPLETE,
                                   value=None if pruned else x, params=params,
                                   distributions={n: dists[n] for n in params}, intermediate_values=curve))
    study = optuna.create_study(study_name="big")
    study.add_trials(trials)
    text = write_report(study, tmp_path / "big.html").read_text()
    assert len(_page_json(text, "automl-trials")["rows"]) == 5000
    assert "Showing the best 300 of 4000 complete trials (thinned so the page stays responsive)." in text
    assert "Showing 200 of 5000 curves (best complete and latest pruned)." in text
    assert "drawn from 100 of the 2000 complete trials that set both" in text
    assert "The most recent 1000 of 5000 trials." in text
