"""Issue 20's benchmark: a real pretrained instruct model (SmolLM2-135M-Instruct), tuned, judged on a held-out file.

    python -m benchmarks.lm_real            # runs (or resumes) both studies, then writes benchmarks/results/lm_real.{md,json}
    python -m benchmarks.lm_real --quick    # the same on builtin:tiny and a few demo rows (a smoke run, seconds to minutes)

(a) untuned decoding (the model's chat template, greedy, no system prompt, no worked examples: what lm-decode does
with no tuned knob) against the best decoding+prompt trial of ``studies/smollm2-decode.yaml`` (the Pareto trial with
the highest validation exact match): exact match and pass@k on ``studies/data/instruct-heldout.jsonl``, which no trial
saw, each with a 95% interval, and the paired difference with its interval (outside it = a real gain).
(b) zero-shot (the base model, greedy) against the best LoRA trial of ``studies/smollm2-lora.yaml``, exported (refit
on train+valid, adapters merged), on the same held-out file.
(c) each study's per-trial wall time and peak memory (the worker's peak RSS when the trial ended) on this machine.
(d) each knob's importance for each objective (Optuna's PED-ANOVA, its default).

Each study runs in its own default storage (``studies/<name>.db``, as ``automl run`` does), so studies already run by
``automl run ... --report`` are only resumed (``--quick``: storages under ``--work``). On 2 cores the
whole run takes about 1 h 45 min: the decoding study ~45 min, the LoRA study ~35 min, the held-out scoring (200
prompts, four models, the LoRA export's refit) ~25 min; sized from one timed trial of each study (see their headers).
Data first (``heldout_scores``, ``interval``, ``paired``, ``importances``), then ``markdown`` draws it.

Internal API: it scores the held-out prompts of the untuned model and the exported one with the generation code the
trainers use (lm.data, lm.generate, trainers.causal_lm) and writes its results atomically (fsutil).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STUDIES = REPO / "studies"
DECODE_STUDY = STUDIES / "smollm2-decode.yaml"
LORA_STUDY = STUDIES / "smollm2-lora.yaml"
HELDOUT = STUDIES / "data" / "instruct-heldout.jsonl"
Z = 1.959964  # the normal quantile of a two-sided 95% interval


# -- statistics ------------------------------------------------------------------------------------------------
def interval(values: list[float]) -> dict[str, float]:
    """Mean with a 95% interval: Wilson's for 0/1 values (a proportion), else the normal one, clipped to [0, 1]."""
    n = len(values)
    if n == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    m = sum(values) / n
    if all(v in (0, 1) for v in values):
        d = 1 + Z * Z / n
        centre = (m + Z * Z / (2 * n)) / d
        half = Z * math.sqrt(m * (1 - m) / n + Z * Z / (4 * n * n)) / d
        lo, hi = centre - half, centre + half
    else:
        sd = statistics.stdev(values) if n > 1 else 0.0
        lo, hi = m - Z * sd / math.sqrt(n), m + Z * sd / math.sqrt(n)
    return {"mean": m, "low": max(0.0, lo), "high": min(1.0, hi), "n": n}


def paired(a: list[float], b: list[float]) -> dict[str, Any]:
    """b - a per prompt (the same prompts): mean with a 95% normal interval, and whether 0 lies outside it."""
    d = [y - x for x, y in zip(a, b, strict=True)]
    n = len(d)
    m = sum(d) / n if n else float("nan")
    sd = statistics.stdev(d) if n > 1 else 0.0
    lo, hi = m - Z * sd / math.sqrt(max(n, 1)), m + Z * sd / math.sqrt(max(n, 1))
    return {"mean": m, "low": lo, "high": hi, "n": n, "outside": bool(lo > 0 or hi < 0)}


# -- held-out scoring ------------------------------------------------------------------------------------------
def heldout_split(path: Path) -> Any:
    from automl.lm.data import LMSplit, read_jsonl

    return LMSplit(read_jsonl(path, str(path)))


def heldout_scores(trainer: Any, params: dict[str, Any], data: Any, split: Any, seed: int = 0) -> dict[str, Any]:
    """Decode ``split`` with lm-decode ``params`` (a model loaded by ``trainer.fit``): per-prompt exact match (majority
    vote) and pass@k, their intervals, tokens and seconds per prompt, and the peak memory."""
    from automl.lm import generate as gen
    from automl.trainers import FitContext
    from automl.trainers.causal_lm import decode_scores, peak_rss_mb

    metric = trainer.metrics()["exact_match"]
    result = trainer.fit(params, data, lambda *a, **k: None, FitContext(metric, "lm", 1, seed))
    lm = result.model
    p = lm.params
    t0 = time.perf_counter()
    agg = decode_scores(lm, split, max_new_tokens=p["max_new_tokens"], seed=seed, batch_size=int(p["batch_size"]),
                        stop=p["stop"], num_samples=int(p["num_samples"]), temperature=float(p["temperature"]),
                        top_p=float(p["top_p"]), top_k=int(p["top_k"]), pass_k=int(p["pass_k"]),
                        max_prompt_tokens=p["max_prompt_tokens"], name="heldout")
    seconds = time.perf_counter() - t0
    match, k = str(p.get("answer_match") or "exact"), int(p["pass_k"])
    em, pk = [], []
    for ss, ref in zip(lm.samples["heldout"], split.completions, strict=True):
        texts = [gen.normalize(s.text, match) for s in ss]
        want = gen.normalize(ref, match)
        em.append(float(gen.majority(texts) == want))
        pk.append(gen.pass_at_k(len(texts), sum(t == want for t in texts), k))
    return {"exact_match": interval(em), "pass_at_k": interval(pk), "k": k, "per_prompt": {"exact_match": em, "pass_at_k": pk},
            "tokens_generated": agg["tokens_generated"], "seconds_per_prompt": seconds / max(1, len(split)),
            "peak_rss_mb": peak_rss_mb(), "params": {n: v for n, v in params.items() if n != "base_model"}}


# -- what the studies stored -------------------------------------------------------------------------------------
def trial_costs(study: Any) -> dict[str, Any]:
    """Per-trial wall time (Optuna's duration) and peak memory (peak_rss_mb, the worker's peak when the trial ended)."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE and t.duration is not None]
    secs = [t.duration.total_seconds() for t in done]
    mem = [float(t.user_attrs["peak_rss_mb"]) for t in done if isinstance(t.user_attrs.get("peak_rss_mb"), (int, float))]
    starts = [t.datetime_start for t in done]
    ends = [t.datetime_complete for t in done]
    return {"trials": len(done), "seconds_median": statistics.median(secs) if secs else None,
            "seconds_max": max(secs) if secs else None, "seconds_total": sum(secs) if secs else None,
            "wall_seconds": (max(ends) - min(starts)).total_seconds() if done else None,
            "peak_rss_mb": max(mem) if mem else None,
            "per_trial": [{"number": t.number, "seconds": round(s, 1), "peak_rss_mb": t.user_attrs.get("peak_rss_mb")}
                          for t, s in zip(done, secs, strict=True)]}


def importances(study: Any) -> dict[str, Any]:
    """{objective name: {knob: importance}} (PED-ANOVA), or {objective: "why not"} when Optuna cannot say."""
    import warnings

    import optuna
    from optuna.trial import TrialState

    names = study.metric_names or [f"objective {i}" for i in range(len(study.directions))]
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        if len({t.values[i] for t in done}) <= 1:
            out[name] = f"not computed: every complete trial has the same {name}"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = optuna.importance.get_param_importances(study, target=lambda t, i=i: t.values[i])
            out[name] = {k: float(v) for k, v in got.items()}
        except (ValueError, RuntimeError, ZeroDivisionError) as e:
            out[name] = f"not computed: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
    return out


def effects(study: Any, objective: int = 0) -> dict[str, list[dict[str, Any]]]:
    """How much each knob moved the first objective: the mean over complete trials per choice (categorical) or per
    half of the values tried (numeric: at most the median, above it), with the number of trials."""
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    out: dict[str, list[dict[str, Any]]] = {}
    for name in sorted({n for t in done for n in t.params}):
        have = [t for t in done if name in t.params]
        if isinstance(have[0].distributions[name], CategoricalDistribution):
            groups: dict[str, list[float]] = {}
            for t in have:
                groups.setdefault(repr(t.params[name]), []).append(t.values[objective])
        else:
            mid = statistics.median(t.params[name] for t in have)
            groups = {f"<= {mid:.3g}": [t.values[objective] for t in have if t.params[name] <= mid],
                      f"> {mid:.3g}": [t.values[objective] for t in have if t.params[name] > mid]}
        out[name] = [{"value": k, "mean": statistics.mean(v), "trials": len(v)} for k, v in groups.items() if v]
    return out


def best_decode_trial(study: Any) -> Any:
    """The Pareto trial with the highest validation exact match (first objective); ties: the cheaper."""
    trials = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    return max(trials, key=lambda t: (t.values[0], -t.values[-1] if len(t.values) > 1 else 0.0, -t.number))


# -- the runs ----------------------------------------------------------------------------------------------------
def quick_studies(work: Path, base_model: str) -> tuple[Path, Path, Path]:
    """Small copies of both studies on builtin:tiny (or ``base_model``) and 60 demo rows, and 20 held-out rows."""
    import yaml

    rows = (STUDIES / "data" / "tasks.jsonl").read_text().splitlines()[:60]
    (work / "quick.jsonl").write_text("\n".join(rows) + "\n")
    held = (STUDIES / "data" / "tasks-heldout.jsonl").read_text().splitlines()[:20]
    (work / "quick-heldout.jsonl").write_text("\n".join(held) + "\n")
    out = []
    for src, trials in ((DECODE_STUDY, 3), (LORA_STUDY, 2)):
        doc = yaml.safe_load(src.read_text())
        doc["name"] = doc["name"] + "-quick"
        doc["data"]["path"] = str(work / "quick.jsonl")
        doc["trials"] = trials
        doc["fixed"]["base_model"] = base_model
        doc["fixed"]["num_threads"] = 1
        if doc["model"] == "lm-decode":
            doc["params"]["max_new_tokens"] = {"type": "categorical", "choices": [4, 8]}
            doc["params"]["few_shot"]["high"] = 2
        else:
            doc["fixed"].update(max_seq_length=64, max_new_tokens=6, per_device_train_batch_size=8)
            doc["params"]["lora_r"] = {"type": "categorical", "choices": [2, 4]}
        path = work / src.name.replace(".yaml", "-quick.yaml")
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        out.append(path)
    return out[0], out[1], work / "quick-heldout.jsonl"


def run(decode_path: Path, lora_path: Path, heldout: Path, work: Path, *, own_storage: bool = False,
        log: Any = print) -> dict[str, Any]:
    """Run (or resume) both studies, then score untuned / best decoding and zero-shot / best LoRA on ``heldout``.
    ``own_storage``: each study's default storage (beside its file); else SQLite files in ``work``."""
    import automl

    work.mkdir(parents=True, exist_ok=True)
    split = heldout_split(heldout)
    out: dict[str, Any] = {"heldout": {"file": str(heldout.relative_to(REPO) if heldout.is_relative_to(REPO) else heldout),
                                       "prompts": len(split)}}

    # (a) decoding
    d_url = None if own_storage else f"sqlite:///{work / 'smollm2-decode.db'}"
    t0 = time.perf_counter()
    log(f"running {decode_path.name} ...")
    d_study = automl.run_study(decode_path, storage=d_url, progress=False)
    d_run = time.perf_counter() - t0
    d = automl.prepare_study(decode_path)
    best = best_decode_trial(d_study)
    log(f"held-out: untuned and trial {best.number} of {decode_path.name} on {len(split)} prompts ...")
    untuned = heldout_scores(d.trainer, dict(d.fixed), d.data, split, seed=d.spec.seed or 0)
    tuned = heldout_scores(d.trainer, {**d.fixed, **best.params}, d.data, split, seed=d.spec.seed or 0)
    out["decode"] = {
        "study": d_study.study_name, "study_file": _rel(decode_path), "run_seconds": round(d_run, 1),
        "best_trial": best.number, "best_valid": dict(zip(d_study.metric_names or [], best.values, strict=False)),
        "untuned": _strip(untuned), "tuned": _strip(tuned),
        "difference": {"exact_match": paired(untuned["per_prompt"]["exact_match"], tuned["per_prompt"]["exact_match"]),
                       "pass_at_k": paired(untuned["per_prompt"]["pass_at_k"], tuned["per_prompt"]["pass_at_k"])},
        "best_params": dict(best.params), "costs": trial_costs(d_study), "importances": importances(d_study),
        "effects": effects(d_study),
    }

    # (b) LoRA fine-tuning
    l_url = None if own_storage else f"sqlite:///{work / 'smollm2-lora.db'}"
    t0 = time.perf_counter()
    log(f"running {lora_path.name} ...")
    l_study = automl.run_study(lora_path, storage=l_url, progress=False)
    l_run = time.perf_counter() - t0
    exported = work / "smollm2-lora-export"
    done = automl.export_study(lora_path, exported, storage=l_url)
    lp = automl.prepare_study(lora_path)
    shared = {n: lp.fixed[n] for n in ("answer_match", "max_new_tokens") if n in lp.fixed}
    log(f"held-out: zero-shot and the exported trial {done.trial} on {len(split)} prompts ...")
    zero = heldout_scores(d.trainer, {**d.fixed, "base_model": str(lp.fixed["base_model"]), **shared,
                                      "few_shot": 0, "system_prompt": None}, d.data, split)
    # the fine-tuned model decodes as its trials did: causal-lm's prompt (its chat template, no system prompt) and greedy
    ft = heldout_scores(d.trainer, {"base_model": str(exported), **shared,
                                    **{n: lp.fixed.get(n) for n in ("chat_template", "system_prompt") if n in lp.fixed}},
                        d.data, split)
    out["lora"] = {
        "study": l_study.study_name, "study_file": _rel(lora_path), "run_seconds": round(l_run, 1),
        "best_trial": done.trial, "best_valid": l_study.best_value, "best_params": dict(l_study.best_trial.params),
        "trainable_params": l_study.best_trial.user_attrs.get("trainable_params"),
        "total_params": l_study.best_trial.user_attrs.get("total_params"),
        "zero_shot": _strip(zero), "fine_tuned": _strip(ft),
        "difference": {"exact_match": paired(zero["per_prompt"]["exact_match"], ft["per_prompt"]["exact_match"])},
        "costs": trial_costs(l_study), "importances": importances(l_study), "effects": effects(l_study),
    }
    return out


def _strip(scores: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in scores.items() if k != "per_prompt"}


def _rel(p: Path) -> str:
    p = p.resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


# -- rendering ---------------------------------------------------------------------------------------------------
def _ci(x: dict[str, float]) -> str:
    return f"{x['mean']:.3f} [{x['low']:.3f}, {x['high']:.3f}]"


def _diff(x: dict[str, Any]) -> str:
    return f"{x['mean']:+.3f} [{x['low']:+.3f}, {x['high']:+.3f}]" + (" (outside: a real gain)" if x["outside"] and x["mean"] > 0
                                                                       else " (outside: a real loss)" if x["outside"]
                                                                       else " (0 inside: no clear difference)")


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else repr(v)


def _effects(eff: dict[str, list[dict[str, Any]]], metric: str) -> str:
    lines = [f"Validation {metric} by knob (mean over the complete trials that tried each value; n = trials):", ""]
    for name, rows in eff.items():
        lines.append(f"- {name}: " + "; ".join(f"{r['value']} → {r['mean']:.3f} (n={r['trials']})" for r in rows))
    return "\n".join(lines)


def _imp(imps: dict[str, Any]) -> str:
    lines = []
    for obj, v in imps.items():
        if isinstance(v, str):
            lines.append(f"- {obj}: {v}")
        else:
            lines.append(f"- {obj}: " + ", ".join(f"{k} {x:.2f}" for k, x in v.items()))
    return "\n".join(lines)


def _costs(c: dict[str, Any]) -> str:
    def s(v: Any) -> str:
        return f"{v:.0f} s" if isinstance(v, (int, float)) else "–"

    mem = f"{c['peak_rss_mb']:.0f} MB" if c.get("peak_rss_mb") else "–"
    return (f"{c['trials']} complete trials; per trial median {s(c['seconds_median'])}, max {s(c['seconds_max'])}; "
            f"trial time {s(c['seconds_total'])} in all, wall clock {s(c['wall_seconds'])}; peak memory {mem}")


def verdict(r: dict[str, Any]) -> str:
    """The answer to issue 20's question, from the numbers."""
    d = r["decode"]["difference"]["exact_match"]
    top = r["decode"]["importances"].get(next(iter(r["decode"]["importances"]), ""), {})
    knobs = ", ".join(f"{k} ({v:.2f})" for k, v in list(top.items())[:3]) if isinstance(top, dict) else "not computed"
    head = (f"Tuned decoding changes held-out exact match by {d['mean']:+.3f} (95% interval {d['low']:+.3f} to "
            f"{d['high']:+.3f}, {d['n']} prompts): ")
    head += ("outside the interval, so the gain is real." if d["outside"] and d["mean"] > 0 else
             "the interval includes 0, so on this model and file the gain is not distinguishable from noise." if not d["outside"]
             else "tuning on validation made held-out exact match worse.")
    return head + f" The knobs that mattered most for validation exact match: {knobs}."


def markdown(r: dict[str, Any], command: str) -> str:
    d, lo = r["decode"], r["lora"]
    m = r["machine"]
    k = d["untuned"]["k"]
    out = [
        "# A real pretrained instruct model, tuned (issue 20)", "",
        f"Produced by `{command}` on {m['cpus']} CPUs ({m['platform']}, torch {m['torch']}, transformers "
        f"{m['transformers']}), {m['date']}. Held-out file: `{r['heldout']['file']}` ({r['heldout']['prompts']} prompts "
        "no trial saw). Intervals are 95%: Wilson's for exact match (a proportion), normal for pass@k and for "
        "paired differences (the same prompts, tuned minus untuned).", "",
        "## (a) Decoding and prompt: untuned against the best trial", "",
        f"Study `{d['study_file']}` ({d['costs']['trials']} trials, {d['run_seconds']:.0f} s to run or resume); "
        f"best trial {d['best_trial']} (the Pareto trial with the highest validation exact match: "
        + ", ".join(f"{n} {v:.4g}" for n, v in d["best_valid"].items()) + ").", "",
        f"| decoding | exact match | pass@{k} | tokens / sample | s / prompt |", "|---|---:|---:|---:|---:|",
        f"| untuned (greedy, chat template, no system prompt, no few-shot) | {_ci(d['untuned']['exact_match'])} | "
        f"{_ci(d['untuned']['pass_at_k'])} | {d['untuned']['tokens_generated']:.1f} | {d['untuned']['seconds_per_prompt']:.2f} |",
        f"| trial {d['best_trial']}: " + ", ".join(f"{n}={_short(v)}" for n, v in d["best_params"].items())
        + f" | {_ci(d['tuned']['exact_match'])} | {_ci(d['tuned']['pass_at_k'])} | {d['tuned']['tokens_generated']:.1f} | "
        f"{d['tuned']['seconds_per_prompt']:.2f} |", "",
        f"Difference, exact match: {_diff(d['difference']['exact_match'])}; pass@{k}: {_diff(d['difference']['pass_at_k'])}.", "",
        verdict(r), "",
        "## (b) Zero-shot against the best LoRA trial", "",
        f"Study `{lo['study_file']}` ({lo['costs']['trials']} trials, {lo['run_seconds']:.0f} s); best trial {lo['best_trial']} "
        f"(validation exact match {lo['best_valid']:.4g}; " + ", ".join(f"{n}={_short(v)}" for n, v in lo["best_params"].items())
        + f"), {lo['trainable_params'] or 0:,} of {lo['total_params'] or 0:,} parameters trained, exported (refit on "
        "train+valid, adapters merged) and decoded greedily.", "",
        "| model | exact match | tokens / sample | s / prompt |", "|---|---:|---:|---:|",
        f"| zero-shot base model | {_ci(lo['zero_shot']['exact_match'])} | {lo['zero_shot']['tokens_generated']:.1f} | "
        f"{lo['zero_shot']['seconds_per_prompt']:.2f} |",
        f"| LoRA trial {lo['best_trial']} | {_ci(lo['fine_tuned']['exact_match'])} | {lo['fine_tuned']['tokens_generated']:.1f} | "
        f"{lo['fine_tuned']['seconds_per_prompt']:.2f} |", "",
        f"Difference, exact match: {_diff(lo['difference']['exact_match'])}.", "",
        "## (c) Cost per trial", "",
        f"- decoding: {_costs(d['costs'])}", f"- LoRA: {_costs(lo['costs'])}", "",
        "Peak memory is each worker process's peak resident set when the trial ended (the model is loaded once per "
        "process and copied per trial, so it is a process-wide figure).", "",
        "## (d) Knob importances (PED-ANOVA, on validation)", "",
        "Decoding:", _imp(d["importances"]), "", _effects(d["effects"], "exact match"), "",
        "LoRA:", _imp(lo["importances"]), "", _effects(lo["effects"], "exact match"), "",
    ]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    import torch
    import transformers

    return {"cpus": os.cpu_count(), "platform": platform.platform(terse=True), "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__, "date": time.strftime("%Y-%m-%d")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="builtin:tiny (or --base-model), 60 demo rows, 3 + 2 trials")
    ap.add_argument("--base-model", default="builtin:tiny", help="--quick only: the model the small studies use")
    ap.add_argument("--decode-study", type=Path, default=DECODE_STUDY)
    ap.add_argument("--lora-study", type=Path, default=LORA_STUDY)
    ap.add_argument("--heldout", type=Path, default=HELDOUT)
    ap.add_argument("--work", type=Path, default=HERE / "work" / "lm_real")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    a = ap.parse_args(argv)
    work = a.work.resolve() / ("quick" if a.quick else "real")
    work.mkdir(parents=True, exist_ok=True)
    decode_path, lora_path, heldout = a.decode_study, a.lora_study, a.heldout
    if a.quick:
        decode_path, lora_path, heldout = quick_studies(work, a.base_model)
    result = run(decode_path, lora_path, heldout, work, own_storage=not a.quick,
                 log=lambda s: print(s, file=sys.stderr, flush=True))
    result["machine"] = machine()
    stem = "lm_real-quick" if a.quick else "lm_real"
    command = "python -m benchmarks.lm_real" + (" --quick" if a.quick else "")
    from automl.fsutil import atomic_write_text

    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / f"{stem}.json", json.dumps(result, indent=1, default=str) + "\n")
    atomic_write_text(a.out / f"{stem}.md", markdown(result, command))
    print(f"wrote {a.out / (stem + '.md')}")
    return result


if __name__ == "__main__":
    main()
