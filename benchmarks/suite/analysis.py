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
