"""Trainer ``causal-lm``: fine-tune a causal language model on prompt/completion pairs with
``transformers.Trainer``; the objective is the completion-only ``eval_loss`` or greedy ``exact_match``.

Evaluation after each epoch goes to the pruner through a ``TrainerCallback`` that calls ``report``.
``base_model`` is ``builtin:tiny`` (see :mod:`automl.lm.builtin`) or a local directory with a causal LM and
its tokenizer. Tunable: see ``PARAM_NAMES``; unknown names are errors.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.lm.data import TASK
from automl.metrics import Metric
from automl.trainers.base import FitContext, FitResult, Report, TabularTrainer


def _not_tabular(task: str, y: Any, pred: Any) -> float:
    """LM metrics are computed by the trainer's ``evaluate``; ``fn`` only compares texts if given some."""
    import numpy as np

    return float(np.mean(np.asarray(y) == np.asarray(pred))) if len(y) else float("nan")


LM_METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("eval_loss", "minimize", (TASK,), _not_tabular, "cross-entropy on completion tokens only (nats per token)"),
        Metric("exact_match", "maximize", (TASK,), _not_tabular, "fraction of prompts whose decoded completion equals the reference (majority vote over samples)"),
        Metric("pass_at_k", "maximize", (TASK,), _not_tabular, "unbiased pass@k of Chen et al. 2021 (k = fixed pass_k, default 1)"),
        Metric("tokens_generated", "minimize", (TASK,), _not_tabular, "mean tokens generated per sample (a cost)"),
    ]
}

#: Defaults for every accepted name; a study's fixed/params override them.
DEFAULTS: dict[str, Any] = {
    "base_model": "builtin:tiny",
    "learning_rate": 2e-3,
    "per_device_train_batch_size": 16,
    "num_train_epochs": 4,
    "weight_decay": 0.0,
    "warmup_ratio": 0.05,
    "lr_scheduler_type": "linear",
    "dropout": 0.0,
    "prompt_loss_weight": 0.1,
    "max_seq_length": 64,
    "max_new_tokens": None,  # None: longest reference completion in tokens + 1
    "eval_batch_size": 64,
    "num_threads": None,  # torch threads; None: the runner's share of the cores (1 is faster on a busy machine)
}
PARAM_NAMES = tuple(DEFAULTS)
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")


@dataclass
class LMModel:
    """A fitted (or loaded) model + tokenizer, with the settings evaluation needs and cached scores."""

    model: Any
    tokenizer: Any
    params: dict[str, Any]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


def check_names(trainer: Any, names: Iterable[str]) -> list[tuple[str, str]]:
    from automl.errors import suggest

    return [
        (n, f"is not a parameter of trainer {trainer.name!r}" + suggest(n, list(trainer.param_names)))
        for n in names
        if n not in trainer.param_names
    ]


def load_base(base_model: str, data: Any = None) -> tuple[Any, Any]:
    from automl.lm import builtin

    base_dir = getattr(data, "base_dir", None)
    return builtin.load(builtin.resolve(str(base_model), base_dir))


def set_dropout(model: Any, p: float) -> None:
    """Set every dropout layer of ``model`` to ``p`` (works for any architecture)."""
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = float(p)


def decode_scores(lm: LMModel, split: Any, *, max_new_tokens: int | None, seed: int, batch_size: int = 64,
                  stop: Any = None, num_samples: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                  top_k: int = 0, pass_k: int = 1, max_prompt_tokens: int | None = None) -> dict[str, float]:
    """Generate for ``split``'s prompts and score against its completions."""
    from automl.lm import generate as gen

    tok = lm.tokenizer
    if max_new_tokens is None:
        max_new_tokens = max(len(tok(c, add_special_tokens=False)["input_ids"]) for c in split.completions) + 1
    samples = gen.generate(
        lm.model, tok, split.prompts, max_new_tokens=int(max_new_tokens), stop=gen.stop_list(stop),
        num_samples=int(num_samples), temperature=float(temperature), top_p=float(top_p), top_k=int(top_k),
        batch_size=batch_size, seed=seed, max_prompt_tokens=max_prompt_tokens,
    )
    return gen.scores(samples, split.completions, k=int(pass_k))


class LMTrainer(TabularTrainer):
    """What the language-model trainers share: JSONL data, the task "lm", a base model, closed names."""

    tasks = (TASK,)
    data_kind = "jsonl-prompts"
    defaults: dict[str, Any] = {}
    metric_names: tuple[str, ...] = ()

    def metrics(self) -> Mapping[str, Metric]:
        return {n: LM_METRICS[n] for n in self.metric_names}

    def default_fixed(self, task: str) -> dict[str, Any]:
        return {"base_model": self.defaults["base_model"]}

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        return check_names(self, names)

    def load_data(self, spec: Any) -> Any:
        from automl.lm import data

        return data.load(spec)

    def peek_task(self, spec: Any) -> str | None:
        return TASK


class CausalLMTrainer(LMTrainer):
    name = "causal-lm"
    description = "fine-tune a causal language model (transformers) on JSONL prompt/completion pairs"
    step_unit = "epoch"
    param_names = PARAM_NAMES
    defaults = DEFAULTS
    metric_names = ("eval_loss", "exact_match")

    def default_metric(self, task: str) -> str:
        return "eval_loss"

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "learning_rate": {"type": "float", "low": 3e-4, "high": 1e-2, "log": True},
            "prompt_loss_weight": {"type": "float", "low": 0.0, "high": 1.0},
            "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2},
            "weight_decay": {"type": "float", "low": 0.0, "high": 0.1},
        }

    def refit_data(self, data: Any) -> Any:
        """For export: train on train+valid (valid is still scored, for the learning curve)."""
        from dataclasses import replace

        from automl.lm.data import LMSplit

        return replace(data, train=LMSplit(data.train.examples + data.valid.examples))

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        import torch
        from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

        from automl.errors import TrialFailed
        from automl.lm import encode as enc

        p = {**DEFAULTS, **params}
        if p["lr_scheduler_type"] not in SCHEDULERS:
            raise TrialFailed(f"lr_scheduler_type {p['lr_scheduler_type']!r} is not one of {', '.join(SCHEDULERS)}")
        plw = float(p["prompt_loss_weight"])
        if not 0.0 <= plw <= 1.0:
            raise TrialFailed(f"prompt_loss_weight must be in [0, 1] (got {plw})")
        torch.set_num_threads(max(1, int(p["num_threads"] or ctx.threads)))
        set_seed(ctx.seed)
        t0 = time.perf_counter()
        model, tok = load_base(p["base_model"], data)
        set_dropout(model, p["dropout"])
        msl = int(p["max_seq_length"])
        n_pos = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
        if n_pos and msl > n_pos:
            raise TrialFailed(f"max_seq_length {msl} exceeds the model's {n_pos} positions")
        train_rows = [enc.encode(tok, e.prompt, e.completion, msl) for e in data.train.examples]
        valid_rows = [enc.encode(tok, e.prompt, e.completion, msl) for e in data.valid.examples]
        pad = tok.pad_token_id
        lm = LMModel(model, tok, p)
        want_em = ctx.metric.name == "exact_match"
        epochs = int(p["num_train_epochs"])

        def evaluate_now() -> dict[str, float]:
            out = {"eval_loss": enc.completion_loss(model, valid_rows, pad, int(p["eval_batch_size"]))}
            if want_em:
                out.update(self._greedy(lm, data.valid, ctx.seed))
            return out

        class Weighted(Trainer):
            """Trainer whose loss weighs prompt tokens by prompt_loss_weight (see automl.lm.encode)."""

            running = [0.0, 0]

            def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
                w = inputs.pop("loss_weights")
                out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
                loss = enc.weighted_loss(out.logits, inputs["input_ids"], w)
                self.running[0] += float(loss.detach())
                self.running[1] += 1
                return (loss, out) if return_outputs else loss

        class ReportEachEpoch(TrainerCallback):
            """Evaluate after each epoch and hand the value to ``report`` (which may prune the trial)."""

            def on_epoch_end(self, args, state, control, **kwargs):
                epoch = max(1, round(state.epoch or 0))
                values = evaluate_now()
                train_loss = Weighted.running[0] / max(1, Weighted.running[1])
                Weighted.running[:] = [0.0, 0]
                extras = {k: v for k, v in values.items() if k != ctx.metric.name}
                report(epoch, values[ctx.metric.name], train_loss=train_loss, **extras)
                return control

        with tempfile.TemporaryDirectory(prefix="automl-lm-") as tmp:
            args = TrainingArguments(
                output_dir=tmp, per_device_train_batch_size=int(p["per_device_train_batch_size"]),
                num_train_epochs=epochs, learning_rate=float(p["learning_rate"]),
                weight_decay=float(p["weight_decay"]), warmup_steps=float(p["warmup_ratio"]),
                lr_scheduler_type=p["lr_scheduler_type"], seed=ctx.seed, data_seed=ctx.seed,
                optim="adamw_torch", use_cpu=not torch.cuda.is_available(), report_to="none",
                save_strategy="no", eval_strategy="no", logging_strategy="no", disable_tqdm=True,
                remove_unused_columns=False, dataloader_num_workers=0, dataloader_pin_memory=False,
            )
            trainer = Weighted(
                model=model, args=args, train_dataset=train_rows,
                data_collator=lambda rows: enc.collate(rows, pad, plw), callbacks=[ReportEachEpoch()],
            )
            trainer.remove_callback(_printer_class())
            trainer.train()
        model.eval()
        lm.scores["valid"] = {"eval_loss": enc.completion_loss(model, valid_rows, pad, int(p["eval_batch_size"])),
                              **self._greedy(lm, data.valid, ctx.seed)}
        info = {
            "train_examples": len(train_rows),
            "train_seconds": round(time.perf_counter() - t0, 2),
            "valid_exact_match": lm.scores["valid"]["exact_match"],
            "valid_eval_loss": lm.scores["valid"]["eval_loss"],
        }
        return FitResult(lm, info)

    def _greedy(self, lm: LMModel, split: Any, seed: int) -> dict[str, float]:
        p = lm.params
        s = decode_scores(lm, split, max_new_tokens=p.get("max_new_tokens"), seed=seed,
                          batch_size=int(p.get("eval_batch_size", 64)), max_prompt_tokens=int(p.get("max_seq_length", 64)) - 1)
        return {"exact_match": s["exact_match"]}

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]:
        from automl.lm import encode as enc

        lm: LMModel = result.model
        part = getattr(data, split)
        have = lm.scores.get(split, {})
        if any(m.name not in have for m in metrics):
            msl = int(lm.params.get("max_seq_length", 64))
            rows = [enc.encode(lm.tokenizer, e.prompt, e.completion, msl) for e in part.examples]
            have = {"eval_loss": enc.completion_loss(lm.model, rows, lm.tokenizer.pad_token_id), **self._greedy(lm, part, 0)}
            lm.scores[split] = have
        return [float(have[m.name]) for m in metrics]

    # -- export hooks ----------------------------------------------------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
        return dict(params)

    def save_model(self, result: FitResult, directory: Any) -> None:
        """A Hugging Face directory (model + tokenizer): usable as ``base_model`` of another study."""
        import json

        lm: LMModel = result.model
        lm.model.save_pretrained(directory)
        lm.tokenizer.save_pretrained(directory)
        Path(directory, "automl-lm.json").write_text(json.dumps({"params": lm.params}, indent=1, default=str))

    def load_model(self, directory: Any) -> FitResult:
        import json

        from automl.lm import builtin

        model, tok = builtin.load(Path(directory))
        meta = Path(directory, "automl-lm.json")
        params = json.loads(meta.read_text())["params"] if meta.exists() else dict(DEFAULTS)
        return FitResult(LMModel(model, tok, params))


def _printer_class() -> Any:
    from transformers.trainer_callback import PrinterCallback

    return PrinterCallback
