"""Trainer ``lm-decode``: no training, tune generation (temperature, top_p, top_k, max_new_tokens, stop,
num_samples) of a causal LM on prompt/completion pairs; metrics exact_match (majority vote), pass_at_k
and tokens_generated. Seeds are fixed per trial (the study seed), so a trial is reproducible."""

from __future__ import annotations

from typing import Any

from automl.metrics import Metric
from automl.trainers.base import FitContext, FitResult, Report
from automl.trainers.causal_lm import LMModel, LMTrainer, decode_scores, load_base

DEFAULTS: dict[str, Any] = {
    "base_model": "builtin:tiny",
    "temperature": 0.0,
    "top_p": 1.0,
    "top_k": 0,
    "max_new_tokens": None,  # None: longest reference completion in tokens + 1
    "stop": None,
    "num_samples": 1,
    "pass_k": 1,
    "max_prompt_tokens": None,
    "batch_size": 64,
    "num_threads": None,  # torch threads; None: the runner's share of the cores
}


class LMDecodeTrainer(LMTrainer):
    name = "lm-decode"
    description = "tune the decoding of a causal language model (temperature, top_p, stop, ...) on JSONL prompts"
    reports_steps = False  # nothing is trained: a trial is one decoding pass, scored in evaluate
    param_names = tuple(DEFAULTS)
    defaults = DEFAULTS
    metric_names = ("exact_match", "pass_at_k", "tokens_generated")

    def default_metric(self, task: str) -> str:
        return "exact_match"

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "temperature": {"type": "float", "low": 0.1, "high": 1.5},
            "top_p": {"type": "float", "low": 0.5, "high": 1.0},
            "num_samples": {"type": "int", "low": 1, "high": 5},
        }

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        """Load the model (no training); decoding happens in ``evaluate``, once per split."""
        import torch

        from automl.errors import TrialFailed

        p = {**DEFAULTS, **params}
        if int(p["pass_k"]) > int(p["num_samples"]):
            raise TrialFailed(f"pass_k {p['pass_k']} > num_samples {p['num_samples']}: pass@k needs k <= samples")
        torch.set_num_threads(max(1, int(p["num_threads"] or ctx.threads)))
        model, tok = load_base(p["base_model"], data)
        return FitResult(LMModel(model, tok, {**p, "seed": ctx.seed}))

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]:
        lm: LMModel = result.model
        if split not in lm.scores:
            p = lm.params
            lm.scores[split] = decode_scores(
                lm, getattr(data, split), max_new_tokens=p["max_new_tokens"], seed=int(p.get("seed", 0)),
                batch_size=int(p["batch_size"]), stop=p["stop"], num_samples=int(p["num_samples"]),
                temperature=float(p["temperature"]), top_p=float(p["top_p"]), top_k=int(p["top_k"]),
                pass_k=int(p["pass_k"]), max_prompt_tokens=p["max_prompt_tokens"],
            )
        return [float(lm.scores[split][m.name]) for m in metrics]
