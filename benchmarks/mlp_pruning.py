"""Epochs saved by pruning an MLP study, and what it costs in best value.

    .venv/bin/python benchmarks/mlp_pruning.py     # writes benchmarks/results/mlp_pruning.{md,json}

Every arm is the same 20-trial `model: mlp` study of the bundled diabetes data (regression, rmse, the same
sampler/training seed, epochs 100, patience 20), once without a pruner and once per pruner; all arms run in
this one invocation, one after the other, on the same machine. Two samplers: TPE (the default; it learns
from pruned trials, so the arms sample different configurations) and random (every arm trains the same 20
configurations, so a worse best value is exactly the cost of pruning the eventual winner). "Epochs" counts the epochs
trained by the study's trials: epochs_run for complete trials, pruned_at_step for pruned ones (the
end-of-run refit of the best trial, identical work in every arm, is not counted). Several sampler seeds
because one 20-trial TPE run is a noisy estimate of the best value.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "studies" / "data" / "diabetes.csv"

SPACE = {
    "learning_rate": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
    "hidden_size": {"type": "int", "low": 16, "high": 128, "log": True},
    "n_layers": {"type": "int", "low": 1, "high": 3},
    "dropout": {"type": "float", "low": 0.0, "high": 0.4},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
}
FIXED = {"epochs": 100, "patience": 20, "batch_size": 32}


def study_doc(sampler: str, pruner: str, seed: int, trials: int) -> dict[str, Any]:
    return {
        "name": f"mlp-{sampler}-{pruner}-seed{seed}",
        "data": {"path": str(DATA), "target": "progression", "task": "regression"},
        "model": "mlp", "metric": "rmse", "trials": trials, "seed": seed,
        "sampler": sampler, "pruner": pruner, "params": SPACE, "fixed": FIXED,
    }


def epochs_of(trial: Any) -> int:
    if trial.state.name == "PRUNED":
        return int(trial.user_attrs["pruned_at_step"])
    if trial.state.name == "COMPLETE":
        return int(trial.user_attrs["epochs_run"])
    return len(trial.user_attrs.get("learning_curve", []))


def run_arm(sampler: str, pruner: str, seed: int, trials: int, workdir: Path) -> dict[str, Any]:
    from automl import run_study

    t0 = time.perf_counter()
    study = run_study(study_doc(sampler, pruner, seed, trials), storage=f"sqlite:///{workdir / 'studies.db'}")
    seconds = time.perf_counter() - t0
    states = [t.state.name for t in study.trials]
    test = (study.user_attrs.get("automl:test_scores") or {}).get(str(study.best_trial.number), {})
    return {
        "sampler": sampler, "pruner": pruner, "seed": seed, "trials": len(study.trials),
        "complete": states.count("COMPLETE"), "pruned": states.count("PRUNED"), "failed": states.count("FAIL"),
        "epochs": sum(epochs_of(t) for t in study.trials), "best_valid_rmse": study.best_value,
        "best_test_rmse": test.get("rmse"), "seconds": round(seconds, 1),
    }


def summarize(rows: list[dict[str, Any]], baseline: str) -> list[dict[str, Any]]:
    out = []
    base = {(r["sampler"], r["seed"]): r for r in rows if r["pruner"] == baseline}
    for sampler, pruner in dict.fromkeys((r["sampler"], r["pruner"]) for r in rows):
        mine = [r for r in rows if (r["sampler"], r["pruner"]) == (sampler, pruner)]
        b = [base[(r["sampler"], r["seed"])] for r in mine]
        epochs, base_epochs = sum(r["epochs"] for r in mine), sum(r["epochs"] for r in b)
        best = sum(r["best_valid_rmse"] for r in mine) / len(mine)
        base_best = sum(r["best_valid_rmse"] for r in b) / len(mine)
        out.append({
            "sampler": sampler, "pruner": pruner, "epochs": epochs, "fewer_epochs_pct": round(100 * (1 - epochs / base_epochs), 1),
            "mean_best_valid_rmse": round(best, 3), "worse_best_pct": round(100 * (best / base_best - 1), 2),
            "worst_seed_worse_pct": round(max(100 * (r["best_valid_rmse"] / q["best_valid_rmse"] - 1)
                                              for r, q in zip(mine, b, strict=True)), 2),
            "seconds": round(sum(r["seconds"] for r in mine), 1),
        })
        s = out[-1]
        s["goal_met"] = "-" if pruner == baseline else (
            "yes" if s["fewer_epochs_pct"] >= 40 and s["worse_best_pct"] <= 1 else "no")
    return out


def markdown(meta: dict[str, Any], rows: list[dict[str, Any]], summary: list[dict[str, Any]]) -> str:
    lines = [
        "# MLP study: epochs with and without pruning", "",
        f"`{meta['command']}` ({meta['machine']}; {meta['date']})", "",
        f"Each arm: a {meta['trials']}-trial `model: mlp` study of `studies/data/diabetes.csv` (rmse, "
        f"fixed {json.dumps(FIXED)}, space {', '.join(SPACE)}); pruners with automl's defaults "
        "(median: n_startup_trials 5, n_warmup_steps 10; percentile: the same, keeping the best 25%; hyperband: "
        "min_resource 10). Goal: >= 40% fewer epochs "
        "at <= 1% worse best value.", "",
        "## Summary over seeds " + ", ".join(map(str, meta["seeds"])), "",
        "| sampler | pruner | epochs (all seeds) | fewer epochs vs none | mean best valid rmse | mean best vs none "
        "| worst seed vs none | goal met | wall time (s) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for s in summary:
        lines.append(f"| {s['sampler']} | {s['pruner']} | {s['epochs']:,} | {s['fewer_epochs_pct']}% | {s['mean_best_valid_rmse']} "
                     f"| {s['worse_best_pct']:+}% | {s['worst_seed_worse_pct']:+}% | {s['goal_met']} | {s['seconds']} |")
    lines += ["", "## Every study", "",
              "| sampler | pruner | seed | complete | pruned | failed | epochs | best valid rmse | its test rmse "
              "| wall time (s) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        test = f"{r['best_test_rmse']:.3f}" if r["best_test_rmse"] is not None else "-"
        lines.append(f"| {r['sampler']} | {r['pruner']} | {r['seed']} | {r['complete']} | {r['pruned']} | {r['failed']} | {r['epochs']} "
                     f"| {r['best_valid_rmse']:.3f} | {test} | {r['seconds']} |")
    lines += ["", "Positive percentages in the best-value columns mean pruning found a worse (higher) rmse. "
              "Wall times are for the whole study (SQLite writes, the best trial's test refit) and are side by side "
              "in one run; the machine is shared, so compare them only within this table.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated sampler/training seeds")
    ap.add_argument("--pruners", default="none,median,percentile,hyperband", help="the first one is the baseline")
    ap.add_argument("--samplers", default="tpe,random")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "mlp_pruning")
    args = ap.parse_args(argv)
    import optuna
    import torch

    seeds = [int(s) for s in args.seeds.split(",")]
    pruners = args.pruners.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sampler in args.samplers.split(","):
            for seed in seeds:
                for pruner in pruners:
                    rows.append(run_arm(sampler, pruner, seed, args.trials, Path(tmp)))
                    print(json.dumps(rows[-1]), file=sys.stderr)
    summary = summarize(rows, pruners[0])
    argv_text = " ".join(sys.argv[1:] if argv is None else argv)
    meta = {
        "command": f".venv/bin/python benchmarks/mlp_pruning.py {argv_text}".strip(),
        "machine": f"{platform.python_implementation()} {platform.python_version()}, torch {torch.__version__}, "
                   f"Optuna {optuna.__version__}, {__import__('os').cpu_count()}-core shared CPU machine",
        "date": dt.date.today().isoformat(), "trials": args.trials, "seeds": seeds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({**meta, "summary": summary, "runs": rows}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(meta, rows, summary))
    print(markdown(meta, rows, summary))


if __name__ == "__main__":
    main()
