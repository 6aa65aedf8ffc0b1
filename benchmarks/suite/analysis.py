"""From raw runs to the suite's numbers (data only; ``output`` draws them).

All metrics here are minimized (rmse, logloss). Per task:
- normalized regret of a run = (its best validation value - the best any run found on the task) /
  (the worst final value of any run - that best): 0 = the task's best, 1 = the task's worst final choice;
- rank: contenders ranked by best validation value within each (task, seed), ties averaged;
- target: the median of all runs' final best validation values on the task; time to target = seconds until a
  run's best-so-far first reaches it (None when it never does);
- equal wall-clock: each run's regret at the moment the task's fastest run finished (``t_equal``);
- anytime curves: mean regret of the best-so-far over seeds, against the trial index and against wall-clock.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any


def best_so_far(evals: list[dict[str, Any]]) -> list[float | None]:
    out: list[float | None] = []
    cur: float | None = None
    for e in evals:
        v = e["value"]
        if v is not None and math.isfinite(v) and (cur is None or v < cur):
            cur = v
        out.append(cur)
    return out


def _ranks(values: dict[str, float | None]) -> dict[str, float]:
    """Rank 1 = lowest value; missing values share the last places; ties get the average rank."""
    items = sorted(values.items(), key=lambda kv: (kv[1] is None, kv[1] if kv[1] is not None else 0.0))
    ranks: dict[str, float] = {}
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1][1] == items[i][1]:
            j += 1
        for k in range(i, j + 1):
            ranks[items[k][0]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _mean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.fmean(xs) if xs else None


def _sd(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.stdev(xs) if len(xs) > 1 else (0.0 if xs else None)


def analyze(runs: list[dict[str, Any]], *, trials: int, time_points: int = 40) -> dict[str, Any]:
    """``runs``: RunResult dicts (contender, task, seed, evals, test, seconds, extra, skipped)."""
    ran = [r for r in runs if not r.get("skipped") and r["evals"]]
    tasks = sorted({r["task"] for r in ran}, key=[r["task"] for r in ran].index)
    contenders = sorted({r["contender"] for r in ran}, key=[r["contender"] for r in ran].index)
    per_task: dict[str, Any] = {}
    regrets: dict[str, list[float]] = defaultdict(list)
    ranks: dict[str, list[float]] = defaultdict(list)
    times: dict[str, list[float | None]] = defaultdict(list)
    at_equal: dict[str, list[float]] = defaultdict(list)

    for task in tasks:
        tr = [r for r in ran if r["task"] == task]
        finals = [b for r in tr if (b := best_so_far(r["evals"])[-1]) is not None]
        lo, hi = min(finals), max(finals)
        span = hi - lo if hi > lo else 1.0
        target = statistics.median(finals)
        tmax = max(r["evals"][-1]["t"] for r in tr) or 1.0
        t_equal = min(r["evals"][-1]["t"] for r in tr)
        grid = [round(tmax * (i + 1) / time_points, 4) for i in range(time_points)]

        def regret(v: float | None, lo: float = lo, span: float = span) -> float | None:
            return None if v is None else (v - lo) / span

        rows: dict[str, Any] = {}
        for c in contenders:
            cr = sorted((r for r in tr if r["contender"] == c), key=lambda r: r["seed"])
            if not cr:
                continue
            by_trial, by_time, seeds = [], [], []
            for r in cr:
                bsf = best_so_far(r["evals"])
                by_trial.append([regret(v) for v in bsf] + [regret(bsf[-1])] * (trials - len(bsf)))
                by_time.append([regret(_at(r["evals"], bsf, g)) for g in grid])
                hit = next((e["t"] for e, b in zip(r["evals"], bsf, strict=True) if b is not None and b <= target), None)
                final = bsf[-1]
                eq = regret(_at(r["evals"], bsf, t_equal))
                seeds.append({"seed": r["seed"], "best_valid": final, "regret": regret(final), "test": r["test"],
                              "evals": len(r["evals"]), "seconds": r["seconds"], "time_to_target": hit, "regret_at_equal_time": eq})
                at_equal[c].append(1.0 if eq is None else eq)  # nothing finished yet: as bad as the worst
                times[c].append(hit)
                if final is not None:
                    regrets[c].append(regret(final))
            rows[c] = {
                "seeds": seeds,
                "best_valid_mean": _mean([s["best_valid"] for s in seeds]),
                "best_valid_sd": _sd([s["best_valid"] for s in seeds]),
                "test_mean": _mean([s["test"] for s in seeds]),
                "test_sd": _sd([s["test"] for s in seeds]),
                "regret_mean": _mean([s["regret"] for s in seeds]),
                "regret_at_equal_time_mean": _mean([s["regret_at_equal_time"] for s in seeds]),
                "time_to_target_median": _median_or_none([s["time_to_target"] for s in seeds]),
                "reached_target": sum(s["time_to_target"] is not None for s in seeds),
                "curve_trials": _mean_curve(by_trial),
                "curve_time": _mean_curve(by_time),
                "pruning": [r["extra"]["pruning"] for r in cr if "pruning" in r.get("extra", {})],
            }
        for seed in sorted({r["seed"] for r in tr}):
            vals = {c: next((s["best_valid"] for s in rows[c]["seeds"] if s["seed"] == seed), None) for c in rows}
            for c, rk in _ranks(vals).items():
                ranks[c].append(rk)
        per_task[task] = {"best": lo, "worst": hi, "target": target, "t_equal": t_equal, "time_grid": grid,
                          "contenders": rows}

    summary = {}
    for c in contenders:
        reached = [t for t in times[c] if t is not None]
        summary[c] = {
            "regret_mean": _mean(regrets[c]),
            "rank_mean": _mean(ranks[c]),
            "regret_at_equal_time_mean": _mean(at_equal[c]),
            "task_seeds": len(regrets[c]),
            "reached_target": len(reached),
            "time_to_target_median": statistics.median(reached) if reached else None,
            "beats_random": _beats(per_task, c, "random"),
            "beats_optuna_tpe": _beats(per_task, c, "optuna-tpe"),
        }
    return {"tasks": per_task, "summary": summary, "contenders": contenders, "goals": goals(per_task, summary)}


def goals(per_task: dict[str, Any], summary: dict[str, Any], me: str = "automl") -> dict[str, Any] | None:
    """Issue 9's goals for ``me``: mean regret <= optuna-tpe's and better than random on >= 80% of task-seeds
    (equal trials); at equal wall-clock, a lower mean regret than both LightGBMTuner and FLAML on >= 4 of 6 tasks
    (scaled: two thirds of the tasks)."""
    if me not in summary:
        return None
    s = summary[me]
    tpe = summary.get("optuna-tpe", {}).get("regret_mean")
    ahead = {}
    for task, t in per_task.items():
        rows = t["contenders"]
        if me not in rows:
            continue
        mine = rows[me]["regret_at_equal_time_mean"]
        others = {o: rows[o]["regret_at_equal_time_mean"] for o in ("lgbm-tuner", "flaml-cfo") if o in rows}
        if others:
            ahead[task] = {"mine": mine, **others, "ahead": mine is not None and all(v is None or mine < v for v in others.values())}
    n_ahead = sum(v["ahead"] for v in ahead.values())
    need = math.ceil(len(ahead) * 4 / 6)
    return {
        "regret": s["regret_mean"], "optuna_tpe_regret": tpe,
        "regret_le_tpe": None if tpe is None or s["regret_mean"] is None else s["regret_mean"] <= tpe,
        "beats_random": s["beats_random"],
        "beats_random_ge_80": None if s["beats_random"] is None else s["beats_random"] >= 0.8,
        "equal_time_ahead": ahead, "tasks_ahead": n_ahead, "tasks_needed": need, "tasks_ahead_ok": n_ahead >= need if ahead else None,
    }


def _at(evals: list[dict[str, Any]], bsf: list[float | None], t: float) -> float | None:
    """The best-so-far value at time ``t`` (None before the first evaluation ended)."""
    return next((b for e, b in zip(reversed(evals), reversed(bsf), strict=True) if e["t"] <= t), None)


def _median_or_none(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _mean_curve(curves: list[list[float | None]]) -> list[float | None]:
    """Mean over seeds at each point; None until every seed has a value (no mean of a partial set)."""
    n = max(len(c) for c in curves)
    out: list[float | None] = []
    for i in range(n):
        col = [c[i] if i < len(c) else c[-1] for c in curves]
        out.append(None if any(v is None for v in col) else round(statistics.fmean(col), 6))
    return out


def _beats(per_task: dict[str, Any], c: str, other: str) -> float | None:
    """Fraction of (task, seed) pairs where ``c``'s best validation value is strictly lower than ``other``'s."""
    if c == other:
        return None
    wins = total = 0
    for t in per_task.values():
        rows = t["contenders"]
        if c not in rows or other not in rows:
            continue
        mine = {s["seed"]: s["best_valid"] for s in rows[c]["seeds"]}
        theirs = {s["seed"]: s["best_valid"] for s in rows[other]["seeds"]}
        for seed, v in mine.items():
            if v is not None and theirs.get(seed) is not None:
                total += 1
                wins += v < theirs[seed]
    return round(wins / total, 4) if total else None


# == wall-clock mode (issue 14) ===============================================================================
#: The budgets issue 14's goals name (seconds); a goal whose budget was not run reads None ("not measured").
GOAL_SHORT, GOAL_LONG, GOAL_STARTUP, GOAL_STARTUP_LIMIT = 15.0, 60.0, 10.0, 12.0


def _counts_at(r: dict[str, Any], b: float) -> bool:
    """A run counts at budget ``b`` if it ran with that limit, or is a one-fit baseline (budget None)."""
    return r.get("budget") is None or float(r["budget"]) == float(b)


def analyze_wallclock(runs: list[dict[str, Any]], budgets: list[float], *, small: list[str] | None = None,
                      me: str = "automl") -> dict[str, Any]:
    """``runs``: RunResult dicts with ``budget``. Per budget: the mean test-score rank of every contender (rank
    within each task-seed, 1 = lowest test loss, ties averaged, a missing or failed run last); per task: the mean
    test score over seeds per contender and budget; ``me``'s end-to-end seconds against its budget; the goals."""
    if small is None:
        from benchmarks.suite.tasks import SMALL as small
    ran = [r for r in runs if not r.get("skipped") and r["test"] is not None and math.isfinite(r["test"])]
    order = [r["task"] for r in runs]
    tasks = sorted({r["task"] for r in ran}, key=order.index)
    corder = [r["contender"] for r in runs]
    contenders = sorted({r["contender"] for r in ran}, key=corder.index)
    key = [f"{b:g}" for b in budgets]  # JSON object keys
    per_task: dict[str, Any] = {}
    ranks: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in key}
    for task in tasks:
        tr = [r for r in ran if r["task"] == task]
        seeds = sorted({r["seed"] for r in tr})
        rows: dict[str, Any] = {}
        for c in contenders:
            by_budget = {}
            for b, k in zip(budgets, key, strict=True):
                cr = sorted((r for r in tr if r["contender"] == c and _counts_at(r, b)), key=lambda r: r["seed"])
                if not cr:
                    continue
                bsf = [best_so_far(r["evals"]) for r in cr]
                by_budget[k] = {
                    "seeds": [r["seed"] for r in cr],
                    "tests": [r["test"] for r in cr],
                    "test_mean": _mean([r["test"] for r in cr]),
                    "test_sd": _sd([r["test"] for r in cr]),
                    "best_valid_mean": _mean([v[-1] for v in bsf if v and v[-1] is not None]),
                    "evals": [len(r["evals"]) for r in cr],
                    "seconds": [r["seconds"] for r in cr],
                    "seconds_mean": _mean([r["seconds"] for r in cr]),
                    "curves": [[[e["t"], v] for e, v in zip(r["evals"], s, strict=True)] for r, s in zip(cr, bsf, strict=True)],
                }
            if by_budget:
                rows[c] = by_budget
        for b, k in zip(budgets, key, strict=True):
            for seed in seeds:
                vals = {c: next((r["test"] for r in tr if r["contender"] == c and r["seed"] == seed and _counts_at(r, b)), None)
                        for c in contenders}
                for c, rk in _ranks(vals).items():
                    ranks[k][c].append(rk)
        per_task[task] = {"seeds": seeds, "contenders": rows}
    summary = {k: {c: {"rank_mean": _mean(ranks[k][c]), "task_seeds": len(ranks[k][c])} for c in contenders} for k in key}
    e2e = [{"task": r["task"], "seed": r["seed"], "budget": r["budget"], "seconds": r["seconds"],
            "over": round(r["seconds"] - r["budget"], 3), "steps": r.get("extra", {}).get("steps_seconds")}
           for r in runs if r["contender"] == me and r.get("budget") is not None and not r.get("skipped")]
    e2e_summary = {}
    for b, k in zip(budgets, key, strict=True):
        secs = [x["seconds"] for x in e2e if float(x["budget"]) == b]
        if secs:
            e2e_summary[k] = {"runs": len(secs), "mean": _mean(secs), "max": max(secs), "min": min(secs),
                              "over_mean": _mean([s - b for s in secs])}
    return {"budgets": key, "tasks": per_task, "summary": summary, "contenders": contenders,
            "automl_seconds": e2e, "automl_seconds_summary": e2e_summary,
            "goals": goals_wallclock(per_task, summary, e2e, budgets, small=small, me=me),
            "goals_auto": goals_auto(runs, budgets)}


AUTO, AUTO_PEER, AUTO_REF, AUTO_SINGLE = "automl-auto", "flaml-all", "autogluon", "automl"


def _vs_single(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    """How often a handed-over ensemble had a lower test loss than its study's best single trial (refit the same
    way), and the geometric mean of their test-loss ratios."""
    ratios = [e / s for e, s in pairs if s > 0 and e > 0]
    return {"single_measured": len(pairs), "single_beaten": sum(e < s for e, s in pairs),
            "single_ratio_geo": math.exp(_mean([math.log(x) for x in ratios])) if ratios else None}


def goals_auto(runs: list[dict[str, Any]], budgets: list[float]) -> dict[str, Any] | None:
    """Issue 17's goals, per budget where automl-auto, flaml-all and autogluon all ran: automl-auto's mean test
    score (over the seeds all three ran) better than flaml-all's on >= 6 of 9 tasks (scaled: 6/9 of the tasks,
    rounded up), and its mean ratio of test scores to AutoGluon's at most 1.01; also the model handed over (an
    ensemble or the best trial) and automl-auto's end-to-end seconds. None when no budget has all three."""
    ran = [r for r in runs if not r.get("skipped") and r["test"] is not None and math.isfinite(r["test"])]
    order = [r["task"] for r in runs]
    out: dict[str, Any] = {}
    for b in budgets:
        at = [r for r in ran if r.get("budget") is not None and float(r["budget"]) == float(b)]
        tasks = sorted({r["task"] for r in at if r["contender"] == AUTO}, key=order.index)
        rows: dict[str, Any] = {}
        for task in tasks:
            tr = [r for r in at if r["task"] == task]
            seeds = set.intersection(*({r["seed"] for r in tr if r["contender"] == c} for c in (AUTO, AUTO_PEER, AUTO_REF)))
            if not seeds:
                continue
            mean = {c: _mean([r["test"] for r in tr if r["contender"] == c and r["seed"] in seeds])
                    for c in (AUTO, AUTO_PEER, AUTO_REF, AUTO_SINGLE)}
            auto = [r for r in tr if r["contender"] == AUTO and r["seed"] in seeds]
            rows[task] = {"seeds": sorted(seeds), **{c: v for c, v in mean.items() if v is not None},
                          "better_than_peer": mean[AUTO] < mean[AUTO_PEER],
                          "ratio_to_ref": mean[AUTO] / mean[AUTO_REF] if mean[AUTO_REF] else None,
                          "ensembles": sum(isinstance(r.get("extra", {}).get("handed_over"), list) for r in auto),
                          "runs": len(auto), "seconds": [r["seconds"] for r in auto],
                          # an ensemble against its own best single trial on test, where the run measured it
                          "vs_single": [(r["test"], r["extra"]["single_test"]) for r in auto
                                        if isinstance(r.get("extra", {}).get("single_test"), (int, float))]}
        if not rows:
            continue
        ratios = [r["ratio_to_ref"] for r in rows.values() if r["ratio_to_ref"]]
        better = sum(r["better_than_peer"] for r in rows.values())
        need = math.ceil(len(rows) * 6 / 9)
        mean_ratio = _mean(ratios)
        secs = [x for r in rows.values() for x in r["seconds"]]
        out[f"{b:g}"] = {"tasks": rows, "better_than_peer": better, "tasks_needed": need,
                         "ratio_mean": mean_ratio, "ratio_geo": math.exp(_mean([math.log(x) for x in ratios])) if ratios else None,
                         "ratio_median": statistics.median(ratios) if ratios else None,
                         "ok_peer": better >= need, "ok_ref": mean_ratio is not None and mean_ratio <= 1.01,
                         "ensembles": sum(r["ensembles"] for r in rows.values()), "runs": sum(r["runs"] for r in rows.values()),
                         "seconds_max": max(secs) if secs else None, "seconds_mean": _mean(secs),
                         **_vs_single([pair for r in rows.values() for pair in r["vs_single"]])}
    return out or None


def goals_wallclock(per_task: dict[str, Any], summary: dict[str, Any], e2e: list[dict[str, Any]], budgets: list[float],
                    *, small: list[str], me: str = "automl") -> dict[str, Any] | None:
    """Issue 14's goals for ``me``: (a) the best mean test-score rank of all contenders at 15 s and at 60 s;
    (b) a mean test score no worse than both lgbm-tuner's and flaml's on >= 7 of 9 tasks at 60 s (scaled: 7/9 of
    the tasks, rounded up); (c) the mean test score worse at 60 s than at 15 s on at most 1 task; (d) every 10 s run
    on the small tasks ends within 12 s end to end. A goal whose budget was not run is None."""
    if not any(me in s for s in summary.values()):
        return None
    have = {float(b) for b in budgets}

    def k(b: float) -> str:
        return f"{b:g}"

    a = {}
    for b in (GOAL_SHORT, GOAL_LONG):
        if b in have and me in summary[k(b)]:
            s = summary[k(b)]
            mine = s[me]["rank_mean"]
            others = {c: v["rank_mean"] for c, v in s.items() if c != me}
            best_other = min((v for v in others.values() if v is not None), default=None)
            a[k(b)] = {"rank": mine, "best_other": best_other,
                       "best_other_name": next((c for c, v in others.items() if v == best_other), None),
                       "ok": None if mine is None else best_other is None or mine < best_other}
    b_goal = None
    if GOAL_LONG in have:
        rows = {}
        for task, t in per_task.items():
            cs = t["contenders"]
            mine = cs.get(me, {}).get(k(GOAL_LONG), {}).get("test_mean")
            others = {o: cs.get(o, {}).get(k(GOAL_LONG), {}).get("test_mean") for o in ("lgbm-tuner", "flaml")}
            others = {o: v for o, v in others.items() if v is not None}
            if mine is not None and others:
                rows[task] = {"mine": mine, **others, "ok": all(mine <= v for v in others.values())}
        n_ok = sum(r["ok"] for r in rows.values())
        need = math.ceil(len(rows) * 7 / 9)
        b_goal = {"tasks": rows, "tasks_ok": n_ok, "tasks_needed": need, "ok": n_ok >= need if rows else None}
    c_goal = None
    if GOAL_SHORT in have and GOAL_LONG in have:
        rows = {}
        for task, t in per_task.items():
            mine = t["contenders"].get(me, {})
            short, long_ = mine.get(k(GOAL_SHORT), {}).get("test_mean"), mine.get(k(GOAL_LONG), {}).get("test_mean")
            if short is not None and long_ is not None:
                rows[task] = {"short": short, "long": long_, "worse": long_ > short}
        worse = sum(r["worse"] for r in rows.values())
        c_goal = {"tasks": rows, "tasks_worse": worse, "ok": worse <= 1 if rows else None}
    d_goal = None
    if GOAL_STARTUP in have:
        secs = [x for x in e2e if float(x["budget"]) == GOAL_STARTUP and x["task"] in small]
        worst = max((x["seconds"] for x in secs), default=None)
        d_goal = {"runs": len(secs), "max_seconds": worst, "limit": GOAL_STARTUP_LIMIT,
                  "ok": None if worst is None else worst <= GOAL_STARTUP_LIMIT}
    return {"rank_best": a, "vs_tuners": b_goal, "longer_not_worse": c_goal, "startup": d_goal}
