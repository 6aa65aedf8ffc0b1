"""The report's summary, from the storage alone: the answer (held-out test score), the baselines it beats, the
data, the budget spent and one sentence per important parameter. Data only (tests call it); html.py draws it.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from automl import attrs
from automl.report import figures as F
from automl.report import record

#: A parameter whose importance is below this gets no sentence.
IMPORTANT = 0.05
#: Sentences written at most.
MAX_SENTENCES = 3
#: The best values "sit at an edge" when all of the best trials fall in this share of the range at one end.
EDGE = 0.1


def relative_improvement(best: float, base: float, minimize: bool) -> float | None:
    """How much better ``best`` is than ``base``, as a fraction of ``base`` (positive = better).

    None unless ``base`` is positive: a share of a score near or below zero (r2 of a constant predictor) says nothing."""
    if not (math.isfinite(best) and math.isfinite(base)) or base <= 0:
        return None
    return ((base - best) if minimize else (best - base)) / base


def budget_data(study: optuna.Study) -> dict[str, Any]:
    """Trials by state, wall clock, trial time, and the trial time pruning saved (measured durations)."""
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    done = [d for t in trials if t.state.is_finished() and (d := F.duration_s(t)) is not None]
    complete = [d for t in trials if t.state == TrialState.COMPLETE and (d := F.duration_s(t)) is not None]
    pruned = [d for t in trials if t.state == TrialState.PRUNED and (d := F.duration_s(t)) is not None]
    median = statistics.median(complete) if complete else None
    saved = sum(max(0.0, median - d) for d in pruned) if median is not None and pruned else None
    return {
        "counts": counts,
        "trials": len(trials),
        "wall_seconds": (max(ends) - min(starts)).total_seconds() if starts and ends else None,
        "trial_seconds": sum(done) if done else None,
        "pruned": len(pruned),
        "pruned_seconds": sum(pruned) if pruned else None,
        "median_complete_seconds": median,
        "saved_seconds": saved,
    }


def _position(value: float, dist: Any) -> float | None:
    lo, hi = float(dist.low), float(dist.high)
    if hi <= lo:
        return None
    if getattr(dist, "log", False) and lo > 0:
        return (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (value - lo) / (hi - lo)


def _num(v: float) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def top_trials(study: optuna.Study, objective: int = 0) -> list[FrozenTrial]:
    """The best tenth of the complete trials (at least 3, or all if fewer), best first."""
    trials = F.complete_trials(study)
    sign = 1.0 if study.directions[objective] == StudyDirection.MINIMIZE else -1.0
    trials.sort(key=lambda t: sign * t.values[objective])
    return trials[: max(3, math.ceil(len(trials) / 10))]


def param_sentence(study: optuna.Study, name: str, importance: float, rank: int) -> dict[str, Any]:
    """One sentence on a parameter from the numbers: its importance, where its best values lie, what to try."""
    top = [t for t in top_trials(study) if name in t.params]
    dist = next((t.distributions[name] for t in top), None)
    lead = (f"{name} matters most ({importance:.2f})" if rank == 0
            else f"{name} comes next ({importance:.2f})" if rank == 1 else f"then {name} ({importance:.2f})")
    edge = None
    if isinstance(dist, (FloatDistribution, IntDistribution)) and top:
        values = [float(t.params[name]) for t in top]
        pos = [p for v in values if (p := _position(v, dist)) is not None]
        rng = f"{_num(dist.low)}–{_num(dist.high)}"
        lo_v, hi_v = min(t.params[name] for t in top), max(t.params[name] for t in top)
        if len(top) >= 3 and pos and max(pos) <= EDGE:
            edge = "low"
            tail = f"its best values sit at the low edge of the range {rng}: widen it below {_num(dist.low)}."
        elif len(top) >= 3 and pos and min(pos) >= 1 - EDGE:
            edge = "high"
            tail = f"its best values sit at the high edge of the range {rng}: widen it above {_num(dist.high)}."
        else:
            tail = f"the best {len(top)} trials use {_num(lo_v)}–{_num(hi_v)} of the range {rng}."
    elif isinstance(dist, CategoricalDistribution) and top:
        counts: dict[str, int] = {}
        for t in top:
            counts[repr(t.params[name])] = counts.get(repr(t.params[name]), 0) + 1
        choice, k = max(counts.items(), key=lambda kv: kv[1])
        tail = f"{k} of the best {len(top)} trials use {choice}."
    else:
        tail = "no complete trial among the best sets it."
    return {"name": name, "importance": importance, "edge": edge, "sentence": f"{lead}; {tail}"}


def conditional_params(study: optuna.Study) -> list[str]:
    """Parameters set by some complete trials but not all (``when:`` in the study file, or Optuna define-by-run)."""
    trials = F.complete_trials(study)
    names = {p for t in trials for p in t.params}
    return sorted(p for p in names if any(p not in t.params for t in trials))


def _scores(v: Any) -> dict[str, float]:
    return {str(k): float(x) for k, x in v.items() if isinstance(x, (int, float))} if isinstance(v, dict) else {}


def summary_data(study: optuna.Study, importances: dict[str, float] | None = None) -> dict[str, Any]:
    """What the summary block says; every number from the storage (``automl:*`` attrs where automl wrote them)."""
    ua = study.user_attrs
    names = F.objective_names(study)
    directions = [d.name.lower() for d in study.directions]
    tests = ua.get(attrs.TEST_SCORES) if isinstance(ua.get(attrs.TEST_SCORES), dict) else {}
    complete = F.complete_trials(study)
    out: dict[str, Any] = {
        "metrics": names, "directions": directions, "model": ua.get(attrs.MODEL),
        "test_of": ua.get(attrs.TEST_SCORES_OF) or "trained on the train split",
        "best": None, "baselines": [], "not_measured": {}, "pareto": [], "params": [],
        "ensemble": ua.get(attrs.ENSEMBLE) if isinstance(ua.get(attrs.ENSEMBLE), dict) else None,
        "budget": budget_data(study),
        "data": ua.get(record.DATA_FACTS_ATTR) if isinstance(ua.get(record.DATA_FACTS_ATTR), dict)
        else ({"file": ua[attrs.DATA]} if ua.get(attrs.DATA) else None),
        "conditional": conditional_params(study),
    }
    if not complete:
        return out
    if len(names) > 1:
        for t in sorted(study.best_trials, key=lambda t: t.number):
            out["pareto"].append({"number": t.number, "values": dict(zip(names, t.values, strict=True)),
                                  "test": _scores(tests.get(str(t.number)))})
    else:
        bt = study.best_trial
        out["best"] = {"number": bt.number, "valid": {names[0]: bt.values[0]}, "test": _scores(tests.get(str(bt.number))),
                       "params": dict(bt.params)}
    baselines = ua.get(record.BASELINES_ATTR) if isinstance(ua.get(record.BASELINES_ATTR), dict) else {}
    model = out["model"] or "the trainer"
    labels = {"defaults": f"{model}'s defaults" if model != "the trainer" else "the trainer's defaults",
              "constant": "a constant predictor"}
    primary, minimize = names[0], directions[0] == "minimize"
    best_test = (out["best"] or {}).get("test", {}).get(primary) if out["best"] else None
    for key in ("defaults", "constant"):
        b = baselines.get(key)
        if not isinstance(b, dict):
            reason = (baselines.get("skipped") or {}).get(key) if isinstance(baselines.get("skipped"), dict) else None
            out["not_measured"][key] = reason or (
                "not measured: the run stored no baselines (a study made by another tool or an older automl, "
                "or one without a test split)")
            continue
        test = _scores(b.get("test"))
        row = {"key": key, "label": labels[key], "what": b.get("what", ""), "trial": b.get("trial"), "test": test,
               "improvement": None}
        if best_test is not None and primary in test:
            row["improvement"] = relative_improvement(best_test, test[primary], minimize)
        out["baselines"].append(row)
    out["examples"] = examples_data(study, baselines)
    if importances:
        ranked = [(p, v) for p, v in importances.items() if v >= IMPORTANT][:MAX_SENTENCES]
        out["params"] = [param_sentence(study, p, v, i) for i, (p, v) in enumerate(ranked)]
    return out


def examples_data(study: optuna.Study, baselines: dict[str, Any]) -> dict[str, Any] | None:
    """A language-model study's example answers: the best trial's (of a Pareto front, the one best on the first
    objective) to its first validation prompts, beside the untuned baseline's to the same prompts when the run
    measured it (lm-decode). Texts as stored; html.py escapes them. None when no trial kept examples."""
    complete = [t for t in F.complete_trials(study) if isinstance(t.user_attrs.get("examples"), list)]
    if not complete:
        return None
    sign = -1.0 if study.directions[0] == StudyDirection.MAXIMIZE else 1.0
    best = min(complete, key=lambda t: (sign * t.values[0], t.number))
    untuned = (baselines.get("defaults") or {}).get("examples") if isinstance(baselines.get("defaults"), dict) else None
    by_prompt = {e.get("prompt"): e for e in untuned or [] if isinstance(e, dict)}
    rows = []
    for e in best.user_attrs["examples"]:
        if isinstance(e, dict) and isinstance(e.get("prompt"), str):
            u = by_prompt.get(e["prompt"]) or {}
            rows.append({"prompt": e["prompt"], "reference": str(e.get("reference", "")),
                         "tuned": str(e.get("completion", "")), "tuned_correct": bool(e.get("correct")),
                         "untuned": u.get("completion"), "untuned_correct": bool(u.get("correct"))})
    return {"trial": best.number, "rows": rows, "untuned": untuned is not None} if rows else None


def headline(s: dict[str, Any]) -> str:
    """The first sentence of the report: the answer, and how much better it is than the baselines."""
    b = s["best"]
    if s["pareto"]:
        if len(s["pareto"]) == 1:
            return (f"One trial ({s['pareto'][0]['number']}) is the best in {' and '.join(s['metrics'])} at once "
                    "(table below).")
        return f"{len(s['pareto'])} Pareto-optimal trials trade off {' and '.join(s['metrics'])} (table below)."
    if b is None:
        return "No trial has completed yet, so there is no answer to show."
    m = s["metrics"][0]
    if m in b["test"]:
        text = (f"The tuned model (trial {b['number']}) scores {m} {b['test'][m]:.4g} on the held-out test split "
                f"(validation {b['valid'][m]:.4g})")
        parts = []
        for row in s["baselines"]:
            if m not in row["test"]:
                continue
            imp = row["improvement"]
            how = ("no different from" if imp is not None and abs(imp) < 0.0005 else
                   f"{abs(imp) * 100:.1f}% {'better' if imp > 0 else 'worse'} than" if imp is not None else "against")
            parts.append(f"{how} {row['label']} ({row['test'][m]:.4g})")
        return text + (", " + " and ".join(parts) if parts else "") + "."
    return (f"The best trial ({b['number']}) has validation {m} {b['valid'][m]:.4g}; no held-out test score is "
            "stored (the run had no test split, or the study was made by another tool).")
