"""Per-trial cost of automl's trial loop against plain Optuna, on the same storage, for in-memory, journal,
SQLite and PostgreSQL storages.

Both sides run the same objective (``automl.objective.make_objective``: a 5-round LightGBM fit on 200 rows,
so storage calls dominate) with a random sampler and no pruner on a fresh study:
- plain: ``study.optimize(objective, n_trials=N)``;
- automl: ``automl.parallel.work`` (what ``automl run`` runs per worker): the claim lock, the budget count,
  stale-trial recovery, the worker tag and heartbeats, then ask/run/tell.
Repeats are interleaved (plain, automl, plain, automl, ...) and the median per-trial time is kept.

Run (PostgreSQL: pass --postgres URL, or let it start a throw-away server with tests/pg.py):
    nice -n -15 .venv/bin/python benchmarks/storage_overhead.py --trials 40 --repeats 3
Writes benchmarks/storage_overhead.json and .md.

Internal API: it times the objective and the storages apart from the CLI (objective, parallel, runner, storage).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def prepared_study(folder: Path):
    import automl

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=X @ [1.0, -2.0, 0.5]).to_csv(folder / "d.csv", index=False)
    doc = {
        "name": "overhead", "data": {"path": "d.csv", "target": "y", "test_size": 0}, "model": "lightgbm",
        "metric": "rmse", "trials": 1, "seed": 0, "sampler": "random", "pruner": "none",
        "params": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True},
                   "num_leaves": {"type": "int", "low": 4, "high": 16}},
        "fixed": {"num_boost_round": 5, "early_stopping_rounds": 0, "min_child_samples": 5, "report_every": 5},
    }
    (folder / "s.yaml").write_text(yaml.safe_dump(doc))
    return automl.prepare_study(folder / "s.yaml")


def plain(prepared, url: str, trials: int) -> float:
    from automl import storage as storage_mod
    from automl.objective import make_objective

    study = optuna.create_study(storage=storage_mod.open_storage(url), study_name=f"p{uuid.uuid4().hex[:8]}",
                                sampler=optuna.samplers.RandomSampler(seed=0), pruner=optuna.pruners.NopPruner())
    objective = make_objective(prepared, threads=1)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials, gc_after_trial=False)
    return (time.perf_counter() - t0) / trials


def automl_loop(prepared, url: str, trials: int) -> float:
    from automl import parallel, runner

    prepared.spec = prepared.spec.model_copy(update={"name": f"a{uuid.uuid4().hex[:8]}"})
    study = runner.open_or_create(prepared, url)
    t0 = time.perf_counter()
    res = parallel.work(prepared, study, url, budget=trials, threads=1)
    assert res.added == trials
    return (time.perf_counter() - t0) / trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--postgres", default=None, help="postgresql+psycopg:// URL; default: start tests/pg.py's server")
    ap.add_argument("--storages", nargs="+", default=["memory", "journal", "sqlite", "postgresql"])
    ap.add_argument("--out", type=Path, default=HERE / "storage_overhead")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    server = None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepared = prepared_study(folder)
        urls = {"memory": lambda: ":memory:", "journal": lambda: f"journal:///{folder}/{uuid.uuid4().hex}.log",
                "sqlite": lambda: f"sqlite:///{folder}/{uuid.uuid4().hex}.db"}
        if "postgresql" in args.storages:
            pg_url = args.postgres
            if pg_url is None:
                import pg

                server, why = pg.start()
                if server is None:
                    print(f"skipping postgresql: {why}")
                else:
                    pg_url = server.url()
            if pg_url:
                urls["postgresql"] = lambda: pg_url
        try:
            for name in args.storages:
                if name not in urls:
                    continue
                p_times, a_times = [], []
                for _ in range(args.repeats):
                    p_times.append(plain(prepared, urls[name](), args.trials))
                    a_times.append(automl_loop(prepared, urls[name](), args.trials))
                p, a = statistics.median(p_times), statistics.median(a_times)
                row = {"storage": name, "plain_ms_per_trial": round(p * 1000, 2), "automl_ms_per_trial": round(a * 1000, 2),
                       "ratio": round(a / p, 2), "plain_runs_ms": [round(x * 1000, 2) for x in p_times],
                       "automl_runs_ms": [round(x * 1000, 2) for x in a_times]}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            if server is not None:
                server.stop()
    meta = {"command": "python benchmarks/storage_overhead.py " + " ".join(sys.argv[1:]),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, Optuna {optuna.__version__}",
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "trials": args.trials, "repeats": args.repeats}
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = ["# Per-trial storage overhead: automl's trial loop vs plain Optuna (same storage, same objective)", "",
             f"Command: `nice -n -15 {meta['command']}`  ", f"Machine: {meta['machine']}; load average after: {meta['load_average_after']}  ",
             f"{args.trials} trials per run, {args.repeats} interleaved runs each, median; objective: 5-round LightGBM on 200 rows.",
             "", "| storage | plain Optuna ms/trial | automl ms/trial | ratio |", "|---|---:|---:|---:|"]
    lines += [f"| {r['storage']} | {r['plain_ms_per_trial']} | {r['automl_ms_per_trial']} | {r['ratio']}x |" for r in rows]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
