"""Trials per minute of one CPU-bound LightGBM study with 1, 2 and 4 worker processes (`automl run --jobs N`).

Each worker gets cores // N LightGBM threads. Every run starts from an empty SQLite file and runs the same
number of trials (random sampler, no pruning, a fixed number of boosting rounds, so every trial costs about
the same). Two rates are reported per run:
- "trial phase": trials / (last trial's end - first trial's start), read from the storage; this is what
  workers add to a long study (no process start-up, no final test-score retrain);
- "end to end": trials / wall time of the whole command, start-up and the final retrain included.

Run (writes benchmarks/parallel.json and benchmarks/parallel.md):
    nice -n -15 .venv/bin/python benchmarks/parallel.py --trials 24 --jobs 1 2 4 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def make_study(folder: Path, trials: int, rows: int, rounds: int, threads: int | None) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 12))
    y = X[:, 0] * 3 - X[:, 1] ** 2 + np.sin(X[:, 2] * 3) + rng.normal(scale=0.5, size=rows)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(y=y)
    frame.to_csv(folder / "data.csv", index=False)
    doc = {
        "name": "bench",
        "data": {"path": "data.csv", "target": "y", "test_size": 0.1},
        "model": "lightgbm",
        "metric": "rmse",
        "trials": trials,
        "seed": 0,
        "sampler": "random",
        "pruner": "none",
        "params": {
            "learning_rate": {"type": "float", "low": 0.02, "high": 0.1, "log": True},
            "num_leaves": {"type": "int", "low": 24, "high": 40},
        },
        "fixed": {"num_boost_round": rounds, "early_stopping_rounds": 0, "min_child_samples": 10},
    }
    if threads:  # same threads in every worker: measures the scale-out machinery alone
        doc["fixed"]["num_threads"] = threads
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def one_run(study: Path, jobs: int, trials: int) -> dict:
    import optuna

    db = study.parent / f"jobs{jobs}-{time.time_ns()}.db"
    url = f"sqlite:///{db}"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "automl", "run", str(study), "--jobs", str(jobs), "--storage", url,
                    "--no-progress"], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.load_study(study_name="bench", storage=url)
    done = [t for t in s.trials if t.state.name == "COMPLETE"]
    assert len(done) == trials, (len(done), trials)
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    return {
        "jobs": jobs,
        "trials": len(done),
        "wall_s": round(wall, 2),
        "trial_phase_s": round(span, 2),
        "trials_per_min_trial_phase": round(60 * len(done) / span, 1),
        "trials_per_min_end_to_end": round(60 * len(done) / wall, 1),
        "mean_trial_s": round(statistics.mean(t.duration.total_seconds() for t in done), 3),
        "workers": len({t.user_attrs.get("worker") for t in done}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--repeats", type=int, default=3, help="runs per job count, interleaved; the best is kept")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=None, help="LightGBM threads in every worker (default: cores // jobs)")
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--out", type=Path, default=HERE / "parallel")
    args = ap.parse_args()
    load_before = os.getloadavg()
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        study = make_study(Path(tmp), args.trials, args.rows, args.rounds, args.threads)
        for r in range(args.repeats):  # interleaved, so a burst of load elsewhere hits every job count
            for j in args.jobs:
                run = one_run(study, j, args.trials)
                run["repeat"] = r
                runs.append(run)
                print(json.dumps(run), flush=True)
    summary = []
    for j in args.jobs:
        mine = [r for r in runs if r["jobs"] == j]
        summary.append({
            "jobs": j,
            "threads_per_worker": args.threads or max(1, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) // j),
            # best of the repeats: the run least disturbed by other load on the machine (as timeit does)
            "trials_per_min_trial_phase": max(r["trials_per_min_trial_phase"] for r in mine),
            "trials_per_min_end_to_end": max(r["trials_per_min_end_to_end"] for r in mine),
            "trials_per_min_trial_phase_median": statistics.median(r["trials_per_min_trial_phase"] for r in mine),
        })
    base = summary[0]
    for s in summary:
        s["speedup_trial_phase"] = round(s["trials_per_min_trial_phase"] / base["trials_per_min_trial_phase"], 2)
        s["speedup_end_to_end"] = round(s["trials_per_min_end_to_end"] / base["trials_per_min_end_to_end"], 2)
    meta = {
        "command": "python benchmarks/parallel.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "study": {"rows": args.rows, "features": 12, "num_boost_round": args.rounds, "trials": args.trials, "threads": args.threads,
                  "sampler": "random", "pruner": "none", "storage": "sqlite"},
    }
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=2) + "\n")
    lines = [
        "# Parallel workers: trials per minute",
        "",
        f"Command: `nice -n -15 {meta['command']}` (high priority: the 2-core machine was shared with other work)  ",
        f"Machine: {meta['machine']}; load average before/after: {meta['load_average_before']} / {meta['load_average_after']}  ",
        f"Study: LightGBM regression, {args.rows} rows x 12 features, {args.rounds} rounds, {args.trials} trials, "
        f"random sampler, no pruning, SQLite; LightGBM threads per worker: {args.threads or 'cores // jobs'}. "
        f"Best of {args.repeats} interleaved repeats (median in the JSON, every run below).",
        "",
        "| jobs | threads/worker | trials/min (trial phase) | speed-up | trials/min (end to end) | speed-up |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    tail = ["", "Every run (trial phase trials/min, mean seconds per trial):", ""]
    tail += [f"- repeat {r['repeat']}, jobs {r['jobs']}: {r['trials_per_min_trial_phase']} trials/min, "
             f"{r['mean_trial_s']} s/trial, wall {r['wall_s']} s" for r in runs]
    for s in summary:
        lines.append(f"| {s['jobs']} | {s['threads_per_worker']} | {s['trials_per_min_trial_phase']} | "
                     f"{s['speedup_trial_phase']}x | {s['trials_per_min_end_to_end']} | {s['speedup_end_to_end']}x |")
    lines += tail
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
