"""Exact match against prompt_loss_weight, from the fine-tuning study's storage (run the study first):

    automl run studies/tasks-lm-finetune.yaml
    python benchmarks/lm_prompt_loss_weight.py   # writes benchmarks/results/lm_prompt_loss_weight.{md,json}

Data then rendering: ``table(study)`` returns the rows, ``markdown(rows)`` draws them.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STUDY = HERE.parent / "studies" / "tasks-lm-finetune.yaml"


def table(study: Any) -> list[dict[str, Any]]:
    """One row per (prompt_loss_weight, learning_rate): completed trials' exact match, eval loss, seconds."""
    groups: dict[tuple[float, float], list[Any]] = defaultdict(list)
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "COMPLETE" and "prompt_loss_weight" in t.params:
            groups[(t.params["prompt_loss_weight"], t.params.get("learning_rate", float("nan")))].append(t)
    rows = []
    for (plw, lr), ts in sorted(groups.items()):
        rows.append({
            "prompt_loss_weight": plw,
            "learning_rate": lr,
            "trials": len(ts),
            "exact_match_mean": statistics.mean(t.user_attrs["valid_exact_match"] for t in ts),
            "exact_match_best": max(t.user_attrs["valid_exact_match"] for t in ts),
            "eval_loss_mean": statistics.mean(t.user_attrs["valid_eval_loss"] for t in ts),
            "fit_seconds_mean": statistics.mean(t.user_attrs["fit_seconds"] for t in ts),
        })
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = "| prompt_loss_weight | learning_rate | trials | exact match (mean) | exact match (best) | eval_loss (mean) | fit s (mean) |\n"
    head += "|---:|---:|---:|---:|---:|---:|---:|\n"
    return head + "".join(
        f"| {r['prompt_loss_weight']:g} | {r['learning_rate']:g} | {r['trials']} | {r['exact_match_mean']:.3f} | "
        f"{r['exact_match_best']:.3f} | {r['eval_loss_mean']:.3f} | {r['fit_seconds_mean']:.1f} |\n"
        for r in rows
    )


def main() -> None:
    import automl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=STUDY)
    ap.add_argument("--storage", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "lm_prompt_loss_weight.md")
    a = ap.parse_args()
    study = automl.open_study(a.study, storage=a.storage)
    rows = table(study)
    import platform
    from datetime import datetime, timezone

    n = sum(r["trials"] for r in rows)
    text = (
        "# Exact match against prompt_loss_weight (causal-lm on builtin:tiny)\n\n"
        f"`automl run {a.study.relative_to(HERE.parent) if a.study.is_relative_to(HERE.parent) else a.study}` then "
        f"`python benchmarks/lm_prompt_loss_weight.py` ({n} completed trials; Python {platform.python_version()}, "
        f"{datetime.now(timezone.utc):%Y-%m-%d}; shared 2-core machine, 1 torch thread). Exact match is greedy decoding "
        "of the validation split after the last epoch; eval_loss is completion-only cross-entropy (nats/char); "
        "each row averages the warmup_ratio choices (0, 0.1).\n\n" + markdown(rows)
    )
    a.out.write_text(text)
    a.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
