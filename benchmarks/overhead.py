"""Per-trial overhead of automl against a plain Optuna script doing the same work on the same storage.

Both arms fit the same LightGBM models (same data split, same RandomSampler seed -> the same parameters), report
the validation metric at the same cadence to the same pruner, and store trials in a fresh storage of the same
kind. The difference is automl's own work per trial: the budget check, user attributes (worker, learning curve,
fit seconds, validation score), stale-trial checks, and the best trial's test score at the end.

    .venv/bin/python benchmarks/overhead.py --trials 30 --repeats 3 --storages memory,sqlite,journal
    .venv/bin/python benchmarks/overhead.py --storages postgresql   # throw-away local server (tests/pg.py)

Writes benchmarks/results/overhead.md and .json. Arms alternate (A B A B ...) so machine noise hits both.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automl import api  # noqa: E402
from automl import storage as storage_mod  # noqa: E402
from automl.runner import prepare, run  # noqa: E402

STUDY = REPO / "studies" / "diabetes-lgbm.yaml"
FIXED = {"num_boost_round": 100, "early_stopping_rounds": 0, "report_every": 5, "num_threads": 1, "min_child_samples": 10}
PARAMS = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "num_leaves": {"type": "int", "low": 4, "high": 64, "log": True},
}


def spec_for(trials: int):
    spec = api.load_study_file(STUDY)
    return spec.model_copy(update={
        "params": {k: v for k, v in api.load_study_file(STUDY).params.items() if k in PARAMS} or None,
        "fixed": FIXED, "trials": trials, "sampler": {"name": "random"}, "seed": 0,
        "pruner": {"name": "median", "n_startup_trials": 1000},  # consulted every report, never prunes: same work
    })


def make_url(kind: str, tmp: Path, tag: str) -> str:
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite:///{tmp / (tag + '.db')}"
    if kind == "journal":
        return f"journal:///{tmp / (tag + '.log')}"
    if kind == "postgresql":  # a fresh database per arm on a throw-away local server (tests/pg.py)
        server = _pg_server()
        return server.url(server.create_database())
    if kind.startswith("postgresql"):
        return kind
    raise SystemExit(f"unknown storage kind {kind}")


_PG: list = []


def _pg_server():
    if not _PG:
        import atexit

        sys.path.insert(0, str(REPO / "tests"))
        import pg

        server, why = pg.start()
        if server is None:
            raise SystemExit(f"postgresql: {why}")
        atexit.register(server.stop)
        _PG.append(server)
    return _PG[0]


def plain_optuna(prepared, url: str, trials: int) -> float:
    """What a user's Optuna script does: suggest, lgb.train with a pruning callback, return the metric."""
    import lightgbm as lgb
    from optuna_integration import LightGBMPruningCallback
    from sklearn.metrics import root_mean_squared_error

    data = prepared.data
    storage = optuna.storages.InMemoryStorage() if url == "memory" else storage_mod.open_storage(url)

    def objective(trial: optuna.Trial) -> float:
        params = {
            "objective": "regression", "metric": "rmse", "verbosity": -1, "seed": 0, "deterministic": True,
            "force_col_wise": True, "feature_pre_filter": False, "num_threads": 1, "min_child_samples": 10,
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
        }
        train = lgb.Dataset(data.train.X, data.train.y, params={"verbosity": -1}, free_raw_data=False)
        valid = lgb.Dataset(data.valid.X, data.valid.y, reference=train, free_raw_data=False)
        booster = lgb.train(params, train, num_boost_round=100, valid_sets=[valid], valid_names=["valid"],
                            callbacks=[LightGBMPruningCallback(trial, "rmse", "valid", report_interval=5)])
        return root_mean_squared_error(data.valid.y, booster.predict(data.valid.X))

    study = optuna.create_study(storage=storage, study_name="plain", sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1000))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - t0


def automl_run(prepared, url: str, trials: int) -> float:
    t0 = time.perf_counter()
    run(prepared, url, trials=trials, progress=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--storages", default="memory,sqlite,journal")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "overhead"))
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    prepared = prepare(spec_for(args.trials))
    rows = []
    for kind in args.storages.split(","):
        plain_t, ours_t = [], []
        for r in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                plain_t.append(plain_optuna(prepared, make_url(kind, tmp, f"plain{r}"), args.trials))
                ours_t.append(automl_run(prepared, make_url(kind, tmp, f"automl{r}"), args.trials))
        p, o = statistics.median(plain_t), statistics.median(ours_t)
        rows.append({
            "storage": storage_mod.mask(kind), "trials": args.trials, "repeats": args.repeats,
            "plain_ms_per_trial": round(1000 * p / args.trials, 2), "automl_ms_per_trial": round(1000 * o / args.trials, 2),
            "ratio": round(o / p, 3), "plain_runs_s": [round(x, 3) for x in plain_t], "automl_runs_s": [round(x, 3) for x in ours_t],
        })
        print(json.dumps(rows[-1]))
    cmd = "python benchmarks/overhead.py " + " ".join(sys.argv[1:])
    meta = {"command": cmd, "python": platform.python_version(), "optuna": optuna.__version__,
            "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# Per-trial overhead: automl vs a plain Optuna script (same fits, same storage kind)", "",
        f"Command: `{cmd}`  ", f"Python {meta['python']}, Optuna {meta['optuna']}, {meta['machine']}, {meta['date']}.", "",
        "Each arm: LightGBM regression on studies/data/diabetes.csv, 100 rounds, validation rmse reported every 5 rounds",
        "to a MedianPruner that never prunes, RandomSampler(seed=0) so both arms fit the same models. automl's time",
        "includes its end-of-run retrain of the best trial for the test score (one extra fit per run).", "",
        "| storage | trials | plain Optuna ms/trial | automl ms/trial | ratio (automl / plain) |", "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['storage']} | {r['trials']} | {r['plain_ms_per_trial']} | {r['automl_ms_per_trial']} | {r['ratio']}× |")
    lines.append("")
    lines.append("Medians of the repeats; arms alternate within each repeat. Raw run times are in overhead.json.")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
