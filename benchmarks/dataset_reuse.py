"""What binning LightGBM's Dataset once per study (instead of once per trial) saves.

    .venv/bin/python benchmarks/dataset_reuse.py     # writes benchmarks/results/dataset_reuse.{md,json}

For each suite task (benchmarks/suite/tasks.py), the same sequence of short fits (random num_leaves and
min_child_samples, learning_rate 0.1, ``rounds`` rounds, one thread) runs twice, interleaved fit by fit: once on
the Dataset pair automl's trainer caches on the data (binned by the first fit) and once on freshly built Datasets
(what every trial paid before). Both arms must score identically; the table gives the seconds per fit of each and
their ratio. Short fits are where binning matters most: a 1,000-round fit amortizes it further.

Internal API: it times the trainer's Dataset cache across fits, so it calls the prepared study and the trainer
directly (runner, studyfile).
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from automl import runner, studyfile
    from automl.trainers import FitContext
    from benchmarks.suite import tasks as tmod

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="diabetes,digits,caravan,bikeshare,default,diamonds,flights")
    ap.add_argument("--fits", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tasks.split(","):
            task = tmod.TASKS[name]
            try:
                path = tmod.materialize(task, Path(tmp))
            except tmod.TaskUnavailable as e:
                print(f"skip {name}: {e}")
                continue
            spec = tmod.spec_dict(task, path, trials=1, timeout=None, seed=0, fixed={"num_threads": 1})
            prepared = runner.prepare(studyfile.parse(spec, "<bench>"))
            trainer, data = prepared.trainer, prepared.data
            ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=1, seed=0)
            rng = np.random.default_rng(0)
            times = {"reused": [], "fresh": []}
            values = {"reused": [], "fresh": []}
            cache: dict = {}
            for _ in range(args.fits):
                params = {"num_threads": 1, "learning_rate": 0.1, "num_boost_round": args.rounds, "early_stopping_rounds": 0,
                          "num_leaves": int(rng.integers(4, 128)), "min_child_samples": int(rng.integers(2, 100))}
                for arm in ("fresh", "reused"):
                    data.__dict__["_lgb_datasets"] = cache if arm == "reused" else {}
                    t0 = time.perf_counter()
                    result = trainer.fit(params, data, lambda *a, **k: None, ctx)
                    times[arm].append(time.perf_counter() - t0)
                    values[arm].append(float(trainer.evaluate(result, data, "valid", prepared.metrics)[0]))
            assert values["reused"] == values["fresh"], (name, values)
            # The first reused fit bins the data too: count it, as a study's first trial does.
            per = {arm: sum(t) / len(t) for arm, t in times.items()}
            rows.append({"task": name, "train_rows": len(data.train), "features": len(data.features), "fits": args.fits,
                         "fresh_s_per_fit": round(per["fresh"], 4), "reused_s_per_fit": round(per["reused"], 4),
                         "speedup": round(per["fresh"] / per["reused"], 3), "identical_scores": True})
            print(rows[-1], flush=True)
    command = "python benchmarks/dataset_reuse.py " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {"command": command.strip(), "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.system()} {platform.machine()}", "rounds": args.rounds}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dataset_reuse.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        "# LightGBM Dataset reuse across trials", "",
        f"`{meta['command']}` — {meta['date']}, {meta['machine']}; {args.fits} fits of {args.rounds} rounds per arm, "
        "one thread, arms interleaved fit by fit. Scores were identical in both arms for every fit.", "",
        "| task | train rows | features | fresh Datasets, s/fit | reused Dataset, s/fit | speed-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['task']} | {r['train_rows']:,} | {r['features']} | {r['fresh_s_per_fit']:.4f} | "
                     f"{r['reused_s_per_fit']:.4f} | {r['speedup']:.2f}x |")
    (args.out / "dataset_reuse.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
