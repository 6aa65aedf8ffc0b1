"""The benchmark suite (benchmarks/suite): its numbers on a hand-made case, and the quick mode end to end."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.suite import analysis, output  # noqa: E402


def _run(contender: str, task: str, seed: int, values: list[float | None], test: float = 1.0) -> dict:
    evals = [{"t": float(i + 1), "value": v, "state": "complete" if v is not None else "pruned"} for i, v in enumerate(values)]
    return {"contender": contender, "task": task, "seed": seed, "evals": evals, "test": test, "seconds": len(values),
            "extra": {}, "skipped": None}


def test_analysis_regret_rank_target_and_curves():
    runs = [
        _run("a", "t", 0, [5.0, 3.0, 1.0]),  # best of the task
        _run("b", "t", 0, [4.0, None, 4.0]),  # a pruned trial in the middle; worst final
        _run("c", "t", 0, [2.0, 2.0, 2.0]),
    ]
    a = analysis.analyze(runs, trials=3, time_points=3)
    t = a["tasks"]["t"]
    assert (t["best"], t["worst"], t["target"], t["t_equal"]) == (1.0, 4.0, 2.0, 3.0)
    rows = t["contenders"]
    assert [rows[c]["regret_mean"] for c in "abc"] == [0.0, 1.0, pytest.approx(1 / 3)]
    assert rows["a"]["curve_trials"] == [pytest.approx(4 / 3), pytest.approx(2 / 3), 0.0]
    assert rows["b"]["curve_trials"] == [1.0, 1.0, 1.0]  # the pruned trial keeps the best so far
    assert rows["a"]["curve_time"] == [pytest.approx(4 / 3), pytest.approx(2 / 3), 0.0]  # grid 1, 2, 3 s
    # time to target (2.0): a reaches it at its third eval (t=3), c at once (t=1), b never
    assert [rows[c]["time_to_target_median"] for c in "abc"] == [3.0, None, 1.0]
    s = a["summary"]
    assert [s[c]["rank_mean"] for c in "abc"] == [1.0, 3.0, 2.0]
    assert s["a"]["beats_random"] is None and s["a"]["beats_optuna_tpe"] is None


def test_analysis_ties_share_ranks_and_win_rates():
    runs = [_run("random", "t", s, [2.0]) for s in (0, 1)] + [_run("automl", "t", 0, [1.0]), _run("automl", "t", 1, [2.0])]
    a = analysis.analyze(runs, trials=1)
    assert a["summary"]["automl"]["beats_random"] == 0.5  # seed 0 lower, seed 1 a tie (not a win)
    assert a["summary"]["automl"]["rank_mean"] == pytest.approx((1 + 1.5) / 2)
    assert a["summary"]["random"]["rank_mean"] == pytest.approx((2 + 1.5) / 2)


@pytest.mark.slow
def test_quick_mode_end_to_end(tmp_path):
    """``python -m benchmarks.suite --quick`` runs every installed contender on the quick tasks and writes the
    table, the JSON and the offline plot page (about 1.5 minutes on 2 busy cores)."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite", "--quick", "--out", str(out), "--work", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "suite-quick.json").read_text())
    meta, a = result["meta"], result["analysis"]
    assert meta["budget"] == {"trials": 20, "timeout": 60.0, "rounds": 200, "early_stopping": 20}
    assert meta["seeds"] == [0, 1]
    assert list(result["tasks"]) == ["diabetes", "breast_cancer", "wine"]
    assert result["tasks"]["wine"] == {"task": "multiclass", "metric": "logloss", "source": "studies/data/wine.csv (178 rows)",
                                       "rows": [106, 36, 36], "features": 13}
    expected = ["automl", "optuna-tpe", "random", "optuna-gp", "optuna-cmaes", "lgbm-tuner"]
    expected += [c for c, mod in (("hyperopt-tpe", "hyperopt"), ("flaml-cfo", "flaml")) if importlib.util.find_spec(mod)]
    assert sorted(a["contenders"]) == sorted(expected)
    assert len(result["runs"]) == 3 * 2 * len(expected)
    for r in result["runs"]:
        # the trial budget is exact for every tuner (LightGBMTuner included, stopped by our callback)
        assert len(r["evals"]) == 20, (r["contender"], len(r["evals"]))
        assert r["test"] is not None and math.isfinite(r["test"]) and r["test"] >= 0
        assert all(e["t"] >= 0 for e in r["evals"])
    for name, t in a["tasks"].items():
        assert t["best"] <= t["target"] <= t["worst"]
        for c, row in t["contenders"].items():
            assert 0.0 <= row["regret_mean"] <= 1.0, (name, c)
            assert len(row["curve_trials"]) == 20
            assert row["curve_trials"][-1] == pytest.approx(row["regret_mean"], abs=1e-6)
    # ranks within each (task, seed) are 1..n, so their mean over contenders is (n + 1) / 2
    n = len(expected)
    assert sum(s["rank_mean"] for s in a["summary"].values()) / n == pytest.approx((n + 1) / 2)
    pruning = [p for t in a["tasks"].values() for p in t["contenders"]["automl"]["pruning"]]
    assert len(pruning) == 6 and all(p["trials"] == 20 and 0 <= p["pruned"] < 20 for p in pruning)

    md = (out / "suite-quick.md").read_text()
    assert "python -m benchmarks.suite --quick" in md and "lightgbm 4." in md
    assert "## automl against issue 9's goals" in md
    for c in expected:
        assert f"| {c} |" in md
    page = (out / "suite-quick.html").read_text()
    assert page.count("Plotly.newPlot") == 3 * 2 + 2 + 3  # two anytime curves per task, regret, rank, test per task
    assert 'src="http' not in page  # plotly.js inline: opens offline


def _piece(tmp_path: Path, name: str, task: str, budget: dict) -> Path:
    runs = [_run(c, task, s, vals) for s in (0, 1) for c, vals in
            (("automl", [3.0, 1.0]), ("random", [4.0, 2.0]), ("optuna-tpe", [2.0, 2.0]), ("lgbm-tuner", [5.0, 4.0]))]
    meta = {"mode": name, "command": f"python -m benchmarks.suite --tasks {task}", "date": "2026-11-25 18:00 UTC",
            "wall_seconds": 10.0, "machine": "m", "versions": {"optuna": "5"}, "budget": budget, "seeds": [0, 1],
            "contenders": {c: c for c in ("automl", "random", "optuna-tpe", "lgbm-tuner")}}
    result = {"meta": meta, "tasks": {task: {"task": "regression", "metric": "rmse", "source": "s", "rows": [1, 1, 1],
                                             "features": 1}}, "notes": [], "runs": runs, "analysis": {}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(result))
    return path


def test_merge_combines_pieces_and_checks_the_goals(tmp_path):
    from benchmarks.suite import run

    budget = {"trials": 2, "timeout": 60.0, "rounds": 10, "early_stopping": 5}
    a, b = _piece(tmp_path, "a", "t1", budget), _piece(tmp_path, "b", "t2", budget)
    assert run.main(["--merge", str(a), str(b), "--name", "both", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "suite-both.json").read_text())
    assert list(result["tasks"]) == ["t1", "t2"] and len(result["runs"]) == 16
    assert [p["command"] for p in result["meta"]["pieces"]] == [
        "python -m benchmarks.suite --tasks t1", "python -m benchmarks.suite --tasks t2"]
    g = result["analysis"]["goals"]
    # automl's final 1.0 is every task-seed's best: regret 0 <= optuna-tpe's, beats random 4/4, ahead of the tuner
    assert g["regret"] == 0.0 and g["regret_le_tpe"] and g["beats_random"] == 1.0
    assert g["tasks_ahead"] == 2 and g["tasks_ahead_ok"]
    md = (tmp_path / "suite-both.md").read_text()
    assert "on 2 of 2 tasks (goal ≥ 2): met" in md
    # --rename relabels a contender everywhere (an ablation that became the default)
    assert run.main(["--merge", str(a), str(b), "--name", "renamed", "--rename", "automl=automl-old",
                     "--out", str(tmp_path)]) == 0
    renamed = json.loads((tmp_path / "suite-renamed.json").read_text())
    assert "automl-old" in renamed["analysis"]["summary"] and "automl" not in renamed["analysis"]["summary"]
    assert renamed["meta"]["contenders"]["automl-old"] == "automl [was automl]"
    # pieces with other budgets, or the same runs twice, are refused
    c = _piece(tmp_path, "c", "t3", {**budget, "trials": 3})
    assert run.main(["--merge", str(a), str(c), "--out", str(tmp_path)]) == 2
    assert run.main(["--merge", str(a), str(a), "--out", str(tmp_path)]) == 2
    assert run.main(["--merge", str(a), str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    assert run.main(["--merge", str(a), "--rename", "automl", "--out", str(tmp_path)]) == 2


# -- wall-clock mode (issue 14) ----------------------------------------------------------------------------------
def _wrun(contender: str, task: str, seed: int, budget: float | None, test: float, seconds: float = 1.0,
          valid: list[float] | None = None) -> dict:
    evals = [{"t": float(i + 1), "value": v, "state": "complete"} for i, v in enumerate(valid or [])]
    return {"contender": contender, "task": task, "seed": seed, "evals": evals, "test": test, "seconds": seconds,
            "extra": {}, "skipped": None, "budget": budget}


def _wall_runs(tasks: tuple[str, ...] = ("diabetes", "t2"), seeds: tuple[int, ...] = (0, 1)) -> list[dict]:
    runs = []
    for task in tasks:
        for s in seeds:
            runs.append(_wrun("lgbm-default", task, s, None, 5.0))  # one fit: counts at 15 and at 60
            for b in (15.0, 60.0):
                runs.append(_wrun("automl", task, s, b, {15.0: 2.0, 60.0: 1.0}[b] if task == "diabetes" else 3.0,
                                  seconds=b + 4, valid=[3.0, 2.5, 2.7]))
                runs.append(_wrun("lgbm-tuner", task, s, b, 2.5))
                runs.append(_wrun("flaml", task, s, b, 4.0 if task == "diabetes" else 2.0))
    return runs


def test_wallclock_analysis_ranks_scores_and_goals():
    a = analysis.analyze_wallclock(_wall_runs(), [15.0, 60.0])
    assert a["budgets"] == ["15", "60"] and a["contenders"] == ["lgbm-default", "automl", "lgbm-tuner", "flaml"]
    # diabetes: automl 2.0 / 1.0 < tuner 2.5 < flaml 4 < default 5; t2: flaml 2 < tuner 2.5 < automl 3 < default 5
    assert a["summary"]["15"]["automl"]["rank_mean"] == pytest.approx((1 + 3) / 2)
    assert a["summary"]["60"]["lgbm-default"] == {"rank_mean": 4.0, "task_seeds": 4}  # the one fit counts at both
    assert a["summary"]["15"]["flaml"]["rank_mean"] == pytest.approx((3 + 1) / 2)
    d = a["tasks"]["diabetes"]["contenders"]
    assert d["automl"]["15"]["test_mean"] == 2.0 and d["automl"]["60"]["test_mean"] == 1.0
    assert d["lgbm-default"]["60"]["tests"] == [5.0, 5.0]
    assert d["automl"]["60"]["curves"][0] == [[1.0, 3.0], [2.0, 2.5], [3.0, 2.5]]  # best so far over time
    assert a["automl_seconds_summary"]["60"] == {"runs": 4, "mean": 64.0, "max": 64.0, "min": 64.0, "over_mean": 4.0}
    g = a["goals"]
    # (a) automl's rank 2.0 ties flaml's 2.0 at 15 s and at 60 s: not strictly best
    assert g["rank_best"]["15"]["rank"] == 2.0 and g["rank_best"]["15"]["ok"] is False
    # (b) no worse than both tuners at 60 s on diabetes only: 1 of 2, need ceil(2 * 7 / 9) = 2
    assert (g["vs_tuners"]["tasks_ok"], g["vs_tuners"]["tasks_needed"], g["vs_tuners"]["ok"]) == (1, 2, False)
    # (c) worse at 60 s than at 15 s on no task
    assert g["longer_not_worse"]["tasks_worse"] == 0 and g["longer_not_worse"]["ok"] is True
    assert g["startup"] is None  # no 10 s budget


def test_wallclock_goal_startup_and_longer_worse():
    runs = [_wrun("automl", t, 0, b, {15.0: 1.0, 60.0: 2.0, 10.0: 1.5}[b], seconds={10.0: 11.5, 15.0: 20, 60.0: 70}[b])
            for t in ("diabetes", "wine") for b in (10.0, 15.0, 60.0)]
    runs.append(_wrun("automl", "diamonds", 0, 10.0, 1.0, seconds=30.0))  # not a small task: (d) ignores it
    g = analysis.analyze_wallclock(runs, [10.0, 15.0, 60.0])["goals"]
    assert g["startup"] == {"runs": 2, "max_seconds": 11.5, "limit": 12.0, "ok": True}
    assert g["longer_not_worse"]["tasks_worse"] == 2 and g["longer_not_worse"]["ok"] is False
    assert g["rank_best"]["60"]["ok"] is True  # alone: nobody ranks better


def _wall_piece(tmp_path: Path, name: str, runs: list[dict], budgets: list[float]) -> Path:
    meta = {"mode": name, "command": f"python -m benchmarks.suite --wallclock {name}", "date": "2026-12-01 10:00 UTC",
            "wall_seconds": 5.0, "machine": "m", "versions": {"optuna": "5"}, "seeds": [0, 1],
            "budget": {"wallclock": budgets, "rounds": 1000, "early_stopping": 50},
            "contenders": {c: c for c in ("automl", "lgbm-tuner", "flaml", "lgbm-default")}}
    tasks = {t: {"task": "regression", "metric": "rmse", "source": "s", "rows": [8, 2], "features": 1}
             for t in {r["task"] for r in runs}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"meta": meta, "tasks": tasks, "notes": [], "runs": runs, "analysis": {}}))
    return path


def test_merge_combines_wallclock_pieces(tmp_path):
    from benchmarks.suite import run

    a = _wall_piece(tmp_path, "a", _wall_runs(("diabetes",)), [15.0, 60.0])
    b = _wall_piece(tmp_path, "b", _wall_runs(("t2",)), [15.0, 60.0])
    assert run.main(["--merge", str(a), str(b), "--name", "wall", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "suite-wall.json").read_text())
    assert result["analysis"] == analysis.analyze_wallclock(_wall_runs(), [15.0, 60.0])
    md = (tmp_path / "suite-wall.md").read_text()
    assert "(wall-clock mode)" in md and "| automl | 2 | 2 | 4 |" in md
    assert "on 1 of 2 tasks (goal ≥ 2): **not met**" in md
    # other budgets, or one run (task, contender, seed, budget) twice, are refused; trial-mode pieces too
    c = _wall_piece(tmp_path, "c", _wall_runs(("t3",)), [15.0])
    assert run.main(["--merge", str(a), str(c), "--out", str(tmp_path)]) == 2
    assert run.main(["--merge", str(a), str(a), "--out", str(tmp_path)]) == 2
    trial = _piece(tmp_path, "trial", "t4", {"trials": 2, "timeout": 60.0, "rounds": 10, "early_stopping": 5})
    assert run.main(["--merge", str(a), str(trial), "--out", str(tmp_path)]) == 2
    # --drop leaves a contender's runs of one piece out: the same piece twice, automl from the second only
    assert run.main(["--merge", str(a), str(a), "--drop", f"automl={a}", "--name", "dropped", "--out", str(tmp_path)]) == 2
    a2 = _wall_piece(tmp_path, "a2", [r for r in _wall_runs(("diabetes",)) if r["contender"] == "automl"], [15.0, 60.0])
    assert run.main(["--merge", str(a), str(a2), "--drop", f"automl={a}", "--name", "dropped", "--out", str(tmp_path)]) == 0
    dropped = json.loads((tmp_path / "suite-dropped.json").read_text())
    assert len(dropped["runs"]) == len(_wall_runs(("diabetes",)))
    assert run.main(["--merge", str(a), "--drop", "automl", "--out", str(tmp_path)]) == 2


def test_wallclock_bad_budgets_exit_2(capsys):
    from benchmarks.suite import run

    for bad in ("15,abc", "0", "15,-1"):
        with pytest.raises(SystemExit) as e:
            run.main(["--wallclock", bad])
        assert e.value.code == 2
    assert run.main(["--wallclock", "5", "--contenders", "automl,flaml-cfo"]) == 2
    assert "unknown task or wall-clock contender: flaml-cfo" in capsys.readouterr().err


@pytest.mark.slow
def test_wallclock_quick_end_to_end(tmp_path):
    """``--wallclock 5 --quick --seeds 1`` on two small tasks: every installed contender hands over a model whose
    test score is finite, at every budget; automl's end-to-end seconds (run --export, then predict) are recorded.
    (5 s: automl's timeout counts from its process start, and at 2-4 s a loaded machine left it no finished trial.)"""
    from benchmarks.suite import contenders as cmod

    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite", "--wallclock", "5", "--quick", "--seeds", "1",
         "--tasks", "diabetes,wine", "--out", str(out), "--work", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=150,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "suite-wallclock-quick.json").read_text())
    meta, a = result["meta"], result["analysis"]
    assert meta["budget"] == {"wallclock": [5.0], "rounds": 200, "early_stopping": 20}
    assert result["tasks"]["wine"] == {"task": "multiclass", "metric": "logloss", "source": "studies/data/wine.csv (178 rows)",
                                       "rows": [142, 36], "features": 13}
    expected = [c for c, w in cmod.WALLCLOCK.items() if cmod.wall_available(w) is None and not w.optional]
    assert {"automl", "lgbm-tuner", "lgbm-tuner-cv", "lgbm-default"} <= set(expected)
    assert sorted(a["contenders"]) == sorted(expected)
    assert len(result["runs"]) == 2 * len(expected) and not [r for r in result["runs"] if r["skipped"]]
    for r in result["runs"]:
        assert r["test"] is not None and math.isfinite(r["test"]) and r["test"] >= 0, r["contender"]
        assert r["budget"] == (None if cmod.WALLCLOCK[r["contender"]].one_fit else 5.0)
        if r["contender"] in ("automl", "lgbm-tuner", "lgbm-tuner-cv", "flaml"):
            assert r["evals"] and all(e["t"] >= 0 for e in r["evals"]), r["contender"]
    for task in ("diabetes", "wine"):
        assert set(a["tasks"][task]["contenders"]) == set(expected)
        assert all(list(row) == ["5"] for row in a["tasks"][task]["contenders"].values())
    n = len(expected)
    assert sum(s["rank_mean"] for s in a["summary"]["5"].values()) / n == pytest.approx((n + 1) / 2)
    e2e = a["automl_seconds"]
    assert [(x["task"], x["budget"]) for x in e2e] == [("diabetes", 5.0), ("wine", 5.0)]
    for x in e2e:  # start-up and refit included: more than the budget, and the two processes add up
        assert x["seconds"] > 5.0 and x["seconds"] == pytest.approx(sum(x["steps"].values()), abs=0.01)
        assert list(x["steps"]) == ["run", "predict"]
    md = (out / "suite-wallclock-quick.md").read_text()
    assert "## Mean test-score rank per budget" in md and "## automl: end-to-end seconds against its budget" in md
    page = (out / "suite-wallclock-quick.html").read_text()
    assert page.count("Plotly.newPlot") == 1 + 2 * 2 and 'src="http' not in page


def test_suite_seed_list_runs_exactly_the_named_seeds():
    from benchmarks.suite import run

    args = run.parse(["--wallclock", "15", "--seed-list", "4,1,2"])
    assert args.seed_list == [1, 2, 4]
    assert run.parse(["--quick"]).seed_list is None
    with pytest.raises(SystemExit):
        run.parse(["--quick", "--seed-list", "one"])


def test_selection_lab_rules_and_summary():
    """benchmarks/selection.py: each rule's weights sum to 1 over pool indexes, and the summary counts a rule's
    task-seeds that got worse from the first cutoff to the last, for either metric direction."""
    import numpy as np

    from benchmarks import selection

    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    preds = [y + rng.normal(scale=s, size=200) for s in (0.3, 0.35, 0.4, 0.5, 0.6, 0.7)]

    def rmse(t, p):
        return float(np.sqrt(np.mean((t - p) ** 2)))

    for rule in ("greedy", "greedy-all", "bagged", "single", "top5"):
        w = selection.rule_weights(rule, preds, y, rmse, False)
        assert abs(sum(w.values()) - 1) < 1e-9 and set(w) <= set(range(len(preds)))
    assert selection.rule_weights("single", preds, y, rmse, False) == {0: 1.0}
    assert len(selection.rule_weights("bagged", preds, y, rmse, False)) >= 2  # noise of equal size: a mix

    def row(greater, early, late):
        cell = lambda v: {rule: {"test": v, "valid": v, "members": 1} for rule in selection.RULES}  # noqa: E731
        return {"task": "t", "seed": 0, "metric": "m", "greater_is_better": greater, "rows": 9, "trials": 3,
                "cutoffs": {"15": cell(early), "60": cell(late)}}

    s = selection.summarize([row(False, 1.0, 1.2), row(True, 0.9, 0.8), row(False, 1.0, 0.9)])
    assert s["worse_later"]["greedy"] == {"worse": 2, "of": 3, "worse_by_more_than_1pct": 2,
                                          "geo_ratio": pytest.approx(((1.2) * (0.9 / 0.8) * 0.9) ** (1 / 3), abs=1e-4)}
    assert s["vs_greedy"]["60"]["top5"]["geo_ratio"] == 1.0


def test_wallclock_issue17_goals_use_the_seeds_all_three_ran():
    """goals_auto: per budget, automl-auto against flaml-all (better on >= 6/9 of the tasks) and AutoGluon (mean
    ratio <= 1.01), over the seeds all three contenders ran; a budget without all three has no entry."""
    def run(c, task, seed, test, budget=60.0, ens=False, single=None):
        return {"contender": c, "task": task, "seed": seed, "test": test, "budget": budget, "seconds": budget + 1,
                "evals": [], "extra": {"handed_over": [{"trial": 1, "weight": 1.0}] if ens else "best trial",
                                       **({"single_test": single} if single is not None else {})}}

    runs = [run("automl-auto", "t1", 0, 1.0, ens=True, single=1.25), run("automl-auto", "t1", 1, 3.0),
            run("flaml-all", "t1", 0, 2.0), run("flaml-all", "t1", 1, 2.0),
            run("autogluon", "t1", 0, 1.0),  # seed 1 missing: t1 counts seed 0 only
            run("automl-auto", "t2", 0, 2.2), run("flaml-all", "t2", 0, 2.0), run("autogluon", "t2", 0, 2.0),
            run("automl-auto", "t1", 0, 9.0, budget=300.0)]
    g = analysis.goals_auto(runs, [60.0, 300.0])
    assert set(g) == {"60"}  # 300 s: no flaml-all or autogluon run
    a = g["60"]
    assert a["tasks"]["t1"]["seeds"] == [0] and a["tasks"]["t1"]["automl-auto"] == 1.0
    assert a["better_than_peer"] == 1 and a["tasks_needed"] == 2 and a["ok_peer"] is False
    assert a["ratio_mean"] == pytest.approx((1.0 + 1.1) / 2) and a["ok_ref"] is False
    assert (a["ensembles"], a["runs"]) == (1, 2)
    assert a["ratio_median"] == pytest.approx((1.0 + 1.1) / 2)
    # the ensemble against its own best single trial on test: 1.0 < 1.25
    assert (a["single_beaten"], a["single_measured"]) == (1, 1) and a["single_ratio_geo"] == pytest.approx(0.8)
    text = "\n".join(output._auto_goals_lines(g))
    assert "lower test loss than its own study's best single trial (refit and scored the same way) in 1 of the 1" in text


def _kept_wine_study(tmp_path, trials, export=False):
    """A finished ``model: auto`` study laid out as the suite's automl-auto contender leaves it in its temporary
    folder: (that folder, the study's folder, the task-seed's split)."""
    import yaml

    from benchmarks.suite import contenders as cmod
    from benchmarks.suite import tasks as tmod

    task, seed, kept = tmod.TASKS["wine"], 0, tmp_path / "automl-wallclock-x"
    split = tmod.dev_test_split(task, tmod.materialize(task, tmp_path / "data"), seed, kept / "wine-0")
    study = kept / "wine-0" / "automl-auto-300"
    study.mkdir(parents=True)
    spec = {**cmod._automl_study(split, cmod.WallBudget(seconds=60, rounds=50, early_stopping=10), seed),
            **cmod.auto_overrides(), "trials": trials}
    (study / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    cmd = [sys.executable, "-m", "automl", "run", str(study / "study.yaml")] + (["--export", str(study / "export")] if export else [])
    proc = subprocess.run(cmd, cwd=study, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return kept, study, split


@pytest.mark.slow
def test_fill_single_scores_the_best_single_trial_of_a_kept_study(tmp_path):
    """``--fill-single``: a piece's ensemble run gets the test score of its study's best single trial (export
    --no-ensemble + predict on the task-seed's test rows), read from the run's kept folder; the piece is rewritten
    and a run that handed over its best trial is left as it is."""
    from benchmarks.suite import run

    kept, study, _split = _kept_wine_study(tmp_path, trials=4)
    ens = {"contender": "automl-auto", "task": "wine", "seed": 0, "budget": 300.0, "test": 0.05, "seconds": 301.0,
           "evals": [], "skipped": "", "extra": {"handed_over": [{"trial": 0, "weight": 1.0}]}}
    one = {**ens, "contender": "automl", "extra": {"handed_over": "best trial"}}
    piece = tmp_path / "piece.json"
    piece.write_text(json.dumps({"meta": {"command": "x"}, "runs": [ens, one]}))
    assert run.main(["--fill-single", str(piece), "--kept", str(kept), "--work", str(tmp_path / "data")]) == 0
    done = json.loads(piece.read_text())
    single = done["runs"][0]["extra"]["single_test"]
    assert math.isfinite(single) and 0 <= single < math.log(3)  # better than the uniform guess on 3 classes
    assert "single_test" not in done["runs"][1]["extra"]  # it handed over its best trial: nothing to compare
    assert "--fill-single" in done["meta"]["single_filled"] and done["meta"]["single_filled"].endswith(": 1 runs")
    preds = json.loads((study / "export-single" / "predict.json").read_text())
    assert not preds.get("ensemble")  # the single trial, not the study's ensemble
    assert run.main(["--fill-single", str(piece), "--kept", str(kept)]) == 0  # again: nothing left to fill
    assert json.loads(piece.read_text())["meta"]["single_filled"].endswith(": 0 runs")


@pytest.mark.slow
def test_family_pool_lab_scores_both_candidate_rules_on_a_kept_study(tmp_path):
    """benchmarks/family_pool.py: on a kept ``model: auto`` study, the top-20 rule reproduces the run's own
    exported test score, and both rules' ensembles are scored on the same test rows."""
    from benchmarks import family_pool
    from benchmarks.suite import contenders as cmod

    kept, study, split = _kept_wine_study(tmp_path, trials=8, export=True)
    cmod._cli(["predict", str(study / "export"), str(split.test_path), "-o", str(study / "pred.csv")], study)
    own = cmod._exported_test(split, study / "export", study / "pred.csv")
    out = tmp_path / "fp"
    assert family_pool.main([str(kept / "wine-0"), "--out", str(out)]) == 0
    (row,) = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert (row["task"], row["seed"], row["trials"]) == ("wine", 0, 8)
    assert row["top20"]["test"] == pytest.approx(own, rel=1e-6)  # the run's own hand-over, recomputed
    assert 0 < row["family"]["test"] < math.log(3)
    assert all(fam in {"linear", "lightgbm", "xgboost", "catboost", "extra-trees", "random-forest"}
               for _n, _w, fam in row["family"]["members"])
    assert "| wine | 0 | 8 |" in out.with_suffix(".md").read_text()
