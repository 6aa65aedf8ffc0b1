"""Trainer ``lm-decode``: no training, tune generation (temperature, top_p, top_k, max_new_tokens, stop,
num_samples) and the prompt (chat_template, system_prompt, few_shot) of a causal LM on prompt/completion pairs;
metrics exact_match (majority vote), pass_at_k, and the costs tokens_generated and seconds_per_prompt. Seeds are
fixed per trial (the study seed), so a trial is reproducible (its seconds are measured, so they vary)."""

from __future__ import annotations

from typing import Any

from automl.metrics import Metric
from automl.trainers.base import FitContext, FitResult, Report
from automl.trainers.causal_lm import (
    LMModel,
    LMTrainer,
    decode_scores,
    examples_of,
    load_base,
    longest_answer,
    make_prompter,
)

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
    # the prompt (automl.lm.prompting), as causal-lm formats it
    "chat_template": None,  # None: the tokenizer's chat template when it has one
    "system_prompt": None,
    "few_shot": 0,
    "answer_match": "exact",  # exact | normalized (case, spaces, a final period)
}


class LMDecodeTrainer(LMTrainer):
    name = "lm-decode"
    description = "tune the decoding and prompt of a causal language model (temperature, top_p, few_shot, ...) on JSONL prompts"
    reports_steps = False  # nothing is trained: a trial is one decoding pass, scored in evaluate
    trains = False
    param_names = tuple(DEFAULTS)
    defaults = DEFAULTS
    metric_names = ("exact_match", "pass_at_k", "tokens_generated", "seconds_per_prompt")
    #: The report's untuned baseline (the fixed parameters alone: greedy, the model's chat template, no few-shot) is
    #: one more decoding pass, cheap next to a study: automl.report.record measures it at the end of a run.
    untuned_baseline = True

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
        lm = LMModel(model, tok, {**p, "seed": ctx.seed}, prompter=make_prompter(tok, p, data))
        lm.max_new_tokens = longest_answer(lm, data.train.examples)  # what predict allows when max_new_tokens is None
        return FitResult(lm)

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]:
        from automl.trainers.causal_lm import peak_rss_mb

        lm: LMModel = result.model
        if split not in lm.scores:
            p = lm.params
            if lm.prompter is None:
                lm.prompter = make_prompter(lm.tokenizer, p, data)
            part = getattr(data, split)
            lm.scores[split] = decode_scores(
                lm, part, max_new_tokens=p["max_new_tokens"], seed=int(p.get("seed", 0)),
                batch_size=int(p["batch_size"]), stop=p["stop"], num_samples=int(p["num_samples"]),
                temperature=float(p["temperature"]), top_p=float(p["top_p"]), top_k=int(p["top_k"]),
                pass_k=int(p["pass_k"]), max_prompt_tokens=p["max_prompt_tokens"], name=split,
            )
            if split == "valid":  # kept on the trial (the objective stores result.info after evaluating)
                s = lm.scores[split]
                result.info.update({"examples": examples_of(lm, part, split), "peak_rss_mb": peak_rss_mb(),
                                    **{f"valid_{k}": v for k, v in s.items() if k not in {m.name for m in metrics}}})
        return [float(lm.scores[split][m.name]) for m in metrics]
