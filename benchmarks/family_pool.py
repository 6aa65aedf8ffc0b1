"""The ensemble's candidates with ``model: auto``: the best 20 trials alone, or also the best 3 of each family.

The same finished studies, two hand-over rules, each ensemble's members refit on the whole dev file and scored on the
suite's held-back test rows (the suite's metric). A study folder is what the suite's ``automl-auto`` contender
leaves in its temporary folder (``<task>-<seed>/automl-auto-<B>/``, study.yaml and its storage, beside
``<task>-dev.parquet`` and ``<task>-test.parquet``), kept by copying it before the suite removes it; its study file
points at the dev file's original path, so a kept folder goes back there first.

A study run before the family pool existed stored validation predictions only for the trials that were among the
best 20 when they finished, so the family rule can choose only among those: it is measured here with fewer family
candidates than a study run with it has.

Internal API: automl.ensemble's selection and refit, run twice on one stored study with its family pool 0
and its default (no public call chooses an ensemble by another rule); automl.export, automl.spec, automl.storage
and automl.studyfile to read the study and encode the test rows exactly as the run's own export does.

    python -m benchmarks.family_pool /tmp/automl-wallclock-*/*-[0-9]/ --out benchmarks/results/family_pool
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _test_score(task: str, y: np.ndarray, pred: np.ndarray, classes: list[Any] | None) -> float:
    """The suite's metric: rmse for regression, log loss for classification."""
    if task == "regression":
        return float(np.sqrt(np.mean((y.astype(float) - pred) ** 2)))
    from sklearn.metrics import log_loss

    proba = np.column_stack([1 - pred, pred]) if pred.ndim == 1 else pred
    return float(log_loss(y, proba, labels=classes))


def one(study_dir: Path) -> dict[str, Any]:
    """Both rules on one kept study folder: test scores, members and their families."""
    from automl import ensemble, export, storage, studyfile
    from automl.spec import prepare

    spec = studyfile.load(study_dir / "study.yaml")
    prepared = prepare(spec)
    url = storage.resolve_url(None, spec)
    study = storage.load_study(storage.open_storage(url, must_exist=True), spec.study_name, url)
    task_name, seed = study_dir.parent.name.rsplit("-", 1)
    test = pd.read_parquet(study_dir.parent / f"{task_name}-test.parquet")
    loaded = export.load(study_dir / "export")  # the run's own export: how test rows are encoded
    Xe = export.prepare_rows(loaded, test.drop(columns=[spec.data.target]))
    y = test[spec.data.target].to_numpy()
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    out: dict[str, Any] = {"task": task_name, "seed": int(seed), "trials": len(by_number)}
    refits: dict[int, Any] = {}
    best = study.best_trial
    for name, fp in (("top20", 0), ("family", ensemble.FAMILY_POOL)):
        ens = ensemble.select(prepared, study, url, family_pool=fp)
        if ens is None:  # the best trial alone
            ens = ensemble.Ensemble([(best.number, 1.0)], float(best.value), (best.number, float(best.value)))
        ensemble.refit(prepared, study, ens, refits)
        refits.update(ens.results)
        pred = ensemble.predict(prepared.trainer, ens, Xe)
        out[name] = {
            "valid": ens.valid,
            "test": _test_score(prepared.task, y, pred, loaded.classes),
            "members": [[n, round(w, 4), ensemble.family_of(by_number[n].params)] for n, w in ens.members],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="<task>-<seed> folders holding automl-auto-<B>/")
    p.add_argument("--out", type=Path, required=True, help="output stem: writes STEM.json and STEM.md")
    a = p.parse_args(argv)
    rows = []
    for f in a.folders:
        for sd in sorted(f.glob("automl-auto-*")):
            if (sd / "study.yaml").exists():
                r = one(sd)
                print(json.dumps(r), flush=True)
                rows.append(r)
    command = "python -m benchmarks.family_pool " + " ".join(sys.argv[1:] if argv is None else argv)
    a.out.with_suffix(".json").write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    a.out.with_suffix(".md").write_text(markdown(rows, command))
    return 0


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    """The table: each study's test score under both rules, and how often the family pool wins."""
    ratios = [r["family"]["test"] / r["top20"]["test"] for r in rows if r["top20"]["test"] > 0]
    better = sum(r["family"]["test"] < r["top20"]["test"] - 1e-12 for r in rows)
    worse = sum(r["family"]["test"] > r["top20"]["test"] + 1e-12 for r in rows)
    vbetter = sum(r["family"]["valid"] < r["top20"]["valid"] - 1e-12 for r in rows)
    vworse = sum(r["family"]["valid"] > r["top20"]["valid"] + 1e-12 for r in rows)
    geo = float(np.exp(np.mean(np.log(ratios)))) if ratios else float("nan")
    lines = [
        "# The ensemble's candidates with `model: auto`: the best 20 trials, or also each family's best 3",
        "",
        f"Command: `{command}`",
        "",
        "Same finished studies, two hand-over rules; each ensemble's members refit on the dev file and scored on the",
        "held-back test rows (rmse / log loss, lower is better). A study run before the family pool kept predictions",
        "only of trials that were among the best 20 when they finished, so the family rule chose among fewer",
        "candidates than a study run with it would.",
        "",
        f"- Family pool lower on test in {better} of {len(rows)} studies, higher in {worse}, the same in "
        f"{len(rows) - better - worse}; geometric-mean test ratio family / top-20 {geo:.4f}.",
        f"- On validation (the out-of-fold rows the ensemble is chosen on): lower in {vbetter}, higher in {vworse}.",
        "",
        "| task | seed | trials | top-20 test | family test | ratio | family ensemble (trial, weight, family) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        t, f = r["top20"]["test"], r["family"]["test"]
        members = ", ".join(f"{n} {w:.2f} {fam}" for n, w, fam in r["family"]["members"])
        lines.append(f"| {r['task']} | {r['seed']} | {r['trials']} | {t:.5g} | {f:.5g} | {f / t:.4f} | {members} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
